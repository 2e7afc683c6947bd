//! Builds one [`LockWaitTimeout`] from the lines Percona Server logs after
//! `Lock wait timeout info:` (`innodb_print_lock_wait_timeout_info=ON`):
//!
//! ```text
//! <log prefix> Lock wait timeout info:
//! Requested thread id: 37
//! Requested trx id: 10388
//! Requested query: DELETE FROM … (the statement's own lines follow as they are)
//! Total blocking transactions count: 2
//! Blocking transaction number: 1
//! Blocking thread id: 36
//! Blocking query id: 1136
//! Blocking trx id: 10387
//! …
//! ```
//!
//! The field lines carry no log prefix (5.6 writes the entry after `ut_print_timestamp`,
//! 5.7+ as one multi-line `ib::info` message), but a prefixed copy reads the same.

use crate::model::{LockWaitTimeout, TimeoutBlocker};

use super::lines::{fold_spaces, normalize_trx_id};

/// The text that opens an entry (after the log prefix).
pub const TIMEOUT_MARKER: &str = "Lock wait timeout info:";

/// What [`LockWaitTimeoutBuilder::feed`] did with a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fed {
    /// The line belongs to the entry; more may follow.
    Taken,
    /// The line was the entry's last (its last listed blocker's trx id).
    Complete,
    /// The line is not part of the entry: the entry ended before it.
    NotMine,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Before `Requested query:`.
    Requester,
    /// After `Requested query:`: unprefixed lines continue the statement.
    Query,
    /// After `Total blocking transactions count:`.
    Blockers,
}

/// Line-fed builder; never panics, whatever the lines.
#[derive(Debug)]
pub struct LockWaitTimeoutBuilder {
    timeout: LockWaitTimeout,
    part: Part,
    complete: bool,
}

impl LockWaitTimeoutBuilder {
    /// An entry whose opening line was logged at `timestamp` (as printed, normalised).
    pub fn new(timestamp: Option<String>) -> Self {
        LockWaitTimeoutBuilder {
            timeout: LockWaitTimeout {
                timestamp,
                ..LockWaitTimeout::default()
            },
            part: Part::Requester,
            complete: false,
        }
    }

    /// Feeds one line: `message` is the line without its log prefix, `prefixed`
    /// whether it had one (a prefixed line is a new log message unless it is a field).
    pub fn feed(&mut self, message: &str, prefixed: bool) -> Fed {
        if self.complete {
            return Fed::NotMine;
        }
        if let Some((key, value)) = message.split_once(':') {
            if let Some(fed) = self.field(&fold_spaces(key), value.trim()) {
                return fed;
            }
        }
        if self.part == Part::Query && !prefixed {
            // The statement's own next line, kept as it is.
            let query = self.timeout.query.get_or_insert_with(String::new);
            query.push('\n');
            query.push_str(message.trim_end_matches('\r'));
            return Fed::Taken;
        }
        Fed::NotMine
    }

    /// Reads a `Key: value` line of the format; `None` when the key is not one of it.
    fn field(&mut self, key: &str, value: &str) -> Option<Fed> {
        let number = || value.parse::<u64>().ok();
        let t = &mut self.timeout;
        match key.to_ascii_lowercase().as_str() {
            "requested thread id" => t.thread_id = number(),
            "requested trx id" => t.trx_id = Some(normalize_trx_id(value)),
            "requested query" => {
                t.query = Some(value.to_string());
                self.part = Part::Query;
            }
            "total blocking transactions count" => {
                t.blocking_count = number();
                self.part = Part::Blockers;
                if t.blocking_count == Some(0) {
                    self.complete = true;
                    return Some(Fed::Complete);
                }
            }
            "blocking transaction number" => t.blockers.push(TimeoutBlocker::default()),
            "blocking thread id" => self.blocker().thread_id = number().filter(|&id| id != 0),
            // 0: the blocker has no session (thread 0), so no statement either.
            "blocking query id" => self.blocker().query_id = number().filter(|&id| id != 0),
            "blocking trx id" => {
                self.blocker().trx_id = Some(normalize_trx_id(value));
                let listed = self.timeout.blockers.len() as u64;
                if self.timeout.blocking_count.is_some_and(|n| listed >= n) {
                    self.complete = true;
                    return Some(Fed::Complete);
                }
            }
            _ => return None,
        }
        Some(Fed::Taken)
    }

