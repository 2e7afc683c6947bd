//! Acting on the server: the only module that changes anything (KILL), and
//! the audit trail that records every such act.

pub mod audit;
pub mod kill;
