//! `lockdiag watch`: the status screen, full-screen, refreshed every
//! --interval, with what changed since the last refresh highlighted. Keys:
//! ↑/↓ choose a root blocker, `k` kill it through exactly the path of
//! `lockdiag kill` (description, y/N, re-check, audit), `d` the latest
//! deadlock (Esc, Backspace or `d` come back; ↑/↓ scroll), `p` pause, `q`
//! quit. The screen is the table renderer's own text, so it says what
//! `status` says.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::DefaultTerminal;

use crate::analyze::views::{status_view, DeadlockOrigin, DeadlocksView};
use crate::analyze::{analyze_waits, DeadlockReport};
use crate::render::{render, Format, TableStyle, View};
use crate::source::server::Server;

use super::resolve::{KillJob, KillRequest, WatchJob};
use super::{Output, EXIT_OK};

/// Which of the two screens is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Page {
    /// The status, with a root blocker to choose and kill.
    Status,
    /// The latest deadlock, scrolled down by `scroll` rows.
    Deadlock { scroll: usize },
}

/// What a key asks of the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Stay,
    Quit,
    Kill(u64),
}

/// What the screen shows besides the status.
struct Screen {
    lines: Vec<String>,
    /// Lines of the previous refresh: the others are new and highlighted.
    previous: HashSet<String>,
    roots: Vec<u64>,
    selected: usize,
    deadlock: Option<String>,
    page: Page,
    /// Rows of text the last drawing had room for (PgUp/PgDn move by this much).
    body_rows: usize,
    paused: bool,
    refreshed: String,
    server: String,
}

impl Screen {
    fn new() -> Self {
        Screen {
            lines: Vec::new(),
            previous: HashSet::new(),
            roots: Vec::new(),
            selected: 0,
            deadlock: None,
            page: Page::Status,
            body_rows: 20,
            paused: false,
            refreshed: String::new(),
            server: String::new(),
        }
    }
}

/// One key: `q` and Ctrl-C quit from anywhere; in the deadlock view Esc,
/// Backspace and `d` go back to the status (never quit: Esc is how people
/// leave a sub-view) and ↑/↓/PgUp/PgDn scroll; on the status ↑/↓ choose and
/// `k` kills (never from the deadlock view, where the choice is not shown).
fn on_key(screen: &mut Screen, key: KeyEvent) -> Action {
    if key.kind != KeyEventKind::Press {
        return Action::Stay;
    }
    let ctrl_c = key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl_c || key.code == KeyCode::Char('q') {
        return Action::Quit;
    }
    if key.code == KeyCode::Char('p') {
        screen.paused = !screen.paused;
        return Action::Stay;
    }
    let page_rows = screen.body_rows.max(1);
    match &mut screen.page {
        Page::Deadlock { scroll } => match key.code {
            KeyCode::Esc | KeyCode::Backspace | KeyCode::Char('d') => screen.page = Page::Status,
            KeyCode::Up => *scroll = scroll.saturating_sub(1),
            KeyCode::Down => *scroll += 1,
            KeyCode::PageUp => *scroll = scroll.saturating_sub(page_rows),
            KeyCode::PageDown | KeyCode::Char(' ') => *scroll += page_rows,
            KeyCode::Home => *scroll = 0,
            _ => {}
        },
        Page::Status => match key.code {
            KeyCode::Char('d') => screen.page = Page::Deadlock { scroll: 0 },
            KeyCode::Up => screen.selected = screen.selected.saturating_sub(1),
            KeyCode::Down => {
                screen.selected = (screen.selected + 1).min(screen.roots.len().saturating_sub(1))
            }
            KeyCode::Char('k') => {
                if let Some(&id) = screen.roots.get(screen.selected) {
                    return Action::Kill(id);
                }
            }
            _ => {}
        },
    }
    Action::Stay
}

/// Columns a character takes on a terminal (box-drawing characters: one
/// column, three bytes; CJK: two columns).
fn columns(c: char) -> usize {
    let mut buf = [0u8; 4];
    Span::raw(&*c.encode_utf8(&mut buf)).width()
}

/// `text` in rows of at most `width` terminal columns — measured in display
/// width, never in bytes — broken after the last space that fits, or inside a
/// word longer than a row.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut rows = Vec::new();
    let mut row = String::new();
    let mut row_width = 0;
    for c in text.chars() {
        let w = columns(c);
        if row_width + w > width && !row.is_empty() {
            // Break after the row's last space, unless that leaves nothing on the row.
            let cut = row
                .rfind(' ')
                .map(|i| i + 1)
                .filter(|&i| row[..i].trim() != "");
            let rest = match cut {
                Some(i) => row.split_off(i),
                None => String::new(),
            };
            rows.push(row.trim_end().to_string());
            row_width = rest.chars().map(columns).sum();
            row = rest;
        }
        row.push(c);
        row_width += w;
    }
    rows.push(row);
    rows
}

