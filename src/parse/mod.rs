//! Text → model. Pure: a `&str` or a reader in, values out; never panics,
//! keeps unknown lines instead of failing on them.

pub mod deadlock;
pub mod encoding;
pub mod error_log;
pub mod hosts_file;
pub mod json_log;
pub mod lines;
pub mod lock_wait_timeout;
pub mod option_file;
pub mod paste;
pub mod status;
pub mod where_filter;

pub use deadlock::{parse_deadlock_lines, DeadlockBuilder};
pub use error_log::{
    error_log_text, looks_like_error_log, ErrorLogDeadlocks, ErrorLogEntries, ErrorLogRow, LogEntry,
};
pub use json_log::{is_json_sink, JsonSinkText};
pub use paste::strip_paste_margin;
pub use status::parse_innodb_status;
