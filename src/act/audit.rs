//! The kill audit log: one JSON line per target and phase, appended and
//! fsynced before the next step, so a crash between "before" and "after"
//! leaves a trace. A record that cannot be written stops the kill.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::analyze::kill::KillTarget;

/// `$XDG_STATE_HOME/lockdiag/audit.log`, else `~/.local/state/lockdiag/audit.log`.
pub fn default_audit_path() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(state.join("lockdiag/audit.log"))
}

/// The server a kill went to.
#[derive(Debug, Clone, Serialize)]
pub struct AuditServer {
    pub hostname: Option<String>,
    pub port: Option<u64>,
    pub server_id: Option<u64>,
    pub version: String,
}

/// One audit line.
#[derive(Debug, Serialize)]
pub struct AuditRecord<'a> {
    /// RFC 3339, UTC.
    pub time: String,
    /// `before` (about to send), `after` (outcome known), or `skipped`.
    pub phase: &'a str,
    pub os_user: String,
    /// The account lockdiag is connected as.
    pub db_user: Option<&'a str>,
    pub server: &'a AuditServer,
    pub target: &'a KillTarget,
    pub statement: &'a str,
    pub dry_run: bool,
    /// `pending`, `killed`, `failed`, `skipped`, `dry_run`.
    pub outcome: &'a str,
    pub detail: Option<String>,
}

pub fn os_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Appends one line and syncs it to disk.
pub fn append(path: &Path, record: &AuditRecord) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the audit log directory {}", dir.display()))?;
    }
    let mut line = serde_json::to_string(record).context("cannot encode the audit record")?;
    line.push('\n');
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open the audit log {}", path.display()))?;
    file.write_all(line.as_bytes())
        .with_context(|| format!("cannot write the audit log {}", path.display()))?;
    file.sync_all()
        .with_context(|| format!("cannot sync the audit log {}", path.display()))?;
    Ok(())
}
