//! The `SELECT` items and the `WHERE` condition as typed DataFusion expressions over the source's
//! columns (DataFusion's SQL-to-expression planner, then Flink's rewrites), and the items matched
//! to the sink's columns with Flink's implicit casts. Every problem is collected, so one
//! validation names them all.

use std::sync::Arc;

use datafusion_common::DFSchema;
use datafusion_common::arrow::datatypes::DataType;
use datafusion_expr::expr::Cast;
use datafusion_expr::simplify::SimplifyContext;
use datafusion_expr::{Expr, ExprSchemable};
use datafusion_optimizer::simplify_expressions::ExprSimplifier;
use datafusion_sql::planner::{ParserOptions, PlannerContext, SqlToRel};
use datafusion_sql::sqlparser::ast::{self, SelectItem, Spanned};
use datafusion_sql::sqlparser::tokenizer::Span;

use super::diagnostics::{err, planning_error, table_name, unknown_column};
use super::provider::Provider;
use super::{determinism, rewrite};
use crate::catalog::{Column, TableDef};
use crate::error::{ErrorKind, SqlError, SqlErrors};
use crate::functions::cast;
use crate::types::{SqlType, SqlTypeKind};

/// A planned `SELECT` item: its expression, where it is, and the name errors show for it.
pub(super) struct Item {
    expr: Expr,
    span: Span,
    display: String,
}

/// Plans SQL expressions over the source's columns.
pub(super) struct Scope<'a> {
    sql_to_rel: SqlToRel<'a, Provider>,
    simplifier: ExprSimplifier,
    rewriter: rewrite::Rewriter<'a>,
    schema: &'a DFSchema,
}

impl<'a> Scope<'a> {
    /// `schema` is the source's columns, qualified as the statement names the source.
    pub(super) fn new(provider: &'a Provider, source: &'a TableDef, schema: &'a DFSchema) -> Self {
        let sql_to_rel = SqlToRel::new_with_options(
            provider,
            ParserOptions {
                parse_float_as_decimal: true,
                enable_ident_normalization: false,
                collect_spans: true,
                map_string_types_to_utf8view: false,
                ..ParserOptions::new()
            },
        );
        let simplifier = ExprSimplifier::new(
            SimplifyContext::builder()
                .with_schema(Arc::new(schema.clone()))
                .build(),
        );
        Scope {
            sql_to_rel,
            simplifier,
            rewriter: rewrite::Rewriter { source, schema },
            schema,
        }
    }

    /// One SQL expression: planned, its integer literals narrowed, coerced, rewritten the Flink
    /// way.
    fn expr(&self, e: &ast::Expr) -> Result<Expr, SqlError> {
        self.sql_to_rel
            .sql_to_expr(e.clone(), self.schema, &mut PlannerContext::new())
            .and_then(rewrite::narrow_int_literals)
            .and_then(|x| self.simplifier.coerce(x, self.schema))
            .and_then(|x| self.rewriter.rewrite(x))
            .map_err(|d| planning_error(d, e.span()))
    }

    /// The `SELECT` items (`*` expanded) and the `WHERE` condition; the errors of both.
    pub(super) fn select(
        &self,
        select: &ast::Select,
    ) -> Result<(Vec<Item>, Option<Expr>), SqlErrors> {
        let mut errors = Vec::new();
        let items = self.items(select, &mut errors);
        let filter = select
            .selection
            .as_ref()
            .and_then(|w| self.filter(w, &mut errors));
        if errors.is_empty() {
            Ok((items, filter))
        } else {
            Err(SqlErrors(errors))
        }
    }

