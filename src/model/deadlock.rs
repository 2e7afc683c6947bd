//! A deadlock as InnoDB prints it: transactions, the locks they hold and the
//! lock each waits for, and the victim.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One deadlock read from `SHOW ENGINE INNODB STATUS` or an error log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Deadlock {
    /// When the server detected it, as `YYYY-MM-DD HH:MM:SS` (server time),
    /// or with a `T…Z` form when the log printed UTC.
    pub timestamp: Option<String>,
    /// InnoDB gave up searching the wait-for graph (`TOO DEEP OR LONG SEARCH…`)
    /// and rolled back the one transaction it printed; there is no cycle to draw.
    pub too_deep: bool,
    /// The number `N` of `WE ROLL BACK TRANSACTION (N)`.
    pub victim: Option<u32>,
    /// The text ended before the deadlock did (no victim line): what is here
    /// was read, the rest is missing.
    pub truncated: bool,
    /// The text began inside the print (an excerpt without its `deadlock detected`
    /// line): its opening lines are missing. Present in JSON only when true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub start_missing: bool,
    pub transactions: Vec<PrintedTransaction>,
    /// Locks printed as conflicting (MariaDB `CONFLICTING WITH`) whose trx id is
    /// none of the deadlock's transactions: a third party also in the way.
    pub other_locks: Vec<Lock>,
    /// Lines inside the section that no rule recognised, kept verbatim.
    pub unparsed_lines: Vec<String>,
}

/// What a deadlock read from inside its print says as its first unread line.
pub const START_MISSING: &str =
    "(the print's start is missing: the text begins inside it, after its `deadlock detected` line)";

impl Deadlock {
    /// The first line of the print that no rule recognised, if any ([`START_MISSING`]
    /// when its start is not in the text); a deadlock without a single transaction
    /// read counts as unread too (`Some("")`).
    pub fn first_unread_line(&self) -> Option<&str> {
        if self.start_missing {
            return Some(START_MISSING);
        }
        if let Some(line) = self.unparsed_lines.first() {
            return Some(line);
        }
        if let Some(line) = self
            .transactions
            .iter()
            .find_map(|t| t.unparsed_lines.first())
        {
            return Some(line);
        }
        self.transactions.is_empty().then_some("")
    }

    /// Only the print's header lines were there: no transaction's id, thread or
    /// locks. MySQL 8's JSON error log and `performance_schema.error_log` carry
    /// deadlocks this way (InnoDB writes the transactions to the log file only).
    pub fn header_only(&self) -> bool {
        self.transactions.iter().all(|t| {
            t.trx_id.is_none()
                && t.thread_id.is_none()
                && t.holds.is_empty()
                && t.waits_for.is_none()
        })
    }
}

/// A transaction as InnoDB prints it: one `*** (N) TRANSACTION:` of a deadlock,
/// or one `---TRANSACTION` entry of the TRANSACTIONS section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PrintedTransaction {
    /// `N` in `*** (N) TRANSACTION:`; 1 for the unnumbered TOO DEEP form.
    pub number: u32,
    /// As printed by the server: decimal (5.6+), hex (5.1/5.5); the two-part
    /// form of 5.0 (`0 3793488`) is joined into one decimal number.
    pub trx_id: Option<String>,
    pub active_secs: Option<u64>,
    /// `ACTIVE (PREPARED)`: an XA/2PC transaction in its prepared state.
    pub prepared: bool,
    /// What InnoDB was doing: `starting index read`, `inserting`, …
    pub operation_state: Option<String>,
    pub tables_in_use: Option<u64>,
    pub tables_locked: Option<u64>,
    pub lock_wait: bool,
    pub lock_structs: Option<u64>,
    pub heap_size: Option<u64>,
    pub row_locks: Option<u64>,
    pub undo_log_entries: Option<u64>,
    /// The processlist id (`MySQL thread id` / `MariaDB thread id`).
    pub thread_id: Option<u64>,
    pub os_thread_handle: Option<String>,
    pub query_id: Option<u64>,
    pub host: Option<String>,
    pub ip: Option<String>,
    pub user: Option<String>,
    /// The processlist state (`Updating`, `update`, `Sending data`, …).
    pub thread_state: Option<String>,
    /// The statement running when the deadlock was found (possibly multi-line,
    /// possibly cut by the server).
    pub query: Option<String>,
    pub rolled_back: bool,
    /// Locks this transaction holds. Before MySQL 8.0.18 the first
    /// transaction's held locks are not printed: see `holds_printed`.
    pub holds: Vec<Lock>,
    /// Whether the text printed this transaction's held locks at all
    /// (a `HOLDS THE LOCK(S)` section, or MariaDB `CONFLICTING WITH` locks
    /// carrying its trx id). `false` means "unknown", not "holds nothing".
    pub holds_printed: bool,
    pub waits_for: Option<Lock>,
    /// Lines of this transaction that no rule recognised.
    pub unparsed_lines: Vec<String>,
    /// Read live, right after the deadlock (`deadlock` on a server, `record`): the last
    /// statements its session ran (`performance_schema.events_statements_history`), which
    /// show the earlier statement that took the lock it held — the print shows only the
    /// last. `None` from a print alone, or when the history could not be read.
    #[serde(default)]
    pub statement_history: Option<Vec<super::StatementEvent>>,
}

