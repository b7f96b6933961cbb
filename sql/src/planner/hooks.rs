//! Flink's meaning for the SQL forms DataFusion's SQL planner asks its planners about: type
//! names in `CAST`, `EXTRACT`, `SUBSTRING`, `ARRAY[...]`, `MAP[...]`, `row.field`, `arr[i]`
//! and `map[key]`.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion_common::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion_common::{DFSchema, ScalarValue};
use datafusion_expr::expr::ScalarFunction;
use datafusion_expr::planner::{ExprPlanner, PlannerResult, RawFieldAccessExpr, TypePlanner};
use datafusion_expr::{Expr, ExprSchemable, GetFieldAccess};
use datafusion_sql::sqlparser::ast;

use crate::functions::nested;
use crate::functions::{extract, overlay, substring};
use crate::types::{MAP_ENTRIES, SqlType};

/// Field metadata key holding the Flink type of a `CAST` target (`TIMESTAMP(0)`, `CHAR(4)`),
/// which its Arrow type does not fully say.
pub const FLINK_TYPE: &str = "flink.type";

/// Flink's `EXTRACT`, `SUBSTRING`, constructors and element access.
#[derive(Debug)]
pub(super) struct FlinkExprPlanner;

fn call(f: Arc<datafusion_expr::ScalarUDF>, args: Vec<Expr>) -> Expr {
    Expr::ScalarFunction(ScalarFunction::new_udf(f, args))
}

impl ExprPlanner for FlinkExprPlanner {
    fn plan_extract(&self, args: Vec<Expr>) -> datafusion_common::Result<PlannerResult<Vec<Expr>>> {
        let [unit, value] = <[Expr; 2]>::try_from(args).map_err(|_| {
            datafusion_common::DataFusionError::Plan("EXTRACT(unit FROM value)".to_owned())
        })?;
        let name = string_literal(&unit).unwrap_or_default().to_owned();
        match extract(&name) {
            Some(f) => Ok(PlannerResult::Planned(call(f, vec![value]))),
            None => datafusion_common::plan_err!("EXTRACT({name} FROM ...) is not supported"),
        }
    }

    fn plan_substring(
        &self,
        args: Vec<Expr>,
    ) -> datafusion_common::Result<PlannerResult<Vec<Expr>>> {
        Ok(PlannerResult::Planned(call(substring(), args)))
    }

    fn plan_overlay(&self, args: Vec<Expr>) -> datafusion_common::Result<PlannerResult<Vec<Expr>>> {
        Ok(PlannerResult::Planned(call(overlay(), args)))
    }

    fn plan_array_literal(
        &self,
        exprs: Vec<Expr>,
        _schema: &DFSchema,
    ) -> datafusion_common::Result<PlannerResult<Vec<Expr>>> {
        Ok(PlannerResult::Planned(call(nested::make_array(), exprs)))
    }

    fn plan_make_map(
        &self,
        args: Vec<Expr>,
    ) -> datafusion_common::Result<PlannerResult<Vec<Expr>>> {
        Ok(PlannerResult::Planned(call(nested::make_map(), args)))
    }

    fn plan_field_access(
        &self,
        expr: RawFieldAccessExpr,
        schema: &DFSchema,
    ) -> datafusion_common::Result<PlannerResult<RawFieldAccessExpr>> {
        let ty = expr.expr.get_type(schema)?;
        let is_map = matches!(&ty, DataType::List(f) if f.name() == MAP_ENTRIES);
        let RawFieldAccessExpr { field_access, expr } = expr;
        match (field_access, &ty) {
            (GetFieldAccess::NamedStructField { name }, DataType::Struct(_)) => {
                Ok(PlannerResult::Planned(call(
                    datafusion_functions::core::get_field(),
                    vec![expr, Expr::Literal(name, None)],
                )))
            }
            (GetFieldAccess::NamedStructField { name }, _) if is_map => Ok(PlannerResult::Planned(
                call(nested::map_get(), vec![expr, Expr::Literal(name, None)]),
            )),
            (GetFieldAccess::ListIndex { key }, _) if is_map => Ok(PlannerResult::Planned(call(
                nested::map_get(),
                vec![expr, *key],
            ))),
            (GetFieldAccess::ListIndex { key }, DataType::List(_)) => Ok(PlannerResult::Planned(
                call(nested::array_element(), vec![expr, *key]),
            )),
            (field_access, _) => Ok(PlannerResult::Original(RawFieldAccessExpr {
                field_access,
                expr,
            })),
        }
    }
}

/// Flink's type names in `CAST(x AS ...)`: `STRING`, `TIMESTAMP(3)`, `TIMESTAMP_LTZ(3)`, `BYTES`,
/// ..., with the Flink type in the field's metadata ([`FLINK_TYPE`]).
#[derive(Debug)]
pub(super) struct FlinkTypePlanner;

impl TypePlanner for FlinkTypePlanner {
    fn plan_type_field(
        &self,
        sql_type: &ast::DataType,
    ) -> datafusion_common::Result<Option<FieldRef>> {
        Ok(SqlType::parse(&sql_type.to_string()).ok().map(|t| {
            Arc::new(
                Field::new("", t.to_arrow(), t.nullable)
                    .with_metadata(HashMap::from([(FLINK_TYPE.to_owned(), t.to_string())])),
            )
        }))
    }
}

/// The Flink type a `CAST` names, from its field.
pub(super) fn cast_target(field: &Field) -> Option<SqlType> {
    match field.metadata().get(FLINK_TYPE) {
        Some(t) => SqlType::parse(t).ok(),
        None => SqlType::from_arrow(field.data_type()),
    }
}

/// The text of a string literal, if `e` is one.
fn string_literal(e: &Expr) -> Option<&str> {
    match e {
        Expr::Literal(ScalarValue::Utf8(Some(s)), _) => Some(s),
        _ => None,
    }
}
