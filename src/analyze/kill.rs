//! Choosing sessions to kill from the analysis, refusing the ones that must
//! never be killed, saying what a kill does, and checking that a target is
//! still the same session right before acting.

use std::time::Duration;

use regex::Regex;
use schemars::JsonSchema;
use serde::Serialize;

use crate::model::{LiveState, LockStatus, Session, SessionCommand};

use super::waits::{BlockerNode, SessionState, WaitAnalysis};

/// How targets are chosen (any of the selectors), then narrowed (all filters).
#[derive(Debug, Clone, Default)]
pub struct KillCriteria {
    pub thread_ids: Vec<u64>,
    pub root_blockers: bool,
    pub blocking_longer_than: Option<Duration>,
    pub idle_in_trx_longer_than: Option<Duration>,
    pub user: Option<String>,
    pub db: Option<String>,
    pub query_pattern: Option<Regex>,
    /// `--force`: explicit ids only, past the system/replication refusal.
    pub force: bool,
}

impl KillCriteria {
    pub fn has_selector(&self) -> bool {
        !self.thread_ids.is_empty()
            || self.root_blockers
            || self.blocking_longer_than.is_some()
            || self.idle_in_trx_longer_than.is_some()
    }
}

/// A session chosen for killing, with what killing it does.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
pub struct KillTarget {
    pub thread_id: u64,
    pub user: String,
    pub host: String,
    pub db: Option<String>,
    pub command: SessionCommand,
    pub state: SessionState,
    pub time_secs: u64,
    pub trx_id: Option<String>,
    /// When its transaction started (`trx_started`, server time): with the
    /// session, what tells this transaction from a later one (a MariaDB
    /// read-only transaction has trx id 0).
    pub trx_started: Option<String>,
    /// MariaDB's id of the statement it runs (or ran last): `KILL QUERY ID` takes it.
    pub query_id: Option<u64>,
    pub trx_age_secs: Option<u64>,
    pub rows_locked: Option<u64>,
    pub rows_modified: Option<u64>,
    /// Tables it holds locks on (where the lock listing says).
    pub locked_tables: Vec<String>,
    pub query: Option<String>,
    /// Sessions that wait for it, directly or through others.
    pub blocked_sessions: u64,
    pub longest_wait_secs: u64,
    /// Why it must not be killed; `None` when it may.
    pub refused: Option<String>,
    /// What its session ran in its current transaction, for a root blocker (as in `waits`);
    /// `None` when not read or not a root.
    pub statement_history: Option<Vec<crate::model::StatementEvent>>,
}

/// Why a session must never be killed by lockdiag (without `--force` on an explicit id).
pub fn protected_reason(session: &Session) -> Option<String> {
    let command = session.command.as_str();
    if matches!(
        session.command,
        SessionCommand::BinlogDump | SessionCommand::BinlogDumpGtid
    ) || command.starts_with("Binlog Dump")
    {
        return Some(format!(
            "replication: it sends the binary log to a replica ({command})"
        ));
    }
    if is_replica_thread(session) {
        return Some("replication thread: killing it stops replication".into());
    }
    if session.user == "system user" {
        return Some("server thread ('system user'): killing it stops a server task".into());
    }
    if session.user == "event_scheduler" || session.command == SessionCommand::Daemon {
        return Some("server background thread (event scheduler or daemon)".into());
    }
    None
}

/// A replica's own replication thread (I/O, SQL, worker) by its command or its
/// state: the one definition behind "this server is a replica" and the refusal
/// to kill it.
pub fn is_replica_thread(session: &Session) -> bool {
    let state = session.state.as_deref().unwrap_or("").to_ascii_lowercase();
    matches!(
        session.command,
        SessionCommand::SlaveIo | SessionCommand::SlaveSql | SessionCommand::SlaveWorker
    ) || state.contains("waiting for master")
        || state.contains("waiting for source")
        || state.contains("has read all relay log")
        || (session.user == "system user"
            && (state.contains("master")
                || state.contains("source")
                || state.contains("relay log")))
}

