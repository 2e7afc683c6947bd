//! What a person sees (issue 19, items 11–12): `watch` driven through a
//! pseudo-terminal and read back as a screen, connection errors, the dry-run
//! audit record, man pages, completions, and no colour on a dumb terminal.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rexpect::session::PtySession;
use serde_json::Value;

use crate::ctx::{Ctx, Pending};

const ROWS: usize = 50;
const COLS: usize = 150;

/// A program on a pseudo-terminal of ROWS × COLS, its output kept whole.
struct Tty {
    session: PtySession,
    /// Every byte written so far. rexpect hands over one byte per `char`
    /// (a box-drawing character arrives as three), so the bytes are kept and
    /// decoded as UTF-8 here, never compared as rexpect's text.
    bytes: Vec<u8>,
}

impl Tty {
    /// `lockdiag ARGS` on a terminal of ROWS × COLS, with TERM=xterm unless `env`
    /// says otherwise, and NO_COLOR unset.
    fn spawn(args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Tty {
        let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!(
                "stty cols {COLS} rows {ROWS} && exec '{}' {}",
                env!("CARGO_BIN_EXE_lockdiag"),
                quoted.join(" ")
            ))
            .env("TERM", "xterm")
            .env_remove("NO_COLOR")
            .env_remove("LOCKDIAG_URL");
        for (name, value) in env {
            cmd.env(name, value);
        }
        let session = rexpect::session::spawn_command(cmd, Some(20_000)).expect("spawn in a pty");
        Tty {
            session,
            bytes: Vec::new(),
        }
    }

    fn pump(&mut self) {
        while let Some(c) = self.session.try_read() {
            // One byte per char (see `bytes`).
            self.bytes.push(c as u32 as u8);
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    fn press(&mut self, keys: &str) {
        self.session.send(keys).unwrap();
        self.session.flush().unwrap();
    }

    /// Waits until the screen satisfies `ok`; returns it. Panics with the screen after 20 s.
    fn screen_until(&mut self, what: &str, ok: impl Fn(&[String]) -> bool) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            self.pump();
            let screen = Screen::of(&self.text());
            if ok(&screen.rows) {
                return screen.rows;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: the screen was\n{}",
                screen.rows.join("\n")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits for the program to end; returns its exit code.
    fn exit_code(mut self) -> i32 {
        let _ = self.session.exp_eof();
        match self.session.process().wait().unwrap() {
            rexpect::process::WaitStatus::Exited(_, code) => code,
            other => panic!("not a normal exit: {other:?}"),
        }
    }
}

/// A terminal as a person sees it, rebuilt from the bytes a program wrote:
/// cursor positioning, erasing, line feeds with scrolling and line wrap. It
/// has no alternate screen (as GNU screen by default, or the Linux console):
/// a program must clear what it does not mean to keep.
struct Screen {
    rows: Vec<String>,
}

impl Screen {
    fn of(text: &str) -> Screen {
        let mut grid = vec![vec![' '; COLS]; ROWS];
        let (mut row, mut col) = (0usize, 0usize);
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\u{1b}' => match chars.next() {
                    Some('[') => {
                        let mut params = String::new();
                        let mut last = ' ';
                        for p in chars.by_ref() {
                            if ('\u{40}'..='\u{7e}').contains(&p) {
                                last = p;
                                break;
                            }
                            params.push(p);
                        }
                        let private = params.starts_with('?');
                        let numbers: Vec<usize> = params
                            .trim_start_matches('?')
                            .split(';')
                            .map(|n| n.parse().unwrap_or(0))
                            .collect();
                        let n = |i: usize, default: usize| {
                            numbers
                                .get(i)
                                .copied()
                                .filter(|&v| v > 0)
                                .unwrap_or(default)
                        };
                        if private {
                            continue; // modes (cursor, alternate screen): none kept
                        }
                        match last {
                            'H' | 'f' => {
                                row = (n(0, 1) - 1).min(ROWS - 1);
                                col = (n(1, 1) - 1).min(COLS - 1);
                            }
                            'A' => row = row.saturating_sub(n(0, 1)),
                            'B' => row = (row + n(0, 1)).min(ROWS - 1),
                            'C' => col = (col + n(0, 1)).min(COLS - 1),
                            'D' => col = col.saturating_sub(n(0, 1)),
                            'G' => col = (n(0, 1) - 1).min(COLS - 1),
                            'J' => {
                                let all =
                                    numbers.first() == Some(&2) || numbers.first() == Some(&3);
                                for (r, line) in grid.iter_mut().enumerate() {
                                    for (k, cell) in line.iter_mut().enumerate() {
                                        if all || r > row || (r == row && k >= col) {
                                            *cell = ' ';
                                        }
                                    }
                                }
                            }
                            'K' => {
                                let from = if numbers.first() == Some(&2) { 0 } else { col };
                                for cell in &mut grid[row][from..] {
                                    *cell = ' ';
                                }
                            }
                            _ => {} // colours and other attributes
                        }
                    }
                    Some(']') => {
                        // OSC: up to BEL or ESC \.
                        while let Some(p) = chars.next() {
                            if p == '\u{7}' || (p == '\u{1b}' && chars.next_if_eq(&'\\').is_some())
                            {
                                break;
                            }
                        }
                    }
                    Some('(' | ')') => {
                        chars.next();
                    }
                    _ => {}
                },
                '\r' => col = 0,
                '\n' => {
                    if row == ROWS - 1 {
                        grid.remove(0);
                        grid.push(vec![' '; COLS]);
                    } else {
                        row += 1;
                    }
                }
                '\u{8}' => col = col.saturating_sub(1),
                c if c.is_control() => {}
                c => {
                    if col >= COLS {
                        col = 0;
                        if row == ROWS - 1 {
                            grid.remove(0);
                            grid.push(vec![' '; COLS]);
                        } else {
                            row += 1;
                        }
                    }
                    grid[row][col] = c;
                    col += 1;
                }
            }
        }
        Screen {
            rows: grid
                .into_iter()
                .map(|r| r.into_iter().collect::<String>().trim_end().to_string())
                .collect(),
        }
    }
}

fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_status(screen: &[String]) -> bool {
    screen[0].contains("↑↓ choose")
        && !screen
            .iter()
            .any(|r| r.contains("back to the watch screen"))
}

fn is_deadlock_view(screen: &[String]) -> bool {
    screen[0].contains("latest deadlock")
        && screen
            .last()
            .is_some_and(|r| r.contains("Esc, Backspace or d: back to the watch screen"))
}

/// The two-row table the screen tests lock.
fn ui_pair(ctx: &Ctx) {
    let mut admin = ctx.conn();
    ctx.exec(
        &mut admin,
        "CREATE TABLE IF NOT EXISTS ui_pair (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB",
    );
    ctx.exec(
        &mut admin,
        "INSERT IGNORE INTO ui_pair VALUES (1, 0), (2, 0)",
    );
}

/// Two sessions in a deadlock on `ui_pair`; the survivor's session is ended.
fn make_deadlock(ctx: &Ctx) {
    ui_pair(ctx);
    let (mut x, mut y) = (ctx.conn(), ctx.conn());
    let ids = [x.id(), y.id()];
    ctx.exec(&mut x, "BEGIN");
    ctx.exec(&mut x, "UPDATE ui_pair SET v = v + 1 WHERE id = 1");
    ctx.exec(&mut y, "BEGIN");
    ctx.exec(&mut y, "UPDATE ui_pair SET v = v + 1 WHERE id = 2");
    let px = ctx.spawn(x, &["UPDATE ui_pair SET v = v + 1 WHERE id = 2"]);
    ctx.wait_for_waiters(1);
    let py = ctx.spawn(y, &["UPDATE ui_pair SET v = v + 1 WHERE id = 1"]);
    assert_eq!(crate::deadlocks::deadlock_victims(ctx, vec![px, py]), 1);
    ctx.kill(&ids);
}

/// An idle transaction holding row 1 of `ui_pair` and one session waiting for it.
fn blocker_and_waiter(ctx: &Ctx) -> (mysql_async::Conn, Pending) {
    ui_pair(ctx);
    let mut blocker = ctx.conn();
    ctx.exec(&mut blocker, "BEGIN");
    ctx.exec(&mut blocker, "UPDATE ui_pair SET v = v + 1 WHERE id = 1");
    let waiter = ctx.spawn(ctx.conn(), &["UPDATE ui_pair SET v = v + 10 WHERE id = 1"]);
    ctx.wait_for_waiters(1);
    (blocker, waiter)
}

fn watch(ctx: &Ctx, state_home: &Path) -> Tty {
    let socket = ctx.server.socket();
    Tty::spawn(
        &[
            "--no-defaults",
            "-S",
            socket.to_str().unwrap(),
            "-u",
            "root",
            "watch",
            "--interval",
            "1s",
        ],
        &[("XDG_STATE_HOME", state_home.as_os_str())],
    )
}

