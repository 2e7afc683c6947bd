//! The recorder's decisions, apart from any I/O: which trigger a probe
//! fires, when a snapshot is due (at most one per cooldown while a condition
//! lasts, one more when it clears), and when two deadlock prints are the same
//! deadlock (so none is written twice, across sources and restarts).

use std::time::{Duration, Instant};

use super::time::timestamp_epoch;
use super::DeadlockReport;
use crate::model::Probe;

/// When to take a snapshot (any of them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Triggers {
    /// A session has waited this long for a row lock.
    pub lock_wait: Option<Duration>,
    /// At least this many sessions wait (row and metadata locks).
    pub blocked: Option<u64>,
    /// A transaction has been open this long.
    pub trx_age: Option<Duration>,
    /// A session has waited this long for a metadata lock.
    pub mdl_wait: Option<Duration>,
}

impl Triggers {
    pub fn is_empty(&self) -> bool {
        *self == Triggers::default()
    }

    /// The triggers `probe` fires, each saying its figure: `lock-wait 3s ≥ 2s`.
    pub fn fired(&self, probe: &Probe) -> Vec<String> {
        let mut fired = Vec::new();
        // Too many waits to list: their times are unknown, and that many is an incident
        // whatever they are, for any trigger on row-lock waits.
        if let Some(limit) = probe.waits_not_listed_above {
            if self.lock_wait.is_some() || self.blocked.is_some() {
                fired.push(format!(
                    "pile-up {} row-lock waits > --max-row-waits {limit} (counted, not listed)",
                    probe.row_waiting
                ));
            }
        }
        if let Some(limit) = self.lock_wait {
            if probe.row_waiting > 0 && probe.longest_row_wait_secs >= limit.as_secs() {
                fired.push(format!(
                    "lock-wait {}s >= {}",
                    probe.longest_row_wait_secs,
                    humantime::format_duration(limit)
                ));
            }
        }
        if let Some(limit) = self.blocked {
            let waiting = probe.row_waiting + probe.mdl_waiting;
            if waiting >= limit {
                fired.push(format!("blocked {waiting} >= {limit}"));
            }
        }
        if let Some(limit) = self.trx_age {
            if probe.oldest_trx_secs >= limit.as_secs() {
                fired.push(format!(
                    "trx-age {}s >= {}",
                    probe.oldest_trx_secs,
                    humantime::format_duration(limit)
                ));
            }
        }
        if let Some(limit) = self.mdl_wait {
            if probe.mdl_waiting > 0 && probe.longest_mdl_wait_secs >= limit.as_secs() {
                fired.push(format!(
                    "mdl-wait {}s >= {}",
                    probe.longest_mdl_wait_secs,
                    humantime::format_duration(limit)
                ));
            }
        }
        fired
    }
}

/// Whether to write a snapshot now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotDue {
    /// A condition holds and the cooldown has passed: the triggers that fired.
    Fired(String),
    /// The condition just cleared: one snapshot of the calm after.
    Cleared,
    No,
}

/// Paces snapshots: a long pile-up is a short series, not thousands of files.
#[derive(Debug, Clone)]
pub struct Pacer {
    cooldown: Duration,
    last_written: Option<Instant>,
    active: bool,
}

impl Pacer {
    pub fn new(cooldown: Duration) -> Self {
        Pacer {
            cooldown,
            last_written: None,
            active: false,
        }
    }

    /// Decides for one probe at `now`; `fired` is what [`Triggers::fired`] said.
    pub fn decide(&mut self, fired: &[String], now: Instant) -> SnapshotDue {
        if fired.is_empty() {
            if std::mem::replace(&mut self.active, false) {
                self.last_written = Some(now);
                return SnapshotDue::Cleared;
            }
            return SnapshotDue::No;
        }
        self.active = true;
        let due = self
            .last_written
            .is_none_or(|t| now.duration_since(t) >= self.cooldown);
        if due {
            self.last_written = Some(now);
            SnapshotDue::Fired(fired.join(", "))
        } else {
            SnapshotDue::No
        }
    }

    /// A write failed: try again on the next probe.
    pub fn retry(&mut self) {
        self.last_written = None;
        self.active = true;
    }
}

/// What makes two prints the same deadlock, whichever source printed it (the
/// status text, the error log, a snapshot) and however it spelled the time: the
/// print itself — each transaction's id and thread and the lock it waited for.
/// InnoDB never reuses the id of a transaction that took locks, so two deadlocks
/// of one shape in the same second (a retry storm: same statements, same threads)
/// stay two. Only where a print names no transaction id (a cut or header-only
/// print) does the time stand in, with the fingerprint.
pub fn deadlock_key(report: &DeadlockReport, server_utc_offset: Option<i64>) -> String {
    let deadlock = &report.deadlock;
    let mut transactions: Vec<String> = deadlock
        .transactions
        .iter()
        .map(|t| {
            let waited = t.waits_for.as_ref().map(|l| {
                format!(
                    "{}.{}/{}/{:?}",
                    l.schema.as_deref().unwrap_or(""),
                    l.table,
                    l.index.as_deref().unwrap_or(""),
                    l.mode
                )
            });
            format!(
                "{}#{}>{}",
                t.trx_id.as_deref().unwrap_or("?"),
                t.thread_id.map_or("?".to_string(), |id| id.to_string()),
                waited.unwrap_or_default()
            )
        })
        .collect();
    transactions.sort_unstable();
    if deadlock.transactions.iter().any(|t| t.trx_id.is_some()) {
        format!("trx:{}", transactions.join(","))
    } else {
        format!(
            "time:{}|{}|{}",
            deadlock_time(report, server_utc_offset),
            report.analysis.fingerprint,
            transactions.join(",")
        )
    }
}

