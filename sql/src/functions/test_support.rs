//! Calling UDFs directly in unit tests.

use std::sync::Arc;

use datafusion_common::ScalarValue;
use datafusion_common::arrow::array::{ArrayRef, AsArray};
use datafusion_common::arrow::datatypes::Field;
use datafusion_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl};

/// Invokes `udf` on `args` for `rows` rows and returns the result as an array.
pub(crate) fn call(udf: &dyn ScalarUDFImpl, args: Vec<ColumnarValue>, rows: usize) -> ArrayRef {
    let arg_fields = args
        .iter()
        .map(|a| Arc::new(Field::new("a", a.data_type(), true)))
        .collect();
    let ret = udf
        .return_type(
            &args
                .iter()
                .map(ColumnarValue::data_type)
                .collect::<Vec<_>>(),
        )
        .unwrap();
    udf.invoke_with_args(ScalarFunctionArgs {
        args,
        arg_fields,
        number_rows: rows,
        return_field: Arc::new(Field::new("r", ret, true)),
        config_options: Arc::default(),
    })
    .unwrap()
    .to_array(rows)
    .unwrap()
}

/// A string literal argument.
pub(crate) fn lit(s: &str) -> ColumnarValue {
    ColumnarValue::Scalar(ScalarValue::Utf8(Some(s.to_owned())))
}

/// The values of a string array.
pub(crate) fn strings(a: &ArrayRef) -> Vec<Option<&str>> {
    a.as_string::<i32>().iter().collect()
}
