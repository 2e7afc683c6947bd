//! Connecting: failures are fast and clear, passwords never shown, missing privileges degrade.

use std::time::{Duration, Instant};

use crate::ctx::Ctx;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs a command against 127.0.0.1:`port` and expects exit 2 with `message`, within `limit`.
fn fails_fast(ctx: &Ctx, port: u16, timeout: &str, command: &str, limit: Duration, message: &str) {
    let port = port.to_string();
    let t0 = Instant::now();
    let out = ctx.lockdiag_tcp(&port, &["--connect-timeout", timeout, command]);
    assert!(t0.elapsed() < limit, "took {:?}", t0.elapsed());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains(message), "{}", stderr(&out));
}

pub fn closed_port_fails_fast(ctx: &Ctx) {
    fails_fast(
        ctx,
        crate::server::free_port().unwrap(),
        "2s",
        "status",
        Duration::from_secs(5),
        "cannot connect to",
    );
    // A port that accepts but never answers: the connect timeout bounds it.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    fails_fast(
        ctx,
        silent.local_addr().unwrap().port(),
        "1s",
        "ps",
        Duration::from_secs(4),
        "no answer within",
    );
}

pub fn wrong_password_is_not_echoed(ctx: &Ctx) {
    let port = ctx.server.port.to_string();
    let secret = "Wr0ng-Secret-4711";
    let out = ctx.lockdiag_tcp(
        &port,
        &[
            "-u",
            "diag",
            &format!("-p{secret}"),
            "status",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let (o, e) = (String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(e.contains("Access denied"), "{e}");
    assert!(!o.contains(secret) && !e.contains(secret));

    let url = format!("mysql://diag:{secret}@127.0.0.1:{port}/shop");
    let out = ctx.lockdiag_raw(&["--no-defaults", "--url", &url, "waits"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        !stderr(&out).contains(secret) && !String::from_utf8_lossy(&out.stdout).contains(secret)
    );

    // The right password through the environment works.
    let good = format!("mysql://diag:S3cret-diag-pw@127.0.0.1:{port}/shop");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lockdiag"))
        .args(["--no-defaults", "ps", "--format", "json"])
        .env("LOCKDIAG_URL", &good)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("S3cret-diag-pw"));
    crate::schema_check::validate_document(&serde_json::from_slice(&out.stdout).unwrap());
}

pub fn without_process_privilege_degrades(ctx: &Ctx) {
    let mut busy = ctx.conn();
    ctx.exec(&mut busy, "BEGIN");
    ctx.exec(&mut busy, "UPDATE pair SET v = v + 1 WHERE id = 2");
    let port = ctx.server.port.to_string();
    let out = ctx.lockdiag_tcp(
        &port,
        &[
            "-u",
            "limited",
            "--password=limited-pw",
            "status",
            "--format",
            "json",
        ],
    );
    // The lock waits need PROCESS: unknown, so exit 2 — but everything readable is shown.
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("who blocks whom is unknown"),
        "{}",
        stderr(&out)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        doc["counts"]["waiting_sessions"].is_null(),
        "unknown, never 0: {doc:#}"
    );
    let source = |name: &str| crate::ctx::source_of(&doc, name);
    let ps = source("processlist");
    assert_eq!(ps["status"], "partial");
    assert!(ps["reason"].as_str().unwrap().contains("PROCESS"), "{ps}");
    let trx = source("transactions");
    assert_eq!(trx["status"], "unavailable");
    assert!(trx["reason"].as_str().unwrap().contains("PROCESS"), "{trx}");
    assert!(doc["counts"]["sessions"].as_u64().is_some());
    // Lists whose source was not read are null (unknown), never [] ("none").
    assert!(doc["long_transactions"].is_null(), "{doc:#}");
    assert!(doc["sessions_waiting_for_metadata_lock"].is_array());

    let limited = |args: &[&str]| {
        let mut full = vec!["-u", "limited", "--password=limited-pw"];
        full.extend_from_slice(args);
        let out = ctx.lockdiag_tcp(&port, &full);
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: no JSON document ({e}): {}", stderr(&out)));
        (out.status.code(), doc)
    };
    let (code, locks) = limited(&["locks", "--format", "json"]);
    assert_eq!(code, Some(2));
    assert!(
        locks["locks"].is_null() && locks["transactions"].is_null(),
        "{locks:#}"
    );
    let (code, snapshot) = limited(&["snapshot", "--format", "json"]);
    assert_eq!(code, Some(2));
    for list in ["transactions", "row_waits", "locks"] {
        assert!(snapshot[list].is_null(), "{list}: {snapshot:#}");
    }
    assert!(snapshot["sessions"].is_array(), "partial, not unknown");
    // `deadlock` prints its document too: the status text unreadable, nothing claimed.
    let (code, deadlock) = limited(&["deadlock", "--format", "json"]);
    assert_eq!(code, Some(2));
    assert!(deadlock["deadlocks"].is_null() && deadlock["deadlocks_total"].is_null());
    let innodb_status = deadlock["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "innodb_status")
        .unwrap();
    assert_eq!(innodb_status["status"], "unavailable", "{deadlock:#}");

    let table = ctx.lockdiag_tcp(&port, &["-u", "limited", "--password=limited-pw", "status"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("only this account's own sessions are visible"),
        "{text}"
    );
    assert!(text.starts_with("LOCK WAITS UNKNOWN: "), "{text}");
    assert!(text.contains("? waiting, ? root blocker(s)"), "{text}");
    ctx.kill(&[busy.id()]);
}

pub fn url_and_defaults_file(ctx: &Ctx) {
    let cnf = ctx.server.dir.join("client.cnf");
    std::fs::write(
        &cnf,
        format!(
            "[client]\nuser=diag\npassword=\"S3cret-diag-pw\"\nhost=127.0.0.1\nport={}\n",
            ctx.server.port
        ),
    )
    .unwrap();
    let out = ctx.lockdiag_raw(&[
        "--defaults-file",
        cnf.to_str().unwrap(),
        "status",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        doc["server"]["current_user"]
            .as_str()
            .unwrap()
            .starts_with("diag@"),
        "{doc:#}"
    );
    // A flag beats the file.
    let out = ctx.lockdiag_raw(&[
        "--defaults-file",
        cnf.to_str().unwrap(),
        "-u",
        "limited",
        "--password=limited-pw",
        "ps",
        "--format",
        "json",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["server"]["current_user"]
        .as_str()
        .unwrap()
        .starts_with("limited@"));
    let missing = ctx.lockdiag_raw(&["--defaults-file", "/nonexistent/my.cnf", "ps"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("/nonexistent/my.cnf"));

    // A host and a socket in the client's groups (Debian puts the socket under
    // [client-server]): the client goes to the host over TCP, never to the socket.
    // A closed local port stands in for the remote host: the run must fail.
    let closed = crate::server::free_port().unwrap();
    let both = ctx.server.dir.join("host-and-socket.cnf");
    std::fs::write(
        &both,
        format!(
            "[client-server]\nsocket={}\n[client]\nuser=root\nhost=127.0.0.1\nport={closed}\n",
            ctx.server.socket().display()
        ),
    )
    .unwrap();
    let out = ctx.lockdiag_raw(&[
        "--defaults-file",
        both.to_str().unwrap(),
        "--connect-timeout",
        "2s",
        "ps",
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "reached the socket instead of the host: {}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains(&format!("127.0.0.1:{closed}")),
        "{}",
        stderr(&out)
    );
    // The same file with host=localhost uses the socket, as the client does.
    std::fs::write(
        &both,
        format!(
            "[client-server]\nsocket={}\n[client]\nuser=root\nhost=localhost\n",
            ctx.server.socket().display()
        ),
    )
    .unwrap();
    let out = ctx.lockdiag_raw(&["--defaults-file", both.to_str().unwrap(), "ps"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // --defaults-extra-file must exist; a file the client refuses is refused.
    let out = ctx.lockdiag_raw(&["--defaults-extra-file", "/nonexistent/extra.cnf", "ps"]);
    assert_eq!(out.status.code(), Some(2));
    let bad = ctx.server.dir.join("bad.cnf");
    std::fs::write(&bad, "user=root\n[client]\n").unwrap();
    let out = ctx.lockdiag_raw(&["--defaults-file", bad.to_str().unwrap(), "ps"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("an option before any [group]"),
        "{}",
        stderr(&out)
    );
}

/// Near `max_connections`: with one free slot a full picture on one connection;
/// with none, a clear error and exit 2.
pub fn one_free_connection_slot_is_enough(ctx: &Ctx) {
    let mut root = ctx.conn();
    // A chain to find: an idle transaction holding a row, one session waiting for it.
    let mut holder = ctx.conn();
    ctx.exec(&mut holder, "BEGIN");
    ctx.exec(&mut holder, "UPDATE pair SET v = v + 1 WHERE id = 1");
    let waiter = ctx.spawn(ctx.conn(), &["UPDATE pair SET v = v + 1 WHERE id = 1"]);
    ctx.wait_for_waiters(1);
    // MariaDB's max_connections cannot go below 10: fill up to that first.
    let mut fillers = Vec::new();
    while ctx.query_u64(&mut root, "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'THREADS_CONNECTED'") < 12 {
        fillers.push(ctx.conn());
    }
    let connected = ctx.query_u64(&mut root, "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'THREADS_CONNECTED'");
    let diag = |args: &[&str]| {
        let socket = ctx.server.socket();
        let mut full = vec![
            "--no-defaults",
            "-S",
            socket.to_str().unwrap(),
            "-u",
            "diag",
            "--password=S3cret-diag-pw",
        ];
        full.extend_from_slice(args);
        ctx.lockdiag_raw(&full)
    };
    // Exactly one slot for a non-SUPER account (root keeps its reserved extra one).
    ctx.exec(
        &mut root,
        &format!("SET GLOBAL max_connections = {}", connected + 1),
    );
    let one_slot = diag(&["status", "--format", "json"]);
    ctx.exec(
        &mut root,
        &format!("SET GLOBAL max_connections = {connected}"),
    );
    let no_slot = diag(&["status"]);
    ctx.exec(&mut root, "SET GLOBAL max_connections = 151");

    assert_eq!(one_slot.status.code(), Some(0), "{}", stderr(&one_slot));
    let doc: serde_json::Value = serde_json::from_slice(&one_slot.stdout).unwrap();
    let sources = doc["sources"].as_array().unwrap();
    assert!(
        sources
            .iter()
            // The statement history is an addition, off by default on MariaDB.
            .all(|s| s["status"] == "ok"
                || s["source"] == "metadata_locks"
                || s["source"] == "statement_history"),
        "every source read on one connection: {sources:#?}"
    );
    assert_eq!(doc["counts"]["waiting_sessions"], 1, "{doc:#}");
    assert_eq!(doc["root_blockers"][0]["thread_id"], holder.id(), "{doc:#}");
    assert_eq!(no_slot.status.code(), Some(2));
    assert!(
        stderr(&no_slot).contains("Too many connections"),
        "{}",
        stderr(&no_slot)
    );
    drop(fillers);
    ctx.kill(&[holder.id(), waiter.thread_id]);
}

/// The server stops (SIGSTOP) a few milliseconds into a run: every run ends on its own within
/// its limits, non-zero, and never reports zero waits.
pub fn stalled_server_is_bounded(ctx: &Ctx) {
    // A wait exists, so a "0 waiting" would be a wrong answer, not an empty one.
    let mut holder = ctx.conn();
    ctx.exec(&mut holder, "BEGIN");
    ctx.exec(&mut holder, "UPDATE pair SET v = v + 1 WHERE id = 2");
    let waiter = ctx.spawn(ctx.conn(), &["UPDATE pair SET v = v + 1 WHERE id = 2"]);
    ctx.wait_for_waiters(1);
    let limits = ["--connect-timeout", "1s", "--query-timeout", "1s"];
    // connect 1 s + 3 × query 1 s + 2 s margin, and 3 s of slack for the machine.
    let bound = Duration::from_secs(1 + 3 + 2 + 3);
    for command in [
        &["status", "--format", "json"][..],
        &["snapshot", "--format", "json"][..],
        &["check", "--max-blocked", "5"][..],
    ] {
        for delay_ms in [5, 20, 50] {
            let mut child = ctx
                .lockdiag_command()
                .args(limits)
                .args(command)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            std::thread::sleep(Duration::from_millis(delay_ms));
            ctx.server.signal("STOP");
            let t0 = Instant::now();
            let status = loop {
                if let Some(status) = child.try_wait().unwrap() {
                    break Some(status);
                }
                if t0.elapsed() > bound {
                    break None;
                }
                std::thread::sleep(Duration::from_millis(20));
            };
            ctx.server.signal("CONT");
            let Some(status) = status else {
                let _ = child.kill();
                panic!("{command:?} stopped {delay_ms} ms in: still running after {bound:?}");
            };
            let out = child.wait_with_output().unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            // It may have finished before the stop took hold: then it must be right.
            if status.success() {
                assert!(
                    !stdout.contains("\"waiting_sessions\": 0"),
                    "{command:?}: {stdout}"
                );
                continue;
            }
            assert!(
                matches!(status.code(), Some(1 | 2)),
                "{command:?}: {status:?}"
            );
            assert!(
                !stdout.contains("\"waiting_sessions\": 0") && !stdout.contains("0 waiting"),
                "{command:?} {delay_ms} ms: a stall read as no waits: {stdout}"
            );
        }
    }
    ctx.kill(&[holder.id(), waiter.thread_id]);
}
