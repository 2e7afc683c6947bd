//! The deployment files under `deploy/` checked by the tools that read them: the alerting
//! rules by `promtool test rules` (their unit tests) and `promtool check rules`, the example
//! Prometheus configuration by `promtool check config`, the systemd units by
//! `systemd-analyze verify` (and their exposure by `systemd-analyze security --offline=yes`).
//!
//! promtool comes with Debian's `prometheus` package, systemd-analyze with `systemd`
//! (tools/test.sh installs both). When one is missing the test fails under CI (the CI variable
//! set, whatever its value) and otherwise prints `SKIPPED: …` on stderr — never a silent pass.
//!
//! The units name /usr/bin/lockdiag, which a checkout does not install: they are verified
//! under a temporary root (`--root`) that holds a stub /usr/bin/lockdiag, systemd's own unit
//! files (copied from the host, for the targets the units name) and the units themselves.
//! Man pages are not installed either, hence `--man=no`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The port `lockdiag serve` listens on by default (README "Install as a service").
const DEFAULT_PORT: &str = "10036";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn prometheus_dir() -> PathBuf {
    repo().join("deploy/prometheus")
}

fn systemd_dir() -> PathBuf {
    repo().join("deploy/systemd")
}

/// `name` on PATH, if it is there.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// The tool a test needs; `None` (after saying so on stderr) when it is absent outside CI.
/// Written to stderr directly: libtest captures `eprintln!` of a passing test.
fn require(tool: &str, package: &str, test: &str) -> Option<PathBuf> {
    if let Some(found) = on_path(tool) {
        return Some(found);
    }
    if std::env::var_os("CI").is_some() {
        panic!("{test}: {tool} is not on PATH; install Debian's {package} package (tools/test.sh does)");
    }
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: deploy::{test}: {tool} is not on PATH (Debian package {package}; bash tools/test.sh installs it, and CI fails without it)"
    );
    None
}

fn run(program: &Path, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()))
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A directory removed when the test ends, whatever its outcome.
struct TempDir(PathBuf);

impl TempDir {
    fn new(purpose: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let dir = std::env::temp_dir().join(format!(
            "lockdiag-deploy-{purpose}-{}-{nanos}",
            std::process::id()
        ));
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

// --- Prometheus --------------------------------------------------------------------------

#[test]
fn alert_rule_unit_tests_pass() {
    let Some(promtool) = require("promtool", "prometheus", "alert_rule_unit_tests_pass") else {
        return;
    };
    let tests = prometheus_dir().join("lockdiag-rules.test.yml");
    let output = run(&promtool, &["test", "rules", tests.to_str().unwrap()]);
    assert!(
        output.status.success(),
        "promtool test rules failed:\n{}",
        text(&output)
    );
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("SUCCESS"),
        "promtool test rules did not say SUCCESS:\n{}",
        text(&output)
    );
}

/// The rule tests can fail: one expected summary changed makes promtool say so.
#[test]
fn alert_rule_unit_tests_catch_a_wrong_expectation() {
    let Some(promtool) = require(
        "promtool",
        "prometheus",
        "alert_rule_unit_tests_catch_a_wrong_expectation",
    ) else {
        return;
    };
    let dir = TempDir::new("rules");
    fs::copy(
        prometheus_dir().join("lockdiag-rules.yml"),
        dir.0.join("lockdiag-rules.yml"),
    )
    .unwrap();
    let tests = fs::read_to_string(prometheus_dir().join("lockdiag-rules.test.yml")).unwrap();
    let expected = "summary: \"lockdiag cannot read db1:3306\"";
    assert!(
        tests.contains(expected),
        "the rule tests no longer expect {expected}"
    );
    let broken = tests.replace(expected, "summary: \"lockdiag cannot read db9:3306\"");
    let broken_path = dir.0.join("broken.test.yml");
    fs::write(&broken_path, broken).unwrap();
    let output = run(&promtool, &["test", "rules", broken_path.to_str().unwrap()]);
    assert!(
        !output.status.success(),
        "a wrong expectation passed:\n{}",
        text(&output)
    );
    assert!(
        text(&output).contains("alertname: LockdiagServerUnreachable"),
        "promtool failed for another reason:\n{}",
        text(&output)
    );
}

#[test]
fn alert_rules_are_valid() {
    let Some(promtool) = require("promtool", "prometheus", "alert_rules_are_valid") else {
        return;
    };
    let rules = prometheus_dir().join("lockdiag-rules.yml");
    let output = run(&promtool, &["check", "rules", rules.to_str().unwrap()]);
    assert!(
        output.status.success(),
        "promtool check rules failed:\n{}",
        text(&output)
    );
}

#[test]
fn example_prometheus_config_is_valid() {
    let Some(promtool) = require(
        "promtool",
        "prometheus",
        "example_prometheus_config_is_valid",
    ) else {
        return;
    };
    let config = prometheus_dir().join("prometheus.example.yml");
    let output = run(&promtool, &["check", "config", config.to_str().unwrap()]);
    assert!(
        output.status.success(),
        "promtool check config failed:\n{}",
        text(&output)
    );
    // The rule file is found (relative to the configuration), not silently absent.
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("1 rule files found"),
        "the example configuration's rule_files did not load:\n{}",
        text(&output)
    );
}

