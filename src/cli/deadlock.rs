//! `lockdiag deadlock`: the latest deadlock from the server, a status text,
//! every deadlock of an error log, or those kept in snapshots.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;

use anyhow::{anyhow, bail, Result};

use crate::analyze::history::DeadlockHistory;
use crate::analyze::record::deadlock_key;
use crate::analyze::timeouts::TimeoutHistory;
use crate::analyze::views::{DeadlockOrigin, DeadlocksView, TimeoutsSection};
use crate::analyze::DeadlockReport;
use crate::model::{Flavour, InnodbStatus, ServerInfo};
use crate::parse::deadlock::START_MISSING;
use crate::parse::{
    is_json_sink, looks_like_error_log, parse_innodb_status, strip_paste_margin, ErrorLogEntries,
    JsonSinkText, LogEntry,
};
use crate::render::View;
use crate::source::pfs_error_log;
use crate::source::query::QueryError;
use crate::source::snapshot_file::{read_snapshot, snapshots_in};
use crate::source::text::{open_stream, read_text};

use crate::source::server::Server;

use super::resolve::DeadlockJob;
use super::{Input, Output, EXIT_FINDINGS, EXIT_OK};

pub async fn run(job: &DeadlockJob, input: Input<'_>, out: &Output) -> Result<i32> {
    let not_before = job
        .since
        .map(|d| chrono::Utc::now().timestamp() - d.as_secs() as i64);
    let view = match input {
        Input::Snapshot(from) => from_snapshots(from, not_before, job)?,
        Input::Server(server) if job.history => {
            from_error_log_table(server, not_before, job).await?
        }
        Input::Server(server) => {
            let state = server.collect(None, true).await;
            let Some(text) = &state.innodb_status else {
                let reason = state
                    .sources
                    .iter()
                    .find(|s| s.source == crate::model::SourceName::InnodbStatus)
                    .and_then(|s| s.reason.clone())
                    .unwrap_or_default();
                // The document still says what was tried and why: unknown, never "none".
                out.emit(&View::Deadlocks(DeadlocksView::unknown(
                    "server".into(),
                    state.sources.clone(),
                )))?;
                super::output::note(&format!(
                    "error: cannot read SHOW ENGINE INNODB STATUS: {reason}"
                ));
                return Ok(super::EXIT_ERROR);
            };
            let status = parse_innodb_status(text);
            let mut view = latest(status, "server".into(), None, state.server.utc_offset_secs)?;
            view.sources = Some(state.sources.clone());
            seen_live(view, server).await
        }
        Input::Files => match (&job.error_log, &job.file) {
            (Some(path), _) => {
                let source = format!("error_log:{}", path.display());
                let mut reader = BufReader::with_capacity(64 * 1024, open_stream(path)?);
                if is_json_sink(reader.fill_buf()?) {
                    json_log_view(reader, not_before, job, source)?
                } else {
                    log_view(reader, not_before, job, source)?
                }
            }
            (None, Some(path)) => {
                let text = read_text(path)?;
                // Pasted with every line indented or quoted (`> `): read under the margin.
                let text = strip_paste_margin(&text);
                let source = format!("file:{}", path.display());
                if is_json_sink(text.as_bytes()) {
                    json_log_view(text.as_bytes(), not_before, job, source)?
                } else if looks_like_error_log(&text) {
                    log_view(text.as_bytes(), not_before, job, source)?
                } else {
                    latest(
                        parse_innodb_status(&text),
                        source,
                        Some(path),
                        job.server_utc_offset,
                    )?
                }
            }
            (None, None) => bail!("give --file or --error-log"),
        },
    };
    let unread = view.unread.clone();
    out.emit(&View::Deadlocks(view))?;
    if let Some(unread) = unread {
        super::output::note(&unread);
        return Ok(EXIT_FINDINGS);
    }
    Ok(EXIT_OK)
}

