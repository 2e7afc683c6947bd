//! What a deadlock print does not say directly: who waits for whom (the
//! cycle), in what order each transaction took its locks, why it happened,
//! and a fingerprint shared by deadlocks of the same shape. What the indexes'
//! definitions change in the advice is `index_advice`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::{
    Deadlock, FieldValue, GapMode, IndexDefinition, Lock, LockMode, LockType, PrintedTransaction,
};

use super::index_advice::{check_then_insert_fix, duplicate_key_sentences};
use super::lock_origin::statement_that_took;
use super::sql_text::{normalize_sql, shorten_sql};

/// One edge of the deadlock's wait-for cycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DeadlockEdge {
    /// Number of the waiting transaction.
    pub waiter: u32,
    /// Number of the transaction holding the conflicting lock; `None` when the text does not say.
    pub holder: Option<u32>,
    /// The waited lock, described (`X rec-not-gap on shop.payments PRIMARY (2993)`).
    pub waits_for: String,
    /// The holder's conflicting lock, described; `None` when not printed.
    pub held_lock: Option<String>,
    /// The holder was deduced, not read: in a two-transaction deadlock whose
    /// holder's locks were not printed (before MySQL 8.0.18) it can only be the other one.
    pub inferred: bool,
    /// The holder's earlier statement that most likely took the lock waited for: the first
    /// of its transaction, in its session's statement history read live, that locks rows
    /// of that table. `null` from a print alone, or when no earlier statement names it.
    #[serde(default)]
    pub holder_statement: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DiagnosisKind {
    /// Two transactions took the same two locks in opposite orders.
    LockOrderInversion,
    /// Check-then-insert on a missing row: gap locks held, insert intention waited for.
    GapInsertIntention,
    /// Both read a row with a shared lock and then want it exclusively.
    LockUpgrade,
    /// A cycle of three or more transactions (or a shape with no named cause).
    Cycle,
    /// InnoDB gave up the search (TOO DEEP OR LONG SEARCH): a pile-up, no cycle known.
    TooDeep,
    /// The text is too incomplete to rebuild a cycle.
    Unknown,
}

impl DiagnosisKind {
    /// The JSON name, for text output too.
    pub fn as_str(self) -> &'static str {
        match self {
            DiagnosisKind::LockOrderInversion => "lock_order_inversion",
            DiagnosisKind::GapInsertIntention => "gap_insert_intention",
            DiagnosisKind::LockUpgrade => "lock_upgrade",
            DiagnosisKind::Cycle => "cycle",
            DiagnosisKind::TooDeep => "too_deep",
            DiagnosisKind::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Diagnosis {
    pub kind: DiagnosisKind,
    /// What happened, in a sentence or two.
    pub text: String,
    /// The usual fix, when the shape has one.
    pub fix: Option<String>,
}

/// The order in which one transaction took its locks: held ones, then the waited one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LockOrder {
    pub number: u32,
    pub locks: Vec<String>,
    /// False when the held locks were not printed (so the order is partial).
    pub complete: bool,
}

/// Everything computed about one deadlock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DeadlockAnalysis {
    /// Equal for deadlocks of the same shape (tables, indexes, modes, statements without literals).
    pub fingerprint: String,
    pub diagnosis: Diagnosis,
    /// The wait-for edges, one per waiting transaction.
    pub edges: Vec<DeadlockEdge>,
    /// Transaction numbers around the cycle, starting at the lowest; empty when none could be closed.
    pub cycle: Vec<u32>,
    pub lock_order: Vec<LockOrder>,
    /// The short human summary the table output starts with.
    pub summary: String,
}

/// Describes a lock as `schema.table index (key values)`.
pub fn describe_lock(lock: &Lock) -> String {
    let table = qualified_table(lock);
    match lock.lock_type {
        LockType::Table => format!("{table} (table lock {})", mode_name(&lock.mode)),
        LockType::Record => {
            let index = lock.index.as_deref().unwrap_or("?");
            let gap = if matches!(lock.gap_mode, GapMode::Gap | GapMode::InsertIntention) {
                "gap before "
            } else {
                ""
            };
            match record_key(lock) {
                Some(key) => format!("{table} {index} ({gap}{key})"),
                None => format!("{table} {index}"),
            }
        }
    }
}

