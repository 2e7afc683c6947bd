//! What a paste puts before every line of a print: a common indentation (a code
//! block, a list item, notes) or a quote prefix (`> ` in markdown and e-mail),
//! found once for the whole text and taken off before anything else reads it.

use std::borrow::Cow;

fn is_margin(ch: char) -> bool {
    matches!(ch, ' ' | '\t' | '>')
}

/// The margin (spaces, tabs and `>`) that every non-blank line of `text` starts with.
/// A line of margin characters alone (`>` for a quoted empty line) counts as blank.
pub fn common_margin(text: &str) -> &str {
    let mut margin: Option<&str> = None;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        let own = line.len() - line.trim_start_matches(is_margin).len();
        if own == line.len() {
            continue;
        }
        let shared = match margin {
            None => own,
            Some(m) => m
                .bytes()
                .zip(line.bytes())
                .take_while(|(a, b)| a == b)
                .count()
                .min(own),
        };
        if shared == 0 {
            // The usual case, a text as the server printed it: decided at its first line.
            return "";
        }
        margin = Some(&line[..shared]);
    }
    margin.unwrap_or("")
}

/// `text` with its common margin taken off every line (see [`common_margin`]);
/// borrowed when there is none.
pub fn strip_paste_margin(text: &str) -> Cow<'_, str> {
    let margin = common_margin(text);
    if margin.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        // A line without the margin is blank or margin alone.
        let rest = line
            .strip_prefix(margin)
            .unwrap_or_else(|| line.trim_start_matches(is_margin));
        out.push_str(rest);
        out.push('\n');
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margins_of_pastes() {
        assert_eq!(common_margin("\tA\n\t 0: len\n\n\tB"), "\t");
        assert_eq!(common_margin("> A\n>\n>  0: len\n> B"), "> ");
        assert_eq!(common_margin("> > A\n> > B"), "> > ");
        assert_eq!(common_margin("A\n B"), "");
        assert_eq!(common_margin(" 0: len\nA"), "");
        assert_eq!(common_margin(""), "");
        assert_eq!(
            strip_paste_margin("> A\r\n>\n>  0: len é\n"),
            "A\n\n 0: len é\n"
        );
        assert!(matches!(strip_paste_margin("A\n B"), Cow::Borrowed(_)));
    }
}
