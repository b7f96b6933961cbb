//! What a job's statement may be: one `INSERT INTO sink SELECT ... FROM source [WHERE ...]` over
//! declared tables, calling functions that exist. Everything else is refused with the reason and
//! where it is.

use std::ops::ControlFlow;

use datafusion_sql::sqlparser::ast::{
    self, GroupByExpr, ObjectName, SetExpr, Spanned, Statement, TableFactor, TableObject,
};
use datafusion_sql::sqlparser::tokenizer::Span;

use super::diagnostics::{err, table_name};
use crate::catalog::{Catalog, TableDef};
use crate::error::{ErrorKind, SqlError, SqlErrors, did_you_mean};
use crate::functions::{FunctionRegistry, coverage};

/// The one `INSERT` of the parsed statements, or why there is not exactly one.
pub(super) fn the_insert(statements: &[Statement]) -> Result<&ast::Insert, SqlError> {
    match statements {
        [Statement::Insert(insert)] => Ok(insert),
        [] => Err(SqlError::at(
            ErrorKind::Syntax,
            None,
            "the statement is empty; write INSERT INTO <sink> SELECT ... FROM <source>",
        )),
        [other] => Err(err(
            ErrorKind::Unsupported,
            other.span(),
            "a job runs one INSERT INTO <sink> SELECT ... FROM <source> statement; declare tables as StreamingTable resources, not in SQL",
        )),
        [_, second, ..] => Err(err(
            ErrorKind::Unsupported,
            second.span(),
            "a job runs exactly one INSERT statement",
        )),
    }
}

/// The table written: declared, and written with a plain `INSERT INTO` (no `OVERWRITE`, no
/// static partitions).
pub(super) fn sink<'c>(
    insert: &ast::Insert,
    catalog: &'c Catalog,
) -> Result<&'c TableDef, SqlError> {
    let TableObject::TableName(sink_name) = &insert.table else {
        return Err(err(
            ErrorKind::Unsupported,
            insert.table.span(),
            "INSERT INTO a table function is not supported",
        ));
    };
    let sink = table(catalog, sink_name)?;
    if insert.overwrite {
        return Err(err(
            ErrorKind::Unsupported,
            insert.insert_token.0.span,
            "INSERT OVERWRITE is not supported by streaming jobs; use INSERT INTO",
        ));
    }
    if let Some(parts) = &insert.partitioned {
        let span = parts.first().map_or(insert.table.span(), Spanned::span);
        return Err(err(
            ErrorKind::Unsupported,
            span,
            "static partitions (INSERT ... PARTITION (...)) are not supported; select the partition values as columns",
        ));
    }
    Ok(sink)
}

/// The `INSERT`'s query, which must be `SELECT ... FROM one_table [WHERE ...]`.
pub(super) fn select(insert: &ast::Insert) -> Result<&ast::Select, SqlError> {
    let Some(query) = &insert.source else {
        return Err(err(
            ErrorKind::Unsupported,
            insert.table.span(),
            "INSERT needs a SELECT ... FROM <source> query",
        ));
    };
    query_shape(query)
}

/// The table read (a declared table, not a subquery or table function) and the name its columns
/// are qualified with: its alias, else its name.
pub(super) fn source<'c>(
    select: &ast::Select,
    catalog: &'c Catalog,
) -> Result<(&'c TableDef, String), SqlError> {
    let from = &select.from[0];
    let TableFactor::Table {
        name: source_name,
        alias,
        args: None,
        ..
    } = &from.relation
    else {
        return Err(err(
            ErrorKind::Unsupported,
            from.relation.span(),
            "select FROM one table (subqueries, table functions and UNNEST are not supported)",
        ));
    };
    let source = table(catalog, source_name)?;
    let qualifier = alias
        .as_ref()
        .map_or_else(|| source.name.clone(), |a| a.name.value.clone());
    Ok((source, qualifier))
}

/// A declared table, or an error with a "did you mean" or the declared names.
fn table<'c>(catalog: &'c Catalog, name: &ObjectName) -> Result<&'c TableDef, SqlError> {
    let n = table_name(name);
    catalog.get(&n).ok_or_else(|| {
        let hint = match did_you_mean(&n, catalog.names()) {
            Some(m) => format!("; did you mean {m}?"),
            None => {
                let all: Vec<_> = catalog.names().collect();
                if all.is_empty() {
                    String::new()
                } else {
                    format!(" (declared: {})", all.join(", "))
                }
            }
        };
        err(
            ErrorKind::UnknownTable,
            name.span(),
            format!("table {n} is not declared as a StreamingTable{hint}"),
        )
    })
}

