//! Statement text helpers: one normaliser (for fingerprints), one shortener (for display),
//! and what an INSERT/REPLACE writes to (for how InnoDB checks its keys).

/// Replaces literals with `?`, lower-cases, folds white space and collapses
/// `IN (?, ?, …)` lists to `(?)` and multi-row `VALUES` lists, so statements that differ only
/// in their values compare equal.
pub fn normalize_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let chars: Vec<char> = sql.chars().collect();
    let mut i = 0;
    let mut last_space = true;
    while i < chars.len() {
        let ch = chars[i];
        if ch == '\'' || ch == '"' {
            // A quoted literal; doubled quotes and backslash escapes stay inside it.
            i += 1;
            while i < chars.len() {
                if chars[i] == '\\' {
                    i += 2;
                    continue;
                }
                if chars[i] == ch {
                    if chars.get(i + 1) == Some(&ch) {
                        i += 2;
                        continue;
                    }
                    break;
                }
                i += 1;
            }
            i += 1;
            out.push('?');
            last_space = false;
            continue;
        }
        let starts_word = i == 0
            || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_' || chars[i - 1] == '`');
        if ch.is_ascii_digit() && starts_word {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            out.push('?');
            last_space = false;
            continue;
        }
        if ch.is_whitespace() {
            if !last_space {
                out.push(' ');
                last_space = true;
            }
            i += 1;
            continue;
        }
        out.extend(ch.to_lowercase());
        last_space = false;
        i += 1;
    }
    collapse_lists(out.trim())
}

fn collapse_lists(sql: &str) -> String {
    let mut s = sql
        .replace("( ", "(")
        .replace(" )", ")")
        .replace(" ,", ",")
        .replace(", ", ",");
    // `(?,?,?)` → `(?)`; then repeated `(?),(?)` rows → one.
    while let Some(pos) = s.find("?,?") {
        let end = s[pos..]
            .find(|c| c != '?' && c != ',')
            .map_or(s.len(), |e| pos + e);
        s.replace_range(pos..end, "?");
    }
    while s.contains("(?),(?)") {
        s = s.replace("(?),(?)", "(?)");
    }
    s
}

/// One line of at most `max_chars` characters: white space folded, cut with `…`.
pub fn shorten_sql(sql: &str, max_chars: usize) -> String {
    let folded = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.chars().count() <= max_chars {
        return folded;
    }
    let mut cut: String = folded.chars().take(max_chars.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// An INSERT or REPLACE statement, as far as InnoDB's duplicate-key check cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsertStatement {
    /// `INSERT`, `REPLACE` or `INSERT … ON DUPLICATE KEY UPDATE`, for sentences.
    pub verb: &'static str,
    /// The table written to, unquoted and without its schema.
    pub table: String,
    /// REPLACE or ON DUPLICATE KEY UPDATE: the key check takes an exclusive lock, not a shared one.
    pub upsert: bool,
}

/// The INSERT/REPLACE a statement is (leading comments and `LOW_PRIORITY`, `IGNORE`,
/// `INTO` skipped); `None` for any other statement, or when its table cannot be read.
pub fn insert_statement(sql: &str) -> Option<InsertStatement> {
    let mut rest = sql.trim_start();
    loop {
        if let Some(after) = rest.strip_prefix("/*") {
            rest = after.split_once("*/")?.1.trim_start();
        } else if rest.starts_with('#') || rest.starts_with("-- ") {
            rest = rest.split_once('\n')?.1.trim_start();
        } else {
            break;
        }
    }
    let word = |text: &str| -> (String, usize) {
        let end = text
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(text.len());
        (text[..end].to_ascii_uppercase(), end)
    };
    let (verb, end) = word(rest);
    if verb != "INSERT" && verb != "REPLACE" {
        return None;
    }
    rest = rest[end..].trim_start();
    loop {
        let (modifier, end) = word(rest);
        match modifier.as_str() {
            "LOW_PRIORITY" | "DELAYED" | "HIGH_PRIORITY" | "IGNORE" => {
                rest = rest[end..].trim_start()
            }
            "INTO" => {
                rest = rest[end..].trim_start();
                break;
            }
            _ => break,
        }
    }
    let table = last_name_part(rest)?;
    let upsert = verb == "REPLACE" || normalize_sql(sql).contains(" on duplicate key update");
    Some(InsertStatement {
        verb: match (verb.as_str(), upsert) {
            ("REPLACE", _) => "REPLACE",
            (_, true) => "INSERT … ON DUPLICATE KEY UPDATE",
            _ => "INSERT",
        },
        table,
        upsert,
    })
}

/// The last part of a (possibly qualified, possibly back-quoted) name at the start of `text`.
fn last_name_part(text: &str) -> Option<String> {
    let mut rest = text;
    loop {
        let part = if let Some(quoted) = rest.strip_prefix('`') {
            // A doubled backquote is one backquote inside the name.
            let mut name = String::new();
            let mut chars = quoted.char_indices().peekable();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                if c == '`' {
                    if chars.peek().is_some_and(|(_, n)| *n == '`') {
                        chars.next();
                    } else {
                        end = Some(i + 1);
                        break;
                    }
                }
                name.push(c);
            }
            rest = &quoted[end?..];
            name
        } else {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
                .unwrap_or(rest.len());
            let name = rest[..end].to_string();
            rest = &rest[end..];
            name
        };
        if part.is_empty() {
            return None;
        }
        match rest.strip_prefix('.') {
            Some(after) => rest = after,
            None => return Some(part),
        }
    }
}

