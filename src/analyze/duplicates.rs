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
        for (value, weight) in self.key.iter().zip(&self.weights) {
            if *value == Value::NULL {
                return None;
            }
            let part = canonical_bytes(weight.as_ref().unwrap_or(value));
            out.extend_from_slice(&(part.len() as u64).to_le_bytes());
            out.extend_from_slice(&part);
        }
        Some(out)
    }
}

/// Equal values give equal bytes (0.0 and -0.0 are one key, as in an index).
fn canonical_bytes(value: &Value) -> Vec<u8> {
    match value {
        Value::NULL => vec![0],
        Value::Bytes(b) => b.clone(),
        Value::Int(n) => n.to_string().into_bytes(),
        Value::UInt(n) => n.to_string().into_bytes(),
        Value::Float(f) => (if *f == 0.0 { 0.0 } else { *f })
            .to_bits()
            .to_le_bytes()
            .to_vec(),
        Value::Double(f) => (if *f == 0.0 { 0.0 } else { *f })
            .to_bits()
            .to_le_bytes()
            .to_vec(),
        Value::Date(..) | Value::Time(..) => display_value(value, false).into_bytes(),
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
    pub rows_scanned: u64,
    /// Rows with a NULL in the key.
    pub null_keys: u64,
}

impl DigestCounter {
    pub fn add(&mut self, row: &ScannedRow) {
        self.rows_scanned += 1;
        match row.collation_key() {
            Some(key) => {
                let count = self.counts.entry(digest(&key)).or_insert(0);
                *count = count.saturating_add(1);
            }
            None => self.null_keys += 1,
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

#[derive(Debug)]
struct Accumulated {
    collation_key: Vec<u8>,
    count: u64,
    /// Distinct spellings of the key, first seen first.
    spellings: Vec<Vec<Value>>,
    /// In scan (primary-key) order: the first is the row a cleanup keeps.
    primary_keys: Vec<Vec<Value>>,
}

/// Pass 2: the rows under candidate digests, grouped by their full collation key.
#[derive(Debug, Default)]
pub struct GroupCollector {
    candidates: Candidates,
    groups: HashMap<u64, Vec<Accumulated>>,
    memory: u64,
}

impl GroupCollector {
    pub fn new(candidates: Candidates) -> Self {
        GroupCollector {
            candidates,
            ..Default::default()
        }
    }

    pub fn add(&mut self, row: ScannedRow) {
        let Some(key) = row.collation_key() else {
            return;
        };
        let d = digest(&key);
        if !self.candidates.digests.contains(&d) {
            return;
        }
        let bucket = self.groups.entry(d).or_default();
        let index = match bucket.iter().position(|g| g.collation_key == key) {
            Some(i) => i,
            None => {
                self.memory += key.len() as u64 + 64;
                bucket.push(Accumulated {
                    collation_key: key,
                    count: 0,
                    spellings: Vec::new(),
                    primary_keys: Vec::new(),
                });
                bucket.len() - 1
            }
        };
        let group = &mut bucket[index];
        group.count += 1;
        if group.spellings.len() < SPELLING_SAMPLE && !group.spellings.contains(&row.key) {
            self.memory += value_bytes(&row.key);
            group.spellings.push(row.key);
        }
        if group.primary_keys.len() < PK_KEPT {
            self.memory += value_bytes(&row.primary_key);
            group.primary_keys.push(row.primary_key);
        }
    }

    /// Approximate bytes held by the groups and the candidate set.
    pub fn memory_bytes(&self) -> u64 {
        self.memory + (self.candidates.digests.capacity() * 9) as u64
    }

    /// The verified duplicates: groups, most rows first (then by key), and the cleanup's rows.
    pub fn finish(self, columns: &[KeyColumn], pk_columns: &[KeyColumn]) -> Duplicates {
        let mut groups: Vec<Accumulated> = self
            .groups
            .into_values()
            .flatten()
            .filter(|g| g.count > 1)
            .collect();
        groups.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.collation_key.cmp(&b.collation_key))
        });
        let duplicated_rows = groups.iter().map(|g| g.count).sum();
        let extra_rows = groups.iter().map(|g| g.count - 1).sum();
        // The cleanup removes every kept primary key but the first (lowest) of each group.
        let to_remove: Vec<Vec<Value>> = groups
            .iter()
            .flat_map(|g| g.primary_keys.iter().skip(1).cloned())
            .take(CLEANUP_ROWS)
            .collect();
        let shown = groups
            .iter()
            .map(|g| DuplicateGroup {
                key: display_row(&g.spellings[0], columns),
                spellings: g
                    .spellings
                    .iter()
                    .map(|s| display_row(s, columns))
                    .collect(),
                count: g.count,
                primary_keys: g
                    .primary_keys
                    .iter()
                    .take(PK_SAMPLE)
                    .map(|pk| display_row(pk, pk_columns).join(","))
                    .collect(),
            })
            .collect();
        Duplicates {
            groups: shown,
            duplicated_rows,
            extra_rows,
            to_remove,
        }
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

/// What pass 2 found.
#[derive(Debug, Clone, Default)]
pub struct Duplicates {
    pub groups: Vec<DuplicateGroup>,
    pub duplicated_rows: u64,
    pub extra_rows: u64,
    /// Primary keys of the rows a cleanup removes (all but the lowest per
    /// group), at most `CLEANUP_ROWS`: every extra row when its length is `extra_rows`.
    pub to_remove: Vec<Vec<Value>>,
}

/// One key value seen more than once (under the column's collation).
#[derive(Debug, Clone, PartialEq, Serialize)]
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
#[derive(Debug, Clone, Serialize)]
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
#[derive(Debug, Clone, Serialize)]
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

/// Backtick-quotes an identifier (doubling any backtick inside).
pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
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
        }
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
        let found = collector.finish(&columns, &pk);
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
