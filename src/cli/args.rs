//! The command line as typed: clap definitions only. `cli::config` turns
//! these into the resolved settings the rest of the program uses.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::render::Format;
use crate::source::connect::SslMode;

/// `--format`: one of the render formats (which ones a command takes is checked
/// once, in `resolve`). The names are given to clap so that completion scripts
/// offer them, not file names.
fn format_value() -> impl clap::builder::TypedValueParser<Value = Format> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(Format::NAMES).try_map(|name| name.parse::<Format>())
}

/// `--ssl-mode`: read as the client reads it (any case, `-` for `_`), its names
/// given to clap so that completion scripts offer them.
#[derive(Clone)]
struct SslModeValue;

impl clap::builder::TypedValueParser for SslModeValue {
    type Value = SslMode;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<SslMode, clap::Error> {
        let text = clap::builder::StringValueParser::new().parse_ref(cmd, arg, value)?;
        text.parse::<SslMode>()
            .map_err(|e| clap::Error::raw(clap::error::ErrorKind::InvalidValue, format!("{e}\n")))
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            SslMode::NAMES
                .iter()
                .map(|n| clap::builder::PossibleValue::new(*n).hide(false)),
        ))
    }
}

/// A duration greater than zero (`5s`, `1m30s`, `250ms`).
pub fn positive_duration(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text).map_err(|e| format!("{e} (e.g. 5s, 2m, 250ms)"))?;
    if d.is_zero() {
        return Err("must be greater than zero (e.g. 5s, 2m, 250ms)".into());
    }
    Ok(d)
}

/// A retention period: at least a minute (`--keep 0`, `1ns` or `5s` would delete
/// the history a cron line is meant to keep).
pub fn retention(text: &str) -> Result<Duration, String> {
    let d = positive_duration(text)?;
    if d < Duration::from_secs(60) {
        return Err(
            "a retention shorter than 1m would delete the snapshots it keeps (e.g. 7d, 12h)".into(),
        );
    }
    Ok(d)
}

/// `--server-tz`: `UTC`, `Z`, `+08:00`, `-0530`, `+8`, or `local` (this machine's zone now).
pub fn utc_offset(text: &str) -> Result<i64, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("utc") || t == "Z" || t.eq_ignore_ascii_case("gmt") {
        return Ok(0);
    }
    if t.eq_ignore_ascii_case("local") || t.eq_ignore_ascii_case("system") {
        return Ok(i64::from(chrono::Local::now().offset().local_minus_utc()));
    }
    let bad = || format!("{text:?}: give UTC, local, or an offset such as +08:00 or -05:30");
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'+') => (1, &t[1..]),
        Some(b'-') => (-1, &t[1..]),
        _ => return Err(bad()),
    };
    let (hours, minutes) = match rest.split_once(':') {
        Some((h, m)) => (h, m),
        None if rest.len() == 4 => rest.split_at(2),
        None => (rest, "0"),
    };
    let (h, m): (i64, i64) = (
        hours.parse().map_err(|_| bad())?,
        minutes.parse().map_err(|_| bad())?,
    );
    if h > 14 || m > 59 {
        return Err(bad());
    }
    Ok(sign * (h * 3600 + m * 60))
}

/// A count of at least one.
fn positive_count(text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("{e}: a whole number of at least 1")),
    }
}

fn positive_usize(text: &str) -> Result<usize, String> {
    positive_count(text).and_then(|n| usize::try_from(n).map_err(|e| e.to_string()))
}

#[derive(Debug, Parser)]
#[command(
    name = "lockdiag",
    version,
    about = "What is wrong with locks on a MySQL or MariaDB server: who blocks whom, deadlocks explained.",
    // -h is --host, as for the mysql client.
    disable_help_flag = true,
    after_help = "Exit status: 0 nothing wrong (or done), 1 findings (a failed check, a declined kill, \
deadlock text that could not be read), 2 usage, connection, query or output error."
)]
pub struct Cli {
    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// Output format: table, json, dot, mermaid, svg (waits, deadlock; svg also status), prometheus (snapshot).
    #[arg(long, global = true, value_parser = format_value(), ignore_case = true, hide_possible_values = true, value_name = "FORMAT", help_heading = "Output")]
    pub format: Option<Format>,

    /// Read a saved snapshot (status, ps, locks, waits, deadlock) instead of a server; for
    /// `deadlock`, a directory of snapshots too.
    #[arg(long, global = true, help_heading = "Output")]
    pub from: Option<PathBuf>,

