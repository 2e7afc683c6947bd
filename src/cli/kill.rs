//! `lockdiag kill`: list, explain, confirm, re-verify, act, audit.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, Result};

use crate::act::audit::{self, AuditRecord, AuditServer};
use crate::act::kill::{
    detect_method, kill_statement, send_kill, KillOutcome, KillPlan, KillReport, KillResult,
};
use crate::analyze::analyze_waits;
use crate::analyze::kill::{reverify, select_targets};
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
    let listed_at = std::time::Instant::now();
    let (targets, missing) = choose(&state);
    let method = detect_method(&pool, config.query_timeout).await;
    let server = AuditServer {
        hostname: state.server.hostname.clone(),
        port: state.server.port,
        server_id: state.server.server_id,
        version: state.server.version.clone(),
    };

    let mut results: Vec<KillResult> = targets
        .into_iter()
        .map(|t| {
            let statement = kill_statement(method, t.thread_id, job.kill_query);
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
            }
        })
        .collect();
    let actionable = results
        .iter()
        .filter(|r| r.outcome == KillOutcome::Pending)
        .count();

    // Say what will happen, most important first.
    if out.format == Format::Table {
        out.emit(&View::KillPlan(KillPlan {
            targets: results.clone(),
            missing_thread_ids: missing.clone(),
            kill_query: job.kill_query,
        }))?;
    }

    let mut notes = Vec::new();
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

    let mut all_killed = true;
    for r in results
        .iter_mut()
        .filter(|r| r.outcome == KillOutcome::Pending)
    {
        if job.dry_run {
            r.outcome = KillOutcome::DryRun;
            write_audit(&job.audit_log, &state, &server, r, "before", true)?;
            continue;
        }
        if !proceed {
            r.outcome = KillOutcome::Declined;
            all_killed = false;
            continue;
        }
        // Re-verify against a fresh look, right before acting. InnoDB serves INNODB_TRX from a
        // cache it refreshes only when not read for 100 ms: wait that out after the listing.
        if let Some(rest) = INNODB_CACHE_REFRESH.checked_sub(listed_at.elapsed()) {
            tokio::time::sleep(rest).await;
        }
        let fresh = collect_live(&pool, &caps, options).await;
        let (fresh_targets, _) = choose(&fresh);
        if let Err(why) = reverify(&r.target, &fresh_targets, &fresh) {
            r.outcome = KillOutcome::Skipped;
            r.detail = Some(why);
            all_killed = false;
            write_audit(&job.audit_log, &state, &server, r, "skipped", false)?;
            continue;
        }
        write_audit(&job.audit_log, &state, &server, r, "before", false)?;
        match send_kill(&pool, &r.statement, config.query_timeout).await {
            Ok(()) => r.outcome = KillOutcome::Killed,
            Err(e) => {
                r.outcome = KillOutcome::Failed;
                r.detail = Some(e.to_string());
                all_killed = false;
            }
        }
        write_audit(&job.audit_log, &state, &server, r, "after", false)?;
    }
    pool.disconnect().await.ok();

    let refused_any = results.iter().any(|r| r.outcome == KillOutcome::Refused);
    let nothing_to_do = results.is_empty() && missing.is_empty();
    let all_done = all_killed && !refused_any && missing.is_empty();
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

fn write_audit(
    path: &std::path::Path,
    state: &LiveState,
    server: &AuditServer,
    r: &KillResult,
    phase: &str,
    dry_run: bool,
) -> Result<()> {
    let outcome = if phase == "before" && !dry_run {
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
            dry_run,
            outcome: outcome.as_str(),
            detail: r.detail.clone(),
        },
    )
    .context("the audit record could not be written, so nothing more is killed")
}
