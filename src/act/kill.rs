//! Sending the kill: `KILL CONNECTION` (default) or `KILL QUERY`, or the
//! managed-service procedure where plain KILL of another account is denied.

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::{Params, Pool};
use serde::Serialize;

use crate::analyze::kill::{same_session, KillTarget, SessionNow};
use crate::model::Flavour;
use crate::source::query::{checkout, fetch, fetch_on};

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
    /// Microseconds from the re-check's answer to the KILL's: the window in
    /// which the session could have changed unseen (killed targets only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recheck_to_kill_us: Option<u64>,
}

/// What `kill` is about to do, shown before the confirmation.
#[derive(Debug, Clone, Serialize)]
pub struct KillPlan {
    /// Where the kills would go.
    pub server: crate::act::audit::AuditServer,
    pub targets: Vec<KillResult>,
    /// Ids asked for that are not in the processlist.
    pub missing_thread_ids: Vec<u64>,
    /// `--query`: KILL QUERY instead of KILL CONNECTION.
    pub kill_query: bool,
}

/// What `kill` did (`docs/json.md`, "kill").
#[derive(Debug, Clone, Serialize)]
pub struct KillReport {
    /// Where the kills went.
    pub server: crate::act::audit::AuditServer,
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

/// The exact statement for a target. Ids are numbers: nothing else is pasted in.
/// `KILL QUERY ID` (MariaDB, when the statement's id is known) stops that one
/// statement only, never a later one of the same session.
pub fn kill_statement(
    method: KillMethod,
    thread_id: u64,
    query_id: Option<u64>,
    query_only: bool,
) -> String {
    match (method, query_only) {
        (KillMethod::Statement, false) => format!("KILL CONNECTION {thread_id}"),
        (KillMethod::Statement, true) => match query_id {
            Some(id) => format!("KILL QUERY ID {id}"),
            None => format!("KILL QUERY {thread_id}"),
        },
        (KillMethod::Rds, false) => format!("CALL mysql.rds_kill({thread_id})"),
        (KillMethod::Rds, true) => format!("CALL mysql.rds_kill_query({thread_id})"),
        (KillMethod::Azure, false) => format!("CALL mysql.az_kill({thread_id})"),
        (KillMethod::Azure, true) => format!("CALL mysql.az_kill_query({thread_id})"),
    }
}

/// What the last step before a KILL decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Acted {
    pub outcome: KillOutcome,
    pub detail: Option<String>,
    pub recheck_to_kill: Option<Duration>,
}

/// How long the re-check waits for InnoDB to refresh its `INNODB_TRX` cache before it
/// gives up on a target (a client polling the cache faster than every 100 ms keeps it
/// frozen for as long as it polls).
const FRESH_CACHE_PATIENCE: Duration = Duration::from_secs(2);

/// Re-reads the target's session and transaction with one narrow query and,
/// when it is still the session listed ([`same_session`]), sends the KILL at
/// once on the same connection. The query runs inside a read-only transaction
/// opened just before it, and counts only when InnoDB's transaction cache lists
/// that transaction (the cache was refreshed after it began): a stale cache
/// could still show a transaction that ended, and the KILL would then roll back
/// whatever the session began since. Any doubt (the re-check cannot run, the
/// cache stays stale, the session changed) skips the target.
pub async fn recheck_and_kill(
    pool: &Pool,
    flavour: Flavour,
    target: &KillTarget,
    statement: &str,
    kill_query: bool,
    timeout: Duration,
) -> Acted {
    let skipped = |detail: String| Acted {
        outcome: KillOutcome::Skipped,
        detail: Some(detail),
        recheck_to_kill: None,
    };
    let mut conn = match checkout(pool).await {
        Ok(conn) => conn,
        Err(e) => return skipped(format!("cannot re-check before the KILL: {e}")),
    };
    let sql = match flavour {
        Flavour::Mariadb => include_str!("../../queries/kill_recheck_mariadb.sql"),
        _ => include_str!("../../queries/kill_recheck_mysql.sql"),
    };
    let give_up_at = Instant::now() + FRESH_CACHE_PATIENCE;
    let (rows, checked_at) = loop {
        let params = Params::Positional(vec![target.thread_id.into()]);
        let began = conn
            .query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT")
            .await;
        if let Err(e) = began {
            return skipped(format!("cannot re-check before the KILL: {e}"));
        }
        let rows = match fetch_on(&mut conn, sql, params, Some(flavour), timeout).await {
            Ok(rows) => rows,
            Err(e) => {
                let _ = conn.query_drop("ROLLBACK").await;
                return skipped(format!("cannot re-check before the KILL: {e}"));
            }
        };
        let checked_at = Instant::now();
        // No row: the session is gone (the processlist is read live, whatever the cache).
        let fresh = rows
            .first()
            .is_none_or(|r| r.num("cache_fresh").is_some_and(|n| n > 0));
        if fresh {
            break (rows, checked_at);
        }
        let _ = conn.query_drop("ROLLBACK").await;
        if Instant::now() >= give_up_at {
            return skipped(format!(
                "cannot confirm its transaction: InnoDB did not refresh its INNODB_TRX cache within {FRESH_CACHE_PATIENCE:?} (it refreshes it only after 100 ms without a reader; another client polls it faster), so the transaction seen could have ended"
            ));
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    };
    let now = rows.first().map(|r| SessionNow {
        user: r.text("user").unwrap_or_default(),
        host: r.text("host").unwrap_or_default(),
        command: r.text("command").unwrap_or_default().into(),
        time_secs: r.num("time_secs").unwrap_or(0),
        info: r.text("info"),
        query_id: r.num("query_id"),
        trx_id: r.text("trx_id"),
        trx_started: r.text("trx_started"),
    });
    if let Err(why) = same_session(target, now.as_ref(), kill_query) {
        let _ = conn.query_drop("ROLLBACK").await;
        return skipped(why);
    }
    // The KILL first, then the read-only transaction's end: the window stays one round trip.
    let sent = fetch_on(&mut conn, statement, Params::Empty, None, timeout).await;
    let recheck_to_kill = Some(checked_at.elapsed());
    let _ = conn.query_drop("ROLLBACK").await;
    match sent {
        Ok(_) => Acted {
            outcome: KillOutcome::Killed,
            detail: None,
            recheck_to_kill,
        },
        Err(e) => Acted {
            outcome: KillOutcome::Failed,
            detail: Some(e.to_string()),
            recheck_to_kill,
        },
    }
}
