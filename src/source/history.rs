//! The recent statements of the sessions that block others, from
//! `performance_schema.events_statements_history`: which code path left a
//! transaction open is in what it ran before it went idle.
//!
//! Read only when someone waits (two statements), for the blockers only.

use std::collections::BTreeMap;
use std::time::Duration;

use mysql_async::{Params, Pool};

use crate::model::{Flavour, SourceName, SourceState, SourceStatus, StatementEvent};

use super::query::{fetch, QueryError};
use super::rows::Record;

pub const FROM: &str = "performance_schema.events_statements_history";

/// The history statement; `{ids}` stands for the threads' ids.
pub const HISTORY_SQL: &str = include_str!("../../queries/statement_history.sql");

/// At most this many sessions' histories per collection (the blockers of a pile-up are few).
pub const MAX_THREADS: usize = 50;

/// The consumers the history needs, in the order performance_schema checks them.
const CONSUMERS: [&str; 4] = [
    "global_instrumentation",
    "thread_instrumentation",
    "events_statements_current",
    "events_statements_history",
];

/// What turns the consumers on: now, and in the option file.
fn enable_hint(off: &[String]) -> String {
    let names = off
        .iter()
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let lines = off
        .iter()
        .map(|n| format!("performance-schema-consumer-{}=ON", n.replace('_', "-")))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "UPDATE performance_schema.setup_consumers SET ENABLED = 'YES' WHERE NAME IN ({names}); in the option file's [mysqld]: {lines} (or `record --enable-statement-history` for a recording)"
    )
}

/// The consumers of [`CONSUMERS`] that are off; `Err` when they cannot be read.
pub async fn consumers_off(
    pool: &Pool,
    flavour: Flavour,
    timeout: Duration,
) -> Result<Vec<String>, QueryError> {
    let (rows, _) = fetch(
        pool,
        include_str!("../../queries/statement_consumers.sql"),
        Params::Empty,
        Some(flavour),
        timeout,
    )
    .await?;
    Ok(CONSUMERS
        .iter()
        .filter(|name| {
            !rows.iter().any(|r| {
                r.str("name") == Some(**name)
                    && r.str("enabled")
                        .is_some_and(|v| v.eq_ignore_ascii_case("YES"))
            })
        })
        .map(|n| n.to_string())
        .collect())
}

/// The statements of `threads` (at most [`MAX_THREADS`]), oldest first per thread, and
/// the source's status: unavailable (with what to enable) when performance_schema or its
/// consumers are off, or the account may not read it.
pub async fn statement_history(
    pool: &Pool,
    flavour: Flavour,
    performance_schema: bool,
    timeout: Duration,
    threads: &[u64],
) -> (SourceStatus, BTreeMap<u64, Vec<StatementEvent>>) {
    let status = |state, reason: Option<String>| SourceStatus {
        source: SourceName::StatementHistory,
        from: Some(FROM.into()),
        status: state,
        reason,
    };
    if !performance_schema {
        return (
            status(
                SourceState::Unavailable,
                Some("performance_schema is OFF: set performance_schema=ON in the option file and restart, then enable the events_statements_history consumer".into()),
            ),
            BTreeMap::new(),
        );
    }
    match consumers_off(pool, flavour, timeout).await {
        Ok(off) if !off.is_empty() => {
            let reason = format!(
                "performance_schema does not keep it: consumer(s) {} OFF; {}",
                off.join(", "),
                enable_hint(&off)
            );
            return (
                status(SourceState::Unavailable, Some(reason)),
                BTreeMap::new(),
            );
        }
        Ok(_) => {}
        Err(e) => {
            let reason = format!("cannot read performance_schema.setup_consumers: {e}");
            return (
                status(SourceState::Unavailable, Some(reason)),
                BTreeMap::new(),
            );
        }
    }
    let threads = &threads[..threads.len().min(MAX_THREADS)];
    let ids = threads
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let sql = HISTORY_SQL.replace("{ids}", &ids);
    match fetch(pool, &sql, Params::Empty, Some(flavour), timeout).await {
        Ok((rows, _)) => (status(SourceState::Ok, None), history_of(&rows)),
        Err(e) => (
            status(SourceState::Unavailable, Some(e.to_string())),
            BTreeMap::new(),
        ),
    }
}

