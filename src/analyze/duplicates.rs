//! Duplicate keys as a UNIQUE index sees them. Rows are compared by a
//! collation key: the server's `WEIGHT_STRING` for string columns (trailing
//! spaces trimmed first under PAD SPACE), the exact value read for the others.
//! Counting is two-pass and bounded: a 64-bit digest per distinct key first,
//! then only the rows whose digest repeated are read again and grouped by their
//! full collation key (which also separates digest collisions). The cleanup it
//! proposes names every row it would remove by primary key.

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use mysql_async::Value;

pub use crate::model::quote_ident;
use schemars::JsonSchema;
use serde::Serialize;

/// Primary-key values listed per duplicate group.
pub const PK_SAMPLE: usize = 10;
/// Distinct spellings listed per group (`pk_ABC`, `pk_abc`).
pub const SPELLING_SAMPLE: usize = 5;
/// Primary keys kept per group for the cleanup.
const PK_KEPT: usize = 1_000;
/// Rows one suggested cleanup removes at most, and per DELETE.
pub const CLEANUP_ROWS: usize = 5_000;
pub const CLEANUP_BATCH: usize = 500;

/// A key column and how the server compares its values in a UNIQUE index.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyColumn {
    /// As the server spells it.
    pub name: String,
    /// `information_schema.COLUMNS.DATA_TYPE`.
    pub data_type: String,
    /// The column's collation (string types only).
    pub collation: Option<String>,
    pub nullable: bool,
}

impl KeyColumn {
    /// Compared by collation weights (char, varchar, text types); others by exact value.
    pub fn by_weight(&self) -> bool {
        self.collation.is_some()
            && matches!(
                self.data_type.to_ascii_lowercase().as_str(),
                "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext"
            )
    }

    /// PAD SPACE collations ignore trailing spaces. NO PAD ones are MariaDB's
    /// `_nopad_` collations and MySQL 8's `_0900_` family.
    pub fn pad_space(&self) -> bool {
        self.collation
            .as_deref()
            .is_some_and(|c| !c.contains("nopad") && !c.contains("_0900_"))
    }

    /// Shown and written as hex: binary strings and bit fields.
    pub fn is_binary(&self) -> bool {
        is_binary_type(&self.data_type)
    }

    /// The SQL that yields this column's comparison key (for `by_weight` columns).
    pub fn weight_sql(&self) -> String {
        let column = quote_ident(&self.name);
        if self.pad_space() {
            format!("WEIGHT_STRING(TRIM(TRAILING ' ' FROM {column}))")
        } else {
            format!("WEIGHT_STRING({column})")
        }
    }
}

/// An index as `information_schema.STATISTICS` describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexInfo {
    pub name: String,
    pub unique: bool,
    /// In index order.
    pub columns: Vec<String>,
    /// Every part is the whole column (no prefix length) in ascending order.
    pub whole_and_ascending: bool,
}

/// An index to read the table in key order, and the full order of its
/// entries (its columns, then the primary-key columns InnoDB appends): the
/// first columns must be exactly the key columns, and every order column NOT
/// NULL so that "after this row" is a plain comparison, and a primary key to
/// make the order total. The primary key itself qualifies when it starts with
/// the key columns.
pub fn ordered_index(
    indexes: &[IndexInfo],
    key: &[KeyColumn],
    columns: &[KeyColumn],
    primary_key: &[KeyColumn],
) -> Option<(String, Vec<String>)> {
    let not_null = |name: &str| {
        columns
            .iter()
            .any(|c| c.name.eq_ignore_ascii_case(name) && !c.nullable)
    };
    if primary_key.is_empty() || key.is_empty() {
        return None;
    }
    indexes
        .iter()
        .filter(|i| i.whole_and_ascending && i.columns.len() >= key.len())
        .filter(|i| {
            key.iter().all(|k| {
                i.columns[..key.len()]
                    .iter()
                    .any(|c| c.eq_ignore_ascii_case(&k.name))
            })
        })
        .filter_map(|i| {
            let mut order = i.columns.clone();
            for pk in primary_key {
                if !order.iter().any(|c| c.eq_ignore_ascii_case(&pk.name)) {
                    order.push(pk.name.clone());
                }
            }
            order
                .iter()
                .all(|c| not_null(c))
                .then(|| (i.name.clone(), order))
        })
        // The narrowest index reads the fewest pages.
        .min_by_key(|(_, order)| order.len())
}

