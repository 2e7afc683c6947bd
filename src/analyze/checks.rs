//! `check` assertions over a collection: each a PASS/FAIL with its figure.

use schemars::JsonSchema;
use serde::Serialize;

use crate::model::{LiveState, MdlStatus, MetadataLock, SourceName, SourceState, TrxState};

use super::waits::{has_open_transaction, session_state, SessionState, WaitAnalysis};
use super::DeadlockAnalysis;

/// The outcome of one assertion.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CheckResult {
    /// The assertion as given, e.g. `max-lock-wait 30s`.
    pub name: String,
    /// `pass`, `fail`, or `error` (could not be checked).
    pub status: CheckStatus,
    /// The figure behind it, e.g. `longest wait 42s (thread 18 on shop.payments)`.
    pub figure: String,
    /// `ddl-ready` only: the sessions in the way of a DDL on the table, most in the way
    /// first (empty on a pass; absent when it could not be checked, and on other checks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sessions: Option<Vec<DdlBlocker>>,
}

impl CheckResult {
    /// An assertion that could not be checked, and why.
    pub fn error(name: String, figure: String) -> Self {
        CheckResult {
            name,
            status: CheckStatus::Error,
            figure,
            sessions: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Pass,
    Fail,
    Error,
}

fn result(name: String, passed: bool, figure: String) -> CheckResult {
    CheckResult {
        name,
        status: if passed {
            CheckStatus::Pass
        } else {
            CheckStatus::Fail
        },
        figure,
        sessions: None,
    }
}

/// An assertion whose source could not be read is an error, not a pass.
fn unreadable(
    state: &LiveState,
    name: &str,
    sources: &[crate::model::SourceName],
) -> Option<CheckResult> {
    let broken = state.unread(sources);
    (!broken.is_empty())
        .then(|| CheckResult::error(name.into(), format!("cannot check: {}", broken.join("; "))))
}

pub fn max_lock_wait(state: &LiveState, analysis: &WaitAnalysis, limit_secs: u64) -> CheckResult {
    let name = format!("max-lock-wait {limit_secs}s");
    if let Some(e) = unreadable(state, &name, &[crate::model::SourceName::LockWaits]) {
        return e;
    }
    match analysis.waits.iter().max_by_key(|w| w.wait_secs) {
        Some(w) => result(
            name,
            w.wait_secs <= limit_secs,
            format!(
                "longest wait {}s (thread {} waiting for thread {} on {}.{})",
                w.wait_secs,
                w.waiting_thread_id,
                w.blocking_thread_id,
                w.schema.as_deref().unwrap_or("?"),
                w.table.as_deref().unwrap_or("?")
            ),
        ),
        None => result(name, true, "no lock waits".into()),
    }
}

pub fn max_blocked(state: &LiveState, analysis: &WaitAnalysis, limit: u64) -> CheckResult {
    let name = format!("max-blocked {limit}");
    if let Some(e) = unreadable(state, &name, &[crate::model::SourceName::LockWaits]) {
        return e;
    }
    result(
        name,
        analysis.waiting_sessions <= limit,
        format!("{} session(s) waiting", analysis.waiting_sessions),
    )
}

pub fn max_trx_age(state: &LiveState, limit_secs: u64) -> CheckResult {
    let name = format!("max-trx-age {limit_secs}s");
    if let Some(e) = unreadable(state, &name, &[crate::model::SourceName::Transactions]) {
        return e;
    }
    let others = state
        .transactions
        .iter()
        .filter(|t| !state.lockdiag_thread_ids.contains(&t.thread_id));
    match others.max_by_key(|t| t.age_secs) {
        Some(t) => result(
            name,
            t.age_secs <= limit_secs,
            format!(
                "oldest transaction {}s (trx {}, thread {})",
                t.age_secs, t.trx_id, t.thread_id
            ),
        ),
        None => result(name, true, "no open transactions".into()),
    }
}

pub fn no_metadata_lock_waits(state: &LiveState, analysis: &WaitAnalysis) -> CheckResult {
    let name = "no-metadata-lock-waits".to_string();
    let by_state = super::waits::sessions_in_metadata_lock_wait(state);
    let edges = analysis
        .waits
        .iter()
        .filter(|w| w.kind == crate::model::WaitKind::Metadata)
        .count();
    let waiting = by_state.len().max(edges);
    let figure = if waiting == 0 {
        "no metadata-lock waits".to_string()
    } else {
        format!(
            "{waiting} session(s) waiting for a metadata lock (threads {:?})",
            by_state
        )
    };
    result(name, waiting == 0, figure)
}

/// `latest`: (timestamp epoch, timestamp text, analysis) of the latest deadlock, if any.
pub fn no_deadlock_since(
    state: &LiveState,
    latest: Option<(Option<i64>, String, &DeadlockAnalysis)>,
    since_secs: u64,
    now_epoch: i64,
) -> CheckResult {
    let name = format!("no-deadlock-since {since_secs}s");
    if let Some(e) = unreadable(state, &name, &[crate::model::SourceName::InnodbStatus]) {
        return e;
    }
    match latest {
        None => result(name, true, "no deadlock since the server started".into()),
        // No timestamp, or server time with the server's zone unknown (an old snapshot):
        // whether it is recent cannot be told, and guessing either way would mislead.
        Some((None, text, analysis)) => CheckResult::error(
            name,
            format!(
                "latest deadlock at {text} ({}, fingerprint {}): its time cannot be placed (no zone known for it), so whether it is within the window is unknown",
                analysis.diagnosis.kind.as_str(),
                analysis.fingerprint
            ),
        ),
        Some((Some(at), text, analysis)) => {
            let recent = at >= now_epoch - since_secs as i64;
            result(
                name,
                !recent,
                format!(
                    "latest deadlock at {text} ({}, fingerprint {})",
                    analysis.diagnosis.kind.as_str(),
                    analysis.fingerprint
                ),
            )
        }
    }
}

/// What `check --no-new-deadlock` compares between the baseline and now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeadlockMark {
    /// The latest deadlock: its identity ([`super::record::deadlock_key`]) and how to name it.
    pub latest: Option<(String, String)>,
    /// InnoDB's deadlock counter (`None`: not read, or a baseline written before 0.2).
    pub counter: Option<u64>,
    /// The server's uptime: a smaller one now than in the baseline is a restart,
    /// after which the counters cannot be compared.
    pub uptime_secs: Option<u64>,
}

impl DeadlockMark {
    /// The mark of a collection (live, or a snapshot's) and its latest deadlock.
    pub fn of(state: &LiveState, latest: Option<&super::DeadlockReport>) -> Self {
        let offset = state.server.utc_offset_secs;
        DeadlockMark {
            latest: latest.map(|r| {
                let named = format!(
                    "{} ({}, fingerprint {})",
                    r.deadlock.timestamp.as_deref().unwrap_or("(no timestamp)"),
                    r.analysis.diagnosis.kind.as_str(),
                    r.analysis.fingerprint
                );
                (super::record::deadlock_key(r, offset), named)
            }),
            counter: state.innodb_counters.as_ref().and_then(|c| c.deadlocks),
            uptime_secs: state.server.uptime_secs,
        }
    }
}

/// No deadlock since the baseline snapshot. InnoDB's counter decides when both
/// readings are of the same server run: it counts every deadlock, also two of one
/// shape in one second, and those the latest print has already replaced. Otherwise
/// the latest deadlock's identity (transactions and threads, not time and shape).
pub fn no_new_deadlock(
    state: &LiveState,
    now: &DeadlockMark,
    baseline: &DeadlockMark,
    baseline_name: &str,
) -> CheckResult {
    let name = format!("no-new-deadlock {baseline_name}");
    if let Some(e) = unreadable(state, &name, &[crate::model::SourceName::InnodbStatus]) {
        return e;
    }
    let describe = |m: &DeadlockMark| {
        m.latest
            .as_ref()
            .map_or("none".to_string(), |(_, named)| named.clone())
    };
    let same_run = matches!((now.uptime_secs, baseline.uptime_secs), (Some(n), Some(b)) if n >= b);
    if let (Some(counter), Some(before), true) = (now.counter, baseline.counter, same_run) {
        let new = counter.saturating_sub(before);
        return result(
            name,
            new == 0,
            format!(
                "InnoDB counted {new} deadlock(s) since the baseline ({before} → {counter}); latest {}",
                describe(now)
            ),
        );
    }
    let unchanged = match (&now.latest, &baseline.latest) {
        (None, _) => true,
        (Some((key, _)), Some((before, _))) => key == before,
        (Some(_), None) => false,
    };
    result(
        name,
        unchanged,
        format!(
            "latest deadlock {}; baseline {}",
            describe(now),
            describe(baseline)
        ),
    )
}

/// A duplicate-key scan as an assertion: any duplicate (or a scan cut short) fails.
pub fn no_duplicates(
    name: String,
    scan: Result<&super::duplicates::DupesReport, String>,
) -> CheckResult {
    let report = match scan {
        Ok(report) => report,
        Err(e) => return CheckResult::error(name, format!("cannot check: {e}")),
    };
    let figure = if report.duplicate_groups == 0 {
        format!("no duplicates in {} rows", report.rows_scanned)
    } else {
        let first = report
            .groups
            .first()
            .map(|g| format!(", e.g. {} ×{}", g.key.join(","), g.count))
            .unwrap_or_default();
        format!(
            "{} duplicate key(s), {} rows{first}",
            report.duplicate_groups, report.duplicated_rows
        )
    };
    result(
        name,
        report.duplicate_groups == 0 && !report.interrupted,
        figure,
    )
}

/// A session in the way of a DDL on a table (`check --ddl-ready`).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct DdlBlocker {
    /// The processlist id (what `KILL` takes).
    pub thread_id: u64,
    /// `null` when the session is not in the visible processlist.
    pub user: Option<String>,
    pub host: Option<String>,
    /// `idle_in_trx`, `idle`, `running`, `waiting`, or `unknown` (not in the visible processlist).
    pub state: SessionState,
    /// Seconds: its transaction's age when InnoDB lists one, else its time in the current
    /// command; `null` when neither is known.
    pub age_secs: Option<u64>,
    /// Its metadata locks in the DDL's way: held (`GRANTED`) or queued (`PENDING`).
    pub locks: Vec<MetadataLock>,
}

