//! Deadlocks for people: summary and diagnosis first, then the transactions.

use std::fmt::Write;

use comfy_table::Color;

use crate::analyze::deadlock::{describe_lock, describe_mode, transaction_sentences};
use crate::analyze::sql_text::shorten_sql;
use crate::analyze::views::{DeadlockOrigin, DeadlocksView, TimeoutsSection};
use crate::analyze::{DeadlockGroup, DeadlockReport};
use crate::render::TableStyle;

use super::{headline, new_table, sql_width, styled};

/// The deadlock view: what "none" means for its origin, the groups of a log or
/// snapshot directory, then each listed deadlock.
pub fn view(view: &DeadlocksView, style: &TableStyle) -> String {
    let mut text = deadlocks_part(view, style);
    if let Some(section) = &view.timeouts {
        text.push_str(&timeouts(section, style));
    }
    text
}

fn deadlocks_part(view: &DeadlocksView, style: &TableStyle) -> String {
    let Some(total) = view.deadlocks_total else {
        return "Deadlocks: unknown (the InnoDB status could not be read).\n".into();
    };
    if total == 0 {
        return match view.origin {
            DeadlockOrigin::Status => "No deadlock recorded: the InnoDB status has no LATEST DETECTED DEADLOCK section (none since the server started).\n".into(),
            DeadlockOrigin::ErrorLog => "No deadlocks in the log (is innodb_print_all_deadlocks ON? it prints every deadlock to the error log).\n".into(),
            DeadlockOrigin::ErrorLogTable => "No deadlocks in performance_schema.error_log (it keeps the newest entries only, and deadlocks are logged only with innodb_print_all_deadlocks=ON).\n".into(),
            DeadlockOrigin::Snapshot => "No deadlock recorded in the snapshot.\n".into(),
            DeadlockOrigin::Snapshots => "No deadlock recorded in these snapshots.\n".into(),
        };
    }
    let mut text = String::new();
    if let Some(groups) = &view.groups {
        text.push_str(&deadlock_groups(groups, total, style));
        if view.deadlocks_omitted.unwrap_or(0) > 0 {
            text.push_str(&format!(
                "(showing the newest {} of {}; --last N for more)\n",
                view.listed().len(),
                total
            ));
        }
        text.push('\n');
    }
    text.push_str(&deadlocks(view.listed(), style));
    text
}

pub fn deadlocks(reports: &[DeadlockReport], style: &TableStyle) -> String {
    let mut out = String::new();
    for (i, report) in reports.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        one(&mut out, report, style);
    }
    out
}