async fn refresh(server: &Server, job: &WatchJob, width: u16, screen: &mut Screen) {
    let state = server.collect(None, true).await;
    let analysis = analyze_waits(&state);
    screen.roots = analysis.root_blockers.iter().map(|r| r.thread_id).collect();
    screen.selected = screen.selected.min(screen.roots.len().saturating_sub(1));
    let latest = DeadlockReport::latest_of_state(&state);
    let style = TableStyle {
        color: false,
        width: Some(width),
    };
    screen.deadlock = latest.as_ref().and_then(|report| {
        let view = View::Deadlocks(DeadlocksView::new(
            DeadlockOrigin::Status,
            "server".into(),
            vec![report.clone()],
            1,
            None,
        ));
        render(&view, Format::Table, &style).ok()
    });
    let view = View::Status(status_view(&state, analysis, latest.as_ref(), job.long_trx));
    let text = render(&view, Format::Table, &style).unwrap_or_default();
    screen.previous = screen.lines.drain(..).collect();
    screen.lines = text.lines().map(str::to_string).collect();
    screen.refreshed = chrono::Local::now().format("%H:%M:%S").to_string();
    screen.server = format!(
        "{}:{}",
        state.server.hostname.as_deref().unwrap_or("?"),
        state.server.port.unwrap_or(0)
    );
}

fn draw(terminal: &mut DefaultTerminal, screen: &mut Screen, job: &WatchJob) -> Result<()> {
    let selected = screen.roots.get(screen.selected).copied();
    let paused = if screen.paused { " — PAUSED" } else { "" };
    let header = match screen.page {
        Page::Status => format!(
            "lockdiag watch — {} — {} every {}{paused} — ↑↓ choose, k kill{}, d deadlock, p pause, q quit",
            screen.server,
            screen.refreshed,
            humantime::format_duration(job.interval),
            selected
                .map(|id| format!(" thread {id}"))
                .unwrap_or_default()
        ),
        Page::Deadlock { .. } => format!(
            "lockdiag watch — {} — {} — latest deadlock{paused}",
            screen.server, screen.refreshed
        ),
    };
    let reversed = Style::default().add_modifier(Modifier::REVERSED);
    let area = terminal.size().context("cannot read the terminal size")?;
    let width = usize::from(area.width);
    let mut lines: Vec<Line> = vec![Line::from(Span::styled(header, reversed))];
    let mut footer = None;
    match &mut screen.page {
        Page::Deadlock { scroll } => {
            let text = screen
                .deadlock
                .clone()
                .unwrap_or_else(|| "No deadlock recorded since the server started.".into());
            // Long sentences (the diagnosis, the fix) wrap rather than lose their end;
            // the table was made for this width and fits.
            let rows: Vec<String> = text.lines().flat_map(|l| wrap(l, width)).collect();
            // Header and footer take a row each.
            let body = usize::from(area.height).saturating_sub(2).max(1);
            screen.body_rows = body;
            *scroll = (*scroll).min(rows.len().saturating_sub(body));
            let shown = rows.iter().skip(*scroll).take(body);
            lines.extend(shown.map(|r| Line::from(r.clone())));
            let position = if rows.len() > body {
                format!(
                    " — rows {}–{} of {}, ↑↓ PgUp PgDn scroll",
                    *scroll + 1,
                    (*scroll + body).min(rows.len()),
                    rows.len()
                )
            } else {
                String::new()
            };
            footer = Some(format!(
                "Esc, Backspace or d: back to the watch screen{position} — q quit"
            ));
        }
        Page::Status => {
            for line in &screen.lines {
                let chosen = selected
                    .is_some_and(|id| line.starts_with(&format!("ROOT BLOCKER thread {id} ")));
                let mut style = Style::default();
                if !screen.previous.is_empty() && !screen.previous.contains(line) {
                    style = style.add_modifier(Modifier::BOLD);
                }
                if chosen {
                    style = style.add_modifier(Modifier::REVERSED);
                }
                lines.push(Line::from(Span::styled(line.clone(), style)));
            }
        }
    }
    terminal
        .draw(|frame| {
            let [body, bottom] =
                Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(frame.area());
            match &footer {
                Some(footer) => {
                    frame.render_widget(Paragraph::new(lines), body);
                    frame.render_widget(
                        Paragraph::new(Line::from(Span::styled(footer.as_str(), reversed))),
                        bottom,
                    );
                }
                None => frame.render_widget(Paragraph::new(lines), frame.area()),
            }
        })
        .context("cannot draw the screen")?;
    Ok(())
}

