//! Statement text helpers: one normaliser (for fingerprints) and one shortener (for display).

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
}
