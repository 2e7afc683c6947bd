//! Mermaid flowcharts: paste into Markdown (GitHub, GitLab, Notion render them).

use crate::analyze::sql_text::shorten_sql;

use crate::analyze::DeadlockReport;

use super::{Format, Renderer, TableStyle, View, ViewKind};

/// Mermaid flowcharts: the graphs (waits, deadlocks).
pub struct Mermaid;

impl Renderer for Mermaid {
    fn format(&self) -> Format {
        Format::Mermaid
    }

    fn prints(&self, view: ViewKind) -> bool {
        matches!(view, ViewKind::Waits | ViewKind::Deadlock)
    }

    fn render(&self, view: &View, _style: &TableStyle) -> Option<String> {
        render(view)
    }
}

/// The flowchart of a view that is a graph (waits, deadlocks); `None` for the others.
pub fn render(view: &View) -> Option<String> {
    match view {
        View::Waits(v) => Some(waits(&v.analysis.clone().unwrap_or_default())),
        View::Deadlocks(v) => Some(deadlocks(v.listed())),
        _ => None,
    }
}

/// Mermaid labels are double-quoted; quotes, brackets and `#`/`&` must be entities.
pub fn label(text: &str) -> String {
    let escaped = super::text::printable(text)
        .replace('#', "#35;")
        .replace('&', "#38;")
        .replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
        .replace('|', "#124;")
        .replace('\n', "<br/>");
    format!("\"{escaped}\"")
}

pub fn deadlocks(reports: &[DeadlockReport]) -> String {
    let mut out = String::from("flowchart LR\n");
    for (i, report) in reports.iter().enumerate() {
        let d = &report.deadlock;
        out.push_str(&format!(
            "  subgraph d{i}[{}]\n",
            label(&format!(
                "Deadlock {} · {}",
                d.timestamp.as_deref().unwrap_or("(no timestamp)"),
                report.analysis.diagnosis.kind.as_str()
            ))
        ));
        for t in &d.transactions {
            let mut text = format!("T{}", t.number);
            if let Some(id) = t.thread_id {
                text.push_str(&format!(" · thread {id}"));
            }
            if let Some(q) = &t.query {
                text.push_str(&format!("\n{}", shorten_sql(q, 50)));
            }
            if t.rolled_back {
                text.push_str("\nrolled back");
            }
            out.push_str(&format!("    d{i}t{}[{}]\n", t.number, label(&text)));
        }
        for (n, edge) in report.analysis.edges.iter().enumerate() {
            let arrow = if edge.inferred { "-.->" } else { "-->" };
            let target = match edge.holder {
                Some(h) => format!("d{i}t{h}"),
                None => format!("d{i}u{n}[{}]", label("holder not printed")),
            };
            out.push_str(&format!(
                "    d{i}t{} {arrow}|{}| {target}\n",
                edge.waiter,
                label(&format!("waits for {}", edge.waits_for))
            ));
        }
        for t in d.transactions.iter().filter(|t| t.rolled_back) {
            out.push_str(&format!(
                "    style d{i}t{} stroke:#d00,stroke-width:3px\n",
                t.number
            ));
        }
        out.push_str("  end\n");
    }
    out
}

/// The live wait-for graph as a Mermaid flowchart.
pub fn waits(analysis: &crate::analyze::WaitAnalysis) -> String {
    let mut out = String::from("flowchart RL\n");
    for root in &analysis.root_blockers {
        out.push_str(&format!(
            "  t{}[{}]\n",
            root.thread_id,
            label(&format!(
                "thread {}\nROOT BLOCKER\nholds up {}",
                root.thread_id, root.blocked_sessions
            ))
        ));
        out.push_str(&format!(
            "  style t{} stroke:#d00,stroke-width:3px\n",
            root.thread_id
        ));
    }
    for w in &analysis.waits {
        out.push_str(&format!(
            "  t{} -->|{}| t{}\n",
            w.waiting_thread_id,
            label(&format!("{} {}s", super::text::wait_label(w), w.wait_secs)),
            w.blocking_thread_id
        ));
    }
    out
}
