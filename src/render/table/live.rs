//! The live views for people: status screen, processlist, locks, waits tree.

use std::fmt::Write;

use comfy_table::Color;

use crate::analyze::sql_text::shorten_sql;
use crate::analyze::views::{LiveHeader, LocksView, PsView, StatusView};
use crate::analyze::waits::{BlockerNode, SessionState};
use crate::model::{qualified_name, LockStatus, ServerInfo, SourceName, SourceState, SourceStatus};
use crate::render::TableStyle;

use super::{headline, new_table, sql_width, styled};

/// `MariaDB 10.11.19 on db-1:3306 (server_id 1), up 3d 4h`.
pub fn server_line(s: &ServerInfo) -> String {
    let up = s
        .uptime_secs
        .map(|u| format!(", up {}", crate::render::text::human_secs(u)))
        .unwrap_or_default();
    let host = s.hostname.as_deref().unwrap_or("?");
    let port = s.port.map(|p| format!(":{p}")).unwrap_or_default();
    let sid = s
        .server_id
        .map(|i| format!(" (server_id {i})"))
        .unwrap_or_default();
    format!(
        "{} {} on {host}{port}{sid}{up}",
        s.flavour.display_name(),
        s.version
    )
}

/// `source: reason; …` of the sources the wait picture needs that were not read.
pub fn unread_reasons(sources: &[SourceStatus]) -> String {
    crate::model::unread_sources(sources, &crate::model::WAIT_SOURCES).join("; ")
}

/// One line per source that is not fully readable.
pub fn source_notes(sources: &[SourceStatus]) -> String {
    let mut out = String::new();
    // The statement history only adds to the tree: said under it, not before it.
    for s in sources
        .iter()
        .filter(|s| s.status != SourceState::Ok && s.source != SourceName::StatementHistory)
    {
        let _ = writeln!(
            out,
            "! {} {}: {}",
            s.source,
            if s.status == SourceState::Partial {
                "partial"
            } else {
                "unavailable"
            },
            s.reason.as_deref().unwrap_or("")
        );
    }
    out
}

fn state_text(node: &BlockerNode) -> String {
    match node.state {
        SessionState::IdleInTrx => format!("IDLE IN TRANSACTION {}s", node.idle_secs.unwrap_or(0)),
        SessionState::Idle => format!(
            "idle {}s (holds metadata locks)",
            node.idle_secs.unwrap_or(0)
        ),
        SessionState::Running => "running".into(),
        SessionState::Waiting => "waiting".into(),
        SessionState::Unknown => "not in processlist".into(),
        SessionState::NoSession => "NO SESSION: an XA transaction left PREPARED, or recovered after a crash — no KILL ends it; XA RECOVER, then XA COMMIT or XA ROLLBACK its xid".into(),
    }
}

/// A session state in a few words, for a table cell.
fn state_label(state: SessionState) -> &'static str {
    match state {
        SessionState::IdleInTrx => "IDLE IN TRANSACTION",
        SessionState::Idle => "idle",
        SessionState::Running => "running",
        SessionState::Waiting => "waiting",
        SessionState::Unknown => "not in processlist",
        SessionState::NoSession => "NO SESSION (XA PREPARED or recovered)",
    }
}

fn who(node: &BlockerNode) -> String {
    match (&node.user, &node.host) {
        (Some(u), Some(h)) => format!("{u}@{h}"),
        _ => "?".into(),
    }
}

/// The waits tree: each root blocker, then its waiters indented.
/// The first line of a view whose lock waits could not be read (empty when they were).
pub fn unknown_waits_line(sources: &[SourceStatus]) -> String {
    let reasons = unread_reasons(sources);
    if reasons.is_empty() {
        return String::new();
    }
    format!(
        "LOCK WAITS UNKNOWN: {reasons} — who blocks whom could not be read; nothing below means \"no waits\".\n"
    )
}

