//! `lockdiag check`: assertions for CI, exit 0 all pass, 1 any fails, 2 could not check.

use std::time::Instant;

use anyhow::Result;

use crate::analyze::checks::{self, DeadlockMark};
use crate::analyze::history::timestamp_epoch;
use crate::analyze::views::{CheckOutcome, CheckView};
use crate::analyze::{analyze_waits, DeadlockReport};
use crate::render::{junit, View};
use crate::source::collect::{collect_live, CollectOptions};
use crate::source::connect::ConnectionConfig;
use crate::source::snapshot_file::{read_snapshot, write_atomically};

use super::resolve::{Assertion, CheckJob};
use super::{Output, EXIT_ERROR, EXIT_FINDINGS, EXIT_OK};

pub async fn run(job: &CheckJob, config: &ConnectionConfig, out: &Output) -> Result<i32> {
    // Read baselines first: a bad argument must not cost a collection.
    let mut baselines = Vec::new();
    for assertion in &job.assertions {
        if let Assertion::NoNewDeadlock(path) = assertion {
            let snapshot = read_snapshot(path)?;
            let latest = DeadlockReport::latest_of_snapshot(&snapshot);
            baselines.push(DeadlockMark::of(&snapshot.state, latest.as_ref()));
        }
    }
    let started = Instant::now();
    let (pool, caps) = match super::live::open(config).await {
        Ok(opened) => opened,
        Err(e) => {
            // CI reads the JUnit file: a run that could not connect is an errored test, not silence.
            if let Some(path) = &job.junit {
                let failed = CheckView::new(
                    vec![checks::CheckResult {
                        name: "connect".into(),
                        status: checks::CheckStatus::Error,
                        figure: format!("cannot connect: {}", super::output::error_chain(&e)),
                    }],
                    started.elapsed().as_secs_f64(),
                );
                write_atomically(path, junit::checks(&failed).as_bytes())?;
            }
            return Err(e);
        }
    };
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
    let latest = DeadlockReport::latest_of_state(&state);

    let mut baselines = baselines.into_iter();
    let mut results = Vec::new();
    for assertion in &job.assertions {
        results.push(match assertion {
            Assertion::MaxLockWait(d) => checks::max_lock_wait(&state, &analysis, d.as_secs()),
            Assertion::MaxBlocked(n) => checks::max_blocked(&state, &analysis, *n),
            Assertion::MaxTrxAge(d) => checks::max_trx_age(&state, d.as_secs()),
            Assertion::NoMetadataLockWaits => checks::no_metadata_lock_waits(&state, &analysis),
            Assertion::NoDeadlockSince(d) => {
                let latest_info = latest.as_ref().map(|r| {
                    let ts = r.deadlock.timestamp.as_deref();
                    (
                        ts.and_then(|ts| timestamp_epoch(ts, state.server.utc_offset_secs)),
                        ts.unwrap_or("(no timestamp)").to_string(),
                        &r.analysis,
                    )
                });
                checks::no_deadlock_since(
                    &state,
                    latest_info,
                    d.as_secs(),
                    chrono::Utc::now().timestamp(),
                )
            }
            Assertion::NoNewDeadlock(path) => checks::no_new_deadlock(
                &state,
                &DeadlockMark::of(&state, latest.as_ref()),
                &baselines.next().unwrap_or_default(),
                &path.display().to_string(),
            ),
            Assertion::NoDuplicates(spec, request) => {
                let scan =
                    super::dupes::scan_with_progress(&pool, caps.server.flavour, request).await;
                checks::no_duplicates(
                    format!("no-duplicates {spec}"),
                    scan.as_ref().map_err(|e| format!("{e:#}")),
                )
            }
        });
    }
    crate::source::connect::close(pool.clone()).await;

    let view = CheckView::new(results, started.elapsed().as_secs_f64());
    if let Some(path) = &job.junit {
        write_atomically(path, junit::checks(&view).as_bytes())?;
    }
    let code = match view.result {
        CheckOutcome::Pass => EXIT_OK,
        CheckOutcome::Fail => EXIT_FINDINGS,
        CheckOutcome::Error => EXIT_ERROR,
    };
    out.emit(&View::Check(view))?;
    Ok(code)
}
