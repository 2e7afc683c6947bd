//! The recorder's probe: one statement on one connection (`queries/probe.sql`).

use std::time::Duration;

use mysql_async::{Params, Pool};

use crate::model::{Flavour, Probe};

use super::query::{fetch, QueryError};
use super::restraint::MaxRowWaits;

/// Reads one probe; a missing figure reads as 0 (`deadlocks`: `None`). InnoDB's transaction
/// cache is read only while InnoDB counts at most `max_row_waits` row-lock waits (see
/// [`super::restraint`]): a recorder probes every second, and at 2,000 waiters each read of
/// it held InnoDB's lock latch for seconds.
pub async fn probe(
    pool: &Pool,
    flavour: Flavour,
    timeout: Duration,
    max_row_waits: MaxRowWaits,
) -> Result<Probe, QueryError> {
    let first = include_str!("../../queries/probe.sql");
    let (rows, _) = fetch(pool, first, Params::Empty, Some(flavour), timeout).await?;
    let row = rows.into_iter().next().unwrap_or_default();
    let counted = row.num("row_lock_current_waits").unwrap_or(0);
    let mut probe = Probe {
        row_waiting: counted,
        mdl_waiting: row.num("mdl_waiting").unwrap_or(0),
        longest_mdl_wait_secs: row.num("longest_mdl_wait_secs").unwrap_or(0),
        deadlocks: row.num("deadlocks"),
        ..Probe::default()
    };
    if max_row_waits.exceeded_by(counted) {
        probe.waits_not_listed_above = Some(max_row_waits.0);
        return Ok(probe);
    }
    let cache = include_str!("../../queries/probe_innodb_trx.sql");
    let (rows, _) = fetch(pool, cache, Params::Empty, Some(flavour), timeout).await?;
    let row = rows.into_iter().next().unwrap_or_default();
    // The cached list or InnoDB's live counter, whichever sees more (a stale or cut cache).
    probe.row_waiting = counted.max(row.num("row_waiting").unwrap_or(0));
    probe.longest_row_wait_secs = row.num("longest_row_wait_secs").unwrap_or(0);
    probe.oldest_trx_secs = row.num("oldest_trx_secs").unwrap_or(0);
    Ok(probe)
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