/// What to turn on when metadata locks cannot be seen: without them "nobody is in the
/// way" cannot be told from "nobody is visible".
const MDL_NEEDED: &str = "A DDL preflight needs the metadata locks: performance_schema=ON and performance-schema-instrument='wait/lock/metadata/sql/mdl=ON' under [mysqld] in the option file (then restart), or, with performance_schema already ON, UPDATE performance_schema.setup_instruments SET ENABLED='YES', TIMED='YES' WHERE NAME='wait/lock/metadata/sql/mdl' (locks taken before that stay unseen until released); and SELECT on performance_schema.* for this account";

/// Names compared as the server may store them (lower-cased under
/// `lower_case_table_names`): a lock on a same-named table in another case is taken as
/// in the way rather than missed.
fn same_name(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// What a DDL on a table of `schema` requests before the table itself, in the scoped
/// namespace of `lock` (sql_base.cc, lock_table_names): MySQL's GLOBAL and BACKUP LOCK
/// intention-exclusive, MariaDB's BACKUP_DDL, intention-exclusive on the schema. A lock
/// that refuses it there (FLUSH TABLES WITH READ LOCK, LOCK INSTANCE FOR BACKUP,
/// BACKUP STAGE, a DROP DATABASE) stops the DDL as surely as one on the table.
fn ddl_scoped_request(lock: &MetadataLock, schema: &str) -> Option<MetadataLock> {
    let lock_type = match lock
        .object_type
        .to_ascii_uppercase()
        .replace('_', " ")
        .as_str()
    {
        "GLOBAL" | "BACKUP LOCK" => "INTENTION_EXCLUSIVE",
        "SCHEMA" if lock.schema.as_deref().is_some_and(|s| same_name(s, schema)) => {
            "INTENTION_EXCLUSIVE"
        }
        "BACKUP" => "BACKUP_DDL",
        _ => return None,
    };
    Some(MetadataLock {
        thread_id: 0,
        object_type: lock.object_type.clone(),
        schema: lock.schema.clone(),
        name: lock.name.clone(),
        lock_type: lock_type.into(),
        lock_status: MdlStatus::Pending,
        duration: None,
    })
}

fn on_table(lock: &MetadataLock, schema: &str, table: &str) -> bool {
    lock.object_type.eq_ignore_ascii_case("TABLE")
        && lock.schema.as_deref().is_some_and(|s| same_name(s, schema))
        && lock.name.as_deref().is_some_and(|n| same_name(n, table))
}

/// Whether a DDL on `schema.table` would wait for `lock`: any lock on the table, granted
/// or queued (its exclusive lock is compatible with none), or a scoped lock that refuses
/// what the DDL asks for first.
fn in_the_way(lock: &MetadataLock, schema: &str, table: &str) -> bool {
    on_table(lock, schema, table)
        || ddl_scoped_request(lock, schema)
            .is_some_and(|request| super::metadata::blocks(&request, lock))
}

fn state_words(state: SessionState) -> &'static str {
    match state {
        SessionState::Running => "running",
        SessionState::IdleInTrx => "idle in transaction",
        SessionState::Idle => "idle",
        SessionState::Waiting => "waiting",
        SessionState::Unknown => "not in the visible processlist",
        SessionState::NoSession => "no session",
    }
}

