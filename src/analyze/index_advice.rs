//! What the definitions of a deadlock's indexes change in its diagnosis: which
//! indexes to read, whether the check-then-insert fix is a new UNIQUE key (only when
//! the index is not one; from a print alone, said as a condition), and which INSERTs
//! were waiting on a duplicate-key check. A print names indexes but does not say
//! whether they are unique (but for PRIMARY); `deadlock` on a live server reads that.

use crate::model::{
    quote_ident, Deadlock, GapMode, IndexDefinition, Lock, LockMode, LockType, PrintedTransaction,
};

use super::deadlock::{describe_lock, describe_mode, must_wait, DeadlockEdge};
use super::sql_text::{insert_statement, InsertStatement};

/// At most this many index definitions are read for one deadlock.
const MAX_INDEXES_READ: usize = 16;

/// The indexes a deadlock's record locks name, as `(schema, table, index)`, first
/// seen first: those whose definitions the catalog can tell. InnoDB's hidden
/// `GEN_CLUST_INDEX` is in no catalog, and a lock without a schema cannot be looked up.
pub fn indexes_of_deadlock(deadlock: &Deadlock) -> Vec<(String, String, String)> {
    let mut names: Vec<(String, String, String)> = Vec::new();
    let locks = deadlock
        .transactions
        .iter()
        .flat_map(|t| t.waits_for.iter().chain(t.holds.iter()));
    for lock in locks {
        let (Some(schema), Some(index)) = (&lock.schema, &lock.index) else {
            continue;
        };
        let name = (schema.clone(), lock.table.clone(), index.clone());
        if lock.lock_type == LockType::Record
            && index != "GEN_CLUST_INDEX"
            && !names.contains(&name)
            && names.len() < MAX_INDEXES_READ
        {
            names.push(name);
        }
    }
    names
}

/// What is known of whether a lock's index is unique.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Uniqueness<'a> {
    /// Read from the catalog as UNIQUE (with its columns), or PRIMARY (unique by definition,
    /// so known even from a print).
    Unique(Option<&'a [String]>),
    /// Read from the catalog: not unique, with its columns.
    NotUnique(&'a [String]),
    /// A print alone does not say.
    Unknown,
}

fn uniqueness<'a>(lock: &Lock, indexes: &'a [IndexDefinition]) -> Uniqueness<'a> {
    let Some(index) = lock.index.as_deref() else {
        return Uniqueness::Unknown;
    };
    let known = indexes.iter().find(|d| {
        d.index == index
            && d.table == lock.table
            && lock.schema.as_deref().is_none_or(|s| s == d.schema)
    });
    match known {
        Some(d) if d.unique => Uniqueness::Unique(Some(&d.columns)),
        Some(d) => Uniqueness::NotUnique(&d.columns),
        None if index == "PRIMARY" => Uniqueness::Unique(None),
        None => Uniqueness::Unknown,
    }
}

/// The fix for a check-then-insert deadlock on `lock`'s index: a UNIQUE key only
/// when the index is not one (or may not be: from a print, said as a condition).
pub(super) fn check_then_insert_fix(lock: &Lock, indexes: &[IndexDefinition]) -> String {
    let index = lock.index.as_deref().unwrap_or("?");
    let columns = |c: &[String]| c.join(", ");
    let parent =
        "or lock an existing parent row first (SELECT … FOR UPDATE on it) so the checks are serialised.";
    match uniqueness(lock, indexes) {
        Uniqueness::Unique(known) => {
            let of = known.map_or(String::new(), |c| format!(" ({})", columns(c)));
            format!(
                "`{index}`{of} is already a unique key, so the INSERT alone decides whether the row exists: drop the check (SELECT … FOR UPDATE, then INSERT) and write INSERT … ON DUPLICATE KEY UPDATE or INSERT IGNORE (or INSERT and handle the duplicate-key error 1062); {parent}"
            )
        }
        Uniqueness::NotUnique(c) => format!(
            "Make the row unique and let the insert decide: `{index}` ({}) is not UNIQUE, so add a UNIQUE key on the checked columns (if ({}) identify the row, make `{index}` UNIQUE) and use INSERT … ON DUPLICATE KEY UPDATE or INSERT IGNORE instead of check-then-insert; {parent}",
            columns(c),
            columns(c)
        ),
        Uniqueness::Unknown => format!(
            "If `{index}` is not UNIQUE, make the row unique and let the insert decide: a UNIQUE key on the checked columns with INSERT … ON DUPLICATE KEY UPDATE or INSERT IGNORE instead of check-then-insert (if it is UNIQUE, just drop the check: the INSERT alone decides); {parent} The print does not say whether `{index}` is unique: SHOW INDEX FROM {} does.",
            match &lock.schema {
                Some(schema) => format!("{}.{}", quote_ident(schema), quote_ident(&lock.table)),
                None => quote_ident(&lock.table),
            }
        ),
    }
}

