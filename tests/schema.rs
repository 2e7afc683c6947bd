//! The JSON contract, machine-checked: the schemas in docs/schema/ are the ones
//! generated from the types (`LOCKDIAG_WRITE_SCHEMAS=1 cargo test --test schema`
//! rewrites them), every field they name is in docs/json.md, and validation
//! against them refuses a field nobody documented.

use std::path::{Path, PathBuf};

use lockdiag::render::schema;

fn schema_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schema")
}

/// Each generated schema equals its committed file; with `LOCKDIAG_WRITE_SCHEMAS=1`
/// the files are written instead. No file is left over from a removed document.
#[test]
fn committed_schemas_are_the_generated_ones() {
    let write = std::env::var_os("LOCKDIAG_WRITE_SCHEMAS").is_some_and(|v| v == "1");
    let dir = schema_dir();
    let mut stale = Vec::new();
    let schemas = schema::all();
    for s in &schemas {
        let path = dir.join(format!("{}.schema.json", s.name));
        let mut text = serde_json::to_string_pretty(&s.schema).unwrap();
        text.push('\n');
        if write {
            std::fs::write(&path, &text).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "out of date with the types (regenerate: LOCKDIAG_WRITE_SCHEMAS=1 cargo test --test schema): {stale:?}"
    );
    let mut extra: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| {
            !schemas
                .iter()
                .any(|s| *f == format!("{}.schema.json", s.name))
        })
        .collect();
    extra.sort();
    assert!(
        extra.is_empty(),
        "files in docs/schema/ no document has: {extra:?}"
    );
}

#[path = "support/schema_check.rs"]
mod schema_check;

use serde_json::Value;

/// Every property name a schema has, anywhere in it (its `$defs` included).
fn property_names(schema: &Value, names: &mut std::collections::BTreeSet<String>) {
    match schema {
        Value::Object(object) => {
            if let Some(Value::Object(properties)) = object.get("properties") {
                names.extend(properties.keys().cloned());
            }
            object.values().for_each(|v| property_names(v, names));
        }
        Value::Array(items) => items.iter().for_each(|v| property_names(v, names)),
        _ => {}
    }
}

/// The names docs/json.md mentions: each backquoted field name or path (`a`,
/// `a.b`, `a[].b`, `a[][]`) split into its parts.
fn documented_names(markdown: &str) -> std::collections::BTreeSet<String> {
    let path = regex::Regex::new(r"^[a-z_][a-z0-9_]*(\[\])*(\.[a-z_][a-z0-9_]*(\[\])*)*$").unwrap();
    markdown
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| path.is_match(span))
        .flat_map(|span| span.split('.'))
        .map(|part| part.trim_end_matches("[]").to_string())
        .collect()
}

/// A field the schemas show but docs/json.md never names is undocumented output.
#[test]
fn every_field_in_a_schema_is_in_docs_json_md() {
    let markdown =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/json.md"))
            .unwrap();
    let documented = documented_names(&markdown);
    let mut missing = Vec::new();
    for s in schema::all() {
        let mut names = std::collections::BTreeSet::new();
        property_names(&s.schema, &mut names);
        missing.extend(
            names
                .into_iter()
                .filter(|n| !documented.contains(n))
                .map(|n| format!("{}: {n}", s.name)),
        );
    }
    assert!(
        missing.is_empty(),
        "fields in docs/schema/ that docs/json.md does not mention: {missing:?}"
    );
}

/// A real document: the deadlock of a status text captured from a server.
fn deadlock_document() -> Value {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/live/payments-reservations.status.txt");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lockdiag"))
        .args([
            "deadlock",
            "--file",
            fixture.to_str().unwrap(),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The check can fail: a field nobody documented, at the top or deep inside, a
/// mistyped value and a missing field are each refused.
#[test]
fn an_undocumented_or_mistyped_field_fails_validation() {
    let doc = deadlock_document();
    schema_check::validate_document(&doc);
    let refused = |change: &dyn Fn(&mut Value), what: &str| {
        let mut changed = doc.clone();
        change(&mut changed);
        let result = schema_check::check("deadlock", &changed);
        assert!(result.is_err(), "{what}: accepted");
        result.unwrap_err()
    };
    let errors = refused(&|d| d["surprise"] = 1.into(), "a new top-level field");
    assert!(errors.contains("surprise"), "{errors}");
    let errors = refused(
        &|d| d["deadlocks"][0]["transactions"][1]["holds"][0]["surprise"] = 1.into(),
        "a new field in a lock",
    );
    assert!(
        errors.contains("/deadlocks/0/transactions/1/holds/0"),
        "{errors}"
    );
    refused(
        &|d| d["deadlocks"][0]["diagnosis"]["surprise"] = Value::Null,
        "a new field in a flattened analysis",
    );
    refused(
        &|d| d["deadlocks"][0]["transactions"][0]["trx_id"] = 76.into(),
        "a trx_id as a number",
    );
    refused(
        &|d| {
            d["deadlocks"][0]
                .as_object_mut()
                .unwrap()
                .remove("fingerprint");
        },
        "a missing fingerprint",
    );
    refused(&|d| d["kind"] = "status".into(), "another kind's name");
}
