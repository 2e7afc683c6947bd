//! Source → model: a live server (connect, detect, collect) or text inputs.

pub mod catalog;
pub mod collect;
pub mod connect;
pub mod detect;
pub mod dupes;
pub mod log_follow;
pub mod option_files;
pub mod pfs_error_log;
pub mod probe;
pub mod query;
pub mod rows;
pub mod snapshot_file;
pub mod text;
