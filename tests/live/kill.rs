//! `lockdiag kill` on real blockers: it kills the right session, only after
//! confirmation, re-checks before acting, refuses protected threads, audits.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::ctx::{Ctx, Pending};

/// An idle transaction holding `row` of `pair`, and `waiters` sessions queued behind it.
fn blocker_with_waiters(ctx: &Ctx, row: u32, waiters: usize) -> (mysql_async::Conn, Vec<Pending>) {
    let mut blocker = ctx.conn();
    ctx.exec(&mut blocker, "BEGIN");
    ctx.exec(
        &mut blocker,
        &format!("UPDATE pair SET v = v + 1 WHERE id = {row}"),
    );
    let pending: Vec<Pending> = (0..waiters)
        .map(|_| {
            ctx.spawn(
                ctx.conn(),
                &[&format!("UPDATE pair SET v = v + 10 WHERE id = {row}")],
            )
        })
        .collect();
    ctx.wait_for_waiters(waiters as u64);
    (blocker, pending)
}

fn alive(ctx: &Ctx, id: u32) -> bool {
    let mut admin = ctx.conn();
    ctx.query_u64(
        &mut admin,
        &format!("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = {id}"),
    ) == 1
}

/// The audit log's text, each line validated against docs/schema/audit-line.schema.json.
fn audit_log(path: impl AsRef<std::path::Path>) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    for line in text.lines() {
        crate::schema_check::validate("audit-line", &serde_json::from_str(line).unwrap());
    }
    text
}

fn audit_path(ctx: &Ctx, name: &str) -> String {
    ctx.server
        .dir
        .join(format!("{name}.audit.log"))
        .to_string_lossy()
        .into_owned()
}

