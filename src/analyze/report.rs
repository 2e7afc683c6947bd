//! A deadlock together with what was computed about it, and deadlocks of one
//! shape grouped: the units every deadlock view is made of.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::{Deadlock, IndexDefinition};

use super::deadlock::{
    analyze_deadlock, analyze_deadlock_knowing, DeadlockAnalysis, DiagnosisKind,
};
use super::time::timestamp_rfc3339;

/// A deadlock with its analysis (JSON: the deadlock's fields and the analysis' side by side).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct DeadlockReport {
    #[serde(flatten)]
    pub deadlock: Deadlock,
    /// `timestamp` as RFC 3339 with its offset: the printed zone, or the server's for a
    /// zone-less print (read live, from a snapshot, or `--server-tz`); `None` when unknown.
    /// Set where the server's zone is known: [`DeadlockReport::in_server_zone`] or
    /// [`super::history::DeadlockHistory::add`].
    #[serde(default)]
    #[schemars(
        description = "`timestamp` as RFC 3339 with its offset: the printed zone, or the server's for a zone-less print; `null` when that zone is unknown."
    )]
    pub timestamp_rfc3339: Option<String>,
    /// The definitions of the indexes its locks name, read from the server's catalog
    /// (`deadlock` on a live server); `None` (absent in JSON) when only the print was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        description = "The definitions of the indexes the deadlock's locks name, read from the server's catalog (`deadlock` on a live server): an index missing from it could not be read (unknown). Absent when only the print was read."
    )]
    pub indexes: Option<Vec<IndexDefinition>>,
    #[serde(flatten)]
    pub analysis: DeadlockAnalysis,
}

impl DeadlockReport {
    /// The deadlock analysed; its time is placed later, where the server's zone is known.
    pub fn new(deadlock: Deadlock) -> Self {
        let analysis = analyze_deadlock(&deadlock);
        DeadlockReport {
            deadlock,
            timestamp_rfc3339: None,
            indexes: None,
            analysis,
        }
    }

    /// Analysed again knowing the definitions of the indexes its locks name (read live):
    /// the fix then says what applies to those indexes, not what might.
    pub fn knowing_indexes(mut self, indexes: Vec<IndexDefinition>) -> Self {
        self.analysis = analyze_deadlock_knowing(&self.deadlock, &indexes);
        self.indexes = Some(indexes);
        self
    }

    /// Analysed again after its transactions' statement histories were read (live): the
    /// diagnosis then names the earlier statements that took the held locks.
    pub fn analysed_again(mut self) -> Self {
        self.analysis =
            analyze_deadlock_knowing(&self.deadlock, self.indexes.as_deref().unwrap_or(&[]));
        self
    }

    /// The timestamp's RFC 3339 form: its printed zone, else the server's (`None`: unknown).
    pub fn in_server_zone(mut self, server_utc_offset_secs: Option<i64>) -> Self {
        if self.timestamp_rfc3339.is_none() {
            self.timestamp_rfc3339 = self
                .deadlock
                .timestamp
                .as_deref()
                .and_then(|ts| timestamp_rfc3339(ts, server_utc_offset_secs));
        }
        self
    }

    /// The latest deadlock a snapshot carries: its parsed copy (kept even with
    /// `--no-raw`), else the one in its raw status text; analysed with today's rules.
    pub fn latest_of_snapshot(snapshot: &crate::model::Snapshot) -> Option<Self> {
        match &snapshot.latest_deadlock {
            Some(deadlock) => Some(
                DeadlockReport::new(deadlock.clone())
                    .in_server_zone(snapshot.state.server.utc_offset_secs),
            ),
            None => DeadlockReport::latest_of_state(&snapshot.state),
        }
    }

    /// The latest deadlock of a collection's InnoDB status, in its server's zone.
    pub fn latest_of_state(state: &crate::model::LiveState) -> Option<Self> {
        DeadlockReport::latest_in(state.innodb_status.as_deref(), state.server.utc_offset_secs)
    }

    /// The LATEST DETECTED DEADLOCK of a `SHOW ENGINE INNODB STATUS` text, analysed;
    /// its time read in the server's zone when that is known.
    pub fn latest_in(
        innodb_status: Option<&str>,
        server_utc_offset_secs: Option<i64>,
    ) -> Option<Self> {
        crate::parse::parse_innodb_status(innodb_status?)
            .latest_deadlock
            .map(|d| DeadlockReport::new(d).in_server_zone(server_utc_offset_secs))
    }
}

/// Deadlocks of one shape across a log or a set of snapshots.
#[derive(Debug, Clone, Serialize, JsonSchema)]
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
