//! JSON documents. Every document carries `schema_version`; the fields are
//! documented in docs/json.md and only ever added to within a version.

use serde::Serialize;

use super::{DeadlockGroup, DeadlockReport};

/// Bumped when a field changes meaning or disappears (adding one does not).
pub const SCHEMA_VERSION: u32 = 1;

/// Output of `lockdiag deadlock --format json`.
#[derive(Debug, Serialize)]
pub struct DeadlockDocument<'a> {
    pub schema_version: u32,
    pub lockdiag_version: &'static str,
    /// `server`, `file:PATH`, `error_log:PATH`, `snapshot:PATH`.
    pub source: String,
    /// Deadlocks found in the input (all of it, or the ones `--since`/`--last` kept).
    pub deadlocks_total: u64,
    /// Deadlocks found but not listed in `deadlocks` (older than the `--last` window).
    pub deadlocks_omitted: u64,
    pub deadlocks: &'a [DeadlockReport],
    /// Present for logs and snapshot directories: deadlocks grouped by fingerprint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<&'a [DeadlockGroup]>,
}

impl<'a> DeadlockDocument<'a> {
    pub fn new(
        source: String,
        deadlocks: &'a [DeadlockReport],
        total: u64,
        groups: Option<&'a [DeadlockGroup]>,
    ) -> Self {
        DeadlockDocument {
            schema_version: SCHEMA_VERSION,
            lockdiag_version: env!("CARGO_PKG_VERSION"),
            source,
            deadlocks_total: total,
            deadlocks_omitted: total.saturating_sub(deadlocks.len() as u64),
            deadlocks,
            groups,
        }
    }
}

/// Pretty JSON with a trailing newline.
pub fn to_json<T: Serialize>(value: &T) -> String {
    let mut text =
        serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

/// The server line and source statuses every live document starts with.
#[derive(Debug, Serialize)]
pub struct LiveHeader<'a> {
    pub schema_version: u32,
    pub lockdiag_version: &'static str,
    pub server: &'a crate::model::ServerInfo,
    pub sources: &'a [crate::model::SourceStatus],
}

impl<'a> LiveHeader<'a> {
    pub fn new(state: &'a crate::model::LiveState) -> Self {
        LiveHeader {
            schema_version: SCHEMA_VERSION,
            lockdiag_version: env!("CARGO_PKG_VERSION"),
            server: &state.server,
            sources: &state.sources,
        }
    }
}

/// A processlist row with what lockdiag knows about it.
#[derive(Debug, Serialize)]
pub struct SessionView<'a> {
    #[serde(flatten)]
    pub session: &'a crate::model::Session,
    pub state_class: crate::analyze::waits::SessionState,
    pub trx_id: Option<&'a str>,
    pub trx_age_secs: Option<u64>,
}

/// `lockdiag ps --format json`.
#[derive(Debug, Serialize)]
pub struct PsDocument<'a> {
    #[serde(flatten)]
    pub header: LiveHeader<'a>,
    pub sessions: Vec<SessionView<'a>>,
}

/// `lockdiag locks --format json`.
#[derive(Debug, Serialize)]
pub struct LocksDocument<'a> {
    #[serde(flatten)]
    pub header: LiveHeader<'a>,
    pub locks: Vec<&'a crate::model::LockSummary>,
    /// Locks the server had beyond the fetched groups.
    pub locks_omitted: u64,
    pub transactions: &'a [crate::model::Transaction],
}

/// `lockdiag waits --format json`.
#[derive(Debug, Serialize)]
pub struct WaitsDocument<'a> {
    #[serde(flatten)]
    pub header: LiveHeader<'a>,
    #[serde(flatten)]
    pub analysis: &'a crate::analyze::WaitAnalysis,
}

/// Counts on the status screen.
#[derive(Debug, Serialize)]
pub struct StatusCounts {
    pub sessions: u64,
    pub open_transactions: u64,
    pub waiting_sessions: u64,
    pub root_blockers: u64,
}

/// The headline of the latest deadlock on the status screen.
#[derive(Debug, Serialize)]
pub struct LatestDeadlock {
    pub timestamp: Option<String>,
    pub fingerprint: String,
    pub diagnosis: crate::analyze::deadlock::DiagnosisKind,
    pub summary: String,
}

/// `lockdiag status --format json`.
#[derive(Debug, Serialize)]
pub struct StatusDocument<'a> {
    #[serde(flatten)]
    pub header: LiveHeader<'a>,
    pub counts: StatusCounts,
    #[serde(flatten)]
    pub analysis: &'a crate::analyze::WaitAnalysis,
    pub metadata_lock_waits: Vec<&'a crate::model::LockWait>,
    /// Sessions in a "Waiting for … metadata lock" state (seen even without performance_schema).
    pub sessions_waiting_for_metadata_lock: Vec<u64>,
    pub long_transactions: Vec<&'a crate::model::Transaction>,
    pub long_trx_threshold_secs: u64,
    pub latest_deadlock: Option<LatestDeadlock>,
}
