//! `status --hosts` and `snapshot --hosts`: every server of a hosts file read at
//! once (`act::fleet`), then one line per server — the fleet view, worst first, or
//! where each server's snapshot went. Exit 2 when any server could not be read
//! (or its lock waits are not wholly known); the others are printed all the same.

use std::time::Duration;

use anyhow::Result;

use crate::act::fleet::{collect_fleet, FleetCollection, FleetRead};
use crate::analyze::fleet::{fleet_figures, fleet_view, lock_waits_problem, FleetServer};
use crate::render::json::snapshot_document;
use crate::render::View;
use crate::source::snapshot_file::{output_path, prune, write_atomically};

use super::resolve::{FleetJob, FleetTarget};
use super::secrets::redact;
use super::{output, Output, EXIT_ERROR, EXIT_OK};

pub async fn run(job: &FleetJob, deadline: Duration, out: &Output) -> Result<i32> {
    let configs: Vec<_> = job.targets.iter().map(|t| t.config.clone()).collect();
    let how = FleetCollection {
        parallel: job.parallel,
        deadline,
        lock_groups: job.lock_groups,
        no_raw: job.no_raw,
    };
    let reads = collect_fleet(&configs, how).await;
    match &job.snapshots {
        None => status(&job.targets, reads, out),
        Some((dir, keep)) => snapshots(&job.targets, reads, dir, *keep),
    }
}

fn status(targets: &[FleetTarget], reads: Vec<FleetRead>, out: &Output) -> Result<i32> {
    let now = chrono::Utc::now().timestamp();
    let servers = targets
        .iter()
        .zip(reads)
        .map(|(target, read)| match read.result {
            Ok(view) => FleetServer::read(target.name.clone(), fleet_figures(&view, now)),
            // The messages name accounts and addresses, never passwords; redacted all the same.
            Err(e) => FleetServer::failed(target.name.clone(), redact(&e)),
        })
        .collect();
    let view = fleet_view(servers);
    out.emit(&View::Fleet(view.clone()))?;
    Ok(if view.complete() { EXIT_OK } else { EXIT_ERROR })
}

/// Each server's snapshot in its own directory, written as `snapshot --out DIR/` writes.
fn snapshots(
    targets: &[FleetTarget],
    reads: Vec<FleetRead>,
    dir: &std::path::Path,
    keep: Option<Duration>,
) -> Result<i32> {
    let mut code = EXIT_OK;
    let mut lines = String::new();
    for (target, read) in targets.iter().zip(reads) {
        let written = read.result.and_then(|view| {
            let waits = lock_waits_problem(&view.state);
            let server_dir = dir.join(&target.dir).join("");
            let path = output_path(&server_dir, read.started, "json")
                .and_then(|path| {
                    write_atomically(&path, snapshot_document(&view).as_bytes())?;
                    if let Some(keep) = keep {
                        prune(&server_dir, keep, chrono::Utc::now(), &path)?;
                    }
                    Ok(path)
                })
                .map_err(|e| output::error_chain(&e))?;
            Ok((path, waits))
        });
        let line = match written {
            Ok((path, None)) => format!("{}\t{}", target.name, path.display()),
            Ok((path, Some(problem))) => {
                code = EXIT_ERROR;
                format!("{}\t{} (error: {problem})", target.name, path.display())
            }
            Err(e) => {
                code = EXIT_ERROR;
                format!("{}\terror: {}", target.name, redact(&e))
            }
        };
        lines.push_str(&line);
        lines.push('\n');
    }
    output::write_stdout(lines.as_bytes())?;
    Ok(code)
}