/// `SHARED_READ (TRANSACTION, GRANTED)`; a lock on another object than the table names it.
fn describe_lock(lock: &MetadataLock, schema: &str, table: &str) -> String {
    let on = if on_table(lock, schema, table) {
        String::new()
    } else {
        let object = [lock.schema.as_deref(), lock.name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(".");
        format!(" on {} {object}", lock.object_type)
            .trim_end()
            .to_string()
    };
    let detail: Vec<&str> = lock
        .duration
        .as_ref()
        .map(|d| d.as_str())
        .into_iter()
        .chain([lock.lock_status.as_str()])
        .collect();
    format!("{}{on} ({})", lock.lock_type, detail.join(", "))
}

fn describe_blocker(b: &DdlBlocker, schema: &str, table: &str) -> String {
    let mut who = Vec::new();
    if let (Some(user), Some(host)) = (&b.user, &b.host) {
        who.push(format!("{user}@{host}"));
    }
    who.push(state_words(b.state).to_string());
    if let Some(age) = b.age_secs {
        who.push(format!("{age}s"));
    }
    let list = |status: bool| {
        b.locks
            .iter()
            .filter(|l| (l.lock_status == MdlStatus::Granted) == status)
            .map(|l| describe_lock(l, schema, table))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (held, waited) = (list(true), list(false));
    let what = match (held.is_empty(), waited.is_empty()) {
        (false, false) => format!("holds {held} and waits for {waited}"),
        (false, true) => format!("holds {held}"),
        _ => format!("waits for {waited}"),
    };
    format!("thread {} ({}) {what}", b.thread_id, who.join(", "))
}

/// Whether a DDL on `schema.table` would get its exclusive metadata lock at once: PASS
/// when no session (lockdiag's own aside) holds or waits for a metadata lock in its way,
/// FAIL naming each one that does. Metadata locks that cannot be seen (performance_schema
/// off, the MDL instrument off, no privilege) are an error, never a pass. `waited`: how
/// long `--wait-ready` waited for this picture.
pub fn ddl_ready(
    state: &LiveState,
    schema: &str,
    table: &str,
    waited: Option<std::time::Duration>,
) -> CheckResult {
    let name = format!("ddl-ready {schema}.{table}");
    let own = |id: u64| state.lockdiag_thread_ids.contains(&id);
    let mut by_thread: std::collections::BTreeMap<u64, Vec<MetadataLock>> = Default::default();
    for lock in &state.metadata_locks {
        if !own(lock.thread_id) && in_the_way(lock, schema, table) {
            by_thread
                .entry(lock.thread_id)
                .or_default()
                .push(lock.clone());
        }
    }
    let hint =
        (!state.server.performance_schema || !state.server.mdl_instrument).then_some(MDL_NEEDED);
    let hint = hint.map(|h| format!(". {h}")).unwrap_or_default();
    let unread = state.unread(&[SourceName::MetadataLocks]);
    if !unread.is_empty() {
        let why = unread.join("; ");
        let why = why.trim_end_matches([';', '.', ' ']);
        return CheckResult::error(name, format!("cannot check: {why}{hint}"));
    }
    // Locks seen in part, or an instrument not known to be on: a lock found is certain,
    // "none found" is not.
    let partial = state
        .sources
        .iter()
        .any(|s| s.source == SourceName::MetadataLocks && s.status == SourceState::Partial);
    if by_thread.is_empty() && (partial || !state.server.mdl_instrument) {
        let why = if state.server.mdl_instrument {
            "the metadata locks were read only in part"
        } else {
            "the wait/lock/metadata/sql/mdl instrument is not known to be enabled, so metadata locks may be missing"
        };
        return CheckResult::error(name, format!("cannot check: {why}{hint}"));
    }
    let mut sessions: Vec<DdlBlocker> = by_thread
        .into_iter()
        .map(|(thread_id, locks)| {
            let session = state.sessions.iter().find(|s| s.thread_id == thread_id);
            let trx = state.transactions.iter().find(|t| t.thread_id == thread_id);
            let waiting = trx.is_some_and(|t| t.state == TrxState::LockWait)
                || state
                    .metadata_locks
                    .iter()
                    .any(|m| m.thread_id == thread_id && m.lock_status == MdlStatus::Pending);
            DdlBlocker {
                thread_id,
                user: session.map(|s| s.user.clone()),
                host: session.map(|s| s.host.clone()),
                state: session_state(session, has_open_transaction(state, thread_id), waiting),
                age_secs: trx.map(|t| t.age_secs).or(session.map(|s| s.time_secs)),
                locks,
            }
        })
        .collect();
    // Holders first (what must end for the DDL to start), oldest first.
    sessions.sort_by_key(|b| {
        let holds = b.locks.iter().any(|l| l.lock_status == MdlStatus::Granted);
        (!holds, std::cmp::Reverse(b.age_secs), b.thread_id)
    });
    let waited = waited
        .map(|d| format!(" (waited {:.1}s)", d.as_secs_f64()))
        .unwrap_or_default();
    let figure = if sessions.is_empty() {
        format!("no session holds or waits for a metadata lock on {schema}.{table}: a DDL gets its exclusive lock at once{waited}")
    } else {
        let listed: Vec<String> = sessions
            .iter()
            .map(|b| describe_blocker(b, schema, table))
            .collect();
        format!(
            "{} session(s) in the way of a DDL on {schema}.{table}{waited}: {}",
            sessions.len(),
            listed.join("; ")
        )
    };
    CheckResult {
        name,
        status: if sessions.is_empty() {
            CheckStatus::Pass
        } else {
            CheckStatus::Fail
        },
        figure,
        sessions: Some(sessions),
    }
}

/// `--ddl-ready` on a table the server does not have (a typo would otherwise pass).
pub fn no_such_table(schema: &str, table: &str, closest: &[String]) -> CheckResult {
    let hint = if closest.is_empty() {
        String::new()
    } else {
        format!(" (closest: {})", closest.join(", "))
    };
    CheckResult::error(
        format!("ddl-ready {schema}.{table}"),
        format!("cannot check: no table {schema}.{table} on this server{hint}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LockWait, SourceState, SourceStatus, Transaction, WaitKind};

    #[test]
    fn figures_and_errors() {
        let wait = LockWait {
            waiting_thread_id: 7,
            blocking_thread_id: 5,
            kind: WaitKind::Row,
            waiting_trx_id: None,
            blocking_trx_id: None,
            schema: Some("shop".into()),
            table: Some("payments".into()),
            index: None,
            lock_mode: "X".into(),
            blocking_lock_mode: None,
            blocking_lock_status: None,
            lock_data: None,
            wait_secs: 42,
        };
        let analysis = WaitAnalysis {
            waits: vec![wait],
            waiting_sessions: 1,
            ..WaitAnalysis::default()
        };
        let mut state = LiveState {
            transactions: vec![Transaction {
                trx_id: "9".into(),
                thread_id: 5,
                age_secs: 100,
                ..Transaction::default()
            }],
            ..LiveState::default()
        };
        assert_eq!(
            max_lock_wait(&state, &analysis, 30).status,
            CheckStatus::Fail
        );
        assert!(max_lock_wait(&state, &analysis, 30).figure.contains("42s"));
        assert_eq!(
            max_lock_wait(&state, &analysis, 60).status,
            CheckStatus::Pass
        );
        assert_eq!(max_blocked(&state, &analysis, 0).status, CheckStatus::Fail);
        assert_eq!(max_trx_age(&state, 120).status, CheckStatus::Pass);
        state.sources.push(SourceStatus {
            source: crate::model::SourceName::Transactions,
            from: None,
            status: SourceState::Unavailable,
            reason: Some("no PROCESS".into()),
        });
        assert_eq!(max_trx_age(&state, 120).status, CheckStatus::Error);
        let mark = |key: &str, counter: Option<u64>, uptime: Option<u64>| DeadlockMark {
            latest: Some((key.into(), format!("deadlock {key}"))),
            counter,
            uptime_secs: uptime,
        };
        let check = |now: &DeadlockMark, base: &DeadlockMark| {
            no_new_deadlock(&state, now, base, "b").status
        };
        // Identity alone (a baseline without the counter).
        let pass = CheckStatus::Pass;
        let fail = CheckStatus::Fail;
        assert_eq!(check(&mark("a", None, None), &mark("a", None, None)), pass);
        assert_eq!(check(&mark("b", None, None), &mark("a", None, None)), fail);
        // The counter moved while the latest print looks the same (same shape, same
        // second, or an older print still latest): new.
        assert_eq!(
            check(
                &mark("a", Some(8), Some(100)),
                &mark("a", Some(7), Some(90))
            ),
            fail
        );
        assert_eq!(
            check(
                &mark("a", Some(7), Some(100)),
                &mark("a", Some(7), Some(90))
            ),
            pass
        );
        // A restart in between (uptime went back): counters are not comparable; identity decides.
        assert_eq!(
            check(&mark("a", Some(1), Some(5)), &mark("a", Some(7), Some(90))),
            pass
        );
        assert_eq!(
            check(&mark("b", Some(1), Some(5)), &mark("a", Some(7), Some(90))),
            fail
        );
    }

    /// A deadlock whose time cannot be placed is neither recent nor old: `error`.
    #[test]
    fn undatable_latest_deadlock_is_an_error_not_a_guess() {
        let state = LiveState::default();
        let analysis = crate::analyze::analyze_deadlock(&crate::model::Deadlock::default());
        let now = 1_800_000_000;
        let check = |epoch| {
            no_deadlock_since(
                &state,
                Some((epoch, "2026-11-23 12:43:22".to_string(), &analysis)),
                3600,
                now,
            )
            .status
        };
        assert_eq!(check(None), CheckStatus::Error);
        assert_eq!(check(Some(now - 60)), CheckStatus::Fail);
        assert_eq!(check(Some(now - 7200)), CheckStatus::Pass);
        assert_eq!(
            no_deadlock_since(&state, None, 3600, now).status,
            CheckStatus::Pass
        );
    }

    fn mdl(
        thread_id: u64,
        object: (&str, Option<&str>, Option<&str>),
        lock: (&str, &str, &str),
    ) -> MetadataLock {
        MetadataLock {
            thread_id,
            object_type: object.0.into(),
            schema: object.1.map(str::to_string),
            name: object.2.map(str::to_string),
            lock_type: lock.0.into(),
            lock_status: lock.1.into(),
            duration: Some(lock.2.into()),
        }
    }

    /// Holders of the table, a queued DDL and a global read lock fail it, oldest holder
    /// first; lockdiag's own locks, other tables and compatible scoped locks do not.
    #[test]
    fn ddl_ready_names_every_session_in_the_way() {
        use crate::model::{Session, SessionCommand};
        let payments = ("TABLE", Some("shop"), Some("payments"));
        let session = |thread_id, command: SessionCommand, time_secs| Session {
            thread_id,
            user: "app".into(),
            host: "10.0.0.5".into(),
            command,
            time_secs,
            ..Session::default()
        };
        let mut state = LiveState {
            sessions: vec![
                session(4, SessionCommand::Sleep, 20),
                session(5, SessionCommand::Query, 3),
                session(8, SessionCommand::Sleep, 9),
                session(9, SessionCommand::Query, 1),
            ],
            transactions: vec![Transaction {
                trx_id: "0".into(),
                thread_id: 4,
                age_secs: 35,
                ..Transaction::default()
            }],
            metadata_locks: vec![
                mdl(4, payments, ("SHARED_READ", "GRANTED", "TRANSACTION")),
                mdl(5, payments, ("SHARED_UPGRADABLE", "GRANTED", "TRANSACTION")),
                mdl(5, payments, ("EXCLUSIVE", "PENDING", "TRANSACTION")),
                // lockdiag's own, another table, a compatible backup lock: not in the way.
                mdl(6, payments, ("SHARED_READ", "GRANTED", "TRANSACTION")),
                mdl(
                    7,
                    ("TABLE", Some("shop"), Some("orders")),
                    ("SHARED_WRITE", "GRANTED", "TRANSACTION"),
                ),
                mdl(
                    9,
                    ("BACKUP", None, None),
                    ("BACKUP_TRANS_DML", "GRANTED", "STATEMENT"),
                ),
                // FLUSH TABLES WITH READ LOCK (MariaDB): refuses the DDL's BACKUP_DDL.
                mdl(
                    8,
                    ("BACKUP", None, None),
                    ("BACKUP_FTWRL1", "GRANTED", "EXPLICIT"),
                ),
            ],
            lockdiag_thread_ids: vec![6],
            ..LiveState::default()
        };
        state.server.performance_schema = true;
        state.server.mdl_instrument = true;
        let r = ddl_ready(&state, "shop", "payments", None);
        assert_eq!(r.status, CheckStatus::Fail);
        let sessions = r.sessions.as_ref().unwrap();
        let ids: Vec<u64> = sessions.iter().map(|b| b.thread_id).collect();
        assert_eq!(ids, [4, 8, 5]);
        assert_eq!(sessions[0].state, SessionState::IdleInTrx);
        assert_eq!(
            sessions[0].age_secs,
            Some(35),
            "the transaction's age, not the idle time"
        );
        assert_eq!(sessions[2].state, SessionState::Waiting);
        assert!(r.figure.contains(
            "thread 4 (app@10.0.0.5, idle in transaction, 35s) holds SHARED_READ (TRANSACTION, GRANTED)"
        ), "{}", r.figure);
        assert!(r.figure.contains("thread 8 (app@10.0.0.5, idle, 9s) holds BACKUP_FTWRL1 on BACKUP (EXPLICIT, GRANTED)"), "{}", r.figure);
        assert!(r.figure.contains(
            "thread 5 (app@10.0.0.5, waiting, 3s) holds SHARED_UPGRADABLE (TRANSACTION, GRANTED) and waits for EXCLUSIVE (TRANSACTION, PENDING)"
        ), "{}", r.figure);

        // Another table: only the global read lock is in its way; without it, ready.
        let orders = ddl_ready(&state, "shop", "reservations", None);
        assert_eq!(orders.sessions.unwrap().len(), 1);
        state.metadata_locks.retain(|m| m.thread_id != 8);
        let ready = ddl_ready(
            &state,
            "shop",
            "reservations",
            Some(std::time::Duration::from_millis(1200)),
        );
        assert_eq!(ready.status, CheckStatus::Pass);
        assert!(ready.figure.ends_with("(waited 1.2s)"), "{}", ready.figure);
        assert_eq!(ready.sessions, Some(vec![]));

        // The instrument not known to be on: nothing seen is not nothing there.
        state.server.mdl_instrument = false;
        let unknown = ddl_ready(&state, "shop", "reservations", None);
        assert_eq!(unknown.status, CheckStatus::Error);
        assert!(unknown
            .figure
            .contains("WHERE NAME='wait/lock/metadata/sql/mdl'"));
        assert_eq!(unknown.sessions, None);
        // … but a lock seen is certain.
        assert_eq!(
            ddl_ready(&state, "shop", "payments", None).status,
            CheckStatus::Fail
        );

        // The source unreadable: an error naming what to enable.
        state.server.performance_schema = false;
        state.sources.push(SourceStatus {
            source: crate::model::SourceName::MetadataLocks,
            from: None,
            status: SourceState::Unavailable,
            reason: Some("performance_schema is OFF".into()),
        });
        let off = ddl_ready(&state, "shop", "payments", None);
        assert_eq!(off.status, CheckStatus::Error);
        assert!(off
            .figure
            .contains("performance_schema is OFF. A DDL preflight needs"));
        assert!(off.figure.contains("performance_schema=ON"));
    }
}
