//! `status --hosts` and `snapshot --hosts` against the throwaway server (issue 21's
//! fleet view): the same server through three targets and two accounts while a
//! pile-up exists, a dead port and a server that never answers — every line printed,
//! errors first, within the per-server bound, no password anywhere, exit 2.

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::ctx::Ctx;

const PASSWORD: &str = "S3cret-diag-pw";

/// connect 2 s + 3 × query 2 s + 2 s margin: one server's deadline.
const PER_SERVER: Duration = Duration::from_secs(2 + 3 * 2 + 2);

pub fn fleet_status_and_snapshots(ctx: &Ctx) {
    let dir = ctx.server.dir.join("fleet");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let cnf = dir.join("fleet.cnf");
    std::fs::write(
        &cnf,
        format!("[client]\nuser=root\n[client.diag]\nuser=diag\npassword={PASSWORD}\n"),
    )
    .unwrap();
    // A port nothing listens on, and a server that accepts TCP and never says a word.
    let dead = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = ctx.server.port;
    let hosts = dir.join("hosts");
    std::fs::write(
        &hosts,
        format!(
            "# the test server, three ways\n{socket}\n127.0.0.1:{port}   group=diag  # PROCESS, no SUPER\n\
             mysql://diag:{PASSWORD}@127.0.0.1:{port}/\n\n{dead}\n{silent}\n",
            socket = ctx.server.socket().display(),
            silent = silent.local_addr().unwrap(),
        ),
    )
    .unwrap();
    let servers: u32 = 5;
    let base = [
        "--defaults-file",
        cnf.to_str().unwrap(),
        "--connect-timeout",
        "2s",
        "--query-timeout",
        "2s",
    ];
    let ids = crate::serve::pile_up(ctx);

    // The table, all at once: ceil(5 / 16) = 1 deadline.
    let run = |extra: &[&str], parallel: usize| {
        let mut args = base.to_vec();
        let parallel = parallel.to_string();
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--parallel", &parallel]);
        let started = Instant::now();
        let out = ctx.lockdiag_raw(&args);
        let took = started.elapsed();
        let bound = PER_SERVER * servers.div_ceil(parallel.parse::<u32>().unwrap());
        eprintln!("fleet {extra:?} --parallel {parallel}: {took:?} (bound {bound:?})");
        assert!(took < bound, "{extra:?}: {took:?}, bound {bound:?}");
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        assert!(
            !stdout.contains(PASSWORD) && !stderr.contains(PASSWORD),
            "{stdout}{stderr}"
        );
        assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
        (stdout, stderr)
    };
    let (table, _) = run(&["status", "--hosts", hosts.to_str().unwrap()], 16);
    let rows: Vec<&str> = table.lines().filter(|l| l.starts_with('│')).collect();
    assert_eq!(rows.len(), 1 + servers as usize, "{table}");
    // Errors first: the dead port and the silent server, in hosts-file order.
    assert!(rows[1].contains(&dead.to_string()), "{table}");
    assert!(rows[1].contains("refused"), "{table}");
    assert!(
        rows[2].contains(&silent.local_addr().unwrap().to_string()),
        "{table}"
    );
    for row in &rows[3..] {
        assert!(
            row.contains("2/0") && row.contains("1 idle_in_trx"),
            "{table}"
        );
    }
    assert!(table.contains("mysql://diag:****@127.0.0.1"), "{table}");

    // JSON, two at a time: ceil(5 / 2) = 3 deadlines at most.
    let (json, _) = run(
        &[
            "status",
            "--hosts",
            hosts.to_str().unwrap(),
            "--format",
            "json",
        ],
        2,
    );
    let doc: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["kind"], "fleet");
    let servers_json = doc["servers"].as_array().unwrap();
    assert!(servers_json[0]["error"]
        .as_str()
        .unwrap()
        .contains("refused"));
    assert!(servers_json[1]["error"]
        .as_str()
        .unwrap()
        .contains("no answer"));
    for server in &servers_json[2..] {
        let figures = &server["figures"];
        assert_eq!(figures["waiting_sessions"]["row"], 2, "{server}");
        assert_eq!(
            figures["root_blockers"]["idle_in_transaction"], 1,
            "{server}"
        );
        assert_eq!(figures["waits_complete"], true, "{server}");
        // The status text was read: "none" and "not read" are told apart.
        assert!(figures["deadlock_since_start"].is_boolean(), "{server}");
    }
    let targets: Vec<&str> = servers_json[2..]
        .iter()
        .map(|s| s["target"].as_str().unwrap())
        .collect();
    assert!(
        targets.contains(&format!("127.0.0.1:{port}").as_str()),
        "{targets:?}"
    );

    // One snapshot per server, each in its own private directory.
    let out_dir = dir.join("snapshots/");
    let (written, _) = run(
        &[
            "snapshot",
            "--hosts",
            hosts.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ],
        16,
    );
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(lines.len(), servers as usize, "{written}");
    assert!(
        lines[3].contains("error:") && lines[4].contains("error:"),
        "{written}"
    );
    for (line, sub) in lines[..3].iter().zip([
        ctx.server
            .socket()
            .display()
            .to_string()
            .trim_start_matches('/')
            .replace('/', "_"),
        format!("127.0.0.1_{port}_diag"),
        format!("127.0.0.1_{port}"),
    ]) {
        let path = line.split('\t').nth(1).unwrap();
        assert!(path.contains(&format!("/{sub}/lockdiag-")), "{line}");
        let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{path}");
        let snapshot: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        crate::schema_check::validate_document(&snapshot);
        assert_eq!(
            snapshot["analysis"]["root_blockers"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
    }
    ctx.kill(&ids);
    drop(silent);

    // A malformed line: exit 2 before connecting anywhere, naming the line.
    std::fs::write(&hosts, format!("{dead}\n127.0.0.1:port\n")).unwrap();
    let mut args = base.to_vec();
    args.extend_from_slice(&["status", "--hosts", hosts.to_str().unwrap()]);
    let out = ctx.lockdiag_raw(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("line 2"), "{stderr}");
    assert!(out.stdout.is_empty());
}
