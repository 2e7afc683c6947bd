//! Duplicate keys: grouping scanned rows by key, and what a fix needs.

use std::collections::HashMap;

use serde::Serialize;

/// Primary-key values kept per duplicate group.
pub const PK_SAMPLE: usize = 10;

/// One key value seen more than once.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DuplicateGroup {
    /// The key's values, in `--columns` order.
    pub key: Vec<String>,
    pub count: u64,
    /// Primary-key values of the rows (at most 10), each as the PK columns joined by `,`.
    pub primary_keys: Vec<String>,
}

/// The fix for duplicates when no unique index prevents them.
#[derive(Debug, Clone, Serialize)]
pub struct DupesFix {
    /// Removes all but the row with the lowest primary key of each group (single-column keys only).
    pub cleanup: Option<String>,
    pub add_unique: String,
}

/// The result of a scan (`docs/json.md`, "dupes").
#[derive(Debug, Clone, Serialize)]
pub struct DupesReport {
    pub schema: String,
    pub table: String,
    pub columns: Vec<String>,
    #[serde(rename = "where")]
    pub filter: Option<String>,
    pub primary_key: Vec<String>,
    /// A UNIQUE index whose columns are all among `columns`: duplicates are impossible.
    pub unique_index: Option<String>,
    pub rows_scanned: u64,
    /// Rows with a NULL in a key column (never duplicates for a UNIQUE index).
    pub rows_with_null_key: u64,
    pub chunks: u64,
    pub duplicate_groups: u64,
    /// Rows in duplicate groups.
    pub duplicated_rows: u64,
    /// Rows beyond one per key: what a cleanup removes.
    pub extra_rows: u64,
    pub groups: Vec<DuplicateGroup>,
    pub groups_omitted: u64,
    /// Stopped early (Ctrl-C): the figures cover the rows scanned so far.
    pub interrupted: bool,
    pub elapsed_ms: u64,
    pub fix: Option<DupesFix>,
}

/// Accumulates rows chunk by chunk; memory grows with distinct keys.
#[derive(Debug, Default)]
pub struct DuplicateCounter {
    groups: HashMap<Vec<String>, (u64, Vec<String>)>,
    pub rows_scanned: u64,
    /// Rows with a NULL in the key: a UNIQUE index allows any number of those.
    pub null_keys: u64,
}

impl DuplicateCounter {
    pub fn add(&mut self, key: Vec<Option<String>>, primary_key: String) {
        self.rows_scanned += 1;
        let Some(key) = key.into_iter().collect::<Option<Vec<String>>>() else {
            self.null_keys += 1;
            return;
        };
        let entry = self.groups.entry(key).or_insert((0, Vec::new()));
        entry.0 += 1;
        if entry.1.len() < PK_SAMPLE {
            entry.1.push(primary_key);
        }
    }

    /// Groups seen more than once, most rows first; and (groups, rows in them, rows beyond one per key).
    pub fn duplicates(&self) -> (Vec<DuplicateGroup>, u64, u64, u64) {
        let mut groups: Vec<DuplicateGroup> = self
            .groups
            .iter()
            .filter(|(_, (count, _))| *count > 1)
            .map(|(key, (count, pks))| DuplicateGroup {
                key: key.clone(),
                count: *count,
                primary_keys: pks.clone(),
            })
            .collect();
        groups.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
        let rows: u64 = groups.iter().map(|g| g.count).sum();
        let extra: u64 = groups.iter().map(|g| g.count - 1).sum();
        (groups.clone(), groups.len() as u64, rows, extra)
    }
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

/// The statements a fix needs: remove the extra rows (keeping the lowest primary key), then add the key.
pub fn suggested_fix(
    schema: &str,
    table: &str,
    columns: &[String],
    primary_key: &[String],
) -> (Option<String>, String) {
    let qualified = format!("{}.{}", quote_ident(schema), quote_ident(table));
    let key_name = format!("uk_{}_{}", table, columns.join("_"));
    let alter = format!(
        "ALTER TABLE {qualified} ADD UNIQUE KEY {} ({})",
        quote_ident(&key_name),
        columns
            .iter()
            .map(|c| quote_ident(c))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let cleanup = match primary_key {
        [pk] => Some(format!(
            "DELETE newer FROM {qualified} newer JOIN {qualified} older ON {} AND newer.{pk} > older.{pk}",
            columns.iter().map(|c| format!("newer.{c} = older.{c}", c = quote_ident(c))).collect::<Vec<_>>().join(" AND "),
            pk = quote_ident(pk)
        )),
        _ => None,
    };
    (cleanup, alter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_count_and_nulls_are_not_duplicates() {
        let mut c = DuplicateCounter::default();
        for (key, pk) in [
            ("a", "1"),
            ("b", "2"),
            ("a", "3"),
            ("c", "4"),
            ("a", "5"),
            ("c", "6"),
        ] {
            c.add(vec![Some(key.to_string())], pk.to_string());
        }
        c.add(vec![None], "7".into());
        c.add(vec![None], "8".into());
        let (groups, n, rows, extra) = c.duplicates();
        assert_eq!(
            (n, rows, extra, c.rows_scanned, c.null_keys),
            (2, 5, 3, 8, 2)
        );
        assert_eq!(groups[0].key, vec!["a"]);
        assert_eq!(groups[0].primary_keys, vec!["1", "3", "5"]);
    }

    #[test]
    fn unique_coverage_and_fix() {
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
        let (cleanup, alter) = suggested_fix(
            "shop",
            "payments",
            &["payment_key".into()],
            &["payment_id".into()],
        );
        assert_eq!(alter, "ALTER TABLE `shop`.`payments` ADD UNIQUE KEY `uk_payments_payment_key` (`payment_key`)");
        assert!(cleanup
            .unwrap()
            .contains("newer.`payment_id` > older.`payment_id`"));
        assert_eq!(quote_ident("we`ird"), "`we``ird`");
    }
}
