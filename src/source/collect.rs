//! Collectors: each runs one statement from `queries/` and maps its rows to
//! the model. They run concurrently on the pool, so a full collection costs
//! about one round trip. A collector that fails says why; the others still count.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use mysql_async::{Params, Pool};

use crate::model::{
    Flavour, InnodbCounters, LiveState, LockStatus, LockSummary, LockWait, MdlDuration,
    MetadataLock, Session, SourceName, SourceState, SourceStatus, Transaction, WaitKind,
};
use crate::parse::lines::split_table_name;

use super::detect::{Capabilities, ProcesslistSource, RowLockSource};
use super::query::{fetch, fetch_innodb_cache, own_connection_ids, QueryError};
use super::restraint::{lingering_statements, MaxRowWaits, Restraint};
use super::rows::Record;

/// InnoDB's uncached counters: deadlocks, row-lock waits in progress.
const COUNTERS_SQL: &str = include_str!("../../queries/innodb_counters.sql");

/// MySQL 8's row-lock waits, reduced on the server to each waiter's granted blockers.
pub const MYSQL8_WAITS: &str = concat!(
    include_str!("../../queries/lock_waits_mysql8.sql"),
    include_str!("../../queries/lock_waits_mysql8_reduced.sql")
);

/// [`MYSQL8_WAITS`] for an account without PROCESS.
pub const MYSQL8_WAITS_NO_PROCESS: &str = concat!(
    include_str!("../../queries/lock_waits_mysql8_no_process.sql"),
    include_str!("../../queries/lock_waits_mysql8_reduced.sql")
);

/// What to collect beyond sessions, transactions and waits.
#[derive(Debug, Clone, Copy)]
pub struct CollectOptions {
    /// Fetch lock groups, at most this many (`None`: skip the locks listing).
    pub locks_limit: Option<u64>,
    pub innodb_status: bool,
    pub timeout: Duration,
    /// Above this many row-lock waits in progress, the waits are not listed.
    pub max_row_waits: MaxRowWaits,
}

pub fn map_session(r: &Record) -> Option<Session> {
    Some(Session {
        thread_id: r.num("thread_id")?,
        user: r.text("user").unwrap_or_default(),
        host: r.text("host").unwrap_or_default(),
        db: r.text("db"),
        command: r.text("command").unwrap_or_default().into(),
        time_secs: r.num("time_secs").unwrap_or(0),
        state: r.text("state").filter(|s| !s.is_empty()),
        info: r.text("info"),
        query_id: r.num("query_id"),
    })
}

pub fn map_transaction(r: &Record) -> Option<Transaction> {
    Some(Transaction {
        trx_id: r.text("trx_id")?,
        thread_id: r.num("thread_id").unwrap_or(0),
        started: r.text("started"),
        state: r.text("state").unwrap_or_default().into(),
        age_secs: r.num("age_secs").unwrap_or(0),
        wait_secs: r.num("wait_secs"),
        rows_locked: r.num("rows_locked").unwrap_or(0),
        rows_modified: r.num("rows_modified").unwrap_or(0),
        tables_locked: r.num("tables_locked").unwrap_or(0),
        lock_structs: r.num("lock_structs").unwrap_or(0),
        isolation_level: r.text("isolation_level"),
        operation_state: r.text("operation_state").filter(|s| !s.is_empty()),
        query: r.text("query"),
        requested_lock_id: r.text("requested_lock_id"),
    })
}

/// The row-lock waits of 5.7/MariaDB, derived from `INNODB_LOCKS` and `INNODB_TRX`
/// alone — never from `INNODB_LOCK_WAITS`, which holds a row per (waiter, earlier lock
/// in the queue) pair: N sessions on one row are N(N+1)/2 rows, 2 million at 2,000, to
/// ship, hold and thin out again. Here each waiter is blamed on the granted locks of
/// other transactions on the same row (or table) that conflict with its request; a
/// waiter that no granted lock conflicts with (an S request queued behind an X request)
/// is blamed on the nearest earlier conflicting request in the queue, as queued. O(n)
/// rows in, O(n) edges out: the root blockers, transitive counts and longest waits are
/// those of the pair rows (`analyze::waits::all_waits` keeps the same edges of them).
///
/// A transaction's lock it waits for is its `trx_requested_lock_id`; every other
/// lock listed is granted (INNODB_LOCKS lists only locks that wait or block). A lock
/// id is `trx:space:page:heap` for a record, `trx:table` for a table: the part after
/// the transaction names the locked object.
pub fn derive_innodb_lock_waits(locks: &[Record], transactions: &[Transaction]) -> Vec<LockWait> {
    let trx: HashMap<&str, &Transaction> = transactions
        .iter()
        .map(|t| (t.trx_id.as_str(), t))
        .collect();
    let requested: HashMap<&str, &Transaction> = transactions
        .iter()
        .filter_map(|t| Some((t.requested_lock_id.as_deref()?, t)))
        .collect();
    // Per locked object: the granted locks, and the waiting ones.
    let mut objects: HashMap<&str, LockQueue> = HashMap::new();
    for lock in locks {
        let Some(id) = lock.str("lock_id") else {
            continue;
        };
        let Some((_, object)) = id.split_once(':') else {
            continue;
        };
        let entry = objects.entry(object).or_default();
        match requested.get(id) {
            Some(waiter) => entry.1.push((lock, *waiter)),
            None => entry.0.push(lock),
        }
    }
    let mut waits = Vec::new();
    for (granted, mut queue) in objects.into_values() {
        // Queue order: the longest waiting first; the transaction id breaks ties, so the
        // order is total and "earlier in the queue" can never make a cycle.
        queue.sort_by(|a, b| {
            b.1.wait_secs
                .cmp(&a.1.wait_secs)
                .then_with(|| trx_order(&a.1.trx_id).cmp(&trx_order(&b.1.trx_id)))
        });
        for (position, (request, waiter)) in queue.iter().enumerate() {
            let mode = request.str("lock_mode").unwrap_or("");
            let mut blamed = false;
            for holder in &granted {
                let other = holder.str("lock_trx_id").and_then(|id| trx.get(id));
                if let Some(blocking) = other.filter(|b| b.trx_id != waiter.trx_id) {
                    if modes_conflict(mode, holder.str("lock_mode").unwrap_or("")) {
                        waits.push(innodb_wait(request, waiter, holder, blocking, false));
                        blamed = true;
                    }
                }
            }
            if blamed {
                continue;
            }
            let ahead = queue[..position].iter().rev().find(|(queued, q)| {
                q.trx_id != waiter.trx_id
                    && modes_conflict(mode, queued.str("lock_mode").unwrap_or(""))
            });
            if let Some((queued, blocking)) = ahead {
                waits.push(innodb_wait(request, waiter, queued, blocking, true));
            }
        }
    }
    waits
}

