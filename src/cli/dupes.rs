//! `lockdiag dupes`: duplicate keys, found without locking the table.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Result;

use crate::act::dupes::{scan_duplicates, DupesRequest};
use crate::analyze::duplicates::DupesReport;
use crate::render::View;
use crate::source::server::Server;

use super::{Output, EXIT_FINDINGS, EXIT_OK};

/// Runs a scan with a progress bar on a terminal and a clean stop on Ctrl-C.
pub async fn scan_with_progress(server: &Server, request: &DupesRequest) -> Result<DupesReport> {
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let stop = stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stop.store(true, Ordering::Relaxed);
            }
        })
    };
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(1);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {msg} {pos}/~{len} rows {per_sec} {elapsed}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let result = scan_duplicates(server, request, &stop, |at| {
        if let Some(bar) = &bar {
            bar.set_length(at.estimate.max(at.rows).max(1));
            bar.set_message(if at.pass == 1 {
                "counting"
            } else {
                "verifying repeated keys"
            });
            bar.set_position(at.rows);
        }
    })
    .await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    watcher.abort();
    Ok(result?)
}

pub async fn run(request: &DupesRequest, server: &Server, out: &Output) -> Result<i32> {
    let report = scan_with_progress(server, request).await?;
    let interrupted = report.interrupted;
    out.emit(&View::Dupes(report))?;
    Ok(if interrupted { EXIT_FINDINGS } else { EXIT_OK })
}