    fn items(&self, select: &ast::Select, errors: &mut Vec<SqlError>) -> Vec<Item> {
        let mut items = Vec::new();
        for item in &select.projection {
            match item {
                SelectItem::UnnamedExpr(e) => match self.expr(e) {
                    Ok(expr) => items.push(Item {
                        expr,
                        span: e.span(),
                        display: e.to_string(),
                    }),
                    Err(x) => errors.push(x),
                },
                SelectItem::ExprWithAlias { expr, alias } => match self.expr(expr) {
                    Ok(x) => items.push(Item {
                        expr: x,
                        span: expr.span(),
                        display: alias.value.clone(),
                    }),
                    Err(x) => errors.push(x),
                },
                SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => {
                    for (q, f) in self.schema.iter() {
                        items.push(Item {
                            expr: Expr::Column(datafusion_common::Column::new(
                                q.cloned(),
                                f.name(),
                            )),
                            span: item.span(),
                            display: f.name().clone(),
                        });
                    }
                }
                other => errors.push(err(
                    ErrorKind::Unsupported,
                    other.span(),
                    "this SELECT item is not supported",
                )),
            }
        }
        items
    }

    /// The `WHERE` condition, which must be BOOLEAN.
    fn filter(&self, w: &ast::Expr, errors: &mut Vec<SqlError>) -> Option<Expr> {
        let x = match self.expr(w) {
            Ok(x) => x,
            Err(e) => {
                errors.push(e);
                return None;
            }
        };
        match x.get_type(self.schema) {
            Ok(DataType::Boolean | DataType::Null) => Some(x),
            Ok(other) => {
                let t = SqlType::from_arrow(&other)
                    .map_or_else(|| other.to_string(), |t| t.to_string());
                errors.push(err(
                    ErrorKind::Type,
                    w.span(),
                    format!("the WHERE condition must be BOOLEAN, but it is {t}"),
                ));
                None
            }
            Err(e) => {
                errors.push(planning_error(e, w.span()));
                None
            }
        }
    }

