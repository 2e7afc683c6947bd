//! Table names: the one way lockdiag shows `schema.table` and reads a
//! user-typed `[schema.]table`.

use serde::{Deserialize, Serialize};

/// Backtick-quotes an identifier (doubling any backtick inside).
pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// `schema.table`, `table` when the schema is unknown, `?` when neither is.
pub fn qualified_name(schema: Option<&str>, table: Option<&str>) -> String {
    match (schema, table) {
        (Some(s), Some(t)) => format!("{s}.{t}"),
        (None, Some(t)) => t.to_string(),
        (Some(s), None) => format!("{s}.?"),
        (None, None) => "?".to_string(),
    }
}

/// A table as a user names it on the command line: `table` or `schema.table`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableRef {
    pub schema: Option<String>,
    pub table: String,
}

impl TableRef {
    /// Splits at the first dot (schema names rarely contain one; table names may not
    /// be split further by the user). Empty parts are refused.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (schema, table) = match text.split_once('.') {
            Some((s, t)) => (Some(s.to_string()), t.to_string()),
            None => (None, text.to_string()),
        };
        if table.is_empty() || schema.as_deref().is_some_and(str::is_empty) {
            return Err(format!(
                "{text:?}: expected `table` or `schema.table` with no empty part"
            ));
        }
        Ok(TableRef { schema, table })
    }

    /// Whether a lock or wait on `schema`.`table` is on this table.
    pub fn matches(&self, schema: Option<&str>, table: Option<&str>) -> bool {
        table == Some(self.table.as_str())
            && self
                .schema
                .as_deref()
                .is_none_or(|wanted| schema == Some(wanted))
    }
}

impl std::fmt::Display for TableRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&qualified_name(self.schema.as_deref(), Some(&self.table)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_refs_parse_and_match() {
        let t = TableRef::parse("shop.payments").unwrap();
        assert!(t.matches(Some("shop"), Some("payments")));
        assert!(!t.matches(Some("other"), Some("payments")));
        let bare = TableRef::parse("payments").unwrap();
        assert!(bare.matches(Some("any"), Some("payments")));
        assert!(TableRef::parse(".x").is_err() && TableRef::parse("s.").is_err());
        assert_eq!(qualified_name(None, Some("t")), "t");
    }
}
