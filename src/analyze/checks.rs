//! `check` assertions over a collection: each a PASS/FAIL with its figure.

use schemars::JsonSchema;
use serde::Serialize;

use crate::model::LiveState;

use super::waits::WaitAnalysis;
use super::DeadlockAnalysis;

/// The outcome of one assertion.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CheckResult {
    /// The assertion as given, e.g. `max-lock-wait 30s`.
    pub name: String,
    /// `pass`, `fail`, or `error` (could not be checked).
    pub status: CheckStatus,
    /// The figure behind it, e.g. `longest wait 42s (thread 18 on shop.payments)`.
    pub figure: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Pass,
    Fail,
    Error,
}

fn result(name: String, passed: bool, figure: String) -> CheckResult {
    CheckResult {
        name,
        status: if passed {
            CheckStatus::Pass
        } else {
            CheckStatus::Fail
        },
        figure,
    }
}

/// An assertion whose source could not be read is an error, not a pass.
fn unreadable(
    state: &LiveState,
    name: &str,
    sources: &[crate::model::SourceName],
) -> Option<CheckResult> {
    let broken = state.unread(sources);
    (!broken.is_empty()).then(|| CheckResult {
        name: name.into(),
        status: CheckStatus::Error,
        figure: format!("cannot check: {}", broken.join("; ")),
    })
}

pub fn max_lock_wait(state: &LiveState, analysis: &WaitAnalysis, limit_secs: u64) -> CheckResult {
    let name = format!("max-lock-wait {limit_secs}s");
    if let Some(e) = unreadable(state, &name, &[crate::model::SourceName::LockWaits]) {
        return e;
    }
    match analysis.waits.iter().max_by_key(|w| w.wait_secs) {
        Some(w) => result(
            name,
            w.wait_secs <= limit_secs,
            format!(
                "longest wait {}s (thread {} waiting for thread {} on {}.{})",
                w.wait_secs,
                w.waiting_thread_id,
                w.blocking_thread_id,
                w.schema.as_deref().unwrap_or("?"),
                w.table.as_deref().unwrap_or("?")
            ),
        ),
        None => result(name, true, "no lock waits".into()),
    }
}

pub fn max_blocked(state: &LiveState, analysis: &WaitAnalysis, limit: u64) -> CheckResult {
    let name = format!("max-blocked {limit}");
    if let Some(e) = unreadable(state, &name, &[crate::model::SourceName::LockWaits]) {
        return e;
    }
    result(
        name,
        analysis.waiting_sessions <= limit,
        format!("{} session(s) waiting", analysis.waiting_sessions),
    )
}

pub fn max_trx_age(state: &LiveState, limit_secs: u64) -> CheckResult {
    let name = format!("max-trx-age {limit_secs}s");
    if let Some(e) = unreadable(state, &name, &[crate::model::SourceName::Transactions]) {
        return e;
    }
    let others = state
        .transactions
        .iter()
        .filter(|t| !state.lockdiag_thread_ids.contains(&t.thread_id));
    match others.max_by_key(|t| t.age_secs) {
        Some(t) => result(
            name,
            t.age_secs <= limit_secs,
            format!(
                "oldest transaction {}s (trx {}, thread {})",
                t.age_secs, t.trx_id, t.thread_id
            ),
        ),
        None => result(name, true, "no open transactions".into()),
    }
}

pub fn no_metadata_lock_waits(state: &LiveState, analysis: &WaitAnalysis) -> CheckResult {
    let name = "no-metadata-lock-waits".to_string();
    let by_state = super::waits::sessions_in_metadata_lock_wait(state);
    let edges = analysis
        .waits
        .iter()
        .filter(|w| w.kind == crate::model::WaitKind::Metadata)
        .count();
    let waiting = by_state.len().max(edges);
    let figure = if waiting == 0 {
        "no metadata-lock waits".to_string()
    } else {
        format!(
            "{waiting} session(s) waiting for a metadata lock (threads {:?})",
            by_state
        )
    };
    result(name, waiting == 0, figure)
}

