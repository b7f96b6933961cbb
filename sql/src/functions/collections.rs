//! Flink's functions on ARRAY and MAP values: `CARDINALITY`, `ARRAY_CONTAINS`,
//! `ARRAY_POSITION`. A MAP is a list of (key, value) structs (see `SqlType::to_arrow`), so
//! `CARDINALITY` counts both alike.

use std::sync::Arc;

use datafusion_common::arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, Int32Builder, make_comparator,
};
use datafusion_common::arrow::compute::SortOptions;
use datafusion_common::arrow::datatypes::DataType;
use datafusion_common::{Result, exec_err, plan_err};
use datafusion_expr::type_coercion::binary::comparison_coercion;
use datafusion_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

pub fn functions() -> Vec<Arc<ScalarUDF>> {
    [Op::Cardinality, Op::Contains, Op::Position]
        .into_iter()
        .map(|op| {
            Arc::new(ScalarUDF::from(Collection {
                name: op.name(),
                op,
                signature: Signature::user_defined(Volatility::Immutable),
            }))
        })
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Op {
    Cardinality,
    Contains,
    Position,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Cardinality => "cardinality",
            Op::Contains => "array_contains",
            Op::Position => "array_position",
        }
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Collection {
    name: &'static str,
    op: Op,
    signature: Signature,
}

impl ScalarUDFImpl for Collection {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match (self.op, args) {
            (Op::Cardinality, [t @ DataType::List(_)]) => Ok(vec![t.clone()]),
            (Op::Contains | Op::Position, [t @ DataType::List(f), x]) => {
                let e = f.data_type();
                match comparison_coercion(e, x) {
                    Some(_) => Ok(vec![t.clone(), e.clone()]),
                    _ if x == &DataType::Null => Ok(vec![t.clone(), e.clone()]),
                    _ => plan_err!(
                        "{}(ARRAY, element): the element type {x} does not match the array's {e}",
                        self.name.to_uppercase()
                    ),
                }
            }
            _ => plan_err!(
                "{} takes {} (got {args:?})",
                self.name.to_uppercase(),
                if self.op == Op::Cardinality {
                    "an ARRAY or MAP"
                } else {
                    "an ARRAY and an element"
                }
            ),
        }
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(match self.op {
            Op::Contains => DataType::Boolean,
            Op::Cardinality | Op::Position => DataType::Int32,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let list = args.args[0].to_array(rows)?;
        let Some(list) = list.as_list_opt::<i32>() else {
            return exec_err!("{} of a non-list", self.name);
        };
        if self.op == Op::Cardinality {
            let mut b = Int32Builder::with_capacity(rows);
            for i in 0..rows {
                b.append_option(list.is_valid(i).then(|| list.value_length(i)));
            }
            return Ok(ColumnarValue::Array(Arc::new(b.finish())));
        }
        let needle: ArrayRef = args.args[1].to_array(rows)?;
        let values = list.values();
        let cmp = make_comparator(values.as_ref(), needle.as_ref(), SortOptions::default())?;
        let offsets = list.value_offsets();
        let mut found: Vec<Option<Option<usize>>> = Vec::with_capacity(rows);
        for i in 0..rows {
            if list.is_null(i) {
                found.push(None);
                continue;
            }
            let (start, end) = (offsets[i] as usize, offsets[i + 1] as usize);
            let hit = (start..end).position(|j| match (values.is_null(j), needle.is_null(i)) {
                (true, true) => true,
                (false, false) => cmp(j, i).is_eq(),
                _ => false,
            });
            found.push(Some(hit));
        }
        Ok(ColumnarValue::Array(match self.op {
            Op::Contains => {
                let mut b = BooleanBuilder::with_capacity(rows);
                for f in found {
                    b.append_option(f.map(|h| h.is_some()));
                }
                Arc::new(b.finish())
            }
            _ => {
                // A NULL needle has no position.
                let mut b = Int32Builder::with_capacity(rows);
                for (i, f) in found.into_iter().enumerate() {
                    b.append_option(match f {
                        Some(_) if needle.is_null(i) => None,
                        Some(h) => Some(h.map_or(0, |p| p as i32 + 1)),
                        None => None,
                    });
                }
                Arc::new(b.finish())
            }
        }))
    }
}