    /// No colour, whatever the terminal (NO_COLOR is also respected).
    #[arg(long, global = true, help_heading = "Output")]
    pub no_color: bool,

    /// Print help.
    #[arg(long, global = true, action = clap::ArgAction::Help)]
    pub help: Option<bool>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// How to reach the server, read the way the `mysql` client reads it. They go
/// before or after the command (`lockdiag -h db1 ps` or `lockdiag ps -h db1`).
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Connection")]
pub struct ConnectionArgs {
    /// mysql://user:pass@host:port/db (or env LOCKDIAG_URL).
    #[arg(long, global = true, env = "LOCKDIAG_URL", hide_env_values = true)]
    pub url: Option<String>,
    /// Server host.
    #[arg(short = 'h', long, global = true)]
    pub host: Option<String>,
    /// Server TCP port.
    #[arg(short = 'P', long, global = true)]
    pub port: Option<u16>,
    /// User name.
    #[arg(short = 'u', long, global = true)]
    pub user: Option<String>,
    /// Password: `-p`/`--password` alone prompts without echo; `-pSECRET` or `--password=SECRET` as with mysql.
    /// On the command line it is visible to other users until lockdiag overwrites it at start, and
    /// stays in shell history: prefer the prompt, an option file only you can read, or LOCKDIAG_URL.
    #[arg(long, global = true, value_name = "SECRET")]
    pub password: Option<String>,
    /// Set by a bare `-p`/`--password`: prompt for the password.
    #[arg(long = "password-prompt", global = true, hide = true)]
    pub password_prompt: bool,
    /// Unix socket file.
    #[arg(short = 'S', long, global = true)]
    pub socket: Option<PathBuf>,
    /// Read options from this file only (no /etc/my.cnf, no ~/.my.cnf).
    #[arg(long, global = true)]
    pub defaults_file: Option<PathBuf>,
    /// Also read this file, after the global option files and before ~/.my.cnf.
    #[arg(long, global = true)]
    pub defaults_extra_file: Option<PathBuf>,
    /// Also read the groups [client<SUFFIX>], [client-server<SUFFIX>], … (or env MYSQL_GROUP_SUFFIX).
    #[arg(long, global = true, value_name = "SUFFIX")]
    pub defaults_group_suffix: Option<String>,
    /// Do not read any option file.
    #[arg(long, global = true)]
    pub no_defaults: bool,
    /// TLS: DISABLED, PREFERRED (default), REQUIRED, VERIFY_CA, VERIFY_IDENTITY.
    #[arg(long, global = true, value_parser = SslModeValue, hide_possible_values = true, value_name = "MODE")]
    pub ssl_mode: Option<SslMode>,
    /// CA certificate file (PEM) for VERIFY_CA / VERIFY_IDENTITY.
    #[arg(long, global = true)]
    pub ssl_ca: Option<PathBuf>,
    /// Give up connecting after this long.
    #[arg(long, global = true, value_parser = positive_duration, default_value = "5s")]
    pub connect_timeout: Duration,
    /// Per-statement limit, enforced by the server where it can be and by lockdiag in any case.
    #[arg(long, global = true, value_parser = positive_duration, default_value = "10s")]
    pub query_timeout: Duration,
    /// List who waits for whom only while InnoDB counts at most this many row-lock waits:
    /// above, listing them costs the server seconds with its lock latch held (the count is
    /// still given).
    #[arg(long, global = true, default_value_t = 500, value_name = "N")]
    pub max_row_waits: u64,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// One screen: server, counts, the waits tree, metadata-lock waits, long transactions, latest deadlock (the default).
    Status(StatusArgs),
    /// The processlist, longest-running first.
    Ps(PsArgs),
    /// Held and waited locks per transaction.
    Locks(LocksArgs),
    /// Who blocks whom: root blockers and the sessions waiting behind them.
    Waits(WaitsArgs),
    /// Deadlocks explained: the latest from the server, a status text, or every one in an error log.
    Deadlock(DeadlockArgs),
    /// Kill blocking sessions, after confirmation: chosen by the analysis, re-checked right before, audited.
    Kill(KillArgs),
    /// Save everything one collection sees as a JSON document (or Prometheus text), for cron.
    Snapshot(SnapshotArgs),
    /// Assertions for CI: PASS/FAIL each, exit 1 when any fails.
    Check(CheckArgs),
    /// Full screen on a terminal: the status refreshed every --interval; k kills a chosen root blocker (as `kill` does).
    Watch(WatchArgs),
    /// Run for long: a cheap probe every --interval, a snapshot when a trigger fires, every new deadlock kept.
    Record(RecordArgs),
    /// Find duplicate keys (e.g. payments.payment_key) without locking the table.
    Dupes(DupesArgs),
    /// A Prometheus exporter: /metrics (this server), /probe?target=…&auth_module=… (any
    /// server, as mysqld_exporter), /-/healthy; every scrape ends within its timeout.
    Serve(ServeArgs),
    /// One self-contained HTML page for the post-mortem, from a `record` directory
    /// (--from DIR), one snapshot (--from FILE) or an error log: timeline, worst moment,
    /// top blockers, deadlocks by shape.
    Report(ReportArgs),
    /// Print a shell completion script: `lockdiag completions bash > /etc/bash_completion.d/lockdiag`.
    Completions(CompletionsArgs),
    /// Print the manual page (roff): `lockdiag man > lockdiag.1; man -l lockdiag.1`.
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write every page (lockdiag.1 and lockdiag-COMMAND.1 for each command) into this directory instead.
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args, Default)]
pub struct CheckArgs {
    /// Fail when a session has waited longer than this for a lock.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub max_lock_wait: Option<Duration>,
    /// Fail when more than N sessions wait for locks.
    #[arg(long)]
    pub max_blocked: Option<u64>,
    /// Fail when a transaction has been open longer than this.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub max_trx_age: Option<Duration>,
    /// Fail when the latest deadlock is more recent than this.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub no_deadlock_since: Option<Duration>,
    /// Fail when the latest deadlock differs from the one in this saved snapshot.
    #[arg(long)]
    pub no_new_deadlock: Option<PathBuf>,
    /// Fail when TABLE has duplicate values of COL[,COL…] (repeatable), e.g. shop.payments.payment_key.
    #[arg(long)]
    pub no_duplicates: Vec<String>,
    /// Fail when any session waits for a metadata lock.
    #[arg(long)]
    pub no_metadata_lock_waits: bool,
    /// Fail when a DDL on [SCHEMA.]TABLE would wait for its metadata lock, naming every session that holds or waits for one there (repeatable).
    #[arg(long, value_name = "[SCHEMA.]TABLE")]
    pub ddl_ready: Vec<String>,
    /// With --ddl-ready: poll (every 500 ms) until every table is ready, for at most this long.
    #[arg(long, value_parser = positive_duration, value_name = "DURATION")]
    pub wait_ready: Option<Duration>,
    /// Also write a JUnit XML report here.
    #[arg(long)]
    pub junit: Option<PathBuf>,
}