pub fn is_binary_type(data_type: &str) -> bool {
    matches!(
        data_type.to_ascii_lowercase().as_str(),
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" | "bit"
    )
}

/// One scanned row, values as the server sent them (binary protocol).
#[derive(Debug, Clone, PartialEq)]
pub struct ScannedRow {
    pub primary_key: Vec<Value>,
    /// In `--columns` order.
    pub key: Vec<Value>,
    /// The collation weight of each `by_weight` key column, `None` for the others.
    pub weights: Vec<Option<Value>>,
}

impl ScannedRow {
    /// The bytes a UNIQUE index compares; `None` when a key column is NULL
    /// (a UNIQUE index allows any number of those).
    pub fn collation_key(&self) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        self.collation_key_into(&mut out).then_some(out)
    }

    /// [`collation_key`](Self::collation_key) written into `out` (cleared first), so that
    /// a scan of millions of rows reuses one buffer; `false` for a NULL in the key.
    pub fn collation_key_into(&self, out: &mut Vec<u8>) -> bool {
        out.clear();
        for (value, weight) in self.key.iter().zip(&self.weights) {
            if *value == Value::NULL {
                return false;
            }
            // Each part is its length, then its bytes: ("ab","c") and ("a","bc") differ.
            let at = out.len();
            out.extend_from_slice(&[0; 8]);
            append_canonical(weight.as_ref().unwrap_or(value), out);
            let len = (out.len() - at - 8) as u64;
            out[at..at + 8].copy_from_slice(&len.to_le_bytes());
        }
        true
    }
}

