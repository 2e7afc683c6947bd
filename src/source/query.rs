//! Running one statement from `queries/`: bounded in time, errors classified.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Params, Pool, Row, TxOpts, Value};
use thiserror::Error;

use crate::model::Flavour;

use super::rows::{to_records, Record};

#[derive(Debug, Error, Clone)]
pub enum QueryError {
    /// The account lacks a privilege; the message is the server's.
    #[error("access denied: {0}")]
    Denied(String),
    #[error("no answer within {0:?} (raise --query-timeout)")]
    Timeout(Duration),
    /// The server refused another connection (max_connections, max_user_connections).
    #[error("the server refused another connection: {0}")]
    NoConnectionSlot(String),
    #[error("{0}")]
    Failed(String),
}

/// Drops the comment header of a `queries/*.sql` file.
pub fn statement_text(sql: &str) -> String {
    sql.lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

/// Adds the server-side time limit: MariaDB `SET STATEMENT max_statement_time=… FOR`,
/// MySQL's `MAX_EXECUTION_TIME` optimizer hint (SELECT only). Unknown flavour: unchanged.
pub fn with_server_time_limit(sql: &str, flavour: Option<Flavour>, limit: Duration) -> String {
    let sql = statement_text(sql);
    let is_select = sql
        .get(..6)
        .is_some_and(|s| s.eq_ignore_ascii_case("SELECT"));
    match flavour {
        Some(Flavour::Mariadb) => format!(
            "SET STATEMENT max_statement_time={:.3} FOR {sql}",
            limit.as_secs_f64()
        ),
        Some(_) if is_select => format!(
            "SELECT /*+ MAX_EXECUTION_TIME({}) */{}",
            limit.as_millis().max(1),
            &sql[6..]
        ),
        _ => sql,
    }
}

fn classify(e: mysql_async::Error) -> QueryError {
    match &e {
        // 1227 specific privilege, 1142/1143 table/column, 1044 database access denied.
        mysql_async::Error::Server(s) if matches!(s.code, 1227 | 1142 | 1143 | 1044 | 1045) => {
            QueryError::Denied(s.message.clone())
        }
        // 1040 Too many connections, 1203/1226 max_user_connections.
        mysql_async::Error::Server(s) if matches!(s.code, 1040 | 1203 | 1226) => {
            QueryError::NoConnectionSlot(s.message.clone())
        }
        // 1205: a lock wait ran into lockdiag's own limit (`connect::session_lock_limits`).
        mysql_async::Error::Server(s) if s.code == 1205 => QueryError::Failed(
            "lockdiag gave up waiting for a lock (its limit is --query-timeout, so that it never \
             joins a pile-up): another session holds or has queued a lock on what it reads — \
             most often an ALTER queued behind an open transaction (`lockdiag status` shows who)"
                .to_string(),
        ),
        // 3024 MySQL MAX_EXECUTION_TIME, 1969 MariaDB max_statement_time.
        mysql_async::Error::Server(s) if matches!(s.code, 3024 | 1969) => {
            QueryError::Failed(format!("server stopped the statement: {}", s.message))
        }
        _ => QueryError::Failed(e.to_string()),
    }
}

/// Runs a statement on a pooled connection; returns the rows and the connection id used.
pub async fn fetch(
    pool: &Pool,
    sql: &str,
    params: Params,
    flavour: Option<Flavour>,
    timeout: Duration,
) -> Result<(Vec<Record>, u32), QueryError> {
    let prepared = !matches!(params, Params::Empty);
    let (rows, id) = fetch_rows(pool, sql, params, prepared, flavour, timeout).await?;
    Ok((to_records(rows), id))
}

/// Runs a statement through the binary protocol (a prepared statement even
/// without parameters) and returns each row's values as the server typed them:
/// integers as integers, binary strings as bytes, dates as dates. Used where a
/// value read is sent back as a bound (duplicate scans), so it must stay exact.
pub async fn fetch_values(
    pool: &Pool,
    sql: &str,
    params: Params,
    flavour: Option<Flavour>,
    timeout: Duration,
) -> Result<Vec<Vec<Value>>, QueryError> {
    let (rows, _) = fetch_rows(pool, sql, params, true, flavour, timeout).await?;
    Ok(rows.into_iter().map(Row::unwrap).collect())
}

async fn fetch_rows(
    pool: &Pool,
    sql: &str,
    params: Params,
    prepared: bool,
    flavour: Option<Flavour>,
    timeout: Duration,
) -> Result<(Vec<Row>, u32), QueryError> {
    let work = async {
        let mut conn = checkout(pool).await?;
        let id = conn.id();
        let rows = run(&mut conn, sql, params, prepared, flavour, timeout).await?;
        Ok((rows, id))
    };
    // The client-side deadline covers the connection checkout too.
    bounded(timeout, work).await
}

/// `work` within the statement limit plus a margin: the client's own deadline,
/// for servers that ignore the server-side hint (or stall).
async fn bounded<T>(
    timeout: Duration,
    work: impl std::future::Future<Output = Result<T, QueryError>>,
) -> Result<T, QueryError> {
    tokio::time::timeout(timeout + Duration::from_millis(500), work)
        .await
        .unwrap_or(Err(QueryError::Timeout(timeout)))
}

/// The connection ids lockdiag's own pools handed out, per pool, so that its own
/// sessions are never listed, counted or blamed — also those whose statement failed
/// (an account without PROCESS sees its own sessions, lockdiag's included). Per pool,
/// not per process: connection ids are numbered by each server, so with many servers
/// in one process (`status --hosts`) an id of server A must not hide the same id on B.
/// A pool is known by its metrics block (one per pool, shared by its clones); the entry
/// keeps a weak reference to it, so the address cannot be reused while the entry
/// exists, and an entry whose pool is gone is dropped.
struct PoolConnections {
    pool: std::sync::Weak<mysql_async::Metrics>,
    ids: std::collections::BTreeSet<u32>,
}

type OwnConnections = std::collections::BTreeMap<usize, PoolConnections>;

static OWN_CONNECTIONS: std::sync::Mutex<OwnConnections> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

fn pool_key(pool: &Pool) -> (usize, std::sync::Arc<mysql_async::Metrics>) {
    let metrics = pool.metrics();
    (std::sync::Arc::as_ptr(&metrics) as usize, metrics)
}

fn own_connections() -> std::sync::MutexGuard<'static, OwnConnections> {
    OWN_CONNECTIONS.lock().unwrap_or_else(|e| e.into_inner())
}

