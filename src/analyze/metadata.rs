//! Metadata-lock waits from `performance_schema.metadata_locks`.
//!
//! A pending request waits for granted locks of other sessions that are
//! incompatible with it, and for pending requests that the server lets jump
//! ahead of it (a pending EXCLUSIVE blocks new SHARED_READ requests: that is
//! why SELECTs pile up behind a waiting ALTER). Pairing every pending lock
//! with every granted one, as `sys.schema_table_lock_waits` does, blames the
//! wrong session; these are the server's two compatibility matrices instead.

use std::collections::BTreeMap;

use crate::model::{LockStatus, LockWait, MdlStatus, MetadataLock, Session, WaitKind};

/// Table-level MDL types in the server's matrix order.
const TABLE_TYPES: [&str; 11] = [
    "INTENTION_EXCLUSIVE",
    "SHARED",
    "SHARED_HIGH_PRIO",
    "SHARED_READ",
    "SHARED_WRITE",
    "SHARED_WRITE_LOW_PRIO",
    "SHARED_UPGRADABLE",
    "SHARED_READ_ONLY",
    "SHARED_NO_WRITE",
    "SHARED_NO_READ_WRITE",
    "EXCLUSIVE",
];

/// `GRANTED_OK[request][granted]`: may `request` be granted while `granted` is held by another session?
/// Columns and rows: IX S SH SR SW SWLP SU SRO SNW SNRW X (MDL_object_lock's granted matrix).
const GRANTED_OK: [[bool; 11]; 11] = {
    const T: bool = true;
    const F: bool = false;
    [
        [T, T, T, T, T, T, T, T, T, T, F], // IX (not used on tables; kept for shape)
        [T, T, T, T, T, T, T, T, T, T, F], // S
        [T, T, T, T, T, T, T, T, T, T, F], // SH
        [T, T, T, T, T, T, T, T, T, F, F], // SR
        [T, T, T, T, T, T, T, F, F, F, F], // SW
        [T, T, T, T, T, T, T, F, F, F, F], // SWLP
        [T, T, T, T, T, T, F, T, F, F, F], // SU
        [T, T, T, T, F, F, T, T, T, F, F], // SRO
        [T, T, T, T, F, F, F, T, F, F, F], // SNW
        [T, T, T, F, F, F, F, F, F, F, F], // SNRW
        [F, F, F, F, F, F, F, F, F, F, F], // X
    ]
};

/// `PENDING_OK[request][pending]`: may `request` be granted while `pending` (another session's) waits?
/// (MDL_object_lock's waiting matrix: pending X, SNRW, SNW, SRO have priority over weaker requests.)
/// Both matrices are the servers' own, as their sql/mdl.cc states them: MySQL 8.0/8.4 (the
/// default waiting matrix, below the max_write_lock_count threshold) and MariaDB 10.x/11.x
/// agree on every type they share; SWLP exists only in MySQL (MariaDB never reports it). A
/// pending SRO (LOCK TABLES … READ) does not hold back a SW request (INSERT) in either.
const PENDING_OK: [[bool; 11]; 11] = {
    const T: bool = true;
    const F: bool = false;
    [
        [T, T, T, T, T, T, T, T, T, T, T], // IX
        [T, T, T, T, T, T, T, T, T, T, F], // S
        [T, T, T, T, T, T, T, T, T, T, T], // SH
        [T, T, T, T, T, T, T, T, T, F, F], // SR
        [T, T, T, T, T, T, T, T, F, F, F], // SW
        [T, T, T, T, T, T, T, F, F, F, F], // SWLP
        [T, T, T, T, T, T, T, T, T, T, F], // SU
        [T, T, T, T, F, T, T, T, T, F, F], // SRO
        [T, T, T, T, T, T, T, T, T, T, F], // SNW
        [T, T, T, T, T, T, T, T, T, T, F], // SNRW
        [T, T, T, T, T, T, T, T, T, T, T], // X
    ]
};

