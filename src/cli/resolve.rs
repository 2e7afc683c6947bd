//! Flags as parsed → the settings the handlers run on, resolved once: the
//! source (server connection, snapshot or files), the output format checked
//! against the command's view, and one resolved value per command. No other
//! module sees raw flags.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use regex::Regex;

use crate::act::dupes::DupesRequest;
use crate::analyze::kill::KillCriteria;
use crate::analyze::views::{PsFilter, DEFAULT_LONG_TRX};
use crate::model::{SessionCommand, TableRef};
use crate::render::{Format, TableStyle, ViewKind};
use crate::source::connect::ConnectionConfig;

use super::args::{
    CheckArgs, Cli, Command, DeadlockArgs, DupesArgs, KillArgs, RecordArgs, StatusArgs,
};
use super::config::resolve_connection;
use super::Output;
pub use crate::act::kill::KillRequest;
pub use crate::act::record::RecordJob;

/// The shortest --interval of `record` and `watch`. InnoDB refreshes the cache behind
/// `INNODB_TRX`/`INNODB_LOCKS`/`INNODB_LOCK_WAITS` only when nobody read it for 100 ms:
/// a client reading it more often freezes it, for itself and every other client.
pub const MIN_POLL_INTERVAL: Duration = Duration::from_millis(200);

fn polling_interval(interval: Duration) -> Result<Duration> {
    if interval < MIN_POLL_INTERVAL {
        bail!(
            "--interval {}: at least {} — InnoDB refreshes INNODB_TRX only when nobody read it for 100 ms, so polling faster would freeze it for every client (and lockdiag)",
            humantime::format_duration(interval),
            humantime::format_duration(MIN_POLL_INTERVAL)
        );
    }
    Ok(interval)
}

/// Where the command reads from.
#[derive(Debug)]
pub enum Source {
    /// A live server.
    Server(ConnectionConfig),
    /// A saved snapshot file (or, for `deadlock`, a directory of them).
    Snapshot(PathBuf),
    /// Files named by the command itself (`deadlock --file/--error-log`).
    Files,
}

impl Source {
    /// The connection, for commands that only work against a server.
    pub fn server(&self) -> Result<&ConnectionConfig> {
        match self {
            Source::Server(config) => Ok(config),
            _ => bail!("this command needs a server connection"),
        }
    }
}

/// `deadlock`: where the deadlocks come from, and which are listed.
#[derive(Debug, Clone)]
pub struct DeadlockJob {
    pub file: Option<PathBuf>,
    pub error_log: Option<PathBuf>,
    /// Only deadlocks at most this old.
    pub since: Option<Duration>,
    /// Deadlocks listed at most (groups count them all).
    pub last: usize,
    /// `--server-tz`, seconds east of UTC.
    pub server_utc_offset: Option<i64>,
    /// `--history`: the server's performance_schema.error_log instead of its InnoDB status.
    pub history: bool,
}

/// `kill`: whom, how, and where the audit goes.
#[derive(Debug, Clone)]
pub struct KillJob {
    pub request: KillRequest,
    /// `--yes`: no question asked.
    pub yes: bool,
}

/// `snapshot`.
#[derive(Debug, Clone)]
pub struct SnapshotJob {
    pub out: Option<PathBuf>,
    pub keep: Option<Duration>,
    pub no_raw: bool,
    pub lock_groups: u64,
}

/// One `check` assertion, in the order results are reported.
#[derive(Debug, Clone)]
pub enum Assertion {
    MaxLockWait(Duration),
    MaxBlocked(u64),
    MaxTrxAge(Duration),
    NoMetadataLockWaits,
    NoDeadlockSince(Duration),
    NoNewDeadlock(PathBuf),
    /// The spec as typed (for the result's name) and the scan it means.
    NoDuplicates(String, DupesRequest),
    /// A DDL on this table would get its metadata lock at once (schema resolved).
    DdlReady {
        schema: String,
        table: String,
    },
}

