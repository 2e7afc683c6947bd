//! Deadlocks over time: filter by age, keep the newest N, group by fingerprint.
//! Memory grows with the number of distinct shapes and N, not with the input.

use std::collections::{HashMap, VecDeque};

use super::report::{DeadlockGroup, DeadlockReport};
use super::time::{deadlock_time, rfc3339_text};

/// `--since` over printed times: which entries of a log are recent enough, and
/// each kept one's time in RFC 3339. Shared by deadlocks and lock wait timeouts.
#[derive(Debug)]
pub struct TimeWindow {
    /// Only entries at or after this epoch second (unknown timestamps are kept).
    pub not_before: Option<i64>,
    /// The server's UTC offset, for timestamps printed in server time.
    pub server_utc_offset_secs: Option<i64>,
    /// Entries kept although `--since` could not judge them (server time, offset unknown).
    pub undated: u64,
}

impl TimeWindow {
    pub fn new(not_before: Option<i64>, server_utc_offset_secs: Option<i64>) -> Self {
        TimeWindow {
            not_before,
            server_utc_offset_secs,
            undated: 0,
        }
    }

    /// With `--since`: how many entries it kept without being able to judge their time.
    pub fn since_undated(&self) -> Option<u64> {
        self.not_before.map(|_| self.undated)
    }

    /// `None` when the entry printed at `timestamp` is older than the window; else
    /// its time in RFC 3339 (itself `None` when its zone is unknown). One parse per entry.
    pub fn admit(&mut self, timestamp: Option<&str>) -> Option<Option<String>> {
        let at = timestamp.and_then(|ts| deadlock_time(ts, self.server_utc_offset_secs));
        if let Some(limit) = self.not_before {
            match &at {
                Some(at) if at.timestamp() < limit => return None,
                Some(_) => {}
                None => self.undated += 1,
            }
        }
        Some(at.as_ref().map(rfc3339_text))
    }
}

/// Accumulates deadlocks in the order they were found.
#[derive(Debug)]
pub struct DeadlockHistory {
    window: TimeWindow,
    keep_last: usize,
    pub total: u64,
    /// Deadlocks kept although `--since` could not judge them (server time, offset unknown).
    pub undated: u64,
    /// Deadlocks with a line no rule recognised, and the first such line.
    pub unread: u64,
    pub first_unread: Option<(Option<String>, String)>,
    pub newest: VecDeque<DeadlockReport>,
    groups: HashMap<String, DeadlockGroup>,
    group_order: Vec<String>,
}

impl DeadlockHistory {
    pub fn new(
        not_before: Option<i64>,
        keep_last: usize,
        server_utc_offset_secs: Option<i64>,
    ) -> Self {
        DeadlockHistory {
            window: TimeWindow::new(not_before, server_utc_offset_secs),
            keep_last,
            total: 0,
            undated: 0,
            unread: 0,
            first_unread: None,
            newest: VecDeque::new(),
            groups: HashMap::new(),
            group_order: Vec::new(),
        }
    }

    /// With `--since`: deadlocks kept without a judgeable time.
    pub fn since_undated(&self) -> Option<u64> {
        self.window.since_undated()
    }

    /// The zone for the deadlocks added from now on (each snapshot knows its own).
    pub fn set_server_utc_offset(&mut self, offset_secs: Option<i64>) {
        self.window.server_utc_offset_secs = offset_secs;
    }

    pub fn add(&mut self, mut report: DeadlockReport) {
        let Some(rfc3339) = self.window.admit(report.deadlock.timestamp.as_deref()) else {
            return;
        };
        self.undated = self.window.undated;
        if report.timestamp_rfc3339.is_none() {
            report.timestamp_rfc3339 = rfc3339;
        }
        self.total += 1;
        if let Some(line) = report.deadlock.first_unread_line() {
            self.unread += 1;
            self.first_unread
                .get_or_insert_with(|| (report.deadlock.timestamp.clone(), line.to_string()));
        }
        let fp = report.analysis.fingerprint.clone();
        let ts = report.deadlock.timestamp.clone();
        let group = self.groups.entry(fp.clone()).or_insert_with(|| {
            self.group_order.push(fp.clone());
            let tables = super::deadlock::tables_of_deadlock(&report.deadlock);
            DeadlockGroup {
                fingerprint: fp,
                count: 0,
                first_seen: ts.clone(),
                last_seen: None,
                diagnosis: report.analysis.diagnosis.kind,
                tables,
                text: String::new(),
            }
        });
        group.count += 1;
        group.last_seen = ts;
        group.text = report.analysis.diagnosis.text.clone();
        self.newest.push_back(report);
        if self.newest.len() > self.keep_last {
            self.newest.pop_front();
        }
    }

    /// Groups, most frequent first (ties: first seen first).
    pub fn groups(&self) -> Vec<DeadlockGroup> {
        let mut groups: Vec<DeadlockGroup> = self
            .group_order
            .iter()
            .filter_map(|fp| self.groups.get(fp).cloned())
            .collect();
        groups.sort_by_key(|g| std::cmp::Reverse(g.count));
        groups
    }
}
