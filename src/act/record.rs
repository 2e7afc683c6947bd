//! `lockdiag record`: a long-running recorder. Every --interval one cheap
//! probe; a full snapshot (as `snapshot --out DIR` writes it) when a trigger
//! fires, paced by --cooldown; every new deadlock appended once to
//! DIR/deadlocks.jsonl. It survives the server going away (reconnects with
//! backoff) and a full disk (reports, keeps the deadlocks not yet written and
//! retries); SIGTERM/SIGINT finish the current write and exit 0. One recorder
//! per directory (a lock file); InnoDB's deadlock counter is held against the
//! deadlocks kept, and a shortfall is said (`deadlocks-missed`).

use std::collections::{HashSet, VecDeque};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::analyze::record::{deadlock_key, deadlock_moment_key, Pacer, SnapshotDue, Triggers};
use crate::analyze::time::timestamp_rfc3339;
use crate::analyze::timeouts::TimeoutReport;
use crate::analyze::views::{lock_waits_read, SnapshotView};
use crate::analyze::{analyze_waits, DeadlockReport};
use crate::model::SourceName;
use crate::parse::LogEntry;
use crate::render::json;
use crate::render::text::error_chain;
use crate::source::connect::ConnectionConfig;
use crate::source::log_follow::LogFollower;
use crate::source::probe::probe;
use crate::source::server::Server;
use crate::source::snapshot_file::{
    append_line, create_private_dir_all, enforce_max_size, lock_directory, output_path, prune,
    repair_partial_line, write_atomically,
};

use super::{consumers, enrich};

/// What `record` is asked to do: the command's flags, resolved.
#[derive(Debug, Clone)]
pub struct RecordJob {
    pub out: PathBuf,
    pub interval: Duration,
    pub triggers: Triggers,
    /// No trigger was given: the lock-wait trigger follows the server's
    /// `innodb_lock_wait_timeout` once connected ([`lock_wait_trigger_for`]).
    pub default_triggers: bool,
    pub deadlocks: bool,
    pub cooldown: Duration,
    pub keep: Option<Duration>,
    pub max_size: Option<u64>,
    pub error_log: Option<PathBuf>,
    pub run_for: Option<Duration>,
    pub json_log: bool,
    pub lock_groups: u64,
    pub no_raw: bool,
    /// Turn the statement-history consumers on for the run, and back off after.
    pub enable_statement_history: bool,
}

/// How a recording ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSummary {
    /// Why it stopped: `--for elapsed`, `interrupted`, `terminated`.
    pub reason: &'static str,
    /// It reached the server at least once.
    pub ever_connected: bool,
    /// Deadlocks read but never written (the disk stayed full).
    pub deadlocks_not_written: usize,
    /// Logged lock wait timeouts read but never written.
    pub lock_wait_timeouts_not_written: usize,
}

/// The lock-wait trigger when none is given: a third of the server's
/// `innodb_lock_wait_timeout` (so a wait is recorded before it fails with 1205), at
/// most 5 s and at least 1 s; 5 s when the timeout is unknown.
pub fn lock_wait_trigger_for(timeout_secs: Option<u64>) -> Duration {
    let default = Duration::from_secs(5);
    timeout_secs.map_or(default, |t| Duration::from_secs((t / 3).clamp(1, 5)))
}

/// One full collection as a snapshot document's body (`snapshot`, and `record` when a
/// trigger fires).
pub async fn take_snapshot(
    server: &Server,
    lock_groups: u64,
    no_raw: bool,
    started: chrono::DateTime<chrono::Utc>,
    trigger: Option<String>,
) -> SnapshotView {
    let mut state = server.collect(Some(lock_groups), true).await;
    let ended = chrono::Utc::now();
    let analysis = lock_waits_read(&state).then(|| analyze_waits(&state));
    let latest_deadlock = DeadlockReport::latest_of_state(&state);
    if no_raw {
        state.innodb_status = None;
    }
    let rfc3339 =
        |at: chrono::DateTime<chrono::Utc>| at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    SnapshotView {
        collected_at_start: rfc3339(started),
        collected_at_end: rfc3339(ended),
        target: server.config().address(),
        state,
        analysis,
        latest_deadlock,
        trigger,
    }
}

