//! The incident report (`lockdiag report`) as one self-contained HTML page: inline CSS
//! and SVG, no script, no font or image from anywhere; it opens from disk and prints.
//! Every name, statement and user is escaped ([`xml_escape`]): text, never markup.

use std::fmt::Write as _;

use crate::analyze::incident::{IncidentDeadlockGroup, IncidentView, TimelinePoint, TopBlocker};
use crate::analyze::sql_text::shorten_sql;
use crate::analyze::waits::{BlockerNode, SessionState};

use super::chart::{line_chart, sparkline, Mark, Series};
use super::svg::{deadlock_svg, waits_svg, with_scoped_ids, xml_escape};
use super::text::human_secs;
use super::{Format, Renderer, TableStyle, View, ViewKind};

/// HTML: the incident report.
pub struct Html;

impl Renderer for Html {
    fn format(&self) -> Format {
        Format::Html
    }

    fn prints(&self, view: ViewKind) -> bool {
        view == ViewKind::Report
    }

    fn render(&self, view: &View, _style: &TableStyle) -> Option<String> {
        match view {
            View::Report(report) => Some(incident_html(report)),
            _ => None,
        }
    }
}

const STYLE: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;max-width:1000px;color:#1d2329;line-height:1.4}
h1{font-size:1.6em;margin-bottom:0}h2{border-bottom:2px solid #d8dde3;padding-bottom:4px;margin-top:36px}
.sub{color:#5a6570;margin-top:4px}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{border:1px solid #d8dde3;border-radius:6px;padding:10px 14px;min-width:150px}
.card b{display:block;font-size:1.5em}
table{border-collapse:collapse;width:100%;font-size:.9em}th,td{border-bottom:1px solid #e3e7eb;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f3f5f7}code,.sql{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.88em;white-space:pre-wrap;word-break:break-word}
.idle{color:#b03a2e;font-weight:bold}.note{color:#5a6570;font-size:.9em}
.group{border:1px solid #d8dde3;border-radius:6px;padding:10px 14px;margin:14px 0;page-break-inside:avoid}
.figure{overflow-x:auto}svg{max-width:100%;height:auto}
@media print{body{margin:0;max-width:none}h2{page-break-after:avoid}.figure{overflow:visible}}
";

/// The page.
pub fn incident_html(view: &IncidentView) -> String {
    let server = view.server.as_deref().unwrap_or("unknown server");
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Lock incident on {}</title><style>{STYLE}</style></head><body>\n",
        xml_escape(server)
    );
    let _ = writeln!(
        out,
        "<header><h1>Lock incident on {}</h1><p class=\"sub\">{} — {} (UTC) · {} · lockdiag {}</p></header>",
        xml_escape(server),
        xml_escape(view.first_at.as_deref().unwrap_or("?")),
        xml_escape(view.last_at.as_deref().unwrap_or("?")),
        xml_escape(&view.versions.join(", ")),
        env!("CARGO_PKG_VERSION")
    );
    summary(&mut out, view);
    timeline(&mut out, view);
    worst(&mut out, view);
    top_blockers(&mut out, view);
    deadlocks(&mut out, view);
    facts(&mut out, view);
    out.push_str("</body></html>\n");
    out
}

/// A link target as written in `href`: path characters kept, others percent-encoded
/// (escaped again as an attribute by the caller).
fn href(link: &str) -> String {
    let mut out = String::with_capacity(link.len());
    for b in link.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn peak<F: Fn(&TimelinePoint) -> Option<u64>>(
    view: &IncidentView,
    figure: F,
) -> Option<(u64, &str)> {
    view.timeline
        .iter()
        .filter_map(|p| Some((figure(p)?, p.at.as_str())))
        .max_by_key(|(v, _)| *v)
}

fn summary(out: &mut String, view: &IncidentView) {
    out.push_str("<section id=\"summary\"><div class=\"cards\">");
    let mut card = |title: &str, value: String, at: Option<&str>| {
        let at = at
            .map(|a| format!("<span class=\"note\">at {}</span>", xml_escape(a)))
            .unwrap_or_default();
        let _ = write!(
            out,
            "<div class=\"card\">{}<b>{}</b>{at}</div>",
            xml_escape(title),
            xml_escape(&value)
        );
    };
    let unknown = || "unknown".to_string();
    let waiting = peak(view, |p| p.waiting_sessions);
    card(
        "Most sessions waiting",
        waiting.map(|w| w.0.to_string()).unwrap_or_else(unknown),
        waiting.map(|w| w.1),
    );
    let longest = peak(view, |p| p.longest_wait_secs);
    card(
        "Longest lock wait",
        longest.map(|w| human_secs(w.0)).unwrap_or_else(unknown),
        longest.map(|w| w.1),
    );
    let oldest = peak(view, |p| p.oldest_transaction_secs);
    card(
        "Oldest transaction",
        oldest.map(|w| human_secs(w.0)).unwrap_or_else(unknown),
        oldest.map(|w| w.1),
    );
    card(
        "Deadlocks",
        format!(
            "{} in {} shape{}",
            view.deadlocks_total,
            view.deadlock_groups.len() + view.deadlock_groups_not_shown,
            if view.deadlock_groups.len() + view.deadlock_groups_not_shown == 1 {
                ""
            } else {
                "s"
            }
        ),
        None,
    );
    out.push_str("</div></section>\n");
}

fn timeline(out: &mut String, view: &IncidentView) {
    out.push_str("<section id=\"timeline\"><h2>Timeline</h2>");
    let moments = view
        .timeline
        .iter()
        .map(|p| p.epoch)
        .chain(view.deadlock_marks.iter().map(|m| m.0));
    let (Some(from), Some(to)) = (moments.clone().min(), moments.max()) else {
        out.push_str(
            "<p>Nothing dated to draw: no snapshot and no dated deadlock.</p></section>\n",
        );
        return;
    };
    let mut marks: Vec<Mark> = view
        .deadlock_marks
        .iter()
        .map(|(epoch, fingerprint)| Mark {
            epoch: *epoch,
            text: format!("deadlock {fingerprint}"),
            colour: "#c0392b",
        })
        .collect();
    marks.extend(view.timeline.iter().filter_map(|p| {
        Some(Mark {
            epoch: p.epoch,
            text: format!("snapshot {}: {}", p.at, p.trigger.as_deref()?),
            colour: "#2e86c1",
        })
    }));
    let series = |name, colour, f: fn(&TimelinePoint) -> Option<u64>| Series {
        name,
        colour,
        points: view
            .timeline
            .iter()
            .map(|p| (p.epoch, f(p).map(|v| v as f64)))
            .collect(),
    };
    if view.timeline.is_empty() {
        out.push_str("<p class=\"note\">No snapshots: only the deadlocks are marked in time.</p>");
    }
    let _ = write!(
        out,
        "<div class=\"figure\">{}</div><div class=\"figure\">{}</div>",
        line_chart(
            "Sessions waiting",
            "sessions",
            &[
                series("waiting sessions (all locks)", "#1f618d", |p| p
                    .waiting_sessions),
                series("metadata-lock waits", "#d68910", |p| p.metadata_lock_waits),
            ],
            &marks,
            (from, to),
        ),
        line_chart(
            "Longest wait and oldest transaction",
            "seconds",
            &[
                // The wait drawn last: on top where both lines run together.
                series("oldest transaction", "#7f8c8d", |p| {
                    p.oldest_transaction_secs
                }),
                series("longest lock wait", "#c0392b", |p| p.longest_wait_secs),
            ],
            &marks,
            (from, to),
        )
    );
    out.push_str("<p class=\"note\">Red dashed lines: deadlocks; blue: snapshots taken by a trigger (hover for why). A gap: that figure could not be read then (unknown, not zero).</p></section>\n");
}

fn state_text(node: &BlockerNode) -> String {
    match (node.state, node.idle_secs) {
        (SessionState::IdleInTrx, Some(idle)) => {
            format!("idle in transaction for {}", human_secs(idle))
        }
        (SessionState::IdleInTrx, None) => "idle in transaction".into(),
        (state, _) => format!("{state:?}").to_lowercase(),
    }
}

fn worst(out: &mut String, view: &IncidentView) {
    out.push_str("<section id=\"worst\"><h2>The worst moment</h2>");
    let Some(worst) = &view.worst else {
        out.push_str("<p>No snapshot shows a session waiting for a lock.</p></section>\n");
        return;
    };
    let a = &worst.analysis;
    let _ = write!(
        out,
        "<p>{} sessions waiting at {} (<a href=\"{}\">snapshot</a>). What each root blocker was doing:</p>",
        a.waiting_sessions,
        xml_escape(&worst.at),
        xml_escape(&href(&worst.link))
    );
    out.push_str("<table><tr><th>thread</th><th>user@host</th><th>state</th><th>transaction age</th><th>rows locked</th><th>held up</th><th>statement</th></tr>");
    for root in &a.root_blockers {
        let statement = match (&root.query, &root.statement_history) {
            (Some(q), _) if !q.trim().is_empty() => xml_escape(&shorten_sql(q, 300)),
            (_, Some(history)) if !history.is_empty() => history
                .iter()
                .map(|e| {
                    let ago = e
                        .started_secs_ago
                        .map(|s| format!("{} ago: ", human_secs(s)))
                        .unwrap_or_default();
                    xml_escape(&format!("{ago}{}", shorten_sql(&e.sql, 200)))
                })
                .collect::<Vec<_>>()
                .join("<br>"),
            _ => {
                "<span class=\"note\">(none running; its earlier statements unknown)</span>".into()
            }
        };
        let class = if root.state == SessionState::IdleInTrx {
            " class=\"idle\""
        } else {
            ""
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td{class}>{}</td><td>{}</td><td>{}</td><td>{} sessions</td><td class=\"sql\">{statement}</td></tr>",
            root.thread_id,
            xml_escape(&format!(
                "{}@{}",
                root.user.as_deref().unwrap_or("?"),
                root.host.as_deref().unwrap_or("?")
            )),
            xml_escape(&state_text(root)),
            root.trx_age_secs.map(human_secs).unwrap_or_else(|| "?".into()),
            root.rows_locked.map(|r| r.to_string()).unwrap_or_else(|| "?".into()),
            root.blocked_sessions,
        );
    }
    out.push_str("</table>");
    if worst.roots_not_drawn > 0 {
        let _ = write!(
            out,
            "<p class=\"note\">{} more root blockers at that moment are not listed or drawn (the snapshot has them all).</p>",
            worst.roots_not_drawn
        );
    }
    let _ = writeln!(
        out,
        "<div class=\"figure\">{}</div></section>",
        with_scoped_ids(&waits_svg(a), 0)
    );
}

fn blocker_row(out: &mut String, b: &TopBlocker) {
    let who = format!(
        "{}@{}",
        b.user.as_deref().unwrap_or("?"),
        b.host.as_deref().unwrap_or("?")
    );
    let idle = if b.idle_in_transaction {
        " <span class=\"idle\">idle in transaction</span>"
    } else {
        ""
    };
    let threads: Vec<String> = b.thread_ids.iter().map(u64::to_string).collect();
    let _ = write!(
        out,
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}{idle}</td><td>{}</td><td class=\"sql\">{}</td><td><code>{}</code></td></tr>",
        human_secs(b.blocked_session_secs),
        b.sessions_blocked,
        xml_escape(&who),
        xml_escape(&threads.join(", ")),
        xml_escape(b.table.as_deref().unwrap_or("?")),
        xml_escape(b.statement.as_deref().unwrap_or("(unknown)")),
        xml_escape(b.statement_fingerprint.as_deref().unwrap_or("")),
    );
}

fn top_blockers(out: &mut String, view: &IncidentView) {
    out.push_str("<section id=\"top-blockers\"><h2>Top blockers</h2>");
    if view.top_blockers.is_empty() {
        out.push_str("<p>No root blocker in any snapshot.</p></section>\n");
        return;
    }
    out.push_str("<p class=\"note\">Blocked session-time: for each root blocker's transaction, the longest wait seen of every session it held up, summed; transactions of one code path (user, host, statement, table) added together.</p>");
    out.push_str("<table><tr><th>blocked session-time</th><th>sessions</th><th>user@host</th><th>threads</th><th>table</th><th>statement</th><th>fingerprint</th></tr>");
    for b in &view.top_blockers {
        blocker_row(out, b);
    }
    out.push_str("</table>");
    if view.top_blockers_not_shown > 0 {
        let _ = write!(
            out,
            "<p class=\"note\">{} more not shown.</p>",
            view.top_blockers_not_shown
        );
    }
    out.push_str("</section>\n");
}

fn deadlock_group(out: &mut String, g: &IncidentDeadlockGroup, drawing: usize) {
    let group = &g.group;
    let analysis = &g.example.analysis;
    let _ = write!(
        out,
        "<div class=\"group\"><h3>{} × {} on {}</h3><p>First {} · last {} · fingerprint <code>{}</code> {}</p>",
        group.count,
        xml_escape(group.diagnosis.as_str()),
        xml_escape(&group.tables.join(", ")),
        xml_escape(group.first_seen.as_deref().unwrap_or("?")),
        xml_escape(group.last_seen.as_deref().unwrap_or("?")),
        xml_escape(&group.fingerprint),
        if g.sparkline.is_empty() {
            String::new()
        } else {
            sparkline(&g.sparkline, "deadlocks of this shape over the report's time range")
        }
    );
    let _ = write!(
        out,
        "<div class=\"figure\">{}</div><p><b>Diagnosis:</b> {}</p>",
        with_scoped_ids(&deadlock_svg(&g.example), drawing),
        xml_escape(&analysis.diagnosis.text)
    );
    if let Some(fix) = &analysis.diagnosis.fix {
        let _ = write!(out, "<p><b>Fix:</b> {}</p>", xml_escape(fix));
    }
    out.push_str(
        "<table><tr><th>transaction</th><th>statements (the last is the print's)</th></tr>",
    );
    for t in &g.example.deadlock.transactions {
        let mut statements: Vec<String> = t
            .statement_history
            .iter()
            .flatten()
            .map(|e| xml_escape(&shorten_sql(&e.sql, 300)))
            .collect();
        if let Some(q) = &t.query {
            let q = xml_escape(&shorten_sql(q, 300));
            if statements.last() != Some(&q) {
                statements.push(q);
            }
        }
        let _ = write!(
            out,
            "<tr><td>T{}{}{}</td><td class=\"sql\">{}</td></tr>",
            t.number,
            t.thread_id
                .map(|id| format!(" · thread {id}"))
                .unwrap_or_default(),
            if t.rolled_back {
                " · <b>rolled back</b>"
            } else {
                ""
            },
            statements.join("<br>")
        );
    }
    out.push_str("</table></div>");
}

fn deadlocks(out: &mut String, view: &IncidentView) {
    out.push_str("<section id=\"deadlocks\"><h2>Deadlocks</h2>");
    if view.deadlock_groups.is_empty() {
        out.push_str("<p>No deadlock in what was read.</p></section>\n");
        return;
    }
    let _ = write!(
        out,
        "<p>{} deadlocks, grouped by shape (tables, indexes, modes, statements without their values); the most frequent first, each drawn from its latest.</p>",
        view.deadlocks_total
    );
    for (n, group) in view.deadlock_groups.iter().enumerate() {
        // Drawing 0 is the worst moment's waits.
        deadlock_group(out, group, n + 1);
    }
    if view.deadlock_groups_not_shown > 0 {
        let _ = write!(
            out,
            "<p class=\"note\">{} rarer shapes not shown: <code>lockdiag deadlock</code> on the same input lists them all.</p>",
            view.deadlock_groups_not_shown
        );
    }
    out.push_str("</section>\n");
}

fn facts(out: &mut String, view: &IncidentView) {
    out.push_str("<section id=\"facts\"><h2>What this report was built from</h2><ul>");
    let mut item = |text: String| {
        let _ = write!(out, "<li>{text}</li>");
    };
    item(format!(
        "Server: {}; versions: {}",
        xml_escape(view.server.as_deref().unwrap_or("unknown")),
        xml_escape(&view.versions.join(", "))
    ));
    item(format!(
        "Time range (UTC): {} — {}",
        xml_escape(view.first_at.as_deref().unwrap_or("?")),
        xml_escape(view.last_at.as_deref().unwrap_or("?"))
    ));
    item(format!(
        "{} snapshots on the timeline; {} deadlocks ({} without a time, not on the timeline)",
        view.timeline.len(),
        view.deadlocks_total,
        view.deadlocks_undated
    ));
    if view.snapshots_undated > 0 {
        item(format!(
            "{} snapshots without a readable time, left out",
            view.snapshots_undated
        ));
    }
    for unknown in &view.unknown {
        item(format!("Unknown: {}", xml_escape(unknown)));
    }
    for skipped in view.files_skipped.iter().take(MAX_FILES_LISTED) {
        item(format!("Skipped: {}", xml_escape(skipped)));
    }
    // A week of snapshots is thousands of files: the page names the first, and counts.
    for file in view.files_read.iter().take(MAX_FILES_LISTED) {
        item(format!("Read: {}", xml_escape(file)));
    }
    let unlisted = view.files_read.len().saturating_sub(MAX_FILES_LISTED)
        + view.files_skipped.len().saturating_sub(MAX_FILES_LISTED);
    if unlisted > 0 {
        item(format!("… and {unlisted} more files"));
    }
    out.push_str("</ul>");
    if !view.timeline.is_empty() {
        out.push_str("<details><summary>Snapshots</summary><ul>");
        for p in view.timeline.iter().take(MAX_SNAPSHOT_LINKS) {
            let _ = write!(
                out,
                "<li><a href=\"{}\">{}</a>{}</li>",
                xml_escape(&href(&p.link)),
                xml_escape(&p.at),
                p.trigger
                    .as_deref()
                    .map(|t| format!(" — {}", xml_escape(t)))
                    .unwrap_or_default()
            );
        }
        out.push_str("</ul>");
        let more = view.timeline.len().saturating_sub(MAX_SNAPSHOT_LINKS);
        if more > 0 {
            let _ = write!(
                out,
                "<p class=\"note\">… and {more} later snapshots, not linked.</p>"
            );
        }
        out.push_str("</details>");
    }
    out.push_str("</section>\n");
}

/// Files named in the facts; the rest are counted.
const MAX_FILES_LISTED: usize = 20;
/// Snapshots linked from the facts (a day at one per 10 s is 8,640); the rest are counted.
const MAX_SNAPSHOT_LINKS: usize = 500;