/// Every alert is tested firing (some `exp_labels`) and silent (`exp_alerts: []`). Read from
/// the files' text: no YAML parser needed for lines this regular.
#[test]
fn every_alert_is_tested_firing_and_silent() {
    let rules = fs::read_to_string(prometheus_dir().join("lockdiag-rules.yml")).unwrap();
    let tests = fs::read_to_string(prometheus_dir().join("lockdiag-rules.test.yml")).unwrap();
    let alerts: Vec<&str> = rules
        .lines()
        .filter_map(|line| line.trim().strip_prefix("- alert: "))
        .collect();
    assert!(alerts.len() >= 6, "alerts found: {alerts:?}");
    let lines: Vec<&str> = tests.lines().map(str::trim).collect();
    for alert in alerts {
        let mut fires = false;
        let mut silent = false;
        for (at, line) in lines.iter().enumerate() {
            if line.strip_prefix("alertname: ") != Some(alert) {
                continue;
            }
            match lines.get(at + 1) {
                Some(&"exp_alerts: []") => silent = true,
                Some(&"exp_alerts:") => fires = true,
                other => panic!("{alert}: unexpected line after alertname: {other:?}"),
            }
        }
        assert!(fires, "{alert} is never tested firing");
        assert!(silent, "{alert} is never tested silent");
    }
}

/// The port is the same in the example configuration and the serve unit.
#[test]
fn default_port_agrees() {
    let config = fs::read_to_string(prometheus_dir().join("prometheus.example.yml")).unwrap();
    let unit = fs::read_to_string(systemd_dir().join("lockdiag-serve.service")).unwrap();
    let address = format!("127.0.0.1:{DEFAULT_PORT}");
    assert!(
        config.contains(&format!("replacement: {address}")),
        "probe job"
    );
    assert!(config.contains(&format!("- {address}")), "exporter job");
    assert!(unit.contains(&format!("--listen {address}")), "serve unit");
}

// --- systemd -----------------------------------------------------------------------------

const UNITS: [&str; 2] = ["lockdiag-serve.service", "lockdiag-record@.service"];

/// What `systemd-analyze verify` is asked about: the serve unit and an instance of the
/// recorder template.
const VERIFIED: [&str; 2] = ["lockdiag-serve.service", "lockdiag-record@db1.service"];

/// systemd's own unit directory on this host (the targets our units name).
fn host_unit_dir() -> PathBuf {
    ["/usr/lib/systemd/system", "/lib/systemd/system"]
        .iter()
        .map(PathBuf::from)
        .find(|dir| dir.join("multi-user.target").exists())
        .expect(
            "systemd-analyze is installed but no systemd unit directory holds multi-user.target",
        )
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let kind = entry.file_type().unwrap();
        let target = to.join(entry.file_name());
        if kind.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(entry.path()).unwrap(), &target).unwrap();
        } else if kind.is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A root for `--root`: a stub /usr/bin/lockdiag, systemd's units, and ours (from `units`,