/// Longest pause between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Without a deadlock counter, the status text is read every this many probes.
const STATUS_EVERY: u32 = 10;
/// Deadlocks read but not yet written (a full disk) kept in memory at most.
const MAX_PENDING: usize = 10_000;
/// Probes the deadlock counter may stay ahead of the deadlocks kept before the
/// difference is reported missed (an error log is read once its prints are complete).
const MISSED_AFTER_PROBES: u32 = 3;

/// One event line for the caller's sink (stderr): `record: TIME EVENT key=value …` or a JSON object.
pub(super) struct EventLog<'s> {
    json: bool,
    sink: &'s dyn Fn(&str),
}

impl EventLog<'_> {
    pub(super) fn event(&self, event: &str, fields: &[(&str, String)]) {
        let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let line = if self.json {
            let mut object = serde_json::Map::new();
            object.insert("time".into(), time.into());
            object.insert("event".into(), event.into());
            for (k, v) in fields {
                object.insert((*k).into(), v.clone().into());
            }
            serde_json::Value::Object(object).to_string()
        } else {
            let rest: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
            format!("record: {time} {event} {}", rest.join(" "))
        };
        (self.sink)(line.trim_end());
    }
}

/// The deadlocks already in `deadlocks.jsonl` (so none is written twice across
/// restarts), read line by line: the file grows for as long as the recorder runs.
fn known_deadlocks(path: &Path, offset: Option<i64>) -> HashSet<String> {
    let Ok(file) = std::fs::File::open(path) else {
        return HashSet::new();
    };
    std::io::BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .filter_map(|line| serde_json::from_str::<DeadlockReport>(&line).ok())
        .flat_map(|report| {
            [
                deadlock_key(&report, offset),
                deadlock_moment_key(&report, offset),
            ]
        })
        .collect()
}

/// `DIR/lock-wait-timeouts.jsonl` and the timeouts read but not yet written to it.
struct TimeoutLog {
    path: PathBuf,
    /// Retried every probe until written, as deadlocks are; at most [`MAX_PENDING`].
    pending: VecDeque<TimeoutReport>,
    /// Dropped from a full queue (the disk stayed full), said in `stop`.
    dropped: usize,
}

/// A deadlock read and not yet written.
struct PendingDeadlock {
    report: DeadlockReport,
    from: &'static str,
    /// Its [`deadlock_key`], computed once.
    key: String,
}

/// InnoDB's deadlock counter held against the deadlocks kept since the recorder
/// first read it: when the counter stays ahead (a storm between two status reads
/// without `--error-log`), the difference is reported, once.
#[derive(Debug, Default)]
struct DeadlockTally {
    /// The counter at the first probe (again after a restart).
    base: Option<u64>,
    /// Deadlocks written since `base` was read.
    kept: u64,
    /// Deadlocks already reported missed since `base`.
    missed: u64,
    /// Consecutive probes the counter has been ahead.
    behind_for: u32,
}

impl DeadlockTally {
    /// The counter's new reading; returns how many deadlocks to report missed now.
    fn observe(&mut self, counter: u64, pending: u64) -> u64 {
        let Some(base) = self.base.filter(|&b| counter >= b) else {
            // First reading, or InnoDB's counters started again (a restart).
            *self = DeadlockTally {
                base: Some(counter),
                ..Default::default()
            };
            return 0;
        };
        let accounted = self.kept + pending + self.missed;
        let moved = counter - base;
        if moved <= accounted {
            self.behind_for = 0;
            return 0;
        }
        self.behind_for += 1;
        if self.behind_for < MISSED_AFTER_PROBES {
            return 0;
        }
        self.behind_for = 0;
        self.missed += moved - accounted;
        moved - accounted
    }
}

