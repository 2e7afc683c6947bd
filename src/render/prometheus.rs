//! The lock picture as Prometheus metrics ([`crate::analyze::metrics`]), encoded by the
//! `prometheus-client` crate: OpenMetrics for `serve`'s scrapes, the Prometheus text format
//! for node_exporter's textfile collector (`snapshot --format prometheus`), the same names. A figure lockdiag could not read has no series (unknown is not 0).

use std::borrow::Cow;
use std::sync::atomic::AtomicU64;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::analyze::metrics::{lock_figures, ByLock, LockFigures};
use crate::analyze::views::SnapshotView;

use super::{Format, Renderer, TableStyle, View, ViewKind};

/// Prometheus text: a snapshot's metrics.
pub struct Prometheus;

impl Renderer for Prometheus {
    fn format(&self) -> Format {
        Format::Prometheus
    }

    fn prints(&self, view: ViewKind) -> bool {
        view == ViewKind::Snapshot
    }

    fn render(&self, view: &View, _style: &TableStyle) -> Option<String> {
        match view {
            View::Snapshot(v) => Some(snapshot(v)),
            _ => None,
        }
    }
}

type Labels = Vec<(&'static str, String)>;

/// Registers gauge `name` with one series per label set given; nothing when empty.
fn gauges(registry: &mut Registry, name: &str, help: &str, series: Vec<(Labels, i64)>) {
    if let [(labels, value)] = series.as_slice() {
        if labels.is_empty() {
            // A plain gauge: a family with no labels would print `name{} v`.
            let gauge = Gauge::<i64>::default();
            gauge.set(*value);
            registry.register(name, help, gauge);
            return;
        }
    }
    if series.is_empty() {
        return;
    }
    let family = Family::<Labels, Gauge>::default();
    for (labels, value) in series {
        family.get_or_create(&labels).set(value);
    }
    registry.register(name, help, family);
}

fn gauge(registry: &mut Registry, name: &str, help: &str, value: Option<u64>) {
    if let Some(value) = value {
        gauges(registry, name, help, vec![(Vec::new(), clamp(value))]);
    }
}

fn clamp(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn by_lock(registry: &mut Registry, name: &str, help: &str, figures: ByLock) {
    let series = [("row", figures.row), ("metadata", figures.metadata)]
        .into_iter()
        .filter_map(|(lock, v)| Some((vec![("lock", lock.to_string())], clamp(v?))))
        .collect();
    gauges(registry, name, help, series);
}

/// The figures of one collection that reached the server, into `registry`.
fn register_figures(registry: &mut Registry, figures: &LockFigures, duration_secs: Option<f64>) {
    gauges(registry, "lockdiag_up", UP_HELP, vec![(Vec::new(), 1)]);
    if let Some(secs) = duration_secs {
        register_duration(registry, secs);
    }
    let sources = figures
        .sources
        .iter()
        .map(|(source, up)| (vec![("source", source.to_string())], i64::from(*up)))
        .collect();
    gauges(
        registry,
        "lockdiag_source_up",
        "Whether lockdiag read a source whole (1), or not or only in part (0)",
        sources,
    );
    gauge(
        registry,
        "lockdiag_sessions",
        "Sessions in the processlist (lockdiag's own excluded)",
        figures.sessions,
    );
    gauge(
        registry,
        "lockdiag_open_transactions",
        "Open transactions (InnoDB's, and sessions holding a transaction-long metadata lock)",
        figures.open_transactions,
    );
    by_lock(
        registry,
        "lockdiag_waiting_sessions",
        "Sessions waiting for a row lock or a metadata lock",
        figures.waiting_sessions,
    );
    if let Some(roots) = &figures.root_blockers {
        let series = roots
            .iter()
            .map(|(state, n)| (vec![("state", state.to_string())], clamp(*n)))
            .collect();
        gauges(
            registry,
            "lockdiag_root_blockers",
            "Sessions that block others and wait for nobody, by what they are doing",
            series,
        );
    }
    gauge(
        registry,
        "lockdiag_max_sessions_behind_one_root",
        "The most sessions held up, directly or not, by one root blocker",
        figures.max_sessions_behind_one_root,
    );
    by_lock(
        registry,
        "lockdiag_longest_lock_wait_seconds",
        "The longest current lock wait (0 when nobody waits)",
        figures.longest_wait_secs,
    );
    gauge(
        registry,
        "lockdiag_oldest_transaction_seconds",
        "Age of the oldest open InnoDB transaction (0 when none is open)",
        figures.oldest_transaction_secs,
    );
    if let Some(total) = figures.deadlocks_total {
        let counter = Counter::<u64>::default();
        counter.inc_by(total);
        registry.register(
            "lockdiag_deadlocks",
            "Deadlocks InnoDB detected since the server started (its lock_deadlocks counter)",
            counter,
        );
    }
    if let Some(epoch) = figures.latest_deadlock_epoch {
        gauges(
            registry,
            "lockdiag_latest_deadlock_timestamp_seconds",
            "When the latest deadlock was detected (Unix time)",
            vec![(Vec::new(), epoch)],
        );
    }
}

/// `lockdiag_collection_duration_seconds`: how long the collection (or the failed try) took.
pub fn register_duration(registry: &mut Registry, secs: f64) {
    let duration = Gauge::<f64, AtomicU64>::default();
    duration.set(secs);
    registry.register(
        "lockdiag_collection_duration_seconds",
        "How long lockdiag's collection took (or its failed try)",
        duration,
    );
}

/// The exporter's own process, as `act::serve` measured it: start time, CPU seconds and
/// resident bytes (`None` where the platform does not say), and its version.
pub fn register_process(
    registry: &mut Registry,
    start_epoch: f64,
    usage: Option<(f64, f64)>,
    version: &str,
) {
    let float = |registry: &mut Registry, name: &str, help: &str, value: f64| {
        let gauge = Gauge::<f64, AtomicU64>::default();
        gauge.set(value);
        registry.register(name, help, gauge);
    };
    float(
        registry,
        "process_start_time_seconds",
        "Start time of the process since unix epoch in seconds",
        start_epoch,
    );
    if let Some((cpu_secs, resident_bytes)) = usage {
        let cpu = Counter::<f64, AtomicU64>::default();
        cpu.inc_by(cpu_secs);
        registry.register(
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds",
            cpu,
        );
        float(
            registry,
            "process_resident_memory_bytes",
            "Resident memory size in bytes",
            resident_bytes,
        );
    }
    gauges(
        registry,
        "lockdiag_exporter_build_info",
        "The lockdiag version serving (value always 1)",
        vec![(vec![("version", version.to_string())], 1)],
    );
}

const UP_HELP: &str = "Whether lockdiag's last collection reached the server (1) or failed (0)";

/// The text of a registry (OpenMetrics, `# EOF` included).
pub fn encode(registry: &Registry) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail; were it to, the text so far is what there is.
    let _ = prometheus_client::encoding::text::encode(&mut out, registry);
    out
}

/// A registry whose every series carries `server="TARGET"` (a textfile per server).
fn labelled(target: &str) -> Registry {
    Registry::with_labels(std::iter::once((
        Cow::Borrowed("server"),
        Cow::Owned(target.to_string()),
    )))
}

/// What a textfile collector should export when a collection failed: the previous
/// file's gauges would go on looking current.
pub fn collection_failed(target: &str, at_epoch: i64) -> String {
    let mut registry = labelled(target);
    register_down(&mut registry);
    gauges(
        &mut registry,
        "lockdiag_collection_error_timestamp_seconds",
        "When lockdiag last failed to collect (Unix time)",
        vec![(Vec::new(), at_epoch)],
    );
    encode_text(&registry)
}

/// `lockdiag_up 0`: the target could not be read.
pub fn register_down(registry: &mut Registry) {
    gauges(registry, "lockdiag_up", UP_HELP, vec![(Vec::new(), 0)]);
}

/// The Prometheus text format (0.0.4): what node_exporter's textfile collector, promtool
/// and scrapers that do not ask for OpenMetrics read.
pub fn encode_text(registry: &Registry) -> String {
    let mut out = String::new();
    let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, registry);
    out
}

