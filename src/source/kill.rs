//! How a server lets lockdiag kill: plain `KILL`, or the procedures managed
//! services offer where plain KILL of another account's session is denied; and
//! the exact statement for a target.

use std::time::Duration;

use mysql_async::{Params, Pool};

use super::query::fetch;

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
