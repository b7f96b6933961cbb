//! Planning `INSERT INTO sink SELECT ... FROM source [WHERE ...]` onto DataFusion physical
//! expressions that run on Arrow record batches.
//!
//! sqlparser reads the statement (with spans, so every error names a line and column); the shape
//! is checked here (one source table, no joins or aggregations); DataFusion's SQL-to-expression
//! planner turns each `SELECT` item and the `WHERE` clause into typed expressions over the
//! source's columns, with Flink's functions; the results are checked against the sink's columns
//! and cast where Flink casts implicitly.

use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::sync::Arc;

use datafusion_common::arrow::array::{Array, BooleanArray, RecordBatch};
use datafusion_common::arrow::compute::filter_record_batch;
use datafusion_common::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion_common::config::ConfigOptions;
use datafusion_common::{DFSchema, DataFusionError, TableReference};
use datafusion_expr::execution_props::ExecutionProps;
use datafusion_expr::expr::Cast;
use datafusion_expr::logical_plan::builder::LogicalTableSource;
use datafusion_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion_expr::planner::{ContextProvider, ExprPlanner, TypePlanner};
use datafusion_expr::simplify::SimplifyContext;
use datafusion_expr::{
    AggregateUDF, Expr, ExprSchemable, HigherOrderUDF, ScalarUDF, TableSource, WindowUDF,
};
use datafusion_optimizer::simplify_expressions::ExprSimplifier;
use datafusion_physical_expr::{PhysicalExpr, create_physical_expr};
use datafusion_sql::planner::{ParserOptions, PlannerContext, SqlToRel};
use datafusion_sql::sqlparser::ast::{
    self, GroupByExpr, ObjectName, SelectItem, SetExpr, Spanned, Statement, TableFactor,
    TableObject,
};
use datafusion_sql::sqlparser::parser::{Parser, ParserError};
use datafusion_sql::sqlparser::tokenizer::Span;

mod determinism;
mod hooks;
mod rewrite;
mod syntax;

use crate::catalog::{Catalog, TableDef};
use crate::dialect::FlinkDialect;
use crate::error::{ErrorKind, Location, SqlError, SqlErrors, did_you_mean};
use crate::functions::{FunctionRegistry, cast, coverage};
use crate::types::SqlType;

/// A planned statement, ready to evaluate batches of source records.
#[derive(Debug)]
pub struct JobPlan {
    /// The table read.
    pub source: TableDef,
    /// The table written.
    pub sink: TableDef,
    /// Indices of the source columns the statement reads, ascending: the decoder builds
    /// batches of exactly these columns, in this order ([`JobPlan::input_schema`]).
    pub input_columns: Vec<usize>,
    /// Schema of the batches [`JobPlan::evaluate`] takes.
    pub input_schema: SchemaRef,
    /// Schema of the batches it returns: the sink's columns.
    pub output_schema: SchemaRef,
    filter: Option<Arc<dyn PhysicalExpr>>,
    outputs: Vec<Arc<dyn PhysicalExpr>>,
}

/// The rows of one input batch that pass the `WHERE` clause, as sink rows.
#[derive(Debug)]
pub struct Evaluated {
    /// Sink rows.
    pub batch: RecordBatch,
    /// For each sink row, its input row; `None` when every input row passed.
    pub selection: Option<Vec<u32>>,
}