fn find_node(nodes: &[BlockerNode], thread_id: u64) -> Option<&BlockerNode> {
    for node in nodes {
        if node.thread_id == thread_id {
            return Some(node);
        }
        if let Some(found) = find_node(&node.waiters, thread_id) {
            return Some(found);
        }
    }
    None
}

fn target_of(state: &LiveState, analysis: &WaitAnalysis, session: &Session) -> KillTarget {
    let trx = state
        .transactions
        .iter()
        .find(|t| t.thread_id == session.thread_id);
    let node = find_node(&analysis.root_blockers, session.thread_id);
    let mut locked_tables: Vec<String> = state
        .locks
        .iter()
        .filter(|l| l.thread_id == Some(session.thread_id) && l.lock_status == LockStatus::Granted)
        .filter_map(|l| {
            l.table.as_deref()?;
            Some(crate::model::qualified_name(
                l.schema.as_deref(),
                l.table.as_deref(),
            ))
        })
        .collect();
    locked_tables.dedup();
    let open_trx = trx.is_some() || super::waits::holds_transaction_mdl(state, session.thread_id);
    let waiting = analysis
        .waits
        .iter()
        .any(|w| w.waiting_thread_id == session.thread_id);
    KillTarget {
        thread_id: session.thread_id,
        user: session.user.clone(),
        host: session.host.clone(),
        db: session.db.clone(),
        command: session.command.clone(),
        state: super::waits::session_state(Some(session), open_trx, waiting),
        time_secs: session.time_secs,
        trx_id: trx.map(|t| t.trx_id.clone()),
        trx_started: trx.and_then(|t| t.started.clone()),
        query_id: session.query_id,
        trx_age_secs: trx.map(|t| t.age_secs),
        rows_locked: trx.map(|t| t.rows_locked),
        rows_modified: trx.map(|t| t.rows_modified),
        locked_tables,
        query: session.info.clone(),
        blocked_sessions: node.map_or(0, |n| n.blocked_sessions),
        longest_wait_secs: node.map_or(0, |n| n.longest_wait_secs),
        refused: None,
        statement_history: node.and_then(|n| n.statement_history.clone()),
    }
}

