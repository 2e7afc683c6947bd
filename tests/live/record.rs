//! `lockdiag record` against the throwaway server: what happens between two
//! cron runs is caught — a lock wait that times out, a deadlock — and replays.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::ctx::Ctx;

/// `lockdiag record --out DIR --interval 1s --log-format json ARGS…` against the test server,
/// its events on a pipe.
pub fn spawn_recorder(ctx: &Ctx, dir: &std::path::Path, args: &[&str]) -> std::process::Child {
    ctx.lockdiag_command()
        .arg("record")
        .args([
            "--out",
            dir.to_str().unwrap(),
            "--interval",
            "1s",
            "--log-format",
            "json",
        ])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the recorder")
}

pub fn record_catches_a_timeout_and_a_deadlock(ctx: &Ctx) {
    let dir = ctx.server.dir.join("record");
    let error_log = ctx.server.error_log();
    let recorder = spawn_recorder(
        ctx,
        &dir,
        &[
            "--on-lock-wait",
            "2s",
            "--on-deadlock",
            "--for",
            "16s",
            "--error-log",
            error_log.to_str().unwrap(),
        ],
    );
    std::thread::sleep(Duration::from_millis(1500));

    // (a) The incident of the runbook: an idle transaction holds a paid_events key; an INSERT
    // of the same key waits, then fails with 1205 long before a once-a-minute cron would look.
    let mut holder = ctx.conn();
    ctx.exec(&mut holder, "BEGIN");
    ctx.exec(
        &mut holder,
        "INSERT INTO paid_events (order_id, payment_key) VALUES (4242, 'pk_recorded')",
    );
    let mut insert = ctx.spawn(
        ctx.conn(),
        &[
            "SET SESSION innodb_lock_wait_timeout = 4",
            "INSERT INTO paid_events (order_id, payment_key) VALUES (4242, 'pk_recorded')",
        ],
    );
    let insert_id = insert.thread_id;
    let deadline = Instant::now() + Duration::from_secs(15);
    let failure = loop {
        if let Ok(result) = insert.done.try_recv() {
            break result.expect_err("the INSERT must time out");
        }
        assert!(Instant::now() < deadline, "the INSERT never timed out");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        failure.contains("1205") || failure.contains("Lock wait timeout"),
        "{failure}"
    );
    ctx.exec(&mut holder, "ROLLBACK");

    // (b) A deadlock between two sessions, between two probes.
    let (x_id, y_id) = make_deadlock(ctx);

    let out = recorder.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("\"event\":\"stop\""), "{log}");

    // The snapshot names the idle holder as the root blocker of the INSERT, and says why it was taken.
    let snapshots: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    let caught = snapshots
        .iter()
        .find(|p| {
            let doc: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
            crate::schema_check::validate_document(&doc);
            doc["trigger"]
                .as_str()
                .is_some_and(|t| t.starts_with("lock-wait"))
                && doc["analysis"]["root_blockers"][0]["thread_id"] == holder.id()
                && doc["analysis"]["waits"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|w| w["waiting_thread_id"] == insert_id)
        })
        .unwrap_or_else(|| panic!("no snapshot caught the holder: {snapshots:?}\n{log}"));
    assert!(
        snapshots.len() <= 6,
        "a short series, not a file per probe: {snapshots:?}"
    );
    // It replays with --from.
    let replay = ctx.lockdiag_raw(&[
        "--from",
        caught.to_str().unwrap(),
        "waits",
        "--format",
        "json",
    ]);
    let doc: Value = serde_json::from_slice(&replay.stdout).unwrap();
    assert_eq!(doc["root_blockers"][0]["thread_id"], holder.id(), "{doc:#}");

    // The deadlock is in deadlocks.jsonl once, with both transactions (status text and error log agree).
    let lines = std::fs::read_to_string(dir.join("deadlocks.jsonl")).unwrap();
    let ours = deadlocks_between(&lines, (x_id, y_id));
    assert_eq!(ours.len(), 1, "{lines}\n{log}");
    assert_eq!(ours[0]["transactions"].as_array().unwrap().len(), 2);
    assert!(ours[0]["fingerprint"].is_string());
    // The error log saw it too, and it was not written twice.
    assert!(
        log.contains("\"event\":\"deadlock-already-kept\"")
            || log.contains("\"from\":\"error_log\""),
        "the error log was not followed: {log}"
    );
}