/// `schema.table` (with `/partition` when there is one).
pub fn qualified_table(lock: &Lock) -> String {
    let base = crate::model::qualified_name(lock.schema.as_deref(), Some(&lock.table));
    match &lock.partition {
        Some(p) => format!("{base}/{p}"),
        None => base,
    }
}

pub fn mode_name(mode: &LockMode) -> &str {
    match mode {
        LockMode::S => "S",
        LockMode::X => "X",
        LockMode::IS => "IS",
        LockMode::IX => "IX",
        LockMode::AutoInc => "AUTO-INC",
        LockMode::Other(m) => m,
    }
}

/// `X`, `X gap`, `X rec-not-gap`, `X insert-intention`, `IX`.
pub fn describe_mode(lock: &Lock) -> String {
    let gap = match lock.gap_mode {
        GapMode::NextKey => " next-key",
        GapMode::Gap => " gap",
        GapMode::RecNotGap => " rec-not-gap",
        GapMode::InsertIntention => " insert-intention",
        GapMode::NotApplicable => "",
    };
    format!("{}{gap}", mode_name(&lock.mode))
}

/// The key values of the first record: the user columns, without InnoDB's hidden ones.
fn record_key(lock: &Lock) -> Option<String> {
    let record = lock.records.first()?;
    if record.supremum {
        return Some("supremum".into());
    }
    let values: Vec<String> = record
        .fields
        .iter()
        .take_while(|f| {
            !matches!(
                f.value,
                Some(FieldValue::TrxId(_)) | Some(FieldValue::RollPtr(_))
            )
        })
        .filter_map(|f| match &f.value {
            Some(FieldValue::Int(n)) => Some(n.to_string()),
            Some(FieldValue::Text(t)) => Some(format!("'{t}'")),
            Some(FieldValue::Null) => Some("NULL".into()),
            Some(FieldValue::RowId(id)) => Some(format!("row id {id}")),
            Some(_) => None,
            None => f.hex.as_ref().map(|h| format!("0x{h}")),
        })
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

fn same_resource(a: &Lock, b: &Lock) -> bool {
    if a.lock_type != b.lock_type
        || a.table != b.table
        || a.schema != b.schema
        || a.partition != b.partition
    {
        return false;
    }
    if a.lock_type == LockType::Table {
        return true;
    }
    if a.index != b.index || (a.space_id, a.page_no) != (b.space_id, b.page_no) {
        return false;
    }
    // No records printed: unknown, so any row of the page.
    a.records.is_empty()
        || b.records.is_empty()
        || a.records
            .iter()
            .any(|ra| b.records.iter().any(|rb| ra.heap_no == rb.heap_no))
}

fn modes_compatible(requested: &LockMode, held: &LockMode) -> bool {
    use LockMode::*;
    matches!(
        (requested, held),
        (IS, IS | IX | S | AutoInc) | (IX, IS | IX | AutoInc) | (S, IS | S) | (AutoInc, IS | IX)
    )
}

/// InnoDB's rule for whether a requested record lock must wait for a granted one
/// (`lock_rec_has_to_wait`): gap locks never wait, nothing waits for an insert
/// intention, and a gap-only or record-only lock ignores the other half.
pub fn must_wait(requested: &Lock, held: &Lock) -> bool {
    if !same_resource(requested, held) || modes_compatible(&requested.mode, &held.mode) {
        return false;
    }
    if requested.lock_type == LockType::Table {
        return true;
    }
    let supremum = requested.records.iter().any(|r| r.supremum);
    let req_gap = requested.gap_mode == GapMode::Gap;
    let req_ii = requested.gap_mode == GapMode::InsertIntention;
    if (req_gap || supremum) && !req_ii {
        return false;
    }
    if !req_ii && held.gap_mode == GapMode::Gap {
        return false;
    }
    if req_gap && held.gap_mode == GapMode::RecNotGap {
        return false;
    }
    if held.gap_mode == GapMode::InsertIntention {
        return false;
    }
    if req_ii && held.gap_mode == GapMode::RecNotGap {
        return false;
    }
    true
}

/// Computes edges, cycle, diagnosis, lock order, fingerprint and summary from the
/// print alone: whether an index is unique is unknown (but for PRIMARY).
pub fn analyze_deadlock(deadlock: &Deadlock) -> DeadlockAnalysis {
    analyze_deadlock_knowing(deadlock, &[])
}

/// [`analyze_deadlock`] knowing the definitions of (some of) the indexes the
/// deadlock's locks name, read from the server: the fix then names what applies.
pub fn analyze_deadlock_knowing(
    deadlock: &Deadlock,
    indexes: &[IndexDefinition],
) -> DeadlockAnalysis {
    let edges = wait_edges(deadlock);
    let cycle = find_cycle(&edges);
    let lock_order = deadlock
        .transactions
        .iter()
        .map(|t| LockOrder {
            number: t.number,
            locks: t
                .holds
                .iter()
                .chain(t.waits_for.iter())
                .map(describe_lock)
                .collect(),
            complete: t.holds_printed,
        })
        .collect();
    let diagnosis = diagnose(deadlock, &edges, &cycle, indexes);
    let fingerprint = fingerprint(deadlock, diagnosis.kind);
    let summary = summarize(deadlock, &diagnosis);
    DeadlockAnalysis {
        fingerprint,
        diagnosis,
        edges,
        cycle,
        lock_order,
        summary,
    }
}

fn wait_edges(deadlock: &Deadlock) -> Vec<DeadlockEdge> {
    let trxs = &deadlock.transactions;
    let mut edges = Vec::new();
    for waiter in trxs {
        let Some(wanted) = &waiter.waits_for else {
            continue;
        };
        let mut found = false;
        for holder in trxs.iter().filter(|t| t.number != waiter.number) {
            if let Some(held) = holder.holds.iter().find(|h| must_wait(wanted, h)) {
                edges.push(DeadlockEdge {
                    waiter: waiter.number,
                    holder: Some(holder.number),
                    waits_for: format!("{} on {}", describe_mode(wanted), describe_lock(wanted)),
                    held_lock: Some(format!(
                        "{} on {}",
                        describe_mode(held),
                        describe_lock(held)
                    )),
                    inferred: false,
                    holder_statement: statement_that_took(holder, wanted).map(|e| e.sql.clone()),
                });
                found = true;
            }
        }
        if !found {
            // The holder's locks were not printed. With two transactions it can only be the other.
            let others: Vec<&PrintedTransaction> =
                trxs.iter().filter(|t| t.number != waiter.number).collect();
            let holder = match others.as_slice() {
                [only] if !only.holds_printed || !deadlock.too_deep => Some(only.number),
                _ => None,
            };
            let holder_statement = holder
                .and_then(|n| trxs.iter().find(|t| t.number == n))
                .and_then(|t| statement_that_took(t, wanted))
                .map(|e| e.sql.clone());
            edges.push(DeadlockEdge {
                waiter: waiter.number,
                holder,
                waits_for: format!("{} on {}", describe_mode(wanted), describe_lock(wanted)),
                held_lock: None,
                inferred: holder.is_some(),
                holder_statement,
            });
        }
    }
    edges
}

/// The cycle through the edges, as transaction numbers starting at the lowest.
fn find_cycle(edges: &[DeadlockEdge]) -> Vec<u32> {
    let mut starts: Vec<u32> = edges.iter().map(|e| e.waiter).collect();
    starts.sort_unstable();
    starts.dedup();
    for &start in &starts {
        let mut path = vec![start];
        let mut current = start;
        // Follow the first known holder from each waiter; a cycle returns to `start`.
        while let Some(next) = edges
            .iter()
            .find(|e| e.waiter == current)
            .and_then(|e| e.holder)
        {
            if next == start {
                return path;
            }
            if path.contains(&next) {
                break;
            }
            path.push(next);
            current = next;
        }
    }
    Vec::new()
}

fn trx_label(t: &PrintedTransaction) -> String {
    let mut label = format!("T{}", t.number);
    let who = match (&t.user, &t.host) {
        (Some(u), Some(h)) => format!(", {u}@{h}"),
        _ => String::new(),
    };
    if let Some(id) = t.thread_id {
        label.push_str(&format!(" (thread {id}{who})"));
    }
    label
}

/// The tables of a list of transactions' held and waited locks, first seen first.
fn tables_in<'a>(trxs: impl IntoIterator<Item = &'a PrintedTransaction>) -> Vec<String> {
    let mut tables: Vec<String> = Vec::new();
    for t in trxs {
        for lock in t.holds.iter().chain(t.waits_for.iter()) {
            let name = qualified_table(lock);
            if !tables.contains(&name) {
                tables.push(name);
            }
        }
    }
    tables
}