/// The targets the criteria choose, protected ones marked refused (never dropped silently).
/// Explicit ids that are not in the processlist are returned in the error list.
pub fn select_targets(
    state: &LiveState,
    analysis: &WaitAnalysis,
    criteria: &KillCriteria,
) -> (Vec<KillTarget>, Vec<u64>) {
    let mut chosen: Vec<(u64, bool)> = Vec::new(); // (thread, explicit)
    let mut missing = Vec::new();
    for id in &criteria.thread_ids {
        if state.sessions.iter().any(|s| s.thread_id == *id) {
            chosen.push((*id, true));
        } else {
            missing.push(*id);
        }
    }
    for root in &analysis.root_blockers {
        let by_root = criteria.root_blockers;
        let by_wait = criteria
            .blocking_longer_than
            .is_some_and(|d| root.longest_wait_secs >= d.as_secs());
        if by_root || by_wait {
            chosen.push((root.thread_id, false));
        }
    }
    // Sessions waiting in a circle have no root (deadlock detection off, or caught mid-check):
    // one member per cycle is the candidate, the one whose rollback costs least (fewest rows
    // modified, then the youngest transaction), as InnoDB itself would choose its victim.
    if criteria.root_blockers {
        for cycle in &analysis.cycles {
            let cost = |thread: &u64| {
                let trx = state.transactions.iter().find(|t| t.thread_id == *thread);
                (
                    trx.map_or(0, |t| t.rows_modified),
                    trx.map_or(0, |t| t.age_secs),
                )
            };
            if let Some(member) = cycle
                .iter()
                .min_by_key(|t| (cost(t).0, std::cmp::Reverse(cost(t).1)))
            {
                chosen.push((*member, false));
            }
        }
    }
    if let Some(limit) = criteria.idle_in_trx_longer_than {
        for s in &state.sessions {
            let open_trx = super::waits::has_open_transaction(state, s.thread_id);
            if s.command == SessionCommand::Sleep && open_trx && s.time_secs >= limit.as_secs() {
                chosen.push((s.thread_id, false));
            }
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut targets = Vec::new();
    for (thread_id, explicit) in chosen {
        if !seen.insert(thread_id) {
            continue;
        }
        let Some(session) = state.sessions.iter().find(|s| s.thread_id == thread_id) else {
            continue;
        };
        if criteria.user.as_ref().is_some_and(|u| &session.user != u)
            || criteria
                .db
                .as_ref()
                .is_some_and(|d| session.db.as_ref() != Some(d))
            || criteria
                .query_pattern
                .as_ref()
                .is_some_and(|p| !session.info.as_deref().is_some_and(|q| p.is_match(q)))
        {
            continue;
        }
        let mut target = target_of(state, analysis, session);
        target.refused = if state.lockdiag_thread_ids.contains(&thread_id) {
            Some("it is lockdiag's own connection".into())
        } else {
            protected_reason(session).filter(|_| !(explicit && criteria.force))
        };
        targets.push(target);
    }
    (targets, missing)
}

/// Whether replication threads run on the server (a replica), as far as the
/// processlist shows (without PROCESS they are invisible).
pub fn replication_threads_seen(state: &LiveState) -> bool {
    state.sessions.iter().any(is_replica_thread)
}

/// `trx 274`, or for MariaDB's id 0 what it means: a transaction that has only read.
pub fn transaction_label(trx_id: &str) -> String {
    if trx_id == "0" {
        "a read-only trx (no id yet)".to_string()
    } else {
        format!("trx {trx_id}")
    }
}

/// `thread 18 app@10.0.0.5 idle in transaction for 42s, trx 274, 3 row locks on shop.payments,
/// 1 row modified — killing it unblocks 4 sessions (longest wait 40s); its transaction rolls back`.
pub fn describe_target(t: &KillTarget, kill_query: bool) -> String {
    let doing = match t.state {
        SessionState::IdleInTrx => format!("idle in transaction for {}s", t.time_secs),
        SessionState::Idle => format!("idle for {}s", t.time_secs),
        SessionState::Waiting => format!("waiting for a lock for {}s", t.time_secs),
        _ => format!("running {} for {}s", t.command, t.time_secs),
    };
    let mut parts = vec![format!(
        "thread {} {}@{} {doing}",
        t.thread_id, t.user, t.host
    )];
    if let Some(trx) = &t.trx_id {
        parts.push(transaction_label(trx));
    }
    if let Some(rows) = t.rows_locked {
        let on = if t.locked_tables.is_empty() {
            String::new()
        } else {
            format!(" on {}", t.locked_tables.join(", "))
        };
        parts.push(format!("{rows} row lock(s){on}"));
    }
    if let Some(modified) = t.rows_modified {
        parts.push(format!("{modified} row(s) modified"));
    }
    let effect = if kill_query {
        if t.state == SessionState::IdleInTrx {
            "KILL QUERY stops no statement (none is running) and releases no lock".to_string()
        } else {
            "its statement is stopped; its transaction and locks stay".to_string()
        }
    } else if t.blocked_sessions > 0 {
        let rollback = if t.trx_id.is_some() {
            "; its transaction rolls back"
        } else {
            ""
        };
        format!(
            "killing it unblocks {} session(s) (longest wait {}s){rollback}",
            t.blocked_sessions, t.longest_wait_secs
        )
    } else if t.trx_id.is_some() {
        "killing it blocks nobody now; its transaction rolls back".to_string()
    } else {
        "killing it ends the connection".to_string()
    };
    format!("{} — {effect}", parts.join(", "))
}

/// One session as read again right before acting on it: the processlist row
/// and its transaction, if any.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionNow {
    pub user: String,
    pub host: String,
    pub command: SessionCommand,
    pub time_secs: u64,
    pub info: Option<String>,
    pub query_id: Option<u64>,
    pub trx_id: Option<String>,
    pub trx_started: Option<String>,
}

impl SessionNow {
    /// The session `thread_id` in a full collection.
    pub fn in_state(state: &LiveState, thread_id: u64) -> Option<SessionNow> {
        let session = state.sessions.iter().find(|s| s.thread_id == thread_id)?;
        let trx = state.transactions.iter().find(|t| t.thread_id == thread_id);
        Some(SessionNow {
            user: session.user.clone(),
            host: session.host.clone(),
            command: session.command.clone(),
            time_secs: session.time_secs,
            info: session.info.clone(),
            query_id: session.query_id,
            trx_id: trx.map(|t| t.trx_id.clone()),
            trx_started: trx.and_then(|t| t.started.clone()),
        })
    }
}

/// Whether `now` is still the session the operator saw as `target`: the same
/// account, the same transaction (by id, and by start time — a MariaDB
/// read-only transaction has id 0, so there the statement id must not have
/// moved either), no transaction begun since, no new command; with
/// `kill_query`, the same statement (MariaDB's query id, else its text and
/// start). `Err` says what changed.
pub fn same_session(
    target: &KillTarget,
    now: Option<&SessionNow>,
    kill_query: bool,
) -> Result<(), String> {
    let id = target.thread_id;
    let Some(now) = now else {
        return Err(format!("thread {id} is gone"));
    };
    if now.user != target.user || now.host != target.host {
        return Err(format!(
            "thread {id} now belongs to {}@{}, not {}@{}",
            now.user, now.host, target.user, target.host
        ));
    }
    let statement_moved = match (target.query_id, now.query_id) {
        (Some(then), Some(current)) => then != current,
        _ => {
            now.info != target.query
                || (now.command == target.command && now.time_secs + 1 < target.time_secs)
        }
    };
    match (&target.trx_id, &now.trx_id) {
        (Some(then), None) => {
            return Err(format!(
                "thread {id}'s transaction {then} ended: its locks are released"
            ))
        }
        (None, Some(current)) => {
            return Err(format!(
                "thread {id} began transaction {current} since it was listed"
            ))
        }
        (Some(then), Some(current)) => {
            if then != "0" && then != current {
                return Err(format!(
                    "thread {id}'s transaction {then} ended (now in trx {current})"
                ));
            }
            if target.trx_started.is_some() && now.trx_started != target.trx_started {
                return Err(format!(
                    "thread {id}'s transaction ended; another began at {}",
                    now.trx_started.as_deref().unwrap_or("?")
                ));
            }
            if then == "0" && statement_moved {
                return Err(format!(
                    "thread {id} ran another statement since it was listed, and its read-only transaction (id 0) cannot be told from a new one"
                ));
            }
        }
        (None, None) => {}
    }
    if now.command == target.command && now.time_secs + 1 < target.time_secs {
        return Err(format!(
            "thread {id} started a new command since it was listed"
        ));
    }
    if kill_query && statement_moved {
        return Err(format!(
            "thread {id} now runs another statement than the one listed"
        ));
    }
    Ok(())
}

/// Checks, against a fresh collection, that the target is still the same
/// session ([`same_session`]) and still chosen by the criteria.
pub fn reverify(
    target: &KillTarget,
    fresh: &[KillTarget],
    fresh_state: &LiveState,
    kill_query: bool,
) -> Result<(), String> {
    let now = SessionNow::in_state(fresh_state, target.thread_id);
    same_session(target, now.as_ref(), kill_query)?;
    if !fresh
        .iter()
        .any(|t| t.thread_id == target.thread_id && t.refused.is_none())
    {
        return Err(format!("thread {} no longer qualifies", target.thread_id));
    }
    Ok(())
}

/// The server a kill goes to, as an operator recognises it (shown before any kill,
/// written in every audit record).
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct KillServer {
    /// `@@hostname`.
    pub hostname: Option<String>,
    pub port: Option<u64>,
    pub server_id: Option<u64>,
    pub version: String,
    /// `@@read_only`.
    pub read_only: Option<bool>,
    /// Replication threads are running on it (seen in the processlist).
    pub replica: bool,
}

impl KillServer {
    /// `db-primary:3306 (server_id 1, 10.11.19-MariaDB, read-write, not a replica)`.
    pub fn describe(&self) -> String {
        let mut facts = Vec::new();
        if let Some(id) = self.server_id {
            facts.push(format!("server_id {id}"));
        }
        facts.push(self.version.clone());
        match self.read_only {
            Some(true) => facts.push("read-only".into()),
            Some(false) => facts.push("read-write".into()),
            None => {}
        }
        facts.push(
            if self.replica {
                "a replica"
            } else {
                "not a replica"
            }
            .into(),
        );
        format!(
            "{}:{} ({})",
            self.hostname.as_deref().unwrap_or("?"),
            self.port.map_or("?".to_string(), |p| p.to_string()),
            facts.join(", ")
        )
    }

    /// Whether this is the server `--expect-server` names: `HOST` (as
    /// `@@hostname`, case-insensitive, a domain suffix allowed either way) or `HOST:PORT`.
    pub fn is(&self, expected: &str) -> bool {
        let (host, port) = match expected.rsplit_once(':') {
            Some((h, p)) if p.parse::<u64>().is_ok() => (h, p.parse::<u64>().ok()),
            _ => (expected, None),
        };
        let Some(name) = self.hostname.as_deref() else {
            return false;
        };
        let short = |n: &str| n.split('.').next().unwrap_or(n).to_ascii_lowercase();
        let host_ok = name.eq_ignore_ascii_case(host)
            || (!host.contains('.') && short(name) == host.to_ascii_lowercase())
            || (!name.contains('.') && short(host) == name.to_ascii_lowercase());
        host_ok && port.is_none_or(|p| self.port == Some(p))
    }
}

/// What happened to one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum KillOutcome {
    /// Chosen, not acted on yet (only in the plan).
    Pending,
    /// Never killed by lockdiag (its own connection, replication, a daemon).
    Refused,
    /// The operator said no, or there was no terminal to ask and no `--yes`.
    Declined,
    /// `--dry-run`: the statement was printed and audited, not sent.
    DryRun,
    /// The re-check right before the KILL found it changed.
    Skipped,
    Killed,
    /// The server refused the KILL.
    Failed,
}

