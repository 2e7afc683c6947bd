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

#[derive(Debug, Error)]
pub enum ConnectError {
    #[error("cannot connect to {target}: no answer within {timeout:?} (is the server running and reachable? check --host/--port/--socket, or raise --connect-timeout)")]
    Timeout { target: String, timeout: Duration },
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
    if socket_path(config).is_some() {
        return try_connect(config, None).await;
    }
    match try_connect(config, ssl_opts(config, mode)?).await {
        Err(ConnectError::Failed { message, .. })
            if message.contains("does not have this capability") =>
        {
            if mode == SslMode::Preferred {
                try_connect(config, None).await
            } else {
                Err(ConnectError::TlsUnavailable { mode })
            }
        }
        other => other,
    }
}

async fn try_connect(
    config: &ConnectionConfig,
    ssl: Option<SslOpts>,
) -> Result<Pool, ConnectError> {
    let pool = Pool::new(builder(config, ssl));
    let target = config.target();
    match tokio::time::timeout(config.connect_timeout, pool.get_conn()).await {
        Err(_) => Err(ConnectError::Timeout {
            target,
            timeout: config.connect_timeout,
        }),
        Ok(Err(e)) => Err(ConnectError::Failed {
            target,
            message: e.to_string(),
        }),
        Ok(Ok(conn)) => {
            drop(conn);
            Ok(pool)
        }
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
