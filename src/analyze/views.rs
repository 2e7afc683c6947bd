//! Views: the one typed value each command prints, built from the model and
//! the analysis. Every format in `render/` takes these and nothing else; the
//! JSON documents are these values under the versioned header (`docs/json.md`).

use std::time::Duration;

use regex::Regex;
use schemars::JsonSchema;
use serde::Serialize;

use crate::model::{
    LiveState, LockSummary, LockWait, ServerInfo, Session, SessionCommand, SourceName,
    SourceStatus, TableRef, Transaction, WaitKind,
};

use super::checks::{CheckResult, CheckStatus};
use super::report::{DeadlockGroup, DeadlockReport};
use super::timeouts::{TimeoutGroup, TimeoutHistory, TimeoutReport};
use super::waits::{
    all_waits, has_open_transaction, open_transaction_count, session_state,
    sessions_in_metadata_lock_wait, SessionState, WaitAnalysis,
};

/// Transactions older than this are listed on the status screen unless `--long-trx` says otherwise.
pub const DEFAULT_LONG_TRX: Duration = Duration::from_secs(60);

/// The server line and source statuses every live view starts with.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LiveHeader {
    pub server: ServerInfo,
    pub sources: Vec<SourceStatus>,
}

impl LiveHeader {
    pub fn of(state: &LiveState) -> Self {
        LiveHeader {
            server: state.server.clone(),
            sources: state.sources.clone(),
        }
    }
}

/// A processlist row with what lockdiag knows about it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SessionView {
    #[serde(flatten)]
    pub session: Session,
    pub state_class: SessionState,
    pub trx_id: Option<String>,
    pub trx_age_secs: Option<u64>,
}

/// Which sessions `ps` lists (all filters must hold).
#[derive(Debug, Clone, Default)]
pub struct PsFilter {
    pub min_time: Option<Duration>,
    pub user: Option<String>,
    pub db: Option<String>,
    pub command: Option<SessionCommand>,
    pub statement: Option<Regex>,
    /// Hide idle sessions with no open transaction (idle-in-transaction stays).
    pub no_idle: bool,
}

/// `lockdiag ps`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PsView {
    #[serde(flatten)]
    pub header: LiveHeader,
    /// `None` when the processlist could not be read (unknown, not "no sessions").
    pub sessions: Option<Vec<SessionView>>,
}

/// The processlist without lockdiag's own sessions, filtered, longest first.
pub fn ps_view(state: &LiveState, filter: &PsFilter) -> PsView {
    let waiting: std::collections::BTreeSet<u64> = all_waits(state)
        .iter()
        .map(|w| w.waiting_thread_id)
        .collect();
    let mut sessions: Vec<SessionView> = state
        .sessions
        .iter()
        .filter(|s| !state.lockdiag_thread_ids.contains(&s.thread_id))
        .filter(|s| filter.min_time.is_none_or(|m| s.time_secs >= m.as_secs()))
        .filter(|s| filter.user.as_ref().is_none_or(|u| &s.user == u))
        .filter(|s| filter.db.as_ref().is_none_or(|d| s.db.as_ref() == Some(d)))
        .filter(|s| filter.command.as_ref().is_none_or(|c| &s.command == c))
        .filter(|s| {
            filter
                .statement
                .as_ref()
                .is_none_or(|p| s.info.as_deref().is_some_and(|q| p.is_match(q)))
        })
        .map(|s| {
            let trx = state
                .transactions
                .iter()
                .find(|t| t.thread_id == s.thread_id);
            SessionView {
                session: s.clone(),
                state_class: session_state(
                    Some(s),
                    has_open_transaction(state, s.thread_id),
                    waiting.contains(&s.thread_id),
                ),
                trx_id: trx.map(|t| t.trx_id.clone()),
                trx_age_secs: trx.map(|t| t.age_secs),
            }
        })
        .filter(|v| !(filter.no_idle && v.state_class == SessionState::Idle))
        .collect();
    sessions.sort_by(|a, b| {
        b.session
            .time_secs
            .cmp(&a.session.time_secs)
            .then(a.session.thread_id.cmp(&b.session.thread_id))
    });
    PsView {
        header: LiveHeader::of(state),
        sessions: state
            .was_read(crate::model::SourceName::Processlist)
            .then_some(sessions),
    }
}