/// A row (record) lock or a table lock as printed in a deadlock.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Lock {
    pub lock_type: LockType,
    pub space_id: Option<u64>,
    pub page_no: Option<u64>,
    pub n_bits: Option<u64>,
    pub schema: Option<String>,
    pub table: String,
    pub partition: Option<String>,
    /// Index name for record locks (`PRIMARY`, `GEN_CLUST_INDEX`, …).
    pub index: Option<String>,
    /// The trx id printed on the lock line: whose lock it is.
    pub trx_id: Option<String>,
    pub mode: LockMode,
    pub gap_mode: GapMode,
    /// The lock is requested, not granted.
    pub waiting: bool,
    pub records: Vec<LockedRecord>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LockType {
    #[default]
    Record,
    Table,
}

/// InnoDB lock modes. `Other` keeps a mode this build does not know.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LockMode {
    S,
    #[default]
    X,
    IS,
    IX,
    #[serde(rename = "AUTO-INC")]
    AutoInc,
    #[serde(untagged)]
    Other(String),
}

/// A string: `S`, `X`, `IS`, `IX`, `AUTO-INC`, or the text as printed for a mode
/// this build does not know (the untagged `Other`), so the set is not closed.
impl JsonSchema for LockMode {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "LockMode".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "The lock mode as InnoDB prints it; a mode this version does not know is kept as printed.",
            "examples": ["S", "X", "IS", "IX", "AUTO-INC"],
        })
    }
}

/// Which part of the index a record lock covers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GapMode {
    /// Record and the gap before it (InnoDB's default "ordinary" lock).
    #[default]
    NextKey,
    /// `locks gap before rec`: the gap only.
    Gap,
    /// `locks rec but not gap`: the record only.
    RecNotGap,
    /// `insert intention`: an INSERT waiting to put a row into a gap.
    InsertIntention,
    /// Table locks have no gap flavour.
    NotApplicable,
}

/// One `Record lock, heap no N PHYSICAL RECORD` block.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LockedRecord {
    pub heap_no: u64,
    /// The `supremum` pseudo-record: the gap above the page's last record.
    pub supremum: bool,
    pub fields: Vec<RecordField>,
}

/// One field of a printed index record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RecordField {
    pub position: u32,
    /// Stored length; `None` for `SQL NULL`.
    pub len: Option<u64>,
    pub hex: Option<String>,
    /// The server cut the printed bytes (long values).
    pub cut: bool,
    /// What the bytes most likely mean, where the type can be inferred.
    pub value: Option<FieldValue>,
}

/// A decoded record field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum FieldValue {
    /// A signed integer column (InnoDB stores it big-endian with the sign bit flipped).
    Int(i64),
    /// Printable text.
    Text(String),
    /// InnoDB's hidden DB_TRX_ID column of a clustered index record; a decimal
    /// string in JSON, as every transaction id (a number above 2^53 loses digits).
    TrxId(
        #[serde(with = "id_text")]
        #[schemars(with = "String")]
        u64,
    ),
    /// InnoDB's hidden DB_ROLL_PTR column.
    RollPtr(String),
    /// The hidden DB_ROW_ID of a table without a primary key (GEN_CLUST_INDEX);
    /// a decimal string in JSON, as the transaction id.
    RowId(
        #[serde(with = "id_text")]
        #[schemars(with = "String")]
        u64,
    ),
    /// `NULL`.
    Null,
}

/// A 64-bit id written as a decimal string; read from a string or (documents of
/// `schema_version` 1) a number.
mod id_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(id: &u64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(id)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Text(String),
            Number(u64),
        }
        match Written::deserialize(deserializer)? {
            Written::Number(n) => Ok(n),
            Written::Text(text) => text.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// One index a deadlock's locks name, as the server's catalog defines it
/// (`information_schema.STATISTICS`). A print names indexes but does not say
/// whether they are unique, so this is read live, beside the print.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct IndexDefinition {
    /// The schema, table and index as the print names them.
    pub schema: String,
    pub table: String,
    pub index: String,
    /// A UNIQUE key or the PRIMARY key: InnoDB checks every INSERT against it.
    pub unique: bool,
    /// Its columns in index order; `(expression)` for a functional key part.
    pub columns: Vec<String>,
}

/// What lockdiag read from one `SHOW ENGINE INNODB STATUS` text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InnodbStatus {
    /// The `… INNODB MONITOR OUTPUT` timestamp.
    pub monitor_timestamp: Option<String>,
    /// Titles of the sections found, in order (`LATEST DETECTED DEADLOCK`, `TRANSACTIONS`, …).
    pub sections: Vec<String>,
    /// The LATEST DETECTED DEADLOCK section; `None` when the server has had none since it started.
    pub latest_deadlock: Option<Deadlock>,
    /// Entries of the TRANSACTIONS section (`---TRANSACTION …`).
    pub transactions: Vec<PrintedTransaction>,
    /// The TRANSACTIONS list was cut (`... truncated...`, or the text ended inside it).
    pub transactions_truncated: bool,
    /// The text ended before `END OF INNODB MONITOR OUTPUT` (InnoDB caps it at 1 MB; pastes get cut).
    pub truncated: bool,
}