    /// One expression per sink column, in the sink's order: the `SELECT` items assigned to the
    /// columns the `INSERT` names (all of them, when it names none), cast where Flink casts
    /// implicitly; a column not named is NULL.
    pub(super) fn sink_outputs(
        &self,
        items: Vec<Item>,
        insert: &ast::Insert,
        select: &ast::Select,
        sink: &TableDef,
    ) -> Result<Vec<Expr>, SqlErrors> {
        let targets = targets(insert, sink)?;
        if items.len() != targets.len() {
            let span = select
                .projection
                .first()
                .map_or(Span::empty(), Spanned::span);
            let names: Vec<_> = targets
                .iter()
                .map(|&i| sink.columns[i].name.as_str())
                .collect();
            return Err(err(
                ErrorKind::Type,
                span,
                format!(
                    "the SELECT has {} columns but sink table {} takes {} ({}); select one expression per sink column, in order",
                    items.len(),
                    sink.name,
                    targets.len(),
                    names.join(", ")
                ),
            )
            .into());
        }
        let mut errors = Vec::new();
        let mut outputs: Vec<Option<Expr>> = vec![None; sink.columns.len()];
        for (item, &target) in items.into_iter().zip(&targets) {
            match self.assign(item, sink, target) {
                Ok(e) => outputs[target] = Some(e),
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return Err(SqlErrors(errors));
        }
        Ok(outputs
            .into_iter()
            .zip(&sink.columns)
            .map(|(e, c)| {
                e.unwrap_or_else(|| {
                    Expr::Cast(Cast::new(
                        Box::new(Expr::Literal(datafusion_common::ScalarValue::Null, None)),
                        c.ty.to_arrow(),
                    ))
                })
            })
            .collect())
    }

    /// `item` as the value of sink column `target`: deterministic if the column chooses the
    /// partition, of a type the column accepts, cast as Flink casts on `INSERT`.
    fn assign(&self, item: Item, sink: &TableDef, target: usize) -> Result<Expr, SqlError> {
        let Item {
            expr,
            span,
            display,
        } = item;
        let column: &Column = &sink.columns[target];
        if sink
            .partitioned_by
            .iter()
            .any(|p| sink.column_index(p) == Some(target))
            && let Some(function) = determinism::volatile_function(&expr)
        {
            return Err(err(
                ErrorKind::Unsupported,
                span,
                determinism::message(&display, &function, &sink.name, &column.name),
            ));
        }
        let want = column.ty.to_arrow();
        let have = expr
            .get_type(self.schema)
            .map_err(|e| planning_error(e, span))?;
        let from = self
            .rewriter
            .flink_type(&expr)
            .or_else(|| SqlType::from_arrow(&have));
        let assignable = have == want
            || have == DataType::Null
            || matches!(&expr, Expr::Literal(..))
            || from.as_ref().is_some_and(|from| column.ty.accepts(from));
        if !assignable {
            let t = from.map_or_else(|| have.to_string(), |t| t.to_string());
            return Err(err(
                ErrorKind::Type,
                span,
                format!(
                    "{display} is {t} but sink column {}.{} is {}; convert it with CAST({display} AS {})",
                    sink.name, column.name, column.ty, column.ty
                ),
            ));
        }
        // Flink's implicit cast: the CAST rules, so DECIMAL overflow gives NULL, a finer
        // TIMESTAMP is truncated, a longer string cut to VARCHAR(n).
        if let Some(e) = row_by_position(&expr, &have, &column.ty) {
            return Ok(e);
        }
        Ok(match &from {
            Some(from) => cast::plan_cast(expr, &have, from, &column.ty, false),
            None if have == want => expr,
            None => Expr::Cast(Cast::new(Box::new(expr), want)),
        })
    }
}

/// A ROW value for a ROW column whose field names differ (a `ROW(...)` constructor's fields are
/// `c0, c1, ...`): Flink assigns fields by position, Arrow casts structs by name, so the fields
/// are taken one by one (each cast as Flink casts) into a struct with the column's names; a NULL
/// row stays NULL.
fn row_by_position(expr: &Expr, have: &DataType, to: &SqlType) -> Option<Expr> {
    let (DataType::Struct(have_fields), SqlTypeKind::Row(to_fields)) = (have, &to.kind) else {
        return None;
    };
    if have_fields.len() != to_fields.len()
        || have_fields
            .iter()
            .zip(to_fields)
            .all(|(h, (n, _))| h.name() == n)
    {
        return None;
    }
    let mut args = Vec::with_capacity(2 * to_fields.len());
    for (h, (name, ty)) in have_fields.iter().zip(to_fields) {
        let field = datafusion_functions::core::expr_fn::get_field(expr.clone(), h.name().as_str());
        let field = match row_by_position(&field, h.data_type(), ty) {
            Some(f) => f,
            None => match SqlType::from_arrow(h.data_type()) {
                Some(from) => cast::plan_cast(field, h.data_type(), &from, ty, false),
                None => Expr::Cast(Cast::new(Box::new(field), ty.to_arrow())),
            },
        };
        args.push(datafusion_expr::lit(name.as_str()));
        args.push(field);
    }
    let row = datafusion_functions::core::expr_fn::named_struct(args);
    datafusion_expr::when(
        expr.clone().is_null(),
        Expr::Cast(Cast::new(
            Box::new(datafusion_expr::lit(datafusion_common::ScalarValue::Null)),
            to.to_arrow(),
        )),
    )
    .otherwise(row)
    .ok()
}

/// The sink columns the `INSERT` writes, in its order: those it names, else all.
fn targets(insert: &ast::Insert, sink: &TableDef) -> Result<Vec<usize>, SqlErrors> {
    if insert.columns.is_empty() {
        return Ok((0..sink.columns.len()).collect());
    }
    let mut errors = Vec::new();
    let mut t = Vec::new();
    for c in &insert.columns {
        let name = table_name(c);
        match sink.column_index(&name) {
            Some(i) => t.push(i),
            None => errors.push(err(
                ErrorKind::UnknownColumn,
                c.span(),
                unknown_column(&name, sink),
            )),
        }
    }
    if errors.is_empty() {
        Ok(t)
    } else {
        Err(SqlErrors(errors))
    }
}
