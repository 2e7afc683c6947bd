//! Knowing the server: flavour, version, and which lock sources this account
//! can read. The one place that decides sources; collectors only follow it.

use std::collections::BTreeSet;
use std::time::Duration;

use mysql_async::{Params, Pool};

use crate::model::{Flavour, ServerInfo};

use super::query::{fetch, QueryError};
use super::rows::Record;

/// Where processlist rows come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcesslistSource {
    /// `performance_schema.processlist` (MySQL 8.0.22+): no global mutex.
    PerformanceSchema,
    InformationSchema,
}

/// Where row-lock data comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowLockSource {
    /// MySQL 8+: `performance_schema.data_locks` / `data_lock_waits`.
    DataLocks,
    /// MySQL 5.7, MariaDB: `information_schema.INNODB_LOCKS` / `INNODB_LOCK_WAITS`.
    InnodbLocks,
}

/// What detection found: the server and the sources to read.
#[derive(Debug, Clone)]
pub struct Capabilities {
    pub server: ServerInfo,
    pub has_process_privilege: bool,
    pub processlist: ProcesslistSource,
    /// `Err(reason)` when no row-lock source can be read.
    pub row_locks: Result<RowLockSource, String>,
    pub innodb_trx: bool,
    /// `Err(reason, with the fix)` when metadata locks cannot be seen.
    pub metadata_locks: Result<(), String>,
    /// `performance_schema.error_log` (MySQL 8.0.22+): the error log over SQL.
    pub error_log_table: bool,
}

/// The statement that turns metadata-lock instrumentation on at run time.
pub const ENABLE_MDL_SQL: &str =
    "UPDATE performance_schema.setup_instruments SET ENABLED = 'YES', TIMED = 'YES' WHERE NAME = 'wait/lock/metadata/sql/mdl';";

/// `10.11.19-MariaDB-0+deb12u1` → (10, 11, 19).
pub fn parse_version(version: &str) -> (u32, u32, u32) {
    let mut parts = version
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse().unwrap_or(0));
    (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    )
}

pub fn flavour_of(version: &str, comment: Option<&str>, aurora: bool) -> Flavour {
    if version.to_ascii_lowercase().contains("mariadb") {
        Flavour::Mariadb
    } else if aurora {
        Flavour::Aurora
    } else if comment.is_some_and(|c| c.to_ascii_lowercase().contains("percona")) {
        Flavour::Percona
    } else {
        Flavour::Mysql
    }
}

fn variable(rows: &[Record], name: &str) -> Option<String> {
    rows.iter()
        .find(|r| r.text("variable_name").as_deref() == Some(name))
        .and_then(|r| r.text("value"))
}

/// The grant that lets an account read performance_schema's lock tables.
const PS_SELECT_GRANT: &str = "GRANT SELECT ON performance_schema.* TO <account>";