#[derive(Debug, Args, Default)]
pub struct WatchArgs {
    /// How often to refresh.
    #[arg(long, value_parser = positive_duration, default_value = "2s")]
    pub interval: Duration,
    /// Report transactions open longer than this [default: 60s].
    #[arg(long, value_parser = positive_duration)]
    pub long_trx: Option<Duration>,
}

#[derive(Debug, Args, Default)]
pub struct RecordArgs {
    /// The directory for snapshots and deadlocks.jsonl (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// How often to probe.
    #[arg(long, value_parser = positive_duration, default_value = "1s")]
    pub interval: Duration,
    /// Snapshot when a session has waited this long for a row lock [default when no trigger is given: a third of the server's innodb_lock_wait_timeout, 1-5s].
    #[arg(long, value_parser = positive_duration)]
    pub on_lock_wait: Option<Duration>,
    /// Snapshot when at least N sessions wait for locks.
    #[arg(long, value_parser = positive_count)]
    pub on_blocked: Option<u64>,
    /// Snapshot when a transaction has been open this long.
    #[arg(long, value_parser = positive_duration)]
    pub on_trx_age: Option<Duration>,
    /// Snapshot when a session has waited this long for a metadata lock.
    #[arg(long, value_parser = positive_duration)]
    pub on_mdl_wait: Option<Duration>,
    /// Keep every new deadlock in DIR/deadlocks.jsonl (the default).
    #[arg(long, conflicts_with = "no_deadlocks")]
    pub on_deadlock: bool,
    /// Do not record deadlocks.
    #[arg(long)]
    pub no_deadlocks: bool,
    /// While a condition lasts, at most one snapshot per this long (plus one when it clears).
    #[arg(long, value_parser = positive_duration, default_value = "10s")]
    pub cooldown: Duration,
    /// Remove snapshots older than this (at least 1m; the newest is always kept).
    #[arg(long, value_parser = retention)]
    pub keep: Option<Duration>,
    /// Remove the oldest snapshots beyond this total size (e.g. 1GB, 500MiB).
    #[arg(long, value_parser = byte_size, value_name = "SIZE")]
    pub max_size: Option<u64>,
    /// Also follow this error log (innodb_print_all_deadlocks=ON) for deadlocks between probes.
    #[arg(long)]
    pub error_log: Option<PathBuf>,
    /// Stop after this long (for scripts and tests); else run until SIGTERM or Ctrl-C.
    #[arg(long = "for", value_parser = positive_duration, value_name = "DURATION")]
    pub run_for: Option<Duration>,
    /// Event lines on stderr: text or json (for log shippers).
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
    /// Lock groups kept per snapshot at most.
    #[arg(long, default_value_t = 1000, value_parser = positive_count)]
    pub limit: u64,
    /// Leave the raw SHOW ENGINE INNODB STATUS text out of the snapshots.
    #[arg(long)]
    pub no_raw: bool,
    /// Turn performance_schema's statement-history consumers on for the recording (so
    /// snapshots say what each root blocker ran) and back off when it ends (needs UPDATE on
    /// performance_schema.setup_consumers; said in the log).
    #[arg(long)]
    pub enable_statement_history: bool,
}