fn table_index(lock_type: &str) -> Option<usize> {
    TABLE_TYPES.iter().position(|t| *t == lock_type)
}

/// MariaDB's BACKUP namespace (BACKUP STAGE, FLUSH TABLES WITH READ LOCK, and the DML/DDL/COMMIT
/// locks every statement takes there), in its sql/mdl.cc order.
const BACKUP_TYPES: [&str; 14] = [
    "BACKUP_START",
    "BACKUP_FLUSH",
    "BACKUP_WAIT_FLUSH",
    "BACKUP_WAIT_DDL",
    "BACKUP_WAIT_COMMIT",
    "BACKUP_FTWRL1",
    "BACKUP_FTWRL2",
    "BACKUP_DML",
    "BACKUP_TRANS_DML",
    "BACKUP_SYS_DML",
    "BACKUP_DDL",
    "BACKUP_BLOCK_DDL",
    "BACKUP_ALTER_COPY",
    "BACKUP_COMMIT",
];

/// Rows: request; columns: the other lock, in `BACKUP_TYPES` order; `+` compatible.
const BACKUP_GRANTED_OK: [&str; 14] = [
    "-----+++++++++",
    "-+++++++++++++",
    "-++++++-++++++",
    "-++++++-++-+++",
    "-++++++-+--++-",
    "+++++++----+-+",
    "+++++++----+--",
    "+------+++++++",
    "+++++--+++++++",
    "++++---+++++++",
    "+++----++++-++",
    "-+++++++++-+++",
    "+++++--+++++++",
    "++++-+-+++++++",
];

const BACKUP_PENDING_OK: [&str; 14] = [
    "+----+++++++++",
    "++++++++++++++",
    "++++++++++++++",
    "++++++++++++++",
    "++++++++++++++",
    "++++++++++++++",
    "++++++++++++++",
    "+------+++++++",
    "+++++--+++++++",
    "++++---+++++++",
    "+++----++++-++",
    "++++++++++++++",
    "+++++--+++++++",
    "++++-+-+++++++",
];

fn backup_index(lock_type: &str) -> Option<usize> {
    let name = lock_type.strip_prefix("MDL_").unwrap_or(lock_type);
    BACKUP_TYPES.iter().position(|t| *t == name)
}

fn backup_ok(matrix: &[&str; 14], request: usize, other: usize) -> bool {
    matrix[request].as_bytes()[other] == b'+'
}

/// How the server decides for a namespace: scoped locks (GLOBAL, SCHEMA, COMMIT, TABLESPACE,
/// MySQL's BACKUP LOCK) have only IX, S and X; MariaDB's BACKUP namespace its own matrix; every
/// other namespace (TABLE, routines, triggers, events, MySQL's COLUMN STATISTICS, SRID, …) is
/// an object lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strategy {
    Object,
    Scoped,
    Backup,
}

fn strategy(object_type: &str, lock_type: &str) -> Strategy {
    if backup_index(lock_type).is_some() {
        return Strategy::Backup;
    }
    match object_type.to_ascii_uppercase().replace('_', " ").as_str() {
        "GLOBAL" | "SCHEMA" | "COMMIT" | "TABLESPACE" | "BACKUP LOCK" => Strategy::Scoped,
        _ => Strategy::Object,
    }
}

/// Scoped locks (GLOBAL, SCHEMA, COMMIT, …) have only IX, S and X.
fn scoped_granted_ok(request: &str, granted: &str) -> bool {
    matches!(
        (request, granted),
        ("INTENTION_EXCLUSIVE", "INTENTION_EXCLUSIVE") | ("SHARED", "SHARED")
    )
}

fn scoped_pending_ok(request: &str, pending: &str) -> bool {
    match request {
        "INTENTION_EXCLUSIVE" => !matches!(pending, "SHARED" | "EXCLUSIVE"),
        "SHARED" => pending != "EXCLUSIVE",
        _ => true,
    }
}

