//! Trust at the edges: the incidents where a monitoring tool is most likely to
//! lose or misstate data — a deadlock storm, a full disk, a killed or doubled
//! recorder, another client freezing InnoDB's transaction cache, passwords on the
//! command line, inputs that never end — each made real against the server.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use serde_json::Value;

use crate::ctx::{source_of, Ctx};
use crate::record::spawn_recorder;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every line of a JSON-lines file, each required to be one whole JSON value.
fn json_lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "{} ends inside a line: {text}",
        path.display()
    );
    text.lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not one JSON value ({e}): {l}"))
        })
        .collect()
}

/// Every line of a `deadlocks.jsonl` lockdiag wrote, each validated against
/// docs/schema/deadlocks-line.schema.json.
fn deadlock_lines(path: &Path) -> Vec<Value> {
    let lines = json_lines(path);
    for line in &lines {
        crate::schema_check::validate("deadlocks-line", line);
    }
    lines
}

/// The deadlocks of `lines` between exactly the threads `a` and `b`.
fn between(lines: &[Value], a: u32, b: u32) -> Vec<&Value> {
    lines
        .iter()
        .filter(|d| {
            let mut threads: Vec<u64> = d["transactions"]
                .as_array()
                .map(|t| t.iter().filter_map(|t| t["thread_id"].as_u64()).collect())
                .unwrap_or_default();
            threads.sort_unstable();
            let mut want = [u64::from(a), u64::from(b)];
            want.sort_unstable();
            threads == want
        })
        .collect()
}

/// `record` into `dir` for `run_for`, following the server's error log, with no
/// trigger that could fire in a test (only deadlocks are written).
fn recorder_following_the_log(ctx: &Ctx, dir: &Path, run_for: &str) -> std::process::Child {
    let error_log = ctx.server.error_log();
    spawn_recorder(
        ctx,
        dir,
        &[
            "--on-trx-age",
            "1h",
            "--for",
            run_for,
            "--error-log",
            error_log.to_str().unwrap(),
        ],
    )
}

/// A table of `rows` rows for deadlocks that each lock rows of their own.
fn storm_table(ctx: &Ctx, name: &str, rows: u32) {
    let mut root = ctx.conn();
    ctx.exec(&mut root, &format!("DROP TABLE IF EXISTS {name}"));
    ctx.exec(
        &mut root,
        &format!("CREATE TABLE {name} (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB"),
    );
    let values: Vec<String> = (0..rows).map(|i| format!("({i},0)")).collect();
    ctx.exec(
        &mut root,
        &format!("INSERT INTO {name} VALUES {}", values.join(",")),
    );
}

/// One deadlock between `a` and `b` on rows `2i` and `2i+1` of `table`, the way a retry
/// storm makes them: the same two pooled connections, the same statements, new rows
/// and new transactions each time. Both transactions are over when it returns.
async fn deadlock_on(a: &mut Conn, b: &mut Conn, table: &str, i: u32) {
    let (x, y) = (2 * i, 2 * i + 1);
    a.query_drop("BEGIN").await.unwrap();
    b.query_drop("BEGIN").await.unwrap();
    a.query_drop(format!("UPDATE {table} SET v = v + 1 WHERE id = {x}"))
        .await
        .unwrap();
    b.query_drop(format!("UPDATE {table} SET v = v + 1 WHERE id = {y}"))
        .await
        .unwrap();
    let first = a.query_drop(format!("UPDATE {table} SET v = v + 1 WHERE id = {y}"));
    let second = async {
        // Let a's statement reach its lock wait first.
        tokio::time::sleep(Duration::from_millis(40)).await;
        b.query_drop(format!("UPDATE {table} SET v = v + 1 WHERE id = {x}"))
            .await
    };
    let (r1, r2) = tokio::join!(first, second);
    assert!(
        r1.is_err() != r2.is_err(),
        "exactly one victim: {r1:?} {r2:?}"
    );
    a.query_drop("ROLLBACK").await.unwrap();
    b.query_drop("ROLLBACK").await.unwrap();
}

