//! Recognises the single lines InnoDB prints about transactions and locks.
//!
//! Both the deadlock section and the TRANSACTIONS section are made of the
//! same line shapes; this module names each shape once and fills the model
//! from it. Every function takes one line and never fails: a line that does
//! not match is `LineKind::Other`.

use std::sync::LazyLock;

use regex::Regex;

use crate::model::{
    FieldValue, GapMode, Lock, LockMode, LockType, LockedRecord, PrintedTransaction, RecordField,
};

/// The shape of one line.
#[derive(Debug, PartialEq)]
pub enum LineKind {
    Blank,
    /// `*** (N) TRANSACTION:` or the unnumbered `*** TRANSACTION:`.
    TransactionHeader(Option<u32>),
    /// `*** (N) WAITING FOR THIS LOCK TO BE GRANTED:` (MariaDB: no number).
    WaitingHeader(Option<u32>),
    /// `*** (N) HOLDS THE LOCK(S):` (MySQL; for (1) only since 8.0.18).
    HoldsHeader(Option<u32>),
    /// `*** CONFLICTING WITH:` (MariaDB): locks of whatever trx id each line names.
    ConflictingHeader,
    /// `*** WE ROLL BACK TRANSACTION (N)`.
    RollBack(u32),
    /// `TOO DEEP OR LONG SEARCH IN THE LOCK TABLE WAITS-FOR GRAPH…`, with the
    /// timestamp that may stand before it on the same line.
    TooDeep(Option<String>),
    /// A bare timestamp line (`111212 22:52:42`, `2026-11-22 15:55:23 0x7f…`).
    Timestamp(String),
    /// `TRANSACTION 66, ACTIVE 1 sec starting index read` (also `---TRANSACTION …`).
    Transaction,
    /// `mysql tables in use 1, locked 1`.
    TablesInUse,
    /// `LOCK WAIT 4 lock struct(s), heap size 1128, …` or without `LOCK WAIT`.
    LockStructs,
    /// `MySQL thread id 6, OS thread handle …, query id 32 localhost root Updating`.
    Thread,
    /// `RECORD LOCKS space id …` or `TABLE LOCK table …`.
    LockHeader,
    /// `Record lock, heap no 4 PHYSICAL RECORD: n_fields 6; …`.
    RecordHeader,
    /// ` 0: len 8; hex 8000000000000bb1; asc …;;` (one or several fields).
    RecordFields,
    /// `------- TRX HAS BEEN WAITING 12 SEC FOR THIS LOCK TO BE GRANTED:` (TRANSACTIONS section).
    TrxHasBeenWaiting,
    /// `Trx read view will not see trx with id >= …` and other known noise.
    KnownNoise,
    Other,
}

macro_rules! re {
    ($name:ident, $pat:expr) => {
        static $name: LazyLock<Regex> = LazyLock::new(|| Regex::new($pat).expect("static regex"));
    };
}

re!(
    NUMBERED_HEADER,
    r"^\*\*\* (?:\((\d+)\) )?(TRANSACTION|WAITING FOR THIS LOCK TO BE GRANTED|HOLDS THE LOCK\(S\)):\s*$"
);
re!(ROLL_BACK, r"^\*\*\* WE ROLL BACK TRANSACTION \((\d+)\)");
re!(
    TIMESTAMP,
    r"^(?:(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?(?: +(?:0x[0-9a-fA-F]+|\d+))?|(\d{2})(\d{2})(\d{2}) +(\d{1,2}):(\d{2}):(\d{2}))\s*(.*)$"
);
re!(
    TRANSACTION,
    r"^(?:---)?TRANSACTION ([0-9A-Fa-f]+(?: \d+)?), (?:(ACTIVE)(?: \((PREPARED)\))? (\d+) sec|([a-z][a-z ]*[a-z]))(?:, process no \d+, OS thread id \d+)?,?\s*(.*)$"
);
re!(TABLES_IN_USE, r"^mysql tables in use (\d+), locked (\d+)");
re!(
    LOCK_STRUCTS,
    r"^(LOCK WAIT )?(\d+) lock struct\(s\), heap size (\d+)(?:, (\d+) row lock\(s\))?(?:, undo log entries (\d+))?"
);
re!(
    THREAD,
    r"^(?:MySQL|MariaDB) thread id (\d+), (?:OS thread handle (\S+), )?query id (\d+)\s*(.*)$"
);
re!(
    RECORD_LOCK,
    r"^RECORD LOCKS space id (\d+) page no (\d+) n bits (\d+) index (.+?) of table (.+?) trx id ([0-9A-Fa-f]+(?: \d+)?) lock[ _]mode (\S+)(.*)$"
);
re!(
    TABLE_LOCK,
    r"^TABLE LOCK table (.+?) trx id ([0-9A-Fa-f]+(?: \d+)?) lock[ _]mode (\S+)(.*)$"
);
re!(RECORD_HEADER, r"^Record lock, heap no (\d+)");
re!(FIELD, r"(\d+): (?:len (\d+); hex ([0-9a-fA-F]*)|SQL NULL)");
re!(FIELD_START, r"^\s*\d+: (?:len \d+; hex|SQL NULL)");
re!(PARTITION_COMMENT, r"\s*/\* Partition `?([^`*]+?)`? \*/");
re!(IPV4, r"^\d{1,3}(?:\.\d{1,3}){3}$");

