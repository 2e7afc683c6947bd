//! A deadlock together with what was computed about it, and deadlocks of one
//! shape grouped: the units every deadlock view is made of.

use serde::{Deserialize, Serialize};

use crate::model::Deadlock;

use super::deadlock::{analyze_deadlock, DeadlockAnalysis, DiagnosisKind};

/// A deadlock with its analysis (JSON: the deadlock's fields and the analysis' side by side).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeadlockReport {
    #[serde(flatten)]
    pub deadlock: Deadlock,
    #[serde(flatten)]
    pub analysis: DeadlockAnalysis,
}

impl DeadlockReport {
    pub fn new(deadlock: Deadlock) -> Self {
        let analysis = analyze_deadlock(&deadlock);
        DeadlockReport { deadlock, analysis }
    }

    /// The latest deadlock a snapshot carries: its parsed copy (kept even with
    /// `--no-raw`), else the one in its raw status text; analysed with today's rules.
    pub fn latest_of_snapshot(snapshot: &crate::model::Snapshot) -> Option<Self> {
        match &snapshot.latest_deadlock {
            Some(deadlock) => Some(DeadlockReport::new(deadlock.clone())),
            None => DeadlockReport::latest_in(snapshot.state.innodb_status.as_deref()),
        }
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
    pub diagnosis: DiagnosisKind,
    pub tables: Vec<String>,
    /// The diagnosis text of the most recent one.
    pub text: String,
}