/// The lines of deadlocks.jsonl whose transactions include both threads.
fn deadlocks_between(lines: &str, (a, b): (u32, u32)) -> Vec<Value> {
    lines
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .inspect(|line| crate::schema_check::validate("deadlocks-line", line))
        .filter(|d| {
            let threads: Vec<u64> = d["transactions"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|t| t["thread_id"].as_u64())
                .collect();
            threads.contains(&u64::from(a)) && threads.contains(&u64::from(b))
        })
        .collect()
}

/// Two sessions in a deadlock on `pair`; returns their thread ids.
fn make_deadlock(ctx: &Ctx) -> (u32, u32) {
    let (mut x, mut y) = (ctx.conn(), ctx.conn());
    let ids = (x.id(), y.id());
    ctx.exec(&mut x, "BEGIN");
    ctx.exec(&mut x, "UPDATE pair SET v = v + 1 WHERE id = 1");
    ctx.exec(&mut y, "BEGIN");
    ctx.exec(&mut y, "UPDATE pair SET v = v + 1 WHERE id = 2");
    let px = ctx.spawn(x, &["UPDATE pair SET v = v + 1 WHERE id = 2"]);
    ctx.wait_for_waiters(1);
    let py = ctx.spawn(y, &["UPDATE pair SET v = v + 1 WHERE id = 1"]);
    assert_eq!(crate::deadlocks::deadlock_victims(ctx, vec![px, py]), 1);
    // The survivor keeps its transaction (and both rows) open: end it.
    ctx.kill(&[ids.0, ids.1]);
    ids
}

/// The server restarts under a running recorder: it says so, reconnects, and records the
/// next deadlock. Runs last: the restart ends every other session.
pub fn record_survives_a_restart(ctx: &Ctx) {
    let dir = ctx.server.dir.join("record-restart");
    let recorder = spawn_recorder(
        ctx,
        &dir,
        &[
            "--for",
            "20s",
            "--connect-timeout",
            "1s",
            "--query-timeout",
            "2s",
        ],
    );
    std::thread::sleep(Duration::from_millis(1500));
    let before = make_deadlock(ctx);
    std::thread::sleep(Duration::from_millis(2500));
    ctx.server.restart();
    std::thread::sleep(Duration::from_secs(4));
    let after = make_deadlock(ctx);
    let out = recorder.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    // The restart is said: a failed probe, or (the pool reconnects by itself) InnoDB's
    // deadlock counter starting again.
    assert!(
        log.contains("\"event\":\"server-restarted\"")
            || log.contains("\"event\":\"probe-failed\""),
        "{log}"
    );
    let lines = std::fs::read_to_string(dir.join("deadlocks.jsonl")).unwrap();
    let has = |pair: (u32, u32)| !deadlocks_between(&lines, pair).is_empty();
    assert!(
        has(before),
        "the deadlock before the restart: {lines}\n{log}"
    );
    assert!(has(after), "the deadlock after the restart: {lines}\n{log}");
}

