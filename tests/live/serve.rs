//! `lockdiag serve` against the throwaway server (issue 21): `/metrics` and `/probe`
//! show a real pile-up by state, an unknown auth module and a server that never answers
//! give `lockdiag_up 0` within the scrape's deadline, Debian's `promtool` accepts the
//! exposition, and SIGTERM ends it cleanly.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::ctx::Ctx;

/// A running exporter and the address it listens on (from its first log line).
pub struct Exporter {
    child: Child,
    pub addr: SocketAddr,
}

impl Exporter {
    pub fn start(ctx: &Ctx, extra: &[&str]) -> Exporter {
        let mut child = ctx
            .lockdiag_command()
            .args(["--query-timeout", "2s", "serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start lockdiag serve");
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut first = String::new();
        stderr.read_line(&mut first).unwrap();
        let addr = first
            .rsplit("http://")
            .next()
            .and_then(|a| a.trim().parse().ok())
            .unwrap_or_else(|| panic!("no address in {first:?}"));
        // Keep draining its log so it never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = stderr.read_to_string(&mut rest);
            eprint!("{rest}");
        });
        Exporter { child, addr }
    }

    /// `GET path` with extra request headers; (status, body).
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
        http_get(self.addr, path, headers)
    }

    /// SIGTERM, then its exit status.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP/1.1 GET (the exporter is the only server spoken to).
pub fn http_get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    (status, body)
}

/// The body of a `Transfer-Encoding: chunked` response.
fn dechunk(mut rest: &str) -> String {
    let mut body = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || after.len() < size {
            break;
        }
        body.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    body
}

/// The value of the series `name{labels}` (labels as printed), if present.
pub fn series(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name_and_labels)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

/// An idle root blocker (SELECT … FOR UPDATE, then nothing) with two sessions waiting.
pub fn pile_up(ctx: &Ctx) -> Vec<u32> {
    let mut root = ctx.conn();
    ctx.exec(&mut root, "BEGIN");
    ctx.exec(
        &mut root,
        "SELECT * FROM payments WHERE payment_id = 2994 FOR UPDATE",
    );
    let mut ids = vec![root.id()];
    for status in ["A", "B"] {
        let waiter = ctx.conn();
        ids.push(waiter.id());
        let _pending = ctx.spawn(
            waiter,
            &[&format!(
                "UPDATE payments SET status = '{status}' WHERE payment_id = 2994"
            )],
        );
        std::mem::forget(_pending);
    }
    ctx.wait_for_waiters(2);
    // Keep the root's connection open (idle in its transaction) until killed.
    std::mem::forget(root);
    ids
}

pub fn serve_metrics_probe_and_a_stalled_target(ctx: &Ctx) {
    let cnf = ctx.server.dir.join("exporter.cnf");
    std::fs::write(
        &cnf,
        "[client]\nuser=root\n[client.diag]\nuser=diag\npassword=S3cret-diag-pw\n",
    )
    .unwrap();
    let exporter = Exporter::start(ctx, &["--config-my-cnf", cnf.to_str().unwrap()]);
    assert_eq!(exporter.get("/-/healthy", &[]), (200, "OK\n".to_string()));

    let ids = pile_up(ctx);
    let (status, metrics) = exporter.get("/metrics", &[]);
    assert_eq!(status, 200, "{metrics}");
    assert_eq!(series(&metrics, "lockdiag_up"), Some(1.0), "{metrics}");
    assert_eq!(
        series(&metrics, "lockdiag_waiting_sessions{lock=\"row\"}"),
        Some(2.0),
        "{metrics}"
    );
    assert_eq!(
        series(
            &metrics,
            "lockdiag_root_blockers{state=\"idle_in_transaction\"}"
        ),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        series(&metrics, "lockdiag_max_sessions_behind_one_root"),
        Some(2.0)
    );
    assert!(metrics.contains("process_start_time_seconds"), "{metrics}");
    // Without an Accept for it, the Prometheus text format (what promtool reads)…
    assert!(!metrics.contains("# EOF"), "{metrics}");
    promtool_accepts(&metrics);
    // …and OpenMetrics, as Prometheus asks for it: one exposition, one `# EOF`.
    let accept = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5";
    let (_, open) = exporter.get("/metrics", &[("Accept", accept)]);
    assert!(open.trim_end().ends_with("# EOF"), "{open}");
    assert_eq!(open.matches("# EOF").count(), 1, "{open}");
    assert!(open.contains("lockdiag_deadlocks_total "), "{open}");

    // Through /probe over TCP with the [client.diag] account (PROCESS, no SUPER).
    let target = format!(
        "/probe?target=127.0.0.1:{}&auth_module=diag",
        ctx.server.port
    );
    let (status, probed) = exporter.get(&target, &[]);
    assert_eq!(status, 200);
    assert_eq!(series(&probed, "lockdiag_up"), Some(1.0), "{probed}");
    assert_eq!(
        series(&probed, "lockdiag_waiting_sessions{lock=\"row\"}"),
        Some(2.0),
        "{probed}"
    );
    ctx.kill(&ids);

    // An unknown module: down at once, the reason in the log.
    let (_, unknown) = exporter.get("/probe?target=127.0.0.1:1&auth_module=nope", &[]);
    assert_eq!(series(&unknown, "lockdiag_up"), Some(0.0), "{unknown}");
    assert!(unknown.contains("lockdiag_up 0"));

    // A server that accepts TCP and never says a word (as a SIGSTOPped mysqld): down
    // within the 2 s Prometheus gives the scrape.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_target = format!("/probe?target={}", silent.local_addr().unwrap());
    let started = Instant::now();
    let (status, stalled) = exporter.get(
        &silent_target,
        &[("X-Prometheus-Scrape-Timeout-Seconds", "2")],
    );
    let took = started.elapsed();
    assert_eq!(status, 200);
    assert_eq!(series(&stalled, "lockdiag_up"), Some(0.0), "{stalled}");
    assert!(
        took < Duration::from_millis(2000),
        "answered after {took:?}"
    );
    drop(silent);

    let status = exporter.stop();
    assert!(status.success(), "SIGTERM: {status:?}");
}

