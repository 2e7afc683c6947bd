//! `lockdiag kill`: list, explain, confirm, re-verify, act, audit.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{bail, Context, Result};
use regex::Regex;
use serde::Serialize;

use crate::act::audit::{self, AuditRecord, AuditServer};
use crate::act::kill::{detect_method, kill_statement, send_kill};
use crate::analyze::analyze_waits;
use crate::analyze::kill::{describe_target, reverify, select_targets, KillCriteria, KillTarget};
use crate::analyze::waits::SessionState;
use crate::model::LiveState;
use crate::render::json::{to_json, SCHEMA_VERSION};
use crate::render::Format;
use crate::source::collect::{collect_live, CollectOptions};

use super::args::{ConnectionArgs, KillArgs};
use super::config::resolve_connection;
use super::{Output, EXIT_ERROR, EXIT_FINDINGS, EXIT_OK};

/// Longer than InnoDB's information_schema cache lifetime (100 ms).
const INNODB_CACHE_REFRESH: std::time::Duration = std::time::Duration::from_millis(150);

/// Lock groups read to name the tables a target holds.
const LOCK_GROUPS: u64 = 1000;

#[derive(Debug, Serialize)]
struct KillResult {
    #[serde(flatten)]
    target: KillTarget,
    statement: String,
    /// `killed`, `failed`, `skipped`, `refused`, `declined`, `dry_run`.
    outcome: String,
    detail: Option<String>,
}

#[derive(Debug, Serialize)]
struct KillDocument {
    schema_version: u32,
    lockdiag_version: &'static str,
    dry_run: bool,
    audit_log: Option<String>,
    targets: Vec<KillResult>,
}

fn criteria(args: &KillArgs) -> Result<KillCriteria> {
    if args.force && args.thread_ids.is_empty() {
        bail!("--force works only with explicit thread ids: it never widens a selection");
    }
    let c = KillCriteria {
        thread_ids: args.thread_ids.clone(),
        root_blockers: args.root_blockers,
        blocking_longer_than: args.blocking_longer_than,
        idle_in_trx_longer_than: args.idle_in_trx_longer_than,
        user: args.user.clone(),
        db: args.db.clone(),
        query_pattern: args
            .match_query
            .as_deref()
            .map(Regex::new)
            .transpose()
            .context("invalid --match regular expression")?,
        force: args.force,
    };
    if !c.has_selector() {
        bail!("say whom to kill: thread ids, --root-blockers, --blocking-longer-than D or --idle-in-trx-longer-than D");
    }
    Ok(c)
}

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

