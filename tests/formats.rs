//! The parser on the shapes real servers and people produce, each derived
//! from a real capture (fixtures/live, made by our live tests) by the one
//! change that shape makes. The oracle is the capture itself: the same
//! deadlock in another shape must parse to the same transactions and locks.

use std::path::{Path, PathBuf};
use std::process::Command;

use lockdiag::analyze::analyze_deadlock;
use lockdiag::model::Deadlock;
use lockdiag::parse::{parse_deadlock_lines, parse_innodb_status, ErrorLogDeadlocks};

#[path = "support/schema_check.rs"]
mod schema_check;

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/live")
        .join(name);
    std::fs::read_to_string(path).expect("fixture")
}

/// The lines of the LATEST DETECTED DEADLOCK section of a status fixture.
fn section(status: &str) -> Vec<String> {
    let lines: Vec<&str> = status.lines().collect();
    let start = lines
        .iter()
        .position(|l| *l == "LATEST DETECTED DEADLOCK")
        .expect("deadlock section")
        + 2;
    let end = start
        + lines[start..]
            .iter()
            .position(|l| l.starts_with("------------"))
            .expect("section end");
    lines[start..end].iter().map(|l| l.to_string()).collect()
}

const CAPTURES: [&str; 3] = [
    "payments-reservations.status.txt",
    "three-way-cycle.status.txt",
    "check-then-insert-gap.status.txt",
];

/// Transactions and locks as parsed, the fields a shape must not change.
fn shape(d: &Deadlock) -> String {
    let mut out = format!("victim={:?} truncated={}\n", d.victim, d.truncated);
    for t in &d.transactions {
        out.push_str(&format!(
            "T{} trx={:?} thread={:?} user={:?} holds={:?} waits={:?}\n",
            t.number, t.trx_id, t.thread_id, t.user, t.holds, t.waits_for
        ));
    }
    out
}

/// A shape must not change what the analysis makes of the deadlock.
fn assert_same_diagnosis(parsed: &Deadlock, expected: &Deadlock, name: &str) {
    assert_eq!(
        analyze_deadlock(parsed).diagnosis.kind,
        analyze_deadlock(expected).diagnosis.kind,
        "{name}"
    );
}

fn reference(name: &str) -> Deadlock {
    parse_innodb_status(&fixture(name))
        .latest_deadlock
        .expect("a deadlock")
}

/// A capture's deadlock section written as an error log: `opening` first, then
/// each line, `***` headers through `header` (which adds the log prefix, or
/// leaves the line as the server prints it unprefixed), the rest bare; the
/// section's own timestamp line is dropped (the log prefix carries the time).
fn as_error_log(name: &str, opening: &str, header: impl Fn(&str) -> String) -> Vec<Deadlock> {
    let mut log = opening.to_string();
    for line in section(&fixture(name)) {
        if line.starts_with("***") {
            log.push_str(&header(&line));
        } else if !line.starts_with("20") {
            log.push_str(&line);
        }
        log.push('\n');
    }
    ErrorLogDeadlocks::new(log.as_bytes())
        .map(|d| d.unwrap())
        .collect()
}

#[test]
fn mysql8_error_log_with_two_spaces_trailing_blanks_and_offsets() {
    for name in CAPTURES {
        // MySQL 8.0/8.4 with log_timestamps=SYSTEM: headers carry `[Note] [MY-012469] [InnoDB]`,
        // then two spaces before `***`, often a trailing space.
        let prefix = "2025-11-10T08:52:25.728850+08:00 9 [Note] [MY-012469] [InnoDB] ";
        let found = as_error_log(
            name,
            "2025-11-10T08:52:25.728801+08:00 9 [Note] [MY-012468] [InnoDB] Transactions deadlock detected, dumping detailed information.\n",
            |line| format!("{prefix} {line} "),
        );
        assert_eq!(found.len(), 1, "{name}");
        assert_eq!(shape(&found[0]), shape(&reference(name)), "{name}");
        assert_eq!(
            found[0].timestamp.as_deref(),
            Some("2025-11-10T08:52:25+08:00"),
            "the offset is kept"
        );
        assert_eq!(found[0].first_unread_line(), None, "{name}");
    }
}

