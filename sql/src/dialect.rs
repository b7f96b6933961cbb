//! Flink's lexical rules for sqlparser: identifiers quoted with backticks, case preserved.

use sqlparser::dialect::Dialect;

use datafusion_sql::sqlparser;

/// Flink SQL's dialect: `` `quoted identifiers` ``; `"..."` is not an identifier.
#[derive(Debug, Default)]
pub struct FlinkDialect;

impl Dialect for FlinkDialect {
    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        ch == '`'
    }

    fn is_identifier_start(&self, ch: char) -> bool {
        ch.is_alphabetic() || ch == '_' || ch == '$'
    }

    fn is_identifier_part(&self, ch: char) -> bool {
        ch.is_alphanumeric() || ch == '_' || ch == '$'
    }

    fn supports_string_literal_backslash_escape(&self) -> bool {
        false
    }
}
