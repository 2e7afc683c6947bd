//! Flags as parsed → the one resolved connection configuration.
//! Precedence, highest first: flags, `--url`/`LOCKDIAG_URL`, option files.

use std::ffi::{OsStr, OsString};
use std::ops::Range;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use crate::source::connect::{ConnectionConfig, SslMode};
use crate::source::option_files::{client_groups, default_files, read_option_files, OptionFiles};
use anyhow::{bail, Context, Result};

use super::args::ConnectionArgs;

/// The options (`--long` and `-s` spellings) that take a separate value, from
/// the clap definitions themselves: the token after one is a value, never a flag.
fn options_with_values(cli: &clap::Command) -> std::collections::BTreeSet<String> {
    fn walk(command: &clap::Command, names: &mut std::collections::BTreeSet<String>) {
        for arg in command.get_arguments() {
            if arg.get_action().takes_values() && !arg.is_positional() {
                if let Some(long) = arg.get_long() {
                    names.insert(format!("--{long}"));
                }
                if let Some(short) = arg.get_short() {
                    names.insert(format!("-{short}"));
                }
            }
        }
        for sub in command.get_subcommands() {
            walk(sub, names);
        }
    }
    let mut names = std::collections::BTreeSet::new();
    walk(cli, &mut names);
    // `--password` takes its value only attached (`--password=X`), as with mysql.
    names.remove("--password");
    names
}

/// The arguments as clap reads them, and where the originals hold passwords.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewrittenArgs {
    pub args: Vec<OsString>,
    /// (index of an original argument, byte range of a password in it).
    pub secrets: Vec<(usize, Range<usize>)>,
}

/// Turns a bare `-p`/`--password` (prompt) and `-pSECRET` into the flags clap
/// understands, as the mysql client reads them: a value must be attached.
/// The value of another option (`--match -prefix`) is left alone; which options
/// take values is read from `cli`, the command the arguments are then parsed with.
/// Arguments are OS strings: one that is no UTF-8 passes through unchanged (clap
/// then names the option, never the bytes). Says where passwords stand: after
/// `-p`/`--password=`, and in a `--url`'s user info.
pub fn rewrite_password_args(args: Vec<OsString>, cli: &clap::Command) -> RewrittenArgs {
    let takes_value = options_with_values(cli);
    let mut out = Vec::with_capacity(args.len());
    let mut secrets = Vec::new();
    let mut after_double_dash = false;
    let mut value_of: Option<&OsStr> = None;
    for (i, arg) in args.iter().enumerate() {
        let bytes = arg.as_bytes();
        if i == 0 || after_double_dash {
            out.push(arg.clone());
            continue;
        }
        if let Some(option) = value_of.take() {
            if option == "--url" {
                secrets.extend(super::secrets::url_password(bytes).map(|r| (i, r)));
            }
            out.push(arg.clone());
            continue;
        }
        if arg.to_str().is_some_and(|a| takes_value.contains(a)) {
            value_of = Some(arg.as_os_str());
            out.push(arg.clone());
            continue;
        }
        if let Some(url) = bytes.strip_prefix(b"--url=") {
            let at = bytes.len() - url.len();
            secrets
                .extend(super::secrets::url_password(url).map(|r| (i, r.start + at..r.end + at)));
        }
        match bytes {
            b"--" => {
                after_double_dash = true;
                out.push(arg.clone());
            }
            b"-p" | b"--password" => out.push("--password-prompt".into()),
            _ if bytes.starts_with(b"--password=") => {
                secrets.push((i, "--password=".len()..bytes.len()));
                out.push(arg.clone());
            }
            _ if bytes.starts_with(b"-p") && !bytes.starts_with(b"--") => {
                secrets.push((i, 2..bytes.len()));
                let mut flag = b"--password=".to_vec();
                flag.extend_from_slice(&bytes[2..]);
                out.push(OsString::from_vec(flag));
            }
            _ => out.push(arg.clone()),
        }
    }
    RewrittenArgs { args: out, secrets }
}

fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

/// The file an option's last value came from, for messages.
fn option_file(read: &OptionFiles, key: &str) -> String {
    read.last(key)
        .map(|o| o.file.display().to_string())
        .unwrap_or_else(|| "an option file".into())
}

fn prompt_password() -> Result<String> {
    rpassword::prompt_password("Enter password: ")
        .context("cannot read the password from the terminal (use --password=… or a defaults file)")
}