#[test]
fn mariadb_log_with_space_padded_hour_and_empty_prefix_line() {
    // MariaDB pads the hour with a space before 10:00 and may print the `***` on the next,
    // unprefixed line after an empty `[Note] InnoDB:` one.
    let name = CAPTURES[0];
    let found = as_error_log(
        name,
        "2026-11-29  5:52:35 40 [Note] InnoDB: Transactions deadlock detected, dumping detailed information.\n2026-11-29  5:52:35 40 [Note] InnoDB:\n",
        |line| {
            if line.starts_with("*** (1) TRANSACTION") {
                line.to_string()
            } else {
                format!("2026-11-29  5:52:35 40 [Note] InnoDB: {line}")
            }
        },
    );
    assert_eq!(found.len(), 1);
    assert_eq!(shape(&found[0]), shape(&reference(name)));
    assert_eq!(found[0].timestamp.as_deref(), Some("2026-11-29 05:52:35"));
}

#[test]
fn pasted_text_with_runs_of_spaces_tabs_and_crlf() {
    for name in CAPTURES {
        let lines = section(&fixture(name));
        let pasted: Vec<String> = lines
            .iter()
            .map(|l| {
                if l.starts_with(' ') && l.contains(": len ") {
                    l.clone() // record fields keep their own spacing
                } else {
                    format!("  {}\t \r", l.replace(' ', "   "))
                }
            })
            .collect();
        let parsed = parse_deadlock_lines(pasted.iter().map(String::as_str));
        let original = parse_deadlock_lines(lines.iter().map(String::as_str));
        // Statements keep their spacing as printed; everything else must be equal.
        let strip = |d: &Deadlock| {
            let mut d = d.clone();
            d.transactions.iter_mut().for_each(|t| t.query = None);
            shape(&d)
        };
        assert_eq!(strip(&parsed), strip(&original), "{name}");
        assert_same_diagnosis(&parsed, &original, name);
    }
}

#[test]
fn ansi_quotes_and_escaped_identifiers() {
    for name in CAPTURES {
        let lines = section(&fixture(name));
        // ANSI_QUOTES: identifiers in double quotes.
        let ansi: Vec<String> = lines
            .iter()
            .map(|l| {
                if l.starts_with("RECORD LOCKS") || l.starts_with("TABLE LOCK") {
                    l.replace('`', "\"")
                } else {
                    l.clone()
                }
            })
            .collect();
        let parsed = parse_deadlock_lines(ansi.iter().map(String::as_str));
        let original = parse_deadlock_lines(lines.iter().map(String::as_str));
        assert_eq!(shape(&parsed), shape(&original), "{name}");
    }
    // Quotes doubled inside a name, a dot, spaces and non-ASCII, and a partition comment.
    let line = "RECORD LOCKS space id 5 page no 4 n bits 72 index \"uk\"\"x\" of table \"sh.op\".\"pay ments é\" /* Partition \"p1\" */ trx id 77 lock_mode X locks rec but not gap waiting";
    let lock = lockdiag::parse::lines::parse_lock_header(line).expect("a lock line");
    assert_eq!(lock.schema.as_deref(), Some("sh.op"));
    assert_eq!(lock.table, "pay ments é");
    assert_eq!(lock.partition.as_deref(), Some("p1"));
    assert_eq!(lock.index.as_deref(), Some("uk\"x"));
    let line = "RECORD LOCKS space id 5 page no 4 n bits 72 index `a``b` of table `db`.`t``1` trx id 77 lock_mode X";
    let lock = lockdiag::parse::lines::parse_lock_header(line).unwrap();
    assert_eq!(
        (lock.index.as_deref(), lock.table.as_str()),
        (Some("a`b"), "t`1")
    );
}

