//! `lockdiag dupes`: duplicate keys, found without locking the table.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{bail, Result};
use mysql_async::{Params, Pool};

use crate::model::Flavour;
use crate::render::json::{to_json, SCHEMA_VERSION};
use crate::render::table::{new_table, styled};
use crate::render::Format;
use crate::source::connect::ConnectionConfig;
use crate::source::dupes::{scan_duplicates, DupesReport, DupesRequest};
use crate::source::query::fetch;

use super::args::{ConnectionArgs, DupesArgs};
use super::config::resolve_connection;
use super::{Output, EXIT_FINDINGS, EXIT_OK};

/// `schema.table.col[,col]` (check) or `--table` + `--columns` (dupes) → request.
pub fn request(
    config: &ConnectionConfig,
    table: &str,
    columns: &str,
    filter: Option<String>,
    limit: usize,
    chunk_rows: u64,
) -> Result<DupesRequest> {
    let (schema, table) = match table.split_once('.') {
        Some((s, t)) => (s.to_string(), t.to_string()),
        None => match &config.database {
            Some(db) => (db.clone(), table.to_string()),
            None => bail!("name the schema: --table <schema>.{table} (no database in the connection settings)"),
        },
    };
    let columns: Vec<String> = columns
        .split(',')
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    if columns.is_empty() || table.is_empty() || schema.is_empty() {
        bail!("give a table and at least one column");
    }
    Ok(DupesRequest {
        schema,
        table,
        columns,
        filter,
        chunk_rows: chunk_rows.max(1),
        limit,
        timeout: config.query_timeout,
    })
}

/// Runs a scan with a progress bar on a terminal and a clean stop on Ctrl-C.
pub async fn scan_with_progress(
    pool: &Pool,
    flavour: Flavour,
    request: &DupesRequest,
) -> Result<DupesReport> {
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let stop = stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stop.store(true, Ordering::Relaxed);
            }
        })
    };
    let bar = if std::io::stderr().is_terminal() {
        let params = Params::Positional(vec![
            request.schema.clone().into(),
            request.table.clone().into(),
        ]);
        let estimate = fetch(
            pool,
            include_str!("../../queries/dupes_table_rows.sql"),
            params,
            Some(flavour),
            request.timeout,
        )
        .await
        .ok()
        .and_then(|(rows, _)| rows.first().and_then(|r| r.num("table_rows")))
        .unwrap_or(0);
        let bar = indicatif::ProgressBar::new(estimate.max(1));
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {pos}/~{len} rows {per_sec} {elapsed}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Some(bar)
    } else {
        None
    };
    let result = scan_duplicates(pool, flavour, request, &stop, |rows| {
        if let Some(bar) = &bar {
            bar.set_position(rows);
        }
    })
    .await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    watcher.abort();
    Ok(result?)
}

pub fn render_report(report: &DupesReport, out: &Output) -> String {
    if out.format == Format::Json {
        let mut value = serde_json::to_value(report).unwrap_or_default();
        if let Some(map) = value.as_object_mut() {
            map.insert("schema_version".into(), SCHEMA_VERSION.into());
            map.insert("lockdiag_version".into(), env!("CARGO_PKG_VERSION").into());
        }
        return to_json(&value);
    }
    let mut text = String::new();
    let what = format!(
        "{}.{} ({})",
        report.schema,
        report.table,
        report.columns.join(", ")
    );
    if report.interrupted {
        text.push_str(&format!(
            "Interrupted after {} rows: the figures below cover those rows only.\n",
            report.rows_scanned
        ));
    }
    if report.duplicate_groups == 0 {
        text.push_str(&format!(
            "No duplicates in {what}: {} rows scanned in {} chunk(s), {} ms.\n",
            report.rows_scanned, report.chunks, report.elapsed_ms
        ));
    } else {
        text.push_str(&format!(
            "{} duplicate key(s) in {what}: {} rows share them ({} beyond one per key); {} rows scanned in {} chunk(s), {} ms.\n",
            report.duplicate_groups, report.duplicated_rows, report.extra_rows, report.rows_scanned, report.chunks, report.elapsed_ms
        ));
        let mut table = new_table(
            &out.style,
            &[
                "key",
                "rows",
                &format!("primary key ({})", report.primary_key.join(",")),
            ],
        );
        for g in &report.groups {
            table.add_row(vec![
                styled(&out.style, &g.key.join(", "), None, true),
                styled(&out.style, &g.count.to_string(), None, false),
                styled(&out.style, &g.primary_keys.join(" "), None, false),
            ]);
        }
        text.push_str(&format!("{table}\n"));
        if report.groups_omitted > 0 {
            text.push_str(&format!(
                "{} more group(s) not listed (--limit)\n",
                report.groups_omitted
            ));
        }
    }
    match (&report.unique_index, &report.fix) {
        (Some(index), _) => text.push_str(&format!(
            "UNIQUE index {index} already covers these columns: new duplicates are impossible.\n"
        )),
        (None, Some(fix)) => {
            text.push_str("No UNIQUE index covers these columns.");
            if let Some(cleanup) = &fix.cleanup {
                text.push_str(&format!(" First remove the extra rows (keeps the lowest primary key per key):\n  {cleanup};\nthen add the key:\n"));
            } else {
                text.push_str(" To prevent duplicates:\n");
            }
            text.push_str(&format!("  {};\n", fix.add_unique));
        }
        (None, None) => {}
    }
    if report.rows_with_null_key > 0 {
        text.push_str(&format!(
            "{} row(s) have a NULL in the key (a UNIQUE index allows any number of those).\n",
            report.rows_with_null_key
        ));
    }
    text
}

pub async fn run(args: &DupesArgs, connection: &ConnectionArgs, out: &Output) -> Result<i32> {
    if !matches!(out.format, Format::Table | Format::Json) {
        bail!("dupes prints a table or JSON");
    }
    let config = resolve_connection(connection)?;
    let request = request(
        &config,
        &args.table,
        &args.columns,
        args.filter.clone(),
        args.limit,
        args.chunk_rows,
    )?;
    let (pool, caps) = super::live::open(&config).await?;
    let report = scan_with_progress(&pool, caps.server.flavour, &request).await;
    pool.disconnect().await.ok();
    let report = report?;
    out.print(&render_report(&report, out));
    Ok(if report.interrupted {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}
