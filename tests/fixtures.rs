//! The parser and analysis on fixtures captured from the live test server:
//! snapshot-tested JSON (reviewable diffs), and robustness on every prefix.

use std::path::{Path, PathBuf};
use std::process::Command;

use lockdiag::analyze::views::{DeadlockOrigin, DeadlocksView};
use lockdiag::analyze::DeadlockReport;
use lockdiag::parse::{parse_innodb_status, ErrorLogDeadlocks};
use lockdiag::render::{json, View};

#[path = "support/schema_check.rs"]
mod schema_check;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/live")
        .join(name)
}

fn document(reports: &[DeadlockReport]) -> String {
    let text = json::render(&View::Deadlocks(DeadlocksView::new(
        DeadlockOrigin::Status,
        "fixture".into(),
        reports.to_vec(),
        reports.len() as u64,
        None,
    )))
    .expect("deadlocks print as JSON");
    schema_check::validate_document(&serde_json::from_str(&text).unwrap());
    text
}

#[test]
fn live_status_fixtures_snapshot() {
    for name in [
        "payments-reservations",
        "three-way-cycle",
        "check-then-insert-gap",
        "check-then-insert-unique",
        "duplicate-key-check",
    ] {
        let text = std::fs::read_to_string(fixture(&format!("{name}.status.txt"))).unwrap();
        let deadlock = parse_innodb_status(&text)
            .latest_deadlock
            .expect("a deadlock section");
        insta::assert_snapshot!(name, document(&[DeadlockReport::new(deadlock)]));
    }
}

#[test]
fn live_error_log_fixture_matches_status_fixtures() {
    let log = std::fs::File::open(fixture("error.log")).unwrap();
    let from_log: Vec<DeadlockReport> = ErrorLogDeadlocks::new(log)
        .map(|d| DeadlockReport::new(d.unwrap()))
        .collect();
    assert_eq!(from_log.len(), 3);
    for (report, name) in from_log.iter().zip([
        "payments-reservations",
        "three-way-cycle",
        "check-then-insert-gap",
    ]) {
        let text = std::fs::read_to_string(fixture(&format!("{name}.status.txt"))).unwrap();
        let from_status = DeadlockReport::new(parse_innodb_status(&text).latest_deadlock.unwrap());
        assert_eq!(
            report.analysis, from_status.analysis,
            "{name}: log and status disagree"
        );
        assert_eq!(
            report.deadlock.transactions, from_status.deadlock.transactions,
            "{name}"
        );
    }
}

/// Other threads' log lines written inside deadlock prints, captured live
/// (fixtures/live/NOTES.md): every print read whole, the split fields joined again.
#[test]
fn other_threads_lines_inside_prints_are_taken_out() {
    let log = std::fs::read_to_string(fixture("interleaved-error.log")).unwrap();
    let deadlocks: Vec<_> = ErrorLogDeadlocks::new(log.as_bytes())
        .map(Result::unwrap)
        .collect();
    let shapes: Vec<(usize, Option<u32>)> = deadlocks
        .iter()
        .map(|d| (d.transactions.len(), d.victim))
        .collect();
    assert_eq!(
        shapes,
        [(3, Some(3)), (2, Some(1)), (2, Some(1)), (2, Some(1))]
    );
    for d in &deadlocks {
        assert_eq!(d.first_unread_line(), None, "{:?}", d.timestamp);
        assert!(!d.truncated && !d.start_missing);
        // The split record equals the unsplit copy of it printed under CONFLICTING WITH.
        let waited = d.transactions[0].waits_for.as_ref().unwrap();
        assert!(waited.records.iter().all(|r| r.fields.iter().all(|f| f
            .hex
            .as_deref()
            .is_none_or(|h| h.len() % 2 == 0 && h.bytes().all(|b| b.is_ascii_hexdigit())))));
    }
    let last = &deadlocks[3].transactions[0];
    let held_by_other = &deadlocks[3].other_locks;
    let same_record = held_by_other
        .iter()
        .chain(deadlocks[3].transactions[1].holds.iter())
        .flat_map(|l| l.records.iter())
        .any(|r| Some(r) == last.waits_for.as_ref().and_then(|l| l.records.first()));
    assert!(same_record, "{last:#?}");
}

