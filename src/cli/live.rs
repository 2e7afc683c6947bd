//! The live commands: `status`, `ps`, `locks`, `waits` — from a server or a saved snapshot.

use std::time::Duration;

use anyhow::{bail, Result};

use crate::analyze::suggest::closest;
use crate::analyze::views::{known_tables, locks_view, ps_view, status_view, waits_view, PsFilter};
use crate::analyze::{analyze_waits, DeadlockReport};
use crate::model::{LiveState, TableRef};
use crate::render::View;
use crate::source::catalog::user_tables;
use crate::source::server::Server;
use crate::source::snapshot_file::read_snapshot;

use super::{Input, Output, EXIT_OK};

/// The state to show (a snapshot's, or a fresh collection) and the latest
/// deadlock it carries: a snapshot keeps its parsed deadlock even without its
/// raw status text.
async fn load(
    input: Input<'_>,
    locks_limit: Option<u64>,
    innodb_status: bool,
) -> Result<(LiveState, Option<DeadlockReport>)> {
    match input {
        Input::Snapshot(path) => {
            let snapshot = read_snapshot(path)?;
            // Said first: this is a picture of the past, not the server now.
            let why = snapshot
                .trigger
                .as_deref()
                .map(|t| format!(" by record ({t})"))
                .unwrap_or_default();
            super::output::note(&format!(
                "showing the snapshot {} taken {}{why}, not the server now",
                path.display(),
                snapshot.collected_at_start
            ));
            let latest = DeadlockReport::latest_of_snapshot(&snapshot);
            Ok((snapshot.state, latest))
        }
        Input::Server(server) => {
            let state = server.collect(locks_limit, innodb_status).await;
            let latest = DeadlockReport::latest_of_state(&state);
            Ok((state, latest))
        }
        Input::Files => bail!("this command reads a server or a snapshot (--from)"),
    }
}

/// `Some(closest names)` when `wanted` names no table on the server; `None`
/// when it exists or the catalog cannot be read (then nothing is claimed).
pub(super) async fn unknown_table(wanted: &TableRef, server: &Server) -> Option<Vec<String>> {
    let tables = user_tables(server.pool(), server.flavour(), server.query_timeout())
        .await
        .ok()?;
    if tables.iter().any(|(s, t)| wanted.matches(Some(s), Some(t))) {
        return None;
    }
    let names: Vec<String> = tables.iter().map(|(s, t)| format!("{s}.{t}")).collect();
    let target = wanted.to_string();
    Some(
        closest(&target, &names, 3)
            .into_iter()
            .map(str::to_string)
            .collect(),
    )
}

pub async fn waits(all: bool, input: Input<'_>, out: &Output) -> Result<i32> {
    let (state, _) = load(input, None, false).await?;
    let analysis = analyze_waits(&state);
    let mut view = waits_view(&state, analysis);
    view.all = all;
    out.emit(&View::Waits(view))?;
    Ok(exit_for_lock_waits(&state))
}

/// 2 when the lock waits could not be read (the answer is unknown, not "none") or the
/// server counts more waits than its lists showed (the answer is a lower bound), said on stderr.
pub fn exit_for_lock_waits(state: &LiveState) -> i32 {
    match crate::analyze::fleet::lock_waits_problem(state) {
        Some(problem) => {
            super::output::note(&format!("error: {problem}"));
            super::EXIT_ERROR
        }
        None => EXIT_OK,
    }
}

pub async fn status(long_trx: Duration, all: bool, input: Input<'_>, out: &Output) -> Result<i32> {
    let (state, latest) = load(input, None, true).await?;
    let analysis = analyze_waits(&state);
    let mut view = status_view(&state, analysis, latest.as_ref(), long_trx);
    view.all = all;
    out.emit(&View::Status(view))?;
    Ok(exit_for_lock_waits(&state))
}

pub async fn ps(filter: &PsFilter, input: Input<'_>, out: &Output) -> Result<i32> {
    let (state, _) = load(input, None, false).await?;
    out.emit(&View::Ps(ps_view(&state, filter)))?;
    Ok(EXIT_OK)
}

pub async fn locks(
    table: Option<&TableRef>,
    limit: u64,
    input: Input<'_>,
    out: &Output,
) -> Result<i32> {
    let (state, _) = load(input, Some(limit), false).await?;
    let view = locks_view(&state, table);
    // An unread lock source is an unknown answer, not an empty one.
    let unread = state.unread(&[crate::model::SourceName::Locks]);
    if !unread.is_empty() {
        out.emit(&View::Locks(view))?;
        super::output::note(&format!(
            "error: the locks could not be read ({}): which locks are held is unknown",
            unread.join("; ")
        ));
        return Ok(super::EXIT_ERROR);
    }
    let none_on_table = table.filter(|_| view.locks.as_ref().is_some_and(Vec::is_empty));
    // A name that matched nothing: a typo is an error naming the closest tables;
    // an existing table without locks is an empty answer.
    if let (Some(wanted), Input::Server(server)) = (none_on_table, input) {
        if let Some(closest) = unknown_table(wanted, server).await {
            let hint = if closest.is_empty() {
                String::new()
            } else {
                format!("; closest: {}", closest.join(", "))
            };
            bail!("--table {wanted}: no such table (or not visible to this account){hint}");
        }
    }
    out.emit(&View::Locks(view))?;
    if let Some(wanted) = none_on_table {
        let known = known_tables(&state);
        let hint = if known.is_empty() {
            "no locks are held on any table now".to_string()
        } else {
            format!("tables with locks now: {}", known.join(", "))
        };
        super::output::note(&format!("no locks on {wanted} ({hint})"));
    }
    Ok(EXIT_OK)
}