/// `latest`: (timestamp epoch, timestamp text, analysis) of the latest deadlock, if any.
pub fn no_deadlock_since(
    state: &LiveState,
    latest: Option<(Option<i64>, String, &DeadlockAnalysis)>,
    since_secs: u64,
    now_epoch: i64,
) -> CheckResult {
    let name = format!("no-deadlock-since {since_secs}s");
    if let Some(e) = unreadable(state, &name, &[crate::model::SourceName::InnodbStatus]) {
        return e;
    }
    match latest {
        None => result(name, true, "no deadlock since the server started".into()),
        // No timestamp, or server time with the server's zone unknown (an old snapshot):
        // whether it is recent cannot be told, and guessing either way would mislead.
        Some((None, text, analysis)) => CheckResult {
            name,
            status: CheckStatus::Error,
            figure: format!(
                "latest deadlock at {text} ({}, fingerprint {}): its time cannot be placed (no zone known for it), so whether it is within the window is unknown",
                analysis.diagnosis.kind.as_str(),
                analysis.fingerprint
            ),
        },
        Some((Some(at), text, analysis)) => {
            let recent = at >= now_epoch - since_secs as i64;
            result(
                name,
                !recent,
                format!(
                    "latest deadlock at {text} ({}, fingerprint {})",
                    analysis.diagnosis.kind.as_str(),
                    analysis.fingerprint
                ),
            )
        }
    }
}

/// What `check --no-new-deadlock` compares between the baseline and now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeadlockMark {
    /// The latest deadlock: its identity ([`super::record::deadlock_key`]) and how to name it.
    pub latest: Option<(String, String)>,
    /// InnoDB's deadlock counter (`None`: not read, or a baseline written before 0.2).
    pub counter: Option<u64>,
    /// The server's uptime: a smaller one now than in the baseline is a restart,
    /// after which the counters cannot be compared.
    pub uptime_secs: Option<u64>,
}

impl DeadlockMark {
    /// The mark of a collection (live, or a snapshot's) and its latest deadlock.
    pub fn of(state: &LiveState, latest: Option<&super::DeadlockReport>) -> Self {
        let offset = state.server.utc_offset_secs;
        DeadlockMark {
            latest: latest.map(|r| {
                let named = format!(
                    "{} ({}, fingerprint {})",
                    r.deadlock.timestamp.as_deref().unwrap_or("(no timestamp)"),
                    r.analysis.diagnosis.kind.as_str(),
                    r.analysis.fingerprint
                );
                (super::record::deadlock_key(r, offset), named)
            }),
            counter: state.innodb_counters.as_ref().and_then(|c| c.deadlocks),
            uptime_secs: state.server.uptime_secs,
        }
    }
}

/// No deadlock since the baseline snapshot. InnoDB's counter decides when both
/// readings are of the same server run: it counts every deadlock, also two of one
/// shape in one second, and those the latest print has already replaced. Otherwise
/// the latest deadlock's identity (transactions and threads, not time and shape).
pub fn no_new_deadlock(
    state: &LiveState,
    now: &DeadlockMark,
    baseline: &DeadlockMark,
    baseline_name: &str,
) -> CheckResult {
    let name = format!("no-new-deadlock {baseline_name}");
    if let Some(e) = unreadable(state, &name, &[crate::model::SourceName::InnodbStatus]) {
        return e;
    }
    let describe = |m: &DeadlockMark| {
        m.latest
            .as_ref()
            .map_or("none".to_string(), |(_, named)| named.clone())
    };
    let same_run = matches!((now.uptime_secs, baseline.uptime_secs), (Some(n), Some(b)) if n >= b);
    if let (Some(counter), Some(before), true) = (now.counter, baseline.counter, same_run) {
        let new = counter.saturating_sub(before);
        return result(
            name,
            new == 0,
            format!(
                "InnoDB counted {new} deadlock(s) since the baseline ({before} → {counter}); latest {}",
                describe(now)
            ),
        );
    }
    let unchanged = match (&now.latest, &baseline.latest) {
        (None, _) => true,
        (Some((key, _)), Some((before, _))) => key == before,
        (Some(_), None) => false,
    };
    result(
        name,
        unchanged,
        format!(
            "latest deadlock {}; baseline {}",
            describe(now),
            describe(baseline)
        ),
    )
}

