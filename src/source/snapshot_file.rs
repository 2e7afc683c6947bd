//! Files lockdiag keeps: snapshots written whole or not at all, timestamped
//! names in a directory, pruning, all-or-nothing appends to JSON-lines files,
//! one writer per directory, and reading snapshots back (bounded).
//!
//! Files that can hold statement text or row values (personal data) are created
//! 0600 and the directories lockdiag creates 0700; Prometheus text (counts only)
//! is 0644 so that node_exporter can read it.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, NaiveDateTime, Utc};

use crate::model::{DocumentHeader, Snapshot, Versioned, SCHEMA_VERSION};

const PREFIX: &str = "lockdiag-";
const STAMP: &str = "%Y%m%dT%H%M%S%.3fZ";

/// `lockdiag-20261123T031200.000Z.json`: sorts by time as text.
pub fn timestamped_name(at: DateTime<Utc>, extension: &str) -> String {
    format!("{PREFIX}{}.{extension}", at.format(STAMP))
}

fn name_time(path: &Path) -> Option<DateTime<Utc>> {
    let name = path.file_name()?.to_str()?;
    let stamp = name.strip_prefix(PREFIX)?.rsplit_once('.')?.0;
    NaiveDateTime::parse_from_str(stamp, STAMP)
        .ok()
        .map(|n| n.and_utc())
}

/// Mode of files that may hold statement text, row values or account names.
pub const PRIVATE_FILE: u32 = 0o600;
/// Mode of files with counts only (Prometheus text, read by node_exporter's user).
pub const PUBLIC_FILE: u32 = 0o644;

/// The mode for a file by its extension: `.prom` public, everything else private.
pub fn mode_for(path: &Path) -> u32 {
    if path.extension().is_some_and(|e| e == "prom") {
        PUBLIC_FILE
    } else {
        PRIVATE_FILE
    }
}

