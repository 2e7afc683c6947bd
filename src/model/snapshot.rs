//! A saved collection: everything one `lockdiag snapshot` saw, for cron
//! history and offline post-mortems (`--from`).

use serde::{Deserialize, Serialize};

use super::LiveState;

/// The snapshot document (`docs/json.md`, "snapshot"). Analysis results are
/// stored for readers without lockdiag, and recomputed from `state` on `--from`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    pub schema_version: u32,
    /// Always `snapshot`: tells this document from other lockdiag JSON.
    pub kind: String,
    pub lockdiag_version: String,
    /// RFC 3339 UTC times the collection started and ended.
    pub collected_at_start: String,
    pub collected_at_end: String,
    /// Where lockdiag connected (`host:port` or the socket path); never credentials.
    pub target: String,
    #[serde(flatten)]
    pub state: LiveState,
    /// The waits analysis at collection time (root blockers, waits, cycles).
    pub analysis: serde_json::Value,
    /// The latest deadlock of the InnoDB status, parsed and analysed.
    pub latest_deadlock: Option<serde_json::Value>,
}
