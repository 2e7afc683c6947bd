//! What lockdiag does over time, wiring source, analysis and rendering: the kill
//! procedure (the only thing that changes anything on a server: KILL) with its
//! audit trail, the recorder (probes, snapshots, every deadlock kept), and the
//! duplicate-key scan (catalog, reads and folding wired phase by phase).

pub mod audit;
pub mod consumers;
pub mod dupes;
pub mod enrich;
pub mod fleet;
pub mod kill;
pub mod record;
pub mod serve;