/// Names the shape of `line` (already stripped of any error-log prefix).
pub fn classify(line: &str) -> LineKind {
    let trimmed = line.trim_end();
    if trimmed.trim_start().is_empty() {
        return LineKind::Blank;
    }
    if trimmed.starts_with("***") {
        if let Some(c) = NUMBERED_HEADER.captures(trimmed) {
            let number = c.get(1).and_then(|m| m.as_str().parse().ok());
            return match &c[2] {
                "TRANSACTION" => LineKind::TransactionHeader(number),
                "WAITING FOR THIS LOCK TO BE GRANTED" => LineKind::WaitingHeader(number),
                _ => LineKind::HoldsHeader(number),
            };
        }
        if trimmed.starts_with("*** CONFLICTING WITH") {
            return LineKind::ConflictingHeader;
        }
        if let Some(c) = ROLL_BACK.captures(trimmed) {
            if let Ok(n) = c[1].parse() {
                return LineKind::RollBack(n);
            }
        }
        return LineKind::Other;
    }
    if let Some(pos) = trimmed.find("TOO DEEP OR LONG SEARCH") {
        return LineKind::TooDeep(parse_timestamp(&trimmed[..pos]));
    }
    if trimmed.starts_with("RECORD LOCKS ") || trimmed.starts_with("TABLE LOCK ") {
        return LineKind::LockHeader;
    }
    if trimmed.starts_with("Record lock, heap no") {
        return LineKind::RecordHeader;
    }
    if FIELD_START.is_match(trimmed) {
        return LineKind::RecordFields;
    }
    if TRANSACTION.is_match(trimmed) {
        return LineKind::Transaction;
    }
    if trimmed.starts_with("mysql tables in use") {
        return LineKind::TablesInUse;
    }
    if LOCK_STRUCTS.is_match(trimmed) {
        return LineKind::LockStructs;
    }
    if THREAD.is_match(trimmed) {
        return LineKind::Thread;
    }
    if trimmed.starts_with("------- TRX HAS BEEN WAITING") {
        return LineKind::TrxHasBeenWaiting;
    }
    if trimmed.starts_with("Trx read view") || trimmed.starts_with("------------------") {
        return LineKind::KnownNoise;
    }
    if let Some(ts) = parse_timestamp(trimmed) {
        if TIMESTAMP.captures(trimmed).is_some_and(|c| c[9].is_empty()) {
            return LineKind::Timestamp(ts);
        }
    }
    LineKind::Other
}

/// Reads a timestamp at the start of `text` in any of the server's shapes and
/// returns it as `YYYY-MM-DD HH:MM:SS` (the date of a `yymmdd` form is
/// expanded; a `T…Z` log timestamp keeps its zone marker).
pub fn parse_timestamp(text: &str) -> Option<String> {
    let c = TIMESTAMP.captures(text.trim())?;
    if let (Some(date), Some(time)) = (c.get(1), c.get(2)) {
        // MySQL 5.7+ error logs print ISO 8601 in UTC (`…T13:27:02.123456Z`).
        let iso = text.trim_start().as_bytes().get(10) == Some(&b'T');
        return Some(if iso {
            let zone = if text.contains('Z') { "Z" } else { "" };
            format!("{}T{}{zone}", date.as_str(), time.as_str())
        } else {
            format!("{} {}", date.as_str(), time.as_str())
        });
    }
    let yy: u32 = c[3].parse().ok()?;
    let century = if yy < 70 { 2000 } else { 1900 };
    let hour: u32 = c[6].parse().ok()?;
    Some(format!(
        "{}-{}-{} {:02}:{}:{}",
        century + yy,
        &c[4],
        &c[5],
        hour,
        &c[7],
        &c[8]
    ))
}

