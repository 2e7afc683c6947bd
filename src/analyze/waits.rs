//! The wait-for graph over sessions, row and metadata waits together, and
//! what it says: root blockers, the tree of waiters under each, cycles.
//!
//! It is a multigraph: a session can wait for several blockers at once (a
//! pending metadata lock behind two holders; a row wait with two granted
//! conflicting locks) and a waiter can itself block others.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::{
    LiveState, LockStatus, LockWait, MdlDuration, MdlStatus, Session, SessionCommand, SourceName,
    SourceState, StatementEvent, Transaction, WaitKind,
};

use super::metadata::metadata_waits;

/// What a session is doing, as far as locks are concerned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// Running a statement.
    Running,
    /// Command `Sleep` with an open transaction: its locks stay until COMMIT, ROLLBACK or disconnect,
    /// and its current query (none) says nothing about them. The usual culprit.
    IdleInTrx,
    /// Command `Sleep`, no InnoDB transaction visible (it can still hold metadata locks:
    /// LOCK TABLES, FLUSH TABLES WITH READ LOCK, a transaction that has not touched InnoDB yet).
    Idle,
    /// Waiting for a lock itself.
    Waiting,
    /// Not in the visible processlist (no PROCESS privilege, or it just ended).
    #[default]
    Unknown,
    /// A transaction with no session at all (`trx_mysql_thread_id` 0): an XA
    /// transaction left PREPARED, or one recovered after a crash. No KILL ends
    /// it: `XA RECOVER`, then `XA COMMIT` or `XA ROLLBACK` with its xid.
    NoSession,
}

/// A session in the waits tree: a root blocker, or a waiter below one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BlockerNode {
    /// The processlist id (what `KILL` takes).
    pub thread_id: u64,
    pub trx_id: Option<String>,
    pub user: Option<String>,
    pub host: Option<String>,
    pub db: Option<String>,
    pub command: Option<SessionCommand>,
    pub state: SessionState,
    /// Seconds idle, for `idle_in_trx` / `idle`.
    pub idle_secs: Option<u64>,
    pub trx_age_secs: Option<u64>,
    pub rows_locked: Option<u64>,
    /// Rows changed by its transaction: a hint of how long a rollback takes.
    pub rows_modified: Option<u64>,
    pub query: Option<String>,
    /// Sessions held up directly.
    pub blocked_directly: u64,
    /// Sessions held up directly or through others.
    pub blocked_sessions: u64,
    /// Longest wait among the sessions below.
    pub longest_wait_secs: u64,
    /// How this session waits for its parent in the tree (absent for roots).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait: Option<LockWait>,
    /// On a root blocker: the statements its session ran in its current transaction
    /// (those that started since the transaction did), oldest first — what took the locks
    /// it holds while idle. `None` when the history could not be read (`sources[]` says
    /// why: performance_schema or its consumers off).
    pub statement_history: Option<Vec<StatementEvent>>,
    /// On a waiter whose row-lock wait is within 20 % of `innodb_lock_wait_timeout`
    /// (the server's default): seconds until it fails with error 1205.
    pub fails_in_secs: Option<u64>,
    /// On a waiter: an INSERT waiting for a shared (or, for REPLACE / ON DUPLICATE KEY
    /// UPDATE, exclusive) lock on a record — InnoDB's duplicate-key check against a key
    /// another open transaction wrote: if that one commits, this INSERT fails with a
    /// duplicate-key error (1062); if it rolls back, this INSERT proceeds.
    pub duplicate_key_check: bool,
    /// This session also waits for another blocker, under which it is described
    /// in full (with its own waiters): here it is a reference, without waiters.
    /// Each session is expanded once, so a pile-up stays linear in size.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub expanded_elsewhere: bool,
    pub waiters: Vec<BlockerNode>,
}

/// The wait picture of one collection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WaitAnalysis {
    /// Sessions that block others and wait for nobody, most harmful first.
    pub root_blockers: Vec<BlockerNode>,
    /// Every edge, row and metadata.
    pub waits: Vec<LockWait>,
    /// Sessions waiting in a circle (possible with `innodb_deadlock_detect=OFF`,
    /// or caught mid-detection): each a list of processlist ids.
    pub cycles: Vec<Vec<u64>>,
    pub waiting_sessions: u64,
}

