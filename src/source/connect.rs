//! Connecting: one resolved configuration in, a small pool out. Also the one
//! place that bounds a statement's run time, on the server and on the client.

use std::path::PathBuf;
use std::time::Duration;

use mysql_async::{OptsBuilder, Pool, PoolConstraints, PoolOpts, SslOpts};
use thiserror::Error;

/// TLS requirement, with the mysql client's names (`--ssl-mode`, `ssl-mode` in option files).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disabled,
    /// TLS when the server offers it, plain text otherwise (the default).
    Preferred,
    Required,
    VerifyCa,
    VerifyIdentity,
}

impl SslMode {
    /// The accepted spellings, for messages and `--help`.
    pub const NAMES: [&'static str; 5] = [
        "DISABLED",
        "PREFERRED",
        "REQUIRED",
        "VERIFY_CA",
        "VERIFY_IDENTITY",
    ];
}

impl std::str::FromStr for SslMode {
    type Err = String;

    /// Case-insensitive, as the mysql client reads it.
    fn from_str(text: &str) -> Result<Self, String> {
        Ok(match text.to_ascii_uppercase().replace('-', "_").as_str() {
            "DISABLED" => SslMode::Disabled,
            "PREFERRED" => SslMode::Preferred,
            "REQUIRED" => SslMode::Required,
            "VERIFY_CA" => SslMode::VerifyCa,
            "VERIFY_IDENTITY" => SslMode::VerifyIdentity,
            _ => {
                return Err(format!(
                    "unknown ssl-mode {text:?}: one of {}",
                    SslMode::NAMES.join(", ")
                ))
            }
        })
    }
}

/// Where and how to connect, after flags, URL, environment and option files were merged.
#[derive(Clone, Default)]
pub struct ConnectionConfig {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub socket: Option<PathBuf>,
    pub database: Option<String>,
    pub ssl_mode: Option<SslMode>,
    pub ssl_ca: Option<PathBuf>,
    pub connect_timeout: Duration,
    pub query_timeout: Duration,
    /// Above this many row-lock waits in progress, collections do not list them.
    pub max_row_waits: super::restraint::MaxRowWaits,
}

impl std::fmt::Debug for ConnectionConfig {
    // The password never appears, not even in debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "****"))
            .field("socket", &self.socket)
            .finish_non_exhaustive()
    }
}

impl ConnectionConfig {
    /// `host:port` or the socket path: where, without who (for metric labels).
    pub fn address(&self) -> String {
        match (&self.socket, &self.host) {
            (Some(s), _) => s.display().to_string(),
            (None, h) => format!(
                "{}:{}",
                h.as_deref().unwrap_or("localhost"),
                self.port.unwrap_or(3306)
            ),
        }
    }

    /// `user@host:port` or `user@socket`, for messages.
    pub fn target(&self) -> String {
        let user = self.user.as_deref().unwrap_or("(current OS user)");
        match (&self.socket, &self.host) {
            (Some(s), _) => format!("{user} via socket {}", s.display()),
            (None, h) => format!(
                "{user}@{}:{}",
                h.as_deref().unwrap_or("localhost"),
                self.port.unwrap_or(3306)
            ),
        }
    }
}

/// Why a connection could not be made: one sentence naming where, then what to
/// check. Built from the driver's error by [`explain`], so no cause is said twice
/// and no password can appear (the driver's messages never carry it).
#[derive(Debug, Error)]
pub enum ConnectError {
    #[error("cannot connect to {target}: no answer within {timeout:?} (--connect-timeout): is the server running and reachable at {address}? (on a slow network raise --connect-timeout)")]
    Timeout {
        target: String,
        address: String,
        timeout: Duration,
    },
    #[error("cannot connect to {target}: no such socket: is the server running, and is this its socket path? (mariadb: SELECT @@socket)")]
    NoSocket { target: String },
    #[error("cannot connect to {target}: nothing listens on the socket: is the server running? (a stopped server can leave its socket file behind)")]
    SocketRefused { target: String },
    #[error("cannot connect to {target}: connection refused: is the server running and listening on {address}?")]
    Refused { target: String, address: String },
    #[error("cannot connect to {target}: unknown host {host}: check --host (or host= in the option files)")]
    UnknownHost { target: String, host: String },
    /// The server's own message names the account as it saw it ('user'@'client host').
    #[error("cannot connect to {target}: {message}: check the user name and password (-u, -p, --url, option files){extra}")]
    AccessDenied {
        target: String,
        message: String,
        /// A further hint for this kind of refusal, starting with its separator.
        extra: &'static str,
    },
    #[error("cannot connect to {target}: {message}")]
    Failed { target: String, message: String },
    #[error("TLS was required (--ssl-mode {mode:?}) but the server does not offer it")]
    TlsUnavailable { mode: SslMode },
    #[error("--ssl-mode {0:?} needs --ssl-ca with the CA certificate")]
    MissingCa(SslMode),
}

