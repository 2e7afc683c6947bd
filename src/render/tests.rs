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
            insta::assert_snapshot!(format!("{i}-{}-{}", kind.name(), format.name()), text);
        }
    }
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