/// `promtool check metrics` (Debian's prometheus package) reads the exposition; absent
/// outside CI it is said, absent in CI it fails.
pub fn promtool_accepts(text: &str) {
    let Ok(mut child) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        assert!(
            std::env::var_os("CI").is_none(),
            "promtool is not installed (Debian: prometheus)"
        );
        eprintln!("SKIPPED: promtool is not installed: the exposition is NOT checked by promtool");
        return;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A burst of scrapes with `--max-parallel 1`: two stalled targets (TCP accepted, never a
/// word) and the live server, all at once, each with a 2 s deadline. Once the stalled ones
/// have failed a scrape, they wait among themselves: the live server's scrapes answer at
/// once (`lockdiag_up 1`), overlapping ones sharing a collection; the stalled ones say
/// `lockdiag_up 0` within their deadline.
pub fn a_burst_with_stalled_targets_never_delays_the_answering_one(ctx: &Ctx) {
    let exporter = Exporter::start(ctx, &["--max-parallel", "1"]);
    let silent: Vec<TcpListener> = (0..2)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let probe = |l: &TcpListener| format!("/probe?target={}", l.local_addr().unwrap());
    let deadline = [("X-Prometheus-Scrape-Timeout-Seconds", "2")];
    let (exporter_ref, deadline) = (&exporter, &deadline);
    // First scrapes: the stalled targets fail (and are known to fail from then on).
    std::thread::scope(|scope| {
        for l in &silent {
            let path = probe(l);
            scope.spawn(move || exporter_ref.get(&path, deadline));
        }
    });
    let started = Instant::now();
    let results: Vec<(String, u16, String, Duration)> = std::thread::scope(|scope| {
        let mut paths: Vec<String> = silent.iter().flat_map(|l| [probe(l), probe(l)]).collect();
        paths.extend((0..4).map(|_| "/metrics".to_string()));
        let handles: Vec<_> = paths
            .into_iter()
            .map(|path| {
                scope.spawn(move || {
                    let (status, body) = exporter_ref.get(&path, deadline);
                    (path, status, body, started.elapsed())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (path, status, body, took) in &results {
        assert_eq!(*status, 200, "{path}");
        let up = series(body, "lockdiag_up");
        if path == "/metrics" {
            assert_eq!(up, Some(1.0), "{path} after {took:?}: {body}");
            assert!(
                *took < Duration::from_millis(1500),
                "{path} answered after {took:?}"
            );
        } else {
            assert_eq!(up, Some(0.0), "{path}: {body}");
            assert!(
                *took < Duration::from_millis(2500),
                "{path} answered after {took:?}"
            );
        }
    }
    drop(silent);
    assert!(exporter.stop().success());
}
