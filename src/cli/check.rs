//! `lockdiag check`: assertions for CI, exit 0 all pass, 1 any fails, 2 could not check.

use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::analyze::checks::{self, CheckResult, CheckStatus};
use crate::analyze::history::timestamp_epoch;
use crate::analyze::{analyze_deadlock, analyze_waits};
use crate::parse::parse_innodb_status;
use crate::render::json::{to_json, SCHEMA_VERSION};
use crate::render::{junit, Format};
use crate::source::collect::{collect_live, CollectOptions};
use crate::source::snapshot_file::{read_snapshot, write_atomically};

use super::args::{CheckArgs, ConnectionArgs};
use super::config::resolve_connection;
use super::dupes::{request, scan_with_progress};
use super::{Output, EXIT_ERROR, EXIT_FINDINGS, EXIT_OK};

#[derive(Serialize)]
struct CheckDocument<'a> {
    schema_version: u32,
    lockdiag_version: &'static str,
    /// `pass`, `fail` or `error`.
    result: &'static str,
    checks: &'a [CheckResult],
}

fn has_assertion(args: &CheckArgs) -> bool {
    args.max_lock_wait.is_some()
        || args.max_blocked.is_some()
        || args.max_trx_age.is_some()
        || args.no_deadlock_since.is_some()
        || args.no_new_deadlock.is_some()
        || !args.no_duplicates.is_empty()
        || args.no_metadata_lock_waits
}

pub async fn run(args: &CheckArgs, connection: &ConnectionArgs, out: &Output) -> Result<i32> {
    if !has_assertion(args) {
        bail!("give at least one assertion: --max-lock-wait, --max-blocked, --max-trx-age, --no-deadlock-since, --no-new-deadlock, --no-duplicates, --no-metadata-lock-waits");
    }
    // Read the baseline first: a bad argument must not cost a collection.
    let baseline = match &args.no_new_deadlock {
        Some(path) => {
            let snapshot = read_snapshot(path)?;
            let report = super::snapshot::latest_deadlock(&snapshot)?;
            Some(report.map(|r| {
                (
                    r.deadlock.timestamp.unwrap_or_default(),
                    r.analysis.fingerprint,
                )
            }))
        }
        None => None,
    };
    let started = Instant::now();
    let config = resolve_connection(connection)?;
    let dupes_requests = args.no_duplicates.iter().map(|spec| {
        let (table, columns) = spec.rsplit_once('.').with_context(|| {
            format!("--no-duplicates {spec}: expected TABLE.COL[,COL…] or SCHEMA.TABLE.COL[,COL…]")
        })?;
        request(&config, table, columns, None, 5, 10_000).map(|r| (spec.clone(), r))
    });
    let dupes_requests: Vec<_> = dupes_requests.collect::<Result<_>>()?;
    let (pool, caps) = super::live::open(&config).await?;
    let state = collect_live(
        &pool,
        &caps,
        CollectOptions {
            locks_limit: None,
            innodb_status: true,
            timeout: config.query_timeout,
        },
    )
    .await;
    let analysis = analyze_waits(&state);
    let latest = state
        .innodb_status
        .as_deref()
        .map(parse_innodb_status)
        .and_then(|s| s.latest_deadlock);
    let latest_analysis = latest.as_ref().map(analyze_deadlock);

    let mut results = Vec::new();
    if let Some(d) = args.max_lock_wait {
        results.push(checks::max_lock_wait(&state, &analysis, d.as_secs()));
    }
    if let Some(n) = args.max_blocked {
        results.push(checks::max_blocked(&state, &analysis, n));
    }
    if let Some(d) = args.max_trx_age {
        results.push(checks::max_trx_age(&state, d.as_secs()));
    }
    if args.no_metadata_lock_waits {
        results.push(checks::no_metadata_lock_waits(&state, &analysis));
    }
    if let Some(d) = args.no_deadlock_since {
        let latest_info = latest
            .as_ref()
            .zip(latest_analysis.as_ref())
            .map(|(dl, a)| {
                let ts = dl
                    .timestamp
                    .clone()
                    .unwrap_or_else(|| "(no timestamp)".into());
                (dl.timestamp.as_deref().and_then(timestamp_epoch), ts, a)
            });
        results.push(checks::no_deadlock_since(
            &state,
            latest_info,
            d.as_secs(),
            chrono::Utc::now().timestamp(),
        ));
    }
    if let (Some(path), Some(baseline)) = (&args.no_new_deadlock, baseline) {
        let current = latest
            .as_ref()
            .zip(latest_analysis.as_ref())
            .map(|(dl, a)| {
                (
                    dl.timestamp.clone().unwrap_or_default(),
                    a.fingerprint.clone(),
                )
            });
        results.push(checks::no_new_deadlock(
            &state,
            current,
            baseline,
            &path.display().to_string(),
        ));
    }
    for (spec, request) in &dupes_requests {
        let name = format!("no-duplicates {spec}");
        results.push(
            match scan_with_progress(&pool, caps.server.flavour, request).await {
                Ok(report) => CheckResult {
                    name,
                    status: if report.duplicate_groups == 0 && !report.interrupted {
                        CheckStatus::Pass
                    } else {
                        CheckStatus::Fail
                    },
                    figure: if report.duplicate_groups == 0 {
                        format!("no duplicates in {} rows", report.rows_scanned)
                    } else {
                        let first = report
                            .groups
                            .first()
                            .map(|g| format!(", e.g. {} ×{}", g.key.join(","), g.count))
                            .unwrap_or_default();
                        format!(
                            "{} duplicate key(s), {} rows{first}",
                            report.duplicate_groups, report.duplicated_rows
                        )
                    },
                },
                Err(e) => CheckResult {
                    name,
                    status: CheckStatus::Error,
                    figure: format!("cannot check: {e:#}"),
                },
            },
        );
    }
    pool.disconnect().await.ok();

    let overall = if results.iter().any(|r| r.status == CheckStatus::Error) {
        ("error", EXIT_ERROR)
    } else if results.iter().any(|r| r.status == CheckStatus::Fail) {
        ("fail", EXIT_FINDINGS)
    } else {
        ("pass", EXIT_OK)
    };
    if let Some(path) = &args.junit {
        write_atomically(
            path,
            junit::checks(&results, started.elapsed().as_secs_f64()).as_bytes(),
        )?;
    }
    match out.format {
        Format::Json => out.print(&to_json(&CheckDocument {
            schema_version: SCHEMA_VERSION,
            lockdiag_version: env!("CARGO_PKG_VERSION"),
            result: overall.0,
            checks: &results,
        })),
        _ => {
            let mut text = String::new();
            for r in &results {
                let word = match r.status {
                    CheckStatus::Pass => "PASS ",
                    CheckStatus::Fail => "FAIL ",
                    CheckStatus::Error => "ERROR",
                };
                text.push_str(&format!("{word} {}: {}\n", r.name, r.figure));
            }
            out.print(&text);
        }
    }
    Ok(overall.1)
}
