//! What a collection leaves unread so that reading never hurts the server.
//!
//! **lockdiag's own lingering statements.** Every statement lockdiag sends starts with
//! [`marker`] (`/* lockdiag limit_ms=N */`), so its sessions can be told apart in a
//! processlist, a slow log or pt-kill's `--ignore-info`, and so that a later collection —
//! of this process or another copy — can see one that outlived its limit. A statement
//! that gave up on the client side can stay on the server: under the rollback of a few
//! hundred killed waiters, `INNODB_TRX` stayed unreadable for over 30 s, each timed-out
//! collection left its reads there as "Killed / Filling schema table", and each new one
//! queued behind the last. So before reading a server structure, a collection looks in
//! the processlist it has just read for a lockdiag statement on that structure that was
//! killed or has run past its limit, and skips that source, saying so.
//!
//! **Listings whose cost grows with the square of the waits.** To fill `INNODB_TRX`
//! InnoDB pairs every waiting transaction with each lock queued before its own, holding
//! its lock-system latch: measured on MariaDB 10.11 with N sessions waiting on one row
//! (`bench/pileup.sh`), one read took 0.08 s of the server's CPU at 500, 0.76 s at 1,000
//! and 4.4 s at 2,000, and a one-row UPDATE of another table waited 4.3 s behind it. MySQL 8's
//! `data_lock_waits` lists the same pairs. Above [`MaxRowWaits`] row-lock waits (InnoDB's
//! own counter, which costs nothing to read) those listings are skipped and the count is
//! all that is said.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::model::{InnodbCounters, Session, SessionCommand};

/// The comment lockdiag puts before every statement it sends: its own name and the
/// statement's time limit (`--query-timeout`), which the server does not show.
pub fn marker(limit: Duration) -> String {
    format!("/* lockdiag limit_ms={} */ ", limit.as_millis())
}

/// A statement's time limit, read back from its [`marker`]; `None`: not lockdiag's.
fn marked_limit(info: &str) -> Option<Duration> {
    let rest = info.trim_start().strip_prefix("/* lockdiag limit_ms=")?;
    let digits = &rest[..rest.find(|c: char| !c.is_ascii_digit())?];
    rest[digits.len()..]
        .starts_with(" */")
        .then(|| digits.parse().ok().map(Duration::from_millis))
        .flatten()
}

/// What on the server a read waits for when an earlier read of it is stuck: each is
/// filled by one code path under one set of the server's mutexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ServerStructure {
    /// InnoDB's cache behind `INNODB_TRX`, `INNODB_LOCKS`, `INNODB_LOCK_WAITS`.
    InnodbTransactionCache,
    /// MySQL 8's `performance_schema.data_locks` / `data_lock_waits`.
    DataLocks,
    MetadataLocks,
    Processlist,
    InnodbStatus,
    StatementHistory,
}

impl ServerStructure {
    /// The names in a statement's text that say it reads the structure (lower case,
    /// whole words: `processlist_id`, a column of `threads`, is not the processlist).
    const SIGNS: [(&'static str, ServerStructure); 11] = [
        ("innodb_trx", Self::InnodbTransactionCache),
        ("innodb_locks", Self::InnodbTransactionCache),
        ("innodb_lock_waits", Self::InnodbTransactionCache),
        ("data_locks", Self::DataLocks),
        ("data_lock_waits", Self::DataLocks),
        ("metadata_locks", Self::MetadataLocks),
        ("processlist", Self::Processlist),
        ("innodb status", Self::InnodbStatus),
        ("events_statements_current", Self::StatementHistory),
        ("events_statements_history", Self::StatementHistory),
        ("events_statements_history_long", Self::StatementHistory),
    ];

    fn name(self) -> &'static str {
        match self {
            Self::InnodbTransactionCache => "InnoDB's INNODB_TRX/INNODB_LOCKS cache",
            Self::DataLocks => "performance_schema.data_locks",
            Self::MetadataLocks => "performance_schema.metadata_locks",
            Self::Processlist => "the processlist",
            Self::InnodbStatus => "SHOW ENGINE INNODB STATUS",
            Self::StatementHistory => "performance_schema's statement history",
        }
    }

    /// The structures a statement of lockdiag's reads, from its text.
    pub fn read_by(sql: &str) -> BTreeSet<ServerStructure> {
        let sql = crate::source::query::statement_text(sql).to_ascii_lowercase();
        let sql = sql.split_whitespace().collect::<Vec<_>>().join(" ");
        let name_char = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        let is_named = |sign: &str| {
            sql.match_indices(sign).any(|(at, _)| {
                !name_char(sql[..at].chars().next_back())
                    && !name_char(sql[at + sign.len()..].chars().next())
            })
        };
        Self::SIGNS
            .iter()
            .filter(|(sign, _)| is_named(sign))
            .map(|&(_, structure)| structure)
            .collect()
    }
}

/// The most row-lock waits in progress at which lockdiag still asks InnoDB to list
/// them (`--max-row-waits`); above, the listing is skipped (see the module's note).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxRowWaits(pub u64);

