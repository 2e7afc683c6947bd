//! What a running server says about its sessions, transactions and locks.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};

/// A closed set of words a server prints (a processlist command, a lock
/// status), parsed once at the edge. Each enum has an `Other` arm for what a
/// future server sends, and serialises back to the server's spelling, so the
/// JSON keeps the words the server used.
macro_rules! server_words {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(from = "String", into = "String")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A word this version of lockdiag does not know, kept as the server sent it.
            Other(String),
        }

        impl $name {
            /// The server's spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)+
                    Self::Other(text) => text,
                }
            }
        }

        impl From<String> for $name {
            /// Case-insensitive, as servers differ in case between tables; an
            /// unknown word keeps the string it came in.
            fn from(text: String) -> Self {
                $(if text.eq_ignore_ascii_case($text) {
                    return Self::$variant;
                })+
                Self::Other(text)
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                Self::from(text.to_string())
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                match value {
                    $name::Other(text) => text,
                    known => known.as_str().to_string(),
                }
            }
        }

        // A string: the words this build knows are its examples, not a closed set
        // (a future server's word is kept as sent).
        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                schemars::json_schema!({
                    "type": "string",
                    "description": "As the server spells it. The examples are the words this version knows; another word is kept as the server sent it.",
                    "examples": [$($text),+],
                })
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::Other(String::new())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

server_words! {
    /// The processlist `COMMAND` column.
    SessionCommand {
        /// Idle: waiting for the client's next statement.
        Sleep => "Sleep",
        Query => "Query",
        Execute => "Execute",
        Connect => "Connect",
        Killed => "Killed",
        /// A server background thread (event scheduler, InnoDB purge on some versions).
        Daemon => "Daemon",
        /// A replica's binlog reader on the source.
        BinlogDump => "Binlog Dump",
        BinlogDumpGtid => "Binlog Dump GTID",
        SlaveIo => "Slave_IO",
        SlaveSql => "Slave_SQL",
        SlaveWorker => "Slave_worker",
    }
}

server_words! {
    /// `INNODB_TRX.trx_state`.
    TrxState {
        Running => "RUNNING",
        LockWait => "LOCK WAIT",
        RollingBack => "ROLLING BACK",
        Committing => "COMMITTING",
    }
}

server_words! {
    /// A row lock's status (`LOCK_STATUS` of data_locks; INNODB_LOCKS rows are all
    /// one or the other), and whether a blocker holds its lock or only queued it.
    LockStatus {
        Granted => "GRANTED",
        Waiting => "WAITING",
    }
}

server_words! {
    /// `metadata_locks.LOCK_STATUS`. MySQL also shows `VICTIM`, `TIMEOUT`,
    /// `KILLED`, `PRE_ACQUIRE_NOTIFY`, `POST_RELEASE_NOTIFY` for moments.
    MdlStatus {
        Granted => "GRANTED",
        Pending => "PENDING",
    }
}

server_words! {
    /// `metadata_locks.LOCK_DURATION`.
    MdlDuration {
        Statement => "STATEMENT",
        /// Held until the transaction ends: an open transaction even when InnoDB lists none.
        Transaction => "TRANSACTION",
        /// LOCK TABLES, FLUSH TABLES WITH READ LOCK, GET_LOCK(): until released.
        Explicit => "EXPLICIT",
    }
}

/// Which server family answered; decides which tables hold the lock data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Flavour {
    #[default]
    Mysql,
    Mariadb,
    Percona,
    /// Amazon Aurora MySQL (reported through `aurora_version()`).
    Aurora,
}

impl Flavour {
    pub fn display_name(self) -> &'static str {
        match self {
            Flavour::Mysql => "MySQL",
            Flavour::Mariadb => "MariaDB",
            Flavour::Percona => "Percona Server",
            Flavour::Aurora => "Aurora MySQL",
        }
    }
}