/// `1GB`, `500MiB`, `2048` (bytes): decimal (kB, MB, GB, TB) and binary (KiB, MiB, GiB, TiB) units.
pub fn byte_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?}: a size such as 1GB, 500MiB or 2048"))?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "t" | "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        other => {
            return Err(format!(
                "{text:?}: unknown unit {other:?} (kB, MB, GB, KiB, MiB, GiB)"
            ))
        }
    };
    match n.checked_mul(factor) {
        Some(0) => Err("must be greater than zero".into()),
        Some(bytes) => Ok(bytes),
        None => Err(format!("{text:?} is too large")),
    }
}

#[derive(Debug, Args, Default)]
pub struct DupesArgs {
    /// The table: `table` (in the connection's database) or `schema.table`.
    #[arg(long)]
    pub table: String,
    /// The key columns, comma-separated: `payment_key` or `order_id,payment_key`.
    #[arg(long)]
    pub columns: String,
    /// Only rows matching `column OP value [AND …]` (OP: = != <> < <= > >=; value: number or 'text') or `column IS [NOT] NULL`.
    #[arg(long = "where", allow_hyphen_values = true)]
    pub filter: Option<String>,
    /// Duplicate groups listed at most.
    #[arg(long, default_value_t = 20, value_parser = positive_usize)]
    pub limit: usize,
    /// Rows per primary-key chunk (each chunk is one short, time-limited read).
    #[arg(long, default_value_t = 10_000, value_parser = positive_count)]
    pub chunk_rows: u64,
}

#[derive(Debug, Args, Default)]
pub struct SnapshotArgs {
    /// A file, or a directory for timestamped files; standard output when absent.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// With --out DIR: remove lockdiag snapshots older than this (at least 1m; the newest is always kept).
    #[arg(long, value_parser = retention)]
    pub keep: Option<Duration>,
    /// Leave the raw SHOW ENGINE INNODB STATUS text out.
    #[arg(long)]
    pub no_raw: bool,
    /// Lock groups kept at most (the rest is counted in locks_omitted).
    #[arg(long, default_value_t = 1000, value_parser = positive_count)]
    pub limit: u64,
    /// Many servers: one target a line (host[:port], [v6]:port, a socket path or
    /// mysql://user:pass@host:port/, optionally `group=NAME` for [client.NAME]'s
    /// account); one snapshot per server under --out DIR/<server>/.
    #[arg(long, value_name = "FILE", requires = "out")]
    pub hosts: Option<PathBuf>,
    /// With --hosts: servers read at once (each within its own deadline).
    #[arg(long, default_value_t = 16, value_parser = positive_usize, requires = "hosts")]
    pub parallel: usize,
}