/// The state of a session from its processlist row and whether it has a
/// transaction open (an InnoDB transaction, or a metadata lock held until the
/// transaction ends: a transaction that has only read non-InnoDB tables, or
/// whose reads InnoDB does not list).
pub fn session_state(session: Option<&Session>, open_trx: bool, waiting: bool) -> SessionState {
    if waiting {
        return SessionState::Waiting;
    }
    match session {
        None => SessionState::Unknown,
        Some(s) if s.command == SessionCommand::Sleep => {
            if open_trx {
                SessionState::IdleInTrx
            } else {
                SessionState::Idle
            }
        }
        Some(_) => SessionState::Running,
    }
}

/// The blocker's request is itself only queued ahead, not granted.
fn is_queue_edge(wait: &LockWait) -> bool {
    wait.blocking_lock_status == Some(LockStatus::Waiting)
}

/// Builds the graph: row waits as the server lists them plus metadata waits
/// derived from the lock queues; lockdiag's own sessions and self-waits dropped.
pub fn all_waits(state: &LiveState) -> Vec<LockWait> {
    let mut waits: Vec<LockWait> = state.row_waits.clone();
    waits.extend(metadata_waits(&state.metadata_locks, &state.sessions));
    waits.retain(|w| {
        w.waiting_thread_id != w.blocking_thread_id
            && !state.lockdiag_thread_ids.contains(&w.waiting_thread_id)
            && !state.lockdiag_thread_ids.contains(&w.blocking_thread_id)
    });
    // The same pair can be listed once per conflicting lock: keep one edge per pair and kind.
    let mut seen = BTreeSet::new();
    waits.retain(|w| {
        seen.insert((
            w.waiting_thread_id,
            w.blocking_thread_id,
            w.kind == WaitKind::Row,
        ))
    });
    // A waiter is also listed behind every earlier request queued on the same lock: N sessions
    // on one row make N(N+1)/2 edges. Where a waiter has a holder to blame, its queue edges
    // say nothing more; a waiter blocked only by queued requests (SELECTs behind a pending
    // ALTER) keeps them.
    let has_holder: BTreeSet<u64> = waits
        .iter()
        .filter(|w| !is_queue_edge(w))
        .map(|w| w.waiting_thread_id)
        .collect();
    waits.retain(|w| !is_queue_edge(w) || !has_holder.contains(&w.waiting_thread_id));
    waits
}

/// Sessions whose processlist state says they wait for a metadata lock
/// (visible even without performance_schema).
pub fn sessions_in_metadata_lock_wait(state: &LiveState) -> Vec<u64> {
    state
        .sessions
        .iter()
        .filter(|s| {
            s.state
                .as_deref()
                .is_some_and(|st| st.contains("metadata lock"))
        })
        .map(|s| s.thread_id)
        .collect()
}

/// Holds a metadata lock that lasts until its transaction ends.
pub fn holds_transaction_mdl(state: &LiveState, thread_id: u64) -> bool {
    state.metadata_locks.iter().any(|m| {
        m.thread_id == thread_id
            && m.lock_status == MdlStatus::Granted
            && m.duration == Some(MdlDuration::Transaction)
    })
}

/// The one definition of "this session has a transaction open": InnoDB lists a
/// transaction for it, or it holds a metadata lock that lasts until its
/// transaction ends (a transaction that only read, or read non-InnoDB tables,
/// which InnoDB may not list).
pub fn has_open_transaction(state: &LiveState, thread_id: u64) -> bool {
    state.transactions.iter().any(|t| t.thread_id == thread_id)
        || holds_transaction_mdl(state, thread_id)
}

/// The one count of open transactions: every transaction InnoDB lists (one with no
/// session, an XA transaction left PREPARED, included) and every session holding a
/// metadata lock that lasts until its transaction ends while InnoDB lists none for it
/// (it only read, or read non-InnoDB tables); lockdiag's own never.
pub fn open_transaction_count(state: &LiveState) -> u64 {
    let own = |id: u64| state.lockdiag_thread_ids.contains(&id);
    let innodb = state
        .transactions
        .iter()
        .filter(|t| !own(t.thread_id))
        .count();
    let listed: BTreeSet<u64> = state.transactions.iter().map(|t| t.thread_id).collect();
    let metadata_only: BTreeSet<u64> = state
        .metadata_locks
        .iter()
        .map(|m| m.thread_id)
        .filter(|&id| !own(id) && !listed.contains(&id) && holds_transaction_mdl(state, id))
        .collect();
    (innodb + metadata_only.len()) as u64
}