/// Decides the sources from what the server has, not from a version table alone.
pub fn choose_sources(
    server: ServerInfo,
    tables: &BTreeSet<String>,
    has_process: bool,
    mdl_enabled: Option<bool>,
) -> Capabilities {
    let has = |t: &str| tables.contains(t);
    let ps_on = server.performance_schema;
    // information_schema.TABLES lists only what the account may read: with performance_schema
    // ON and none of its tables listed, they exist but this account lacks SELECT on them.
    let ps_hidden = ps_on && !tables.iter().any(|t| t.starts_with("performance_schema."));
    let processlist = if ps_on && has("performance_schema.processlist") {
        ProcesslistSource::PerformanceSchema
    } else {
        ProcesslistSource::InformationSchema
    };
    let row_locks = if ps_on
        && has("performance_schema.data_lock_waits")
        && has("performance_schema.threads")
    {
        Ok(RowLockSource::DataLocks)
    } else if has("information_schema.INNODB_LOCK_WAITS") {
        Ok(RowLockSource::InnodbLocks)
    } else if ps_hidden && server.flavour != Flavour::Mariadb && server.version_number.0 >= 8 {
        Err(format!("missing privilege: this account cannot read performance_schema.data_lock_waits, where MySQL 8 keeps row-lock waits ({PS_SELECT_GRANT})"))
    } else if has("performance_schema.data_lock_waits") {
        Err("performance_schema is OFF: MySQL 8 keeps row locks only in performance_schema.data_locks (set performance_schema=ON in my.cnf and restart)".into())
    } else {
        Err("this server has neither performance_schema.data_lock_waits nor information_schema.INNODB_LOCK_WAITS".into())
    };
    let metadata_locks = if !ps_on {
        Err("performance_schema is OFF, so metadata locks are not visible (set performance_schema=ON and performance-schema-instrument='wait/lock/metadata/sql/mdl=ON' in my.cnf, then restart); sessions in 'Waiting for table metadata lock' are still listed".into())
    } else if ps_hidden {
        Err(format!("missing privilege: this account cannot read performance_schema.metadata_locks ({PS_SELECT_GRANT})"))
    } else if !has("performance_schema.metadata_locks") {
        Err("this server has no performance_schema.metadata_locks table".into())
    } else if mdl_enabled == Some(false) {
        Err(format!(
            "the wait/lock/metadata/sql/mdl instrument is off; turn it on with: {ENABLE_MDL_SQL}"
        ))
    } else {
        Ok(())
    };
    Capabilities {
        row_locks,
        innodb_trx: has("information_schema.INNODB_TRX"),
        error_log_table: has("performance_schema.error_log"),
        processlist,
        metadata_locks,
        has_process_privilege: has_process,
        server,
    }
}

