//! The lock picture of one collection as the figures monitoring keeps over time (the
//! Prometheus exposition of `serve` and `snapshot --format prometheus`). A figure whose
//! source could not be read is `None`: exported as no series at all, never as 0.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{LiveState, SourceName, SourceState, WaitKind};

use super::views::SnapshotView;
use super::waits::{BlockerNode, SessionState, WaitAnalysis};

/// A root blocker's state as the `state` label says it (closed set: low cardinality).
pub fn root_state_label(state: SessionState) -> &'static str {
    match state {
        SessionState::Running => "running",
        SessionState::IdleInTrx => "idle_in_transaction",
        SessionState::Idle => "idle",
        SessionState::NoSession => "no_session",
        SessionState::Waiting | SessionState::Unknown => "unknown",
    }
}

/// Every value of the `state` label, so that a state with no root exports 0 (known).
pub const ROOT_STATES: [&str; 5] = [
    "running",
    "idle_in_transaction",
    "idle",
    "no_session",
    "unknown",
];

/// Row-lock and metadata-lock figures side by side (the `lock` label); `None`
/// (`null`) when that kind of lock could not be read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct ByLock {
    /// InnoDB row locks.
    pub row: Option<u64>,
    /// Metadata locks (table, schema, global).
    pub metadata: Option<u64>,
}

/// The figures of one collection.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LockFigures {
    /// Each source tried, and whether it was read whole (`false`: not read, or only in part).
    pub sources: Vec<(&'static str, bool)>,
    pub sessions: Option<u64>,
    pub open_transactions: Option<u64>,
    /// Sessions waiting, per kind of lock.
    pub waiting_sessions: ByLock,
    /// Root blockers per state label; `None` when the waits could not be read.
    pub root_blockers: Option<BTreeMap<&'static str, u64>>,
    /// The most sessions held up (directly or not) by one root blocker.
    pub max_sessions_behind_one_root: Option<u64>,
    /// Longest current wait, per kind of lock (0 when nobody waits).
    pub longest_wait_secs: ByLock,
    pub oldest_transaction_secs: Option<u64>,
    /// InnoDB's own deadlock counter (`lock_deadlocks`) since the server started.
    pub deadlocks_total: Option<u64>,
    /// When the latest deadlock was detected (Unix time); `None` when none, or not datable.
    pub latest_deadlock_epoch: Option<i64>,
}

/// Sessions waiting for a lock of `kind` (each once) and the longest such wait (0: none).
pub fn waits_of_kind(analysis: &WaitAnalysis, kind: WaitKind) -> (u64, u64) {
    let waits = analysis.waits.iter().filter(|w| w.kind == kind);
    let sessions: BTreeSet<u64> = waits.clone().map(|w| w.waiting_thread_id).collect();
    let longest = waits.map(|w| w.wait_secs).max().unwrap_or(0);
    (sessions.len() as u64, longest)
}

/// Age of the oldest open transaction (0: none), lockdiag's own read-only transaction
/// (its consistent read) left out.
pub fn oldest_transaction_secs(state: &LiveState) -> u64 {
    state
        .transactions
        .iter()
        .filter(|t| !state.lockdiag_thread_ids.contains(&t.thread_id))
        .map(|t| t.age_secs)
        .max()
        .unwrap_or(0)
}

/// Sessions the processlist shows waiting for a metadata lock (lockdiag's own left out),
/// and the longest such statement's time so far — its wait, near enough: a statement
/// takes its metadata locks when it opens its tables, before any other work.
fn metadata_waits_in_processlist(state: &LiveState) -> (u64, u64) {
    let waiting: BTreeSet<u64> = super::waits::sessions_in_metadata_lock_wait(state)
        .into_iter()
        .filter(|id| !state.lockdiag_thread_ids.contains(id))
        .collect();
    let longest = state
        .sessions
        .iter()
        .filter(|s| waiting.contains(&s.thread_id))
        .map(|s| s.time_secs)
        .max()
        .unwrap_or(0);
    (waiting.len() as u64, longest)
}

