//! `lockdiag watch`: the status screen, full-screen, refreshed every
//! --interval, with what changed since the last refresh highlighted. Keys:
//! ↑/↓ choose a root blocker, `k` kill it through exactly the path of
//! `lockdiag kill` (description, y/N, re-check, audit), `d` the latest
//! deadlock, `p` pause, `q` quit. The screen is the table renderer's own text,
//! so it says what `status` says.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use mysql_async::Pool;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::DefaultTerminal;

use crate::analyze::views::{status_view, DeadlockOrigin, DeadlocksView};
use crate::analyze::{analyze_waits, DeadlockReport};
use crate::render::{render, Format, TableStyle, View};
use crate::source::collect::{collect_live, CollectOptions};
use crate::source::connect::ConnectionConfig;
use crate::source::detect::Capabilities;

use super::resolve::{KillJob, WatchJob};
use super::{Output, EXIT_OK};

/// What the screen shows besides the status.
struct Screen {
    lines: Vec<String>,
    /// Lines of the previous refresh: the others are new and highlighted.
    previous: HashSet<String>,
    roots: Vec<u64>,
    selected: usize,
    deadlock: Option<String>,
    show_deadlock: bool,
    paused: bool,
    refreshed: String,
    server: String,
}

async fn refresh(
    pool: &Pool,
    caps: &Capabilities,
    config: &ConnectionConfig,
    job: &WatchJob,
    width: u16,
    screen: &mut Screen,
) {
    let state = collect_live(
        pool,
        caps,
        CollectOptions {
            locks_limit: None,
            innodb_status: true,
            timeout: config.query_timeout,
        },
    )
    .await;
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

fn draw(terminal: &mut DefaultTerminal, screen: &Screen, job: &WatchJob) -> Result<()> {
    let selected = screen.roots.get(screen.selected).copied();
    let mut lines: Vec<Line> = vec![Line::from(Span::styled(
        format!(
            "lockdiag watch — {} — {} every {}{} — ↑↓ choose, k kill{}, d deadlock, p pause, q quit",
            screen.server,
            screen.refreshed,
            humantime::format_duration(job.interval),
            if screen.paused { " — PAUSED" } else { "" },
            selected
                .map(|id| format!(" thread {id}"))
                .unwrap_or_default()
        ),
        Style::default().add_modifier(Modifier::REVERSED),
    ))];
    if screen.show_deadlock {
        let text = screen
            .deadlock
            .clone()
            .unwrap_or_else(|| "No deadlock recorded since the server started.".into());
        lines.extend(text.lines().map(|l| Line::from(l.to_string())));
    } else {
        for line in &screen.lines {
            let chosen =
                selected.is_some_and(|id| line.starts_with(&format!("ROOT BLOCKER thread {id} ")));
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
    terminal
        .draw(|frame| frame.render_widget(Paragraph::new(lines), frame.area()))
        .context("cannot draw the screen")?;
    Ok(())
}

/// Leaves the full screen, runs `lockdiag kill THREAD` as the command would, waits for Enter.
async fn kill_from_screen(thread_id: u64, config: &ConnectionConfig) -> Result<()> {
    ratatui::restore();
    let job = KillJob {
        criteria: crate::analyze::kill::KillCriteria {
            thread_ids: vec![thread_id],
            ..Default::default()
        },
        expect_server: None,
        kill_query: false,
        yes: false,
        dry_run: false,
        audit_log: crate::act::audit::default_audit_path()
            .unwrap_or_else(|| std::path::PathBuf::from("lockdiag-audit.log")),
    };
    let out = Output {
        format: Format::Table,
        style: TableStyle::detect(false),
    };
    if let Err(e) = super::kill::run(&job, config, &out).await {
        super::output::note(&format!("error: {}", super::output::error_chain(&e)));
    }
    eprint!("Press Enter to return to the watch screen ");
    let mut answer = String::new();
    let _ = std::io::stdin().read_line(&mut answer);
    Ok(())
}

pub async fn run(job: &WatchJob, config: &ConnectionConfig) -> Result<i32> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        bail!("watch needs a terminal; to capture incidents unattended use `lockdiag record --out DIR/`");
    }
    let (pool, caps) = super::live::open(config).await?;
    let mut terminal = ratatui::init();
    let mut screen = Screen {
        lines: Vec::new(),
        previous: HashSet::new(),
        roots: Vec::new(),
        selected: 0,
        deadlock: None,
        show_deadlock: false,
        paused: false,
        refreshed: String::new(),
        server: String::new(),
    };
    let result: Result<()> = async {
        let mut next = Instant::now();
        loop {
            if !screen.paused && Instant::now() >= next {
                let width = terminal.size().map(|s| s.width).unwrap_or(120);
                refresh(&pool, &caps, config, job, width, &mut screen).await;
                next = Instant::now() + job.interval;
            }
            draw(&mut terminal, &screen, job)?;
            let wait = next
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(50));
            if !event::poll(wait).context("cannot read the keyboard")? {
                continue;
            }
            let Event::Key(key) = event::read().context("cannot read the keyboard")? else {
                continue;
            };
            if key.kind != KeyEventKind::Press {
                continue;
            }
            match key.code {
                KeyCode::Char('q') | KeyCode::Esc => return Ok(()),
                KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                    return Ok(())
                }
                KeyCode::Char('p') => screen.paused = !screen.paused,
                KeyCode::Char('d') => screen.show_deadlock = !screen.show_deadlock,
                KeyCode::Up => screen.selected = screen.selected.saturating_sub(1),
                KeyCode::Down => {
                    screen.selected =
                        (screen.selected + 1).min(screen.roots.len().saturating_sub(1))
                }
                KeyCode::Char('k') => {
                    if let Some(&id) = screen.roots.get(screen.selected) {
                        kill_from_screen(id, config).await?;
                        terminal = ratatui::init();
                        next = Instant::now();
                    }
                }
                _ => {}
            }
        }
    }
    .await;
    ratatui::restore();
    crate::source::connect::close(pool).await;
    result?;
    Ok(EXIT_OK)
}
