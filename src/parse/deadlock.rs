//! Builds one `Deadlock` from the lines of a LATEST DETECTED DEADLOCK section
//! or of one error-log deadlock print, fed a line at a time.

use crate::model::{Deadlock, Lock, PrintedTransaction};

use super::error_log::log_message;
use super::lines::{self, LineKind};

pub use crate::model::START_MISSING;

/// Where the next lock line belongs.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Part {
    /// Before the first transaction header.
    Preamble,
    /// Transaction header lines (`TRANSACTION …`, counts, thread line).
    Header,
    /// After the thread line: the statement text.
    Query,
    Waiting,
    Holds,
    /// MariaDB: locks printed under `CONFLICTING WITH`, attributed by trx id afterwards.
    Conflicting,
    /// After `WE ROLL BACK TRANSACTION (N)`.
    Done,
}

/// Line-fed builder. Feed every line with [`DeadlockBuilder::feed`], then
/// call [`DeadlockBuilder::finish`]. Never panics, whatever the lines.
#[derive(Debug)]
pub struct DeadlockBuilder {
    deadlock: Deadlock,
    part: Part,
    /// Index into `deadlock.transactions` of the transaction being read.
    current: Option<usize>,
    conflicting: Vec<Lock>,
    /// Where the last lock line went: the record lines after it belong there.
    last_lock: Option<LockSlot>,
    saw_victim_line: bool,
}

#[derive(Debug, Clone, Copy)]
enum LockSlot {
    WaitsFor(usize),
    Holds(usize),
    Conflicting,
    Other,
}

impl Default for DeadlockBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl DeadlockBuilder {
    pub fn new() -> Self {
        DeadlockBuilder {
            deadlock: Deadlock::default(),
            part: Part::Preamble,
            current: None,
            conflicting: Vec::new(),
            last_lock: None,
            saw_victim_line: false,
        }
    }

    /// Sets the timestamp from outside (an error log's line prefix) unless the text prints its own.
    pub fn set_timestamp_if_missing(&mut self, timestamp: Option<String>) {
        if self.deadlock.timestamp.is_none() {
            self.deadlock.timestamp = timestamp;
        }
    }

    /// The victim line has been read: the deadlock print is complete.
    pub fn is_complete(&self) -> bool {
        self.part == Part::Done
    }

    pub fn has_transactions(&self) -> bool {
        !self.deadlock.transactions.is_empty()
    }

    pub fn has_timestamp(&self) -> bool {
        self.deadlock.timestamp.is_some()
    }

    /// The print is read from inside (its opening lines are not in the text): it
    /// counts as partly read.
    pub fn mark_start_missing(&mut self) {
        self.deadlock.start_missing = true;
    }

    /// Takes the next line of the print. Lines are recognised by their tokens
    /// (runs of spaces and tabs folded, ends trimmed); the statement text and
    /// record fields are read from the line as printed.
    pub fn feed(&mut self, raw: &str) {
        self.feed_line(raw, true);
    }

    fn feed_line(&mut self, raw: &str, may_carry_prefix: bool) {
        // Record fields are most lines of a print, are read as printed, and their
        // `asc` column is full of runs of spaces: folding them would be work for nothing.
        let folded = if lines::is_field_line(raw) {
            std::borrow::Cow::Borrowed(raw)
        } else {
            lines::fold_spaces(raw)
        };
        let line: &str = &folded;
        let kind = lines::classify(line);
        if may_carry_prefix && kind == LineKind::Other {
            // A line with an error-log prefix (`… [Note] InnoDB: *** WE ROLL BACK …`) in a
            // pasted print reads as its message (once: the message is read as it is).
            if let Some(message) = log_message(raw) {
                return self.feed_line(message, false);
            }
        }
        match kind {
            LineKind::Blank => {
                if self.part == Part::Query {
                    self.push_query_line("");
                }
            }
            LineKind::TransactionHeader(number) => {
                let number = number.unwrap_or_else(|| {
                    u32::try_from(self.deadlock.transactions.len())
                        .map_or(u32::MAX, |n| n.saturating_add(1))
                });
                self.deadlock.transactions.push(PrintedTransaction {
                    number,
                    ..PrintedTransaction::default()
                });
                self.current = Some(self.deadlock.transactions.len() - 1);
                self.part = Part::Header;
                self.last_lock = None;
            }
            LineKind::WaitingHeader(number) => self.enter(number, Part::Waiting),
            LineKind::HoldsHeader(number) => {
                self.enter(number, Part::Holds);
                if let Some(trx) = self.current_trx() {
                    trx.holds_printed = true;
                }
            }
            LineKind::ConflictingHeader => {
                self.part = Part::Conflicting;
                self.last_lock = None;
            }
            LineKind::RollBack(number) => {
                self.deadlock.victim = Some(number);
                self.saw_victim_line = true;
                self.part = Part::Done;
            }
            LineKind::TooDeep(timestamp) => {
                self.deadlock.too_deep = true;
                self.set_timestamp_if_missing(timestamp);
                // The one transaction printed next is the one rolled back.
                self.deadlock.victim.get_or_insert(1);
            }
            LineKind::Timestamp(ts) if self.part == Part::Preamble => {
                self.set_timestamp_if_missing(Some(ts))
            }
            LineKind::Transaction if self.part == Part::Header => {
                self.with_trx(|t| lines::apply_transaction_line(t, line))
            }
            LineKind::TablesInUse if self.part == Part::Header => {
                self.with_trx(|t| lines::apply_tables_in_use(t, line))
            }
            LineKind::LockStructs if self.part == Part::Header => {
                self.with_trx(|t| lines::apply_lock_structs(t, line))
            }
            LineKind::Thread if self.part == Part::Header => {
                self.with_trx(|t| lines::apply_thread_line(t, line));
                self.part = Part::Query;
            }
            LineKind::LockHeader
                if matches!(self.part, Part::Waiting | Part::Holds | Part::Conflicting) =>
            {
                match lines::parse_lock_header(line) {
                    Some(lock) => self.push_lock(lock),
                    None => self.keep_unparsed(raw),
                }
            }
            LineKind::RecordHeader => {
                let record = lines::parse_record_header(line);
                match self.current_lock() {
                    Some(lock) => lock.records.push(record),
                    None => self.keep_unparsed(raw),
                }
            }
            LineKind::RecordFields => {
                match self.current_lock().and_then(|l| l.records.last_mut()) {
                    Some(record) => lines::push_record_fields(record, raw),
                    None => self.keep_unparsed(raw),
                }
            }
            _ if self.part == Part::Query => self.push_query_line(raw.trim_end()),
            _ => self.keep_unparsed(raw),
        }
    }