fn tables_of(t: &PrintedTransaction) -> Vec<String> {
    tables_in([t])
}

/// Every table a deadlock touches, in the order the print names them.
pub fn tables_of_deadlock(deadlock: &Deadlock) -> Vec<String> {
    tables_in(&deadlock.transactions)
}

fn diagnose(
    deadlock: &Deadlock,
    edges: &[DeadlockEdge],
    cycle: &[u32],
    indexes: &[IndexDefinition],
) -> Diagnosis {
    let mut diagnosis = diagnose_shape(deadlock, edges, cycle, indexes);
    if !matches!(
        diagnosis.kind,
        DiagnosisKind::TooDeep | DiagnosisKind::Unknown
    ) {
        let sentences = duplicate_key_sentences(deadlock, edges, indexes)
            .into_iter()
            .chain(earlier_statement_sentences(deadlock, edges));
        for sentence in sentences {
            diagnosis.text.push(' ');
            diagnosis.text.push_str(&sentence);
        }
    }
    diagnosis
}

/// "T2 (thread 4, …) had locked shop.payments earlier, with: UPDATE payments …" for each
/// edge whose holder's statement history names the statement that took the lock.
fn earlier_statement_sentences(deadlock: &Deadlock, edges: &[DeadlockEdge]) -> Vec<String> {
    let mut sentences = Vec::new();
    for edge in edges {
        let (Some(number), Some(sql)) = (edge.holder, &edge.holder_statement) else {
            continue;
        };
        let holder = deadlock.transactions.iter().find(|t| t.number == number);
        let waiter = deadlock
            .transactions
            .iter()
            .find(|t| t.number == edge.waiter);
        let (Some(holder), Some(wanted)) = (holder, waiter.and_then(|w| w.waits_for.as_ref()))
        else {
            continue;
        };
        let ago = holder
            .statement_history
            .iter()
            .flatten()
            .find(|e| &e.sql == sql)
            .and_then(|e| e.started_secs_ago)
            .map(|s| format!(" (started {s} s before lockdiag read its history)"))
            .unwrap_or_default();
        sentences.push(format!(
            "{} had locked {} earlier in its transaction, with: {}{ago}; the print shows only its last statement.",
            trx_label(holder),
            qualified_table(wanted),
            shorten_sql(sql, 160)
        ));
    }
    sentences
}

