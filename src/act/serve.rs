//! `lockdiag serve`: a Prometheus exporter. `/metrics` collects the configured server,
//! `/probe?target=…&auth_module=…` any server (mysqld_exporter's multi-target pattern, so
//! the same relabelling works), `/-/healthy` answers at once. Each scrape ends within
//! Prometheus's own timeout (its `X-Prometheus-Scrape-Timeout-Seconds` header, minus a
//! margin): a dead or stalled server answers `lockdiag_up 0`, never a hang, and never
//! delays another target. Scrapes of one target that overlap share one collection.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prometheus_client::registry::Registry;
use tokio::sync::Semaphore;

use crate::analyze::views::SnapshotView;
use crate::parse::hosts_file::{parse_target, TargetAddress};
use crate::render::prometheus;
use crate::source::connect::ConnectionConfig;
use crate::source::server::Server;

use super::record::take_snapshot;

/// What `serve` is asked to do.
#[derive(Debug, Clone)]
pub struct ServeJob {
    pub listen: SocketAddr,
    /// The server `/metrics` collects (the connection options as everywhere).
    pub default_server: ConnectionConfig,
    /// `[client]` / `[client.NAME]` groups of `--config-my-cnf`: credentials per
    /// `auth_module` for `/probe` (`client` when none is given).
    pub auth_modules: HashMap<String, ConnectionConfig>,
    /// Targets collected at once; a scrape beyond it waits (within its deadline).
    pub max_parallel: usize,
    /// The deadline when a scrape does not say its own.
    pub default_timeout: Duration,
    /// Lock groups read at most per collection (the server aggregates the rest).
    pub lock_groups: u64,
}

/// Taken off Prometheus's timeout: the answer has to travel back too.
const TIMEOUT_MARGIN: Duration = Duration::from_millis(500);
/// The shortest deadline a scrape gets, whatever its header says.
const MIN_DEADLINE: Duration = Duration::from_millis(500);
/// The longest: a header from anyone who can reach the port must not hold a target's slot
/// (and a collection permit) for ever.
const MAX_DEADLINE: Duration = Duration::from_secs(120);

/// What one scrape of a target found.
#[derive(Clone)]
enum Outcome {
    /// The collection, kept whole: each answer is encoded in the format its scraper asked for.
    Read(Arc<SnapshotView>),
    /// Not read (the reason is logged), and how long finding that out took.
    Down(Duration),
}

/// The latest collection of one target: reused by scrapes that waited for it.
struct Collected {
    finished: Instant,
    outcome: Outcome,
}

/// One target's in-flight guard, finished collection and open handle.
struct TargetSlot {
    latest: tokio::sync::Mutex<Option<Collected>>,
    server: tokio::sync::Mutex<Option<Server>>,
    /// When a scrape last asked for it: slots idle longer than [`SLOT_IDLE`] are dropped
    /// with their connection (a target that left the scrape config, or a stray request).
    last_used: Mutex<Instant>,
}

/// How long a target's slot (and its open connection) outlives its last scrape.
const SLOT_IDLE: Duration = Duration::from_secs(600);
/// Distinct targets kept at once: `/probe` takes any target from anyone who reaches the
/// port, and each keeps a connection open.
const MAX_SLOTS: usize = 1000;

struct Exporter {
    job: ServeJob,
    slots: Mutex<HashMap<String, Arc<TargetSlot>>>,
    /// `--max-parallel` collections at once of targets that answered their last one
    /// (or are new), and as many again of targets whose last one failed: a stalled or
    /// dead target holds a permit until its scrape's deadline, and that must not make
    /// the targets that answer wait behind it.
    permits: Permits,
    started: std::time::SystemTime,
}

struct Permits {
    answering: Semaphore,
    failing: Semaphore,
}

impl Permits {
    fn new(max_parallel: usize) -> Self {
        Permits {
            answering: Semaphore::new(max_parallel.max(1)),
            failing: Semaphore::new(max_parallel.max(1)),
        }
    }

    /// The pool for a target whose latest collection was `latest`.
    fn for_target(&self, latest: Option<&Collected>) -> &Semaphore {
        match latest.map(|c| &c.outcome) {
            Some(Outcome::Down(_)) => &self.failing,
            _ => &self.answering,
        }
    }
}