/// A failure evaluating a batch (a bad cast, division by zero, ...).
#[derive(Debug, thiserror::Error)]
#[error("failed to evaluate the statement: {0}")]
pub struct EvalError(#[from] pub DataFusionError);

impl JobPlan {
    /// Plans `sql` against the tables of `catalog`. Every error names its line and column.
    pub fn plan(
        sql: &str,
        catalog: &Catalog,
        functions: &FunctionRegistry,
    ) -> Result<JobPlan, SqlErrors> {
        Planner {
            sql,
            catalog,
            functions,
        }
        .plan()
    }

    /// Evaluates the statement on a batch of the input schema.
    pub fn evaluate(&self, batch: &RecordBatch) -> Result<Evaluated, EvalError> {
        let (input, selection) = match &self.filter {
            None => (None, None),
            Some(f) => {
                let mask = f.evaluate(batch)?.into_array(batch.num_rows())?;
                let mask = mask
                    .as_any()
                    .downcast_ref::<BooleanArray>()
                    .ok_or_else(|| {
                        DataFusionError::Internal("WHERE did not produce booleans".into())
                    })?;
                if mask.true_count() == batch.num_rows() && mask.null_count() == 0 {
                    (None, None)
                } else {
                    let selection: Vec<u32> = (0..mask.len())
                        .filter(|&i| mask.is_valid(i) && mask.value(i))
                        .map(|i| i as u32)
                        .collect();
                    (
                        Some(filter_record_batch(batch, mask).map_err(DataFusionError::from)?),
                        Some(selection),
                    )
                }
            }
        };
        let input = input.as_ref().unwrap_or(batch);
        let columns = self
            .outputs
            .iter()
            .map(|e| {
                e.evaluate(input)
                    .and_then(|v| v.into_array(input.num_rows()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let options = datafusion_common::arrow::array::RecordBatchOptions::new()
            .with_row_count(Some(input.num_rows()));
        let batch =
            RecordBatch::try_new_with_options(Arc::clone(&self.output_schema), columns, &options)
                .map_err(DataFusionError::from)?;
        Ok(Evaluated { batch, selection })
    }
}

struct Planner<'a> {
    sql: &'a str,
    catalog: &'a Catalog,
    functions: &'a FunctionRegistry,
}

fn loc(span: Span) -> Option<Location> {
    (span.start.line > 0).then_some(Location {
        line: span.start.line,
        column: span.start.column,
    })
}

fn err(kind: ErrorKind, span: Span, message: impl Into<String>) -> SqlError {
    SqlError::at(kind, loc(span), message)
}

fn table_name(name: &ObjectName) -> String {
    name.0
        .iter()
        .filter_map(|p| p.as_ident())
        .map(|i| i.value.clone())
        .collect::<Vec<_>>()
        .join(".")
}

/// Turns a sqlparser error ("... at Line: 2, Column: 7") into a positioned error.
fn parse_error(e: ParserError) -> SqlError {
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

impl Planner<'_> {
    fn plan(&self) -> Result<JobPlan, SqlErrors> {
        let mut statements = Parser::new(&FlinkDialect)
            .try_with_sql(self.sql)
            .and_then(|mut p| p.parse_statements())
            .map_err(parse_error)?;
        statements.iter_mut().for_each(syntax::rewrite);
        let insert = match statements.as_slice() {
            [Statement::Insert(insert)] => insert,
            [] => {
                return Err(SqlError::at(
                    ErrorKind::Syntax,
                    None,
                    "the statement is empty; write INSERT INTO <sink> SELECT ... FROM <source>",
                )
                .into());
            }
            [other] => {
                return Err(err(
                    ErrorKind::Unsupported,
                    other.span(),
                    "a job runs one INSERT INTO <sink> SELECT ... FROM <source> statement; declare tables as StreamingTable resources, not in SQL",
                )
                .into());
            }
            [_, second, ..] => {
                return Err(err(
                    ErrorKind::Unsupported,
                    second.span(),
                    "a job runs exactly one INSERT statement",
                )
                .into());
            }
        };

        // The sink.
        let TableObject::TableName(sink_name) = &insert.table else {
            return Err(err(
                ErrorKind::Unsupported,
                insert.table.span(),
                "INSERT INTO a table function is not supported",
            )
            .into());
        };
        let sink = self.table(sink_name)?;
        if insert.overwrite {
            return Err(err(
                ErrorKind::Unsupported,
                insert.insert_token.0.span,
                "INSERT OVERWRITE is not supported by streaming jobs; use INSERT INTO",
            )
            .into());
        }
        if let Some(parts) = &insert.partitioned {
            let span = parts.first().map_or(insert.table.span(), Spanned::span);
            return Err(err(ErrorKind::Unsupported, span, "static partitions (INSERT ... PARTITION (...)) are not supported; select the partition values as columns").into());
        }
        let Some(query) = &insert.source else {
            return Err(err(
                ErrorKind::Unsupported,
                insert.table.span(),
                "INSERT needs a SELECT ... FROM <source> query",
            )
            .into());
        };
        let select = self.check_query_shape(query)?;

        // The source.
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
            )
            .into());
        };
        let source = self.table(source_name)?;
        let qualifier = alias
            .as_ref()
            .map_or_else(|| source.name.clone(), |a| a.name.value.clone());
        let full_schema = source.arrow_schema();
        let df_schema = DFSchema::try_from_qualified_schema(qualifier.as_str(), &full_schema)
            .map_err(|e| SqlError::at(ErrorKind::Table, None, e.to_string()))?;

        self.check_functions(select)?;

        let provider = Provider::new(source, &qualifier, self.functions);
        let sql_to_rel = SqlToRel::new_with_options(
            &provider,
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
                .with_schema(Arc::new(df_schema.clone()))
                .build(),
        );
        let rewriter = rewrite::Rewriter {
            source,
            schema: &df_schema,
        };
        let to_expr = |e: &ast::Expr| -> Result<Expr, SqlError> {
            sql_to_rel
                .sql_to_expr(e.clone(), &df_schema, &mut PlannerContext::new())
                .and_then(rewrite::narrow_int_literals)
                .and_then(|x| simplifier.coerce(x, &df_schema))
                .and_then(|x| rewriter.rewrite(x))
                .map_err(|d| planning_error(d, e.span()))
        };

        let mut errors = Vec::new();
        // SELECT items, with their spans and display names.
        let mut items: Vec<(Expr, Span, String)> = Vec::new();
        for item in &select.projection {
            match item {
                SelectItem::UnnamedExpr(e) => match to_expr(e) {
                    Ok(x) => items.push((x, e.span(), e.to_string())),
                    Err(x) => errors.push(x),
                },
                SelectItem::ExprWithAlias { expr, alias } => match to_expr(expr) {
                    Ok(x) => items.push((x, expr.span(), alias.value.clone())),
                    Err(x) => errors.push(x),
                },
                SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => {
                    for (q, f) in df_schema.iter() {
                        items.push((
                            Expr::Column(datafusion_common::Column::new(q.cloned(), f.name())),
                            item.span(),
                            f.name().clone(),
                        ));
                    }
                }
                other => errors.push(err(
                    ErrorKind::Unsupported,
                    other.span(),
                    "this SELECT item is not supported",
                )),
            }
        }
        let filter = match &select.selection {
            None => None,
            Some(w) => match to_expr(w) {
                Ok(x) => match x.get_type(&df_schema) {
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
                },
                Err(x) => {
                    errors.push(x);
                    None
                }
            },
        };
        if !errors.is_empty() {
            return Err(SqlErrors(errors));
        }

        // Match SELECT items to the sink's columns.
        let targets: Vec<usize> = if insert.columns.is_empty() {
            (0..sink.columns.len()).collect()
        } else {
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
            t
        };
        if !errors.is_empty() {
            return Err(SqlErrors(errors));
        }
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
        let mut outputs: Vec<Option<Expr>> = vec![None; sink.columns.len()];
        for ((expr, span, display), &target) in items.into_iter().zip(&targets) {
            let column = &sink.columns[target];
            if sink
                .partitioned_by
                .iter()
                .any(|p| sink.column_index(p) == Some(target))
                && let Some(function) = determinism::volatile_function(&expr)
            {
                errors.push(err(
                    ErrorKind::Unsupported,
                    span,
                    determinism::message(&display, &function, &sink.name, &column.name),
                ));
                continue;
            }
            let want = column.ty.to_arrow();
            let have = match expr.get_type(&df_schema) {
                Ok(t) => t,
                Err(e) => {
                    errors.push(planning_error(e, span));
                    continue;
                }
            };
            let from = rewriter
                .flink_type(&expr)
                .or_else(|| SqlType::from_arrow(&have));
            let assignable = have == want
                || have == DataType::Null
                || matches!(&expr, Expr::Literal(..))
                || from.as_ref().is_some_and(|from| column.ty.accepts(from));
            if !assignable {
                let t = from.map_or_else(|| have.to_string(), |t| t.to_string());
                errors.push(err(
                    ErrorKind::Type,
                    span,
                    format!(
                        "{display} is {t} but sink column {}.{} is {}; convert it with CAST({display} AS {})",
                        sink.name, column.name, column.ty, column.ty
                    ),
                ));
                continue;
            }
            // Flink's implicit cast: the CAST rules, so DECIMAL overflow gives NULL, a finer
            // TIMESTAMP is truncated, a longer string cut to VARCHAR(n).
            outputs[target] = Some(match &from {
                Some(from) => cast::plan_cast(expr, &have, from, &column.ty, false),
                None if have == want => expr,
                None => Expr::Cast(Cast::new(Box::new(expr), want)),
            });
        }
        if !errors.is_empty() {
            return Err(SqlErrors(errors));
        }
        let outputs: Vec<Expr> = outputs
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
            .collect();

        // Only the source columns the statement reads are decoded.
        let mut used = BTreeSet::new();
        for e in outputs.iter().chain(filter.iter()) {
            for c in e.column_refs() {
                if let Some(i) = source.column_index(&c.name) {
                    used.insert(i);
                }
            }
        }
        let input_columns: Vec<usize> = used.into_iter().collect();
        let input_schema: SchemaRef = Arc::new(Schema::new(
            input_columns
                .iter()
                .map(|&i| full_schema.field(i).clone())
                .collect::<Vec<Field>>(),
        ));
        let input_df = DFSchema::try_from_qualified_schema(qualifier.as_str(), &input_schema)
            .map_err(|e| SqlError::at(ErrorKind::Table, None, e.to_string()))?;
        let props = ExecutionProps::new();
        let ctx = PhysicalPlanningContext::default();
        let physical = |e: &Expr| {
            create_physical_expr(e, &input_df, &props, &ctx).map_err(|e| {
                SqlError::at(ErrorKind::Unsupported, None, format!("failed to plan: {e}"))
            })
        };
        let filter = filter.as_ref().map(physical).transpose()?;
        let outputs = outputs
            .iter()
            .map(physical)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(JobPlan {
            source: source.clone(),
            sink: sink.clone(),
            input_columns,
            input_schema,
            output_schema: sink.arrow_schema(),
            filter,
            outputs,
        })
    }

    fn table(&self, name: &ObjectName) -> Result<&TableDef, SqlError> {
        let n = table_name(name);
        self.catalog.get(&n).ok_or_else(|| {
            let hint = match did_you_mean(&n, self.catalog.names()) {
                Some(m) => format!("; did you mean {m}?"),
                None => {
                    let all: Vec<_> = self.catalog.names().collect();
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
    fn check_query_shape<'q>(&self, query: &'q ast::Query) -> Result<&'q ast::Select, SqlError> {
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
            SetExpr::Query(q) => return self.check_query_shape(q),
            other => {
                return Err(unsupported(
                    other.span(),
                    "UNION, VALUES and set operations",
                ));
            }
        };
        if let Some(d) = &select.distinct {
            let _ = d;
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
    fn check_functions(&self, select: &ast::Select) -> Result<(), SqlErrors> {
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
                if let Some(reason) = coverage::refusal(&lower) {
                    errors.push(err(ErrorKind::Unsupported, f.name.span(), reason));
                } else if f.over.is_some() {
                    errors.push(err(
                        ErrorKind::Unsupported,
                        f.name.span(),
                        "window functions (OVER) are not supported",
                    ));
                } else if self.functions.get(&lower).is_none()
                    && !BUILT_IN.contains(&lower.as_str())
                {
                    let hint = did_you_mean(&lower, self.functions.names())
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
}

fn unknown_column(name: &str, table: &TableDef) -> String {
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
fn planning_error(e: DataFusionError, fallback: Span) -> SqlError {
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

/// What the SQL planner sees: the source table, Flink's functions and types.
struct Provider {
    table_name: String,
    table: Arc<dyn TableSource>,
    functions: FunctionRegistry,
    planners: Vec<Arc<dyn ExprPlanner>>,
    options: ConfigOptions,
}

impl Provider {
    fn new(source: &TableDef, qualifier: &str, functions: &FunctionRegistry) -> Provider {
        let mut options = ConfigOptions::default();
        options.execution.time_zone = Some("UTC".to_owned());
        Provider {
            table_name: qualifier.to_owned(),
            table: Arc::new(LogicalTableSource::new(source.arrow_schema())),
            functions: functions.clone(),
            planners: vec![
                Arc::new(hooks::FlinkExprPlanner),
                Arc::new(datafusion_functions::unicode::planner::UnicodeFunctionPlanner),
                Arc::new(datafusion_functions::core::planner::CoreFunctionPlanner::default()),
            ],
            options,
        }
    }
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("table", &self.table_name)
            .finish()
    }
}

impl ContextProvider for Provider {
    fn get_table_source(
        &self,
        name: TableReference,
    ) -> datafusion_common::Result<Arc<dyn TableSource>> {
        if name.table() == self.table_name {
            Ok(Arc::clone(&self.table))
        } else {
            datafusion_common::plan_err!("table {name} is not the statement's source")
        }
    }

    fn get_function_meta(&self, name: &str) -> Option<Arc<ScalarUDF>> {
        self.functions.get(name)
    }

    fn get_higher_order_meta(&self, _name: &str) -> Option<Arc<HigherOrderUDF>> {
        None
    }

    fn get_aggregate_meta(&self, _name: &str) -> Option<Arc<AggregateUDF>> {
        None
    }

    fn get_window_meta(&self, _name: &str) -> Option<Arc<WindowUDF>> {
        None
    }

    fn get_variable_type(&self, _variable_names: &[String]) -> Option<DataType> {
        None
    }

    fn get_expr_planners(&self) -> &[Arc<dyn ExprPlanner>] {
        &self.planners
    }

    fn get_type_planner(&self) -> Option<Arc<dyn TypePlanner>> {
        Some(Arc::new(hooks::FlinkTypePlanner))
    }

    fn options(&self) -> &ConfigOptions {
        &self.options
    }

    fn udf_names(&self) -> Vec<String> {
        self.functions.names().map(str::to_owned).collect()
    }

    fn higher_order_function_names(&self) -> Vec<String> {
        Vec::new()
    }

    fn udaf_names(&self) -> Vec<String> {
        Vec::new()
    }

    fn udwf_names(&self) -> Vec<String> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion_common::arrow::array::{
        ArrayRef, AsArray, BooleanArray, Float64Array, Int32Array, StringArray,
    };
    use datafusion_common::arrow::datatypes::{Decimal128Type, Int32Type};

    fn table(name: &str, columns: &[(&str, &str)]) -> TableDef {
        TableDef {
            name: name.to_owned(),
            resource: format!("test/{name}"),
            connector: "filesystem".to_owned(),
            format: Some("json".to_owned()),
            columns: columns
                .iter()
                .map(|(n, t)| crate::Column {
                    name: (*n).to_owned(),
                    ty: SqlType::parse(t).unwrap(),
                    metadata: None,
                })
                .collect(),
            partitioned_by: Vec::new(),
            options: Default::default(),
            secret_options: Vec::new(),
        }
    }

    #[test]
    fn partition_values_from_the_clock_are_refused_and_other_columns_may_read_it() {
        let src = table("src", &[("ts", "TIMESTAMP(3)"), ("s", "STRING")]);
        let mut sink = table(
            "lake",
            &[("s", "STRING"), ("at", "TIMESTAMP(3)"), ("hr", "STRING")],
        );
        sink.partitioned_by = vec!["hr".to_owned()];
        let catalog = Catalog::new([src, sink]);
        let plan = |sql: &str| JobPlan::plan(sql, &catalog, &FunctionRegistry::flink());
        for clock in [
            "NOW()",
            "CURRENT_TIMESTAMP",
            "LOCALTIMESTAMP",
            "CAST(CURRENT_DATE AS TIMESTAMP(3))",
        ] {
            let sql = format!("INSERT INTO lake SELECT s, ts, DATE_FORMAT({clock}, 'HH') FROM src");
            let e = plan(&sql).expect_err(&sql).to_string();
            assert!(
                e.contains("chooses the partition (sink column lake.hr)")
                    && e.contains("Kafka timestamp")
                    && e.contains("line 1, column 32"),
                "{sql}: {e}"
            );
        }
        plan("INSERT INTO lake SELECT s, LOCALTIMESTAMP, DATE_FORMAT(ts, 'HH') FROM src").unwrap();
        // Parsing a value of the record is deterministic; reading the clock is not.
        plan("INSERT INTO lake SELECT s, ts, CAST(UNIX_TIMESTAMP(s) AS STRING) FROM src").unwrap();
        let e = plan("INSERT INTO lake SELECT s, ts, CAST(UNIX_TIMESTAMP() AS STRING) FROM src")
            .unwrap_err()
            .to_string();
        assert!(e.contains("UNIX_TIMESTAMP"), "{e}");
    }

    /// Plans `sql` from `src(d DOUBLE, n INT, s STRING, b BOOLEAN)` into `sink` and evaluates
    /// it on one row.
    fn run(sql: &str, sink: &[(&str, &str)], row: (f64, Option<i32>, &str, bool)) -> RecordBatch {
        let src = table(
            "src",
            &[
                ("d", "DOUBLE"),
                ("n", "INT"),
                ("s", "STRING"),
                ("b", "BOOLEAN"),
            ],
        );
        let catalog = Catalog::new([src, table("sink", sink)]);
        let plan = JobPlan::plan(sql, &catalog, &FunctionRegistry::flink())
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let all: Vec<ArrayRef> = vec![
            Arc::new(Float64Array::from(vec![row.0])),
            Arc::new(Int32Array::from(vec![row.1])),
            Arc::new(StringArray::from(vec![row.2])),
            Arc::new(BooleanArray::from(vec![row.3])),
        ];
        let columns = plan
            .input_columns
            .iter()
            .map(|&i| Arc::clone(&all[i]))
            .collect();
        let input = RecordBatch::try_new(Arc::clone(&plan.input_schema), columns).unwrap();
        plan.evaluate(&input).unwrap().batch
    }

    #[test]
    fn integer_literals_that_fit_are_int() {
        let out = run(
            "INSERT INTO sink SELECT COALESCE(n, 0), n + 2147483647 FROM src",
            &[("a", "INT"), ("b", "INT")],
            (0.0, Some(1), "", true),
        );
        assert_eq!(out.column(0).as_primitive::<Int32Type>().value(0), 1);
        assert_eq!(out.column(1).as_primitive::<Int32Type>().value(0), i32::MIN);
    }

    #[test]
    fn casts_and_implicit_casts_follow_flink() {
        let out = run(
            "INSERT INTO sink SELECT CAST(d AS STRING), CAST(b AS STRING), CAST(s AS INT), CONCAT('x', CAST(d AS STRING)), d FROM src",
            &[
                ("d", "STRING"),
                ("b", "STRING"),
                ("i", "INT"),
                ("c", "VARCHAR(4)"),
                ("dec", "DECIMAL(4, 1)"),
            ],
            (1e10, None, " 12 ", true),
        );
        let text = |i: usize| out.column(i).as_string::<i32>().value(0).to_owned();
        assert_eq!(text(0), "1.0E10");
        assert_eq!(text(1), "TRUE");
        assert_eq!(out.column(2).as_primitive::<Int32Type>().value(0), 12);
        assert_eq!(text(3), "x1.0");
        // DOUBLE into a too small DECIMAL: NULL, not an error.
        assert!(out.column(4).is_null(0));
    }

    #[test]
    fn like_escape_and_decimal_division() {
        let out = run(
            "INSERT INTO sink SELECT s LIKE 'a!%%' ESCAPE '!', CAST(n AS DECIMAL(10, 0)) / 3 FROM src",
            &[("l", "BOOLEAN"), ("q", "DECIMAL(38, 6)")],
            (0.0, Some(1), "a%c", true),
        );
        assert!(out.column(0).as_boolean().value(0));
        assert_eq!(
            out.column(1).as_primitive::<Decimal128Type>().value(0),
            333_333
        );
    }

    #[test]
    fn string_compared_with_an_int_literal_is_cast_to_int() {
        let sql = "INSERT INTO sink SELECT n FROM src WHERE s > 10";
        let sink = [("n", "INT")];
        assert_eq!(run(sql, &sink, (0.0, Some(1), " 11 ", true)).num_rows(), 1);
        assert_eq!(run(sql, &sink, (0.0, Some(1), "10.5", true)).num_rows(), 0);
    }
}