impl KillOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            KillOutcome::Pending => "pending",
            KillOutcome::Refused => "refused",
            KillOutcome::Declined => "declined",
            KillOutcome::DryRun => "dry_run",
            KillOutcome::Skipped => "skipped",
            KillOutcome::Killed => "killed",
            KillOutcome::Failed => "failed",
        }
    }
}

/// A target with the statement that kills it and what became of it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct KillResult {
    #[serde(flatten)]
    pub target: KillTarget,
    pub statement: String,
    pub outcome: KillOutcome,
    pub detail: Option<String>,
    /// Microseconds from the re-check's answer to the KILL's: the window in
    /// which the session could have changed unseen (killed targets only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recheck_to_kill_us: Option<u64>,
}

/// What `kill` is about to do, shown before the confirmation.
#[derive(Debug, Clone, Serialize)]
pub struct KillPlan {
    /// Where the kills would go.
    pub server: KillServer,
    pub targets: Vec<KillResult>,
    /// Ids asked for that are not in the processlist.
    pub missing_thread_ids: Vec<u64>,
    /// `--query`: KILL QUERY instead of KILL CONNECTION.
    pub kill_query: bool,
}

/// What `kill` did (`docs/json.md`, "kill").
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct KillReport {
    /// Where the kills went.
    pub server: KillServer,
    pub dry_run: bool,
    pub audit_log: Option<String>,
    pub targets: Vec<KillResult>,
    /// Why nothing or not everything was done (no terminal, …), for people.
    #[serde(skip)]
    pub notes: Vec<String>,
    /// Ids asked for that are not in the processlist.
    #[serde(skip)]
    pub missing_thread_ids: Vec<u64>,
    /// Root blockers no KILL can end (a transaction without a session: an XA
    /// transaction left PREPARED, or one recovered after a crash).
    pub unkillable: Vec<UnkillableRoot>,
}

