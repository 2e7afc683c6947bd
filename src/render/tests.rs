//! Golden tests of every format on hand-built views, including names a
//! server will happily store: quotes, newlines, `<`, `&`, escape sequences.

use crate::analyze::checks::{CheckResult, CheckStatus};
use crate::analyze::kill::KillTarget;
use crate::analyze::kill::{KillOutcome, KillPlan, KillReport, KillResult};
use crate::analyze::views::{
    locks_view, ps_view, status_view, waits_view, CheckView, DeadlockOrigin, DeadlocksView,
    PsFilter, SnapshotView,
};
use crate::analyze::waits::SessionState;
use crate::analyze::{analyze_waits, DeadlockReport};
use crate::model::{
    LiveState, LockStatus, LockSummary, LockWait, ServerInfo, Session, SessionCommand, Transaction,
    TrxState, WaitKind,
};

use super::svg_layout;
use super::*;

#[path = "../../tests/support/schema_check.rs"]
mod schema_check;

/// Every name a server lets a user create, and then some.
const HOSTILE: &str = "pay\"ments<&>\n\u{1b}[31mred";

fn state() -> LiveState {
    let session = |id: u64, command: SessionCommand, info: Option<&str>| Session {
        thread_id: id,
        user: "app\"x".into(),
        host: "10.0.0.5".into(),
        db: Some("shop".into()),
        command,
        time_secs: 40 + id,
        state: None,
        info: info.map(str::to_string),
        query_id: None,
    };
    LiveState {
        server: ServerInfo {
            version: "10.11.19-MariaDB".into(),
            hostname: Some("db1".into()),
            port: Some(3306),
            ..ServerInfo::default()
        },
        sessions: vec![
            session(4, SessionCommand::Sleep, None),
            session(
                5,
                SessionCommand::Query,
                Some("UPDATE `pay\"ments<&>` SET a=1"),
            ),
        ],
        transactions: vec![Transaction {
            trx_id: "274".into(),
            thread_id: 4,
            state: TrxState::Running,
            age_secs: 90,
            rows_locked: 1,
            ..Transaction::default()
        }],
        row_waits: vec![LockWait {
            waiting_thread_id: 5,
            blocking_thread_id: 4,
            kind: WaitKind::Row,
            waiting_trx_id: Some("275".into()),
            blocking_trx_id: Some("274".into()),
            schema: Some("sh\"op".into()),
            table: Some(HOSTILE.into()),
            index: Some("PRIMARY".into()),
            lock_mode: "X,REC_NOT_GAP".into(),
            blocking_lock_mode: Some("X,REC_NOT_GAP".into()),
            blocking_lock_status: Some(LockStatus::Granted),
            lock_data: Some("'a\"b'".into()),
            wait_secs: 12,
        }],
        locks: vec![LockSummary {
            thread_id: Some(4),
            trx_id: "274".into(),
            schema: Some("sh\"op".into()),
            table: Some(HOSTILE.into()),
            index: Some("PRIMARY".into()),
            lock_type: "RECORD".into(),
            lock_mode: "X".into(),
            lock_status: LockStatus::Granted,
            count: 1,
        }],
        ..LiveState::default()
    }
}

fn deadlock_view() -> DeadlocksView {
    let text = include_str!("../../fixtures/live/payments-reservations.status.txt")
        .replace("`payments`", "`pay\"ments<&>`");
    let report = DeadlockReport::latest_in(Some(&text), None).expect("the fixture has a deadlock");
    DeadlocksView::new(
        DeadlockOrigin::Status,
        "file:x".into(),
        vec![report],
        1,
        None,
    )
}

fn check_view() -> CheckView {
    CheckView::new(
        vec![
            CheckResult {
                name: "max-lock-wait 5s".into(),
                status: CheckStatus::Fail,
                figure: format!("longest wait 12s on {HOSTILE}"),
                sessions: None,
            },
            CheckResult {
                name: "no-metadata-lock-waits".into(),
                status: CheckStatus::Pass,
                figure: "none".into(),
                sessions: None,
            },
        ],
        0.5,
    )
}

