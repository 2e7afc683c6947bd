//! `lockdiag kill`: list, explain, confirm, re-verify, act, audit.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, Result};

use crate::act::audit::{self, AuditPhase, AuditRecord, AuditServer};
use crate::act::kill::{
    detect_method, kill_statement, recheck_and_kill, KillOutcome, KillPlan, KillReport, KillResult,
};
use crate::analyze::analyze_waits;
use crate::analyze::kill::{replication_threads_seen, reverify, select_targets};
use crate::model::LiveState;
use crate::render::{Format, View};
use crate::source::collect::{collect_live, CollectOptions};
use crate::source::connect::ConnectionConfig;

use super::resolve::KillJob;
use super::{Output, EXIT_ERROR, EXIT_FINDINGS, EXIT_OK};

/// Longer than InnoDB's information_schema cache lifetime (100 ms).
const INNODB_CACHE_REFRESH: std::time::Duration = std::time::Duration::from_millis(150);

/// Lock groups read to name the tables a target holds.
const LOCK_GROUPS: u64 = 1000;

fn confirm(count: usize) -> Result<bool> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Ok(false);
    }
    eprint!(
        "Kill {count} session{}? [y/N] ",
        if count == 1 { "" } else { "s" }
    );
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .context("cannot read the answer")?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

