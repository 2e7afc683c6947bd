//! `record --enable-statement-history`: the one server setting lockdiag changes. It turns
//! the statement-history consumers on for its run and back off at the end — and, because
//! a recorder can be SIGKILLed or crash before its end, it notes on disk what it turned
//! on (`DIR/statement-history.enabled`) until it has turned it back off: the next
//! recorder in that directory then turns off what the killed one left on.

use std::path::{Path, PathBuf};

use crate::source::history;
use crate::source::server::Server;
use crate::source::snapshot_file::write_atomically;

use super::record::EventLog;

/// The note of consumers turned on and not yet turned back off, in the record directory.
pub fn marker_path(dir: &Path) -> PathBuf {
    dir.join("statement-history.enabled")
}

/// What a marker holds for one server: the consumers turned on there. A directory
/// recorded from several servers over time (a recorder pointed elsewhere after one was
/// killed) keeps one entry per server, so one server's note never hides another's.
#[derive(Debug, PartialEq)]
struct LeftOn {
    server: String,
    consumers: Vec<String>,
}

fn marker_text(entries: &[LeftOn]) -> String {
    let mut text = String::from(
        "# lockdiag record turned these performance_schema consumers on; until this file is\n\
         # gone they have not been turned back off. The next `lockdiag record` in this\n\
         # directory turns them off (or: UPDATE performance_schema.setup_consumers SET\n\
         # ENABLED = 'NO' WHERE NAME IN (…)).\n",
    );
    for entry in entries {
        text.push_str(&format!("server={}\n", entry.server));
        for consumer in &entry.consumers {
            text.push_str(consumer);
            text.push('\n');
        }
    }
    text
}

/// Each `server=` line and the consumer names after it (names before any server line
/// belong to no server and are ignored; entries without consumers are dropped).
fn read_marker(text: &str) -> Vec<LeftOn> {
    let mut entries: Vec<LeftOn> = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.strip_prefix("server=") {
            Some(name) => entries.push(LeftOn {
                server: name.to_string(),
                consumers: Vec::new(),
            }),
            // Only consumer names are ever turned off: nothing else the file may say.
            None if line.starts_with("events_")
                && line.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
            {
                if let Some(entry) = entries.last_mut() {
                    entry.consumers.push(line.to_string());
                }
            }
            None => {}
        }
    }
    entries.retain(|e| !e.consumers.is_empty());
    entries
}

/// Sets `server`'s entry of the note in `dir` to `consumers` (none: removes it), keeping
/// every other server's; the file goes when no entry is left.
fn update_marker(dir: &Path, server: &str, consumers: &[String]) -> anyhow::Result<()> {
    let path = marker_path(dir);
    let mut entries = std::fs::read_to_string(&path)
        .map(|text| read_marker(&text))
        .unwrap_or_default();
    entries.retain(|e| e.server != server);
    if !consumers.is_empty() {
        entries.push(LeftOn {
            server: server.to_string(),
            consumers: consumers.to_vec(),
        });
    }
    if entries.is_empty() {
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    } else {
        write_atomically(&path, marker_text(&entries).as_bytes())
    }
}

/// The server's name as the marker keeps it: the consumers are turned off only on the
/// server that had them turned on.
fn server_name(server: &Server) -> String {
    let info = &server.caps().server;
    format!(
        "{}@{}",
        info.hostname.as_deref().unwrap_or("?"),
        server.config().address()
    )
}

/// At the first connection: the consumers an earlier recorder in `dir` turned on and could
/// not turn back off. With `--enable-statement-history` they are adopted (returned, turned
/// off at this run's end); without, they are turned off now. Said in the log either way.
pub(super) async fn left_on_by_an_earlier_run(
    server: &Server,
    dir: &Path,
    adopt: bool,
    log: &EventLog<'_>,
) -> Vec<String> {
    let path = marker_path(dir);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Vec::new();
    };
    let entries = read_marker(&text);
    if entries.is_empty() {
        // Nothing a recorder could turn off: a note of no use.
        let _ = std::fs::remove_file(&path);
        return Vec::new();
    }
    let this_server = server_name(server);
    let mut ours = None;
    for left in entries {
        if left.server == this_server {
            ours = Some(left);
            continue;
        }
        // Another server's: only a recorder connected to it may turn them off.
        log.event(
            "statement-history-left-on-elsewhere",
            &[
                ("server", left.server),
                ("consumers", left.consumers.join(",")),
                ("path", path.display().to_string()),
            ],
        );
    }
    let Some(left) = ours else {
        return Vec::new();
    };
    log.event(
        "statement-history-left-on",
        &[
            ("consumers", left.consumers.join(",")),
            ("by", "an earlier recorder that did not end cleanly".into()),
        ],
    );
    if adopt {
        return left.consumers;
    }
    restore(Some(server), dir, &left.consumers, log).await;
    Vec::new()
}

