//! The server's table names, read only when a name the user typed matched
//! nothing: to tell a mistyped table (an error, with the closest names) from
//! one that simply has no locks right now.

use std::time::Duration;

use mysql_async::{Params, Pool};

use crate::model::Flavour;

use super::query::{fetch, QueryError};

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
