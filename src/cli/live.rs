//! The live commands: `status`, `ps`, `locks`, `waits`.

use anyhow::{bail, Context, Result};
use regex::Regex;

use crate::analyze::waits::{all_waits, analyze_waits, holds_transaction_mdl, session_state};
use crate::analyze::WaitAnalysis;
use crate::model::{InnodbStatus, LiveState, WaitKind};
use crate::parse::parse_innodb_status;
use crate::render::json::{
    to_json, LatestDeadlock, LiveHeader, LocksDocument, PsDocument, SessionView, StatusCounts,
    StatusDocument, WaitsDocument,
};
use crate::render::{dot, mermaid, table, DeadlockReport, Format};
use crate::source::collect::{collect_live, CollectOptions};
use crate::source::connect::connect;
use crate::source::connect::ConnectionConfig;
use crate::source::detect::{detect, Capabilities};
use crate::source::snapshot_file::read_snapshot;
use mysql_async::Pool;

use super::args::{ConnectionArgs, LocksArgs, PsArgs, StatusArgs};
use super::config::resolve_connection;
use super::{Output, EXIT_OK};

/// Where a live view reads from: the server, or a saved snapshot (`--from`).
pub struct Source {
    pub connection: ConnectionArgs,
    pub from: Option<std::path::PathBuf>,
}

/// The state to show: a snapshot's, or a fresh collection.
async fn load(source: &Source, locks_limit: Option<u64>, innodb_status: bool) -> Result<LiveState> {
    match &source.from {
        Some(path) => {
            if path.is_dir() {
                bail!("--from {} is a directory: give one snapshot file (a directory works with `deadlock`)", path.display());
            }
            Ok(read_snapshot(path)?.state)
        }
        None => collect(&source.connection, locks_limit, innodb_status).await,
    }
}

/// Connects and detects: the pool and what the server offers.
pub async fn open(config: &ConnectionConfig) -> Result<(Pool, Capabilities)> {
    let pool = connect(config).await?;
    let caps = detect(&pool, config.query_timeout)
        .await
        .context("cannot read the server's identity")?;
    Ok((pool, caps))
}

/// Connects, detects, collects. Missing sources are recorded in the state, not fatal.
pub async fn collect(
    connection: &ConnectionArgs,
    locks_limit: Option<u64>,
    innodb_status: bool,
) -> Result<LiveState> {
    let config = resolve_connection(connection)?;
    let (pool, caps) = open(&config).await?;
    let state = collect_live(
        &pool,
        &caps,
        CollectOptions {
            locks_limit,
            innodb_status,
            timeout: config.query_timeout,
        },
    )
    .await;
    pool.disconnect().await.ok();
    Ok(state)
}

/// `SHOW ENGINE INNODB STATUS` from the server, parsed.
pub async fn innodb_status_from_server(connection: &ConnectionArgs) -> Result<InnodbStatus> {
    let state = collect(connection, None, true).await?;
    match &state.innodb_status {
        Some(text) => Ok(parse_innodb_status(text)),
        None => {
            let reason = state
                .sources
                .iter()
                .find(|s| s.source == "innodb_status")
                .and_then(|s| s.reason.clone())
                .unwrap_or_default();
            bail!("cannot read SHOW ENGINE INNODB STATUS: {reason}")
        }
    }
}

fn refuse_graph_format(out: &Output, command: &str) -> Result<()> {
    if matches!(out.format, Format::Dot | Format::Mermaid) {
        bail!(
            "--format dot/mermaid draws graphs: use it with `waits` or `deadlock`, not `{command}`"
        );
    }
    Ok(())
}

pub async fn waits(source: &Source, out: &Output) -> Result<i32> {
    let state = load(source, None, false).await?;
    let analysis = analyze_waits(&state);
    let text = match out.format {
        Format::Json => to_json(&WaitsDocument {
            header: LiveHeader::new(&state),
            analysis: &analysis,
        }),
        Format::Dot => dot::waits(&analysis),
        Format::Mermaid => mermaid::waits(&analysis),
        Format::Table | Format::Prometheus => format!(
            "{}{}",
            table::source_notes(&state),
            table::waits_tree(&analysis, &out.style)
        ),
    };
    out.print(&text);
    Ok(EXIT_OK)
}

fn status_document<'a>(
    state: &'a LiveState,
    analysis: &'a WaitAnalysis,
    latest: Option<&DeadlockReport>,
    args: &StatusArgs,
) -> StatusDocument<'a> {
    let latest_deadlock = latest.map(|r| LatestDeadlock {
        timestamp: r.deadlock.timestamp.clone(),
        fingerprint: r.analysis.fingerprint.clone(),
        diagnosis: r.analysis.diagnosis.kind,
        summary: r.analysis.summary.clone(),
    });
    let threshold = args.long_trx.as_secs();
    let mut long_transactions: Vec<_> = state
        .transactions
        .iter()
        .filter(|t| t.age_secs >= threshold)
        .collect();
    long_transactions.sort_by_key(|t| std::cmp::Reverse(t.age_secs));
    let sessions_waiting_for_metadata_lock =
        crate::analyze::waits::sessions_in_metadata_lock_wait(state);
    StatusDocument {
        header: LiveHeader::new(state),
        counts: StatusCounts {
            sessions: state
                .sessions
                .iter()
                .filter(|s| !state.lockdiag_thread_ids.contains(&s.thread_id))
                .count() as u64,
            open_transactions: state.transactions.len() as u64,
            waiting_sessions: analysis.waiting_sessions,
            root_blockers: analysis.root_blockers.len() as u64,
        },
        analysis,
        metadata_lock_waits: analysis
            .waits
            .iter()
            .filter(|w| w.kind == WaitKind::Metadata)
            .collect(),
        sessions_waiting_for_metadata_lock,
        long_transactions,
        long_trx_threshold_secs: threshold,
        latest_deadlock,
    }
}

