//! The fleet view (`status --hosts`): one line per server, worst first. Each
//! server's figures are the exporter's ([`lock_figures`] of its collection), so a
//! fleet line and a `/probe` scrape of the same moment say the same numbers.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use crate::model::{LiveState, SourceName, SourceState, WAIT_SOURCES};

use super::metrics::{lock_figures, ByLock};
use super::views::SnapshotView;

/// `lockdiag status --hosts FILE`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FleetView {
    /// Worst first: unreadable servers, then by waiting sessions, root blockers,
    /// longest wait, oldest transaction.
    pub servers: Vec<FleetServer>,
}

/// One server of the hosts file: its figures, or why there are none (exactly one of
/// the two; build it with [`FleetServer::read`] or [`FleetServer::failed`]).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FleetServer {
    /// The target as the hosts file names it (a URL's password as `****`).
    pub target: String,
    /// Its figures, when it was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub figures: Option<FleetFigures>,
    /// Why it could not be read (connection, identity, deadline): one line, no password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl FleetServer {
    pub fn read(target: String, figures: FleetFigures) -> Self {
        FleetServer {
            target,
            figures: Some(figures),
            error: None,
        }
    }

    pub fn failed(target: String, error: String) -> Self {
        FleetServer {
            target,
            figures: None,
            error: Some(error),
        }
    }

    /// Its figures, or why there are none.
    pub fn outcome(&self) -> Result<&FleetFigures, &str> {
        match (&self.figures, &self.error) {
            (Some(figures), None) => Ok(figures),
            (_, Some(error)) => Err(error),
            (None, None) => Err("not read"),
        }
    }
}

/// One server's lock picture in figures; `null` where the source behind a figure
/// could not be read (unknown, never 0).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FleetFigures {
    pub sessions: Option<u64>,
    pub open_transactions: Option<u64>,
    /// Sessions waiting for a row lock and for a metadata lock.
    pub waiting_sessions: ByLock,
    /// Root blockers by state (the exporter's `state` label: `running`,
    /// `idle_in_transaction`, `idle`, `no_session`, `unknown`), every state listed.
    pub root_blockers: Option<BTreeMap<String, u64>>,
    /// The most sessions one root blocker holds up, directly or not.
    pub max_sessions_behind_one_root: Option<u64>,
    /// The longest current wait per kind of lock, seconds (0 when nobody waits).
    pub longest_wait_secs: ByLock,
    pub oldest_transaction_secs: Option<u64>,
    /// How long ago the latest deadlock was detected, seconds; `null` when none is
    /// recorded, it cannot be dated, or the status text could not be read.
    pub latest_deadlock_age_secs: Option<u64>,
    /// Whether InnoDB's status text shows a deadlock since the server started: `false`
    /// none, `null` the status text could not be read (so a `null` age is "none" only
    /// when this is `false`).
    pub deadlock_since_start: Option<bool>,
    /// InnoDB's deadlock counter since the server started.
    pub deadlocks_total: Option<u64>,
    /// Each source not read whole, with why (`lock_waits: …`).
    pub incomplete: Vec<String>,
    /// Who waits for whom is wholly known: the lock waits and processlist were read
    /// and the waits listed are all InnoDB counts. When false the run exits 2.
    pub waits_complete: bool,
}

/// Why who-waits-for-whom is not wholly known in `state`, if it is not: a source it
/// needs was not read, or InnoDB counts more waits than it listed (the answer is a
/// lower bound). The rule behind exit code 2 of `status`, `waits` and `snapshot`.
pub fn lock_waits_problem(state: &LiveState) -> Option<String> {
    let unread = state.unread(&WAIT_SOURCES);
    if !unread.is_empty() {
        return Some(format!(
            "the lock waits could not be read ({}): who blocks whom is unknown",
            unread.join("; ")
        ));
    }
    state
        .sources
        .iter()
        .filter(|s| s.source == SourceName::LockWaits && s.status == SourceState::Partial)
        .find_map(|s| s.reason.as_deref())
        .map(|reason| format!("the lock waits listed are not all the server has ({reason})"))
}

/// The figures of one server's collection; `now_epoch` dates the latest deadlock's age.
pub fn fleet_figures(view: &SnapshotView, now_epoch: i64) -> FleetFigures {
    let figures = lock_figures(view);
    FleetFigures {
        sessions: figures.sessions,
        open_transactions: figures.open_transactions,
        waiting_sessions: figures.waiting_sessions,
        root_blockers: figures
            .root_blockers
            .map(|by| by.into_iter().map(|(k, v)| (k.to_string(), v)).collect()),
        max_sessions_behind_one_root: figures.max_sessions_behind_one_root,
        longest_wait_secs: figures.longest_wait_secs,
        oldest_transaction_secs: figures.oldest_transaction_secs,
        latest_deadlock_age_secs: figures
            .latest_deadlock_epoch
            .map(|at| now_epoch.saturating_sub(at).max(0) as u64),
        deadlock_since_start: view
            .state
            .sources
            .iter()
            .any(|s| s.source == SourceName::InnodbStatus && s.status == SourceState::Ok)
            .then_some(view.latest_deadlock.is_some()),
        deadlocks_total: figures.deadlocks_total,
        incomplete: view
            .state
            .sources
            .iter()
            .filter(|s| s.status != SourceState::Ok && s.source != SourceName::StatementHistory)
            .map(|s| {
                let reason = s.reason.as_deref().unwrap_or("not read");
                format!("{}: {reason}", s.source)
            })
            .collect(),
        waits_complete: lock_waits_problem(&view.state).is_none(),
    }
}