/// Resolves flags, URL, environment and option files into one configuration.
pub fn resolve_connection(args: &ConnectionArgs) -> Result<ConnectionConfig> {
    let mut config = ConnectionConfig {
        connect_timeout: args.connect_timeout,
        query_timeout: args.query_timeout,
        max_row_waits: crate::source::restraint::MaxRowWaits(args.max_row_waits),
        ..Default::default()
    };

    if !args.no_defaults {
        let files = default_files(
            args.defaults_file.as_deref(),
            args.defaults_extra_file.as_deref(),
            home_dir().as_deref(),
        );
        let suffix = args
            .defaults_group_suffix
            .clone()
            .or_else(|| std::env::var("MYSQL_GROUP_SUFFIX").ok());
        let read = read_option_files(&files, &client_groups(suffix.as_deref()))?;
        for warning in &read.warnings {
            super::output::note(warning);
        }
        let get = |k: &str| {
            read.last(k)
                .and_then(|o| o.value.clone())
                .filter(|v| !v.is_empty())
        };
        config.host = get("host");
        config.port = match get("port") {
            Some(p) => Some(p.parse().map_err(|_| {
                anyhow::anyhow!(
                    "port={p:?} in {}: not a port number",
                    option_file(&read, "port")
                )
            })?),
            None => None,
        };
        config.user = get("user");
        config.password = read.last("password").and_then(|o| o.value.clone());
        config.socket = get("socket").map(PathBuf::from);
        config.database = get("database");
        config.ssl_ca = get("ssl-ca").map(PathBuf::from);
        if let Some(mode) = get("ssl-mode") {
            config.ssl_mode = Some(
                mode.parse::<SslMode>()
                    .map_err(|e| anyhow::anyhow!("{e} (in {})", option_file(&read, "ssl-mode")))?,
            );
        }
    }

    if let Some(url) = &args.url {
        let opts = mysql_async::Opts::from_url(url).map_err(|e| {
            anyhow::anyhow!(
                "invalid --url/LOCKDIAG_URL: {}",
                redact_url_error(&e.to_string(), url)
            )
        })?;
        config.host = Some(opts.ip_or_hostname().to_string());
        config.port = Some(opts.tcp_port());
        config.user = opts.user().map(str::to_string).or(config.user);
        config.password = opts.pass().map(str::to_string).or(config.password);
        config.database = opts.db_name().map(str::to_string).or(config.database);
        if let Some(socket) = opts.socket() {
            config.socket = Some(PathBuf::from(socket));
        } else if config.host.as_deref() != Some("localhost") {
            config.socket = None;
        }
    }

    if let Some(h) = &args.host {
        config.host = Some(h.clone());
        if h != "localhost" && args.socket.is_none() {
            config.socket = None;
        }
    }
    if let Some(p) = args.port {
        config.port = Some(p);
        if args.socket.is_none() && args.host.is_some() {
            config.socket = None;
        }
    }
    if let Some(u) = &args.user {
        config.user = Some(u.clone());
    }
    if let Some(s) = &args.socket {
        config.socket = Some(s.clone());
    }
    if args.ssl_mode.is_some() {
        config.ssl_mode = args.ssl_mode;
    }
    if let Some(ca) = &args.ssl_ca {
        config.ssl_ca = Some(ca.clone());
    }
    if let Some(pw) = &args.password {
        config.password = Some(pw.clone());
    } else if args.password_prompt {
        config.password = Some(prompt_password()?);
    }
    // As the client: a socket only for localhost (or no host); any other host is TCP,
    // whatever socket an option file or flag names.
    if config.host.as_deref().is_some_and(|h| h != "localhost") {
        config.socket = None;
    }
    if config.user.is_none() {
        config.user = std::env::var("USER").ok();
    }
    if let Some(ca) = &config.ssl_ca {
        if !Path::new(ca).exists() {
            bail!("--ssl-ca {}: no such file", ca.display());
        }
    }
    Ok(config)
}

