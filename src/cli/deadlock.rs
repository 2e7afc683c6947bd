//! `lockdiag deadlock`: the latest deadlock from the server, a status text, or every deadlock of an error log.

use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::analyze::history::DeadlockHistory;
use crate::model::InnodbStatus;
use crate::parse::{looks_like_error_log, parse_innodb_status, ErrorLogDeadlocks};
use crate::render::json::{to_json, DeadlockDocument};
use crate::render::{dot, mermaid, table, DeadlockGroup, DeadlockReport, Format};
use crate::source::snapshot_file::{read_snapshot, snapshots_in};
use crate::source::text::{open_stream, read_text};

use super::args::DeadlockArgs;
use super::{live, Output, EXIT_OK};

/// Deadlocks listed from a log when `--last` is not given.
const DEFAULT_LAST: usize = 20;

pub async fn run(args: &DeadlockArgs, source: &live::Source, out: &Output) -> Result<i32> {
    let not_before = args
        .since
        .map(|d| chrono::Utc::now().timestamp() - d.as_secs() as i64);
    let keep = args.last.unwrap_or(DEFAULT_LAST).max(1);
    if let Some(from) = &source.from {
        return from_snapshots(from, not_before, keep, out);
    }
    if let Some(path) = &args.error_log {
        let history = scan_log(open_stream(path)?, not_before, keep)?;
        return render_history(&history, format!("error_log:{}", path.display()), out);
    }
    let (status, source) = match &args.file {
        Some(path) => {
            let text = read_text(path)?;
            if looks_like_error_log(&text) {
                let history = scan_log(text.as_bytes(), not_before, keep)?;
                return render_history(&history, format!("file:{}", path.display()), out);
            }
            (
                parse_innodb_status(&text),
                format!("file:{}", path.display()),
            )
        }
        None => (
            live::innodb_status_from_server(&source.connection).await?,
            "server".to_string(),
        ),
    };
    render_latest(status, source, args.file.as_deref(), out)
}

/// The latest deadlock of one snapshot, or those seen across a directory of
/// snapshots (each deadlock once, however many snapshots saw it), grouped.
fn from_snapshots(from: &Path, not_before: Option<i64>, keep: usize, out: &Output) -> Result<i32> {
    let files = if from.is_dir() {
        snapshots_in(from)?
    } else {
        vec![from.to_path_buf()]
    };
    let mut history = DeadlockHistory::new(not_before, keep);
    let mut seen = std::collections::BTreeSet::new();
    for file in &files {
        let snapshot = read_snapshot(file)?;
        let report = super::snapshot::latest_deadlock(&snapshot)
            .with_context(|| file.display().to_string())?;
        if let Some(report) = report {
            if seen.insert((
                report.deadlock.timestamp.clone(),
                report.analysis.fingerprint.clone(),
            )) {
                history.add(report);
            }
        }
    }
    if !from.is_dir() && history.total <= 1 {
        let reports: Vec<DeadlockReport> = history.newest.iter().cloned().collect();
        if reports.is_empty() {
            out.print(if out.format == Format::Json {
                ""
            } else {
                "No deadlock recorded in the snapshot.\n"
            });
            if out.format == Format::Json {
                out.print(&to_json(&DeadlockDocument::new(
                    format!("snapshot:{}", from.display()),
                    &reports,
                    0,
                    None,
                )));
            }
            return Ok(EXIT_OK);
        }
        print_reports(
            &reports,
            None,
            1,
            format!("snapshot:{}", from.display()),
            out,
        );
        return Ok(EXIT_OK);
    }
    render_history(&history, format!("snapshots:{}", from.display()), out)
}

fn scan_log(
    reader: impl std::io::Read,
    not_before: Option<i64>,
    keep: usize,
) -> Result<DeadlockHistory> {
    let mut history = DeadlockHistory::new(not_before, keep);
    for deadlock in ErrorLogDeadlocks::new(reader) {
        history.add(DeadlockReport::new(deadlock?));
    }
    Ok(history)
}

fn render_latest(
    status: InnodbStatus,
    source: String,
    file: Option<&Path>,
    out: &Output,
) -> Result<i32> {
    let Some(deadlock) = status.latest_deadlock else {
        if status.sections.is_empty() {
            let what = file.map_or("the server's status".to_string(), |p| {
                p.display().to_string()
            });
            bail!("no deadlock section found in {what}: it is neither a SHOW ENGINE INNODB STATUS text (no LATEST DETECTED DEADLOCK or other monitor section) nor an error log with deadlocks");
        }
        let reports: [DeadlockReport; 0] = [];
        match out.format {
            Format::Json => out.print(&to_json(&DeadlockDocument::new(source, &reports, 0, None))),
            _ => out.print("No deadlock recorded: the InnoDB status has no LATEST DETECTED DEADLOCK section (none since the server started).\n"),
        }
        return Ok(EXIT_OK);
    };
    let reports = [DeadlockReport::new(deadlock)];
    print_reports(&reports, None, 1, source, out);
    Ok(EXIT_OK)
}

fn render_history(history: &DeadlockHistory, source: String, out: &Output) -> Result<i32> {
    let reports: Vec<DeadlockReport> = history.newest.iter().cloned().collect();
    let groups = history.groups();
    if history.total == 0 && out.format == Format::Table {
        out.print("No deadlocks in the log (is innodb_print_all_deadlocks ON? it prints every deadlock to the error log).\n");
        return Ok(EXIT_OK);
    }
    print_reports(&reports, Some(&groups), history.total, source, out);
    Ok(EXIT_OK)
}

fn print_reports(
    reports: &[DeadlockReport],
    groups: Option<&[DeadlockGroup]>,
    total: u64,
    source: String,
    out: &Output,
) {
    let text = match out.format {
        Format::Json => to_json(&DeadlockDocument::new(source, reports, total, groups)),
        Format::Dot => dot::deadlocks(reports),
        Format::Mermaid => mermaid::deadlocks(reports),
        Format::Table | Format::Prometheus => {
            let mut text = String::new();
            if let Some(groups) = groups {
                text.push_str(&table::deadlock_groups(groups, total, &out.style));
                let omitted = total.saturating_sub(reports.len() as u64);
                if omitted > 0 {
                    text.push_str(&format!(
                        "(showing the newest {} of {total}; --last N for more)\n",
                        reports.len()
                    ));
                }
                text.push('\n');
            }
            text.push_str(&table::deadlocks(reports, &out.style));
            text
        }
    };
    out.print(&text);
}