/// Where the recorder stands between probes.
struct Recorder<'a> {
    job: &'a RecordJob,
    log: EventLog<'a>,
    pacer: Pacer,
    deadlog: PathBuf,
    known: Option<HashSet<String>>,
    /// Deadlocks read, not yet on disk: retried every probe until written.
    pending: VecDeque<PendingDeadlock>,
    tally: DeadlockTally,
    /// The server's zone as last read (deadlock times without a zone are read in it).
    server_utc_offset: Option<i64>,
    follower: Option<LogFollower>,
    /// The triggers in force (the default lock-wait one follows the server's timeout).
    triggers: Triggers,
    /// Percona's logged lock wait timeouts, for `lock-wait-timeouts.jsonl`.
    timeouts: TimeoutLog,
    deadlock_count: Option<u64>,
    probes_since_status: u32,
    /// The last `performance_schema.error_log` entry read (MySQL 8.0.22+), and whether reading failed.
    pfs_logged: Option<String>,
    pfs_failed: bool,
}

impl Recorder<'_> {
    /// Queues the deadlocks read and writes every one not kept yet.
    fn keep_deadlocks(
        &mut self,
        reports: Vec<DeadlockReport>,
        offset: Option<i64>,
        from: &'static str,
    ) {
        for report in reports {
            let report = report.in_server_zone(offset);
            // Read again while an earlier copy still waits for the disk: queued once.
            let key = deadlock_key(&report, offset);
            if self.pending.iter().any(|p| p.key == key) {
                continue;
            }
            if self.pending.len() >= MAX_PENDING {
                // Memory stays bounded through a long full-disk outage: the oldest unwritten
                // goes, said now and counted, so the counter check does not say it again.
                self.pending.pop_front();
                self.tally.missed += 1;
                self.log.event(
                    "deadlocks-missed",
                    &[
                        ("count", "1".to_string()),
                        (
                            "why",
                            format!("more than {MAX_PENDING} deadlocks waited for the disk"),
                        ),
                    ],
                );
            }
            self.pending
                .push_back(PendingDeadlock { report, from, key });
        }
        self.flush_deadlocks(offset);
    }

    /// The status text's deadlock, when not kept before, with what the server adds while its
    /// sessions are still there ([`enrich::deadlock_seen_live`]); one already kept is not
    /// read again (the status text shows the latest deadlock until the next one).
    async fn seen_live(
        &mut self,
        server: &Server,
        report: Option<DeadlockReport>,
    ) -> Vec<DeadlockReport> {
        let Some(report) = report else {
            return Vec::new();
        };
        let offset = server.caps().server.utc_offset_secs;
        let report = report.in_server_zone(offset);
        let key = deadlock_key(&report, offset);
        let known = self
            .known
            .get_or_insert_with(|| known_deadlocks(&self.deadlog, offset));
        if known.contains(&key) || self.pending.iter().any(|p| p.key == key) {
            return vec![report];
        }
        let (report, unread) = enrich::deadlock_seen_live(server, report).await;
        if let Some(why) = unread {
            self.log.event("deadlock-indexes-unread", &[("why", why)]);
        }
        vec![report]
    }

    /// Writes the queued deadlocks in order, each once; stops at the first failed
    /// write (it and the rest stay queued for the next probe).
    fn flush_deadlocks(&mut self, offset: Option<i64>) {
        let known = self
            .known
            .get_or_insert_with(|| known_deadlocks(&self.deadlog, offset));
        while let Some(PendingDeadlock { report, from, key }) = self.pending.pop_front() {
            let moment = deadlock_moment_key(&report, offset);
            // Read again (from the other source, or the status text unchanged), or a
            // header-only copy (performance_schema.error_log) of a deadlock kept already.
            if known.contains(&key) || (report.deadlock.header_only() && known.contains(&moment)) {
                if from == "error_log" {
                    self.log.event(
                        "deadlock-already-kept",
                        &[
                            ("from", from.to_string()),
                            ("fingerprint", report.analysis.fingerprint.clone()),
                        ],
                    );
                }
                continue;
            }
            let written = serde_json::to_string(&report)
                .context("cannot encode the deadlock")
                .and_then(|line| append_line(&self.deadlog, &line));
            if let Err(e) = written {
                self.log.event(
                    "write-failed",
                    &[
                        ("error", format!("{e:#}")),
                        ("deadlocks_waiting", (self.pending.len() + 1).to_string()),
                    ],
                );
                self.pending
                    .push_front(PendingDeadlock { report, from, key });
                return;
            }
            known.insert(key);
            known.insert(moment);
            if self.tally.base.is_some() {
                self.tally.kept += 1;
            }
            self.log.event(
                "deadlock",
                &[
                    ("from", from.to_string()),
                    (
                        "timestamp",
                        report.deadlock.timestamp.clone().unwrap_or_default(),
                    ),
                    ("fingerprint", report.analysis.fingerprint.clone()),
                    ("summary", report.analysis.summary.clone()),
                ],
            );
        }
    }

    /// Appends the queued lock wait timeouts in order; stops at the first failed
    /// write (it and the rest stay queued for the next probe).
    fn flush_timeouts(&mut self) {
        while self.timeouts.pending.len() > MAX_PENDING {
            self.timeouts.pending.pop_front();
            self.timeouts.dropped += 1;
        }
        while let Some(report) = self.timeouts.pending.pop_front() {
            let written = serde_json::to_string(&report)
                .context("cannot encode the lock wait timeout")
                .and_then(|line| append_line(&self.timeouts.path, &line));
            if let Err(e) = written {
                self.log.event(
                    "write-failed",
                    &[
                        ("error", format!("{e:#}")),
                        (
                            "lock_wait_timeouts_waiting",
                            (self.timeouts.pending.len() + 1).to_string(),
                        ),
                    ],
                );
                self.timeouts.pending.push_front(report);
                return;
            }
            let t = &report.timeout;
            let blockers = t
                .blockers
                .iter()
                .map(|b| {
                    format!(
                        "{}/{}",
                        b.thread_id.map_or("-".to_string(), |n| n.to_string()),
                        b.trx_id.as_deref().unwrap_or("?")
                    )
                })
                .collect::<Vec<_>>()
                .join(",");
            self.log.event(
                "lock-wait-timeout",
                &[
                    ("timestamp", t.timestamp.clone().unwrap_or_default()),
                    (
                        "thread_id",
                        t.thread_id.map(|n| n.to_string()).unwrap_or_default(),
                    ),
                    ("fingerprint", report.fingerprint.clone()),
                    ("blockers", blockers),
                ],
            );
        }
    }

    /// Holds InnoDB's deadlock counter against what was kept; says what was missed.
    fn count_missed(&mut self, counter: Option<u64>) {
        let Some(counter) = counter else {
            return;
        };
        let missed = self.tally.observe(counter, self.pending.len() as u64);
        if missed > 0 {
            let hint = if self.follower.is_some() {
                "the error log did not show them (is innodb_print_all_deadlocks ON?)"
            } else {
                "the status text shows only the latest deadlock: give --error-log with innodb_print_all_deadlocks=ON to keep every one"
            };
            self.log.event(
                "deadlocks-missed",
                &[
                    ("count", missed.to_string()),
                    ("deadlock_counter", counter.to_string()),
                    ("why", hint.to_string()),
                ],
            );
        }
    }

    /// Writes a snapshot into the directory and applies the retention; keeps the
    /// deadlock its status text shows first (even when the snapshot cannot be written).
    /// `Ok(true)` when the status text was read.
    async fn snapshot(&mut self, server: &Server, trigger: String) -> Result<bool> {
        let started = chrono::Utc::now();
        let view = take_snapshot(
            server,
            self.job.lock_groups,
            self.job.no_raw,
            started,
            Some(trigger.clone()),
        )
        .await;
        let status_read = view.state.was_read(SourceName::InnodbStatus);
        if self.job.deadlocks {
            let offset = server.caps().server.utc_offset_secs;
            let latest = self.seen_live(server, view.latest_deadlock.clone()).await;
            self.keep_deadlocks(latest, offset, "status");
        }
        let text = json::snapshot_document(&view);
        let dir = self.job.out.join("");
        let path = output_path(&dir, started, "json")?;
        write_atomically(&path, text.as_bytes())?;
        self.log.event(
            "snapshot",
            &[("trigger", trigger), ("path", path.display().to_string())],
        );
        if let Some(keep) = self.job.keep {
            prune(&self.job.out, keep, chrono::Utc::now(), &path)?;
        }
        if let Some(max) = self.job.max_size {
            enforce_max_size(&self.job.out, max, &path)?;
        }
        Ok(status_read)
    }

    /// One probe, and what it calls for. `Err`: the connection is gone.
    async fn tick(&mut self, server: &Server) -> Result<()> {
        let (pool, caps, t) = (server.pool(), server.caps(), server.query_timeout());
        let figures = probe(pool, caps.server.flavour, t, server.config().max_row_waits).await?;
        let fired = self.triggers.fired(&figures);
        let due = self.pacer.decide(&fired, Instant::now());
        let trigger = match due {
            SnapshotDue::Fired(why) => Some(why),
            SnapshotDue::Cleared => Some("cleared".to_string()),
            SnapshotDue::No => None,
        };
        let mut status_read = false;
        if let Some(trigger) = trigger {
            match self.snapshot(server, trigger).await {
                Ok(read) => status_read = read,
                Err(e) => {
                    // A full disk or an unwritable directory: said, and tried again next probe.
                    self.log
                        .event("write-failed", &[("error", format!("{e:#}"))]);
                    self.pacer.retry();
                }
            }
        }
        if self.job.deadlocks && !status_read {
            self.probes_since_status += 1;
            let counted = figures.deadlocks.is_some() && figures.deadlocks != self.deadlock_count;
            let overdue = figures.deadlocks.is_none() && self.probes_since_status >= STATUS_EVERY;
            if counted || overdue || self.known.is_none() {
                self.probes_since_status = 0;
                let text =
                    crate::source::probe::innodb_status_text(pool, caps.server.flavour, t).await?;
                let latest =
                    DeadlockReport::latest_in(text.as_deref(), caps.server.utc_offset_secs);
                // Now, while its sessions are still there: what they ran before, and its indexes.
                let latest = self.seen_live(server, latest).await;
                self.keep_deadlocks(latest, caps.server.utc_offset_secs, "status");
            }
        }
        // InnoDB's counters start again at a restart: the pool reconnects on its own, so this is
        // where a restart (or failover to another server) shows.
        if let (Some(before), Some(now)) = (self.deadlock_count, figures.deadlocks) {
            if now < before {
                // Its connection ids start again from 1: those lockdiag remembers are others' now.
                crate::source::query::forget_own_connections(pool);
                self.log.event(
                    "server-restarted",
                    &[("deadlock_counter", format!("{before} -> {now}"))],
                );
            }
        }
        self.deadlock_count = figures.deadlocks;
        self.server_utc_offset = caps.server.utc_offset_secs;
        if self.job.deadlocks {
            // Deadlocks a full disk held back are written before anything else is counted.
            self.flush_deadlocks(caps.server.utc_offset_secs);
            self.flush_timeouts();
        }
        // MySQL 8.0.22+ keeps its error log in performance_schema too: deadlocks between probes
        // are there even where the log file is out of reach (RDS and other managed servers).
        if self.job.deadlocks && self.follower.is_none() && caps.error_log_table && !self.pfs_failed
        {
            match crate::source::pfs_error_log::deadlocks_after(
                pool,
                caps.server.flavour,
                self.pfs_logged.as_deref(),
                t,
            )
            .await
            {
                Ok((found, last)) => {
                    self.pfs_logged = last;
                    let reports = found.into_iter().map(DeadlockReport::new).collect();
                    self.keep_deadlocks(
                        reports,
                        caps.server.utc_offset_secs,
                        "performance_schema.error_log",
                    );
                }
                Err(e) => {
                    self.pfs_failed = true;
                    self.log
                        .event("error-log-unreadable", &[("error", e.to_string())]);
                }
            }
        }
        if let Some(follower) = &mut self.follower {
            match follower.poll() {
                Ok(found) => {
                    let mut reports = Vec::new();
                    for entry in found {
                        match entry {
                            LogEntry::Deadlock(d) => reports.push(DeadlockReport::new(d)),
                            LogEntry::LockWaitTimeout(t) => {
                                let mut report = TimeoutReport::new(t);
                                report.timestamp_rfc3339 =
                                    report.timeout.timestamp.as_deref().and_then(|ts| {
                                        timestamp_rfc3339(ts, caps.server.utc_offset_secs)
                                    });
                                self.timeouts.pending.push_back(report);
                            }
                        }
                    }
                    self.keep_deadlocks(reports, caps.server.utc_offset_secs, "error_log");
                    self.flush_timeouts();
                }
                Err(e) => self
                    .log
                    .event("error-log-unreadable", &[("error", format!("{e:#}"))]),
            }
        }
        if self.job.deadlocks {
            self.count_missed(figures.deadlocks);
        }
        Ok(())
    }
}

