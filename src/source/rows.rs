//! Rows as plain records (column name → text), so that every mapping from a
//! server's rows to the model is a pure function, testable on captured rows.

use std::sync::Arc;

use mysql_async::{Row, Value};

/// One result row: values as text (`None` for NULL) under the result's column
/// labels (lower-cased, shared by all rows of a result). Lock-wait tables can
/// return 10⁵ rows, so a row costs one vector and no per-column key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Record {
    columns: Arc<[String]>,
    values: Vec<Option<String>>,
}

impl Record {
    /// A record from `(column, value)` pairs (tests, captured rows).
    pub fn from_pairs(pairs: &[(&str, Option<&str>)]) -> Record {
        Record {
            columns: pairs.iter().map(|(c, _)| c.to_lowercase()).collect(),
            values: pairs.iter().map(|(_, v)| v.map(str::to_string)).collect(),
        }
    }

    /// The value of a column, borrowed; absent or NULL is `None`.
    pub fn str(&self, column: &str) -> Option<&str> {
        let i = self.columns.iter().position(|c| c == column)?;
        self.values.get(i)?.as_deref()
    }

    pub fn text(&self, column: &str) -> Option<String> {
        self.str(column).map(str::to_string)
    }

    /// A signed whole number; absent, NULL or unparsable is `None`.
    pub fn int(&self, column: &str) -> Option<i64> {
        self.str(column)?.trim().parse().ok()
    }

    /// A non-negative number (integers, or decimals rounded down); absent, NULL or unparsable is `None`.
    pub fn num(&self, column: &str) -> Option<u64> {
        let text = self.str(column)?.trim();
        text.parse::<u64>().ok().or_else(|| {
            text.parse::<f64>()
                .ok()
                .filter(|f| *f >= 0.0)
                .map(|f| f as u64)
        })
    }
}

fn value_text(value: Value) -> Option<String> {
    match value {
        Value::NULL => None,
        // Moved, not copied, when the bytes are UTF-8.
        Value::Bytes(b) => Some(
            String::from_utf8(b)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        ),
        Value::Int(n) => Some(n.to_string()),
        Value::UInt(n) => Some(n.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Double(f) => Some(f.to_string()),
        // As the text protocol prints a DATETIME without fractional seconds: the same
        // value reads the same whether it came through a prepared statement or not.
        Value::Date(y, mo, d, h, mi, s, 0) => {
            Some(format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}"))
        }
        Value::Date(y, mo, d, h, mi, s, us) => Some(format!(
            "{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}"
        )),
        Value::Time(neg, d, h, mi, s, _) => Some(format!(
            "{}{:02}:{mi:02}:{s:02}",
            if neg { "-" } else { "" },
            u32::from(h) + d * 24
        )),
    }
}

/// Converts a result set, sharing one column list among its rows.
pub fn to_records(rows: Vec<Row>) -> Vec<Record> {
    let Some(first) = rows.first() else {
        return Vec::new();
    };
    let columns: Arc<[String]> = first
        .columns_ref()
        .iter()
        .map(|c| c.name_str().to_lowercase())
        .collect();
    rows.into_iter()
        .map(|row| Record {
            columns: columns.clone(),
            values: row.unwrap().into_iter().map(value_text).collect(),
        })
        .collect()
}