/// Every prefix of a real status text parses without panic; a prefix that ends
/// inside the deadlock section is flagged truncated, never reported whole.
#[test]
fn every_prefix_parses_and_is_flagged() {
    let mut texts: Vec<String> = [
        "payments-reservations",
        "three-way-cycle",
        "check-then-insert-gap",
    ]
    .iter()
    .map(|n| std::fs::read_to_string(fixture(&format!("{n}.status.txt"))).unwrap())
    .collect();
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    for rel in [
        "percona-toolkit/mysql55-two-trx-same-table.txt",
        "percona-toolkit/mysql50-two-part-trx-ids.txt",
        "mariadb-10.11/status-deadlock2.G.txt",
    ] {
        match std::fs::read_to_string(corpus.join(rel)) {
            Ok(t) => texts.push(t),
            Err(_) if std::env::var_os("CI").is_none() => {
                eprintln!("WARNING: corpus file {rel} absent: prefix test runs on fixtures only")
            }
            Err(e) => panic!("corpus file {rel}: {e}"),
        }
    }
    let mut prefixes = 0;
    for text in &texts {
        let full = parse_innodb_status(text).latest_deadlock.unwrap();
        assert!(!full.truncated);
        let victim_line = text.find("*** WE ROLL BACK TRANSACTION").unwrap();
        let first_trx = text.find("*** (1) TRANSACTION:").unwrap();
        let mut cut = 0;
        while cut < text.len() {
            let prefix = &text[..cut];
            let status = parse_innodb_status(prefix);
            if cut > first_trx + "*** (1) TRANSACTION:".len() && cut < victim_line {
                let d = status
                    .latest_deadlock
                    .expect("a cut deadlock section still parses");
                assert!(d.truncated, "prefix of {cut} bytes not flagged truncated");
                assert!(!d.transactions.is_empty());
            }
            prefixes += 1;
            cut += 1;
            while !text.is_char_boundary(cut) {
                cut += 1;
            }
        }
    }
    assert!(prefixes > 10_000, "{prefixes}");
}

