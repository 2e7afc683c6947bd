//! Deadlocks over time: filter by age, keep the newest N, group by fingerprint.
//! Memory grows with the number of distinct shapes and N, not with the input.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Local, NaiveDateTime, TimeZone, Utc};

use super::report::{DeadlockGroup, DeadlockReport};

/// Seconds since the epoch of a deadlock timestamp: `…T…Z` is UTC, the plain
/// form is the server's local time, taken as this machine's local time.
pub fn timestamp_epoch(ts: &str) -> Option<i64> {
    if let Some(utc) = ts.strip_suffix('Z') {
        let naive = NaiveDateTime::parse_from_str(utc, "%Y-%m-%dT%H:%M:%S").ok()?;
        return Some(Utc.from_utc_datetime(&naive).timestamp());
    }
    let naive = NaiveDateTime::parse_from_str(&ts.replace('T', " "), "%Y-%m-%d %H:%M:%S").ok()?;
    Local
        .from_local_datetime(&naive)
        .earliest()
        .map(|d: DateTime<Local>| d.timestamp())
}

/// Accumulates deadlocks in the order they were found.
#[derive(Debug)]
pub struct DeadlockHistory {
    /// Only deadlocks at or after this epoch second (unknown timestamps are kept).
    not_before: Option<i64>,
    keep_last: usize,
    pub total: u64,
    pub newest: VecDeque<DeadlockReport>,
    groups: HashMap<String, DeadlockGroup>,
    group_order: Vec<String>,
}

impl DeadlockHistory {
    pub fn new(not_before: Option<i64>, keep_last: usize) -> Self {
        DeadlockHistory {
            not_before,
            keep_last,
            total: 0,
            newest: VecDeque::new(),
            groups: HashMap::new(),
            group_order: Vec::new(),
        }
    }

    pub fn add(&mut self, report: DeadlockReport) {
        let epoch = report
            .deadlock
            .timestamp
            .as_deref()
            .and_then(timestamp_epoch);
        if let (Some(limit), Some(at)) = (self.not_before, epoch) {
            if at < limit {
                return;
            }
        }
        self.total += 1;
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