/// The INSERT whose waited lock is InnoDB's duplicate-key check, if `t`'s is: an
/// insert waits for a record lock on its own table only to check a new key against
/// an existing one (its new row waits on the gap, as an insert intention; a foreign-key
/// check or INSERT … SELECT locks rows of other tables), in S mode — X for REPLACE and
/// ON DUPLICATE KEY UPDATE — and only on a unique index.
fn duplicate_key_check(
    t: &PrintedTransaction,
    indexes: &[IndexDefinition],
) -> Option<InsertStatement> {
    let wait = t.waits_for.as_ref()?;
    let insert = insert_statement(t.query.as_deref()?)?;
    let key_lock = wait.lock_type == LockType::Record
        && matches!(wait.gap_mode, GapMode::NextKey | GapMode::RecNotGap)
        && !wait.records.iter().any(|r| r.supremum)
        && (wait.mode == LockMode::S || insert.upsert && wait.mode == LockMode::X);
    let own_table = insert.table.eq_ignore_ascii_case(&wait.table);
    let unique = !matches!(uniqueness(wait, indexes), Uniqueness::NotUnique(_));
    (key_lock && own_table && unique).then_some(insert)
}

/// One sentence per transaction whose INSERT waited on a duplicate-key check.
pub(super) fn duplicate_key_sentences(
    deadlock: &Deadlock,
    edges: &[DeadlockEdge],
    indexes: &[IndexDefinition],
) -> Vec<String> {
    deadlock
        .transactions
        .iter()
        .filter_map(|t| {
            let insert = duplicate_key_check(t, indexes)?;
            let wait = t.waits_for.as_ref()?;
            let holder_number = edges
                .iter()
                .find(|e| e.waiter == t.number)
                .and_then(|e| e.holder);
            // An S wait conflicts only with an X lock on the key: the holder's write. An
            // upsert's X wait also conflicts with a shared read, so the holder's X lock on
            // the key must be printed.
            if wait.mode == LockMode::X {
                let holder = deadlock
                    .transactions
                    .iter()
                    .find(|h| Some(h.number) == holder_number)?;
                if !holder
                    .holds
                    .iter()
                    .any(|h| h.mode == LockMode::X && must_wait(wait, h))
                {
                    return None;
                }
            }
            let holder =
                holder_number.map_or("another transaction".to_string(), |n| format!("T{n}"));
            Some(format!(
                "T{}'s {} was checking for a duplicate of a key {holder} had written and not committed: it waited for {} on {}, InnoDB's duplicate-key check, which fails with a duplicate-key error (1062) if {holder} commits and lets the row in if {holder} rolls back.",
                t.number,
                insert.verb,
                describe_mode(wait),
                describe_lock(wait)
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::deadlock::{analyze_deadlock, analyze_deadlock_knowing, DiagnosisKind};

    const CHECK_THEN_INSERT: &str =
        include_str!("../../fixtures/live/check-then-insert-gap.status.txt");
    const CHECK_THEN_INSERT_UNIQUE: &str =
        include_str!("../../fixtures/live/check-then-insert-unique.status.txt");
    const DUPLICATE_KEY_CHECK: &str =
        include_str!("../../fixtures/live/duplicate-key-check.status.txt");

    fn latest(status: &str) -> Deadlock {
        crate::parse::parse_innodb_status(status)
            .latest_deadlock
            .expect("the capture has a deadlock")
    }

    fn definition(table: &str, index: &str, unique: bool, columns: &[&str]) -> IndexDefinition {
        IndexDefinition {
            schema: "shop".into(),
            table: table.into(),
            index: index.into(),
            unique,
            columns: columns.iter().map(|c| c.to_string()).collect(),
        }
    }

    fn gap_fix(deadlock: &Deadlock, indexes: &[IndexDefinition]) -> String {
        let analysis = analyze_deadlock_knowing(deadlock, indexes);
        assert_eq!(analysis.diagnosis.kind, DiagnosisKind::GapInsertIntention);
        analysis
            .diagnosis
            .fix
            .expect("a check-then-insert deadlock has a fix")
    }

    const UNIQUE_KEY_ADVICE: &str = "UNIQUE key on the checked columns";

    /// seller_settlements' idx_product_status is not unique: from the print alone that is
    /// unknown (the advice is a condition), read from the catalog it is said with its columns.
    #[test]
    fn check_then_insert_fix_follows_what_is_known_of_the_index() {
        let deadlock = latest(CHECK_THEN_INSERT);
        assert_eq!(
            indexes_of_deadlock(&deadlock),
            [(
                "shop".to_string(),
                "seller_settlements".to_string(),
                "idx_product_status".to_string()
            )]
        );
        let from_print = gap_fix(&deadlock, &[]);
        assert!(
            from_print.starts_with("If `idx_product_status` is not UNIQUE")
                && from_print.contains(UNIQUE_KEY_ADVICE)
                && from_print.contains("SHOW INDEX FROM `shop`.`seller_settlements`"),
            "{from_print}"
        );
        assert_eq!(analyze_deadlock(&deadlock).diagnosis.fix, Some(from_print));

        let plain = definition(
            "seller_settlements",
            "idx_product_status",
            false,
            &["product_id", "status"],
        );
        let known = gap_fix(&deadlock, std::slice::from_ref(&plain));
        assert!(
            known.starts_with("Make the row unique")
                && known.contains("`idx_product_status` (product_id, status) is not UNIQUE")
                && known.contains(UNIQUE_KEY_ADVICE),
            "{known}"
        );
        // Were the same index UNIQUE, a new unique key would be no fix.
        let unique = IndexDefinition {
            unique: true,
            ..plain.clone()
        };
        let known = gap_fix(&deadlock, std::slice::from_ref(&unique));
        assert!(!known.contains(UNIQUE_KEY_ADVICE), "{known}");
        assert!(
            known.starts_with("`idx_product_status` (product_id, status) is already a unique key")
                && known.contains("INSERT … ON DUPLICATE KEY UPDATE or INSERT IGNORE"),
            "{known}"
        );
        // An index of the same name on another table says nothing of this one.
        let elsewhere = IndexDefinition {
            table: "settlements_archive".into(),
            ..unique
        };
        assert!(gap_fix(&deadlock, &[elsewhere]).starts_with("If `idx_product_status`"));
    }

    /// The same deadlock on paid_events' UNIQUE order/payment key: read live, the fix lets
    /// the INSERT decide; from the print, it cannot tell and says so.
    #[test]
    fn check_then_insert_on_a_unique_key_is_not_told_to_add_one() {
        let deadlock = latest(CHECK_THEN_INSERT_UNIQUE);
        let uk = definition(
            "paid_events",
            "uk_paid_events_order_payment",
            true,
            &["order_id", "payment_key"],
        );
        let known = gap_fix(&deadlock, &[uk]);
        assert!(!known.contains(UNIQUE_KEY_ADVICE), "{known}");
        assert!(
            known.contains("(order_id, payment_key) is already a unique key"),
            "{known}"
        );
        assert!(
            gap_fix(&deadlock, &[]).starts_with("If `uk_paid_events_order_payment` is not UNIQUE")
        );
        // Nobody waited on a key here: no duplicate-key sentence.
        let text = analyze_deadlock(&deadlock).diagnosis.text;
        assert!(!text.contains("checking for a duplicate"), "{text}");
    }

    /// PRIMARY is unique by definition: known even from a print.
    #[test]
    fn a_primary_key_is_known_unique_from_the_print() {
        let mut deadlock = latest(CHECK_THEN_INSERT);
        for t in &mut deadlock.transactions {
            for lock in t.holds.iter_mut().chain(t.waits_for.iter_mut()) {
                lock.index = Some("PRIMARY".into());
            }
        }
        let from_print = gap_fix(&deadlock, &[]);
        assert!(!from_print.contains(UNIQUE_KEY_ADVICE), "{from_print}");
        assert!(from_print.starts_with("`PRIMARY` is already a unique key"));
    }

    /// Every deadlock of the captured error log, from the print: no fix claims an index is
    /// not unique, and none is taken for a duplicate-key check (they wait on updates and gaps).
    #[test]
    fn error_log_deadlocks_claim_nothing_the_print_does_not_say() {
        let log = include_str!("../../fixtures/live/error.log");
        let deadlocks: Vec<Deadlock> = crate::parse::ErrorLogEntries::new(log.as_bytes())
            .filter_map(|e| match e.unwrap() {
                crate::parse::LogEntry::Deadlock(d) => Some(d),
                crate::parse::LogEntry::LockWaitTimeout(_) => None,
            })
            .collect();
        assert_eq!(deadlocks.len(), 3);
        let mut gap = 0;
        for deadlock in &deadlocks {
            let diagnosis = analyze_deadlock(deadlock).diagnosis;
            assert!(!diagnosis.text.contains("checking for a duplicate"));
            let fix = diagnosis.fix.unwrap_or_default();
            assert!(!fix.contains(") is not UNIQUE"), "{fix}");
            if diagnosis.kind == DiagnosisKind::GapInsertIntention {
                gap += 1;
                assert!(
                    fix.starts_with("If `idx_product_status` is not UNIQUE"),
                    "{fix}"
                );
                let plain = definition(
                    "seller_settlements",
                    "idx_product_status",
                    false,
                    &["product_id", "status"],
                );
                assert!(gap_fix(deadlock, &[plain]).contains("(product_id, status) is not UNIQUE"));
            }
        }
        assert_eq!(gap, 1);
    }

    /// T2's INSERT waits for an S lock on the key T1 inserted (and then T1 waits for a
    /// payment T2 updated): the diagnosis says it was a duplicate-key check.
    #[test]
    fn a_duplicate_key_check_in_a_deadlock_is_named() {
        let deadlock = latest(DUPLICATE_KEY_CHECK);
        let analysis = analyze_deadlock(&deadlock);
        assert_eq!(analysis.diagnosis.kind, DiagnosisKind::LockOrderInversion);
        let text = &analysis.diagnosis.text;
        assert!(
            text.contains("T2's INSERT was checking for a duplicate of a key T1 had written and not committed: it waited for S next-key on shop.paid_events uk_paid_events_order_payment (7100, 'pk_7100', 3)")
                && text.contains("(1062) if T1 commits"),
            "{text}"
        );
        assert!(analysis.summary.contains("checking for a duplicate"));
        // Known unique: the same; a non-unique index has no duplicate-key check.
        let uk = |unique| {
            definition(
                "paid_events",
                "uk_paid_events_order_payment",
                unique,
                &["order_id", "payment_key"],
            )
        };
        let known = analyze_deadlock_knowing(&deadlock, &[uk(true)])
            .diagnosis
            .text;
        assert_eq!(&known, text);
        let plain = analyze_deadlock_knowing(&deadlock, &[uk(false)])
            .diagnosis
            .text;
        assert!(!plain.contains("checking for a duplicate"), "{plain}");

        let with_query = |query: &str, mode: LockMode| {
            let mut d = deadlock.clone();
            let t2 = &mut d.transactions[1];
            t2.query = Some(query.into());
            t2.waits_for.as_mut().unwrap().mode = mode;
            analyze_deadlock(&d).diagnosis.text
        };
        // An S lock on another table's row is a foreign-key check, not a duplicate check.
        let fk = with_query(
            "INSERT INTO refunds (paid_event_id) VALUES (3)",
            LockMode::S,
        );
        assert!(!fk.contains("checking for a duplicate"), "{fk}");
        // X is the upserts' check only.
        let plain_x = with_query(
            "INSERT INTO paid_events (order_id, payment_key) VALUES (7100, 'pk_7100')",
            LockMode::X,
        );
        assert!(!plain_x.contains("checking for a duplicate"), "{plain_x}");
        let replace = with_query(
            "REPLACE INTO shop.paid_events (order_id, payment_key) VALUES (7100, 'pk_7100')",
            LockMode::X,
        );
        assert!(
            replace.contains("T2's REPLACE was checking for a duplicate"),
            "{replace}"
        );
        // An upsert's X wait on a key the other only read (S) is no wait on a write.
        let mut read_only = deadlock.clone();
        read_only.transactions[1].query = Some(
            "REPLACE INTO paid_events (order_id, payment_key) VALUES (7100, 'pk_7100')".into(),
        );
        read_only.transactions[1].waits_for.as_mut().unwrap().mode = LockMode::X;
        for lock in &mut read_only.transactions[0].holds {
            if lock.table == "paid_events" {
                lock.mode = LockMode::S;
            }
        }
        let read_only = analyze_deadlock(&read_only).diagnosis.text;
        assert!(
            !read_only.contains("checking for a duplicate"),
            "{read_only}"
        );
        // The check-then-insert capture's INSERTs wait on a gap: no key check there.
        let gap = analyze_deadlock(&latest(CHECK_THEN_INSERT)).diagnosis.text;
        assert!(!gap.contains("checking for a duplicate"), "{gap}");
    }
}
