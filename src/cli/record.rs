//! `lockdiag record`: the recorder is `act::record`; here its events go to
//! stderr and its ending becomes an exit code.

use anyhow::Result;

use crate::act::record::{record, RecordJob};
use crate::source::connect::ConnectionConfig;

use super::{output, EXIT_ERROR, EXIT_OK};

/// 0 when it recorded and wrote everything; 2 when it never reached the server or
/// deadlocks were left unwritten (or it could not begin: the directory, its lock).
pub async fn run(job: &RecordJob, config: &ConnectionConfig) -> Result<i32> {
    let summary = record(job, config, &|line| output::note(line)).await?;
    if !summary.ever_connected {
        // A recorder that never reached its server recorded nothing: not a success.
        output::note(&format!(
            "error: record never reached {} ({}): nothing was recorded",
            config.address(),
            summary.reason
        ));
        return Ok(EXIT_ERROR);
    }
    Ok(
        if summary.deadlocks_not_written + summary.lock_wait_timeouts_not_written > 0 {
            EXIT_ERROR
        } else {
            EXIT_OK
        },
    )
}