fn kill_result(outcome: KillOutcome) -> KillResult {
    KillResult {
        target: KillTarget {
            thread_id: 4,
            user: "app".into(),
            host: "10.0.0.5".into(),
            db: Some("shop".into()),
            command: SessionCommand::Sleep,
            state: SessionState::IdleInTrx,
            time_secs: 42,
            trx_id: Some("274".into()),
            trx_started: Some("2026-11-29 05:58:30".into()),
            query_id: Some(4711),
            trx_age_secs: Some(90),
            rows_locked: Some(1),
            rows_modified: Some(1),
            locked_tables: vec!["shop.payments".into()],
            query: None,
            blocked_sessions: 1,
            longest_wait_secs: 12,
            refused: None,
            statement_history: None,
        },
        statement: "KILL CONNECTION 4".into(),
        outcome,
        detail: None,
        recheck_to_kill_us: (outcome == KillOutcome::Killed).then_some(850),
    }
}

fn kill_server() -> crate::analyze::kill::KillServer {
    crate::analyze::kill::KillServer {
        hostname: Some("db1".into()),
        port: Some(3306),
        server_id: Some(1),
        version: "10.11.19-MariaDB".into(),
        read_only: Some(false),
        replica: false,
    }
}

fn plain(view: &View, format: Format) -> String {
    render(view, format, &TableStyle::plain()).expect("supported")
}

#[test]
fn every_view_in_every_format_it_supports() {
    let state = state();
    let views = vec![
        View::Status(status_view(
            &state,
            analyze_waits(&state),
            None,
            std::time::Duration::from_secs(60),
        )),
        View::Ps(ps_view(&state, &PsFilter::default())),
        View::Locks(locks_view(&state, None)),
        View::Waits(waits_view(&state, analyze_waits(&state))),
        View::Deadlocks(deadlock_view()),
        View::Check(check_view()),
        View::KillPlan(KillPlan {
            server: kill_server(),
            targets: vec![kill_result(KillOutcome::Pending)],
            missing_thread_ids: vec![99],
            kill_query: false,
        }),
        View::Kill(KillReport {
            server: kill_server(),
            dry_run: false,
            audit_log: None,
            targets: vec![kill_result(KillOutcome::Killed)],
            notes: vec![],
            missing_thread_ids: vec![],
            unkillable: Vec::new(),
        }),
        View::Snapshot(Box::new(SnapshotView {
            collected_at_start: "2026-11-29T06:00:00.000Z".into(),
            collected_at_end: "2026-11-29T06:00:00.050Z".into(),
            target: "db1:3306".into(),
            analysis: Some(analyze_waits(&state)),
            state: state.clone(),
            latest_deadlock: None,
            trigger: None,
        })),
    ];
    for (i, view) in views.iter().enumerate() {
        let kind = view.kind();
        for format in [
            Format::Table,
            Format::Json,
            Format::Dot,
            Format::Mermaid,
            Format::Prometheus,
            Format::Svg,
        ] {
            let result = render(view, format, &TableStyle::plain());
            assert_eq!(
                result.is_ok(),
                kind.formats().contains(&format),
                "{} in {}",
                kind.name(),
                format.name()
            );
            let Ok(text) = result else { continue };
            // No format lets a server-side name drive the terminal or break out of its quoting.
            assert!(
                !text.contains('\u{1b}'),
                "{} {}: raw ESC",
                kind.name(),
                format.name()
            );
            if format == Format::Json {
                let value: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
                assert_eq!(value["kind"], kind.name());
                assert_eq!(value["schema_version"], crate::model::SCHEMA_VERSION);
                // The plan is printed only as a table, before the confirmation: its JSON
                // form is no document lockdiag prints, and docs/schema/ has no schema for it.
                if !matches!(view, View::KillPlan(_)) {
                    schema_check::validate_document(&value);
                }
            }
            // The series of one metric come out in a hash map's order: sorted to compare.
            let text = if format == Format::Prometheus {
                samples_sorted(&text)
            } else {
                text
            };
            insta::assert_snapshot!(format!("{i}-{}-{}", kind.name(), format.name()), text);
        }
    }
}

