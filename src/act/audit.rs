//! The kill audit log: one JSON line per target and phase, appended and
//! fsynced before the next step, so a crash between "before" and "after"
//! leaves a trace. A record that cannot be written stops the kill. Every
//! `before` is followed by one `after` or `skipped` for the same target; a
//! `skipped` or `dry_run` line with no `before` means nothing was sent.

use std::fs;
use std::path::{Path, PathBuf};

pub use crate::analyze::kill::{AuditPhase, AuditRecord};
use crate::source::snapshot_file::{append_line, create_private_dir_all};
use anyhow::{bail, Context, Result};

/// Where kills are audited: `--audit-log` when given, else the default; with neither
/// there is nowhere to write, and nothing may be killed (the one rule for `kill` and `watch`).
pub fn audit_path(given: Option<PathBuf>) -> Result<PathBuf> {
    match given {
        Some(path) => Ok(path),
        None => default_audit_path()
            .context("no audit log path: set --audit-log, XDG_STATE_HOME or HOME"),
    }
}

/// `$XDG_STATE_HOME/lockdiag/audit.log`, else `~/.local/state/lockdiag/audit.log`.
pub fn default_audit_path() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(state.join("lockdiag/audit.log"))
}

/// The operator: `$USER` or `$LOGNAME`, else the name of the process's uid
/// in `/etc/passwd`, else `uid N` (cron and systemd often set neither variable).
pub fn os_user() -> String {
    if let Some(name) = ["USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|n| !n.is_empty()))
    {
        return name;
    }
    use std::os::unix::fs::MetadataExt;
    // The owner of /proc/self is the process's (effective) uid.
    let Ok(uid) = fs::metadata("/proc/self").map(|m| m.uid()) else {
        return "unknown".into();
    };
    fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| user_of_uid(&passwd, uid))
        .unwrap_or_else(|| format!("uid {uid}"))
}

/// The name of `uid` in a passwd file's text.
fn user_of_uid(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id: u32 = fields.nth(1)?.parse().ok()?;
        (id == uid).then(|| name.to_string())
    })
}

pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Appends one record, all or nothing, synced to disk, to a private file (0600; a
/// directory it creates is 0700): the records name sessions, accounts and statements.
/// A path that exists but is no regular file is refused before it is opened: opening
/// a FIFO for writing waits for a reader, and `kill` would hang before acting.
pub fn append(path: &Path, record: &AuditRecord) -> Result<()> {
    if let Ok(meta) = fs::metadata(path) {
        if !meta.is_file() {
            bail!(
                "the audit log {} is not a regular file (a FIFO or device would block or lose the record): name a file",
                path.display()
            );
        }
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir_all(dir).context("cannot create the audit log directory")?;
    }
    let line = serde_json::to_string(record).context("cannot encode the audit record")?;
    append_line(path, &line).context("cannot write the audit log")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_and_server_identity() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\nops:x:1001:1001::/home/ops:/bin/sh\n";
        assert_eq!(user_of_uid(passwd, 1001).as_deref(), Some("ops"));
        assert_eq!(user_of_uid(passwd, 42), None);
        let server = crate::analyze::kill::KillServer {
            hostname: Some("db-primary.prod".into()),
            port: Some(3306),
            server_id: Some(1),
            version: "10.11.19-MariaDB".into(),
            read_only: Some(false),
            replica: false,
        };
        assert!(server.is("db-primary") && server.is("DB-PRIMARY.prod:3306"));
        assert!(!server.is("db-replica") && !server.is("db-primary:3307"));
        assert_eq!(
            server.describe(),
            "db-primary.prod:3306 (server_id 1, 10.11.19-MariaDB, read-write, not a replica)"
        );
    }
}
