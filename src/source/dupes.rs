//! The duplicate-key scan: names validated against information_schema, the
//! table read in primary-key chunks of plain consistent reads (no locking
//! clause, autocommit: no row locks, no read view held between chunks), each
//! chunk time-limited. Values travel in the binary protocol and the next
//! chunk's bound is the exact primary key read last, so binary, decimal and
//! date keys page exactly. Grouping is in `analyze::duplicates` (two passes,
//! bounded memory); the collation weights come from the server.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mysql_async::{Params, Pool, Value};
use thiserror::Error;

use crate::analyze::duplicates::{
    add_unique_statement, cleanup_statements, covering_unique_index, keyset_after, keyset_params,
    ordered_index, quote_ident, DigestCounter, DupesFix, DupesReport, Duplicates, GroupCollector,
    IndexInfo, KeyColumn, OrderedGrouper, ScannedRow,
};
use crate::analyze::suggest::closest;
use crate::model::Flavour;
use crate::parse::where_filter::{parse_filter, FilterError, FilterValue};

use super::catalog::user_tables;
use super::query::{fetch, fetch_values, statement_text, QueryError};

/// What to scan.
#[derive(Debug, Clone)]
pub struct DupesRequest {
    pub schema: String,
    pub table: String,
    pub columns: Vec<String>,
    pub filter: Option<String>,
    pub chunk_rows: u64,
    /// Groups listed at most.
    pub limit: usize,
    pub timeout: Duration,
}

#[derive(Debug, Error)]
pub enum DupesError {
    #[error(
        "no table {schema}.{table} (or no SELECT on it){}",
        did_you_mean(closest)
    )]
    UnknownTable {
        schema: String,
        table: String,
        /// The nearest existing `schema.table` names.
        closest: Vec<String>,
    },
    #[error("{schema}.{table} has no column {column} (columns: {known})")]
    UnknownColumn {
        schema: String,
        table: String,
        column: String,
        known: String,
    },
    /// A chunk ended on the bound it started from: reading on would loop forever.
    #[error(
        "the scan of {0} stopped advancing (a chunk ended where it began); nothing was reported"
    )]
    NoProgress(String),
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error("{0}")]
    Query(#[from] QueryError),
}

fn did_you_mean(names: &[String]) -> String {
    if names.is_empty() {
        String::new()
    } else {
        format!("; closest: {}", names.join(", "))
    }
}

/// Where a scan is, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub struct ScanProgress {
    /// 1: counting every row; 2: reading the repeated keys again to verify them.
    pub pass: u32,
    pub rows: u64,
    /// InnoDB's estimate of the table's rows (0 when unknown).
    pub estimate: u64,
}

/// Tells `progress` the rows read so far in pass `pass` of about `estimate`.
fn reporter(
    progress: &mut impl FnMut(ScanProgress),
    pass: u32,
    estimate: u64,
) -> impl FnMut(u64) + '_ {
    move |rows| {
        progress(ScanProgress {
            pass,
            rows,
            estimate,
        })
    }
}

fn is_integer_type(data_type: &str) -> bool {
    matches!(
        data_type.to_ascii_lowercase().as_str(),
        "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint"
    )
}

fn typed_param(text: &str, integer: bool) -> Value {
    if integer {
        if let Ok(n) = text.parse::<i64>() {
            return Value::Int(n);
        }
        if let Ok(n) = text.parse::<u64>() {
            return Value::UInt(n);
        }
    }
    Value::Bytes(text.as_bytes().to_vec())
}

