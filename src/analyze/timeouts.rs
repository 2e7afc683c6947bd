//! Lock wait timeouts logged by Percona Server, over time: filtered by age, the
//! newest N kept, grouped by the statement that timed out with the transactions
//! that blocked it. Memory grows with the distinct statements and N, not the log.

use std::collections::{HashMap, VecDeque};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::LockWaitTimeout;

use super::history::TimeWindow;
use super::sql_text::normalize_sql;

/// One logged timeout with what was computed about it (JSON: its fields and these side by side).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TimeoutReport {
    #[serde(flatten)]
    pub timeout: LockWaitTimeout,
    /// `timestamp` in RFC 3339 with its offset; `None` when the zone is unknown.
    pub timestamp_rfc3339: Option<String>,
    /// 16 hex digits, equal for timeouts of the same statement up to its literals.
    pub fingerprint: String,
}

impl TimeoutReport {
    pub fn new(timeout: LockWaitTimeout) -> Self {
        let fingerprint = statement_fingerprint(timeout.query.as_deref().unwrap_or(""));
        TimeoutReport {
            timeout,
            timestamp_rfc3339: None,
            fingerprint,
        }
    }
}

/// The timeouts of one statement (up to its literals) and who blocked them.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TimeoutGroup {
    pub fingerprint: String,
    /// The statement with its literals replaced by `?`.
    pub statement: String,
    pub count: u64,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    /// The blocking transactions, the most frequent first (at most [`MAX_GROUP_BLOCKERS`]).
    #[schemars(description = "The blocking transactions, the most frequent first (at most 10).")]
    pub blockers: Vec<BlockerTally>,
}

/// A transaction that blocked timeouts of a group, and in how many.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BlockerTally {
    pub thread_id: Option<u64>,
    pub trx_id: Option<String>,
    pub timeouts: u64,
}

/// Blockers kept per group: a statement blocked by more distinct transactions
/// than this is a hot row, and its top blockers say so.
pub const MAX_GROUP_BLOCKERS: usize = 10;

/// Timeouts per blocking (thread, transaction).
type BlockerCounts = HashMap<(Option<u64>, Option<String>), u64>;

/// Accumulates logged timeouts in the order they were found.
#[derive(Debug)]
pub struct TimeoutHistory {
    window: TimeWindow,
    keep_last: usize,
    pub total: u64,
    /// Timeouts whose entry the text cut (fewer blockers than it announced).
    pub cut: u64,
    pub newest: VecDeque<TimeoutReport>,
    groups: HashMap<String, (TimeoutGroup, BlockerCounts)>,
    group_order: Vec<String>,
}

impl TimeoutHistory {
    pub fn new(
        not_before: Option<i64>,
        keep_last: usize,
        server_utc_offset_secs: Option<i64>,
    ) -> Self {
        TimeoutHistory {
            window: TimeWindow::new(not_before, server_utc_offset_secs),
            keep_last,
            total: 0,
            cut: 0,
            newest: VecDeque::new(),
            groups: HashMap::new(),
            group_order: Vec::new(),
        }
    }

    /// Timeouts kept although `--since` could not judge their time.
    pub fn undated(&self) -> u64 {
        self.window.undated
    }

    /// With `--since`: [`TimeoutHistory::undated`].
    pub fn since_undated(&self) -> Option<u64> {
        self.window.since_undated()
    }

    pub fn add(&mut self, timeout: LockWaitTimeout) {
        let Some(rfc3339) = self.window.admit(timeout.timestamp.as_deref()) else {
            return;
        };
        let mut report = TimeoutReport::new(timeout);
        report.timestamp_rfc3339 = rfc3339;
        self.total += 1;
        if report.timeout.truncated {
            self.cut += 1;
        }
        let t = &report.timeout;
        let (group, blockers) = self
            .groups
            .entry(report.fingerprint.clone())
            .or_insert_with(|| {
                self.group_order.push(report.fingerprint.clone());
                let group = TimeoutGroup {
                    fingerprint: report.fingerprint.clone(),
                    statement: normalize_sql(t.query.as_deref().unwrap_or("")),
                    count: 0,
                    first_seen: t.timestamp.clone(),
                    last_seen: None,
                    blockers: Vec::new(),
                };
                (group, HashMap::new())
            });
        group.count += 1;
        group.last_seen = t.timestamp.clone();
        for blocker in &t.blockers {
            *blockers
                .entry((blocker.thread_id, blocker.trx_id.clone()))
                .or_insert(0) += 1;
        }
        self.newest.push_back(report);
        if self.newest.len() > self.keep_last {
            self.newest.pop_front();
        }
    }

    /// Groups, most frequent first (ties: first seen first), each with its top blockers.
    pub fn groups(&self) -> Vec<TimeoutGroup> {
        let mut groups: Vec<TimeoutGroup> = self
            .group_order
            .iter()
            .filter_map(|fp| self.groups.get(fp))
            .map(|(group, blockers)| {
                let mut tallies: Vec<BlockerTally> = blockers
                    .iter()
                    .map(|((thread_id, trx_id), n)| BlockerTally {
                        thread_id: *thread_id,
                        trx_id: trx_id.clone(),
                        timeouts: *n,
                    })
                    .collect();
                tallies.sort_by(|a, b| {
                    b.timeouts
                        .cmp(&a.timeouts)
                        .then_with(|| a.thread_id.cmp(&b.thread_id))
                        .then_with(|| a.trx_id.cmp(&b.trx_id))
                });
                tallies.truncate(MAX_GROUP_BLOCKERS);
                TimeoutGroup {
                    blockers: tallies,
                    ..group.clone()
                }
            })
            .collect();
        groups.sort_by_key(|g| std::cmp::Reverse(g.count));
        groups
    }
}

/// The fingerprint of the normalised statement.
fn statement_fingerprint(sql: &str) -> String {
    super::sql_text::fingerprint_hex(&normalize_sql(sql))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{ErrorLogEntries, LogEntry};

    fn history(not_before: Option<i64>, keep_last: usize) -> TimeoutHistory {
        let log = include_str!("../../fixtures/percona/lock-wait-timeouts.log");
        let mut history = TimeoutHistory::new(not_before, keep_last, Some(0));
        for entry in ErrorLogEntries::new(log.as_bytes()) {
            if let LogEntry::LockWaitTimeout(t) = entry.unwrap() {
                history.add(t);
            }
        }
        history
    }

    #[test]
    fn groups_by_statement_with_the_transaction_that_blocked_them() {
        let history = history(None, 2);
        assert_eq!(
            (history.total, history.cut, history.newest.len()),
            (5, 1, 2)
        );
        let groups = history.groups();
        assert_eq!(groups.len(), 3);
        let inserts = &groups[0];
        assert_eq!(inserts.count, 3);
        assert!(inserts.statement.starts_with("insert into paid_events"));
        // Thread 40's transaction 5120 blocked two; the cut entry names thread 40 only.
        assert_eq!(
            inserts.blockers[0],
            BlockerTally {
                thread_id: Some(40),
                trx_id: Some("5120".into()),
                timeouts: 2
            }
        );
        assert_eq!(inserts.blockers.len(), 3);
        assert_eq!(
            history.newest[1].timestamp_rfc3339.as_deref(),
            Some("2026-11-30T09:17:00+00:00")
        );
    }

    #[test]
    fn since_keeps_the_recent_ones() {
        // 2026-11-30T09:15:00Z
        let history = history(Some(1_796_030_100), 10);
        assert_eq!(history.total, 3);
        assert_eq!(history.groups().len(), 3);
    }
}