/// The deadlock's time (Unix seconds where it can be placed, else as printed).
fn deadlock_time(report: &DeadlockReport, server_utc_offset: Option<i64>) -> String {
    report
        .deadlock
        .timestamp
        .as_deref()
        .map(|ts| {
            timestamp_epoch(ts, server_utc_offset)
                .map(|e| e.to_string())
                .unwrap_or_else(|| ts.to_string())
        })
        .unwrap_or_default()
}

/// A deadlock's moment: its time and the transaction rolled back. The same deadlock read
/// from `performance_schema.error_log` (header lines only) and from the InnoDB status (in
/// full) has different fingerprints but the same moment; the header-only copy is then not
/// kept again.
pub fn deadlock_moment_key(report: &DeadlockReport, server_utc_offset: Option<i64>) -> String {
    format!(
        "at:{}|{:?}",
        deadlock_time(report, server_utc_offset),
        report.deadlock.victim
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The full print and its header-only copy share a moment, not a key.
    #[test]
    fn header_only_copy_of_a_deadlock_has_its_moment() {
        let full = DeadlockReport::latest_in(
            Some(include_str!(
                "../../fixtures/live/payments-reservations.status.txt"
            )),
            Some(0),
        )
        .unwrap();
        let mut header = full.deadlock.clone();
        for t in &mut header.transactions {
            *t = crate::model::PrintedTransaction {
                number: t.number,
                rolled_back: t.rolled_back,
                ..Default::default()
            };
        }
        assert!(header.header_only() && !full.deadlock.header_only());
        let header = DeadlockReport::new(header);
        assert_ne!(deadlock_key(&full, Some(0)), deadlock_key(&header, Some(0)));
        assert_eq!(
            deadlock_moment_key(&full, Some(0)),
            deadlock_moment_key(&header, Some(0))
        );
        let mut other_victim = header.clone();
        other_victim.deadlock.victim = Some(9);
        assert_ne!(
            deadlock_moment_key(&other_victim, Some(0)),
            deadlock_moment_key(&header, Some(0))
        );
    }

    #[test]
    fn triggers_fire_with_their_figures() {
        let triggers = Triggers {
            lock_wait: Some(Duration::from_secs(2)),
            blocked: Some(5),
            trx_age: Some(Duration::from_secs(60)),
            mdl_wait: Some(Duration::from_secs(1)),
        };
        let quiet = Probe::default();
        assert!(triggers.fired(&quiet).is_empty());
        let busy = Probe {
            row_waiting: 4,
            longest_row_wait_secs: 3,
            oldest_trx_secs: 61,
            mdl_waiting: 1,
            longest_mdl_wait_secs: 0,
            deadlocks: Some(0),
            waits_not_listed_above: None,
        };
        assert_eq!(
            triggers.fired(&busy),
            vec!["lock-wait 3s >= 2s", "blocked 5 >= 5", "trx-age 61s >= 1m"]
        );
        // Counted, not listed: the wait times are unknown (0), the pile-up is not.
        let counted = Probe {
            row_waiting: 2000,
            waits_not_listed_above: Some(500),
            ..Probe::default()
        };
        assert_eq!(
            triggers.fired(&counted),
            vec![
                "pile-up 2000 row-lock waits > --max-row-waits 500 (counted, not listed)",
                "blocked 2000 >= 5"
            ]
        );
    }

    #[test]
    fn a_long_condition_is_a_short_series() {
        let mut pacer = Pacer::new(Duration::from_secs(10));
        let t0 = Instant::now();
        let fired = vec!["lock-wait 3s >= 2s".to_string()];
        let mut written = 0;
        // 5 minutes of a pile-up, probed every second: one snapshot per 10 s.
        for s in 0..300 {
            if pacer.decide(&fired, t0 + Duration::from_secs(s)) != SnapshotDue::No {
                written += 1;
            }
        }
        assert_eq!(written, 30);
        assert_eq!(
            pacer.decide(&[], t0 + Duration::from_secs(300)),
            SnapshotDue::Cleared
        );
        assert_eq!(
            pacer.decide(&[], t0 + Duration::from_secs(301)),
            SnapshotDue::No
        );
        // A condition flapping back within the cooldown waits for it.
        assert_eq!(
            pacer.decide(&fired, t0 + Duration::from_secs(302)),
            SnapshotDue::No
        );
        assert!(matches!(
            pacer.decide(&fired, t0 + Duration::from_secs(311)),
            SnapshotDue::Fired(_)
        ));
        // A failed write is retried on the next probe, cooldown or not.
        pacer.retry();
        assert!(matches!(
            pacer.decide(&fired, t0 + Duration::from_secs(312)),
            SnapshotDue::Fired(_)
        ));
    }
}