/// Appends `value` so that equal values give equal bytes (0.0 and -0.0 are
/// one key, as in an index).
fn append_canonical(value: &Value, out: &mut Vec<u8>) {
    use std::io::Write;
    let float = |f: f64| (if f == 0.0 { 0.0 } else { f }).to_bits().to_le_bytes();
    match value {
        Value::NULL => out.push(0),
        Value::Bytes(b) => out.extend_from_slice(b),
        Value::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Value::UInt(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Float(f) => out.extend_from_slice(&float(f64::from(*f))),
        Value::Double(f) => out.extend_from_slice(&float(*f)),
        Value::Date(..) | Value::Time(..) => {
            out.extend_from_slice(display_value(value, false).as_bytes())
        }
    }
}

fn digest(key: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    key.hash(&mut hasher);
    hasher.finish()
}

/// Pass 1: how often each digest of a collation key occurs. About 20 bytes per
/// distinct key, whatever the key's length.
#[derive(Debug, Default)]
pub struct DigestCounter {
    counts: HashMap<u64, u32>,
    /// The current row's collation key (one buffer for the whole scan).
    scratch: Vec<u8>,
    pub rows_scanned: u64,
    /// Rows with a NULL in the key.
    pub null_keys: u64,
}

impl DigestCounter {
    pub fn add(&mut self, row: &ScannedRow) {
        self.rows_scanned += 1;
        if row.collation_key_into(&mut self.scratch) {
            let count = self.counts.entry(digest(&self.scratch)).or_insert(0);
            *count = count.saturating_add(1);
        } else {
            self.null_keys += 1;
        }
    }

    /// Bytes the table holds (entries and control bytes of its capacity).
    pub fn memory_bytes(&self) -> u64 {
        (self.counts.capacity() * (std::mem::size_of::<(u64, u32)>() + 1)) as u64
    }

    /// Digests seen more than once, and how many rows carry them (an upper
    /// bound on duplicated rows: a collision would only add candidates).
    pub fn candidates(self) -> Candidates {
        let mut digests = HashSet::new();
        let mut rows = 0;
        for (d, n) in self.counts {
            if n > 1 {
                digests.insert(d);
                rows += u64::from(n);
            }
        }
        Candidates { digests, rows }
    }
}

/// The digests pass 2 looks for.
#[derive(Debug, Default)]
pub struct Candidates {
    digests: HashSet<u64>,
    /// Rows pass 1 counted under those digests.
    pub rows: u64,
}

impl Candidates {
    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    pub fn len(&self) -> usize {
        self.digests.len()
    }
}

/// One key's rows as they are read.
#[derive(Debug)]
struct Accumulated {
    collation_key: Vec<u8>,
    count: u64,
    /// Distinct spellings of the key, first seen first.
    spellings: Vec<Vec<Value>>,
    /// In scan (primary-key) order: the first is the row a cleanup keeps.
    primary_keys: Vec<Vec<Value>>,
    /// Bytes held (estimated).
    memory: u64,
}

impl Accumulated {
    fn new(collation_key: Vec<u8>) -> Self {
        Accumulated {
            memory: collation_key.len() as u64 + 96,
            collation_key,
            count: 0,
            spellings: Vec::new(),
            primary_keys: Vec::new(),
        }
    }

    /// Counts `row`; returns the bytes it kept.
    fn add(&mut self, row: ScannedRow) -> u64 {
        let before = self.memory;
        self.count += 1;
        if self.spellings.len() < SPELLING_SAMPLE && !self.spellings.contains(&row.key) {
            self.memory += value_bytes(&row.key);
            self.spellings.push(row.key);
        }
        if self.primary_keys.len() < PK_KEPT {
            self.memory += value_bytes(&row.primary_key);
            self.primary_keys.push(row.primary_key);
        }
        self.memory - before
    }

    fn to_group(&self, columns: &[KeyColumn], pk_columns: &[KeyColumn]) -> DuplicateGroup {
        DuplicateGroup {
            key: display_row(&self.spellings[0], columns),
            spellings: self
                .spellings
                .iter()
                .map(|s| display_row(s, columns))
                .collect(),
            count: self.count,
            primary_keys: self
                .primary_keys
                .iter()
                .take(PK_SAMPLE)
                .map(|pk| display_row(pk, pk_columns).join(","))
                .collect(),
        }
    }
}

/// Most rows first, then by key.
fn by_count(groups: &mut [Accumulated]) {
    groups.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.collation_key.cmp(&b.collation_key))
    });
}

/// Totals over every duplicate group, the `limit` largest groups kept, and the
/// cleanup's rows (every primary key of a group but its first, lowest one).
#[derive(Debug, Default)]
struct Tally {
    limit: usize,
    kept: Vec<Accumulated>,
    groups: u64,
    duplicated_rows: u64,
    extra_rows: u64,
    to_remove: Vec<Vec<Value>>,
    /// Bytes held by `kept` and `to_remove` (estimated).
    memory: u64,
}

impl Tally {
    fn new(limit: usize) -> Self {
        Tally {
            limit,
            ..Default::default()
        }
    }

    fn close(&mut self, group: Accumulated) {
        if group.count < 2 {
            return;
        }
        self.groups += 1;
        self.duplicated_rows += group.count;
        self.extra_rows += group.count - 1;
        let room = CLEANUP_ROWS - self.to_remove.len();
        for pk in group.primary_keys.iter().skip(1).take(room) {
            self.memory += value_bytes(pk);
            self.to_remove.push(pk.clone());
        }
        self.memory += group.memory;
        self.kept.push(group);
        // Sorting only when twice the limit is held keeps this linear on average.
        if self.kept.len() >= 2 * self.limit.max(1) {
            by_count(&mut self.kept);
            for dropped in self.kept.drain(self.limit..) {
                self.memory -= dropped.memory;
            }
        }
    }

    fn finish(mut self, columns: &[KeyColumn], pk_columns: &[KeyColumn]) -> Duplicates {
        by_count(&mut self.kept);
        self.kept.truncate(self.limit);
        Duplicates {
            groups: self
                .kept
                .iter()
                .map(|g| g.to_group(columns, pk_columns))
                .collect(),
            duplicate_groups: self.groups,
            duplicated_rows: self.duplicated_rows,
            extra_rows: self.extra_rows,
            to_remove: self.to_remove,
        }
    }
}

