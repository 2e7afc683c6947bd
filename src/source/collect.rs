//! Collectors: each runs one statement from `queries/` and maps its rows to
//! the model. They run concurrently on the pool, so a full collection costs
//! about one round trip. A collector that fails says why; the others still count.

use std::time::Duration;

use mysql_async::{Params, Pool};

use crate::model::{
    LiveState, LockSummary, LockWait, MetadataLock, Session, SourceState, SourceStatus,
    Transaction, WaitKind,
};
use crate::parse::lines::split_table_name;

use super::detect::{Capabilities, ProcesslistSource, RowLockSource};
use super::query::{fetch, QueryError};
use super::rows::{Record, RecordExt};

/// What to collect beyond sessions, transactions and waits.
#[derive(Debug, Clone, Copy)]
pub struct CollectOptions {
    /// Fetch lock groups, at most this many (`None`: skip the locks listing).
    pub locks_limit: Option<u64>,
    pub innodb_status: bool,
    pub timeout: Duration,
}

pub fn map_session(r: &Record) -> Option<Session> {
    Some(Session {
        thread_id: r.num("thread_id")?,
        user: r.text("user").unwrap_or_default(),
        host: r.text("host").unwrap_or_default(),
        db: r.text("db"),
        command: r.text("command").unwrap_or_default(),
        time_secs: r.num("time_secs").unwrap_or(0),
        state: r.text("state").filter(|s| !s.is_empty()),
        info: r.text("info"),
    })
}

pub fn map_transaction(r: &Record) -> Option<Transaction> {
    Some(Transaction {
        trx_id: r.text("trx_id")?,
        thread_id: r.num("thread_id").unwrap_or(0),
        state: r.text("state").unwrap_or_default(),
        age_secs: r.num("age_secs").unwrap_or(0),
        wait_secs: r.num("wait_secs"),
        rows_locked: r.num("rows_locked").unwrap_or(0),
        rows_modified: r.num("rows_modified").unwrap_or(0),
        tables_locked: r.num("tables_locked").unwrap_or(0),
        lock_structs: r.num("lock_structs").unwrap_or(0),
        isolation_level: r.text("isolation_level"),
        operation_state: r.text("operation_state").filter(|s| !s.is_empty()),
        query: r.text("query"),
    })
}

/// Schema and table from either `lock_schema`+`lock_table_name` (MySQL 8)
/// or the quoted `lock_table` (`` `shop`.`payments` ``, 5.7/MariaDB).
fn lock_object(r: &Record) -> (Option<String>, Option<String>) {
    if let Some(table) = r.text("lock_table_name") {
        return (r.text("lock_schema"), Some(table));
    }
    match r.text("lock_table") {
        Some(raw) => {
            let (schema, table, _) = split_table_name(&raw);
            (schema, Some(table))
        }
        None => (None, None),
    }
}

pub fn map_row_wait(r: &Record) -> Option<LockWait> {
    let (schema, table) = lock_object(r);
    Some(LockWait {
        waiting_thread_id: r.num("waiting_thread_id")?,
        blocking_thread_id: r.num("blocking_thread_id")?,
        kind: WaitKind::Row,
        waiting_trx_id: r.text("waiting_trx_id"),
        blocking_trx_id: r.text("blocking_trx_id"),
        schema,
        table,
        index: r.text("lock_index"),
        lock_mode: r.text("lock_mode").unwrap_or_default(),
        blocking_lock_mode: r.text("blocking_lock_mode"),
        blocking_lock_status: r.text("blocking_lock_status").map(|s| s.to_uppercase()),
        lock_data: r.text("lock_data"),
        wait_secs: r.num("wait_secs").unwrap_or(0),
    })
}

pub fn map_lock_summary(r: &Record) -> Option<LockSummary> {
    let (schema, table) = lock_object(r);
    Some(LockSummary {
        thread_id: r.num("thread_id"),
        trx_id: r.text("trx_id")?,
        schema,
        table,
        index: r.text("lock_index"),
        lock_type: r.text("lock_type").unwrap_or_default(),
        lock_mode: r.text("lock_mode").unwrap_or_default(),
        lock_status: r.text("lock_status").unwrap_or_default(),
        count: r.num("lock_count").unwrap_or(1),
    })
}