/// Standard socket paths tried for `localhost` when no port or socket is given, as the mysql client does.
const DEFAULT_SOCKETS: &[&str] = &[
    "/run/mysqld/mysqld.sock",
    "/var/run/mysqld/mysqld.sock",
    "/tmp/mysql.sock",
];

fn ssl_opts(config: &ConnectionConfig, mode: SslMode) -> Result<Option<SslOpts>, ConnectError> {
    let ca = || config.ssl_ca.clone().map(|p| vec![p.into()]);
    Ok(match mode {
        SslMode::Disabled => None,
        SslMode::Preferred | SslMode::Required => Some(
            SslOpts::default()
                .with_danger_accept_invalid_certs(true)
                .with_danger_skip_domain_validation(true),
        ),
        SslMode::VerifyCa => Some(
            SslOpts::default()
                .with_root_certs(ca().ok_or(ConnectError::MissingCa(mode))?)
                .with_danger_skip_domain_validation(true),
        ),
        SslMode::VerifyIdentity => {
            Some(SslOpts::default().with_root_certs(ca().ok_or(ConnectError::MissingCa(mode))?))
        }
    })
}

/// The Unix socket the connection will use, if any: `-S`, or for `localhost`
/// without a port the first standard socket that exists.
fn socket_path(config: &ConnectionConfig) -> Option<PathBuf> {
    let localhost = config.host.as_deref().is_none_or(|h| h == "localhost");
    config.socket.clone().or_else(|| {
        (localhost && config.port.is_none())
            .then(|| {
                DEFAULT_SOCKETS
                    .iter()
                    .map(PathBuf::from)
                    .find(|p| p.exists())
            })
            .flatten()
    })
}

/// Set on each of lockdiag's own sessions: no read of lockdiag's may wait for a lock longer
/// than its query timeout. The server's defaults are a year for metadata locks
/// (`lock_wait_timeout`) and 50 s for row locks: a read queued behind an ALTER's metadata
/// lock (`dupes` on the table, an `information_schema` listing) would otherwise join the very
/// pile-up lockdiag was called to look at — mysqld_exporter's issue #167.
pub fn session_lock_limits(query_timeout: Duration) -> String {
    let secs = query_timeout.as_secs_f64().ceil().max(1.0) as u64;
    format!("SET SESSION lock_wait_timeout = {secs}, innodb_lock_wait_timeout = {secs}")
}

fn builder(config: &ConnectionConfig, ssl: Option<SslOpts>) -> OptsBuilder {
    let host = config.host.clone().unwrap_or_else(|| "localhost".into());
    let socket = socket_path(config);
    // `localhost` over TCP means the loopback address, not a name lookup.
    let ip = if host == "localhost" {
        "127.0.0.1".to_string()
    } else {
        host
    };
    let pool = PoolOpts::default()
        .with_constraints(PoolConstraints::new(0, 6).expect("0 <= 6"))
        .with_reset_connection(false);
    OptsBuilder::default()
        .init(vec![session_lock_limits(config.query_timeout)])
        .ip_or_hostname(ip)
        .tcp_port(config.port.unwrap_or(3306))
        .user(config.user.clone())
        .pass(config.password.clone())
        .db_name(config.database.clone())
        .socket(socket.map(|s| s.to_string_lossy().into_owned()))
        .prefer_socket(false)
        .stmt_cache_size(0)
        .pool_opts(pool)
        .ssl_opts(ssl)
}