/// `lockdiag locks`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LocksView {
    #[serde(flatten)]
    pub header: LiveHeader,
    /// `None` when the locks could not be read (unknown, not "no locks").
    pub locks: Option<Vec<LockSummary>>,
    /// Locks the server had beyond the fetched groups.
    pub locks_omitted: u64,
    /// `None` when the transactions could not be read.
    pub transactions: Option<Vec<Transaction>>,
}

/// Lock groups, on one table when `table` is given.
pub fn locks_view(state: &LiveState, table: Option<&TableRef>) -> LocksView {
    LocksView {
        header: LiveHeader::of(state),
        locks: state.was_read(SourceName::Locks).then(|| {
            state
                .locks
                .iter()
                .filter(|l| {
                    table.is_none_or(|t| t.matches(l.schema.as_deref(), l.table.as_deref()))
                })
                .cloned()
                .collect()
        }),
        locks_omitted: state.locks_omitted,
        transactions: state
            .was_read(SourceName::Transactions)
            .then(|| state.transactions.clone()),
    }
}

/// The tables that have locks in a collection, `schema.table`, sorted (to name
/// them when a `--table` filter matched none).
pub fn known_tables(state: &LiveState) -> Vec<String> {
    let mut names: Vec<String> = state
        .locks
        .iter()
        .filter_map(|l| l.table.as_deref().map(|t| (l.schema.as_deref(), t)))
        .map(|(s, t)| crate::model::qualified_name(s, Some(t)))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// `lockdiag waits`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct WaitsView {
    #[serde(flatten)]
    pub header: LiveHeader,
    /// Absent when the lock waits could not be read: unknown, not "none".
    #[serde(flatten)]
    pub analysis: Option<WaitAnalysis>,
    /// `--all`: the table lists every waiter and root (JSON always has them all).
    #[serde(skip)]
    pub all: bool,
}

pub fn waits_view(state: &LiveState, analysis: WaitAnalysis) -> WaitsView {
    WaitsView {
        header: LiveHeader::of(state),
        analysis: lock_waits_read(state).then_some(analysis),
        all: false,
    }
}

/// Counts on the status screen.
#[derive(Debug, Clone, Serialize, JsonSchema)]
/// `null` when the source behind a figure could not be read: unknown, never 0.
pub struct StatusCounts {
    pub sessions: Option<u64>,
    pub open_transactions: Option<u64>,
    pub waiting_sessions: Option<u64>,
    pub root_blockers: Option<u64>,
}

/// The headline of the latest deadlock on the status screen.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LatestDeadlock {
    pub timestamp: Option<String>,
    pub fingerprint: String,
    pub diagnosis: super::deadlock::DiagnosisKind,
    pub summary: String,
}

/// `lockdiag status`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StatusView {
    #[serde(flatten)]
    pub header: LiveHeader,
    pub counts: StatusCounts,
    /// Absent when the lock waits could not be read: unknown, not "none".
    #[serde(flatten)]
    pub analysis: Option<WaitAnalysis>,
    /// `None` when the metadata locks could not be read (unknown, not "none").
    pub metadata_lock_waits: Option<Vec<LockWait>>,
    /// Sessions in a "Waiting for … metadata lock" state (seen even without performance_schema);
    /// `None` when the processlist could not be read.
    pub sessions_waiting_for_metadata_lock: Option<Vec<u64>>,
    /// `None` when the transactions could not be read.
    pub long_transactions: Option<Vec<LongTransaction>>,
    pub long_trx_threshold_secs: u64,
    pub latest_deadlock: Option<LatestDeadlock>,
    /// `--all`: the table lists every waiter and root (JSON always has them all).
    #[serde(skip)]
    pub all: bool,
}

/// A transaction open longer than `--long-trx`, with what its session is doing by the
/// same rules as the waits tree (so a session the tree calls idle in transaction is
/// not called running here because InnoDB says `RUNNING` of every non-waiting trx).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LongTransaction {
    #[serde(flatten)]
    pub transaction: Transaction,
    /// As a node's `state`: `idle_in_trx`, `running`, `waiting`, `no_session`, `unknown`.
    pub state_class: SessionState,
    /// The session's account; `null` when the session is not visible.
    pub user: Option<String>,
    pub host: Option<String>,
}

/// Whether the row-lock waits were read: without them, "nobody waits" cannot be said.
pub fn lock_waits_read(state: &LiveState) -> bool {
    crate::model::WAIT_SOURCES
        .iter()
        .all(|s| state.was_read(*s))
}