/// Asks the server who it is and what this account may read.
pub async fn detect(pool: &Pool, timeout: Duration) -> Result<Capabilities, QueryError> {
    let (info_rows, _) = fetch(
        pool,
        include_str!("../../queries/server_info.sql"),
        Params::Empty,
        None,
        timeout,
    )
    .await?;
    let info = info_rows.into_iter().next().unwrap_or_default();
    // One after another on the one connection: near max_connections a second one may be refused,
    // and a refused read must not pass for an absent table.
    let run = |sql: &'static str| fetch(pool, sql, Params::Empty, None, timeout);
    let vars = run(include_str!("../../queries/server_variables.sql")).await;
    let tables = run(include_str!("../../queries/lock_tables_present.sql")).await?;
    let privilege = run(include_str!("../../queries/process_privilege.sql")).await;
    let uptime = run(include_str!("../../queries/uptime.sql")).await;
    let vars = vars.map(|v| v.0).unwrap_or_default();
    let version = info.text("version").unwrap_or_default();
    let comment = info.text("version_comment");
    let flavour = flavour_of(
        &version,
        comment.as_deref(),
        variable(&vars, "aurora_version").is_some(),
    );
    let tables: BTreeSet<String> = tables
        .0
        .iter()
        .map(|r| {
            format!(
                "{}.{}",
                r.text("table_schema").unwrap_or_default(),
                r.text("table_name").unwrap_or_default()
            )
        })
        .collect();
    let performance_schema = info.num("performance_schema") == Some(1);
    let mdl_enabled =
        if performance_schema && tables.contains("performance_schema.setup_instruments") {
            fetch(
                pool,
                include_str!("../../queries/mdl_instrument.sql"),
                Params::Empty,
                Some(flavour),
                timeout,
            )
            .await
            .ok()
            .and_then(|(rows, _)| rows.first().and_then(|r| r.text("enabled")))
            .map(|v| v.eq_ignore_ascii_case("YES"))
        } else {
            None
        };
    let server = ServerInfo {
        flavour,
        version_number: parse_version(&version),
        version,
        version_comment: comment,
        hostname: info.text("hostname"),
        port: info.num("port"),
        server_id: info.num("server_id"),
        utc_offset_secs: info.int("utc_offset_secs"),
        uptime_secs: uptime
            .ok()
            .and_then(|(rows, _)| rows.first().and_then(|r| r.num("value"))),
        performance_schema,
        mdl_instrument: mdl_enabled.unwrap_or(false),
        deadlock_detect: variable(&vars, "innodb_deadlock_detect")
            .map(|v| v.eq_ignore_ascii_case("ON")),
        current_user: info.text("current_user_name"),
        own_connection_id: info.num("connection_id"),
        read_only: info.num("read_only").map(|v| v != 0),
        innodb_lock_wait_timeout_secs: variable(&vars, "innodb_lock_wait_timeout")
            .and_then(|v| v.parse().ok()),
    };
    let has_process = privilege
        .ok()
        .and_then(|(rows, _)| rows.first().and_then(|r| r.num("has_process")))
        .unwrap_or(0)
        > 0;
    Ok(choose_sources(server, &tables, has_process, mdl_enabled))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn mysql8_reads_performance_schema() {
        let server = ServerInfo {
            flavour: flavour_of("8.0.36", Some("MySQL Community Server - GPL"), false),
            performance_schema: true,
            ..ServerInfo::default()
        };
        let caps = choose_sources(
            server,
            &tables(&[
                "performance_schema.processlist",
                "performance_schema.data_locks",
                "performance_schema.data_lock_waits",
                "performance_schema.threads",
                "performance_schema.metadata_locks",
                "information_schema.INNODB_TRX",
            ]),
            true,
            Some(true),
        );
        assert_eq!(caps.processlist, ProcesslistSource::PerformanceSchema);
        assert_eq!(caps.row_locks, Ok(RowLockSource::DataLocks));
        assert!(caps.metadata_locks.is_ok());
    }

    #[test]
    fn mysql8_with_performance_schema_off_says_why() {
        let server = ServerInfo {
            flavour: Flavour::Mysql,
            performance_schema: false,
            ..ServerInfo::default()
        };
        let caps = choose_sources(
            server,
            &tables(&[
                "performance_schema.data_lock_waits",
                "information_schema.INNODB_TRX",
            ]),
            true,
            None,
        );
        assert!(caps
            .row_locks
            .unwrap_err()
            .contains("performance_schema=ON"));
        assert!(caps
            .metadata_locks
            .unwrap_err()
            .contains("performance_schema"));
        assert_eq!(caps.processlist, ProcesslistSource::InformationSchema);
    }

    #[test]
    fn mariadb_reads_information_schema_and_names_the_mdl_fix() {
        let server = ServerInfo {
            flavour: flavour_of("10.11.19-MariaDB-0+deb12u1", None, false),
            performance_schema: true,
            ..ServerInfo::default()
        };
        assert_eq!(server.flavour, Flavour::Mariadb);
        let caps = choose_sources(
            server,
            &tables(&[
                "information_schema.INNODB_LOCK_WAITS",
                "information_schema.INNODB_LOCKS",
                "information_schema.INNODB_TRX",
                "performance_schema.metadata_locks",
                "performance_schema.threads",
            ]),
            false,
            Some(false),
        );
        assert_eq!(caps.row_locks, Ok(RowLockSource::InnodbLocks));
        assert!(caps.metadata_locks.unwrap_err().contains(ENABLE_MDL_SQL));
    }

    #[test]
    fn versions_and_flavours() {
        assert_eq!(parse_version("8.4.2"), (8, 4, 2));
        assert_eq!(parse_version("5.7.44-48-log"), (5, 7, 44));
        assert_eq!(
            flavour_of("8.0.35-27", Some("Percona Server (GPL), Release 27"), false),
            Flavour::Percona
        );
        assert_eq!(
            flavour_of("8.0.28", Some("Source distribution"), true),
            Flavour::Aurora
        );
    }
}
