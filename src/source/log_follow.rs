//! Following an error log as the server writes it (`record --error-log`):
//! only new text, from the start again after a rotation. New text is read once
//! it has stopped growing for one poll (a deadlock print is one burst of
//! writes); while it keeps growing (a deadlock storm writes without pause), the
//! prints completed so far — up to the line of the last victim — are read, and
//! the rest waits for the next poll.

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::parse::error_log::complete_entries_len;
use crate::parse::{is_json_sink, ErrorLogEntries, JsonSinkText, LogEntry};

#[derive(Debug)]
pub struct LogFollower {
    path: PathBuf,
    /// Bytes already parsed.
    offset: u64,
    /// The size seen by the previous poll: text is parsed once the size holds still.
    seen_size: u64,
    inode: Option<u64>,
}

impl LogFollower {
    /// Follows `path` from its current end (what is there already is history).
    pub fn from_end(path: &Path) -> Self {
        let meta = std::fs::metadata(path).ok();
        let size = meta.as_ref().map_or(0, |m| m.len());
        LogFollower {
            path: path.to_path_buf(),
            offset: size,
            seen_size: size,
            inode: meta.map(|m| m.ino()),
        }
    }

    /// The deadlocks and logged lock wait timeouts written since the last poll.
    /// A missing file (between a rotation and the server's reopen) has none yet.
    pub fn poll(&mut self) -> Result<Vec<LogEntry>> {
        let Ok(meta) = std::fs::metadata(&self.path) else {
            return Ok(Vec::new());
        };
        // Rotated (another file under the name) or truncated: read the new file from its start.
        if self.inode != Some(meta.ino()) || meta.len() < self.offset {
            self.inode = Some(meta.ino());
            self.offset = 0;
            self.seen_size = 0;
        }
        let size = meta.len();
        if size == self.offset {
            return Ok(Vec::new());
        }
        let growing = size != self.seen_size;
        self.seen_size = size;
        let mut file = std::fs::File::open(&self.path)
            .with_context(|| format!("cannot open {}", self.path.display()))?;
        file.seek(SeekFrom::Start(self.offset))?;
        let mut text = Vec::new();
        file.take(size - self.offset).read_to_end(&mut text)?;
        if growing {
            // Only the entries that are complete; the rest is read at the next poll.
            let Some(end) = complete_entries_len(&text) else {
                return Ok(Vec::new());
            };
            text.truncate(end);
        }
        self.offset += text.len() as u64;
        // MySQL's JSON sink (`log_sink_json`): the deadlocks' times, not their transactions.
        if is_json_sink(&text) {
            let events = JsonSinkText::new(text.as_slice());
            return Ok(ErrorLogEntries::new(events).collect::<std::io::Result<_>>()?);
        }
        Ok(ErrorLogEntries::new(text.as_slice()).collect::<std::io::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_text_and_json_sink_logs() {
        let dir = std::env::temp_dir().join(format!("lockdiag-follow-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let text_log = include_str!("../../fixtures/live/error.log");
        let json_log = concat!(
            r#"{ "prio" : 3, "err_code" : 12468, "subsystem" : "InnoDB", "msg" : "Transactions deadlock detected, dumping detailed information.", "time" : "2025-11-10T08:52:25.728850Z", "thread" : 21, "label" : "Note" }"#,
            "\n",
            r#"{ "prio" : 3, "err_code" : 12469, "subsystem" : "InnoDB", "msg" : "*** WE ROLL BACK TRANSACTION (2)", "time" : "2025-11-10T08:52:25.728940Z", "thread" : 21, "label" : "Note" }"#,
            "\n"
        );
        for (name, body, expected) in [("error.log", text_log, 3), ("error.00.json", json_log, 1)] {
            let path = dir.join(name);
            std::fs::write(&path, "").unwrap();
            let mut follower = LogFollower::from_end(&path);
            std::fs::write(&path, body).unwrap();
            // Still growing: the complete prints are read already, the rest on the next poll.
            let mut found = follower.poll().unwrap();
            found.extend(follower.poll().unwrap());
            assert_eq!(found.len(), expected, "{name}");
            assert!(
                matches!(&found[0], LogEntry::Deadlock(d) if d.timestamp.is_some()),
                "{name}"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A storm: the log never stops growing, yet every completed print is read once.
    #[test]
    fn a_log_that_keeps_growing_is_read_print_by_print() {
        let dir = std::env::temp_dir().join(format!("lockdiag-storm-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("error.log");
        std::fs::write(&path, "").unwrap();
        let log = include_str!("../../fixtures/live/error.log");
        let mut follower = LogFollower::from_end(&path);
        let mut found = Vec::new();
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        // Ten copies written in pieces that cut prints in the middle, a poll after each piece.
        let pieces: Vec<&[u8]> = log.as_bytes().chunks(log.len() / 7 + 1).collect();
        for _ in 0..10 {
            for piece in &pieces {
                std::io::Write::write_all(&mut file, piece).unwrap();
                found.extend(follower.poll().unwrap());
            }
        }
        assert_eq!(found.len(), 30, "3 deadlocks × 10, none lost, none cut");
        assert!(found
            .iter()
            .all(|e| matches!(e, LogEntry::Deadlock(d) if !d.truncated && d.victim.is_some())));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Percona's timeout entries between deadlock prints, in a log that never stops
    /// growing: each entry read once and whole, in order.
    #[test]
    fn timeouts_in_a_growing_log_are_read_whole() {
        let dir = std::env::temp_dir().join(format!("lockdiag-timeouts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("error.log");
        std::fs::write(&path, "").unwrap();
        let timeouts = include_str!("../../fixtures/percona/lock-wait-timeouts.log");
        // Without its cut last entry: a log being written ends inside one only for now.
        let whole = &timeouts[..timeouts.rfind("2026-11-30T09:17:00").unwrap()];
        let log = format!("{}{whole}", include_str!("../../fixtures/live/error.log"));
        let mut follower = LogFollower::from_end(&path);
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        let mut found = Vec::new();
        for _ in 0..3 {
            for piece in log.as_bytes().chunks(97) {
                std::io::Write::write_all(&mut file, piece).unwrap();
                found.extend(follower.poll().unwrap());
            }
        }
        found.extend(follower.poll().unwrap());
        let kinds: String = found
            .iter()
            .map(|e| match e {
                LogEntry::Deadlock(d) => {
                    assert!(!d.truncated);
                    'D'
                }
                LogEntry::LockWaitTimeout(t) => {
                    assert!(!t.truncated, "{t:?}");
                    'T'
                }
            })
            .collect();
        assert_eq!(kinds, "DDDTTTT".repeat(3));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