/// A duplicate-key scan as an assertion: any duplicate (or a scan cut short) fails.
pub fn no_duplicates(
    name: String,
    scan: Result<&super::duplicates::DupesReport, String>,
) -> CheckResult {
    let report = match scan {
        Ok(report) => report,
        Err(e) => {
            return CheckResult {
                name,
                status: CheckStatus::Error,
                figure: format!("cannot check: {e}"),
            }
        }
    };
    let figure = if report.duplicate_groups == 0 {
        format!("no duplicates in {} rows", report.rows_scanned)
    } else {
        let first = report
            .groups
            .first()
            .map(|g| format!(", e.g. {} ×{}", g.key.join(","), g.count))
            .unwrap_or_default();
        format!(
            "{} duplicate key(s), {} rows{first}",
            report.duplicate_groups, report.duplicated_rows
        )
    };
    result(
        name,
        report.duplicate_groups == 0 && !report.interrupted,
        figure,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LockWait, SourceState, SourceStatus, Transaction, WaitKind};

    #[test]
    fn figures_and_errors() {
        let wait = LockWait {
            waiting_thread_id: 7,
            blocking_thread_id: 5,
            kind: WaitKind::Row,
            waiting_trx_id: None,
            blocking_trx_id: None,
            schema: Some("shop".into()),
            table: Some("payments".into()),
            index: None,
            lock_mode: "X".into(),
            blocking_lock_mode: None,
            blocking_lock_status: None,
            lock_data: None,
            wait_secs: 42,
        };
        let analysis = WaitAnalysis {
            waits: vec![wait],
            waiting_sessions: 1,
            ..WaitAnalysis::default()
        };
        let mut state = LiveState {
            transactions: vec![Transaction {
                trx_id: "9".into(),
                thread_id: 5,
                age_secs: 100,
                ..Transaction::default()
            }],
            ..LiveState::default()
        };
        assert_eq!(
            max_lock_wait(&state, &analysis, 30).status,
            CheckStatus::Fail
        );
        assert!(max_lock_wait(&state, &analysis, 30).figure.contains("42s"));
        assert_eq!(
            max_lock_wait(&state, &analysis, 60).status,
            CheckStatus::Pass
        );
        assert_eq!(max_blocked(&state, &analysis, 0).status, CheckStatus::Fail);
        assert_eq!(max_trx_age(&state, 120).status, CheckStatus::Pass);
        state.sources.push(SourceStatus {
            source: crate::model::SourceName::Transactions,
            from: None,
            status: SourceState::Unavailable,
            reason: Some("no PROCESS".into()),
        });
        assert_eq!(max_trx_age(&state, 120).status, CheckStatus::Error);
        let mark = |key: &str, counter: Option<u64>, uptime: Option<u64>| DeadlockMark {
            latest: Some((key.into(), format!("deadlock {key}"))),
            counter,
            uptime_secs: uptime,
        };
        let check = |now: &DeadlockMark, base: &DeadlockMark| {
            no_new_deadlock(&state, now, base, "b").status
        };
        // Identity alone (a baseline without the counter).
        let pass = CheckStatus::Pass;
        let fail = CheckStatus::Fail;
        assert_eq!(check(&mark("a", None, None), &mark("a", None, None)), pass);
        assert_eq!(check(&mark("b", None, None), &mark("a", None, None)), fail);
        // The counter moved while the latest print looks the same (same shape, same
        // second, or an older print still latest): new.
        assert_eq!(
            check(
                &mark("a", Some(8), Some(100)),
                &mark("a", Some(7), Some(90))
            ),
            fail
        );
        assert_eq!(
            check(
                &mark("a", Some(7), Some(100)),
                &mark("a", Some(7), Some(90))
            ),
            pass
        );
        // A restart in between (uptime went back): counters are not comparable; identity decides.
        assert_eq!(
            check(&mark("a", Some(1), Some(5)), &mark("a", Some(7), Some(90))),
            pass
        );
        assert_eq!(
            check(&mark("b", Some(1), Some(5)), &mark("a", Some(7), Some(90))),
            fail
        );
    }

    /// A deadlock whose time cannot be placed is neither recent nor old: `error`.
    #[test]
    fn undatable_latest_deadlock_is_an_error_not_a_guess() {
        let state = LiveState::default();
        let analysis = crate::analyze::analyze_deadlock(&crate::model::Deadlock::default());
        let now = 1_800_000_000;
        let check = |epoch| {
            no_deadlock_since(
                &state,
                Some((epoch, "2026-11-23 12:43:22".to_string(), &analysis)),
                3600,
                now,
            )
            .status
        };
        assert_eq!(check(None), CheckStatus::Error);
        assert_eq!(check(Some(now - 60)), CheckStatus::Fail);
        assert_eq!(check(Some(now - 7200)), CheckStatus::Pass);
        assert_eq!(
            no_deadlock_since(&state, None, 3600, now).status,
            CheckStatus::Pass
        );
    }
}
