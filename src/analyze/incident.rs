//! An incident over time, for the post-mortem report (`lockdiag report`): what a
//! recording (snapshots, `deadlocks.jsonl`) or an error log says, reduced to a
//! timeline, the worst moment's tree, the root blockers that held others up longest,
//! and the deadlocks grouped by shape. Pure: the files are read by `source`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::DateTime;

use crate::model::{Snapshot, WaitKind};

use super::metrics::{oldest_transaction_secs, waits_of_kind};
use super::record::deadlock_key;
use super::sql_text::{fingerprint_hex, normalize_sql, shorten_sql};
use super::waits::{analyze_waits, BlockerNode, SessionState, WaitAnalysis};
use super::{DeadlockGroup, DeadlockReport};

/// Root blockers drawn in the worst moment's tree; the rest are counted.
pub const MAX_ROOTS_DRAWN: usize = 8;
/// Rows of the top-blockers table; the rest are counted.
pub const MAX_TOP_BLOCKERS: usize = 15;
/// Deadlock shapes shown with their graph; the rest are counted.
pub const MAX_DEADLOCK_GROUPS: usize = 12;
/// Buckets of each deadlock shape's sparkline.
pub const SPARKLINE_BUCKETS: usize = 24;

/// What the report is built from, as the command reads it. Snapshots are taken one at a
/// time ([`IncidentInput::add_snapshot`]) and only what the report needs of each is kept:
/// a week of recorded snapshots would not fit in memory.
#[derive(Debug, Default)]
pub struct IncidentInput {
    /// Deadlocks from `deadlocks.jsonl` and error logs; duplicates of those the snapshots
    /// carry are counted once.
    pub deadlocks: Vec<DeadlockReport>,
    /// Every file read, as given.
    pub files_read: Vec<String>,
    /// Files that could not be read, each with why.
    pub files_skipped: Vec<String>,
    /// The server's zone (`--server-tz`) for snapshots written before they kept it.
    pub server_utc_offset: Option<i64>,
    seen: SnapshotsSeen,
}

/// What the snapshots added so far contributed.
#[derive(Debug, Default)]
struct SnapshotsSeen {
    timeline: Vec<TimelinePoint>,
    /// Snapshots that could not be placed in time.
    undated: u64,
    /// The worst moment so far, by (waiting sessions, longest wait, time).
    worst: Option<((u64, u64, i64), WorstMoment)>,
    roots: BTreeMap<(u64, String), RootSeen>,
    /// The snapshots' latest deadlocks, each once, with its key.
    deadlocks: Vec<(DeadlockReport, String)>,
    deadlock_keys: BTreeSet<String>,
    /// Per source not read: in how many snapshots, and the first reason.
    missed: BTreeMap<String, (u64, String)>,
    versions: BTreeSet<String>,
    /// The latest snapshot's server name (host name, else target).
    server: Option<(i64, String)>,
}

impl IncidentInput {
    /// Whether any snapshot was added (dated or not).
    pub fn has_snapshots(&self) -> bool {
        !self.seen.timeline.is_empty() || self.seen.undated > 0
    }

    /// Takes one snapshot into the report; `link` is where the page links to it.
    pub fn add_snapshot(&mut self, link: String, snapshot: Snapshot) {
        let seen = &mut self.seen;
        let Some(epoch) = epoch_of(&snapshot.collected_at_start) else {
            seen.undated += 1;
            return;
        };
        let analysis = analyze_waits(&snapshot.state);
        seen.timeline
            .push(timeline_point(epoch, &link, &snapshot, &analysis));
        add_roots(&mut seen.roots, epoch, &analysis);
        let offset = snapshot
            .state
            .server
            .utc_offset_secs
            .or(self.server_utc_offset);
        if let Some(report) = DeadlockReport::latest_of_snapshot(&snapshot) {
            let report = report.in_server_zone(offset);
            let key = deadlock_key(&report, offset);
            if seen.deadlock_keys.insert(key.clone()) {
                seen.deadlocks.push((report, key));
            }
        }
        for status in &snapshot.state.sources {
            if status.status != crate::model::SourceState::Ok {
                seen.missed
                    .entry(status.source.as_str().to_string())
                    .or_insert((0, status.reason.clone().unwrap_or_default()))
                    .0 += 1;
            }
        }
        let server = &snapshot.state.server;
        if !server.version.is_empty() {
            seen.versions.insert(server.version.clone());
        }
        if seen.server.as_ref().is_none_or(|(at, _)| *at <= epoch) {
            let name = server.hostname.clone().unwrap_or(snapshot.target.clone());
            seen.server = Some((epoch, name));
        }
        if analysis.waiting_sessions > 0 {
            let longest = analysis
                .waits
                .iter()
                .map(|w| w.wait_secs)
                .max()
                .unwrap_or(0);
            let key = (analysis.waiting_sessions, longest, epoch);
            if seen.worst.as_ref().is_none_or(|(worst, _)| key > *worst) {
                let at = snapshot.collected_at_start.clone();
                seen.worst = Some((key, worst_moment(analysis, at, link)));
            }
        }
    }
}

