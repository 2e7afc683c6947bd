//! MySQL option files (`~/.my.cnf`): `[section]`, `key=value`, `!include`.

use std::collections::BTreeMap;

/// One file's content: options of the wanted sections, and the `!include` paths.
#[derive(Debug, Default, PartialEq)]
pub struct OptionFile {
    pub options: BTreeMap<String, String>,
    pub includes: Vec<String>,
    pub include_dirs: Vec<String>,
}

/// Reads the options of `sections` (later ones win), the way the mysql client
/// does: `_` and `-` are the same in keys, values may be quoted, `#`/`;` comment.
pub fn parse_option_file(text: &str, sections: &[&str]) -> OptionFile {
    let mut file = OptionFile::default();
    let mut current: Option<String> = None;
    let mut by_section: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(path) = line.strip_prefix("!includedir") {
            file.include_dirs.push(path.trim().to_string());
            continue;
        }
        if let Some(path) = line.strip_prefix("!include") {
            file.includes.push(path.trim().to_string());
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            current = Some(line[1..line.len() - 1].trim().to_lowercase());
            continue;
        }
        let Some(section) = &current else { continue };
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k.trim(), unquote(v.trim())),
            None => (line, String::new()),
        };
        by_section
            .entry(section.clone())
            .or_default()
            .insert(key.replace('_', "-").to_lowercase(), value);
    }
    for section in sections {
        if let Some(options) = by_section.remove(*section) {
            file.options.extend(options);
        }
    }
    file
}

fn unquote(value: &str) -> String {
    let bytes = value.as_bytes();
    if bytes.len() >= 2
        && (bytes[0] == b'"' || bytes[0] == b'\'')
        && bytes[bytes.len() - 1] == bytes[0]
    {
        return value[1..value.len() - 1]
            .replace("\\\\", "\\")
            .replace("\\\"", "\"")
            .replace("\\'", "'");
    }
    // An unquoted value ends at an inline comment.
    value.split(" #").next().unwrap_or(value).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_section_with_quotes_and_comments() {
        let text = "[mysqld]\nport=1\n[client]\nuser = app\npassword=\"p#ss word\"\nsocket=/tmp/s.sock # local\nssl_mode=REQUIRED\n!include /etc/extra.cnf\n[lockdiag]\nuser=diag\n";
        let f = parse_option_file(text, &["client", "lockdiag"]);
        assert_eq!(f.options.get("user").map(String::as_str), Some("diag"));
        assert_eq!(
            f.options.get("password").map(String::as_str),
            Some("p#ss word")
        );
        assert_eq!(
            f.options.get("socket").map(String::as_str),
            Some("/tmp/s.sock")
        );
        assert_eq!(
            f.options.get("ssl-mode").map(String::as_str),
            Some("REQUIRED")
        );
        assert_eq!(f.options.get("port"), None);
        assert_eq!(f.includes, vec!["/etc/extra.cnf"]);
    }
}
