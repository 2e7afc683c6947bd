//! The thin layer: parse arguments ([`args`]), resolve them once into
//! settings ([`resolve`]), run the command's handler (collect or parse →
//! analyse → render) and map the outcome to an exit code — 0 ok, 1 findings
//! (declined kills, failed checks, unread deadlock lines), 2 usage,
//! connection, query or output error.

pub mod args;
mod check;
pub mod config;
mod deadlock;
mod dupes;
mod fleet;
mod kill;
mod live;
mod output;
mod record;
mod reference;
mod report;
pub mod resolve;
pub mod secrets;
mod serve;
mod snapshot;
mod watch;

use clap::{CommandFactory, FromArgMatches};

use args::Cli;
use resolve::{Job, Settings, Source};

use crate::source::server::Server;

pub use output::Output;

/// Exit codes, documented in the README.
pub const EXIT_OK: i32 = 0;
pub const EXIT_FINDINGS: i32 = 1;
pub const EXIT_ERROR: i32 = 2;

/// Runs lockdiag with the process arguments; returns the exit code.
pub fn run() -> i32 {
    // One clap command, built once: it says which options take values, then parses.
    let command = Cli::command();
    // OS strings: an argument that is no UTF-8 is an error message, never a panic.
    let original: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let rewritten = config::rewrite_password_args(original.clone(), &command);
    if !rewritten.secrets.is_empty() {
        // As the mysql client: the password leaves the process's arguments at once.
        secrets::scrub_process_arguments(&original, &rewritten.secrets);
        output::note(secrets::COMMAND_LINE_PASSWORD_WARNING);
    }
    drop(original);
    let parsed = command
        .try_get_matches_from(rewritten.args)
        .and_then(|matches| Cli::from_arg_matches(&matches));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() => {
            // clap echoes a misspelt option with its value (`--pasword=…`): redacted.
            output::write_stderr(&secrets::redact(&e.to_string()));
            return EXIT_ERROR;
        }
        Err(e) => {
            let _ = e.print();
            return EXIT_OK;
        }
    };
    if let Some(args::Command::Completions(_) | args::Command::Man(_)) = &cli.command {
        return match reference::print(cli.command.as_ref(), Cli::command()) {
            Ok(()) => EXIT_OK,
            Err(e) => report_error(&e),
        };
    }
    let settings = match resolve::resolve(cli) {
        Ok(settings) => settings,
        Err(e) => return report_error(&e),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            output::note(&format!("error: cannot start the async runtime: {e}"));
            return EXIT_ERROR;
        }
    };
    let code = match runtime.block_on(dispatch(settings)) {
        Ok(code) => code,
        Err(e) => report_error(&e),
    };
    if output::stderr_failed() {
        EXIT_ERROR
    } else {
        code
    }
}

fn report_error(e: &anyhow::Error) -> i32 {
    if output::is_broken_pipe(e) {
        return EXIT_OK;
    }
    output::note(&format!("error: {}", output::error_chain(e)));
    EXIT_ERROR
}

/// Headroom beyond the connect and query limits for everything else a run does.
const DEADLINE_MARGIN: std::time::Duration = std::time::Duration::from_secs(2);

/// How long a run that reads a server may take in all: connecting, identifying
/// the server (a few short queries), one round of concurrent collection (each
/// statement under --query-timeout), closing. `None` for runs that wait on
/// purpose (kill asks a person; duplicate scans read a whole table).
fn deadline(source: &resolve::Source, job: &Job) -> Option<std::time::Duration> {
    let resolve::Source::Server(config) = source else {
        return None;
    };
    let open_ended = match job {
        Job::Kill(_) | Job::Dupes(_) | Job::Record(_) | Job::Watch(_) | Job::Serve(_) => true,
        // Each server under its own deadline (`server_deadline`): the run's is theirs.
        Job::Fleet(_) => true,
        Job::Check(check) => check
            .assertions
            .iter()
            .any(|a| matches!(a, resolve::Assertion::NoDuplicates(..))),
        _ => false,
    };
    // `check --ddl-ready` looks the tables up first (one more statement), and
    // `--wait-ready` waits on purpose for as long as it was told.
    let (lookup, waited) = match job {
        Job::Check(check)
            if check
                .assertions
                .iter()
                .any(|a| matches!(a, resolve::Assertion::DdlReady { .. })) =>
        {
            (config.query_timeout, check.wait_ready.unwrap_or_default())
        }
        _ => Default::default(),
    };
    (!open_ended).then(|| server_deadline(config) + lookup + waited)
}

