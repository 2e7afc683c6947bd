//! Plain data types every other module speaks in. No I/O, no formatting.
//!
//! `deadlock` holds what a printed InnoDB deadlock says; `live` holds what a
//! running server's processlist, transaction and lock tables say;
//! `lock_wait_timeout` holds what Percona Server logs of a lock wait timeout.

pub mod deadlock;
pub mod document;
pub mod live;
pub mod lock_wait_timeout;
pub mod names;
pub mod snapshot;

pub use deadlock::*;
pub use document::*;
pub use live::*;
pub use lock_wait_timeout::*;
pub use names::*;
pub use snapshot::*;
