//! `ARRAY[...]`, `MAP[...]`, `arr[i]` and `map[key]`. A MAP is a list of (key, value) structs
//! (see `SqlType::to_arrow`), in insertion order, and may hold a NULL key as Flink's may.

use std::sync::Arc;

use datafusion_common::arrow::array::{
    Array, ArrayRef, AsArray, Int64Array, ListArray, StructArray, UInt32Array, make_comparator,
    new_null_array,
};
use datafusion_common::arrow::buffer::OffsetBuffer;
use datafusion_common::arrow::compute::{SortOptions, cast, interleave, take};
use datafusion_common::arrow::datatypes::{DataType, Field, Fields};
use datafusion_common::{Result, plan_err};
use datafusion_expr::type_coercion::binary::comparison_coercion;
use datafusion_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::types::MAP_ENTRIES;

/// `ARRAY[a, b, ...]`.
pub fn make_array() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(MakeArray::new()))
}

/// `MAP[k1, v1, k2, v2, ...]`.
pub fn make_map() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(MakeMap::new()))
}

/// `arr[i]`: 1-based, NULL out of range.
pub fn array_element() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(ArrayElement::new()))
}

/// `map[key]`: the value of the key, NULL when absent.
pub fn map_get() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(MapGet::new()))
}

/// The type every one of `types` converts to.
fn common_type(types: &[&DataType]) -> Result<DataType> {
    let mut common = DataType::Null;
    for t in types {
        common = match comparison_coercion(&common, t) {
            Some(c) => c,
            None => return plan_err!("no common type for {common} and {t}"),
        };
    }
    Ok(common)
}

/// The arguments as arrays of `rows` rows.
fn arrays(args: &[ColumnarValue], rows: usize) -> Result<Vec<ArrayRef>> {
    args.iter().map(|a| a.to_array(rows)).collect()
}

/// Row `r` of the result takes `per_row` values, one from each array in turn.
fn interleaved(arrays: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let refs: Vec<&dyn Array> = arrays.iter().map(|a| a.as_ref()).collect();
    let indices: Vec<(usize, usize)> = (0..rows)
        .flat_map(|r| (0..arrays.len()).map(move |a| (a, r)))
        .collect();
    Ok(interleave(&refs, &indices)?)
}