/// A fingerprint of `text`: FNV-1a 64, as 16 hex digits — stable across runs, builds
/// and versions of lockdiag (deadlock shapes, timed-out statements).
pub fn fingerprint_hex(text: &str) -> String {
    let hash = text.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    });
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_lists_are_removed() {
        assert_eq!(
            normalize_sql("UPDATE payments SET status='CANCELLED'\n  WHERE payment_id=2993"),
            "update payments set status=? where payment_id=?"
        );
        assert_eq!(
            normalize_sql("select * from t1 where id in (1, 2,3)"),
            normalize_sql("SELECT * FROM t1 WHERE id IN (7)")
        );
        assert_eq!(
            normalize_sql("insert into s(a,b) values (8,'pending',20),(9,'x',1)"),
            normalize_sql("insert into s(a,b) values (1,'it''s',2)")
        );
    }

    #[test]
    fn shorten_folds_and_cuts() {
        assert_eq!(
            shorten_sql("select  1\nfrom dual", 40),
            "select 1 from dual"
        );
        assert_eq!(shorten_sql("abcdefgh", 5), "abcd…");
    }

    #[test]
    fn insert_statements_and_their_tables() {
        let plain = insert_statement("INSERT INTO paid_events (order_id) VALUES (7)").unwrap();
        assert_eq!(
            (plain.verb, plain.table.as_str(), plain.upsert),
            ("INSERT", "paid_events", false)
        );
        let upsert = insert_statement(
            "/* app */ insert ignore into `shop`.`paid``events` values (7, 'on duplicate key update') on duplicate key update n = n + 1",
        )
        .unwrap();
        assert_eq!(
            (upsert.table.as_str(), upsert.upsert),
            ("paid`events", true)
        );
        // The words inside a literal are no clause.
        let literal = insert_statement("INSERT shop.t VALUES ('on duplicate key update')").unwrap();
        assert_eq!((literal.table.as_str(), literal.upsert), ("t", false));
        assert!(
            insert_statement("REPLACE INTO t VALUES (1)")
                .unwrap()
                .upsert
        );
        assert_eq!(insert_statement("UPDATE t SET a = 1"), None);
        assert_eq!(insert_statement("INSERT INTO"), None);
    }
}
