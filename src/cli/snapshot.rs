//! `lockdiag snapshot`: one collection saved as JSON (or Prometheus text), atomically.

use anyhow::Result;

use crate::analyze::views::SnapshotView;
use crate::analyze::{analyze_waits, DeadlockReport};
use crate::render::{render, Format, View};
use crate::source::collect::{collect_live, CollectOptions};
use crate::source::connect::ConnectionConfig;
use crate::source::snapshot_file::{output_path, prune, write_atomically};

use super::resolve::SnapshotJob;
use super::{output, Output};

/// One full collection as a snapshot document's body (shared with `record`).
pub async fn take(
    pool: &mysql_async::Pool,
    caps: &crate::source::detect::Capabilities,
    config: &ConnectionConfig,
    lock_groups: u64,
    no_raw: bool,
    started: chrono::DateTime<chrono::Utc>,
    trigger: Option<String>,
) -> SnapshotView {
    let mut state = collect_live(
        pool,
        caps,
        CollectOptions {
            locks_limit: Some(lock_groups),
            innodb_status: true,
            timeout: config.query_timeout,
        },
    )
    .await;
    let ended = chrono::Utc::now();
    let analysis = crate::analyze::views::lock_waits_read(&state).then(|| analyze_waits(&state));
    let latest_deadlock = DeadlockReport::latest_of_state(&state);
    if no_raw {
        state.innodb_status = None;
    }
    SnapshotView {
        collected_at_start: rfc3339(started),
        collected_at_end: rfc3339(ended),
        target: config.address(),
        state,
        analysis,
        latest_deadlock,
        trigger,
    }
}

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

fn rfc3339(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub async fn run(job: &SnapshotJob, config: &ConnectionConfig, out: &Output) -> Result<i32> {
    let started = chrono::Utc::now();
    let (pool, caps) = match super::live::open(config).await {
        Ok(opened) => opened,
        Err(e) => {
            replace_stale_metrics(job, config, out, started);
            return Err(e);
        }
    };
    let view = take(
        &pool,
        &caps,
        config,
        job.lock_groups,
        job.no_raw,
        started,
        None,
    )
    .await;
    crate::source::connect::close(pool.clone()).await;
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