/// `d` shows the latest deadlock whole — its table within the terminal's
/// 150 columns, its sentences wrapped, a footer saying how to go back — and
/// Esc, Backspace and `d` each come back to the watch screen with watch still
/// running; only `q` ends it (exit 0).
pub fn watch_deadlock_view_goes_back(ctx: &Ctx) {
    make_deadlock(ctx);
    let fix = ctx.lockdiag_json(&["deadlock"])["deadlocks"][0]["diagnosis"]["fix"]
        .as_str()
        .expect("the deadlock has a fix")
        .to_string();
    assert!(
        format!("Fix: {fix}").chars().count() > COLS,
        "a fix longer than a row tests the wrap: {fix}"
    );
    let mut tty = watch(ctx, &ctx.server.dir.join("ui-state"));
    tty.screen_until("the watch screen", is_status);
    for back in ["\u{1b}", "\u{7f}", "d"] {
        tty.press("d");
        let screen = tty.screen_until("the deadlock view", is_deadlock_view);
        let tops: Vec<&String> = screen.iter().filter(|r| r.starts_with('┌')).collect();
        let bottoms: Vec<&String> = screen.iter().filter(|r| r.starts_with('└')).collect();
        assert!(
            !tops.is_empty() && tops.len() == bottoms.len(),
            "{}",
            screen.join("\n")
        );
        for (top, bottom) in tops.iter().zip(&bottoms) {
            let width = top.chars().count();
            assert!(
                top.ends_with('┐') && bottom.ends_with('┘') && width <= COLS,
                "a table cut short or too wide:\n{}",
                screen.join("\n")
            );
            assert_eq!(width, bottom.chars().count(), "{}", screen.join("\n"));
        }
        assert!(
            words(&screen.join(" ")).contains(&words(&format!("Fix: {fix}"))),
            "the fix is cut:\n{}",
            screen.join("\n")
        );
        tty.press(back);
        tty.screen_until(&format!("back with {back:?}"), is_status);
    }
    tty.press("q");
    assert_eq!(tty.exit_code(), 0);
}

/// After `k`, once Enter is pressed, the watch screen comes back on a clean
/// page: nothing of the kill's prompt ("Press Enter …") is left on it.
pub fn watch_kill_leaves_no_prompt_behind(ctx: &Ctx) {
    let (blocker, waiter) = blocker_and_waiter(ctx);
    let id = blocker.id();
    let mut tty = watch(ctx, &ctx.server.dir.join("ui-state"));
    let root = format!("ROOT BLOCKER thread {id} ");
    tty.screen_until("the blocker on the watch screen", |s| {
        is_status(s) && s.iter().any(|r| r.starts_with(&root))
    });
    tty.press("k");
    tty.screen_until("the kill's question", |s| {
        s.iter().any(|r| r.contains("Kill 1 session? [y/N]"))
    });
    tty.press("y\r");
    tty.screen_until("the kill's answer", |s| {
        s.iter()
            .any(|r| r.contains("Press Enter to return to the watch screen"))
    });
    tty.press("\r");
    let screen = tty.screen_until("the watch screen again", |s| {
        is_status(s) && !s.iter().any(|r| r.starts_with(&root))
    });
    assert!(
        !screen.iter().any(|r| r.contains("Press Enter")
            || r.contains("Kill 1 session?")
            || r.contains(": killed")),
        "the kill's lines stay on the watch screen:\n{}",
        screen.join("\n")
    );
    tty.press("q");
    assert_eq!(tty.exit_code(), 0);
    ctx.kill(&[id, waiter.thread_id]);
}

/// Every way of not reaching the server: one sentence, each cause said once,
/// and what to check — never the password.
pub fn connect_errors_say_it_once_with_a_hint(ctx: &Ctx) {
    // The error line (a warning may come before it, e.g. about a password in the arguments).
    let said = |out: std::process::Output| {
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let errors: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("lockdiag: error:"))
            .collect();
        assert_eq!(errors.len(), 1, "one error line: {stderr}");
        let text = errors[0].to_string();
        let segments: Vec<&str> = text.split(": ").collect();
        assert!(
            segments.windows(2).all(|w| w[0] != w[1]) && !text.contains("Input/output error"),
            "a cause said twice: {text}"
        );
        text
    };
    let missing = ctx.server.dir.join("no-such.sock");
    let text = said(ctx.lockdiag_raw(&[
        "--no-defaults",
        "-S",
        missing.to_str().unwrap(),
        "-u",
        "root",
        "status",
    ]));
    assert!(
        text.contains("no such socket: is the server running, and is this its socket path? (mariadb: SELECT @@socket)")
            && text.contains(missing.to_str().unwrap()),
        "{text}"
    );
    let port = crate::server::free_port().unwrap().to_string();
    let text = said(ctx.lockdiag_tcp(&port, &["-u", "root", "status"]));
    assert!(
        text.contains(&format!(
            "is the server running and listening on 127.0.0.1:{port}?"
        )),
        "{text}"
    );
    let secret = "Not-The-Pw-2718";
    let text = said(ctx.lockdiag_tcp(
        &ctx.server.port.to_string(),
        &["-u", "diag", &format!("--password={secret}"), "ps"],
    ));
    assert!(
        text.contains("Access denied for user 'diag'")
            && text.contains("check the user name and password")
            && !text.contains(secret),
        "{text}"
    );
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port().to_string();
    let text = said(ctx.lockdiag_tcp(&port, &["--connect-timeout", "1s", "ps"]));
    assert!(
        text.contains("no answer within 1s (--connect-timeout)"),
        "{text}"
    );
}