/// 20 deadlocks of one shape in about 3 s (seed 002's retry storm): `record` keeps 20
/// lines, each whole; `check --no-new-deadlock` fails on a baseline taken between two of them.
pub fn a_deadlock_storm_is_kept_whole(ctx: &Ctx) {
    storm_table(ctx, "shop.storm", 64);
    let dir = ctx.server.dir.join("record-storm");
    let recorder = recorder_following_the_log(ctx, &dir, "12s");
    // Beside it, one without --error-log: the status text shows only the latest deadlock,
    // so it must say how many it could not keep.
    let dir_status_only = ctx.server.dir.join("record-storm-status-only");
    let status_only = spawn_recorder(
        ctx,
        &dir_status_only,
        &["--on-trx-age", "1h", "--for", "12s"],
    );
    std::thread::sleep(Duration::from_millis(1500));
    let (mut a, mut b) = (ctx.conn(), ctx.conn());
    let (a_id, b_id) = (a.id(), b.id());

    // A baseline snapshot taken right after a deadlock, and one more deadlock of the same
    // shape right after it (the same second, most runs): it is new.
    ctx.rt
        .block_on(deadlock_on(&mut a, &mut b, "shop.storm", 30));
    let baseline = ctx.server.dir.join("storm-baseline.json");
    let out = ctx.lockdiag(&["snapshot", "--out", baseline.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    ctx.rt
        .block_on(deadlock_on(&mut a, &mut b, "shop.storm", 31));
    let out = ctx.lockdiag(&["check", "--no-new-deadlock", baseline.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a second deadlock of one shape after the baseline: {}",
        String::from_utf8_lossy(&out.stdout)
    );

    let started = Instant::now();
    ctx.rt.block_on(async {
        for i in 0..20 {
            deadlock_on(&mut a, &mut b, "shop.storm", i).await;
        }
    });
    let took = started.elapsed();
    let out = recorder.wait_with_output().unwrap();
    let log = stderr(&out);
    assert!(out.status.success(), "{log}");
    let lines = deadlock_lines(&dir.join("deadlocks.jsonl"));
    let storm = between(&lines, a_id, b_id);
    // The two of the baseline check, then the 20 of the storm.
    assert_eq!(
        storm.len(),
        22,
        "20 deadlocks in {took:?} (+2 before): {} kept\n{log}",
        storm.len()
    );
    let mut trx: Vec<&str> = storm
        .iter()
        .flat_map(|d| d["transactions"].as_array().unwrap())
        .filter_map(|t| t["trx_id"].as_str())
        .collect();
    trx.sort_unstable();
    trx.dedup();
    assert_eq!(trx.len(), 44, "each deadlock its own transactions");
    assert!(
        !log.contains("deadlocks-missed"),
        "nothing missed with --error-log: {log}"
    );

    // Without the error log: what it kept and what it says it missed add up to the storm.
    let out = status_only.wait_with_output().unwrap();
    let log = stderr(&out);
    assert!(out.status.success(), "{log}");
    let kept = between(
        &deadlock_lines(&dir_status_only.join("deadlocks.jsonl")),
        a_id,
        b_id,
    )
    .len() as u64;
    let missed: u64 = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l.trim_start_matches("lockdiag: ")).ok())
        .filter(|e| e["event"] == "deadlocks-missed")
        .filter_map(|e| e["count"].as_str()?.parse::<u64>().ok())
        .sum();
    assert!(
        kept < 22,
        "the status text cannot have shown them all: {kept}"
    );
    assert_eq!(
        kept + missed,
        22,
        "kept {kept}, said missed {missed}: {log}"
    );
}

/// A tmpfs mounted for one test, unmounted when dropped.
struct SmallDisk {
    path: PathBuf,
}

impl SmallDisk {
    fn mount(path: PathBuf, size: &str) -> SmallDisk {
        std::fs::create_dir_all(&path).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "this test mounts a small tmpfs to fill it (needs root, as CI has): {}",
            stderr(&out)
        );
        SmallDisk { path }
    }

    /// Writes a file until the disk says it is full.
    fn fill(&self) -> PathBuf {
        let filler = self.path.join("filler");
        let mut file = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 * 1024];
        loop {
            if std::io::Write::write(&mut file, &block).is_err() {
                break;
            }
        }
        // The last few bytes too.
        while std::io::Write::write(&mut file, &block[..1]).is_ok() {}
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).status();
    }
}