/// Creates a directory and its missing parents, the new ones 0700 (an existing
/// directory keeps its mode: it is the operator's).
pub fn create_private_dir_all(dir: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

/// Writes `content` to `path` so that no reader ever sees a partial file: a
/// temporary file in the same directory (mode [`mode_for`] the target), fsync,
/// rename, fsync of the directory. On any error the temporary file is removed and
/// the target is untouched; one left by a killed process is removed by [`prune`]
/// and [`enforce_max_size`] once it is a minute old.
pub fn write_atomically(path: &Path, content: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .context("the output path has no file name")?
        .to_string_lossy();
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| -> Result<()> {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode_for(path))
            .open(&temp)
            .with_context(|| format!("cannot create {}", temp.display()))?;
        file.write_all(content)
            .with_context(|| format!("cannot write {}", temp.display()))?;
        file.sync_all()
            .with_context(|| format!("cannot sync {}", temp.display()))?;
        fs::rename(&temp, path)
            .with_context(|| format!("cannot rename {} to {}", temp.display(), path.display()))?;
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// The file a snapshot goes to: `--out FILE`, or a timestamped name in `--out DIR`.
/// Where `--out` writes: a timestamped file in a directory (one that exists,
/// or a path ending in `/`, created), or the file named. A path that is
/// neither (no such directory, no extension) is refused rather than guessed:
/// taken as a file, a cron line meant to keep a week would keep one snapshot.
pub fn output_path(out: &Path, at: DateTime<Utc>, extension: &str) -> Result<PathBuf> {
    let as_dir = out.as_os_str().to_string_lossy().ends_with('/');
    if as_dir && !out.is_dir() {
        create_private_dir_all(out)?;
    }
    if out.is_dir() {
        return Ok(out.join(timestamped_name(at, extension)));
    }
    if out.exists() || out.extension().is_some() {
        return Ok(out.to_path_buf());
    }
    bail!(
        "--out {}: no such directory or file; end it with / to create a directory of timestamped snapshots ({}/), or name a file ({}.{extension})",
        out.display(),
        out.display(),
        out.display()
    )
}

/// Removes lockdiag's timestamped files in `dir` older than `keep`, never
/// `newest` (the one just written, whatever the clock says); returns how many.
pub fn prune(dir: &Path, keep: Duration, now: DateTime<Utc>, newest: &Path) -> Result<usize> {
    let cutoff = now - chrono::Duration::from_std(keep).context("--keep is too long")?;
    let mut removed = 0;
    for entry in fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        if path.file_name() == newest.file_name() {
            continue;
        }
        if name_time(&path).is_some_and(|t| t < cutoff) || abandoned_temp(&path) {
            fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// How old a temporary file must be to count as left behind by a killed writer
/// (a write in progress takes milliseconds).
const ABANDONED_TEMP_AGE: Duration = Duration::from_secs(60);

/// One of [`write_atomically`]'s temporary files (`.lockdiag-….json.PID.tmp`).
fn is_temp(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with(&format!(".{PREFIX}")) && n.ends_with(".tmp"))
}

/// A temporary file a writer killed mid-write left: older than a minute.
fn abandoned_temp(path: &Path) -> bool {
    is_temp(path)
        && fs::metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age >= ABANDONED_TEMP_AGE)
}

/// Appends one line (a newline is added) all or nothing: written and synced, or,
/// when anything fails (a full disk), the file cut back to its length before, so
/// no reader of the JSON lines ever meets half a record and the next line starts
/// on a line of its own. The file is created private ([`PRIVATE_FILE`]).
pub fn append_line(path: &Path, line: &str) -> Result<()> {
    let mut file = fs::OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .mode(PRIVATE_FILE)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let mut before = file
        .metadata()
        .with_context(|| format!("cannot read the length of {}", path.display()))?
        .len();
    // A line left half-written (a cut-back that failed too) is cut before this one follows it.
    if before > 0 && !ends_with_newline(&file, before)? {
        repair_partial_line(path)?;
        before = file.metadata()?.len();
    }
    let mut record = Vec::with_capacity(line.len() + 1);
    record.extend_from_slice(line.as_bytes());
    record.push(b'\n');
    let written = file.write_all(&record).and_then(|()| file.sync_data());
    if let Err(e) = written {
        let restored = file.set_len(before).and_then(|()| file.sync_data());
        let undo = match restored {
            Ok(()) => "nothing of it was kept".to_string(),
            Err(undo) => format!("and cutting back the partial line failed too: {undo}"),
        };
        return Err(e).with_context(|| format!("cannot append to {} ({undo})", path.display()));
    }
    Ok(())
}

/// Whether the last byte of a file of `len` bytes is a newline.
fn ends_with_newline(file: &File, len: u64) -> Result<bool> {
    let mut last = [0u8; 1];
    file.read_exact_at(&mut last, len - 1)?;
    Ok(last[0] == b'\n')
}

/// Cuts a JSON-lines file back to its last complete line: a writer killed in the
/// middle of an append (SIGKILL, power loss) leaves a fragment that would spoil
/// the next line too. Returns the bytes removed (0: the file was whole or absent).
pub fn repair_partial_line(path: &Path) -> Result<u64> {
    let mut file = match fs::OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e).with_context(|| format!("cannot open {}", path.display())),
    };
    let len = file.metadata()?.len();
    // Back from the end, a block at a time, to the last newline.
    let mut end = len;
    let mut block = vec![0u8; 64 * 1024];
    let keep = loop {
        if end == 0 {
            break 0;
        }
        let start = end.saturating_sub(block.len() as u64);
        let chunk = &mut block[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(chunk)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if let Some(at) = memchr::memrchr(b'\n', chunk) {
            break start + at as u64 + 1;
        }
        end = start;
    };
    if keep < len {
        file.set_len(keep)
            .and_then(|()| file.sync_data())
            .with_context(|| format!("cannot cut the partial line of {}", path.display()))?;
    }
    Ok(len - keep)
}

/// The one writer of a directory: an exclusive lock on `DIR/.lockdiag.lock`, held
/// while this value lives, with the holder's process id written inside.
#[derive(Debug)]
pub struct DirectoryLock {
    _file: File,
}

/// Takes the directory's lock, or says which process holds it.
pub fn lock_directory(dir: &Path) -> Result<DirectoryLock> {
    let path = dir.join(".lockdiag.lock");
    let mut file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(PRIVATE_FILE)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let who = if holder.is_empty() {
                "another process".to_string()
            } else {
                format!("lockdiag pid {holder}")
            };
            bail!(
                "{} is being written by {who} (lock {}): one recorder per directory, or every deadlock would be written twice and each would prune the other's files",
                dir.display(),
                path.display()
            );
        }
        Err(fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
    file.set_len(0)?;
    file.write_all(std::process::id().to_string().as_bytes())?;
    file.sync_data()?;
    Ok(DirectoryLock { _file: file })
}

/// Removes lockdiag's timestamped files in `dir`, oldest first, until they
/// take at most `max_bytes` together; never `newest`. Returns how many went.
pub fn enforce_max_size(dir: &Path, max_bytes: u64, newest: &Path) -> Result<usize> {
    let mut files: Vec<(DateTime<Utc>, PathBuf, u64)> = fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .flatten()
        .filter_map(|e| {
            let path = e.path();
            // A temporary file counts (it takes the disk) and, abandoned, goes first.
            let time = if is_temp(&path) {
                if abandoned_temp(&path) {
                    DateTime::<Utc>::MIN_UTC
                } else {
                    Utc::now()
                }
            } else {
                name_time(&path)?
            };
            Some((time, path, e.metadata().ok()?.len()))
        })
        .collect();
    files.sort();
    let mut total: u64 = files.iter().map(|f| f.2).sum();
    let mut removed = 0;
    for (_, path, size) in files {
        if total <= max_bytes {
            break;
        }
        if path.file_name() == newest.file_name() || (is_temp(&path) && !abandoned_temp(&path)) {
            continue;
        }
        fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
        total -= size;
        removed += 1;
    }
    Ok(removed)
}

/// Reads a snapshot document. A document of another kind or a newer version is
/// named as such (from its `kind`/`schema_version` header) instead of failing
/// on a missing field of the body.
pub fn read_snapshot(path: &Path) -> Result<Snapshot> {
    let bytes = super::text::read_capped(
        path,
        super::text::SNAPSHOT_LIMIT,
        "no lockdiag snapshot is that large; is this the right file?",
    )?;
    let text = String::from_utf8(bytes).with_context(|| {
        format!(
            "{} is not a lockdiag JSON document (not UTF-8)",
            path.display()
        )
    })?;
    let parsed = serde_json::from_str::<Versioned<Snapshot>>(&text);
    // The header decides the message whether or not the body parsed; it is read
    // separately only when the body did not (the common path parses once).
    let (kind, version) = match &parsed {
        Ok(doc) => (Some(doc.kind.clone()), Some(doc.schema_version)),
        Err(_) => {
            let header: DocumentHeader = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a lockdiag JSON document", path.display()))?;
            (header.kind, header.schema_version)
        }
    };
    match kind.as_deref() {
        Some("snapshot") => {}
        Some(other) => bail!(
            "{} is a lockdiag '{other}' document, not a snapshot",
            path.display()
        ),
        None => bail!(
            "{} is not a lockdiag snapshot (no \"kind\": \"snapshot\")",
            path.display()
        ),
    }
    match version {
        Some(v) if v > SCHEMA_VERSION => bail!(
            "{} has schema_version {v}; this lockdiag reads up to {SCHEMA_VERSION}: use a newer lockdiag",
            path.display()
        ),
        Some(_) => {}
        None => bail!("{} has no schema_version", path.display()),
    }
    let document = parsed.with_context(|| {
        format!(
            "{} is a snapshot (schema_version {SCHEMA_VERSION}) but its body is unreadable",
            path.display()
        )
    })?;
    Ok(document.body)
}

/// lockdiag's snapshot files in a directory, oldest first.
pub fn snapshots_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json") && name_time(p).is_some())
        .collect();
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_by_time_and_prune_by_age() {
        let dir = std::env::temp_dir().join(format!("lockdiag-snapfile-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let now = Utc::now();
        let old = now - chrono::Duration::hours(3);
        let (a, b) = (
            dir.join(timestamped_name(old, "json")),
            dir.join(timestamped_name(now, "json")),
        );
        assert!(a.file_name() < b.file_name());
        write_atomically(&a, b"{}").unwrap();
        write_atomically(&b, b"{}").unwrap();
        fs::write(dir.join("unrelated.json"), b"{}").unwrap();
        assert_eq!(prune(&dir, Duration::from_secs(3600), now, &b).unwrap(), 1);
        assert!(!a.exists() && b.exists() && dir.join("unrelated.json").exists());
        // The newest is kept even when the clock says it is old (a 1 ns retention, a clock jump).
        let later = now + chrono::Duration::hours(5);
        assert_eq!(
            prune(&dir, Duration::from_secs(3600), later, &b).unwrap(),
            0
        );
        assert!(b.exists());
        // --out: a directory (existing or ending in /), a file, or refused.
        let fresh = dir.join("new-dir/");
        let written = output_path(&fresh, now, "json").unwrap();
        assert!(fresh.is_dir() && written.parent() == Some(fresh.as_path()));
        assert_eq!(
            output_path(&dir.join("one.json"), now, "json").unwrap(),
            dir.join("one.json")
        );
        let err = output_path(&dir.join("snapshots"), now, "json")
            .unwrap_err()
            .to_string();
        assert!(err.contains("end it with /"), "{err}");
        assert!(fs::read_dir(&dir).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".tmp")));
        fs::remove_dir_all(&dir).unwrap();
    }

    /// A temporary file a killed writer left counts toward --max-size and goes once a
    /// minute old; one being written now is left alone.
    #[test]
    fn abandoned_temporary_files_are_counted_and_removed() {
        let dir = std::env::temp_dir().join(format!("lockdiag-temps-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let now = Utc::now();
        let newest = dir.join(timestamped_name(now, "json"));
        write_atomically(&newest, &[b'x'; 100]).unwrap();
        let old_temp = dir.join(format!(".{}.4242.tmp", timestamped_name(now, "json")));
        let fresh_temp = dir.join(format!(".{}.4343.tmp", timestamped_name(now, "json")));
        for temp in [&old_temp, &fresh_temp] {
            fs::write(temp, [b'y'; 1000]).unwrap();
        }
        let an_hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
        File::options()
            .write(true)
            .open(&old_temp)
            .unwrap()
            .set_modified(an_hour_ago)
            .unwrap();
        // 2,100 bytes in all, 1,500 allowed: the abandoned temp goes, nothing else.
        assert_eq!(enforce_max_size(&dir, 1500, &newest).unwrap(), 1);
        assert!(!old_temp.exists() && fresh_temp.exists() && newest.exists());
        File::options()
            .write(true)
            .open(&fresh_temp)
            .unwrap()
            .set_modified(an_hour_ago)
            .unwrap();
        assert_eq!(
            prune(&dir, Duration::from_secs(86400), now, &newest).unwrap(),
            1
        );
        assert!(!fresh_temp.exists() && newest.exists());
        let mode = fs::metadata(&newest).unwrap().permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    /// A JSON-lines file ending in half a line is cut back to its last whole line.
    #[test]
    fn a_partial_last_line_is_repaired() {
        let path =
            std::env::temp_dir().join(format!("lockdiag-repair-{}.jsonl", std::process::id()));
        fs::write(&path, "{\"a\":1}\n{\"b\":").unwrap();
        assert_eq!(repair_partial_line(&path).unwrap(), 5);
        assert_eq!(fs::read_to_string(&path).unwrap(), "{\"a\":1}\n");
        assert_eq!(repair_partial_line(&path).unwrap(), 0, "whole: untouched");
        append_line(&path, "{\"c\":3}").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "{\"a\":1}\n{\"c\":3}\n");
        // One long fragment, no newline at all: the file is emptied.
        fs::write(&path, vec![b'x'; 200_000]).unwrap();
        assert_eq!(repair_partial_line(&path).unwrap(), 200_000);
        assert_eq!(fs::metadata(&path).unwrap().len(), 0);
        fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_failed_write_leaves_nothing() {
        let missing = std::env::temp_dir().join("lockdiag-no-such-dir-4711/snap.json");
        assert!(write_atomically(&missing, b"{}").is_err());
        assert!(!missing.exists());
    }
}
