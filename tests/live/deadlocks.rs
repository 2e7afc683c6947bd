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
    let mut conn = ctx.conn();
    let row: (String, String, String) = ctx
        .rt
        .block_on(conn.query_first("SHOW ENGINE INNODB STATUS"))
        .unwrap()
        .unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("fixtures/live/{name}.status.txt"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, row.2).unwrap();
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
    let (mut webhook, mut refund) = (ctx.conn(), ctx.conn());
    let (webhook_id, refund_id) = (webhook.id(), refund.id());
    ctx.exec(&mut webhook, "BEGIN");
    ctx.exec(
        &mut webhook,
        "UPDATE payments SET status='CAPTURED' WHERE payment_id=2993",
    );
    ctx.exec(&mut refund, "BEGIN");
    ctx.exec(
        &mut refund,
        "UPDATE reservations SET status='RELEASED' WHERE reservation_id=916191",
    );
    let w = ctx.spawn(
        webhook,
        &["UPDATE reservations SET status='CONFIRMED' WHERE reservation_id=916191"],
    );
    ctx.wait_for_waiters(1);
    let r = ctx.spawn(
        refund,
        &["UPDATE payments SET status='REFUNDED' WHERE payment_id=2993"],
    );
    assert_eq!(deadlock_victims(ctx, vec![w, r]), 1);
    capture(ctx, "payments-reservations");

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
    let (mut a, mut b) = (ctx.conn(), ctx.conn());
    let ids = [a.id(), b.id()];
    for conn in [&mut a, &mut b] {
        ctx.exec(conn, "BEGIN");
        ctx.exec(
            conn,
            "SELECT * FROM seller_settlements WHERE product_id=8 AND status='pending' FOR UPDATE",
        );
    }
    let pa = ctx.spawn(
        a,
        &["INSERT INTO seller_settlements (product_id, status, total) VALUES (8, 'pending', 20)"],
    );
    ctx.wait_for_waiters(1);
    let pb = ctx.spawn(
        b,
        &["INSERT INTO seller_settlements (product_id, status, total) VALUES (8, 'pending', 10)"],
    );
    assert_eq!(deadlock_victims(ctx, vec![pa, pb]), 1);
    capture(ctx, "check-then-insert-gap");

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
    assert!(d["diagnosis"]["fix"]
        .as_str()
        .unwrap()
        .contains("ON DUPLICATE KEY UPDATE"));
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