/// Runs the exporter until SIGTERM or Ctrl-C; in-flight scrapes finish first.
pub async fn serve(job: ServeJob, log: &(dyn Fn(&str) + Sync)) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(job.listen)
        .await
        .with_context(|| format!("cannot listen on {}", job.listen))?;
    log(&format!(
        "serving /metrics ({}), /probe and /-/healthy on http://{}",
        job.default_server.address(),
        listener.local_addr().unwrap_or(job.listen)
    ));
    let exporter = Arc::new(Exporter {
        permits: Permits::new(job.max_parallel),
        job,
        slots: Mutex::new(HashMap::new()),
        started: std::time::SystemTime::now(),
    });
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/probe", get(probe))
        .route("/-/healthy", get(|| async { "OK\n" }))
        .with_state(exporter);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await
        .context("the HTTP server failed")?;
    log("stopped");
    Ok(())
}

async fn shutdown() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}

/// The deadline of one scrape: Prometheus's timeout minus a margin, else the default.
fn deadline(headers: &HeaderMap, default: Duration) -> Duration {
    headers
        .get("x-prometheus-scrape-timeout-seconds")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .filter(|d| !d.is_zero())
        .map(|d| d.saturating_sub(TIMEOUT_MARGIN).min(MAX_DEADLINE))
        .unwrap_or(default)
        .max(MIN_DEADLINE)
}

/// The exposition of `registry` in the format the scraper accepts: OpenMetrics when its
/// `Accept` names it (Prometheus does), else the Prometheus text format (curl, promtool).
fn exposition(headers: &HeaderMap, registry: &Registry) -> Response {
    let openmetrics = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/openmetrics-text"));
    let (content_type, text) = if openmetrics {
        (
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            prometheus::encode(registry),
        )
    } else {
        (
            "text/plain; version=0.0.4; charset=utf-8",
            prometheus::encode_text(registry),
        )
    };
    ([(header::CONTENT_TYPE, content_type)], text).into_response()
}

/// The registry of one outcome: the collection's figures, or `lockdiag_up 0`.
fn registry_of(outcome: &Outcome) -> Registry {
    let mut registry = Registry::default();
    match outcome {
        Outcome::Read(view) => prometheus::register_snapshot(&mut registry, view),
        Outcome::Down(took) => {
            prometheus::register_down(&mut registry);
            prometheus::register_duration(&mut registry, took.as_secs_f64());
        }
    }
    registry
}

async fn metrics(State(exporter): State<Arc<Exporter>>, headers: HeaderMap) -> Response {
    let limit = deadline(&headers, exporter.job.default_timeout);
    let config = exporter.job.default_server.clone();
    let outcome = exporter.scrape("default", &config, limit).await;
    let mut registry = registry_of(&outcome);
    // The exporter's own figures beside the server's, in one exposition.
    let start = exporter
        .started
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    prometheus::register_process(&mut registry, start, own_usage(), env!("CARGO_PKG_VERSION"));
    exposition(&headers, &registry)
}

#[derive(serde::Deserialize)]
struct ProbeQuery {
    target: Option<String>,
    auth_module: Option<String>,
}

async fn probe(
    State(exporter): State<Arc<Exporter>>,
    headers: HeaderMap,
    Query(query): Query<ProbeQuery>,
) -> Response {
    let Some(target) = query.target.filter(|t| !t.trim().is_empty()) else {
        return (StatusCode::BAD_REQUEST, "the target parameter is missing\n").into_response();
    };
    let limit = deadline(&headers, exporter.job.default_timeout);
    let module = query.auth_module.unwrap_or_else(|| "client".into());
    let outcome = match exporter.probe_config(&target, &module) {
        Ok(config) => exporter.scrape(&module, &config, limit).await,
        Err(why) => {
            eprintln!("lockdiag serve: probe {target:?}: {why}");
            Outcome::Down(Duration::ZERO)
        }
    };
    exposition(&headers, &registry_of(&outcome))
}

/// CPU seconds and resident bytes of this process, from /proc/self (Linux); `None` elsewhere.
fn own_usage() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces and parentheses).
    let after = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the name.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let resident_kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    // Clock ticks: USER_HZ, 100 on every Linux ABI.
    Some((ticks / 100.0, resident_kb * 1024.0))
}

