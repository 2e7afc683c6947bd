//! The duplicate-key scan's reads: the table's catalog rows, and the table
//! itself in primary-key (or key-index) chunks of plain consistent reads — no
//! locking clause, autocommit: no row locks, no read view held between chunks —
//! each chunk time-limited. Values travel in the binary protocol and the next
//! chunk's bound is the exact key read last, so binary, decimal and date keys
//! page exactly. What the rows mean (groups, digests, the fix) is
//! `analyze::duplicates`; `act::dupes` wires the two.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mysql_async::{Params, Pool, Value};
use thiserror::Error;

use crate::model::{quote_ident, Flavour};

use super::query::{fetch, fetch_values, statement_text, QueryError};
use super::rows::Record;

/// The table as the server spells it and InnoDB's estimate of its rows; `None`
/// when no table of that name is visible (matched case-insensitively, the exact
/// spelling first).
pub async fn locate_table(
    pool: &Pool,
    flavour: Flavour,
    schema: &str,
    table: &str,
    timeout: Duration,
) -> Result<Option<(String, String, u64)>, QueryError> {
    let params = Params::Positional(vec![schema.into(), table.into()]);
    let sql = include_str!("../../queries/dupes_table.sql");
    let (rows, _) = fetch(pool, sql, params, Some(flavour), timeout).await?;
    let spelled = |r: &Record| Some((r.text("table_schema")?, r.text("table_name")?));
    let found = rows
        .iter()
        .find(|r| spelled(r) == Some((schema.to_string(), table.to_string())))
        .or_else(|| rows.first());
    Ok(found.and_then(|r| {
        let (schema, table) = spelled(r)?;
        Some((schema, table, r.num("table_rows").unwrap_or(0)))
    }))
}

/// What the catalog is asked about a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableCatalog {
    /// Its columns (`queries/dupes_columns.sql`).
    Columns,
    /// Its index parts, in index order (`queries/dupes_indexes.sql`).
    Indexes,
}

/// The catalog's rows about one table.
pub async fn table_catalog(
    pool: &Pool,
    flavour: Flavour,
    part: TableCatalog,
    schema: &str,
    table: &str,
    timeout: Duration,
) -> Result<Vec<Record>, QueryError> {
    let sql = match part {
        TableCatalog::Columns => include_str!("../../queries/dupes_columns.sql"),
        TableCatalog::Indexes => include_str!("../../queries/dupes_indexes.sql"),
    };
    let params = Params::Positional(vec![schema.into(), table.into()]);
    Ok(fetch(pool, sql, params, Some(flavour), timeout).await?.0)
}

/// `queries/dupes_chunk.sql` filled in: the selected expressions, the table (with
/// its `FORCE INDEX`), the filter, the order and the chunk size; the lower bound
/// (`{after}`) is filled per chunk.
pub fn chunk_statement(
    select: &[String],
    table: &str,
    filter: &str,
    order: &[String],
    chunk: u64,
) -> String {
    let order_sql = if order.is_empty() {
        "NULL".to_string()
    } else {
        order
            .iter()
            .map(|c| quote_ident(c))
            .collect::<Vec<_>>()
            .join(", ")
    };
    statement_text(include_str!("../../queries/dupes_chunk.sql"))
        .replace("{select}", &select.join(", "))
        .replace("{table}", table)
        .replace("{filter}", filter)
        .replace("{order}", &order_sql)
        .replace("{chunk}", &chunk.to_string())
}

