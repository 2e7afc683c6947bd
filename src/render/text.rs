//! Text shared by the formats: hygiene (names come from the server and can hold
//! anything: quotes, newlines, `<`, `&`, escape sequences), and the labels the
//! graph formats (dot, mermaid, svg) all put on nodes and edges.

use crate::analyze::sql_text::shorten_sql;
use crate::model::{LockWait, PrintedTransaction};

/// A span of whole seconds as people read it: `41s`, `3m 20s`, `2days 4h` (humantime).
pub fn human_secs(secs: u64) -> String {
    humantime::format_duration(std::time::Duration::from_secs(secs)).to_string()
}

/// Control characters other than newline and tab become U+FFFD, so a hostile
/// name can neither drive the terminal nor break a line-based format.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        text.chars()
            .map(|c| {
                if c.is_control() && c != '\n' && c != '\t' {
                    '\u{FFFD}'
                } else {
                    c
                }
            })
            .collect::<String>()
            .into()
    } else {
        text.into()
    }
}

/// For colour output: SGR colour sequences (`ESC [ digits;… m`, what lockdiag
/// itself writes) are kept, every other control character is replaced. A
/// hostile name can at worst change a colour, never move the cursor or set a title.
pub fn printable_keeping_colour(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '\u{1b}' {
            let sgr_len = rest[1..].strip_prefix('[').and_then(|tail| {
                let params = tail
                    .bytes()
                    .take_while(|b| b.is_ascii_digit() || *b == b';')
                    .count();
                (tail.as_bytes().get(params) == Some(&b'm')).then_some(params + 3)
            });
            if let Some(len) = sgr_len {
                out.push_str(&rest[..len]);
                rest = &rest[len..];
                continue;
            }
        }
        out.push(if c.is_control() && c != '\n' && c != '\t' {
            '\u{FFFD}'
        } else {
            c
        });
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// A live wait as the graph formats label its edge: `row X,REC_NOT_GAP shop.payments`
/// (kind, mode, table; `?` for a part the server did not say).
pub fn wait_label(wait: &LockWait) -> String {
    format!(
        "{} {} {}.{}",
        wait.kind.as_str(),
        wait.lock_mode,
        wait.schema.as_deref().unwrap_or("?"),
        wait.table.as_deref().unwrap_or("?")
    )
}

/// A deadlock's transaction as the graph formats label its node, a line each:
/// `T1 · thread 5`, `user@host`, its statement cut to `sql_chars`, `(rolled back)`.
pub fn transaction_label_lines(t: &PrintedTransaction, sql_chars: usize) -> Vec<String> {
    let mut lines = vec![format!("T{}", t.number)];
    if let Some(id) = t.thread_id {
        lines[0].push_str(&format!(" · thread {id}"));
    }
    if let (Some(u), Some(h)) = (&t.user, &t.host) {
        lines.push(format!("{u}@{h}"));
    }
    if let Some(q) = &t.query {
        lines.push(shorten_sql(q, sql_chars));
    }
    if t.rolled_back {
        lines.push("(rolled back)".into());
    }
    lines
}

/// The error and its causes joined by `: `, each said once. An I/O error
/// wrapped twice reads "Input/output error: Input/output error: …" — within one
/// cause's text too (the driver formats its wrappers into a single string) — so a
/// cause ending with the next one's text, and a `: ` segment equal to the one
/// before it, are dropped.
pub fn error_chain(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let text = without_repeated_segments(&cause.to_string());
        if parts.last().is_some_and(|last| last.ends_with(&text)) {
            continue;
        }
        parts.push(text);
    }
    parts.join(": ")
}

/// `a: a: b` → `a: b`: a segment that repeats the one just before it says nothing new.
fn without_repeated_segments(text: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for segment in text.split(": ") {
        if kept.last() != Some(&segment) {
            kept.push(segment);
        }
    }
    kept.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_replaced_and_colour_kept_only_where_asked() {
        assert_eq!(
            printable("a\u{1b}]0;x\u{7}b\nc"),
            "a\u{FFFD}]0;x\u{FFFD}b\nc"
        );
        assert_eq!(
            printable_keeping_colour("\u{1b}[1;31mX\u{1b}[0m \u{1b}]0;t\u{7} \u{1b}[2J"),
            "\u{1b}[1;31mX\u{1b}[0m \u{FFFD}]0;t\u{FFFD} \u{FFFD}[2J"
        );
    }

    #[test]
    fn error_chain_says_each_cause_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory");
        let e = anyhow::Error::new(io)
            .context("Input/output error: Input/output error: No such file or directory")
            .context("cannot read the server's identity");
        assert_eq!(
            error_chain(&e),
            "cannot read the server's identity: Input/output error: No such file or directory"
        );
        let e = anyhow::anyhow!("cannot connect: a: b: b: c");
        assert_eq!(error_chain(&e), "cannot connect: a: b: c");
    }
}
