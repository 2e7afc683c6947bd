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

pub use crate::render::text::error_chain;