/// Pass 2: the rows under candidate digests, grouped by their full collation key.
#[derive(Debug, Default)]
pub struct GroupCollector {
    candidates: Candidates,
    groups: HashMap<u64, Vec<Accumulated>>,
    memory: u64,
    /// The current row's collation key: copied only when it starts a group.
    scratch: Vec<u8>,
}

impl GroupCollector {
    pub fn new(candidates: Candidates) -> Self {
        GroupCollector {
            candidates,
            ..Default::default()
        }
    }

    pub fn add(&mut self, row: ScannedRow) {
        if !row.collation_key_into(&mut self.scratch) {
            return;
        }
        let d = digest(&self.scratch);
        if !self.candidates.digests.contains(&d) {
            return;
        }
        let bucket = self.groups.entry(d).or_default();
        let index = match bucket.iter().position(|g| g.collation_key == self.scratch) {
            Some(i) => i,
            None => {
                let group = Accumulated::new(self.scratch.clone());
                self.memory += group.memory;
                bucket.push(group);
                bucket.len() - 1
            }
        };
        self.memory += bucket[index].add(row);
    }

    /// Approximate bytes held by the groups and the candidate set.
    pub fn memory_bytes(&self) -> u64 {
        self.memory + (self.candidates.digests.capacity() * 9) as u64
    }

    /// The verified duplicates: the `limit` largest groups, the totals, the cleanup's rows.
    pub fn finish(
        self,
        columns: &[KeyColumn],
        pk_columns: &[KeyColumn],
        limit: usize,
    ) -> Duplicates {
        let mut groups: Vec<Accumulated> = self.groups.into_values().flatten().collect();
        // A stable order (most rows first), so that the cleanup lists rows the same way each run.
        by_count(&mut groups);
        let mut tally = Tally::new(limit);
        for g in groups {
            tally.close(g);
        }
        tally.finish(columns, pk_columns)
    }
}

/// One pass in the order of an index that starts with the key columns: equal
/// keys arrive together, so a group is complete when the key changes and only
/// the current group (and the `limit` largest) is held — memory does not grow
/// with the table.
#[derive(Debug)]
pub struct OrderedGrouper {
    current: Option<Accumulated>,
    /// The current row's collation key: copied only when it starts a group.
    scratch: Vec<u8>,
    tally: Tally,
    pub rows_scanned: u64,
    pub null_keys: u64,
    peak_memory: u64,
}

impl OrderedGrouper {
    pub fn new(limit: usize) -> Self {
        OrderedGrouper {
            current: None,
            scratch: Vec::new(),
            tally: Tally::new(limit),
            rows_scanned: 0,
            null_keys: 0,
            peak_memory: 0,
        }
    }

    pub fn add(&mut self, row: ScannedRow) {
        self.rows_scanned += 1;
        if !row.collation_key_into(&mut self.scratch) {
            self.null_keys += 1;
            return;
        }
        if self
            .current
            .as_ref()
            .is_none_or(|g| g.collation_key != self.scratch)
        {
            if let Some(done) = self.current.take() {
                self.tally.close(done);
            }
            self.current = Some(Accumulated::new(self.scratch.clone()));
        }
        if let Some(group) = &mut self.current {
            group.add(row);
        }
        let now = self.tally.memory + self.current.as_ref().map_or(0, |g| g.memory);
        self.peak_memory = self.peak_memory.max(now);
    }

    /// The most memory the groups held (estimated).
    pub fn memory_bytes(&self) -> u64 {
        self.peak_memory
    }

    pub fn finish(mut self, columns: &[KeyColumn], pk_columns: &[KeyColumn]) -> Duplicates {
        if let Some(done) = self.current.take() {
            self.tally.close(done);
        }
        self.tally.finish(columns, pk_columns)
    }
}

fn value_bytes(values: &[Value]) -> u64 {
    values
        .iter()
        .map(|v| match v {
            Value::Bytes(b) => b.len() as u64 + 32,
            _ => 32,
        })
        .sum::<u64>()
        + 24
}