pub fn status_view(
    state: &LiveState,
    analysis: WaitAnalysis,
    latest: Option<&DeadlockReport>,
    long_trx: Duration,
) -> StatusView {
    let latest_deadlock = latest.map(|r| LatestDeadlock {
        timestamp: r.deadlock.timestamp.clone(),
        fingerprint: r.analysis.fingerprint.clone(),
        diagnosis: r.analysis.diagnosis.kind,
        summary: r.analysis.summary.clone(),
    });
    let threshold = long_trx.as_secs();
    let waiting: std::collections::BTreeSet<u64> =
        analysis.waits.iter().map(|w| w.waiting_thread_id).collect();
    let mut long_transactions: Vec<LongTransaction> = state
        .transactions
        .iter()
        .filter(|t| t.age_secs >= threshold && !state.lockdiag_thread_ids.contains(&t.thread_id))
        .map(|t| {
            let session = state.sessions.iter().find(|s| s.thread_id == t.thread_id);
            let state_class = if t.thread_id == 0 {
                SessionState::NoSession
            } else {
                session_state(session, true, waiting.contains(&t.thread_id))
            };
            LongTransaction {
                transaction: t.clone(),
                state_class,
                user: session.map(|s| s.user.clone()),
                host: session.map(|s| s.host.clone()),
            }
        })
        .collect();
    long_transactions.sort_by_key(|t| std::cmp::Reverse(t.transaction.age_secs));
    StatusView {
        header: LiveHeader::of(state),
        counts: StatusCounts {
            sessions: state
                .was_read(crate::model::SourceName::Processlist)
                .then(|| {
                    state
                        .sessions
                        .iter()
                        .filter(|s| !state.lockdiag_thread_ids.contains(&s.thread_id))
                        .count() as u64
                }),
            open_transactions: state
                .was_read(crate::model::SourceName::Transactions)
                .then(|| open_transaction_count(state)),
            waiting_sessions: lock_waits_read(state).then_some(analysis.waiting_sessions),
            root_blockers: lock_waits_read(state).then_some(analysis.root_blockers.len() as u64),
        },
        metadata_lock_waits: state.was_read(SourceName::MetadataLocks).then(|| {
            analysis
                .waits
                .iter()
                .filter(|w| w.kind == WaitKind::Metadata)
                .cloned()
                .collect()
        }),
        analysis: lock_waits_read(state).then_some(analysis),
        sessions_waiting_for_metadata_lock: state
            .was_read(SourceName::Processlist)
            .then(|| sessions_in_metadata_lock_wait(state)),
        long_transactions: state
            .was_read(SourceName::Transactions)
            .then_some(long_transactions),
        long_trx_threshold_secs: threshold,
        latest_deadlock,
        all: false,
    }
}

/// Where deadlocks were read from; decides what "none found" means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadlockOrigin {
    /// The InnoDB status of a server or a status text: only the latest deadlock is kept.
    Status,
    /// An error log written with innodb_print_all_deadlocks.
    ErrorLog,
    /// MySQL's in-memory error log, `performance_schema.error_log` (`deadlock --history`).
    ErrorLogTable,
    /// One saved snapshot.
    Snapshot,
    /// A directory of snapshots.
    Snapshots,
}

/// `lockdiag deadlock`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DeadlocksView {
    /// `server`, `file:PATH`, `error_log:PATH`, `performance_schema.error_log`, `snapshot:PATH`, `snapshots:DIR`.
    pub source: String,
    /// The live server's sources (`deadlock` on a server): with the status text
    /// unreadable, why the deadlock fields below are `null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sources: Option<Vec<SourceStatus>>,
    /// Deadlocks found in the input (all of it, or the ones `--since`/`--last` kept);
    /// `None` when the input could not be read (unknown, not "none").
    pub deadlocks_total: Option<u64>,
    /// Deadlocks found but not listed in `deadlocks` (older than the `--last` window).
    pub deadlocks_omitted: Option<u64>,
    pub deadlocks: Option<Vec<DeadlockReport>>,
    /// With `--since` only: deadlocks kept although their time could not be judged
    /// (printed in server time, the server's zone unknown: give `--server-tz`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadlocks_undated: Option<u64>,
    /// Present for logs and snapshot directories: deadlocks grouped by fingerprint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<DeadlockGroup>>,
    /// Present for error-log files: the lock wait timeouts Percona Server logged.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<TimeoutsSection>,
    #[serde(skip)]
    pub origin: DeadlockOrigin,
    /// Set when a deadlock was found but part of it could not be read (said on stderr, exit 1).
    #[serde(skip)]
    pub unread: Option<String>,
}