fn finished(pending: &mut [Pending], within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut done = vec![false; pending.len()];
    while Instant::now() < deadline {
        for (i, p) in pending.iter_mut().enumerate() {
            if let Ok(result) = p.done.try_recv() {
                assert!(result.is_ok(), "a waiter failed: {result:?}");
                done[i] = true;
            }
        }
        if done.iter().all(|d| *d) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

pub fn root_blocker_is_killed_and_waiters_finish(ctx: &Ctx) {
    let (blocker, mut pending) = blocker_with_waiters(ctx, 1, 2);
    let audit = audit_path(ctx, "root");
    let out = ctx.lockdiag(&[
        "kill",
        "--root-blockers",
        "--yes",
        "--audit-log",
        &audit,
        "--format",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let targets = doc["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 1, "{doc:#}");
    assert_eq!(targets[0]["thread_id"], blocker.id());
    assert_eq!(targets[0]["outcome"], "killed");
    assert_eq!(
        targets[0]["statement"],
        format!("KILL CONNECTION {}", blocker.id())
    );
    assert_eq!(targets[0]["blocked_sessions"], 2);
    assert!(
        finished(&mut pending, Duration::from_secs(10)),
        "the waiters' statements did not complete after the kill"
    );
    assert!(!alive(ctx, blocker.id()));

    let lines: Vec<Value> = audit_log(&audit)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let phases: Vec<&str> = lines.iter().map(|l| l["phase"].as_str().unwrap()).collect();
    assert_eq!(phases, ["before", "after"]);
    assert_eq!(lines[1]["outcome"], "killed");
    assert_eq!(lines[1]["target"]["thread_id"], blocker.id());
    assert_eq!(
        lines[1]["statement"],
        format!("KILL CONNECTION {}", blocker.id())
    );
    assert!(lines[1]["db_user"].as_str().unwrap().starts_with("root@"));
    assert!(lines[1]["time"].as_str().unwrap().ends_with('Z'));
    ctx.kill(&pending.iter().map(|p| p.thread_id).collect::<Vec<_>>());
}

pub fn no_terminal_no_yes_and_dry_run_kill_nothing(ctx: &Ctx) {
    let (blocker, pending) = blocker_with_waiters(ctx, 1, 1);
    let audit = audit_path(ctx, "refused");
    // Standard input is not a terminal here (Command gives it /dev/null).
    let out = ctx.lockdiag(&["kill", "--root-blockers", "--audit-log", &audit]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("not a terminal") && text.contains("--yes"),
        "{text}"
    );
    assert!(text.contains(&format!("thread {}", blocker.id())), "{text}");
    assert!(alive(ctx, blocker.id()));

    let out = ctx.lockdiag(&[
        "kill",
        "--root-blockers",
        "--dry-run",
        "--audit-log",
        &audit,
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("statement: KILL CONNECTION {}", blocker.id())),
        "{text}"
    );
    assert!(
        text.contains("idle in transaction") && text.contains("killing it unblocks 1 session"),
        "{text}"
    );
    assert!(alive(ctx, blocker.id()));
    let audit_text = audit_log(&audit);
    assert!(
        audit_text.lines().all(|l| l.contains("\"dry_run\":true")),
        "{audit_text}"
    );

    // Nothing matches: said plainly, exit 0.
    let out = ctx.lockdiag(&[
        "kill",
        "--root-blockers",
        "--match-user",
        "nobody",
        "--yes",
        "--audit-log",
        &audit,
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Nothing to kill"));
    let out = ctx.lockdiag(&["kill"]);
    assert_eq!(out.status.code(), Some(2));
    ctx.kill(&[blocker.id(), pending[0].thread_id]);
}

fn pty_kill(ctx: &Ctx, args: &[&str]) -> rexpect::session::PtySession {
    let socket = ctx.server.socket();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lockdiag"));
    cmd.args([
        "--no-defaults",
        "-S",
        socket.to_str().unwrap(),
        "-u",
        "root",
        "kill",
    ])
    .args(args)
    .env("NO_COLOR", "1");
    rexpect::session::spawn_command(cmd, Some(20_000)).expect("spawn lockdiag in a pty")
}

pub fn prompt_answered_yes_and_no(ctx: &Ctx) {
    let (blocker, mut pending) = blocker_with_waiters(ctx, 1, 1);
    let audit = audit_path(ctx, "prompt");
    let id = blocker.id().to_string();

    let mut session = pty_kill(ctx, &[&id, "--audit-log", &audit]);
    session.exp_string("Kill 1 session? [y/N]").unwrap();
    session.send_line("n").unwrap();
    session.exp_string("declined").unwrap();
    session.exp_eof().unwrap();
    assert!(alive(ctx, blocker.id()), "answering n killed it");

    let mut session = pty_kill(ctx, &[&id, "--audit-log", &audit]);
    session.exp_string("Kill 1 session? [y/N]").unwrap();
    session.send_line("y").unwrap();
    session.exp_string(&format!("thread {id}: killed")).unwrap();
    session.exp_eof().unwrap();
    assert!(finished(&mut pending, Duration::from_secs(10)));
    assert!(!alive(ctx, blocker.id()));
    ctx.kill(&[pending[0].thread_id]);
}

pub fn target_changed_before_confirmation_is_skipped(ctx: &Ctx) {
    let (mut blocker, pending) = blocker_with_waiters(ctx, 2, 1);
    let audit = audit_path(ctx, "race");
    let id = blocker.id().to_string();
    let mut session = pty_kill(ctx, &[&id, "--audit-log", &audit]);
    session.exp_string("Kill 1 session? [y/N]").unwrap();
    // Between listing and confirming, the blocker commits and starts a new transaction.
    ctx.exec(&mut blocker, "COMMIT");
    ctx.exec(&mut blocker, "BEGIN");
    ctx.exec(&mut blocker, "UPDATE pair SET v = v + 1 WHERE id = 1");
    session.send_line("y").unwrap();
    session.exp_string("skipped").unwrap();
    session.exp_eof().unwrap();
    assert!(
        alive(ctx, blocker.id()),
        "a session that was no longer the listed one was killed"
    );
    let audit_text = audit_log(&audit);
    assert!(
        audit_text.contains("\"outcome\":\"skipped\"")
            && !audit_text.contains("\"outcome\":\"killed\""),
        "{audit_text}"
    );
    ctx.kill(&[blocker.id(), pending[0].thread_id]);
}

pub fn protected_threads_are_refused(ctx: &Ctx) {
    let mut admin = ctx.conn();
    ctx.exec(&mut admin, "SET GLOBAL event_scheduler = ON");
    let deadline = Instant::now() + Duration::from_secs(10);
    let scheduler = loop {
        let id = ctx.query_u64(&mut admin, "SELECT COALESCE(MAX(ID), 0) FROM information_schema.PROCESSLIST WHERE USER = 'event_scheduler'");
        if id > 0 {
            break id;
        }
        assert!(
            Instant::now() < deadline,
            "the event scheduler did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let audit = audit_path(ctx, "protected");
    let out = ctx.lockdiag(&[
        "kill",
        &scheduler.to_string(),
        "--yes",
        "--audit-log",
        &audit,
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["targets"][0]["outcome"], "refused", "{doc:#}");
    assert!(doc["targets"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("--force"));
    assert_eq!(
        ctx.query_u64(
            &mut admin,
            &format!("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = {scheduler}")
        ),
        1
    );

    // lockdiag's own connections: MariaDB hands out ids in order, so the next few are its own.
    let next = u64::from(ctx.conn().id()) + 1;
    let ids: Vec<String> = (next..next + 16).map(|i| i.to_string()).collect();
    let mut args = vec!["kill"];
    args.extend(ids.iter().map(String::as_str));
    args.extend(["--yes", "--audit-log", &audit, "--format", "json"]);
    let out = ctx.lockdiag(&args);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let own: Vec<&Value> = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| {
            t["detail"]
                .as_str()
                .is_some_and(|d| d.contains("lockdiag's own connection"))
        })
        .collect();
    assert!(!own.is_empty(), "{doc:#}");
    assert!(own.iter().all(|t| t["outcome"] == "refused"));
    ctx.exec(&mut admin, "SET GLOBAL event_scheduler = OFF");
}

pub fn kill_query_on_idle_blocker_warns_and_releases_nothing(ctx: &Ctx) {
    let (blocker, mut pending) = blocker_with_waiters(ctx, 2, 1);
    let audit = audit_path(ctx, "query");
    let out = ctx.lockdiag(&[
        "kill",
        &blocker.id().to_string(),
        "--query",
        "--yes",
        "--audit-log",
        &audit,
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("KILL QUERY releases none of its locks"),
        "{text}"
    );
    // MariaDB: the statement's own id, so that a later statement of the session is never stopped.
    assert!(text.contains("statement: KILL QUERY ID "), "{text}");
    // The waiter stays blocked: that is why the default is KILL CONNECTION.
    assert!(!finished(&mut pending, Duration::from_secs(2)));
    assert!(alive(ctx, blocker.id()));
    ctx.kill(&[blocker.id(), pending[0].thread_id]);
}

/// The server's current statement id of a session (MariaDB's QUERY_ID).
fn query_id(ctx: &Ctx, id: u32) -> u64 {
    let mut admin = ctx.conn();
    ctx.query_u64(
        &mut admin,
        &format!("SELECT QUERY_ID FROM information_schema.PROCESSLIST WHERE ID = {id}"),
    )
}

pub fn read_only_transaction_replaced_before_confirmation_is_skipped(ctx: &Ctx) {
    // The usual metadata-lock blocker: an idle transaction that only read (trx id 0 on MariaDB).
    let mut reader = ctx.conn();
    ctx.exec(&mut reader, "BEGIN");
    ctx.exec(&mut reader, "SELECT COUNT(*) FROM pair");
    // InnoDB lists the transaction once its INNODB_TRX cache (100 ms) has expired.
    std::thread::sleep(Duration::from_millis(200));
    let id = reader.id().to_string();
    let audit = audit_path(ctx, "readonly");
    let mut session = pty_kill(ctx, &[&id, "--audit-log", &audit]);
    session.exp_string("a read-only trx (no id yet)").unwrap();
    session.exp_string("Kill 1 session? [y/N]").unwrap();
    // Before the answer: that transaction ends and another begins, within the same second.
    ctx.exec(&mut reader, "COMMIT");
    ctx.exec(&mut reader, "BEGIN");
    ctx.exec(&mut reader, "SELECT COUNT(*) FROM pair");
    session.send_line("y").unwrap();
    session.exp_string("skipped").unwrap();
    session.exp_eof().unwrap();
    assert!(
        alive(ctx, reader.id()),
        "a new read-only transaction was killed"
    );
    ctx.kill(&[reader.id()]);
}

pub fn statement_changed_under_query_is_skipped(ctx: &Ctx) {
    let runner = ctx.conn();
    let runner_id = runner.id();
    let _pending = ctx.spawn(runner, &["SELECT SLEEP(3)", "SELECT SLEEP(60)"]);
    std::thread::sleep(Duration::from_millis(300));
    let listed = query_id(ctx, runner_id);
    let audit = audit_path(ctx, "query-changed");
    let mut session = pty_kill(
        ctx,
        &[&runner_id.to_string(), "--query", "--audit-log", &audit],
    );
    session
        .exp_string(&format!("statement: KILL QUERY ID {listed}"))
        .unwrap();
    session.exp_string("Kill 1 session? [y/N]").unwrap();
    // Before the answer, the session moves on to its next statement.
    let deadline = Instant::now() + Duration::from_secs(10);
    while query_id(ctx, runner_id) == listed {
        assert!(
            Instant::now() < deadline,
            "the second statement never started"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    session.send_line("y").unwrap();
    session.exp_string("skipped").unwrap();
    session.exp_eof().unwrap();
    let mut admin = ctx.conn();
    let running = ctx.query_u64(
        &mut admin,
        &format!("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = {runner_id} AND INFO = 'SELECT SLEEP(60)'"),
    );
    assert_eq!(running, 1, "the later statement was stopped");
    ctx.kill(&[runner_id]);
}

pub fn second_target_is_reread_fresh(ctx: &Ctx) {
    // A holds row 1. B holds row 2 and waits for row 1; the moment A is gone, B commits and
    // begins a new transaction. B must be re-read after A's KILL, not from InnoDB's cache.
    let mut a = ctx.conn();
    ctx.exec(&mut a, "BEGIN");
    ctx.exec(&mut a, "UPDATE pair SET v = v + 1 WHERE id = 1");
    let b = ctx.conn();
    let b_id = b.id();
    let mut b_pending = ctx.spawn(
        b,
        &[
            "BEGIN",
            "UPDATE pair SET v = v + 1 WHERE id = 2",
            "UPDATE pair SET v = v + 1 WHERE id = 1",
            "COMMIT",
            "BEGIN",
            "UPDATE pair SET v = v + 1 WHERE id = 2",
        ],
    );
    ctx.wait_for_waiters(1);
    let audit = audit_path(ctx, "two");
    let out = ctx.lockdiag(&[
        "kill",
        &a.id().to_string(),
        &b_id.to_string(),
        "--yes",
        "--audit-log",
        &audit,
        "--format",
        "json",
    ]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let targets = doc["targets"].as_array().unwrap();
    assert_eq!(targets[0]["thread_id"], a.id(), "{doc:#}");
    assert_eq!(targets[0]["outcome"], "killed", "{doc:#}");
    assert!(
        targets[0]["recheck_to_kill_us"].as_u64().unwrap() < 1_000_000,
        "{doc:#}"
    );
    assert_eq!(targets[1]["thread_id"], b_id, "{doc:#}");
    assert_eq!(targets[1]["outcome"], "skipped", "{doc:#}");
    let detail = targets[1]["detail"].as_str().unwrap();
    assert!(detail.contains("ended"), "{detail}");
    assert_eq!(out.status.code(), Some(1));
    assert!(finished(
        std::slice::from_mut(&mut b_pending),
        Duration::from_secs(10)
    ));
    assert!(alive(ctx, b_id), "B's new transaction was killed");
    ctx.kill(&[b_id]);
}

pub fn expect_server_refuses_another_server(ctx: &Ctx) {
    let (blocker, pending) = blocker_with_waiters(ctx, 2, 1);
    let id = blocker.id().to_string();
    let audit = audit_path(ctx, "expect");
    let out = ctx.lockdiag(&[
        "kill",
        &id,
        "--yes",
        "--expect-server",
        "db-elsewhere",
        "--audit-log",
        &audit,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--expect-server db-elsewhere: connected to")
            && stderr.contains("nothing was killed"),
        "{stderr}"
    );
    assert!(alive(ctx, blocker.id()));
    // The right name: the dry run names the server and goes ahead.
    let mut admin = ctx.conn();
    let hostname: String = ctx
        .rt
        .block_on(mysql_async::prelude::Queryable::query_first(
            &mut admin,
            "SELECT @@hostname",
        ))
        .unwrap()
        .unwrap();
    let out = ctx.lockdiag(&[
        "kill",
        &id,
        "--dry-run",
        "--expect-server",
        &hostname,
        "--audit-log",
        &audit,
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.starts_with(&format!("Server: {hostname}:")) && text.contains("not a replica"),
        "{text}"
    );
    ctx.kill(&[blocker.id(), pending[0].thread_id]);
}

/// `watch` in a pseudo-terminal: the screen shows the root blocker; `k`, then `y`, kills it
/// through the path of `kill` (re-check, audit record).
pub fn watch_screen_kills_the_chosen_root_blocker(ctx: &Ctx) {
    let (blocker, mut pending) = blocker_with_waiters(ctx, 1, 1);
    let id = blocker.id();
    let state_home = ctx.server.dir.join("watch-state");
    let socket = ctx.server.socket();
    // A pseudo-terminal starts with no size: give it one, as a terminal window has.
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!(
            "stty cols 160 rows 50 && exec '{}' --no-defaults -S '{}' -u root watch --interval 1s",
            env!("CARGO_BIN_EXE_lockdiag"),
            socket.display()
        ))
        .env("XDG_STATE_HOME", &state_home)
        .env("NO_COLOR", "1");
    let mut session =
        rexpect::session::spawn_command(cmd, Some(20_000)).expect("spawn watch in a pty");
    session
        .exp_string(&format!("ROOT BLOCKER thread {id}"))
        .unwrap();
    session.send("k").unwrap();
    session.flush().unwrap();
    session.exp_string("Kill 1 session? [y/N]").unwrap();
    session.send_line("y").unwrap();
    session.exp_string(&format!("thread {id}: killed")).unwrap();
    session.exp_string("Press Enter").unwrap();
    session.send_line("").unwrap();
    session.exp_string("lockdiag watch").unwrap();
    session.send("q").unwrap();
    session.flush().unwrap();
    session.exp_eof().unwrap();
    assert!(finished(&mut pending, Duration::from_secs(10)));
    assert!(!alive(ctx, id));
    let audit = audit_log(state_home.join("lockdiag/audit.log"));
    assert!(
        audit.contains("\"outcome\":\"killed\"") && audit.contains(&format!("\"thread_id\":{id}")),
        "{audit}"
    );
    ctx.kill(&[pending[0].thread_id]);
}