/// The graph with what each node needs looked up once (hundreds of waiters are common).
struct Graph<'a> {
    sessions: HashMap<u64, &'a Session>,
    transactions: HashMap<u64, &'a Transaction>,
    /// Sessions holding a transaction-long metadata lock.
    mdl_in_trx: BTreeSet<u64>,
    /// waiter → its longest wait
    longest_wait: HashMap<u64, u64>,
    /// blocker → edges of the sessions waiting for it
    waiters_of: BTreeMap<u64, Vec<&'a LockWait>>,
    /// thread → (sessions held up through it, their longest wait), computed once each.
    held_up: std::cell::RefCell<HashMap<u64, (u64, u64)>>,
    /// Sessions in a wait cycle (where counts cannot be added up).
    in_cycle: BTreeSet<u64>,
    /// Blockers without a session (thread 0) stand in the graph under a key of their own
    /// per transaction, from [`NO_SESSION_KEYS`] up: several such transactions stay apart.
    no_session_trx: HashMap<u64, &'a str>,
    transactions_by_id: HashMap<&'a str, &'a Transaction>,
    /// The server's `innodb_lock_wait_timeout`, seconds.
    lock_wait_timeout: Option<u64>,
    statement_history: &'a std::collections::BTreeMap<u64, Vec<StatementEvent>>,
    /// The statement history was read (a source entry says so).
    history_read: bool,
}

/// Whether a row wait is InnoDB's duplicate-key check of an INSERT: an insert waits for
/// a record lock on its own table only to check a key (its own new row waits on the gap,
/// as an insert intention), in S mode — X for REPLACE and INSERT … ON DUPLICATE KEY
/// UPDATE. A wait on another table (a foreign-key check, INSERT … SELECT's read) is not.
fn is_duplicate_key_check(wait: &LockWait, statement: Option<&str>) -> bool {
    let Some(insert) = statement.and_then(super::sql_text::insert_statement) else {
        return false;
    };
    if wait.kind != WaitKind::Row
        || !wait
            .table
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case(&insert.table))
    {
        return false;
    }
    let mode = wait.lock_mode.to_ascii_uppercase();
    let mut parts = mode.split(',').map(str::trim);
    let base = parts.next().unwrap_or("");
    let gap_only = mode.contains("INSERT_INTENTION") || parts.any(|p| p == "GAP");
    !gap_only && (base == "S" || (insert.upsert && base == "X"))
}

/// Where the graph keys of blockers without a session start (far above any processlist id).
const NO_SESSION_KEYS: u64 = 1 << 62;

/// The graph key of an edge's blocker: its thread, or its transaction's key when it has none.
fn blocker_key(w: &LockWait, no_session: &BTreeMap<&str, u64>) -> u64 {
    match (&w.blocking_trx_id, w.blocking_thread_id) {
        (Some(trx), 0) => no_session.get(trx.as_str()).copied().unwrap_or(0),
        _ => w.blocking_thread_id,
    }
}

impl<'a> Graph<'a> {
    fn new(state: &'a LiveState, waits: &'a [LockWait], cycles: &[Vec<u64>]) -> Self {
        let mut waiters_of: BTreeMap<u64, Vec<&LockWait>> = BTreeMap::new();
        let mut longest_wait: HashMap<u64, u64> = HashMap::new();
        let mut no_session: BTreeMap<&str, u64> = BTreeMap::new();
        for w in waits {
            if let (Some(trx), 0) = (&w.blocking_trx_id, w.blocking_thread_id) {
                let next = NO_SESSION_KEYS + no_session.len() as u64;
                no_session.entry(trx.as_str()).or_insert(next);
            }
        }
        for w in waits {
            waiters_of
                .entry(blocker_key(w, &no_session))
                .or_default()
                .push(w);
            let longest = longest_wait.entry(w.waiting_thread_id).or_default();
            *longest = (*longest).max(w.wait_secs);
        }
        Graph {
            sessions: state.sessions.iter().map(|s| (s.thread_id, s)).collect(),
            transactions: state
                .transactions
                .iter()
                .map(|t| (t.thread_id, t))
                .collect(),
            // One pass (a check per lock against every lock was quadratic at 40,000 rows).
            mdl_in_trx: state
                .metadata_locks
                .iter()
                .filter(|m| {
                    m.lock_status == MdlStatus::Granted
                        && m.duration == Some(MdlDuration::Transaction)
                })
                .map(|m| m.thread_id)
                .collect(),
            longest_wait,
            waiters_of,
            held_up: Default::default(),
            in_cycle: cycles.iter().flatten().copied().collect(),
            no_session_trx: no_session.into_iter().map(|(t, k)| (k, t)).collect(),
            transactions_by_id: state
                .transactions
                .iter()
                .map(|t| (t.trx_id.as_str(), t))
                .collect(),
            lock_wait_timeout: state.server.innodb_lock_wait_timeout_secs,
            statement_history: &state.statement_history,
            history_read: state
                .sources
                .iter()
                .any(|s| s.source == SourceName::StatementHistory && s.status == SourceState::Ok),
        }
    }

