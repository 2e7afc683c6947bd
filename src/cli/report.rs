//! `lockdiag report`: the recording (snapshots, `deadlocks.jsonl`) and error logs read,
//! the incident built (`analyze::incident`), one HTML page written. Files only: a
//! report is made after the incident, never from a server.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::analyze::incident::{incident_view, IncidentInput};
use crate::analyze::DeadlockReport;
use crate::parse::{ErrorLogEntries, LogEntry};
use crate::render::View;
use crate::source::snapshot_file::{read_snapshot, snapshots_in, write_atomically};
use crate::source::text::open_stream;

use super::output::{error_chain, note};
use super::resolve::ReportJob;
use super::{Output, EXIT_FINDINGS, EXIT_OK};

/// The file `record` keeps every deadlock in.
const DEADLOCK_LINES: &str = "deadlocks.jsonl";

pub fn run(job: &ReportJob, output: &Output) -> Result<i32> {
    let out_dir = job
        .out
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let out_dir = out_dir
        .canonicalize()
        .with_context(|| format!("--out: the directory {} does not exist", out_dir.display()))?;
    let mut input = IncidentInput::default();
    input.server_utc_offset = job.server_utc_offset;
    if let Some(from) = &job.from {
        read_from(from, &out_dir, &mut input)?;
    }
    for log in &job.error_logs {
        read_error_log(log, job.server_utc_offset, &mut input)?;
    }
    if !input.has_snapshots() && input.deadlocks.is_empty() {
        bail!(
            "nothing to report: no snapshot and no deadlock in what was read ({})",
            if input.files_skipped.is_empty() {
                "the inputs hold neither".to_string()
            } else {
                input.files_skipped.join("; ")
            }
        );
    }
    let view = incident_view(input);
    let page = crate::render::render(
        &View::Report(Box::new(view.clone())),
        output.format,
        &output.style,
    )?;
    write_atomically(&job.out, page.as_bytes())
        .with_context(|| format!("cannot write {}", job.out.display()))?;
    note(&format!(
        "wrote {} ({} KB): {} snapshots, {} deadlocks in {} shapes",
        job.out.display(),
        page.len().div_ceil(1024),
        view.timeline.len(),
        view.deadlocks_total,
        view.deadlock_groups.len() + view.deadlock_groups_not_shown
    ));
    for skipped in &view.files_skipped {
        note(&format!("skipped {skipped}"));
    }
    Ok(if view.files_skipped.is_empty() {
        EXIT_OK
    } else {
        EXIT_FINDINGS
    })
}

/// A `record` directory (its snapshots and `deadlocks.jsonl`), any directory of
/// snapshots, one snapshot, or one `deadlocks.jsonl`.
fn read_from(from: &Path, out_dir: &Path, input: &mut IncidentInput) -> Result<()> {
    if from.is_dir() {
        for file in snapshots_in(from)? {
            read_one_snapshot(&file, out_dir, input);
        }
        let lines = from.join(DEADLOCK_LINES);
        if lines.exists() {
            read_deadlock_lines(&lines, input)?;
        }
        return Ok(());
    }
    if from.extension().is_some_and(|e| e == "jsonl") {
        return read_deadlock_lines(from, input);
    }
    let snapshot = read_snapshot(from)?;
    input.files_read.push(from.display().to_string());
    input.add_snapshot(link_to(from, out_dir), snapshot);
    Ok(())
}

/// One snapshot of a directory: a bad one (cut by a full disk, edited) is said and skipped.
fn read_one_snapshot(file: &Path, out_dir: &Path, input: &mut IncidentInput) {
    match read_snapshot(file) {
        Ok(snapshot) => {
            input.files_read.push(file.display().to_string());
            input.add_snapshot(link_to(file, out_dir), snapshot);
        }
        Err(e) => input
            .files_skipped
            .push(format!("{}: {}", file.display(), error_chain(&e))),
    }
}

/// The path the page links to: relative to the page's directory when below it, else
/// absolute (a local file either way; nothing leaves the machine).
fn link_to(file: &Path, out_dir: &Path) -> String {
    let absolute: PathBuf = file.canonicalize().unwrap_or_else(|_| file.to_path_buf());
    match absolute.strip_prefix(out_dir) {
        Ok(relative) => relative.display().to_string(),
        Err(_) => absolute.display().to_string(),
    }
}

/// `deadlocks.jsonl`: each line a deadlock as `record` kept it, analysed again with the
/// current rules (and the index definitions the line carries). A line that is not one
/// (a cut last line) is counted and said.
fn read_deadlock_lines(path: &Path, input: &mut IncidentInput) -> Result<()> {
    let reader = std::io::BufReader::new(
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?,
    );
    let mut unreadable = 0;
    for line in reader.lines() {
        let line = line.with_context(|| format!("cannot read {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<DeadlockReport>(&line) {
            Ok(report) => input.deadlocks.push(report.analysed_again()),
            Err(_) => unreadable += 1,
        }
    }
    input.files_read.push(path.display().to_string());
    if unreadable > 0 {
        input.files_skipped.push(format!(
            "{}: {unreadable} lines that are not a kept deadlock",
            path.display()
        ));
    }
    Ok(())
}

fn read_error_log(
    path: &Path,
    server_utc_offset: Option<i64>,
    input: &mut IncidentInput,
) -> Result<()> {
    let reader = std::io::BufReader::with_capacity(64 * 1024, open_stream(path)?);
    let mut truncated = 0;
    for entry in ErrorLogEntries::new(reader) {
        if let LogEntry::Deadlock(deadlock) = entry? {
            if deadlock.truncated {
                truncated += 1;
            }
            input
                .deadlocks
                .push(DeadlockReport::new(deadlock).in_server_zone(server_utc_offset));
        }
    }
    input.files_read.push(path.display().to_string());
    if truncated > 0 {
        input.files_skipped.push(format!(
            "{}: {truncated} deadlock prints cut short (shown as far as printed)",
            path.display()
        ));
    }
    Ok(())
}