/// Three deadlocks around a full disk: the one before is written, the two while the disk
/// is full wait in memory (write-failed said), and are written once there is room — no
/// line broken, none lost, none twice.
pub fn a_full_disk_loses_no_deadlock(ctx: &Ctx) {
    storm_table(ctx, "shop.fulldisk", 16);
    let disk = SmallDisk::mount(ctx.server.dir.join("small-disk"), "2m");
    let dir = disk.path.join("record");
    let recorder = recorder_following_the_log(ctx, &dir, "16s");
    std::thread::sleep(Duration::from_millis(1500));
    let (mut a, mut b) = (ctx.conn(), ctx.conn());
    let (a_id, b_id) = (a.id(), b.id());
    ctx.rt
        .block_on(deadlock_on(&mut a, &mut b, "shop.fulldisk", 0));
    std::thread::sleep(Duration::from_millis(2500));
    let filler = disk.fill();
    ctx.rt
        .block_on(deadlock_on(&mut a, &mut b, "shop.fulldisk", 1));
    std::thread::sleep(Duration::from_millis(1200));
    ctx.rt
        .block_on(deadlock_on(&mut a, &mut b, "shop.fulldisk", 2));
    std::thread::sleep(Duration::from_millis(3000));
    let during = deadlock_lines(&dir.join("deadlocks.jsonl"));
    std::fs::remove_file(&filler).unwrap();
    let out = recorder.wait_with_output().unwrap();
    let log = stderr(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("\"event\":\"write-failed\""), "{log}");
    assert_eq!(between(&during, a_id, b_id).len(), 1, "only the first fit");
    let lines = deadlock_lines(&dir.join("deadlocks.jsonl"));
    assert_eq!(between(&lines, a_id, b_id).len(), 3, "{log}");
    let mode = std::fs::metadata(dir.join("deadlocks.jsonl"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o777,
        0o600,
        "deadlocks.jsonl holds statements: private"
    );
    let dir_mode = std::fs::metadata(&dir).unwrap().permissions().mode();
    assert_eq!(dir_mode & 0o777, 0o700);
}

/// One Percona `innodb_print_lock_wait_timeout_info` entry (5.7 prefix), thread `thread`
/// blocked by thread 40.
fn percona_timeout_entry(thread: u32) -> String {
    let stamp = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ");
    format!(
        "{stamp} {thread} [Note] InnoDB: Lock wait timeout info:\n\
         Requested thread id: {thread}\n\
         Requested trx id: {}\n\
         Requested query: INSERT INTO paid_events (order_id, payment_key) VALUES ({thread}, 'pk_{thread}')\n\
         Total blocking transactions count: 1\n\
         Blocking transaction number: 1\n\
         Blocking thread id: 40\n\
         Blocking query id: 77\n\
         Blocking trx id: 5120\n",
        900_000 + thread
    )
}

/// A burst of 30 Percona lock wait timeouts in a followed log, half of them while the
/// record directory's disk is full: every one is in lock-wait-timeouts.jsonl once, as a
/// whole line, after the disk has room again; the full disk was said.
pub fn a_timeout_burst_on_a_full_disk_loses_none(ctx: &Ctx) {
    let disk = SmallDisk::mount(ctx.server.dir.join("small-disk-timeouts"), "2m");
    let dir = disk.path.join("record");
    let log_path = ctx.server.dir.join("percona-burst.log");
    std::fs::write(&log_path, "").unwrap();
    let recorder = spawn_recorder(
        ctx,
        &dir,
        &[
            "--on-trx-age",
            "1h",
            "--for",
            "9s",
            "--error-log",
            log_path.to_str().unwrap(),
        ],
    );
    let append = |threads: std::ops::Range<u32>| {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&log_path)
            .unwrap();
        for thread in threads {
            std::io::Write::write_all(&mut file, percona_timeout_entry(thread).as_bytes()).unwrap();
        }
    };
    std::thread::sleep(Duration::from_millis(1500));
    append(1000..1015);
    std::thread::sleep(Duration::from_millis(1500));
    let filler = disk.fill();
    append(1015..1030);
    std::thread::sleep(Duration::from_millis(2500));
    let path = dir.join("lock-wait-timeouts.jsonl");
    let during = json_lines(&path).len();
    std::fs::remove_file(&filler).unwrap();
    let out = recorder.wait_with_output().unwrap();
    let log = stderr(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("\"event\":\"write-failed\""), "{log}");
    // The first half fit; of the second, only what the file's last page still held.
    assert!(
        (15..30).contains(&during),
        "{during} lines on a full disk: {log}"
    );
    let mut threads: Vec<u64> = json_lines(&path)
        .iter()
        .inspect(|t| crate::schema_check::validate("lock-wait-timeouts-line", t))
        .map(|t| t["thread_id"].as_u64().expect("thread_id"))
        .collect();
    threads.sort_unstable();
    assert_eq!(threads, (1000..1030).collect::<Vec<u64>>(), "{log}");
}

