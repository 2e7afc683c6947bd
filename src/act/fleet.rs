//! Many servers at once (`status --hosts`, `snapshot --hosts`): each one opened and
//! collected exactly as a single-server run does (`Server::open`, `take_snapshot`),
//! at most `parallel` at a time, each under its own deadline — so the run ends within
//! ceil(servers / parallel) deadlines whatever the servers do, and a server that
//! accepts TCP and never answers costs one deadline, never the run. Targets that
//! turn out to be one server (a socket and a TCP address, two accounts) are collected
//! one after the other: concurrent readers of `INNODB_TRX` freeze InnoDB's cache for
//! each other (it refreshes only after 100 ms without a reader).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;

use crate::analyze::views::SnapshotView;
use crate::source::connect::ConnectionConfig;
use crate::source::server::Server;

use super::record::take_snapshot;

/// How every server of a fleet is read.
#[derive(Debug, Clone, Copy)]
pub struct FleetCollection {
    /// Servers read at once.
    pub parallel: usize,
    /// Each server's limit for connecting, identifying it, collecting and closing.
    pub deadline: Duration,
    /// Lock groups read at most per server.
    pub lock_groups: u64,
    /// Leave the raw InnoDB status text out of the snapshots.
    pub no_raw: bool,
}

/// What reading one server gave, and when it began.
#[derive(Debug)]
pub struct FleetRead {
    pub started: DateTime<Utc>,
    /// The collection, or why there is none (one line).
    pub result: Result<SnapshotView, String>,
}

/// Reads every server; the results are in the order of `configs`.
pub async fn collect_fleet(configs: &[ConnectionConfig], how: FleetCollection) -> Vec<FleetRead> {
    let permits = Arc::new(Semaphore::new(how.parallel.max(1)));
    let turns = Arc::new(ServerTurns::default());
    let mut tasks = tokio::task::JoinSet::new();
    for (index, config) in configs.iter().enumerate() {
        let (permits, config, turns) = (permits.clone(), config.clone(), turns.clone());
        tasks.spawn(async move {
            // The deadline starts once the server's turn comes.
            let _permit = permits.acquire_owned().await;
            let started = Utc::now();
            let result = tokio::time::timeout(how.deadline, read_one(&config, how, started, &turns))
                .await
                .unwrap_or_else(|_| {
                    Err(format!(
                        "{}: no complete answer within {:?} (--connect-timeout + 3 × --query-timeout + margin): the server stalled; its connection is dropped",
                        config.address(),
                        how.deadline
                    ))
                });
            (index, FleetRead { started, result })
        });
    }
    let mut reads: Vec<Option<FleetRead>> = configs.iter().map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((index, read)) => reads[index] = Some(read),
            Err(e) => resume_panic(e),
        }
    }
    reads
        .into_iter()
        .map(|read| {
            read.unwrap_or_else(|| FleetRead {
                started: Utc::now(),
                result: Err("the collection ended without a result".into()),
            })
        })
        .collect()
}

/// A collection task that panicked: the panic goes on (a bug, not a server's doing).
fn resume_panic(e: tokio::task::JoinError) {
    if let Ok(panic) = e.try_into_panic() {
        std::panic::resume_unwind(panic);
    }
}

/// One lock per server identity (what detection found: host name, port, server id,
/// version), so that one server is collected by one target at a time.
#[derive(Default)]
struct ServerTurns {
    by_server: std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl ServerTurns {
    fn of(&self, server: &Server) -> Arc<tokio::sync::Mutex<()>> {
        let info = &server.caps().server;
        let identity = format!(
            "{:?}|{:?}|{:?}|{}",
            info.hostname, info.port, info.server_id, info.version
        );
        let mut by_server = self.by_server.lock().unwrap_or_else(|e| e.into_inner());
        by_server.entry(identity).or_default().clone()
    }
}

async fn read_one(
    config: &ConnectionConfig,
    how: FleetCollection,
    started: DateTime<Utc>,
    turns: &ServerTurns,
) -> Result<SnapshotView, String> {
    let server = Server::open(config)
        .await
        .map_err(|e| crate::render::text::error_chain(&e))?;
    let turn = turns.of(&server);
    let view = {
        let _turn = turn.lock().await;
        take_snapshot(&server, how.lock_groups, how.no_raw, started, None).await
    };
    server.close().await;
    Ok(view)
}