/// The locks on one row or table: granted ones, and requests with the transaction waiting.
type LockQueue<'a> = (Vec<&'a Record>, Vec<(&'a Record, &'a Transaction)>);

/// A transaction id as a number where it is one (they are decimal on 5.7/MariaDB).
fn trx_order(id: &str) -> (u64, &str) {
    (id.parse().unwrap_or(u64::MAX), id)
}

/// Whether a lock requested in mode `requested` must wait for one held in mode `held`,
/// as `INNODB_LOCKS.lock_mode` prints them (`S`, `X`, `IS`, `IX`, `AUTO_INC`, and
/// `S,GAP`/`X,GAP` for locks on the gap only). A waiting gap request is an insert
/// intention (plain gap requests never wait): any lock on the record may be the gap
/// lock it waits for. A gap-only lock never blocks a record request. Table modes
/// follow InnoDB's compatibility matrix; an unknown mode conflicts.
fn modes_conflict(requested: &str, held: &str) -> bool {
    let (requested, requested_gap) = split_gap(requested);
    let (held, held_gap) = split_gap(held);
    if requested_gap {
        return true;
    }
    if held_gap {
        return false;
    }
    let compatible = matches!(
        (requested, held),
        ("IS", "IS" | "IX" | "S" | "AUTO_INC")
            | ("IX", "IS" | "IX" | "AUTO_INC")
            | ("S", "IS" | "S")
            | ("AUTO_INC", "IS" | "IX")
    );
    !compatible
}

fn split_gap(mode: &str) -> (&str, bool) {
    match mode.split_once(',') {
        Some((base, rest)) => (base.trim(), rest.contains("GAP")),
        None => (mode.trim(), false),
    }
}

/// One derived wait of `waiter`'s `request` on `blocking`'s `lock` (held, or `queued` ahead).
fn innodb_wait(
    request: &Record,
    waiter: &Transaction,
    lock: &Record,
    blocking: &Transaction,
    queued: bool,
) -> LockWait {
    let (schema, table) = lock_object(request);
    LockWait {
        waiting_thread_id: waiter.thread_id,
        blocking_thread_id: blocking.thread_id,
        kind: WaitKind::Row,
        waiting_trx_id: Some(waiter.trx_id.clone()),
        blocking_trx_id: Some(blocking.trx_id.clone()),
        schema,
        table,
        index: request.text("lock_index"),
        lock_mode: request.text("lock_mode").unwrap_or_default(),
        blocking_lock_mode: lock.text("lock_mode"),
        blocking_lock_status: Some(if queued {
            LockStatus::Waiting
        } else {
            LockStatus::Granted
        }),
        lock_data: request.text("lock_data"),
        wait_secs: waiter.wait_secs.unwrap_or(0),
    }
}

/// trx id, schema, table, index, lock type, lock mode, lock status.
type LockGroupKey = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
    LockStatus,
);

/// Counts raw `INNODB_LOCKS` rows per transaction, table, index, type, mode and status
/// (WAITING when a transaction requests it), largest groups first, at most `limit`.
/// Returns the groups and how many locks were left out.
pub fn summarize_innodb_locks(
    locks: &[Record],
    transactions: &[Transaction],
    limit: u64,
) -> (Vec<LockSummary>, u64) {
    let requested: BTreeSet<&str> = transactions
        .iter()
        .filter_map(|t| t.requested_lock_id.as_deref())
        .collect();
    let thread_of: HashMap<&str, u64> = transactions
        .iter()
        .map(|t| (t.trx_id.as_str(), t.thread_id))
        .collect();
    let mut groups: BTreeMap<LockGroupKey, u64> = BTreeMap::new();
    for l in locks {
        let Some(trx_id) = l.text("lock_trx_id") else {
            continue;
        };
        let (schema, table) = lock_object(l);
        let status = if l.str("lock_id").is_some_and(|id| requested.contains(id)) {
            LockStatus::Waiting
        } else {
            LockStatus::Granted
        };
        let key = (
            trx_id,
            schema,
            table,
            l.text("lock_index"),
            l.text("lock_type").unwrap_or_default(),
            l.text("lock_mode").unwrap_or_default(),
            status,
        );
        *groups.entry(key).or_default() += 1;
    }
    let mut summaries: Vec<LockSummary> = groups
        .into_iter()
        .map(
            |((trx_id, schema, table, index, lock_type, lock_mode, lock_status), count)| {
                LockSummary {
                    thread_id: thread_of.get(trx_id.as_str()).copied(),
                    trx_id,
                    schema,
                    table,
                    index,
                    lock_type,
                    lock_mode,
                    lock_status,
                    count,
                }
            },
        )
        .collect();
    summaries.sort_by_key(|s| std::cmp::Reverse(s.count));
    let omitted: u64 = summaries.iter().skip(limit as usize).map(|s| s.count).sum();
    summaries.truncate(limit as usize);
    (summaries, omitted)
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
        blocking_lock_status: r.text("blocking_lock_status").map(LockStatus::from),
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
        lock_status: r.text("lock_status").unwrap_or_default().into(),
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
        lock_status: r.text("lock_status").unwrap_or_default().into(),
        duration: r.text("lock_duration").map(MdlDuration::from),
    })
}