/// Waiters listed per session (and root blockers per group) unless `--all`.
const SHOWN: usize = 20;

pub fn waits_tree(
    analysis: Option<&crate::analyze::WaitAnalysis>,
    sources: &[SourceStatus],
    style: &TableStyle,
    all: bool,
) -> String {
    let shown = if all { usize::MAX } else { SHOWN };
    let mut out = String::new();
    let Some(analysis) = analysis.filter(|_| unread_reasons(sources).is_empty()) else {
        let _ = writeln!(out, "Lock waits: unknown (not read).");
        return out;
    };
    if analysis.root_blockers.is_empty() && analysis.cycles.is_empty() {
        let _ = writeln!(out, "No lock waits.");
        return out;
    }
    let width = sql_width(style, 45);
    // Roots that hold up only sessions already described under a bigger root (200 readers in
    // front of one ALTER) are one line together, not 200 copies of the same queue.
    let (repeats, roots): (Vec<&BlockerNode>, Vec<&BlockerNode>) = analysis
        .root_blockers
        .iter()
        .partition(|r| !r.waiters.is_empty() && r.waiters.iter().all(|w| w.expanded_elsewhere));
    let (repeats, roots) = if repeats.len() < 2 {
        (Vec::new(), analysis.root_blockers.iter().collect())
    } else {
        (repeats, roots)
    };
    for root in roots {
        let trx = root
            .trx_id
            .as_ref()
            .map(|t| {
                format!(
                    ", {} age {}s, {} rows locked, {} modified",
                    crate::analyze::kill::transaction_label(t),
                    root.trx_age_secs.unwrap_or(0),
                    root.rows_locked.unwrap_or(0),
                    root.rows_modified.unwrap_or(0)
                )
            })
            .unwrap_or_default();
        let whom = if root.state == SessionState::NoSession {
            format!("transaction {}", root.trx_id.as_deref().unwrap_or("?"))
        } else {
            format!("thread {} {}", root.thread_id, who(root))
        };
        let line = format!(
            "ROOT BLOCKER {whom} — {}{trx} — holds up {} session(s) ({} directly), longest wait {}s",
            state_text(root),
            root.blocked_sessions,
            root.blocked_directly,
            root.longest_wait_secs
        );
        let _ = writeln!(out, "{}", headline(style, &line));
        if let Some(q) = &root.query {
            let _ = writeln!(out, "  query: {}", shorten_sql(q, width));
        } else if root.state == SessionState::IdleInTrx {
            let _ = writeln!(out, "  (no statement running: the locks belong to its open transaction; COMMIT/ROLLBACK or KILL it)");
        }
        out.push_str(&history_lines(root, width));
        write_waiters(&mut out, root, 1, width, shown);
    }
    if !repeats.is_empty() {
        let oldest = repeats
            .iter()
            .max_by_key(|r| r.idle_secs.or(r.trx_age_secs).unwrap_or(0))
            .copied();
        let ids: Vec<String> = repeats
            .iter()
            .take(shown)
            .map(|r| r.thread_id.to_string())
            .collect();
        let more = repeats.len().saturating_sub(ids.len());
        let more = if more > 0 {
            format!(" … and {more} more (--all lists them)")
        } else {
            String::new()
        };
        let blocked: Vec<String> = repeats[0]
            .waiters
            .iter()
            .map(|w| w.thread_id.to_string())
            .collect();
        let line = format!(
            "ROOT BLOCKERS ({}) holding up the same session(s) {} shown above: threads {}{more}{}",
            repeats.len(),
            blocked.join(", "),
            ids.join(", "),
            oldest
                .map(|r| format!(" — oldest thread {} {}", r.thread_id, state_text(r)))
                .unwrap_or_default()
        );
        let _ = writeln!(out, "{}", headline(style, &line));
    }
    for cycle in &analysis.cycles {
        let ids: Vec<String> = cycle.iter().map(|i| i.to_string()).collect();
        let _ = writeln!(out, "{}", headline(style, &format!("CYCLE: threads {} wait for each other (no root: deadlock detection off or in progress)", ids.join(" → "))));
    }
    out.push_str(&history_note(sources));
    out
}