pub async fn run(job: &KillJob, config: &ConnectionConfig, out: &Output) -> Result<i32> {
    let (pool, caps) = super::live::open(config).await?;
    let options = CollectOptions {
        locks_limit: Some(LOCK_GROUPS),
        innodb_status: false,
        timeout: config.query_timeout,
    };
    let choose = |state: &LiveState| select_targets(state, &analyze_waits(state), &job.criteria);

    let state = collect_live(&pool, &caps, options).await;
    // INNODB_TRX was read here: the next fresh read must wait out InnoDB's cache.
    let mut trx_read_at = std::time::Instant::now();
    let server = AuditServer {
        hostname: state.server.hostname.clone(),
        port: state.server.port,
        server_id: state.server.server_id,
        version: state.server.version.clone(),
        read_only: state.server.read_only,
        replica: replication_threads_seen(&state),
    };
    if let Some(expected) = &job.expect_server {
        if !server.is(expected) {
            crate::source::connect::close(pool.clone()).await;
            anyhow::bail!(
                "--expect-server {expected}: connected to {}; nothing was killed",
                server.describe()
            );
        }
    }
    let by_analysis = job.criteria.root_blockers || job.criteria.blocking_longer_than.is_some();
    let unread = state.unread(&crate::model::WAIT_SOURCES);
    if by_analysis && !unread.is_empty() {
        crate::source::connect::close(pool.clone()).await;
        anyhow::bail!(
            "cannot choose root blockers: the lock waits could not be read ({}); nothing was killed",
            unread.join("; ")
        );
    }
    // One analysis of the listing: the targets, and the roots no KILL can end.
    let analysis = analyze_waits(&state);
    let (targets, missing) = select_targets(&state, &analysis, &job.criteria);
    // Root blockers with no session: no KILL ends them; say what does.
    let mut notes = Vec::new();
    if by_analysis {
        for root in analysis
            .root_blockers
            .iter()
            .filter(|r| r.state == crate::analyze::waits::SessionState::NoSession)
        {
            notes.push(format!(
                "transaction {} holds up {} session(s) but has no session to kill (an XA transaction left PREPARED, or one recovered after a crash): run XA RECOVER, then XA COMMIT or XA ROLLBACK with its xid",
                root.trx_id.as_deref().unwrap_or("?"),
                root.blocked_sessions
            ));
        }
    }
    let unkillable = notes.len();
    let method = detect_method(&pool, config.query_timeout).await;

    let mut results: Vec<KillResult> = targets
        .into_iter()
        .map(|t| {
            let statement = kill_statement(method, t.thread_id, t.query_id, job.kill_query);
            let (outcome, detail) = match &t.refused {
                Some(why) => (
                    KillOutcome::Refused,
                    Some(format!("{why}; pass the id with --force to kill it anyway")),
                ),
                None => (KillOutcome::Pending, None),
            };
            KillResult {
                target: t,
                statement,
                outcome,
                detail,
                recheck_to_kill_us: None,
            }
        })
        .collect();
    let actionable = results
        .iter()
        .filter(|r| r.outcome == KillOutcome::Pending)
        .count();

    // Say what will happen and where, most important first.
    if out.format == Format::Table {
        out.emit(&View::KillPlan(KillPlan {
            server: server.clone(),
            targets: results.clone(),
            missing_thread_ids: missing.clone(),
            kill_query: job.kill_query,
        }))?;
    }

    let proceed = if actionable == 0 || job.dry_run {
        false
    } else if job.yes {
        true
    } else if !std::io::stdin().is_terminal() {
        notes.push(
            "refusing to kill without confirmation: standard input is not a terminal (pass --yes)"
                .to_string(),
        );
        false
    } else {
        confirm(actionable)?
    };

    // After the answer, one fresh collection: are the targets still chosen by the criteria
    // (still root blockers, still idle long enough)? Identity is checked again per target.
    let fresh = if proceed {
        wait_for_fresh_innodb_trx(trx_read_at).await;
        let fresh = collect_live(&pool, &caps, options).await;
        trx_read_at = std::time::Instant::now();
        Some(fresh)
    } else {
        None
    };
    let fresh_targets = fresh.as_ref().map(|f| choose(f).0).unwrap_or_default();

    let mut all_killed = true;
    for r in results
        .iter_mut()
        .filter(|r| r.outcome == KillOutcome::Pending)
    {
        if job.dry_run {
            // One complete record: nothing follows it, so no "before" waiting for an "after".
            r.outcome = KillOutcome::DryRun;
            write_audit(&job.audit_log, &state, &server, r, AuditPhase::DryRun)?;
            continue;
        }
        let Some(fresh) = &fresh else {
            r.outcome = KillOutcome::Declined;
            all_killed = false;
            continue;
        };
        if let Err(why) = reverify(&r.target, &fresh_targets, fresh, job.kill_query) {
            r.outcome = KillOutcome::Skipped;
            r.detail = Some(why);
            all_killed = false;
            write_audit(&job.audit_log, &state, &server, r, AuditPhase::Skipped)?;
            continue;
        }
        // The "before" record first; then one narrow re-read of this session and its
        // transaction (InnoDB's cache waited out), and the KILL at once on that connection.
        write_audit(&job.audit_log, &state, &server, r, AuditPhase::Before)?;
        wait_for_fresh_innodb_trx(trx_read_at).await;
        let acted = recheck_and_kill(
            &pool,
            caps.server.flavour,
            &r.target,
            &r.statement,
            job.kill_query,
            config.query_timeout,
        )
        .await;
        trx_read_at = std::time::Instant::now();
        r.outcome = acted.outcome;
        r.detail = acted.detail;
        r.recheck_to_kill_us = acted.recheck_to_kill.map(|d| d.as_micros() as u64);
        if r.outcome != KillOutcome::Killed {
            all_killed = false;
        }
        let phase = if r.outcome == KillOutcome::Skipped {
            AuditPhase::Skipped
        } else {
            AuditPhase::After
        };
        write_audit(&job.audit_log, &state, &server, r, phase)?;
    }
    crate::source::connect::close(pool.clone()).await;

    let refused_any = results.iter().any(|r| r.outcome == KillOutcome::Refused);
    let nothing_to_do = results.is_empty() && missing.is_empty() && unkillable == 0;
    let all_done = all_killed && !refused_any && missing.is_empty() && unkillable == 0;
    let only_failures = results.iter().any(|r| r.outcome == KillOutcome::Failed)
        && results.iter().all(|r| r.outcome != KillOutcome::Killed);
    if out.format == Format::Json {
        // The JSON document has no room for notes: they go to stderr.
        for id in &missing {
            super::output::note(&format!(
                "thread {id} is not in the processlist (ended, or not visible to this account)"
            ));
        }
        for note in &notes {
            super::output::note(note);
        }
    }
    out.emit(&View::Kill(KillReport {
        server,
        dry_run: job.dry_run,
        audit_log: Some(job.audit_log.display().to_string()),
        targets: results,
        notes,
    }))?;
    Ok(if nothing_to_do || all_done {
        EXIT_OK
    } else if only_failures {
        EXIT_ERROR
    } else {
        EXIT_FINDINGS
    })
}

/// InnoDB serves INNODB_TRX from a cache it refreshes only when it was not
/// read for 100 ms: wait until that long has passed since `last_read`.
async fn wait_for_fresh_innodb_trx(last_read: std::time::Instant) {
    if let Some(rest) = INNODB_CACHE_REFRESH.checked_sub(last_read.elapsed()) {
        tokio::time::sleep(rest).await;
    }
}

fn write_audit(
    path: &std::path::Path,
    state: &LiveState,
    server: &AuditServer,
    r: &KillResult,
    phase: AuditPhase,
) -> Result<()> {
    let outcome = if phase == AuditPhase::Before {
        KillOutcome::Pending
    } else {
        r.outcome
    };
    audit::append(
        path,
        &AuditRecord {
            time: audit::now_rfc3339(),
            phase,
            os_user: audit::os_user(),
            db_user: state.server.current_user.as_deref(),
            server,
            target: &r.target,
            statement: &r.statement,
            dry_run: phase == AuditPhase::DryRun,
            outcome: outcome.as_str(),
            detail: r.detail.clone(),
        },
    )
    .context("the audit record could not be written, so nothing more is killed")
}
