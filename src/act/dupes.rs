//! The duplicate-key scan, phase by phase: the table's shape from its catalog
//! (names as the server spells them; anything unknown is an error, never SQL),
//! the read planned (through an index starting with the key columns when there
//! is one: one pass; else in primary-key order: a digest pass, then a pass that
//! verifies the repeated keys), the passes read (`source::dupes`: plain
//! consistent reads in chunks, no locks) and folded (`analyze::duplicates`:
//! bounded memory, collation weights from the server), and the report with the fix.

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use mysql_async::Value;
use thiserror::Error;

use crate::analyze::duplicates::{
    add_unique_statement, cleanup_statements, covering_unique_index, ordered_index, DigestCounter,
    DupesFix, DupesReport, Duplicates, GroupCollector, IndexInfo, KeyColumn, OrderedGrouper,
    ScannedRow,
};
use crate::analyze::suggest::closest;
use crate::model::quote_ident;
use crate::parse::where_filter::{parse_filter, FilterError, FilterValue};
use crate::source::catalog::user_tables;
use crate::source::dupes::{
    chunk_statement, locate_table, table_catalog, ChunkError, ChunkedRead, TableCatalog,
};
use crate::source::query::QueryError;
use crate::source::server::Server;

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
    #[error(transparent)]
    Read(#[from] ChunkError),
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

/// What the catalog says of the table and the key.
struct TableShape {
    schema: String,
    table: String,
    estimate: u64,
    /// Every column, as the server spells it.
    columns: Vec<KeyColumn>,
    /// The key columns asked for.
    key: Vec<KeyColumn>,
    primary_key: Vec<KeyColumn>,
    indexes: Vec<IndexInfo>,
    /// A UNIQUE index that already covers the key.
    unique_index: Option<String>,
}

impl TableShape {
    /// A column by name, as the server spells it; unknown names are an error.
    fn column(&self, name: &str) -> Result<KeyColumn, DupesError> {
        find_column(&self.columns, &self.schema, &self.table, name)
    }

    fn key_names(&self) -> Vec<String> {
        self.key.iter().map(|c| c.name.clone()).collect()
    }
}

fn find_column(
    columns: &[KeyColumn],
    schema: &str,
    table: &str,
    name: &str,
) -> Result<KeyColumn, DupesError> {
    columns
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(name))
        .cloned()
        .ok_or_else(|| DupesError::UnknownColumn {
            schema: schema.to_string(),
            table: table.to_string(),
            column: name.to_string(),
            known: columns
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Phase 1: the table, its columns and indexes, the key resolved against them.
async fn describe_table(server: &Server, request: &DupesRequest) -> Result<TableShape, DupesError> {
    let (pool, flavour, t) = (server.pool(), server.flavour(), request.timeout);
    let Some((schema, table, estimate)) =
        locate_table(pool, flavour, &request.schema, &request.table, t).await?
    else {
        // The suggestion is a courtesy: the error stands without it.
        let known: Vec<String> = match user_tables(pool, flavour, t).await {
            Ok(tables) => tables.iter().map(|(s, t)| format!("{s}.{t}")).collect(),
            Err(_) => Vec::new(),
        };
        let wanted = format!("{}.{}", request.schema, request.table);
        return Err(DupesError::UnknownTable {
            schema: request.schema.clone(),
            table: request.table.clone(),
            closest: closest(&wanted, &known, 3)
                .into_iter()
                .map(str::to_string)
                .collect(),
        });
    };
    let columns: Vec<KeyColumn> =
        table_catalog(pool, flavour, TableCatalog::Columns, &schema, &table, t)
            .await?
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
    let key: Vec<KeyColumn> = request
        .columns
        .iter()
        .map(|c| find_column(&columns, &schema, &table, c))
        .collect::<Result<_, _>>()?;
    let indexes =
        index_list(&table_catalog(pool, flavour, TableCatalog::Indexes, &schema, &table, t).await?);
    let unique: Vec<(String, Vec<String>)> = indexes
        .iter()
        .filter(|i| i.unique && i.columns.iter().all(|c| !c.is_empty()))
        .map(|i| (i.name.clone(), i.columns.clone()))
        .collect();
    let primary_key: Vec<KeyColumn> = unique
        .iter()
        .find(|(n, _)| n == "PRIMARY")
        .map(|(_, cols)| {
            cols.iter()
                .filter_map(|c| find_column(&columns, &schema, &table, c).ok())
                .collect()
        })
        .unwrap_or_default();
    let key_names: Vec<String> = key.iter().map(|c| c.name.clone()).collect();
    let unique_index = covering_unique_index(&unique, &key_names).map(str::to_string);
    Ok(TableShape {
        schema,
        table,
        estimate,
        columns,
        key,
        primary_key,
        indexes,
        unique_index,
    })
}

/// The index parts as the catalog lists them, grouped per index.
fn index_list(rows: &[crate::source::rows::Record]) -> Vec<IndexInfo> {
    let mut list: Vec<IndexInfo> = Vec::new();
    for r in rows {
        let Some(name) = r.text("index_name") else {
            continue;
        };
        if list.last().is_none_or(|i| i.name != name) {
            list.push(IndexInfo {
                name: name.clone(),
                unique: r.num("non_unique") == Some(0),
                columns: Vec::new(),
                whole_and_ascending: true,
            });
        }
        if let Some(index) = list.last_mut() {
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
    list
}

/// `--where` as SQL on the resolved columns, its values bound.
fn filter_clause(
    shape: &TableShape,
    filter: Option<&str>,
) -> Result<(String, Vec<Value>), DupesError> {
    let mut sql = String::new();
    let mut params: Vec<Value> = Vec::new();
    let Some(text) = filter else {
        return Ok((sql, params));
    };
    for condition in parse_filter(text)? {
        let column = shape.column(&condition.column)?;
        sql.push_str(&format!(
            " AND {} {}",
            quote_ident(&column.name),
            condition.op
        ));
        match condition.value {
            Some(FilterValue::Number(n)) => {
                sql.push_str(" ?");
                params.push(typed_param(&n, is_integer_type(&column.data_type)));
            }
            Some(FilterValue::Text(s)) => {
                sql.push_str(" ?");
                params.push(Value::Bytes(s.into_bytes()));
            }
            None => {}
        }
    }
    Ok((sql, params))
}

/// Phase 2: how the table is read — in the order of an index starting with the key
/// columns when there is one (one pass, groups arrive whole), else in primary-key
/// order (two passes); without any order, one time-limited read.
struct ReadPlan {
    /// The index read through, when the key has one.
    by_index: Option<String>,
    template: String,
    order: Vec<String>,
    filter_params: Vec<Value>,
    chunk_rows: u64,
}

fn plan_read(shape: &TableShape, request: &DupesRequest) -> Result<ReadPlan, DupesError> {
    let (filter_sql, filter_params) = filter_clause(shape, request.filter.as_deref())?;
    let by_index = ordered_index(
        &shape.indexes,
        &shape.key,
        &shape.columns,
        &shape.primary_key,
    );
    let qualified = format!(
        "{}.{}",
        quote_ident(&shape.schema),
        quote_ident(&shape.table)
    );
    let (order, table_sql): (Vec<String>, String) = match &by_index {
        Some((index, order)) => (
            order.clone(),
            format!("{qualified} FORCE INDEX ({})", quote_ident(index)),
        ),
        None => (
            shape.primary_key.iter().map(|c| c.name.clone()).collect(),
            qualified,
        ),
    };
    // The primary key, the key, the key's collation weights, then the order's columns.
    let select: Vec<String> = shape
        .primary_key
        .iter()
        .chain(shape.key.iter())
        .map(|c| quote_ident(&c.name))
        .chain(
            shape
                .key
                .iter()
                .filter(|c| c.by_weight())
                .map(KeyColumn::weight_sql),
        )
        .chain(order.iter().map(|c| quote_ident(c)))
        .collect();
    let chunk_rows = if order.is_empty() {
        u64::MAX
    } else {
        request.chunk_rows
    };
    Ok(ReadPlan {
        by_index: by_index.map(|(index, _)| index),
        template: chunk_statement(&select, &table_sql, &filter_sql, &order, chunk_rows),
        order,
        filter_params,
        chunk_rows,
    })
}

/// Splits a read row into the primary key, the key and its weights.
fn scanned_row(shape: &TableShape, mut values: Vec<Value>) -> ScannedRow {
    let (pk_len, key_len) = (shape.primary_key.len(), shape.key.len());
    let mut weights_in = values.split_off(pk_len + key_len).into_iter();
    let key = values.split_off(pk_len);
    let weights = shape
        .key
        .iter()
        .map(|c| {
            if c.by_weight() {
                weights_in.next()
            } else {
                None
            }
        })
        .collect();
    ScannedRow {
        primary_key: values,
        key,
        weights,
    }
}

/// What the passes found.
struct Scanned {
    rows_scanned: u64,
    null_keys: u64,
    chunks: u64,
    passes: u32,
    interrupted: bool,
    key_memory_bytes: u64,
    duplicates: Duplicates,
}

/// Phase 3: the passes, each row folded as it arrives.
async fn read_passes(
    shape: &TableShape,
    read: &ChunkedRead<'_>,
    through_index: bool,
    limit: usize,
    stop: &AtomicBool,
    progress: &mut impl FnMut(ScanProgress),
) -> Result<Scanned, DupesError> {
    let estimate = shape.estimate;
    if through_index {
        let mut grouper = OrderedGrouper::new(limit);
        let pass = read
            .pass(
                stop,
                |values| grouper.add(scanned_row(shape, values)),
                reporter(progress, 1, estimate),
            )
            .await?;
        return Ok(Scanned {
            rows_scanned: grouper.rows_scanned,
            null_keys: grouper.null_keys,
            chunks: pass.chunks,
            passes: 1,
            interrupted: pass.interrupted,
            key_memory_bytes: grouper.memory_bytes(),
            duplicates: grouper.finish(&shape.key, &shape.primary_key),
        });
    }
    // Pass 1: a digest per distinct key.
    let mut counter = DigestCounter::default();
    let first = read
        .pass(
            stop,
            |values| counter.add(&scanned_row(shape, values)),
            reporter(progress, 1, estimate),
        )
        .await?;
    let (rows_scanned, null_keys) = (counter.rows_scanned, counter.null_keys);
    let mut scanned = Scanned {
        rows_scanned,
        null_keys,
        chunks: first.chunks,
        passes: 1,
        interrupted: first.interrupted,
        key_memory_bytes: counter.memory_bytes(),
        duplicates: Duplicates::default(),
    };
    let candidates = counter.candidates();
    if scanned.interrupted {
        // Not verified: the digest counts of the rows read so far, no group listed.
        scanned.duplicates = Duplicates {
            duplicate_groups: candidates.len() as u64,
            duplicated_rows: candidates.rows,
            extra_rows: candidates.rows - candidates.len() as u64,
            ..Default::default()
        };
        return Ok(scanned);
    }
    if candidates.is_empty() {
        return Ok(scanned);
    }
    // Pass 2: only the rows whose digest repeated, grouped by their full collation key.
    let mut collector = GroupCollector::new(candidates);
    let second = read
        .pass(
            stop,
            |values| collector.add(scanned_row(shape, values)),
            reporter(progress, 2, rows_scanned),
        )
        .await?;
    scanned.passes = 2;
    scanned.chunks += second.chunks;
    scanned.interrupted = second.interrupted;
    scanned.key_memory_bytes = scanned.key_memory_bytes.max(collector.memory_bytes());
    scanned.duplicates = collector.finish(&shape.key, &shape.primary_key, limit);
    Ok(scanned)
}

/// Scans for duplicate keys. `progress` is told after each chunk; `stop`
/// ends the scan cleanly between chunks.
pub async fn scan_duplicates(
    server: &Server,
    request: &DupesRequest,
    stop: &AtomicBool,
    mut progress: impl FnMut(ScanProgress),
) -> Result<DupesReport, DupesError> {
    let started = Instant::now();
    let shape = describe_table(server, request).await?;
    let plan = plan_read(&shape, request)?;
    let read = ChunkedRead {
        pool: server.pool(),
        flavour: server.flavour(),
        timeout: request.timeout,
        template: plan.template,
        order: plan.order,
        table: format!("{}.{}", shape.schema, shape.table),
        filter_params: plan.filter_params,
        chunk_rows: plan.chunk_rows,
    };
    let through_index = plan.by_index.is_some();
    let scanned = read_passes(
        &shape,
        &read,
        through_index,
        request.limit,
        stop,
        &mut progress,
    )
    .await?;
    Ok(report(shape, request, plan.by_index, scanned, started))
}

/// Phase 4: the report, with the fix when no UNIQUE index covers the key.
fn report(
    shape: TableShape,
    request: &DupesRequest,
    read_through_index: Option<String>,
    scanned: Scanned,
    started: Instant,
) -> DupesReport {
    let key_names = shape.key_names();
    let duplicates = scanned.duplicates;
    let groups_omitted = duplicates
        .duplicate_groups
        .saturating_sub(duplicates.groups.len() as u64);
    let extra_rows = duplicates.extra_rows;
    let fix = shape.unique_index.is_none().then(|| DupesFix {
        cleanup: cleanup_statements(
            &shape.schema,
            &shape.table,
            &key_names,
            &shape.primary_key,
            &duplicates.to_remove,
        ),
        cleanup_rows: duplicates.to_remove.len() as u64,
        cleanup_covers_all: duplicates.to_remove.len() as u64 == extra_rows,
        add_unique: add_unique_statement(&shape.schema, &shape.table, &key_names),
    });
    DupesReport {
        collations: shape
            .key
            .iter()
            .map(|c| c.by_weight().then(|| c.collation.clone()).flatten())
            .collect(),
        primary_key: shape.primary_key.iter().map(|c| c.name.clone()).collect(),
        schema: shape.schema,
        table: shape.table,
        columns: key_names,
        filter: request.filter.clone(),
        unique_index: shape.unique_index,
        read_through_index,
        rows_scanned: scanned.rows_scanned,
        rows_with_null_key: scanned.null_keys,
        chunks: scanned.chunks,
        passes: scanned.passes,
        key_memory_bytes: scanned.key_memory_bytes,
        duplicate_groups: duplicates.duplicate_groups,
        duplicated_rows: duplicates.duplicated_rows,
        extra_rows,
        groups: duplicates.groups,
        groups_omitted,
        interrupted: scanned.interrupted,
        elapsed_ms: started.elapsed().as_millis() as u64,
        fix,
    }
}