/// `check`.
#[derive(Debug, Clone)]
pub struct CheckJob {
    pub assertions: Vec<Assertion>,
    pub junit: Option<PathBuf>,
    /// `--wait-ready`: poll until every `DdlReady` table is ready, for at most this long.
    pub wait_ready: Option<Duration>,
}

/// What to run, resolved.
#[derive(Debug)]
pub enum Job {
    Status {
        long_trx: Duration,
        all: bool,
    },
    Ps(PsFilter),
    Locks {
        table: Option<TableRef>,
        limit: u64,
    },
    Waits {
        all: bool,
    },
    Deadlock(DeadlockJob),
    Kill(KillJob),
    Snapshot(SnapshotJob),
    Check(CheckJob),
    Dupes(DupesRequest),
    Record(RecordJob),
    Watch(WatchJob),
    Report(ReportJob),
    Serve(crate::act::serve::ServeJob),
    /// `status --hosts` / `snapshot --hosts`.
    Fleet(FleetJob),
}

/// One server of a hosts file, resolved.
#[derive(Debug, Clone)]
pub struct FleetTarget {
    /// As the hosts file names it, password-free.
    pub name: String,
    /// Its directory under `snapshot --hosts --out DIR/`.
    pub dir: String,
    pub config: ConnectionConfig,
}

/// `status --hosts FILE` and `snapshot --hosts FILE --out DIR/`.
#[derive(Debug)]
pub struct FleetJob {
    pub targets: Vec<FleetTarget>,
    pub parallel: usize,
    pub lock_groups: u64,
    pub no_raw: bool,
    /// `snapshot --hosts`: the directory of the servers' directories, and `--keep`.
    pub snapshots: Option<(PathBuf, Option<Duration>)>,
}

/// `report`: what to read, where the page goes.
#[derive(Debug, Clone)]
pub struct ReportJob {
    /// A `record` directory, any directory of snapshots, one snapshot, or a deadlocks.jsonl.
    pub from: Option<PathBuf>,
    pub error_logs: Vec<PathBuf>,
    pub out: PathBuf,
    /// `--server-tz`, for zone-less error-log timestamps.
    pub server_utc_offset: Option<i64>,
}

/// `watch`.
#[derive(Debug, Clone)]
pub struct WatchJob {
    pub interval: Duration,
    pub long_trx: Duration,
}

/// The trigger when none is given: a row-lock wait this long.
const DEFAULT_LOCK_WAIT_TRIGGER: Duration = Duration::from_secs(5);

fn record_job(args: RecordArgs) -> RecordJob {
    let mut triggers = crate::analyze::record::Triggers {
        lock_wait: args.on_lock_wait,
        blocked: args.on_blocked,
        trx_age: args.on_trx_age,
        mdl_wait: args.on_mdl_wait,
    };
    let default_triggers = triggers.is_empty();
    if default_triggers {
        // Until connected; then a third of the server's innodb_lock_wait_timeout.
        triggers.lock_wait = Some(DEFAULT_LOCK_WAIT_TRIGGER);
    }
    RecordJob {
        out: args.out,
        interval: args.interval,
        triggers,
        default_triggers,
        deadlocks: !args.no_deadlocks,
        cooldown: args.cooldown,
        keep: args.keep,
        max_size: args.max_size,
        error_log: args.error_log,
        run_for: args.run_for,
        json_log: args.log_format == "json",
        lock_groups: args.limit,
        no_raw: args.no_raw,
        enable_statement_history: args.enable_statement_history,
    }
}

/// Everything a handler needs.
#[derive(Debug)]
pub struct Settings {
    pub output: Output,
    pub source: Source,
    pub job: Job,
}

/// Deadlocks listed from a log when `--last` is not given.
const DEFAULT_LAST: usize = 20;

/// Rows per chunk and groups listed for `check --no-duplicates`.
const CHECK_DUPES_CHUNK_ROWS: u64 = 10_000;
const CHECK_DUPES_GROUPS: usize = 5;

const NOTHING_TO_RESOLVE: &str =
    "completions and man print reference text: they have no settings to resolve";