/// A root blocker without a session: nothing to KILL; `XA RECOVER`, then `XA COMMIT`
/// or `XA ROLLBACK` with its xid ends it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct UnkillableRoot {
    pub trx_id: Option<String>,
    pub trx_age_secs: Option<u64>,
    pub rows_modified: Option<u64>,
    /// Sessions that wait for it, directly or through others.
    pub blocked_sessions: u64,
    pub longest_wait_secs: u64,
    /// What ends it instead, for people.
    pub detail: String,
}

impl UnkillableRoot {
    /// The session-less roots of an analysis.
    pub fn of(analysis: &WaitAnalysis) -> Vec<UnkillableRoot> {
        analysis
            .root_blockers
            .iter()
            .filter(|r| r.state == SessionState::NoSession)
            .map(|root| UnkillableRoot {
                trx_id: root.trx_id.clone(),
                trx_age_secs: root.trx_age_secs,
                rows_modified: root.rows_modified,
                blocked_sessions: root.blocked_sessions,
                longest_wait_secs: root.longest_wait_secs,
                detail: format!(
                    "transaction {} holds up {} session(s) but has no session to kill (an XA transaction left PREPARED, or one recovered after a crash): run XA RECOVER, then XA COMMIT or XA ROLLBACK with its xid",
                    root.trx_id.as_deref().unwrap_or("?"),
                    root.blocked_sessions
                ),
            })
            .collect()
    }
}

