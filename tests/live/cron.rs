//! Snapshots, `--from`, `check` and `dupes` against the throwaway server.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::ctx::Ctx;

fn root_ids(doc: &Value) -> Vec<(u64, u64)> {
    doc["root_blockers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["thread_id"].as_u64().unwrap(),
                r["blocked_sessions"].as_u64().unwrap(),
            )
        })
        .collect()
}

pub fn snapshot_during_a_chain_renders_offline(ctx: &Ctx) {
    // The snapshot must carry a deadlock: make one unless an earlier test did.
    if ctx.lockdiag_json(&["deadlock"])["deadlocks_total"] == 0 {
        crate::deadlocks::payments_reservations(ctx);
    }
    let mut a = ctx.conn();
    ctx.exec(&mut a, "BEGIN");
    ctx.exec(&mut a, "UPDATE chain SET v = v + 1 WHERE id = 3");
    let b = ctx.spawn(
        ctx.conn(),
        &[
            "BEGIN",
            "UPDATE chain SET v = v + 1 WHERE id = 4",
            "UPDATE chain SET v = v + 1 WHERE id = 3",
        ],
    );
    ctx.wait_for_waiters(1);
    let c = ctx.spawn(
        ctx.conn(),
        &["BEGIN", "UPDATE chain SET v = v + 1 WHERE id = 4"],
    );
    ctx.wait_for_waiters(2);

    let dir = ctx.server.dir.join("snapshots");
    std::fs::create_dir_all(&dir).unwrap();
    let live = ctx.lockdiag_json(&["waits"]);
    let out = ctx.lockdiag(&["snapshot", "--out", dir.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    let file = files[0].to_str().unwrap().to_string();
    assert!(files[0]
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("lockdiag-"));
    let snap: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    crate::schema_check::validate_document(&snap);
    assert_eq!(
        (snap["schema_version"].as_u64(), snap["kind"].as_str()),
        (
            Some(u64::from(lockdiag::model::SCHEMA_VERSION)),
            Some("snapshot")
        )
    );
    assert!(snap["innodb_status"]
        .as_str()
        .unwrap()
        .contains("INNODB MONITOR OUTPUT"));
    assert!(
        snap["sources"]
            .as_array()
            .unwrap()
            .iter()
            // The statement history is an addition, off by default on MariaDB.
            .all(|s| s["status"] == "ok" || s["source"] == "statement_history"),
        "{}",
        snap["sources"]
    );
    assert_eq!(root_ids(&snap["analysis"]), root_ids(&live));
    if std::env::var_os("LOCKDIAG_CAPTURE_FIXTURES").is_some() {
        let dest =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/snapshot/chain.json");
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&file, dest).unwrap();
    }
    // A deadlock happened earlier in this run: the snapshot carries it, parsed.
    assert!(
        snap["latest_deadlock"]["fingerprint"].is_string(),
        "{}",
        snap["latest_deadlock"]
    );

    // Offline: the same views from the file, with no server.
    let offline = |args: &[&str]| {
        let mut full = vec!["--from", file.as_str()];
        full.extend_from_slice(args);
        full.extend_from_slice(&["--format", "json"]);
        let out = ctx.lockdiag_raw(&full);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    assert_eq!(root_ids(&offline(&["waits"])), root_ids(&live));
    assert_eq!(offline(&["status"])["counts"]["waiting_sessions"], 2);
    assert!(offline(&["ps"])["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["thread_id"] == a.id()));
    assert_eq!(
        offline(&["deadlock"])["deadlocks"][0]["fingerprint"],
        snap["latest_deadlock"]["fingerprint"]
    );
    let grouped = offline(&["deadlock"]);
    assert_eq!(grouped["deadlocks_total"], 1);
    let from_dir = ctx.lockdiag_raw(&[
        "--from",
        dir.to_str().unwrap(),
        "deadlock",
        "--format",
        "json",
    ]);
    let from_dir: Value = serde_json::from_slice(&from_dir.stdout).unwrap();
    assert_eq!(from_dir["groups"][0]["count"], 1);

    // Prometheus text for node_exporter.
    let prom = ctx.lockdiag(&["snapshot", "--format", "prometheus"]);
    let text = String::from_utf8_lossy(&prom.stdout);
    assert!(
        text.contains("lockdiag_waiting_sessions{server=") && text.contains("} 2\n"),
        "{text}"
    );
    assert!(text.contains("lockdiag_latest_deadlock_info{"), "{text}");
    assert!(
        text.contains("lockdiag_root_blockers{server=")
            && text.contains("state=\"idle_in_transaction\"} 1"),
        "{text}"
    );
    // The textfile collector's format, as Prometheus's own tool reads it.
    crate::serve::promtool_accepts(&text);

    // check fails with the wait in place and names the assertion (once it has lasted a second:
    // waits are counted in whole seconds and "longer than 0s" needs at least 1).
    std::thread::sleep(Duration::from_millis(1100));
    let junit = ctx.server.dir.join("junit.xml");
    let out = ctx.lockdiag(&[
        "check",
        "--max-lock-wait",
        "0s",
        "--max-blocked",
        "5",
        "--junit",
        junit.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("FAIL  max-lock-wait 0s") && text.contains("PASS  max-blocked 5"),
        "{text}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("failures=\"1\"") && xml.contains("<failure message="),
        "{xml}"
    );

    // The latest deadlock is the baseline's: no new one.
    let out = ctx.lockdiag(&["check", "--no-new-deadlock", &file]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    ctx.kill(&[a.id(), b.thread_id, c.thread_id]);

    // Quiet server: passes.
    let out = ctx.lockdiag(&[
        "check",
        "--max-blocked",
        "0",
        "--no-metadata-lock-waits",
        "--max-lock-wait",
        "1m",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = ctx.lockdiag(&["check", "--no-deadlock-since", "1h", "--format", "json"]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (out.status.code(), doc["result"].as_str()),
        (Some(1), Some("fail")),
        "a deadlock happened minutes ago: {doc}"
    );
    // Server down: could not check.
    let port = crate::server::free_port().unwrap().to_string();
    let down = ctx.lockdiag_tcp(
        &port,
        &["--connect-timeout", "1s", "check", "--max-blocked", "0"],
    );
    assert_eq!(down.status.code(), Some(2));
    let no_assertion = ctx.lockdiag(&["check"]);
    assert_eq!(no_assertion.status.code(), Some(2));
}

pub fn snapshots_appear_atomically_and_are_pruned(ctx: &Ctx) {
    let dir = ctx.server.dir.join("atomic");
    std::fs::create_dir_all(&dir).unwrap();
    // An old snapshot that --keep must remove, and an unrelated file it must not.
    let old = dir.join("lockdiag-20200101T000000.000Z.json");
    std::fs::write(&old, "{}").unwrap();
    std::fs::write(dir.join("notes.json"), "{}").unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (dir, stop) = (dir.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut reads = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                    let path = entry.path();
                    let name = path.file_name().unwrap().to_string_lossy().to_string();
                    if !name.starts_with("lockdiag-2026") && !name.starts_with("lockdiag-2027") {
                        continue;
                    }
                    if let Ok(text) = std::fs::read_to_string(&path) {
                        let snap = serde_json::from_str::<Value>(&text);
                        assert!(snap.is_ok(), "a partial snapshot was visible: {name}");
                        crate::schema_check::validate_document(&snap.unwrap());
                        reads += 1;
                    }
                }
            }
            reads
        })
    };
    for _ in 0..5 {
        let out = ctx.lockdiag(&[
            "snapshot",
            "--out",
            dir.to_str().unwrap(),
            "--keep",
            "1h",
            "--no-raw",
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);
    assert!(!old.exists(), "--keep did not prune the old snapshot");
    assert!(dir.join("notes.json").exists());
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(
        names.iter().filter(|n| n.starts_with("lockdiag-")).count(),
        5,
        "{names:?}"
    );
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    let snap: Value = serde_json::from_str(
        &std::fs::read_to_string(
            dir.join(names.iter().find(|n| n.starts_with("lockdiag-")).unwrap()),
        )
        .unwrap(),
    )
    .unwrap();
    crate::schema_check::validate_document(&snap);
    assert!(snap["innodb_status"].is_null(), "--no-raw");
    // An unwritable destination: exit 2, no partial file.
    let out = ctx.lockdiag(&["snapshot", "--out", "/proc/lockdiag-cannot-write.json"]);
    assert_eq!(out.status.code(), Some(2));
}

pub fn dupes_finds_groups_and_names_the_unique_key(ctx: &Ctx) {
    let doc = ctx.lockdiag_json(&[
        "dupes",
        "--table",
        "shop.payment_log",
        "--columns",
        "payment_key",
    ]);
    assert_eq!(
        (
            doc["duplicate_groups"].as_u64(),
            doc["duplicated_rows"].as_u64(),
            doc["extra_rows"].as_u64()
        ),
        (Some(2), Some(5), Some(3)),
        "{doc:#}"
    );
    assert_eq!(doc["groups"][0]["key"], serde_json::json!(["pk_dup2"]));
    assert_eq!(doc["groups"][0]["count"], 3);
    assert_eq!(
        doc["groups"][0]["primary_keys"],
        serde_json::json!(["4", "5", "6"])
    );
    assert_eq!(
        doc["groups"][1]["primary_keys"],
        serde_json::json!(["1", "3"])
    );
    assert_eq!(doc["rows_with_null_key"], 2);
    assert!(doc["unique_index"].is_null());
    assert!(doc["fix"]["add_unique"]
        .as_str()
        .unwrap()
        .starts_with("ALTER TABLE `shop`.`payment_log` ADD UNIQUE KEY"));
    let cleanup = doc["fix"]["cleanup"].as_str().unwrap();
    assert!(
        cleanup.contains("DELETE FROM `shop`.`payment_log` WHERE `id` IN (5, 6, 3) LIMIT 3;"),
        "{cleanup}"
    );

    let filtered = ctx.lockdiag_json(&[
        "dupes",
        "--table",
        "shop.payment_log",
        "--columns",
        "payment_key",
        "--where",
        "amount = 10",
        "--chunk-rows",
        "2",
    ]);
    assert_eq!(filtered["duplicate_groups"], 1);
    assert!(filtered["chunks"].as_u64().unwrap() >= 2);

    let covered = ctx.lockdiag_json(&[
        "dupes",
        "--table",
        "shop.paid_events",
        "--columns",
        "order_id,payment_key",
    ]);
    assert_eq!(covered["unique_index"], "uk_paid_events_order_payment");
    assert_eq!(covered["duplicate_groups"], 0);
    let text = String::from_utf8_lossy(
        &ctx.lockdiag(&[
            "dupes",
            "--table",
            "shop.paid_events",
            "--columns",
            "order_id,payment_key",
        ])
        .stdout,
    )
    .to_string();
    assert!(
        text.contains("UNIQUE index uk_paid_events_order_payment already covers"),
        "{text}"
    );

    for (args, message) in [
        (
            vec!["dupes", "--table", "shop.payment_lgo", "--columns", "x"],
            "no table shop.payment_lgo (or no SELECT on it); closest: shop.payment_log",
        ),
        (
            vec![
                "dupes",
                "--table",
                "shop.payment_log",
                "--columns",
                "payment_key`; DROP TABLE x; --",
            ],
            "has no column",
        ),
        (
            vec![
                "dupes",
                "--table",
                "shop.payment_log",
                "--columns",
                "payment_key",
                "--where",
                "1=1 OR amount > 0",
            ],
            "--where accepts only",
        ),
        (
            vec![
                "dupes",
                "--table",
                "payment_log",
                "--columns",
                "payment_key",
            ],
            "name the schema",
        ),
    ] {
        let out = ctx.lockdiag(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(message),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = ctx.lockdiag(&[
        "check",
        "--no-duplicates",
        "shop.payment_log.payment_key",
        "--no-duplicates",
        "shop.paid_events.order_id,payment_key",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("FAIL  no-duplicates shop.payment_log.payment_key: 2 duplicate key(s)")
            && text.contains("PASS  no-duplicates shop.paid_events"),
        "{text}"
    );
}

/// While dupes scans a 1M-row table, a writer keeps updating rows of it without waiting.
pub fn dupes_scan_does_not_block_writers(ctx: &Ctx) {
    let mut admin = ctx.conn();
    ctx.exec(&mut admin, "CREATE TABLE big (id INT PRIMARY KEY, k VARCHAR(20) NOT NULL, v INT NOT NULL DEFAULT 0) ENGINE=InnoDB");
    ctx.exec(
        &mut admin,
        "INSERT INTO big (id, k) SELECT seq, CONCAT('k', seq MOD 999990) FROM seq_1_to_1000000",
    );
    let waits_before = ctx.query_u64(&mut admin, "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'INNODB_ROW_LOCK_WAITS'");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writer = ctx.conn();
    let writer_stop = stop.clone();
    let writer_task = ctx.rt.spawn(async move {
        use mysql_async::prelude::Queryable;
        let (mut updates, mut worst) = (0u64, Duration::ZERO);
        let mut id = 1u64;
        while !writer_stop.load(std::sync::atomic::Ordering::Relaxed) {
            let t0 = Instant::now();
            writer
                .query_drop(format!("UPDATE big SET v = v + 1 WHERE id = {id}"))
                .await
                .unwrap();
            worst = worst.max(t0.elapsed());
            updates += 1;
            id = (id * 7919) % 1_000_000 + 1;
        }
        (updates, worst)
    });
    let t0 = Instant::now();
    let doc = ctx.lockdiag_json(&[
        "dupes",
        "--table",
        "shop.big",
        "--columns",
        "k",
        "--limit",
        "3",
    ]);
    let scan = t0.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (updates, worst) = ctx.rt.block_on(writer_task).unwrap();
    assert_eq!(doc["rows_scanned"], 1_000_000);
    assert_eq!(doc["duplicate_groups"], 10);
    let waits_after = ctx.query_u64(&mut admin, "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'INNODB_ROW_LOCK_WAITS'");
    eprintln!("dupes scanned 1M rows in {scan:?}; concurrent writer: {updates} updates, worst latency {worst:?}");
    assert_eq!(
        waits_after, waits_before,
        "the scan made a writer wait for a row lock"
    );
    assert!(
        updates > 10 && worst < Duration::from_secs(1),
        "writer: {updates} updates, worst {worst:?}"
    );
    ctx.exec(&mut admin, "DROP TABLE big");
}

/// The snapshot writer's edges: directories, retention, stale metrics, JUnit without a server.
pub fn snapshot_writer_refuses_guesses_and_marks_failures(ctx: &Ctx) {
    let base = ctx.server.dir.join("writer");
    // A path that is neither a directory nor a file name is refused, not written as a file.
    let ambiguous = base.join("snaps");
    let out = ctx.lockdiag(&["snapshot", "--out", ambiguous.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("end it with /"));
    assert!(!ambiguous.exists());
    // With a trailing slash the directory is created and a timestamped file written.
    let dir = format!("{}/", ambiguous.display());
    let out = ctx.lockdiag(&["snapshot", "--out", &dir, "--keep", "7d"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_dir(&ambiguous).unwrap().count(), 1);
    // A retention under a minute would delete what it keeps.
    for keep in ["0", "0s", "1ns", "30s"] {
        let out = ctx.lockdiag(&["snapshot", "--out", &dir, "--keep", keep]);
        assert_eq!(out.status.code(), Some(2), "--keep {keep}");
    }
    assert_eq!(std::fs::read_dir(&ambiguous).unwrap().count(), 1);

    // Prometheus: a good run says lockdiag_up 1; a failed one replaces the file with lockdiag_up 0.
    let prom = base.join("lockdiag.prom");
    let out = ctx.lockdiag(&[
        "snapshot",
        "--format",
        "prometheus",
        "--out",
        prom.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(std::fs::read_to_string(&prom)
        .unwrap()
        .contains("lockdiag_up{server="));
    let closed = crate::server::free_port().unwrap().to_string();
    let out = ctx.lockdiag_tcp(
        &closed,
        &[
            "--connect-timeout",
            "1s",
            "snapshot",
            "--format",
            "prometheus",
            "--out",
            prom.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let text = std::fs::read_to_string(&prom).unwrap();
    assert!(
        text.contains(&format!("lockdiag_up{{server=\"127.0.0.1:{closed}\"}} 0"))
            && text.contains("lockdiag_collection_error_timestamp_seconds")
            && !text.contains("lockdiag_waiting_sessions"),
        "{text}"
    );

    // check --junit writes an errored testcase when it cannot connect.
    let junit = base.join("junit.xml");
    let out = ctx.lockdiag_tcp(
        &closed,
        &[
            "--connect-timeout",
            "1s",
            "check",
            "--max-blocked",
            "0",
            "--junit",
            junit.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("connect") && xml.contains("cannot connect"),
        "{xml}"
    );
}