fn list_of(field: Arc<Field>, values: ArrayRef, rows: usize, per_row: usize) -> ListArray {
    let offsets = OffsetBuffer::from_lengths(std::iter::repeat_n(per_row, rows));
    ListArray::new(field, offsets, values, None)
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct MakeArray {
    name: &'static str,
    signature: Signature,
}

impl MakeArray {
    fn new() -> Self {
        MakeArray {
            name: "array",
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for MakeArray {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let t = common_type(&args.iter().collect::<Vec<_>>())?;
        Ok(vec![t; args.len()])
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        let t = args.first().cloned().unwrap_or(DataType::Null);
        Ok(DataType::List(Arc::new(Field::new("element", t, true))))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let DataType::List(field) = args.return_field.data_type().clone() else {
            return plan_err!("ARRAY[...] returns a list");
        };
        let arrays = arrays(&args.args, rows)?;
        let values = if arrays.is_empty() {
            new_null_array(field.data_type(), 0)
        } else {
            interleaved(&arrays, rows)?
        };
        Ok(ColumnarValue::Array(Arc::new(list_of(
            field,
            values,
            rows,
            arrays.len(),
        ))))
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct MakeMap {
    name: &'static str,
    signature: Signature,
}

impl MakeMap {
    fn new() -> Self {
        MakeMap {
            name: "map",
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

fn entries_field(key: DataType, value: DataType) -> Arc<Field> {
    Arc::new(Field::new(
        MAP_ENTRIES,
        DataType::Struct(Fields::from(vec![
            Field::new("key", key, true),
            Field::new("value", value, true),
        ])),
        false,
    ))
}

impl ScalarUDFImpl for MakeMap {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        if args.is_empty() || !args.len().is_multiple_of(2) {
            return plan_err!("MAP[key, value, ...] needs pairs of arguments");
        }
        let k = common_type(&args.iter().step_by(2).collect::<Vec<_>>())?;
        let v = common_type(&args.iter().skip(1).step_by(2).collect::<Vec<_>>())?;
        Ok(args
            .iter()
            .enumerate()
            .map(|(i, _)| if i % 2 == 0 { k.clone() } else { v.clone() })
            .collect())
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        let k = args.first().cloned().unwrap_or(DataType::Null);
        let v = args.get(1).cloned().unwrap_or(DataType::Null);
        Ok(DataType::List(entries_field(k, v)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let DataType::List(field) = args.return_field.data_type().clone() else {
            return plan_err!("MAP[...] returns a list of entries");
        };
        let DataType::Struct(kv) = field.data_type().clone() else {
            return plan_err!("MAP[...] entries are structs");
        };
        let arrays = arrays(&args.args, rows)?;
        let keys: Vec<ArrayRef> = arrays.iter().step_by(2).cloned().collect();
        let values: Vec<ArrayRef> = arrays.iter().skip(1).step_by(2).cloned().collect();
        let entries = StructArray::try_new(
            kv,
            vec![interleaved(&keys, rows)?, interleaved(&values, rows)?],
            None,
        )?;
        Ok(ColumnarValue::Array(Arc::new(list_of(
            field,
            Arc::new(entries),
            rows,
            keys.len(),
        ))))
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct ArrayElement {
    name: &'static str,
    signature: Signature,
}

impl ArrayElement {
    fn new() -> Self {
        ArrayElement {
            name: "array_element",
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for ArrayElement {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [l @ DataType::List(_), i] if i.is_integer() || i == &DataType::Null => {
                Ok(vec![l.clone(), DataType::Int64])
            }
            _ => plan_err!("array[index] needs an ARRAY and an integer, got {args:?}"),
        }
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match &args[0] {
            DataType::List(f) => Ok(f.data_type().clone()),
            other => plan_err!("array[index] on {other}"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let list = args.args[0].to_array(rows)?;
        let list = list.as_list::<i32>();
        let index = args.args[1].to_array(rows)?;
        let index = cast(&index, &DataType::Int64)?;
        let index = index.as_primitive::<datafusion_common::arrow::datatypes::Int64Type>();
        let offsets = list.value_offsets();
        let take_at: UInt32Array = (0..rows)
            .map(|r| {
                if list.is_null(r) || index.is_null(r) {
                    return None;
                }
                let (start, end) = (i64::from(offsets[r]), i64::from(offsets[r + 1]));
                let at = start + index.value(r) - 1;
                (index.value(r) >= 1 && at < end).then_some(at as u32)
            })
            .collect();
        Ok(ColumnarValue::Array(take(list.values(), &take_at, None)?))
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct MapGet {
    name: &'static str,
    signature: Signature,
}

impl MapGet {
    fn new() -> Self {
        MapGet {
            name: "map_get",
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

fn map_types(t: &DataType) -> Option<(&DataType, &DataType)> {
    match t {
        DataType::List(f) if f.name() == MAP_ENTRIES => match f.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => Some((kv[0].data_type(), kv[1].data_type())),
            _ => None,
        },
        _ => None,
    }
}

impl ScalarUDFImpl for MapGet {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [m, _] if map_types(m).is_some() => {
                let (k, _) = map_types(m).unwrap_or((&DataType::Null, &DataType::Null));
                Ok(vec![m.clone(), k.clone()])
            }
            _ => plan_err!("map[key] needs a MAP, got {args:?}"),
        }
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match map_types(&args[0]) {
            Some((_, v)) => Ok(v.clone()),
            None => plan_err!("map[key] on {}", args[0]),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let map = args.args[0].to_array(rows)?;
        let map = map.as_list::<i32>();
        let entries = map.values().as_struct();
        let (keys, values) = (entries.column(0), entries.column(1));
        let wanted = args.args[1].to_array(rows)?;
        let compare = make_comparator(keys.as_ref(), wanted.as_ref(), SortOptions::default())?;
        let offsets = map.value_offsets();
        let take_at: Int64Array = (0..rows)
            .map(|r| {
                if map.is_null(r) || wanted.is_null(r) {
                    return None;
                }
                (offsets[r]..offsets[r + 1])
                    .rev()
                    .map(|e| e as usize)
                    .find(|&e| keys.is_valid(e) && compare(e, r).is_eq())
                    .map(|e| e as i64)
            })
            .collect();
        Ok(ColumnarValue::Array(take(values, &take_at, None)?))
    }
}
