//! A `Lock wait timeout exceeded` as Percona Server writes it to the error log
//! with `innodb_print_lock_wait_timeout_info=ON`: who waited, and who held the lock.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One logged lock wait timeout (error 1205), as printed.
///
/// The print names the waiting session's statement, but of each blocker only its
/// thread, transaction and query *id*: Percona's format carries neither the
/// blocker's statement text nor its age.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LockWaitTimeout {
    /// When it was logged, normalised as deadlock timestamps are.
    pub timestamp: Option<String>,
    /// The session whose statement timed out (`Requested thread id`).
    pub thread_id: Option<u64>,
    /// Its transaction (`Requested trx id`), as printed.
    pub trx_id: Option<String>,
    /// The statement that timed out (`Requested query`); may span lines.
    pub query: Option<String>,
    /// `Total blocking transactions count`: how many the server listed (it lists
    /// at most 10, so this is a lower bound when it says 10).
    pub blocking_count: Option<u64>,
    /// The transactions that held the lock, in the server's order.
    pub blockers: Vec<TimeoutBlocker>,
    /// The text ended before every listed blocker was read.
    pub truncated: bool,
    /// Lines of the entry no rule recognised, kept verbatim.
    pub unparsed_lines: Vec<String>,
}

/// A transaction that held the lock a timed-out statement waited for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TimeoutBlocker {
    /// Its session (`Blocking thread id`); `None` when the server printed 0 (no
    /// client session: purge, a recovered or XA-prepared transaction).
    pub thread_id: Option<u64>,
    /// The id of the statement that session was running or ran last (`Blocking
    /// query id`), matching `performance_schema` / processlist query ids.
    pub query_id: Option<u64>,
    pub trx_id: Option<String>,
}