/// The diagnosis of the deadlock's shape (before what its duplicate-key checks add).
fn diagnose_shape(
    deadlock: &Deadlock,
    edges: &[DeadlockEdge],
    cycle: &[u32],
    indexes: &[IndexDefinition],
) -> Diagnosis {
    let trxs = &deadlock.transactions;
    if deadlock.too_deep {
        return Diagnosis {
            kind: DiagnosisKind::TooDeep,
            text: format!(
                "InnoDB stopped searching the wait-for graph (TOO DEEP OR LONG SEARCH: more than 200 transactions deep or 1,000,000 steps) and rolled back {}; no cycle was printed. Many transactions were queued on the same locks.",
                trxs.first().map(trx_label).unwrap_or_else(|| "the transaction it printed".into())
            ),
            fix: None,
        };
    }
    let waits: Vec<&Lock> = trxs.iter().filter_map(|t| t.waits_for.as_ref()).collect();
    if waits.is_empty() || cycle.is_empty() && edges.iter().all(|e| e.holder.is_none()) {
        return Diagnosis {
            kind: DiagnosisKind::Unknown,
            text: "The deadlock print is too incomplete to rebuild who waited for whom.".into(),
            fix: None,
        };
    }

    let all_insert_intention = waits.iter().all(|w| w.gap_mode == GapMode::InsertIntention);
    let gaps_held = trxs.iter().any(|t| {
        t.holds
            .iter()
            .any(|h| matches!(h.gap_mode, GapMode::Gap | GapMode::NextKey))
    });
    if all_insert_intention && gaps_held {
        let lock = waits[0];
        return Diagnosis {
            kind: DiagnosisKind::GapInsertIntention,
            text: format!(
                "Gap / insert-intention deadlock on {} {}: each transaction holds a gap (or next-key) lock on the same index range, typically from SELECT … FOR UPDATE (or a locking read) on a row that did not exist, and then INSERTs into that range, which waits for the other's gap lock.",
                qualified_table(lock),
                lock.index.as_deref().unwrap_or("?")
            ),
            fix: Some(check_then_insert_fix(lock, indexes)),
        };
    }

    let upgrade = trxs.iter().any(|t| {
        t.waits_for.as_ref().is_some_and(|w| {
            w.mode == LockMode::X
                && w.lock_type == LockType::Record
                && t.holds
                    .iter()
                    .any(|h| h.mode == LockMode::S && same_resource(w, h))
        })
    }) && trxs
        .iter()
        .any(|t| t.holds.iter().any(|h| h.mode == LockMode::S));
    if upgrade {
        let lock = waits[0];
        return Diagnosis {
            kind: DiagnosisKind::LockUpgrade,
            text: format!(
                "S → X lock upgrade on {} {}: the transactions read the same rows with a shared lock (LOCK IN SHARE MODE / FOR SHARE, a foreign-key check, or INSERT … SELECT) and then each wants them exclusively, which waits for the other's shared lock.",
                qualified_table(lock),
                lock.index.as_deref().unwrap_or("?")
            ),
            fix: Some("Take the exclusive lock at the first read (SELECT … FOR UPDATE instead of a shared read), or update without reading first.".into()),
        };
    }

    if cycle.len() == 2 {
        let a = trxs.iter().find(|t| t.number == cycle[0]);
        let b = trxs.iter().find(|t| t.number == cycle[1]);
        if let (Some(a), Some(b)) = (a, b) {
            return inversion(a, b, deadlock.victim);
        }
    }
    let names: Vec<String> = cycle
        .iter()
        .filter_map(|n| trxs.iter().find(|t| t.number == *n))
        .map(|t| {
            let wants = t
                .waits_for
                .as_ref()
                .map(describe_lock)
                .unwrap_or_else(|| "?".into());
            let held = t
                .holds
                .first()
                .map(describe_lock)
                .unwrap_or_else(|| "(held locks not printed)".into());
            format!("{} holds {held} and waits for {wants}", trx_label(t))
        })
        .collect();
    let tables = tables_in(trxs.iter());
    Diagnosis {
        kind: DiagnosisKind::Cycle,
        text: format!(
            "Cycle of {} transactions over {}: {}.",
            cycle.len().max(trxs.len()),
            tables.join(", "),
            names.join("; ")
        ),
        fix: None,
    }
}

