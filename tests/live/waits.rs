//! The waits tree, metadata-lock queues and the processlist on real lock waits.

use serde_json::Value;

use crate::ctx::Ctx;

fn root(doc: &Value, thread: u32) -> &Value {
    doc["root_blockers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["thread_id"] == thread)
        .unwrap_or_else(|| panic!("thread {thread} is not a root blocker: {doc:#}"))
}

fn child(node: &Value, thread: u32) -> &Value {
    node["waiters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["thread_id"] == thread)
        .unwrap_or_else(|| {
            panic!(
                "thread {thread} is not under {}: {node:#}",
                node["thread_id"]
            )
        })
}

pub fn chain_and_unrelated_pair(ctx: &Ctx) {
    let mut a = ctx.conn();
    ctx.exec(&mut a, "BEGIN");
    ctx.exec(&mut a, "UPDATE chain SET v = v + 1 WHERE id = 1");
    let a_id = a.id();
    let mut e = ctx.conn();
    ctx.exec(&mut e, "BEGIN");
    ctx.exec(&mut e, "UPDATE pair SET v = v + 1 WHERE id = 1");
    let e_id = e.id();
    let b = ctx.spawn(
        ctx.conn(),
        &[
            "BEGIN",
            "UPDATE chain SET v = v + 1 WHERE id = 2",
            "UPDATE chain SET v = v + 1 WHERE id = 1",
        ],
    );
    ctx.wait_for_waiters(1);
    let c = ctx.spawn(
        ctx.conn(),
        &["BEGIN", "UPDATE chain SET v = v + 1 WHERE id = 2"],
    );
    let d = ctx.spawn(
        ctx.conn(),
        &["BEGIN", "UPDATE chain SET v = v + 1 WHERE id = 1"],
    );
    let f = ctx.spawn(
        ctx.conn(),
        &["BEGIN", "UPDATE pair SET v = v + 1 WHERE id = 1"],
    );
    ctx.wait_for_waiters(4);

    let doc = ctx.lockdiag_json(&["waits"]);
    assert_eq!(doc["schema_version"], lockdiag::model::SCHEMA_VERSION);
    let roots: Vec<u64> = doc["root_blockers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["thread_id"].as_u64().unwrap())
        .collect();
    assert_eq!(
        roots,
        vec![u64::from(a_id), u64::from(e_id)],
        "two roots, the bigger first: {doc:#}"
    );
    let ra = root(&doc, a_id);
    assert_eq!(ra["blocked_sessions"], 3);
    assert_eq!(ra["state"], "idle_in_trx");
    assert!(ra["idle_secs"].as_u64().is_some());
    assert!(ra["trx_id"].is_string());
    assert_eq!(root(&doc, e_id)["blocked_sessions"], 1);
    let under_b = child(ra, b.thread_id);
    let c_node = child(under_b, c.thread_id);
    assert_eq!(c_node["wait"]["kind"], "row");
    assert!(ra["waiters"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w["thread_id"] == d.thread_id));
    // D is also queued behind B's waiting request for row 1: the server lists that edge, but
    // with a holder (A) to blame it adds nothing; D hangs under A only.
    assert!(
        !under_b["waiters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["thread_id"] == d.thread_id),
        "{under_b:#}"
    );
    let waits = doc["waits"].as_array().unwrap();
    let fw = waits
        .iter()
        .find(|w| w["waiting_thread_id"] == f.thread_id)
        .expect("F's wait is listed");
    assert_eq!(
        (
            fw["blocking_thread_id"].as_u64(),
            fw["kind"].as_str(),
            fw["schema"].as_str(),
            fw["table"].as_str(),
            fw["index"].as_str()
        ),
        (
            Some(u64::from(e_id)),
            Some("row"),
            Some("shop"),
            Some("pair"),
            Some("PRIMARY")
        )
    );
    assert!(fw["lock_mode"].as_str().unwrap().starts_with('X'));
    assert!(fw["wait_secs"].is_u64());

    // The table form names the root blocker first.
    let table = ctx.lockdiag(&["waits"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.lines()
            .next()
            .unwrap()
            .contains(&format!("ROOT BLOCKER thread {a_id}")),
        "{text}"
    );
    assert!(text.contains("IDLE IN TRANSACTION"), "{text}");

    // locks: held and waited locks of the chain.
    let locks = ctx.lockdiag_json(&["locks", "--table", "shop.chain"]);
    let rows = locks["locks"].as_array().unwrap();
    assert!(
        rows.iter()
            .any(|l| l["lock_status"] == "WAITING" && l["thread_id"] == b.thread_id),
        "{locks:#}"
    );
    assert!(
        rows.iter()
            .any(|l| l["lock_status"] == "GRANTED" && l["thread_id"] == a_id),
        "{locks:#}"
    );
    assert!(rows.iter().all(|l| l["table"] == "chain"));
    // A mistyped table is an error naming the closest ones; an existing table without locks is not.
    let typo = ctx.lockdiag(&["locks", "--table", "shop.chian"]);
    let stderr = String::from_utf8_lossy(&typo.stderr);
    assert_eq!(typo.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--table shop.chian: no such table")
            && stderr.contains("closest: shop.chain"),
        "{stderr}"
    );
    let quiet = ctx.lockdiag(&["locks", "--table", "shop.payment_log"]);
    assert_eq!(quiet.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&quiet.stderr).contains("no locks on shop.payment_log"));
    assert!(locks["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["thread_id"] == a_id && t["rows_modified"] == 1));

    // status counts and the dot/mermaid renderings of the same graph.
    let status = ctx.lockdiag_json(&["status"]);
    assert_eq!(status["counts"]["waiting_sessions"], 4);
    assert_eq!(status["counts"]["root_blockers"], 2);
    let dot = String::from_utf8(ctx.lockdiag(&["waits", "--format", "dot"]).stdout).unwrap();
    assert!(
        dot.starts_with("digraph waits") && dot.contains(&format!("t{} -> t{a_id}", d.thread_id)),
        "{dot}"
    );
    let mermaid =
        String::from_utf8(ctx.lockdiag(&["waits", "--format", "mermaid"]).stdout).unwrap();
    assert!(
        mermaid.starts_with("flowchart") && mermaid.contains(&format!("t{} -->", c.thread_id)),
        "{mermaid}"
    );

    ctx.kill(&[
        a_id,
        e_id,
        b.thread_id,
        c.thread_id,
        d.thread_id,
        f.thread_id,
    ]);
}

pub fn metadata_lock_pile_up(ctx: &Ctx) {
    let mut holder = ctx.conn();
    ctx.exec(&mut holder, "BEGIN");
    ctx.exec(&mut holder, "SELECT * FROM payments");
    let holder_id = holder.id();
    let alter = ctx.spawn(
        ctx.conn(),
        &["ALTER TABLE payments ADD COLUMN note VARCHAR(10)"],
    );
    ctx.wait_for_waiters(1);
    let s1 = ctx.spawn(ctx.conn(), &["SELECT * FROM payments"]);
    let s2 = ctx.spawn(ctx.conn(), &["SELECT COUNT(*) FROM payments"]);
    ctx.wait_for_waiters(3);

    let doc = ctx.lockdiag_json(&["waits"]);
    let roots = doc["root_blockers"].as_array().unwrap();
    assert_eq!(roots.len(), 1, "{doc:#}");
    let r = root(&doc, holder_id);
    assert_eq!(r["blocked_sessions"], 3);
    assert_eq!(
        r["state"], "idle_in_trx",
        "an open transaction holding a metadata lock: {r:#}"
    );
    let alter_node = child(r, alter.thread_id);
    assert_eq!(alter_node["wait"]["kind"], "metadata");
    assert_eq!(alter_node["wait"]["table"], "payments");
    for select in [&s1, &s2] {
        let node = child(alter_node, select.thread_id);
        assert_eq!(node["wait"]["kind"], "metadata");
        assert!(
            !r["waiters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|w| w["thread_id"] == select.thread_id),
            "SELECT {} must hang under the ALTER, not the transaction",
            select.thread_id
        );
    }
    let status = ctx.lockdiag_json(&["status"]);
    assert_eq!(
        status["metadata_lock_waits"].as_array().unwrap().len(),
        3,
        "{status:#}"
    );
    ctx.kill(&[holder_id, alter.thread_id, s1.thread_id, s2.thread_id]);
}

pub fn ps_filters(ctx: &Ctx) {
    let mut idle = ctx.conn();
    ctx.exec(&mut idle, "BEGIN");
    ctx.exec(&mut idle, "UPDATE pair SET v = v + 1 WHERE id = 2");
    let idle_trx = idle.id();
    let plain_idle = ctx.conn();
    let sleeper = ctx.spawn(ctx.conn(), &["SELECT SLEEP(30) AS marker_sleep"]);
    std::thread::sleep(std::time::Duration::from_millis(1200));

    let ids = |doc: &serde_json::Value| -> Vec<u64> {
        doc["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["thread_id"].as_u64().unwrap())
            .collect()
    };
    let all = ctx.lockdiag_json(&["ps"]);
    let all_ids = ids(&all);
    assert!(
        all_ids.contains(&u64::from(idle_trx))
            && all_ids.contains(&u64::from(plain_idle.id()))
            && all_ids.contains(&u64::from(sleeper.thread_id))
    );
    let idle_row = all["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["thread_id"] == idle_trx)
        .unwrap();
    assert_eq!(idle_row["state_class"], "idle_in_trx");

    assert_eq!(
        ids(&ctx.lockdiag_json(&["ps", "--match", "marker_sl[e]ep"])),
        vec![u64::from(sleeper.thread_id)]
    );
    let queries = ids(&ctx.lockdiag_json(&["ps", "--command", "query"]));
    assert!(
        queries.contains(&u64::from(sleeper.thread_id)) && !queries.contains(&u64::from(idle_trx))
    );
    let no_idle = ids(&ctx.lockdiag_json(&["ps", "--no-idle"]));
    assert!(
        no_idle.contains(&u64::from(idle_trx)),
        "idle in a transaction is not idle"
    );
    assert!(!no_idle.contains(&u64::from(plain_idle.id())));
    assert!(ids(&ctx.lockdiag_json(&["ps", "--min-time", "1h"])).is_empty());
    assert!(ids(&ctx.lockdiag_json(&["ps", "--match-user", "nobody"])).is_empty());
    let in_shop = ids(&ctx.lockdiag_json(&["ps", "--db", "shop"]));
    assert!(in_shop.contains(&u64::from(idle_trx)));
    let bad = ctx.lockdiag(&["ps", "--match", "("]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--match"));
    ctx.kill(&[idle_trx, plain_idle.id(), sleeper.thread_id]);
}

/// A waiter whose holder has no session (an XA transaction left PREPARED): reported, never
/// dropped or shown as "thread 0", and `kill` says what ends it.
pub fn holder_without_session_is_reported(ctx: &Ctx) {
    let mut xa = ctx.conn();
    ctx.exec(&mut xa, "XA START 'lockdiag-xa'");
    ctx.exec(&mut xa, "UPDATE pair SET v = v + 1 WHERE id = 2");
    ctx.exec(&mut xa, "XA END 'lockdiag-xa'");
    ctx.exec(&mut xa, "XA PREPARE 'lockdiag-xa'");
    drop(xa); // the prepared transaction outlives its connection
    let waiter = ctx.spawn(ctx.conn(), &["UPDATE pair SET v = v + 1 WHERE id = 2"]);
    ctx.wait_for_waiters(1);
    std::thread::sleep(std::time::Duration::from_millis(200)); // INNODB_TRX cache

    let doc = ctx.lockdiag_json(&["waits"]);
    let root = &doc["root_blockers"][0];
    assert_eq!(root["state"], "no_session", "{doc:#}");
    assert_eq!(root["thread_id"], 0, "{doc:#}");
    assert!(root["trx_id"].as_str().is_some_and(|t| t != "0"), "{doc:#}");
    assert_eq!(root["waiters"][0]["thread_id"], waiter.thread_id, "{doc:#}");
    let text = String::from_utf8_lossy(&ctx.lockdiag(&["waits"]).stdout).into_owned();
    assert!(
        text.contains("ROOT BLOCKER transaction ") && text.contains("XA RECOVER"),
        "{text}"
    );
    let kill = ctx.lockdiag(&["kill", "--root-blockers", "--dry-run"]);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&kill.stdout),
        String::from_utf8_lossy(&kill.stderr)
    );
    assert_eq!(kill.status.code(), Some(1), "{said}");
    assert!(
        said.contains("has no session to kill") && said.contains("XA ROLLBACK"),
        "{said}"
    );
    // The JSON report names it too, with what ends it.
    let kill = ctx.lockdiag(&["kill", "--root-blockers", "--dry-run", "--format", "json"]);
    assert_eq!(kill.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&kill.stdout).unwrap();
    let unkillable = &report["unkillable"][0];
    assert_eq!(unkillable["trx_id"], root["trx_id"], "{report:#}");
    assert_eq!(unkillable["blocked_sessions"], 1);
    assert!(unkillable["detail"]
        .as_str()
        .is_some_and(|d| d.contains("XA RECOVER")));

    let mut admin = ctx.conn();
    ctx.exec(&mut admin, "XA ROLLBACK 'lockdiag-xa'");
    ctx.kill(&[waiter.thread_id]);
}

/// Seed 000: an INSERT into `paid_events` waits for another open transaction's
/// uncommitted insert of the same `(order_id, payment_key)`. The status says what it
/// is — a duplicate-key check — and both outcomes, in JSON and on screen.
pub fn duplicate_key_wait_is_explained(ctx: &Ctx) {
    let mut holder = ctx.conn();
    ctx.exec(&mut holder, "BEGIN");
    ctx.exec(
        &mut holder,
        "INSERT INTO paid_events (order_id, payment_key) VALUES (7007, 'pk_dup')",
    );
    let insert = ctx.spawn(
        ctx.conn(),
        &["INSERT INTO paid_events (order_id, payment_key) VALUES (7007, 'pk_dup')"],
    );
    ctx.wait_for_waiters(1);
    std::thread::sleep(std::time::Duration::from_millis(200)); // INNODB_TRX cache

    let doc = ctx.lockdiag_json(&["status"]);
    let root = doc["root_blockers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["thread_id"] == holder.id())
        .unwrap_or_else(|| panic!("the holder is no root: {doc:#}"));
    let waiter = &root["waiters"][0];
    assert_eq!(waiter["thread_id"], insert.thread_id, "{doc:#}");
    assert_eq!(waiter["duplicate_key_check"], true, "{doc:#}");
    assert_eq!(waiter["wait"]["index"], "uk_paid_events_order_payment");
    let text = String::from_utf8_lossy(&ctx.lockdiag(&["status"]).stdout).into_owned();
    assert!(
        text.contains("duplicate-key check")
            && text.contains("fails with 1062")
            && text.contains("rolls back, this INSERT proceeds"),
        "{text}"
    );
    ctx.exec(&mut holder, "ROLLBACK");
    ctx.kill(&[insert.thread_id]);
}
