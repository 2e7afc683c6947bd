//! MySQL's error log read over SQL (`performance_schema.error_log`, 8.0.22+):
//! the deadlocks printed since the last entry read.

use std::time::Duration;

use mysql_async::{Params, Pool};

use crate::model::{Deadlock, Flavour};
use crate::parse::{error_log_text, ErrorLogDeadlocks, ErrorLogRow};

use super::query::{fetch, QueryError};
use super::rows::Record;

/// The deadlocks logged after `after` (a `LOGGED` value; `None`: everything
/// the table still holds), and the last `LOGGED` read.
pub async fn deadlocks_after(
    pool: &Pool,
    flavour: Flavour,
    after: Option<&str>,
    timeout: Duration,
) -> Result<(Vec<Deadlock>, Option<String>), QueryError> {
    let sql = include_str!("../../queries/error_log_deadlocks.sql");
    let since = after.unwrap_or("1970-01-01 00:00:00");
    let params = Params::Positional(vec![since.into()]);
    let (records, _) = fetch(pool, sql, params, Some(flavour), timeout).await?;
    let (deadlocks, last) = deadlocks_in_rows(&records);
    Ok((deadlocks, last.or(after.map(str::to_string))))
}

/// `@@innodb_print_all_deadlocks` (whether deadlocks reach the error log at all), when readable.
pub async fn print_all_deadlocks(pool: &Pool, flavour: Flavour, timeout: Duration) -> Option<bool> {
    let (rows, _) = fetch(
        pool,
        include_str!("../../queries/print_all_deadlocks.sql"),
        Params::Empty,
        Some(flavour),
        timeout,
    )
    .await
    .ok()?;
    rows.first()?.num("print_all_deadlocks").map(|v| v != 0)
}

/// The deadlocks in rows of `queries/error_log_deadlocks.sql`, and the last `LOGGED` among them.
pub fn deadlocks_in_rows(records: &[Record]) -> (Vec<Deadlock>, Option<String>) {
    let rows: Vec<ErrorLogRow> = records
        .iter()
        .filter_map(|r| {
            Some(ErrorLogRow {
                logged: r.text("logged")?,
                thread_id: r.num("thread_id").unwrap_or(0),
                prio: r.text("prio").unwrap_or_default(),
                error_code: r.text("error_code").unwrap_or_default(),
                subsystem: r.text("subsystem").unwrap_or_default(),
                data: r.text("data").unwrap_or_default(),
            })
        })
        .collect();
    let last = rows.last().map(|r| r.logged.clone());
    let text = error_log_text(&rows);
    let deadlocks = ErrorLogDeadlocks::new(text.as_bytes())
        .filter_map(Result::ok)
        .collect();
    (deadlocks, last)
}