/// One server's part of a run: connecting, identifying it, one round of collection.
fn server_deadline(config: &crate::source::connect::ConnectionConfig) -> std::time::Duration {
    config.connect_timeout + config.query_timeout * 3 + DEADLINE_MARGIN
}

async fn dispatch(settings: Settings) -> anyhow::Result<i32> {
    let limit = deadline(&settings.source, &settings.job);
    let work = run_job(settings);
    match limit {
        // A stalled server (stopped, swapping, network gone) must not hold the terminal.
        Some(limit) => tokio::time::timeout(limit, work).await.unwrap_or_else(|_| {
            anyhow::bail!(
                "no complete answer within {limit:?} (--connect-timeout + 3 × --query-timeout + {DEADLINE_MARGIN:?}): the server stalled; nothing was concluded"
            )
        }),
        None => work.await,
    }
}

async fn run_job(settings: Settings) -> anyhow::Result<i32> {
    let Settings {
        output,
        source,
        job,
    } = settings;
    // The recorder opens (and after a restart reopens) its own connection.
    if let Job::Record(job) = &job {
        return record::run(job, source.server()?).await;
    }
    // So does the exporter, one per target scraped.
    if let Job::Serve(job) = &job {
        return serve::run(job).await;
    }
    // And a fleet run, one per server of its hosts file.
    if let Job::Fleet(job) = &job {
        return fleet::run(job, server_deadline(source.server()?), &output).await;
    }
    // What must be read before a collection is spent on it.
    let baselines = match &job {
        Job::Check(check) => check::baselines(check)?,
        _ => Vec::new(),
    };
    // The one place the command line connects: every command is handed the server.
    let opened = match &source {
        Source::Server(config) => Some(Server::open(config).await),
        _ => None,
    };
    let server = match opened {
        Some(Ok(server)) => Some(server),
        Some(Err(e)) => return Err(connect_failed(&job, &source, &output, e)),
        None => None,
    };
    let input = match (&source, &server) {
        (_, Some(server)) => Input::Server(server),
        (Source::Snapshot(path), None) => Input::Snapshot(path),
        _ => Input::Files,
    };
    let code = run_command(job, input, baselines, &output).await;
    if let Some(server) = server {
        server.close().await;
    }
    code
}

/// Where a command reads from, opened.
#[derive(Clone, Copy)]
pub enum Input<'a> {
    Server(&'a Server),
    /// A saved snapshot file (or, for `deadlock`, a directory of them).
    Snapshot(&'a std::path::Path),
    /// Files the command names itself (`deadlock --file/--error-log`).
    Files,
}

impl<'a> Input<'a> {
    /// The server, for commands that only work against one.
    pub fn server(self) -> anyhow::Result<&'a Server> {
        match self {
            Input::Server(server) => Ok(server),
            _ => anyhow::bail!("this command needs a server connection"),
        }
    }
}

/// A connection that failed: said where a command leaves a trace of its run (a JUnit
/// file for CI, `lockdiag_up 0` for Prometheus), then the error itself.
fn connect_failed(job: &Job, source: &Source, out: &Output, e: anyhow::Error) -> anyhow::Error {
    match (job, source) {
        (Job::Check(check), _) => check::connect_failed(check, e),
        (Job::Snapshot(snapshot), Source::Server(config)) => {
            snapshot::connect_failed(snapshot, config, out, e)
        }
        _ => e,
    }
}

async fn run_command(
    job: Job,
    input: Input<'_>,
    baselines: Vec<crate::analyze::checks::DeadlockMark>,
    output: &Output,
) -> anyhow::Result<i32> {
    match job {
        Job::Status { long_trx, all } => live::status(long_trx, all, input, output).await,
        Job::Ps(filter) => live::ps(&filter, input, output).await,
        Job::Locks { table, limit } => live::locks(table.as_ref(), limit, input, output).await,
        Job::Waits { all } => live::waits(all, input, output).await,
        Job::Deadlock(job) => deadlock::run(&job, input, output).await,
        Job::Kill(job) => kill::run(&job, input.server()?, output).await,
        Job::Snapshot(job) => snapshot::run(&job, input.server()?, output).await,
        Job::Check(job) => check::run(&job, baselines, input.server()?, output).await,
        Job::Dupes(request) => dupes::run(&request, input.server()?, output).await,
        Job::Watch(job) => watch::run(&job, input.server()?).await,
        Job::Record(_) => anyhow::bail!("the recorder runs on its own connection"),
        Job::Report(job) => report::run(&job, output),
        Job::Serve(_) => anyhow::bail!("the exporter opens its own connections"),
        Job::Fleet(_) => anyhow::bail!("a fleet run opens one connection per server"),
    }
}