    /// Attributes held locks, marks the victim and the truncation, decodes records.
    pub fn finish(mut self) -> Deadlock {
        let d = &mut self.deadlock;
        for lock in std::mem::take(&mut self.conflicting) {
            // MariaDB prints conflicting locks of any transaction, the waiter's own included:
            // the trx id on the lock line says whose it is.
            let owner = d
                .transactions
                .iter_mut()
                .find(|t| t.trx_id.is_some() && t.trx_id == lock.trx_id);
            match owner {
                Some(trx) => {
                    trx.holds_printed = true;
                    if !trx.holds.contains(&lock) {
                        trx.holds.push(lock);
                    }
                }
                None => d.other_locks.push(lock),
            }
        }
        for trx in &mut d.transactions {
            if let Some(query) = &mut trx.query {
                let trimmed = query.trim_end().to_string();
                *query = trimmed;
            }
            trx.rolled_back = d.victim == Some(trx.number);
            trx.holds.iter_mut().for_each(lines::decode_record_values);
            if let Some(lock) = &mut trx.waits_for {
                lines::decode_record_values(lock);
            }
        }
        d.other_locks
            .iter_mut()
            .for_each(lines::decode_record_values);
        let too_deep_complete = d.too_deep
            && d.transactions
                .first()
                .is_some_and(|t| t.waits_for.is_some());
        d.truncated = !self.saw_victim_line && !too_deep_complete;
        self.deadlock
    }

    fn enter(&mut self, number: Option<u32>, part: Part) {
        if let Some(n) = number {
            if let Some(i) = self
                .deadlock
                .transactions
                .iter()
                .position(|t| t.number == n)
            {
                self.current = Some(i);
            }
        }
        self.part = part;
        self.last_lock = None;
    }

    fn current_trx(&mut self) -> Option<&mut PrintedTransaction> {
        self.current
            .and_then(|i| self.deadlock.transactions.get_mut(i))
    }

    fn with_trx(&mut self, apply: impl FnOnce(&mut PrintedTransaction)) {
        if let Some(trx) = self.current_trx() {
            apply(trx);
        }
    }

    fn push_lock(&mut self, lock: Lock) {
        let slot = match (self.part, self.current) {
            (Part::Conflicting, _) => {
                self.conflicting.push(lock);
                LockSlot::Conflicting
            }
            (part, Some(i)) => {
                let trx = &mut self.deadlock.transactions[i];
                if part == Part::Waiting && trx.waits_for.is_none() {
                    trx.waits_for = Some(lock);
                    LockSlot::WaitsFor(i)
                } else {
                    trx.holds.push(lock);
                    LockSlot::Holds(i)
                }
            }
            (_, None) => {
                self.deadlock.other_locks.push(lock);
                LockSlot::Other
            }
        };
        self.last_lock = Some(slot);
    }

    /// The lock the next record lines belong to.
    fn current_lock(&mut self) -> Option<&mut Lock> {
        match self.last_lock? {
            LockSlot::WaitsFor(i) => self.deadlock.transactions.get_mut(i)?.waits_for.as_mut(),
            LockSlot::Holds(i) => self.deadlock.transactions.get_mut(i)?.holds.last_mut(),
            LockSlot::Conflicting => self.conflicting.last_mut(),
            LockSlot::Other => self.deadlock.other_locks.last_mut(),
        }
    }

    fn push_query_line(&mut self, line: &str) {
        self.with_trx(|trx| {
            let query = trx.query.get_or_insert_with(String::new);
            if !query.is_empty() {
                query.push('\n');
            }
            query.push_str(line);
        });
    }

    fn keep_unparsed(&mut self, line: &str) {
        let line = line.trim_end().to_string();
        match self.current_trx() {
            Some(trx) => trx.unparsed_lines.push(line),
            None => self.deadlock.unparsed_lines.push(line),
        }
    }
}

/// Parses the lines of one deadlock print.
pub fn parse_deadlock_lines<'a>(lines: impl IntoIterator<Item = &'a str>) -> Deadlock {
    let mut builder = DeadlockBuilder::new();
    for line in lines {
        builder.feed(line);
    }
    builder.finish()
}