impl Exporter {
    /// The connection for a probe: the module's credentials, the target's address.
    fn probe_config(&self, target: &str, module: &str) -> Result<ConnectionConfig, String> {
        let mut config = self.job.auth_modules.get(module).cloned().ok_or_else(|| {
            format!("unknown auth_module {module:?}: no [client.{module}] group in --config-my-cnf")
        })?;
        match parse_target(target)? {
            TargetAddress::Tcp { host, port } => {
                config.host = Some(host);
                config.port = Some(port.unwrap_or(3306));
                config.socket = None;
            }
            TargetAddress::Socket(path) => {
                config.host = None;
                config.socket = Some(path.into());
            }
        }
        config.connect_timeout = self.job.default_server.connect_timeout;
        config.query_timeout = self.job.default_server.query_timeout;
        Ok(config)
    }

    /// The slot of `key`, made when new; `None` when [`MAX_SLOTS`] targets are kept
    /// already (after dropping those idle for [`SLOT_IDLE`] that no scrape holds).
    fn slot(&self, key: &str) -> Option<Arc<TargetSlot>> {
        let now = Instant::now();
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        let idle = |slot: &Arc<TargetSlot>| {
            let last = *slot.last_used.lock().unwrap_or_else(|e| e.into_inner());
            Arc::strong_count(slot) == 1 && now.duration_since(last) > SLOT_IDLE
        };
        slots.retain(|_, slot| !idle(slot));
        if !slots.contains_key(key) && slots.len() >= MAX_SLOTS {
            return None;
        }
        let slot = slots
            .entry(key.to_string())
            .or_insert_with(|| {
                Arc::new(TargetSlot {
                    latest: tokio::sync::Mutex::new(None),
                    server: tokio::sync::Mutex::new(None),
                    last_used: Mutex::new(now),
                })
            })
            .clone();
        *slot.last_used.lock().unwrap_or_else(|e| e.into_inner()) = now;
        Some(slot)
    }

