//! What every live test gets: the server, connections, and the lockdiag binary.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder};
use serde_json::Value;
use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::server::Server;

pub struct Ctx {
    pub server: Server,
    pub rt: Runtime,
}

/// Statements left running in the background (they block on a lock).
pub struct Pending {
    pub thread_id: u32,
    /// Resolves when the statements finished: `Err` with the server's message if one failed.
    pub done: oneshot::Receiver<Result<(), String>>,
    _task: JoinHandle<()>,
}

impl Ctx {
    fn opts(&self, user: &str, password: Option<&str>) -> OptsBuilder {
        OptsBuilder::default()
            .socket(Some(self.server.socket().to_string_lossy().into_owned()))
            .user(Some(user))
            .pass(password)
            .db_name(Some("shop"))
            .prefer_socket(false)
    }

    /// A pool of root connections to database `shop`, as lockdiag's own statements use.
    pub fn pool(&self) -> mysql_async::Pool {
        mysql_async::Pool::new(self.opts("root", None))
    }

    /// A new root connection to database `shop`.
    pub fn conn(&self) -> Conn {
        self.rt
            .block_on(Conn::new(self.opts("root", None)))
            .expect("connect as root")
    }

    pub fn exec(&self, conn: &mut Conn, sql: &str) {
        self.rt
            .block_on(conn.query_drop(sql))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    pub fn query_u64(&self, conn: &mut Conn, sql: &str) -> u64 {
        self.rt
            .block_on(conn.query_first::<u64, _>(sql))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .unwrap_or(0)
    }

    /// Runs `sql` on `conn` in the background; it may block.
    pub fn spawn(&self, mut conn: Conn, statements: &[&str]) -> Pending {
        let thread_id = conn.id();
        let statements: Vec<String> = statements.iter().map(|s| s.to_string()).collect();
        let (tx, done) = oneshot::channel();
        let task = self.rt.spawn(async move {
            let mut result = Ok(());
            for sql in statements {
                if let Err(e) = conn.query_drop(&sql).await {
                    result = Err(e.to_string());
                    break;
                }
            }
            let _ = tx.send(result);
            // Keep the connection (and its transaction) open until killed.
            tokio::time::sleep(Duration::from_secs(600)).await;
            drop(conn);
        });
        Pending {
            thread_id,
            done,
            _task: task,
        }
    }

    /// Waits until `count` sessions are in a lock wait (row or metadata), per the server.
    pub fn wait_for_waiters(&self, count: u64) {
        let mut admin = self.conn();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let n = self.query_u64(
                &mut admin,
                "SELECT (SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT') \
                      + (SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE STATE LIKE 'Waiting for%metadata lock')",
            );
            if n >= count {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "only {n} of {count} sessions reached a lock wait"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Kills the given sessions (ending their transactions) and waits for them to go.
    pub fn kill(&self, ids: &[u32]) {
        let mut admin = self.conn();
        for id in ids {
            // 1094 unknown thread: it already ended (a deadlock victim's client gave up).
            let _ = self.rt.block_on(admin.query_drop(format!("KILL {id}")));
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let list = ids
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(",");
            // A killed session's transaction can outlive its processlist row while it rolls back.
            let left = format!(
                "SELECT (SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID IN ({list})) \
                      + (SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id IN ({list}))"
            );
            if self.query_u64(&mut admin, &left) == 0 {
                return;
            }
            // InnoDB refreshes its INNODB_TRX/INNODB_LOCKS cache only when it was not read in
            // the last 100 ms: polling faster than that keeps seeing the old picture.
            std::thread::sleep(Duration::from_millis(250));
        }
        let rows: Vec<(String, u64, String)> = self
            .rt
            .block_on(admin.query(
                "SELECT trx_id, trx_mysql_thread_id, trx_state FROM information_schema.INNODB_TRX",
            ))
            .unwrap();
        let ps: Vec<(u64, String, Option<String>)> = self
            .rt
            .block_on(admin.query("SELECT ID, COMMAND, STATE FROM information_schema.PROCESSLIST"))
            .unwrap();
        panic!("sessions {ids:?} still there 10s after KILL: {rows:?} {ps:?}");
    }

    /// Runs the lockdiag binary against the test server.
    pub fn lockdiag(&self, args: &[&str]) -> Output {
        let socket = self.server.socket();
        let mut full = vec![
            "--no-defaults",
            "-S",
            socket.to_str().unwrap(),
            "-u",
            "root",
        ];
        full.extend_from_slice(args);
        self.lockdiag_raw(&full)
    }

    /// The lockdiag binary connected as root over the test server's socket (option files
    /// ignored), for a test that spawns it; its command and arguments follow.
    pub fn lockdiag_command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_lockdiag"));
        command
            .args(["--no-defaults", "-S"])
            .arg(self.server.socket())
            .args(["-u", "root"])
            .env_remove("LOCKDIAG_URL");
        command
    }

    /// Runs the binary over TCP to 127.0.0.1:`port` (option files ignored), then `args`.
    pub fn lockdiag_tcp(&self, port: &str, args: &[&str]) -> Output {
        let mut full = vec!["--no-defaults", "-h", "127.0.0.1", "-P", port];
        full.extend_from_slice(args);
        self.lockdiag_raw(&full)
    }

    /// Runs the binary with exactly these arguments (no connection flags added). What it
    /// prints with `--format json` is validated against its kind's schema in docs/schema/
    /// (every live JSON document passes here; an empty stdout, as on some errors, is not one).
    pub fn lockdiag_raw(&self, args: &[&str]) -> Output {
        let out = Command::new(env!("CARGO_BIN_EXE_lockdiag"))
            .args(args)
            .env_remove("LOCKDIAG_URL")
            .env("NO_COLOR", "1")
            .output()
            .expect("run lockdiag");
        if asks_for_json(args) {
            if let Ok(doc) = serde_json::from_slice::<Value>(&out.stdout) {
                crate::schema_check::validate_document(&doc);
            }
        }
        out
    }

    /// Runs lockdiag with `--format json`, expects exit 0, parses stdout (validated
    /// against its schema by [`Ctx::lockdiag_raw`]).
    pub fn lockdiag_json(&self, args: &[&str]) -> Value {
        let mut full = args.to_vec();
        full.extend_from_slice(&["--format", "json"]);
        let out = self.lockdiag(&full);
        assert_eq!(
            out.status.code(),
            Some(0),
            "lockdiag {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "lockdiag {args:?}: not JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }
}

/// Whether `args` ask for `--format json` (the flag takes its value either way, any case).
/// The `sources[]` entry of a status or snapshot document named `name`.
pub fn source_of(doc: &Value, name: &str) -> Value {
    doc["sources"]
        .as_array()
        .and_then(|all| all.iter().find(|s| s["source"] == name))
        .cloned()
        .unwrap_or_else(|| panic!("no source {name}: {doc}"))
}

fn asks_for_json(args: &[&str]) -> bool {
    args.windows(2)
        .any(|w| w[0] == "--format" && w[1].eq_ignore_ascii_case("json"))
        || args.iter().any(|a| a.eq_ignore_ascii_case("--format=json"))
}
