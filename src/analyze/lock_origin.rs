//! Which earlier statement took a lock a deadlock's holder held. The print shows each
//! transaction's *last* statement; the lock another transaction waited for was usually
//! taken by an earlier one (a webhook's first `UPDATE payments`). Read live, the
//! session's statement history holds it: the first statement of its transaction that
//! locks rows of the waited lock's table.

use crate::model::{Lock, PrintedTransaction, StatementEvent};

use super::sql_text::normalize_sql;

/// The statement in `holder`'s history that most likely took its lock on `wanted`'s
/// table: the first (oldest) locking statement naming that table. `None` without a
/// history, when none names it, or when only the statement still running (the one the
/// print shows) does — that one is no earlier statement.
pub fn statement_that_took<'a>(
    holder: &'a PrintedTransaction,
    wanted: &Lock,
) -> Option<&'a StatementEvent> {
    let history = holder.statement_history.as_ref()?;
    let table = wanted.table.to_lowercase();
    let schema = wanted.schema.as_deref().map(str::to_lowercase);
    // The history is the session's last statements, read after the deadlock: it can hold
    // earlier transactions and, on a survivor, what it ran next. Only the statements of
    // the printed transaction count: before its printed (current) statement, after the
    // transaction boundary that precedes it.
    // Each statement normalised once, for the three questions asked of it.
    let normalized: Vec<String> = history.iter().map(|e| normalize_sql(&e.sql)).collect();
    let current = holder.query.as_deref().map(normalize_sql);
    let current_at = current
        .as_deref()
        .and_then(|c| normalized.iter().rposition(|n| n == c));
    let until = current_at.unwrap_or(history.len());
    let from = normalized[..until]
        .iter()
        .rposition(|n| ends_or_begins_transaction(n))
        .map_or(0, |at| at + 1);
    (from..until)
        .find(|&i| {
            takes_row_locks(&normalized[i])
                && names_table(&history[i].sql, schema.as_deref(), &table)
        })
        .map(|i| &history[i])
}

/// `BEGIN`, `START TRANSACTION`, `COMMIT`, `ROLLBACK` (not `ROLLBACK TO SAVEPOINT`), of a
/// statement as [`normalize_sql`] gives it.
fn ends_or_begins_transaction(normalized: &str) -> bool {
    let text = normalized.trim_end_matches(';').trim();
    text == "begin"
        || text.starts_with("begin work")
        || text.starts_with("start transaction")
        || (text.starts_with("commit") && !text.contains("prepared"))
        || (text.starts_with("rollback") && !text.contains(" to "))
}

/// Statements that lock the rows they touch: writes, and reads `FOR UPDATE` / `FOR SHARE`
/// / `LOCK IN SHARE MODE` (a plain SELECT reads a snapshot and locks nothing), of a
/// statement as [`normalize_sql`] gives it.
fn takes_row_locks(normalized: &str) -> bool {
    let text = normalized;
    let first = text
        .trim_start_matches(|c: char| c == '(' || c.is_whitespace())
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or("");
    match first {
        "update" | "delete" | "insert" | "replace" => true,
        "select" | "with" => {
            text.contains(" for update")
                || text.contains(" for share")
                || text.contains(" lock in share mode")
        }
        _ => false,
    }
}

