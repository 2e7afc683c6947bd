//! `lockdiag snapshot`: one collection saved as JSON (or Prometheus text), atomically.

use anyhow::Result;

use crate::act::record::take_snapshot;
use crate::render::{render, Format, View};
use crate::source::connect::ConnectionConfig;
use crate::source::server::Server;
use crate::source::snapshot_file::{output_path, prune, write_atomically};

use super::resolve::SnapshotJob;
use super::{output, Output};

/// With `--format prometheus --out FILE`: a failed collection replaces the
/// last file with `lockdiag_up 0` (and when), so stale gauges stop being exported.
fn replace_stale_metrics(
    job: &SnapshotJob,
    config: &ConnectionConfig,
    out: &Output,
    at: chrono::DateTime<chrono::Utc>,
) {
    let (Format::Prometheus, Some(out_path)) = (out.format, &job.out) else {
        return;
    };
    let text = crate::render::prometheus::collection_failed(&config.address(), at.timestamp());
    let written = output_path(out_path, at, "prom")
        .and_then(|path| write_atomically(&path, text.as_bytes()).map(|()| path));
    match written {
        Ok(path) => output::note(&format!("{} now says lockdiag_up 0", path.display())),
        Err(e) => output::note(&format!("cannot mark the metrics as stale: {e:#}")),
    }
}

/// A connection that failed: the metrics file says so (`lockdiag_up 0`), then the error.
pub fn connect_failed(
    job: &SnapshotJob,
    config: &ConnectionConfig,
    out: &Output,
    e: anyhow::Error,
) -> anyhow::Error {
    replace_stale_metrics(job, config, out, chrono::Utc::now());
    e
}

pub async fn run(job: &SnapshotJob, server: &Server, out: &Output) -> Result<i32> {
    let started = chrono::Utc::now();
    let view = take_snapshot(server, job.lock_groups, job.no_raw, started, None).await;
    // Written all the same (for the post-mortem), but the run fails when the waits are unknown.
    let code = super::live::exit_for_lock_waits(&view.state);
    let ended = chrono::Utc::now();
    let view = View::Snapshot(Box::new(view));
    let content = render(&view, out.format, &out.style)?;
    let Some(out_path) = &job.out else {
        output::write_stdout(content.as_bytes())?;
        return Ok(code);
    };
    let extension = if out.format == Format::Prometheus {
        "prom"
    } else {
        "json"
    };
    let path = output_path(out_path, started, extension)?;
    write_atomically(&path, content.as_bytes())?;
    if let Some(keep) = job.keep {
        if out_path.is_dir() {
            prune(out_path, keep, ended, &path)?;
        }
    }
    output::note(&format!("snapshot written to {}", path.display()));
    Ok(code)
}
