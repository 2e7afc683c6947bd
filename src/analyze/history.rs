//! Deadlocks over time: filter by age, keep the newest N, group by fingerprint.
//! Memory grows with the number of distinct shapes and N, not with the input.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, FixedOffset, NaiveDateTime};

use super::report::{DeadlockGroup, DeadlockReport};

/// A deadlock timestamp as the parser keeps it, placed in time: `…T…Z` is UTC,
/// `…T…+08:00` carries its offset, and the plain `YYYY-MM-DD HH:MM:SS` is the
/// *server's* local time, placed only with the server's UTC offset (read live, or
/// `--server-tz`); without it, `None`. The one parse every use of the time shares.
pub fn deadlock_time(
    ts: &str,
    server_utc_offset_secs: Option<i64>,
) -> Option<DateTime<FixedOffset>> {
    if let Ok(zoned) = DateTime::parse_from_rfc3339(ts) {
        return Some(zoned);
    }
    // No zone (`T` or space between date and time): server time.
    let naive = NaiveDateTime::parse_from_str(ts, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(ts, "%Y-%m-%d %H:%M:%S"))
        .ok()?;
    let zone = FixedOffset::east_opt(i32::try_from(server_utc_offset_secs?).ok()?)?;
    naive.and_local_timezone(zone).single()
}

/// Seconds since the epoch of a deadlock timestamp (see [`deadlock_time`]).
pub fn timestamp_epoch(ts: &str, server_utc_offset_secs: Option<i64>) -> Option<i64> {
    deadlock_time(ts, server_utc_offset_secs).map(|t| t.timestamp())
}

/// A placed time as RFC 3339 with its offset, to the second.
fn rfc3339_text(at: &DateTime<FixedOffset>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// A deadlock timestamp as RFC 3339 with its offset: the zone it was printed with,
/// or the server's for a zone-less print; `None` when that zone is unknown.
pub fn timestamp_rfc3339(ts: &str, server_utc_offset_secs: Option<i64>) -> Option<String> {
    deadlock_time(ts, server_utc_offset_secs).map(|t| rfc3339_text(&t))
}

/// Accumulates deadlocks in the order they were found.
#[derive(Debug)]
pub struct DeadlockHistory {
    /// Only deadlocks at or after this epoch second (unknown timestamps are kept).
    not_before: Option<i64>,
    keep_last: usize,
    /// The server's UTC offset, for timestamps printed in server time.
    server_utc_offset_secs: Option<i64>,
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
            not_before,
            keep_last,
            server_utc_offset_secs,
            total: 0,
            undated: 0,
            unread: 0,
            first_unread: None,
            newest: VecDeque::new(),
            groups: HashMap::new(),
            group_order: Vec::new(),
        }
    }

    /// The zone for the deadlocks added from now on (each snapshot knows its own).
    pub fn set_server_utc_offset(&mut self, offset_secs: Option<i64>) {
        self.server_utc_offset_secs = offset_secs;
    }

    pub fn add(&mut self, mut report: DeadlockReport) {
        // One parse of the time per deadlock (logs hold tens of thousands): its RFC 3339
        // form and the epoch second the filter needs come from it.
        let at = report
            .deadlock
            .timestamp
            .as_deref()
            .and_then(|ts| deadlock_time(ts, self.server_utc_offset_secs));
        if report.timestamp_rfc3339.is_none() {
            report.timestamp_rfc3339 = at.as_ref().map(rfc3339_text);
        }
        let epoch = at.map(|t| t.timestamp());
        if let Some(limit) = self.not_before {
            match epoch {
                Some(at) if at < limit => return,
                Some(_) => {}
                None => self.undated += 1,
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_keeps_the_printed_zone_or_takes_the_servers() {
        assert_eq!(
            timestamp_rfc3339("2025-11-10T08:52:25+08:00", None).as_deref(),
            Some("2025-11-10T08:52:25+08:00")
        );
        assert_eq!(
            timestamp_rfc3339("2025-11-10T00:52:25Z", Some(3600)).as_deref(),
            Some("2025-11-10T00:52:25+00:00"),
            "a printed zone wins over the server's"
        );
        assert_eq!(timestamp_rfc3339("2025-11-10 08:52:25", None), None);
        assert_eq!(
            timestamp_rfc3339("2025-11-10 08:52:25", Some(-5 * 3600 - 1800)).as_deref(),
            Some("2025-11-10T08:52:25-05:30")
        );
        for bad in ["", "2025-13-40 99:99:99", "yesterday"] {
            assert_eq!(timestamp_rfc3339(bad, Some(0)), None);
        }
        // An offset no zone has is refused, not wrapped.
        assert_eq!(
            timestamp_rfc3339("2025-11-10 08:52:25", Some(i64::MAX)),
            None
        );
    }

    #[test]
    fn zones_are_honoured_and_server_time_needs_the_offset() {
        let utc = timestamp_epoch("2025-11-10T00:52:25Z", None).unwrap();
        assert_eq!(
            timestamp_epoch("2025-11-10T08:52:25+08:00", None),
            Some(utc)
        );
        assert_eq!(
            timestamp_epoch("2025-11-09T19:22:25-05:30", None),
            Some(utc)
        );
        assert_eq!(timestamp_epoch("2025-11-10 08:52:25", None), None);
        assert_eq!(
            timestamp_epoch("2025-11-10 08:52:25", Some(8 * 3600)),
            Some(utc)
        );
        assert_eq!(
            timestamp_epoch("2025-11-10T08:52:25", Some(8 * 3600)),
            Some(utc)
        );
        assert!(
            timestamp_epoch("2025-11-10T00:52:25Z", None).is_some()
                && timestamp_epoch("2025-11-10 08:52:25", None).is_none()
        );
        assert_eq!(timestamp_epoch("2025-13-99 é", Some(0)), None);
    }
}