/// Joins the 5.0 two-part trx id (`0 3793488`: high and low 32-bit words)
/// into one number; other forms are returned as printed.
pub fn normalize_trx_id(raw: &str) -> String {
    match raw.split_once(' ') {
        Some((high, low)) => match (high.parse::<u64>(), low.parse::<u64>()) {
            (Ok(h), Ok(l)) => ((h << 32) + l).to_string(),
            _ => raw.to_string(),
        },
        None => raw.to_string(),
    }
}

/// Fills the transaction from a `TRANSACTION …` line.
pub fn apply_transaction_line(trx: &mut PrintedTransaction, line: &str) {
    let Some(c) = TRANSACTION.captures(line.trim()) else {
        return;
    };
    trx.trx_id = Some(normalize_trx_id(&c[1]));
    trx.prepared = c.get(3).is_some();
    trx.active_secs = c.get(4).and_then(|m| m.as_str().parse().ok());
    let state = c.get(6).map(|m| m.as_str()).unwrap_or("");
    // `starting index read, thread declared inside InnoDB 500`: keep the operation only.
    let state = state.split(", thread declared").next().unwrap_or("").trim();
    if !state.is_empty() {
        trx.operation_state = Some(state.to_string());
    } else if let Some(status) = c.get(5) {
        trx.operation_state = Some(status.as_str().to_string());
    }
}

pub fn apply_tables_in_use(trx: &mut PrintedTransaction, line: &str) {
    if let Some(c) = TABLES_IN_USE.captures(line.trim()) {
        trx.tables_in_use = c[1].parse().ok();
        trx.tables_locked = c[2].parse().ok();
    }
}

pub fn apply_lock_structs(trx: &mut PrintedTransaction, line: &str) {
    if let Some(c) = LOCK_STRUCTS.captures(line.trim()) {
        trx.lock_wait = c.get(1).is_some();
        trx.lock_structs = c[2].parse().ok();
        trx.heap_size = c[3].parse().ok();
        trx.row_locks = c.get(4).and_then(|m| m.as_str().parse().ok());
        trx.undo_log_entries = c.get(5).and_then(|m| m.as_str().parse().ok());
    }
}

/// Fills thread id, host, ip, user and state from the thread line. The tail
/// is `[host] [ip] [user] [state…]` separated by spaces with none of them
/// marked, so: an address-shaped second word is the ip; the word after host
/// (and ip) is the user; the rest is the state.
pub fn apply_thread_line(trx: &mut PrintedTransaction, line: &str) {
    let Some(c) = THREAD.captures(line.trim()) else {
        return;
    };
    trx.thread_id = c[1].parse().ok();
    trx.os_thread_handle = c.get(2).map(|m| m.as_str().to_string());
    trx.query_id = c[3].parse().ok();
    let words: Vec<&str> = c[4].split_whitespace().collect();
    let Some(host) = words.first() else { return };
    trx.host = Some(host.to_string());
    let mut next = 1;
    if words.get(1).is_some_and(|w| is_ip(w)) {
        trx.ip = Some(words[1].to_string());
        next = 2;
    } else if is_ip(host) {
        trx.ip = Some(host.to_string());
    }
    if let Some(user) = words.get(next) {
        trx.user = Some(user.to_string());
    }
    if words.len() > next + 1 {
        trx.thread_state = Some(words[next + 1..].join(" "));
    }
}

fn is_ip(word: &str) -> bool {
    IPV4.is_match(word)
        || (word.contains(':')
            && word
                .chars()
                .all(|ch| ch.is_ascii_hexdigit() || ch == ':' || ch == '.'))
}

