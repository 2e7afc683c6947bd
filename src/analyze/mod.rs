//! Pure computations over the model: wait-for graphs, root blockers, cycles,
//! deadlock diagnoses, fingerprints.

pub mod deadlock;
pub mod sql_text;

pub use deadlock::{analyze_deadlock, DeadlockAnalysis};