impl MaxRowWaits {
    /// Whether InnoDB's count of row-lock waits in progress is too many to list.
    pub fn exceeded_by(self, counted: u64) -> bool {
        counted > self.0
    }
}

impl Default for MaxRowWaits {
    /// 500: one listing then costs the server about 0.1 s (MariaDB 10.11).
    fn default() -> Self {
        MaxRowWaits(500)
    }
}

/// What one collection leaves unread, and why.
#[derive(Debug, Clone, Default)]
pub struct Restraint {
    /// lockdiag's statements still on the server past their limit.
    pub lingering: Vec<LingeringStatement>,
    /// InnoDB's counters, read before the listings (`None`: not read): its count of
    /// row-lock waits in progress decides whether they are listed.
    pub counters: Option<InnodbCounters>,
    pub max_row_waits: MaxRowWaits,
}

impl Restraint {
    /// Why a read of `sql` is skipped, if it is.
    pub fn skip_reason(&self, sql: &str) -> Option<String> {
        let over_limit = self
            .counters
            .as_ref()
            .and_then(|c| c.row_lock_waits)
            .filter(|counted| self.max_row_waits.exceeded_by(*counted));
        if self.lingering.is_empty() && over_limit.is_none() {
            // The usual case, every collection: nothing to hold against the text.
            return None;
        }
        let reads = ServerStructure::read_by(sql);
        if let Some(reason) = lingering_reason(&self.lingering, &reads) {
            return Some(reason);
        }
        let counted = over_limit?;
        let MaxRowWaits(limit) = self.max_row_waits;
        let listing = reads.contains(&ServerStructure::InnodbTransactionCache)
            || reads.contains(&ServerStructure::DataLocks);
        listing.then(|| {
            format!(
                "skipped: InnoDB counts {counted} row-lock waits in progress, more than \
                 --max-row-waits {limit}. Listing them makes InnoDB pair every waiter with \
                 each lock queued before it while holding its lock-system latch — at 2,000 \
                 waits one read cost MariaDB 4.4 s, and every other row lock on the server \
                 waited meanwhile. The count is InnoDB's own; raise --max-row-waits to list \
                 them once anyway"
            )
        })
    }
}

/// A lockdiag statement still on the server that a new read should not queue behind.
#[derive(Debug, Clone, PartialEq)]
pub struct LingeringStatement {
    pub connection_id: u64,
    pub command: String,
    pub state: Option<String>,
    pub time_secs: u64,
    /// Its own limit, from its marker.
    pub limit: Duration,
    pub reads: BTreeSet<ServerStructure>,
}

/// The lockdiag statements in `sessions` (a processlist just read, lockdiag's own
/// sessions included) that were killed, or have run longer than their own limit or
/// than `own_limit` — a read queued behind one would not finish within its own.
/// `TIME` is in whole seconds, so "longer" is by at least a second.
pub fn lingering_statements(sessions: &[Session], own_limit: Duration) -> Vec<LingeringStatement> {
    sessions
        .iter()
        .filter_map(|s| {
            let info = s.info.as_deref()?;
            let limit = marked_limit(info)?;
            let patience = limit.min(own_limit).as_secs();
            let killed = s.command == SessionCommand::Killed
                || s.state
                    .as_deref()
                    .is_some_and(|st| st.eq_ignore_ascii_case("killed"));
            (killed || s.time_secs > patience).then(|| LingeringStatement {
                connection_id: s.thread_id,
                command: s.command.to_string(),
                state: s.state.clone(),
                time_secs: s.time_secs,
                limit,
                reads: ServerStructure::read_by(info),
            })
        })
        .collect()
}