/// Whether `other` (another session's lock, granted or queued) makes `request` wait,
/// by the server's matrices for the request's namespace.
pub fn blocks(request: &MetadataLock, other: &MetadataLock) -> bool {
    let other_granted = other.lock_status == MdlStatus::Granted;
    match strategy(&request.object_type, &request.lock_type) {
        Strategy::Object => match (
            table_index(&request.lock_type),
            table_index(&other.lock_type),
        ) {
            (Some(r), Some(o)) => {
                !(if other_granted {
                    GRANTED_OK[r][o]
                } else {
                    PENDING_OK[r][o]
                })
            }
            // An unknown type: a granted lock is assumed in the way, a queued one is not.
            _ => other_granted,
        },
        Strategy::Backup => match (
            backup_index(&request.lock_type),
            backup_index(&other.lock_type),
        ) {
            (Some(r), Some(o)) => {
                let matrix = if other_granted {
                    &BACKUP_GRANTED_OK
                } else {
                    &BACKUP_PENDING_OK
                };
                !backup_ok(matrix, r, o)
            }
            _ => other_granted,
        },
        Strategy::Scoped => {
            if other_granted {
                !scoped_granted_ok(&request.lock_type, &other.lock_type)
            } else {
                !scoped_pending_ok(&request.lock_type, &other.lock_type)
            }
        }
    }
}

/// A lock's object: type, schema, name.
type ObjectKey<'a> = (&'a str, Option<&'a str>, Option<&'a str>);