/// One snapshot's figures: `None` where its source could not be read (unknown, not 0).
#[derive(Debug, Clone, PartialEq)]
pub struct TimelinePoint {
    pub at: String,
    pub epoch: i64,
    pub waiting_sessions: Option<u64>,
    pub metadata_lock_waits: Option<u64>,
    pub longest_wait_secs: Option<u64>,
    pub oldest_transaction_secs: Option<u64>,
    /// Why `record` took it; `None` for a plain snapshot.
    pub trigger: Option<String>,
    pub link: String,
}

/// The snapshot with the most waiting sessions (then the longest wait).
#[derive(Debug, Clone)]
pub struct WorstMoment {
    pub at: String,
    pub link: String,
    /// The tree with at most [`MAX_ROOTS_DRAWN`] roots.
    pub analysis: WaitAnalysis,
    /// Root blockers left out of `analysis`.
    pub roots_not_drawn: usize,
}

/// A root blocker over the recording: who, doing what, and how long it held others up.
#[derive(Debug, Clone, PartialEq)]
pub struct TopBlocker {
    pub user: Option<String>,
    pub host: Option<String>,
    /// The statement it ran (or, idle, the last one its history shows), shortened;
    /// `None` when unknown.
    pub statement: Option<String>,
    /// Of the statement without its literals: the same code path across sessions.
    pub statement_fingerprint: Option<String>,
    /// The table its direct waiters wait on.
    pub table: Option<String>,
    /// The sum over the sessions it held up of the longest wait seen for each.
    pub blocked_session_secs: u64,
    /// Sessions it held up (directly or through others), counted once.
    pub sessions_blocked: u64,
    /// Processlist ids it had (one per transaction seen).
    pub thread_ids: Vec<u64>,
    /// Seen idle in its transaction in some snapshot.
    pub idle_in_transaction: bool,
    pub snapshots_seen: u64,
}

/// Deadlocks of one shape, with one example to draw.
#[derive(Debug, Clone)]
pub struct IncidentDeadlockGroup {
    pub group: DeadlockGroup,
    pub example: DeadlockReport,
    /// Counts per equal slice of the report's time range ([`SPARKLINE_BUCKETS`]); empty
    /// when the range is unknown.
    pub sparkline: Vec<u64>,
}

/// The report, built from an [`IncidentInput`].
#[derive(Debug, Clone)]
pub struct IncidentView {
    pub server: Option<String>,
    pub versions: Vec<String>,
    pub first_at: Option<String>,
    pub last_at: Option<String>,
    pub timeline: Vec<TimelinePoint>,
    /// Deadlock moments (epoch seconds, fingerprint) for the timeline's marks.
    pub deadlock_marks: Vec<(i64, String)>,
    pub worst: Option<WorstMoment>,
    pub top_blockers: Vec<TopBlocker>,
    pub top_blockers_not_shown: usize,
    pub deadlock_groups: Vec<IncidentDeadlockGroup>,
    pub deadlock_groups_not_shown: usize,
    pub deadlocks_total: u64,
    /// Deadlocks without a time (not on the timeline).
    pub deadlocks_undated: u64,
    /// Sources some snapshot could not read, with how many snapshots and a reason.
    pub unknown: Vec<String>,
    pub files_read: Vec<String>,
    pub files_skipped: Vec<String>,
    /// Snapshots that could not be placed in time (no readable collection time).
    pub snapshots_undated: u64,
}