/// The server identity line.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ServerInfo {
    pub flavour: Flavour,
    /// `VERSION()` as printed, e.g. `10.11.19-MariaDB-0+deb12u1`.
    pub version: String,
    /// Parsed `major.minor.patch`.
    pub version_number: (u32, u32, u32),
    pub version_comment: Option<String>,
    pub hostname: Option<String>,
    pub port: Option<u64>,
    pub server_id: Option<u64>,
    pub uptime_secs: Option<u64>,
    /// The server's time zone as seconds east of UTC (`NOW()` − `UTC_TIMESTAMP()`):
    /// how to read the zone-less timestamps of its deadlock prints.
    #[serde(default)]
    pub utc_offset_secs: Option<i64>,
    pub performance_schema: bool,
    /// Whether `wait/lock/metadata/sql/mdl` is instrumented (metadata locks visible).
    pub mdl_instrument: bool,
    /// `innodb_deadlock_detect` (absent before MySQL 5.7.15 / MariaDB 10.2: on).
    pub deadlock_detect: Option<bool>,
    /// The account lockdiag is connected as (`CURRENT_USER()`).
    pub current_user: Option<String>,
    /// lockdiag's own connection id (never a kill target, never a blocker to report).
    pub own_connection_id: Option<u64>,
    /// `@@read_only`; `null` when it could not be read.
    #[serde(default)]
    pub read_only: Option<bool>,
    /// `@@GLOBAL.innodb_lock_wait_timeout`, seconds: when a row-lock wait fails with 1205
    /// (a session may have set its own). `null` when not read (and in snapshots before 0.3).
    #[serde(default)]
    pub innodb_lock_wait_timeout_secs: Option<u64>,
}

/// What a collector reads: each a part of the picture that can be missing on its own.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SourceName {
    Processlist,
    Transactions,
    LockWaits,
    Locks,
    MetadataLocks,
    InnodbStatus,
    /// `performance_schema.events_statements_history` of the sessions that block others.
    StatementHistory,
}

impl SourceName {
    /// The name in JSON, messages and the Prometheus `source` label.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceName::Processlist => "processlist",
            SourceName::Transactions => "transactions",
            SourceName::LockWaits => "lock_waits",
            SourceName::Locks => "locks",
            SourceName::MetadataLocks => "metadata_locks",
            SourceName::InnodbStatus => "innodb_status",
            SourceName::StatementHistory => "statement_history",
        }
    }
}

impl std::fmt::Display for SourceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a collector could read its source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SourceStatus {
    /// `processlist`, `transactions`, `lock_waits`, `locks`, `metadata_locks`, `innodb_status`.
    pub source: SourceName,
    /// The table or statement read, e.g. `performance_schema.data_lock_waits`.
    pub from: Option<String>,
    /// `ok`, `partial` or `unavailable`.
    pub status: SourceState,
    /// Why it is not `ok`, with the fix where there is one.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceState {
    Ok,
    /// Read, but some rows are hidden (e.g. no PROCESS privilege: own sessions only).
    Partial,
    Unavailable,
}

/// A processlist row.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Session {
    /// The processlist id: the number `KILL` takes.
    pub thread_id: u64,
    pub user: String,
    pub host: String,
    pub db: Option<String>,
    /// `Query`, `Sleep`, `Connect`, `Binlog Dump`, `Daemon`, …
    pub command: SessionCommand,
    /// Seconds in the current command (for `Sleep`: idle seconds).
    pub time_secs: u64,
    pub state: Option<String>,
    pub info: Option<String>,
    /// MariaDB's `QUERY_ID`: the id of the session's current (or last) statement,
    /// which `KILL QUERY ID` takes. `null` on MySQL.
    #[serde(default)]
    pub query_id: Option<u64>,
}

/// An open InnoDB transaction (`information_schema.INNODB_TRX`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Transaction {
    /// `0` on MariaDB for a read-only transaction (it gets a real id only when it writes).
    pub trx_id: String,
    /// The processlist id of the session that owns it.
    pub thread_id: u64,
    /// `trx_started` as the server prints it (`YYYY-MM-DD HH:MM:SS`, server time):
    /// with the session, what tells this transaction from a later one; `null` when not read.
    #[serde(default)]
    pub started: Option<String>,
    /// `RUNNING`, `LOCK WAIT`, `ROLLING BACK`, `COMMITTING`.
    pub state: TrxState,
    pub age_secs: u64,
    /// Seconds waiting for a lock, when in `LOCK WAIT`.
    pub wait_secs: Option<u64>,
    pub rows_locked: u64,
    pub rows_modified: u64,
    pub tables_locked: u64,
    pub lock_structs: u64,
    pub isolation_level: Option<String>,
    pub operation_state: Option<String>,
    pub query: Option<String>,
    /// The lock it waits for (`INNODB_TRX.trx_requested_lock_id`), when in `LOCK WAIT`.
    pub requested_lock_id: Option<String>,
}

/// What kind of lock a wait is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WaitKind {
    /// An InnoDB row (or InnoDB table) lock.
    Row,
    /// A server metadata lock (MDL): DDL, LOCK TABLES, FLUSH, …
    Metadata,
}

impl WaitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WaitKind::Row => "row",
            WaitKind::Metadata => "metadata",
        }
    }
}