pub fn map_metadata_lock(r: &Record) -> Option<MetadataLock> {
    Some(MetadataLock {
        thread_id: r.num("thread_id")?,
        object_type: r.text("object_type").unwrap_or_default(),
        schema: r.text("object_schema"),
        name: r.text("object_name"),
        lock_type: r.text("lock_type").unwrap_or_default(),
        lock_status: r.text("lock_status").unwrap_or_default(),
        duration: r.text("lock_duration"),
    })
}

fn status(source: &str, from: &str, state: SourceState, reason: Option<String>) -> SourceStatus {
    SourceStatus {
        source: source.into(),
        from: Some(from.into()),
        status: state,
        reason,
    }
}

fn failure_reason(e: &QueryError, privilege_hint: &str) -> String {
    match e {
        QueryError::Denied(msg) => format!("{msg} ({privilege_hint})"),
        other => other.to_string(),
    }
}

/// One collector's outcome.
struct Collected<T> {
    rows: Vec<T>,
    status: SourceStatus,
    connection_id: Option<u32>,
    raw: Vec<Record>,
}

/// One statement to run for one source.
struct Collector<'a> {
    /// The source name reported in `sources[]`.
    source: &'a str,
    /// The SQL and the table it reads, for messages.
    statement: (&'a str, &'a str),
    params: Params,
    /// What to grant when the server says access denied.
    privilege_hint: &'a str,
}

async fn collect<T>(
    pool: &Pool,
    caps: &Capabilities,
    collector: Collector<'_>,
    timeout: Duration,
    map: fn(&Record) -> Option<T>,
) -> Collected<T> {
    let Collector {
        source,
        statement: (sql, from),
        params,
        privilege_hint,
    } = collector;
    match fetch(pool, sql, params, Some(caps.server.flavour), timeout).await {
        Ok((records, id)) => Collected {
            rows: records.iter().filter_map(map).collect(),
            status: status(source, from, SourceState::Ok, None),
            connection_id: Some(id),
            raw: records,
        },
        Err(e) => Collected {
            rows: Vec::new(),
            status: status(
                source,
                from,
                SourceState::Unavailable,
                Some(failure_reason(&e, privilege_hint)),
            ),
            connection_id: None,
            raw: Vec::new(),
        },
    }
}

const NEEDS_PROCESS: &str = "needs the PROCESS privilege: GRANT PROCESS ON *.* TO <account>";
const NEEDS_PS_SELECT: &str =
    "needs SELECT on performance_schema: GRANT SELECT ON performance_schema.* TO <account>";

fn unavailable<T>(source: &str, reason: String) -> Collected<T> {
    Collected {
        rows: Vec::new(),
        status: SourceStatus {
            source: source.into(),
            from: None,
            status: SourceState::Unavailable,
            reason: Some(reason),
        },
        connection_id: None,
        raw: Vec::new(),
    }
}

