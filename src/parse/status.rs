//! Reads a `SHOW ENGINE INNODB STATUS` text: the raw Status column, the
//! `mysql … \G` form, the batch form with escaped newlines, or a pasted
//! LATEST DETECTED DEADLOCK section alone; any of them indented or quoted as pasted.

use std::borrow::Cow;

use crate::model::{InnodbStatus, PrintedTransaction};

use super::deadlock::parse_deadlock_lines;
use super::error_log::log_message;
use super::lines::{self, LineKind};
use super::paste::strip_paste_margin;

const DEADLOCK_SECTION: &str = "LATEST DETECTED DEADLOCK";
const TRANSACTIONS_SECTION: &str = "TRANSACTIONS";
const END_MARKER: &str = "END OF INNODB MONITOR OUTPUT";

/// Undoes the client's escaping: `mysql -B`/`-e` prints the Status column on
/// one line with `\n` for each newline.
pub fn unescape_client_output(text: &str) -> Cow<'_, str> {
    let has_real_sections = text
        .lines()
        .any(|l| l.trim_end() == DEADLOCK_SECTION || l.trim_end() == TRANSACTIONS_SECTION);
    if has_real_sections || !text.contains("\\n") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(ch) = chars.next() {
        if ch != '\\' {
            out.push(ch);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

fn is_rule(line: &str, ch: char) -> bool {
    let t = line.trim();
    t.len() >= 3 && t.chars().all(|c| c == ch)
}

/// A section title line: upper-case words between two rules of dashes.
fn section_title_at(lines: &[&str], i: usize) -> Option<String> {
    if !lines[i].starts_with("---") {
        return None;
    }
    let title = lines.get(i + 1)?.trim();
    let looks_like_title = !title.is_empty()
        && title
            .chars()
            .all(|c| c.is_ascii_uppercase() || " /-_".contains(c));
    (is_rule(lines[i], '-') && looks_like_title && is_rule(lines.get(i + 2)?, '-'))
        .then(|| title.to_string())
}

/// Parses a whole status text. A missing deadlock section is not an error:
/// the server has had no deadlock since it started.
pub fn parse_innodb_status(text: &str) -> InnodbStatus {
    let text = unescape_client_output(text);
    // Pasted with every line indented or quoted (`> `): the text under the margin.
    let text = strip_paste_margin(&text);
    let all: Vec<&str> = text
        .lines()
        .map(|l| l.strip_prefix("Status: ").unwrap_or(l))
        .collect();
    let mut status = InnodbStatus {
        truncated: !all.iter().any(|l| l.contains(END_MARKER)),
        ..InnodbStatus::default()
    };
    status.monitor_timestamp = all
        .iter()
        .find(|l| l.contains("INNODB MONITOR OUTPUT") && !l.contains(END_MARKER))
        .and_then(|l| lines::parse_timestamp(l));

    // (title, first body line, end of body)
    let mut sections: Vec<(String, usize, usize)> = Vec::new();
    let mut i = 0;
    while i < all.len() {
        if let Some(title) = section_title_at(&all, i) {
            if let Some(last) = sections.last_mut() {
                last.2 = i;
            }
            sections.push((title, i + 3, all.len()));
            i += 3;
            continue;
        }
        if all[i].starts_with("END OF INNODB") && all[i].contains(END_MARKER) {
            if let Some(last) = sections.last_mut() {
                last.2 = last.2.min(i);
            }
        }
        i += 1;
    }
    status.sections = sections.iter().map(|s| s.0.clone()).collect();

    for (title, start, end) in &sections {
        let body = &all[*start..*end];
        match title.as_str() {
            DEADLOCK_SECTION => {
                status.latest_deadlock = Some(parse_deadlock_lines(body.iter().copied()))
            }
            TRANSACTIONS_SECTION => {
                let ended_at_eof = *end == all.len() && status.truncated;
                let (transactions, cut) = parse_transaction_list(body);
                status.transactions = transactions;
                status.transactions_truncated = cut || ended_at_eof;
            }
            _ => {}
        }
    }

    // A pasted deadlock section without the monitor's headers.
    if status.latest_deadlock.is_none() && !status.sections.iter().any(|s| s == DEADLOCK_SECTION) {
        if let Some(first) = all.iter().position(|l| {
            // The header may keep an error-log prefix (a log pasted as a status).
            let message = log_message(l).unwrap_or(l);
            matches!(lines::classify(message), LineKind::TransactionHeader(_))
        }) {
            let start = (0..first)
                .rev()
                .take(2)
                .find(|&j| {
                    matches!(
                        lines::classify(all[j]),
                        LineKind::Timestamp(_) | LineKind::TooDeep(_)
                    )
                })
                .unwrap_or(first);
            let end = all[start..]
                .iter()
                .position(|l| l.contains(END_MARKER))
                .map_or(all.len(), |p| start + p);
            status.latest_deadlock = Some(parse_deadlock_lines(all[start..end].iter().copied()));
        }
    }
    status
}

/// Parses the `---TRANSACTION …` entries of the TRANSACTIONS section.
/// Returns the entries and whether the list says it was cut.
fn parse_transaction_list(body: &[&str]) -> (Vec<PrintedTransaction>, bool) {
    let mut list: Vec<PrintedTransaction> = Vec::new();
    let mut cut = false;
    let mut in_query = false;
    let mut next_lock_waited = false;
    for line in body {
        let trimmed = line.trim_end();
        if trimmed.contains("... truncated...") {
            cut = true;
            continue;
        }
        if trimmed.starts_with("---TRANSACTION ") {
            let mut trx = PrintedTransaction {
                number: u32::try_from(list.len()).map_or(u32::MAX, |n| n.saturating_add(1)),
                ..PrintedTransaction::default()
            };
            lines::apply_transaction_line(&mut trx, trimmed);
            list.push(trx);
            in_query = false;
            next_lock_waited = false;
            continue;
        }
        let Some(trx) = list.last_mut() else { continue };
        match lines::classify(trimmed) {
            LineKind::TablesInUse => lines::apply_tables_in_use(trx, trimmed),
            LineKind::LockStructs => lines::apply_lock_structs(trx, trimmed),
            LineKind::Thread => {
                lines::apply_thread_line(trx, trimmed);
                in_query = true;
            }
            LineKind::TrxHasBeenWaiting => {
                in_query = false;
                next_lock_waited = true;
            }
            LineKind::LockHeader => {
                in_query = false;
                match lines::parse_lock_header(trimmed) {
                    Some(lock) if next_lock_waited => {
                        trx.waits_for = Some(lock);
                        next_lock_waited = false;
                    }
                    Some(lock) => {
                        trx.holds_printed = true;
                        trx.holds.push(lock);
                    }
                    None => trx.unparsed_lines.push(trimmed.to_string()),
                }
            }
            LineKind::RecordHeader
            | LineKind::RecordFields
            | LineKind::KnownNoise
            | LineKind::Blank => in_query = false,
            _ if in_query => {
                let query = trx.query.get_or_insert_with(String::new);
                if !query.is_empty() {
                    query.push('\n');
                }
                query.push_str(trimmed);
            }
            _ => trx.unparsed_lines.push(trimmed.to_string()),
        }
    }
    (list, cut)
}