#[test]
fn shapes_that_used_to_panic() {
    let hostile = [
        "111212 1:23:4é",
        "111212  1:2é:45",
        "2026-11-29 1é:00:00",
        "2026-11-29T10:00:00+0é:00 5 [Note] InnoDB: x",
        "TRANSACTION 4294967295 4294967296, ACTIVE 1 sec",
        "RECORD LOCKS space id 1 page no 2 n bits 3 index PRIMARY of table `a`.`b` trx id 4294967295 4294967296 lock_mode X",
        " 0: len 18446744073709551615; hex 80; asc ;;",
        "*** (4294967296) TRANSACTION:",
    ];
    for line in hostile {
        let text = format!("LATEST DETECTED DEADLOCK\n------------------------\n{line}\n*** (1) TRANSACTION:\n{line}\n*** WE ROLL BACK TRANSACTION (1)\n------------\nTRANSACTIONS\n------------\n{line}\n");
        let _ = parse_innodb_status(&text);
        let log = format!("2026-11-29 10:00:00 5 [Note] InnoDB: Transactions deadlock detected, dumping detailed information.\n{line}\n2026-11-29 10:00:00 5 [Note] InnoDB: *** (1) TRANSACTION:\n{line}\n");
        for d in ErrorLogDeadlocks::new(log.as_bytes()) {
            let _ = analyze_deadlock(&d.unwrap());
        }
    }
    // A two-part id whose low word overflows 32 bits is kept as printed, not wrapped.
    assert_eq!(
        lockdiag::parse::lines::normalize_trx_id("4294967295 4294967296"),
        "4294967295 4294967296"
    );
    assert_eq!(
        lockdiag::parse::lines::normalize_trx_id("0 3793488"),
        "3793488"
    );
}

#[test]
fn a_multibyte_character_anywhere_in_a_real_print_never_panics() {
    for name in CAPTURES {
        let lines = section(&fixture(name));
        for (i, line) in lines.iter().enumerate() {
            for (at, _) in line.char_indices().chain([(line.len(), ' ')]) {
                for insert in ["é", "😀"] {
                    let mut changed = lines.clone();
                    changed[i] = format!("{}{insert}{}", &line[..at], &line[at..]);
                    let d = parse_deadlock_lines(changed.iter().map(String::as_str));
                    let _ = analyze_deadlock(&d);
                }
            }
        }
    }
}

fn lockdiag(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lockdiag"))
        .args(args)
        .output()
        .expect("run lockdiag")
}