/// Parses a `RECORD LOCKS …` or `TABLE LOCK …` line.
pub fn parse_lock_header(line: &str) -> Option<Lock> {
    let line = line.trim();
    if let Some(c) = RECORD_LOCK.captures(line) {
        let (schema, table, partition) = split_table_name(&c[5]);
        let (mode, gap_mode, waiting) = parse_mode(&c[7], &c[8], LockType::Record);
        return Some(Lock {
            lock_type: LockType::Record,
            space_id: c[1].parse().ok(),
            page_no: c[2].parse().ok(),
            n_bits: c[3].parse().ok(),
            schema,
            table,
            partition,
            index: Some(c[4].trim_matches('`').to_string()),
            trx_id: Some(normalize_trx_id(&c[6])),
            mode,
            gap_mode,
            waiting,
            records: Vec::new(),
        });
    }
    let c = TABLE_LOCK.captures(line)?;
    let (schema, table, partition) = split_table_name(&c[1]);
    let (mode, gap_mode, waiting) = parse_mode(&c[3], &c[4], LockType::Table);
    Some(Lock {
        lock_type: LockType::Table,
        schema,
        table,
        partition,
        trx_id: Some(normalize_trx_id(&c[2])),
        mode,
        gap_mode,
        waiting,
        ..Lock::default()
    })
}

fn parse_mode(mode: &str, tail: &str, lock_type: LockType) -> (LockMode, GapMode, bool) {
    let mode = match mode {
        "S" => LockMode::S,
        "X" => LockMode::X,
        "IS" => LockMode::IS,
        "IX" => LockMode::IX,
        "AUTO-INC" => LockMode::AutoInc,
        other => LockMode::Other(other.to_string()),
    };
    let gap_mode = if lock_type == LockType::Table {
        GapMode::NotApplicable
    } else if tail.contains("insert intention") {
        GapMode::InsertIntention
    } else if tail.contains("locks gap before rec") {
        GapMode::Gap
    } else if tail.contains("locks rec but not gap") {
        GapMode::RecNotGap
    } else {
        GapMode::NextKey
    };
    (mode, gap_mode, tail.trim_end().ends_with("waiting"))
}

/// Splits `` `shop`.`payments` ``, `` `test/t` ``, `` `db`.`t` /* Partition `p1` */ ``
/// or `` `db`.`t#P#p1` `` into schema, table and partition.
pub fn split_table_name(raw: &str) -> (Option<String>, String, Option<String>) {
    let mut partition = PARTITION_COMMENT.captures(raw).map(|c| c[1].to_string());
    let name = PARTITION_COMMENT.replace(raw, "");
    let name = name.trim();
    let (schema, mut table) = if let Some((s, t)) = name.split_once("`.`") {
        (
            Some(s.trim_start_matches('`').to_string()),
            t.trim_end_matches('`').to_string(),
        )
    } else {
        let bare = name.trim_matches('`');
        match bare.split_once('/').or_else(|| bare.split_once('.')) {
            Some((s, t)) => (Some(s.to_string()), t.to_string()),
            None => (None, bare.to_string()),
        }
    };
    for marker in ["#P#", "#p#"] {
        if let Some((t, p)) = table.clone().split_once(marker) {
            table = t.to_string();
            partition.get_or_insert_with(|| p.to_string());
        }
    }
    (schema, table, partition)
}

/// Starts a record from a `Record lock, heap no N …` line.
pub fn parse_record_header(line: &str) -> LockedRecord {
    let heap_no = RECORD_HEADER
        .captures(line.trim())
        .and_then(|c| c[1].parse().ok())
        .unwrap_or(0);
    // Heap no 1 is always the page's supremum pseudo-record.
    LockedRecord {
        heap_no,
        supremum: heap_no == 1,
        fields: Vec::new(),
    }
}

/// Appends the fields of a field line (5.0 prints several on one line).
pub fn push_record_fields(record: &mut LockedRecord, line: &str) {
    for c in FIELD.captures_iter(line) {
        let position = c[1].parse().unwrap_or(0);
        let field = match (c.get(2), c.get(3)) {
            (Some(len), Some(hex)) => {
                let len: u64 = len.as_str().parse().unwrap_or(0);
                let hex = hex.as_str().to_ascii_lowercase();
                RecordField {
                    position,
                    cut: (hex.len() as u64) < len * 2,
                    len: Some(len),
                    hex: Some(hex),
                    value: None,
                }
            }
            _ => RecordField {
                position,
                len: None,
                hex: None,
                cut: false,
                value: Some(FieldValue::Null),
            },
        };
        record.fields.push(field);
    }
}