/// Percona Server's `innodb_print_lock_wait_timeout_info` entries, followed by `record
/// --error-log`. MariaDB does not write them, so a real 1205 is made here and the entry
/// Percona would log for it (its format: `print_lock_wait_timeout` in lock0wait.cc) is
/// appended with the real thread and transaction ids, once in two writes that cut it (a poll
/// may fall between; the server writes an entry in one go, so well under a poll apart): each
/// timeout lands in lock-wait-timeouts.jsonl once, whole, naming the session that held the key.
pub fn record_keeps_percona_lock_wait_timeouts(ctx: &Ctx) {
    let dir = ctx.server.dir.join("record-timeouts");
    let log_path = ctx.server.dir.join("percona-error.log");
    std::fs::write(&log_path, "").unwrap();
    let recorder = spawn_recorder(
        ctx,
        &dir,
        &["--for", "6s", "--error-log", log_path.to_str().unwrap()],
    );
    let mut holder = ctx.conn();
    ctx.exec(&mut holder, "BEGIN");
    ctx.exec(
        &mut holder,
        "INSERT INTO paid_events (order_id, payment_key) VALUES (4343, 'pk_timeout')",
    );
    let holder_trx = ctx.query_u64(
        &mut holder,
        "SELECT trx_id FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = CONNECTION_ID()",
    );
    let mut waiter = ctx.conn();
    let waiter_id = waiter.id();
    let statement = "INSERT INTO paid_events (order_id, payment_key) VALUES (4343, 'pk_timeout')";
    ctx.exec(&mut waiter, "SET SESSION innodb_lock_wait_timeout = 1");
    ctx.exec(&mut waiter, "BEGIN");
    let failed = ctx
        .rt
        .block_on(mysql_async::prelude::Queryable::query_drop(
            &mut waiter,
            statement,
        ))
        .expect_err("the INSERT must time out");
    assert!(failed.to_string().contains("1205"), "{failed}");
    ctx.exec(&mut holder, "ROLLBACK");
    ctx.exec(&mut waiter, "ROLLBACK");

    let stamp = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ");
    let entry = format!(
        "{stamp} {waiter_id} [Note] InnoDB: Lock wait timeout info:\n\
         Requested thread id: {waiter_id}\n\
         Requested trx id: 999001\n\
         Requested query: {statement}\n\
         Total blocking transactions count: 1\n\
         Blocking transaction number: 1\n\
         Blocking thread id: {}\n\
         Blocking query id: 77\n\
         Blocking trx id: {holder_trx}\n",
        holder.id()
    );
    let cut = entry.find("Blocking thread id").unwrap();
    let append = |text: &str| {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&log_path)
            .unwrap();
        file.write_all(text.as_bytes()).unwrap();
    };
    std::thread::sleep(Duration::from_millis(1200));
    append(&entry[..cut]);
    std::thread::sleep(Duration::from_millis(300));
    append(&entry[cut..]);
    std::thread::sleep(Duration::from_millis(1500));
    append(&entry);

    let out = recorder.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    let written = std::fs::read_to_string(dir.join("lock-wait-timeouts.jsonl"))
        .unwrap_or_else(|e| panic!("no lock-wait-timeouts.jsonl ({e}): {log}"));
    let lines: Vec<Value> = written
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for line in &lines {
        crate::schema_check::validate("lock-wait-timeouts-line", line);
    }
    assert_eq!(lines.len(), 2, "{written}\n{log}");
    for line in &lines {
        assert_eq!(line["thread_id"], waiter_id, "{line:#}");
        assert_eq!(line["truncated"], false, "{line:#}");
        assert_eq!(line["blockers"][0]["thread_id"], holder.id(), "{line:#}");
        assert_eq!(line["blockers"][0]["trx_id"], holder_trx.to_string());
        assert!(line["timestamp_rfc3339"].is_string(), "{line:#}");
    }
    assert!(log.contains("\"event\":\"lock-wait-timeout\""), "{log}");

    // The same log read afterwards: both timeouts in one group, blocked by the holder twice.
    let doc = ctx.lockdiag_json(&["deadlock", "--error-log", log_path.to_str().unwrap()]);
    assert_eq!(doc["lock_wait_timeouts_total"], 2, "{doc:#}");
    let group = &doc["lock_wait_timeout_groups"][0];
    assert_eq!(group["count"], 2);
    assert_eq!(group["blockers"][0]["thread_id"], holder.id());
    assert_eq!(group["blockers"][0]["timeouts"], 2);
}
