//! The kill procedure: list the targets the analysis chooses, show the plan and
//! ask (through the caller's confirmation, so `kill` and `watch` share it and a
//! test needs no terminal), collect again, re-verify each target, audit, and
//! send `KILL CONNECTION`/`KILL QUERY` (or the managed service's procedure) on
//! the connection that re-checked it a moment before.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use mysql_async::{Params, Pool};

use crate::analyze::analyze_waits;
use crate::analyze::kill::{
    replication_threads_seen, reverify, same_session, select_targets, KillCriteria, KillOutcome,
    KillPlan, KillReport, KillResult, KillServer, KillTarget, SessionNow, UnkillableRoot,
};
use crate::model::{Flavour, LiveState, SourceName, WAIT_SOURCES};
use crate::source::kill::kill_statement;
use crate::source::query::{checkout, fetch_on, freshness_mark, snapshot_transaction};
use crate::source::server::Server;

use super::audit::{self, AuditPhase, AuditRecord};

/// What `kill` is asked to do: the command's flags, resolved.
#[derive(Debug, Clone)]
pub struct KillRequest {
    pub criteria: KillCriteria,
    /// `--expect-server`: refuse to act on any other server.
    pub expect_server: Option<String>,
    /// `--query`: KILL QUERY instead of KILL CONNECTION.
    pub kill_query: bool,
    pub dry_run: bool,
    pub audit_log: PathBuf,
}

/// The operator's answer to the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Yes,
    No,
    /// Nobody could be asked (no terminal, no `--yes`): why, said in the report.
    Unasked(String),
}

/// Lock groups read to name the tables a target holds.
const LOCK_GROUPS: u64 = 1000;

/// Kills the sessions `request` chooses on `server`. `confirm` is shown the plan
/// and told whether an answer is needed (something to kill, not a dry run); it
/// answers for the operator. Every target ends in the report with its outcome.
pub async fn kill_sessions(
    server: &Server,
    request: &KillRequest,
    confirm: impl FnOnce(&KillPlan, bool) -> Result<Answer>,
) -> Result<KillReport> {
    let state = server.collect(Some(LOCK_GROUPS), false).await;
    let kill_server = KillServer {
        hostname: state.server.hostname.clone(),
        port: state.server.port,
        server_id: state.server.server_id,
        version: state.server.version.clone(),
        read_only: state.server.read_only,
        replica: replication_threads_seen(&state),
    };
    if let Some(expected) = &request.expect_server {
        if !kill_server.is(expected) {
            bail!(
                "--expect-server {expected}: connected to {}; nothing was killed",
                kill_server.describe()
            );
        }
    }
    let criteria = &request.criteria;
    let by_analysis = criteria.root_blockers || criteria.blocking_longer_than.is_some();
    let unread = state.unread(&WAIT_SOURCES);
    if by_analysis && !unread.is_empty() {
        bail!(
            "cannot choose root blockers: the lock waits could not be read ({}); nothing was killed",
            unread.join("; ")
        );
    }
    // Idle in a transaction needs the transactions: unread (stale, skipped over
    // --max-row-waits, no PROCESS), "nothing matched" would be a guess.
    let trx_unread = state.unread(&[SourceName::Transactions]);
    if criteria.idle_in_trx_longer_than.is_some() && !trx_unread.is_empty() {
        bail!(
            "cannot tell which sessions are idle in a transaction: {}; nothing was killed",
            trx_unread.join("; ")
        );
    }
    // One analysis of the listing: the targets, and the roots no KILL can end.
    let analysis = analyze_waits(&state);
    let (targets, missing) = select_targets(&state, &analysis, criteria);
    let unkillable = if by_analysis {
        UnkillableRoot::of(&analysis)
    } else {
        Vec::new()
    };
    let mut notes: Vec<String> = unkillable.iter().map(|u| u.detail.clone()).collect();
    let method = server.kill_method().await;
    let mut results: Vec<KillResult> = targets
        .into_iter()
        .map(|t| {
            let statement = kill_statement(method, t.thread_id, t.query_id, request.kill_query);
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
    let actionable = results.iter().any(|r| r.outcome == KillOutcome::Pending);
    let plan = KillPlan {
        server: kill_server.clone(),
        targets: results.clone(),
        missing_thread_ids: missing.clone(),
        kill_query: request.kill_query,
    };
    let answer = confirm(&plan, actionable && !request.dry_run)?;
    let proceed = actionable && !request.dry_run && answer == Answer::Yes;
    if let Answer::Unasked(why) = answer {
        if actionable && !request.dry_run {
            notes.push(why);
        }
    }
    let audit = Audit {
        path: &request.audit_log,
        state: &state,
        server: &kill_server,
    };
    act_on_targets(server, request, &audit, &mut results, proceed).await?;
    Ok(KillReport {
        server: kill_server,
        dry_run: request.dry_run,
        audit_log: Some(request.audit_log.display().to_string()),
        targets: results,
        notes,
        missing_thread_ids: missing,
        unkillable,
    })
}

/// Where and what each audit record names.
struct Audit<'a> {
    path: &'a std::path::Path,
    state: &'a LiveState,
    server: &'a KillServer,
}

impl Audit<'_> {
    fn write(&self, r: &KillResult, phase: AuditPhase) -> Result<()> {
        let outcome = if phase == AuditPhase::Before {
            KillOutcome::Pending
        } else {
            r.outcome
        };
        audit::append(
            self.path,
            &AuditRecord {
                time: audit::now_rfc3339(),
                phase,
                os_user: audit::os_user(),
                db_user: self.state.server.current_user.as_deref(),
                server: self.server,
                target: &r.target,
                statement: &r.statement,
                dry_run: phase == AuditPhase::DryRun,
                outcome: outcome.as_str(),
                detail: r.detail.clone(),
            },
        )
        .context("the audit record could not be written, so nothing more is killed")
    }
}

