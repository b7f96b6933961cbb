//! Positioned errors: sqlparser spans, sqlparser's own errors and DataFusion's diagnostics as
//! [`SqlError`]s that name a line and column.

use datafusion_common::DataFusionError;
use datafusion_sql::sqlparser::ast::ObjectName;
use datafusion_sql::sqlparser::parser::ParserError;
use datafusion_sql::sqlparser::tokenizer::Span;

use crate::catalog::TableDef;
use crate::error::{ErrorKind, Location, SqlError, did_you_mean};

/// The start of `span`, if it has one (sqlparser leaves line 0 for "unknown").
pub(super) fn loc(span: Span) -> Option<Location> {
    (span.start.line > 0).then_some(Location {
        line: span.start.line,
        column: span.start.column,
    })
}

/// An error at the start of `span`.
pub(super) fn err(kind: ErrorKind, span: Span, message: impl Into<String>) -> SqlError {
    SqlError::at(kind, loc(span), message)
}

/// A table or column name as written, parts joined with `.`.
pub(super) fn table_name(name: &ObjectName) -> String {
    name.0
        .iter()
        .filter_map(|p| p.as_ident())
        .map(|i| i.value.clone())
        .collect::<Vec<_>>()
        .join(".")
}

/// Turns a sqlparser error ("... at Line: 2, Column: 7") into a positioned error.
pub(super) fn parse_error(e: ParserError) -> SqlError {
    let text = match e {
        ParserError::TokenizerError(s) | ParserError::ParserError(s) => s,
        ParserError::RecursionLimitExceeded => "the statement is nested too deeply".to_owned(),
    };
    let mut location = None;
    let mut message = text.clone();
    if let Some(i) = text.rfind(" at Line: ") {
        let tail = &text[i + " at Line: ".len()..];
        let mut parts = tail.split(", Column: ");
        if let (Some(l), Some(c)) = (parts.next(), parts.next())
            && let (Ok(line), Ok(column)) = (l.trim().parse(), c.trim().parse())
        {
            location = Some(Location { line, column });
            message = text[..i].to_owned();
        }
    }
    SqlError::at(ErrorKind::Syntax, location, message)
}

/// "table t has no column c", with a "did you mean" or the list of its columns.
pub(super) fn unknown_column(name: &str, table: &TableDef) -> String {
    let names: Vec<_> = table.columns.iter().map(|c| c.name.as_str()).collect();
    match did_you_mean(name, names.iter().copied()) {
        Some(m) => format!(
            "table {} has no column {name}; did you mean {m}?",
            table.name
        ),
        None => format!(
            "table {} has no column {name} (columns: {})",
            table.name,
            names.join(", ")
        ),
    }
}

/// A DataFusion planning error as a positioned SQL error: the position DataFusion knows, else
/// the span of the SQL item being planned.
pub(super) fn planning_error(e: DataFusionError, fallback: Span) -> SqlError {
    let (span, kind) = match e.diagnostic() {
        Some(d) => (
            d.span.map_or(fallback, |s| {
                Span::new(
                    datafusion_sql::sqlparser::tokenizer::Location::new(
                        s.start.line,
                        s.start.column,
                    ),
                    datafusion_sql::sqlparser::tokenizer::Location::new(s.end.line, s.end.column),
                )
            }),
            ErrorKind::Type,
        ),
        None => (fallback, ErrorKind::Type),
    };
    let inner = e.find_root();
    let mut message = match inner {
        DataFusionError::Plan(m)
        | DataFusionError::Execution(m)
        | DataFusionError::NotImplemented(m) => m.clone(),
        DataFusionError::SchemaError(s, _) => s.to_string(),
        other => other.to_string(),
    };
    let kind = if matches!(inner, DataFusionError::SchemaError(..)) {
        ErrorKind::UnknownColumn
    } else {
        kind
    };
    if let Some(stripped) = message.strip_prefix("Error during planning: ") {
        message = stripped.to_owned();
    }
    SqlError::at(kind, loc(span), message)
}