/// Prometheus text with each metric's sample lines sorted (their order means nothing).
fn samples_sorted(text: &str) -> String {
    let mut out = Vec::new();
    let mut samples: Vec<&str> = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') {
            samples.sort_unstable();
            out.append(&mut samples);
            out.push(line);
        } else {
            samples.push(line);
        }
    }
    samples.sort_unstable();
    out.append(&mut samples);
    out.join("\n") + "\n"
}

#[test]
fn graph_labels_stay_inside_their_quotes() {
    for format in [Format::Dot, Format::Mermaid] {
        for view in [
            View::Deadlocks(deadlock_view()),
            View::Waits(waits_view(&state(), analyze_waits(&state()))),
        ] {
            let text = plain(&view, format);
            for line in text.lines() {
                // Every label is one line, its quotes balanced (escaped ones aside).
                let unescaped = line.replace("\\\\", "").replace("\\\"", "");
                assert_eq!(
                    unescaped.matches('"').count() % 2,
                    0,
                    "{}: unbalanced quotes in {line:?}",
                    format.name()
                );
                if format == Format::Mermaid {
                    assert!(
                        !line.contains('<') || line.contains("<br/>"),
                        "raw < in {line:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn junit_and_prometheus_escape_what_they_must() {
    let junit = junit::checks(&check_view());
    assert!(junit.contains("pay&quot;ments&lt;&amp;&gt;&#10;\u{FFFD}[31mred"));
    assert_eq!(junit.matches("<testcase").count(), 2);
    let state = state();
    let snapshot = View::Snapshot(Box::new(SnapshotView {
        collected_at_start: String::new(),
        collected_at_end: String::new(),
        target: "db\"1\n".into(),
        analysis: Some(analyze_waits(&state)),
        state,
        latest_deadlock: None,
        trigger: None,
    }));
    let prom = plain(&snapshot, Format::Prometheus);
    assert!(prom.contains(r#"server="db\"1\n""#));
    for line in prom.lines().filter(|l| !l.starts_with('#')) {
        assert!(
            line.rsplit_once(' ')
                .is_some_and(|(_, v)| v.parse::<f64>().is_ok()),
            "not a sample: {line:?}"
        );
    }
}

#[test]
fn unsupported_pairs_are_one_typed_error() {
    let err = ViewKind::Ps.format(Some(Format::Dot)).unwrap_err();
    assert_eq!(err.to_string(), "`ps` prints table, json, not --format dot");
    assert_eq!(ViewKind::Snapshot.format(None), Ok(Format::Json));
    assert_eq!(
        ViewKind::Deadlock.format(Some(Format::Mermaid)),
        Ok(Format::Mermaid)
    );
}

#[test]
fn dupes_report_renders() {
    let report = crate::analyze::duplicates::DupesReport {
        schema: "shop".into(),
        table: "payments".into(),
        columns: vec!["payment_key".into()],
        collations: vec![Some("utf8mb4_general_ci".into())],
        filter: None,
        primary_key: vec!["payment_id".into()],
        unique_index: None,
        read_through_index: None,
        rows_scanned: 10,
        rows_with_null_key: 1,
        chunks: 2,
        passes: 2,
        key_memory_bytes: 1024,
        duplicate_groups: 1,
        duplicated_rows: 2,
        extra_rows: 1,
        groups: vec![crate::analyze::duplicates::DuplicateGroup {
            key: vec![HOSTILE.into()],
            spellings: vec![vec![HOSTILE.into()], vec![HOSTILE.to_uppercase()]],
            count: 2,
            primary_keys: vec!["1".into(), "2".into()],
        }],
        groups_omitted: 0,
        interrupted: false,
        elapsed_ms: 3,
        fix: Some(crate::analyze::duplicates::DupesFix {
            cleanup: crate::analyze::duplicates::cleanup_statements(
                "shop",
                "payments",
                &["payment_key".into()],
                &[crate::analyze::duplicates::KeyColumn {
                    name: "payment_id".into(),
                    data_type: "int".into(),
                    collation: None,
                    nullable: false,
                }],
                &[vec![mysql_async::Value::Int(2)]],
            ),
            cleanup_rows: 1,
            cleanup_covers_all: true,
            add_unique: "ALTER TABLE `shop`.`payments` ADD UNIQUE KEY `uk` (`payment_key`)".into(),
        }),
    };
    let view = View::Dupes(report);
    let table = plain(&view, Format::Table);
    assert!(table.starts_with("1 duplicate key(s) in shop.payments (payment_key)"));
    assert!(
        table.contains("DELETE FROM `shop`.`payments` WHERE `payment_id` IN (2) LIMIT 1;"),
        "{table}"
    );
    assert!(
        table.contains("payment_key by utf8mb4_general_ci"),
        "{table}"
    );
    assert!(!table.contains('\u{1b}'));
    let json: serde_json::Value = serde_json::from_str(&plain(&view, Format::Json)).unwrap();
    schema_check::validate_document(&json);
    assert_eq!(json["kind"], "dupes");
    assert_eq!(json["groups"][0]["key"][0], HOSTILE);
}

// --- svg ---

/// A name a server stores as readily as any other, in HTML's words.
const SCRIPT: &str = "<img src=x onerror=alert(1)>";

/// The elements an SVG of ours may hold: anything else came in through a name.
const SVG_ELEMENTS: [&str; 9] = [
    "svg", "defs", "marker", "path", "rect", "text", "g", "title", "?xml",
];

/// Every tag one of ours, every reference one to our own markers.
fn assert_only_our_markup(svg: &str) {
    for tag in svg.split('<').skip(1) {
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '/')
            .collect();
        assert!(SVG_ELEMENTS.contains(&name.as_str()), "<{name} in {svg}");
    }
    assert!(!svg.contains("href"), "{svg}");
    for reference in svg.split("url(").skip(1) {
        assert!(reference.starts_with("#lockdiag-arrow"), "{reference}");
    }
    assert!(!svg.contains('\u{1b}'));
}

/// The numbers of an element's attributes (`x`, `y`, `width`, `height`).
fn rect_of(line: &str) -> svg_layout::Rect {
    let attr = |name: &str| -> f64 {
        let start = line.find(&format!(" {name}=\"")).expect(name) + name.len() + 3;
        line[start..].split('"').next().unwrap().parse().unwrap()
    };
    svg_layout::Rect {
        x: attr("x"),
        y: attr("y"),
        w: attr("width"),
        h: attr("height"),
    }
}

/// Edge labels overlap neither each other nor a box.
fn assert_labels_apart(svg: &str) {
    let boxes: Vec<_> = svg
        .lines()
        .filter(|l| l.starts_with("<rect") && l.contains(" rx="))
        .map(rect_of)
        .collect();
    let labels: Vec<_> = svg
        .lines()
        .filter(|l| l.starts_with("<rect") && l.contains("fill-opacity"))
        .map(rect_of)
        .collect();
    for (i, label) in labels.iter().enumerate() {
        for other in labels[i + 1..].iter().chain(&boxes) {
            assert!(!label.overlaps(other), "{label:?} over {other:?}");
        }
    }
}

/// A lock on row `key` of `table`, as a deadlock print shows it.
fn row_lock(table: &str, key: i64) -> crate::model::Lock {
    use crate::model::{FieldValue, GapMode, Lock, LockMode, LockType, LockedRecord, RecordField};
    Lock {
        lock_type: LockType::Record,
        schema: Some("shop".into()),
        table: table.into(),
        index: Some("PRIMARY".into()),
        mode: LockMode::X,
        gap_mode: GapMode::RecNotGap,
        records: vec![LockedRecord {
            heap_no: key as u64,
            supremum: false,
            fields: vec![RecordField {
                position: 0,
                len: Some(4),
                hex: None,
                cut: false,
                value: Some(FieldValue::Int(key)),
            }],
        }],
        ..Lock::default()
    }
}

/// `n` transactions in a ring, each holding a row of its own table and waiting for
/// the next one's; the last rolled back.
fn ring_deadlock(tables: &[&str]) -> DeadlockReport {
    let n = tables.len();
    let transactions = (0..n)
        .map(|i| {
            let mut waits = row_lock(tables[(i + 1) % n], ((i + 1) % n) as i64 * 10 + 10);
            waits.waiting = true;
            crate::model::PrintedTransaction {
                number: i as u32 + 1,
                thread_id: Some(20 + i as u64),
                user: Some("app".into()),
                host: Some("10.0.0.5".into()),
                query: Some(format!(
                    "UPDATE `{}` SET n = n + 1 WHERE id = 1",
                    tables[(i + 1) % n]
                )),
                rolled_back: i + 1 == n,
                holds: vec![row_lock(tables[i], i as i64 * 10 + 10)],
                holds_printed: true,
                waits_for: Some(waits),
                ..Default::default()
            }
        })
        .collect();
    DeadlockReport::new(crate::model::Deadlock {
        timestamp: Some("2026-11-29 06:00:00".into()),
        victim: Some(n as u32),
        transactions,
        ..Default::default()
    })
}

/// Sessions 1 and 2 idle in transaction, the others running `UPDATE`; `waits` as
/// (waiter, blocker, table, seconds).
fn waits_between(waits: &[(u64, u64, &str, u64)]) -> crate::analyze::WaitAnalysis {
    let mut ids: Vec<u64> = waits.iter().flat_map(|w| [w.0, w.1]).collect();
    ids.sort_unstable();
    ids.dedup();
    let state = LiveState {
        sessions: ids
            .iter()
            .map(|&id| Session {
                thread_id: id,
                user: "app".into(),
                host: "10.0.0.5".into(),
                command: if id <= 2 {
                    SessionCommand::Sleep
                } else {
                    SessionCommand::Query
                },
                time_secs: 30 + id,
                info: (id > 2).then(|| format!("UPDATE t SET n = {id} WHERE id = 1")),
                ..Session::default()
            })
            .collect(),
        transactions: ids
            .iter()
            .map(|&id| Transaction {
                trx_id: format!("{}", 1000 + id),
                thread_id: id,
                age_secs: 60,
                ..Transaction::default()
            })
            .collect(),
        row_waits: waits
            .iter()
            .map(|&(waiter, blocker, table, secs)| LockWait {
                waiting_thread_id: waiter,
                blocking_thread_id: blocker,
                kind: WaitKind::Row,
                waiting_trx_id: Some(format!("{}", 1000 + waiter)),
                blocking_trx_id: Some(format!("{}", 1000 + blocker)),
                schema: Some("shop".into()),
                table: Some(table.into()),
                index: Some("PRIMARY".into()),
                lock_mode: "X,REC_NOT_GAP".into(),
                blocking_lock_mode: Some("X,REC_NOT_GAP".into()),
                blocking_lock_status: Some(LockStatus::Granted),
                lock_data: Some("1".into()),
                wait_secs: secs,
            })
            .collect(),
        ..LiveState::default()
    };
    analyze_waits(&state)
}

#[test]
fn xml_escape_leaves_no_markup_and_no_control_characters() {
    assert_eq!(
        svg::xml_escape("a&b\"c'<d>\n\t\u{1b}[31m\u{FFFF}"),
        "a&amp;b&quot;c&#39;&lt;d&gt;  \u{FFFD}[31m\u{FFFD}"
    );
}

#[test]
fn svg_hostile_names_are_only_text() {
    let report = ring_deadlock(&[SCRIPT, "a&b\"c"]);
    let waits = waits_between(&[(5, 1, SCRIPT, 12), (6, 1, "a&b\"c", 3)]);
    for svg in [svg::deadlock_svg(&report), svg::waits_svg(&waits)] {
        assert_only_our_markup(&svg);
        assert!(!svg.contains("<img") && !svg.contains("a&b"), "{svg}");
        assert!(svg.contains("&lt;img src=x onerror=alert(1)&gt;"), "{svg}");
        assert!(svg.contains("a&amp;b&quot;c"), "{svg}");
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(!svg.contains("<?xml"), "embeddable: no declaration");
    }
    // Through the view and its renderer too (a status text with hostile names, control characters).
    for view in [
        View::Deadlocks(deadlock_view()),
        View::Waits(waits_view(&state(), analyze_waits(&state()))),
    ] {
        let text = plain(&view, Format::Svg);
        assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg "));
        assert_only_our_markup(&text);
    }
}

#[test]
fn svg_deadlock_cycle_edges_are_red_and_labels_apart() {
    let red_edge = "stroke=\"#c62828\" stroke-width=\"2.4\"";
    for n in 2..=4 {
        let tables: Vec<String> = (1..=n).map(|i| format!("table_number_{i}")).collect();
        let names: Vec<&str> = tables.iter().map(String::as_str).collect();
        let report = ring_deadlock(&names);
        assert_eq!(report.analysis.cycle.len(), n, "{n}: {:?}", report.analysis);
        let svg = svg::deadlock_svg(&report);
        assert_eq!(svg.matches(red_edge).count(), n, "{n} transactions: {svg}");
        assert_eq!(svg.matches("marker-end=").count(), n);
        assert_eq!(svg.matches("✗ rolled back").count(), 1);
        for table in &tables {
            assert!(svg.contains(&format!("shop.{table} PRIMARY")), "{table}");
        }
        assert_labels_apart(&svg);
    }
    // The captures: a 2-way and a 3-way cycle.
    for (text, n) in [
        (
            include_str!("../../fixtures/live/payments-reservations.status.txt"),
            2,
        ),
        (
            include_str!("../../fixtures/live/three-way-cycle.status.txt"),
            3,
        ),
    ] {
        let report = DeadlockReport::latest_in(Some(text), None).unwrap();
        let svg = svg::deadlock_svg(&report);
        assert_eq!(svg.matches(red_edge).count(), n);
        assert_labels_apart(&svg);
    }
}

#[test]
fn svg_waits_draws_a_session_with_two_blockers_once() {
    // 3 waits for both idle roots 1 and 2; 4 waits for 3.
    let analysis = waits_between(&[(3, 1, "a", 10), (3, 2, "b", 10), (4, 3, "c", 5)]);
    let svg = svg::waits_svg(&analysis);
    assert_eq!(svg.matches(">thread 3 · app<").count(), 1, "{svg}");
    assert_eq!(svg.matches("marker-end=").count(), 3, "one arrow per wait");
    for table in ["shop.a", "shop.b", "shop.c"] {
        assert!(
            svg.contains(&format!("row X,REC_NOT_GAP {table}")),
            "{table}"
        );
    }
    assert_eq!(svg.matches("ROOT BLOCKER · idle in trx").count(), 2);
    assert_eq!(
        svg.matches("stroke=\"#c62828\" stroke-width=\"3\"").count(),
        2
    );
    assert_labels_apart(&svg);
    assert_only_our_markup(&svg);
}

#[test]
fn svg_waits_folds_beyond_twenty_waiters() {
    // 25 sessions wait for root 1, session k for k seconds: the 20 longest are drawn.
    let waits: Vec<(u64, u64, &str, u64)> = (3..28).map(|k| (k, 1, "t", k)).collect();
    let analysis = waits_between(&waits);
    let svg = svg::waits_svg(&analysis);
    assert!(svg.contains(">+5 more waiting<"), "{svg}");
    assert!(svg.contains(">longest wait 7s<"), "{svg}");
    for k in 3..28 {
        let drawn = svg.contains(&format!(">thread {k} · app<"));
        assert_eq!(drawn, k >= 8, "thread {k}");
    }
    assert_eq!(
        svg.matches("marker-end=").count(),
        21,
        "20 waits and the fold"
    );
    assert_labels_apart(&svg);
    // A waiter that holds others up is drawn before those that hold up nobody.
    let mut waits = waits;
    waits.push((40, 3, "t", 1));
    let svg = svg::waits_svg(&waits_between(&waits));
    assert!(svg.contains(">thread 3 · app<") && svg.contains(">thread 40 · app<"));
    assert!(svg.contains(">+5 more waiting<") && !svg.contains(">thread 8 · app<"));
    // 22 waiters holding up one each: 2 folded, and the 2 behind them not drawn either.
    let waits: Vec<(u64, u64, &str, u64)> = (3..25)
        .flat_map(|k| [(k, 1, "t", k), (k + 100, k, "u", 1)])
        .collect();
    let svg = svg::waits_svg(&waits_between(&waits));
    assert!(svg.contains(">+2 more waiting<"), "{svg}");
    assert!(!svg.contains(">thread 103 · app<") && svg.contains(">thread 105 · app<"));
    assert!(
        svg.contains("4 session(s) not drawn (folded, or waiting behind a folded one)"),
        "{svg}"
    );
}

#[test]
fn svg_waits_cycle_without_a_root_and_empty_or_unknown_waits() {
    let analysis = waits_between(&[(7, 8, "a", 4), (8, 7, "b", 4)]);
    assert!(analysis.root_blockers.is_empty() && analysis.cycles.len() == 1);
    let svg = svg::waits_svg(&analysis);
    assert_eq!(
        svg.matches("stroke=\"#c62828\" stroke-width=\"2.4\"")
            .count(),
        2,
        "{svg}"
    );
    assert_eq!(svg.matches(">in a wait cycle<").count(), 2);
    assert!(svg.contains("1 wait cycle(s)"));

    let empty = svg::waits_svg(&crate::analyze::WaitAnalysis::default());
    assert!(empty.contains(">no lock waits<"), "{empty}");
    let mut view = waits_view(&state(), analyze_waits(&state()));
    view.analysis = None;
    let unknown = plain(&View::Waits(view), Format::Svg);
    assert!(
        unknown.contains(">lock waits could not be read<"),
        "{unknown}"
    );
}

#[test]
fn svg_waits_stays_readable_at_fifty_sessions() {
    // Three roots; 47 waiters in chains and fans, some waiting for two blockers.
    let mut waits: Vec<(u64, u64, &str, u64)> = Vec::new();
    for k in 3..50u64 {
        let blocker = match k {
            3..=12 => 1,
            13..=20 => 2,
            21..=25 => 50,
            _ => k - 10,
        };
        waits.push((k, blocker, "orders", k % 17));
        if k % 7 == 0 {
            waits.push((k, 2, "order_lines", 3));
        }
    }
    let svg = svg::waits_svg(&waits_between(&waits));
    for k in 3..50 {
        assert_eq!(
            svg.matches(&format!(">thread {k} · app<")).count(),
            1,
            "{k}"
        );
    }
    assert_labels_apart(&svg);
    assert_only_our_markup(&svg);
}

/// The Prometheus text of a snapshot of `state`, as target `db1:3306`.
fn prometheus_of(state: LiveState) -> String {
    let view = View::Snapshot(Box::new(SnapshotView {
        collected_at_start: String::new(),
        collected_at_end: String::new(),
        target: "db1:3306".into(),
        analysis: Some(analyze_waits(&state)),
        state,
        latest_deadlock: None,
        trigger: None,
    }));
    plain(&view, Format::Prometheus)
}

/// A wait source read only in part (InnoDB's cache cut in a pile-up) gives lower bounds:
/// the waits series from the listing are left out and its `lockdiag_source_up` is 0, never
/// a partial count. How many wait is still said when InnoDB's own counter was read.
#[test]
fn prometheus_leaves_out_figures_of_a_source_read_in_part() {
    let render = |counted: Option<u64>| {
        let mut state = state();
        state.sources = vec![crate::model::SourceStatus {
            source: crate::model::SourceName::LockWaits,
            from: None,
            status: crate::model::SourceState::Partial,
            reason: Some("INNODB_TRX cut at 16 MB".into()),
        }];
        state.innodb_counters = counted.map(|n| crate::model::InnodbCounters {
            deadlocks: None,
            row_lock_waits: Some(n),
        });
        prometheus_of(state)
    };
    let prom = render(None);
    assert!(!prom.contains("lock=\"row\""), "{prom}");
    assert!(!prom.contains("lockdiag_root_blockers"), "{prom}");
    assert!(
        !prom.contains("lockdiag_max_sessions_behind_one_root"),
        "{prom}"
    );
    assert!(prom.contains("source=\"lock_waits\"} 0"), "{prom}");
    let counted = render(Some(2000));
    assert!(
        counted.contains("lockdiag_waiting_sessions{server=\"db1:3306\",lock=\"row\"} 2000\n"),
        "{counted}"
    );
    assert!(
        !counted.contains("lockdiag_longest_lock_wait_seconds{server=\"db1:3306\",lock=\"row\"}"),
        "{counted}"
    );
    assert!(!counted.contains("lockdiag_root_blockers"), "{counted}");
}

/// performance_schema off (MariaDB's default): who waits for a metadata lock is still the
/// server's word, each waiter's processlist state; whom it waits for is not, so the root
/// blockers are left out while someone waits. Without a whole processlist, neither.
#[test]
fn prometheus_counts_metadata_waiters_from_the_processlist_without_metadata_locks() {
    use crate::model::{SourceName, SourceState, SourceStatus};
    let snapshot = |processlist: SourceState| {
        let mut state = state();
        state.sessions.push(Session {
            thread_id: 9,
            command: SessionCommand::Query,
            time_secs: 31,
            state: Some("Waiting for table metadata lock".into()),
            info: Some("ALTER TABLE payments ADD COLUMN c INT".into()),
            ..Session::default()
        });
        let source = |source, status| SourceStatus {
            source,
            from: None,
            status,
            reason: None,
        };
        state.sources = vec![
            source(SourceName::Processlist, processlist),
            source(SourceName::Transactions, SourceState::Ok),
            source(SourceName::LockWaits, SourceState::Ok),
            source(SourceName::MetadataLocks, SourceState::Unavailable),
        ];
        prometheus_of(state)
    };
    let prom = snapshot(SourceState::Ok);
    assert!(
        prom.contains("lockdiag_waiting_sessions{server=\"db1:3306\",lock=\"metadata\"} 1\n"),
        "{prom}"
    );
    assert!(
        prom.contains(
            "lockdiag_longest_lock_wait_seconds{server=\"db1:3306\",lock=\"metadata\"} 31\n"
        ),
        "{prom}"
    );
    assert!(!prom.contains("lockdiag_root_blockers"), "{prom}");
    let partial = snapshot(SourceState::Partial);
    assert!(!partial.contains("lock=\"metadata\""), "{partial}");
}