/// After the answer: one fresh collection (are the targets still chosen by the
/// criteria — still root blockers, still idle long enough?), then per target the
/// audit "before" record, the re-check and the KILL, and the outcome recorded.
async fn act_on_targets(
    server: &Server,
    request: &KillRequest,
    audit: &Audit<'_>,
    results: &mut [KillResult],
    proceed: bool,
) -> Result<()> {
    let fresh = if proceed {
        Some(server.collect(Some(LOCK_GROUPS), false).await)
    } else {
        None
    };
    let fresh_targets = fresh
        .as_ref()
        .map(|f| select_targets(f, &analyze_waits(f), &request.criteria).0)
        .unwrap_or_default();
    // A KILL rolls back the session's transaction: one that cannot be seen (a stale cache,
    // more waits than --max-row-waits) could be a new one the decision never saw. Skipped
    // before any re-check, which would fill InnoDB's cache once per target for nothing.
    let transactions_unread = fresh
        .as_ref()
        .map(|f| f.unread(&[SourceName::Transactions]).join("; "))
        .filter(|why| !why.is_empty());
    for r in results
        .iter_mut()
        .filter(|r| r.outcome == KillOutcome::Pending)
    {
        if request.dry_run {
            // One complete record: nothing follows it, so no "before" waiting for an "after".
            r.outcome = KillOutcome::DryRun;
            audit.write(r, AuditPhase::DryRun)?;
            continue;
        }
        let Some(fresh) = &fresh else {
            r.outcome = KillOutcome::Declined;
            continue;
        };
        if let Some(why) = &transactions_unread {
            r.outcome = KillOutcome::Skipped;
            r.detail = Some(format!(
                "cannot confirm its transaction before the KILL: the transactions were not read ({why}); nothing is killed unseen (over --max-row-waits, raise it to read them for this kill)"
            ));
            audit.write(r, AuditPhase::Skipped)?;
            continue;
        }
        if let Err(why) = reverify(&r.target, &fresh_targets, fresh, request.kill_query) {
            r.outcome = KillOutcome::Skipped;
            r.detail = Some(why);
            audit.write(r, AuditPhase::Skipped)?;
            continue;
        }
        // The "before" record first; then one narrow re-read of this session and its
        // transaction (proven fresh), and the KILL at once on that connection.
        audit.write(r, AuditPhase::Before)?;
        let acted = recheck_and_kill(
            server.pool(),
            server.flavour(),
            &r.target,
            &r.statement,
            request.kill_query,
            server.query_timeout(),
        )
        .await;
        r.outcome = acted.outcome;
        r.detail = acted.detail;
        r.recheck_to_kill_us = acted.recheck_to_kill.map(|d| d.as_micros() as u64);
        let phase = if r.outcome == KillOutcome::Skipped {
            AuditPhase::Skipped
        } else {
            AuditPhase::After
        };
        audit.write(r, phase)?;
    }
    Ok(())
}

