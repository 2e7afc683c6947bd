//! Rows as plain records (column name → text), so that every mapping from a
//! server's rows to the model is a pure function, testable on captured rows.

use std::collections::BTreeMap;

use mysql_async::{Row, Value};

/// One result row: column label → value as text (`None` for NULL).
pub type Record = BTreeMap<String, Option<String>>;

pub fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::NULL => None,
        Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::Int(n) => Some(n.to_string()),
        Value::UInt(n) => Some(n.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Double(f) => Some(f.to_string()),
        Value::Date(y, mo, d, h, mi, s, us) => Some(format!(
            "{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}"
        )),
        Value::Time(neg, d, h, mi, s, _) => Some(format!(
            "{}{:02}:{mi:02}:{s:02}",
            if *neg { "-" } else { "" },
            u32::from(*h) + d * 24
        )),
    }
}

pub fn to_record(row: Row) -> Record {
    let columns = row.columns();
    let values = row.unwrap();
    columns
        .iter()
        .zip(values.iter())
        .map(|(c, v)| (c.name_str().to_lowercase(), value_text(v)))
        .collect()
}

/// Typed access to a record's columns; absent, NULL or unparsable is `None`.
pub trait RecordExt {
    fn text(&self, column: &str) -> Option<String>;
    fn num(&self, column: &str) -> Option<u64>;
}

impl RecordExt for Record {
    fn text(&self, column: &str) -> Option<String> {
        self.get(column).cloned().flatten()
    }

    fn num(&self, column: &str) -> Option<u64> {
        let text = self.get(column)?.as_deref()?.trim();
        text.parse::<u64>().ok().or_else(|| {
            text.parse::<f64>()
                .ok()
                .filter(|f| *f >= 0.0)
                .map(|f| f as u64)
        })
    }
}
