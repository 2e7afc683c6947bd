//! `lockdiag check`: assertions for CI, exit 0 all pass, 1 any fails, 2 could not check.

use std::time::{Duration, Instant};

use anyhow::Result;

use crate::analyze::checks::{self, DeadlockMark};
use crate::analyze::time::timestamp_epoch;
use crate::analyze::views::{CheckOutcome, CheckView};
use crate::analyze::{analyze_waits, DeadlockReport};
use crate::model::{LiveState, TableRef};
use crate::render::{junit, View};
use crate::source::server::Server;
use crate::source::snapshot_file::{read_snapshot, write_atomically};

use super::resolve::{Assertion, CheckJob};
use super::{Output, EXIT_ERROR, EXIT_FINDINGS, EXIT_OK};

/// The baselines of `--no-new-deadlock`, read before anything is spent on a collection
/// (a bad argument must not cost one), in the order of the assertions.
pub fn baselines(job: &CheckJob) -> Result<Vec<DeadlockMark>> {
    let mut baselines = Vec::new();
    for assertion in &job.assertions {
        if let Assertion::NoNewDeadlock(path) = assertion {
            let snapshot = read_snapshot(path)?;
            let latest = DeadlockReport::latest_of_snapshot(&snapshot);
            baselines.push(DeadlockMark::of(&snapshot.state, latest.as_ref()));
        }
    }
    Ok(baselines)
}

/// CI reads the JUnit file: a run that could not connect is an errored test, not silence.
pub fn connect_failed(job: &CheckJob, e: anyhow::Error) -> anyhow::Error {
    let Some(path) = &job.junit else {
        return e;
    };
    let failed = CheckView::new(
        vec![checks::CheckResult::error(
            "connect".into(),
            format!("cannot connect: {}", super::output::error_chain(&e)),
        )],
        0.0,
    );
    match write_atomically(path, junit::checks(&failed).as_bytes()) {
        Ok(()) => e,
        Err(write) => e.context(format!(
            "and the JUnit file could not be written: {write:#}"
        )),
    }
}

pub async fn run(
    job: &CheckJob,
    baselines: Vec<DeadlockMark>,
    server: &Server,
    out: &Output,
) -> Result<i32> {
    let started = Instant::now();
    let missing = missing_tables(job, server).await;
    // Only the deadlock assertions read InnoDB's status text: a poll every 500 ms need not.
    let innodb_status = job.assertions.iter().any(|a| {
        matches!(
            a,
            Assertion::NoDeadlockSince(_) | Assertion::NoNewDeadlock(_)
        )
    });
    let mut state = server.collect(None, innodb_status).await;
    if let Some(wait) = job.wait_ready {
        let deadline = started + wait;
        while !ddl_settled(job, &state, &missing) {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            tokio::time::sleep(WAIT_READY_POLL.min(deadline - now)).await;
            state = server.collect(None, innodb_status).await;
        }
    }
    let waited = job.wait_ready.map(|_| started.elapsed());
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
            Assertion::DdlReady { schema, table } => {
                ddl_ready(&state, &missing, schema, table, waited)
            }
            Assertion::NoDuplicates(spec, request) => {
                let scan = super::dupes::scan_with_progress(server, request).await;
                checks::no_duplicates(
                    format!("no-duplicates {spec}"),
                    scan.as_ref().map_err(|e| format!("{e:#}")),
                )
            }
        });
    }
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

/// How often `--wait-ready` looks again. InnoDB's cache behind INNODB_TRX needs 100 ms
/// unread to refresh; this leaves it five times that, and the server a quiet poller.
const WAIT_READY_POLL: Duration = Duration::from_millis(500);

/// The `--ddl-ready` tables the server does not have, with the closest names it has
/// (looked up once: a typo must not pass, nor be waited for).
async fn missing_tables(job: &CheckJob, server: &Server) -> Vec<(TableRef, Vec<String>)> {
    let mut missing = Vec::new();
    for assertion in &job.assertions {
        if let Assertion::DdlReady { schema, table } = assertion {
            let wanted = TableRef {
                schema: Some(schema.clone()),
                table: table.clone(),
            };
            if let Some(closest) = super::live::unknown_table(&wanted, server).await {
                missing.push((wanted, closest));
            }
        }
    }
    missing
}

fn ddl_ready(
    state: &LiveState,
    missing: &[(TableRef, Vec<String>)],
    schema: &str,
    table: &str,
    waited: Option<Duration>,
) -> checks::CheckResult {
    let unknown = missing
        .iter()
        .find(|(t, _)| t.schema.as_deref() == Some(schema) && t.table == table);
    match unknown {
        Some((_, closest)) => checks::no_such_table(schema, table, closest),
        None => checks::ddl_ready(state, schema, table, waited),
    }
}

/// `--wait-ready` stops when every `--ddl-ready` table is ready, or one cannot be
/// checked (waiting would not make it checkable).
fn ddl_settled(job: &CheckJob, state: &LiveState, missing: &[(TableRef, Vec<String>)]) -> bool {
    job.assertions.iter().all(|a| match a {
        Assertion::DdlReady { schema, table } => {
            ddl_ready(state, missing, schema, table, None).status != checks::CheckStatus::Fail
        }
        _ => true,
    })
}
