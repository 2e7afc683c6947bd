//! `lockdiag report` from files in fixtures/ (no server): the page is written private
//! and self-contained, names what it was built from, and refuses what it cannot do.
//! The live test (tests/live/report.rs) opens a real recording's page in Chromium.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn lockdiag(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lockdiag"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run lockdiag")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lockdiag-report-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_snapshot_and_an_error_log_make_one_private_self_contained_page() {
    let dir = scratch("fixtures");
    let page = dir.join("incident.html");
    let out = lockdiag(&[
        "--from",
        "fixtures/snapshot/chain.json",
        "report",
        "--error-log",
        "fixtures/live/error.log",
        "--server-tz",
        "UTC",
        "--out",
        page.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("1 snapshots, 4 deadlocks in 3 shapes"),
        "{}",
        stderr(&out)
    );
    let html = std::fs::read_to_string(&page).unwrap();
    let mode = std::fs::metadata(&page).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "it holds statements: private");
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert!(!html.contains("<script") && !html.contains("@import"));
    // Nothing fetched: links and sources point inside the page or to files beside it, and
    // CSS/SVG `url(…)` only to the page's own markers (`xmlns` is a name, not a request).
    for attribute in ["src=\"", "href=\"", "url("] {
        for value in html.split(attribute).skip(1) {
            let target = value.split(['"', ')']).next().unwrap_or("");
            assert!(
                target.starts_with('#') || !target.contains(':'),
                "{attribute}{target} leaves the file"
            );
        }
    }
    // One namespace of ids for the page and its several drawings; each marker used exists.
    let ids: Vec<&str> = html
        .split(" id=\"")
        .skip(1)
        .map(|v| v.split('"').next().unwrap())
        .collect();
    let unique: std::collections::BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "repeated ids: {ids:?}");
    assert!(
        ids.iter().filter(|id| id.contains("arrow")).count() >= 4,
        "{ids:?}"
    );
    for used in html.split("url(#").skip(1) {
        let id = used.split(')').next().unwrap();
        assert!(unique.contains(id), "url(#{id}) has no element");
    }
    for section in [
        "id=\"timeline\"",
        "id=\"worst\"",
        "id=\"top-blockers\"",
        "id=\"deadlocks\"",
        "id=\"facts\"",
    ] {
        assert!(html.contains(section), "no {section}");
    }
    assert!(html.contains("shop.payments") && html.contains("shop.reservations"));
    assert!(
        html.contains("fixtures/live/error.log"),
        "the facts name the log"
    );
    assert!(html.contains("lock_order_inversion"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn nothing_to_read_json_and_a_missing_directory_are_refused() {
    let dir = scratch("refused");
    let page = dir.join("r.html");
    let none = lockdiag(&["report", "--out", page.to_str().unwrap()]);
    assert_eq!(none.status.code(), Some(2));
    assert!(
        stderr(&none).contains("give --from DIR"),
        "{}",
        stderr(&none)
    );
    let json = lockdiag(&[
        "--from",
        "fixtures/snapshot/chain.json",
        "report",
        "--format",
        "json",
        "--out",
        page.to_str().unwrap(),
    ]);
    assert_eq!(json.status.code(), Some(2));
    assert!(stderr(&json).contains("html"), "{}", stderr(&json));
    let nowhere = Path::new("/nonexistent-lockdiag-dir/r.html");
    let missing = lockdiag(&[
        "--from",
        "fixtures/snapshot/chain.json",
        "report",
        "--out",
        nowhere.to_str().unwrap(),
    ]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("does not exist"),
        "{}",
        stderr(&missing)
    );
    assert!(!page.exists(), "nothing written on a refusal");
    std::fs::remove_dir_all(&dir).unwrap();
}
