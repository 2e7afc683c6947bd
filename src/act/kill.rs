//! Sending the kill: `KILL CONNECTION` (default) or `KILL QUERY`, or the
//! managed-service procedure where plain KILL of another account is denied.

use std::time::Duration;

use mysql_async::{Params, Pool};
use serde::Serialize;

use crate::analyze::kill::KillTarget;
use crate::source::query::{fetch, QueryError};

/// What happened to one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KillOutcome {
    /// Chosen, not acted on yet (only in the plan).
    Pending,
    /// Never killed by lockdiag (its own connection, replication, a daemon).
    Refused,
    /// The operator said no, or there was no terminal to ask and no `--yes`.
    Declined,
    /// `--dry-run`: the statement was printed and audited, not sent.
    DryRun,
    /// The re-check right before the KILL found it changed.
    Skipped,
    Killed,
    /// The server refused the KILL.
    Failed,
}

impl KillOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            KillOutcome::Pending => "pending",
            KillOutcome::Refused => "refused",
            KillOutcome::Declined => "declined",
            KillOutcome::DryRun => "dry_run",
            KillOutcome::Skipped => "skipped",
            KillOutcome::Killed => "killed",
            KillOutcome::Failed => "failed",
        }
    }
}

/// A target with the statement that kills it and what became of it.
#[derive(Debug, Clone, Serialize)]
pub struct KillResult {
    #[serde(flatten)]
    pub target: KillTarget,
    pub statement: String,
    pub outcome: KillOutcome,
    pub detail: Option<String>,
}

/// What `kill` is about to do, shown before the confirmation.
#[derive(Debug, Clone, Serialize)]
pub struct KillPlan {
    pub targets: Vec<KillResult>,
    /// Ids asked for that are not in the processlist.
    pub missing_thread_ids: Vec<u64>,
    /// `--query`: KILL QUERY instead of KILL CONNECTION.
    pub kill_query: bool,
}

/// What `kill` did (`docs/json.md`, "kill").
#[derive(Debug, Clone, Serialize)]
pub struct KillReport {
    pub dry_run: bool,
    pub audit_log: Option<String>,
    pub targets: Vec<KillResult>,
    /// Why nothing or not everything was done (no terminal, …), for people.
    #[serde(skip)]
    pub notes: Vec<String>,
}

/// What the server offers to kill with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillMethod {
    Statement,
    /// `CALL mysql.rds_kill(id)` / `rds_kill_query(id)`.
    Rds,
    /// `CALL mysql.az_kill(id)` / `az_kill_query(id)`.
    Azure,
}

/// Looks for the managed-service kill procedures.
pub async fn detect_method(pool: &Pool, timeout: Duration) -> KillMethod {
    let names: Vec<String> = fetch(
        pool,
        include_str!("../../queries/kill_procedures.sql"),
        Params::Empty,
        None,
        timeout,
    )
    .await
    .map(|(rows, _)| rows.iter().filter_map(|r| r.text("routine_name")).collect())
    .unwrap_or_default();
    if names.iter().any(|n| n == "rds_kill") {
        KillMethod::Rds
    } else if names.iter().any(|n| n == "az_kill") {
        KillMethod::Azure
    } else {
        KillMethod::Statement
    }
}

/// The exact statement for a target. Thread ids are numbers: nothing else is pasted in.
pub fn kill_statement(method: KillMethod, thread_id: u64, query_only: bool) -> String {
    match (method, query_only) {
        (KillMethod::Statement, false) => format!("KILL CONNECTION {thread_id}"),
        (KillMethod::Statement, true) => format!("KILL QUERY {thread_id}"),
        (KillMethod::Rds, false) => format!("CALL mysql.rds_kill({thread_id})"),
        (KillMethod::Rds, true) => format!("CALL mysql.rds_kill_query({thread_id})"),
        (KillMethod::Azure, false) => format!("CALL mysql.az_kill({thread_id})"),
        (KillMethod::Azure, true) => format!("CALL mysql.az_kill_query({thread_id})"),
    }
}

/// Sends the statement. `Ok` when the server accepted it.
pub async fn send_kill(pool: &Pool, statement: &str, timeout: Duration) -> Result<(), QueryError> {
    fetch(pool, statement, Params::Empty, None, timeout)
        .await
        .map(|_| ())
}