/// file name → text) in /etc/systemd/system.
fn unit_root(units: &[(&str, String)]) -> TempDir {
    use std::os::unix::fs::PermissionsExt;
    let root = TempDir::new("systemd");
    let bin = root.0.join("usr/bin");
    fs::create_dir_all(&bin).unwrap();
    let stub = bin.join("lockdiag");
    fs::write(&stub, "#!/bin/sh\nexit 0\n").unwrap();
    fs::set_permissions(&stub, fs::Permissions::from_mode(0o755)).unwrap();
    copy_tree(&host_unit_dir(), &root.0.join("usr/lib/systemd/system"));
    let ours = root.0.join("etc/systemd/system");
    fs::create_dir_all(&ours).unwrap();
    for (name, text) in units {
        fs::write(ours.join(name), text).unwrap();
    }
    root
}

fn our_units() -> Vec<(&'static str, String)> {
    UNITS
        .iter()
        .map(|name| (*name, fs::read_to_string(systemd_dir().join(name)).unwrap()))
        .collect()
}

fn verify(analyze: &Path, root: &TempDir, unit: &str) -> Output {
    let root_arg = format!("--root={}", root.0.display());
    let path = format!("/etc/systemd/system/{unit}");
    run(analyze, &["verify", "--man=no", &root_arg, &path])
}

/// `systemd-analyze verify` exits 0 on an unknown or misspelled setting (it only warns), so
/// any output at all fails the test.
#[test]
fn systemd_units_verify() {
    let Some(analyze) = require("systemd-analyze", "systemd", "systemd_units_verify") else {
        return;
    };
    let root = unit_root(&our_units());
    for unit in VERIFIED {
        let output = verify(&analyze, &root, unit);
        assert!(
            output.status.success() && output.stdout.is_empty() && output.stderr.is_empty(),
            "systemd-analyze verify {unit}:\n{}",
            text(&output)
        );
    }
}

/// The verification can fail: a misspelled hardening setting is reported, and so is a
/// missing binary.
#[test]
fn systemd_verify_catches_mistakes() {
    let Some(analyze) = require(
        "systemd-analyze",
        "systemd",
        "systemd_verify_catches_mistakes",
    ) else {
        return;
    };
    let mut units = our_units();
    units[1].1 = units[1]
        .1
        .replace("\nProtectHome=yes\n", "\nProtectHom=yes\n");
    let root = unit_root(&units);
    let output = verify(&analyze, &root, VERIFIED[1]);
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("ProtectHom"),
        "a misspelled setting went unreported:\n{}",
        text(&output)
    );
    fs::remove_file(root.0.join("usr/bin/lockdiag")).unwrap();
    let output = verify(&analyze, &root, VERIFIED[0]);
    assert!(
        !output.status.success(),
        "a missing /usr/bin/lockdiag went unreported:\n{}",
        text(&output)
    );
}

/// `systemd-analyze security --offline=yes`: each unit's exposure at most 1.5 of 10 (1.1 when
/// written: what is left open is the network the service exists to use).
#[test]
fn systemd_units_exposure_is_low() {
    let Some(analyze) = require(
        "systemd-analyze",
        "systemd",
        "systemd_units_exposure_is_low",
    ) else {
        return;
    };
    let root = unit_root(&our_units());
    let root_arg = format!("--root={}", root.0.display());
    for unit in VERIFIED {
        let path = format!("/etc/systemd/system/{unit}");
        let output = run(
            &analyze,
            &[
                "security",
                "--offline=yes",
                "--threshold=15",
                &root_arg,
                &path,
            ],
        );
        assert!(
            output.status.success(),
            "systemd-analyze security {unit} is above 1.5:\n{}",
            text(&output)
        );
    }
}
