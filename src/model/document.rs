//! The versioned header every JSON document lockdiag writes starts with.
//! Cron users parse these documents: the header tells them (and `--from`)
//! what a file is before anything else is read.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Bumped when a field changes meaning or type, or disappears (adding one does not).
pub const SCHEMA_VERSION: u32 = 2;

/// This build's version, written into every document.
pub const LOCKDIAG_VERSION: &str = env!("CARGO_PKG_VERSION");

/// A document: `schema_version`, `kind`, `lockdiag_version`, then the body's fields.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Versioned<T> {
    pub schema_version: u32,
    /// What the document is: `status`, `ps`, `locks`, `waits`, `deadlock`,
    /// `snapshot`, `kill`, `check`, `dupes`.
    pub kind: String,
    pub lockdiag_version: String,
    #[serde(flatten)]
    pub body: T,
}

impl<T> Versioned<T> {
    /// Stamps `body` with the current schema and lockdiag versions.
    pub fn new(kind: &str, body: T) -> Self {
        Versioned {
            schema_version: SCHEMA_VERSION,
            kind: kind.to_string(),
            lockdiag_version: LOCKDIAG_VERSION.to_string(),
            body,
        }
    }
}

/// Just the header, read first so that a newer or foreign document is named
/// as such instead of failing on a missing field of the body.
#[derive(Debug, Clone, Deserialize)]
pub struct DocumentHeader {
    pub schema_version: Option<u32>,
    pub kind: Option<String>,
}
