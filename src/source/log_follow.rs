//! Following an error log as the server writes it (`record --error-log`):
//! only new text, read once it has stopped growing for one poll (a deadlock
//! print is one burst of writes), from the start again after a rotation.

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::model::Deadlock;
use crate::parse::{is_json_sink, ErrorLogDeadlocks, JsonSinkText};

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

    /// The deadlocks written since the last poll. A missing file (between a
    /// rotation and the server's reopen) has none yet.
    pub fn poll(&mut self) -> Result<Vec<Deadlock>> {
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
        if size != self.seen_size {
            self.seen_size = size;
            return Ok(Vec::new());
        }
        let mut file = std::fs::File::open(&self.path)
            .with_context(|| format!("cannot open {}", self.path.display()))?;
        file.seek(SeekFrom::Start(self.offset))?;
        let mut text = Vec::new();
        file.take(size - self.offset).read_to_end(&mut text)?;
        self.offset = size;
        // MySQL's JSON sink (`log_sink_json`): the deadlocks' times, not their transactions.
        if is_json_sink(&text) {
            let events = JsonSinkText::new(text.as_slice());
            return Ok(ErrorLogDeadlocks::new(events).collect::<std::io::Result<_>>()?);
        }
        Ok(ErrorLogDeadlocks::new(text.as_slice()).collect::<std::io::Result<_>>()?)
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
            assert!(follower.poll().unwrap().is_empty(), "still growing: wait");
            let found = follower.poll().unwrap();
            assert_eq!(found.len(), expected, "{name}");
            assert!(found[0].timestamp.is_some(), "{name}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