/// One edge of the wait-for graph: a session waiting for a lock another holds
/// (or, for metadata locks, has queued ahead of it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LockWait {
    pub waiting_thread_id: u64,
    pub blocking_thread_id: u64,
    pub kind: WaitKind,
    pub waiting_trx_id: Option<String>,
    pub blocking_trx_id: Option<String>,
    pub schema: Option<String>,
    pub table: Option<String>,
    pub index: Option<String>,
    /// The requested mode: `X`, `S`, `X,GAP`, `X,REC_NOT_GAP`, `X,INSERT_INTENTION`
    /// for rows; `EXCLUSIVE`, `SHARED_READ`, … for metadata locks.
    pub lock_mode: String,
    /// The blocker's mode, where the source says it.
    pub blocking_lock_mode: Option<String>,
    /// `GRANTED` when the blocker holds the lock; `WAITING` when the blocker's own
    /// request is merely queued ahead (InnoDB and MDL both make later requests wait
    /// behind earlier incompatible ones). `None` when the source does not say.
    pub blocking_lock_status: Option<LockStatus>,
    /// The locked row's key as the server prints it (`lock_data`).
    pub lock_data: Option<String>,
    pub wait_secs: u64,
}

/// Held or waited locks of one transaction on one table/index/mode, counted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LockSummary {
    pub thread_id: Option<u64>,
    pub trx_id: String,
    pub schema: Option<String>,
    pub table: Option<String>,
    pub index: Option<String>,
    /// `RECORD` or `TABLE`.
    pub lock_type: String,
    pub lock_mode: String,
    /// `GRANTED` or `WAITING`.
    pub lock_status: LockStatus,
    pub count: u64,
}

/// A `performance_schema.metadata_locks` row, mapped to a processlist id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MetadataLock {
    pub thread_id: u64,
    /// `TABLE`, `SCHEMA`, `GLOBAL`, `COMMIT`, `BACKUP`, …
    pub object_type: String,
    pub schema: Option<String>,
    pub name: Option<String>,
    /// `SHARED_READ`, `EXCLUSIVE`, `SHARED_UPGRADABLE`, …
    pub lock_type: String,
    /// `GRANTED` or `PENDING`.
    pub lock_status: MdlStatus,
    pub duration: Option<MdlDuration>,
}

/// Everything one collection read from the server.
///
/// In JSON (a snapshot's body) a list whose source could not be read is `null` —
/// unknown, which `[]` ("none") would misstate; `sources[]` says why. Read back,
/// `null` is an empty list with that source unavailable, as collected.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
pub struct LiveState {
    pub server: ServerInfo,
    pub sources: Vec<SourceStatus>,
    #[serde(default, deserialize_with = "null_as_empty")]
    #[schemars(with = "Option<Vec<Session>>")]
    pub sessions: Vec<Session>,
    #[serde(default, deserialize_with = "null_as_empty")]
    #[schemars(with = "Option<Vec<Transaction>>")]
    pub transactions: Vec<Transaction>,
    /// Row-lock waits straight from the server's lock-wait table.
    #[serde(default, deserialize_with = "null_as_empty")]
    #[schemars(with = "Option<Vec<LockWait>>")]
    pub row_waits: Vec<LockWait>,
    #[serde(default, deserialize_with = "null_as_empty")]
    #[schemars(with = "Option<Vec<LockSummary>>")]
    pub locks: Vec<LockSummary>,
    /// Lock rows the server had but lockdiag did not fetch (bounded listing).
    pub locks_omitted: u64,
    #[serde(default, deserialize_with = "null_as_empty")]
    #[schemars(with = "Option<Vec<MetadataLock>>")]
    pub metadata_locks: Vec<MetadataLock>,
    /// `SHOW ENGINE INNODB STATUS` text, when readable.
    pub innodb_status: Option<String>,
    /// Processlist ids of lockdiag's own connections: never blockers, never kill targets.
    pub lockdiag_thread_ids: Vec<u64>,
    /// InnoDB's own counters, read with the transactions (not cached like them); absent
    /// when they could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub innodb_counters: Option<InnodbCounters>,
    /// The recent statements of the sessions that block others (processlist id →
    /// statements, oldest first), read only when someone waits; empty when not read
    /// (`sources[]` says why).
    #[serde(default)]
    pub statement_history: std::collections::BTreeMap<u64, Vec<StatementEvent>>,
}

