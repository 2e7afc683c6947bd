//! A real Prometheus (Debian's `prometheus`, started here on a private port) scraping two
//! throwaway MariaDB servers through `lockdiag serve`'s `/probe` with mysqld_exporter's
//! relabelling (issue 21): a pile-up on one server shows in
//! `sum by (instance) (lockdiag_waiting_sessions)` for that instance only; a SIGSTOPped
//! server turns `lockdiag_up 0` while the exporter still answers in time, and the other
//! server's scrapes keep their interval.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::ctx::Ctx;
use crate::serve::{http_get, Exporter};
use crate::server::{free_port, Server};

/// A Prometheus process, killed when dropped.
struct Prometheus {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends SIGCONT to a stopped server when dropped (also when the test fails).
struct Resume<'a>(&'a Server);

impl Drop for Resume<'_> {
    fn drop(&mut self) {
        self.0.signal("CONT");
    }
}

fn prometheus_binary() -> Option<&'static str> {
    if std::path::Path::new("/usr/bin/prometheus").exists() {
        return Some("/usr/bin/prometheus");
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "prometheus is not installed (Debian: prometheus)"
    );
    eprintln!("SKIPPED: prometheus is not installed: no scrape by a real Prometheus is tested");
    None
}

fn start_prometheus(
    binary: &str,
    dir: &std::path::Path,
    exporter: SocketAddr,
    targets: &[String],
) -> Prometheus {
    std::fs::create_dir_all(dir).unwrap();
    let list: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
    let config = format!(
        "global:\n  scrape_interval: 2s\n  scrape_timeout: 2s\n\
         scrape_configs:\n\
         \x20 - job_name: mysql\n\
         \x20   metrics_path: /probe\n\
         \x20   params:\n      auth_module: [diag]\n\
         \x20   static_configs:\n      - targets: [{}]\n\
         \x20   relabel_configs:\n\
         \x20     - source_labels: [__address__]\n        target_label: __param_target\n\
         \x20     - source_labels: [__param_target]\n        target_label: instance\n\
         \x20     - target_label: __address__\n        replacement: '{exporter}'\n",
        list.join(", ")
    );
    let config_path = dir.join("prometheus.yml");
    std::fs::write(&config_path, config).unwrap();
    let port = free_port().unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let child = Command::new(binary)
        .arg(format!("--config.file={}", config_path.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address={addr}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
        .spawn()
        .expect("start prometheus");
    let prometheus = Prometheus { child, addr };
    wait_until(Duration::from_secs(30), "prometheus ready", || {
        std::net::TcpStream::connect(addr).is_ok() && http_get(addr, "/-/ready", &[]).0 == 200
    });
    prometheus
}

fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// An instant query through Prometheus's HTTP API: (instance label, value) per series.
fn query(prometheus: &Prometheus, promql: &str) -> Vec<(String, f64)> {
    let encoded: String = promql
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let (status, body) = http_get(
        prometheus.addr,
        &format!("/api/v1/query?query={encoded}"),
        &[],
    );
    assert_eq!(status, 200, "{promql}: {body}");
    let doc: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    doc["data"]["result"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let instance = r["metric"]["instance"].as_str().unwrap_or("").to_string();
            let value = r["value"][1]
                .as_str()
                .and_then(|v| v.parse().ok())
                .unwrap_or(f64::NAN);
            (instance, value)
        })
        .collect()
}

fn value_of(series: &[(String, f64)], instance: &str) -> Option<f64> {
    series.iter().find(|(i, _)| i == instance).map(|(_, v)| *v)
}

/// The `diag` account of tests/live/schema.sql, on a server started without that schema.
fn add_diag_account(server: &Server) {
    let out = crate::server::client(
        &server.socket(),
        "CREATE USER 'diag'@'%' IDENTIFIED BY 'S3cret-diag-pw'; GRANT PROCESS ON *.* TO 'diag'@'%'; GRANT SELECT ON performance_schema.* TO 'diag'@'%'",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn a_real_prometheus_sees_the_pile_up_on_one_instance(ctx: &Ctx) {
    let Some(binary) = prometheus_binary() else {
        return;
    };
    let quiet = Server::start_named("-quiet").expect("a second throwaway MariaDB");
    add_diag_account(&quiet);
    let cnf = ctx.server.dir.join("prometheus-exporter.cnf");
    std::fs::write(&cnf, "[client.diag]\nuser=diag\npassword=S3cret-diag-pw\n").unwrap();
    let exporter = Exporter::start(ctx, &["--config-my-cnf", cnf.to_str().unwrap()]);
    let busy_target = format!("127.0.0.1:{}", ctx.server.port);
    let quiet_target = format!("127.0.0.1:{}", quiet.port);
    let prometheus = start_prometheus(
        binary,
        &ctx.server.dir.join("prometheus"),
        exporter.addr,
        &[busy_target.clone(), quiet_target.clone()],
    );

    let ids = crate::serve::pile_up(ctx);
    let waiting = "sum by (instance) (lockdiag_waiting_sessions)";
    wait_until(Duration::from_secs(30), "the pile-up in Prometheus", || {
        let series = query(&prometheus, waiting);
        value_of(&series, &busy_target).is_some_and(|v| v >= 2.0)
            && value_of(&series, &quiet_target) == Some(0.0)
    });
    let idle_roots = query(
        &prometheus,
        "lockdiag_root_blockers{state=\"idle_in_transaction\"}",
    );
    assert_eq!(
        value_of(&idle_roots, &busy_target),
        Some(1.0),
        "{idle_roots:?}"
    );
    assert_eq!(
        value_of(&idle_roots, &quiet_target),
        Some(0.0),
        "{idle_roots:?}"
    );
    ctx.kill(&ids);

    // The quiet server stalls: its probes answer `lockdiag_up 0` in time (Prometheus's own
    // `up` stays 1: the exporter answered), and the busy server is scraped every 2 s still.
    quiet.signal("STOP");
    let _resume = Resume(&quiet);
    let stopped = Instant::now();
    wait_until(
        Duration::from_secs(20),
        "lockdiag_up 0 for the stalled server",
        || value_of(&query(&prometheus, "lockdiag_up"), &quiet_target) == Some(0.0),
    );
    let noticed = stopped.elapsed();
    std::thread::sleep(Duration::from_secs(8));
    let up = query(&prometheus, "up{job=\"mysql\"}");
    assert_eq!(
        value_of(&up, &quiet_target),
        Some(1.0),
        "the exporter answered: {up:?}"
    );
    let slowest = query(
        &prometheus,
        "max_over_time(scrape_duration_seconds{job=\"mysql\"}[8s])",
    );
    assert!(
        value_of(&slowest, &quiet_target).is_some_and(|s| s < 2.0),
        "a stalled target's scrape took too long: {slowest:?}"
    );
    assert!(
        value_of(&slowest, &busy_target).is_some_and(|s| s < 1.0),
        "the other target's scrapes slowed: {slowest:?}"
    );
    let samples = query(
        &prometheus,
        "count_over_time(lockdiag_up{job=\"mysql\"}[8s])",
    );
    assert!(
        value_of(&samples, &busy_target).is_some_and(|n| n >= 3.0),
        "the other target's scrapes kept their 2 s interval: {samples:?}"
    );
    eprintln!("prometheus: the stalled server was lockdiag_up 0 after {noticed:?}");
    drop(prometheus);
    drop(exporter);
}
