//! MySQL/MariaDB option files (`~/.my.cnf`), line by line as the client
//! library reads them — checked against `my_print_defaults` (tests/options.rs).
//! Reading files and following `!include` is `source::option_files`' job.

use thiserror::Error;

/// One meaningful line of an option file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionLine {
    /// `[name]`: trailing spaces trimmed, compared case-insensitively.
    Group(String),
    /// `key = value` (`None`: a bare `key`, a boolean option). The key as written.
    Option { key: String, value: Option<String> },
    /// `!include PATH`
    Include(String),
    /// `!includedir DIR`
    IncludeDir(String),
}

/// A line the client refuses ("Fatal error in defaults handling").
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OptionFileError {
    #[error("line {0}: an option before any [group]")]
    OptionWithoutGroup(usize),
    #[error("line {0}: a [group] without its closing ]")]
    WrongGroup(usize),
    #[error("line {0}: !include or !includedir without a path")]
    WrongInclude(usize),
}

/// An option file's lines in order (with 1-based line numbers), up to the
/// first line the client refuses, and that refusal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedOptionFile {
    pub lines: Vec<(usize, OptionLine)>,
    pub error: Option<OptionFileError>,
}

/// Reads an option file's lines. The client keeps the options before a bad
/// line; it gives up on a top-level file but only warns about an included one.
pub fn parse_option_file(text: &str) -> ParsedOptionFile {
    let mut lines = Vec::new();
    let error = parse_into(text, &mut lines).err();
    ParsedOptionFile { lines, error }
}

fn parse_into(text: &str, lines: &mut Vec<(usize, OptionLine)>) -> Result<(), OptionFileError> {
    let mut in_group = false;
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(directive) = line.strip_prefix('!') {
            let (word, rest) = directive
                .split_once(|c: char| c.is_ascii_whitespace())
                .unwrap_or((directive, ""));
            let path = rest.trim();
            let entry = match word {
                "include" => OptionLine::Include(path.to_string()),
                "includedir" => OptionLine::IncludeDir(path.to_string()),
                _ => continue, // the client ignores other directives
            };
            if path.is_empty() {
                return Err(OptionFileError::WrongInclude(number));
            }
            lines.push((number, entry));
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let Some(end) = rest.find(']') else {
                return Err(OptionFileError::WrongGroup(number));
            };
            // Trailing spaces are trimmed, leading ones are part of the name (`[ client]` is another group).
            lines.push((
                number,
                OptionLine::Group(rest[..end].trim_end().to_string()),
            ));
            in_group = true;
            continue;
        }
        if !in_group {
            return Err(OptionFileError::OptionWithoutGroup(number));
        }
        let line = &line[..comment_start(line)];
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k.trim(), Some(unquote(v.trim()))),
            None => (line.trim(), None),
        };
        if key.is_empty() {
            continue;
        }
        lines.push((
            number,
            OptionLine::Option {
                key: key.to_string(),
                value,
            },
        ));
    }
    Ok(())
}

/// Where an end-of-line comment starts: the first `#` outside quotes (a
/// backslash escapes the next character); the line's length when none.
fn comment_start(line: &str) -> usize {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match (c, quote) {
            ('\\', _) => escaped = true,
            ('#', None) => return i,
            ('"' | '\'', None) => quote = Some(c),
            (c, Some(q)) if c == q => quote = None,
            _ => {}
        }
    }
    line.len()
}

/// A value as the client stores it: surrounding quotes removed when the value
/// both starts and ends with the same one, then `\n \t \r \b \s \" \' \\`
/// unescaped (any other backslash stays as written).
fn unquote(value: &str) -> String {
    let value = value.trim_end();
    let inner = match value.as_bytes() {
        [q @ (b'"' | b'\''), .., last] if last == q && value.len() >= 2 => {
            &value[1..value.len() - 1]
        }
        _ => value,
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let replaced = match chars.peek() {
            Some('n') => '\n',
            Some('t') => '\t',
            Some('r') => '\r',
            Some('b') => '\u{8}',
            Some('s') => ' ',
            Some('"') => '"',
            Some('\'') => '\'',
            Some('\\') => '\\',
            _ => {
                out.push('\\');
                continue;
            }
        };
        chars.next();
        out.push(replaced);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_option_lines(text: &str) -> Result<Vec<(usize, OptionLine)>, OptionFileError> {
        let parsed = parse_option_file(text);
        match parsed.error {
            Some(e) => Err(e),
            None => Ok(parsed.lines),
        }
    }

    fn options(text: &str) -> Vec<(String, Option<String>)> {
        parse_option_lines(text)
            .unwrap()
            .into_iter()
            .filter_map(|(_, l)| match l {
                OptionLine::Option { key, value } => Some((key, value)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn values_as_the_client_reads_them() {
        let got = options(
            "[client]\nuser = a=b \npassword = \"p\\\"w d#x\"\nport = 3307 # c\nq=\"a#b\" #c\n\
             qq=\"a\"b\"\nsq=''\nraw=\"x\" trailing\nz=a\\qb\nesc=/x\\ty\\\\z\\s\nskip-ssl\nsemi=1;x\n",
        );
        let want: Vec<(String, Option<String>)> = [
            ("user", Some("a=b")),
            ("password", Some("p\"w d#x")),
            ("port", Some("3307")),
            ("q", Some("a#b")),
            ("qq", Some("a\"b")),
            ("sq", Some("")),
            ("raw", Some("\"x\" trailing")),
            ("z", Some("a\\qb")),
            ("esc", Some("/x\ty\\z ")),
            ("skip-ssl", None),
            ("semi", Some("1;x")),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn groups_directives_and_errors() {
        let lines =
            parse_option_lines("[client ]\n!include /a.cnf\n!bogus x\n[ client]\n!includedir /d\n")
                .unwrap();
        assert_eq!(
            lines.into_iter().map(|(_, l)| l).collect::<Vec<_>>(),
            vec![
                OptionLine::Group("client".into()),
                OptionLine::Include("/a.cnf".into()),
                OptionLine::Group(" client".into()),
                OptionLine::IncludeDir("/d".into()),
            ]
        );
        assert_eq!(
            parse_option_lines("user=x\n[client]\n"),
            Err(OptionFileError::OptionWithoutGroup(1))
        );
        assert_eq!(
            parse_option_lines("[client\n"),
            Err(OptionFileError::WrongGroup(1))
        );
        // The lines before a bad one are kept.
        assert_eq!(parse_option_file("[client]\nuser=u\n[x\n").lines.len(), 2);
        assert_eq!(
            parse_option_lines("[client]\n!include\n"),
            Err(OptionFileError::WrongInclude(2))
        );
    }
}
