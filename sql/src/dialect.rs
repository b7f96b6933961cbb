//! Flink's lexical rules for sqlparser: identifiers quoted with backticks, case preserved, and
//! the `MAP[k1, v1, ...]` value constructor.

use sqlparser::ast::{Expr, Map, MapEntry};
use sqlparser::dialect::Dialect;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

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

    fn parse_prefix(&self, parser: &mut Parser) -> Option<Result<Expr, ParserError>> {
        let is_map = matches!(&parser.peek_nth_token_ref(0).token, Token::Word(w) if w.value.eq_ignore_ascii_case("MAP"))
            && parser.peek_nth_token_ref(1).token == Token::LBracket;
        is_map.then(|| parse_map_constructor(parser))
    }
}

/// `MAP[k1, v1, k2, v2, ...]` (after checking that it starts so).
fn parse_map_constructor(parser: &mut Parser) -> Result<Expr, ParserError> {
    parser.next_token();
    parser.next_token();
    let items = parser.parse_comma_separated(Parser::parse_expr)?;
    parser.expect_token(&Token::RBracket)?;
    if items.len() % 2 != 0 {
        return Err(ParserError::ParserError(
            "MAP[...] needs key, value pairs".to_owned(),
        ));
    }
    let mut items = items.into_iter();
    let mut entries = Vec::new();
    while let (Some(key), Some(value)) = (items.next(), items.next()) {
        entries.push(MapEntry {
            key: Box::new(key),
            value: Box::new(value),
        });
    }
    Ok(Expr::Map(Map { entries }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_constructor() {
        let e = Parser::new(&FlinkDialect)
            .try_with_sql("MAP['a', 1, 'b', 2]")
            .unwrap()
            .parse_expr()
            .unwrap();
        assert!(
            matches!(e, Expr::Map(Map { ref entries }) if entries.len() == 2),
            "{e}"
        );
    }
}