fn remember_own(pool: &Pool, conn: &Conn) {
    remember_own_id(pool, conn.id());
}

fn remember_own_id(pool: &Pool, id: u32) {
    let (key, metrics) = pool_key(pool);
    let mut all = own_connections();
    all.retain(|_, entry| entry.pool.strong_count() > 0);
    all.entry(key)
        .or_insert_with(|| PoolConnections {
            pool: std::sync::Arc::downgrade(&metrics),
            ids: Default::default(),
        })
        .ids
        .insert(id);
}

/// The ids of the connections `pool` handed out (this server's own sessions).
pub fn own_connection_ids(pool: &Pool) -> Vec<u64> {
    let (key, _metrics) = pool_key(pool);
    own_connections()
        .get(&key)
        .map(|entry| entry.ids.iter().map(|&id| u64::from(id)).collect())
        .unwrap_or_default()
}

/// Forgets `pool`'s: its server restarted (its ids start again from 1).
pub fn forget_own_connections(pool: &Pool) {
    let (key, _metrics) = pool_key(pool);
    own_connections().remove(&key);
}

/// Attempts at a pooled connection when the server has no slot for a new one.
const SLOT_ATTEMPTS: u32 = 8;

/// A pooled connection. Near max_connections the pool may try to open a new
/// one while lockdiag's own is still being returned to it: wait briefly for
/// that one rather than fail (the caller's deadline bounds the wait).
pub async fn checkout(pool: &Pool) -> Result<Conn, QueryError> {
    let mut attempt = 0;
    loop {
        match pool
            .get_conn()
            .await
            .map_err(classify)
            .inspect(|conn| remember_own(pool, conn))
        {
            Err(QueryError::NoConnectionSlot(_)) if attempt + 1 < SLOT_ATTEMPTS => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(25 * u64::from(attempt))).await;
            }
            other => return other,
        }
    }
}

async fn run(
    conn: &mut impl Queryable,
    sql: &str,
    params: Params,
    prepared: bool,
    flavour: Option<Flavour>,
    timeout: Duration,
) -> Result<Vec<Row>, QueryError> {
    let statement = format!(
        "{}{}",
        super::restraint::marker(timeout),
        with_server_time_limit(sql, flavour, timeout)
    );
    if prepared {
        conn.exec(statement, params).await.map_err(classify)
    } else {
        conn.query(statement).await.map_err(classify)
    }
}

/// One read of InnoDB's transaction cache ([`fetch_innodb_cache`]).
#[derive(Debug)]
pub struct CacheRead {
    /// The first statement's rows (it reads `INNODB_TRX`, with a `thread_id` column).
    pub transactions: Vec<Record>,
    /// Each further statement's rows, or why it failed.
    pub more: Vec<Result<Vec<Record>, QueryError>>,
    pub connection_id: u32,
    /// The rows include the read's own transaction: the cache was refreshed after it began.
    pub fresh: bool,
    /// `counters_sql` read right after the statements (`None`: it failed); the caller
    /// reads it before (with the processlist, to decide what to read at all).
    pub counters_after: Option<Record>,
}

/// A mark no earlier statement carried: put into a statement's text, it tells that
/// statement's row in `INNODB_TRX` (its `trx_query`) from any row of an earlier
/// statement of the same connection that a cache not refreshed since still shows.
pub fn freshness_mark() -> String {
    static SEQUENCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("lockdiag-fresh-{}-{nanos:x}-{n}", std::process::id())
}