/// `(a > ?) OR (a = ? AND b > ?) OR …`: the rows after a bound in the order of
/// `columns`. Spelled out rather than `(a, b) > (?, ?)`, which MariaDB reads
/// from the start of the index on every chunk.
pub fn keyset_after(columns: &[String]) -> String {
    (0..columns.len())
        .map(|i| {
            let mut terms: Vec<String> = columns[..i]
                .iter()
                .map(|c| format!("{} = ?", quote_ident(c)))
                .collect();
            terms.push(format!("{} > ?", quote_ident(&columns[i])));
            format!("({})", terms.join(" AND "))
        })
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// The parameters of [`keyset_after`] for the bound `values`.
pub fn keyset_params(values: &[Value]) -> Vec<Value> {
    (0..values.len())
        .flat_map(|i| values[..=i].iter().cloned())
        .collect()
}

/// One pass over the table, chunk by chunk in the order of an index (the
/// primary key, or one starting with the key columns), or in one
/// time-limited read without a primary key.
pub struct ChunkedRead<'a> {
    pub pool: &'a Pool,
    pub flavour: Flavour,
    pub timeout: Duration,
    /// The statement with everything but the chunk's lower bound filled in ([`chunk_statement`]).
    pub template: String,
    /// The order's columns; their values close each row, and the last row's are the next bound.
    pub order: Vec<String>,
    /// `schema.table`, for messages.
    pub table: String,
    pub filter_params: Vec<Value>,
    pub chunk_rows: u64,
}

/// How a pass ended.
#[derive(Debug, Clone, Copy)]
pub struct PassOutcome {
    pub chunks: u64,
    pub interrupted: bool,
}

/// Why a pass stopped with an error.
#[derive(Debug, Error)]
pub enum ChunkError {
    /// A chunk ended on the bound it started from: reading on would loop forever.
    #[error(
        "the scan of {0} stopped advancing (a chunk ended where it began); nothing was reported"
    )]
    NoProgress(String),
    #[error("{0}")]
    Query(#[from] QueryError),
}

impl ChunkedRead<'_> {
    /// One pass: each row's selected values (without the order columns that close
    /// it) to `row_seen`, the rows read so far to `chunk_done` after each chunk;
    /// `stop` ends it cleanly between chunks.
    pub async fn pass(
        &self,
        stop: &AtomicBool,
        mut row_seen: impl FnMut(Vec<Value>),
        mut chunk_done: impl FnMut(u64),
    ) -> Result<PassOutcome, ChunkError> {
        let mut last: Option<Vec<Value>> = None;
        let mut chunks = 0;
        let mut rows_read = 0;
        loop {
            if stop.load(Ordering::Relaxed) {
                return Ok(PassOutcome {
                    chunks,
                    interrupted: true,
                });
            }
            let mut params: Vec<Value> = Vec::new();
            // The exact values read last: no conversion, so any key type pages exactly.
            let after = match &last {
                Some(values) => {
                    params.extend(keyset_params(values));
                    format!("({})", keyset_after(&self.order))
                }
                None => "1=1".to_string(),
            };
            params.extend(self.filter_params.iter().cloned());
            let sql = self.template.replace("{after}", &after);
            let params = if params.is_empty() {
                Params::Empty
            } else {
                Params::Positional(params)
            };
            let rows =
                fetch_values(self.pool, &sql, params, Some(self.flavour), self.timeout).await?;
            chunks += 1;
            let fetched = rows.len() as u64;
            rows_read += fetched;
            let previous = last.clone();
            for mut values in rows {
                let bound = values.split_off(values.len().saturating_sub(self.order.len()));
                if !self.order.is_empty() {
                    last = Some(bound);
                }
                row_seen(values);
            }
            if fetched > 0 && previous.is_some() && last == previous {
                return Err(ChunkError::NoProgress(self.table.clone()));
            }
            chunk_done(rows_read);
            if self.order.is_empty() || fetched < self.chunk_rows {
                return Ok(PassOutcome {
                    chunks,
                    interrupted: false,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyset() {
        let cols = ["a".to_string(), "b".to_string()];
        assert_eq!(keyset_after(&cols), "(`a` > ?) OR (`a` = ? AND `b` > ?)");
        assert_eq!(
            keyset_params(&[Value::Int(1), Value::Int(2)]),
            vec![Value::Int(1), Value::Int(1), Value::Int(2)]
        );
    }
}
