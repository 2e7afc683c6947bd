//! Generated reference texts: shell completions and the manual pages, both
//! made from the one clap definition so they never drift from `--help`.
//! The pages add what clap does not know: what each exit code means for the
//! command (README "Exit codes", [`super::EXIT_OK`] and the others), and the
//! connection options described once, in lockdiag(1), not on every page.

use std::io::Write;

use anyhow::{Context, Result};
use clap::Args as _;

use super::args::{Command, ConnectionArgs};
use super::output;

/// Writes the completion script or the man page for `command` to standard
/// output, or every man page into `man --dir`.
pub fn print(command: Option<&Command>, mut cli: clap::Command) -> Result<()> {
    let mut text = Vec::new();
    match command {
        Some(Command::Completions(args)) => {
            clap_complete::generate(args.shell, &mut cli, "lockdiag", &mut text)
        }
        Some(Command::Man(args)) => {
            let pages = man_pages(cli).context("cannot render the man pages")?;
            match &args.dir {
                Some(dir) => {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("cannot create {}", dir.display()))?;
                    for (name, page) in &pages {
                        let path = dir.join(name);
                        std::fs::write(&path, page)
                            .with_context(|| format!("cannot write {}", path.display()))?;
                    }
                    let written = format!("man pages written to {}\n", dir.display());
                    text.extend_from_slice(written.as_bytes());
                }
                // The first page is lockdiag.1.
                None => text = pages.into_iter().next().map(|(_, p)| p).unwrap_or_default(),
            }
        }
        _ => return Ok(()),
    }
    output::write_stdout(&text)
}

/// Every page, `lockdiag.1` first, then one per visible subcommand
/// (`lockdiag-kill.1`, …), as file name and roff text.
fn man_pages(cli: clap::Command) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut cli = cli.disable_help_subcommand(true);
    // Building propagates the global options into every subcommand.
    cli.build();
    let connection: Vec<clap::Arg> = ConnectionArgs::augment_args(clap::Command::new("c"))
        .get_arguments()
        .cloned()
        .collect();
    // The program's after_help is the exit-status summary for --help: the page
    // says it in full, in EXIT STATUS, and not twice.
    let top = cli.clone().after_help(clap::builder::Resettable::Reset);
    let mut pages = vec![(
        "lockdiag.1".to_string(),
        page(&top, exit_status("lockdiag"), None)?,
    )];
    for sub in cli.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = sub.get_name().to_string();
        let mut own = sub.clone();
        for arg in &connection {
            own = own.mut_arg(arg.get_id(), |a| a.hide(true));
        }
        own = own.mut_arg("help", |a| a.hide(true));
        // Reference texts neither connect nor print a view: no connection or output options.
        let offline = matches!(name.as_str(), "completions" | "man");
        if offline {
            for id in ["format", "from", "no_color"] {
                own = own.mut_arg(id, |a| a.hide(true));
            }
        }
        let text = page(
            &own,
            exit_status(&name),
            Some((!offline).then_some(connection.as_slice())),
        )?;
        pages.push((format!("lockdiag-{name}.1"), text));
    }
    Ok(pages)
}

/// One page: clap_mangen's sections in its order, with EXIT STATUS before the
/// version. `subcommand` is `None` for lockdiag.1; for a command's page it holds
/// the connection options to point to (`None` for commands that do not connect).
fn page(
    cmd: &clap::Command,
    exit_codes: &[(i32, &str)],
    subcommand: Option<Option<&[clap::Arg]>>,
) -> std::io::Result<Vec<u8>> {
    let man = clap_mangen::Man::new(cmd.clone())
        .source(format!("lockdiag {}", env!("CARGO_PKG_VERSION")));
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut out)?;
    }
    if let Some(Some(args)) = subcommand {
        connection_section(&mut out, args)?;
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(&mut out)?;
    }
    if cmd.get_after_long_help().is_some() || cmd.get_after_help().is_some() {
        man.render_extra_section(&mut out)?;
    }
    let intro = subcommand.is_none().then_some(
        "Exit status, for every command (each command's page says what the codes mean for it):",
    );
    exit_status_section(&mut out, exit_codes, intro)?;
    if subcommand.is_some() {
        writeln!(out, ".SH \"SEE ALSO\"\n\\fBlockdiag\\fR(1)")?;
    }
    if cmd.get_version().is_some() || cmd.get_long_version().is_some() {
        man.render_version_section(&mut out)?;
    }
    Ok(out)
}

/// The connection options named, not repeated: they are the same for every
/// command and described in lockdiag(1).
fn connection_section(out: &mut Vec<u8>, args: &[clap::Arg]) -> std::io::Result<()> {
    let names: Vec<String> = args
        .iter()
        .filter(|a| !a.is_hide_set())
        .map(|a| match (a.get_short(), a.get_long()) {
            (Some(s), Some(l)) => format!("-{s}/--{l}"),
            (None, Some(l)) => format!("--{l}"),
            (Some(s), None) => format!("-{s}"),
            (None, None) => a.get_id().to_string(),
        })
        .collect();
    writeln!(out, ".SH CONNECTION")?;
    writeln!(
        out,
        "{}",
        roff_text(&format!(
            "The connection options ({}) are the same for every command and are described in lockdiag(1); they go before or after the command.",
            names.join(", ")
        ))
    )
}