/// The figures of a collection.
pub fn lock_figures(view: &SnapshotView) -> LockFigures {
    let state = &view.state;
    // Read whole: a source read only in part (InnoDB's cache cut at 16 MB in a pile-up, an
    // account without PROCESS) gives lower bounds, which a gauge would show as the truth.
    let read = |s: SourceName| {
        state
            .sources
            .iter()
            .all(|x| x.source != s || x.status == SourceState::Ok)
    };
    let mut figures = LockFigures {
        sources: state
            .sources
            .iter()
            .map(|s| (s.source.as_str(), s.status == SourceState::Ok))
            .collect(),
        sessions: read(SourceName::Processlist).then_some(state.sessions.len() as u64),
        open_transactions: read(SourceName::Transactions)
            .then(|| super::waits::open_transaction_count(state)),
        oldest_transaction_secs: read(SourceName::Transactions)
            .then(|| oldest_transaction_secs(state)),
        deadlocks_total: state.innodb_counters.as_ref().and_then(|c| c.deadlocks),
        latest_deadlock_epoch: view
            .latest_deadlock
            .as_ref()
            .and_then(|d| d.deadlock.timestamp.as_deref())
            .and_then(|ts| super::time::timestamp_epoch(ts, state.server.utc_offset_secs)),
        ..LockFigures::default()
    };
    // Who waits for a metadata lock is the server's own word in a processlist read whole,
    // even when whom it waits for is not known (performance_schema off: MariaDB's default).
    let mdl_in_processlist =
        read(SourceName::Processlist).then(|| metadata_waits_in_processlist(state));
    let waits_whole = crate::model::WAIT_SOURCES.iter().all(|s| read(*s));
    let Some(analysis) = view.analysis.as_ref().filter(|_| waits_whole) else {
        // Who waits for whom is not known whole, but how many wait is: InnoDB's own count
        // of row-lock waits in progress (uncached), and the waiters' processlist states.
        figures.waiting_sessions = ByLock {
            row: state
                .innodb_counters
                .as_ref()
                .and_then(|c| c.row_lock_waits),
            metadata: mdl_in_processlist.map(|(waiting, _)| waiting),
        };
        figures.longest_wait_secs.metadata = mdl_in_processlist.map(|(_, longest)| longest);
        return figures;
    };
    let metadata_read = read(SourceName::MetadataLocks);
    let (row_waiting, row_longest) = waits_of_kind(analysis, WaitKind::Row);
    let (mdl_waiting, mdl_longest) = if metadata_read {
        let (waiting, longest) = waits_of_kind(analysis, WaitKind::Metadata);
        (Some(waiting), Some(longest))
    } else {
        mdl_in_processlist.unzip()
    };
    figures.waiting_sessions = ByLock {
        row: Some(row_waiting),
        metadata: mdl_waiting,
    };
    figures.longest_wait_secs = ByLock {
        row: Some(row_longest),
        metadata: mdl_longest,
    };
    // Root blockers are known whole only when no metadata-lock wait can be missing from the
    // graph: the metadata locks were read, or the processlist shows nobody waiting for one.
    // Otherwise an idle session holding a table an ALTER waits for would be counted as 0.
    let metadata_complete = metadata_read
        || (read(SourceName::Processlist)
            && super::waits::sessions_in_metadata_lock_wait(state).is_empty());
    if !metadata_complete {
        return figures;
    }
    let mut by_state: BTreeMap<&'static str, u64> = ROOT_STATES.iter().map(|s| (*s, 0)).collect();
    for root in &analysis.root_blockers {
        *by_state.entry(root_state_label(root.state)).or_default() += 1;
    }
    figures.root_blockers = Some(by_state);
    figures.max_sessions_behind_one_root = Some(
        analysis
            .root_blockers
            .iter()
            .map(|r: &BlockerNode| r.blocked_sessions)
            .max()
            .unwrap_or(0),
    );
    figures
}
