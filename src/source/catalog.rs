//! What lockdiag asks the server's catalog: the table names, read only when a
//! name the user typed matched nothing (to tell a mistyped table, an error
//! with the closest names, from one that simply has no locks right now); and
//! the definitions of the indexes a deadlock's locks name (a print does not
//! say whether an index is unique, and the advice depends on it).

use std::time::Duration;

use mysql_async::{Params, Pool};

use crate::model::{Flavour, IndexDefinition};

use super::query::{fetch, QueryError};
use super::rows::Record;

/// Every user table the account can see, as `(schema, table)`.
pub async fn user_tables(
    pool: &Pool,
    flavour: Flavour,
    timeout: Duration,
) -> Result<Vec<(String, String)>, QueryError> {
    let sql = include_str!("../../queries/table_names.sql");
    let (rows, _) = fetch(pool, sql, Params::Empty, Some(flavour), timeout).await?;
    Ok(rows
        .iter()
        .filter_map(|r| Some((r.text("table_schema")?, r.text("table_name")?)))
        .collect())
}

/// The definitions of the named indexes, as `(schema, table, index)`: one
/// statement each (a deadlock names one to a few). An index the account cannot
/// see (no privilege on its table, dropped since) is left out: unknown.
pub async fn index_definitions(
    pool: &Pool,
    flavour: Flavour,
    names: &[(String, String, String)],
    timeout: Duration,
) -> Result<Vec<IndexDefinition>, QueryError> {
    let sql = include_str!("../../queries/index_definition.sql");
    let mut found = Vec::new();
    for (schema, table, index) in names {
        let params = Params::Positional(vec![
            schema.as_str().into(),
            table.as_str().into(),
            index.as_str().into(),
        ]);
        let (rows, _) = fetch(pool, sql, params, Some(flavour), timeout).await?;
        found.extend(index_definition(schema, table, index, &rows));
    }
    Ok(found)
}

/// The rows of `queries/index_definition.sql` as one definition; `None` without rows.
pub fn index_definition(
    schema: &str,
    table: &str,
    index: &str,
    rows: &[Record],
) -> Option<IndexDefinition> {
    let first = rows.first()?;
    Some(IndexDefinition {
        schema: schema.to_string(),
        table: table.to_string(),
        index: index.to_string(),
        unique: index == "PRIMARY" || first.int("non_unique") == Some(0),
        columns: rows
            .iter()
            .map(|r| {
                r.text("column_name")
                    .unwrap_or_else(|| "(expression)".into())
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_one_index_make_its_definition() {
        let row = |non_unique: &str, seq: &str, column: Option<&str>| {
            Record::from_pairs(&[
                ("non_unique", Some(non_unique)),
                ("seq_in_index", Some(seq)),
                ("column_name", column),
            ])
        };
        let unique = index_definition(
            "shop",
            "paid_events",
            "uk_paid_events_order_payment",
            &[
                row("0", "1", Some("order_id")),
                row("0", "2", Some("payment_key")),
            ],
        )
        .unwrap();
        assert!(unique.unique);
        assert_eq!(unique.columns, ["order_id", "payment_key"]);
        let plain = index_definition(
            "shop",
            "seller_settlements",
            "idx_product_status",
            &[row("1", "1", Some("product_id")), row("1", "2", None)],
        )
        .unwrap();
        assert!(!plain.unique);
        assert_eq!(plain.columns, ["product_id", "(expression)"]);
        assert_eq!(index_definition("shop", "t", "gone", &[]), None);
    }
}
