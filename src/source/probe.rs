//! The recorder's probe: one statement on one connection (`queries/probe.sql`).

use std::time::Duration;

use mysql_async::{Params, Pool};

use crate::model::{Flavour, Probe};

use super::query::{fetch, QueryError};

/// Reads one probe; a missing figure reads as 0 (`deadlocks`: `None`).
pub async fn probe(pool: &Pool, flavour: Flavour, timeout: Duration) -> Result<Probe, QueryError> {
    let sql = include_str!("../../queries/probe.sql");
    let (rows, _) = fetch(pool, sql, Params::Empty, Some(flavour), timeout).await?;
    let row = rows.into_iter().next().unwrap_or_default();
    Ok(Probe {
        // The cached list or InnoDB's live counter, whichever sees more (a stale or cut cache).
        row_waiting: row
            .num("row_waiting")
            .unwrap_or(0)
            .max(row.num("row_lock_current_waits").unwrap_or(0)),
        longest_row_wait_secs: row.num("longest_row_wait_secs").unwrap_or(0),
        oldest_trx_secs: row.num("oldest_trx_secs").unwrap_or(0),
        mdl_waiting: row.num("mdl_waiting").unwrap_or(0),
        longest_mdl_wait_secs: row.num("longest_mdl_wait_secs").unwrap_or(0),
        deadlocks: row.num("deadlocks"),
    })
}

/// `SHOW ENGINE INNODB STATUS`'s text alone (its latest deadlock, between full collections).
pub async fn innodb_status_text(
    pool: &Pool,
    flavour: Flavour,
    timeout: Duration,
) -> Result<Option<String>, QueryError> {
    let sql = include_str!("../../queries/innodb_status.sql");
    let (rows, _) = fetch(pool, sql, Params::Empty, Some(flavour), timeout).await?;
    Ok(rows.first().and_then(|r| r.text("status")))
}