    /// Sessions waiting for `thread_id` directly or through others, and the longest wait among them.
    fn held_up_by(&self, thread_id: u64) -> (u64, u64) {
        if let Some(known) = self.held_up.borrow().get(&thread_id) {
            return *known;
        }
        // One waiter and no cycle (200 readers in front of one ALTER): its figures plus itself,
        // without walking the same queue again for every reader.
        let direct: BTreeSet<u64> = self
            .waiters_of
            .get(&thread_id)
            .into_iter()
            .flatten()
            .map(|w| w.waiting_thread_id)
            .collect();
        if direct.len() == 1 && !self.in_cycle.contains(&thread_id) {
            let only = *direct.iter().next().unwrap_or(&thread_id);
            if only != thread_id && !self.in_cycle.contains(&only) {
                let (count, longest) = self.held_up_by(only);
                let own = self.longest_wait.get(&only).copied().unwrap_or(0);
                let figures = (count + 1, longest.max(own));
                self.held_up.borrow_mut().insert(thread_id, figures);
                return figures;
            }
        }
        let below = self.transitive_waiters(thread_id);
        let longest = below
            .iter()
            .filter_map(|t| self.longest_wait.get(t))
            .max()
            .copied()
            .unwrap_or(0);
        let figures = (below.len() as u64, longest);
        self.held_up.borrow_mut().insert(thread_id, figures);
        figures
    }

    fn node(
        &self,
        thread_id: u64,
        wait: Option<&LockWait>,
        ancestors: &mut Vec<u64>,
        expanded: &mut BTreeSet<u64>,
    ) -> BlockerNode {
        // Met again (it waits for several blockers): a reference, not a second copy.
        let first_time = expanded.insert(thread_id);
        let orphan = self.no_session_trx.get(&thread_id).copied();
        let session = self.sessions.get(&thread_id).copied();
        let trx = match orphan {
            Some(trx_id) => self.transactions_by_id.get(trx_id).copied(),
            None => self.transactions.get(&thread_id).copied(),
        };
        let is_waiting = self.longest_wait.contains_key(&thread_id);
        let state = if orphan.is_some() {
            SessionState::NoSession
        } else {
            session_state(
                session,
                trx.is_some() || self.mdl_in_trx.contains(&thread_id),
                is_waiting,
            )
        };
        let mut waiters: Vec<BlockerNode> = Vec::new();
        if first_time {
            ancestors.push(thread_id);
            for edge in self.waiters_of.get(&thread_id).into_iter().flatten() {
                if !ancestors.contains(&edge.waiting_thread_id) {
                    waiters.push(self.node(
                        edge.waiting_thread_id,
                        Some(edge),
                        ancestors,
                        expanded,
                    ));
                }
            }
            ancestors.pop();
        }
        let (held_up, longest) = self.held_up_by(thread_id);
        let blocked_directly = self.waiters_of.get(&thread_id).map_or(0, |e| {
            e.iter()
                .map(|w| w.waiting_thread_id)
                .collect::<BTreeSet<_>>()
                .len()
        });
        BlockerNode {
            // A transaction without a session has no thread: 0, as the server says.
            thread_id: if orphan.is_some() { 0 } else { thread_id },
            trx_id: trx
                .map(|t| t.trx_id.clone())
                .or_else(|| orphan.map(str::to_string)),
            user: session.map(|s| s.user.clone()),
            host: session.map(|s| s.host.clone()),
            db: session.and_then(|s| s.db.clone()),
            command: session.map(|s| s.command.clone()),
            idle_secs: matches!(state, SessionState::IdleInTrx | SessionState::Idle)
                .then(|| session.map_or(0, |s| s.time_secs)),
            state,
            trx_age_secs: trx.map(|t| t.age_secs),
            rows_locked: trx.map(|t| t.rows_locked),
            rows_modified: trx.map(|t| t.rows_modified),
            query: session
                .and_then(|s| s.info.clone())
                .or_else(|| trx.and_then(|t| t.query.clone())),
            blocked_directly: blocked_directly as u64,
            blocked_sessions: held_up,
            longest_wait_secs: longest,
            statement_history: if wait.is_none() {
                self.history_of(thread_id, trx.map(|t| t.age_secs))
            } else {
                None
            },
            fails_in_secs: wait.and_then(|w| self.fails_in(w)),
            duplicate_key_check: wait.is_some_and(|w| {
                is_duplicate_key_check(
                    w,
                    session
                        .and_then(|s| s.info.as_deref())
                        .or_else(|| trx.and_then(|t| t.query.as_deref())),
                )
            }),
            wait: wait.cloned(),
            expanded_elsewhere: !first_time,
            waiters,
        }
    }

