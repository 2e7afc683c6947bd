//! The duplicate-key scan: names validated against information_schema, the
//! table read in primary-key chunks of plain consistent reads, each chunk
//! time-limited, the client doing the grouping. It never locks the table.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mysql_async::{Params, Pool, Value};
use thiserror::Error;

use crate::analyze::duplicates::{
    covering_unique_index, quote_ident, suggested_fix, DupesFix, DupesReport, DuplicateCounter,
};
use crate::model::Flavour;
use crate::parse::where_filter::{parse_filter, FilterError, FilterValue};

use super::query::{fetch, statement_text, QueryError};

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
    #[error("no table {schema}.{table} (or no SELECT on it)")]
    UnknownTable { schema: String, table: String },
    #[error("{schema}.{table} has no column {column} (columns: {known})")]
    UnknownColumn {
        schema: String,
        table: String,
        column: String,
        known: String,
    },
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error("{0}")]
    Query(#[from] QueryError),
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

/// Scans for duplicate keys. `progress` gets the rows scanned after each chunk;
/// `stop` ends the scan cleanly between chunks.
pub async fn scan_duplicates(
    pool: &Pool,
    flavour: Flavour,
    request: &DupesRequest,
    stop: &AtomicBool,
    mut progress: impl FnMut(u64),
) -> Result<DupesReport, DupesError> {
    let started = Instant::now();
    let t = request.timeout;
    let names = || {
        Params::Positional(vec![
            request.schema.clone().into(),
            request.table.clone().into(),
        ])
    };
    let (columns, _) = fetch(
        pool,
        include_str!("../../queries/dupes_columns.sql"),
        names(),
        Some(flavour),
        t,
    )
    .await?;
    if columns.is_empty() {
        return Err(DupesError::UnknownTable {
            schema: request.schema.clone(),
            table: request.table.clone(),
        });
    }
    let known: Vec<(String, String)> = columns
        .iter()
        .filter_map(|r| {
            Some((
                r.text("column_name")?,
                r.text("data_type").unwrap_or_default(),
            ))
        })
        .collect();
    // Names as the server spells them; anything unknown is an error, never pasted into SQL.
    let resolve = |name: &str| -> Result<(String, String), DupesError> {
        known
            .iter()
            .find(|(c, _)| c.eq_ignore_ascii_case(name))
            .cloned()
            .ok_or_else(|| DupesError::UnknownColumn {
                schema: request.schema.clone(),
                table: request.table.clone(),
                column: name.to_string(),
                known: known
                    .iter()
                    .map(|(c, _)| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    };
    let key_columns: Vec<String> = request
        .columns
        .iter()
        .map(|c| resolve(c).map(|r| r.0))
        .collect::<Result<_, _>>()?;

    let (indexes, _) = fetch(
        pool,
        include_str!("../../queries/dupes_indexes.sql"),
        names(),
        Some(flavour),
        t,
    )
    .await?;
    let mut unique: Vec<(String, Vec<String>)> = Vec::new();
    for r in &indexes {
        let (Some(name), Some(column)) = (r.text("index_name"), r.text("column_name")) else {
            continue;
        };
        if r.num("non_unique") != Some(0) {
            continue;
        }
        match unique.iter_mut().find(|(n, _)| *n == name) {
            Some((_, cols)) => cols.push(column),
            None => unique.push((name, vec![column])),
        }
    }
    let primary_key: Vec<String> = unique
        .iter()
        .find(|(n, _)| n == "PRIMARY")
        .map(|(_, c)| c.clone())
        .unwrap_or_default();
    let pk_integer: Vec<bool> = primary_key
        .iter()
        .map(|c| resolve(c).map(|r| is_integer_type(&r.1)).unwrap_or(false))
        .collect();
    let unique_index = covering_unique_index(&unique, &key_columns).map(str::to_string);

    let mut filter_sql = String::new();
    let mut filter_params: Vec<Value> = Vec::new();
    if let Some(text) = &request.filter {
        for condition in parse_filter(text)? {
            let (column, data_type) = resolve(&condition.column)?;
            filter_sql.push_str(&format!(" AND {} {}", quote_ident(&column), condition.op));
            match condition.value {
                Some(FilterValue::Number(n)) => {
                    filter_sql.push_str(" ?");
                    filter_params.push(typed_param(&n, is_integer_type(&data_type)));
                }
                Some(FilterValue::Text(s)) => {
                    filter_sql.push_str(" ?");
                    filter_params.push(Value::Bytes(s.into_bytes()));
                }
                None => {}
            }
        }
    }

    let table = format!(
        "{}.{}",
        quote_ident(&request.schema),
        quote_ident(&request.table)
    );
    let pk_list = primary_key
        .iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ");
    let select: Vec<String> = primary_key
        .iter()
        .chain(key_columns.iter())
        .map(|c| quote_ident(c))
        .collect();
    let template = statement_text(include_str!("../../queries/dupes_chunk.sql"));
    let mut counter = DuplicateCounter::default();
    let mut chunks = 0;
    let mut last_pk: Option<Vec<String>> = None;
    let mut interrupted = false;
    loop {
        if stop.load(Ordering::Relaxed) {
            interrupted = true;
            break;
        }
        let mut params: Vec<Value> = Vec::new();
        let after = match (&last_pk, primary_key.is_empty()) {
            (Some(values), false) => {
                params.extend(
                    values
                        .iter()
                        .zip(&pk_integer)
                        .map(|(v, int)| typed_param(v, *int)),
                );
                format!("({pk_list}) > ({})", vec!["?"; values.len()].join(", "))
            }
            _ => "1=1".to_string(),
        };
        params.extend(filter_params.iter().cloned());
        // Without a primary key there is no chunk order: one time-limited pass.
        let (order, limit) = if primary_key.is_empty() {
            ("NULL".to_string(), u64::MAX)
        } else {
            (pk_list.clone(), request.chunk_rows)
        };
        let sql = template
            .replace("{select}", &select.join(", "))
            .replace("{table}", &table)
            .replace("{after}", &after)
            .replace("{filter}", &filter_sql)
            .replace("{order}", &order)
            .replace("{chunk}", &limit.to_string());
        let params = if params.is_empty() {
            Params::Empty
        } else {
            Params::Positional(params)
        };
        let (rows, _) = fetch(pool, &sql, params, Some(flavour), t).await?;
        chunks += 1;
        let fetched = rows.len() as u64;
        for row in &rows {
            let pk: Vec<String> = primary_key
                .iter()
                .map(|c| row.text(&c.to_lowercase()).unwrap_or_default())
                .collect();
            let key: Vec<Option<String>> = key_columns
                .iter()
                .map(|c| row.text(&c.to_lowercase()))
                .collect();
            counter.add(key, pk.join(","));
            last_pk = Some(pk);
        }
        progress(counter.rows_scanned);
        if primary_key.is_empty() || fetched < request.chunk_rows {
            break;
        }
    }

    let (mut groups, duplicate_groups, duplicated_rows, extra_rows) = counter.duplicates();
    let groups_omitted = (groups.len() as u64).saturating_sub(request.limit as u64);
    groups.truncate(request.limit);
    let fix = (unique_index.is_none()).then(|| {
        let (cleanup, add_unique) =
            suggested_fix(&request.schema, &request.table, &key_columns, &primary_key);
        DupesFix {
            cleanup: cleanup.filter(|_| duplicate_groups > 0),
            add_unique,
        }
    });
    Ok(DupesReport {
        schema: request.schema.clone(),
        table: request.table.clone(),
        columns: key_columns,
        filter: request.filter.clone(),
        primary_key,
        unique_index,
        rows_scanned: counter.rows_scanned,
        rows_with_null_key: counter.null_keys,
        chunks,
        duplicate_groups,
        duplicated_rows,
        extra_rows,
        groups,
        groups_omitted,
        interrupted,
        elapsed_ms: started.elapsed().as_millis() as u64,
        fix,
    })
}