/// The wait-for edges among metadata locks.
pub fn metadata_waits(locks: &[MetadataLock], sessions: &[Session]) -> Vec<LockWait> {
    let mut by_object: BTreeMap<ObjectKey, Vec<&MetadataLock>> = BTreeMap::new();
    for lock in locks {
        by_object
            .entry((
                lock.object_type.as_str(),
                lock.schema.as_deref(),
                lock.name.as_deref(),
            ))
            .or_default()
            .push(lock);
    }
    let time_of: std::collections::HashMap<u64, u64> = sessions
        .iter()
        .map(|s| (s.thread_id, s.time_secs))
        .collect();
    let wait_secs = |thread: u64| time_of.get(&thread).copied().unwrap_or(0);
    let mut waits = Vec::new();
    for ((_, schema, name), object_locks) in by_object {
        // Whether one lock blocks another depends only on their types and statuses: compare a
        // request with each kind of lock once, not with every lock (20,000 queued SELECTs).
        let mut kinds: BTreeMap<(&str, bool), Vec<&MetadataLock>> = BTreeMap::new();
        for lock in &object_locks {
            kinds
                .entry((
                    lock.lock_type.as_str(),
                    lock.lock_status == MdlStatus::Granted,
                ))
                .or_default()
                .push(lock);
        }
        for request in object_locks
            .iter()
            .filter(|l| l.lock_status == MdlStatus::Pending)
        {
            let mut blockers: Vec<&MetadataLock> = kinds
                .values()
                .filter(|group| blocks(request, group[0]))
                .flatten()
                .filter(|o| o.thread_id != request.thread_id)
                .copied()
                .collect();
            blockers.sort_by_key(|o| o.thread_id);
            blockers.dedup_by_key(|o| o.thread_id);
            for blocker in blockers {
                waits.push(LockWait {
                    waiting_thread_id: request.thread_id,
                    blocking_thread_id: blocker.thread_id,
                    kind: WaitKind::Metadata,
                    waiting_trx_id: None,
                    blocking_trx_id: None,
                    schema: schema.map(str::to_string),
                    table: name.map(str::to_string),
                    index: None,
                    lock_mode: request.lock_type.clone(),
                    blocking_lock_mode: Some(blocker.lock_type.clone()),
                    // A pending request ahead in the queue is "waiting", as for row locks.
                    blocking_lock_status: Some(match &blocker.lock_status {
                        MdlStatus::Granted => LockStatus::Granted,
                        MdlStatus::Pending => LockStatus::Waiting,
                        MdlStatus::Other(text) => LockStatus::from(text.as_str()),
                    }),
                    lock_data: None,
                    wait_secs: wait_secs(request.thread_id),
                });
            }
        }
    }
    waits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock(object_type: &str, lock_type: &str, status: &str) -> MetadataLock {
        MetadataLock {
            thread_id: 1,
            object_type: object_type.into(),
            schema: None,
            name: None,
            lock_type: lock_type.into(),
            lock_status: status.into(),
            duration: None,
        }
    }

    /// Checks every cell of a server's matrix (rows: request; columns: the other lock,
    /// granted or pending; `+` compatible) against what `blocks` says.
    fn check_matrix(object_type: &str, types: &[&str], rows: &[&str], status: &str, server: &str) {
        for (r, row) in rows.iter().enumerate() {
            let cells: Vec<char> = row.chars().filter(|c| *c == '+' || *c == '-').collect();
            assert_eq!(cells.len(), types.len(), "{server} row {}", types[r]);
            for (o, cell) in cells.iter().enumerate() {
                let request = lock(object_type, types[r], "PENDING");
                let other = lock(object_type, types[o], status);
                assert_eq!(
                    !blocks(&request, &other),
                    *cell == '+',
                    "{server}: {} request vs {status} {}",
                    types[r],
                    types[o]
                );
            }
        }
    }

    /// The object-lock matrices as each server's sql/mdl.cc tabulates them (MySQL 8.0/8.4: the
    /// default waiting matrix; MariaDB 10.x/11.x, which has no SWLP).
    #[test]
    fn object_matrices_match_each_server() {
        // MySQL 8's object-lock types are lockdiag's own list, IX aside (not used on objects).
        let mysql = &TABLE_TYPES[1..];
        let mysql_granted = [
            "+ + + + + + + + + -",
            "+ + + + + + + + + -",
            "+ + + + + + + + - -",
            "+ + + + + + - - - -",
            "+ + + + + + - - - -",
            "+ + + + + - + - - -",
            "+ + + - - + + + - -",
            "+ + + - - - + - - -",
            "+ + - - - - - - - -",
            "- - - - - - - - - -",
        ];
        let mysql_pending = [
            "+ + + + + + + + + -",
            "+ + + + + + + + + +",
            "+ + + + + + + + - -",
            "+ + + + + + + - - -",
            "+ + + + + + - - - -",
            "+ + + + + + + + + -",
            "+ + + - + + + + - -",
            "+ + + + + + + + + -",
            "+ + + + + + + + + -",
            "+ + + + + + + + + +",
        ];
        check_matrix("TABLE", mysql, &mysql_granted, "GRANTED", "MySQL 8");
        check_matrix("TABLE", mysql, &mysql_pending, "PENDING", "MySQL 8");
        let mariadb = [
            "SHARED",
            "SHARED_HIGH_PRIO",
            "SHARED_READ",
            "SHARED_WRITE",
            "SHARED_UPGRADABLE",
            "SHARED_READ_ONLY",
            "SHARED_NO_WRITE",
            "SHARED_NO_READ_WRITE",
            "EXCLUSIVE",
        ];
        let mariadb_granted = [
            "+ + + + + + + + -",
            "+ + + + + + + + -",
            "+ + + + + + + - -",
            "+ + + + + - - - -",
            "+ + + + - + - - -",
            "+ + + - + + + - -",
            "+ + + - - + - - -",
            "+ + - - - - - - -",
            "- - - - - - - - -",
        ];
        let mariadb_pending = [
            "+ + + + + + + + -",
            "+ + + + + + + + +",
            "+ + + + + + + - -",
            "+ + + + + + - - -",
            "+ + + + + + + + -",
            "+ + + - + + + - -",
            "+ + + + + + + + -",
            "+ + + + + + + + -",
            "+ + + + + + + + +",
        ];
        check_matrix("TABLE", &mariadb, &mariadb_granted, "GRANTED", "MariaDB");
        check_matrix("TABLE", &mariadb, &mariadb_pending, "PENDING", "MariaDB");
        // MySQL 8's other object namespaces use the same matrices.
        check_matrix(
            "COLUMN STATISTICS",
            mysql,
            &mysql_pending,
            "PENDING",
            "MySQL 8",
        );
    }

    #[test]
    fn scoped_and_backup_namespaces() {
        let scoped = ["INTENTION_EXCLUSIVE", "SHARED", "EXCLUSIVE"];
        for namespace in ["GLOBAL", "SCHEMA", "COMMIT", "BACKUP LOCK"] {
            check_matrix(
                namespace,
                &scoped,
                &["+ - -", "- + -", "- - -"],
                "GRANTED",
                namespace,
            );
            check_matrix(
                namespace,
                &scoped,
                &["+ - -", "+ + -", "+ + +"],
                "PENDING",
                namespace,
            );
        }
        // MariaDB: DML does not wait for DML; FLUSH TABLES WITH READ LOCK waits for DML.
        let dml = lock("BACKUP", "BACKUP_DML", "PENDING");
        assert!(!blocks(&dml, &lock("BACKUP", "BACKUP_DML", "GRANTED")));
        assert!(blocks(
            &lock("BACKUP", "MDL_BACKUP_FTWRL1", "PENDING"),
            &lock("BACKUP", "MDL_BACKUP_DML", "GRANTED")
        ));
        assert!(blocks(&dml, &lock("BACKUP", "BACKUP_FTWRL1", "GRANTED")));
    }

    /// The false cycle of issue 8: an INSERT (pending SW) and a LOCK TABLES … READ (pending SRO)
    /// queued on one table do not wait for each other's requests in either direction but one.
    #[test]
    fn no_false_cycle_between_insert_and_lock_tables_read() {
        let insert = lock("TABLE", "SHARED_WRITE", "PENDING");
        let read_only = lock("TABLE", "SHARED_READ_ONLY", "PENDING");
        assert!(
            !blocks(&insert, &read_only),
            "pending SRO does not hold back SW"
        );
        assert!(blocks(&read_only, &insert), "pending SW does hold back SRO");
    }

    fn mdl(thread: u64, lock_type: &str, status: &str) -> MetadataLock {
        MetadataLock {
            thread_id: thread,
            object_type: "TABLE".into(),
            schema: Some("shop".into()),
            name: Some("payments".into()),
            lock_type: lock_type.into(),
            lock_status: status.into(),
            duration: Some("TRANSACTION".into()),
        }
    }

    #[test]
    fn selects_queue_behind_the_alter_not_the_transaction() {
        let locks = vec![
            mdl(10, "SHARED_READ", "GRANTED"), // open transaction that read payments
            mdl(11, "SHARED_UPGRADABLE", "GRANTED"), // ALTER TABLE, first step
            mdl(11, "EXCLUSIVE", "PENDING"),   // ALTER TABLE, waiting to swap the table
            mdl(12, "SHARED_READ", "PENDING"), // SELECT
            mdl(13, "SHARED_READ", "PENDING"), // SELECT
        ];
        let mut pairs: Vec<(u64, u64)> = metadata_waits(&locks, &[])
            .iter()
            .map(|w| (w.waiting_thread_id, w.blocking_thread_id))
            .collect();
        pairs.sort();
        assert_eq!(pairs, vec![(11, 10), (12, 11), (13, 11)]);
    }

    #[test]
    fn shared_reads_do_not_block_each_other() {
        let locks = vec![
            mdl(1, "SHARED_READ", "GRANTED"),
            mdl(2, "SHARED_WRITE", "PENDING"),
        ];
        assert!(metadata_waits(&locks, &[]).is_empty());
    }
}