/// Rows of `statement_history.sql`, per thread, oldest first.
pub fn history_of(rows: &[Record]) -> BTreeMap<u64, Vec<StatementEvent>> {
    let mut history: BTreeMap<u64, Vec<StatementEvent>> = BTreeMap::new();
    for r in rows {
        let (Some(thread), Some(sql)) = (r.num("thread_id"), r.text("sql_text")) else {
            continue;
        };
        let error = r
            .num("errno")
            .filter(|&n| n != 0)
            .map(|n| match r.text("message") {
                Some(message) => format!("ERROR {n}: {message}"),
                None => format!("ERROR {n}"),
            });
        history.entry(thread).or_default().push(StatementEvent {
            sql,
            started_secs_ago: r.num("started_secs_ago"),
            rows_affected: r.num("rows_affected"),
            rows_examined: r.num("rows_examined"),
            error,
        });
    }
    history
}

/// The consumers `record --enable-statement-history` turns on.
const RECORDED: [&str; 2] = ["events_statements_current", "events_statements_history"];

/// The statement-history consumers `record --enable-statement-history` would turn on:
/// those of them that are off now.
pub async fn consumers_to_enable(
    pool: &Pool,
    flavour: Flavour,
    timeout: Duration,
) -> Result<Vec<String>, QueryError> {
    let off = consumers_off(pool, flavour, timeout).await?;
    Ok(RECORDED
        .iter()
        .filter(|n| off.iter().any(|o| o == *n))
        .map(|n| n.to_string())
        .collect())
}

/// Turns the named consumers on, in order; stops at the first that fails.
pub async fn enable_consumers(
    pool: &Pool,
    flavour: Flavour,
    timeout: Duration,
    names: &[String],
) -> Result<(), QueryError> {
    for name in names {
        set_consumer(pool, flavour, timeout, name, true).await?;
    }
    Ok(())
}

/// Turns the named consumers off again (what `enable_consumers` turned on).
pub async fn restore_consumers(
    pool: &Pool,
    flavour: Flavour,
    timeout: Duration,
    changed: &[String],
) -> Result<(), QueryError> {
    for name in changed {
        set_consumer(pool, flavour, timeout, name, false).await?;
    }
    Ok(())
}

async fn set_consumer(
    pool: &Pool,
    flavour: Flavour,
    timeout: Duration,
    name: &str,
    on: bool,
) -> Result<(), QueryError> {
    let enabled = if on { "YES" } else { "NO" };
    fetch(
        pool,
        include_str!("../../queries/statement_consumer_set.sql"),
        Params::Positional(vec![enabled.into(), name.into()]),
        Some(flavour),
        timeout,
    )
    .await
    .map(|_| ())
}

/// The recent statements of each transaction's session in `deadlock`, read right after
/// it was seen (the sessions are usually still there), attached where read.
pub async fn attach_to_deadlock(
    pool: &Pool,
    flavour: Flavour,
    performance_schema: bool,
    timeout: Duration,
    deadlock: &mut crate::model::Deadlock,
) {
    let threads: Vec<u64> = deadlock
        .transactions
        .iter()
        .filter_map(|t| t.thread_id)
        .filter(|&t| t != 0)
        .collect();
    if threads.is_empty() {
        return;
    }
    let (status, history) =
        statement_history(pool, flavour, performance_schema, timeout, &threads).await;
    if status.status != SourceState::Ok {
        return;
    }
    for t in &mut deadlock.transactions {
        if let Some(thread) = t.thread_id {
            t.statement_history = Some(history.get(&thread).cloned().unwrap_or_default());
        }
    }
}
