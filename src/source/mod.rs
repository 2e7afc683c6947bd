//! Source → model: a live server (one [`server::Server`] handle: connect, detect,
//! collect), text inputs, saved snapshots; and the files lockdiag keeps.

pub mod catalog;
pub mod collect;
pub mod connect;
pub mod detect;
pub mod dupes;
pub mod history;
pub mod kill;
pub mod log_follow;
pub mod option_files;
pub mod pfs_error_log;
pub mod probe;
pub mod query;
pub mod restraint;
pub mod rows;
pub mod server;
pub mod snapshot_file;
pub mod text;