/// [`LiveState`] as written: each list `None` (JSON `null`) when its source was not read.
#[derive(Serialize)]
struct LiveStateOut<'a> {
    server: &'a ServerInfo,
    sources: &'a [SourceStatus],
    sessions: Option<&'a [Session]>,
    transactions: Option<&'a [Transaction]>,
    row_waits: Option<&'a [LockWait]>,
    locks: Option<&'a [LockSummary]>,
    locks_omitted: u64,
    metadata_locks: Option<&'a [MetadataLock]>,
    innodb_status: &'a Option<String>,
    lockdiag_thread_ids: &'a [u64],
    #[serde(skip_serializing_if = "Option::is_none")]
    innodb_counters: &'a Option<InnodbCounters>,
    statement_history: &'a std::collections::BTreeMap<u64, Vec<StatementEvent>>,
}

impl Serialize for LiveState {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let read = |source| self.was_read(source);
        LiveStateOut {
            server: &self.server,
            sources: &self.sources,
            sessions: read(SourceName::Processlist).then_some(&self.sessions),
            transactions: read(SourceName::Transactions).then_some(&self.transactions),
            row_waits: read(SourceName::LockWaits).then_some(&self.row_waits),
            locks: read(SourceName::Locks).then_some(&self.locks),
            locks_omitted: self.locks_omitted,
            metadata_locks: read(SourceName::MetadataLocks).then_some(&self.metadata_locks),
            innodb_status: &self.innodb_status,
            lockdiag_thread_ids: &self.lockdiag_thread_ids,
            innodb_counters: &self.innodb_counters,
            statement_history: &self.statement_history,
        }
        .serialize(serializer)
    }
}

/// A list that may be written as `null` (unknown) reads back empty.
fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// One statement a session ran, from `performance_schema.events_statements_history`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StatementEvent {
    /// The statement as the server shows it (bounded by `performance_schema_max_sql_text_length`).
    pub sql: String,
    /// Seconds since it started, on the server's clock; `null` when the server's timer could
    /// not be read (lockdiag's own statement not instrumented).
    pub started_secs_ago: Option<u64>,
    pub rows_affected: Option<u64>,
    pub rows_examined: Option<u64>,
    /// `ERROR 1205: Lock wait timeout exceeded …`; `null` when it succeeded.
    pub error: Option<String>,
}

/// InnoDB's counters from `INNODB_METRICS`, computed at each read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct InnodbCounters {
    /// Deadlocks since the server started (`lock_deadlocks`).
    pub deadlocks: Option<u64>,
    /// Row-lock waits in progress (`lock_row_lock_current_waits`): the fewer of the
    /// readings just before and just after the transactions were listed.
    pub row_lock_waits: Option<u64>,
}

impl LiveState {
    /// `source: reason` for each of `sources` that could not be read; empty when all were.
    pub fn unread(&self, sources: &[SourceName]) -> Vec<String> {
        unread_sources(&self.sources, sources)
    }

    /// Whether `source` was read (fully or in part).
    pub fn was_read(&self, source: SourceName) -> bool {
        !self
            .sources
            .iter()
            .any(|s| s.source == source && s.status == SourceState::Unavailable)
    }
}

/// The sources without which "who waits for whom" cannot be said: with either
/// unread, the wait picture is unknown, never empty.
pub const WAIT_SOURCES: [SourceName; 2] = [SourceName::LockWaits, SourceName::Processlist];

/// `source: reason` for each of `names` among `sources` that could not be read.
pub fn unread_sources(sources: &[SourceStatus], names: &[SourceName]) -> Vec<String> {
    sources
        .iter()
        .filter(|s| names.contains(&s.source) && s.status == SourceState::Unavailable)
        .map(|s| {
            format!(
                "{}: {}",
                s.source,
                s.reason.as_deref().unwrap_or("unavailable")
            )
        })
        .collect()
}

/// One probe's figures (`queries/probe.sql`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Probe {
    /// Sessions in an InnoDB lock wait, and the longest wait.
    pub row_waiting: u64,
    pub longest_row_wait_secs: u64,
    pub oldest_trx_secs: u64,
    /// Sessions waiting for a metadata lock, and the longest wait.
    pub mdl_waiting: u64,
    pub longest_mdl_wait_secs: u64,
    /// InnoDB's deadlock counter (`INNODB_METRICS.lock_deadlocks`), when readable.
    pub deadlocks: Option<u64>,
    /// InnoDB counted more row-lock waits than `--max-row-waits` (this limit): the waits
    /// were counted, not read from its transaction cache, so the longest wait and the
    /// oldest transaction are unknown (0 here).
    pub waits_not_listed_above: Option<u64>,
}