/// The verified duplicates of a scan.
#[derive(Debug, Clone, Default)]
pub struct Duplicates {
    /// The largest groups, at most `limit`.
    pub groups: Vec<DuplicateGroup>,
    pub duplicate_groups: u64,
    pub duplicated_rows: u64,
    pub extra_rows: u64,
    /// Primary keys of the rows a cleanup removes (all but the lowest per
    /// group), at most `CLEANUP_ROWS`: every extra row when its length is `extra_rows`.
    pub to_remove: Vec<Vec<Value>>,
}

/// One key value seen more than once (under the column's collation).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct DuplicateGroup {
    /// The key as the first row (lowest primary key) spells it, in `--columns` order.
    pub key: Vec<String>,
    /// The distinct spellings that compare equal (at most 5), e.g. `pk_ABC` and `pk_abc`.
    pub spellings: Vec<Vec<String>>,
    pub count: u64,
    /// Primary-key values of the rows (at most 10, lowest first), composite keys joined by `,`.
    pub primary_keys: Vec<String>,
}

/// A value for people and JSON: text as it is, binary as `0x…` hex, dates as `YYYY-MM-DD HH:MM:SS[.ffffff]`.
pub fn display_value(value: &Value, binary: bool) -> String {
    match value {
        Value::NULL => "NULL".into(),
        Value::Bytes(b) => match std::str::from_utf8(b) {
            Ok(text) if !binary => text.to_string(),
            _ => format!("0x{}", hex(b)),
        },
        Value::Int(n) => n.to_string(),
        Value::UInt(n) => n.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Double(f) => f.to_string(),
        Value::Date(y, mo, d, h, mi, s, us) => {
            let mut text = format!("{y:04}-{mo:02}-{d:02}");
            if (*h, *mi, *s, *us) != (0, 0, 0, 0) {
                text.push_str(&format!(" {h:02}:{mi:02}:{s:02}"));
            }
            if *us != 0 {
                text.push_str(&format!(".{us:06}"));
            }
            text
        }
        Value::Time(neg, d, h, mi, s, us) => {
            let mut text = format!(
                "{}{:02}:{mi:02}:{s:02}",
                if *neg { "-" } else { "" },
                u32::from(*h) + d * 24
            );
            if *us != 0 {
                text.push_str(&format!(".{us:06}"));
            }
            text
        }
    }
}

fn display_row(values: &[Value], columns: &[KeyColumn]) -> Vec<String> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| display_value(v, columns.get(i).is_some_and(KeyColumn::is_binary)))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A value as an SQL literal that means the same under any `sql_mode`: text
/// with only `'` doubled, or `X'…'` when it holds a backslash, a control
/// character, invalid UTF-8 or comes from a binary column.
pub fn sql_literal(value: &Value, binary: bool) -> String {
    match value {
        Value::NULL => "NULL".into(),
        Value::Bytes(b) => match std::str::from_utf8(b) {
            Ok(text) if !binary && !text.chars().any(|c| c == '\\' || c.is_control()) => {
                format!("'{}'", text.replace('\'', "''"))
            }
            _ => format!("X'{}'", hex(b)),
        },
        Value::Int(_) | Value::UInt(_) | Value::Float(_) | Value::Double(_) => {
            display_value(value, false)
        }
        Value::Date(..) | Value::Time(..) => format!("'{}'", display_value(value, false)),
    }
}

/// The fix for duplicates when no unique index prevents them.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DupesFix {
    /// Advice to review, never run by lockdiag: a preview `SELECT` of exactly
    /// the rows that would go (all but the lowest primary key of each group),
    /// then `DELETE`s bounded by those primary keys, in batches. Absent without
    /// duplicates or without a primary key.
    pub cleanup: Option<String>,
    /// Rows the cleanup's DELETEs must affect together (compare ROW_COUNT()).
    pub cleanup_rows: u64,
    /// The cleanup covers every extra row (false: too many for one script, or
    /// over 1,000 in one group; run `dupes` again after it).
    pub cleanup_covers_all: bool,
    pub add_unique: String,
}