fn status(
    source: SourceName,
    from: &str,
    state: SourceState,
    reason: Option<String>,
) -> SourceStatus {
    SourceStatus {
        source,
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
    /// The server had no connection slot for it (max_connections).
    refused_slot: bool,
}

impl<T> Collected<T> {
    /// Read from InnoDB's transaction cache when it was not refreshed: not used.
    fn mark_stale(&mut self) {
        if self.status.status != SourceState::Unavailable {
            self.status.status = SourceState::Unavailable;
            self.status.reason = Some(STALE_CACHE.to_string());
        }
        self.rows.clear();
        self.raw.clear();
    }
}

/// One statement to run for one source.
struct Collector<'a> {
    /// The source name reported in `sources[]`.
    source: SourceName,
    /// The SQL and the table it reads, for messages.
    statement: (&'a str, &'a str),
    params: Params,
    /// What to grant when the server says access denied.
    privilege_hint: &'a str,
}

/// Runs one collector, unless the collection's [`Restraint`] says not to read its source now.
async fn collect<T>(
    pool: &Pool,
    caps: &Capabilities,
    collector: Collector<'_>,
    (timeout, restraint): (Duration, &Restraint),
    map: fn(&Record) -> Option<T>,
) -> Collected<T> {
    let Collector {
        source,
        statement: (sql, from),
        params,
        privilege_hint,
    } = collector;
    if let Some(reason) = restraint.skip_reason(sql) {
        return skipped(source, from, reason);
    }
    match fetch(pool, sql, params, Some(caps.server.flavour), timeout).await {
        Ok((records, id)) => Collected {
            rows: records.iter().filter_map(map).collect(),
            status: status(source, from, SourceState::Ok, None),
            connection_id: Some(id),
            raw: records,
            refused_slot: false,
        },
        Err(e) => failed(source, from, &e, privilege_hint),
    }
}

const NEEDS_PROCESS: &str = "needs the PROCESS privilege: GRANT PROCESS ON *.* TO <account>";
const NEEDS_PS_SELECT: &str =
    "needs SELECT on performance_schema: GRANT SELECT ON performance_schema.* TO <account>";

fn unavailable<T>(source: SourceName, reason: String) -> Collected<T> {
    Collected {
        rows: Vec::new(),
        status: SourceStatus {
            source,
            from: None,
            status: SourceState::Unavailable,
            reason: Some(reason),
        },
        connection_id: None,
        raw: Vec::new(),
        refused_slot: false,
    }
}

/// A source not read now ([`Restraint::skip_reason`]).
fn skipped<T>(source: SourceName, from: &str, reason: String) -> Collected<T> {
    Collected {
        status: status(source, from, SourceState::Unavailable, Some(reason)),
        ..unavailable(source, String::new())
    }
}

/// What reading the transaction cache showed about the cache itself.
#[derive(Debug, Clone, Default)]
struct CacheCheck {
    /// `Some(false)`: InnoDB did not refresh the cache for this read.
    fresh: Option<bool>,
    counters: Option<InnodbCounters>,
}

/// Why rows of InnoDB's transaction cache are not used when it was not refreshed.
pub const STALE_CACHE: &str = "stale: InnoDB's INNODB_TRX/INNODB_LOCKS/INNODB_LOCK_WAITS cache did not list lockdiag's own read — it was not refreshed for this read (InnoDB refreshes it only after 100 ms without a reader; another client polls it faster), or it was cut at its 16 MB limit before that row — so its rows may be old or incomplete and are not used";

/// What one read of InnoDB's transaction cache gave: the transactions and, on
/// MariaDB/5.7, the raw lock waits and locks of the same refresh.
struct CacheSources {
    transactions: Collected<Transaction>,
    lock_waits: Option<Collected<LockWait>>,
    locks: Option<Collected<LockSummary>>,
    check: CacheCheck,
}

/// A source whose statement failed.
fn failed<T>(source: SourceName, from: &str, e: &QueryError, privilege_hint: &str) -> Collected<T> {
    Collected {
        refused_slot: matches!(e, QueryError::NoConnectionSlot(_)),
        rows: Vec::new(),
        status: status(
            source,
            from,
            SourceState::Unavailable,
            Some(failure_reason(e, privilege_hint)),
        ),
        connection_id: None,
        raw: Vec::new(),
    }
}

/// A source whose raw rows are joined afterwards, read on connection `id`.
fn raw_rows<T>(
    source: SourceName,
    from: &str,
    rows: Result<Vec<Record>, QueryError>,
    id: u32,
) -> Collected<T> {
    match rows {
        Ok(rows) => Collected {
            rows: Vec::new(),
            status: status(source, from, SourceState::Ok, None),
            connection_id: Some(id),
            raw: rows,
            refused_slot: false,
        },
        Err(e) => failed(source, from, &e, NEEDS_PROCESS),
    }
}

