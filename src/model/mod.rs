//! Plain data types every other module speaks in. No I/O, no formatting.
//!
//! `deadlock` holds what a printed InnoDB deadlock says; `live` holds what a
//! running server's processlist, transaction and lock tables say.

pub mod deadlock;
pub mod document;
pub mod live;
pub mod names;
pub mod snapshot;

pub use deadlock::*;
pub use document::*;
pub use live::*;
pub use names::*;
pub use snapshot::*;