/// The result of a scan (`docs/json.md`, "dupes").
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DupesReport {
    pub schema: String,
    pub table: String,
    pub columns: Vec<String>,
    /// The collation that decided equality, per key column (`null`: compared by exact value).
    pub collations: Vec<Option<String>>,
    #[serde(rename = "where")]
    pub filter: Option<String>,
    pub primary_key: Vec<String>,
    /// A UNIQUE index whose columns are all among `columns`: duplicates are impossible.
    pub unique_index: Option<String>,
    /// The index the table was read through, in key order (one pass, memory
    /// independent of the table); `null`: read in primary-key order, two passes.
    pub read_through_index: Option<String>,
    pub rows_scanned: u64,
    /// Rows with a NULL in a key column (never duplicates for a UNIQUE index).
    pub rows_with_null_key: u64,
    pub chunks: u64,
    /// Table passes: 1 when no key repeated, 2 when the repeated ones were read again to verify them.
    pub passes: u32,
    /// The most memory the key tracking held (bytes, estimated from its tables).
    pub key_memory_bytes: u64,
    pub duplicate_groups: u64,
    /// Rows in duplicate groups.
    pub duplicated_rows: u64,
    /// Rows beyond one per key: what a cleanup removes.
    pub extra_rows: u64,
    pub groups: Vec<DuplicateGroup>,
    pub groups_omitted: u64,
    /// Stopped early (Ctrl-C): the figures cover the rows scanned so far, and no group is listed.
    pub interrupted: bool,
    pub elapsed_ms: u64,
    pub fix: Option<DupesFix>,
}

/// A unique index whose columns are all among `columns` already makes duplicates impossible.
pub fn covering_unique_index<'a>(
    unique_indexes: &'a [(String, Vec<String>)],
    columns: &[String],
) -> Option<&'a str> {
    unique_indexes
        .iter()
        .find(|(_, cols)| {
            !cols.is_empty()
                && cols
                    .iter()
                    .all(|c| columns.iter().any(|k| k.eq_ignore_ascii_case(c)))
        })
        .map(|(name, _)| name.as_str())
}