/// Accepts `SELECT ... FROM one_table [WHERE ...]` and nothing more, saying what is not.
fn query_shape(query: &ast::Query) -> Result<&ast::Select, SqlError> {
    let unsupported = |span: Span, what: &str| {
        err(
            ErrorKind::Unsupported,
            span,
            format!(
                "{what} is not supported: a job is INSERT INTO <sink> SELECT ... FROM <source> [WHERE ...]"
            ),
        )
    };
    if let Some(with) = &query.with {
        return Err(unsupported(with.span(), "WITH"));
    }
    if let Some(order) = &query.order_by {
        return Err(unsupported(order.span(), "ORDER BY"));
    }
    if let Some(limit) = &query.limit_clause {
        return Err(unsupported(limit.span(), "LIMIT"));
    }
    let select = match query.body.as_ref() {
        SetExpr::Select(s) => s.as_ref(),
        SetExpr::Query(q) => return query_shape(q),
        other => {
            return Err(unsupported(
                other.span(),
                "UNION, VALUES and set operations",
            ));
        }
    };
    if select.distinct.is_some() {
        return Err(unsupported(select.select_token.0.span, "DISTINCT"));
    }
    match &select.group_by {
        GroupByExpr::Expressions(e, _) if e.is_empty() => {}
        g => return Err(unsupported(g.span(), "GROUP BY (aggregation)")),
    }
    if let Some(h) = &select.having {
        return Err(unsupported(h.span(), "HAVING"));
    }
    match select.from.as_slice() {
        [] => {
            return Err(err(
                ErrorKind::Unsupported,
                select.span(),
                "the SELECT needs FROM <source table>",
            ));
        }
        [one] if one.joins.is_empty() => {}
        [one] => return Err(unsupported(one.joins[0].span(), "JOIN")),
        [_, second, ..] => {
            return Err(unsupported(second.span(), "selecting from several tables"));
        }
    }
    Ok(select)
}

/// Every function called exists, or the error names it and where it is: a Flink function
/// that Sluice does not run is refused with the reason (`functions::coverage`).
pub(super) fn check_functions(
    select: &ast::Select,
    functions: &FunctionRegistry,
) -> Result<(), SqlErrors> {
    // Written without parentheses or planned specially by the SQL planner.
    const BUILT_IN: &[&str] = &[
        "current_timestamp",
        "current_date",
        "current_time",
        "localtimestamp",
        "localtime",
    ];
    let mut errors = Vec::new();
    let mut check = |e: &ast::Expr| {
        // Operators Sluice does not run the Flink way (DataFusion would plan them).
        if let ast::Expr::SimilarTo { negated, .. } = e {
            let name = if *negated {
                "NOT SIMILAR TO"
            } else {
                "SIMILAR TO"
            };
            if let Some(reason) = coverage::refusal(name) {
                errors.push(err(ErrorKind::Unsupported, e.span(), reason));
            }
        }
        if let ast::Expr::Function(f) = e {
            let name = table_name(&f.name);
            let lower = name.to_ascii_lowercase();
            if lower == "json" {
                // JSON(text) inside JSON_OBJECT/JSON_ARRAY is read by the dialect.
                errors.push(err(
                    ErrorKind::Unsupported,
                    f.name.span(),
                    "The JSON() function is currently only supported inside JSON_ARRAY() or as the VALUE param of JSON_OBJECT()",
                ));
            } else if let Some(reason) = coverage::refusal(&lower) {
                errors.push(err(ErrorKind::Unsupported, f.name.span(), reason));
            } else if f.over.is_some() {
                errors.push(err(
                    ErrorKind::Unsupported,
                    f.name.span(),
                    "window functions (OVER) are not supported",
                ));
            } else if functions.get(&lower).is_none() && !BUILT_IN.contains(&lower.as_str()) {
                let hint = did_you_mean(&lower, functions.names())
                    .map(|m| format!("; did you mean {}?", m.to_uppercase()))
                    .unwrap_or_default();
                errors.push(err(
                    ErrorKind::UnknownFunction,
                    f.name.span(),
                    format!("no function named {name}{hint}"),
                ));
            }
        }
        ControlFlow::<()>::Continue(())
    };
    for item in &select.projection {
        let _ = ast::visit_expressions(item, &mut check);
    }
    if let Some(w) = &select.selection {
        let _ = ast::visit_expressions(w, &mut check);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(SqlErrors(errors))
    }
}