fn inversion(a: &PrintedTransaction, b: &PrintedTransaction, victim: Option<u32>) -> Diagnosis {
    let order = |t: &PrintedTransaction| -> Vec<String> {
        let mut tables = tables_of(t);
        if !t.holds_printed {
            tables.insert(0, "(not printed)".into());
        }
        tables
    };
    let (oa, ob) = (order(a), order(b));
    let same_table = oa
        .iter()
        .chain(ob.iter())
        .filter(|n| *n != "(not printed)")
        .collect::<std::collections::BTreeSet<_>>()
        .len()
        == 1;
    // Recommend the order of the transaction that survived.
    let survivor = if victim == Some(a.number) { b } else { a };
    if same_table {
        let table = tables_of(a).first().cloned().unwrap_or_default();
        let rows = |t: &PrintedTransaction| {
            t.holds
                .iter()
                .chain(t.waits_for.iter())
                .map(describe_lock)
                .collect::<Vec<_>>()
                .join(" → ")
        };
        return Diagnosis {
            kind: DiagnosisKind::LockOrderInversion,
            text: format!(
                "Lock-order inversion on rows of {table}: {} locked {}; {} locked {}{}.",
                trx_label(a),
                rows(a),
                trx_label(b),
                rows(b),
                if a.holds_printed && b.holds_printed { "" } else { " (held locks of one side not printed by this server version)" }
            ),
            fix: Some(format!(
                "Lock the rows of {table} in one order in every code path (e.g. ascending primary key: sort the ids before updating), or lock them all in one statement."
            )),
        };
    }
    let first = tables_of(survivor);
    Diagnosis {
        kind: DiagnosisKind::LockOrderInversion,
        text: format!(
            "Lock-order inversion: {} went {}; {} went {}.",
            trx_label(a),
            oa.join(" → "),
            trx_label(b),
            ob.join(" → ")
        ),
        fix: Some(format!(
            "Make every code path lock {}, or lock the parent row first with SELECT … FOR UPDATE.",
            first.join(" before ")
        )),
    }
}