/// Decodes the fields of every record of a lock once the index is known.
///
/// A clustered index record (`PRIMARY`, `GEN_CLUST_INDEX`) carries InnoDB's
/// hidden columns after the key: DB_TRX_ID (6 bytes) and DB_ROLL_PTR (7 bytes),
/// and, without a primary key, DB_ROW_ID (6 bytes) first.
pub fn decode_record_values(lock: &mut Lock) {
    let index = lock.index.clone().unwrap_or_default();
    for record in &mut lock.records {
        if record.supremum {
            continue;
        }
        let lens: Vec<Option<u64>> = record.fields.iter().map(|f| f.len).collect();
        let system_start = if index == "GEN_CLUST_INDEX" {
            Some(0)
        } else if index == "PRIMARY" {
            (1..lens.len().saturating_sub(1))
                .find(|&i| lens[i] == Some(6) && lens[i + 1] == Some(7))
        } else {
            None
        };
        for (i, field) in record.fields.iter_mut().enumerate() {
            if field.value.is_some() {
                continue;
            }
            let Some(bytes) = field.hex.as_deref().and_then(hex_bytes) else {
                continue;
            };
            field.value = match (index.as_str(), system_start) {
                ("GEN_CLUST_INDEX", _) if i == 0 => Some(FieldValue::RowId(be_uint(&bytes))),
                ("GEN_CLUST_INDEX", _) if i == 1 => Some(FieldValue::TrxId(be_uint(&bytes))),
                ("GEN_CLUST_INDEX", _) if i == 2 => {
                    Some(FieldValue::RollPtr(field.hex.clone().unwrap_or_default()))
                }
                (_, Some(s)) if i == s && index != "GEN_CLUST_INDEX" => {
                    Some(FieldValue::TrxId(be_uint(&bytes)))
                }
                (_, Some(s)) if i == s + 1 && index != "GEN_CLUST_INDEX" => {
                    Some(FieldValue::RollPtr(field.hex.clone().unwrap_or_default()))
                }
                _ if field.cut => text_value(&bytes),
                _ => infer_value(&bytes),
            };
        }
    }
}

/// The likely meaning of a stored column value: InnoDB stores signed integers
/// big-endian with the sign bit flipped (so `80000000000000bb1` is 2993) and
/// unsigned ones as they are; text is kept where every byte is printable.
fn infer_value(bytes: &[u8]) -> Option<FieldValue> {
    let int_sized = matches!(bytes.len(), 1 | 2 | 3 | 4 | 8);
    if int_sized {
        let raw = be_uint(bytes);
        let sign_bit = 1u64 << (bytes.len() * 8 - 1);
        if raw & sign_bit != 0 {
            return Some(FieldValue::Int((raw ^ sign_bit) as i64));
        }
        if let Some(text) = text_value(bytes) {
            return Some(text);
        }
        return i64::try_from(raw).ok().map(FieldValue::Int);
    }
    text_value(bytes)
}

fn text_value(bytes: &[u8]) -> Option<FieldValue> {
    let text = std::str::from_utf8(bytes).ok()?;
    let printable = !text.is_empty() && text.chars().all(|ch| !ch.is_control());
    printable.then(|| FieldValue::Text(text.trim_end().to_string()))
}

fn be_uint(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .take(8)
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
}