/// Records until `--for` passes or SIGTERM/SIGINT; events go to `sink`, one line each.
/// Errors only when it cannot begin (the directory cannot be made, or another
/// recorder holds it); everything after is said as an event and survived.
pub async fn record(
    job: &RecordJob,
    config: &ConnectionConfig,
    sink: &dyn Fn(&str),
) -> Result<RecordSummary> {
    create_private_dir_all(&job.out).context("--out")?;
    // One writer per directory, held until the recorder ends (exit 2 names the holder).
    let _lock = lock_directory(&job.out)?;
    let deadlog = job.out.join("deadlocks.jsonl");
    // A recorder killed mid-append left half a line: cut it, or the next line is spoiled too.
    let timeout_log = job.out.join("lock-wait-timeouts.jsonl");
    let repaired = repair_partial_line(&deadlog)?;
    let repaired_timeouts = repair_partial_line(&timeout_log)?;
    let mut recorder = Recorder {
        job,
        log: EventLog {
            json: job.json_log,
            sink,
        },
        pacer: Pacer::new(job.cooldown),
        deadlog,
        known: None,
        pending: VecDeque::new(),
        tally: DeadlockTally::default(),
        server_utc_offset: None,
        triggers: job.triggers.clone(),
        timeouts: TimeoutLog {
            path: timeout_log,
            pending: VecDeque::new(),
            dropped: 0,
        },
        follower: job
            .error_log
            .as_deref()
            .filter(|_| job.deadlocks)
            .map(LogFollower::from_end),
        deadlock_count: None,
        probes_since_status: 0,
        pfs_logged: None,
        pfs_failed: false,
    };
    let stop_at = job.run_for.map(|d| tokio::time::Instant::now() + d);
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot listen for SIGTERM")?;
    recorder.log.event(
        "start",
        &[
            ("out", job.out.display().to_string()),
            (
                "interval",
                humantime::format_duration(job.interval).to_string(),
            ),
            ("target", config.address()),
        ],
    );
    for (path, cut) in [
        (&recorder.deadlog, repaired),
        (&recorder.timeouts.path, repaired_timeouts),
    ] {
        if cut > 0 {
            recorder.log.event(
                "repaired",
                &[
                    ("path", path.display().to_string()),
                    ("partial_bytes_removed", cut.to_string()),
                ],
            );
        }
    }
    let mut ever_connected = false;
    let mut connection: Option<Server> = None;
    // The consumers `--enable-statement-history` turned on (once, at the first connection).
    let mut enabled_consumers: Option<Vec<String>> = None;
    let mut backoff = job.interval;
    let mut next = tokio::time::Instant::now();
    let reason = loop {
        let stop = async {
            match stop_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {}
            _ = stop => break "--for elapsed",
            _ = tokio::signal::ctrl_c() => break "interrupted",
            _ = terminate.recv() => break "terminated",
        }
        next += job.interval;
        if next < tokio::time::Instant::now() {
            next = tokio::time::Instant::now() + job.interval;
        }
        if connection.is_none() {
            match Server::open(config).await {
                Ok(opened) => {
                    recorder.connected(&opened, &mut enabled_consumers).await;
                    backoff = job.interval;
                    ever_connected = true;
                    connection = Some(opened);
                }
                Err(e) => {
                    recorder.log.event(
                        "connect-failed",
                        &[
                            ("error", error_chain(&e)),
                            ("retry_in", humantime::format_duration(backoff).to_string()),
                        ],
                    );
                    next = tokio::time::Instant::now() + backoff;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            }
        }
        let Some(server) = &connection else {
            continue;
        };
        if let Err(e) = recorder.tick(server).await {
            // The server went away (restart, failover) or stalled: never fatal.
            recorder
                .log
                .event("probe-failed", &[("error", error_chain(&e))]);
            if let Some(server) = connection.take() {
                server.close().await;
            }
        }
    };
    if let Some(changed) = enabled_consumers.filter(|c| !c.is_empty()) {
        consumers::restore(connection.as_ref(), &job.out, &changed, &recorder.log).await;
    }
    if let Some(server) = connection.take() {
        server.close().await;
    }
    Ok(recorder.finish(reason, ever_connected))
}

impl Recorder<'_> {
    /// A connection (first, or after the server came back): what follows the server's
    /// settings is set from them, and it is said.
    async fn connected(&mut self, opened: &Server, enabled_consumers: &mut Option<Vec<String>>) {
        let server = &opened.caps().server;
        if enabled_consumers.is_none() {
            // Once per run: what an earlier, killed recorder left on, then this run's own.
            let adopt = self.job.enable_statement_history;
            let left_on =
                consumers::left_on_by_an_earlier_run(opened, &self.job.out, adopt, &self.log).await;
            *enabled_consumers = Some(if adopt {
                consumers::enable(opened, &self.job.out, left_on, &self.log).await
            } else {
                Vec::new()
            });
        }
        if self.job.default_triggers {
            // Every 1205 gets its blocker recorded: a third of the timeout, at most 5 s.
            self.triggers.lock_wait =
                Some(lock_wait_trigger_for(server.innodb_lock_wait_timeout_secs));
        }
        self.log.event(
            "connected",
            &[
                ("server", server.hostname.clone().unwrap_or_default()),
                ("version", server.version.clone()),
            ],
        );
    }

    /// A last try for what the disk refused, then what is still not written is said.
    fn finish(mut self, reason: &'static str, ever_connected: bool) -> RecordSummary {
        if self.job.deadlocks && !self.pending.is_empty() {
            self.flush_deadlocks(self.server_utc_offset);
        }
        self.flush_timeouts();
        let unwritten = self.pending.len();
        let timeouts_unwritten = self.timeouts.pending.len() + self.timeouts.dropped;
        self.log.event(
            "stop",
            &[
                ("reason", reason.to_string()),
                ("deadlocks_not_written", unwritten.to_string()),
                (
                    "lock_wait_timeouts_not_written",
                    timeouts_unwritten.to_string(),
                ),
            ],
        );
        RecordSummary {
            reason,
            ever_connected,
            deadlocks_not_written: unwritten,
            lock_wait_timeouts_not_written: timeouts_unwritten,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The counter ahead of what was kept for MISSED_AFTER_PROBES probes is said once;
    /// a deadlock that arrives late (an error log read after its print completed) is not.
    #[test]
    fn the_default_lock_wait_trigger_is_a_third_of_the_servers_timeout() {
        let secs = |t| lock_wait_trigger_for(t).as_secs();
        assert_eq!(
            [secs(Some(50)), secs(Some(6)), secs(Some(1)), secs(None)],
            [5, 2, 1, 5]
        );
    }

    #[test]
    fn the_deadlock_counter_against_what_was_kept() {
        let mut tally = DeadlockTally::default();
        assert_eq!(tally.observe(100, 0), 0, "the first reading is the base");
        // Three deadlocks, one kept at once, one still queued for the disk.
        tally.kept = 1;
        assert_eq!(tally.observe(103, 1), 0);
        assert_eq!(tally.observe(103, 1), 0);
        assert_eq!(tally.observe(103, 1), 1, "one unaccounted for three probes");
        assert_eq!(tally.observe(103, 1), 0, "said once");
        // Two more, both kept before the grace ends: nothing missed.
        assert_eq!(tally.observe(105, 0), 0);
        tally.kept = 4;
        assert_eq!(tally.observe(105, 0), 0);
        assert_eq!(tally.observe(105, 0), 0);
        assert_eq!(tally.observe(105, 0), 0);
        // A restart: InnoDB counts from 0 again, the tally too.
        assert_eq!(tally.observe(2, 0), 0);
        assert_eq!(tally.base, Some(2));
        assert_eq!(tally.kept, 0);
    }
}
