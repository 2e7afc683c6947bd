//! `lockdiag report` on a real recording (issue 22): `record` sees an idle-in-transaction
//! root blocker with a chain of waiters on a table with a hostile name and a payments ↔
//! reservations deadlock; the report built from its directory is opened in headless
//! Chromium (Debian's `chromium`), whose DOM must hold the tables, the root's thread and
//! the diagnosis as text, load nothing from anywhere, and show the hostile name as text.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::ctx::Ctx;

/// A table name that is markup if a report ever pastes it unescaped.
const HOSTILE: &str = "<img src=x onerror=alert(1)>";

/// Chromium as Debian installs it; `None` (said) when absent outside CI, a failure in CI.
fn chromium() -> Option<PathBuf> {
    let found = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is not installed (Debian: chromium): the report cannot be checked in a browser"
        );
        eprintln!("SKIPPED: chromium is not installed: the report is NOT opened in a browser");
    }
    found
}

/// Runs headless Chromium on the page with `args` (`--dump-dom`, `--screenshot=…`).
fn headless(chromium: &Path, page: &Path, args: &[&str]) -> std::process::Output {
    let profile = page.with_extension("chromium-profile");
    Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            // Nothing may be fetched: were anything asked for, it would go nowhere.
            "--proxy-server=127.0.0.1:9",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium")
}

/// The incident the recorder sees: an idle root holding a row of the hostile table,
/// A waiting for it while holding a payments row, B waiting for A; then a deadlock.
fn incident(ctx: &Ctx) -> Vec<u32> {
    let mut admin = ctx.conn();
    let table = format!("`{HOSTILE}`");
    ctx.exec(&mut admin, &format!("DROP TABLE IF EXISTS {table}"));
    ctx.exec(
        &mut admin,
        &format!("CREATE TABLE {table} (id INT PRIMARY KEY, v INT) ENGINE=InnoDB"),
    );
    ctx.exec(&mut admin, &format!("INSERT INTO {table} VALUES (1, 0)"));
    let mut root = ctx.conn();
    ctx.exec(&mut root, "BEGIN");
    ctx.exec(
        &mut root,
        &format!("SELECT * FROM {table} WHERE id = 1 FOR UPDATE"),
    );
    let mut a = ctx.conn();
    let ids = vec![root.id(), a.id()];
    ctx.exec(&mut a, "BEGIN");
    ctx.exec(
        &mut a,
        "UPDATE payments SET status = 'HELD' WHERE payment_id = 2994",
    );
    let pending_a = ctx.spawn(a, &[&format!("UPDATE {table} SET v = 1 WHERE id = 1")]);
    ctx.wait_for_waiters(1);
    let b = ctx.conn();
    let b_id = b.id();
    let pending_b = ctx.spawn(
        b,
        &["UPDATE payments SET status = 'LATE' WHERE payment_id = 2994"],
    );
    ctx.wait_for_waiters(2);
    // Long enough for the recorder's lock-wait trigger (1 s) to take a snapshot.
    std::thread::sleep(Duration::from_millis(2500));
    let (mut webhook, mut refund) = (ctx.conn(), ctx.conn());
    let pair = [webhook.id(), refund.id()];
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
    let pw = ctx.spawn(
        webhook,
        &["UPDATE reservations SET status='CONFIRMED' WHERE reservation_id=916191"],
    );
    ctx.wait_for_waiters(3);
    let pr = ctx.spawn(
        refund,
        &["UPDATE payments SET status='REFUNDED' WHERE payment_id=2993"],
    );
    assert_eq!(crate::deadlocks::deadlock_victims(ctx, vec![pw, pr]), 1);
    std::thread::sleep(Duration::from_millis(1500));
    drop((pending_a, pending_b));
    let mut all = ids;
    all.push(b_id);
    all.extend(pair);
    all
}

pub fn report_of_a_recorded_incident_renders_in_chromium(ctx: &Ctx) {
    let dir = ctx.server.dir.join("record-report");
    let recorder = crate::record::spawn_recorder(
        ctx,
        &dir,
        &["--on-lock-wait", "1s", "--cooldown", "2s", "--for", "9s"],
    );
    std::thread::sleep(Duration::from_millis(1200));
    let threads = incident(ctx);
    let root_thread = threads[0];
    ctx.kill(&threads);
    let out = recorder.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{log}");

    let page = dir.join("report.html");
    let made = ctx.lockdiag_raw(&[
        "--from",
        dir.to_str().unwrap(),
        "report",
        "--out",
        page.to_str().unwrap(),
    ]);
    let said = String::from_utf8_lossy(&made.stderr).into_owned();
    assert_eq!(made.status.code(), Some(0), "{said}\n{log}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.len() < 2_000_000, "{} bytes", html.len());
    // Self-contained: no script, and every link is to a file beside it or inside it.
    assert!(!html.contains("<script"), "a script in the page");
    assert!(
        !html.contains(HOSTILE),
        "the hostile name appears unescaped"
    );
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "the hostile name is missing"
    );

    let Some(chromium) = chromium() else {
        return;
    };
    let dom = headless(&chromium, &page, &["--dump-dom"]);
    let dom_text = String::from_utf8_lossy(&dom.stdout).into_owned();
    assert!(
        dom.status.success() && dom_text.contains("</html>"),
        "chromium --dump-dom failed: {}",
        String::from_utf8_lossy(&dom.stderr)
    );
    for wanted in [
        "shop.payments",
        "shop.reservations",
        "Lock-order inversion",
        "idle in transaction",
        "&lt;img src=x onerror=alert(1)&gt;",
    ] {
        assert!(dom_text.contains(wanted), "{wanted:?} not in the DOM");
    }
    assert!(
        dom_text.contains(&format!("<td>{root_thread}</td>")),
        "the root blocker's thread {root_thread} is not in the DOM"
    );
    assert!(!dom_text.contains("<img"), "markup from a table name");
    for attribute in ["src=\"", "href=\""] {
        for value in dom_text.split(attribute).skip(1) {
            let target = value.split('"').next().unwrap_or("");
            assert!(
                target.starts_with('#') || !target.contains(':'),
                "{attribute}{target}\" leaves the file"
            );
        }
    }
    let shot = dir.join("report.png");
    let taken = headless(
        &chromium,
        &page,
        &[
            "--window-size=1280,2000",
            "--hide-scrollbars",
            &format!("--screenshot={}", shot.display()),
        ],
    );
    assert!(
        shot.metadata().is_ok_and(|m| m.len() > 10_000),
        "no screenshot: {}",
        String::from_utf8_lossy(&taken.stderr)
    );
    if let Some(keep) = std::env::var_os("LOCKDIAG_KEEP_REPORT") {
        // For looking at it (and docs/): copy the page and its screenshot out.
        let keep = PathBuf::from(keep);
        std::fs::create_dir_all(&keep).unwrap();
        std::fs::copy(&page, keep.join("report.html")).unwrap();
        std::fs::copy(&shot, keep.join("report.png")).unwrap();
    }
}
