//! Real deadlocks on the throwaway server, read live and from its error log.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use serde_json::Value;

use crate::ctx::{Ctx, Pending};

/// Writes the server's status text to `fixtures/live/NAME.status.txt` when
/// LOCKDIAG_CAPTURE_FIXTURES is set (how the committed fixtures were made).
fn capture(ctx: &Ctx, name: &str) {
    if std::env::var_os("LOCKDIAG_CAPTURE_FIXTURES").is_none() {
        return;
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("fixtures/live/{name}.status.txt"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, innodb_status(ctx)).unwrap();
}

/// The server's `SHOW ENGINE INNODB STATUS` text.
fn innodb_status(ctx: &Ctx) -> String {
    let mut conn = ctx.conn();
    let row: (String, String, String) = ctx
        .rt
        .block_on(conn.query_first("SHOW ENGINE INNODB STATUS"))
        .unwrap()
        .unwrap();
    row.2
}

/// Two sessions each take a lock (session `i` runs `first[i]` in a transaction), then
/// each asks for the other's: `then[0]` on session 0, which waits, then `then[1]` on
/// session 1, which closes the cycle. Its status is captured as `fixture`; returns the
/// sessions' thread ids.
fn crossed(ctx: &Ctx, first: [&str; 2], then: [&str; 2], fixture: &str) -> [u32; 2] {
    let (mut a, mut b) = (ctx.conn(), ctx.conn());
    let ids = [a.id(), b.id()];
    for (conn, sql) in [(&mut a, first[0]), (&mut b, first[1])] {
        ctx.exec(conn, "BEGIN");
        ctx.exec(conn, sql);
    }
    let pa = ctx.spawn(a, &[then[0]]);
    ctx.wait_for_waiters(1);
    let pb = ctx.spawn(b, &[then[1]]);
    assert_eq!(deadlock_victims(ctx, vec![pa, pb]), 1);
    capture(ctx, fixture);
    ids
}

/// Waits until InnoDB picked a victim among the background statements
/// (others may stay blocked behind survivors); returns how many failed with a deadlock.
pub fn deadlock_victims(_ctx: &Ctx, mut pending: Vec<Pending>) -> usize {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut victims = 0;
    while victims == 0 && std::time::Instant::now() < deadline {
        for p in &mut pending {
            if let Ok(Err(message)) = p.done.try_recv() {
                assert!(message.contains("Deadlock"), "unexpected error: {message}");
                victims += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    victims
}

fn latest(ctx: &Ctx) -> Value {
    let doc = ctx.lockdiag_json(&["deadlock"]);
    assert_eq!(doc["schema_version"], lockdiag::model::SCHEMA_VERSION);
    assert_eq!(doc["deadlocks"].as_array().unwrap().len(), 1, "{doc:#}");
    // Live, the server's zone is known: the zone-less print gets its RFC 3339 form, the
    // same wall-clock time with the server's offset.
    let d = &doc["deadlocks"][0];
    let printed = d["timestamp"].as_str().unwrap().replace(' ', "T");
    let rfc = d["timestamp_rfc3339"]
        .as_str()
        .unwrap_or_else(|| panic!("{d:#}"));
    assert!(
        rfc.starts_with(&printed) && chrono::DateTime::parse_from_rfc3339(rfc).is_ok(),
        "{printed} vs {rfc}"
    );
    doc["deadlocks"][0].clone()
}

fn tables(trx: &Value, key: &str) -> Vec<String> {
    match &trx[key] {
        Value::Array(locks) => locks
            .iter()
            .map(|l| l["table"].as_str().unwrap().to_string())
            .collect(),
        Value::Object(_) => vec![trx[key]["table"].as_str().unwrap().to_string()],
        _ => vec![],
    }
}

pub fn payments_reservations(ctx: &Ctx) {
    let [webhook_id, refund_id] = crossed(
        ctx,
        [
            "UPDATE payments SET status='CAPTURED' WHERE payment_id=2993",
            "UPDATE reservations SET status='RELEASED' WHERE reservation_id=916191",
        ],
        [
            "UPDATE reservations SET status='CONFIRMED' WHERE reservation_id=916191",
            "UPDATE payments SET status='REFUNDED' WHERE payment_id=2993",
        ],
        "payments-reservations",
    );

    let d = latest(ctx);
    assert_eq!(d["diagnosis"]["kind"], "lock_order_inversion", "{d:#}");
    assert_eq!(d["truncated"], false);
    let trxs = d["transactions"].as_array().unwrap();
    assert_eq!(trxs.len(), 2);
    let threads: Vec<u64> = trxs
        .iter()
        .map(|t| t["thread_id"].as_u64().unwrap())
        .collect();
    assert!(threads.contains(&u64::from(webhook_id)) && threads.contains(&u64::from(refund_id)));
    let victim = d["victim"].as_u64().unwrap();
    assert!(trxs
        .iter()
        .any(|t| t["number"] == victim && t["rolled_back"] == true));
    for t in trxs {
        let (held, waited) = (tables(t, "holds"), tables(t, "waits_for"));
        assert_eq!(held.len(), 1, "{t:#}");
        assert_ne!(held[0], waited[0]);
        assert_eq!(t["user"], "root");
        assert!(t["query"].as_str().unwrap().starts_with("UPDATE"));
    }
    let key = &d["transactions"][0]["waits_for"]["records"][0]["fields"][0]["value"];
    assert_eq!(key["kind"], "int");
    assert!(key["value"] == 2993 || key["value"] == 916191, "{key}");
    assert!(d["diagnosis"]["fix"].as_str().unwrap().contains("before"));
    assert!(d["fingerprint"].as_str().unwrap().len() == 16);
    ctx.kill(&[webhook_id, refund_id]);
}

pub fn three_way_cycle(ctx: &Ctx) {
    let (mut c1, mut c2, mut c3) = (ctx.conn(), ctx.conn(), ctx.conn());
    let ids = [c1.id(), c2.id(), c3.id()];
    for (conn, sql) in [
        (&mut c1, "UPDATE users SET points=points+1 WHERE id=2"),
        (&mut c2, "UPDATE user_badges SET badge='b' WHERE id=10"),
        (&mut c3, "UPDATE user_activities SET kind='k' WHERE id=100"),
    ] {
        ctx.exec(conn, "BEGIN");
        ctx.exec(conn, sql);
    }
    let p1 = ctx.spawn(c1, &["UPDATE user_badges SET badge='c' WHERE id=10"]);
    let p2 = ctx.spawn(c2, &["UPDATE user_activities SET kind='j' WHERE id=100"]);
    ctx.wait_for_waiters(2);
    let p3 = ctx.spawn(c3, &["UPDATE users SET points=points+5 WHERE id=2"]);
    assert_eq!(deadlock_victims(ctx, vec![p1, p2, p3]), 1);
    capture(ctx, "three-way-cycle");

    let d = latest(ctx);
    assert_eq!(d["diagnosis"]["kind"], "cycle");
    assert_eq!(d["cycle"].as_array().unwrap().len(), 3, "{d:#}");
    let text = d["diagnosis"]["text"].as_str().unwrap();
    for t in ["shop.users", "shop.user_badges", "shop.user_activities"] {
        assert!(text.contains(t), "{text}");
    }
    let edges = d["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 3);
    assert!(edges
        .iter()
        .all(|e| e["holder"].is_u64() && e["inferred"] == false));
    ctx.kill(&ids);
}

pub fn check_then_insert_gap(ctx: &Ctx) {
    // Both look for the row with a locking read that finds nothing, then insert it.
    let check =
        "SELECT * FROM seller_settlements WHERE product_id=8 AND status='pending' FOR UPDATE";
    let ids = crossed(
        ctx,
        [check, check],
        [
            "INSERT INTO seller_settlements (product_id, status, total) VALUES (8, 'pending', 20)",
            "INSERT INTO seller_settlements (product_id, status, total) VALUES (8, 'pending', 10)",
        ],
        "check-then-insert-gap",
    );

    let d = latest(ctx);
    assert_eq!(d["diagnosis"]["kind"], "gap_insert_intention", "{d:#}");
    for t in d["transactions"].as_array().unwrap() {
        assert_eq!(t["waits_for"]["gap_mode"], "insert_intention");
        assert_eq!(t["waits_for"]["index"], "idx_product_status");
        assert!(
            t["holds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|h| h["gap_mode"] == "gap" || h["gap_mode"] == "next_key"),
            "{t:#}"
        );
    }
    // Live, lockdiag read the index's definition: not unique, so the UNIQUE-key advice
    // stays, naming its columns.
    let fix = d["diagnosis"]["fix"].as_str().unwrap();
    assert!(fix.contains("ON DUPLICATE KEY UPDATE"), "{fix}");
    assert!(
        fix.contains("UNIQUE key on the checked columns")
            && fix.contains("`idx_product_status` (product_id, status) is not UNIQUE"),
        "{fix}"
    );
    let index = index_definition(&d, "idx_product_status");
    assert_eq!(index["unique"], false, "{d:#}");
    assert_eq!(
        index["columns"],
        serde_json::json!(["product_id", "status"])
    );
    ctx.kill(&ids);
}

/// The definition `deadlock` read for one of the deadlock's indexes.
fn index_definition(d: &Value, name: &str) -> Value {
    d["indexes"]
        .as_array()
        .unwrap_or_else(|| panic!("no index definitions: {d:#}"))
        .iter()
        .find(|i| i["index"] == name)
        .unwrap_or_else(|| panic!("{name} not read: {d:#}"))
        .clone()
}

/// Check-then-insert on a key that is already UNIQUE (paid_events' order/payment key): the
/// same gap / insert-intention deadlock, but the fix is to let the INSERT decide, not to add
/// the unique key it has.
pub fn check_then_insert_on_a_unique_key(ctx: &Ctx) {
    let insert = "INSERT INTO paid_events (order_id, payment_key) VALUES (0, 'pk_0')";
    let check = "SELECT * FROM paid_events WHERE order_id=0 AND payment_key='pk_0' FOR UPDATE";
    let ids = crossed(
        ctx,
        [check, check],
        [insert, insert],
        "check-then-insert-unique",
    );

    let d = latest(ctx);
    assert_eq!(d["diagnosis"]["kind"], "gap_insert_intention", "{d:#}");
    assert_eq!(
        d["transactions"][0]["waits_for"]["index"],
        "uk_paid_events_order_payment"
    );
    let fix = d["diagnosis"]["fix"].as_str().unwrap();
    assert!(!fix.contains("UNIQUE key on the checked columns"), "{fix}");
    assert!(
        fix.contains(
            "`uk_paid_events_order_payment` (order_id, payment_key) is already a unique key"
        ) && fix.contains("INSERT … ON DUPLICATE KEY UPDATE or INSERT IGNORE"),
        "{fix}"
    );
    let index = index_definition(&d, "uk_paid_events_order_payment");
    assert_eq!(index["unique"], true, "{d:#}");
    assert_eq!(index["schema"], "shop");
    assert_eq!(index["table"], "paid_events");
    assert_eq!(
        index["columns"],
        serde_json::json!(["order_id", "payment_key"])
    );
    // From the print alone the index's uniqueness is unknown: the advice is conditional.
    let status = status_text(ctx);
    let from_print = ctx.lockdiag_json(&["deadlock", "--file", status.to_str().unwrap()]);
    let printed = &from_print["deadlocks"][0];
    assert!(printed.get("indexes").is_none(), "{printed:#}");
    let fix = printed["diagnosis"]["fix"].as_str().unwrap();
    assert!(
        fix.starts_with("If `uk_paid_events_order_payment` is not UNIQUE"),
        "{fix}"
    );
    ctx.kill(&ids);
}

/// The server's status text, saved to a file for `--file`.
fn status_text(ctx: &Ctx) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("lockdiag-status-{}.txt", std::process::id()));
    std::fs::write(&path, innodb_status(ctx)).unwrap();
    path
}

/// One transaction INSERTs a key and then updates a payment another holds; that one
/// INSERTs the same key: its duplicate-key check (an S lock on the uncommitted key)
/// closes the cycle, and the diagnosis says what the INSERT was waiting for.
pub fn duplicate_key_check_closes_a_cycle(ctx: &Ctx) {
    let insert = "INSERT INTO paid_events (order_id, payment_key) VALUES (7100, 'pk_7100')";
    // Session 0 checks the key session 1 wrote; session 1 then wants the payment session 0 holds.
    let ids = crossed(
        ctx,
        [
            "UPDATE payments SET status='CHECKED' WHERE payment_id=2994",
            insert,
        ],
        [
            insert,
            "UPDATE payments SET status='WRITTEN' WHERE payment_id=2994",
        ],
        "duplicate-key-check",
    );

    let d = latest(ctx);
    let inserting = d["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["query"].as_str().unwrap().starts_with("INSERT"))
        .unwrap_or_else(|| panic!("{d:#}"));
    let wait = &inserting["waits_for"];
    assert_eq!(wait["index"], "uk_paid_events_order_payment", "{d:#}");
    assert_eq!(wait["mode"], "S", "{d:#}");
    let (checker_n, writer_n) = (
        inserting["number"].as_u64().unwrap(),
        3 - inserting["number"].as_u64().unwrap(),
    );
    let text = d["diagnosis"]["text"].as_str().unwrap();
    assert!(
        text.contains(&format!(
            "T{checker_n}'s INSERT was checking for a duplicate of a key T{writer_n} had written and not committed"
        )),
        "{text}"
    );
    assert_eq!(d["diagnosis"]["kind"], "lock_order_inversion", "{d:#}");
    ctx.kill(&ids);
}

pub fn error_log_has_all(ctx: &Ctx) {
    let log = ctx.server.error_log();
    let doc = ctx.lockdiag_json(&["deadlock", "--error-log", log.to_str().unwrap()]);
    let total = doc["deadlocks_total"].as_u64().unwrap();
    assert!(
        total >= 1,
        "no deadlock found in the server's error log: {doc:#}"
    );
    let kinds: Vec<&str> = doc["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["diagnosis"].as_str().unwrap())
        .collect();
    let listed = doc["deadlocks"].as_array().unwrap();
    assert_eq!(listed.len() as u64, total.min(20));
    // Each deadlock this run provoked is in the log, with the same fingerprint as read live.
    let live = ctx.lockdiag_json(&["deadlock"]);
    let newest = listed.last().unwrap();
    assert_eq!(
        newest["fingerprint"], live["deadlocks"][0]["fingerprint"],
        "log: {newest:#}\nlive: {live:#}"
    );
    assert!(listed
        .iter()
        .all(|d| d["truncated"] == false && d["timestamp"].is_string()));
    if total >= 3 {
        for kind in ["lock_order_inversion", "cycle", "gap_insert_intention"] {
            assert!(kinds.contains(&kind), "{kinds:?}");
        }
    }
    let last_one = ctx.lockdiag_json(&[
        "deadlock",
        "--error-log",
        log.to_str().unwrap(),
        "--last",
        "1",
    ]);
    assert_eq!(last_one["deadlocks"].as_array().unwrap().len(), 1);
    assert_eq!(last_one["deadlocks_omitted"].as_u64().unwrap(), total - 1);
    let none = ctx.lockdiag_json(&[
        "deadlock",
        "--error-log",
        log.to_str().unwrap(),
        "--since",
        "1ns",
    ]);
    assert!(none["deadlocks_total"].as_u64().unwrap() <= total);
    if std::env::var_os("LOCKDIAG_CAPTURE_FIXTURES").is_some() {
        std::fs::copy(
            &log,
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/live/error.log"),
        )
        .unwrap();
    }
}

/// Read live, a deadlock's transactions carry what their sessions ran before (issue 23):
/// the print shows each one's last statement, the history the earlier UPDATE that took
/// the lock it held.
pub fn deadlock_transactions_carry_their_statements(ctx: &Ctx) {
    let _on = crate::history::HistoryConsumer::set(ctx, true);
    let ids = crossed(
        ctx,
        [
            "UPDATE payments SET status='CAPTURED' WHERE payment_id=2994",
            "UPDATE reservations SET status='RELEASED' WHERE reservation_id=916192",
        ],
        [
            "UPDATE reservations SET status='CONFIRMED' WHERE reservation_id=916192",
            "UPDATE payments SET status='REFUNDED' WHERE payment_id=2994",
        ],
        "statement-history",
    );
    let d = latest(ctx);
    for t in d["transactions"].as_array().unwrap() {
        let history: Vec<&str> = t["statement_history"]
            .as_array()
            .unwrap_or_else(|| panic!("no history: {t:#}"))
            .iter()
            .filter_map(|e| e["sql"].as_str())
            .collect();
        // The statement that took its held lock, which the print does not show.
        let held_by = if t["thread_id"] == ids[0] {
            "UPDATE payments SET status='CAPTURED'"
        } else {
            "UPDATE reservations SET status='RELEASED'"
        };
        assert!(
            history.iter().any(|s| s.starts_with(held_by)),
            "{held_by} not in {history:?}"
        );
        assert!(!t["query"].as_str().unwrap().starts_with(held_by));
        // …and the edge from the other transaction to this one names it.
        let edge = d["edges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["holder"] == t["number"])
            .unwrap_or_else(|| panic!("no edge to {t:#}"));
        assert!(
            edge["holder_statement"]
                .as_str()
                .is_some_and(|s| s.starts_with(held_by)),
            "{edge:#}"
        );
    }
    ctx.kill(&ids);
}
