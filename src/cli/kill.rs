//! `lockdiag kill`: the procedure is `act::kill`; here the plan is shown, the
//! operator asked, the report printed and its outcome mapped to an exit code.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, Result};

use crate::act::kill::{kill_sessions, Answer};
use crate::analyze::kill::KillReport;
use crate::render::{Format, View};
use crate::source::server::Server;

use super::resolve::KillJob;
use super::{Output, EXIT_ERROR, EXIT_FINDINGS, EXIT_OK};

/// `Kill N sessions? [y/N]` on the terminal.
fn ask(count: usize) -> Result<Answer> {
    eprint!(
        "Kill {count} session{}? [y/N] ",
        if count == 1 { "" } else { "s" }
    );
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("cannot read the answer")?;
    let yes = matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes");
    Ok(if yes { Answer::Yes } else { Answer::No })
}

pub async fn run(job: &KillJob, server: &Server, out: &Output) -> Result<i32> {
    let report = kill_sessions(server, &job.request, |plan, needs_answer| {
        // Say what will happen and where, most important first.
        if out.format == Format::Table {
            out.emit(&View::KillPlan(plan.clone()))?;
        }
        if !needs_answer || job.yes {
            return Ok(Answer::Yes);
        }
        if !std::io::stdin().is_terminal() {
            return Ok(Answer::Unasked(
                "refusing to kill without confirmation: standard input is not a terminal (pass --yes)"
                    .into(),
            ));
        }
        let pending = plan
            .targets
            .iter()
            .filter(|t| t.outcome == crate::analyze::kill::KillOutcome::Pending)
            .count();
        ask(pending)
    })
    .await?;
    if out.format == Format::Json {
        // The JSON document has no room for notes: they go to stderr.
        for id in &report.missing_thread_ids {
            super::output::note(&format!(
                "thread {id} is not in the processlist (ended, or not visible to this account)"
            ));
        }
        for note in &report.notes {
            super::output::note(note);
        }
    }
    let code = exit_code(&report);
    out.emit(&View::Kill(report))?;
    Ok(code)
}

/// 0 all done (or nothing to do), 2 every KILL sent was refused by the server, 1 otherwise.
fn exit_code(report: &KillReport) -> i32 {
    if report.all_done() {
        EXIT_OK
    } else if report.only_failures() {
        EXIT_ERROR
    } else {
        EXIT_FINDINGS
    }
}