/// The view a command prints; `None` for the generated reference texts
/// (completions, man page), which `cli::run` prints before resolving anything.
fn view_of(command: &Command) -> Option<ViewKind> {
    Some(match command {
        Command::Status(args) if args.hosts.is_some() => ViewKind::Fleet,
        Command::Status(_) => ViewKind::Status,
        Command::Ps(_) => ViewKind::Ps,
        Command::Locks(_) => ViewKind::Locks,
        Command::Waits(_) => ViewKind::Waits,
        Command::Deadlock(_) => ViewKind::Deadlock,
        Command::Kill(_) => ViewKind::Kill,
        Command::Snapshot(_) => ViewKind::Snapshot,
        Command::Check(_) => ViewKind::Check,
        Command::Record(_) => ViewKind::Snapshot,
        Command::Watch(_) => ViewKind::Status,
        Command::Dupes(_) => ViewKind::Dupes,
        Command::Report(_) => ViewKind::Report,
        Command::Serve(_) => ViewKind::Snapshot,
        Command::Completions(_) | Command::Man(_) => return None,
    })
}

/// The format a command prints in. `record` writes JSON files (its snapshots, its
/// deadlocks) and `watch` draws a screen: any other `--format` would be ignored, so
/// it is refused.
fn command_format(command: &Command, view: ViewKind, asked: Option<Format>) -> Result<Format> {
    let only = match command {
        Command::Record(_) => Some((
            Format::Json,
            "record writes its snapshots and deadlocks as JSON",
        )),
        Command::Watch(_) => Some((Format::Table, "watch draws the status screen")),
        Command::Serve(_) => Some((
            Format::Prometheus,
            "serve answers scrapes in the Prometheus format",
        )),
        Command::Snapshot(args) if args.hosts.is_some() => Some((
            Format::Json,
            "snapshot --hosts writes one JSON snapshot per server",
        )),
        _ => None,
    };
    match (only, asked) {
        (Some((format, _)), None) => Ok(format),
        (Some((format, _)), Some(wanted)) if wanted == format => Ok(format),
        (Some((format, what)), Some(wanted)) => bail!(
            "{what}: --format {} is not one of its formats ({})",
            wanted.name(),
            format.name()
        ),
        (None, asked) => Ok(view.format(asked)?),
    }
}

fn regex(pattern: Option<&str>) -> Result<Option<Regex>> {
    pattern
        .map(Regex::new)
        .transpose()
        .context("invalid --match regular expression")
}