/// A node's waiters, at most `shown`, then a count of the rest.
fn write_waiters(out: &mut String, node: &BlockerNode, depth: usize, width: usize, shown: usize) {
    for child in node.waiters.iter().take(shown) {
        write_waiter(out, child, depth, width, shown);
    }
    let rest = node.waiters.len().saturating_sub(shown);
    if rest > 0 {
        let _ = writeln!(
            out,
            "{}└─ … and {rest} more waiting for thread {} (--all lists them)",
            "  ".repeat(depth),
            node.thread_id
        );
    }
}

/// Under the tree, why the root blockers' statements are missing (and what turns them on).
fn history_note(sources: &[SourceStatus]) -> String {
    sources
        .iter()
        .filter(|s| s.source == SourceName::StatementHistory && s.status != SourceState::Ok)
        .map(|s| {
            format!(
                "\nStatements of the root blockers: not read: {}\n",
                s.reason.as_deref().unwrap_or("")
            )
        })
        .collect()
}

/// What a root blocker ran in its transaction, oldest first: `ran 41s ago: SELECT …`,
/// then `idle since` for an idle one. Nothing when the history was not read.
fn history_lines(root: &BlockerNode, width: usize) -> String {
    let Some(history) = &root.statement_history else {
        return String::new();
    };
    let mut out = String::new();
    if history.is_empty() {
        out.push_str("  history: no statement of this transaction is kept\n");
        return out;
    }
    for (i, e) in history.iter().enumerate() {
        let when = e
            .started_secs_ago
            .map_or("?".to_string(), |s| format!("{s}s ago"));
        let label = if i == 0 { "  ran" } else { "     " };
        let rows = match (e.rows_affected, &e.error) {
            (_, Some(error)) => format!(" — {error}"),
            (Some(n), None) if n > 0 => format!(" ({n} row(s))"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "{label} {when}: {}{rows}",
            shorten_sql(&e.sql, width.saturating_sub(20))
        );
    }
    if root.state == SessionState::IdleInTrx {
        out.push_str("      then idle since, its transaction open\n");
    }
    out
}

fn write_waiter(out: &mut String, node: &BlockerNode, depth: usize, width: usize, shown: usize) {
    let indent = "  ".repeat(depth);
    let how = node
        .wait
        .as_ref()
        .map(|w| {
            let object = qualified_name(w.schema.as_deref(), w.table.as_deref());
            let index = w
                .index
                .as_ref()
                .map(|i| format!(" {i}"))
                .unwrap_or_default();
            let data = w
                .lock_data
                .as_ref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            format!(
                "{} {} on {object}{index}{data} for {}s",
                w.kind.as_str(),
                w.lock_mode,
                w.wait_secs
            )
        })
        .unwrap_or_default();
    let below = if node.expanded_elsewhere {
        " — also waits for another blocker, shown there".to_string()
    } else if node.blocked_sessions > 0 {
        format!(" — holds up {}", node.blocked_sessions)
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "{indent}└─ thread {} {} waits: {how}{below}",
        node.thread_id,
        who(node)
    );
    if let Some(q) = &node.query {
        let _ = writeln!(
            out,
            "{indent}   {}",
            shorten_sql(q, width.saturating_sub(depth * 2))
        );
    }
    if let (true, Some(w)) = (node.duplicate_key_check, &node.wait) {
        let holder = w.blocking_thread_id;
        let _ = writeln!(
            out,
            "{indent}   duplicate-key check: thread {holder} holds this key (most likely its own uncommitted write of it): if {holder} commits, this INSERT fails with 1062 (duplicate entry); if it rolls back, this INSERT proceeds"
        );
    }
    if let Some(secs) = node.fails_in_secs {
        let _ = writeln!(
            out,
            "{indent}   fails with 1205 (lock wait timeout exceeded) in {secs}s"
        );
    }
    write_waiters(out, node, depth + 1, width, shown);
}

/// The notes of sources that could not be fully read.
fn header_notes(header: &LiveHeader) -> String {
    source_notes(&header.sources)
}

pub fn status(doc: &StatusView, style: &TableStyle) -> String {
    let mut out = String::new();
    let c = &doc.counts;
    // First, before anything that could read as "all clear".
    out.push_str(&unknown_waits_line(&doc.header.sources));
    let _ = writeln!(out, "{}", server_line(&doc.header.server));
    let shown = |n: Option<u64>| n.map_or("?".to_string(), |n| n.to_string());
    let _ = writeln!(
        out,
        "{} sessions, {} open transactions, {} waiting, {} root blocker(s)",
        shown(c.sessions),
        shown(c.open_transactions),
        shown(c.waiting_sessions),
        shown(c.root_blockers)
    );
    out.push_str(&header_notes(&doc.header));
    out.push('\n');
    out.push_str(&waits_tree(
        doc.analysis.as_ref(),
        &doc.header.sources,
        style,
        doc.all,
    ));
    let mdl_waiting = doc
        .sessions_waiting_for_metadata_lock
        .as_deref()
        .unwrap_or_default();
    // Holders unknown: the metadata locks were not read (or showed no wait for these sessions).
    let mdl_waits_listed = doc
        .metadata_lock_waits
        .as_ref()
        .is_some_and(|w| !w.is_empty());
    if !mdl_waits_listed && !mdl_waiting.is_empty() {
        let ids: Vec<String> = mdl_waiting.iter().map(|i| i.to_string()).collect();
        let _ = writeln!(
            out,
            "\nSessions waiting for a metadata lock (holders not visible): {}",
            ids.join(", ")
        );
    }
    let long_transactions = doc.long_transactions.as_deref().unwrap_or_default();
    if !long_transactions.is_empty() {
        let _ = writeln!(
            out,
            "\nTransactions open longer than {}s:",
            doc.long_trx_threshold_secs
        );
        let mut table = new_table(
            style,
            &[
                "thread",
                "user@host",
                "trx",
                "age",
                "state",
                "rows locked",
                "rows modified",
                "query",
            ],
        );
        for long in long_transactions {
            let t = &long.transaction;
            let account = match (&long.user, &long.host) {
                (Some(user), Some(host)) => format!("{user}@{host}"),
                _ => "?".to_string(),
            };
            // An idle session's INNODB_TRX row keeps the last statement (or none): say it is idle.
            let query = match long.state_class {
                SessionState::IdleInTrx => "(idle: no statement running)".to_string(),
                _ => shorten_sql(t.query.as_deref().unwrap_or(""), sql_width(style, 40)),
            };
            table.add_row(vec![
                styled(style, &t.thread_id.to_string(), None, false),
                styled(style, &account, None, false),
                styled(style, &t.trx_id, None, false),
                styled(
                    style,
                    &format!("{}s", t.age_secs),
                    Some(Color::Yellow),
                    false,
                ),
                styled(style, state_label(long.state_class), None, false),
                styled(style, &t.rows_locked.to_string(), None, false),
                styled(style, &t.rows_modified.to_string(), None, false),
                styled(style, &query, None, false),
            ]);
        }
        let _ = writeln!(out, "{table}");
    }
    match &doc.latest_deadlock {
        Some(d) => {
            let _ = writeln!(
                out,
                "\nLatest deadlock: {} ({}) — `lockdiag deadlock` for details",
                d.timestamp.as_deref().unwrap_or("?"),
                d.diagnosis.as_str()
            );
        }
        None => {
            let _ = writeln!(out, "\nNo deadlock recorded since the server started.");
        }
    }
    out
}

pub fn ps(doc: &PsView, style: &TableStyle) -> String {
    let mut out = header_notes(&doc.header);
    let mut table = new_table(
        style,
        &[
            "id",
            "user@host",
            "db",
            "command",
            "time",
            "state",
            "trx",
            "info",
        ],
    );
    let sessions = doc.sessions.as_deref().unwrap_or_default();
    for view in sessions {
        let s = &view.session;
        let idle_trx = view.state_class == SessionState::IdleInTrx;
        let command = if idle_trx {
            format!("{} (idle in trx)", s.command)
        } else {
            s.command.to_string()
        };
        table.add_row(vec![
            styled(style, &s.thread_id.to_string(), None, false),
            styled(style, &format!("{}@{}", s.user, s.host), None, false),
            styled(style, s.db.as_deref().unwrap_or(""), None, false),
            styled(style, &command, idle_trx.then_some(Color::Yellow), idle_trx),
            styled(style, &format!("{}s", s.time_secs), None, false),
            styled(style, s.state.as_deref().unwrap_or(""), None, false),
            styled(
                style,
                &view
                    .trx_age_secs
                    .map(|a| format!("{a}s"))
                    .unwrap_or_default(),
                None,
                false,
            ),
            styled(
                style,
                &shorten_sql(s.info.as_deref().unwrap_or(""), sql_width(style, 40)),
                None,
                false,
            ),
        ]);
    }
    let _ = writeln!(out, "{table}");
    match &doc.sessions {
        Some(sessions) => {
            let _ = writeln!(out, "{} session(s)", sessions.len());
        }
        None => out.push_str("Sessions: unknown (the processlist could not be read).\n"),
    }
    out
}

pub fn locks(doc: &LocksView, style: &TableStyle) -> String {
    let mut out = header_notes(&doc.header);
    let mut table = new_table(
        style,
        &[
            "thread", "trx", "table", "index", "type", "mode", "status", "count",
        ],
    );
    for l in doc.locks.as_deref().unwrap_or_default() {
        let waiting = l.lock_status == LockStatus::Waiting;
        let object = if l.table.is_some() {
            qualified_name(l.schema.as_deref(), l.table.as_deref())
        } else {
            String::new()
        };
        table.add_row(vec![
            styled(
                style,
                &l.thread_id.map(|t| t.to_string()).unwrap_or_default(),
                None,
                false,
            ),
            styled(style, &l.trx_id, None, false),
            styled(style, &object, None, false),
            styled(style, l.index.as_deref().unwrap_or(""), None, false),
            styled(style, &l.lock_type, None, false),
            styled(style, &l.lock_mode, None, false),
            styled(
                style,
                l.lock_status.as_str(),
                waiting.then_some(Color::Yellow),
                waiting,
            ),
            styled(style, &l.count.to_string(), None, false),
        ]);
    }
    let _ = writeln!(out, "{table}");
    if doc.locks_omitted > 0 {
        let _ = writeln!(
            out,
            "{} more lock(s) not listed (raise --limit)",
            doc.locks_omitted
        );
    }
    let transactions = doc.transactions.as_deref().unwrap_or_default();
    if !transactions.is_empty() {
        let mut trx = new_table(
            style,
            &[
                "thread",
                "trx",
                "state",
                "age",
                "rows locked",
                "rows modified",
                "tables locked",
            ],
        );
        for t in transactions {
            trx.add_row(vec![
                styled(style, &t.thread_id.to_string(), None, false),
                styled(style, &t.trx_id, None, false),
                styled(style, t.state.as_str(), None, false),
                styled(style, &format!("{}s", t.age_secs), None, false),
                styled(style, &t.rows_locked.to_string(), None, false),
                styled(style, &t.rows_modified.to_string(), None, false),
                styled(style, &t.tables_locked.to_string(), None, false),
            ]);
        }
        let _ = writeln!(out, "Transactions:\n{trx}");
    }
    out
}
