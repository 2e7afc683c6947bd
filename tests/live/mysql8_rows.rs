//! The MySQL 8 statements on rows MySQL 8 servers really returned.
//!
//! MySQL 8 cannot be installed here, so its `performance_schema.data_locks`,
//! `data_lock_waits`, `metadata_locks` (and `threads`, `INNODB_TRX`) rows as users and
//! MySQL's own test suite published them (`fixtures/mysql8/*/`, origins in its NOTES.md)
//! are loaded into look-alike tables on the test server. lockdiag's own SQL files run
//! there unchanged except for the schema name, so the server does the joins; the rows
//! then go through lockdiag's row mapping and wait analysis, and the saved picture
//! through the binary's renderers.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lockdiag::analyze::waits::analyze_waits;
use lockdiag::model::{Flavour, LiveState, LockStatus, LockWait, ServerInfo, Snapshot, WaitKind};
use lockdiag::source::collect::{map_lock_summary, map_metadata_lock, map_row_wait};
use lockdiag::source::query::fetch;
use lockdiag::source::rows::Record;
use mysql_async::prelude::Queryable;
use mysql_async::Params;

use crate::ctx::Ctx;

/// The look-alike tables: performance_schema's columns, types and indexes (MySQL 8.0
/// manual), `INNODB_TRX` with the columns the statements read.
const TABLES: &[(&str, &str)] = &[
    (
        "data_locks",
        "ENGINE VARCHAR(32) NOT NULL, ENGINE_LOCK_ID VARCHAR(128) NOT NULL,
         ENGINE_TRANSACTION_ID BIGINT UNSIGNED, THREAD_ID BIGINT UNSIGNED, EVENT_ID BIGINT UNSIGNED,
         OBJECT_SCHEMA VARCHAR(64), OBJECT_NAME VARCHAR(64), PARTITION_NAME VARCHAR(64),
         SUBPARTITION_NAME VARCHAR(64), INDEX_NAME VARCHAR(64),
         OBJECT_INSTANCE_BEGIN BIGINT UNSIGNED NOT NULL, LOCK_TYPE VARCHAR(32) NOT NULL,
         LOCK_MODE VARCHAR(32) NOT NULL, LOCK_STATUS VARCHAR(32) NOT NULL, LOCK_DATA VARCHAR(8192),
         KEY (ENGINE_LOCK_ID, ENGINE)",
    ),
    (
        "data_lock_waits",
        "ENGINE VARCHAR(32) NOT NULL, REQUESTING_ENGINE_LOCK_ID VARCHAR(128) NOT NULL,
         REQUESTING_ENGINE_TRANSACTION_ID BIGINT UNSIGNED, REQUESTING_THREAD_ID BIGINT UNSIGNED,
         REQUESTING_EVENT_ID BIGINT UNSIGNED, REQUESTING_OBJECT_INSTANCE_BEGIN BIGINT UNSIGNED NOT NULL,
         BLOCKING_ENGINE_LOCK_ID VARCHAR(128) NOT NULL, BLOCKING_ENGINE_TRANSACTION_ID BIGINT UNSIGNED,
         BLOCKING_THREAD_ID BIGINT UNSIGNED, BLOCKING_EVENT_ID BIGINT UNSIGNED,
         BLOCKING_OBJECT_INSTANCE_BEGIN BIGINT UNSIGNED NOT NULL,
         KEY (REQUESTING_ENGINE_LOCK_ID, ENGINE), KEY (BLOCKING_ENGINE_LOCK_ID, ENGINE)",
    ),
    (
        "metadata_locks",
        "OBJECT_TYPE VARCHAR(64) NOT NULL, OBJECT_SCHEMA VARCHAR(64), OBJECT_NAME VARCHAR(64),
         COLUMN_NAME VARCHAR(64), OBJECT_INSTANCE_BEGIN BIGINT UNSIGNED, LOCK_TYPE VARCHAR(32) NOT NULL,
         LOCK_DURATION VARCHAR(32) NOT NULL, LOCK_STATUS VARCHAR(32) NOT NULL, SOURCE VARCHAR(64),
         OWNER_THREAD_ID BIGINT UNSIGNED, OWNER_EVENT_ID BIGINT UNSIGNED",
    ),
    (
        "threads",
        "THREAD_ID BIGINT UNSIGNED NOT NULL, PROCESSLIST_ID BIGINT UNSIGNED,
         PROCESSLIST_TIME BIGINT, KEY (THREAD_ID)",
    ),
    (
        "INNODB_TRX",
        "trx_id BIGINT UNSIGNED NOT NULL, trx_started DATETIME, trx_wait_started DATETIME,
         trx_rows_locked BIGINT UNSIGNED, trx_rows_modified BIGINT UNSIGNED,
         trx_mysql_thread_id BIGINT UNSIGNED",
    ),
];