    /// The statements of `thread`'s current transaction (`trx_age_secs` old), when read.
    fn history_of(&self, thread: u64, trx_age_secs: Option<u64>) -> Option<Vec<StatementEvent>> {
        if !self.history_read {
            return None;
        }
        let statements = self
            .statement_history
            .get(&thread)
            .map_or(&[][..], Vec::as_slice);
        // An explicit BEGIN / START TRANSACTION opens it exactly: nothing before counts.
        let opened = statements
            .iter()
            .rposition(|e| {
                let sql = e.sql.trim_start().to_ascii_uppercase();
                sql.starts_with("BEGIN") || sql.starts_with("START TRANSACTION")
            })
            .unwrap_or(0);
        Some(
            statements[opened..]
                .iter()
                // A second of slack: both ages are whole seconds.
                .filter(|e| match (e.started_secs_ago, trx_age_secs) {
                    (Some(ago), Some(age)) => ago <= age + 1,
                    _ => true,
                })
                .cloned()
                .collect(),
        )
    }

    /// Seconds until a row-lock wait fails with 1205, once it is within 20 % of the
    /// timeout (InnoDB takes 100,000,000 and above as "never").
    fn fails_in(&self, wait: &LockWait) -> Option<u64> {
        let timeout = self.lock_wait_timeout.filter(|t| *t < 100_000_000)?;
        (wait.kind == WaitKind::Row && wait.wait_secs * 5 >= timeout * 4)
            .then(|| timeout.saturating_sub(wait.wait_secs))
    }

    /// Every session that waits for `root`, directly or through others.
    fn transitive_waiters(&self, root: u64) -> BTreeSet<u64> {
        let mut found = BTreeSet::new();
        let mut stack = vec![root];
        while let Some(current) = stack.pop() {
            for edge in self.waiters_of.get(&current).into_iter().flatten() {
                if edge.waiting_thread_id != root && found.insert(edge.waiting_thread_id) {
                    stack.push(edge.waiting_thread_id);
                }
            }
        }
        found
    }
}

