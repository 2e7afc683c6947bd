//! `check --ddl-ready`: the DDL preflight against real metadata locks — an idle
//! transaction that read a table holds its DDL up until it ends, `--wait-ready`
//! sees it end, and metadata locks that cannot be seen are an error, never a pass.

use std::process::Output;
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use serde_json::Value;

use crate::ctx::Ctx;

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}{}", stdout(out), stderr(out)))
}

/// A table no test touches: nothing can hold a metadata lock on it.
fn untouched_table(ctx: &Ctx) -> &'static str {
    let mut root = ctx.conn();
    ctx.exec(
        &mut root,
        "CREATE TABLE IF NOT EXISTS shop.ddl_ready_untouched (id INT PRIMARY KEY) ENGINE=InnoDB",
    );
    "shop.ddl_ready_untouched"
}

/// (1) an idle transaction that read `payments` fails the check, named in text, JSON
/// and JUnit; (2) after its COMMIT the table is ready; (3) an untouched table is ready
/// all along.
pub fn idle_reader_holds_a_ddl_up_until_it_commits(ctx: &Ctx) {
    let untouched = untouched_table(ctx);
    let mut holder = ctx.conn();
    ctx.exec(&mut holder, "BEGIN");
    ctx.exec(&mut holder, "SELECT * FROM payments");
    let holder_id = holder.id();

    let out = ctx.lockdiag(&["check", "--ddl-ready", "shop.payments"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    assert!(
        text.starts_with("FAIL  ddl-ready shop.payments: 1 session(s)"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "thread {holder_id} (root@localhost, idle in transaction, "
        )) && text.contains("holds SHARED_READ (TRANSACTION, GRANTED)"),
        "{text}"
    );

    let out = ctx.lockdiag(&["check", "--ddl-ready", "shop.payments", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["result"], "fail", "{doc:#}");
    let check = &doc["checks"][0];
    assert_eq!(check["name"], "ddl-ready shop.payments");
    assert_eq!(check["status"], "fail");
    let sessions = check["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1, "{doc:#}");
    let holder_json = &sessions[0];
    assert_eq!(holder_json["thread_id"], holder_id, "{doc:#}");
    assert_eq!(holder_json["state"], "idle_in_trx");
    assert_eq!(holder_json["user"], "root");
    assert!(holder_json["age_secs"].is_u64());
    let lock = &holder_json["locks"][0];
    assert_eq!(
        (
            &lock["object_type"],
            &lock["schema"],
            &lock["name"],
            &lock["lock_type"],
            &lock["duration"],
            &lock["lock_status"]
        ),
        (
            &Value::from("TABLE"),
            &Value::from("shop"),
            &Value::from("payments"),
            &Value::from("SHARED_READ"),
            &Value::from("TRANSACTION"),
            &Value::from("GRANTED")
        ),
        "{doc:#}"
    );

    // JUnit: the untouched table passes beside the failing one.
    let junit = ctx.server.dir.join("ddl-ready.xml");
    let out = ctx.lockdiag(&[
        "check",
        "--ddl-ready",
        "shop.payments",
        "--ddl-ready",
        untouched,
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("tests=\"2\" failures=\"1\" errors=\"0\""),
        "{xml}"
    );
    assert!(
        xml.contains("<testcase classname=\"lockdiag\" name=\"ddl-ready shop.payments\">")
            && xml.contains(&format!("<failure message=\"1 session(s) in the way of a DDL on shop.payments: thread {holder_id} (")),
        "{xml}"
    );

    // (3) untouched, while payments is held.
    let out = ctx.lockdiag(&["check", "--ddl-ready", untouched]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));

    // (2) the holder commits: ready.
    ctx.exec(&mut holder, "COMMIT");
    let out = ctx.lockdiag(&["check", "--ddl-ready", "shop.payments", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let doc = json(&out);
    assert_eq!(doc["checks"][0]["status"], "pass", "{doc:#}");
    assert_eq!(doc["checks"][0]["sessions"], Value::Array(vec![]));
    let out = ctx.lockdiag(&["check", "--ddl-ready", "shop.payments"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).starts_with("PASS  ddl-ready shop.payments: no session holds"),
        "{}",
        stdout(&out)
    );

    // A mistyped table is no pass; a table without a schema needs a database.
    let out = ctx.lockdiag(&["check", "--ddl-ready", "shop.payment"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stdout(&out).contains("no table shop.payment on this server (closest: shop.payments"),
        "{}",
        stdout(&out)
    );
    let out = ctx.lockdiag(&["check", "--ddl-ready", "payments"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--ddl-ready payments: name the schema"),
        "{}",
        stderr(&out)
    );
    drop(holder);
}

/// (4) `--wait-ready` returns as soon as the holder commits (after about a second),
/// and fails at its limit when the holder stays.
pub fn wait_ready_returns_when_the_holder_commits(ctx: &Ctx) {
    let mut holder = ctx.conn();
    ctx.exec(&mut holder, "BEGIN");
    ctx.exec(&mut holder, "SELECT * FROM payments");
    let holder_id = holder.id();

    let started = Instant::now();
    let out = ctx.lockdiag(&[
        "check",
        "--ddl-ready",
        "shop.payments",
        "--wait-ready",
        "1s",
    ]);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(took >= Duration::from_secs(1), "gave up after {took:?}");
    assert!(
        stdout(&out).contains("(waited 1.")
            && stdout(&out).contains(&format!("thread {holder_id} (")),
        "{}",
        stdout(&out)
    );

    let commit = ctx.rt.spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        holder.query_drop("COMMIT").await.map(|_| holder)
    });
    // Two copies wait at once (two deploy jobs on one table): they poll the same server
    // tables, InnoDB's cache included, and both see the table ready.
    let started = Instant::now();
    let waiting = || {
        let out = ctx.lockdiag(&[
            "check",
            "--ddl-ready",
            "shop.payments",
            "--wait-ready",
            "5s",
        ]);
        (out, started.elapsed())
    };
    let both = std::thread::scope(|scope| {
        let first = scope.spawn(waiting);
        let second = scope.spawn(waiting);
        [first.join().unwrap(), second.join().unwrap()]
    });
    for (out, took) in both {
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}{}",
            stdout(&out),
            stderr(&out)
        );
        assert!(
            took >= Duration::from_millis(800) && took < Duration::from_secs(3),
            "ready after {took:?}: {}",
            stdout(&out)
        );
        assert!(stdout(&out).contains("(waited "), "{}", stdout(&out));
    }
    ctx.rt
        .block_on(commit)
        .expect("the committing task")
        .expect("COMMIT");
}

/// Turns the metadata-lock instrument off for as long as it lives; back on when dropped,
/// also when an assertion failed.
struct MdlInstrumentOff<'a> {
    ctx: &'a Ctx,
}

impl<'a> MdlInstrumentOff<'a> {
    fn new(ctx: &'a Ctx) -> Self {
        let mut root = ctx.conn();
        ctx.exec(
            &mut root,
            "UPDATE performance_schema.setup_instruments SET ENABLED='NO' WHERE NAME='wait/lock/metadata/sql/mdl'",
        );
        MdlInstrumentOff { ctx }
    }
}

impl Drop for MdlInstrumentOff<'_> {
    fn drop(&mut self) {
        let pool = self.ctx.pool();
        let on = self.ctx.rt.block_on(async {
            let mut conn = pool.get_conn().await?;
            conn.query_drop(
                "UPDATE performance_schema.setup_instruments SET ENABLED='YES', TIMED='YES' WHERE NAME='wait/lock/metadata/sql/mdl'",
            )
            .await?;
            drop(conn);
            pool.disconnect().await
        });
        if let Err(e) = on {
            eprintln!("ddl_ready: could not turn the MDL instrument back on: {e}");
        }
    }
}

/// (5) Metadata locks that cannot be seen (the instrument off; an account without
/// SELECT on performance_schema) make the check an error naming what to enable.
pub fn unseen_metadata_locks_are_an_error(ctx: &Ctx) {
    {
        let _off = MdlInstrumentOff::new(ctx);
        let out = ctx.lockdiag(&["check", "--ddl-ready", "shop.payments"]);
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(2), "{text}{}", stderr(&out));
        assert!(
            text.starts_with("ERROR ddl-ready shop.payments: cannot check:"),
            "{text}"
        );
        for needed in [
            "performance_schema=ON",
            "performance-schema-instrument='wait/lock/metadata/sql/mdl=ON'",
            "UPDATE performance_schema.setup_instruments SET ENABLED='YES', TIMED='YES' WHERE NAME='wait/lock/metadata/sql/mdl'",
        ] {
            assert!(text.contains(needed), "{needed} missing: {text}");
        }
        // --wait-ready does not wait for what it cannot see.
        let started = Instant::now();
        let out = ctx.lockdiag(&[
            "check",
            "--ddl-ready",
            "shop.payments",
            "--wait-ready",
            "5s",
            "--format",
            "json",
        ]);
        assert_eq!(out.status.code(), Some(2));
        assert!(started.elapsed() < Duration::from_secs(4));
        let doc = json(&out);
        assert_eq!(doc["result"], "error", "{doc:#}");
        assert_eq!(doc["checks"][0]["status"], "error");
        assert!(doc["checks"][0].get("sessions").is_none(), "{doc:#}");
    }
    // Back on: the check works again.
    let out = ctx.lockdiag(&["check", "--ddl-ready", "shop.payments"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));

    let port = ctx.server.port.to_string();
    let out = ctx.lockdiag_tcp(
        &port,
        &[
            "-u",
            "limited",
            "--password=limited-pw",
            "check",
            "--ddl-ready",
            "shop.payments",
        ],
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(2), "{text}{}", stderr(&out));
    assert!(
        text.contains("GRANT SELECT ON performance_schema.*")
            && text.contains("performance_schema=ON"),
        "{text}"
    );
}