fn epoch_of(rfc3339: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(rfc3339)
        .ok()
        .map(|t| t.timestamp())
}

/// The report of an incident.
pub fn incident_view(input: IncidentInput) -> IncidentView {
    let IncidentInput {
        deadlocks: given,
        files_read,
        files_skipped,
        server_utc_offset,
        seen,
    } = input;
    let mut timeline = seen.timeline;
    timeline.sort_by_key(|p| p.epoch);
    let (deadlocks, deadlocks_total) = deadlocks_once(given, seen.deadlocks, server_utc_offset);
    let range = time_range(&timeline, &deadlocks);
    let deadlock_marks: Vec<(i64, String)> = deadlocks
        .iter()
        .filter_map(|d| Some((deadlock_epoch(d)?, d.analysis.fingerprint.clone())))
        .collect();
    let deadlocks_undated = (deadlocks.len() - deadlock_marks.len()) as u64;
    let (top_blockers, top_blockers_not_shown) = top_blockers(seen.roots);
    let (deadlock_groups, deadlock_groups_not_shown) = deadlock_groups(&deadlocks, range);
    let snapshots = timeline.len();
    IncidentView {
        server: seen.server.map(|(_, name)| name),
        versions: seen.versions.into_iter().collect(),
        first_at: range.map(|(from, _)| rfc3339_utc(from)),
        last_at: range.map(|(_, to)| rfc3339_utc(to)),
        worst: seen.worst.map(|(_, worst)| worst),
        unknown: unknown_sources(seen.missed, snapshots),
        timeline,
        deadlock_marks,
        top_blockers,
        top_blockers_not_shown,
        deadlock_groups,
        deadlock_groups_not_shown,
        deadlocks_total,
        deadlocks_undated,
        files_read,
        files_skipped,
        snapshots_undated: seen.undated,
    }
}

