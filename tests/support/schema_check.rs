//! Validates lockdiag's JSON against the committed schemas in docs/schema/
//! (draft 2020-12), so an undocumented or mistyped field fails the test that saw
//! it. One file for every test crate that reads lockdiag's JSON, included with
//! `#[path = "…/tests/support/schema_check.rs"] mod schema_check;` (the lib's unit
//! tests too): it uses no lockdiag item, only the files.

// Each crate that includes this uses part of it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use serde_json::Value;

/// Every schema file, `docs/schema/<name>.schema.json`: the document kinds, then
/// the JSON-lines files.
pub const SCHEMAS: [&str; 13] = [
    "status",
    "ps",
    "locks",
    "waits",
    "deadlock",
    "snapshot",
    "kill",
    "check",
    "dupes",
    "fleet",
    "deadlocks-line",
    "lock-wait-timeouts-line",
    "audit-line",
];

/// How many documents this test binary validated.
static VALIDATED: AtomicUsize = AtomicUsize::new(0);

/// Each schema compiled once per test binary.
fn validators() -> &'static HashMap<&'static str, jsonschema::Validator> {
    static VALIDATORS: OnceLock<HashMap<&'static str, jsonschema::Validator>> = OnceLock::new();
    VALIDATORS.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schema");
        SCHEMAS
            .iter()
            .map(|&name| {
                let path = dir.join(format!("{name}.schema.json"));
                let text = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let schema: Value = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
                let validator = jsonschema::draft202012::new(&schema)
                    .unwrap_or_else(|e| panic!("{}: not a valid schema: {e}", path.display()));
                (name, validator)
            })
            .collect()
    })
}

/// Whether `doc` matches schema `name` (`status`, …, `deadlocks-line`); the error
/// lists each mismatch with its place in the document.
pub fn check(name: &str, doc: &Value) -> Result<(), String> {
    let validator = validators()
        .get(name)
        .unwrap_or_else(|| panic!("no schema {name:?}: one of {SCHEMAS:?}"));
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .take(20)
        .map(|e| {
            let at = e.instance_path().to_string();
            format!("at {}: {e}", if at.is_empty() { "/" } else { &at })
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\n"))
    }
}

/// Panics unless `doc` matches schema `name`, naming where it does not.
pub fn validate(name: &str, doc: &Value) {
    if let Err(errors) = check(name, doc) {
        let text = serde_json::to_string(doc).unwrap_or_default();
        let shown: String = text.chars().take(2000).collect();
        panic!("lockdiag's JSON does not match docs/schema/{name}.schema.json:\n{errors}\ndocument: {shown}");
    }
    VALIDATED.fetch_add(1, Ordering::Relaxed);
}

/// Validates a whole document against the schema of its own `kind`.
pub fn validate_document(doc: &Value) {
    let kind = doc["kind"]
        .as_str()
        .unwrap_or_else(|| panic!("a lockdiag document without a `kind`: {doc}"));
    validate(kind, doc);
}

/// Documents this test binary validated so far.
pub fn validated() -> usize {
    VALIDATED.load(Ordering::Relaxed)
}