fn exit_status_section(
    out: &mut Vec<u8>,
    codes: &[(i32, &str)],
    intro: Option<&str>,
) -> std::io::Result<()> {
    writeln!(out, ".SH \"EXIT STATUS\"")?;
    if let Some(intro) = intro {
        writeln!(out, "{}", roff_text(intro))?;
    }
    for (code, meaning) in codes {
        writeln!(out, ".TP\n\\fB{code}\\fR\n{}", roff_text(meaning))?;
    }
    Ok(())
}

/// Plain text as one roff text line: backslashes and dashes escaped, a leading
/// `.` or `'` kept from being read as a request.
fn roff_text(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// What the exit codes mean for `command` (`lockdiag` for the whole program).
/// Written from the handlers; README "Exit codes" says the same.
fn exit_status(command: &str) -> &'static [(i32, &'static str)] {
    use super::{EXIT_ERROR as ERROR, EXIT_FINDINGS as FINDINGS, EXIT_OK as OK};
    match command {
        "status" | "waits" => &[
            (OK, "Shown, including \"no lock waits\"."),
            (ERROR, "The lock waits could not be read, or the server counts more waits than were listed: the first line says so and the counts are unknown, never 0. Also a usage error, no connection, or a query or output error."),
        ],
        "ps" => &[
            (OK, "Listed."),
            (ERROR, "Usage error, no connection, or a query or output error."),
        ],
        "locks" => &[
            (OK, "Listed, including \"no locks\"."),
            (ERROR, "The locks could not be read (unknown, not none), --table names no table this account can see, a usage error, no connection, or an output error."),
        ],
        "deadlock" => &[
            (OK, "The deadlock(s) shown, or none recorded (said plainly)."),
            (FINDINGS, "A deadlock was found but not all of it could be read; the first unread line is on standard error."),
            (ERROR, "Usage error, no connection, an input that cannot be read or holds neither an InnoDB status nor deadlocks, or --history where the server has no performance_schema.error_log (MariaDB, MySQL before 8.0.22)."),
        ],
        "snapshot" => &[
            (OK, "Written."),
            (ERROR, "The snapshot could not be written (no partial file is left), or the lock waits could not be read (the snapshot is still written, with a null analysis); a usage error or no connection."),
        ],
        "check" => &[
            (OK, "Every assertion passed."),
            (FINDINGS, "At least one assertion failed."),
            (ERROR, "It could not check: no connection, a missing privilege, a source it needs unavailable, a bad argument."),
        ],
        "dupes" => &[
            (OK, "The table was scanned, whether or not it has duplicates (check --no-duplicates fails on them)."),
            (FINDINGS, "Interrupted (Ctrl-C): what was scanned is reported."),
            (ERROR, "An unknown table or column, a --where it refuses, no connection, or a query error."),
        ],
        "kill" => &[
            (OK, "Every target was killed, nothing matched (said plainly), or --dry-run listed the statements."),
            (FINDINGS, "A target was declined, refused or skipped at its re-check, or an id is not in the processlist."),
            (ERROR, "An error: --expect-server names another server, --root-blockers when the lock waits could not be read, the server refused every KILL, an audit record that could not be written, no connection."),
        ],
        "watch" => &[
            (OK, "Quit with q (or Ctrl-C)."),
            (ERROR, "Not on a terminal (use lockdiag record), no connection, or the screen could not be drawn."),
        ],
        "record" => &[
            (OK, "Stopped by SIGTERM, Ctrl-C or --for with everything written. A failed probe, connection or write on the way is an event on standard error, retried."),
            (ERROR, "It never reached its server, deadlocks were left unwritten when it stopped, another recorder holds the directory (its pid is named), the directory cannot be created, or a usage error."),
        ],
        "completions" | "man" => &[
            (OK, "Written."),
            (ERROR, "It could not be written."),
        ],
        _ => &[
            (OK, "Done, including \"no lock waits\" and \"no deadlock recorded\"."),
            (FINDINGS, "Findings: a check assertion failed; kill declined, refused or skipped a target; a deadlock could not be read whole; dupes was interrupted."),
            (ERROR, "Usage error, no connection, an input that cannot be read, a query or output error, or an answer that is unknown (status, waits and snapshot when the lock waits could not be read, locks when the locks could not be read)."),
        ],
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn every_man_page_has_exit_status_and_only_lockdiag_1_lists_connection_options() {
        let pages = man_pages(crate::cli::args::Cli::command()).unwrap();
        assert!(pages.len() > 10, "{}", pages.len());
        for (name, page) in &pages {
            let text = String::from_utf8_lossy(page);
            assert!(text.contains(".SH \"EXIT STATUS\""), "{name}");
            // The synopsis is the .SH SYNOPSIS section up to the next section.
            let synopsis = text
                .split(".SH SYNOPSIS")
                .nth(1)
                .and_then(|s| s.split(".SH").next())
                .unwrap_or_default();
            let lists_socket = synopsis.contains("socket");
            assert_eq!(lists_socket, name == "lockdiag.1", "{name}: {synopsis}");
        }
        let kill = pages.iter().find(|(n, _)| n == "lockdiag-kill.1").unwrap();
        let kill = String::from_utf8_lossy(&kill.1);
        assert!(
            kill.contains("\\-\\-expect\\-server names another server"),
            "{kill}"
        );
        assert!(kill.contains("lockdiag(1)") && kill.contains("\\-S/\\-\\-socket"));
    }
}