/// `ALTER TABLE … ADD UNIQUE KEY` for the key columns.
pub fn add_unique_statement(schema: &str, table: &str, columns: &[String]) -> String {
    let key_name = format!("uk_{}_{}", table, columns.join("_"));
    format!(
        "ALTER TABLE {}.{} ADD UNIQUE KEY {} ({})",
        quote_ident(schema),
        quote_ident(table),
        quote_ident(&key_name),
        columns
            .iter()
            .map(|c| quote_ident(c))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// The cleanup script for `rows` (primary keys): a preview, then batched DELETEs.
pub fn cleanup_statements(
    schema: &str,
    table: &str,
    key_columns: &[String],
    pk_columns: &[KeyColumn],
    rows: &[Vec<Value>],
) -> Option<String> {
    if rows.is_empty() || pk_columns.is_empty() {
        return None;
    }
    let qualified = format!("{}.{}", quote_ident(schema), quote_ident(table));
    let pk_names: Vec<String> = pk_columns.iter().map(|c| quote_ident(&c.name)).collect();
    let target = if pk_names.len() == 1 {
        pk_names[0].clone()
    } else {
        format!("({})", pk_names.join(", "))
    };
    let tuple = |pk: &Vec<Value>| {
        let values: Vec<String> = pk
            .iter()
            .zip(pk_columns)
            .map(|(v, c)| sql_literal(v, c.is_binary()))
            .collect();
        if values.len() == 1 {
            values[0].clone()
        } else {
            format!("({})", values.join(", "))
        }
    };
    let list = |batch: &[Vec<Value>]| batch.iter().map(tuple).collect::<Vec<_>>().join(", ");
    let shown: Vec<String> = pk_names
        .iter()
        .cloned()
        .chain(key_columns.iter().map(|c| quote_ident(c)))
        .collect();
    let mut script = format!(
        "-- Review first: the {n} row(s) that would go (each group keeps its lowest primary key).\n\
         SELECT {} FROM {qualified} WHERE {target} IN ({}) ORDER BY {};\n\
         -- Then, in one transaction, check that ROW_COUNT() sums to {n} before COMMIT.\n\
         START TRANSACTION;\n",
        shown.join(", "),
        list(rows),
        pk_names.join(", "),
        n = rows.len(),
    );
    for batch in rows.chunks(CLEANUP_BATCH) {
        script.push_str(&format!(
            "DELETE FROM {qualified} WHERE {target} IN ({}) LIMIT {};\n",
            list(batch),
            batch.len()
        ));
    }
    script.push_str("COMMIT;");
    Some(script)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Value {
        Value::Bytes(s.as_bytes().to_vec())
    }

    fn column(name: &str, data_type: &str, collation: Option<&str>) -> KeyColumn {
        KeyColumn {
            name: name.into(),
            data_type: data_type.into(),
            collation: collation.map(str::to_string),
            nullable: false,
        }
    }

    #[test]
    fn keyset_and_index_choice() {
        let k = column("k", "varchar", Some("utf8mb4_general_ci"));
        let id = column("id", "int", None);
        let mut nullable = column("n", "int", None);
        nullable.nullable = true;
        let all = [k.clone(), id.clone(), nullable.clone()];
        let index = |name: &str, cols: &[&str], whole: bool| IndexInfo {
            name: name.into(),
            unique: false,
            columns: cols.iter().map(|c| c.to_string()).collect(),
            whole_and_ascending: whole,
        };
        let pk = [id.clone()];
        let key = [k.clone()];
        let chosen = ordered_index(
            &[index("wide", &["k", "n"], true), index("ik", &["k"], true)],
            &key,
            &all,
            &pk,
        );
        assert_eq!(chosen, Some(("ik".into(), vec!["k".into(), "id".into()])));
        // A prefix index, a nullable order column, or one not starting with the key: none.
        assert_eq!(
            ordered_index(&[index("ik", &["k"], false)], &key, &all, &pk),
            None
        );
        assert_eq!(
            ordered_index(&[index("w", &["k", "n"], true)], &key, &all, &pk),
            None
        );
        assert_eq!(
            ordered_index(&[index("x", &["id", "k"], true)], &key, &all, &pk),
            None
        );
    }

    /// Rows as (primary key, spelling, weight): the weight stands in for the server's WEIGHT_STRING.
    fn scan(rows: &[(i64, &str, &str)]) -> (DigestCounter, Vec<ScannedRow>) {
        let rows: Vec<ScannedRow> = rows
            .iter()
            .map(|(pk, spelling, weight)| ScannedRow {
                primary_key: vec![Value::Int(*pk)],
                key: vec![if spelling.is_empty() {
                    Value::NULL
                } else {
                    text(spelling)
                }],
                weights: vec![Some(text(weight))],
            })
            .collect();
        let mut counter = DigestCounter::default();
        for r in &rows {
            counter.add(r);
        }
        (counter, rows)
    }

    #[test]
    fn groups_by_weight_keep_spellings_and_skip_nulls() {
        let (counter, rows) = scan(&[
            (1, "pk_ABC", "PK_ABC"),
            (2, "pk_x", "PK_X"),
            (3, "pk_abc", "PK_ABC"),
            (4, "", ""),
            (5, "pk_y", "PK_Y"),
            (6, "pk_x ", "PK_X"),
            (7, "pk_Abc", "PK_ABC"),
            (8, "", ""),
        ]);
        assert_eq!((counter.rows_scanned, counter.null_keys), (8, 2));
        let mut collector = GroupCollector::new(counter.candidates());
        for r in rows {
            collector.add(r);
        }
        let columns = [column("k", "varchar", Some("utf8mb4_general_ci"))];
        let pk = [column("id", "int", None)];
        let found = collector.finish(&columns, &pk, 20);
        assert_eq!(
            (found.groups.len(), found.duplicated_rows, found.extra_rows),
            (2, 5, 3)
        );
        let first = &found.groups[0];
        assert_eq!(
            (first.key.clone(), first.count),
            (vec!["pk_ABC".to_string()], 3)
        );
        assert_eq!(first.spellings.len(), 3);
        assert_eq!(first.primary_keys, vec!["1", "3", "7"]);
        assert_eq!(found.to_remove.len() as u64, found.extra_rows);
        // All but the lowest primary key of each group.
        let mut removed: Vec<String> = found
            .to_remove
            .iter()
            .map(|pk| display_value(&pk[0], false))
            .collect();
        removed.sort();
        assert_eq!(removed, vec!["3", "6", "7"]);
        let script =
            cleanup_statements("shop", "payments", &["k".into()], &pk, &found.to_remove).unwrap();
        assert!(
            script.contains("DELETE FROM `shop`.`payments` WHERE `id` IN ("),
            "{script}"
        );
        assert!(script.contains("LIMIT 3;"), "{script}");
        assert!(script.contains("sums to 3"), "{script}");
    }

    #[test]
    fn literals_and_display_are_exact() {
        assert_eq!(sql_literal(&text("it's"), false), "'it''s'");
        assert_eq!(sql_literal(&text("a\\b"), false), "X'615c62'");
        assert_eq!(sql_literal(&Value::Bytes(vec![0, 255]), false), "X'00ff'");
        assert_eq!(sql_literal(&text("abc"), true), "X'616263'");
        assert_eq!(
            sql_literal(&Value::Date(2024, 1, 2, 3, 4, 5, 600), false),
            "'2024-01-02 03:04:05.000600'"
        );
        assert_eq!(
            display_value(&Value::Bytes(vec![0xde, 0xad]), true),
            "0xdead"
        );
        assert_eq!(
            display_value(&Value::Date(2024, 1, 2, 0, 0, 0, 0), false),
            "2024-01-02"
        );
        assert_eq!(
            display_value(&Value::UInt(u64::MAX), false),
            u64::MAX.to_string()
        );
        // 0.0 and -0.0 are one key, as in an index.
        let row = |f: f64| ScannedRow {
            primary_key: vec![],
            key: vec![Value::Double(f)],
            weights: vec![None],
        };
        assert_eq!(row(0.0).collation_key(), row(-0.0).collation_key());
        // Composite keys: ("ab","c") and ("a","bc") differ.
        let pair = |a: &str, b: &str| ScannedRow {
            primary_key: vec![],
            key: vec![text(a), text(b)],
            weights: vec![None, None],
        };
        assert_ne!(
            pair("ab", "c").collation_key(),
            pair("a", "bc").collation_key()
        );
    }

    #[test]
    fn pad_attribute_and_weights() {
        let ci = column("k", "varchar", Some("utf8mb4_general_ci"));
        assert!(ci.by_weight() && ci.pad_space());
        assert_eq!(
            ci.weight_sql(),
            "WEIGHT_STRING(TRIM(TRAILING ' ' FROM `k`))"
        );
        let nopad = column("k", "varchar", Some("utf8mb4_nopad_bin"));
        assert!(!nopad.pad_space());
        assert_eq!(nopad.weight_sql(), "WEIGHT_STRING(`k`)");
        assert!(!column("k", "varchar", Some("utf8mb4_0900_ai_ci")).pad_space());
        assert!(!column("k", "enum", Some("utf8mb4_general_ci")).by_weight());
        assert!(!column("k", "binary", None).by_weight());
        assert!(column("k", "varbinary", None).is_binary());
    }

    #[test]
    fn unique_coverage_and_alter() {
        let cols = vec!["order_id".to_string(), "payment_key".to_string()];
        let indexes = vec![
            (
                "idx_order".to_string(),
                vec!["order_id".to_string(), "created_at".to_string()],
            ),
            (
                "uk_paid".to_string(),
                vec!["order_id".to_string(), "payment_key".to_string()],
            ),
        ];
        assert_eq!(covering_unique_index(&indexes, &cols), Some("uk_paid"));
        assert_eq!(covering_unique_index(&indexes[..1], &cols), None);
        assert_eq!(
            add_unique_statement("shop", "payments", &["payment_key".into()]),
            "ALTER TABLE `shop`.`payments` ADD UNIQUE KEY `uk_payments_payment_key` (`payment_key`)"
        );
        assert_eq!(quote_ident("we`ird"), "`we``ird`");
    }
}