pub async fn run(args: &KillArgs, connection: &ConnectionArgs, out: &Output) -> Result<i32> {
    if matches!(out.format, Format::Dot | Format::Mermaid) {
        bail!("kill prints a table or JSON");
    }
    let criteria = criteria(args)?;
    let audit_path = match &args.audit_log {
        Some(p) => p.clone(),
        None => audit::default_audit_path()
            .context("no audit log path: set --audit-log, XDG_STATE_HOME or HOME")?,
    };
    let config = resolve_connection(connection)?;
    let (pool, caps) = super::live::open(&config).await?;
    let options = CollectOptions {
        locks_limit: Some(LOCK_GROUPS),
        innodb_status: false,
        timeout: config.query_timeout,
    };
    let collect_targets =
        |state: &LiveState| select_targets(state, &analyze_waits(state), &criteria);

    let state = collect_live(&pool, &caps, options).await;
    let listed_at = std::time::Instant::now();
    let (targets, missing) = collect_targets(&state);
    let mut notes: Vec<String> = missing
        .iter()
        .map(|id| {
            format!("thread {id} is not in the processlist (ended, or not visible to this account)")
        })
        .collect();
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
            let statement = kill_statement(method, t.thread_id, args.query);
            let (outcome, detail) = match &t.refused {
                Some(why) => (
                    "refused".to_string(),
                    Some(format!("{why}; pass the id with --force to kill it anyway")),
                ),
                None => ("pending".to_string(), None),
            };
            KillResult {
                target: t,
                statement,
                outcome,
                detail,
            }
        })
        .collect();
    let actionable = results.iter().filter(|r| r.outcome == "pending").count();

    // Say what will happen, most important first.
    if out.format == Format::Table {
        let mut text = String::new();
        if results.is_empty() {
            text.push_str("Nothing to kill: no session matches.\n");
        }
        for r in &results {
            let prefix = if r.outcome == "refused" {
                "REFUSED "
            } else {
                ""
            };
            text.push_str(&format!(
                "{prefix}{}\n",
                describe_target(&r.target, args.query)
            ));
            if let Some(detail) = &r.detail {
                text.push_str(&format!("  {detail}\n"));
            }
            if args.query && r.target.state == SessionState::IdleInTrx && r.outcome != "refused" {
                text.push_str(&format!(
                    "  warning: thread {} is idle in a transaction: KILL QUERY releases none of its locks; drop --query to end the connection and roll the transaction back\n",
                    r.target.thread_id
                ));
            }
            if r.outcome != "refused" {
                text.push_str(&format!("  statement: {}\n", r.statement));
            }
        }
        for note in &notes {
            text.push_str(&format!("{note}\n"));
        }
        out.print(&text);
    }

    let proceed = if actionable == 0 || args.dry_run {
        false
    } else if args.yes {
        true
    } else if !std::io::stdin().is_terminal() {
        notes.push(
            "refusing to kill without confirmation: standard input is not a terminal (pass --yes)"
                .into(),
        );
        false
    } else {
        confirm(actionable)?
    };

    let mut all_killed = true;
    for r in results.iter_mut().filter(|r| r.outcome == "pending") {
        if args.dry_run {
            r.outcome = "dry_run".into();
            write_audit(&audit_path, &state, &server, r, "before", true)?;
            continue;
        }
        if !proceed {
            r.outcome = "declined".into();
            all_killed = false;
            continue;
        }
        // Re-verify against a fresh look, right before acting. InnoDB serves INNODB_TRX from a
        // cache it refreshes only when not read for 100 ms: wait that out after the listing.
        if let Some(rest) = INNODB_CACHE_REFRESH.checked_sub(listed_at.elapsed()) {
            tokio::time::sleep(rest).await;
        }
        let fresh = collect_live(&pool, &caps, options).await;
        let (fresh_targets, _) = collect_targets(&fresh);
        if let Err(why) = reverify(&r.target, &fresh_targets, &fresh) {
            r.outcome = "skipped".into();
            r.detail = Some(why);
            all_killed = false;
            write_audit(&audit_path, &state, &server, r, "skipped", false)?;
            continue;
        }
        write_audit(&audit_path, &state, &server, r, "before", false)?;
        match send_kill(&pool, &r.statement, config.query_timeout).await {
            Ok(()) => r.outcome = "killed".into(),
            Err(e) => {
                r.outcome = "failed".into();
                r.detail = Some(e.to_string());
                all_killed = false;
            }
        }
        write_audit(&audit_path, &state, &server, r, "after", false)?;
    }
    pool.disconnect().await.ok();

    let refused_any = results.iter().any(|r| r.outcome == "refused");
    match out.format {
        Format::Json => out.print(&to_json(&KillDocument {
            schema_version: SCHEMA_VERSION,
            lockdiag_version: env!("CARGO_PKG_VERSION"),
            dry_run: args.dry_run,
            audit_log: Some(audit_path.display().to_string()),
            targets: results
                .iter()
                .map(|r| KillResult {
                    target: r.target.clone(),
                    statement: r.statement.clone(),
                    outcome: r.outcome.clone(),
                    detail: r.detail.clone(),
                })
                .collect(),
        })),
        _ => {
            let mut text = String::new();
            for r in results.iter().filter(|r| r.outcome != "refused") {
                let detail = r
                    .detail
                    .as_deref()
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default();
                text.push_str(&format!(
                    "thread {}: {}{detail}\n",
                    r.target.thread_id,
                    r.outcome.replace('_', " ")
                ));
            }
            for note in notes.iter().skip(missing.len()) {
                text.push_str(&format!("{note}\n"));
            }
            out.print(&text);
        }
    }
    if !notes.is_empty() && out.format == Format::Json {
        for note in &notes {
            eprintln!("lockdiag: {note}");
        }
    }
    let nothing_to_do = results.is_empty() && missing.is_empty();
    let all_done = all_killed && !refused_any && missing.is_empty();
    let only_failures = results.iter().any(|r| r.outcome == "failed")
        && results.iter().all(|r| r.outcome != "killed");
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
        "pending"
    } else {
        r.outcome.as_str()
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
            outcome,
            detail: r.detail.clone(),
        },
    )
    .context("the audit record could not be written, so nothing more is killed")
}