/// Resolves the command line. Connection settings (option files, a password
/// prompt) are resolved only when the command reads from a server.
pub fn resolve(cli: Cli) -> Result<Settings> {
    let command = cli
        .command
        .unwrap_or(Command::Status(StatusArgs::default()));
    let Some(view) = view_of(&command) else {
        bail!(NOTHING_TO_RESOLVE);
    };
    let output = Output {
        format: command_format(&command, view, cli.format)?,
        style: TableStyle::detect(cli.no_color),
    };
    if let Command::Report(args) = command {
        // Files only: a report is made after the incident, never from a server.
        if cli.from.is_none() && args.error_log.is_empty() {
            bail!("report reads a recording: give --from DIR (a `record` directory), --from FILE (one snapshot) or --error-log PATH");
        }
        return Ok(Settings {
            output,
            source: Source::Files,
            job: Job::Report(ReportJob {
                from: cli.from,
                error_logs: args.error_log,
                out: args.out,
                server_utc_offset: args.server_tz,
            }),
        });
    }
    let reads_files =
        matches!(&command, Command::Deadlock(d) if d.file.is_some() || d.error_log.is_some());
    let source = match (&cli.from, reads_files) {
        (Some(_), true) => {
            bail!("--from reads a saved snapshot: it does not combine with --file or --error-log")
        }
        (Some(_), false) if matches!(&command, Command::Deadlock(d) if d.history) => {
            bail!("--history reads the server's performance_schema.error_log: it does not combine with --from")
        }
        (Some(path), false) => {
            if !matches!(
                view,
                ViewKind::Status
                    | ViewKind::Ps
                    | ViewKind::Locks
                    | ViewKind::Waits
                    | ViewKind::Deadlock
            ) {
                bail!("--from reads a saved snapshot: it works with status, ps, locks, waits and deadlock, not `{}`", view.name());
            }
            if path.is_dir() && view != ViewKind::Deadlock {
                bail!("--from {} is a directory: give one snapshot file (a directory works with `deadlock`)", path.display());
            }
            Source::Snapshot(path.clone())
        }
        (None, true) => Source::Files,
        (None, false) => Source::Server(resolve_connection(&cli.connection)?),
    };
    if let Some(job) = fleet_job(&command, &source, &cli.connection)? {
        return Ok(Settings {
            output,
            source,
            job: Job::Fleet(job),
        });
    }
    let job = match command {
        Command::Status(args) => Job::Status {
            long_trx: args.long_trx.unwrap_or(DEFAULT_LONG_TRX),
            all: args.all,
        },
        Command::Ps(args) => Job::Ps(PsFilter {
            min_time: args.min_time,
            user: args.user,
            db: args.db,
            command: args.command.as_deref().map(SessionCommand::from),
            statement: regex(args.match_query.as_deref())?,
            no_idle: args.no_idle,
        }),
        Command::Locks(args) => Job::Locks {
            table: args
                .table
                .as_deref()
                .map(TableRef::parse)
                .transpose()
                .map_err(|e| anyhow::anyhow!("--table {e}"))?,
            limit: args.limit,
        },
        Command::Waits(args) => Job::Waits { all: args.all },
        Command::Deadlock(args) => Job::Deadlock(deadlock_job(args)),
        Command::Kill(args) => Job::Kill(kill_job(args)?),
        Command::Snapshot(args) => Job::Snapshot(SnapshotJob {
            out: args.out,
            keep: args.keep,
            no_raw: args.no_raw,
            lock_groups: args.limit,
        }),
        Command::Check(args) => Job::Check(check_job(args, source.server()?)?),
        Command::Record(args) => {
            polling_interval(args.interval)?;
            Job::Record(record_job(args))
        }
        Command::Watch(args) => Job::Watch(WatchJob {
            interval: polling_interval(args.interval)?,
            long_trx: args.long_trx.unwrap_or(DEFAULT_LONG_TRX),
        }),
        Command::Dupes(args) => Job::Dupes(dupes_request(&args, source.server()?)?),
        Command::Report(_) => bail!("report reads files only (resolved above)"),
        Command::Serve(args) => {
            let default_server = source.server()?.clone();
            let auth_modules = match &args.config_my_cnf {
                Some(path) => super::serve::auth_modules(path, &default_server)?,
                // Without a file, probes use this command line's account.
                None => std::iter::once(("client".to_string(), default_server.clone())).collect(),
            };
            Job::Serve(crate::act::serve::ServeJob {
                listen: args.listen,
                default_server,
                auth_modules,
                max_parallel: args.max_parallel,
                default_timeout: args.scrape_timeout,
                lock_groups: args.limit,
            })
        }
        Command::Completions(_) | Command::Man(_) => bail!(NOTHING_TO_RESOLVE),
    };
    Ok(Settings {
        output,
        source,
        job,
    })
}

/// `status --hosts` / `snapshot --hosts`, when given.
fn fleet_job(
    command: &Command,
    source: &Source,
    connection: &super::args::ConnectionArgs,
) -> Result<Option<FleetJob>> {
    let (hosts, parallel) = match command {
        Command::Status(args) => (&args.hosts, args.parallel),
        Command::Snapshot(args) => (&args.hosts, args.parallel),
        _ => return Ok(None),
    };
    let (Some(path), Source::Server(base)) = (hosts, source) else {
        return Ok(None);
    };
    let targets = fleet_targets(path, base, connection)?;
    Ok(Some(match command {
        Command::Snapshot(args) => FleetJob {
            targets,
            parallel,
            lock_groups: args.limit,
            no_raw: args.no_raw,
            snapshots: Some((fleet_out(args.out.clone())?, args.keep)),
        },
        _ => FleetJob {
            targets,
            parallel,
            lock_groups: STATUS_LOCK_GROUPS,
            no_raw: true,
            snapshots: None,
        },
    }))
}

