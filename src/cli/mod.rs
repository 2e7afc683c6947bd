//! The thin layer: parse arguments, build a source, analyse, render, and map
//! the outcome to an exit code — 0 ok, 1 findings (declined/failed checks),
//! 2 usage, connection or query error.

pub mod args;
mod check;
pub mod config;
mod deadlock;
mod dupes;
mod kill;
mod live;
mod snapshot;

use std::io::Write;

use clap::Parser;

use crate::render::{Format, TableStyle};

use args::{Cli, Command, StatusArgs};

/// Exit codes, documented in the README.
pub const EXIT_OK: i32 = 0;
pub const EXIT_FINDINGS: i32 = 1;
pub const EXIT_ERROR: i32 = 2;

/// Settings every command renders with.
pub struct Output {
    pub format: Format,
    pub style: TableStyle,
}

impl Output {
    /// Writes to stdout; a closed pipe (`| head`) is not an error.
    pub fn print(&self, text: &str) {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(text.as_bytes());
        let _ = stdout.flush();
    }
}

/// Runs lockdiag with the process arguments; returns the exit code.
pub fn run() -> i32 {
    let argv = config::rewrite_password_args(std::env::args().collect());
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_ERROR } else { EXIT_OK };
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("lockdiag: error: cannot start the async runtime: {e}");
            return EXIT_ERROR;
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("lockdiag: error: {}", config::redact(&format!("{e:#}")));
            EXIT_ERROR
        }
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    let output = Output {
        format: cli.format.unwrap_or(Format::Table),
        style: TableStyle::detect(cli.no_color),
    };
    let command = cli.command.unwrap_or(Command::Status(StatusArgs {
        long_trx: std::time::Duration::from_secs(60),
    }));
    let source = live::Source {
        connection: cli.connection.clone(),
        from: cli.from.clone(),
    };
    if source.from.is_some()
        && matches!(
            command,
            Command::Kill(_) | Command::Snapshot(_) | Command::Check(_) | Command::Dupes(_)
        )
    {
        anyhow::bail!(
            "--from reads a saved snapshot: it works with status, ps, locks, waits and deadlock"
        );
    }
    if output.format == Format::Prometheus && !matches!(command, Command::Snapshot(_)) {
        anyhow::bail!("--format prometheus is for `snapshot`");
    }
    match command {
        Command::Deadlock(args) => deadlock::run(&args, &source, &output).await,
        Command::Status(args) => live::status(&args, &source, &output).await,
        Command::Ps(args) => live::ps(&args, &source, &output).await,
        Command::Locks(args) => live::locks(&args, &source, &output).await,
        Command::Waits(_) => live::waits(&source, &output).await,
        Command::Kill(args) => kill::run(&args, &cli.connection, &output).await,
        Command::Snapshot(args) => snapshot::run(&args, &cli.connection, &output).await,
        Command::Check(args) => check::run(&args, &cli.connection, &output).await,
        Command::Dupes(args) => dupes::run(&args, &cli.connection, &output).await,
    }
}
