//! Prometheus text exposition for node_exporter's textfile collector.

use std::fmt::Write;

use crate::analyze::views::SnapshotView;
use crate::model::SourceState;

use super::{Format, Renderer, TableStyle, View, ViewKind};

/// Prometheus text: a snapshot's gauges.
pub struct Prometheus;

impl Renderer for Prometheus {
    fn format(&self) -> Format {
        Format::Prometheus
    }

    fn prints(&self, view: ViewKind) -> bool {
        view == ViewKind::Snapshot
    }

    fn render(&self, view: &View, _style: &TableStyle) -> Option<String> {
        render(view)
    }
}

/// The gauges of a snapshot; `None` for other views.
pub fn render(view: &View) -> Option<String> {
    match view {
        View::Snapshot(v) => Some(snapshot(v)),
        _ => None,
    }
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn gauge(out: &mut String, name: &str, help: &str, labels: &str, value: impl std::fmt::Display) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} gauge\n{name}{{{labels}}} {value}"
    );
}

/// What a textfile collector should export when a collection failed: the
/// previous file's gauges would go on looking current.
pub fn collection_failed(target: &str, at_epoch: i64) -> String {
    let server = format!("server=\"{}\"", escape(target));
    let mut out = String::new();
    gauge(&mut out, "lockdiag_up", UP_HELP, &server, 0);
    gauge(
        &mut out,
        "lockdiag_collection_error_timestamp_seconds",
        "When lockdiag last failed to collect (Unix time).",
        &server,
        at_epoch,
    );
    out
}

const UP_HELP: &str = "Whether lockdiag's last collection reached the server (1) or failed (0).";

/// The headline figures of one collection.
pub fn snapshot(view: &SnapshotView) -> String {
    let state = &view.state;
    let latest_deadlock = view.latest_deadlock.as_ref();
    let server = format!("server=\"{}\"", escape(&view.target));
    let mut out = String::new();
    gauge(&mut out, "lockdiag_up", UP_HELP, &server, 1);
    let oldest = state
        .transactions
        .iter()
        .map(|t| t.age_secs)
        .max()
        .unwrap_or(0);
    // A source that was not read has no figure: a gauge of 0 would say "all clear".
    if let Some(analysis) = &view.analysis {
        let longest = analysis
            .waits
            .iter()
            .map(|w| w.wait_secs)
            .max()
            .unwrap_or(0);
        gauge(
            &mut out,
            "lockdiag_waiting_sessions",
            "Sessions waiting for a row or metadata lock.",
            &server,
            analysis.waiting_sessions,
        );
        gauge(
            &mut out,
            "lockdiag_longest_lock_wait_seconds",
            "Longest current lock wait.",
            &server,
            longest,
        );
        gauge(
            &mut out,
            "lockdiag_root_blockers",
            "Sessions that block others and wait for nobody.",
            &server,
            analysis.root_blockers.len(),
        );
    }
    if state.was_read(crate::model::SourceName::Transactions) {
        gauge(
            &mut out,
            "lockdiag_oldest_transaction_age_seconds",
            "Age of the oldest open InnoDB transaction.",
            &server,
            oldest,
        );
        gauge(
            &mut out,
            "lockdiag_open_transactions",
            "Open transactions (InnoDB's, and sessions holding a transaction-long metadata lock).",
            &server,
            crate::analyze::waits::open_transaction_count(state),
        );
    }
    let _ = writeln!(out, "# HELP lockdiag_source_up Whether lockdiag could read a source (1) or not (0).\n# TYPE lockdiag_source_up gauge");
    for s in &state.sources {
        let up = u8::from(s.status != SourceState::Unavailable);
        let _ = writeln!(
            out,
            "lockdiag_source_up{{{server},source=\"{}\"}} {up}",
            s.source.as_str()
        );
    }
    if let Some(d) = latest_deadlock {
        if let Some(epoch) =
            d.deadlock.timestamp.as_deref().and_then(|ts| {
                crate::analyze::time::timestamp_epoch(ts, state.server.utc_offset_secs)
            })
        {
            gauge(
                &mut out,
                "lockdiag_latest_deadlock_timestamp_seconds",
                "When the latest deadlock was detected (Unix time).",
                &server,
                epoch,
            );
        }
        let labels = format!(
            "{server},fingerprint=\"{}\",kind=\"{}\"",
            d.analysis.fingerprint,
            d.analysis.diagnosis.kind.as_str()
        );
        gauge(
            &mut out,
            "lockdiag_latest_deadlock_info",
            "The latest deadlock's fingerprint and kind (value always 1).",
            &labels,
            1,
        );
    }
    out
}
