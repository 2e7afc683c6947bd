//! A throwaway MariaDB for the live tests: its own data directory, free port
//! and socket; killed and removed when dropped. Never an existing server.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    pub dir: PathBuf,
    pub port: u16,
    /// Behind a lock so that a test holding `&Ctx` can restart the server.
    child: std::sync::Mutex<Child>,
    mariadbd: String,
    user: String,
}

/// Runs `sql` through Debian's `mariadb` client as root over `socket`, without column names
/// (for a test thread that must not share the test's connections); the client's output.
pub fn client(socket: &Path, sql: &str) -> std::process::Output {
    Command::new("mariadb")
        .args([
            "--no-defaults",
            "-S",
            socket.to_str().unwrap(),
            "-u",
            "root",
            "-N",
            "-e",
        ])
        .arg(sql)
        .output()
        .expect("run the mariadb client")
}

/// A port nothing listens on (bound, then released).
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn find_binary(names: &[&str]) -> Result<String, String> {
    for name in names {
        for dir in ["/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"] {
            let path = Path::new(dir).join(name);
            if path.exists() {
                return Ok(path.to_string_lossy().into_owned());
            }
        }
    }
    Err(format!("none of {names:?} found: install Debian's mariadb-server (apt-get install -y mariadb-server)"))
}

fn whoami() -> String {
    Command::new("id")
        .arg("-un")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "root".into())
}

impl Server {
    pub fn start() -> Result<Server, String> {
        Server::start_named("")
    }

    /// Another throwaway server beside the first (`name` keeps their directories apart).
    pub fn start_named(name: &str) -> Result<Server, String> {
        let install = find_binary(&["mariadb-install-db", "mysql_install_db"])?;
        let mariadbd = find_binary(&["mariadbd", "mysqld"])?;
        let dir = std::env::temp_dir().join(format!("lockdiag-live-{}{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let user = whoami();
        let out = Command::new(&install)
            .args([
                "--no-defaults",
                &format!("--datadir={}", dir.join("data").display()),
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                &format!("--user={user}"),
            ])
            .output()
            .map_err(|e| format!("{install}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "{install} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let port = free_port().map_err(|e| e.to_string())?;
        let child = spawn_mariadbd(&mariadbd, &dir, port, &user)?;
        let server = Server {
            dir,
            port,
            child: std::sync::Mutex::new(child),
            mariadbd,
            user,
        };
        server.wait_for_socket()?;
        Ok(server)
    }

    fn wait_for_socket(&self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.socket().exists() {
            if let Ok(Some(status)) = self.child.lock().unwrap().try_wait() {
                let log = std::fs::read_to_string(self.dir.join("err.log")).unwrap_or_default();
                return Err(format!("mariadbd exited with {status}:\n{log}"));
            }
            if Instant::now() > deadline {
                return Err("mariadbd did not create its socket within 60s".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// Stops (`STOP`) or resumes (`CONT`) the server process, as a stall would.
    pub fn signal(&self, signal: &str) {
        let id = self.child.lock().unwrap().id();
        let status = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(id.to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} the server");
    }

    /// Shuts the server down cleanly and starts it again on the same data, port and socket
    /// (a restart under a running client, as after a crash-free failover back).
    pub fn restart(&self) {
        self.signal("TERM");
        let mut child = self.child.lock().unwrap();
        let _ = child.wait();
        let _ = std::fs::remove_file(self.socket());
        *child = spawn_mariadbd(&self.mariadbd, &self.dir, self.port, &self.user)
            .expect("start mariadbd again");
        drop(child);
        self.wait_for_socket().expect("mariadbd back");
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.join("sock")
    }

    pub fn error_log(&self) -> PathBuf {
        self.dir.join("err.log")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(mut child) = self.child.lock() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn spawn_mariadbd(
    mariadbd: &str,
    dir: &std::path::Path,
    port: u16,
    user: &str,
) -> Result<std::process::Child, String> {
    Command::new(mariadbd)
        .args([
            "--no-defaults".to_string(),
            format!("--datadir={}", dir.join("data").display()),
            format!("--socket={}", dir.join("sock").display()),
            format!("--port={port}"),
            "--bind-address=127.0.0.1".into(),
            format!("--user={user}"),
            format!("--log-error={}", dir.join("err.log").display()),
            "--innodb-print-all-deadlocks=ON".into(),
            "--performance-schema=ON".into(),
            "--performance-schema-instrument=wait/lock/metadata/sql/mdl=ON".into(),
            "--innodb-buffer-pool-size=64M".into(),
            "--innodb-lock-wait-timeout=120".into(),
            "--max-connections=1000".into(),
            "--skip-name-resolve".into(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{mariadbd}: {e}"))
}