    /// One target's exposition within `limit`: a collection finished after this scrape
    /// began is shared; a target that cannot be read in time answers `lockdiag_up 0`.
    async fn scrape(&self, module: &str, config: &ConnectionConfig, limit: Duration) -> Outcome {
        let asked = Instant::now();
        // One slot per account and address: two modules never share an open handle.
        let key = format!("{module}|{}", config.address());
        let Some(slot) = self.slot(&key) else {
            eprintln!(
                "lockdiag serve: {}: not collected: {MAX_SLOTS} distinct targets are kept already",
                config.address()
            );
            return Outcome::Down(Duration::ZERO);
        };
        let outcome = tokio::time::timeout(limit, async {
            let mut latest = slot.latest.lock().await;
            if let Some(done) = latest.as_ref().filter(|d| d.finished >= asked) {
                return Ok(done.outcome.clone());
            }
            let _permit = self
                .permits
                .for_target(latest.as_ref())
                .acquire()
                .await
                .map_err(|_| anyhow::anyhow!("the exporter is stopping"))?;
            let outcome = match self.collect(&slot, config).await {
                Ok(view) => Outcome::Read(Arc::new(view)),
                Err(e) => {
                    eprintln!(
                        "lockdiag serve: {}: {}",
                        config.address(),
                        crate::render::text::error_chain(&e)
                    );
                    Outcome::Down(asked.elapsed())
                }
            };
            // Shared with the scrapes that queued behind this one, a failure too.
            *latest = Some(Collected {
                finished: Instant::now(),
                outcome: outcome.clone(),
            });
            Ok::<_, anyhow::Error>(outcome)
        })
        .await;
        match outcome {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(e)) => {
                eprintln!("lockdiag serve: {}: {e}", config.address());
                Outcome::Down(asked.elapsed())
            }
            Err(_) => {
                // The collection was dropped with its handle (see `collect`): the next
                // scrape connects anew rather than trust a connection that stalled.
                eprintln!(
                    "lockdiag serve: {}: no answer within {limit:?} (the scrape's deadline); its connection is closed",
                    config.address()
                );
                let down = Outcome::Down(asked.elapsed());
                // Remembered as failing: its next collections take the failing targets'
                // permits. Never waited for: another scrape collecting now records its own.
                if let Ok(mut latest) = slot.latest.try_lock() {
                    *latest = Some(Collected {
                        finished: Instant::now(),
                        outcome: down.clone(),
                    });
                }
                down
            }
        }
    }

    /// Connects when needed and collects. The handle is taken out of the slot for the
    /// collection and put back only after it succeeded: a collection cancelled at the
    /// deadline drops it, so a stalled connection is never handed to the next scrape.
    async fn collect(&self, slot: &TargetSlot, config: &ConnectionConfig) -> Result<SnapshotView> {
        let kept = slot.server.lock().await.take();
        let server = match kept {
            Some(server) => server,
            None => Server::open(config).await?,
        };
        let started = chrono::Utc::now();
        let view = take_snapshot(&server, self.job.lock_groups, true, started, None).await;
        if view
            .state
            .sources
            .iter()
            .all(|s| s.status == crate::model::SourceState::Unavailable)
        {
            // Nothing could be read: the connection is likely gone; reopen next time.
            server.close().await;
            anyhow::bail!("no source could be read");
        }
        *slot.server.lock().await = Some(server);
        Ok(view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_as_mysqld_exporter_takes_them() {
        let tcp = |host: &str, port| {
            Ok(TargetAddress::Tcp {
                host: host.into(),
                port,
            })
        };
        assert_eq!(parse_target("db1:3307"), tcp("db1", Some(3307)));
        assert_eq!(parse_target("db1"), tcp("db1", None));
        assert_eq!(parse_target("[::1]:3306"), tcp("::1", Some(3306)));
        assert_eq!(
            parse_target("/run/mysqld/mysqld.sock"),
            Ok(TargetAddress::Socket("/run/mysqld/mysqld.sock".into()))
        );
        assert!(parse_target("db1:http").is_err());
        assert!(parse_target(":3306").is_err());
        assert!(parse_target("[::1").is_err());
    }

    fn exporter() -> Exporter {
        Exporter {
            job: ServeJob {
                listen: "127.0.0.1:0".parse().unwrap(),
                default_server: ConnectionConfig::default(),
                auth_modules: HashMap::new(),
                max_parallel: 1,
                default_timeout: Duration::from_secs(1),
                lock_groups: 10,
            },
            slots: Mutex::new(HashMap::new()),
            permits: Permits::new(1),
            started: std::time::SystemTime::now(),
        }
    }

    /// Targets are kept up to a cap; one idle past SLOT_IDLE and held by no scrape goes.
    #[test]
    fn target_slots_are_capped_and_idle_ones_dropped() {
        let exporter = exporter();
        for i in 0..MAX_SLOTS {
            assert!(exporter.slot(&format!("t{i}")).is_some());
        }
        assert!(exporter.slot("one-too-many").is_none());
        assert!(
            exporter.slot("t0").is_some(),
            "a known target is still served"
        );
        let held = exporter.slot("t1").unwrap();
        // The monotonic clock starts at boot: it cannot be set back before it on a young host.
        let Some(long_ago) = Instant::now().checked_sub(SLOT_IDLE * 2) else {
            return;
        };
        {
            let slots = exporter.slots.lock().unwrap();
            for slot in slots.values() {
                *slot.last_used.lock().unwrap() = long_ago;
            }
        }
        assert!(exporter.slot("new").is_some(), "idle slots made room");
        let slots = exporter.slots.lock().unwrap();
        assert_eq!(slots.len(), 2, "the held one and the new one");
        assert!(slots.contains_key("t1"));
        drop(held);
    }

    #[test]
    fn the_deadline_follows_prometheus_minus_a_margin() {
        let mut headers = HeaderMap::new();
        let default = Duration::from_secs(10);
        assert_eq!(deadline(&headers, default), default);
        headers.insert("x-prometheus-scrape-timeout-seconds", "5".parse().unwrap());
        assert_eq!(deadline(&headers, default), Duration::from_millis(4500));
        headers.insert(
            "x-prometheus-scrape-timeout-seconds",
            "0.2".parse().unwrap(),
        );
        assert_eq!(deadline(&headers, default), MIN_DEADLINE);
        headers.insert(
            "x-prometheus-scrape-timeout-seconds",
            "NaN".parse().unwrap(),
        );
        assert_eq!(deadline(&headers, default), default);
        // Anyone who reaches the port can send a header: no panic, no endless deadline.
        let header = "x-prometheus-scrape-timeout-seconds";
        headers.insert(header, "1e20".parse().unwrap());
        assert_eq!(deadline(&headers, default), default);
        headers.insert(header, "1e9".parse().unwrap());
        assert_eq!(deadline(&headers, default), MAX_DEADLINE);
        headers.insert(header, "-3".parse().unwrap());
        assert_eq!(deadline(&headers, default), default);
    }
}