/// A recorder killed mid-append left half a line: the next one repairs it; a second
/// recorder on the same directory is refused (exit 2, naming the first); the running
/// recorder's command line holds no password.
pub fn one_recorder_per_directory_and_no_password_in_argv(ctx: &Ctx) {
    let dir = ctx.server.dir.join("record-single");
    std::fs::create_dir_all(&dir).unwrap();
    let fragment = "{\"timestamp\":\"2026-11-30 10:00:00\",\"too_deep\":fal";
    std::fs::write(
        dir.join("deadlocks.jsonl"),
        format!("{{\"kept\":\"before\"}}\n{fragment}"),
    )
    .unwrap();
    let port = ctx.server.port.to_string();
    let secret = "S3cret-diag-pw";
    let password = format!("--password={secret}");
    let spawn = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_lockdiag"))
            .args([
                "--no-defaults",
                "-h",
                "127.0.0.1",
                "-P",
                &port,
                "-u",
                "diag",
            ])
            .arg(&password)
            .args([
                "record",
                "--out",
                dir.to_str().unwrap(),
                "--log-format",
                "json",
            ])
            .args(extra)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start the recorder")
    };
    let first = spawn(&["--for", "6s"]);
    std::thread::sleep(Duration::from_millis(1500));
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", first.id())).unwrap();
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    assert!(
        !cmdline.contains(secret) && cmdline.contains("--password=xxxx"),
        "the password is scrubbed from the arguments, as mysql does: {cmdline}"
    );
    let second = spawn(&["--for", "3s"]).wait_with_output().unwrap();
    assert_eq!(second.status.code(), Some(2), "{}", stderr(&second));
    assert!(
        stderr(&second).contains(&format!("lockdiag pid {}", first.id())),
        "{}",
        stderr(&second)
    );
    let mut root = ctx.conn();
    ctx.exec(
        &mut root,
        "CREATE TABLE IF NOT EXISTS shop.single (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB",
    );
    ctx.exec(
        &mut root,
        "INSERT IGNORE INTO shop.single VALUES (0,0),(1,0)",
    );
    let (mut a, mut b) = (ctx.conn(), ctx.conn());
    ctx.rt
        .block_on(deadlock_on(&mut a, &mut b, "shop.single", 0));
    let b = b.id();
    let out = first.wait_with_output().unwrap();
    let log = stderr(&out);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("warning: using a password on the command line"),
        "{log}"
    );
    assert!(!log.contains(secret), "{log}");
    assert!(
        log.contains("\"event\":\"repaired\"")
            && log.contains(&format!("\"partial_bytes_removed\":\"{}\"", fragment.len())),
        "{log}"
    );
    // The first line is the test's own, not lockdiag's: only the others are validated.
    let lines = json_lines(&dir.join("deadlocks.jsonl"));
    for line in &lines[1..] {
        crate::schema_check::validate("deadlocks-line", line);
    }
    assert_eq!(
        lines[0]["kept"], "before",
        "whole lines before the fragment stay"
    );
    assert!(
        lines
            .iter()
            .any(|d| d["transactions"].as_array().is_some_and(|t| t
                .iter()
                .any(|t| t["thread_id"].as_u64() == Some(u64::from(b))))),
        "the deadlock after the repair: {lines:?}\n{log}"
    );
}

