//! Planning `INSERT INTO sink SELECT ... FROM source [WHERE ...]` onto DataFusion physical
//! expressions that run on Arrow record batches.
//!
//! sqlparser reads the statement (with spans, so every error names a line and column), with
//! Flink's syntax rewritten (`syntax`); `shape` checks it is one `INSERT` from one source table
//! (no joins or aggregations) calling functions that exist; `project` has DataFusion's
//! SQL-to-expression planner (seeing what `provider` shows it, with Flink's `hooks`) turn each
//! `SELECT` item and the `WHERE` clause into typed expressions over the source's columns,
//! `rewrite`s them the Flink way, and matches them to the sink's columns, cast where Flink casts
//! implicitly (a partition column only from deterministic values: `determinism`); `diagnostics`
//! turns every problem into a positioned error.

use std::collections::BTreeSet;
use std::sync::Arc;

use datafusion_common::arrow::array::{Array, BooleanArray, RecordBatch};
use datafusion_common::arrow::compute::filter_record_batch;
use datafusion_common::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion_common::{DFSchema, DataFusionError};
use datafusion_expr::Expr;
use datafusion_expr::execution_props::ExecutionProps;
use datafusion_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion_physical_expr::{PhysicalExpr, create_physical_expr};
use datafusion_sql::sqlparser::parser::Parser;

mod determinism;
mod diagnostics;
mod hooks;
mod project;
mod provider;
mod rewrite;
mod shape;
mod syntax;

use self::diagnostics::parse_error;
use self::project::Scope;
use self::provider::Provider;
use crate::catalog::{Catalog, TableDef};
use crate::dialect::FlinkDialect;
use crate::error::{ErrorKind, SqlError, SqlErrors};
use crate::functions::FunctionRegistry;

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

impl Planner<'_> {
    /// Parse, check the statement's shape, plan its expressions, match them to the sink, then
    /// make them physical over the columns they read. Errors of one stage are all collected
    /// before the next stage runs.
    fn plan(&self) -> Result<JobPlan, SqlErrors> {
        let mut statements = Parser::new(&FlinkDialect)
            .try_with_sql(self.sql)
            .and_then(|mut p| p.parse_statements())
            .map_err(parse_error)?;
        statements.iter_mut().for_each(syntax::rewrite);
        let insert = shape::the_insert(&statements)?;
        let sink = shape::sink(insert, self.catalog)?;
        let select = shape::select(insert)?;
        let (source, qualifier) = shape::source(select, self.catalog)?;
        let full_schema = source.arrow_schema();
        let df_schema = qualified(&qualifier, &full_schema)?;
        shape::check_functions(select, self.functions)?;

        let provider = Provider::new(source, &qualifier, self.functions);
        let scope = Scope::new(&provider, source, &df_schema);
        let (items, filter) = scope.select(select)?;
        let outputs = scope.sink_outputs(items, insert, select, sink)?;

        let input_columns = read_columns(source, outputs.iter().chain(filter.iter()));
        let input_schema: SchemaRef = Arc::new(Schema::new(
            input_columns
                .iter()
                .map(|&i| full_schema.field(i).clone())
                .collect::<Vec<Field>>(),
        ));
        let input_df = qualified(&qualifier, &input_schema)?;
        let props = ExecutionProps::new();
        let to_physical = |e: &Expr| physical(e, &input_df, &props);
        let filter = filter.as_ref().map(to_physical).transpose()?;
        let outputs = outputs
            .iter()
            .map(to_physical)
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
}

/// `schema`'s columns qualified with the name the statement gives the source.
fn qualified(qualifier: &str, schema: &Schema) -> Result<DFSchema, SqlError> {
    DFSchema::try_from_qualified_schema(qualifier, schema)
        .map_err(|e| SqlError::at(ErrorKind::Table, None, e.to_string()))
}

/// Indices of the source columns `exprs` read, ascending: only these are decoded.
fn read_columns<'e>(source: &TableDef, exprs: impl Iterator<Item = &'e Expr>) -> Vec<usize> {
    let mut used = BTreeSet::new();
    for e in exprs {
        for c in e.column_refs() {
            if let Some(i) = source.column_index(&c.name) {
                used.insert(i);
            }
        }
    }
    used.into_iter().collect()
}

/// A planned expression as a physical one over the decoded columns.
fn physical(
    e: &Expr,
    input: &DFSchema,
    props: &ExecutionProps,
) -> Result<Arc<dyn PhysicalExpr>, SqlError> {
    create_physical_expr(e, input, props, &PhysicalPlanningContext::default())
        .map_err(|e| SqlError::at(ErrorKind::Unsupported, None, format!("failed to plan: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion_common::arrow::array::{
        ArrayRef, AsArray, BooleanArray, Float64Array, Int32Array, StringArray,
    };
    use datafusion_common::arrow::datatypes::{Decimal128Type, Int32Type};

    fn table(name: &str, columns: &[(&str, &str)]) -> TableDef {
        TableDef::for_test(name, columns)
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
