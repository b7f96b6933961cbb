//! Flink's lexical rules for sqlparser: identifiers quoted with backticks, case preserved, the
//! `MAP[k1, v1, ...]` value constructor, and Flink's SQL/JSON syntax: `JSON_OBJECT([KEY] k VALUE
//! v, ... [NULL | ABSENT] ON NULL)`, `JSON_ARRAY(v, ... [NULL | ABSENT] ON NULL)` (with `JSON(text)`
//! values inside them) and `x IS [NOT] JSON [VALUE | SCALAR | ARRAY | OBJECT]`.
//!
//! The SQL/JSON forms become calls of the functions that run them (`functions::json_build`):
//! `json_object(flags, k1, v1, ...)`, `json_array(flags, v1, ...)` and `is_json(x, 'KIND')`,
//! where `flags` is a string literal: `N` (NULL ON NULL) or `A` (ABSENT ON NULL), then one letter
//! per value: `v` a SQL value, `j` the text of a `JSON(...)` call, `r` the JSON text of a nested
//! `JSON_OBJECT`/`JSON_ARRAY`.

use sqlparser::ast::{
    Expr, Function, FunctionArg, FunctionArgExpr, FunctionArgumentList, FunctionArguments, Ident,
    Map, MapEntry, ObjectName, UnaryOperator, Value,
};
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
        let word = |n: usize, w: &str| word_at(parser, n, w);
        if word(0, "MAP") && parser.peek_nth_token_ref(1).token == Token::LBracket {
            return Some(parse_map_constructor(parser));
        }
        if parser.peek_nth_token_ref(1).token == Token::LParen {
            if word(0, "JSON_OBJECT") {
                return Some(parse_json_constructor(parser, true));
            }
            if word(0, "JSON_ARRAY") {
                return Some(parse_json_constructor(parser, false));
            }
        }
        None
    }

    fn parse_infix(
        &self,
        parser: &mut Parser,
        expr: &Expr,
        _precedence: u8,
    ) -> Option<Result<Expr, ParserError>> {
        if !word_at(parser, 0, "IS") {
            return None;
        }
        let negated = word_at(parser, 1, "NOT");
        let at = if negated { 2 } else { 1 };
        if !word_at(parser, at, "JSON") {
            return None;
        }
        let span = parser.peek_nth_token_ref(at).span;
        for _ in 0..=at {
            parser.next_token();
        }
        let mut kind = "VALUE";
        for k in ["VALUE", "SCALAR", "ARRAY", "OBJECT"] {
            if word_at(parser, 0, k) {
                parser.next_token();
                kind = k;
                break;
            }
        }
        let call = function(
            Ident::with_span(span, "is_json"),
            vec![
                expr.clone(),
                Expr::value(Value::SingleQuotedString(kind.to_owned())),
            ],
        );
        Some(Ok(if negated {
            Expr::UnaryOp {
                op: UnaryOperator::Not,
                expr: Box::new(Expr::Nested(Box::new(call))),
            }
        } else {
            call
        }))
    }
}

/// Whether the `n`-th token ahead is the word `w` (any case, unquoted).
fn word_at(parser: &Parser, n: usize, w: &str) -> bool {
    matches!(&parser.peek_nth_token_ref(n).token, Token::Word(x) if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(w))
}

fn function(name: Ident, args: Vec<Expr>) -> Expr {
    Expr::Function(Function {
        name: ObjectName::from(vec![name]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: args
                .into_iter()
                .map(|e| FunctionArg::Unnamed(FunctionArgExpr::Expr(e)))
                .collect(),
            clauses: Vec::new(),
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: Vec::new(),
    })
}

/// `JSON_OBJECT(...)` or `JSON_ARRAY(...)` (after checking that it starts so).
fn parse_json_constructor(parser: &mut Parser, object: bool) -> Result<Expr, ParserError> {
    let span = parser.next_token().span;
    parser.expect_token(&Token::LParen)?;
    // JSON_OBJECT is NULL ON NULL by default, JSON_ARRAY ABSENT ON NULL.
    let mut absent = !object;
    let mut flags = String::new();
    let mut args = Vec::new();
    let null_clause = |parser: &mut Parser| -> Option<bool> {
        let absent = word_at(parser, 0, "ABSENT");
        let clause = (absent || word_at(parser, 0, "NULL"))
            && word_at(parser, 1, "ON")
            && word_at(parser, 2, "NULL");
        clause.then(|| {
            for _ in 0..3 {
                parser.next_token();
            }
            absent
        })
    };
    loop {
        if let Some(a) = null_clause(parser) {
            absent = a;
            parser.expect_token(&Token::RParen)?;
            break;
        }
        if parser.consume_token(&Token::RParen) {
            break;
        }
        if !args.is_empty() {
            parser.expect_token(&Token::Comma)?;
        }
        if object {
            if word_at(parser, 0, "KEY") && !word_at(parser, 1, "VALUE") {
                parser.next_token();
            }
            let key = parser.parse_expr()?;
            if !matches!(&key, Expr::Value(v) if matches!(v.value, Value::SingleQuotedString(_))) {
                return Err(ParserError::ParserError(format!(
                    "a JSON_OBJECT key must be a string literal, found {key}"
                )));
            }
            if !(word_at(parser, 0, "VALUE") || parser.peek_token_ref().token == Token::Comma) {
                return parser.expected("VALUE", parser.peek_token());
            }
            parser.next_token();
            args.push(key);
        }
        let (flag, value) = json_value(parser.parse_expr()?);
        flags.push(flag);
        args.push(value);
    }
    flags.insert(0, if absent { 'A' } else { 'N' });
    args.insert(0, Expr::value(Value::SingleQuotedString(flags)));
    let name = if object { "json_object" } else { "json_array" };
    Ok(function(Ident::with_span(span, name), args))
}

/// A value of `JSON_OBJECT`/`JSON_ARRAY` with its flag: the text of `JSON(text)` (`j`), a nested
/// constructor's JSON (`r`), or a SQL value (`v`).
fn json_value(e: Expr) -> (char, Expr) {
    if let Expr::Function(f) = &e {
        let name = f.name.to_string().to_ascii_lowercase();
        if name == "json_object" || name == "json_array" {
            return ('r', e);
        }
        if let FunctionArguments::List(list) = &f.args
            && name == "json"
            && let [FunctionArg::Unnamed(FunctionArgExpr::Expr(text))] = list.args.as_slice()
        {
            return ('j', text.clone());
        }
    }
    ('v', e)
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

    fn expr(sql: &str) -> String {
        Parser::new(&FlinkDialect)
            .try_with_sql(sql)
            .unwrap()
            .parse_expr()
            .unwrap()
            .to_string()
    }

    #[test]
    fn sql_json_syntax() {
        assert_eq!(
            expr(
                "JSON_OBJECT(KEY 'a' VALUE s, 'b' VALUE JSON(j), 'c', JSON_ARRAY(1) ABSENT ON NULL)"
            ),
            "json_object('Avjr', 'a', s, 'b', j, 'c', json_array('Av', 1))"
        );
        assert_eq!(expr("JSON_ARRAY()"), "json_array('A')");
        assert_eq!(
            expr("JSON_OBJECT('k', 1 NULL ON NULL)"),
            "json_object('Nv', 'k', 1)"
        );
        assert_eq!(expr("s IS JSON"), "is_json(s, 'VALUE')");
        assert_eq!(
            expr("s IS NOT JSON OBJECT AND t IS NULL"),
            "NOT (is_json(s, 'OBJECT')) AND t IS NULL"
        );
    }

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