fn temp(name: &str, bytes: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("lockdiag-formats-{}-{name}", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn utf16_bom_and_crlf_files_read_like_the_original() {
    let name = CAPTURES[0];
    let text = fixture(name);
    let json = |path: &Path| {
        let out = lockdiag(&[
            "deadlock",
            "--file",
            path.to_str().unwrap(),
            "--format",
            "json",
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        schema_check::validate_document(&v);
        v["source"] = serde_json::Value::Null;
        v
    };
    let original = json(&temp("utf8", text.as_bytes()));
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let crlf = text.replace('\n', "\r\n");
    let mut bom8 = vec![0xEF, 0xBB, 0xBF];
    bom8.extend_from_slice(crlf.as_bytes());
    for (shape, bytes) in [("utf16", utf16), ("crlf-bom", bom8)] {
        let path = temp(shape, &bytes);
        assert_eq!(json(&path), original, "{shape}");
        std::fs::remove_file(path).ok();
    }
    // An error log saved as UTF-16 by PowerShell still yields its deadlocks.
    let log = fixture("error.log");
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(log.encode_utf16().flat_map(u16::to_le_bytes));
    let path = temp("log16", &utf16);
    let out = lockdiag(&[
        "deadlock",
        "--error-log",
        path.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    schema_check::validate_document(&v);
    assert_eq!(v["deadlocks_total"], 3);
    std::fs::remove_file(path).ok();
}

#[test]
fn a_deadlock_with_unreadable_lines_exits_1_and_says_which() {
    let text = fixture(CAPTURES[0]).replace("RECORD LOCKS space id", "RECORD LOCKZ space id");
    let path = temp("garbled", text.as_bytes());
    let out = lockdiag(&["deadlock", "--file", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not understood") && stderr.contains("RECORD LOCKZ"),
        "{stderr}"
    );
    std::fs::remove_file(path).ok();
}

/// The captured log as MySQL's JSON sink would carry it: one object per prefixed
/// record, its message only (the sink never receives the unprefixed body lines).
fn as_json_sink(log: &str) -> String {
    let mut out = String::new();
    for line in log.lines() {
        let Some((head, message)) = line.split_once(" [Note] InnoDB: ") else {
            continue;
        };
        let mut fields = head.split_whitespace();
        let (date, time) = (fields.next().unwrap(), fields.next().unwrap());
        let code = if message.contains("deadlock detected") {
            12468
        } else {
            12469
        };
        // As a published MySQL 8 capture shows them: `log_type`, no `thread` on InnoDB's events.
        let event = serde_json::json!({
            "log_type": 1, "prio": 3, "err_code": code, "subsystem": "InnoDB", "msg": message,
            "time": format!("{date}T{time}.000000Z"), "ts": 1_795_000_000_000u64,
            "err_symbol": "ER_IB_MSG_643", "SQL_state": "HY000", "label": "Note",
        });
        // Pretty-printed over several lines, as the sink may write them.
        out.push_str(&serde_json::to_string_pretty(&event).unwrap());
        out.push('\n');
    }
    out
}

#[test]
fn json_sink_log_gives_times_and_counts_and_says_why_no_transactions() {
    let log = fixture("error.log");
    let times: Vec<String> = ErrorLogDeadlocks::new(log.as_bytes())
        .map(|d| d.unwrap().timestamp.unwrap())
        .collect();
    assert_eq!(times.len(), 3);
    let json = as_json_sink(&log);
    let path = temp("json-sink.00.json", json.as_bytes());
    let file = path.to_str().unwrap();
    for flag in ["--error-log", "--file"] {
        let out = lockdiag(&["deadlock", flag, file, "--format", "json"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{flag}: {stderr}");
        assert!(
            stderr.contains("log_sink_json") && stderr.contains("@@log_error"),
            "{stderr}"
        );
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        schema_check::validate_document(&doc);
        assert_eq!(doc["deadlocks_total"], 3, "{doc:#}");
        let got: Vec<String> = doc["deadlocks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["timestamp"].as_str().unwrap().to_string())
            .collect();
        // The same moments as the file's prints (the JSON sink writes them in UTC, `Z`).
        let expected: Vec<String> = times
            .iter()
            .map(|t| format!("{}Z", t.replace(' ', "T")))
            .collect();
        assert_eq!(got, expected);
    }
    // Text that is no JSON event after the first events: what was read is listed, exit 1.
    let cut = format!(
        "{}\n-- garbage --\n",
        &json[..json.len() / 2].rsplit_once("\n}").unwrap().0
    );
    let path = temp(
        "json-sink-cut.00.json",
        format!("{cut}\n}}\nnot json").as_bytes(),
    );
    let out = lockdiag(&["deadlock", "--error-log", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("not a JSON log event"), "{stderr}");
}

#[test]
fn mysql56_log_with_bare_hex_thread_glued_to_innodb() {
    // MySQL 5.6 (seen in published logs): `DATE TIME 7f72c0043700InnoDB: transactions deadlock
    // detected, …`, a blank line, then each section opened by a line of timestamp and thread alone.
    for name in CAPTURES {
        let found = as_error_log(
            name,
            "2016-06-15 20:28:25 7f72c0043700InnoDB: transactions deadlock detected, dumping detailed information.\n\n",
            |line| format!("2016-06-15 20:28:25 7f72c0043700\n{line}"),
        );
        assert_eq!(found.len(), 1, "{name}");
        assert_eq!(shape(&found[0]), shape(&reference(name)), "{name}");
        assert_eq!(found[0].timestamp.as_deref(), Some("2016-06-15 20:28:25"));
        assert_eq!(found[0].first_unread_line(), None, "{name}");
    }
}

#[test]
fn pasted_logs_indented_or_with_blank_lines_between_lines() {
    // Logs pasted into blogs and issues: every line tab- or space-indented (code blocks in
    // lists), or a blank line after each (copied from some web pages).
    let log = fixture("error.log");
    let shapes = |text: &str| -> Vec<(String, Option<String>)> {
        ErrorLogDeadlocks::new(text.as_bytes())
            .map(|d| {
                let d = d.unwrap();
                assert_eq!(d.first_unread_line(), None);
                (shape(&d), d.timestamp)
            })
            .collect()
    };
    let reference = shapes(&log);
    assert_eq!(reference.len(), 3);
    let indent = |pad: &str| {
        log.lines()
            .map(|l| format!("{pad}{l}\n"))
            .collect::<String>()
    };
    let doubled: String = log.lines().map(|l| format!("{l}\n\n")).collect();
    for (what, text) in [
        ("tab", indent("\t")),
        ("two spaces", indent("  ")),
        ("blank lines", doubled),
    ] {
        assert_eq!(shapes(&text), reference, "{what}");
    }
}

/// A capture's lock line as Amazon Aurora MySQL prints it: the index in backquotes,
/// `trx table locks N total table locks N` after the table (after its partition
/// comment, if any; then two spaces), `lock hold time N wait time before grant N`
/// after the mode and flags, a trailing space.
fn as_aurora_lock_line(line: &str, partition: Option<&str>) -> String {
    let (head, owner) = line.split_once(" trx id ").expect("a lock line");
    let (before_index, rest) = head.split_once(" index ").expect("an index");
    let (index, table) = rest.split_once(" of table ").expect("a table");
    let comment = partition.map_or(String::new(), |p| format!(" /* Partition `{p}` */"));
    format!("{before_index} index `{index}` of table {table}{comment} trx table locks 2 total table locks 2  trx id {owner} lock hold time 0 wait time before grant 0 ")
}

#[test]
fn aurora_lock_lines_with_table_lock_counts_and_hold_times() {
    // Aurora MySQL (seen in published prints, also from a partitioned table) adds fields
    // to every lock line; the locks must read as without them.
    for name in CAPTURES {
        for partition in [None, Some("p51")] {
            let lines = section(&fixture(name));
            let rewrite = |aurora: bool| -> Vec<String> {
                lines
                    .iter()
                    .map(
                        |l| match (l.starts_with("RECORD LOCKS"), aurora, partition) {
                            (true, true, _) => as_aurora_lock_line(l, partition),
                            (true, false, Some(p)) => l.replacen(
                                " trx id ",
                                &format!(" /* Partition `{p}` */ trx id "),
                                1,
                            ),
                            _ => l.clone(),
                        },
                    )
                    .collect()
            };
            let (aurora, plain) = (rewrite(true), rewrite(false));
            let parsed = parse_deadlock_lines(aurora.iter().map(String::as_str));
            let expected = parse_deadlock_lines(plain.iter().map(String::as_str));
            assert_eq!(shape(&parsed), shape(&expected), "{name} {partition:?}");
            assert_eq!(parsed.first_unread_line(), None, "{name}");
            let waiting = parsed
                .transactions
                .iter()
                .filter_map(|t| t.waits_for.as_ref());
            assert!(waiting.clone().count() > 0 && waiting.clone().all(|l| l.waiting));
            assert!(parsed
                .transactions
                .iter()
                .flat_map(|t| t.waits_for.iter().chain(&t.holds))
                .all(|l| l.table.starts_with(|c: char| c.is_ascii_lowercase())
                    && l.partition.as_deref() == partition
                    && l.index.as_deref().is_some_and(|i| !i.contains('`'))));
            assert_same_diagnosis(&parsed, &expected, name);
        }
    }
}

#[test]
fn status_texts_and_sections_pasted_indented_or_quoted() {
    // A status or its deadlock section copied into notes, a code block, a chat or a
    // reply: every line behind the same tabs, spaces or `> ` (an empty line as `>`).
    for name in CAPTURES {
        let status = fixture(name);
        let bare = section(&status).join("\n");
        let expected = shape(&reference(name));
        for margin in ["\t", "    ", "> ", "> > "] {
            let quote = |text: &str| -> String {
                text.lines()
                    .map(|l| {
                        if l.is_empty() && margin.starts_with('>') {
                            ">\n".to_string()
                        } else {
                            format!("{margin}{l}\n")
                        }
                    })
                    .collect()
            };
            for (what, text) in [("status", quote(&status)), ("section", quote(&bare))] {
                let parsed = parse_innodb_status(&text);
                let deadlock = parsed
                    .latest_deadlock
                    .unwrap_or_else(|| panic!("{name} {what} {margin:?}: no deadlock"));
                assert_eq!(shape(&deadlock), expected, "{name} {what} {margin:?}");
                assert_eq!(deadlock.first_unread_line(), None, "{name} {what}");
            }
            let full = parse_innodb_status(&quote(&status));
            let original = parse_innodb_status(&status);
            assert_eq!(full.transactions.len(), original.transactions.len());
            assert_eq!(full.sections, original.sections);
        }
    }
    // Through the command: the same document as the original, exit 0.
    let text = fixture(CAPTURES[0]);
    let run = |bytes: &[u8], tag: &str| {
        let path = temp(tag, bytes);
        let out = lockdiag(&[
            "deadlock",
            "--file",
            path.to_str().unwrap(),
            "--format",
            "json",
        ]);
        std::fs::remove_file(path).ok();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        schema_check::validate_document(&v);
        v["source"] = serde_json::Value::Null;
        v
    };
    let quoted: String = text.lines().map(|l| format!("> {l}\n")).collect();
    assert_eq!(
        run(quoted.as_bytes(), "quoted"),
        run(text.as_bytes(), "plain")
    );
    // An error log quoted the same way is still read as a log.
    let log = fixture("error.log");
    let quoted: String = log.lines().map(|l| format!("> {l}\n")).collect();
    assert_eq!(run(quoted.as_bytes(), "quoted-log")["deadlocks_total"], 3);
}

#[test]
fn error_log_excerpts_that_start_inside_a_print() {
    use lockdiag::parse::deadlock::START_MISSING;
    let read = |text: &str| -> Vec<Deadlock> {
        ErrorLogDeadlocks::new(text.as_bytes())
            .map(|d| d.unwrap())
            .collect()
    };
    // MariaDB: each print copied without its `Transactions deadlock detected` line; the
    // bare `*** (1) TRANSACTION:` after the empty `[Note] InnoDB:` line opens it.
    let log = fixture("error.log");
    let from_log = read(&log);
    let excerpt: String = log
        .lines()
        .filter(|l| !l.contains("deadlock detected"))
        .map(|l| format!("{l}\n"))
        .collect();
    let found = read(&excerpt);
    assert_eq!(found.len(), from_log.len());
    for (got, want) in found.iter().zip(&from_log) {
        assert_eq!(shape(got), shape(want));
        assert_eq!(got.timestamp, want.timestamp);
        assert_eq!(got.first_unread_line(), Some(START_MISSING));
    }
    // MySQL 8 (every `***` line prefixed), from its first section header, and from the
    // second transaction on: still a deadlock, its victim read.
    for name in CAPTURES {
        let prefix = "2025-11-10T08:52:25.728850+08:00 9 [Note] [MY-012469] [InnoDB] ";
        let found = as_error_log(name, "", |line| format!("{prefix} {line} "));
        assert_eq!(found.len(), 1, "{name}");
        assert_eq!(shape(&found[0]), shape(&reference(name)), "{name}");
        assert_eq!(found[0].first_unread_line(), Some(START_MISSING));
        let mut log = String::new();
        for line in section(&fixture(name)) {
            match line.starts_with("***") {
                true => log.push_str(&format!("{prefix} {line}\n")),
                false => log.push_str(&format!("{line}\n")),
            }
        }
        let from_t2 = &log[log.find("*** (2) TRANSACTION").unwrap() - prefix.len() - 1..];
        let found = read(from_t2);
        assert_eq!(found.len(), 1, "{name}");
        assert_eq!(found[0].victim, reference(name).victim, "{name}");
        assert!(found[0].transactions.iter().any(|t| t.number == 2));
        // The same excerpt as a status text (`--file`'s other reader) keeps the victim too.
        let status = parse_innodb_status(from_t2).latest_deadlock.unwrap();
        assert_eq!(status.victim, reference(name).victim, "{name}");
    }
    // A monitor output dumped into the log (bare lines) is no deadlock print.
    let startup: String = log.lines().take(20).map(|l| format!("{l}\n")).collect();
    let dumped = format!("{startup}{}{startup}", fixture(CAPTURES[0]));
    assert_eq!(read(&dumped).len(), 0);

    // Through the command: a partly read deadlock (exit 1, the note says why) for both
    // readers; "no deadlocks" (exit 0) only for a log without deadlock text.
    let path = temp("excerpt.log", excerpt.as_bytes());
    for flag in ["--error-log", "--file"] {
        let out = lockdiag(&["deadlock", flag, path.to_str().unwrap(), "--format", "json"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{flag}: {stderr}");
        assert!(stderr.contains("start is missing"), "{stderr}");
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        schema_check::validate_document(&doc);
        assert_eq!(doc["deadlocks_total"], 3, "{flag}");
        assert!(doc["deadlocks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["victim"].is_number()));
    }
    std::fs::remove_file(path).ok();
    let path = temp("startup.log", startup.as_bytes());
    let out = lockdiag(&["deadlock", "--error-log", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    std::fs::remove_file(path).ok();
}