/// The listed deadlocks with what the server adds while their sessions are still there
/// (earlier statements, index definitions), analysed again.
async fn seen_live(mut view: DeadlocksView, server: &Server) -> DeadlocksView {
    let Some(reports) = view.deadlocks.take() else {
        return view;
    };
    let mut known = Vec::with_capacity(reports.len());
    for report in reports {
        let (report, unread) = crate::act::enrich::deadlock_seen_live(server, report).await;
        if let Some(unread) = unread {
            super::output::note(&unread);
        }
        known.push(report);
    }
    view.deadlocks = Some(known);
    view
}

/// What the stderr note says when a deadlock was found but not all of it could be read.
fn unread_note(count: u64, at: Option<&str>, line: &str) -> String {
    let what = if line.is_empty() {
        "no transaction could be read".to_string()
    } else if line == START_MISSING {
        "the text begins inside the print, its start is missing".to_string()
    } else {
        format!("first line not understood: {line:?}")
    };
    format!(
        "{count} deadlock(s) only partly read (the first at {}): {what}; the analysis covers what was read",
        at.unwrap_or("an unknown time")
    )
}

/// Every deadlock MySQL 8.0.22+ still holds in `performance_schema.error_log`, grouped.
async fn from_error_log_table(
    server: &Server,
    not_before: Option<i64>,
    job: &DeadlockJob,
) -> Result<DeadlocksView> {
    let (pool, timeout) = (server.pool(), server.query_timeout());
    let caps = server.caps();
    let result = if !caps.error_log_table {
        Err(no_error_log_table(&caps.server))
    } else {
        pfs_error_log::deadlocks_after(pool, server.flavour(), None, timeout)
            .await
            .map_err(|e| match e {
                QueryError::Denied(msg) => anyhow!(
                    "cannot read performance_schema.error_log: {msg} (GRANT SELECT ON performance_schema.error_log TO the account)"
                ),
                other => anyhow!("cannot read performance_schema.error_log: {other}"),
            })
    };
    let print_all = if result.is_ok() {
        pfs_error_log::print_all_deadlocks(pool, server.flavour(), timeout).await
    } else {
        None
    };
    let (deadlocks, _) = result?;
    if deadlocks.is_empty() && print_all == Some(false) {
        super::output::note("innodb_print_all_deadlocks is OFF: deadlocks reach the error log only when it is ON (SET GLOBAL innodb_print_all_deadlocks = ON); the latest one is in `lockdiag deadlock`");
    }
    // MySQL logs each section header of a print as an event, but writes the transactions and
    // locks to the log file only: the table has each deadlock's time and victim, not its body.
    let header_only = !deadlocks.is_empty() && deadlocks.iter().all(|d| d.header_only());
    let found = deadlocks.len();
    let mut history = DeadlockHistory::new(
        not_before,
        job.last,
        caps.server.utc_offset_secs.or(job.server_utc_offset),
    );
    for deadlock in deadlocks {
        history.add(DeadlockReport::new(deadlock));
    }
    let source = "performance_schema.error_log".to_string();
    if header_only {
        super::output::note(&format!(
            "performance_schema.error_log holds only the header lines of each deadlock print ({found} deadlock(s)): times, counts and victims, not the transactions and locks, which InnoDB writes to the error log file only (SELECT @@log_error; read it with --error-log). The latest deadlock in full: `lockdiag deadlock`"
        ));
        return Ok(history_view_quiet(
            history,
            DeadlockOrigin::ErrorLogTable,
            source,
        ));
    }
    Ok(history_view(history, DeadlockOrigin::ErrorLogTable, source))
}