/// The metrics of one snapshot, labelled with its server, for a textfile collector.
pub fn snapshot(view: &SnapshotView) -> String {
    let mut registry = labelled(&view.target);
    register_snapshot(&mut registry, view);
    encode_text(&registry)
}

/// The metrics of one collection that reached the server, into `registry`.
pub fn register_snapshot(registry: &mut Registry, view: &SnapshotView) {
    let figures = lock_figures(view);
    register_figures(registry, &figures, collection_secs(view));
    if let Some(d) = &view.latest_deadlock {
        let labels = vec![
            ("fingerprint", d.analysis.fingerprint.clone()),
            ("kind", d.analysis.diagnosis.kind.as_str().to_string()),
        ];
        gauges(
            registry,
            "lockdiag_latest_deadlock_info",
            "The latest deadlock's shape fingerprint and kind (value always 1)",
            vec![(labels, 1)],
        );
    }
}

/// The collection's duration from its start and end times.
fn collection_secs(view: &SnapshotView) -> Option<f64> {
    let start = chrono::DateTime::parse_from_rfc3339(&view.collected_at_start).ok()?;
    let end = chrono::DateTime::parse_from_rfc3339(&view.collected_at_end).ok()?;
    Some((end - start).num_milliseconds().max(0) as f64 / 1000.0)
}
