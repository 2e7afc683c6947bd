//! Writing what lockdiag prints: a view rendered to stdout, notes to stderr.
//! A closed pipe (`| head`) is success; any other write failure is an error
//! (exit 2), so `snapshot > file` on a full disk never exits 0 with half a document.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};

use crate::render::{render, Format, TableStyle, View};

use super::secrets::redact;

/// Set when a note could not be written to stderr: the exit code becomes 2.
static STDERR_FAILED: AtomicBool = AtomicBool::new(false);

/// How every command prints.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// Already checked against the command's view (`resolve`).
    pub format: Format,
    pub style: TableStyle,
}

impl Output {
    /// Renders a view and writes it to stdout.
    pub fn emit(&self, view: &View) -> Result<()> {
        let text = render(view, self.format, &self.style)?;
        write_stdout(text.as_bytes())
    }
}

/// Writes and flushes stdout.
pub fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .context("cannot write to standard output")
}

/// `lockdiag: MESSAGE` on stderr, password redacted. A failure to write is remembered.
pub fn note(message: &str) {
    let mut stderr = std::io::stderr().lock();
    if writeln!(stderr, "lockdiag: {}", redact(message)).is_err() {
        STDERR_FAILED.store(true, Ordering::Relaxed);
    }
}

/// Writes text to stderr as it is (a message already complete, e.g. clap's).
pub fn write_stderr(text: &str) {
    let mut stderr = std::io::stderr().lock();
    if stderr.write_all(text.as_bytes()).is_err() {
        STDERR_FAILED.store(true, Ordering::Relaxed);
    }
}

pub fn stderr_failed() -> bool {
    STDERR_FAILED.load(Ordering::Relaxed)
}

/// The reader went away (`lockdiag … | head`): not a failure of lockdiag's.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The error and its causes joined by `: `, each said once. An I/O error
/// wrapped twice reads "Input/output error: Input/output error: …" — within one
/// cause's text too (the driver formats its wrappers into a single string) — so a
/// cause ending with the next one's text, and a `: ` segment equal to the one
/// before it, are dropped.
pub fn error_chain(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let text = without_repeated_segments(&cause.to_string());
        if parts.last().is_some_and(|last| last.ends_with(&text)) {
            continue;
        }
        parts.push(text);
    }
    parts.join(": ")
}

/// `a: a: b` → `a: b`: a segment that repeats the one just before it says nothing new.
fn without_repeated_segments(text: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for segment in text.split(": ") {
        if kept.last() != Some(&segment) {
            kept.push(segment);
        }
    }
    kept.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_chain_says_each_cause_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory");
        let e = anyhow::Error::new(io)
            .context("Input/output error: Input/output error: No such file or directory")
            .context("cannot read the server's identity");
        assert_eq!(
            error_chain(&e),
            "cannot read the server's identity: Input/output error: No such file or directory"
        );
        let e = anyhow::anyhow!("cannot connect: a: b: b: c");
        assert_eq!(error_chain(&e), "cannot connect: a: b: c");
    }
}