/// The account of `[client.NAME]` (a hosts file's `group=NAME`), read from the option
/// files `resolve_connection` reads, over `config`: its user (with its own password,
/// or none: the command line's password belongs to the command line's user), its
/// password, `ssl-mode` and `ssl-ca`. A group with no option is an error.
pub fn apply_group(
    config: &mut ConnectionConfig,
    args: &ConnectionArgs,
    group: &str,
) -> Result<()> {
    if args.no_defaults {
        bail!("group={group}: --no-defaults reads no option file, so there is no [client.{group}]");
    }
    let files = default_files(
        args.defaults_file.as_deref(),
        args.defaults_extra_file.as_deref(),
        home_dir().as_deref(),
    );
    let read = read_option_files(&files, &[format!("client.{group}")])?;
    if read.options.is_empty() {
        let names: Vec<String> = files.iter().map(|(f, _)| f.display().to_string()).collect();
        bail!(
            "group={group}: no [client.{group}] group with options in the option files ({})",
            names.join(", ")
        );
    }
    apply_group_options(config, &read, &format!("client.{group}"))
}

/// The account options of one option-file group (`read` holds that group only) over
/// `config`: its user (with its own password, or none: a password given for another user
/// belongs to that user), its password, `ssl-mode` and `ssl-ca`. For `group=NAME` in a
/// hosts file and for `serve`'s auth modules alike.
pub fn apply_group_options(
    config: &mut ConnectionConfig,
    read: &OptionFiles,
    group: &str,
) -> Result<()> {
    let get = |k: &str| read.last(k).and_then(|o| o.value.clone());
    if let Some(user) = get("user").filter(|u| !u.is_empty()) {
        config.user = Some(user);
        config.password = None;
    }
    if let Some(password) = read.last("password") {
        config.password = password.value.clone();
    }
    if let Some(mode) = get("ssl-mode") {
        config.ssl_mode = Some(mode.parse::<SslMode>().map_err(|e| {
            anyhow::anyhow!("{e} (in [{group}] of {})", option_file(read, "ssl-mode"))
        })?);
    }
    if let Some(ca) = get("ssl-ca") {
        config.ssl_ca = Some(PathBuf::from(ca));
    }
    Ok(())
}

fn redact_url_error(message: &str, url: &str) -> String {
    // The URL itself can carry the password; never echo it.
    message.replace(url, "<url>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_flags_like_mysql() {
        let cli = <crate::cli::args::Cli as clap::CommandFactory>::command();
        let args = |v: &[&str]| {
            let rewritten = rewrite_password_args(v.iter().map(OsString::from).collect(), &cli);
            rewritten
                .args
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            args(&["lockdiag", "-p", "status"]),
            ["lockdiag", "--password-prompt", "status"]
        );
        assert_eq!(
            args(&["lockdiag", "-psecret", "ps"]),
            ["lockdiag", "--password=secret", "ps"]
        );
        assert_eq!(
            args(&["lockdiag", "--password=x"]),
            ["lockdiag", "--password=x"]
        );
        assert_eq!(
            args(&["lockdiag", "-P", "3307"]),
            ["lockdiag", "-P", "3307"]
        );
        // Another option's value that starts with -p is a value, not a password.
        assert_eq!(
            args(&["lockdiag", "ps", "--match", "-prefix", "-p"]),
            ["lockdiag", "ps", "--match", "-prefix", "--password-prompt"]
        );
        assert_eq!(
            args(&["lockdiag", "-u", "-pete", "-pX"]),
            ["lockdiag", "-u", "-pete", "--password=X"]
        );
        // Where the passwords stand in the originals (to scrub them from the process).
        let secrets = |v: &[&str]| {
            rewrite_password_args(v.iter().map(OsString::from).collect(), &cli).secrets
        };
        assert_eq!(
            secrets(&["lockdiag", "-u", "-pete", "-pX", "--password=yz"]),
            [(3, 2..3), (4, 11..13)]
        );
        assert_eq!(
            secrets(&[
                "lockdiag",
                "--url",
                "mysql://u:pw@h/db",
                "--url=mysql://v:q@h"
            ]),
            [(2, 10..12), (3, 16..17)]
        );
        assert!(secrets(&[
            "lockdiag",
            "--match",
            "-prefix",
            "-p",
            "--url",
            "mysql://u@h"
        ])
        .is_empty());
        // No UTF-8: passed through, no panic.
        let raw = OsString::from_vec(b"--password=\xe9t\xe9".to_vec());
        let rewritten = rewrite_password_args(vec!["lockdiag".into(), raw.clone()], &cli);
        assert_eq!(rewritten.args[1], raw);
        assert_eq!(rewritten.secrets, [(1, 11..14)]);
    }
}
