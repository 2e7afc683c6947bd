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

re!(ROLL_BACK, r"^\*\*\* WE ROLL BACK TRANSACTION \((\d+)\)");
re!(RECORD_HEADER, r"^Record lock, heap no (\d+)");
re!(
    PARTITION_COMMENT,
    r#"\s*/\*\s*Partition\s+[`"]?([^`"*]+?)[`"]?\s*\*/"#
);
re!(IPV4, r"^\d{1,3}(?:\.\d{1,3}){3}$");

/// Whether the line is a record-field line: ` 0: len 8; hex …` or ` 3: SQL NULL;`.
/// Checked by hand: field lines are most of a deadlock print.
pub fn is_field_line(line: &str) -> bool {
    let rest = line.trim_start();
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && {
        let after = &rest[digits..];
        after.starts_with(": len ") || after.starts_with(": SQL NULL")
    }
}

/// Names the shape of `line` (already stripped of any error-log prefix).
/// Cheap prefix checks decide; a regex runs only to confirm a likely shape.
pub fn classify(line: &str) -> LineKind {
    let trimmed = line.trim_end();
    let Some(first) = trimmed.bytes().next() else {
        return LineKind::Blank;
    };
    if first == b' ' || first == b'\t' {
        if is_field_line(trimmed) {
            return LineKind::RecordFields;
        }
        if trimmed.trim_start().is_empty() {
            return LineKind::Blank;
        }
    }
    if let Some(header) = trimmed.strip_prefix("*** ") {
        // `(N) ` is optional (MariaDB and the TOO DEEP form print none).
        let (number, title) = match header.strip_prefix('(').and_then(|h| h.split_once(") ")) {
            Some((n, title)) => match n.parse::<u32>() {
                Ok(n) => (Some(n), title),
                Err(_) => (None, header),
            },
            None => (None, header),
        };
        match title {
            "TRANSACTION:" => return LineKind::TransactionHeader(number),
            "WAITING FOR THIS LOCK TO BE GRANTED:" => return LineKind::WaitingHeader(number),
            "HOLDS THE LOCK(S):" => return LineKind::HoldsHeader(number),
            _ => {}
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
    if trimmed.starts_with("RECORD LOCKS ") || trimmed.starts_with("TABLE LOCK ") {
        return LineKind::LockHeader;
    }
    if trimmed.starts_with("Record lock, heap no") {
        return LineKind::RecordHeader;
    }
    if first.is_ascii_digit() && is_field_line(trimmed) {
        return LineKind::RecordFields;
    }
    if (trimmed.starts_with("TRANSACTION ") || trimmed.starts_with("---TRANSACTION "))
        && trimmed.contains(", ")
    {
        return LineKind::Transaction;
    }
    if trimmed.starts_with("mysql tables in use") {
        return LineKind::TablesInUse;
    }
    if (trimmed.starts_with("LOCK WAIT ") || first.is_ascii_digit())
        && trimmed.contains(" lock struct(s), heap size ")
    {
        return LineKind::LockStructs;
    }
    if (trimmed.starts_with("MySQL thread id ") || trimmed.starts_with("MariaDB thread id "))
        && trimmed.contains(", query id ")
    {
        return LineKind::Thread;
    }
    if trimmed.starts_with("------- TRX HAS BEEN WAITING") {
        return LineKind::TrxHasBeenWaiting;
    }
    if trimmed.starts_with("Trx read view") || trimmed.starts_with("------------------") {
        return LineKind::KnownNoise;
    }
    if first.is_ascii_digit() || first == b'T' {
        if let Some(pos) = trimmed.find("TOO DEEP OR LONG SEARCH") {
            return LineKind::TooDeep(parse_timestamp(&trimmed[..pos]));
        }
    }
    if first.is_ascii_digit() {
        if let Some((ts, rest)) = split_timestamp(trimmed) {
            if rest.trim().is_empty() {
                return LineKind::Timestamp(ts);
            }
        }
    }
    LineKind::Other
}

fn all_digits(bytes: &[u8]) -> bool {
    bytes.iter().all(u8::is_ascii_digit)
}

/// `HH:MM`-style zone suffix of an ISO timestamp: `Z`, `+08:00`, `-0530`, `+08`.
/// Returns it normalised (`Z` or `±HH:MM`) and its length in `text`.
fn zone_suffix(text: &str) -> Option<(String, usize)> {
    let b = text.as_bytes();
    match b.first()? {
        b'Z' => Some(("Z".into(), 1)),
        sign @ (b'+' | b'-') => {
            let digits = |r: std::ops::Range<usize>| b.get(r).is_some_and(all_digits);
            if !digits(1..3) {
                return None;
            }
            let (minutes, len) = if b.get(3) == Some(&b':') && digits(4..6) {
                (&text[4..6], 6)
            } else if digits(3..5) {
                (&text[3..5], 5)
            } else {
                ("00", 3)
            };
            Some((format!("{}{}:{minutes}", *sign as char, &text[1..3]), len))
        }
        _ => None,
    }
}

/// A thread handle printed as bare hex (MySQL 5.6: `7f72c0043700`): long enough, and
/// with a digit, not to be mistaken for a word such as `added`.
fn is_bare_hex_handle(word: &str) -> bool {
    word.len() >= 8
        && word.bytes().all(|c| c.is_ascii_hexdigit())
        && word.bytes().any(|c| c.is_ascii_digit())
}

/// Splits a leading timestamp off `text`, by hand, in any of the server's shapes:
/// `2026-11-22 15:55:23 [0x7f…|140…]` (status text, server time),
/// `2021-03-04T13:27:02.123456Z` / `…+08:00` (error logs: UTC or `log_timestamps=SYSTEM`)
/// and `111212 22:52:42` / `070913  9:14:21` (5.5 and older). Returns it as
/// `YYYY-MM-DD HH:MM:SS` when the text names no zone, else `YYYY-MM-DDTHH:MM:SS` with
/// `Z` or the offset, and the text after it. Never slices inside a character.
pub fn split_timestamp(text: &str) -> Option<(String, &str)> {
    split_timestamp_inner(text, true).map(|(stamp, rest)| (stamp.unwrap_or_default(), rest))
}

/// The text after a leading timestamp (as [`split_timestamp`] reads it), without
/// building the timestamp: the error-log reader needs it for every prefixed line
/// and the timestamp itself only for the one that opens a deadlock.
pub fn skip_timestamp(text: &str) -> Option<&str> {
    split_timestamp_inner(text, false).map(|(_, rest)| rest)
}

fn split_timestamp_inner(text: &str, build: bool) -> Option<(Option<String>, &str)> {
    let text = text.trim_start();
    let b = text.as_bytes();
    let iso = b.len() >= 19
        && all_digits(&b[0..4])
        && b[4] == b'-'
        && all_digits(&b[5..7])
        && b[7] == b'-'
        && all_digits(&b[8..10])
        && (b[10] == b' ' || b[10] == b'T')
        // MariaDB pads the hour with a space before 10:00 (`2026-11-29  5:52:35`).
        && (b[11] == b' ' || b[11].is_ascii_digit())
        && b[12].is_ascii_digit()
        && b[13] == b':'
        && all_digits(&b[14..16])
        && b[16] == b':'
        && all_digits(&b[17..19]);
    if iso {
        // Bytes 0..19 are ASCII (checked above), so these slices are on character boundaries.
        let date = &text[..10];
        // A space-padded hour reads as a leading zero.
        let hour_tens = if b[11] == b' ' { "0" } else { &text[11..12] };
        let time = &text[12..19];
        let mut rest = &text[19..];
        if let Some(frac) = rest.strip_prefix('.') {
            rest = frac.trim_start_matches(|c: char| c.is_ascii_digit());
        }
        let zone = zone_suffix(rest);
        if let Some((_, len)) = &zone {
            rest = &rest[*len..];
        }
        // The printing thread's handle (`0x7f…`) or id follows a status timestamp
        // (and a log line's timestamp), after any spacing. MySQL 5.6 logs print it
        // as bare hex glued to the subsystem: `… 20:28:25 7f72c0043700InnoDB: …`.
        if let Some(after) = rest.strip_prefix([' ', '\t']).map(str::trim_start) {
            let word_end = after.find([' ', '\t']).unwrap_or(after.len());
            let word = &after[..word_end];
            let is_handle = word
                .strip_prefix("0x")
                .is_some_and(|h| !h.is_empty() && h.bytes().all(|c| c.is_ascii_hexdigit()))
                || (!word.is_empty() && all_digits(word.as_bytes()));
            if is_handle {
                rest = &after[word_end..];
            } else {
                let glued = word.find("InnoDB:").unwrap_or(word.len());
                if is_bare_hex_handle(&word[..glued]) {
                    // `word[..glued]` is ASCII hex, so `glued` is a character boundary.
                    rest = &after[glued..];
                }
            }
        }
        let stamp = build.then(|| match zone {
            Some((zone, _)) => format!("{date}T{hour_tens}{time}{zone}"),
            None => format!("{date} {hour_tens}{time}"),
        });
        return Some((stamp, rest));
    }
    // yymmdd, spaces, h:mm:ss or hh:mm:ss
    if b.len() < 13 || !all_digits(&b[..6]) || b[6] != b' ' {
        return None;
    }
    let clock = text[6..].trim_start();
    let hour_len = clock.bytes().take_while(u8::is_ascii_digit).count();
    let cb = clock.as_bytes();
    let ascii_digits = |r: std::ops::Range<usize>| cb.get(r).is_some_and(all_digits);
    if !(1..=2).contains(&hour_len)
        || cb.get(hour_len) != Some(&b':')
        || cb.get(hour_len + 3) != Some(&b':')
        || !ascii_digits(hour_len + 1..hour_len + 3)
        || !ascii_digits(hour_len + 4..hour_len + 6)
    {
        return None;
    }
    // All of clock[..hour_len + 6] is ASCII now: slicing it is safe.
    let (minutes, seconds) = (
        &clock[hour_len + 1..hour_len + 3],
        &clock[hour_len + 4..hour_len + 6],
    );
    let yy: u32 = text[..2].parse().ok()?;
    let century = if yy < 70 { 2000 } else { 1900 };
    let hour: u32 = clock[..hour_len].parse().ok()?;
    let stamp = build.then(|| {
        format!(
            "{}-{}-{} {hour:02}:{minutes}:{seconds}",
            century + yy,
            &text[2..4],
            &text[4..6]
        )
    });
    Some((stamp, &clock[hour_len + 6..]))
}

/// Reads a timestamp at the start of `text` (see [`split_timestamp`]).
pub fn parse_timestamp(text: &str) -> Option<String> {
    split_timestamp(text).map(|(stamp, _)| stamp)
}

/// Joins the 5.0 two-part trx id (`0 3793488`: high and low 32-bit words)
/// into one number; other forms are returned as printed.
pub fn normalize_trx_id(raw: &str) -> String {
    match raw.split_once(' ') {
        // Each word is a 32-bit half; anything larger is not this form and is kept as printed.
        Some((high, low)) => match (high.trim().parse::<u32>(), low.trim().parse::<u32>()) {
            (Ok(h), Ok(l)) => ((u64::from(h) << 32) | u64::from(l)).to_string(),
            _ => raw.to_string(),
        },
        None => raw.to_string(),
    }
}

/// The line with runs of spaces and tabs folded to one space and both ends
/// trimmed: prints pasted from web pages and terminals have them anywhere.
/// Borrowed (no allocation) when the line is already in that form.
pub fn fold_spaces(line: &str) -> std::borrow::Cow<'_, str> {
    let trimmed = line.trim_matches(|c: char| c == ' ' || c == '\t' || c == '\r');
    // One pass over the bytes: a tab, or a space after a space, needs folding.
    let mut previous_space = false;
    let clean = trimmed.bytes().all(|c| {
        let fold = c == b'\t' || (c == b' ' && previous_space);
        previous_space = c == b' ';
        !fold
    });
    if clean {
        return trimmed.into();
    }
    let mut out = String::with_capacity(trimmed.len());
    let mut in_space = false;
    for c in trimmed.chars() {
        if c == ' ' || c == '\t' {
            if !in_space {
                out.push(' ');
            }
            in_space = true;
        } else {
            out.push(c);
            in_space = false;
        }
    }
    out.into()
}

/// Fills the transaction from a `TRANSACTION …` line:
/// `TRANSACTION ID, (ACTIVE [(PREPARED)] N sec|not started|…)[, process no N, OS thread id N][ STATE][, thread declared …]`.
pub fn apply_transaction_line(trx: &mut PrintedTransaction, line: &str) {
    let line = line.trim();
    let Some(rest) = line
        .strip_prefix("---TRANSACTION ")
        .or_else(|| line.strip_prefix("TRANSACTION "))
    else {
        return;
    };
    let Some((id, mut rest)) = rest.split_once(", ") else {
        return;
    };
    trx.trx_id = Some(normalize_trx_id(id));
    let mut status = None;
    if let Some(active) = rest.strip_prefix("ACTIVE ") {
        let active = match active.strip_prefix("(PREPARED) ") {
            Some(a) => {
                trx.prepared = true;
                a
            }
            None => active,
        };
        let Some((secs, tail)) = leading_number(active) else {
            return;
        };
        trx.active_secs = Some(secs);
        rest = tail.strip_prefix(" sec").unwrap_or(tail);
    } else {
        // `not started`, `COMMITTED IN MEMORY`, …: the status up to a comma.
        let end = rest.find(',').unwrap_or(rest.len());
        status = Some(rest[..end].trim());
        rest = &rest[end..];
    }
    if let Some(tail) = rest.strip_prefix(", process no ") {
        // 5.0/5.1: `, process no 5488, OS thread id 1141287232`.
        rest = tail.split_once(", OS thread id ").map_or("", |(_, t)| {
            t.trim_start_matches(|c: char| c.is_ascii_digit())
        });
    }
    let state = rest.trim_start_matches(',').trim();
    // `starting index read, thread declared inside InnoDB 500`: keep the operation only.
    let state = state.split(", thread declared").next().unwrap_or("").trim();
    if !state.is_empty() {
        trx.operation_state = Some(state.to_string());
    } else if let Some(status) = status.filter(|s| !s.is_empty()) {
        trx.operation_state = Some(status.to_string());
    }
}

/// `mysql tables in use 1, locked 1`.
pub fn apply_tables_in_use(trx: &mut PrintedTransaction, line: &str) {
    let Some(rest) = line.trim().strip_prefix("mysql tables in use ") else {
        return;
    };
    if let Some((in_use, rest)) = leading_number(rest) {
        trx.tables_in_use = Some(in_use);
        trx.tables_locked = rest
            .strip_prefix(", locked ")
            .and_then(leading_number)
            .map(|(n, _)| n);
    }
}

/// `[LOCK WAIT ]4 lock struct(s), heap size 1128[, 2 row lock(s)][, undo log entries 1]`.
pub fn apply_lock_structs(trx: &mut PrintedTransaction, line: &str) {
    let line = line.trim();
    let (lock_wait, rest) = match line.strip_prefix("LOCK WAIT ") {
        Some(rest) => (true, rest),
        None => (false, line),
    };
    let Some((structs, rest)) = leading_number(rest) else {
        return;
    };
    let Some(rest) = rest.strip_prefix(" lock struct(s), heap size ") else {
        return;
    };
    trx.lock_wait = lock_wait;
    trx.lock_structs = Some(structs);
    let Some((heap, mut rest)) = leading_number(rest) else {
        return;
    };
    trx.heap_size = Some(heap);
    if let Some((rows, tail)) = rest.strip_prefix(", ").and_then(leading_number) {
        if let Some(tail) = tail.strip_prefix(" row lock(s)") {
            trx.row_locks = Some(rows);
            rest = tail;
        }
    }
    trx.undo_log_entries = rest
        .strip_prefix(", undo log entries ")
        .and_then(leading_number)
        .map(|(n, _)| n);
}

/// Fills thread id, host, ip, user and state from the thread line. The tail
/// is `[host] [ip] [user] [state…]` separated by spaces with none of them
/// marked, so: an address-shaped second word is the ip; the word after host
/// (and ip) is the user; the rest is the state.
pub fn apply_thread_line(trx: &mut PrintedTransaction, line: &str) {
    let line = line.trim();
    let Some(rest) = line
        .strip_prefix("MySQL thread id ")
        .or_else(|| line.strip_prefix("MariaDB thread id "))
    else {
        return;
    };
    let Some((thread_id, rest)) = leading_number(rest) else {
        return;
    };
    trx.thread_id = Some(thread_id);
    let rest = match rest
        .strip_prefix(", OS thread handle ")
        .and_then(|r| r.split_once(','))
    {
        Some((handle, tail)) => {
            trx.os_thread_handle = Some(handle.to_string());
            tail
        }
        None => rest.strip_prefix(',').unwrap_or(rest),
    };
    let Some((query_id, rest)) = rest
        .trim_start()
        .strip_prefix("query id ")
        .and_then(leading_number)
    else {
        return;
    };
    trx.query_id = Some(query_id);
    let words: Vec<&str> = rest.split_whitespace().collect();
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

/// Reads a leading decimal number.
fn leading_number(text: &str) -> Option<(u64, &str)> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    Some((text[..digits].parse().ok()?, &text[digits..]))
}

/// Splits `… trx id ID lock_mode MODE TAIL` (also `lock mode`, and 5.0's two-part `ID`).
/// Whatever stands between the id and the mode that is not part of the id is skipped.
fn split_owner_and_mode(text: &str) -> Option<(&str, &str, &str)> {
    let (id, rest) = text
        .split_once(" lock_mode ")
        .or_else(|| text.split_once(" lock mode "))?;
    let (mode, tail) = rest.split_once(' ').unwrap_or((rest, ""));
    Some((owner_id(id), mode, tail))
}

/// The transaction id at the start of `text`: one word, or 5.0's two decimal words
/// (`0 3793489`); an unknown `key value` run after it is not part of it.
fn owner_id(text: &str) -> &str {
    let text = text.trim();
    let mut words = text.split(' ');
    let first = words.next().unwrap_or_default();
    let two_part = all_digits(first.as_bytes())
        && words
            .next()
            .is_some_and(|w| !w.is_empty() && all_digits(w.as_bytes()));
    if two_part {
        let second_end = text[first.len() + 1..]
            .find(' ')
            .map_or(text.len(), |p| first.len() + 1 + p);
        &text[..second_end]
    } else {
        first
    }
}

/// Parses a `RECORD LOCKS …` or `TABLE LOCK …` line (by hand: one per lock printed).
///
/// Amazon Aurora MySQL adds fields: `trx table locks N total table locks N` after the
/// table (and after its partition comment), `lock hold time N wait time before grant N`
/// after the mode. Any such `key value` run between the known fields is skipped: the
/// table is read up to its closing quote, the id is one or two numbers, the flags are words.
pub fn parse_lock_header(line: &str) -> Option<Lock> {
    let line = line.trim();
    if let Some(rest) = line.strip_prefix("RECORD LOCKS space id ") {
        let (space_id, rest) = leading_number(rest)?;
        let (page_no, rest) = leading_number(rest.strip_prefix(" page no ")?)?;
        let (n_bits, rest) = leading_number(rest.strip_prefix(" n bits ")?)?;
        let (index, rest) = rest.strip_prefix(" index ")?.split_once(" of table ")?;
        let (table, rest) = rest.split_once(" trx id ")?;
        let (trx_id, mode, tail) = split_owner_and_mode(rest)?;
        let (schema, table, partition) = split_table_name(table);
        let (mode, gap_mode, waiting) = parse_mode(mode, tail, LockType::Record);
        return Some(Lock {
            lock_type: LockType::Record,
            space_id: Some(space_id),
            page_no: Some(page_no),
            n_bits: Some(n_bits),
            schema,
            table,
            partition,
            index: Some(unquote_identifier(index)),
            trx_id: Some(normalize_trx_id(trx_id)),
            mode,
            gap_mode,
            waiting,
            records: Vec::new(),
        });
    }
    let rest = line.strip_prefix("TABLE LOCK table ")?;
    let (table, rest) = rest.split_once(" trx id ")?;
    let (trx_id, mode, tail) = split_owner_and_mode(rest)?;
    let (schema, table, partition) = split_table_name(table);
    let (mode, gap_mode, waiting) = parse_mode(mode, tail, LockType::Table);
    Some(Lock {
        lock_type: LockType::Table,
        schema,
        table,
        partition,
        trx_id: Some(normalize_trx_id(trx_id)),
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
    // Aurora prints `lock hold time N wait time before grant N` after the flags, so
    // `waiting` is looked for as a word, not at the end.
    let waiting = tail.split_ascii_whitespace().any(|word| word == "waiting");
    (mode, gap_mode, waiting)
}

/// Reads one identifier at the start of `text`: quoted with backquotes, or with
/// double quotes on `ANSI_QUOTES` servers (a doubled quote inside is one quote),
/// or bare up to a dot or slash. Returns the name and the rest.
fn read_identifier(text: &str) -> (String, &str) {
    let quote = match text.chars().next() {
        Some(q @ ('`' | '"')) => q,
        _ => {
            let end = text.find(['.', '/', ' ']).unwrap_or(text.len());
            return (text[..end].trim().to_string(), &text[end..]);
        }
    };
    // Copy whole runs up to each quote; a doubled quote is one quote of the name.
    let mut name = String::new();
    let mut rest = &text[1..];
    loop {
        let Some(at) = rest.find(quote) else {
            // No closing quote: the name runs to the end (a cut line).
            name.push_str(rest);
            return (name, "");
        };
        name.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        match rest.strip_prefix(quote) {
            Some(after) => {
                name.push(quote);
                rest = after;
            }
            None => return (name, rest),
        }
    }
}

/// An index name as printed: `` `PRIMARY` ``, `"PRIMARY"` or bare `PRIMARY` (MySQL 8).
pub fn unquote_identifier(raw: &str) -> String {
    let raw = raw.trim();
    let (name, rest) = read_identifier(raw);
    if rest.trim().is_empty() {
        name
    } else {
        raw.to_string()
    }
}

/// Splits `` `shop`.`payments` ``, `"shop"."payments"` (ANSI_QUOTES), `` `test/t` ``,
/// `` `db`.`t` /* Partition `p1` */ `` or `` `db`.`t#P#p1` `` into schema, table and partition.
pub fn split_table_name(raw: &str) -> (Option<String>, String, Option<String>) {
    let (mut partition, name) = if raw.contains("/*") {
        (
            PARTITION_COMMENT.captures(raw).map(|c| c[1].to_string()),
            PARTITION_COMMENT.replace(raw, ""),
        )
    } else {
        (None, std::borrow::Cow::Borrowed(raw))
    };
    let name = name.trim();
    let (first, rest) = read_identifier(name);
    let (schema, mut table) = match rest.strip_prefix(['.', '/']) {
        Some(after) => {
            let (second, _) = read_identifier(after.trim_start());
            (Some(first), second)
        }
        // Old servers print `test/t` inside one pair of quotes.
        None => match first.split_once('/') {
            Some((s, t)) => (Some(s.to_string()), t.to_string()),
            None => (None, first),
        },
    };
    for marker in ["#P#", "#p#"] {
        if let Some((t, p)) = table.split_once(marker) {
            partition.get_or_insert_with(|| p.to_string());
            table = t.to_string();
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

/// Appends the fields of a field line (5.0 prints several on one line):
/// `N: len L; hex H; asc …;;` or `N: SQL NULL;`, repeated.
pub fn push_record_fields(record: &mut LockedRecord, line: &str) {
    let mut rest = line;
    loop {
        let start = rest.trim_start();
        let digits = start.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return;
        }
        let position: u32 = start[..digits].parse().unwrap_or(0);
        let after = &start[digits..];
        if let Some(tail) = after.strip_prefix(": SQL NULL;") {
            record.fields.push(RecordField {
                position,
                len: None,
                hex: None,
                cut: false,
                value: Some(FieldValue::Null),
            });
            rest = tail;
            continue;
        }
        let Some(tail) = after.strip_prefix(": len ") else {
            return;
        };
        let len_digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        let len: u64 = tail[..len_digits].parse().unwrap_or(0);
        let Some(tail) = tail[len_digits..].strip_prefix("; hex ") else {
            return;
        };
        let hex_len = tail.bytes().take_while(u8::is_ascii_hexdigit).count();
        let raw_hex = &tail[..hex_len];
        // InnoDB prints lower case; copy without converting unless it is not.
        let hex = if raw_hex.bytes().any(|b| b.is_ascii_uppercase()) {
            raw_hex.to_ascii_lowercase()
        } else {
            raw_hex.to_string()
        };
        record.fields.push(RecordField {
            position,
            cut: (hex.len() as u64) < len.saturating_mul(2),
            len: Some(len),
            hex: Some(hex),
            value: None,
        });
        // The printable copy ends at `;;` (a field of text may contain `;`, rarely `;;`).
        match tail[hex_len..].find(";;") {
            Some(end) => rest = &tail[hex_len + end + 2..],
            None => return,
        }
    }
}

/// Decodes the fields of every record of a lock once the index is known.
///
/// A clustered index record (`PRIMARY`, `GEN_CLUST_INDEX`) carries InnoDB's
/// hidden columns after the key: DB_TRX_ID (6 bytes) and DB_ROLL_PTR (7 bytes),
/// and, without a primary key, DB_ROW_ID (6 bytes) first.
pub fn decode_record_values(lock: &mut Lock) {
    let index = lock.index.as_deref().unwrap_or_default();
    for record in &mut lock.records {
        if record.supremum {
            continue;
        }
        let fields = &record.fields;
        let system_start = if index == "GEN_CLUST_INDEX" {
            Some(0)
        } else if index == "PRIMARY" {
            (1..fields.len().saturating_sub(1))
                .find(|&i| fields[i].len == Some(6) && fields[i + 1].len == Some(7))
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
            field.value = match (index, system_start) {
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
    fn aurora_lock_lines_with_extra_fields() {
        // Aurora's fields around the known ones; the partition comment before them.
        let lock = parse_lock_header("RECORD LOCKS space id 9 page no 3 n bits 72 index `PRIMARY` of table `db`.`t` /* Partition `p51` */ trx table locks 2 total table locks 2  trx id 5432 lock mode S locks rec but not gap waiting lock hold time 0 wait time before grant 0 ").unwrap();
        assert_eq!(
            (
                lock.schema.as_deref(),
                lock.table.as_str(),
                lock.partition.as_deref()
            ),
            (Some("db"), "t", Some("p51"))
        );
        assert_eq!(lock.index.as_deref(), Some("PRIMARY"));
        assert_eq!(lock.trx_id.as_deref(), Some("5432"));
        assert_eq!(
            (lock.mode, lock.gap_mode, lock.waiting),
            (LockMode::S, GapMode::RecNotGap, true)
        );
        let lock = parse_lock_header("RECORD LOCKS space id 9 page no 3 n bits 72 index `PRIMARY` of table `db`.`t` trx table locks 1 total table locks 2 trx id 77 lock_mode X lock hold time 3 wait time before grant 0").unwrap();
        assert_eq!((lock.table.as_str(), lock.partition), ("t", None));
        assert_eq!((lock.gap_mode, lock.waiting), (GapMode::NextKey, false));
        let lock = parse_lock_header("TABLE LOCK table `db`.`t` trx table locks 1 total table locks 1 trx id 77 lock mode IX lock hold time 0 wait time before grant 0").unwrap();
        assert_eq!(
            (lock.table.as_str(), lock.mode, lock.waiting),
            ("t", LockMode::IX, false)
        );
        // 5.0's two-part id still reads whole, an unknown run after it does not join it.
        let lock = parse_lock_header(
            "TABLE LOCK table `test/t` trx id 0 3793489 some field 5 lock mode IX",
        )
        .unwrap();
        assert_eq!(lock.trx_id.as_deref(), Some("3793489"));
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
