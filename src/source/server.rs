//! One handle per server: everything lockdiag knows about a server it talks to —
//! the connection pool, what detection found (flavour, sources, privileges), how it
//! kills, the limits in force and the account it connects with. Commands are
//! handed a `Server`; nobody else opens a pool or asks "is this MariaDB?". It is
//! small (a pool is a handle to shared state), so many can be held at once.

use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context, Result};
use mysql_async::Pool;

use crate::model::{Flavour, LiveState};

use super::collect::{collect_live, CollectOptions};
use super::connect::{close, connect, ConnectionConfig};
use super::detect::{detect, Capabilities};
use super::kill::{detect_method, KillMethod};

/// An open connection to one server and what it offers.
pub struct Server {
    pool: Pool,
    caps: Capabilities,
    config: ConnectionConfig,
    /// How this server lets lockdiag kill, asked the first time a kill needs it.
    kill_method: OnceLock<KillMethod>,
}

impl Server {
    /// Connects (within the connect timeout) and asks the server who it is and what
    /// this account may read.
    pub async fn open(config: &ConnectionConfig) -> Result<Server> {
        let pool = connect(config).await?;
        let caps = match detect(&pool, config.query_timeout).await {
            Ok(caps) => caps,
            Err(e) => {
                close(pool).await;
                return Err(e).context("cannot read the server's identity");
            }
        };
        Ok(Server {
            pool,
            caps,
            config: config.clone(),
            kill_method: OnceLock::new(),
        })
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// What detection found: flavour, sources, privileges, the server's identity.
    pub fn caps(&self) -> &Capabilities {
        &self.caps
    }

    pub fn flavour(&self) -> Flavour {
        self.caps.server.flavour
    }

    pub fn config(&self) -> &ConnectionConfig {
        &self.config
    }

    /// The per-statement limit (`--query-timeout`).
    pub fn query_timeout(&self) -> Duration {
        self.config.query_timeout
    }

    /// Reads every source the capabilities allow (`collect::collect_live`).
    pub async fn collect(&self, locks_limit: Option<u64>, innodb_status: bool) -> LiveState {
        let options = CollectOptions {
            locks_limit,
            innodb_status,
            timeout: self.config.query_timeout,
            max_row_waits: self.config.max_row_waits,
        };
        collect_live(&self.pool, &self.caps, options).await
    }

    /// How to kill on this server: plain `KILL`, or the managed services' procedures.
    pub async fn kill_method(&self) -> KillMethod {
        if let Some(method) = self.kill_method.get() {
            return *method;
        }
        let method = detect_method(&self.pool, self.config.query_timeout).await;
        *self.kill_method.get_or_init(|| method)
    }

    /// Closes the connections, bounded in time.
    pub async fn close(self) {
        close(self.pool).await;
    }
}
