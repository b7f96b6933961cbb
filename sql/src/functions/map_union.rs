//! Flink's `MAP_UNION(map1, map2, ...)` (`MapUnionFunction`): the maps merged, a key of a later
//! map replacing the same key of an earlier one. Each step puts the later map's entries first,
//! then the earlier map's entries whose key it does not have (a NULL key is dropped when the later
//! map has one too), so `MAP_UNION(MAP['a', 1, 'b', 2], MAP['b', 3])` is `{b: 3, a: 1}`. A NULL
//! map makes the result NULL; an empty one changes nothing.

use std::cmp::Ordering;
use std::sync::Arc;

use datafusion_common::arrow::array::{
    Array, ArrayRef, AsArray, ListArray, StructArray, make_comparator,
};
use datafusion_common::arrow::buffer::OffsetBuffer;
use datafusion_common::arrow::compute::{SortOptions, interleave};
use datafusion_common::arrow::datatypes::DataType;
use datafusion_common::{Result, exec_err, plan_err};
use datafusion_expr::type_coercion::binary::comparison_coercion;
use datafusion_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use super::collections::entries_type;
use crate::types::MAP_ENTRIES;

pub fn function() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(MapUnion {
        name: "map_union",
        signature: Signature::user_defined(Volatility::Immutable),
    }))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct MapUnion {
    name: &'static str,
    signature: Signature,
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

impl ScalarUDFImpl for MapUnion {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        if args.is_empty() {
            return plan_err!("MAP_UNION needs at least one MAP");
        }
        let (mut key, mut value) = (DataType::Null, DataType::Null);
        for t in args {
            let Some((k, v)) = map_types(t) else {
                return plan_err!("MAP_UNION takes MAPs, got {t}");
            };
            match (comparison_coercion(&key, k), comparison_coercion(&value, v)) {
                (Some(k), Some(v)) => (key, value) = (k, v),
                _ => return plan_err!("MAP_UNION: the maps' key or value types differ ({t})"),
            }
        }
        Ok(vec![entries_type(&key, &value); args.len()])
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args[0].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let maps = args
            .args
            .iter()
            .map(|a| a.to_array(rows))
            .collect::<Result<Vec<ArrayRef>>>()?;
        let lists: Vec<&ListArray> = maps.iter().map(|m| m.as_list::<i32>()).collect();
        let entries: Vec<&StructArray> = lists.iter().map(|l| l.values().as_struct()).collect();
        let keys: Vec<&dyn Array> = entries.iter().map(|e| e.column(0).as_ref()).collect();
        let values: Vec<&dyn Array> = entries.iter().map(|e| e.column(1).as_ref()).collect();
        // Key equality across the maps' key columns.
        let mut equal = Vec::with_capacity(keys.len());
        for a in &keys {
            let mut row = Vec::with_capacity(keys.len());
            for b in &keys {
                row.push(make_comparator(*a, *b, SortOptions::default())?);
            }
            equal.push(row);
        }
        let mut picks: Vec<(usize, usize)> = Vec::new();
        let (mut lengths, mut valid) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
        for row in 0..rows {
            if lists.iter().any(|l| l.is_null(row)) {
                lengths.push(0);
                valid.push(false);
                continue;
            }
            let range = |m: usize| {
                let o = lists[m].value_offsets();
                (o[row] as usize..o[row + 1] as usize).map(move |i| (m, i))
            };
            let mut result: Vec<(usize, usize)> = range(0).collect();
            for m in 1..lists.len() {
                let later: Vec<(usize, usize)> = range(m).collect();
                if later.is_empty() {
                    continue;
                }
                let later_has_null = later.iter().any(|&(lm, li)| keys[lm].is_null(li));
                let mut merged = later.clone();
                for &(em, ei) in &result {
                    let null = keys[em].is_null(ei);
                    if null && later_has_null {
                        continue;
                    }
                    let exists = !null
                        && later.iter().any(|&(lm, li)| {
                            !keys[lm].is_null(li) && equal[em][lm](ei, li) == Ordering::Equal
                        });
                    if !exists {
                        merged.push((em, ei));
                    }
                }
                result = merged;
            }
            lengths.push(result.len());
            valid.push(true);
            picks.extend(result);
        }
        let (DataType::List(field), DataType::Struct(fields)) =
            (maps[0].data_type().clone(), entries[0].data_type().clone())
        else {
            return exec_err!("MAP_UNION: not a map");
        };
        let out = StructArray::try_new(
            fields,
            vec![interleave(&keys, &picks)?, interleave(&values, &picks)?],
            None,
        )?;
        Ok(ColumnarValue::Array(Arc::new(ListArray::new(
            field,
            OffsetBuffer::from_lengths(lengths),
            Arc::new(out),
            Some(valid.into()),
        ))))
    }
}
