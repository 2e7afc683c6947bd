//! What the server adds to a deadlock seen live, read while its sessions are still there:
//! each transaction's earlier statements (the print shows only the last) and the
//! definitions of the indexes its locks name (a print does not say which are unique).
//! Then the deadlock is analysed again, so the diagnosis and fix use both.

use crate::analyze::index_advice::indexes_of_deadlock;
use crate::analyze::DeadlockReport;
use crate::source::server::Server;
use crate::source::{catalog, history};

/// `report` with its sessions' statement histories and its indexes' definitions, analysed
/// again; and, when the definitions could not be read, why (the fix then stays conditional).
/// A history that cannot be read is left out quietly: `sources` of the live read say why.
pub async fn deadlock_seen_live(
    server: &Server,
    mut report: DeadlockReport,
) -> (DeadlockReport, Option<String>) {
    let caps = server.caps();
    history::attach_to_deadlock(
        server.pool(),
        caps.server.flavour,
        caps.server.performance_schema,
        server.query_timeout(),
        &mut report.deadlock,
    )
    .await;
    let names = indexes_of_deadlock(&report.deadlock);
    if names.is_empty() {
        return (report.analysed_again(), None);
    }
    let read = catalog::index_definitions(
        server.pool(),
        server.flavour(),
        &names,
        server.query_timeout(),
    )
    .await;
    match read {
        Ok(indexes) => (report.knowing_indexes(indexes), None),
        Err(e) => (
            report.analysed_again(),
            Some(format!(
                "cannot read the definitions of the deadlock's indexes from information_schema.STATISTICS: {e}; the fix does not assume whether they are unique"
            )),
        ),
    }
}
