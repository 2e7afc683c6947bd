//! Pure computations over the model: wait-for graphs, root blockers, cycles,
//! deadlock diagnoses and identities, fingerprints, checks, kill selection, and
//! the views every format renders. No I/O, no SQL.

pub mod checks;
pub mod deadlock;
pub mod duplicates;
pub mod fleet;
pub mod history;
pub mod incident;
pub mod index_advice;
pub mod kill;
pub mod lock_origin;
pub mod metadata;
pub mod metrics;
pub mod record;
pub mod report;
pub mod sql_text;
pub mod suggest;
pub mod time;
pub mod timeouts;
pub mod views;
pub mod waits;

pub use deadlock::{analyze_deadlock, DeadlockAnalysis};
pub use report::{DeadlockGroup, DeadlockReport};
pub use waits::{analyze_waits, WaitAnalysis};
