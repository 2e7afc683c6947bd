//! What the print does not say (issue 23): the statements a root blocker ran in its
//! open transaction, from performance_schema's statement history — and what to turn on
//! when it is off (MariaDB's default), which `record --enable-statement-history` does
//! for its run only.

use std::time::Duration;

use serde_json::Value;

use crate::ctx::Ctx;

/// Sets the history consumer, and puts back what it was when dropped (also on a panic).
pub struct HistoryConsumer<'a> {
    ctx: &'a Ctx,
    was_on: bool,
}

impl<'a> HistoryConsumer<'a> {
    pub fn set(ctx: &'a Ctx, on: bool) -> Self {
        let was_on = consumer_on(ctx);
        set_consumer(ctx, on);
        HistoryConsumer { ctx, was_on }
    }
}

impl Drop for HistoryConsumer<'_> {
    fn drop(&mut self) {
        set_consumer(self.ctx, self.was_on);
    }
}

fn consumer_on(ctx: &Ctx) -> bool {
    let mut conn = ctx.conn();
    ctx.query_u64(
        &mut conn,
        "SELECT ENABLED = 'YES' FROM performance_schema.setup_consumers WHERE NAME = 'events_statements_history'",
    ) == 1
}

fn set_consumer(ctx: &Ctx, on: bool) {
    let mut conn = ctx.conn();
    ctx.exec(
        &mut conn,
        &format!(
            "UPDATE performance_schema.setup_consumers SET ENABLED = '{}' WHERE NAME IN ('events_statements_current', 'events_statements_history')",
            if on { "YES" } else { "NO" }
        ),
    );
}

/// The root blocker of the test: it ran `SELECT … FOR UPDATE` on payments, then
/// `UPDATE reservations`, and went idle; a session waits for its payments row.
fn idle_blocker_with_a_waiter(ctx: &Ctx) -> (mysql_async::Conn, crate::ctx::Pending) {
    let mut holder = ctx.conn();
    ctx.exec(&mut holder, "BEGIN");
    ctx.exec(
        &mut holder,
        "SELECT * FROM payments WHERE payment_id = 2994 FOR UPDATE",
    );
    std::thread::sleep(Duration::from_millis(1100));
    ctx.exec(
        &mut holder,
        "UPDATE reservations SET status = 'PAID' WHERE reservation_id = 916192",
    );
    let waiter = ctx.spawn(
        ctx.conn(),
        &["UPDATE payments SET status = 'REFUNDED' WHERE payment_id = 2994"],
    );
    ctx.wait_for_waiters(1);
    std::thread::sleep(Duration::from_millis(200)); // INNODB_TRX cache
    (holder, waiter)
}