/// Reads everything the capabilities allow, concurrently.
pub async fn collect_live(pool: &Pool, caps: &Capabilities, options: CollectOptions) -> LiveState {
    let t = options.timeout;
    let processlist_sql = match caps.processlist {
        ProcesslistSource::PerformanceSchema => (
            include_str!("../../queries/processlist_ps.sql"),
            "performance_schema.processlist",
        ),
        ProcesslistSource::InformationSchema => (
            include_str!("../../queries/processlist_is.sql"),
            "information_schema.PROCESSLIST",
        ),
    };
    let (waits_sql, locks_sql) = match caps.row_locks {
        Ok(RowLockSource::DataLocks) => (
            Some((
                include_str!("../../queries/lock_waits_mysql8.sql"),
                "performance_schema.data_lock_waits",
            )),
            Some((
                include_str!("../../queries/locks_mysql8.sql"),
                "performance_schema.data_locks",
            )),
        ),
        Ok(RowLockSource::InnodbLocks) => (
            Some((
                include_str!("../../queries/lock_waits_innodb_is.sql"),
                "information_schema.INNODB_LOCK_WAITS",
            )),
            Some((
                include_str!("../../queries/locks_innodb_is.sql"),
                "information_schema.INNODB_LOCKS",
            )),
        ),
        Err(_) => (None, None),
    };
    let row_lock_reason = caps.row_locks.clone().err().unwrap_or_default();

    let sessions = collect(
        pool,
        caps,
        Collector {
            source: "processlist",
            statement: processlist_sql,
            params: Params::Empty,
            privilege_hint: NEEDS_PROCESS,
        },
        t,
        map_session,
    );
    let transactions = async {
        if caps.innodb_trx {
            let sql = (
                include_str!("../../queries/transactions_innodb_trx.sql"),
                "information_schema.INNODB_TRX",
            );
            collect(
                pool,
                caps,
                Collector {
                    source: "transactions",
                    statement: sql,
                    params: Params::Empty,
                    privilege_hint: NEEDS_PROCESS,
                },
                t,
                map_transaction,
            )
            .await
        } else {
            unavailable(
                "transactions",
                "this server has no information_schema.INNODB_TRX".into(),
            )
        }
    };
    let row_waits = async {
        match waits_sql {
            Some(sql) => {
                collect(
                    pool,
                    caps,
                    Collector {
                        source: "lock_waits",
                        statement: sql,
                        params: Params::Empty,
                        privilege_hint: NEEDS_PROCESS,
                    },
                    t,
                    map_row_wait,
                )
                .await
            }
            None => unavailable("lock_waits", row_lock_reason.clone()),
        }
    };
    let locks = async {
        match (locks_sql, options.locks_limit) {
            (Some(sql), Some(limit)) => {
                let hint = if caps.row_locks == Ok(RowLockSource::DataLocks) {
                    NEEDS_PS_SELECT
                } else {
                    NEEDS_PROCESS
                };
                Some(
                    collect(
                        pool,
                        caps,
                        Collector {
                            source: "locks",
                            statement: sql,
                            params: Params::Positional(vec![limit.into()]),
                            privilege_hint: hint,
                        },
                        t,
                        map_lock_summary,
                    )
                    .await,
                )
            }
            (None, Some(_)) => Some(unavailable("locks", row_lock_reason.clone())),
            _ => None,
        }
    };
    let metadata = async {
        match &caps.metadata_locks {
            Ok(()) => {
                let sql = (
                    include_str!("../../queries/metadata_locks.sql"),
                    "performance_schema.metadata_locks",
                );
                collect(
                    pool,
                    caps,
                    Collector {
                        source: "metadata_locks",
                        statement: sql,
                        params: Params::Empty,
                        privilege_hint: NEEDS_PS_SELECT,
                    },
                    t,
                    map_metadata_lock,
                )
                .await
            }
            Err(reason) => unavailable("metadata_locks", reason.clone()),
        }
    };
    let status_text = async {
        if !options.innodb_status {
            return None;
        }
        let sql = (
            include_str!("../../queries/innodb_status.sql"),
            "SHOW ENGINE INNODB STATUS",
        );
        Some(
            collect(
                pool,
                caps,
                Collector {
                    source: "innodb_status",
                    statement: sql,
                    params: Params::Empty,
                    privilege_hint: NEEDS_PROCESS,
                },
                t,
                |r| r.text("status"),
            )
            .await,
        )
    };
    let (sessions, transactions, row_waits, locks, metadata, status_text) = tokio::join!(
        sessions,
        transactions,
        row_waits,
        locks,
        metadata,
        status_text
    );

    let mut state = LiveState {
        server: caps.server.clone(),
        ..LiveState::default()
    };
    let mut own_ids: Vec<u64> = caps.server.own_connection_id.into_iter().collect();
    let mut sources = Vec::new();

    let mut sessions = sessions;
    if sessions.status.status == SourceState::Ok && !caps.has_process_privilege {
        sessions.status.status = SourceState::Partial;
        sessions.status.reason = Some(format!(
            "no PROCESS privilege: only this account's own sessions are visible ({NEEDS_PROCESS})"
        ));
    }
    own_ids.extend(sessions.connection_id.map(u64::from));
    sources.push(sessions.status);
    state.sessions = sessions.rows;

    own_ids.extend(transactions.connection_id.map(u64::from));
    sources.push(transactions.status);
    state.transactions = transactions.rows;

    own_ids.extend(row_waits.connection_id.map(u64::from));
    sources.push(row_waits.status);
    state.row_waits = row_waits.rows;

    if let Some(locks) = locks {
        own_ids.extend(locks.connection_id.map(u64::from));
        let total: u64 = locks
            .raw
            .first()
            .and_then(|r| r.num("total_locks"))
            .unwrap_or(0);
        let fetched: u64 = locks.rows.iter().map(|l| l.count).sum();
        state.locks_omitted = total.saturating_sub(fetched);
        sources.push(locks.status);
        state.locks = locks.rows;
    }

    own_ids.extend(metadata.connection_id.map(u64::from));
    sources.push(metadata.status);
    state.metadata_locks = metadata.rows;

    if let Some(status_text) = status_text {
        own_ids.extend(status_text.connection_id.map(u64::from));
        sources.push(status_text.status);
        state.innodb_status = status_text.rows.into_iter().next();
    }
    state.sources = sources;
    own_ids.sort_unstable();
    own_ids.dedup();
    state.lockdiag_thread_ids = own_ids;
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(pairs: &[(&str, Option<&str>)]) -> Record {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
            .collect()
    }

    /// A row shaped as `lock_waits_mysql8.sql` returns it (column aliases as in the file).
    #[test]
    fn mysql8_lock_wait_row_maps_processlist_ids() {
        let row = record(&[
            ("waiting_thread_id", Some("31")),
            ("waiting_trx_id", Some("421934")),
            ("blocking_thread_id", Some("29")),
            ("blocking_trx_id", Some("421933")),
            ("lock_schema", Some("shop")),
            ("lock_table_name", Some("paid_events")),
            ("lock_index", Some("uk_paid_events_order_payment")),
            ("lock_type", Some("RECORD")),
            ("lock_mode", Some("X,REC_NOT_GAP")),
            ("blocking_lock_mode", Some("X,REC_NOT_GAP")),
            ("lock_data", Some("7, 'pk_abc'")),
            ("blocking_lock_status", Some("GRANTED")),
            ("wait_secs", Some("12")),
        ]);
        let wait = map_row_wait(&row).unwrap();
        assert_eq!(
            (
                wait.waiting_thread_id,
                wait.blocking_thread_id,
                wait.wait_secs
            ),
            (31, 29, 12)
        );
        assert_eq!(
            (wait.schema.as_deref(), wait.table.as_deref()),
            (Some("shop"), Some("paid_events"))
        );
        assert_eq!(wait.blocking_lock_status.as_deref(), Some("GRANTED"));
    }

    /// A row shaped as `lock_waits_innodb_is.sql` returns it: the table is one quoted name.
    #[test]
    fn innodb_is_lock_wait_row_splits_the_table() {
        let row = record(&[
            ("waiting_thread_id", Some("8")),
            ("blocking_thread_id", Some("6")),
            ("lock_table", Some("`shop`.`chain`")),
            ("lock_mode", Some("X")),
            ("wait_secs", None),
        ]);
        let wait = map_row_wait(&row).unwrap();
        assert_eq!(
            (
                wait.schema.as_deref(),
                wait.table.as_deref(),
                wait.wait_secs
            ),
            (Some("shop"), Some("chain"), 0)
        );
        // A row without the processlist ids (a purged thread) is skipped, not invented.
        assert!(map_row_wait(&record(&[("blocking_thread_id", Some("6"))])).is_none());
    }
}