/// `INNODB_TRX` (and, with `innodb_is`, `INNODB_LOCK_WAITS` and `INNODB_LOCKS`)
/// with the proof that the cache is fresh and InnoDB's uncached counters
/// ([`fetch_innodb_cache`]); a stale read is unavailable, not empty.
async fn collect_innodb_cache(
    pool: &Pool,
    caps: &Capabilities,
    innodb_is: bool,
    (timeout, restraint): (Duration, &Restraint),
) -> CacheSources {
    const TRX: &str = "information_schema.INNODB_TRX";
    // The waits are derived from the locks and transactions ([`derive_innodb_lock_waits`]).
    const WAITS: &str = "information_schema.INNODB_LOCKS";
    const LOCKS: &str = "information_schema.INNODB_LOCKS";
    const TRX_SQL: &str = include_str!("../../queries/transactions_innodb_trx.sql");
    let more: &[&str] = if innodb_is {
        &[include_str!("../../queries/locks_innodb_is.sql")]
    } else {
        &[]
    };
    let all_failed = |e: &QueryError| CacheSources {
        transactions: failed(SourceName::Transactions, TRX, e, NEEDS_PROCESS),
        lock_waits: innodb_is.then(|| failed(SourceName::LockWaits, WAITS, e, NEEDS_PROCESS)),
        locks: innodb_is.then(|| failed(SourceName::Locks, LOCKS, e, NEEDS_PROCESS)),
        check: CacheCheck::default(),
    };
    if let Some(reason) = std::iter::once(&TRX_SQL)
        .chain(more)
        .find_map(|sql| restraint.skip_reason(sql))
    {
        return all_failed(&QueryError::Failed(reason));
    }
    let read = fetch_innodb_cache(
        pool,
        TRX_SQL,
        more,
        COUNTERS_SQL,
        Some(caps.server.flavour),
        timeout,
    )
    .await;
    let read = match read {
        Ok(read) => read,
        Err(e) => return all_failed(&e),
    };
    // The counters read first (before the cache) and right after it: the fewer waits of
    // the two, so a wait that began or ended meanwhile does not count against the list.
    let after = |name: &str| read.counters_after.as_ref().and_then(|r| r.num(name));
    let before = restraint.counters.as_ref();
    let counters = (before.is_some() || read.counters_after.is_some()).then(|| InnodbCounters {
        deadlocks: after("deadlocks").or(before.and_then(|c| c.deadlocks)),
        row_lock_waits: match (
            before.and_then(|c| c.row_lock_waits),
            after("row_lock_current_waits"),
        ) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        },
    });
    let own = u64::from(read.connection_id);
    let id = read.connection_id;
    let mut more = read.more.into_iter();
    let mut sources = CacheSources {
        transactions: Collected {
            // The read's own transaction proved the cache fresh; it is not the server's.
            rows: read
                .transactions
                .iter()
                .filter_map(map_transaction)
                .filter(|t| t.thread_id != own)
                .collect(),
            status: status(SourceName::Transactions, TRX, SourceState::Ok, None),
            connection_id: Some(read.connection_id),
            raw: Vec::new(),
            refused_slot: false,
        },
        lock_waits: None,
        locks: innodb_is.then(|| {
            raw_rows(
                SourceName::Locks,
                LOCKS,
                more.next().unwrap_or(Ok(vec![])),
                id,
            )
        }),
        check: CacheCheck {
            fresh: Some(read.fresh),
            counters,
        },
    };
    // The waits stand or fall with the locks they are derived from.
    sources.lock_waits = sources.locks.as_ref().map(|locks| Collected {
        rows: Vec::new(),
        status: SourceStatus {
            source: SourceName::LockWaits,
            ..locks.status.clone()
        },
        connection_id: locks.connection_id,
        raw: Vec::new(),
        refused_slot: false,
    });
    if !read.fresh {
        sources.transactions.mark_stale();
        sources
            .lock_waits
            .iter_mut()
            .for_each(Collected::mark_stale);
        sources.locks.iter_mut().for_each(Collected::mark_stale);
    }
    sources
}

/// Reads everything the capabilities allow: concurrently (a few connections)
/// and, when the server has no slot for them (a pile-up near
/// `max_connections`), again one source after another on the one connection
/// lockdiag has — a complete picture needs only one. When InnoDB did not
/// refresh its transaction cache for the read (lockdiag's own previous read
/// less than 100 ms ago, or another client polling), it waits that out and
/// reads once more; still stale, those sources are unavailable with the reason.
pub async fn collect_live(pool: &Pool, caps: &Capabilities, options: CollectOptions) -> LiveState {
    let mut sequential = false;
    let mut waited_out = false;
    loop {
        let (state, outcome) = collect_all(pool, caps, options, sequential).await;
        if outcome.refused_slot && !sequential {
            sequential = true;
        } else if outcome.stale_cache && !waited_out {
            // Once: a cache lockdiag itself read less than 100 ms ago refreshes by then.
            waited_out = true;
            tokio::time::sleep(CACHE_IDLE_TO_REFRESH).await;
        } else {
            return with_statement_history(pool, caps, options, state, &outcome.restraint).await;
        }
    }
}