/// Whether `sql` names `table` (lower-case) as an identifier: bare, back-quoted, or
/// qualified with `schema` — not as part of a longer name (`payments` in `payments_log`).
fn names_table(sql: &str, schema: Option<&str>, table: &str) -> bool {
    let text = sql.to_lowercase().replace('`', "");
    let is_name_char = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    let mut from = 0;
    while let Some(at) = text[from..].find(table) {
        let start = from + at;
        let end = start + table.len();
        let before = text[..start].chars().next_back();
        let after = text[end..].chars().next();
        let qualified_by = |s: &str| text[..start].ends_with(&format!("{s}."));
        let prefix_ok = match before {
            Some('.') => schema.is_some_and(qualified_by),
            Some(c) => !is_name_char(c),
            None => true,
        };
        if prefix_ok && !after.is_some_and(|c| is_name_char(c) || c == '.') {
            return true;
        }
        from = end;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(sql: &str, ago: u64) -> StatementEvent {
        StatementEvent {
            sql: sql.into(),
            started_secs_ago: Some(ago),
            rows_affected: Some(1),
            rows_examined: Some(1),
            error: None,
        }
    }

    fn payments_lock() -> Lock {
        Lock {
            schema: Some("shop".into()),
            table: "payments".into(),
            index: Some("PRIMARY".into()),
            ..Lock::default()
        }
    }

    fn holder(query: &str, history: Vec<StatementEvent>) -> PrintedTransaction {
        PrintedTransaction {
            query: Some(query.into()),
            statement_history: Some(history),
            ..PrintedTransaction::default()
        }
    }

    #[test]
    fn the_first_locking_statement_on_the_table_is_named() {
        let t = holder(
            "UPDATE reservations SET status = 'CONFIRMED' WHERE reservation_id = 916192",
            vec![
                event("SELECT * FROM payments WHERE payment_id = 2994", 9),
                event(
                    "UPDATE `shop`.`payments` SET status='CAPTURED' WHERE payment_id=2994",
                    8,
                ),
                event("UPDATE payments SET note = 'x' WHERE payment_id=2994", 7),
                event(
                    "UPDATE reservations SET status = 'CONFIRMED' WHERE reservation_id = 916192",
                    1,
                ),
            ],
        );
        let found = statement_that_took(&t, &payments_lock()).unwrap();
        assert!(found.sql.contains("CAPTURED"), "{}", found.sql);
    }

    #[test]
    fn reads_without_locks_longer_names_and_the_running_statement_do_not_count() {
        let t = holder(
            "UPDATE payments SET status = 'X' WHERE payment_id = 1",
            vec![
                event("SELECT * FROM payments", 9),
                event("UPDATE payments_log SET n = 1", 8),
                event("DELETE FROM archive.payments WHERE id = 1", 7),
                event("UPDATE payments SET status = 'X' WHERE payment_id = 1", 1),
            ],
        );
        assert_eq!(statement_that_took(&t, &payments_lock()), None);
        let unread = PrintedTransaction {
            statement_history: None,
            ..t.clone()
        };
        assert_eq!(statement_that_took(&unread, &payments_lock()), None);
    }

    /// A pooled connection's earlier transaction, and what a survivor ran after the
    /// deadlock, are not the printed transaction's statements.
    #[test]
    fn only_the_printed_transaction_counts() {
        let t = holder(
            "UPDATE reservations SET status = 'CONFIRMED' WHERE reservation_id = 916192",
            vec![
                event(
                    "UPDATE payments SET status = 'OLD' WHERE payment_id = 1",
                    30,
                ),
                event("COMMIT", 29),
                event("START TRANSACTION", 5),
                event(
                    "SELECT * FROM payments WHERE payment_id = 2994 FOR UPDATE",
                    4,
                ),
                event(
                    "UPDATE reservations SET status = 'CONFIRMED' WHERE reservation_id = 916192",
                    1,
                ),
                event("ROLLBACK", 0),
                event(
                    "UPDATE payments SET status = 'NEXT' WHERE payment_id = 7",
                    0,
                ),
            ],
        );
        let found = statement_that_took(&t, &payments_lock()).unwrap();
        assert!(found.sql.contains("FOR UPDATE"), "{}", found.sql);
        let earlier_only = holder(
            "UPDATE reservations SET status = 'CONFIRMED' WHERE reservation_id = 916192",
            vec![
                event(
                    "UPDATE payments SET status = 'OLD' WHERE payment_id = 1",
                    30,
                ),
                event("COMMIT", 29),
                event(
                    "UPDATE reservations SET status = 'CONFIRMED' WHERE reservation_id = 916192",
                    1,
                ),
            ],
        );
        assert_eq!(statement_that_took(&earlier_only, &payments_lock()), None);
    }

    #[test]
    fn locking_reads_count() {
        for sql in [
            "SELECT id FROM payments WHERE order_id = 7 FOR UPDATE",
            "select * from shop.payments where id = 1 lock in share mode",
            "SELECT 1 FROM payments p JOIN orders o USING (order_id) FOR SHARE",
        ] {
            let t = holder("UPDATE orders SET n = 1", vec![event(sql, 3)]);
            assert!(statement_that_took(&t, &payments_lock()).is_some(), "{sql}");
        }
    }

    /// The real print (payments ↔ reservations, MariaDB): with the holder's history read
    /// live, its edge names the earlier UPDATE and so does the diagnosis.
    #[test]
    fn a_deadlock_with_histories_names_the_statement_behind_each_held_lock() {
        let text = include_str!("../../fixtures/live/payments-reservations.status.txt");
        let mut deadlock = crate::parse::parse_innodb_status(text)
            .latest_deadlock
            .unwrap();
        for t in &mut deadlock.transactions {
            let earlier = if t.thread_id == Some(4) {
                "UPDATE payments SET status='CAPTURED' WHERE payment_id=2993"
            } else {
                "UPDATE reservations SET status='RELEASED' WHERE reservation_id=916191"
            };
            t.statement_history = Some(vec![
                event(earlier, 2),
                event(t.query.as_deref().unwrap(), 1),
            ]);
        }
        let analysis = crate::analyze::analyze_deadlock(&deadlock);
        let edge = analysis.edges.iter().find(|e| e.holder == Some(2)).unwrap();
        assert_eq!(
            edge.holder_statement.as_deref(),
            Some("UPDATE payments SET status='CAPTURED' WHERE payment_id=2993")
        );
        assert!(
            analysis.diagnosis.text.contains("had locked shop.payments earlier in its transaction, with: UPDATE payments SET status='CAPTURED'"),
            "{}",
            analysis.diagnosis.text
        );
        let printed_only = crate::analyze::analyze_deadlock(
            &crate::parse::parse_innodb_status(text)
                .latest_deadlock
                .unwrap(),
        );
        assert!(printed_only
            .edges
            .iter()
            .all(|e| e.holder_statement.is_none()));
        assert!(!printed_only
            .diagnosis
            .text
            .contains("earlier in its transaction"));
    }
}