/// A recorder SIGKILLed mid-run leaves its lock file behind: the lock dies with it, so
/// the next recorder on the directory starts (a stale pid file must not lock it out),
/// and every line the killed one wrote is whole.
pub fn a_killed_recorder_does_not_lock_its_directory(ctx: &Ctx) {
    let dir = ctx.server.dir.join("record-killed");
    let mut first = spawn_recorder(ctx, &dir, &["--on-trx-age", "1h", "--for", "30s"]);
    std::thread::sleep(Duration::from_millis(1500));
    storm_table(ctx, "shop.killed", 8);
    let (mut a, mut b) = (ctx.conn(), ctx.conn());
    ctx.rt
        .block_on(deadlock_on(&mut a, &mut b, "shop.killed", 0));
    std::thread::sleep(Duration::from_millis(1500));
    let status = Command::new("kill")
        .args(["-KILL", &first.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let _ = first.wait();
    assert!(
        dir.join(".lockdiag.lock").exists(),
        "the lock file stays behind"
    );
    let second = spawn_recorder(ctx, &dir, &["--on-trx-age", "1h", "--for", "3s"])
        .wait_with_output()
        .unwrap();
    assert!(
        second.status.success(),
        "the next recorder starts: {}",
        stderr(&second)
    );
    let lines = deadlock_lines(&dir.join("deadlocks.jsonl"));
    assert_eq!(between(&lines, a.id(), b.id()).len(), 1, "{lines:?}");
}

/// Two copies of lockdiag at once on the same pile-up: one of them reads the cache the
/// other just refreshed, waits it out once, and both give the whole, same picture.
pub fn two_copies_at_once_agree(ctx: &Ctx) {
    let mut holder = ctx.conn();
    ctx.exec(&mut holder, "BEGIN");
    ctx.exec(&mut holder, "UPDATE chain SET v = v + 1 WHERE id = 4");
    let waiters: Vec<_> = (0..2)
        .map(|_| ctx.spawn(ctx.conn(), &["UPDATE chain SET v = v + 1 WHERE id = 4"]))
        .collect();
    ctx.wait_for_waiters(2);
    std::thread::sleep(Duration::from_millis(300));
    let run = || {
        ctx.lockdiag_command()
            .args(["status", "--format", "json"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (one, two) = (run(), run());
    for out in [
        one.wait_with_output().unwrap(),
        two.wait_with_output().unwrap(),
    ] {
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        crate::schema_check::validate_document(&doc);
        assert_eq!(doc["counts"]["waiting_sessions"], 2, "{doc:#}");
        assert_eq!(doc["root_blockers"][0]["thread_id"], holder.id());
    }
    ctx.exec(&mut holder, "ROLLBACK");
    ctx.kill(&waiters.iter().map(|w| w.thread_id).collect::<Vec<_>>());
}

/// A client polling INNODB_TRX every 30 ms freezes InnoDB's cache: `status` never says
/// "0 waiting" with exit 0 while sessions wait, and `kill` does not act on the frozen
/// picture (the blocker committed and began another transaction meanwhile).
pub fn a_frozen_innodb_cache_is_never_taken_for_the_truth(ctx: &Ctx) {
    let mut holder = ctx.conn();
    ctx.exec(&mut holder, "BEGIN");
    ctx.exec(&mut holder, "UPDATE chain SET v = v + 1 WHERE id = 3");
    let waiters: Vec<_> = (0..3)
        .map(|_| ctx.spawn(ctx.conn(), &["UPDATE chain SET v = v + 1 WHERE id = 3"]))
        .collect();
    ctx.wait_for_waiters(3);
    let waiter_ids: Vec<u32> = waiters.iter().map(|w| w.thread_id).collect();

    // The poller: another client reading the cache every 30 ms, as a fast monitoring agent does.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut poller = ctx.conn();
    let poller_stop = stop.clone();
    let polling = ctx.rt.spawn(async move {
        let mut reads = 0u32;
        while !poller_stop.load(std::sync::atomic::Ordering::Relaxed) {
            let _: Option<u64> = poller
                .query_first("SELECT COUNT(*) FROM information_schema.INNODB_TRX")
                .await
                .unwrap();
            reads += 1;
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        reads
    });
    std::thread::sleep(Duration::from_millis(300));
    // The blocker's first transaction ends (its waiters get the row in turn) and it begins
    // another — the frozen cache still shows the first, and the waits.
    ctx.exec(&mut holder, "ROLLBACK");
    ctx.exec(&mut holder, "BEGIN");
    ctx.exec(&mut holder, "UPDATE chain SET v = v + 1 WHERE id = 4");
    for _ in 0..3 {
        let out = ctx.lockdiag(&["status", "--format", "json"]);
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        let waiting = &doc["counts"]["waiting_sessions"];
        assert!(
            out.status.code() == Some(2) && waiting.is_null(),
            "a stale cache is unknown, not a picture: exit {:?}, waiting {waiting}, {}",
            out.status.code(),
            stderr(&out)
        );
        assert!(stderr(&out).contains("stale"), "{}", stderr(&out));
    }
    // kill by id, confirmed: the re-check cannot prove the transaction is the one listed.
    let id = holder.id().to_string();
    let out = ctx.lockdiag(&["kill", &id, "--yes", "--format", "json"]);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let reads = ctx.rt.block_on(polling).unwrap();
    assert!(reads > 20, "the poller ran ({reads} reads)");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert_ne!(out.status.code(), Some(0), "{doc:#} {}", stderr(&out));
    assert!(
        doc["targets"]
            .as_array()
            .is_none_or(|t| t.iter().all(|t| t["outcome"] != "killed")),
        "{doc:#}"
    );
    // The blocker's new transaction is untouched: it can still commit.
    ctx.exec(&mut holder, "COMMIT");
    ctx.kill(&waiter_ids);
}

/// Unknown is never shown as empty, lockdiag never shows itself, and the status screen
/// agrees with itself: an account without PROCESS or performance_schema SELECT.
pub fn unknown_is_never_empty(ctx: &Ctx) {
    let port = ctx.server.port.to_string();
    let limited = ["-u", "limited", "--password=limited-pw"];
    let run = |args: &[&str]| {
        let mut all = limited.to_vec();
        all.extend_from_slice(args);
        ctx.lockdiag_tcp(&port, &all)
    };
    let out = run(&["locks", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("locks could not be read"),
        "{}",
        stderr(&out)
    );
    // Only the account's own sessions are visible — lockdiag's — and none is listed.
    let out = run(&["ps", "--format", "json"]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["sessions"], serde_json::json!([]), "{doc:#}");
    let out = run(&["status", "--format", "json"]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["counts"]["sessions"], 0, "{doc:#}");
    let mdl = doc["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "metadata_locks")
        .unwrap();
    let reason = mdl["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("missing privilege")
            && reason.contains("GRANT SELECT ON performance_schema.*"),
        "the table exists; the account may not read it: {reason}"
    );

    // status --long-trx: an idle transaction is idle in the list as in the tree.
    let mut idle = ctx.conn();
    ctx.exec(&mut idle, "BEGIN");
    ctx.exec(&mut idle, "UPDATE chain SET v = v + 1 WHERE id = 2");
    std::thread::sleep(Duration::from_millis(1200));
    let doc = ctx.lockdiag_json(&["status", "--long-trx", "1s"]);
    let listed = doc["long_transactions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["thread_id"] == idle.id())
        .unwrap_or_else(|| panic!("{doc:#}"))
        .clone();
    assert_eq!(listed["state_class"], "idle_in_trx", "{listed:#}");
    assert_eq!(listed["user"], "root");
    let out = ctx.lockdiag(&["status", "--long-trx", "1s"]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("IDLE IN TRANSACTION") && !table.contains("RUNNING"),
        "{table}"
    );
    ctx.exec(&mut idle, "ROLLBACK");
}

/// Inputs that never end and hostile arguments: bounded memory, a message, no panic,
/// no password echoed; output files private; an interval that would freeze the cache refused.
pub fn hostile_inputs_and_arguments(ctx: &Ctx) {
    let bin = env!("CARGO_BIN_EXE_lockdiag");
    // Under a 300 MB address-space limit: an allocation past it would abort the process.
    let capped = |args: &str| {
        Command::new("bash")
            .arg("-c")
            .arg(format!("ulimit -v 300000; exec {bin} {args}"))
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let fifo = ctx.server.dir.join("endless.fifo");
    let _ = std::fs::remove_file(&fifo);
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let feed = format!("cat /dev/zero > {} 2>/dev/null &", fifo.display());
    let cases = [
        ("deadlock --file /dev/zero".to_string(), "a device"),
        ("--from /dev/zero status".to_string(), "a device"),
        (
            "--no-defaults -S /nonexistent check --no-new-deadlock /dev/zero".to_string(),
            "a device",
        ),
        (
            "--defaults-file /dev/zero status".to_string(),
            "not a regular file",
        ),
        (
            format!("deadlock --file {}", fifo.display()),
            "larger than 64 MB",
        ),
    ];
    for (args, message) in cases {
        let args = if args.contains("fifo") {
            // A writer that never stops, into a FIFO.
            Command::new("bash").arg("-c").arg(&feed).status().unwrap();
            args
        } else {
            args
        };
        let out = capped(&args);
        assert_eq!(out.status.code(), Some(2), "{args}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{args}: {}", stderr(&out));
    }
    let _ = Command::new("pkill").args(["-f", "cat /dev/zero"]).status();

    // A password that is not UTF-8: an error, no panic, no password.
    let raw: std::ffi::OsString =
        std::os::unix::ffi::OsStringExt::from_vec(b"--password=S3cret\xe9".to_vec());
    let out = Command::new(bin).arg(&raw).arg("status").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = stderr(&out);
    assert!(
        !text.contains("panicked") && !text.contains("S3cret"),
        "{text}"
    );

    // A one-letter password: messages are redacted where a password stands, not by letter.
    let mut root = ctx.conn();
    ctx.exec(
        &mut root,
        "CREATE USER IF NOT EXISTS 'a1'@'%' IDENTIFIED BY 'a'",
    );
    ctx.exec(&mut root, "GRANT PROCESS ON *.* TO 'a1'@'%'");
    let port = ctx.server.port.to_string();
    let snaps = ctx.server.dir.join("a-snap/");
    let out = ctx.lockdiag_tcp(
        &port,
        &[
            "-u",
            "a1",
            "--password=a",
            "snapshot",
            "--out",
            snaps.to_str().unwrap(),
        ],
    );
    let text = stderr(&out);
    assert!(!text.contains("****"), "{text}");
    let written: Vec<PathBuf> = std::fs::read_dir(&snaps)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(written.len(), 1);
    assert!(text.contains(&written[0].display().to_string()), "{text}");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        mode(&written[0]),
        0o600,
        "snapshots hold statements: private"
    );
    assert_eq!(mode(&snaps), 0o700);
    let prom = ctx.server.dir.join("lockdiag.prom");
    let out = ctx.lockdiag(&[
        "snapshot",
        "--format",
        "prometheus",
        "--out",
        prom.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(mode(&prom), 0o644, "counts only: node_exporter reads it");

    let out = ctx.lockdiag(&["record", "--out", "/tmp/never", "--interval", "50ms"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("at least 200ms"), "{}", stderr(&out));
    // A recorder that never reached its server did not succeed.
    let dir = ctx.server.dir.join("record-nowhere");
    let out = ctx.lockdiag_raw(&[
        "--no-defaults",
        "-S",
        "/nonexistent/mysqld.sock",
        "record",
        "--out",
        dir.to_str().unwrap(),
        "--for",
        "2s",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("never reached"), "{}", stderr(&out));
}

/// During an ALTER pile-up on shop.payments (an open transaction holds the table's metadata
/// lock, the ALTER queues for it, every new reader queues behind the ALTER), lockdiag's own
/// reads give up within their query timeout instead of joining the queue: `dupes` on the
/// table ends with an error naming the lock wait, a `/probe` scrape answers in time, and
/// the server never shows a lockdiag session waiting longer than the limit.
pub fn an_alter_pile_up_is_never_joined(ctx: &Ctx) {
    let mut holder = ctx.conn();
    ctx.exec(&mut holder, "BEGIN");
    ctx.exec(&mut holder, "SELECT * FROM payments LIMIT 1");
    let alter = ctx.conn();
    let alter_id = alter.id();
    let _alter = ctx.spawn(
        alter,
        &["ALTER TABLE payments ADD COLUMN pile_up_probe INT"],
    );
    ctx.wait_for_waiters(1);

    let watcher = std::thread::spawn({
        let socket = ctx.server.socket();
        move || longest_lockdiag_metadata_wait(&socket, Duration::from_secs(6))
    });
    let started = std::time::Instant::now();
    let out = ctx.lockdiag(&[
        "--query-timeout",
        "2s",
        "dupes",
        "--table",
        "shop.payments",
        "--columns",
        "payment_key",
    ]);
    let took = started.elapsed();
    let said = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(took < Duration::from_secs(5), "dupes took {took:?}: {said}");
    assert!(
        said.contains("gave up waiting for a lock") && said.contains("lockdiag status"),
        "{said}"
    );

    let exporter = crate::serve::Exporter::start(ctx, &[]);
    let started = std::time::Instant::now();
    let (status, body) = exporter.get("/metrics", &[("X-Prometheus-Scrape-Timeout-Seconds", "4")]);
    assert_eq!(status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(
        crate::serve::series(&body, "lockdiag_waiting_sessions{lock=\"metadata\"}")
            .is_some_and(|n| n >= 1.0),
        "the queued ALTER is seen: {body}"
    );
    drop(exporter);

    let (longest, seen) = watcher.join().unwrap();
    assert!(
        seen > 0,
        "no lockdiag statement (by its marker) was seen waiting"
    );
    assert!(
        longest <= 3,
        "a lockdiag session waited {longest} s for a metadata lock (limit 2 s)"
    );
    ctx.kill(&[alter_id]);
    ctx.exec(&mut holder, "ROLLBACK");
}

/// The longest time (s) any lockdiag session was seen waiting for a metadata lock, polled
/// from the processlist every 200 ms for `during`, and in how many polls one was seen
/// (found by the marker every lockdiag statement starts with, as the server shows it).
fn longest_lockdiag_metadata_wait(socket: &Path, during: Duration) -> (u64, u32) {
    let until = std::time::Instant::now() + during;
    let (mut longest, mut seen) = (0, 0);
    while std::time::Instant::now() < until {
        let out = crate::server::client(
            socket,
            "SELECT COUNT(*), COALESCE(MAX(TIME), 0) FROM information_schema.PROCESSLIST \
             WHERE STATE LIKE 'Waiting for%metadata lock' AND INFO LIKE '/* lockdiag limit_ms=%'",
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let mut fields = text
            .split_whitespace()
            .map(|f| f.parse::<u64>().unwrap_or(0));
        let (count, time) = (fields.next().unwrap_or(0), fields.next().unwrap_or(0));
        seen += u32::from(count > 0);
        longest = longest.max(time);
        std::thread::sleep(Duration::from_millis(200));
    }
    (longest, seen)
}

/// A lockdiag read of InnoDB's transaction cache still on the server past its limit (as
/// under a large rollback, where a killed read stays "Filling schema table"): the next
/// collection — one-shot or the exporter's — skips the cache and says which statement it
/// would have queued behind, reads the rest, and reads the cache again once it has gone.
/// The lingering read is played by a statement carrying lockdiag's marker (a real one is
/// stuck only while InnoDB holds its mutexes, which a test cannot arrange on demand);
/// that real statements carry the marker is what `an_alter_pile_up_is_never_joined` sees.
pub fn a_lingering_read_is_not_stacked(ctx: &Ctx) {
    let lingering = ctx.conn();
    let lingering_id = lingering.id();
    let _lingering = ctx.spawn(
        lingering,
        &["/* lockdiag limit_ms=1000 */ SELECT SLEEP(60) + \
           (SELECT COUNT(*) FROM information_schema.INNODB_TRX)"],
    );
    let mut admin = ctx.conn();
    let deadline = Instant::now() + Duration::from_secs(10);
    while ctx.query_u64(
        &mut admin,
        &format!("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = {lingering_id} AND TIME >= 2"),
    ) == 0
    {
        assert!(Instant::now() < deadline, "the lingering read never ran 2 s");
        std::thread::sleep(Duration::from_millis(200));
    }

    let out = ctx.lockdiag(&["--query-timeout", "5s", "status", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("status JSON");
    let source = |name: &str| crate::ctx::source_of(&doc, name);
    let transactions = source("transactions");
    assert_eq!(transactions["status"], "unavailable", "{transactions}");
    let reason = transactions["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("skipped") && reason.contains(&format!("connection {lingering_id},")),
        "{reason}"
    );
    assert_eq!(source("lock_waits")["status"], "unavailable");
    // What does not share InnoDB's cache is still read.
    assert_eq!(source("processlist")["status"], "ok");
    assert_eq!(source("metadata_locks")["status"], "ok");

    let exporter = crate::serve::Exporter::start(ctx, &[]);
    let (status, body) = exporter.get("/metrics", &[]);
    assert_eq!(status, 200);
    assert_eq!(
        crate::serve::series(&body, "lockdiag_source_up{source=\"transactions\"}"),
        Some(0.0),
        "{body}"
    );
    assert_eq!(
        crate::serve::series(&body, "lockdiag_open_transactions"),
        None,
        "{body}"
    );
    assert_eq!(
        crate::serve::series(&body, "lockdiag_up"),
        Some(1.0),
        "{body}"
    );

    // Gone: read again.
    ctx.exec(&mut admin, &format!("KILL QUERY {lingering_id}"));
    std::thread::sleep(Duration::from_millis(300));
    let (_, body) = exporter.get("/metrics", &[]);
    assert_eq!(
        crate::serve::series(&body, "lockdiag_source_up{source=\"transactions\"}"),
        Some(1.0),
        "{body}"
    );
    drop(exporter);
    let doc = ctx.lockdiag_json(&["status"]);
    assert!(
        doc["sources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] == "ok"),
        "{doc}"
    );
    ctx.kill(&[lingering_id]);
}

/// More row-lock waits than `--max-row-waits`: the listing that would cost the server its
/// lock latch for seconds (InnoDB pairs every waiter with each lock queued before it) is
/// skipped, saying so with InnoDB's own count; the count is still exported; the other
/// sources are read; within the limit everything is listed as before.
pub fn a_big_pile_up_is_counted_not_listed(ctx: &Ctx) {
    let ids = crate::serve::pile_up(ctx);
    let out = ctx.lockdiag(&["--max-row-waits", "1", "status", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("status JSON");
    let transactions = source_of(&doc, "transactions");
    let reason = transactions["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("skipped: InnoDB counts 2 row-lock waits")
            && reason.contains("--max-row-waits 1"),
        "{transactions}"
    );
    assert_eq!(source_of(&doc, "lock_waits")["status"], "unavailable");
    assert_eq!(source_of(&doc, "processlist")["status"], "ok");
    assert_eq!(source_of(&doc, "metadata_locks")["status"], "ok");
    // The table names the count and the limit too.
    let table = ctx.lockdiag(&["--max-row-waits", "1", "status"]);
    assert!(
        stdout_and_err(&table).contains("InnoDB counts 2 row-lock waits"),
        "{}",
        stdout_and_err(&table)
    );

    let exporter = crate::serve::Exporter::start(ctx, &["--max-row-waits", "1"]);
    let (status, body) = exporter.get("/metrics", &[]);
    assert_eq!(status, 200);
    assert_eq!(
        crate::serve::series(&body, "lockdiag_waiting_sessions{lock=\"row\"}"),
        Some(2.0),
        "{body}"
    );
    assert_eq!(
        crate::serve::series(&body, "lockdiag_source_up{source=\"lock_waits\"}"),
        Some(0.0),
        "{body}"
    );
    assert!(!body.contains("lockdiag_root_blockers{"), "{body}");
    drop(exporter);

    // Idle in a transaction cannot be told without the transactions: an error, not
    // "nothing matched".
    let kill = ctx.lockdiag(&[
        "--max-row-waits",
        "1",
        "kill",
        "--idle-in-trx-longer-than",
        "0s",
        "--dry-run",
    ]);
    assert_eq!(kill.status.code(), Some(2), "{}", stdout_and_err(&kill));
    assert!(
        stderr(&kill).contains("cannot tell which sessions are idle in a transaction"),
        "{}",
        stdout_and_err(&kill)
    );
    // The recorder probes every second: over the limit it counts the waits instead of
    // reading InnoDB's cache, and still takes its snapshot, saying why.
    let dir = ctx.server.dir.join("record-counted-pile-up");
    let recorder = crate::record::spawn_recorder(
        ctx,
        &dir,
        &[
            "--max-row-waits",
            "1",
            "--on-lock-wait",
            "1s",
            "--for",
            "3s",
        ],
    );
    let out = recorder.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    let triggers: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter_map(|p| {
            let doc: Value = serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()?;
            doc["trigger"].as_str().map(str::to_string)
        })
        .collect();
    assert!(
        triggers
            .iter()
            .any(|t| t.starts_with("pile-up 2 row-lock waits > --max-row-waits 1")),
        "{triggers:?}\n{log}"
    );

    // A kill by thread id over the limit: its transaction cannot be seen, so it is skipped
    // (a KILL would roll back a transaction the decision never saw), saying why, before any
    // re-check read of InnoDB's cache.
    let audit = ctx.server.dir.join("counted-pile-up.audit");
    let waiter = ids[1].to_string();
    let out = ctx.lockdiag(&[
        "--max-row-waits",
        "1",
        "kill",
        &waiter,
        "--yes",
        "--audit-log",
        audit.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout_and_err(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let targets = doc["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 1, "{doc:#}");
    assert_eq!(targets[0]["thread_id"], ids[1], "{doc:#}");
    assert_eq!(targets[0]["outcome"], "skipped", "{doc:#}");
    assert!(
        targets[0]["detail"].as_str().is_some_and(|d| {
            d.contains("cannot confirm its transaction")
                && d.contains("InnoDB counts 2 row-lock waits")
        }),
        "{doc:#}"
    );

    let doc = ctx.lockdiag_json(&["status"]);
    assert_eq!(source_of(&doc, "transactions")["status"], "ok", "{doc}");
    ctx.kill(&ids);
}

fn stdout_and_err(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(out))
}