#[test]
fn garbage_is_a_clear_error_with_exit_2() {
    let dir = std::env::temp_dir().join(format!("lockdiag-garbage-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let garbage = dir.join("garbage.txt");
    std::fs::write(
        &garbage,
        "hello\n*** not a deadlock\n\u{0}\u{1} binary \u{fffd}\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lockdiag"))
        .args(["deadlock", "--file", garbage.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no deadlock section found"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let missing = Command::new(env!("CARGO_BIN_EXE_lockdiag"))
        .args(["deadlock", "--file", "/nonexistent/status.txt"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/status.txt"));

    // A cut status text still renders what was read, flagged, with exit 0.
    let text = std::fs::read_to_string(fixture("three-way-cycle.status.txt")).unwrap();
    let cut = dir.join("cut.txt");
    std::fs::write(
        &cut,
        &text[..text.find("*** (3) TRANSACTION:").unwrap() + 40],
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lockdiag"))
        .args(["deadlock", "--file", cut.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("TRUNCATED"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn stdin_and_every_format_work_on_a_fixture() {
    use std::io::Write;
    for format in ["table", "json", "dot", "mermaid"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lockdiag"))
            .args(["deadlock", "--file", "-", "--format", format])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let text = std::fs::read(fixture("payments-reservations.status.txt")).unwrap();
        child.stdin.take().unwrap().write_all(&text).unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{format}");
        let stdout = String::from_utf8(out.stdout).unwrap();
        match format {
            "json" => schema_check::validate_document(&serde_json::from_str(&stdout).unwrap()),
            "dot" => assert!(stdout.starts_with("digraph") && stdout.trim_end().ends_with('}')),
            "mermaid" => assert!(stdout.starts_with("flowchart")),
            _ => assert!(stdout.starts_with("Deadlock at")),
        }
    }
}

/// The committed sample snapshot renders offline, with no server.
#[test]
fn sample_snapshot_renders_offline() {
    let snapshot = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/snapshot/chain.json");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_lockdiag"))
            .arg("--from")
            .arg(&snapshot)
            .args(args)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let waits: serde_json::Value =
        serde_json::from_str(&run(&["waits", "--format", "json"])).unwrap();
    schema_check::validate_document(&waits);
    let roots = waits["root_blockers"].as_array().unwrap();
    assert_eq!(roots.len(), 1);
    assert_eq!(
        (
            roots[0]["blocked_sessions"].as_u64(),
            roots[0]["state"].as_str()
        ),
        (Some(2), Some("idle_in_trx"))
    );
    assert_eq!(
        roots[0]["waiters"][0]["waiters"].as_array().unwrap().len(),
        1,
        "C hangs under B under A"
    );
    assert!(run(&["waits"]).starts_with("ROOT BLOCKER thread"));
    assert!(run(&["status"]).contains("2 waiting, 1 root blocker(s)"));
    let deadlock: serde_json::Value =
        serde_json::from_str(&run(&["deadlock", "--format", "json"])).unwrap();
    schema_check::validate_document(&deadlock);
    assert_eq!(
        deadlock["deadlocks"][0]["diagnosis"]["kind"],
        "lock_order_inversion"
    );
    assert!(run(&["locks"]).contains("shop.chain"));

    // Without the raw status text (--no-raw) the parsed latest deadlock still shows.
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&snapshot).unwrap()).unwrap();
    doc["innodb_status"] = serde_json::Value::Null;
    let no_raw = std::env::temp_dir().join(format!("lockdiag-noraw-{}.json", std::process::id()));
    std::fs::write(&no_raw, doc.to_string()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lockdiag"))
        .arg("--from")
        .arg(&no_raw)
        .args(["status", "--format", "json"])
        .output()
        .unwrap();
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    schema_check::validate_document(&status);
    assert_eq!(
        status["latest_deadlock"]["diagnosis"], "lock_order_inversion",
        "{status}"
    );
    std::fs::remove_file(&no_raw).unwrap();
}

/// Runs `program args… FILE`; `None` when the program is not installed.
fn check_with(program: &str, args: &[&str], file: &Path) -> Option<std::process::Output> {
    match Command::new(program).args(args).arg(file).output() {
        Ok(out) => Some(out),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("cannot run {program}: {e}"),
    }
}

#[test]
fn completions_and_man_pages_are_valid() {
    let dir = std::env::temp_dir().join(format!("lockdiag-reference-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let lockdiag = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_lockdiag"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        out.stdout
    };
    // Each shell checks its own script's syntax without running it; bash is always there.
    for (shell, checker, check_args) in [
        ("bash", "bash", &["-n"][..]),
        ("zsh", "zsh", &["-n"][..]),
        ("fish", "fish", &["--no-execute"][..]),
    ] {
        let script = dir.join(format!("lockdiag.{shell}"));
        std::fs::write(&script, lockdiag(&["completions", shell])).unwrap();
        assert!(
            std::fs::read_to_string(&script).unwrap().contains("dupes"),
            "{shell} completions name every command"
        );
        match check_with(checker, check_args, &script) {
            Some(out) => assert!(out.status.success(), "{shell} -n: {out:?}"),
            None if shell == "bash" => panic!("bash is needed to check the completions"),
            None => eprintln!(
                "note: {checker} is not installed: its completion script is generated, not checked"
            ),
        }
    }

    // The man pages render with no troff warning (a malformed page warns or fails).
    let page = dir.join("lockdiag.1");
    std::fs::write(&page, lockdiag(&["man"])).unwrap();
    let pages = dir.join("pages");
    lockdiag(&["man", "--dir", pages.to_str().unwrap()]);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&pages)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(
        files.iter().any(|f| f.ends_with("lockdiag-kill.1")),
        "{files:?}"
    );
    let source = std::fs::read_to_string(&page).unwrap();
    assert!(
        source.contains("Exit status"),
        "the exit codes are in the page: {source}"
    );
    files.push(page);
    for file in &files {
        let Some(out) = check_with("man", &["--warnings", "-l"], file) else {
            // tools/test.sh installs man-db: under CI a missing `man` is a failure, not a pass.
            assert!(
                std::env::var_os("CI").is_none(),
                "man is not installed: cannot check the man pages"
            );
            eprintln!("note: man is not installed: the man pages are generated, not checked");
            break;
        };
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{}: {out:?}",
            file.display()
        );
        assert!(text.contains("lockdiag"), "{}: {text}", file.display());
    }
    let main_page = String::from_utf8_lossy(
        &check_with("man", &["-l"], &dir.join("lockdiag.1"))
            .map(|o| o.stdout)
            .unwrap_or_default(),
    )
    .into_owned();
    if !main_page.is_empty() {
        assert!(main_page.contains("SUBCOMMANDS"), "{main_page}");
        assert!(main_page.contains("--socket"), "{main_page}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_corrupt_snapshot_in_a_directory_is_skipped_not_fatal() {
    let dir = std::env::temp_dir().join(format!("lockdiag-corrupt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/snapshot/chain.json");
    std::fs::copy(&sample, dir.join("lockdiag-20261129T070000.000Z.json")).unwrap();
    // Cut short, as a full disk leaves it.
    let text = std::fs::read_to_string(&sample).unwrap();
    std::fs::write(
        dir.join("lockdiag-20261129T070100.000Z.json"),
        &text[..text.len() / 2],
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lockdiag"))
        .arg("--from")
        .arg(&dir)
        .args(["deadlock", "--format", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("skipped") && stderr.contains("070100"),
        "{stderr}"
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    schema_check::validate_document(&doc);
    assert_eq!(doc["kind"], "deadlock");
    // One file alone that is corrupt is an error.
    let single = Command::new(env!("CARGO_BIN_EXE_lockdiag"))
        .arg("--from")
        .arg(dir.join("lockdiag-20261129T070100.000Z.json"))
        .arg("deadlock")
        .output()
        .unwrap();
    assert_eq!(single.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}