impl DeadlocksView {
    pub fn new(
        origin: DeadlockOrigin,
        source: String,
        deadlocks: Vec<DeadlockReport>,
        total: u64,
        groups: Option<Vec<DeadlockGroup>>,
    ) -> Self {
        DeadlocksView {
            source,
            sources: None,
            deadlocks_total: Some(total),
            deadlocks_omitted: Some(total.saturating_sub(deadlocks.len() as u64)),
            deadlocks: Some(deadlocks),
            deadlocks_undated: None,
            groups,
            timeouts: None,
            origin,
            unread: None,
        }
    }

    /// A server whose status text could not be read: what was tried, nothing claimed.
    pub fn unknown(source: String, sources: Vec<SourceStatus>) -> Self {
        DeadlocksView {
            sources: Some(sources),
            deadlocks_total: None,
            deadlocks_omitted: None,
            deadlocks: None,
            ..DeadlocksView::new(DeadlockOrigin::Status, source, Vec::new(), 0, None)
        }
    }

    /// The deadlocks listed (none when unknown).
    pub fn listed(&self) -> &[DeadlockReport] {
        self.deadlocks.as_deref().unwrap_or_default()
    }
}

/// The lock wait timeouts of an error log (`innodb_print_lock_wait_timeout_info=ON`,
/// Percona Server), after `--since`; the newest `--last` listed.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TimeoutsSection {
    pub lock_wait_timeouts_total: u64,
    /// Found but not listed (older than the `--last` window).
    pub lock_wait_timeouts_omitted: u64,
    /// Oldest first.
    pub lock_wait_timeouts: Vec<TimeoutReport>,
    /// By the statement that timed out, most frequent first.
    pub lock_wait_timeout_groups: Vec<TimeoutGroup>,
    /// With `--since` only: timeouts kept although their time could not be judged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock_wait_timeouts_undated: Option<u64>,
}

impl TimeoutsSection {
    pub fn new(history: TimeoutHistory) -> Self {
        let groups = history.groups();
        let undated = history.since_undated();
        let listed: Vec<TimeoutReport> = history.newest.into_iter().collect();
        TimeoutsSection {
            lock_wait_timeouts_total: history.total,
            lock_wait_timeouts_omitted: history.total.saturating_sub(listed.len() as u64),
            lock_wait_timeouts: listed,
            lock_wait_timeout_groups: groups,
            lock_wait_timeouts_undated: undated,
        }
    }
}

/// The overall outcome of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckOutcome {
    Pass,
    Fail,
    /// At least one assertion could not be checked.
    Error,
}

/// `lockdiag check`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CheckView {
    pub result: CheckOutcome,
    pub checks: Vec<CheckResult>,
    /// Wall time of the whole check (JUnit reports it).
    #[serde(skip)]
    pub elapsed_secs: f64,
}

impl CheckView {
    /// Error beats fail beats pass.
    pub fn new(checks: Vec<CheckResult>, elapsed_secs: f64) -> Self {
        let result = if checks.iter().any(|r| r.status == CheckStatus::Error) {
            CheckOutcome::Error
        } else if checks.iter().any(|r| r.status == CheckStatus::Fail) {
            CheckOutcome::Fail
        } else {
            CheckOutcome::Pass
        };
        CheckView {
            result,
            checks,
            elapsed_secs,
        }
    }
}

/// The body of a `snapshot` document as written: the collection plus the
/// analysis at collection time, for readers without lockdiag.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SnapshotView {
    /// RFC 3339 UTC times the collection started and ended.
    pub collected_at_start: String,
    pub collected_at_end: String,
    /// Where lockdiag connected (`host:port` or the socket path); never credentials.
    pub target: String,
    #[serde(flatten)]
    pub state: LiveState,
    /// The waits analysis at collection time (root blockers, waits, cycles);
    /// `None` when the lock waits could not be read (unknown, not "none").
    pub analysis: Option<WaitAnalysis>,
    /// The latest deadlock of the InnoDB status, parsed and analysed.
    pub latest_deadlock: Option<DeadlockReport>,
    /// Why `record` took it (`lock-wait 3s >= 2s`, `cleared`); absent for `snapshot`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
}