/// What a correct reading of each case finds (fixtures/mysql8/NOTES.md says why).
struct Expected {
    case: &'static str,
    /// (waiting, blocking) processlist ids, kind, `schema.table` (None: not in data_locks).
    waits: &'static [(u64, u64, WaitKind, Option<&'static str>)],
    roots: &'static [u64],
    /// The observing session of a test-suite capture: lockdiag's own connection there.
    observer: Option<u64>,
}

const EXPECTED: &[Expected] = &[
    Expected {
        case: "insert-intention-supremum",
        waits: &[(9, 8, WaitKind::Row, Some("lock_test.lock_test"))],
        roots: &[8],
        observer: None,
    },
    Expected {
        case: "record-lock-for-update",
        waits: &[(13, 12, WaitKind::Row, Some("testdb.course"))],
        roots: &[12],
        observer: None,
    },
    Expected {
        case: "record-lock-trx-ids-disagree",
        waits: &[(32, 31, WaitKind::Row, Some("atguigu.user"))],
        roots: &[31],
        observer: None,
    },
    Expected {
        case: "wait-without-lock-rows",
        waits: &[(7, 6, WaitKind::Row, None)],
        roots: &[6],
        observer: None,
    },
    Expected {
        case: "mdl-flush-tables-with-read-lock",
        waits: &[],
        roots: &[],
        observer: None,
    },
    Expected {
        case: "mdl-lock-tables-read-column-statistics",
        waits: &[],
        roots: &[],
        observer: None,
    },
    Expected {
        case: "mdl-drop-behind-open-transaction",
        waits: &[(9, 8, WaitKind::Metadata, Some("test.t1"))],
        roots: &[8],
        observer: Some(10),
    },
    Expected {
        case: "mdl-lock-write-behind-lock-read",
        waits: &[(9, 8, WaitKind::Metadata, Some("test.t1"))],
        roots: &[8],
        observer: Some(10),
    },
    Expected {
        case: "mdl-lock-read-behind-lock-write",
        waits: &[(8, 9, WaitKind::Metadata, Some("test.t1"))],
        roots: &[9],
        observer: Some(10),
    },
];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/mysql8")
}

/// One table's rows: column names, then values (`None` for SQL NULL).
type Tsv = (Vec<String>, Vec<Vec<Option<String>>>);

/// A TSV as `mysql -B` prints it: a header line, then rows; `NULL` is SQL NULL.
fn read_tsv(path: &Path) -> Option<Tsv> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    let header = lines.next()?.split('\t').map(str::to_string).collect();
    let rows = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.split('\t')
                .map(|v| (v != "NULL").then(|| v.to_string()))
                .collect()
        })
        .collect();
    Some((header, rows))
}

