//! Graphviz DOT: `lockdiag … --format dot | dot -Tsvg > graph.svg`.

use crate::model::PrintedTransaction;

use crate::analyze::DeadlockReport;

use super::{Format, Renderer, TableStyle, View, ViewKind};

/// Graphviz DOT: the graphs (waits, deadlocks).
pub struct Dot;

impl Renderer for Dot {
    fn format(&self) -> Format {
        Format::Dot
    }

    fn prints(&self, view: ViewKind) -> bool {
        matches!(view, ViewKind::Waits | ViewKind::Deadlock)
    }

    fn render(&self, view: &View, _style: &TableStyle) -> Option<String> {
        render(view)
    }
}

/// The graph of a view that is one (waits, deadlocks); `None` for the others.
pub fn render(view: &View) -> Option<String> {
    match view {
        View::Waits(v) => Some(waits(&v.analysis.clone().unwrap_or_default())),
        View::Deadlocks(v) => Some(deadlocks(v.listed())),
        _ => None,
    }
}

/// A DOT string literal: backslash, quote and line breaks escaped, other control characters replaced.
fn quote(text: &str) -> String {
    format!(
        "\"{}\"",
        super::text::printable(text)
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    )
}

fn trx_node_label(t: &PrintedTransaction) -> String {
    super::text::transaction_label_lines(t, 60).join("\n")
}

/// One digraph per deadlock, as clusters of one graph.
pub fn deadlocks(reports: &[DeadlockReport]) -> String {
    let mut out = String::from("digraph deadlocks {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n");
    for (i, report) in reports.iter().enumerate() {
        let d = &report.deadlock;
        let title = format!(
            "Deadlock {}{}\n{}",
            d.timestamp.as_deref().unwrap_or("(no timestamp)"),
            if d.truncated { " (truncated)" } else { "" },
            report.analysis.diagnosis.kind.as_str()
        );
        out.push_str(&format!(
            "  subgraph cluster_{i} {{\n    label={};\n",
            quote(&title)
        ));
        for t in &d.transactions {
            let style = if t.rolled_back {
                ", color=red, penwidth=2"
            } else {
                ""
            };
            out.push_str(&format!(
                "    d{i}_t{} [label={}{style}];\n",
                t.number,
                quote(&trx_node_label(t))
            ));
        }
        for (n, edge) in report.analysis.edges.iter().enumerate() {
            let target = match edge.holder {
                Some(h) => format!("d{i}_t{h}"),
                None => {
                    out.push_str(&format!(
                        "    d{i}_unknown{n} [label=\"holder not printed\", style=dashed];\n"
                    ));
                    format!("d{i}_unknown{n}")
                }
            };
            let style = if edge.inferred { ", style=dashed" } else { "" };
            out.push_str(&format!(
                "    d{i}_t{} -> {target} [label={}{style}];\n",
                edge.waiter,
                quote(&format!("waits for\n{}", edge.waits_for))
            ));
        }
        out.push_str("  }\n");
    }
    out.push_str("}\n");
    out
}

/// The live wait-for graph: an arrow from each waiter to what it waits for.
pub fn waits(analysis: &crate::analyze::WaitAnalysis) -> String {
    let mut out = String::from("digraph waits {\n  rankdir=RL;\n  node [shape=box, fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n");
    for root in &analysis.root_blockers {
        let label = format!(
            "thread {}\nROOT BLOCKER\nholds up {}",
            root.thread_id, root.blocked_sessions
        );
        out.push_str(&format!(
            "  t{} [label={}, color=red, penwidth=2];\n",
            root.thread_id,
            quote(&label)
        ));
    }
    for w in &analysis.waits {
        let label = format!("{}\n{}s", super::text::wait_label(w), w.wait_secs);
        out.push_str(&format!(
            "  t{} -> t{} [label={}];\n",
            w.waiting_thread_id,
            w.blocking_thread_id,
            quote(&label)
        ));
    }
    out.push_str("}\n");
    out
}