/// `kill --dry-run` writes one complete audit record per target (phase and
/// outcome `dry_run`), never a "before" that no "after" follows.
pub fn kill_dry_run_audit_is_complete(ctx: &Ctx) {
    let (blocker, waiter) = blocker_and_waiter(ctx);
    let audit = ctx.server.dir.join("ui-dry-run.audit.log");
    let out = ctx.lockdiag(&[
        "kill",
        "--root-blockers",
        "--dry-run",
        "--audit-log",
        audit.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .inspect(|line| crate::schema_check::validate("audit-line", line))
        .collect();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert_eq!(lines[0]["phase"], "dry_run", "{lines:#?}");
    assert_eq!(lines[0]["outcome"], "dry_run");
    assert_eq!(lines[0]["dry_run"], true);
    assert_eq!(lines[0]["target"]["thread_id"], blocker.id());
    ctx.kill(&[blocker.id(), waiter.thread_id]);
}

/// `man --dir` writes an EXIT STATUS section into every page; the connection
/// options are listed in lockdiag.1's synopsis and no other.
pub fn man_pages_have_exit_status(ctx: &Ctx) {
    let dir = ctx.server.dir.join("ui-man");
    let out = ctx.lockdiag_raw(&["man", "--dir", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let mut pages = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let page = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        pages += 1;
        assert!(page.contains(".SH \"EXIT STATUS\""), "{name}");
        let synopsis = page
            .split(".SH SYNOPSIS")
            .nth(1)
            .and_then(|s| s.split(".SH").next())
            .unwrap();
        assert_eq!(
            synopsis.contains("socket"),
            name == "lockdiag.1",
            "{name}: {synopsis}"
        );
    }
    assert!(pages >= 14, "{pages} pages");
    let check = std::fs::read_to_string(dir.join("lockdiag-check.1")).unwrap();
    assert!(check.contains("At least one assertion failed"), "{check}");
}

/// The bash completion offers the formats after --format, not file names.
pub fn completion_offers_formats(ctx: &Ctx) {
    let out = ctx.lockdiag_raw(&["completions", "bash"]);
    assert_eq!(out.status.code(), Some(0));
    let script = String::from_utf8_lossy(&out.stdout);
    let mut cases = 0;
    let mut lines = script.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "--format)" {
            cases += 1;
            let reply = lines.next().unwrap();
            assert!(
                reply.contains("compgen -W")
                    && reply.contains("json")
                    && reply.contains("table")
                    && !reply.contains("compgen -f"),
                "{reply}"
            );
        }
    }
    assert!(cases > 10, "--format in {cases} commands");
}

/// Colour only where a terminal can show it: a pseudo-terminal gets it with
/// TERM=xterm, and gets none with TERM=dumb.
pub fn term_dumb_gets_no_colour(ctx: &Ctx) {
    let socket = ctx.server.socket();
    let output = |term: &str| {
        let args = [
            "--no-defaults",
            "-S",
            socket.to_str().unwrap(),
            "-u",
            "root",
            "ps",
        ];
        let mut tty = Tty::spawn(&args, &[("TERM", std::ffi::OsStr::new(term))]);
        // rexpect's text has one char per byte: enough to look for ESC and ASCII words.
        let out = tty.session.exp_eof().unwrap();
        assert!(out.contains("user@host"), "{out}");
        out
    };
    assert!(output("xterm").contains('\u{1b}'), "colour on a terminal");
    let dumb = output("dumb");
    assert!(!dumb.contains('\u{1b}'), "colour with TERM=dumb: {dumb:?}");
}
