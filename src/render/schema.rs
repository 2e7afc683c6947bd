//! JSON Schemas (draft 2020-12) of every JSON document lockdiag writes, generated
//! from the types serde writes them from: each `kind` under the versioned header,
//! and the JSON lines `record` and `kill` append. The copies in `docs/schema/` are
//! compared with these by `tests/schema.rs` (`LOCKDIAG_WRITE_SCHEMAS=1` rewrites
//! them), and every JSON document the tests see is validated against them.

use schemars::generate::SchemaSettings;
use schemars::transform::RecursiveTransform;
use schemars::{JsonSchema, Schema};
use serde_json::{json, Value};

use crate::analyze::duplicates::DupesReport;
use crate::analyze::fleet::FleetView;
use crate::analyze::kill::{AuditRecord, KillReport};
use crate::analyze::timeouts::TimeoutReport;
use crate::analyze::views::{
    CheckView, DeadlocksView, LocksView, PsView, SnapshotView, StatusView, WaitsView,
};
use crate::analyze::DeadlockReport;
use crate::model::{Versioned, SCHEMA_VERSION};

use super::ViewKind;

/// One schema and the name of its file, `docs/schema/<name>.schema.json`.
pub struct DocumentSchema {
    /// A document's `kind`, or the JSON-lines file it describes (`deadlocks-line`, …).
    pub name: &'static str,
    pub schema: Value,
}

/// Every document kind, in the order `docs/json.md` describes them.
pub const KINDS: [ViewKind; 10] = [
    ViewKind::Status,
    ViewKind::Ps,
    ViewKind::Locks,
    ViewKind::Waits,
    ViewKind::Deadlock,
    ViewKind::Snapshot,
    ViewKind::Kill,
    ViewKind::Check,
    ViewKind::Dupes,
    ViewKind::Fleet,
];

/// The schemas of every document kind, then of every JSON-lines file.
pub fn all() -> Vec<DocumentSchema> {
    let mut schemas: Vec<DocumentSchema> = KINDS
        .iter()
        .filter_map(|&kind| {
            Some(DocumentSchema {
                name: kind.name(),
                schema: document_schema(kind)?,
            })
        })
        .collect();
    schemas.extend([
        DocumentSchema {
            name: "deadlocks-line",
            schema: line_schema::<DeadlockReport>(
                "A line of record's deadlocks.jsonl",
                "One deadlock per line, in the shape of an entry of the `deadlock` document's `deadlocks[]`, with no header (docs/json.md, `record`'s `deadlocks.jsonl`).",
            ),
        },
        DocumentSchema {
            name: "lock-wait-timeouts-line",
            schema: line_schema::<TimeoutReport>(
                "A line of record's lock-wait-timeouts.jsonl",
                "One Percona Server lock wait timeout per line, in the shape of an entry of the `deadlock` document's `lock_wait_timeouts[]`, with no header (docs/json.md, `deadlock`).",
            ),
        },
        DocumentSchema {
            name: "audit-line",
            schema: line_schema::<AuditRecord<'static>>(
                "A line of kill's audit log",
                "One record per target and phase of `lockdiag kill` (and of a kill from `watch`), with no header (docs/json.md, `kill`).",
            ),
        },
    ]);
    schemas
}

/// The schema of the document of `kind`, as `--format json` prints it; `None` for the
/// incident report (a page, no JSON document).
pub fn document_schema(kind: ViewKind) -> Option<Value> {
    let (root, description) = match kind {
        ViewKind::Status => (
            root_schema::<Versioned<StatusView>>(),
            "`lockdiag status --format json`: the server, what could be read, the counts, the waits tree, metadata-lock waits, long transactions and the latest deadlock.",
        ),
        ViewKind::Ps => (
            root_schema::<Versioned<PsView>>(),
            "`lockdiag ps --format json`: the processlist without lockdiag's own sessions, longest first.",
        ),
        ViewKind::Locks => (
            root_schema::<Versioned<LocksView>>(),
            "`lockdiag locks --format json`: InnoDB locks grouped per transaction, table, index, type, mode and status, and the open transactions.",
        ),
        ViewKind::Waits => (
            root_schema::<Versioned<WaitsView>>(),
            "`lockdiag waits --format json`: root blockers and their waiters, every wait-for edge, cycles.",
        ),
        ViewKind::Deadlock => (
            root_schema::<Versioned<DeadlocksView>>(),
            "`lockdiag deadlock --format json`: deadlocks read from a server, a status text, an error log or snapshots, each with its analysis; from error logs also Percona Server's lock wait timeouts.",
        ),
        ViewKind::Snapshot => (
            root_schema::<Versioned<SnapshotView>>(),
            "`lockdiag snapshot` and `record`'s snapshot files: everything one collection read, with the analysis at collection time.",
        ),
        ViewKind::Kill => (
            root_schema::<Versioned<KillReport>>(),
            "`lockdiag kill --format json`: where the kills went and what became of each target.",
        ),
        ViewKind::Check => (
            root_schema::<Versioned<CheckView>>(),
            "`lockdiag check --format json`: the overall result and one entry per assertion.",
        ),
        ViewKind::Report => return None,
        ViewKind::Fleet => (
            root_schema::<Versioned<FleetView>>(),
            "`lockdiag status --hosts FILE --format json`: one entry per server of the hosts file, worst first, each with its lock figures or why it could not be read.",
        ),
        ViewKind::Dupes => (
            root_schema::<Versioned<DupesReport>>(),
            "`lockdiag dupes --format json`: the rows a UNIQUE index on the columns would reject, grouped by key, and the fix.",
        ),
    };
    let mut schema = titled(
        root,
        &format!("lockdiag {} document", kind.name()),
        &format!("{description} Fields are described in docs/json.md."),
    );
    // The header's generic fields, pinned to what this document says in them.
    let properties = &mut schema["properties"];
    properties["kind"] = json!({
        "description": "What the document is: the command that wrote it.",
        "const": kind.name(),
    });
    properties["schema_version"] = json!({
        "description": "Bumped when a field changes meaning or disappears (adding one does not).",
        "const": SCHEMA_VERSION,
    });
    Some(schema)
}

fn line_schema<T: JsonSchema>(title: &str, description: &str) -> Value {
    titled(root_schema::<T>(), title, description)
}

/// The schema of what serde writes for `T`, every object closed to other properties.
fn root_schema<T: JsonSchema>() -> Schema {
    SchemaSettings::draft2020_12()
        .for_serialize()
        .with_transform(RecursiveTransform(close_object as fn(&mut Schema)))
        .into_generator()
        .into_root_schema_for::<T>()
}

/// An object schema that does not say what to do with other properties refuses
/// them: an undocumented field fails validation. `unevaluatedProperties` (not
/// `additionalProperties`) also sees the properties of subschemas it combines.
fn close_object(schema: &mut Schema) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    let is_object = match object.get("type") {
        Some(Value::String(t)) => t == "object",
        Some(Value::Array(types)) => types.iter().any(|t| t == "object"),
        _ => object.contains_key("properties"),
    };
    if is_object
        && !object.contains_key("additionalProperties")
        && !object.contains_key("unevaluatedProperties")
    {
        object.insert("unevaluatedProperties".into(), false.into());
    }
}

fn titled(schema: Schema, title: &str, description: &str) -> Value {
    let mut schema = schema.to_value();
    schema["title"] = title.into();
    schema["description"] = description.into();
    schema
}