/// The sessions that block others — a row wait's blocker, a session holding a metadata
/// lock while another's is pending — and, when there are any, their recent statements.
async fn with_statement_history(
    pool: &Pool,
    caps: &Capabilities,
    options: CollectOptions,
    mut state: LiveState,
    restraint: &Restraint,
) -> LiveState {
    let mut blockers: BTreeSet<u64> = state
        .row_waits
        .iter()
        .map(|w| w.blocking_thread_id)
        .collect();
    if state
        .metadata_locks
        .iter()
        .any(|m| m.lock_status == crate::model::MdlStatus::Pending)
    {
        blockers.extend(
            state
                .metadata_locks
                .iter()
                .filter(|m| m.lock_status == crate::model::MdlStatus::Granted)
                .map(|m| m.thread_id),
        );
    }
    blockers.remove(&0);
    blockers.retain(|t| !state.lockdiag_thread_ids.contains(t));
    if blockers.is_empty() {
        return state;
    }
    let threads: Vec<u64> = blockers.into_iter().collect();
    if let Some(reason) = restraint.skip_reason(super::history::HISTORY_SQL) {
        state.sources.push(SourceStatus {
            source: SourceName::StatementHistory,
            from: Some(super::history::FROM.into()),
            status: SourceState::Unavailable,
            reason: Some(reason),
        });
        return state;
    }
    let (status, history) = super::history::statement_history(
        pool,
        caps.server.flavour,
        caps.server.performance_schema,
        options.timeout,
        &threads,
    )
    .await;
    state.sources.push(status);
    state.statement_history = history;
    state
}

/// How long InnoDB's transaction cache must go unread before a read refreshes it
/// (`CACHE_MIN_IDLE_TIME_US`, 100 ms), with a margin.
pub const CACHE_IDLE_TO_REFRESH: Duration = Duration::from_millis(150);

/// What a collection round says about how to read again.
#[derive(Debug, Clone, Default)]
struct RoundOutcome {
    /// A source was refused a connection.
    refused_slot: bool,
    /// InnoDB's transaction cache was not refreshed for this round.
    stale_cache: bool,
    /// What was left unread (the statement history follows it too).
    restraint: Restraint,
}

/// Which statement reads each source on this server, planned once from the
/// capabilities: the flavour and privilege choices live here and nowhere else.
struct Plan {
    sessions: Collector<'static>,
    /// INNODB_TRX can be read (with, on MariaDB/5.7, INNODB_LOCK_WAITS and INNODB_LOCKS
    /// from the same refresh of InnoDB's cache).
    innodb_cache: Result<(), String>,
    /// Row-lock waits: MySQL 8's performance_schema statement, or InnoDB's cache.
    lock_waits: Read,
    /// Lock groups, when a listing is asked for.
    locks: Option<Read>,
    metadata_locks: Result<Collector<'static>, String>,
    innodb_status: Option<Collector<'static>>,
    /// 5.7/MariaDB: waits and locks are raw cache rows, joined afterwards.
    innodb_is: bool,
}

fn collector(
    source: SourceName,
    sql: &'static str,
    from: &'static str,
    params: Params,
    privilege_hint: &'static str,
) -> Collector<'static> {
    Collector {
        source,
        statement: (sql, from),
        params,
        privilege_hint,
    }
}