/// Lock groups a fleet status reads per server (its figures need none of them).
const STATUS_LOCK_GROUPS: u64 = 1;

/// `--out` of `snapshot --hosts`: a directory (each server gets its own under it).
fn fleet_out(out: Option<PathBuf>) -> Result<PathBuf> {
    let Some(out) = out else {
        bail!("snapshot --hosts writes one snapshot per server: give --out DIR/");
    };
    if !out.is_dir() && !out.as_os_str().to_string_lossy().ends_with('/') {
        bail!(
            "--out {}: with --hosts, a directory (an existing one, or a path ending in / to create)",
            out.display()
        );
    }
    Ok(out)
}

/// The hosts file's servers, each with its connection: the target's address, a URL's
/// account, else `group=NAME`'s, else the command line's. Any bad line is an error
/// naming it, before anything is connected to.
fn fleet_targets(
    path: &std::path::Path,
    base: &ConnectionConfig,
    args: &super::args::ConnectionArgs,
) -> Result<Vec<FleetTarget>> {
    use crate::parse::hosts_file::{parse_hosts_file, TargetAddress};
    let text =
        std::fs::read_to_string(path).with_context(|| format!("--hosts {}", path.display()))?;
    let entries = parse_hosts_file(&text).with_context(|| format!("--hosts {}", path.display()))?;
    if entries.is_empty() {
        bail!("--hosts {}: no server in it", path.display());
    }
    let mut targets: Vec<FleetTarget> = Vec::with_capacity(entries.len());
    for entry in entries {
        let at_line = || format!("--hosts {}: line {}", path.display(), entry.line);
        let mut config = base.clone();
        if let Some(group) = &entry.group {
            super::config::apply_group(&mut config, args, group).with_context(at_line)?;
        }
        if entry.user.is_some() {
            config.user = entry.user.clone();
            config.password = entry.password.clone();
        }
        match &entry.address {
            TargetAddress::Tcp { host, port } => {
                config.host = Some(host.clone());
                config.port = Some(port.unwrap_or(3306));
                config.socket = None;
            }
            TargetAddress::Socket(socket) => {
                config.host = None;
                config.socket = Some(socket.into());
            }
        }
        let dir = entry.dir_name();
        if let Some(other) = targets.iter().find(|t| t.dir == dir) {
            bail!(
                "{}: {} and {} would share the directory {dir}",
                at_line(),
                other.name,
                entry.name
            );
        }
        targets.push(FleetTarget {
            name: entry.name.clone(),
            dir,
            config,
        });
    }
    Ok(targets)
}

fn deadlock_job(args: DeadlockArgs) -> DeadlockJob {
    DeadlockJob {
        file: args.file,
        error_log: args.error_log,
        since: args.since,
        last: args.last.unwrap_or(DEFAULT_LAST),
        server_utc_offset: args.server_tz,
        history: args.history,
    }
}

fn kill_job(args: KillArgs) -> Result<KillJob> {
    if args.force && args.thread_ids.is_empty() {
        bail!("--force works only with explicit thread ids: it never widens a selection");
    }
    let criteria = KillCriteria {
        thread_ids: args.thread_ids,
        root_blockers: args.root_blockers,
        blocking_longer_than: args.blocking_longer_than,
        idle_in_trx_longer_than: args.idle_in_trx_longer_than,
        user: args.user,
        db: args.db,
        query_pattern: regex(args.match_query.as_deref())?,
        force: args.force,
    };
    if !criteria.has_selector() {
        bail!("say whom to kill: thread ids, --root-blockers, --blocking-longer-than D or --idle-in-trx-longer-than D");
    }
    let audit_log = crate::act::audit::audit_path(args.audit_log)?;
    Ok(KillJob {
        request: KillRequest {
            criteria,
            expect_server: args.expect_server,
            kill_query: args.query,
            dry_run: args.dry_run,
            audit_log,
        },
        yes: args.yes,
    })
}