/// A read-only snapshot transaction: listed in `INNODB_TRX` once InnoDB refreshes its
/// cache. mysql_async rolls it back if it is dropped unfinished (a timeout, an error),
/// so a pooled connection never keeps one.
pub fn snapshot_transaction() -> TxOpts {
    let mut opts = TxOpts::default();
    opts.with_consistent_snapshot(true);
    opts
}

/// Reads InnoDB's transaction cache (`INNODB_TRX`, `INNODB_LOCKS`, `INNODB_LOCK_WAITS`
/// share it) in a way that proves the answer is fresh and of one moment. InnoDB
/// refreshes that cache only when nobody read it for 100 ms, so a client polling
/// faster (a monitoring agent, a second lockdiag) freezes it: its rows can be seconds
/// old with no warning. Here a read-only transaction is opened on the connection
/// first, and the first statement carries a [`freshness_mark`]: the cache is fresh
/// when its rows list this connection running that very statement (`query` holds the
/// mark), i.e. it was refreshed during it — a row of an earlier statement of the same
/// connection, which a cache not refreshed since still shows, does not count. The
/// further statements follow at once on the same connection, within the cache's
/// 100 ms: the same refresh, so waits, locks and transactions agree. The transaction
/// is rolled back after. `counters_sql` (uncached figures to hold the rows against)
/// is read just after, on the same connection; the caller reads them before.
pub async fn fetch_innodb_cache(
    pool: &Pool,
    transactions_sql: &str,
    more_sql: &[&str],
    counters_sql: &str,
    flavour: Option<Flavour>,
    timeout: Duration,
) -> Result<CacheRead, QueryError> {
    let mark = freshness_mark();
    let transactions_sql =
        statement_text(transactions_sql).replacen("SELECT", &format!("SELECT /* {mark} */"), 1);
    let work = async {
        let mut conn = checkout(pool).await?;
        let connection_id = conn.id();
        let mut tx = conn
            .start_transaction(snapshot_transaction())
            .await
            .map_err(classify)?;
        let transactions = run(
            &mut tx,
            &transactions_sql,
            Params::Empty,
            false,
            flavour,
            timeout,
        )
        .await;
        let mut more = Vec::with_capacity(more_sql.len());
        for sql in more_sql {
            let rows = run(&mut tx, sql, Params::Empty, false, flavour, timeout).await;
            more.push(rows.map(to_records));
        }
        let ended = tx.rollback().await.map_err(classify);
        let transactions = to_records(transactions?);
        ended?;
        let counters_after = run(
            &mut conn,
            counters_sql,
            Params::Empty,
            false,
            flavour,
            timeout,
        )
        .await
        .ok()
        .and_then(|rows| to_records(rows).into_iter().next());
        let fresh = transactions.iter().any(|r| {
            r.num("thread_id") == Some(u64::from(connection_id))
                && r.str("query").is_some_and(|q| q.contains(&mark))
        });
        Ok(CacheRead {
            transactions,
            more,
            connection_id,
            fresh,
            counters_after,
        })
    };
    // Each statement has its own server-side limit; the client's deadline covers them all.
    let statements = more_sql.len() as u32 + 4;
    bounded(timeout * statements, work).await
}

/// Runs a statement on a connection the caller holds (to keep a check and
/// the action it guards on one session), bounded in time like [`fetch`].
pub async fn fetch_on(
    conn: &mut impl Queryable,
    sql: &str,
    params: Params,
    flavour: Option<Flavour>,
    timeout: Duration,
) -> Result<Vec<Record>, QueryError> {
    let prepared = !matches!(params, Params::Empty);
    let rows = bounded(timeout, run(conn, sql, params, prepared, flavour, timeout)).await?;
    Ok(to_records(rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Server A's connection 7 is lockdiag's; on server B, 7 is someone else's.
    #[tokio::test]
    async fn own_connections_are_per_pool() {
        let a = Pool::new(mysql_async::OptsBuilder::default().tcp_port(1));
        let b = Pool::new(mysql_async::OptsBuilder::default().tcp_port(2));
        remember_own_id(&a, 7);
        remember_own_id(&a.clone(), 9);
        assert_eq!(own_connection_ids(&a), [7, 9]);
        assert!(own_connection_ids(&b).is_empty());
        remember_own_id(&b, 3);
        forget_own_connections(&a);
        assert!(own_connection_ids(&a).is_empty());
        assert_eq!(own_connection_ids(&b), [3]);
    }

    #[test]
    fn time_limits_per_flavour() {
        let sql = "-- header\nSELECT 1 AS a";
        let limit = Duration::from_millis(2500);
        assert_eq!(
            with_server_time_limit(sql, Some(Flavour::Mariadb), limit),
            "SET STATEMENT max_statement_time=2.500 FOR SELECT 1 AS a"
        );
        assert_eq!(
            with_server_time_limit(sql, Some(Flavour::Mysql), limit),
            "SELECT /*+ MAX_EXECUTION_TIME(2500) */ 1 AS a"
        );
        assert_eq!(
            with_server_time_limit("SHOW ENGINE INNODB STATUS", Some(Flavour::Mysql), limit),
            "SHOW ENGINE INNODB STATUS"
        );
    }
}