    /// The blocker being read (a field before any `Blocking transaction number` opens one).
    fn blocker(&mut self) -> &mut TimeoutBlocker {
        self.part = Part::Blockers;
        if self.timeout.blockers.is_empty() {
            self.timeout.blockers.push(TimeoutBlocker::default());
        }
        let last = self.timeout.blockers.len() - 1;
        &mut self.timeout.blockers[last]
    }

    /// The entry as read; `truncated` when the text ended before its last blocker.
    pub fn finish(mut self) -> LockWaitTimeout {
        self.timeout.truncated = !self.complete;
        if let Some(query) = &mut self.timeout.query {
            query.truncate(query.trim_end().len());
        }
        self.timeout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(lines: &[&str]) -> (LockWaitTimeout, Vec<Fed>) {
        let mut builder = LockWaitTimeoutBuilder::new(None);
        let fed = lines.iter().map(|l| builder.feed(l, false)).collect();
        (builder.finish(), fed)
    }

    #[test]
    fn reads_the_requester_every_blocker_and_a_multi_line_statement() {
        let (t, fed) = build(&[
            "Requested thread id: 41",
            "Requested trx id: 5127",
            "Requested query: INSERT INTO paid_events (order_id, payment_key)",
            "  VALUES (7, 'pk_7')",
            "Total blocking transactions count: 2",
            "Blocking transaction number: 1",
            "Blocking thread id: 40",
            "Blocking query id: 912",
            "Blocking trx id: 5120",
            "Blocking transaction number: 2",
            "Blocking thread id: 0",
            "Blocking query id: 0",
            "Blocking trx id: 5101",
        ]);
        assert_eq!(fed.last(), Some(&Fed::Complete));
        assert!(fed[..fed.len() - 1].iter().all(|f| *f == Fed::Taken));
        assert_eq!(t.thread_id, Some(41));
        assert_eq!(t.trx_id.as_deref(), Some("5127"));
        assert_eq!(
            t.query.as_deref(),
            Some("INSERT INTO paid_events (order_id, payment_key)\n  VALUES (7, 'pk_7')")
        );
        assert_eq!(t.blocking_count, Some(2));
        assert_eq!(t.blockers.len(), 2);
        assert_eq!(t.blockers[0].thread_id, Some(40));
        assert_eq!(t.blockers[0].query_id, Some(912));
        // Thread 0: no client session holds it (purge, a recovered or XA-prepared transaction).
        assert_eq!(t.blockers[1].thread_id, None);
        assert_eq!(t.blockers[1].trx_id.as_deref(), Some("5101"));
        assert!(!t.truncated);
    }

    #[test]
    fn spacing_and_case_of_keys_do_not_matter_and_no_blockers_completes() {
        let (t, fed) = build(&[
            "Requested  thread id :\t41",
            "requested trx id: 5127",
            "Requested query: ",
            "Total blocking transactions count:  0",
        ]);
        assert_eq!(fed, vec![Fed::Taken, Fed::Taken, Fed::Taken, Fed::Complete]);
        assert_eq!(t.thread_id, Some(41));
        assert_eq!(t.query.as_deref(), Some(""));
        assert!(t.blockers.is_empty() && !t.truncated);
    }

    #[test]
    fn a_cut_entry_is_truncated_and_a_new_log_message_ends_it() {
        let mut builder = LockWaitTimeoutBuilder::new(None);
        for line in [
            "Requested thread id: 41",
            "Requested query: UPDATE payments SET state = 'paid' WHERE id = 7",
            "Total blocking transactions count: 2",
            "Blocking transaction number: 1",
            "Blocking thread id: 40",
        ] {
            assert_eq!(builder.feed(line, false), Fed::Taken);
        }
        // The next log message (prefixed, not a field) is not part of the entry.
        assert_eq!(builder.feed("Starting shutdown...", true), Fed::NotMine);
        // Nor is an unprefixed line that is no field once the statement is read.
        assert_eq!(builder.feed("some other text", false), Fed::NotMine);
        let t = builder.finish();
        assert!(t.truncated);
        assert_eq!(t.blockers.len(), 1);
        assert_eq!(t.blockers[0].trx_id, None);
    }
}
