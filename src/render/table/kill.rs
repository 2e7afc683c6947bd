//! `kill` for people: what each kill does before the question, what happened after.

use crate::analyze::kill::describe_target;
use crate::analyze::kill::{KillOutcome, KillPlan, KillReport};
use crate::analyze::sql_text::shorten_sql;
use crate::analyze::waits::SessionState;

/// Each target described, refused ones marked, the exact statement, and ids not found.
pub fn plan(plan: &KillPlan) -> String {
    let mut text = format!("Server: {}\n", plan.server.describe());
    if plan.targets.is_empty() {
        text.push_str("Nothing to kill: no session matches.\n");
    }
    for r in &plan.targets {
        let refused = r.outcome == KillOutcome::Refused;
        let prefix = if refused { "REFUSED " } else { "" };
        text.push_str(&format!(
            "{prefix}{}\n",
            describe_target(&r.target, plan.kill_query)
        ));
        if let Some(detail) = &r.detail {
            text.push_str(&format!("  {detail}\n"));
        }
        for e in r.target.statement_history.iter().flatten() {
            let when = e
                .started_secs_ago
                .map_or("?".to_string(), |s| format!("{s}s ago"));
            text.push_str(&format!("  ran {when}: {}\n", shorten_sql(&e.sql, 100)));
        }
        if plan.kill_query && r.target.state == SessionState::IdleInTrx && !refused {
            text.push_str(&format!(
                "  warning: thread {} is idle in a transaction: KILL QUERY releases none of its locks; drop --query to end the connection and roll the transaction back\n",
                r.target.thread_id
            ));
        }
        if !refused {
            text.push_str(&format!("  statement: {}\n", r.statement));
        }
    }
    for id in &plan.missing_thread_ids {
        text.push_str(&format!(
            "thread {id} is not in the processlist (ended, or not visible to this account)\n"
        ));
    }
    text
}

/// One line per target acted on (refused ones were said in the plan), then the notes.
pub fn report(report: &KillReport) -> String {
    let mut text = String::new();
    for r in report
        .targets
        .iter()
        .filter(|r| r.outcome != KillOutcome::Refused)
    {
        let detail = r
            .detail
            .as_deref()
            .map(|d| format!(": {d}"))
            .unwrap_or_default();
        let window = r
            .recheck_to_kill_us
            .map(|us| format!(" ({:.1} ms after its re-check)", us as f64 / 1000.0))
            .unwrap_or_default();
        text.push_str(&format!(
            "thread {}: {}{window}{detail}\n",
            r.target.thread_id,
            r.outcome.as_str().replace('_', " ")
        ));
    }
    for note in &report.notes {
        text.push_str(&format!("{note}\n"));
    }
    text
}