fn lock_shape(lock: &Lock) -> String {
    format!(
        "{}/{}/{}",
        qualified_table(lock),
        lock.index.as_deref().unwrap_or(""),
        describe_mode(lock)
    )
}

/// FNV-1a over the sorted per-transaction shapes: stable across runs and versions of lockdiag.
fn fingerprint(deadlock: &Deadlock, kind: DiagnosisKind) -> String {
    let mut shapes: Vec<String> = deadlock
        .transactions
        .iter()
        .map(|t| {
            let mut held: Vec<String> = t.holds.iter().map(lock_shape).collect();
            held.sort();
            held.dedup();
            format!(
                "w={};h={};q={}",
                t.waits_for.as_ref().map(lock_shape).unwrap_or_default(),
                held.join(","),
                t.query.as_deref().map(normalize_sql).unwrap_or_default()
            )
        })
        .collect();
    shapes.sort();
    let text = format!("{kind:?}|{}", shapes.join("|"));
    super::sql_text::fingerprint_hex(&text)
}

/// One sentence per transaction: what it held and what it waited for.
pub fn transaction_sentences(deadlock: &Deadlock) -> Vec<String> {
    deadlock
        .transactions
        .iter()
        .map(|t| {
            let held = if t.holds.is_empty() {
                if t.holds_printed {
                    "held nothing relevant".to_string()
                } else {
                    "held locks not printed".to_string()
                }
            } else {
                format!(
                    "held {}",
                    t.holds
                        .iter()
                        .map(|h| format!("{} on {}", describe_mode(h), describe_lock(h)))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            let waited = t
                .waits_for
                .as_ref()
                .map(|w| {
                    format!(
                        " and waited for {} on {}",
                        describe_mode(w),
                        describe_lock(w)
                    )
                })
                .unwrap_or_default();
            format!("{} {held}{waited}", trx_label(t))
        })
        .collect()
}

fn summarize(deadlock: &Deadlock, diagnosis: &Diagnosis) -> String {
    let mut parts = transaction_sentences(deadlock);
    if let Some(v) = deadlock.victim {
        parts.push(format!("T{v} rolled back"));
    }
    format!("{}; {}", parts.join("; "), diagnosis.text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LockedRecord;

    fn rec(mode: LockMode, gap: GapMode, heap: u64) -> Lock {
        Lock {
            table: "t".into(),
            schema: Some("db".into()),
            index: Some("PRIMARY".into()),
            space_id: Some(1),
            page_no: Some(3),
            mode,
            gap_mode: gap,
            records: vec![LockedRecord {
                heap_no: heap,
                supremum: heap == 1,
                fields: vec![],
            }],
            ..Lock::default()
        }
    }

    #[test]
    fn innodb_wait_rules() {
        use GapMode::*;
        let ii = rec(LockMode::X, InsertIntention, 3);
        assert!(must_wait(&ii, &rec(LockMode::X, Gap, 3)));
        assert!(must_wait(&ii, &rec(LockMode::S, NextKey, 3)));
        assert!(!must_wait(&ii, &rec(LockMode::X, RecNotGap, 3)));
        assert!(!must_wait(
            &rec(LockMode::X, Gap, 3),
            &rec(LockMode::X, NextKey, 3)
        ));
        assert!(!must_wait(
            &rec(LockMode::X, RecNotGap, 3),
            &rec(LockMode::X, Gap, 3)
        ));
        assert!(must_wait(
            &rec(LockMode::X, RecNotGap, 3),
            &rec(LockMode::S, NextKey, 3)
        ));
        assert!(!must_wait(
            &rec(LockMode::S, RecNotGap, 3),
            &rec(LockMode::S, NextKey, 3)
        ));
        assert!(!must_wait(
            &rec(LockMode::X, RecNotGap, 4),
            &rec(LockMode::X, RecNotGap, 3)
        ));
        assert!(!must_wait(
            &rec(LockMode::X, NextKey, 3),
            &rec(LockMode::X, InsertIntention, 3)
        ));
    }
}
