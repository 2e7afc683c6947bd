//! The command line as typed: clap definitions only. `cli::config` turns
//! these into the resolved settings the rest of the program uses.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::render::Format;

#[derive(Debug, Parser)]
#[command(
    name = "lockdiag",
    version,
    about = "What is wrong with locks on a MySQL or MariaDB server: who blocks whom, deadlocks explained.",
    // -h is --host, as for the mysql client.
    disable_help_flag = true
)]
pub struct Cli {
    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// Output format (table on a terminal by default).
    #[arg(long, global = true, value_enum)]
    pub format: Option<Format>,

    /// Read a saved snapshot (status, ps, locks, waits, deadlock) instead of a server; for
    /// `deadlock`, a directory of snapshots too.
    #[arg(long, global = true)]
    pub from: Option<PathBuf>,

    /// No colour, whatever the terminal (NO_COLOR is also respected).
    #[arg(long, global = true)]
    pub no_color: bool,

    /// Print help.
    #[arg(long, global = true, action = clap::ArgAction::Help)]
    pub help: Option<bool>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// How to reach the server, read the way the `mysql` client reads it.
/// These go before the command (`lockdiag -h db1 -u app ps --user web`).
#[derive(Debug, Args, Clone, Default)]
pub struct ConnectionArgs {
    /// mysql://user:pass@host:port/db (or env LOCKDIAG_URL).
    #[arg(long, env = "LOCKDIAG_URL", hide_env_values = true)]
    pub url: Option<String>,
    /// Server host.
    #[arg(short = 'h', long)]
    pub host: Option<String>,
    /// Server TCP port.
    #[arg(short = 'P', long)]
    pub port: Option<u16>,
    /// User name.
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Password; `-p` alone prompts without echo, `-pSECRET` as with mysql.
    #[arg(long, hide = true)]
    pub password: Option<String>,
    /// Set by a bare `-p`/`--password`: prompt for the password.
    #[arg(long = "password-prompt", hide = true)]
    pub password_prompt: bool,
    /// Unix socket file.
    #[arg(short = 'S', long)]
    pub socket: Option<PathBuf>,
    /// Read [client] options from this file only (instead of ~/.my.cnf).
    #[arg(long)]
    pub defaults_file: Option<PathBuf>,
    /// Do not read any option file.
    #[arg(long)]
    pub no_defaults: bool,
    /// TLS: DISABLED, PREFERRED (default), REQUIRED, VERIFY_CA, VERIFY_IDENTITY.
    #[arg(long, value_enum, ignore_case = true)]
    pub ssl_mode: Option<SslMode>,
    /// CA certificate file (PEM) for VERIFY_CA / VERIFY_IDENTITY.
    #[arg(long)]
    pub ssl_ca: Option<PathBuf>,
    /// Give up connecting after this long.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "5s")]
    pub connect_timeout: Duration,
    /// Per-statement limit, enforced by the server where it can be and by lockdiag in any case.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10s")]
    pub query_timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SslMode {
    Disabled,
    Preferred,
    Required,
    VerifyCa,
    VerifyIdentity,
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
    /// Find duplicate keys (e.g. payments.payment_key) without locking the table.
    Dupes(DupesArgs),
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
    /// Also write a JUnit XML report here.
    #[arg(long)]
    pub junit: Option<PathBuf>,
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
    #[arg(long = "where")]
    pub filter: Option<String>,
    /// Duplicate groups listed at most.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Rows per primary-key chunk (each chunk is one short, time-limited read).
    #[arg(long, default_value_t = 10_000)]
    pub chunk_rows: u64,
}

#[derive(Debug, Args, Default)]
pub struct SnapshotArgs {
    /// A file, or a directory for timestamped files; standard output when absent.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// With --out DIR: remove lockdiag snapshots older than this.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub keep: Option<Duration>,
    /// Leave the raw SHOW ENGINE INNODB STATUS text out.
    #[arg(long)]
    pub no_raw: bool,
    /// Lock groups kept at most (the rest is counted in locks_omitted).
    #[arg(long, default_value_t = 1000)]
    pub limit: u64,
}

#[derive(Debug, Args, Default)]
pub struct StatusArgs {
    /// Report transactions open longer than this.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "60s")]
    pub long_trx: Duration,
}

#[derive(Debug, Args, Default)]
pub struct PsArgs {
    /// Only sessions in their current command for at least this long.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub min_time: Option<Duration>,
    /// Only this user.
    #[arg(long = "user", id = "filter_user")]
    pub user: Option<String>,
    /// Only this default database.
    #[arg(long)]
    pub db: Option<String>,
    /// Only this command (Query, Sleep, …; case-insensitive).
    #[arg(long)]
    pub command: Option<String>,
    /// Only sessions whose statement text matches this regular expression.
    #[arg(long = "match")]
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
    #[arg(long, default_value_t = 500)]
    pub limit: u64,
}

#[derive(Debug, Args, Default)]
pub struct WaitsArgs {}

#[derive(Debug, Args, Default)]
pub struct DeadlockArgs {
    /// A SHOW ENGINE INNODB STATUS text (any form) or an error log; `-` for stdin.
    #[arg(long, conflicts_with = "error_log")]
    pub file: Option<PathBuf>,
    /// An error log written with innodb_print_all_deadlocks=ON: every deadlock in it, streamed.
    #[arg(long)]
    pub error_log: Option<PathBuf>,
    /// Only deadlocks at most this old (timestamps are read as this machine's local time, or UTC where the log says Z).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub since: Option<Duration>,
    /// List only the newest N deadlocks (groups still count them all). Default for logs: 20.
    #[arg(long)]
    pub last: Option<usize>,
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
    /// Only sessions of this user.
    #[arg(long = "user", id = "kill_user")]
    pub user: Option<String>,
    /// Only sessions whose default database is this.
    #[arg(long)]
    pub db: Option<String>,
    /// Only sessions whose statement text matches this regular expression.
    #[arg(long = "match")]
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
    /// Where to append the audit records (default: $XDG_STATE_HOME/lockdiag/audit.log or ~/.local/state/lockdiag/audit.log).
    #[arg(long)]
    pub audit_log: Option<PathBuf>,
}