/// The table as the server spells it and its row estimate; an unknown name
/// is an error naming the closest tables that exist.
async fn locate_table(
    pool: &Pool,
    flavour: Flavour,
    request: &DupesRequest,
) -> Result<(String, String, u64), DupesError> {
    let t = request.timeout;
    let params = Params::Positional(vec![
        request.schema.clone().into(),
        request.table.clone().into(),
    ]);
    let sql = include_str!("../../queries/dupes_table.sql");
    let (rows, _) = fetch(pool, sql, params, Some(flavour), t).await?;
    let spelled =
        |r: &crate::source::rows::Record| Some((r.text("table_schema")?, r.text("table_name")?));
    // Case-insensitive match; the exact spelling wins where both exist.
    let found = rows
        .iter()
        .find(|r| spelled(r) == Some((request.schema.clone(), request.table.clone())))
        .or_else(|| rows.first());
    if let Some((schema, table)) = found.and_then(spelled) {
        let estimate = found.and_then(|r| r.num("table_rows")).unwrap_or(0);
        return Ok((schema, table, estimate));
    }
    let known: Vec<String> = match user_tables(pool, flavour, t).await {
        Ok(tables) => tables.iter().map(|(s, t)| format!("{s}.{t}")).collect(),
        Err(_) => Vec::new(), // the suggestion is a courtesy: the error stands without it
    };
    let wanted = format!("{}.{}", request.schema, request.table);
    Err(DupesError::UnknownTable {
        schema: request.schema.clone(),
        table: request.table.clone(),
        closest: closest(&wanted, &known, 3)
            .into_iter()
            .map(str::to_string)
            .collect(),
    })
}

/// One pass over the table, chunk by chunk in the order of an index (the
/// primary key, or one starting with the key columns), or in one
/// time-limited read without a primary key.
struct ChunkedRead<'a> {
    pool: &'a Pool,
    flavour: Flavour,
    timeout: Duration,
    /// The statement with everything but the chunk's lower bound filled in.
    template: String,
    /// The order's columns; their values close each row, and the last row's are the next bound.
    order: Vec<String>,
    /// `schema.table`, for messages.
    table: String,
    pk_len: usize,
    key_len: usize,
    /// For each key column, whether a weight column follows the keys for it.
    weighted: Vec<bool>,
    filter_params: Vec<Value>,
    chunk_rows: u64,
}

/// How a pass ended.
struct PassOutcome {
    chunks: u64,
    interrupted: bool,
}

