//! Generated reference texts: shell completions and the manual pages, both
//! made from the one clap definition so they never drift from `--help`.

use anyhow::{Context, Result};

use super::args::Command;
use super::output;

/// Writes the completion script or the man page for `command` to standard
/// output, or every man page into `man --dir`.
pub fn print(command: Option<&Command>, mut cli: clap::Command) -> Result<()> {
    let mut text = Vec::new();
    match command {
        Some(Command::Completions(args)) => {
            clap_complete::generate(args.shell, &mut cli, "lockdiag", &mut text)
        }
        Some(Command::Man(args)) => match &args.dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                clap_mangen::generate_to(cli, dir).with_context(|| {
                    format!("cannot write the man pages into {}", dir.display())
                })?;
                let written = format!("man pages written to {}\n", dir.display());
                text.extend_from_slice(written.as_bytes());
            }
            None => clap_mangen::Man::new(cli)
                .render(&mut text)
                .context("cannot render the man page")?,
        },
        _ => return Ok(()),
    }
    output::write_stdout(&text)
}