/// Opens a pool and proves it with one connection, within the connect timeout.
/// `PREFERRED` (the default) falls back to plain text when the server has no TLS;
/// over a Unix socket no TLS is negotiated.
pub async fn connect(config: &ConnectionConfig) -> Result<Pool, ConnectError> {
    let mode = config.ssl_mode.unwrap_or(SslMode::Preferred);
    // A Unix socket is local and counts as a secure transport, as for the mysql client.
    let attempt = if socket_path(config).is_some() {
        try_connect(config, None).await
    } else {
        match try_connect(config, ssl_opts(config, mode)?).await {
            Err(Failure::Driver(mysql_async::Error::Driver(
                mysql_async::DriverError::NoClientSslFlagFromServer,
            ))) => {
                if mode == SslMode::Preferred {
                    try_connect(config, None).await
                } else {
                    return Err(ConnectError::TlsUnavailable { mode });
                }
            }
            other => other,
        }
    };
    attempt.map_err(|failure| explain(config, failure))
}

/// One attempt's failure, before it is explained.
#[derive(Debug)]
enum Failure {
    Timeout,
    Driver(mysql_async::Error),
}

async fn try_connect(config: &ConnectionConfig, ssl: Option<SslOpts>) -> Result<Pool, Failure> {
    let pool = Pool::new(builder(config, ssl));
    match tokio::time::timeout(config.connect_timeout, pool.get_conn()).await {
        Err(_) => Err(Failure::Timeout),
        Ok(Err(e)) => Err(Failure::Driver(e)),
        Ok(Ok(conn)) => {
            drop(conn);
            Ok(pool)
        }
    }
}

/// The failure as one sentence with the check that fixes it. The target names
/// the socket actually tried (`localhost` without a port may have found one).
fn explain(config: &ConnectionConfig, failure: Failure) -> ConnectError {
    let socket = socket_path(config);
    let user = config.user.as_deref().unwrap_or("(current OS user)");
    let (target, address) = match &socket {
        Some(path) => (
            format!("{user} via socket {}", path.display()),
            path.display().to_string(),
        ),
        None => (config.target(), config.address()),
    };
    let e = match failure {
        Failure::Timeout => {
            return ConnectError::Timeout {
                target,
                address,
                timeout: config.connect_timeout,
            }
        }
        Failure::Driver(e) => e,
    };
    match &e {
        mysql_async::Error::Io(mysql_async::IoError::Io(io)) => {
            use std::io::ErrorKind;
            match (io.kind(), socket.is_some()) {
                (ErrorKind::NotFound, true) => ConnectError::NoSocket { target },
                (ErrorKind::ConnectionRefused, true) => ConnectError::SocketRefused { target },
                (ErrorKind::ConnectionRefused, false) => ConnectError::Refused { target, address },
                (ErrorKind::PermissionDenied, true) => ConnectError::Failed {
                    target,
                    message: "permission denied on the socket: this OS user may not open it (check the permissions of the file and of its directories)".into(),
                },
                // tokio's resolver says "failed to lookup address information: …".
                _ if socket.is_none() && io.to_string().contains("lookup address") => {
                    ConnectError::UnknownHost {
                        target,
                        host: config.host.clone().unwrap_or_else(|| "localhost".into()),
                    }
                }
                _ => ConnectError::Failed {
                    target,
                    message: io.to_string(),
                },
            }
        }
        // 1045 wrong user or password; 1698 MariaDB unix_socket (and MySQL
        // auth_socket) accounts admit only the OS user of the same name.
        mysql_async::Error::Server(s) if matches!(s.code, 1045 | 1698) => {
            ConnectError::AccessDenied {
                target,
                message: s.message.clone(),
                extra: if s.code == 1698 {
                    "; an account that authenticates by OS user (unix_socket) admits only that OS user"
                } else {
                    ""
                },
            }
        }
        mysql_async::Error::Server(s) => ConnectError::Failed {
            target,
            message: match s.code {
                // 1040 max_connections; 1203/1226 max_user_connections.
                1040 | 1203 | 1226 => format!(
                    "{}: the server has no free connection slot for this account; retry, or end idle sessions",
                    s.message
                ),
                // 1130: no account matches this client's host.
                1130 => format!(
                    "{}: the account is not allowed from this client's address (check its host part)",
                    s.message
                ),
                // 1049 unknown database, 1044 no access to it.
                1049 | 1044 => format!(
                    "{}: check the database name (--url path, database= in option files)",
                    s.message
                ),
                _ => format!("{} (server error {})", s.message, s.code),
            },
        },
        _ => ConnectError::Failed {
            target,
            message: innermost(&e),
        },
    }
}