/// What the last step before a KILL decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Acted {
    pub outcome: KillOutcome,
    pub detail: Option<String>,
    pub recheck_to_kill: Option<Duration>,
}

/// How long the re-check waits for InnoDB to refresh its `INNODB_TRX` cache before it
/// gives up on a target (a client polling the cache faster than every 100 ms keeps it
/// frozen for as long as it polls).
const FRESH_CACHE_PATIENCE: Duration = Duration::from_secs(2);

/// Re-reads the target's session and transaction with one narrow query and,
/// when it is still the session listed ([`same_session`]), sends the KILL at
/// once on the same connection. The query runs inside a read-only transaction
/// opened just before it, and counts only when InnoDB's transaction cache lists
/// that transaction (the cache was refreshed after it began): a stale cache
/// could still show a transaction that ended, and the KILL would then roll back
/// whatever the session began since. Any doubt (the re-check cannot run, the
/// cache stays stale, the session changed) skips the target.
pub async fn recheck_and_kill(
    pool: &Pool,
    flavour: Flavour,
    target: &KillTarget,
    statement: &str,
    kill_query: bool,
    timeout: Duration,
) -> Acted {
    let skipped = |detail: String| Acted {
        outcome: KillOutcome::Skipped,
        detail: Some(detail),
        recheck_to_kill: None,
    };
    let mut conn = match checkout(pool).await {
        Ok(conn) => conn,
        Err(e) => return skipped(format!("cannot re-check before the KILL: {e}")),
    };
    let sql = match flavour {
        Flavour::Mariadb => include_str!("../../queries/kill_recheck_mariadb.sql"),
        _ => include_str!("../../queries/kill_recheck_mysql.sql"),
    };
    let give_up_at = Instant::now() + FRESH_CACHE_PATIENCE;
    loop {
        let mut tx = match conn.start_transaction(snapshot_transaction()).await {
            Ok(tx) => tx,
            Err(e) => return skipped(format!("cannot re-check before the KILL: {e}")),
        };
        let recheck = sql.replace("{mark}", &freshness_mark());
        let params = Params::Positional(vec![target.thread_id.into()]);
        let rows = match fetch_on(&mut tx, &recheck, params, Some(flavour), timeout).await {
            Ok(rows) => rows,
            // Dropped unfinished, the transaction is rolled back by the pool.
            Err(e) => return skipped(format!("cannot re-check before the KILL: {e}")),
        };
        let checked_at = Instant::now();
        // No row: the session is gone (the processlist is read live, whatever the cache).
        let fresh = rows
            .first()
            .is_none_or(|r| r.num("cache_fresh").is_some_and(|n| n > 0));
        if !fresh {
            let _ = tx.rollback().await;
            if Instant::now() >= give_up_at {
                return skipped(format!(
                    "cannot confirm its transaction: InnoDB did not refresh its INNODB_TRX cache within {FRESH_CACHE_PATIENCE:?} (it refreshes it only after 100 ms without a reader; another client polls it faster), so the transaction seen could have ended"
                ));
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
            continue;
        }
        let now = rows.first().map(|r| SessionNow {
            user: r.text("user").unwrap_or_default(),
            host: r.text("host").unwrap_or_default(),
            command: r.text("command").unwrap_or_default().into(),
            time_secs: r.num("time_secs").unwrap_or(0),
            info: r.text("info"),
            query_id: r.num("query_id"),
            trx_id: r.text("trx_id"),
            trx_started: r.text("trx_started"),
        });
        if let Err(why) = same_session(target, now.as_ref(), kill_query) {
            let _ = tx.rollback().await;
            return skipped(why);
        }
        // The KILL first, then the read-only transaction's end: the window stays one round trip.
        let sent = fetch_on(&mut tx, statement, Params::Empty, None, timeout).await;
        let recheck_to_kill = Some(checked_at.elapsed());
        let _ = tx.rollback().await;
        return match sent {
            Ok(_) => Acted {
                outcome: KillOutcome::Killed,
                detail: None,
                recheck_to_kill,
            },
            Err(e) => Acted {
                outcome: KillOutcome::Failed,
                detail: Some(e.to_string()),
                recheck_to_kill,
            },
        };
    }
}