pub async fn status(args: &StatusArgs, source: &Source, out: &Output) -> Result<i32> {
    refuse_graph_format(out, "status")?;
    // A snapshot keeps the parsed deadlock even when its raw status text was left out.
    let (state, latest) = match &source.from {
        Some(path) if !path.is_dir() => {
            let snapshot = read_snapshot(path)?;
            let latest = super::snapshot::latest_deadlock(&snapshot)?;
            (snapshot.state, latest)
        }
        _ => {
            let state = load(source, None, true).await?;
            let latest = DeadlockReport::latest_in(state.innodb_status.as_deref());
            (state, latest)
        }
    };
    let analysis = analyze_waits(&state);
    let doc = status_document(&state, &analysis, latest.as_ref(), args);
    let text = match out.format {
        Format::Json => to_json(&doc),
        _ => table::status(&doc, &state, &out.style),
    };
    out.print(&text);
    Ok(EXIT_OK)
}

pub async fn ps(args: &PsArgs, source: &Source, out: &Output) -> Result<i32> {
    refuse_graph_format(out, "ps")?;
    let pattern = args
        .match_query
        .as_deref()
        .map(Regex::new)
        .transpose()
        .context("invalid --match regular expression")?;
    let state = load(source, None, false).await?;
    let waiting: Vec<u64> = all_waits(&state)
        .iter()
        .map(|w| w.waiting_thread_id)
        .collect();
    let mut sessions: Vec<SessionView> = state
        .sessions
        .iter()
        .filter(|s| !state.lockdiag_thread_ids.contains(&s.thread_id))
        .filter(|s| args.min_time.is_none_or(|m| s.time_secs >= m.as_secs()))
        .filter(|s| args.user.as_ref().is_none_or(|u| &s.user == u))
        .filter(|s| args.db.as_ref().is_none_or(|d| s.db.as_ref() == Some(d)))
        .filter(|s| {
            args.command
                .as_ref()
                .is_none_or(|c| s.command.eq_ignore_ascii_case(c))
        })
        .filter(|s| {
            pattern
                .as_ref()
                .is_none_or(|p| s.info.as_deref().is_some_and(|q| p.is_match(q)))
        })
        .map(|s| {
            let trx = state
                .transactions
                .iter()
                .find(|t| t.thread_id == s.thread_id);
            SessionView {
                session: s,
                state_class: session_state(
                    Some(s),
                    trx.is_some() || holds_transaction_mdl(&state, s.thread_id),
                    waiting.contains(&s.thread_id),
                ),
                trx_id: trx.map(|t| t.trx_id.as_str()),
                trx_age_secs: trx.map(|t| t.age_secs),
            }
        })
        .filter(|v| {
            !(args.no_idle && v.session.command.eq_ignore_ascii_case("Sleep") && v.trx_id.is_none())
        })
        .collect();
    sessions.sort_by(|a, b| {
        b.session
            .time_secs
            .cmp(&a.session.time_secs)
            .then(a.session.thread_id.cmp(&b.session.thread_id))
    });
    let doc = PsDocument {
        header: LiveHeader::new(&state),
        sessions,
    };
    let text = match out.format {
        Format::Json => to_json(&doc),
        _ => table::ps(&doc, &state, &out.style),
    };
    out.print(&text);
    Ok(EXIT_OK)
}

pub async fn locks(args: &LocksArgs, source: &Source, out: &Output) -> Result<i32> {
    refuse_graph_format(out, "locks")?;
    let state = load(source, Some(args.limit), false).await?;
    let matches_table = |schema: &Option<String>, table: &Option<String>| match &args.table {
        None => true,
        Some(wanted) => match wanted.split_once('.') {
            Some((s, t)) => schema.as_deref() == Some(s) && table.as_deref() == Some(t),
            None => table.as_deref() == Some(wanted.as_str()),
        },
    };
    let locks: Vec<_> = state
        .locks
        .iter()
        .filter(|l| matches_table(&l.schema, &l.table))
        .collect();
    let doc = LocksDocument {
        header: LiveHeader::new(&state),
        locks,
        locks_omitted: state.locks_omitted,
        transactions: &state.transactions,
    };
    let text = match out.format {
        Format::Json => to_json(&doc),
        _ => table::locks(&doc, &state, &out.style),
    };
    out.print(&text);
    Ok(EXIT_OK)
}
