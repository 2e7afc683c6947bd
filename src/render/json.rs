//! JSON documents: every view under the versioned header (`schema_version`,
//! `kind`, `lockdiag_version`). The fields are documented in docs/json.md and
//! only ever added to within a version.

use serde::Serialize;

use crate::model::Versioned;

use super::{Format, Renderer, TableStyle, View, ViewKind};

/// JSON: every view, as a versioned document.
pub struct Json;

impl Renderer for Json {
    fn format(&self) -> Format {
        Format::Json
    }

    fn prints(&self, view: ViewKind) -> bool {
        view != ViewKind::Report
    }

    fn render(&self, view: &View, _style: &TableStyle) -> Option<String> {
        render(view)
    }
}

/// The view as a pretty JSON document with a trailing newline; `None` for the
/// incident report (a page for people: its data are the snapshots it was made from).
pub fn render(view: &View) -> Option<String> {
    let kind = view.kind().name();
    Some(match view {
        View::Status(v) => document(kind, v),
        View::Ps(v) => document(kind, v),
        View::Locks(v) => document(kind, v),
        View::Waits(v) => document(kind, v),
        View::Deadlocks(v) => document(kind, v),
        View::Snapshot(v) => document(kind, v),
        View::KillPlan(v) => document(kind, v),
        View::Kill(v) => document(kind, v),
        View::Check(v) => document(kind, v),
        View::Dupes(v) => document(kind, v),
        View::Fleet(v) => document(kind, v),
        View::Report(_) => return None,
    })
}

/// A snapshot document, as `snapshot` prints it and `record` writes it.
pub fn snapshot_document(view: &crate::analyze::views::SnapshotView) -> String {
    document(ViewKind::Snapshot.name(), view)
}

fn document<T: Serialize>(kind: &str, body: &T) -> String {
    to_json(&Versioned::new(kind, body))
}

/// Pretty JSON with a trailing newline. Serialising these types cannot fail
/// (string keys, no non-finite floats); should it, the error is the document.
pub fn to_json<T: Serialize>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value)
        .unwrap_or_else(|e| format!("{{\"error\": {:?}}}", e.to_string()));
    text.push('\n');
    text
}