/// Why a read of the structures `wanted` is skipped: a lingering statement reads one.
fn lingering_reason(
    lingering: &[LingeringStatement],
    wanted: &BTreeSet<ServerStructure>,
) -> Option<String> {
    let (earlier, structure) = lingering.iter().find_map(|l| {
        let shared = l.reads.intersection(wanted).next()?;
        Some((l, *shared))
    })?;
    let state = earlier
        .state
        .as_deref()
        .map(|s| format!(" / {s}"))
        .unwrap_or_default();
    Some(format!(
        "skipped: an earlier read of lockdiag's on {} is still on the server (connection {}, \
         {}{state}, running {} s, its limit {}); another would queue behind it and add to \
         the load — the server is slow to fill it (a large rollback or a lock pile-up \
         holds the structure's mutex). Read again once that statement has gone",
        structure.name(),
        earlier.connection_id,
        earlier.command,
        earlier.time_secs,
        humantime::format_duration(earlier.limit),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(id: u64, command: &str, state: &str, time: u64, info: &str) -> Session {
        Session {
            thread_id: id,
            command: command.into(),
            state: Some(state.into()),
            time_secs: time,
            info: Some(info.into()),
            ..Session::default()
        }
    }

    /// Why `lingering` makes a read of `sql` wait.
    fn reason_for(lingering: &[LingeringStatement], sql: &str) -> Option<String> {
        lingering_reason(lingering, &ServerStructure::read_by(sql))
    }

    /// As MariaDB 10.11's processlist showed a lockdiag read of INNODB_TRX killed at
    /// its limit while a rollback held InnoDB's mutexes.
    const KILLED_READ: &str = "/* lockdiag limit_ms=5000 */ SET STATEMENT max_statement_time=5.000 FOR SELECT /* lockdiag-fresh-1-0-0 */ trx_id AS trx_id,\n  trx_mysql_thread_id AS thread_id\nFROM information_schema.INNODB_TRX";

    #[test]
    fn the_marker_reads_back() {
        let sql = format!("{}SELECT 1", marker(Duration::from_millis(2500)));
        assert_eq!(marked_limit(&sql), Some(Duration::from_millis(2500)));
        assert_eq!(marked_limit("/* lockdiag */ SELECT 1"), None);
        assert_eq!(marked_limit("SELECT '/* lockdiag limit_ms=5 */'"), None);
        assert_eq!(
            marked_limit("/* lockdiag limit_ms=99999999999999999999999 */"),
            None
        );
        assert_eq!(marked_limit("/* lockdiag limit_ms="), None);
    }

    #[test]
    fn killed_or_overdue_reads_linger() {
        let sessions = [
            session(7, "Killed", "Filling schema table", 34, KILLED_READ),
            // Within its limit: another copy's read, running normally.
            session(8, "Query", "Filling schema table", 1, KILLED_READ),
            // Past the reader's own 2 s, though within its 5 s.
            session(9, "Query", "Sending data", 3, KILLED_READ),
            // Not lockdiag's.
            session(
                10,
                "Query",
                "Sending data",
                300,
                "SELECT * FROM information_schema.INNODB_TRX",
            ),
        ];
        let lingering = lingering_statements(&sessions, Duration::from_secs(2));
        let ids: Vec<u64> = lingering.iter().map(|l| l.connection_id).collect();
        assert_eq!(ids, [7, 9]);
        assert_eq!(
            lingering[0].reads,
            BTreeSet::from([ServerStructure::InnodbTransactionCache])
        );
    }

    #[test]
    fn only_reads_of_the_same_structure_are_skipped() {
        let sessions = [session(
            7,
            "Killed",
            "Filling schema table",
            34,
            KILLED_READ,
        )];
        let lingering = lingering_statements(&sessions, Duration::from_secs(5));
        let reason = reason_for(
            &lingering,
            include_str!("../../queries/locks_innodb_is.sql"),
        )
        .expect("INNODB_LOCKS shares the cache");
        assert!(
            reason.contains("connection 7, Killed / Filling schema table, running 34 s"),
            "{reason}"
        );
        // MySQL 8's waits join INNODB_TRX.
        assert!(reason_for(
            &lingering,
            include_str!("../../queries/lock_waits_mysql8.sql")
        )
        .is_some());
        for other in [
            include_str!("../../queries/metadata_locks.sql"),
            include_str!("../../queries/processlist_mariadb.sql"),
            include_str!("../../queries/innodb_status.sql"),
        ] {
            assert_eq!(reason_for(&lingering, other), None, "{other}");
        }
    }

    #[test]
    fn each_collection_statement_reads_a_known_structure() {
        for sql in [
            include_str!("../../queries/transactions_innodb_trx.sql"),
            include_str!("../../queries/locks_innodb_is.sql"),
            include_str!("../../queries/lock_waits_mysql8.sql"),
            include_str!("../../queries/lock_waits_mysql8_no_process.sql"),
            include_str!("../../queries/locks_mysql8.sql"),
            include_str!("../../queries/metadata_locks.sql"),
            include_str!("../../queries/processlist_is.sql"),
            include_str!("../../queries/processlist_ps.sql"),
            include_str!("../../queries/innodb_status.sql"),
            include_str!("../../queries/statement_history.sql"),
        ] {
            assert!(!ServerStructure::read_by(sql).is_empty(), "{sql}");
        }
    }
}

#[cfg(test)]
mod listing_tests {
    use super::*;

    #[test]
    fn listings_are_skipped_above_the_counted_limit_only() {
        let trx = include_str!("../../queries/transactions_innodb_trx.sql");
        let data_locks = include_str!("../../queries/lock_waits_mysql8_no_process.sql");
        let metadata = include_str!("../../queries/metadata_locks.sql");
        let restraint = |counted: Option<u64>| Restraint {
            counters: counted.map(|n| InnodbCounters {
                deadlocks: None,
                row_lock_waits: Some(n),
            }),
            max_row_waits: MaxRowWaits(500),
            ..Restraint::default()
        };
        assert_eq!(restraint(Some(500)).skip_reason(trx), None);
        assert_eq!(restraint(None).skip_reason(trx), None, "unknown: no gate");
        let reason = restraint(Some(2000)).skip_reason(trx).unwrap();
        assert!(
            reason.contains("counts 2000 row-lock waits") && reason.contains("--max-row-waits 500")
        );
        assert!(restraint(Some(2000)).skip_reason(data_locks).is_some());
        assert_eq!(restraint(Some(2000)).skip_reason(metadata), None);
    }
}