/// Why a server has no `performance_schema.error_log`, and where its deadlocks are instead.
fn no_error_log_table(server: &ServerInfo) -> anyhow::Error {
    let (major, minor, patch) = server.version_number;
    let why = if server.flavour == Flavour::Mariadb {
        format!("MariaDB ({}) keeps no error log in performance_schema (performance_schema.error_log is MySQL 8.0.22+)", server.version)
    } else if (major, minor, patch) < (8, 0, 22) {
        format!(
            "performance_schema.error_log is MySQL 8.0.22+; this server is {}",
            server.version
        )
    } else if !server.performance_schema {
        "performance_schema is OFF, so performance_schema.error_log is empty (set performance_schema=ON and restart)".to_string()
    } else {
        "this server has no performance_schema.error_log table".to_string()
    };
    anyhow!("{why}: read the error log file instead with `lockdiag deadlock --error-log PATH` (the path is SELECT @@log_error), or the latest deadlock with `lockdiag deadlock`")
}

/// The latest deadlock of one snapshot, or those seen across a directory of
/// snapshots (each deadlock once, however many snapshots saw it), grouped.
fn from_snapshots(
    from: &Path,
    not_before: Option<i64>,
    job: &DeadlockJob,
) -> Result<DeadlocksView> {
    let files = if from.is_dir() {
        snapshots_in(from)?
    } else {
        vec![from.to_path_buf()]
    };
    let mut history = DeadlockHistory::new(not_before, job.last, job.server_utc_offset);
    let mut seen = BTreeSet::new();
    for file in &files {
        let snapshot = match read_snapshot(file) {
            Ok(snapshot) => snapshot,
            // In a directory one bad file (cut by a full disk, edited by hand) is said and skipped.
            Err(e) if from.is_dir() => {
                super::output::note(&format!(
                    "skipped {}: {}",
                    file.display(),
                    super::output::error_chain(&e)
                ));
                continue;
            }
            Err(e) => return Err(e.context(file.display().to_string())),
        };
        // A snapshot knows its server's zone (written since 0.2); --server-tz stands in for older ones.
        history.set_server_utc_offset(
            snapshot
                .state
                .server
                .utc_offset_secs
                .or(job.server_utc_offset),
        );
        if let Some(report) = DeadlockReport::latest_of_snapshot(&snapshot) {
            // Consecutive snapshots carry the same latest deadlock: counted once, by identity.
            let key = deadlock_key(&report, snapshot.state.server.utc_offset_secs);
            if seen.insert(key) {
                history.add(report);
            }
        }
    }
    if from.is_dir() {
        return Ok(history_view(
            history,
            DeadlockOrigin::Snapshots,
            format!("snapshots:{}", from.display()),
        ));
    }
    let total = history.total;
    Ok(DeadlocksView::new(
        DeadlockOrigin::Snapshot,
        format!("snapshot:{}", from.display()),
        history.newest.into_iter().collect(),
        total,
        None,
    ))
}

/// Every deadlock and logged lock wait timeout of an error log, in one pass.
fn scan_log(
    reader: impl std::io::Read,
    not_before: Option<i64>,
    job: &DeadlockJob,
) -> Result<(DeadlockHistory, TimeoutHistory)> {
    let mut deadlocks = DeadlockHistory::new(not_before, job.last, job.server_utc_offset);
    let mut timeouts = TimeoutHistory::new(not_before, job.last, job.server_utc_offset);
    for entry in ErrorLogEntries::new(reader) {
        match entry? {
            LogEntry::Deadlock(deadlock) => deadlocks.add(DeadlockReport::new(deadlock)),
            LogEntry::LockWaitTimeout(timeout) => timeouts.add(timeout),
        }
    }
    Ok((deadlocks, timeouts))
}

