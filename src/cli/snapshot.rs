//! `lockdiag snapshot`: one collection saved as JSON (or Prometheus text), atomically.

use anyhow::{Context, Result};

use crate::analyze::analyze_waits;
use crate::model::Snapshot;
use crate::render::json::{to_json, SCHEMA_VERSION};
use crate::render::{prometheus, DeadlockReport, Format};
use crate::source::collect::{collect_live, CollectOptions};
use crate::source::snapshot_file::{output_path, prune, write_atomically};

use super::args::{ConnectionArgs, SnapshotArgs};
use super::config::resolve_connection;
use super::{Output, EXIT_OK};

pub async fn run(args: &SnapshotArgs, connection: &ConnectionArgs, out: &Output) -> Result<i32> {
    let config = resolve_connection(connection)?;
    let target = config.target();
    let started = chrono::Utc::now();
    let (pool, caps) = super::live::open(&config).await?;
    let mut state = collect_live(
        &pool,
        &caps,
        CollectOptions {
            locks_limit: Some(args.limit),
            innodb_status: true,
            timeout: config.query_timeout,
        },
    )
    .await;
    pool.disconnect().await.ok();
    let ended = chrono::Utc::now();

    let analysis = analyze_waits(&state);
    let latest = DeadlockReport::latest_in(state.innodb_status.as_deref());
    let (content, extension) = match out.format {
        Format::Prometheus => (
            prometheus::snapshot(&state, &analysis, latest.as_ref(), &target),
            "prom",
        ),
        _ => {
            if args.no_raw {
                state.innodb_status = None;
            }
            let snapshot = Snapshot {
                schema_version: SCHEMA_VERSION,
                kind: "snapshot".into(),
                lockdiag_version: env!("CARGO_PKG_VERSION").into(),
                collected_at_start: started.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                collected_at_end: ended.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                target,
                state,
                analysis: serde_json::to_value(&analysis).context("cannot encode the analysis")?,
                latest_deadlock: latest
                    .as_ref()
                    .map(serde_json::to_value)
                    .transpose()
                    .context("cannot encode the deadlock")?,
            };
            (to_json(&snapshot), "json")
        }
    };
    let Some(out_path) = &args.out else {
        out.print(&content);
        return Ok(EXIT_OK);
    };
    let path = output_path(out_path, started, extension);
    write_atomically(&path, content.as_bytes())?;
    if let Some(keep) = args.keep {
        if out_path.is_dir() {
            prune(out_path, keep, ended)?;
        }
    }
    eprintln!("lockdiag: snapshot written to {}", path.display());
    Ok(EXIT_OK)
}

/// The latest deadlock a snapshot carries: its parsed copy, else parsed from its raw status text.
pub fn latest_deadlock(snapshot: &crate::model::Snapshot) -> Result<Option<DeadlockReport>> {
    match &snapshot.latest_deadlock {
        Some(value) => Ok(Some(
            serde_json::from_value::<DeadlockReport>(value.clone())
                .context("the snapshot's latest_deadlock is unreadable")?,
        )),
        None => Ok(DeadlockReport::latest_in(
            snapshot.state.innodb_status.as_deref(),
        )),
    }
}