fn root_of(doc: &Value, thread: u32) -> Value {
    doc["root_blockers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["thread_id"] == thread)
        .unwrap_or_else(|| panic!("thread {thread} is no root: {doc:#}"))
        .clone()
}

pub fn root_blocker_statement_history(ctx: &Ctx) {
    // Off (MariaDB's default): the statements are absent, and the way to turn them on is said.
    {
        let _off = HistoryConsumer::set(ctx, false);
        let (mut holder, waiter) = idle_blocker_with_a_waiter(ctx);
        let doc = ctx.lockdiag_json(&["waits"]);
        let root = root_of(&doc, holder.id());
        assert!(root["statement_history"].is_null(), "{root:#}");
        let source = doc["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["source"] == "statement_history")
            .unwrap_or_else(|| panic!("no statement_history source: {doc:#}"))
            .clone();
        assert_eq!(source["status"], "unavailable");
        let reason = source["reason"].as_str().unwrap();
        assert!(
            reason.contains("events_statements_history")
                && reason.contains("UPDATE performance_schema.setup_consumers")
                && reason.contains("performance-schema-consumer-events-statements-history=ON"),
            "{reason}"
        );
        ctx.exec(&mut holder, "ROLLBACK");
        ctx.kill(&[waiter.thread_id]);
    }
    // On: the root's statements of its transaction, in order, with their ages.
    let _on = HistoryConsumer::set(ctx, true);
    let (mut holder, waiter) = idle_blocker_with_a_waiter(ctx);
    let doc = ctx.lockdiag_json(&["waits"]);
    let root = root_of(&doc, holder.id());
    let history = root["statement_history"]
        .as_array()
        .unwrap_or_else(|| panic!("{root:#}"));
    let sql: Vec<&str> = history.iter().map(|e| e["sql"].as_str().unwrap()).collect();
    let select = sql
        .iter()
        .position(|s| s.starts_with("SELECT * FROM payments"))
        .unwrap_or_else(|| panic!("{sql:?}"));
    let update = sql
        .iter()
        .position(|s| s.starts_with("UPDATE reservations"))
        .unwrap_or_else(|| panic!("{sql:?}"));
    assert!(select < update, "{sql:?}");
    let ago = |i: usize| history[i]["started_secs_ago"].as_u64().unwrap();
    assert!(
        ago(select) >= ago(update) && ago(select) >= 1,
        "{history:#?}"
    );
    assert_eq!(history[update]["rows_affected"], 1);
    assert!(
        !sql.iter().any(|s| s.contains("setup_consumers")),
        "only this session's transaction: {sql:?}"
    );
    // On screen, and in kill's plan.
    let text = String::from_utf8_lossy(&ctx.lockdiag(&["waits"]).stdout).into_owned();
    assert!(
        text.contains("ran ") && text.contains("UPDATE reservations"),
        "{text}"
    );
    let plan = ctx.lockdiag(&["kill", "--root-blockers", "--dry-run"]);
    let said = String::from_utf8_lossy(&plan.stdout).into_owned();
    assert!(said.contains("UPDATE reservations"), "{said}");
    ctx.exec(&mut holder, "ROLLBACK");
    ctx.kill(&[waiter.thread_id]);
}

/// `record --enable-statement-history` turns the consumers on for its run (its snapshots
/// carry the root's statements) and back off when it ends, saying both in its log.
pub fn record_enables_statement_history_for_its_run(ctx: &Ctx) {
    let _off = HistoryConsumer::set(ctx, false);
    let dir = ctx.server.dir.join("record-history");
    let recorder = crate::record::spawn_recorder(
        ctx,
        &dir,
        &[
            "--enable-statement-history",
            "--on-lock-wait",
            "1s",
            "--for",
            "6s",
        ],
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert!(consumer_on(ctx), "the recorder turned the consumer on");
    let (mut holder, waiter) = idle_blocker_with_a_waiter(ctx);
    let out = recorder.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    ctx.exec(&mut holder, "ROLLBACK");
    ctx.kill(&[waiter.thread_id]);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("\"event\":\"statement-history-enabled\"")
            && log.contains("\"event\":\"statement-history-restored\""),
        "{log}"
    );
    assert!(!consumer_on(ctx), "back off after the run: {log}");
    let with_history = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .any(|p| {
            let doc: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            crate::schema_check::validate_document(&doc);
            doc["analysis"]["root_blockers"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|r| {
                    r["statement_history"].as_array().is_some_and(|h| {
                        h.iter().any(|e| {
                            e["sql"]
                                .as_str()
                                .is_some_and(|s| s.starts_with("UPDATE reservations"))
                        })
                    })
                })
        });
    assert!(
        with_history,
        "no snapshot carries the root's statements: {log}"
    );
}

/// `record --enable-statement-history` keeps a payments ↔ reservations deadlock with what
/// the print cannot say: each transaction's earlier UPDATE (the one that took the lock the
/// other waited for), named on the edge and in the diagnosis, and the definitions of the
/// indexes its locks name (read while recording); the consumers are off again afterwards.
pub fn record_keeps_deadlocks_with_their_statements(ctx: &Ctx) {
    let _off = HistoryConsumer::set(ctx, false);
    let dir = ctx.server.dir.join("record-deadlock-history");
    let recorder =
        crate::record::spawn_recorder(ctx, &dir, &["--enable-statement-history", "--for", "7s"]);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(consumer_on(ctx), "the recorder turned the consumer on");
    let (mut webhook, mut refund) = (ctx.conn(), ctx.conn());
    let threads = [u64::from(webhook.id()), u64::from(refund.id())];
    let first = [
        "UPDATE payments SET status='CAPTURED' WHERE payment_id=2993",
        "UPDATE reservations SET status='RELEASED' WHERE reservation_id=916191",
    ];
    for (conn, sql) in [(&mut webhook, first[0]), (&mut refund, first[1])] {
        ctx.exec(conn, "BEGIN");
        ctx.exec(conn, sql);
    }
    let pending_webhook = ctx.spawn(
        webhook,
        &["UPDATE reservations SET status='CONFIRMED' WHERE reservation_id=916191"],
    );
    ctx.wait_for_waiters(1);
    let pending_refund = ctx.spawn(
        refund,
        &["UPDATE payments SET status='REFUNDED' WHERE payment_id=2993"],
    );
    assert_eq!(
        crate::deadlocks::deadlock_victims(ctx, vec![pending_webhook, pending_refund]),
        1
    );
    std::thread::sleep(Duration::from_millis(2500));
    ctx.kill(&[threads[0] as u32, threads[1] as u32]);
    let out = recorder.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{log}");
    assert!(!consumer_on(ctx), "back off after the run: {log}");
    let lines = std::fs::read_to_string(dir.join("deadlocks.jsonl")).unwrap();
    let deadlock: Value = lines
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .inspect(|d| crate::schema_check::validate("deadlocks-line", d))
        .find(|d| {
            d["transactions"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|t| t["thread_id"].as_u64())
                .filter(|t| threads.contains(t))
                .count()
                == 2
        })
        .unwrap_or_else(|| panic!("the deadlock is not kept: {lines}\n{log}"));
    for t in deadlock["transactions"].as_array().unwrap() {
        let earlier = if t["thread_id"] == threads[0] {
            first[0]
        } else {
            first[1]
        };
        let history: Vec<&str> = t["statement_history"]
            .as_array()
            .unwrap_or_else(|| panic!("no history: {t:#}\n{log}"))
            .iter()
            .filter_map(|e| e["sql"].as_str())
            .collect();
        assert!(history.contains(&earlier), "{earlier} not in {history:?}");
    }
    let edges = deadlock["edges"].as_array().unwrap();
    for earlier in first {
        assert!(
            edges.iter().any(|e| e["holder_statement"] == earlier),
            "no edge names {earlier}: {edges:#?}"
        );
        assert!(
            deadlock["diagnosis"]["text"]
                .as_str()
                .unwrap()
                .contains(earlier),
            "{:#}",
            deadlock["diagnosis"]
        );
    }
    let indexes = deadlock["indexes"]
        .as_array()
        .expect("index definitions read live");
    assert!(
        indexes
            .iter()
            .any(|i| i["table"] == "payments" && i["index"] == "PRIMARY"),
        "{indexes:#?}"
    );
}

/// A SIGKILLed `record --enable-statement-history` cannot turn the consumers back off; it
/// left a note in its directory, and the next recorder there (without the flag) turns
/// them off and removes the note.
pub fn killed_recorder_leaves_consumers_to_the_next(ctx: &Ctx) {
    let _off = HistoryConsumer::set(ctx, false);
    let dir = ctx.server.dir.join("record-killed-history");
    let mut killed = crate::record::spawn_recorder(ctx, &dir, &["--enable-statement-history"]);
    let marker = dir.join("statement-history.enabled");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !(marker.exists() && consumer_on(ctx)) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(marker.exists(), "no note of the consumers turned on");
    killed.kill().unwrap(); // SIGKILL: no restore
    killed.wait().unwrap();
    assert!(consumer_on(ctx), "left on by the killed recorder");
    // A note of another server's in the same directory: not this recorder's to turn off,
    // and kept when this server's entry goes.
    let elsewhere = "server=db9@10.9.9.9:3306\nevents_statements_history_long\n";
    let mut note = std::fs::read_to_string(&marker).unwrap();
    note.push_str(elsewhere);
    std::fs::write(&marker, note).unwrap();
    let next = crate::record::spawn_recorder(ctx, &dir, &["--for", "2s"]);
    let out = next.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("\"event\":\"statement-history-left-on\"")
            && log.contains("\"event\":\"statement-history-restored\""),
        "{log}"
    );
    assert!(!consumer_on(ctx), "turned off by the next recorder: {log}");
    assert!(
        log.contains("\"event\":\"statement-history-left-on-elsewhere\"")
            && log.contains("db9@10.9.9.9:3306"),
        "{log}"
    );
    let left = std::fs::read_to_string(&marker).expect("the other server's note is kept");
    assert!(
        left.contains(elsewhere) && left.matches("server=").count() == 1,
        "{left}"
    );
    std::fs::remove_file(&marker).unwrap();
}
