//! Flink's `TYPEOF(x [, force_serializable])`: the summary of `x`'s Flink type
//! (`LogicalType.asSummaryString`, `INT`, `BIGINT NOT NULL`, `ROW<\`a\` INT>`). The type is known
//! at planning, so the planner (`planner::rewrite`) replaces the call by that text; this
//! function only gives the call its signature.

use std::sync::Arc;

use datafusion_common::arrow::datatypes::DataType;
use datafusion_common::{Result, exec_err, plan_err};
use datafusion_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

pub fn function() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(TypeOf {
        name: "typeof",
        signature: Signature::user_defined(Volatility::Immutable),
    }))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct TypeOf {
    name: &'static str,
    signature: Signature,
}

impl ScalarUDFImpl for TypeOf {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [_] => Ok(args.to_vec()),
            [_, DataType::Boolean] => Ok(args.to_vec()),
            _ => plan_err!("TYPEOF(value [, BOOLEAN force_serializable]) got {args:?}"),
        }
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        exec_err!("TYPEOF is replaced by its text at planning")
    }
}