/// Enters the full screen on a blank page: a terminal without an alternate
/// screen (GNU screen by default, the Linux console) would otherwise keep
/// whatever was there — the shell, or the kill's "Press Enter" prompt —
/// wherever the watch screen has blanks.
fn full_screen() -> Result<DefaultTerminal> {
    let mut terminal = ratatui::init();
    terminal.clear().context("cannot clear the screen")?;
    Ok(terminal)
}

/// Leaves the full screen, runs `lockdiag kill THREAD` as the command would, waits for Enter.
async fn kill_from_screen(thread_id: u64, server: &Server) -> Result<()> {
    ratatui::restore();
    // Where `kill` would audit; with nowhere to write, nothing is killed (as `kill` says).
    let audit_log = match crate::act::audit::audit_path(None) {
        Ok(path) => path,
        Err(e) => {
            super::output::note(&format!(
                "error: {}; nothing was killed",
                super::output::error_chain(&e)
            ));
            return wait_for_enter();
        }
    };
    let job = KillJob {
        request: KillRequest {
            criteria: crate::analyze::kill::KillCriteria {
                thread_ids: vec![thread_id],
                ..Default::default()
            },
            expect_server: None,
            kill_query: false,
            dry_run: false,
            audit_log,
        },
        yes: false,
    };
    let out = Output {
        format: Format::Table,
        style: TableStyle::detect(false),
    };
    if let Err(e) = super::kill::run(&job, server, &out).await {
        super::output::note(&format!("error: {}", super::output::error_chain(&e)));
    }
    wait_for_enter()
}

fn wait_for_enter() -> Result<()> {
    eprint!("Press Enter to return to the watch screen ");
    let mut answer = String::new();
    let _ = std::io::stdin().read_line(&mut answer);
    Ok(())
}

pub async fn run(job: &WatchJob, server: &Server) -> Result<i32> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        bail!("watch needs a terminal; to capture incidents unattended use `lockdiag record --out DIR/`");
    }
    let mut screen = Screen::new();
    let result: Result<()> = async {
        let mut terminal = full_screen()?;
        let mut next = Instant::now();
        loop {
            if !screen.paused && Instant::now() >= next {
                let width = terminal.size().map(|s| s.width).unwrap_or(120);
                refresh(server, job, width, &mut screen).await;
                next = Instant::now() + job.interval;
            }
            draw(&mut terminal, &mut screen, job)?;
            let wait = next
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(50));
            if !event::poll(wait).context("cannot read the keyboard")? {
                continue;
            }
            let Event::Key(key) = event::read().context("cannot read the keyboard")? else {
                continue;
            };
            match on_key(&mut screen, key) {
                Action::Stay => {}
                Action::Quit => return Ok(()),
                Action::Kill(id) => {
                    kill_from_screen(id, server).await?;
                    terminal = full_screen()?;
                    next = Instant::now();
                }
            }
        }
    }
    .await;
    ratatui::restore();
    result?;
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(screen: &mut Screen, code: KeyCode) -> Action {
        on_key(screen, KeyEvent::new(code, KeyModifiers::NONE))
    }

    #[test]
    fn esc_backspace_and_d_leave_the_deadlock_view_and_only_q_quits() {
        let mut screen = Screen::new();
        screen.roots = vec![18];
        for back in [KeyCode::Esc, KeyCode::Backspace, KeyCode::Char('d')] {
            assert_eq!(press(&mut screen, KeyCode::Char('d')), Action::Stay);
            assert_eq!(screen.page, Page::Deadlock { scroll: 0 });
            // No kill from a view that does not show the chosen blocker.
            assert_eq!(press(&mut screen, KeyCode::Char('k')), Action::Stay);
            assert_eq!(press(&mut screen, back), Action::Stay, "{back:?}");
            assert_eq!(screen.page, Page::Status, "{back:?}");
        }
        assert_eq!(press(&mut screen, KeyCode::Esc), Action::Stay);
        assert_eq!(press(&mut screen, KeyCode::Char('k')), Action::Kill(18));
        press(&mut screen, KeyCode::Char('d'));
        assert_eq!(press(&mut screen, KeyCode::Char('q')), Action::Quit);
    }

    #[test]
    fn wrap_counts_columns_not_bytes() {
        let border = format!("┌{}┐", "─".repeat(148));
        assert_eq!(wrap(&border, 150), vec![border.clone()]);
        let rows = wrap("Fix: lock the rows of shop.pair in one order", 20);
        assert_eq!(rows, ["Fix: lock the rows", "of shop.pair in one", "order"]);
        assert_eq!(wrap("abcdef", 4), ["abcd", "ef"]);
        assert_eq!(wrap("", 4), [""]);
        // A CJK character takes two columns.
        assert_eq!(wrap("表表表", 4), ["表表", "表"]);
    }
}
