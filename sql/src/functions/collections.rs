//! Flink's functions on ARRAY and MAP values: `CARDINALITY`, `ARRAY_CONTAINS`,
//! `ARRAY_POSITION`, `ARRAY_REVERSE`, `ELEMENT`, `MAP_KEYS`, `MAP_VALUES`, `MAP_ENTRIES` (an
//! ARRAY of ROW(key, value)). A MAP is a list of
//! (key, value) structs (see `SqlType::to_arrow`), so `CARDINALITY` counts both alike and the
//! keys and values of a map are its structs' columns, in the map's order.

use std::sync::Arc;

use datafusion_common::arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, Int32Builder, ListArray, StructArray, UInt32Array,
    make_comparator,
};
use datafusion_common::arrow::compute::{SortOptions, take};
use datafusion_common::arrow::datatypes::{DataType, Field};

use crate::types::MAP_ENTRIES;
use datafusion_common::{Result, exec_err, plan_err};
use datafusion_expr::type_coercion::binary::comparison_coercion;
use datafusion_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

pub fn functions() -> Vec<Arc<ScalarUDF>> {
    [
        Op::Cardinality,
        Op::Contains,
        Op::Position,
        Op::Reverse,
        Op::Element,
        Op::Keys,
        Op::Values,
        Op::Entries,
    ]
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
    Reverse,
    Element,
    Keys,
    Values,
    Entries,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Cardinality => "cardinality",
            Op::Contains => "array_contains",
            Op::Position => "array_position",
            Op::Reverse => "array_reverse",
            Op::Element => "element",
            Op::Keys => "map_keys",
            Op::Values => "map_values",
            Op::Entries => "map_entries",
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
            (Op::Cardinality | Op::Reverse | Op::Element, [t @ DataType::List(_)]) => {
                Ok(vec![t.clone()])
            }
            (Op::Keys | Op::Values | Op::Entries, [t @ DataType::List(f)])
                if f.name() == MAP_ENTRIES =>
            {
                Ok(vec![t.clone()])
            }
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
                if matches!(self.op, Op::Cardinality | Op::Reverse | Op::Element) {
                    "an ARRAY or MAP"
                } else {
                    "an ARRAY (a MAP for MAP_KEYS/MAP_VALUES) and an element"
                }
            ),
        }
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(match (self.op, args.first()) {
            (Op::Contains, _) => DataType::Boolean,
            (Op::Cardinality | Op::Position, _) => DataType::Int32,
            (Op::Reverse, Some(t)) => t.clone(),
            (Op::Element, Some(DataType::List(f))) => f.data_type().clone(),
            (Op::Entries, Some(DataType::List(f))) => {
                DataType::List(Arc::new(Field::new("element", f.data_type().clone(), true)))
            }
            (Op::Keys | Op::Values, Some(DataType::List(f))) => match f.data_type() {
                DataType::Struct(kv) if kv.len() == 2 => DataType::List(Arc::new(Field::new(
                    "element",
                    kv[usize::from(self.op == Op::Values)].data_type().clone(),
                    true,
                ))),
                other => return exec_err!("{} of {other}", self.name),
            },
            (_, other) => return exec_err!("{} of {other:?}", self.name),
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let list = args.args[0].to_array(rows)?;
        let Some(list) = list.as_list_opt::<i32>() else {
            return exec_err!("{} of a non-list", self.name);
        };
        match self.op {
            Op::Reverse => return Ok(ColumnarValue::Array(reverse(list)?)),
            Op::Element => return Ok(ColumnarValue::Array(element(list)?)),
            Op::Entries => {
                let field = Arc::new(Field::new(
                    "element",
                    list.values().data_type().clone(),
                    true,
                ));
                return Ok(ColumnarValue::Array(Arc::new(ListArray::new(
                    field,
                    list.offsets().clone(),
                    Arc::clone(list.values()),
                    list.nulls().cloned(),
                ))));
            }
            Op::Keys | Op::Values => {
                let entries = list.values().as_struct();
                let column = Arc::clone(entries.column(usize::from(self.op == Op::Values)));
                let field = Arc::new(Field::new("element", column.data_type().clone(), true));
                return Ok(ColumnarValue::Array(Arc::new(ListArray::new(
                    field,
                    list.offsets().clone(),
                    column,
                    list.nulls().cloned(),
                ))));
            }
            _ => {}
        }
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

/// Each row's elements in reverse order.
fn reverse(list: &ListArray) -> Result<ArrayRef> {
    let offsets = list.value_offsets();
    let mut indices = Vec::with_capacity(list.values().len());
    for i in 0..list.len() {
        let (start, end) = (offsets[i] as u32, offsets[i + 1] as u32);
        indices.extend((start..end).rev());
    }
    let values = take(list.values().as_ref(), &UInt32Array::from(indices), None)?;
    let DataType::List(field) = list.data_type() else {
        return exec_err!("ARRAY_REVERSE of a non-list");
    };
    // Rows keep their lengths, so the offsets are those of the input, rebased to 0.
    let first = offsets[0];
    let rebased: Vec<i32> = offsets.iter().map(|o| o - first).collect();
    Ok(Arc::new(ListArray::new(
        Arc::clone(field),
        datafusion_common::arrow::buffer::OffsetBuffer::new(rebased.into()),
        values,
        list.nulls().cloned(),
    )))
}

/// `ELEMENT(array)`: the only element, NULL for an empty or NULL array; more than one element
/// fails the job, as in Flink.
fn element(list: &ListArray) -> Result<ArrayRef> {
    let offsets = list.value_offsets();
    let mut indices: Vec<Option<u32>> = Vec::with_capacity(list.len());
    for i in 0..list.len() {
        let (start, end) = (offsets[i], offsets[i + 1]);
        indices.push(match end - start {
            _ if list.is_null(i) => None,
            0 => None,
            1 => Some(start as u32),
            _ => return exec_err!("ELEMENT: the array has more than one element"),
        });
    }
    Ok(take(
        list.values().as_ref(),
        &UInt32Array::from(indices),
        None,
    )?)
}

/// `MAP_FROM_ARRAYS(keys, values)`: the entries `keys[i] → values[i]` in order; NULL if
/// either array is; arrays of different lengths fail the job, as in Flink.
pub fn map_from_arrays() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(MapFromArrays {
        name: "map_from_arrays",
        signature: Signature::user_defined(Volatility::Immutable),
    }))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct MapFromArrays {
    name: &'static str,
    signature: Signature,
}

impl ScalarUDFImpl for MapFromArrays {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [k @ DataType::List(_), v @ DataType::List(_)] => Ok(vec![k.clone(), v.clone()]),
            _ => plan_err!("MAP_FROM_ARRAYS(ARRAY keys, ARRAY values) got {args:?}"),
        }
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        let (DataType::List(k), DataType::List(v)) = (&args[0], &args[1]) else {
            return plan_err!("MAP_FROM_ARRAYS takes two arrays");
        };
        Ok(entries_type(k.data_type(), v.data_type()))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let (k, v) = (args.args[0].to_array(rows)?, args.args[1].to_array(rows)?);
        let (k, v) = (k.as_list::<i32>(), v.as_list::<i32>());
        let (ko, vo) = (k.value_offsets(), v.value_offsets());
        let mut key_picks: Vec<u32> = Vec::new();
        let mut value_picks: Vec<u32> = Vec::new();
        let mut lengths = Vec::with_capacity(rows);
        let mut valid = Vec::with_capacity(rows);
        for i in 0..rows {
            if k.is_null(i) || v.is_null(i) {
                valid.push(false);
                lengths.push(0);
                continue;
            }
            let (kn, vn) = (ko[i + 1] - ko[i], vo[i + 1] - vo[i]);
            if kn != vn {
                return exec_err!(
                    "MAP_FROM_ARRAYS: the keys array has {kn} elements and the values array {vn}"
                );
            }
            key_picks.extend((ko[i]..ko[i + 1]).map(|j| j as u32));
            value_picks.extend((vo[i]..vo[i + 1]).map(|j| j as u32));
            valid.push(true);
            lengths.push(kn as usize);
        }
        let keys = take(k.values().as_ref(), &UInt32Array::from(key_picks), None)?;
        let values = take(v.values().as_ref(), &UInt32Array::from(value_picks), None)?;
        let DataType::List(field) = entries_type(keys.data_type(), values.data_type()) else {
            return exec_err!("MAP_FROM_ARRAYS: no entries type");
        };
        let DataType::Struct(fields) = field.data_type().clone() else {
            return exec_err!("MAP_FROM_ARRAYS: no entries type");
        };
        let entries = StructArray::try_new(fields, vec![keys, values], None)?;
        Ok(ColumnarValue::Array(Arc::new(ListArray::new(
            field,
            datafusion_common::arrow::buffer::OffsetBuffer::from_lengths(lengths),
            Arc::new(entries),
            Some(valid.into()),
        ))))
    }
}

/// The Arrow type of a Sluice MAP (`SqlType::to_arrow`).
pub(super) fn entries_type(k: &DataType, v: &DataType) -> DataType {
    DataType::List(Arc::new(Field::new(
        MAP_ENTRIES,
        DataType::Struct(
            vec![
                Field::new("key", k.clone(), true),
                Field::new("value", v.clone(), true),
            ]
            .into(),
        ),
        false,
    )))
}