#[derive(Debug, Args, Default)]
pub struct StatusArgs {
    /// Report transactions open longer than this [default: 60s].
    #[arg(long, value_parser = positive_duration)]
    pub long_trx: Option<Duration>,
    /// List every waiter and every root blocker (the table shows 20 per session otherwise).
    #[arg(long)]
    pub all: bool,
    /// Many servers: one target a line (host[:port], [v6]:port, a socket path or
    /// mysql://user:pass@host:port/, optionally `group=NAME` for [client.NAME]'s
    /// account); one line per server, worst first.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["all", "long_trx"])]
    pub hosts: Option<PathBuf>,
    /// With --hosts: servers read at once (each within its own deadline).
    #[arg(long, default_value_t = 16, value_parser = positive_usize, requires = "hosts")]
    pub parallel: usize,
}

#[derive(Debug, Args, Default)]
pub struct PsArgs {
    /// Only sessions in their current command for at least this long.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub min_time: Option<Duration>,
    /// Only sessions of this account's user name (`-u/--user` is the connection's).
    #[arg(long = "match-user", id = "filter_user", value_name = "USER")]
    pub user: Option<String>,
    /// Only this default database.
    #[arg(long)]
    pub db: Option<String>,
    /// Only this command (Query, Sleep, …; case-insensitive).
    #[arg(long)]
    pub command: Option<String>,
    /// Only sessions whose statement text matches this regular expression.
    #[arg(long = "match", allow_hyphen_values = true)]
    pub match_query: Option<String>,
    /// Hide sessions in Sleep that have no open transaction.
    #[arg(long)]
    pub no_idle: bool,
}

#[derive(Debug, Args, Default)]
pub struct LocksArgs {
    /// Only locks on this table (`table` or `schema.table`).
    #[arg(long)]
    pub table: Option<String>,
    /// Lock groups fetched at most (the server aggregates; the rest is counted).
    #[arg(long, default_value_t = 500, value_parser = positive_count)]
    pub limit: u64,
}

#[derive(Debug, Args, Default)]
pub struct WaitsArgs {
    /// List every waiter and every root blocker (the table shows 20 per session otherwise).
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args, Default)]
pub struct DeadlockArgs {
    /// A SHOW ENGINE INNODB STATUS text (any form) or an error log; `-` for stdin.
    #[arg(long, conflicts_with = "error_log")]
    pub file: Option<PathBuf>,
    /// An error log written with innodb_print_all_deadlocks=ON: every deadlock in it, streamed.
    #[arg(long)]
    pub error_log: Option<PathBuf>,
    /// Live, MySQL 8.0.22+: every deadlock still in the server's in-memory error log
    /// (performance_schema.error_log; needs innodb_print_all_deadlocks=ON), grouped like a log file:
    /// times, victims and counts (MySQL keeps only the prints' headers there). The way to a managed
    /// server's (RDS, Cloud SQL) log.
    #[arg(long, conflicts_with_all = ["file", "error_log"])]
    pub history: bool,
    /// Only deadlocks at most this old (zone-less timestamps need --server-tz offline).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub since: Option<Duration>,
    /// The server's time zone, for logs and texts whose timestamps name none
    /// (MariaDB, 5.x, status texts): UTC, local, or +08:00. Live, lockdiag asks the server.
    #[arg(long, value_parser = utc_offset, value_name = "ZONE")]
    pub server_tz: Option<i64>,
    /// List only the newest N deadlocks (groups still count them all). Default for logs: 20.
    #[arg(long, value_parser = positive_usize)]
    pub last: Option<usize>,
}

/// The exporter's default port: free in the Prometheus project's default port allocations.
pub const DEFAULT_SERVE_PORT: u16 = 10_036;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (HOST:PORT). Loopback by default: the metrics name servers and
    /// tables; put it behind your network's rules before opening it wider.
    #[arg(long, default_value_t = std::net::SocketAddr::from(([127, 0, 0, 1], DEFAULT_SERVE_PORT)))]
    pub listen: std::net::SocketAddr,
    /// An option file whose [client] and [client.NAME] groups hold the credentials for
    /// /probe's auth_module=NAME (mysqld_exporter's --config.my-cnf convention).
    #[arg(long, value_name = "FILE")]
    pub config_my_cnf: Option<PathBuf>,
    /// Targets collected at once; more scrapes wait (each within its own deadline). Targets
    /// whose last collection failed have as many again of their own, so a stalled or dead
    /// target never makes one that answers wait.
    #[arg(long, default_value_t = 16, value_parser = positive_usize)]
    pub max_parallel: usize,
    /// A scrape's deadline when Prometheus does not send X-Prometheus-Scrape-Timeout-Seconds.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub scrape_timeout: Duration,
    /// Lock groups read at most per collection (the server aggregates the rest).
    #[arg(long, default_value_t = 1000, value_parser = positive_count)]
    pub limit: u64,
}