/// The driver's error said once: its wrappers ("Input/output error: …",
/// "Driver error: `…'") repeat their cause, so keep the deepest text, with the
/// word TLS kept where the failure was in the handshake.
fn innermost(e: &mysql_async::Error) -> String {
    let mut deepest: &dyn std::error::Error = e;
    while let Some(next) = deepest.source() {
        deepest = next;
    }
    let text = deepest.to_string();
    match e {
        mysql_async::Error::Io(mysql_async::IoError::Tls(_)) => {
            format!("TLS handshake failed: {text}")
        }
        _ => text,
    }
}

/// How long closing the connections may take: a stalled server must not hold
/// lockdiag after its answer is printed (the pool's own disconnect has no limit).
const CLOSE_LIMIT: std::time::Duration = std::time::Duration::from_secs(1);

/// Closes the pool's connections politely, or gives up after [`CLOSE_LIMIT`]
/// (the sockets are dropped; the server notices on its own).
pub async fn close(pool: mysql_async::Pool) {
    let _ = tokio::time::timeout(CLOSE_LIMIT, pool.disconnect()).await;
}

#[cfg(test)]
mod tests {
    use std::io::{Error as IoError, ErrorKind};

    use super::*;

    fn io(kind: ErrorKind, text: &str) -> Failure {
        // As the driver wraps it: twice "Input/output error: …" around the OS error.
        Failure::Driver(mysql_async::Error::Io(mysql_async::IoError::Io(
            IoError::new(kind, text.to_string()),
        )))
    }

    fn config(socket: Option<&str>, host: Option<&str>, port: Option<u16>) -> ConnectionConfig {
        ConnectionConfig {
            user: Some("ops".into()),
            password: Some("Pw-4711".into()),
            socket: socket.map(PathBuf::from),
            host: host.map(str::to_string),
            port,
            connect_timeout: Duration::from_secs(3),
            ..Default::default()
        }
    }

    #[test]
    fn connection_failures_are_one_sentence_with_the_check_that_fixes_them() {
        let socket = config(Some("/tmp/x.sock"), None, None);
        let tcp = config(None, Some("db1"), Some(3307));
        let said = |c: &ConnectionConfig, f: Failure| explain(c, f).to_string();

        let missing = said(
            &socket,
            io(
                ErrorKind::NotFound,
                "No such file or directory (os error 2)",
            ),
        );
        assert_eq!(
            missing,
            "cannot connect to ops via socket /tmp/x.sock: no such socket: is the server running, and is this its socket path? (mariadb: SELECT @@socket)"
        );
        let refused = said(
            &tcp,
            io(
                ErrorKind::ConnectionRefused,
                "Connection refused (os error 111)",
            ),
        );
        assert_eq!(
            refused,
            "cannot connect to ops@db1:3307: connection refused: is the server running and listening on db1:3307?"
        );
        assert!(said(&socket, io(ErrorKind::ConnectionRefused, "refused"))
            .contains("nothing listens on the socket"));
        assert!(said(
            &tcp,
            io(
                ErrorKind::Other,
                "failed to lookup address information: Name or service not known"
            )
        )
        .contains("unknown host db1"));
        let timeout = said(&tcp, Failure::Timeout);
        assert!(
            timeout.contains("no answer within 3s (--connect-timeout)")
                && timeout.contains("db1:3307"),
            "{timeout}"
        );

        let denied = Failure::Driver(mysql_async::Error::Server(mysql_async::ServerError {
            code: 1045,
            message: "Access denied for user 'ops'@'10.0.0.9' (using password: YES)".into(),
            state: "28000".into(),
        }));
        let denied = said(&tcp, denied);
        assert_eq!(
            denied,
            "cannot connect to ops@db1:3307: Access denied for user 'ops'@'10.0.0.9' (using password: YES): check the user name and password (-u, -p, --url, option files)"
        );
        for text in [&missing, &refused, &timeout, &denied] {
            assert!(
                !text.contains("Input/output error") && !text.contains("Pw-4711"),
                "{text}"
            );
        }
    }
}