/// Turns the statement-history consumers on; returns those to turn off at the end (the
/// ones that were off, and `adopted` from an earlier run). They are noted on disk *before*
/// the first is turned on: a recorder killed in between leaves the note, and turning off a
/// consumer that never went on is harmless. A failure half-way keeps them all in the list.
pub(super) async fn enable(
    server: &Server,
    dir: &Path,
    adopted: Vec<String>,
    log: &EventLog<'_>,
) -> Vec<String> {
    let (pool, flavour, timeout) = (
        server.pool(),
        server.caps().server.flavour,
        server.query_timeout(),
    );
    let mut to_restore = adopted;
    let wanted = match history::consumers_to_enable(pool, flavour, timeout).await {
        Ok(wanted) => wanted,
        Err(e) => {
            log.event("statement-history-not-enabled", &[("error", e.to_string())]);
            Vec::new()
        }
    };
    to_restore.extend(wanted.iter().cloned());
    to_restore.sort();
    to_restore.dedup();
    if !to_restore.is_empty() {
        if let Err(e) = update_marker(dir, &server_name(server), &to_restore) {
            log.event(
                "write-failed",
                &[
                    ("error", format!("{e:#}")),
                    ("what", "the note of the consumers turned on".into()),
                ],
            );
        }
    }
    if !wanted.is_empty() {
        match history::enable_consumers(pool, flavour, timeout, &wanted).await {
            Ok(()) => log.event(
                "statement-history-enabled",
                &[("consumers_turned_on", wanted.join(","))],
            ),
            Err(e) => log.event("statement-history-not-enabled", &[("error", e.to_string())]),
        }
    } else {
        log.event(
            "statement-history-enabled",
            &[("consumers_turned_on", String::new())],
        );
    }
    to_restore
}

/// Turns back off what [`enable`] turned on and removes the note; says when it cannot.
pub(super) async fn restore(
    server: Option<&Server>,
    dir: &Path,
    changed: &[String],
    log: &EventLog<'_>,
) {
    let result = match server {
        Some(server) => crate::source::history::restore_consumers(
            server.pool(),
            server.caps().server.flavour,
            server.query_timeout(),
            changed,
        )
        .await
        .map_err(|e| e.to_string()),
        None => Err("not connected to the server at the end".into()),
    };
    match result {
        Ok(()) => {
            if let Some(server) = server {
                let _ = update_marker(dir, &server_name(server), &[]);
            }
            log.event(
                "statement-history-restored",
                &[("consumers_turned_off", changed.join(","))],
            )
        }
        Err(error) => log.event(
            "statement-history-not-restored",
            &[
                ("consumers_left_on", changed.join(",")),
                ("error", error),
                ("noted_in", marker_path(dir).display().to_string()),
            ],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_reads_back_and_names_nothing_but_consumers() {
        let consumers = vec![
            "events_statements_current".to_string(),
            "events_statements_history".to_string(),
        ];
        let entry = |server: &str| LeftOn {
            server: server.into(),
            consumers: consumers.clone(),
        };
        let text = marker_text(&[entry("db1@/run/mysqld.sock")]);
        assert_eq!(read_marker(&text), [entry("db1@/run/mysqld.sock")]);
        let hostile = format!("{text}x'; DROP TABLE t; --\nevents_x WHERE 1\n");
        assert_eq!(read_marker(&hostile)[0].consumers, consumers);
        assert_eq!(
            read_marker("events_statements_history\n"),
            [],
            "no server line"
        );
    }

    /// A note naming another server survives this server's notes and restores.
    #[test]
    fn each_server_keeps_its_own_entry() {
        let dir = std::env::temp_dir().join(format!("lockdiag-consumers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        update_marker(
            &dir,
            "db2@10.0.0.2:3306",
            &names(&["events_statements_current"]),
        )
        .unwrap();
        update_marker(
            &dir,
            "db1@/run/mysqld.sock",
            &names(&["events_statements_history"]),
        )
        .unwrap();
        let text = std::fs::read_to_string(marker_path(&dir)).unwrap();
        let servers: Vec<String> = read_marker(&text).into_iter().map(|e| e.server).collect();
        assert_eq!(servers, ["db2@10.0.0.2:3306", "db1@/run/mysqld.sock"]);
        // db1 restored: db2's entry stays.
        update_marker(&dir, "db1@/run/mysqld.sock", &[]).unwrap();
        let text = std::fs::read_to_string(marker_path(&dir)).unwrap();
        assert_eq!(
            read_marker(&text),
            [LeftOn {
                server: "db2@10.0.0.2:3306".into(),
                consumers: names(&["events_statements_current"]),
            }]
        );
        update_marker(&dir, "db2@10.0.0.2:3306", &[]).unwrap();
        assert!(!marker_path(&dir).exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