#[derive(Debug, Args, Default)]
pub struct ReportArgs {
    /// The HTML file to write (private, 0600: it holds statements and row values).
    #[arg(long, value_name = "FILE.html")]
    pub out: PathBuf,
    /// An error log written with innodb_print_all_deadlocks=ON, for its deadlocks
    /// (repeatable; with or without --from).
    #[arg(long)]
    pub error_log: Vec<PathBuf>,
    /// The server's time zone, for error logs whose timestamps name none (MariaDB, 5.x)
    /// and snapshots older than 0.2: UTC, local, or +08:00. Newer snapshots know their server's.
    #[arg(long, value_parser = utc_offset, value_name = "ZONE")]
    pub server_tz: Option<i64>,
}

#[derive(Debug, Args, Default)]
pub struct KillArgs {
    /// Processlist ids to kill (the ids `lockdiag waits` shows).
    pub thread_ids: Vec<u64>,
    /// Every root blocker of the waits tree.
    #[arg(long)]
    pub root_blockers: bool,
    /// Root blockers whose longest waiter has waited at least this long.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub blocking_longer_than: Option<Duration>,
    /// Sessions idle in an open transaction at least this long.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub idle_in_trx_longer_than: Option<Duration>,
    /// Only sessions of this user name (`-u/--user` is the connection's).
    #[arg(long = "match-user", id = "kill_user", value_name = "USER")]
    pub user: Option<String>,
    /// Only sessions whose default database is this.
    #[arg(long)]
    pub db: Option<String>,
    /// Only sessions whose statement text matches this regular expression.
    #[arg(long = "match", allow_hyphen_values = true)]
    pub match_query: Option<String>,
    /// KILL QUERY (stop the statement) instead of KILL CONNECTION (end the session and its transaction).
    #[arg(long)]
    pub query: bool,
    /// Do not ask (needed when standard input is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Print the exact statements; kill nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// With explicit ids only: kill even a replication or server thread.
    #[arg(long)]
    pub force: bool,
    /// Act only on this server: its @@hostname (short or full name), or HOSTNAME:PORT;
    /// anywhere else, exit 2 before anything is listed or killed.
    #[arg(long, value_name = "HOST")]
    pub expect_server: Option<String>,
    /// Where to append the audit records (default: $XDG_STATE_HOME/lockdiag/audit.log or ~/.local/state/lockdiag/audit.log).
    #[arg(long)]
    pub audit_log: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn connection_options_go_before_or_after_the_command() {
        for argv in [
            &["lockdiag", "-S", "/tmp/s.sock", "-u", "root", "status"][..],
            &["lockdiag", "status", "-S", "/tmp/s.sock", "-u", "root"][..],
        ] {
            let cli = Cli::try_parse_from(argv).unwrap();
            assert_eq!(cli.connection.user.as_deref(), Some("root"));
            assert_eq!(
                cli.connection.socket.as_deref(),
                Some(std::path::Path::new("/tmp/s.sock"))
            );
        }
        assert!(Cli::try_parse_from(["lockdiag", "status", "--connect-timeout", "0s"]).is_err());
        // A regular expression may start with a dash.
        let cli = Cli::try_parse_from(["lockdiag", "ps", "--match", "-- cron job"]).unwrap();
        assert!(
            matches!(cli.command, Some(Command::Ps(PsArgs { match_query: Some(ref m), .. })) if m == "-- cron job")
        );
        assert_eq!(utc_offset("+08:00"), Ok(8 * 3600));
        assert_eq!(utc_offset("-0530"), Ok(-(5 * 3600 + 30 * 60)));
        assert_eq!(utc_offset("UTC"), Ok(0));
        assert_eq!(byte_size("1GB"), Ok(1_000_000_000));
        assert_eq!(byte_size("500MiB"), Ok(500 << 20));
        assert!(byte_size("0").is_err() && byte_size("1 parsec").is_err());
        assert!(utc_offset("Europe/Paris").is_err());
        assert!(Cli::try_parse_from([
            "lockdiag",
            "dupes",
            "--table",
            "t",
            "--columns",
            "c",
            "--chunk-rows",
            "0"
        ])
        .is_err());
    }
}