fn check_job(args: CheckArgs, config: &ConnectionConfig) -> Result<CheckJob> {
    let mut assertions = Vec::new();
    if let Some(d) = args.max_lock_wait {
        assertions.push(Assertion::MaxLockWait(d));
    }
    if let Some(n) = args.max_blocked {
        assertions.push(Assertion::MaxBlocked(n));
    }
    if let Some(d) = args.max_trx_age {
        assertions.push(Assertion::MaxTrxAge(d));
    }
    if args.no_metadata_lock_waits {
        assertions.push(Assertion::NoMetadataLockWaits);
    }
    for spec in &args.ddl_ready {
        let table = TableRef::parse(spec).map_err(|e| anyhow::anyhow!("--ddl-ready {e}"))?;
        let schema = match (table.schema, &config.database) {
            (Some(schema), _) => schema,
            (None, Some(db)) => db.clone(),
            (None, None) => bail!(
                "--ddl-ready {spec}: name the schema (--ddl-ready SCHEMA.{}): no database in the connection settings",
                table.table
            ),
        };
        assertions.push(Assertion::DdlReady {
            schema,
            table: table.table,
        });
    }
    if args.wait_ready.is_some() && args.ddl_ready.is_empty() {
        bail!("--wait-ready waits for the --ddl-ready tables: give at least one --ddl-ready [SCHEMA.]TABLE");
    }
    if let Some(d) = args.no_deadlock_since {
        assertions.push(Assertion::NoDeadlockSince(d));
    }
    if let Some(path) = args.no_new_deadlock {
        assertions.push(Assertion::NoNewDeadlock(path));
    }
    for spec in args.no_duplicates {
        let (table, columns) = spec.rsplit_once('.').with_context(|| {
            format!("--no-duplicates {spec}: expected TABLE.COL[,COL…] or SCHEMA.TABLE.COL[,COL…]")
        })?;
        let request = build_dupes_request(
            config,
            table,
            columns,
            None,
            CHECK_DUPES_GROUPS,
            CHECK_DUPES_CHUNK_ROWS,
        )
        .with_context(|| format!("--no-duplicates {spec}"))?;
        assertions.push(Assertion::NoDuplicates(spec, request));
    }
    if assertions.is_empty() {
        bail!("give at least one assertion: --max-lock-wait, --max-blocked, --max-trx-age, --no-deadlock-since, --no-new-deadlock, --no-duplicates, --no-metadata-lock-waits, --ddl-ready");
    }
    Ok(CheckJob {
        assertions,
        junit: args.junit,
        wait_ready: args.wait_ready,
    })
}

fn dupes_request(args: &DupesArgs, config: &ConnectionConfig) -> Result<DupesRequest> {
    build_dupes_request(
        config,
        &args.table,
        &args.columns,
        args.filter.clone(),
        args.limit,
        args.chunk_rows,
    )
}

/// `[schema.]table` and `col[,col…]` → a scan; the schema defaults to the connection's database.
fn build_dupes_request(
    config: &ConnectionConfig,
    table: &str,
    columns: &str,
    filter: Option<String>,
    limit: usize,
    chunk_rows: u64,
) -> Result<DupesRequest> {
    let table = TableRef::parse(table).map_err(|e| anyhow::anyhow!("--table {e}"))?;
    let schema = match table.schema {
        Some(schema) => schema,
        None => match &config.database {
            Some(db) => db.clone(),
            None => bail!(
                "name the schema: --table <schema>.{} (no database in the connection settings)",
                table.table
            ),
        },
    };
    let columns: Vec<String> = columns
        .split(',')
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    if columns.is_empty() {
        bail!("give at least one column");
    }
    Ok(DupesRequest {
        schema,
        table: table.table,
        columns,
        filter,
        chunk_rows,
        limit,
        timeout: config.query_timeout,
    })
}