/// The view of an error-log file: its deadlocks, then its lock wait timeouts.
fn log_view(
    reader: impl std::io::Read,
    not_before: Option<i64>,
    job: &DeadlockJob,
    source: String,
) -> Result<DeadlocksView> {
    let (deadlocks, timeouts) = scan_log(reader, not_before, job)?;
    let mut view = history_view(deadlocks, DeadlockOrigin::ErrorLog, source);
    if timeouts.cut > 0 {
        let cut = format!(
            "{} lock wait timeout entr(ies) cut before their last blocker: the blockers listed are the ones printed",
            timeouts.cut
        );
        view.unread = Some(match view.unread.take() {
            Some(deadlocks) => format!("{deadlocks}; {cut}"),
            None => cut,
        });
    }
    if timeouts.undated() > 0 {
        super::output::note(&format!(
            "{} lock wait timeout(s) carry server-local timestamps and the server's zone is unknown: --since kept them (give --server-tz)",
            timeouts.undated()
        ));
    }
    view.timeouts = Some(TimeoutsSection::new(timeouts));
    Ok(view)
}

/// The deadlocks of MySQL's JSON error log (`log_sink_json`): their times and count only,
/// said plainly, since that sink never receives the transactions.
fn json_log_view(
    reader: impl std::io::Read,
    not_before: Option<i64>,
    job: &DeadlockJob,
    source: String,
) -> Result<DeadlocksView> {
    let mut text = JsonSinkText::new(reader);
    let (history, _) = scan_log(&mut text, not_before, job)?;
    let found = history.total;
    let mut view = history_view_quiet(history, DeadlockOrigin::ErrorLog, source);
    super::output::note(&format!(
        "this is MySQL's JSON error log (log_sink_json): {found} deadlock(s), with their times and counts only. That sink receives just the header line of each deadlock print; InnoDB writes the transactions and locks to the traditional error log file (SELECT @@log_error), which `--error-log` reads whole"
    ));
    // Header-only prints are this format, not a misreading; text that is no JSON event is.
    view.unread = text.stopped().map(|why| {
        format!(
            "stopped reading after {} log event(s): {why}; the deadlocks before it are listed",
            text.events_read()
        )
    });
    Ok(view)
}

fn history_view(history: DeadlockHistory, origin: DeadlockOrigin, source: String) -> DeadlocksView {
    let unread = history
        .first_unread
        .as_ref()
        .map(|(at, line)| unread_note(history.unread, at.as_deref(), line));
    let mut view = history_view_quiet(history, origin, source);
    view.unread = unread;
    view
}

/// The grouped view of a history, without the partly-read note.
fn history_view_quiet(
    history: DeadlockHistory,
    origin: DeadlockOrigin,
    source: String,
) -> DeadlocksView {
    let groups = history.groups();
    let total = history.total;
    let undated = history.since_undated();
    if history.undated > 0 {
        super::output::note(&format!(
            "{} deadlock(s) carry server-local timestamps and the server's zone is unknown: --since kept them (give --server-tz)",
            history.undated
        ));
    }
    let mut view = DeadlocksView::new(
        origin,
        source,
        history.newest.into_iter().collect(),
        total,
        Some(groups),
    );
    view.deadlocks_undated = undated;
    view
}

/// The LATEST DETECTED DEADLOCK of a status text; an error when the text is no status at all.
fn latest(
    status: InnodbStatus,
    source: String,
    file: Option<&Path>,
    server_utc_offset: Option<i64>,
) -> Result<DeadlocksView> {
    let Some(deadlock) = status.latest_deadlock else {
        if status.sections.is_empty() {
            let what = file.map_or("the server's status".to_string(), |p| {
                p.display().to_string()
            });
            bail!("no deadlock section found in {what}: it is neither a SHOW ENGINE INNODB STATUS text (no LATEST DETECTED DEADLOCK or other monitor section) nor an error log with deadlocks");
        }
        return Ok(DeadlocksView::new(
            DeadlockOrigin::Status,
            source,
            Vec::new(),
            0,
            None,
        ));
    };
    let unread = deadlock
        .first_unread_line()
        .map(|line| unread_note(1, deadlock.timestamp.as_deref(), line));
    let mut view = DeadlocksView::new(
        DeadlockOrigin::Status,
        source,
        vec![DeadlockReport::new(deadlock).in_server_zone(server_utc_offset)],
        1,
        None,
    );
    view.unread = unread;
    Ok(view)
}