impl FleetFigures {
    /// Sessions waiting for any lock; `None` when either kind is unknown (unknown is
    /// not zero, and a server whose metadata-lock waits are unknown may be the worst).
    pub fn waiting(&self) -> Option<u64> {
        Some(self.waiting_sessions.row? + self.waiting_sessions.metadata?)
    }

    /// Root blockers of every state; `None` when unknown.
    pub fn root_blocker_count(&self) -> Option<u64> {
        self.root_blockers.as_ref().map(|by| by.values().sum())
    }

    /// The longest wait of either kind; `None` when either is unknown.
    pub fn longest_wait(&self) -> Option<u64> {
        Some(
            self.longest_wait_secs
                .row?
                .max(self.longest_wait_secs.metadata?),
        )
    }
}

/// How bad a server's news is, worse first when sorted: an unreadable server, then
/// unknown figures (unknown is not zero), then the most waiting sessions, root
/// blockers, the longest wait, the oldest transaction.
fn severity(server: &FleetServer) -> impl Ord {
    // `None` (unknown) sorts above any figure.
    let worst = |figure: Option<u64>| Reverse(figure.unwrap_or(u64::MAX));
    match server.outcome() {
        Err(_) => (0, [Reverse(0); 4]),
        Ok(f) => (
            1,
            [
                worst(f.waiting()),
                worst(f.root_blocker_count()),
                worst(f.longest_wait()),
                worst(f.oldest_transaction_secs),
            ],
        ),
    }
}

/// The fleet, worst first (ties in hosts-file order).
pub fn fleet_view(mut servers: Vec<FleetServer>) -> FleetView {
    servers.sort_by_cached_key(severity);
    FleetView { servers }
}

impl FleetView {
    /// Whether every server was read and its waits wholly known (else exit 2).
    pub fn complete(&self) -> bool {
        self.servers
            .iter()
            .all(|s| s.outcome().is_ok_and(|f| f.waits_complete))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(waiting: Option<u64>, roots: u64, longest: u64, oldest: u64) -> FleetFigures {
        FleetFigures {
            sessions: Some(10),
            open_transactions: Some(3),
            waiting_sessions: ByLock {
                row: waiting,
                metadata: Some(0),
            },
            root_blockers: waiting
                .map(|_| BTreeMap::from([("idle_in_transaction".to_string(), roots)])),
            max_sessions_behind_one_root: Some(0),
            longest_wait_secs: ByLock {
                row: waiting.map(|_| longest),
                metadata: Some(0),
            },
            oldest_transaction_secs: Some(oldest),
            latest_deadlock_age_secs: None,
            deadlock_since_start: Some(false),
            deadlocks_total: Some(0),
            incomplete: Vec::new(),
            waits_complete: waiting.is_some(),
        }
    }

    fn server(target: &str, figures: FleetFigures) -> FleetServer {
        FleetServer::read(target.into(), figures)
    }

    fn down(target: &str, error: &str) -> FleetServer {
        FleetServer::failed(target.into(), error.into())
    }

    #[test]
    fn errors_first_then_the_worst_figures() {
        let view = fleet_view(vec![
            server("quiet", figures(Some(0), 0, 0, 5)),
            server("old-trx", figures(Some(0), 0, 0, 900)),
            server("two-waiting", figures(Some(2), 1, 3, 10)),
            down("down", "connection refused"),
            server("two-waiting-longer", figures(Some(2), 1, 40, 10)),
            server("unknown-waits", figures(None, 0, 0, 1)),
            server("five-waiting", figures(Some(5), 1, 1, 1)),
            server("two-roots", figures(Some(2), 2, 1, 1)),
            down("stalled", "no answer"),
            // One row wait seen, the metadata-lock waits unknown: not "1 waiting".
            server("metadata-unknown", {
                let mut f = figures(Some(1), 1, 1, 1);
                f.waiting_sessions.metadata = None;
                f
            }),
        ]);
        let order: Vec<&str> = view.servers.iter().map(|s| s.target.as_str()).collect();
        assert_eq!(
            order,
            [
                "down",
                "stalled",
                "unknown-waits",
                "metadata-unknown",
                "five-waiting",
                "two-roots",
                "two-waiting-longer",
                "two-waiting",
                "old-trx",
                "quiet"
            ]
        );
        assert!(!view.complete());
        let all_read = fleet_view(vec![server("quiet", figures(Some(0), 0, 0, 5))]);
        assert!(all_read.complete());
    }

    #[test]
    fn json_has_figures_or_an_error_beside_the_target() {
        let view = fleet_view(vec![
            server("db1:3306", figures(Some(2), 1, 3, 10)),
            down("db2:3306", "refused"),
        ]);
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["servers"][0]["target"], "db2:3306");
        assert_eq!(json["servers"][0]["error"], "refused");
        assert_eq!(json["servers"][1]["figures"]["waiting_sessions"]["row"], 2);
        assert!(json["servers"][1].get("error").is_none());
    }
}
