//! Model + analysis → text. One module per format; rendering never queries.

pub mod dot;
pub mod json;
pub mod junit;
pub mod mermaid;
pub mod prometheus;
pub mod table;

use std::io::IsTerminal;

use serde::{Deserialize, Serialize};

use crate::analyze::deadlock::DeadlockAnalysis;
use crate::model::Deadlock;

/// Output formats. Not every view supports every format: `--format dot` on
/// `ps` is refused by the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Dot,
    Mermaid,
    /// Prometheus text format (`snapshot` only), for node_exporter's textfile collector.
    Prometheus,
}

/// How table output looks.
#[derive(Debug, Clone, Copy)]
pub struct TableStyle {
    pub color: bool,
    /// Terminal width in columns; `None` when not a terminal (no wrapping).
    pub width: Option<u16>,
}

impl TableStyle {
    /// Colour only on a terminal and never with `NO_COLOR` set.
    pub fn detect(no_color_flag: bool) -> Self {
        let tty = std::io::stdout().is_terminal();
        let no_color = no_color_flag || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let width = if tty { terminal_width() } else { None };
        TableStyle {
            color: tty && !no_color,
            width,
        }
    }
}

fn terminal_width() -> Option<u16> {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .or_else(|| comfy_table::Table::new().width())
}

/// A deadlock with what was computed about it: the unit every renderer takes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeadlockReport {
    #[serde(flatten)]
    pub deadlock: Deadlock,
    #[serde(flatten)]
    pub analysis: DeadlockAnalysis,
}

impl DeadlockReport {
    pub fn new(deadlock: Deadlock) -> Self {
        let analysis = crate::analyze::analyze_deadlock(&deadlock);
        DeadlockReport { deadlock, analysis }
    }

    /// The LATEST DETECTED DEADLOCK of a `SHOW ENGINE INNODB STATUS` text, analysed.
    pub fn latest_in(innodb_status: Option<&str>) -> Option<Self> {
        crate::parse::parse_innodb_status(innodb_status?)
            .latest_deadlock
            .map(DeadlockReport::new)
    }
}

/// Deadlocks of one shape across a log or a set of snapshots.
#[derive(Debug, Clone, Serialize)]
pub struct DeadlockGroup {
    pub fingerprint: String,
    pub count: u64,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    /// `lock_order_inversion`, `gap_insert_intention`, …
    pub diagnosis: crate::analyze::deadlock::DiagnosisKind,
    pub tables: Vec<String>,
    /// The diagnosis text of the most recent one.
    pub text: String,
}