impl KillReport {
    /// Everything asked for was done (or there was nothing to do).
    pub fn all_done(&self) -> bool {
        self.missing_thread_ids.is_empty()
            && self.unkillable.is_empty()
            && self
                .targets
                .iter()
                .all(|r| matches!(r.outcome, KillOutcome::Killed | KillOutcome::DryRun))
    }

    /// Some target was sent a KILL and the server refused every one.
    pub fn only_failures(&self) -> bool {
        self.targets
            .iter()
            .any(|r| r.outcome == KillOutcome::Failed)
            && self
                .targets
                .iter()
                .all(|r| r.outcome != KillOutcome::Killed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Transaction;

    fn session(id: u64, user: &str, command: &str) -> Session {
        Session {
            thread_id: id,
            user: user.into(),
            host: "10.0.0.5".into(),
            command: command.into(),
            time_secs: 42,
            ..Session::default()
        }
    }

    #[test]
    fn protected_threads() {
        assert!(protected_reason(&session(1, "system user", "Connect")).is_some());
        assert!(protected_reason(&session(2, "repl", "Binlog Dump GTID")).is_some());
        assert!(protected_reason(&session(3, "event_scheduler", "Daemon")).is_some());
        assert!(protected_reason(&session(4, "app", "Sleep")).is_none());
    }

    fn state() -> LiveState {
        LiveState {
            sessions: vec![
                session(18, "app", "Sleep"),
                session(20, "system user", "Connect"),
                session(30, "lockdiag", "Query"),
            ],
            transactions: vec![Transaction {
                trx_id: "274".into(),
                thread_id: 18,
                rows_locked: 3,
                rows_modified: 1,
                ..Transaction::default()
            }],
            lockdiag_thread_ids: vec![30],
            ..LiveState::default()
        }
    }

    /// Three sessions waiting in a circle (detection off): no root, and the member whose
    /// rollback costs least is the candidate.
    #[test]
    fn a_cycle_offers_its_cheapest_member() {
        let wait = |waiting: u64, blocking: u64| crate::model::LockWait {
            waiting_thread_id: waiting,
            blocking_thread_id: blocking,
            kind: crate::model::WaitKind::Row,
            waiting_trx_id: None,
            blocking_trx_id: None,
            schema: None,
            table: None,
            index: None,
            lock_mode: "X".into(),
            blocking_lock_mode: None,
            blocking_lock_status: Some(LockStatus::Granted),
            lock_data: None,
            wait_secs: 5,
        };
        let trx = |thread: u64, modified: u64| Transaction {
            trx_id: format!("{thread}00"),
            thread_id: thread,
            rows_modified: modified,
            ..Transaction::default()
        };
        let s = LiveState {
            sessions: vec![
                session(1, "a", "Query"),
                session(2, "b", "Query"),
                session(3, "c", "Query"),
            ],
            transactions: vec![trx(1, 5), trx(2, 1), trx(3, 3)],
            row_waits: vec![wait(1, 2), wait(2, 3), wait(3, 1)],
            ..LiveState::default()
        };
        let analysis = crate::analyze::analyze_waits(&s);
        assert!(analysis.root_blockers.is_empty());
        assert_eq!(analysis.cycles, vec![vec![1, 2, 3]]);
        let criteria = KillCriteria {
            root_blockers: true,
            ..KillCriteria::default()
        };
        let (targets, _) = select_targets(&s, &analysis, &criteria);
        assert_eq!(
            targets.iter().map(|t| t.thread_id).collect::<Vec<_>>(),
            vec![2]
        );
    }

    #[test]
    fn explicit_ids_own_and_protected_are_refused_unless_forced() {
        let s = state();
        let analysis = WaitAnalysis::default();
        let criteria = KillCriteria {
            thread_ids: vec![18, 20, 30, 99],
            ..KillCriteria::default()
        };
        let (targets, missing) = select_targets(&s, &analysis, &criteria);
        assert_eq!(missing, vec![99]);
        let refused: Vec<(u64, bool)> = targets
            .iter()
            .map(|t| (t.thread_id, t.refused.is_some()))
            .collect();
        assert_eq!(refused, vec![(18, false), (20, true), (30, true)]);
        let forced = KillCriteria {
            force: true,
            ..criteria
        };
        let (targets, _) = select_targets(&s, &analysis, &forced);
        let refused: Vec<(u64, bool)> = targets
            .iter()
            .map(|t| (t.thread_id, t.refused.is_some()))
            .collect();
        assert_eq!(
            refused,
            vec![(18, false), (20, false), (30, true)],
            "--force never kills lockdiag itself"
        );
    }

    #[test]
    fn description_and_reverification() {
        let s = state();
        let criteria = KillCriteria {
            thread_ids: vec![18],
            ..KillCriteria::default()
        };
        let (targets, _) = select_targets(&s, &WaitAnalysis::default(), &criteria);
        let text = describe_target(&targets[0], false);
        assert!(text.starts_with("thread 18 app@10.0.0.5 idle in transaction for 42s, trx 274, 3 row lock(s), 1 row(s) modified"), "{text}");
        assert!(describe_target(&targets[0], true).contains("releases no lock"));
        assert!(reverify(&targets[0], &targets, &s, false).is_ok());
        // The transaction ended and a new one began: not the listed target any more.
        let mut later = s.clone();
        later.transactions[0].trx_id = "275".into();
        assert!(reverify(&targets[0], &targets, &later, false)
            .unwrap_err()
            .contains("ended"));
        // The id now belongs to another account.
        let mut reused = s.clone();
        reused.sessions[0].user = "other".into();
        assert!(reverify(&targets[0], &targets, &reused, false)
            .unwrap_err()
            .contains("now belongs to"));
    }

    #[test]
    fn identity_of_read_only_transactions_and_statements() {
        // A MariaDB read-only transaction: id 0, started in the same second as the next one.
        let target = KillTarget {
            thread_id: 7,
            user: "app".into(),
            host: "h".into(),
            command: "Sleep".into(),
            time_secs: 30,
            trx_id: Some("0".into()),
            trx_started: Some("2026-11-29 07:00:00".into()),
            query_id: Some(100),
            ..KillTarget::default()
        };
        let now = SessionNow {
            user: "app".into(),
            host: "h".into(),
            command: "Sleep".into(),
            time_secs: 31,
            query_id: Some(100),
            trx_id: Some("0".into()),
            trx_started: Some("2026-11-29 07:00:00".into()),
            ..SessionNow::default()
        };
        assert_eq!(same_session(&target, Some(&now), false), Ok(()));
        // COMMIT; BEGIN; SELECT … within the second: only the statement id tells.
        let replaced = SessionNow {
            query_id: Some(103),
            time_secs: 0,
            ..now.clone()
        };
        let why = same_session(&target, Some(&replaced), false).unwrap_err();
        assert!(why.contains("read-only transaction (id 0)"), "{why}");
        // A new start time is a new transaction whatever the id.
        let later = SessionNow {
            trx_started: Some("2026-11-29 07:00:05".into()),
            ..now.clone()
        };
        assert!(same_session(&target, Some(&later), false)
            .unwrap_err()
            .contains("another began"));
        // --query: another statement of the same session is not the listed one.
        let running = KillTarget {
            command: "Query".into(),
            trx_id: None,
            trx_started: None,
            ..target.clone()
        };
        let next = SessionNow {
            command: "Query".into(),
            query_id: Some(101),
            trx_id: None,
            trx_started: None,
            ..now.clone()
        };
        assert!(same_session(&running, Some(&next), true)
            .unwrap_err()
            .contains("another statement"));
        // Without query ids (MySQL): the text and the statement's start decide.
        let mysql = KillTarget {
            query_id: None,
            query: Some("SELECT SLEEP(60)".into()),
            ..running.clone()
        };
        let same = SessionNow {
            query_id: None,
            info: Some("SELECT SLEEP(60)".into()),
            time_secs: 32,
            ..next.clone()
        };
        assert_eq!(same_session(&mysql, Some(&same), true), Ok(()));
        let restarted = SessionNow {
            time_secs: 2,
            ..same.clone()
        };
        assert!(same_session(&mysql, Some(&restarted), true).is_err());
        assert!(same_session(&mysql, None, true)
            .unwrap_err()
            .contains("gone"));
    }
}

/// Which step of a target's kill a line records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditPhase {
    /// About to re-check and send (outcome `pending`).
    Before,
    /// The statement was sent (or the re-check right before it skipped it): the outcome.
    After,
    /// Not sent: the target no longer qualified, or its re-check failed.
    Skipped,
    /// `--dry-run`: the one record of a target, nothing sent. A dry run never
    /// writes `before`, which promises an `after`.
    DryRun,
}

/// One line of the kill audit log (`act::audit` writes it).
#[derive(Debug, Serialize, JsonSchema)]
pub struct AuditRecord<'a> {
    /// RFC 3339, UTC.
    pub time: String,
    pub phase: AuditPhase,
    pub os_user: String,
    /// The account lockdiag is connected as.
    pub db_user: Option<&'a str>,
    pub server: &'a KillServer,
    pub target: &'a KillTarget,
    pub statement: &'a str,
    pub dry_run: bool,
    /// `pending`, `killed`, `failed`, `skipped`, `dry_run`.
    pub outcome: &'a str,
    pub detail: Option<String>,
}