fn one(out: &mut String, report: &DeadlockReport, style: &TableStyle) {
    let d = &report.deadlock;
    let a = &report.analysis;
    let when = d.timestamp.as_deref().unwrap_or("(no timestamp)");
    let flags = match (d.truncated, d.too_deep) {
        (true, _) => {
            " — TRUNCATED: the text ended inside the deadlock; what follows is what was printed"
        }
        (_, true) => " — search too deep",
        _ => "",
    };
    let victim = d
        .victim
        .map(|v| format!(", T{v} rolled back"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{}",
        headline(
            style,
            &format!(
                "Deadlock at {when} — {}{victim}{flags}",
                a.diagnosis.kind.as_str()
            )
        )
    );
    for sentence in transaction_sentences(d) {
        let _ = writeln!(out, "  {sentence}");
    }
    let _ = writeln!(out, "Diagnosis: {}", a.diagnosis.text);
    if let Some(fix) = &a.diagnosis.fix {
        let _ = writeln!(out, "Fix: {fix}");
    }
    let _ = writeln!(out, "Fingerprint: {}", a.fingerprint);
    if d.header_only() {
        let _ = writeln!(
            out,
            "Transactions: none in this input (only the print's header lines are there)."
        );
        return;
    }

    let mut table = new_table(
        style,
        &[
            "T",
            "trx",
            "thread",
            "user@host",
            "active",
            "holds",
            "waits for",
            "query",
        ],
    );
    for t in &d.transactions {
        let who = match (&t.user, &t.host) {
            (Some(u), Some(h)) => format!("{u}@{h}"),
            (Some(u), None) => u.clone(),
            _ => String::new(),
        };
        let holds = if t.holds.is_empty() {
            if t.holds_printed {
                "-".to_string()
            } else {
                "(not printed)".to_string()
            }
        } else {
            t.holds
                .iter()
                .map(|l| format!("{} {}", describe_mode(l), describe_lock(l)))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let waits = t
            .waits_for
            .as_ref()
            .map(|l| format!("{} {}", describe_mode(l), describe_lock(l)))
            .unwrap_or_default();
        let label = if t.rolled_back {
            format!("{} ✗ rolled back", t.number)
        } else {
            t.number.to_string()
        };
        table.add_row(vec![
            styled(
                style,
                &label,
                t.rolled_back.then_some(Color::Red),
                t.rolled_back,
            ),
            styled(style, t.trx_id.as_deref().unwrap_or("?"), None, false),
            styled(
                style,
                &t.thread_id.map(|n| n.to_string()).unwrap_or_default(),
                None,
                false,
            ),
            styled(style, &who, None, false),
            styled(
                style,
                &t.active_secs.map(|s| format!("{s}s")).unwrap_or_default(),
                None,
                false,
            ),
            styled(style, &holds, None, false),
            styled(style, &waits, Some(Color::Yellow), false),
            styled(
                style,
                &shorten_sql(t.query.as_deref().unwrap_or(""), sql_width(style, 30)),
                None,
                false,
            ),
        ]);
    }
    let _ = writeln!(out, "{table}");
    for t in &d.transactions {
        for (i, e) in t.statement_history.iter().flatten().enumerate() {
            let label = if i == 0 {
                format!("T{} ran", t.number)
            } else {
                " ".repeat(format!("T{} ran", t.number).len())
            };
            let when = e
                .started_secs_ago
                .map_or("?".to_string(), |s| format!("{s}s ago"));
            let _ = writeln!(
                out,
                "{label} {when}: {}",
                shorten_sql(&e.sql, sql_width(style, 80))
            );
        }
    }
    cycle_lines(out, &a.edges);
    let unparsed: usize = d.unparsed_lines.len()
        + d.transactions
            .iter()
            .map(|t| t.unparsed_lines.len())
            .sum::<usize>();
    if unparsed > 0 {
        let _ = writeln!(
            out,
            "({unparsed} line(s) not recognised; kept in the JSON output under unparsed_lines)"
        );
    }
}

/// Percona's logged lock wait timeouts: by statement with their top blockers, then each listed one.
fn timeouts(section: &TimeoutsSection, style: &TableStyle) -> String {
    if section.lock_wait_timeouts_total == 0 {
        // Said only where it can matter: the option is Percona Server's, off by default.
        return String::new();
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{}",
        headline(
            style,
            &format!(
                "Lock wait timeouts logged: {} (Percona innodb_print_lock_wait_timeout_info)",
                section.lock_wait_timeouts_total
            )
        )
    );
    let mut groups = new_table(
        style,
        &[
            "count",
            "statement that timed out",
            "blocked by (thread/trx ×timeouts)",
            "first",
            "last",
        ],
    );
    for g in &section.lock_wait_timeout_groups {
        let blockers = g
            .blockers
            .iter()
            .map(|b| {
                format!(
                    "{}/{} ×{}",
                    thread_text(b.thread_id),
                    b.trx_id.as_deref().unwrap_or("?"),
                    b.timeouts
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        groups.add_row(vec![
            styled(style, &g.count.to_string(), None, true),
            styled(
                style,
                &shorten_sql(&g.statement, sql_width(style, 40)),
                None,
                false,
            ),
            styled(style, &blockers, Some(Color::Yellow), false),
            styled(style, g.first_seen.as_deref().unwrap_or("?"), None, false),
            styled(style, g.last_seen.as_deref().unwrap_or("?"), None, false),
        ]);
    }
    let _ = writeln!(out, "{groups}");
    let mut listed = new_table(
        style,
        &[
            "logged",
            "thread/trx",
            "statement",
            "blocked by (thread/trx, query id)",
        ],
    );
    for r in &section.lock_wait_timeouts {
        let t = &r.timeout;
        let mut blockers: Vec<String> = t
            .blockers
            .iter()
            .map(|b| {
                let query = b
                    .query_id
                    .map(|q| format!(", query {q}"))
                    .unwrap_or_default();
                format!(
                    "{}/{}{query}",
                    thread_text(b.thread_id),
                    b.trx_id.as_deref().unwrap_or("?")
                )
            })
            .collect();
        if t.truncated {
            blockers.push("(entry cut: more were listed)".into());
        } else if blockers.is_empty() {
            blockers.push("(none listed)".into());
        }
        listed.add_row(vec![
            styled(style, t.timestamp.as_deref().unwrap_or("?"), None, false),
            styled(
                style,
                &format!(
                    "{}/{}",
                    thread_text(t.thread_id),
                    t.trx_id.as_deref().unwrap_or("?")
                ),
                None,
                false,
            ),
            styled(
                style,
                &shorten_sql(t.query.as_deref().unwrap_or(""), sql_width(style, 40)),
                None,
                false,
            ),
            styled(style, &blockers.join("\n"), Some(Color::Yellow), false),
        ]);
    }
    let _ = writeln!(out, "{listed}");
    if section.lock_wait_timeouts_omitted > 0 {
        let _ = writeln!(
            out,
            "(showing the newest {} of {}; --last N for more)",
            section.lock_wait_timeouts.len(),
            section.lock_wait_timeouts_total
        );
    }
    let _ = writeln!(
        out,
        "The log names each blocker's thread, transaction and query id, not its statement: look the query id up in performance_schema.events_statements_history while the session lives."
    );
    out
}

/// A thread id, or what thread 0 means in Percona's print.
fn thread_text(thread: Option<u64>) -> String {
    thread.map_or("no session".to_string(), |t| t.to_string())
}

/// The wait-for cycle, one edge a line.
fn cycle_lines(out: &mut String, edges: &[crate::analyze::deadlock::DeadlockEdge]) {
    if !edges.is_empty() {
        let _ = writeln!(out, "Wait-for cycle:");
        for e in edges {
            let holder = e
                .holder
                .map_or("(holder not printed)".to_string(), |h| format!("T{h}"));
            let held = e
                .held_lock
                .as_deref()
                .map(|h| format!("; {holder} holds {h}"))
                .unwrap_or_default();
            let inferred = if e.inferred {
                " [inferred: the holder's locks were not printed]"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "  T{} → {holder}: T{} waits for {}{held}{inferred}",
                e.waiter, e.waiter, e.waits_for
            );
        }
    }
}

pub fn deadlock_groups(groups: &[DeadlockGroup], total: u64, style: &TableStyle) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        headline(
            style,
            &format!("{total} deadlock(s) in {} shape(s)", groups.len())
        )
    );
    let mut table = new_table(
        style,
        &[
            "count",
            "first seen",
            "last seen",
            "kind",
            "tables",
            "fingerprint",
        ],
    );
    for g in groups {
        table.add_row(vec![
            styled(style, &g.count.to_string(), None, true),
            styled(style, g.first_seen.as_deref().unwrap_or("?"), None, false),
            styled(style, g.last_seen.as_deref().unwrap_or("?"), None, false),
            styled(style, g.diagnosis.as_str(), None, false),
            styled(style, &g.tables.join(", "), None, false),
            styled(style, &g.fingerprint, None, false),
        ]);
    }
    let _ = writeln!(out, "{table}");
    out
}
