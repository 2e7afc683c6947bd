//! `--format svg` through the binary on the captured fixtures (no server): the
//! documents are well-formed XML as xmllint reads them (the oracle; tools/test.sh
//! installs it), name what they should, and are kept as golden files
//! (tests/snapshots/svg__*.snap) so that a change in a drawing is reviewed.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// Runs lockdiag from the checkout (fixture paths relative, as the goldens show them).
fn run(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lockdiag"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run lockdiag")
}

fn svg_of(args: &[&str]) -> String {
    let out = run(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    assert!(
        text.starts_with(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\""
        ),
        "{args:?}: {text}"
    );
    assert_eq!(text.matches("<svg ").count(), 1, "one document: {args:?}");
    text
}

/// Whether xmllint can be run. Absent under CI (`CI` set), the test fails; elsewhere
/// it says so on the terminal (past the test harness's capture), once.
fn xmllint_present() -> bool {
    static PRESENT: OnceLock<bool> = OnceLock::new();
    *PRESENT.get_or_init(|| {
        let present = Command::new("xmllint")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !present {
            assert!(
                std::env::var_os("CI").is_none(),
                "xmllint is missing: install libxml2-utils (tools/test.sh does)"
            );
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: xmllint is not installed (Debian: libxml2-utils): the SVG documents are NOT checked for well-formedness"
            );
        }
        present
    })
}

/// `xmllint --noout -` accepts the document without a word.
fn assert_well_formed(svg: &str, what: &str) {
    if !xmllint_present() {
        return;
    }
    let mut child = Command::new("xmllint")
        .args(["--noout", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run xmllint");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(svg.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty() && out.stdout.is_empty(),
        "{what}: xmllint says {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn deadlock_fixtures_draw_well_formed_svg() {
    for name in [
        "payments-reservations.status.txt",
        "three-way-cycle.status.txt",
        "check-then-insert-gap.status.txt",
        "check-then-insert-unique.status.txt",
        "duplicate-key-check.status.txt",
        // Three deadlocks, stacked in one document.
        "error.log",
    ] {
        let path = format!("fixtures/live/{name}");
        let svg = svg_of(&["deadlock", "--file", &path, "--format", "svg"]);
        assert_well_formed(&svg, name);
        assert!(svg.contains("marker-end=\"url(#lockdiag-arrow"), "{name}");
        assert!(svg.contains("✗ rolled back (the victim)"), "{name}");
        insta::assert_snapshot!(format!("deadlock-{name}"), svg);
    }
    let svg = svg_of(&[
        "deadlock",
        "--file",
        "fixtures/live/payments-reservations.status.txt",
        "--format",
        "svg",
    ]);
    assert!(svg.contains("shop.payments") && svg.contains("shop.reservations"));
    // Both edges of the inversion are the cycle's: red, each with its arrow.
    assert_eq!(
        svg.matches("marker-end=\"url(#lockdiag-arrow-cycle)\"")
            .count(),
        2
    );
    let log = svg_of(&[
        "deadlock",
        "--file",
        "fixtures/live/error.log",
        "--format",
        "svg",
    ]);
    assert_eq!(log.matches(">Deadlock ").count(), 3, "{log}");
}

#[test]
fn saved_snapshot_waits_status_and_deadlock_draw_well_formed_svg() {
    // A → B → C on shop.chain (fixtures/snapshot/NOTES.md): A idle in its transaction.
    let from = ["--from", "fixtures/snapshot/chain.json"];
    let waits = svg_of(&[&from[..], &["waits", "--format", "svg"]].concat());
    assert_well_formed(&waits, "waits");
    assert_eq!(
        waits.matches("ROOT BLOCKER · idle in trx").count(),
        1,
        "{waits}"
    );
    assert_eq!(
        waits.matches(" rx=\"6\"").count(),
        3,
        "three sessions: {waits}"
    );
    assert_eq!(waits.matches(">row X shop.chain<").count(), 2, "{waits}");
    insta::assert_snapshot!("waits-chain", waits);
    // `status` draws the same waits graph.
    let status = svg_of(&[&from[..], &["status", "--format", "svg"]].concat());
    assert_eq!(status, waits);
    let deadlock = svg_of(&[&from[..], &["deadlock", "--format", "svg"]].concat());
    assert_well_formed(&deadlock, "deadlock from a snapshot");
    assert!(deadlock.contains("shop.payments") && deadlock.contains("shop.reservations"));
}

#[test]
fn svg_is_offered_where_it_prints_and_refused_elsewhere() {
    let bash = run(&["completions", "bash"]);
    assert!(String::from_utf8_lossy(&bash.stdout).contains("svg"));
    let out = run(&[
        "--from",
        "fixtures/snapshot/chain.json",
        "ps",
        "--format",
        "svg",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not --format svg"), "{stderr}");
}