/// Sessions waiting in a circle: the strongly connected components of more
/// than one session (Tarjan's algorithm, iterative, linear in sessions + edges).
fn find_cycles(waits: &[LockWait]) -> Vec<Vec<u64>> {
    let mut next: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for w in waits {
        next.entry(w.waiting_thread_id)
            .or_default()
            .push(w.blocking_thread_id);
        next.entry(w.blocking_thread_id).or_default();
    }
    let mut index: HashMap<u64, usize> = HashMap::new();
    let mut low: HashMap<u64, usize> = HashMap::new();
    let mut on_stack: BTreeSet<u64> = BTreeSet::new();
    let mut stack: Vec<u64> = Vec::new();
    let mut cycles: Vec<Vec<u64>> = Vec::new();
    let mut counter = 0;
    for &start in next.keys() {
        if index.contains_key(&start) {
            continue;
        }
        // (node, position in its successor list)
        let mut work: Vec<(u64, usize)> = vec![(start, 0)];
        index.insert(start, counter);
        low.insert(start, counter);
        counter += 1;
        stack.push(start);
        on_stack.insert(start);
        while let Some(&mut (node, ref mut position)) = work.last_mut() {
            if let Some(&succ) = next[&node].get(*position) {
                *position += 1;
                if let std::collections::hash_map::Entry::Vacant(slot) = index.entry(succ) {
                    slot.insert(counter);
                    low.insert(succ, counter);
                    counter += 1;
                    stack.push(succ);
                    on_stack.insert(succ);
                    work.push((succ, 0));
                } else if on_stack.contains(&succ) {
                    let l = low[&node].min(index[&succ]);
                    low.insert(node, l);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                let l = low[&parent].min(low[&node]);
                low.insert(parent, l);
            }
            if low[&node] == index[&node] {
                let mut component = Vec::new();
                while let Some(member) = stack.pop() {
                    on_stack.remove(&member);
                    component.push(member);
                    if member == node {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort_unstable();
                    cycles.push(component);
                }
            }
        }
    }
    cycles.sort();
    cycles
}

/// Root blockers with their trees, the flat edge list and any cycles.
pub fn analyze_waits(state: &LiveState) -> WaitAnalysis {
    let waits = all_waits(state);
    let cycles = find_cycles(&waits);
    let graph = Graph::new(state, &waits, &cycles);
    // The most harmful roots first, so that shared waiters are described under them.
    let mut roots: Vec<(u64, u64, u64)> = graph
        .waiters_of
        .keys()
        .filter(|b| !graph.longest_wait.contains_key(b))
        .map(|&b| {
            let (held_up, longest) = graph.held_up_by(b);
            (b, held_up, longest)
        })
        .collect();
    roots.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.cmp(&b.0)));
    let mut expanded = BTreeSet::new();
    let root_blockers: Vec<BlockerNode> = roots
        .iter()
        .map(|&(b, _, _)| graph.node(b, None, &mut Vec::new(), &mut expanded))
        .collect();
    let waiting_sessions = graph.longest_wait.len() as u64;
    WaitAnalysis {
        root_blockers,
        cycles,
        waiting_sessions,
        waits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(id: u64, command: &str, time: u64) -> Session {
        Session {
            thread_id: id,
            user: "app".into(),
            host: "h".into(),
            command: command.into(),
            time_secs: time,
            ..Session::default()
        }
    }

    fn row_wait(waiting: u64, blocking: u64, secs: u64) -> LockWait {
        LockWait {
            waiting_thread_id: waiting,
            blocking_thread_id: blocking,
            kind: WaitKind::Row,
            waiting_trx_id: None,
            blocking_trx_id: None,
            schema: Some("shop".into()),
            table: Some("payments".into()),
            index: Some("PRIMARY".into()),
            lock_mode: "X".into(),
            blocking_lock_mode: Some("X".into()),
            blocking_lock_status: Some("GRANTED".into()),
            lock_data: Some("1".into()),
            wait_secs: secs,
        }
    }

    #[test]
    fn chain_and_unrelated_pair() {
        // A idle in trx; B waits A; C waits B; D waits A; F waits E.
        let (a, b, c, d, e, f) = (1, 2, 3, 4, 5, 6);
        let state = LiveState {
            sessions: vec![
                session(a, "Sleep", 30),
                session(b, "Query", 5),
                session(c, "Query", 3),
                session(d, "Query", 2),
                session(e, "Query", 9),
                session(f, "Query", 1),
            ],
            transactions: vec![Transaction {
                trx_id: "100".into(),
                thread_id: a,
                ..crate::model::Transaction::default()
            }],
            row_waits: vec![
                row_wait(b, a, 5),
                row_wait(c, b, 3),
                row_wait(d, a, 2),
                row_wait(f, e, 1),
            ],
            ..LiveState::default()
        };
        let analysis = analyze_waits(&state);
        let roots: Vec<(u64, u64)> = analysis
            .root_blockers
            .iter()
            .map(|r| (r.thread_id, r.blocked_sessions))
            .collect();
        assert_eq!(roots, vec![(a, 3), (e, 1)]);
        let root = &analysis.root_blockers[0];
        assert_eq!(
            (root.state, root.idle_secs, root.longest_wait_secs),
            (SessionState::IdleInTrx, Some(30), 5)
        );
        let under_b = root.waiters.iter().find(|n| n.thread_id == b).unwrap();
        assert_eq!(under_b.waiters[0].thread_id, c);
        assert!(analysis.cycles.is_empty());
    }

    /// Seed 000: an INSERT into paid_events waits for thread 1's uncommitted insert of
    /// the same key (an S lock on the unique index record); another session's UPDATE
    /// waits near innodb_lock_wait_timeout. The tree says both.
    #[test]
    fn duplicate_key_checks_and_waits_close_to_their_timeout() {
        let mut insert = session(2, "Query", 41);
        insert.info =
            Some("INSERT INTO paid_events (order_id, payment_key) VALUES (7, 'pk_7')".into());
        let mut upsert = session(3, "Query", 3);
        upsert.info = Some(
            "insert into paid_events values (7, 'pk_7') on duplicate key update n = n + 1".into(),
        );
        let mut update = session(4, "Query", 3);
        update.info = Some("UPDATE paid_events SET n = 1 WHERE order_id = 7".into());
        let mut gap = session(5, "Query", 3);
        gap.info = Some("INSERT INTO paid_events VALUES (8, 'pk_8')".into());
        let mode = |mode: &str, w: LockWait| LockWait {
            lock_mode: mode.into(),
            table: Some("paid_events".into()),
            ..w
        };
        let mut state = LiveState {
            sessions: vec![session(1, "Sleep", 60), insert, upsert, update, gap],
            transactions: vec![Transaction {
                trx_id: "100".into(),
                thread_id: 1,
                ..Transaction::default()
            }],
            row_waits: vec![
                mode("S", row_wait(2, 1, 41)),
                mode("X", row_wait(3, 1, 3)),
                mode("X,REC_NOT_GAP", row_wait(4, 1, 3)),
                mode("X,GAP,INSERT_INTENTION", row_wait(5, 1, 3)),
            ],
            ..LiveState::default()
        };
        state.server.innodb_lock_wait_timeout_secs = Some(50);
        let analysis = analyze_waits(&state);
        let waiter = |id: u64| {
            analysis.root_blockers[0]
                .waiters
                .iter()
                .find(|n| n.thread_id == id)
                .unwrap()
        };
        let checks: Vec<bool> = (2..=5).map(|id| waiter(id).duplicate_key_check).collect();
        assert_eq!(checks, [true, true, false, false]);
        // An S wait on another table (INSERT … SELECT's read, a foreign-key check) is none.
        let elsewhere = LockWait {
            lock_mode: "S".into(),
            ..row_wait(2, 1, 41)
        };
        assert!(!is_duplicate_key_check(
            &elsewhere,
            Some("INSERT INTO paid_events SELECT * FROM payments")
        ));
        // 41 s of 50: within 20 %, 9 s left; 3 s of 50 is not.
        assert_eq!(waiter(2).fails_in_secs, Some(9));
        assert_eq!(waiter(4).fails_in_secs, None);
        // InnoDB's "never" (100,000,000 and above) never fails.
        state.server.innodb_lock_wait_timeout_secs = Some(100_000_000);
        let never = analyze_waits(&state);
        assert!(never.root_blockers[0]
            .waiters
            .iter()
            .all(|n| n.fails_in_secs.is_none()));
    }

    #[test]
    fn queue_edges_are_kept_only_without_a_holder() {
        let queued = |waiting, blocking| LockWait {
            blocking_lock_status: Some("WAITING".into()),
            ..row_wait(waiting, blocking, 1)
        };
        // 3 queued behind 2 (waiting) on the row 1 holds; 5 queued only behind 4's pending request.
        let state = LiveState {
            row_waits: vec![
                row_wait(2, 1, 3),
                row_wait(3, 1, 2),
                queued(3, 2),
                queued(5, 4),
                row_wait(4, 6, 1),
            ],
            ..LiveState::default()
        };
        let pairs: Vec<(u64, u64)> = all_waits(&state)
            .iter()
            .map(|w| (w.waiting_thread_id, w.blocking_thread_id))
            .collect();
        assert_eq!(pairs, vec![(2, 1), (3, 1), (5, 4), (4, 6)]);
    }

    #[test]
    fn a_live_cycle_is_reported() {
        let state = LiveState {
            row_waits: vec![row_wait(1, 2, 1), row_wait(2, 1, 1), row_wait(3, 1, 1)],
            ..LiveState::default()
        };
        let analysis = analyze_waits(&state);
        assert!(analysis.root_blockers.is_empty());
        assert_eq!(analysis.cycles, vec![vec![1, 2]]);
    }
}