/// How one source of the picture is read.
enum Read {
    /// By a statement of its own.
    Statement(Collector<'static>),
    /// With the transactions, from the same refresh of InnoDB's cache (5.7/MariaDB).
    WithInnodbCache,
    /// Not on this server: why.
    Unavailable(String),
}

fn plan(caps: &Capabilities, options: &CollectOptions) -> Plan {
    let innodb_is = caps.row_locks == Ok(RowLockSource::InnodbLocks);
    let data_locks = caps.row_locks == Ok(RowLockSource::DataLocks);
    let row_lock_reason = caps.row_locks.clone().err().unwrap_or_default();
    let sessions = match caps.processlist {
        ProcesslistSource::PerformanceSchema => collector(
            SourceName::Processlist,
            include_str!("../../queries/processlist_ps.sql"),
            "performance_schema.processlist",
            Params::Empty,
            NEEDS_PROCESS,
        ),
        ProcesslistSource::InformationSchema => collector(
            SourceName::Processlist,
            if caps.server.flavour == Flavour::Mariadb {
                include_str!("../../queries/processlist_mariadb.sql")
            } else {
                include_str!("../../queries/processlist_is.sql")
            },
            "information_schema.PROCESSLIST",
            Params::Empty,
            NEEDS_PROCESS,
        ),
    };
    // MySQL 8: joined on the server (performance_schema is indexed). 5.7/MariaDB: raw rows.
    let lock_waits = if data_locks {
        // Without PROCESS, INNODB_TRX is denied: performance_schema alone still gives the waits.
        let sql = if caps.has_process_privilege {
            MYSQL8_WAITS
        } else {
            MYSQL8_WAITS_NO_PROCESS
        };
        let from = "performance_schema.data_lock_waits";
        Read::Statement(collector(
            SourceName::LockWaits,
            sql,
            from,
            Params::Empty,
            NEEDS_PS_SELECT,
        ))
    } else if innodb_is {
        Read::WithInnodbCache
    } else {
        Read::Unavailable(row_lock_reason.clone())
    };
    let locks = options.locks_limit.map(|limit| {
        if data_locks {
            Read::Statement(collector(
                SourceName::Locks,
                include_str!("../../queries/locks_mysql8.sql"),
                "performance_schema.data_locks",
                Params::Positional(vec![limit.into()]),
                NEEDS_PS_SELECT,
            ))
        } else if innodb_is {
            Read::WithInnodbCache
        } else {
            Read::Unavailable(row_lock_reason.clone())
        }
    });
    let metadata_locks = caps.metadata_locks.clone().map(|()| {
        collector(
            SourceName::MetadataLocks,
            include_str!("../../queries/metadata_locks.sql"),
            "performance_schema.metadata_locks",
            Params::Empty,
            NEEDS_PS_SELECT,
        )
    });
    let innodb_status = options.innodb_status.then(|| {
        collector(
            SourceName::InnodbStatus,
            include_str!("../../queries/innodb_status.sql"),
            "SHOW ENGINE INNODB STATUS",
            Params::Empty,
            NEEDS_PROCESS,
        )
    });
    let innodb_cache = if caps.innodb_trx {
        Ok(())
    } else {
        Err("this server has no information_schema.INNODB_TRX".to_string())
    };
    Plan {
        sessions,
        innodb_cache,
        lock_waits,
        locks,
        metadata_locks,
        innodb_status,
        innodb_is,
    }
}

/// Every collector's outcome of one round.
struct Round {
    /// What was left unread, and why (with InnoDB's counters, read first).
    restraint: Restraint,
    sessions: Collected<Session>,
    cache: CacheSources,
    /// `None` when read with the transactions (then in `cache`).
    row_waits: Option<Collected<LockWait>>,
    locks: Option<Collected<LockSummary>>,
    metadata: Collected<MetadataLock>,
    status_text: Option<Collected<String>>,
}

/// Runs the plan: concurrently, or one statement after another.
async fn run_plan(
    pool: &Pool,
    caps: &Capabilities,
    plan: Plan,
    options: &CollectOptions,
    sequential: bool,
) -> Round {
    let (t, innodb_is) = (options.timeout, plan.innodb_is);
    // First, with InnoDB's counters (both cheap): what they show decides what else is read.
    let unrestrained = Restraint::default();
    let sessions = collect(pool, caps, plan.sessions, (t, &unrestrained), map_session);
    let counters = async {
        let read = fetch(
            pool,
            COUNTERS_SQL,
            Params::Empty,
            Some(caps.server.flavour),
            t,
        )
        .await;
        let (rows, _) = read.ok()?;
        Some(InnodbCounters {
            deadlocks: rows.first()?.num("deadlocks"),
            row_lock_waits: rows.first()?.num("row_lock_current_waits"),
        })
    };
    let (sessions, counters) = if sequential {
        (sessions.await, counters.await)
    } else {
        tokio::join!(sessions, counters)
    };
    let restraint = Restraint {
        lingering: lingering_statements(&sessions.rows, t),
        counters,
        max_row_waits: options.max_row_waits,
    };
    let l = (t, &restraint);
    let cache = async {
        match plan.innodb_cache {
            Ok(()) => collect_innodb_cache(pool, caps, innodb_is, l).await,
            Err(missing) => CacheSources {
                transactions: unavailable(SourceName::Transactions, missing),
                lock_waits: None,
                locks: None,
                check: CacheCheck::default(),
            },
        }
    };
    let row_waits = async {
        match plan.lock_waits {
            Read::Statement(c) => Some(collect(pool, caps, c, l, map_row_wait).await),
            Read::WithInnodbCache => None,
            Read::Unavailable(reason) => Some(unavailable(SourceName::LockWaits, reason)),
        }
    };
    let locks = async {
        match plan.locks? {
            Read::Statement(c) => Some(collect(pool, caps, c, l, map_lock_summary).await),
            Read::WithInnodbCache => None,
            Read::Unavailable(reason) => Some(unavailable(SourceName::Locks, reason)),
        }
    };
    let metadata = async {
        match plan.metadata_locks {
            Ok(c) => collect(pool, caps, c, l, map_metadata_lock).await,
            Err(reason) => unavailable(SourceName::MetadataLocks, reason),
        }
    };
    let status_text = async {
        match plan.innodb_status {
            Some(c) => Some(collect(pool, caps, c, l, |r| r.text("status")).await),
            None => None,
        }
    };
    let (cache, row_waits, locks, metadata, status_text) = if sequential {
        (
            cache.await,
            row_waits.await,
            locks.await,
            metadata.await,
            status_text.await,
        )
    } else if innodb_is {
        tokio::join!(cache, row_waits, locks, metadata, status_text)
    } else {
        // MySQL 8's lock-wait statement joins INNODB_TRX too: run before the proven read,
        // it would refresh the cache and the proven read would then find it unrefreshed.
        let cache = cache.await;
        let (row_waits, locks, metadata, status_text) =
            tokio::join!(row_waits, locks, metadata, status_text);
        (cache, row_waits, locks, metadata, status_text)
    };
    Round {
        restraint,
        sessions,
        cache,
        row_waits,
        locks,
        metadata,
        status_text,
    }
}

/// Every source, concurrently or one by one.
async fn collect_all(
    pool: &Pool,
    caps: &Capabilities,
    options: CollectOptions,
    sequential: bool,
) -> (LiveState, RoundOutcome) {
    let plan = plan(caps, &options);
    let innodb_is = plan.innodb_is;
    let round = run_plan(pool, caps, plan, &options, sequential).await;
    // Every connection this server's pool opened, also those whose statement failed.
    assemble(caps, &options, innodb_is, round, own_connection_ids(pool))
}

/// The round's rows as one state: waits joined, locks summarised, lockdiag's own
/// connections named, every source's status said.
fn assemble(
    caps: &Capabilities,
    options: &CollectOptions,
    innodb_is: bool,
    round: Round,
    pool_connections: Vec<u64>,
) -> (LiveState, RoundOutcome) {
    let Round {
        restraint,
        mut sessions,
        cache,
        row_waits,
        locks,
        metadata,
        status_text,
    } = round;
    let CacheSources {
        transactions,
        lock_waits: cache_waits,
        locks: cache_locks,
        check: cache,
    } = cache;
    let (mut row_waits, locks) = match (cache_waits, row_waits) {
        (Some(waits), _) => (waits, cache_locks),
        (None, Some(waits)) => (waits, locks),
        // Planned with a cache that could not be read (no INNODB_TRX): said there.
        (None, None) => (
            unavailable(
                SourceName::LockWaits,
                "read with INNODB_TRX, which could not be read".into(),
            ),
            locks,
        ),
    };
    let refused_slot = sessions.refused_slot
        || transactions.refused_slot
        || row_waits.refused_slot
        || locks.as_ref().is_some_and(|l| l.refused_slot)
        || metadata.refused_slot
        || status_text.as_ref().is_some_and(|s| s.refused_slot);

    let mut state = LiveState {
        server: caps.server.clone(),
        ..LiveState::default()
    };
    let mut own_ids: Vec<u64> = caps.server.own_connection_id.into_iter().collect();
    let mut sources = Vec::new();

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

    let stale_cache = cache.fresh == Some(false);
    // What the uncached counter says is all that is known of the waits then.
    let waits_counted = cache.counters.as_ref().and_then(|c| c.row_lock_waits);
    if let (true, Some(counted), Some(reason)) =
        (stale_cache, waits_counted, row_waits.status.reason.as_mut())
    {
        reason.push_str(&format!(
            "; InnoDB's own counter (uncached) says {counted} row-lock wait(s) are in progress"
        ));
    }
    // Read around the listing when it was read (the fewer waits of two readings), else first.
    state.innodb_counters = cache.counters.or_else(|| restraint.counters.clone());
    let raw_locks: &[Record] = locks.as_ref().map_or(&[], |l| &l.raw);
    own_ids.extend(row_waits.connection_id.map(u64::from));
    state.row_waits = if innodb_is {
        derive_innodb_lock_waits(raw_locks, &state.transactions)
    } else {
        row_waits.rows
    };
    sources.push(row_waits.status);

    if let Some(locks) = &locks {
        own_ids.extend(locks.connection_id.map(u64::from));
    }
    // Without a limit the locks were fetched only to join the waits: their status is that of the waits.
    if let (Some(locks), Some(limit)) = (locks, options.locks_limit) {
        if innodb_is {
            let (summaries, omitted) =
                summarize_innodb_locks(&locks.raw, &state.transactions, limit);
            state.locks = summaries;
            state.locks_omitted = omitted;
        } else {
            let total: u64 = locks
                .raw
                .first()
                .and_then(|r| r.num("total_locks"))
                .unwrap_or(0);
            let fetched: u64 = locks.rows.iter().map(|l| l.count).sum();
            state.locks_omitted = total.saturating_sub(fetched);
            state.locks = locks.rows;
        }
        sources.push(locks.status);
    }

    own_ids.extend(metadata.connection_id.map(u64::from));
    sources.push(metadata.status);
    state.metadata_locks = metadata.rows;

    if let Some(status_text) = status_text {
        own_ids.extend(status_text.connection_id.map(u64::from));
        sources.push(status_text.status);
        state.innodb_status = status_text.rows.into_iter().next();
    }
    if innodb_is && !stale_cache {
        if let Some(reason) = undercount(&state) {
            if let Some(waits) = sources
                .iter_mut()
                .find(|s| s.source == SourceName::LockWaits)
            {
                if waits.status == SourceState::Ok {
                    waits.status = SourceState::Partial;
                    waits.reason = Some(reason);
                }
            }
        }
    }
    state.sources = sources;
    own_ids.extend(pool_connections);
    own_ids.sort_unstable();
    own_ids.dedup();
    state.lockdiag_thread_ids = own_ids;
    let outcome = RoundOutcome {
        refused_slot,
        stale_cache,
        restraint,
    };
    (state, outcome)
}

/// When InnoDB counts more row-lock waits in progress than its transaction list
/// shows waiting, the list is incomplete: InnoDB caps the cache behind
/// `INNODB_TRX`/`INNODB_LOCKS`/`INNODB_LOCK_WAITS` at 16 MB and truncates it
/// silently (only the server's error log says so). The counter is the fewer of
/// two readings around the list, so a wait that began or ended meanwhile does
/// not count against it.
fn undercount(state: &LiveState) -> Option<String> {
    let counted = state.innodb_counters.as_ref()?.row_lock_waits?;
    let listed = state
        .transactions
        .iter()
        .filter(|t| t.state == crate::model::TrxState::LockWait)
        .count() as u64;
    (listed < counted).then(|| {
        format!(
            "incomplete: InnoDB counts {counted} row-lock waits in progress (INNODB_METRICS lock_row_lock_current_waits) but INNODB_TRX lists {listed} waiting: the list was cut (InnoDB's 16 MB limit for its INNODB_TRX/INNODB_LOCKS/INNODB_LOCK_WAITS cache); counts are lower bounds"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(pairs: &[(&str, Option<&str>)]) -> Record {
        Record::from_pairs(pairs)
    }

    /// Both MySQL 8 lock-wait statements (with and without PROCESS) return the same columns.
    #[test]
    fn mysql8_lock_wait_statements_agree_on_columns() {
        let aliases = |sql: &str| -> Vec<String> {
            sql.split(" AS ")
                .skip(1)
                .map(|rest| {
                    rest.chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect()
                })
                .collect()
        };
        let with = aliases(include_str!("../../queries/lock_waits_mysql8.sql"));
        let without = aliases(include_str!(
            "../../queries/lock_waits_mysql8_no_process.sql"
        ));
        assert_eq!(with, without);
        assert!(
            with.contains(&"wait_secs".to_string()) && with.len() >= 13,
            "{with:?}"
        );
        assert!(
            !include_str!("../../queries/lock_waits_mysql8_no_process.sql")
                .contains("INNODB_TRX trx")
        );
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
        assert_eq!(wait.blocking_lock_status, Some(LockStatus::Granted));
    }

    fn trx(id: &str, thread: u64, requested: Option<&str>) -> Transaction {
        Transaction {
            trx_id: id.into(),
            thread_id: thread,
            requested_lock_id: requested.map(str::to_string),
            wait_secs: Some(3),
            ..Transaction::default()
        }
    }

    fn lock(id: &str, mode: &str) -> Record {
        record(&[
            ("lock_id", Some(id)),
            ("lock_trx_id", Some(id.split(':').next().unwrap())),
            ("lock_mode", Some(mode)),
            ("lock_type", Some("RECORD")),
            ("lock_table", Some("`shop`.`payments`")),
            ("lock_index", Some("PRIMARY")),
            ("lock_data", Some("2993")),
        ])
    }

    fn pairs(waits: &[LockWait]) -> Vec<(u64, u64, &str)> {
        let mut pairs: Vec<_> = waits
            .iter()
            .map(|w| {
                (
                    w.waiting_thread_id,
                    w.blocking_thread_id,
                    w.blocking_lock_status
                        .as_ref()
                        .map_or("?", LockStatus::as_str),
                )
            })
            .collect();
        pairs.sort();
        pairs
    }

    /// Raw 5.7/MariaDB rows: 11 holds row 1; 12 and 13 queue on it. INNODB_LOCK_WAITS
    /// would hold 3 pair rows (13 behind 12 too); the derived waits blame the holder only.
    #[test]
    fn innodb_is_waits_are_derived_from_the_locks() {
        let locks = vec![
            lock("101:5:3:2", "X"),
            lock("102:5:3:2", "X"),
            lock("103:5:3:2", "X"),
        ];
        let mut late = trx("103", 13, Some("103:5:3:2"));
        late.wait_secs = Some(1);
        let transactions = vec![
            trx("101", 11, None),
            trx("102", 12, Some("102:5:3:2")),
            late,
        ];
        let waits = derive_innodb_lock_waits(&locks, &transactions);
        assert_eq!(
            pairs(&waits),
            vec![(12, 11, "GRANTED"), (13, 11, "GRANTED")]
        );
        assert_eq!(
            (
                waits[0].schema.as_deref(),
                waits[0].table.as_deref(),
                waits[0].lock_data.as_deref()
            ),
            (Some("shop"), Some("payments"), Some("2993"))
        );
        let (summary, omitted) = summarize_innodb_locks(&locks, &transactions, 2);
        assert_eq!(summary.len(), 2);
        assert_eq!(omitted, 1);
        assert!(summary
            .iter()
            .any(|s| s.lock_status == LockStatus::Waiting && s.thread_id.is_some()));
    }

    /// Shared holders, an S request queued behind an X request (blamed on the queue),
    /// an insert intention behind a gap lock, a record request that neither a gap lock
    /// nor a queued insert intention blocks, and a lock whose transaction ended between
    /// the reads: no edge is invented for those two.
    #[test]
    fn innodb_is_derivation_follows_lock_modes() {
        let locks = vec![
            // Row 2: 21 and 22 hold S; 23 wants X (both block it); 24 wants S behind 23.
            lock("201:5:3:2", "S"),
            lock("202:5:3:2", "S"),
            lock("203:5:3:2", "X"),
            lock("204:5:3:2", "S"),
            // Row 3: 25 holds a gap lock; 26 inserts into the gap; 27's record request
            // conflicts with neither (InnoDB: a record lock never waits for a gap-type lock).
            lock("205:5:3:3", "X,GAP"),
            lock("206:5:3:3", "X,GAP"),
            lock("207:5:3:3", "X"),
            lock("299:5:3:4", "X"),
            lock("298:5:3:4", "X"),
        ];
        let queued = |id: &str, thread, lock: &str, secs| {
            let mut t = trx(id, thread, Some(lock));
            t.wait_secs = Some(secs);
            t
        };
        let transactions = vec![
            trx("201", 21, None),
            trx("202", 22, None),
            queued("203", 23, "203:5:3:2", 9),
            queued("204", 24, "204:5:3:2", 4),
            trx("205", 25, None),
            queued("206", 26, "206:5:3:3", 5),
            queued("207", 27, "207:5:3:3", 5),
            queued("298", 28, "298:5:3:4", 5),
        ];
        let waits = derive_innodb_lock_waits(&locks, &transactions);
        let (granted, waiting) = ("GRANTED", "WAITING");
        assert_eq!(
            pairs(&waits),
            vec![
                (23, 21, granted),
                (23, 22, granted),
                (24, 23, waiting),
                (26, 25, granted),
            ]
        );
    }

    /// 2,000 sessions on one row (the pile-up of issue 25): 2,000 edges, each to the
    /// holder, from 2,001 lock rows — where INNODB_LOCK_WAITS has 2,001,000 pair rows.
    #[test]
    fn a_two_thousand_session_queue_is_linear() {
        let mut locks = vec![lock("1000:5:3:2", "X")];
        let mut transactions = vec![trx("1000", 1, None)];
        for i in 1..=2000u64 {
            let id = (1000 + i).to_string();
            let lock_id = format!("{id}:5:3:2");
            locks.push(lock(&lock_id, "X"));
            let mut t = trx(&id, 1 + i, Some(&lock_id));
            t.wait_secs = Some(2000 - i);
            transactions.push(t);
        }
        let waits = derive_innodb_lock_waits(&locks, &transactions);
        assert_eq!(waits.len(), 2000);
        assert!(waits
            .iter()
            .all(|w| w.blocking_thread_id == 1
                && w.blocking_lock_status == Some(LockStatus::Granted)));
    }

    /// A wait row naming its table as one quoted name (5.7/MariaDB's `lock_table`) splits it.
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
