//! A saved collection: everything one `lockdiag snapshot` saw, for cron
//! history and offline post-mortems (`--from`).

use serde::{Deserialize, Serialize};

use super::{Deadlock, LiveState};

/// The body of a `snapshot` document as read back (`docs/json.md`, "snapshot").
/// The document also stores the waits analysis and the analysed latest
/// deadlock for readers without lockdiag; lockdiag recomputes both from what
/// is here, so a snapshot always renders with the current rules.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    /// RFC 3339 UTC times the collection started and ended.
    pub collected_at_start: String,
    pub collected_at_end: String,
    /// Where lockdiag connected (`host:port` or the socket path); never credentials.
    pub target: String,
    #[serde(flatten)]
    pub state: LiveState,
    /// The latest deadlock of the InnoDB status as parsed at collection time
    /// (its analysis fields are ignored on reading).
    pub latest_deadlock: Option<Deadlock>,
    /// Why `record` took it; absent for `snapshot`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
}