fn hex_bytes(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_every_shape() {
        assert_eq!(
            parse_timestamp("111212 22:52:42").as_deref(),
            Some("2011-12-12 22:52:42")
        );
        assert_eq!(
            parse_timestamp("070913  9:14:21").as_deref(),
            Some("2007-09-13 09:14:21")
        );
        assert_eq!(
            parse_timestamp("2026-11-22 15:55:23 0x7f77e81296c0").as_deref(),
            Some("2026-11-22 15:55:23")
        );
        assert_eq!(
            parse_timestamp("2021-03-04 13:27:02 139852573497088").as_deref(),
            Some("2021-03-04 13:27:02")
        );
        assert_eq!(
            parse_timestamp("2021-03-04T13:27:02.123456Z").as_deref(),
            Some("2021-03-04T13:27:02Z")
        );
        assert_eq!(parse_timestamp("update payments"), None);
    }

    #[test]
    fn lock_line_with_partition_and_two_part_id() {
        let lock = parse_lock_header(
            "RECORD LOCKS space id 0 page no 3662 n bits 72 index `GEN_CLUST_INDEX` of table `test/innotop_dl` trx id 0 3793489 lock mode S",
        )
        .unwrap();
        assert_eq!(
            (lock.schema.as_deref(), lock.table.as_str()),
            (Some("test"), "innotop_dl")
        );
        assert_eq!(lock.trx_id.as_deref(), Some("3793489"));
        assert_eq!(
            (lock.mode, lock.gap_mode, lock.waiting),
            (LockMode::S, GapMode::NextKey, false)
        );

        let lock = parse_lock_header(
            "RECORD LOCKS space id 5 page no 4 n bits 72 index PRIMARY of table `db`.`t` /* Partition `p1` */ trx id 1234 lock_mode X locks gap before rec insert intention waiting",
        )
        .unwrap();
        assert_eq!(lock.partition.as_deref(), Some("p1"));
        assert_eq!(
            (lock.gap_mode, lock.waiting),
            (GapMode::InsertIntention, true)
        );
    }

    #[test]
    fn table_lock_line() {
        let lock = parse_lock_header("TABLE LOCK table `db`.`gr_v3_response_log` trx id 3BF88F886 lock mode AUTO-INC waiting").unwrap();
        assert_eq!(
            (lock.lock_type, lock.mode, lock.waiting),
            (LockType::Table, LockMode::AutoInc, true)
        );
        assert_eq!(lock.trx_id.as_deref(), Some("3BF88F886"));
    }

    #[test]
    fn thread_line_with_and_without_ip() {
        let mut trx = PrintedTransaction::default();
        apply_thread_line(&mut trx, "MySQL thread id 23512694, OS thread handle 0x5055b940, query id 734303798 10.10.10.1 host update");
        assert_eq!(
            (trx.host.as_deref(), trx.ip.as_deref(), trx.user.as_deref()),
            (Some("10.10.10.1"), Some("10.10.10.1"), Some("host"))
        );
        let mut trx = PrintedTransaction::default();
        apply_thread_line(
            &mut trx,
            "MySQL thread id 9, OS thread handle 1, query id 5 app-01 10.0.0.5 app Sending data",
        );
        assert_eq!(
            (
                trx.ip.as_deref(),
                trx.user.as_deref(),
                trx.thread_state.as_deref()
            ),
            (Some("10.0.0.5"), Some("app"), Some("Sending data"))
        );
    }

    #[test]
    fn fields_decode_ints_text_and_hidden_columns() {
        let mut lock = parse_lock_header("RECORD LOCKS space id 6 page no 3 n bits 320 index PRIMARY of table `shop`.`payments` trx id 66 lock_mode X locks rec but not gap waiting").unwrap();
        let mut record = parse_record_header(
            "Record lock, heap no 4 PHYSICAL RECORD: n_fields 6; compact format; info bits 0",
        );
        for line in [
            " 0: len 8; hex 8000000000000bb1; asc         ;;",
            " 1: len 6; hex 000000000041; asc      A;;",
            " 2: len 7; hex 1b0000014c0110; asc     L  ;;",
            " 3: len 6; hex 706b5f616263; asc pk_abc;;",
            " 4: SQL NULL;",
        ] {
            assert_eq!(classify(line), LineKind::RecordFields);
            push_record_fields(&mut record, line);
        }
        lock.records.push(record);
        decode_record_values(&mut lock);
        let values: Vec<_> = lock.records[0]
            .fields
            .iter()
            .map(|f| f.value.clone())
            .collect();
        assert_eq!(values[0], Some(FieldValue::Int(2993)));
        assert_eq!(values[1], Some(FieldValue::TrxId(0x41)));
        assert!(matches!(values[2], Some(FieldValue::RollPtr(_))));
        assert_eq!(values[3], Some(FieldValue::Text("pk_abc".into())));
        assert_eq!(values[4], Some(FieldValue::Null));
    }

    #[test]
    fn several_fields_on_one_line() {
        let mut record = parse_record_header(
            "Record lock, heap no 2 PHYSICAL RECORD: n_fields 4; compact format; info bits 0",
        );
        push_record_fields(&mut record, " 0: len 6; hex 000000000501; asc       ;; 1: len 6; hex 00000039e24f; asc    9 O;; 2: len 7; hex 8000000e490110; asc     I  ;; 3: len 4; hex 80000000; asc     ;;");
        assert_eq!(record.fields.len(), 4);
    }
}