fn rfc3339_utc(epoch: i64) -> String {
    DateTime::from_timestamp(epoch, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn timeline_point(
    epoch: i64,
    link: &str,
    snapshot: &Snapshot,
    analysis: &WaitAnalysis,
) -> TimelinePoint {
    let state = &snapshot.state;
    let waits_read = super::views::lock_waits_read(state);
    let known = |figure: u64| waits_read.then_some(figure);
    let transactions_read = state.was_read(crate::model::SourceName::Transactions);
    let (_, row_longest) = waits_of_kind(analysis, WaitKind::Row);
    let (metadata_waiting, metadata_longest) = waits_of_kind(analysis, WaitKind::Metadata);
    TimelinePoint {
        at: snapshot.collected_at_start.clone(),
        epoch,
        waiting_sessions: known(analysis.waiting_sessions),
        metadata_lock_waits: known(metadata_waiting),
        longest_wait_secs: known(row_longest.max(metadata_longest)),
        oldest_transaction_secs: transactions_read.then(|| oldest_transaction_secs(state)),
        trigger: snapshot.trigger.clone(),
        link: link.to_string(),
    }
}

fn deadlock_epoch(report: &DeadlockReport) -> Option<i64> {
    report.timestamp_rfc3339.as_deref().and_then(epoch_of)
}

/// Every deadlock once: those in the files given, then the snapshots' latest ones not
/// among them (consecutive snapshots carry the same latest deadlock).
fn deadlocks_once(
    given: Vec<DeadlockReport>,
    from_snapshots: Vec<(DeadlockReport, String)>,
    server_utc_offset: Option<i64>,
) -> (Vec<DeadlockReport>, u64) {
    let mut seen = BTreeSet::new();
    let mut all = Vec::new();
    let given = given.into_iter().map(|report| {
        let report = report.in_server_zone(server_utc_offset);
        let key = deadlock_key(&report, server_utc_offset);
        (report, key)
    });
    for (report, key) in given.chain(from_snapshots) {
        if seen.insert(key) {
            all.push(report);
        }
    }
    all.sort_by_key(|r| deadlock_epoch(r).unwrap_or(i64::MIN));
    let total = all.len() as u64;
    (all, total)
}

fn time_range(timeline: &[TimelinePoint], deadlocks: &[DeadlockReport]) -> Option<(i64, i64)> {
    let moments = timeline
        .iter()
        .map(|p| p.epoch)
        .chain(deadlocks.iter().filter_map(deadlock_epoch));
    moments.fold(None, |range, t| match range {
        None => Some((t, t)),
        Some((from, to)) => Some((from.min(t), to.max(t))),
    })
}

fn worst_moment(mut analysis: WaitAnalysis, at: String, link: String) -> WorstMoment {
    let roots_not_drawn = analysis.root_blockers.len().saturating_sub(MAX_ROOTS_DRAWN);
    analysis.root_blockers.truncate(MAX_ROOTS_DRAWN);
    WorstMoment {
        at,
        link,
        analysis,
        roots_not_drawn,
    }
}

/// What a root was doing: its running statement, else (idle) the last its history shows.
fn root_statement(root: &BlockerNode) -> Option<&str> {
    root.query
        .as_deref()
        .filter(|q| !q.trim().is_empty())
        .or_else(|| {
            root.statement_history
                .as_ref()
                .and_then(|h| h.last())
                .map(|e| e.sql.as_str())
        })
}

/// Each session below `node` once, with the longest wait seen for it.
fn collect_waiters(node: &BlockerNode, into: &mut HashMap<u64, u64>) {
    for waiter in &node.waiters {
        let wait = waiter.wait.as_ref().map(|w| w.wait_secs).unwrap_or(0);
        let longest = into.entry(waiter.thread_id).or_insert(0);
        *longest = (*longest).max(wait);
        collect_waiters(waiter, into);
    }
}

/// What makes root blockers one code path: user, host, statement fingerprint, table.
type CodePath = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// One root blocker's transaction across snapshots, before grouping by code path.
#[derive(Debug, Default)]
struct RootSeen {
    user: Option<String>,
    host: Option<String>,
    /// The latest statement seen, and when (snapshots come in any order).
    statement: Option<(i64, String)>,
    table: Option<String>,
    idle_in_transaction: bool,
    snapshots_seen: u64,
    waiters: HashMap<u64, u64>,
}

/// One snapshot's root blockers added to those seen, per transaction.
fn add_roots(roots: &mut BTreeMap<(u64, String), RootSeen>, epoch: i64, analysis: &WaitAnalysis) {
    for root in &analysis.root_blockers {
        let key = (root.thread_id, root.trx_id.clone().unwrap_or_default());
        let seen = roots.entry(key).or_default();
        seen.user = seen.user.take().or_else(|| root.user.clone());
        seen.host = seen.host.take().or_else(|| root.host.clone());
        if let Some(statement) = root_statement(root) {
            if seen.statement.as_ref().is_none_or(|(at, _)| *at <= epoch) {
                seen.statement = Some((epoch, statement.to_string()));
            }
        }
        if seen.table.is_none() {
            seen.table = root
                .waiters
                .iter()
                .filter_map(|w| w.wait.as_ref())
                .find_map(|w| {
                    let table = w.table.as_deref()?;
                    Some(crate::model::qualified_name(
                        w.schema.as_deref(),
                        Some(table),
                    ))
                });
        }
        seen.idle_in_transaction |= root.state == SessionState::IdleInTrx;
        seen.snapshots_seen += 1;
        collect_waiters(root, &mut seen.waiters);
    }
}

/// Root blockers by blocked session-seconds: per transaction the longest wait seen of
/// each session it held up, summed; then transactions of one code path (user, host,
/// statement fingerprint, table) added together.
fn top_blockers(roots: BTreeMap<(u64, String), RootSeen>) -> (Vec<TopBlocker>, usize) {
    let mut paths: BTreeMap<CodePath, TopBlocker> = BTreeMap::new();
    for ((thread_id, _), seen) in roots {
        let statement = seen.statement.as_ref().map(|(_, s)| s.as_str());
        let fingerprint = statement.map(|s| fingerprint_hex(&normalize_sql(s)));
        let key = (
            seen.user.clone(),
            seen.host.clone(),
            fingerprint.clone(),
            seen.table.clone(),
        );
        let entry = paths.entry(key).or_insert_with(|| TopBlocker {
            user: seen.user.clone(),
            host: seen.host.clone(),
            statement: statement.map(|s| shorten_sql(s, 200)),
            statement_fingerprint: fingerprint,
            table: seen.table.clone(),
            blocked_session_secs: 0,
            sessions_blocked: 0,
            thread_ids: Vec::new(),
            idle_in_transaction: false,
            snapshots_seen: 0,
        });
        entry.blocked_session_secs += seen.waiters.values().sum::<u64>();
        entry.sessions_blocked += seen.waiters.len() as u64;
        entry.thread_ids.push(thread_id);
        entry.idle_in_transaction |= seen.idle_in_transaction;
        entry.snapshots_seen += seen.snapshots_seen;
    }
    let mut list: Vec<TopBlocker> = paths.into_values().collect();
    list.sort_by_key(|b| std::cmp::Reverse((b.blocked_session_secs, b.sessions_blocked)));
    let not_shown = list.len().saturating_sub(MAX_TOP_BLOCKERS);
    list.truncate(MAX_TOP_BLOCKERS);
    (list, not_shown)
}

fn deadlock_groups(
    deadlocks: &[DeadlockReport],
    range: Option<(i64, i64)>,
) -> (Vec<IncidentDeadlockGroup>, usize) {
    let mut history = super::history::DeadlockHistory::new(None, usize::MAX, None);
    for report in deadlocks {
        history.add(report.clone());
    }
    let groups = history.groups();
    let not_shown = groups.len().saturating_sub(MAX_DEADLOCK_GROUPS);
    let shown = groups
        .into_iter()
        .take(MAX_DEADLOCK_GROUPS)
        .filter_map(|group| {
            let of_group: Vec<&DeadlockReport> = deadlocks
                .iter()
                .filter(|d| d.analysis.fingerprint == group.fingerprint)
                .collect();
            let example = (*of_group.last()?).clone();
            let sparkline = range
                .map(|r| sparkline(of_group.iter().filter_map(|d| deadlock_epoch(d)), r))
                .unwrap_or_default();
            Some(IncidentDeadlockGroup {
                group,
                example,
                sparkline,
            })
        })
        .collect();
    (shown, not_shown)
}

/// Counts of `moments` in [`SPARKLINE_BUCKETS`] equal slices of `range` (inclusive).
fn sparkline(moments: impl Iterator<Item = i64>, (from, to): (i64, i64)) -> Vec<u64> {
    let mut buckets = vec![0; SPARKLINE_BUCKETS];
    let span = (to - from).max(1) as i128;
    for t in moments {
        let at = ((t - from) as i128 * SPARKLINE_BUCKETS as i128 / (span + 1)) as usize;
        buckets[at.min(SPARKLINE_BUCKETS - 1)] += 1;
    }
    buckets
}

/// `source: not read in N of M snapshots (reason)` for each source some snapshot missed.
fn unknown_sources(missed: BTreeMap<String, (u64, String)>, snapshots: usize) -> Vec<String> {
    missed
        .into_iter()
        .map(|(source, (count, reason))| {
            format!("{source}: not read in {count} of {snapshots} snapshots ({reason})")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_spreads_moments_over_the_range() {
        let buckets = sparkline([0, 1, 3599, 3600].into_iter(), (0, 3600));
        assert_eq!(buckets.len(), SPARKLINE_BUCKETS);
        assert_eq!(buckets[0], 2);
        assert_eq!(buckets[SPARKLINE_BUCKETS - 1], 2);
        assert_eq!(buckets.iter().sum::<u64>(), 4);
        assert_eq!(sparkline([5].into_iter(), (5, 5))[0], 1, "a single moment");
    }

    #[test]
    fn deadlocks_in_the_log_and_in_snapshots_count_once() {
        let text = include_str!("../../fixtures/live/payments-reservations.status.txt");
        let report = DeadlockReport::latest_in(Some(text), Some(0)).unwrap();
        let view = incident_view(IncidentInput {
            deadlocks: vec![report.clone(), report],
            ..IncidentInput::default()
        });
        assert_eq!(view.deadlocks_total, 1);
        assert_eq!(view.deadlock_groups.len(), 1);
        assert_eq!(view.deadlock_groups[0].group.count, 1);
        assert!(view.worst.is_none() && view.timeline.is_empty());
    }
}