fn load_case(ctx: &Ctx, dir: &Path, schema: &str) {
    let mut conn = ctx.conn();
    ctx.exec(&mut conn, &format!("DROP DATABASE IF EXISTS {schema}"));
    ctx.exec(&mut conn, &format!("CREATE DATABASE {schema}"));
    for (table, columns) in TABLES {
        ctx.exec(
            &mut conn,
            &format!("CREATE TABLE {schema}.{table} ({columns})"),
        );
        let Some((header, rows)) = read_tsv(&dir.join(format!("{table}.tsv"))) else {
            continue;
        };
        for row in rows {
            assert_eq!(row.len(), header.len(), "{}/{table}.tsv", dir.display());
            let sql = format!(
                "INSERT INTO {schema}.{table} ({}) VALUES ({})",
                header.join(", "),
                vec!["?"; header.len()].join(", ")
            );
            let values: Vec<mysql_async::Value> = row
                .into_iter()
                .map(|v| v.map_or(mysql_async::Value::NULL, mysql_async::Value::from))
                .collect();
            ctx.rt
                .block_on(conn.exec_drop(&sql, values))
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    }
}

/// lockdiag's statement with the replay schema in place of the server's.
fn replayed(sql: &str, schema: &str) -> String {
    let text = sql
        .replace("performance_schema.", &format!("{schema}."))
        .replace(
            "information_schema.INNODB_TRX",
            &format!("{schema}.INNODB_TRX"),
        );
    assert!(
        !text.contains("performance_schema.") && !text.contains("information_schema."),
        "a table of the statement was not replaced: {text}"
    );
    text
}

fn rows(ctx: &Ctx, pool: &mysql_async::Pool, sql: &str, params: Params) -> Vec<Record> {
    ctx.rt
        .block_on(fetch(pool, sql, params, None, Duration::from_secs(10)))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .0
}

fn table_of(w: &LockWait) -> Option<String> {
    Some(format!("{}.{}", w.schema.as_deref()?, w.table.as_deref()?))
}

pub fn statements_on_published_mysql8_rows(ctx: &Ctx) {
    let pool = ctx.pool();
    let mut cases: Vec<String> = std::fs::read_dir(fixtures())
        .expect("fixtures/mysql8")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    cases.sort();
    let expected: BTreeMap<&str, &Expected> = EXPECTED.iter().map(|e| (e.case, e)).collect();
    assert_eq!(
        cases,
        expected.keys().map(|c| c.to_string()).collect::<Vec<_>>(),
        "every fixtures/mysql8 case has its expected reading, and only those"
    );

    for case in &cases {
        let want = expected[case.as_str()];
        let schema = format!("replay_{}", case.replace('-', "_"));
        load_case(ctx, &fixtures().join(case), &schema);

        let waits_sql = lockdiag::source::collect::MYSQL8_WAITS;
        let row_waits: Vec<LockWait> =
            rows(ctx, &pool, &replayed(waits_sql, &schema), Params::Empty)
                .iter()
                .filter_map(map_row_wait)
                .collect();
        // Without PROCESS: the same waits from performance_schema alone.
        let no_process = lockdiag::source::collect::MYSQL8_WAITS_NO_PROCESS;
        let pairs = |waits: &[LockWait]| -> Vec<(u64, u64, Option<String>, String)> {
            waits
                .iter()
                .map(|w| {
                    (
                        w.waiting_thread_id,
                        w.blocking_thread_id,
                        table_of(w),
                        w.lock_mode.clone(),
                    )
                })
                .collect()
        };
        let without: Vec<LockWait> =
            rows(ctx, &pool, &replayed(no_process, &schema), Params::Empty)
                .iter()
                .filter_map(map_row_wait)
                .collect();
        assert_eq!(
            pairs(&row_waits),
            pairs(&without),
            "{case}: with and without PROCESS"
        );

        let locks = rows(
            ctx,
            &pool,
            &replayed(include_str!("../../queries/locks_mysql8.sql"), &schema),
            Params::Positional(vec![100.into()]),
        );
        let metadata = rows(
            ctx,
            &pool,
            &replayed(include_str!("../../queries/metadata_locks.sql"), &schema),
            Params::Empty,
        );
        let state = LiveState {
            server: ServerInfo {
                flavour: Flavour::Mysql,
                version: "8.0.36".into(),
                version_number: (8, 0, 36),
                performance_schema: true,
                mdl_instrument: true,
                own_connection_id: want.observer,
                ..ServerInfo::default()
            },
            row_waits,
            locks: locks.iter().filter_map(map_lock_summary).collect(),
            metadata_locks: metadata.iter().filter_map(map_metadata_lock).collect(),
            lockdiag_thread_ids: want.observer.into_iter().collect(),
            ..LiveState::default()
        };
        check_case(case, want, &state);
        render_saved(ctx, case, &state);
        let mut conn = ctx.conn();
        ctx.exec(&mut conn, &format!("DROP DATABASE {schema}"));
    }
}

fn check_case(case: &str, want: &Expected, state: &LiveState) {
    // performance_schema THREAD_IDs never leak out as session ids.
    let pfs_thread_ids: [u64; 10] = [46, 47, 48, 49, 50, 52, 53, 71, 72, 0];
    let analysis = analyze_waits(state);
    let got: Vec<(u64, u64, WaitKind, Option<String>)> = analysis
        .waits
        .iter()
        .map(|w| {
            (
                w.waiting_thread_id,
                w.blocking_thread_id,
                w.kind,
                table_of(w),
            )
        })
        .collect();
    let wanted: Vec<(u64, u64, WaitKind, Option<String>)> = want
        .waits
        .iter()
        .map(|(a, b, k, t)| (*a, *b, *k, t.map(str::to_string)))
        .collect();
    assert_eq!(got, wanted, "{case}: the waits");
    for w in &analysis.waits {
        assert!(
            !pfs_thread_ids.contains(&w.waiting_thread_id)
                && !pfs_thread_ids.contains(&w.blocking_thread_id),
            "{case}: a THREAD_ID where a processlist id belongs: {w:?}"
        );
    }
    let roots: Vec<u64> = analysis.root_blockers.iter().map(|r| r.thread_id).collect();
    assert_eq!(roots, want.roots, "{case}: root blockers");
    assert!(analysis.cycles.is_empty(), "{case}: no cycle");
    assert_eq!(analysis.waiting_sessions, want.waits.len() as u64, "{case}");

    // What each published print shows about the lock, read through.
    let Some(first) = analysis.waits.first() else {
        // A session alone with its locks: every row mapped, none a wait.
        assert!(!state.metadata_locks.is_empty(), "{case}");
        assert!(
            state.metadata_locks.iter().all(|l| l.thread_id == 12),
            "{case}"
        );
        return;
    };
    match case {
        "insert-intention-supremum" => {
            assert_eq!(first.lock_mode, "X,INSERT_INTENTION");
            assert_eq!(first.blocking_lock_mode.as_deref(), Some("X"));
            assert_eq!(first.blocking_lock_status, Some(LockStatus::Granted));
            assert_eq!(first.lock_data.as_deref(), Some("supremum pseudo-record"));
            assert_eq!(first.index.as_deref(), Some("PRIMARY"));
            assert_eq!(
                (
                    first.waiting_trx_id.as_deref(),
                    first.blocking_trx_id.as_deref()
                ),
                (Some("2595"), Some("2594"))
            );
            // INNODB_TRX's wait start (2019) is years ago.
            assert!(first.wait_secs > 3600 * 24 * 365, "{first:?}");
            // Lock groups: the holder's 3 X record locks in one group.
            let x = state
                .locks
                .iter()
                .find(|l| l.trx_id == "2594" && l.lock_mode == "X")
                .expect("the holder's X locks");
            assert_eq!((x.count, x.thread_id), (3, Some(8)));
        }
        "record-lock-for-update" => {
            assert_eq!(first.lock_mode, "X,REC_NOT_GAP");
            assert_eq!(first.lock_data.as_deref(), Some("5"));
            // Both hold SHARED_WRITE on the table: no metadata wait on top of the row wait.
            assert_eq!(state.metadata_locks.len(), 3);
        }
        "record-lock-trx-ids-disagree" => {
            // The server's own tables disagreed (a later retry in data_locks): the wait is
            // kept as data_lock_waits says it, the lock found through its lock id.
            assert_eq!(first.waiting_trx_id.as_deref(), Some("13845"));
            assert_eq!(first.lock_data.as_deref(), Some("1"));
        }
        "wait-without-lock-rows" => {
            assert_eq!(first.lock_mode, "");
            assert_eq!(first.blocking_lock_status, None);
        }
        "mdl-drop-behind-open-transaction" => {
            assert_eq!(first.lock_mode, "EXCLUSIVE");
            assert_eq!(first.blocking_lock_mode.as_deref(), Some("SHARED_WRITE"));
        }
        "mdl-lock-write-behind-lock-read" => {
            assert_eq!(first.lock_mode, "SHARED_NO_READ_WRITE");
            assert_eq!(
                first.blocking_lock_mode.as_deref(),
                Some("SHARED_READ_ONLY")
            );
        }
        "mdl-lock-read-behind-lock-write" => {
            assert_eq!(first.lock_mode, "SHARED_READ_ONLY");
            assert_eq!(
                first.blocking_lock_mode.as_deref(),
                Some("SHARED_NO_READ_WRITE")
            );
        }
        other => panic!("no expectations for {other}"),
    }
}

/// The picture saved as a v1 snapshot renders through the binary: `waits` as JSON and
/// as the table, `status` too, with the same root.
fn render_saved(ctx: &Ctx, case: &str, state: &LiveState) {
    let snapshot = Snapshot {
        collected_at_start: "2026-11-29T00:00:00Z".into(),
        collected_at_end: "2026-11-29T00:00:00Z".into(),
        target: format!("fixtures/mysql8/{case}"),
        state: state.clone(),
        latest_deadlock: None,
        trigger: None,
    };
    let mut doc = serde_json::to_value(&snapshot).expect("snapshot JSON");
    doc["schema_version"] = 1.into();
    doc["kind"] = "snapshot".into();
    doc["lockdiag_version"] = env!("CARGO_PKG_VERSION").into();
    let path = std::env::temp_dir().join(format!(
        "lockdiag-mysql8-{case}-{}.json",
        std::process::id()
    ));
    std::fs::write(&path, serde_json::to_vec(&doc).unwrap()).unwrap();
    let file = path.to_string_lossy().into_owned();
    let waits = ctx.lockdiag_json(&["waits", "--from", &file]);
    let expected = EXPECTED.iter().find(|e| e.case == case).unwrap();
    if expected.roots.is_empty() {
        assert_eq!(
            waits["root_blockers"],
            serde_json::json!([]),
            "{case}: {waits:#}"
        );
        let out = ctx.lockdiag_raw(&["waits", "--from", &file]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("No lock waits"), "{case}: {text}");
        let _ = std::fs::remove_file(&path);
        return;
    }
    assert_eq!(
        waits["root_blockers"][0]["thread_id"], expected.roots[0],
        "{case}: {waits:#}"
    );
    for args in [["waits", "--from", &file], ["status", "--from", &file]] {
        let out = ctx.lockdiag_raw(&args);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(&format!("{}", expected.roots[0])),
            "{case}: {args:?} does not name the root blocker:\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = std::fs::remove_file(&path);
}

/// `performance_schema.error_log`'s columns (MySQL 8.0.22+ manual).
const ERROR_LOG_TABLE: &str = "LOGGED TIMESTAMP(6) NOT NULL, THREAD_ID BIGINT UNSIGNED,
    PRIO VARCHAR(7) NOT NULL, ERROR_CODE VARCHAR(10), SUBSYSTEM VARCHAR(7), DATA TEXT NOT NULL";

/// The captured MariaDB error log as MySQL 8 fills `performance_schema.error_log`: one row
/// per log event, the deadlock's first as MY-012468 and its section headers as MY-012469
/// with the header alone as DATA (`\n*** (1) TRANSACTION:\n`, as MySQL 8 logs them: the
/// transactions and locks go to the log file only, never to the table), all else with its
/// own code. MariaDB prints some headers on the line after an empty `InnoDB:` record.
fn error_log_rows(log: &str) -> Vec<[String; 6]> {
    let mut rows: Vec<[String; 6]> = Vec::new();
    let mut in_deadlock = false;
    for line in log.lines() {
        let prefixed = line.len() > 20
            && line.as_bytes()[4] == b'-'
            && line.contains(" [Note] ")
            && line.contains("InnoDB: ");
        if !prefixed {
            // A header printed on its own line joins its (empty) record; body lines stay out.
            if let Some(last) = rows.last_mut() {
                if in_deadlock && last[5].trim().is_empty() && line.starts_with("***") {
                    last[5] = format!("\n{line}\n");
                }
            }
            continue;
        }
        let (head, message) = line.split_once("InnoDB: ").unwrap();
        let mut fields = head.split_whitespace();
        let logged = format!("{} {}", fields.next().unwrap(), fields.next().unwrap());
        let thread = fields.next().unwrap().to_string();
        let code = if message.contains("deadlock detected") {
            in_deadlock = true;
            "MY-012468"
        } else if in_deadlock {
            "MY-012469"
        } else {
            "MY-012345"
        };
        if message.starts_with("*** WE ROLL BACK") {
            in_deadlock = false;
        }
        rows.push([
            logged,
            thread,
            "Note".into(),
            code.into(),
            "InnoDB".into(),
            message.to_string(),
        ]);
    }
    rows
}

/// Each deadlock's time, victim and number of transactions.
fn moments(
    deadlocks: impl Iterator<Item = lockdiag::model::Deadlock>,
) -> Vec<(Option<String>, Option<u32>, usize)> {
    deadlocks
        .map(|d| (d.timestamp.clone(), d.victim, d.transactions.len()))
        .collect()
}

/// `deadlock --history`'s statement on MySQL-shaped error_log rows finds every deadlock the
/// log file holds, with its time, victim and transactions (headers only, as MySQL keeps
/// them there); on MariaDB the command says why it cannot.
pub fn error_log_table_history(ctx: &Ctx) {
    let log_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/live/error.log");
    let log = std::fs::read_to_string(&log_path).unwrap();
    let from_file =
        moments(lockdiag::parse::ErrorLogDeadlocks::new(log.as_bytes()).map(Result::unwrap));
    assert_eq!(
        from_file.len(),
        3,
        "fixtures/live/error.log holds 3 deadlocks"
    );

    let schema = "replay_error_log";
    let mut conn = ctx.conn();
    ctx.exec(&mut conn, &format!("DROP DATABASE IF EXISTS {schema}"));
    ctx.exec(&mut conn, &format!("CREATE DATABASE {schema}"));
    ctx.exec(
        &mut conn,
        &format!("CREATE TABLE {schema}.error_log ({ERROR_LOG_TABLE})"),
    );
    for row in error_log_rows(&log) {
        ctx.rt
            .block_on(conn.exec_drop(
                format!("INSERT INTO {schema}.error_log VALUES (?, ?, ?, ?, ?, ?)"),
                row.to_vec(),
            ))
            .unwrap();
    }
    let sql = replayed(
        include_str!("../../queries/error_log_deadlocks.sql"),
        schema,
    );
    let records = rows(
        ctx,
        &ctx.pool(),
        &sql,
        Params::Positional(vec!["1970-01-01 00:00:00".into()]),
    );
    let (deadlocks, last) = lockdiag::source::pfs_error_log::deadlocks_in_rows(&records);
    assert!(deadlocks.iter().all(|d| d.header_only()), "{deadlocks:#?}");
    let from_table = moments(deadlocks.into_iter());
    assert_eq!(
        from_table, from_file,
        "the same deadlocks over SQL as in the file"
    );
    assert!(last.unwrap().starts_with("2026-11-23 12:43:24"));
    // Polling from the last entry read finds nothing new.
    let again = rows(
        ctx,
        &ctx.pool(),
        &sql,
        Params::Positional(vec!["2026-11-23 12:43:25".into()]),
    );
    assert!(again.is_empty(), "{again:?}");
    ctx.exec(&mut conn, &format!("DROP DATABASE {schema}"));

    let out = ctx.lockdiag(&["deadlock", "--history"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("MariaDB") && stderr.contains("--error-log"),
        "{stderr}"
    );
}

/// One holder and `waiters` sessions queued on one row, in the shape of the published
/// rows (record lock ids `trx:space:page:heap:ptr`, an IX table lock per transaction):
/// data_lock_waits gets every (waiter, earlier lock) pair, as MySQL 8 fills it.
fn load_queue(ctx: &Ctx, schema: &str, waiters: u64) {
    load_case(ctx, &fixtures().join("(generated: tables only)"), schema);
    let mut conn = ctx.conn();
    let run = |conn: &mut mysql_async::Conn, sql: String| ctx.exec(conn, &sql);
    // MariaDB stops a recursive query at 1,000 rounds by default.
    run(
        &mut conn,
        "SET SESSION max_recursive_iterations = 100000".into(),
    );
    run(
        &mut conn,
        format!("CREATE TABLE {schema}.numbers (i BIGINT UNSIGNED PRIMARY KEY)"),
    );
    run(
        &mut conn,
        format!(
            "INSERT INTO {schema}.numbers SELECT i FROM (WITH RECURSIVE n(i) AS \
             (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {waiters}) SELECT i FROM n) AS q"
        ),
    );
    // Session i: performance_schema thread 100+i, processlist id 10+i, transaction 5000+i;
    // 0 holds the row, 1.. wait in that order.
    run(
        &mut conn,
        format!(
            "INSERT INTO {schema}.data_locks SELECT 'INNODB', CONCAT(5000 + i, ':8:4:2:', 90000 + i), \
             5000 + i, 100 + i, 20, 'shop', 'payments', NULL, NULL, 'PRIMARY', 90000 + i, 'RECORD', \
             'X,REC_NOT_GAP', IF(i = 0, 'GRANTED', 'WAITING'), '7' FROM {schema}.numbers \
             UNION ALL SELECT 'INNODB', CONCAT(5000 + i, ':1063:', 80000 + i), 5000 + i, 100 + i, 20, \
             'shop', 'payments', NULL, NULL, NULL, 80000 + i, 'TABLE', 'IX', 'GRANTED', NULL \
             FROM {schema}.numbers"
        ),
    );
    run(
        &mut conn,
        format!(
            "INSERT INTO {schema}.data_lock_waits SELECT 'INNODB', CONCAT(5000 + r.i, ':8:4:2:', 90000 + r.i), \
             5000 + r.i, 100 + r.i, 21, 90000 + r.i, CONCAT(5000 + b.i, ':8:4:2:', 90000 + b.i), \
             5000 + b.i, 100 + b.i, 20, 90000 + b.i \
             FROM {schema}.numbers r JOIN {schema}.numbers b ON b.i < r.i"
        ),
    );
    run(
        &mut conn,
        format!(
            "INSERT INTO {schema}.threads SELECT 100 + i, 10 + i, {waiters} + 5 - i FROM {schema}.numbers"
        ),
    );
    run(
        &mut conn,
        format!(
            "INSERT INTO {schema}.INNODB_TRX SELECT 5000 + i, NOW() - INTERVAL 60 SECOND, \
             IF(i = 0, NULL, NOW() - INTERVAL ({waiters} + 5 - i) SECOND), 1, 0, 10 + i \
             FROM {schema}.numbers"
        ),
    );
}

/// The reduced MySQL 8 statements on generated queues (issue 25): a 2-waiter queue and a
/// 1,000-waiter one (500,500 pair rows) come back as one row per waiter, each on the
/// holder's GRANTED lock, and give the same root blocker, counts and longest wait as the
/// pair rows themselves (read whole, with the statement's filter cut off, for the small queues).
pub fn reduced_waits_on_generated_queues(ctx: &Ctx) {
    let pool = ctx.pool();
    let statement = lockdiag::source::collect::MYSQL8_WAITS;
    let unreduced = include_str!("../../queries/lock_waits_mysql8.sql");
    let no_process = lockdiag::source::collect::MYSQL8_WAITS_NO_PROCESS;
    for waiters in [2u64, 150, 1000] {
        let schema = format!("replay_queue_{waiters}");
        load_queue(ctx, &schema, waiters);
        let pair_rows = rows(
            ctx,
            &pool,
            &format!("SELECT COUNT(*) AS n FROM {schema}.data_lock_waits"),
            Params::Empty,
        )[0]
        .num("n");
        assert_eq!(pair_rows, Some(waiters * (waiters + 1) / 2));
        let read = |sql: &str| -> Vec<LockWait> {
            rows(ctx, &pool, &replayed(sql, &schema), Params::Empty)
                .iter()
                .filter_map(map_row_wait)
                .collect()
        };
        let reduced = read(statement);
        assert_eq!(reduced.len() as u64, waiters, "one row per waiter");
        assert!(reduced
            .iter()
            .all(|w| w.blocking_thread_id == 10
                && w.blocking_lock_status == Some(LockStatus::Granted)));
        assert_eq!(
            read(no_process).len() as u64,
            waiters,
            "without PROCESS too"
        );
        let picture = |row_waits: Vec<LockWait>| {
            let state = LiveState {
                row_waits,
                ..LiveState::default()
            };
            let analysis = analyze_waits(&state);
            // The longest wait as read: the first waiter's, plus the seconds since the rows were made.
            assert!(analysis
                .root_blockers
                .iter()
                .all(|r| (waiters + 4..=waiters + 6).contains(&r.longest_wait_secs)));
            analysis
                .root_blockers
                .iter()
                .map(|r| (r.thread_id, r.blocked_directly, r.blocked_sessions))
                .collect::<Vec<_>>()
        };
        let want = vec![(10, waiters, waiters)];
        assert_eq!(picture(reduced), want, "{waiters} waiters");
        if waiters <= 150 {
            assert_eq!(picture(read(unreduced)), want, "the pair rows agree");
        }
        let mut conn = ctx.conn();
        ctx.exec(&mut conn, &format!("DROP DATABASE {schema}"));
    }
}
