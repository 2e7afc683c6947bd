//! The `--where` filter of `dupes`: a deliberately small, safe form.
//!
//! `column OP value [AND column OP value …]`, OP one of `= != <> < <= > >=`,
//! value a number or a single-quoted string (`''` for a quote); or
//! `column IS [NOT] NULL`. Column names are checked against the table and
//! quoted; values become bound parameters. Nothing else is accepted.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq)]
pub enum FilterValue {
    Number(String),
    Text(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub column: String,
    /// `=`, `<>`, `<`, `<=`, `>`, `>=`, `IS NULL`, `IS NOT NULL`.
    pub op: &'static str,
    pub value: Option<FilterValue>,
}

#[derive(Debug, Error, PartialEq)]
#[error("--where accepts only `column OP value [AND …]` (OP: = != <> < <= > >=; value: a number or 'text') or `column IS [NOT] NULL`: {0}")]
pub struct FilterError(pub String);

fn take_ident(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start();
    if let Some(rest) = s.strip_prefix('`') {
        let end = rest.find('`')?;
        return Some((&rest[..end], &rest[end + 1..]));
    }
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
        .unwrap_or(s.len());
    (end > 0).then(|| (&s[..end], &s[end..]))
}

fn take_op(s: &str) -> Option<(&'static str, &str)> {
    let s = s.trim_start();
    for (text, op) in [
        ("<=", "<="),
        (">=", ">="),
        ("<>", "<>"),
        ("!=", "<>"),
        ("=", "="),
        ("<", "<"),
        (">", ">"),
    ] {
        if let Some(rest) = s.strip_prefix(text) {
            return Some((op, rest));
        }
    }
    None
}

fn take_value(s: &str) -> Option<(FilterValue, &str)> {
    let s = s.trim_start();
    if let Some(mut rest) = s.strip_prefix('\'') {
        let mut text = String::new();
        loop {
            let end = rest.find('\'')?;
            text.push_str(&rest[..end]);
            rest = &rest[end + 1..];
            match rest.strip_prefix('\'') {
                Some(after) => {
                    text.push('\'');
                    rest = after;
                }
                None => return Some((FilterValue::Text(text), rest)),
            }
        }
    }
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .unwrap_or(s.len());
    let number = &s[..end];
    (end > 0 && number.parse::<f64>().is_ok())
        .then(|| (FilterValue::Number(number.to_string()), &s[end..]))
}

fn strip_keyword<'a>(s: &'a str, keyword: &str) -> Option<&'a str> {
    let s = s.trim_start();
    let head = s.get(..keyword.len())?;
    let rest = &s[keyword.len()..];
    (head.eq_ignore_ascii_case(keyword) && rest.chars().next().is_none_or(|c| c.is_whitespace()))
        .then_some(rest)
}

pub fn parse_filter(text: &str) -> Result<Vec<Condition>, FilterError> {
    let mut rest = text;
    let mut conditions = Vec::new();
    loop {
        let (column, after) = take_ident(rest)
            .ok_or_else(|| FilterError(format!("expected a column name at {:?}", rest.trim())))?;
        let condition = if let Some(after_is) = strip_keyword(after, "IS") {
            if let Some(after_not) = strip_keyword(after_is, "NOT") {
                rest = strip_keyword(after_not, "NULL")
                    .ok_or_else(|| FilterError("expected NULL after IS NOT".into()))?;
                Condition {
                    column: column.to_string(),
                    op: "IS NOT NULL",
                    value: None,
                }
            } else {
                rest = strip_keyword(after_is, "NULL")
                    .ok_or_else(|| FilterError("expected NULL after IS".into()))?;
                Condition {
                    column: column.to_string(),
                    op: "IS NULL",
                    value: None,
                }
            }
        } else {
            let (op, after_op) = take_op(after)
                .ok_or_else(|| FilterError(format!("expected an operator after {column}")))?;
            let (value, after_value) = take_value(after_op).ok_or_else(|| {
                FilterError(format!("expected a number or 'text' after {column} {op}"))
            })?;
            rest = after_value;
            Condition {
                column: column.to_string(),
                op,
                value: Some(value),
            }
        };
        conditions.push(condition);
        if rest.trim().is_empty() {
            return Ok(conditions);
        }
        rest = strip_keyword(rest, "AND")
            .ok_or_else(|| FilterError(format!("unexpected {:?}", rest.trim())))?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_safe_form() {
        let c = parse_filter(
            "status = 'PAID' AND amount>=10.5 and `order_id` <> 7 AND note IS NOT NULL",
        )
        .unwrap();
        assert_eq!(c.len(), 4);
        assert_eq!(
            c[0],
            Condition {
                column: "status".into(),
                op: "=",
                value: Some(FilterValue::Text("PAID".into()))
            }
        );
        assert_eq!(c[1].value, Some(FilterValue::Number("10.5".into())));
        assert_eq!((c[2].column.as_str(), c[2].op), ("order_id", "<>"));
        assert_eq!(c[3].op, "IS NOT NULL");
        assert_eq!(
            parse_filter("k = 'it''s'").unwrap()[0].value,
            Some(FilterValue::Text("it's".into()))
        );
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "1=1; DROP TABLE x",
            "a = b",
            "a = 1 OR 1=1",
            "a IN (1,2)",
            "a = 'open",
            "(a = 1)",
            "a = 1 -- x",
            "a = SLEEP(5)",
        ] {
            assert!(parse_filter(bad).is_err(), "{bad}");
        }
    }
}
