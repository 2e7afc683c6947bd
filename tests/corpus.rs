//! Conformance: every file of `../shared/corpus/` parses to what its NOTES.md says.
//!
//! Its own harness, so that a checkout without the corpus reports these tests
//! as *skipped* with the reason (under CI, where the corpus must be, as failed)
//! instead of passing them having checked nothing.

use std::path::PathBuf;

use lockdiag::analyze::deadlock::{analyze_deadlock, DiagnosisKind};
use lockdiag::model::{Deadlock, FieldValue, GapMode, LockMode, LockType};
use lockdiag::parse::{parse_innodb_status, ErrorLogDeadlocks};

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")
}

/// The corpus beside the project root (`main` checks it is there before any test runs).
fn corpus() -> Option<PathBuf> {
    Some(corpus_dir())
}

fn read(rel: &str) -> Option<String> {
    let path = corpus()?.join(rel);
    Some(std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

fn latest(rel: &str) -> Option<Deadlock> {
    let status = parse_innodb_status(&read(rel)?);
    Some(
        status
            .latest_deadlock
            .unwrap_or_else(|| panic!("{rel}: no deadlock parsed")),
    )
}

fn key_int(lock: &lockdiag::model::Lock) -> Option<i64> {
    match lock.records.first()?.fields.first()?.value {
        Some(FieldValue::Int(n)) => Some(n),
        _ => None,
    }
}

fn check_payments_reservations(d: &Deadlock) {
    assert!(!d.truncated);
    assert_eq!(d.victim, Some(1));
    assert_eq!(d.transactions.len(), 2);
    let t1 = &d.transactions[0];
    assert_eq!(
        (
            t1.trx_id.as_deref(),
            t1.thread_id,
            t1.user.as_deref(),
            t1.host.as_deref()
        ),
        (Some("66"), Some(6), Some("root"), Some("localhost"))
    );
    assert!(t1.query.as_deref().unwrap().starts_with("update payments"));
    assert!(t1.rolled_back);
    let w1 = t1.waits_for.as_ref().unwrap();
    assert_eq!(
        (
            w1.table.as_str(),
            w1.index.as_deref(),
            &w1.mode,
            w1.gap_mode
        ),
        (
            "payments",
            Some("PRIMARY"),
            &LockMode::X,
            GapMode::RecNotGap
        )
    );
    assert_eq!(
        w1.records[0].fields[0].hex.as_deref(),
        Some("8000000000000bb1")
    );
    assert_eq!(key_int(w1), Some(2993));
    assert_eq!(
        t1.holds.len(),
        1,
        "T1 holds the reservations row (attributed by trx id)"
    );
    assert_eq!(
        (t1.holds[0].table.as_str(), key_int(&t1.holds[0])),
        ("reservations", Some(916191))
    );
    let t2 = &d.transactions[1];
    assert_eq!((t2.trx_id.as_deref(), t2.thread_id), (Some("65"), Some(5)));
    assert_eq!(
        (t2.holds[0].table.as_str(), key_int(&t2.holds[0])),
        ("payments", Some(2993))
    );
    let w2 = t2.waits_for.as_ref().unwrap();
    assert_eq!(
        (w2.table.as_str(), key_int(w2)),
        ("reservations", Some(916191))
    );
    let a = analyze_deadlock(d);
    assert_eq!(a.diagnosis.kind, DiagnosisKind::LockOrderInversion);
    assert_eq!(a.cycle, vec![1, 2]);
    assert!(
        a.diagnosis.text.contains("payments") && a.diagnosis.text.contains("reservations"),
        "{}",
        a.diagnosis.text
    );
}

fn check_three_way(d: &Deadlock) {
    assert_eq!(d.victim, Some(3));
    let ids: Vec<_> = d
        .transactions
        .iter()
        .map(|t| (t.trx_id.clone().unwrap(), t.thread_id.unwrap()))
        .collect();
    assert_eq!(
        ids,
        vec![("135".into(), 11), ("134".into(), 10), ("136".into(), 12)]
    );
    let waits: Vec<_> = d
        .transactions
        .iter()
        .map(|t| t.waits_for.as_ref().unwrap().table.clone())
        .collect();
    assert_eq!(waits, ["user_badges", "user_activities", "users"]);
    let holds: Vec<_> = d
        .transactions
        .iter()
        .map(|t| t.holds[0].table.clone())
        .collect();
    assert_eq!(holds, ["users", "user_badges", "user_activities"]);
    let a = analyze_deadlock(d);
    assert_eq!(a.cycle, vec![1, 2, 3]);
    assert_eq!(a.diagnosis.kind, DiagnosisKind::Cycle);
    assert!(a.diagnosis.fix.is_none());
    for t in ["users", "user_badges", "user_activities"] {
        assert!(
            a.diagnosis.text.contains(&format!("shop.{t}")),
            "{}",
            a.diagnosis.text
        );
    }
}

fn check_gap(d: &Deadlock) {
    assert_eq!(d.victim, Some(1));
    let t1 = &d.transactions[0];
    assert_eq!(
        (t1.trx_id.as_deref(), t1.thread_id),
        (Some("206"), Some(17))
    );
    let w = t1.waits_for.as_ref().unwrap();
    assert_eq!(
        (w.table.as_str(), w.index.as_deref(), w.gap_mode),
        (
            "seller_settlements",
            Some("idx_product_status"),
            GapMode::InsertIntention
        )
    );
    // CONFLICTING WITH lists a gap lock of 205 and one of 206 itself.
    assert_eq!(t1.holds.len(), 1);
    assert_eq!(
        (
            t1.holds[0].trx_id.as_deref(),
            t1.holds[0].gap_mode,
            t1.holds[0].waiting
        ),
        (Some("206"), GapMode::Gap, false)
    );
    let t2 = &d.transactions[1];
    assert_eq!(
        (t2.trx_id.as_deref(), t2.thread_id, t2.holds.len()),
        (Some("205"), Some(16), 1)
    );
    let a = analyze_deadlock(d);
    assert_eq!(a.diagnosis.kind, DiagnosisKind::GapInsertIntention);
    assert!(a
        .diagnosis
        .fix
        .as_deref()
        .unwrap()
        .contains("ON DUPLICATE KEY UPDATE"));
    assert_eq!(a.cycle, vec![1, 2]);
}

fn mariadb_status_texts_in_both_forms() {
    for form in ["G", "raw"] {
        let Some(d) = latest(&format!("mariadb-10.11/status-deadlock2.{form}.txt")) else {
            return;
        };
        check_payments_reservations(&d);
        assert_eq!(d.timestamp.as_deref(), Some("2026-11-22 15:55:23"));
        check_three_way(&latest(&format!("mariadb-10.11/status-deadlock3.{form}.txt")).unwrap());
        check_gap(&latest(&format!("mariadb-10.11/status-gapdeadlock.{form}.txt")).unwrap());
    }
}

fn mariadb_error_log_holds_all_three() {
    let Some(text) = read("mariadb-10.11/error-log-3-deadlocks.log") else {
        return;
    };
    let all: Vec<Deadlock> = ErrorLogDeadlocks::new(text.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(all.len(), 3);
    check_payments_reservations(&all[0]);
    check_three_way(&all[1]);
    check_gap(&all[2]);
    let stamps: Vec<_> = all.iter().map(|d| d.timestamp.clone().unwrap()).collect();
    assert_eq!(
        stamps,
        [
            "2026-11-22 15:55:23",
            "2026-11-22 15:55:26",
            "2026-11-22 15:55:29"
        ]
    );
    // The same deadlock read from the log and from the status has the same fingerprint.
    let from_status = latest("mariadb-10.11/status-deadlock2.raw.txt").unwrap();
    assert_eq!(
        analyze_deadlock(&all[0]).fingerprint,
        analyze_deadlock(&from_status).fingerprint
    );
    assert_ne!(
        analyze_deadlock(&all[0]).fingerprint,
        analyze_deadlock(&all[1]).fingerprint
    );
}

fn mysql55_two_transactions_same_table() {
    let Some(d) = latest("percona-toolkit/mysql55-two-trx-same-table.txt") else {
        return;
    };
    assert_eq!(d.timestamp.as_deref(), Some("2011-12-12 22:52:42"));
    assert_eq!(d.victim, Some(2));
    let (t1, t2) = (&d.transactions[0], &d.transactions[1]);
    assert_eq!(
        (t1.trx_id.as_deref(), t1.thread_id, t1.user.as_deref()),
        (Some("3405"), Some(19), Some("root"))
    );
    assert_eq!(
        t1.query.as_deref(),
        Some("update a set movie_id=96 where id =2")
    );
    let w1 = t1.waits_for.as_ref().unwrap();
    assert_eq!(
        (
            w1.schema.as_deref(),
            w1.table.as_str(),
            w1.index.as_deref(),
            w1.gap_mode,
            w1.records[0].heap_no
        ),
        (Some("test"), "a", Some("PRIMARY"), GapMode::RecNotGap, 3)
    );
    assert!(
        t1.holds.is_empty() && !t1.holds_printed,
        "held side of (1) is unknown, not empty"
    );
    assert_eq!(
        (
            t2.trx_id.as_deref(),
            t2.thread_id,
            t2.holds.len(),
            t2.holds[0].records[0].heap_no
        ),
        (Some("3404"), Some(18), 1, 3)
    );
    assert_eq!(t2.waits_for.as_ref().unwrap().records[0].heap_no, 5);
    assert!(t2.rolled_back && !t1.rolled_back);
    let a = analyze_deadlock(&d);
    let back = a.edges.iter().find(|e| e.waiter == 2).unwrap();
    assert!(
        back.inferred && back.held_lock.is_none(),
        "the closing lock is not printed: {back:?}"
    );
    assert_eq!(a.cycle, vec![1, 2]);
}

fn mysql55_too_deep_search() {
    let Some(d) = latest("percona-toolkit/mysql55-too-deep-search.txt") else {
        return;
    };
    assert!(d.too_deep && !d.truncated);
    assert_eq!(d.timestamp.as_deref(), Some("2013-06-24 17:39:24"));
    assert_eq!((d.transactions.len(), d.victim), (1, Some(1)));
    let t = &d.transactions[0];
    assert_eq!(
        (
            t.trx_id.as_deref(),
            t.thread_id,
            t.host.as_deref(),
            t.user.as_deref()
        ),
        (
            Some("3BF88F886"),
            Some(23512694),
            Some("10.10.10.1"),
            Some("host")
        )
    );
    assert!(t.rolled_back && t.query.as_deref().unwrap().ends_with("('..."));
    let w = t.waits_for.as_ref().unwrap();
    assert_eq!(
        (w.lock_type, &w.mode, w.table.as_str(), w.waiting),
        (
            LockType::Table,
            &LockMode::AutoInc,
            "gr_v3_response_log",
            true
        )
    );
    let a = analyze_deadlock(&d);
    assert!(a.cycle.is_empty());
    assert_eq!(a.diagnosis.kind, DiagnosisKind::TooDeep);
}

fn mysql50_two_part_ids_and_upgrade() {
    let Some(d) = latest("percona-toolkit/mysql50-two-part-trx-ids.txt") else {
        return;
    };
    assert_eq!(d.victim, Some(2));
    let (t1, t2) = (&d.transactions[0], &d.transactions[1]);
    assert_eq!(
        (t1.trx_id.as_deref(), t1.thread_id, t1.user.as_deref()),
        (Some("3793488"), Some(11), Some("baron"))
    );
    assert_eq!(t1.operation_state.as_deref(), Some("starting index read"));
    let w1 = t1.waits_for.as_ref().unwrap();
    assert_eq!(
        (
            w1.schema.as_deref(),
            w1.table.as_str(),
            w1.index.as_deref(),
            &w1.mode,
            w1.gap_mode
        ),
        (
            Some("test"),
            "innotop_dl",
            Some("GEN_CLUST_INDEX"),
            &LockMode::X,
            GapMode::NextKey
        )
    );
    assert_eq!(t2.thread_id, Some(12));
    assert_eq!(t2.holds.len(), 1);
    let held = &t2.holds[0];
    assert_eq!((&held.mode, held.records.len()), (&LockMode::S, 3));
    assert!(held.records[0].supremum && !held.records[1].supremum);
    assert_eq!(
        analyze_deadlock(&d).diagnosis.kind,
        DiagnosisKind::LockUpgrade
    );
}

fn status_without_deadlock_and_cut_transaction_list() {
    let Some(text) = read("percona-toolkit/status-71-transactions-no-deadlock.txt") else {
        return;
    };
    let status = parse_innodb_status(&text);
    assert!(
        status.latest_deadlock.is_none(),
        "no deadlock is the right answer"
    );
    assert_eq!(status.transactions.len(), 71);
    assert!(status.transactions_truncated);
    assert_eq!(status.transactions[0].trx_id.as_deref(), Some("7C6E3AFE"));
    assert!(status.transactions[0].prepared);
    assert_eq!(status.transactions[0].thread_id, Some(136941));
}

const TESTS: &[(&str, fn())] = &[
    (
        "mariadb_status_texts_in_both_forms",
        mariadb_status_texts_in_both_forms,
    ),
    (
        "mariadb_error_log_holds_all_three",
        mariadb_error_log_holds_all_three,
    ),
    (
        "mysql55_two_transactions_same_table",
        mysql55_two_transactions_same_table,
    ),
    ("mysql55_too_deep_search", mysql55_too_deep_search),
    (
        "mysql50_two_part_ids_and_upgrade",
        mysql50_two_part_ids_and_upgrade,
    ),
    (
        "status_without_deadlock_and_cut_transaction_list",
        status_without_deadlock_and_cut_transaction_list,
    ),
];

fn main() {
    let dir = corpus_dir();
    if !dir.is_dir() {
        let under_ci = std::env::var_os("CI").is_some();
        for (name, _) in TESTS {
            println!(
                "test {name} ... {}",
                if under_ci { "FAILED" } else { "skipped" }
            );
        }
        println!(
            "corpus not found at {}: {} conformance tests not run",
            dir.display(),
            TESTS.len()
        );
        if under_ci {
            println!("corpus: 0 passed, {} failed", TESTS.len());
            std::process::exit(1);
        }
        println!("corpus: 0 passed, 0 failed, {} skipped", TESTS.len());
        return;
    }
    let (mut passed, mut failed) = (0, 0);
    for (name, test) in TESTS {
        match std::panic::catch_unwind(test) {
            Ok(()) => {
                passed += 1;
                println!("test {name} ... ok");
            }
            Err(_) => {
                failed += 1;
                println!("test {name} ... FAILED");
            }
        }
    }
    println!("corpus: {passed} passed, {failed} failed");
    std::process::exit(i32::from(failed > 0));
}