impl ChunkedRead<'_> {
    /// The row, and the values of its order columns.
    fn split(&self, mut values: Vec<Value>) -> (ScannedRow, Vec<Value>) {
        let bound = values.split_off(values.len().saturating_sub(self.order.len()));
        let mut weights_in = values.split_off(self.pk_len + self.key_len).into_iter();
        let key = values.split_off(self.pk_len);
        let weights = self
            .weighted
            .iter()
            .map(|w| if *w { weights_in.next() } else { None })
            .collect();
        let row = ScannedRow {
            primary_key: values,
            key,
            weights,
        };
        (row, bound)
    }

    async fn pass(
        &self,
        stop: &AtomicBool,
        mut row_seen: impl FnMut(ScannedRow),
        mut chunk_done: impl FnMut(u64),
    ) -> Result<PassOutcome, DupesError> {
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
            for values in rows {
                let (row, bound) = self.split(values);
                if !self.order.is_empty() {
                    last = Some(bound);
                }
                row_seen(row);
            }
            if fetched > 0 && previous.is_some() && last == previous {
                return Err(DupesError::NoProgress(self.table.clone()));
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

/// Scans for duplicate keys. `progress` is told after each chunk; `stop`
/// ends the scan cleanly between chunks.
pub async fn scan_duplicates(
    pool: &Pool,
    flavour: Flavour,
    request: &DupesRequest,
    stop: &AtomicBool,
    mut progress: impl FnMut(ScanProgress),
) -> Result<DupesReport, DupesError> {
    let started = Instant::now();
    let t = request.timeout;
    let (schema, table, estimate) = locate_table(pool, flavour, request).await?;
    let names = || Params::Positional(vec![schema.clone().into(), table.clone().into()]);
    let (rows, _) = fetch(
        pool,
        include_str!("../../queries/dupes_columns.sql"),
        names(),
        Some(flavour),
        t,
    )
    .await?;
    let known: Vec<KeyColumn> = rows
        .iter()
        .filter_map(|r| {
            Some(KeyColumn {
                name: r.text("column_name")?,
                data_type: r.text("data_type").unwrap_or_default(),
                collation: r.text("collation_name"),
                nullable: r.str("is_nullable") != Some("NO"),
            })
        })
        .collect();
    // Names as the server spells them; anything unknown is an error, never pasted into SQL.
    let resolve = |name: &str| -> Result<KeyColumn, DupesError> {
        known
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
            .cloned()
            .ok_or_else(|| DupesError::UnknownColumn {
                schema: schema.clone(),
                table: table.clone(),
                column: name.to_string(),
                known: known
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    };
    let key: Vec<KeyColumn> = request
        .columns
        .iter()
        .map(|c| resolve(c))
        .collect::<Result<_, _>>()?;
    let key_names: Vec<String> = key.iter().map(|c| c.name.clone()).collect();

    let (indexes, _) = fetch(
        pool,
        include_str!("../../queries/dupes_indexes.sql"),
        names(),
        Some(flavour),
        t,
    )
    .await?;
    let mut index_list: Vec<IndexInfo> = Vec::new();
    for r in &indexes {
        let Some(name) = r.text("index_name") else {
            continue;
        };
        if index_list.last().is_none_or(|i| i.name != name) {
            index_list.push(IndexInfo {
                name: name.clone(),
                unique: r.num("non_unique") == Some(0),
                columns: Vec::new(),
                whole_and_ascending: true,
            });
        }
        if let Some(index) = index_list.last_mut() {
            // A functional part (MySQL 8) has no column: the index is neither a
            // plain order nor a plain uniqueness guarantee for the columns.
            let plain = r.str("sub_part").is_none() && r.str("sort_order") == Some("A");
            match r.text("column_name") {
                Some(column) => index.columns.push(column),
                None => index.columns.push(String::new()),
            }
            index.whole_and_ascending &=
                plain && index.columns.last().is_some_and(|c| !c.is_empty());
        }
    }
    let unique: Vec<(String, Vec<String>)> = index_list
        .iter()
        .filter(|i| i.unique && i.columns.iter().all(|c| !c.is_empty()))
        .map(|i| (i.name.clone(), i.columns.clone()))
        .collect();
    let primary_key: Vec<KeyColumn> = unique
        .iter()
        .find(|(n, _)| n == "PRIMARY")
        .map(|(_, cols)| cols.iter().filter_map(|c| resolve(c).ok()).collect())
        .unwrap_or_default();
    let unique_index = covering_unique_index(&unique, &key_names).map(str::to_string);

    let mut filter_sql = String::new();
    let mut filter_params: Vec<Value> = Vec::new();
    if let Some(text) = &request.filter {
        for condition in parse_filter(text)? {
            let column = resolve(&condition.column)?;
            filter_sql.push_str(&format!(
                " AND {} {}",
                quote_ident(&column.name),
                condition.op
            ));
            match condition.value {
                Some(FilterValue::Number(n)) => {
                    filter_sql.push_str(" ?");
                    filter_params.push(typed_param(&n, is_integer_type(&column.data_type)));
                }
                Some(FilterValue::Text(s)) => {
                    filter_sql.push_str(" ?");
                    filter_params.push(Value::Bytes(s.into_bytes()));
                }
                None => {}
            }
        }
    }

    // In the order of an index starting with the key columns when there is one
    // (one pass, groups arrive whole); else in primary-key order, two passes.
    let pk_names: Vec<String> = primary_key.iter().map(|c| c.name.clone()).collect();
    let by_index = ordered_index(&index_list, &key, &known, &primary_key);
    let (order, table_sql): (Vec<String>, String) = {
        let qualified = format!("{}.{}", quote_ident(&schema), quote_ident(&table));
        match &by_index {
            Some((index, order)) => (
                order.clone(),
                format!("{qualified} FORCE INDEX ({})", quote_ident(index)),
            ),
            None => (pk_names.clone(), qualified),
        }
    };
    let select: Vec<String> = primary_key
        .iter()
        .chain(key.iter())
        .map(|c| quote_ident(&c.name))
        .chain(
            key.iter()
                .filter(|c| c.by_weight())
                .map(KeyColumn::weight_sql),
        )
        .chain(order.iter().map(|c| quote_ident(c)))
        .collect();
    // Without any order there are no chunks: one time-limited pass.
    let (order_sql, limit) = if order.is_empty() {
        ("NULL".to_string(), u64::MAX)
    } else {
        (
            order
                .iter()
                .map(|c| quote_ident(c))
                .collect::<Vec<_>>()
                .join(", "),
            request.chunk_rows,
        )
    };
    let template = statement_text(include_str!("../../queries/dupes_chunk.sql"))
        .replace("{select}", &select.join(", "))
        .replace("{table}", &table_sql)
        .replace("{filter}", &filter_sql)
        .replace("{order}", &order_sql)
        .replace("{chunk}", &limit.to_string());
    let read = ChunkedRead {
        pool,
        flavour,
        timeout: t,
        template,
        order,
        table: format!("{schema}.{table}"),
        pk_len: primary_key.len(),
        key_len: key.len(),
        weighted: key.iter().map(KeyColumn::by_weight).collect(),
        filter_params,
        chunk_rows: limit,
    };

    let limit = request.limit;
    let mut passes = 1;
    let (rows_scanned, null_keys, chunks, interrupted, key_memory_bytes, duplicates) =
        if by_index.is_some() {
            let mut grouper = OrderedGrouper::new(limit);
            let pass = read
                .pass(
                    stop,
                    |row| grouper.add(row),
                    reporter(&mut progress, 1, estimate),
                )
                .await?;
            (
                grouper.rows_scanned,
                grouper.null_keys,
                pass.chunks,
                pass.interrupted,
                grouper.memory_bytes(),
                grouper.finish(&key, &primary_key),
            )
        } else {
            // Pass 1: a digest per distinct key.
            let mut counter = DigestCounter::default();
            let first = read
                .pass(
                    stop,
                    |row| counter.add(&row),
                    reporter(&mut progress, 1, estimate),
                )
                .await?;
            let (rows_scanned, null_keys) = (counter.rows_scanned, counter.null_keys);
            let mut memory = counter.memory_bytes();
            let candidates = counter.candidates();
            let mut chunks = first.chunks;
            let mut interrupted = first.interrupted;
            let duplicates = if interrupted {
                // Not verified: the digest counts of the rows read so far, no group listed.
                Duplicates {
                    duplicate_groups: candidates.len() as u64,
                    duplicated_rows: candidates.rows,
                    extra_rows: candidates.rows - candidates.len() as u64,
                    ..Default::default()
                }
            } else if candidates.is_empty() {
                Duplicates::default()
            } else {
                // Pass 2: only the rows whose digest repeated, grouped by their full collation key.
                passes = 2;
                let mut collector = GroupCollector::new(candidates);
                let second = read
                    .pass(
                        stop,
                        |row| collector.add(row),
                        reporter(&mut progress, 2, rows_scanned),
                    )
                    .await?;
                chunks += second.chunks;
                interrupted = second.interrupted;
                memory = memory.max(collector.memory_bytes());
                collector.finish(&key, &primary_key, limit)
            };
            (
                rows_scanned,
                null_keys,
                chunks,
                interrupted,
                memory,
                duplicates,
            )
        };
    let groups_omitted = duplicates
        .duplicate_groups
        .saturating_sub(duplicates.groups.len() as u64);
    let extra_rows = duplicates.extra_rows;
    let fix = unique_index.is_none().then(|| DupesFix {
        cleanup: cleanup_statements(
            &schema,
            &table,
            &key_names,
            &primary_key,
            &duplicates.to_remove,
        ),
        cleanup_rows: duplicates.to_remove.len() as u64,
        cleanup_covers_all: duplicates.to_remove.len() as u64 == extra_rows,
        add_unique: add_unique_statement(&schema, &table, &key_names),
    });
    Ok(DupesReport {
        schema,
        table,
        columns: key_names,
        collations: key
            .iter()
            .map(|c| c.by_weight().then(|| c.collation.clone()).flatten())
            .collect(),
        filter: request.filter.clone(),
        primary_key: pk_names,
        unique_index,
        read_through_index: by_index.map(|(index, _)| index),
        rows_scanned,
        rows_with_null_key: null_keys,
        chunks,
        passes,
        key_memory_bytes,
        duplicate_groups: duplicates.duplicate_groups,
        duplicated_rows: duplicates.duplicated_rows,
        extra_rows,
        groups: duplicates.groups,
        groups_omitted,
        interrupted,
        elapsed_ms: started.elapsed().as_millis() as u64,
        fix,
    })
}
