//! Flink's functions that build an ARRAY from another: `ARRAY_APPEND`, `ARRAY_PREPEND`,
//! `ARRAY_REMOVE`, `ARRAY_DISTINCT`, `ARRAY_SORT` (ascending, NULLs first), `ARRAY_CONCAT`
//! (NULL if either array is), `ARRAY_SLICE`, `ARRAY_UNION`, `ARRAY_INTERSECT`, `ARRAY_EXCEPT`
//! (distinct elements, in first-seen order; NULL if either array is; as in Flink, `-0.0` and
//! `0.0` are one element when deduplicating but different when looked up in the other array),
//! and that reduce
//! one: `ARRAY_MIN`, `ARRAY_MAX` (NULL elements skipped; NULL for an empty array) and
//! `ARRAY_JOIN(array, separator[, null_replacement])` (NULL elements skipped unless replaced).
//! A NULL array gives NULL. Elements are compared as `ARRAY_CONTAINS` compares them (a NULL
//! equals a NULL; DOUBLE `-0.0` equals `0.0`).

use std::cmp::Ordering;
use std::sync::Arc;

use datafusion_common::arrow::array::{
    Array, ArrayRef, AsArray, ListArray, StringBuilder, UInt32Array, make_comparator,
};
use datafusion_common::arrow::buffer::OffsetBuffer;
use datafusion_common::arrow::compute::{SortOptions, cast, concat, take};
use datafusion_common::arrow::datatypes::{DataType, Float32Type, Float64Type, Int64Type};
use datafusion_common::{Result, exec_err, plan_err};
use datafusion_expr::type_coercion::binary::comparison_coercion;
use datafusion_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use super::args::is_string;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Op {
    Append,
    Prepend,
    Remove,
    Distinct,
    Sort,
    Min,
    Max,
    Join,
    Concat,
    Slice,
    Union,
    Intersect,
    Except,
}

pub fn functions() -> Vec<Arc<ScalarUDF>> {
    [
        ("array_append", Op::Append),
        ("array_prepend", Op::Prepend),
        ("array_remove", Op::Remove),
        ("array_distinct", Op::Distinct),
        ("array_sort", Op::Sort),
        ("array_min", Op::Min),
        ("array_max", Op::Max),
        ("array_join", Op::Join),
        ("array_concat", Op::Concat),
        ("array_slice", Op::Slice),
        ("array_union", Op::Union),
        ("array_intersect", Op::Intersect),
        ("array_except", Op::Except),
    ]
    .into_iter()
    .map(|(name, op)| {
        Arc::new(ScalarUDF::from(ArrayEdit {
            name,
            op,
            signature: Signature::user_defined(Volatility::Immutable),
        }))
    })
    .collect()
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct ArrayEdit {
    name: &'static str,
    op: Op,
    signature: Signature,
}

impl ScalarUDFImpl for ArrayEdit {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let upper = self.name.to_uppercase();
        let Some(t @ DataType::List(f)) = args.first() else {
            return plan_err!("{upper} takes an ARRAY first, got {args:?}");
        };
        let e = f.data_type();
        match (self.op, &args[1..]) {
            (Op::Distinct | Op::Sort | Op::Min | Op::Max, []) => Ok(vec![t.clone()]),
            (Op::Append | Op::Prepend | Op::Remove, [x]) => match comparison_coercion(e, x) {
                Some(_) => Ok(vec![t.clone(), e.clone()]),
                None => plan_err!("{upper}: the element type {x} does not match the array's {e}"),
            },
            (Op::Concat | Op::Union | Op::Intersect | Op::Except, [b @ DataType::List(_)])
                if b == t =>
            {
                Ok(vec![t.clone(), t.clone()])
            }
            (Op::Slice, rest)
                if (1..=2).contains(&rest.len())
                    && rest.iter().all(|r| r.is_integer() || r == &DataType::Null) =>
            {
                let mut out = vec![t.clone()];
                out.extend(std::iter::repeat_n(DataType::Int64, rest.len()));
                Ok(out)
            }
            (Op::Join, rest)
                if is_string(e)
                    && (1..=2).contains(&rest.len())
                    && rest.iter().all(|r| is_string(r) || r == &DataType::Null) =>
            {
                let mut out = vec![t.clone()];
                out.extend(std::iter::repeat_n(DataType::Utf8, rest.len()));
                Ok(out)
            }
            _ => plan_err!("{upper} cannot be called with {args:?}"),
        }
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(match (self.op, &args[0]) {
            (Op::Min | Op::Max, DataType::List(f)) => f.data_type().clone(),
            (Op::Join, _) => DataType::Utf8,
            (_, t) => t.clone(),
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let list = args.args[0].to_array(rows)?;
        let Some(list) = list.as_list_opt::<i32>() else {
            return exec_err!("{} of a non-list", self.name);
        };
        if self.op == Op::Join {
            return join(list, &args.args[1..], rows);
        }
        if self.op == Op::Slice {
            return slice(list, &args.args[1..], rows);
        }
        let values = list.values();
        let offsets = list.value_offsets();
        let count = values.len();
        // Appended elements, or the second array's elements, are read from after the list's
        // values.
        let second = match (self.op, args.args.get(1)) {
            (Op::Concat | Op::Union | Op::Intersect | Op::Except, Some(b)) => {
                Some(b.to_array(rows)?)
            }
            _ => None,
        };
        let all = match (&second, args.args.get(1)) {
            (Some(b), _) => concat(&[values.as_ref(), b.as_list::<i32>().values().as_ref()])?,
            (None, Some(x)) => {
                let x = x.to_array(rows)?;
                concat(&[values.as_ref(), x.as_ref()])?
            }
            (None, None) => Arc::clone(values),
        };
        let elements = Elements::new(all)?;
        let mut nulls: Vec<bool> = (0..rows).map(|i| list.is_valid(i)).collect();
        let mut picks: Vec<u32> = Vec::with_capacity(count);
        let mut lengths: Vec<usize> = Vec::with_capacity(rows);
        let mut scalar_picks: Vec<Option<u32>> = Vec::with_capacity(rows);
        for i in 0..rows {
            let range = offsets[i] as usize..offsets[i + 1] as usize;
            let before = picks.len();
            if list.is_valid(i) {
                if matches!(self.op, Op::Min | Op::Max) {
                    scalar_picks.push(self.extreme(&elements, range));
                } else {
                    let row = Row {
                        i,
                        range,
                        count,
                        second: second.as_ref(),
                    };
                    if !self.pick(&elements, row, &mut picks)? {
                        nulls[i] = false;
                    }
                }
            } else if matches!(self.op, Op::Min | Op::Max) {
                scalar_picks.push(None);
            }
            lengths.push(picks.len() - before);
        }
        if matches!(self.op, Op::Min | Op::Max) {
            return Ok(ColumnarValue::Array(take(
                elements.all.as_ref(),
                &UInt32Array::from(scalar_picks),
                None,
            )?));
        }
        let taken = take(elements.all.as_ref(), &UInt32Array::from(picks), None)?;
        let DataType::List(field) = list.data_type() else {
            return exec_err!("{} of a non-list", self.name);
        };
        Ok(ColumnarValue::Array(Arc::new(ListArray::new(
            Arc::clone(field),
            OffsetBuffer::from_lengths(lengths),
            taken,
            Some(nulls.into()),
        ))))
    }
}

/// One non-NULL row of the list argument.
struct Row<'a> {
    /// The row's number.
    i: usize,
    /// Its elements' indices in [`Elements`].
    range: std::ops::Range<usize>,
    /// Where the elements of the second argument start in [`Elements`].
    count: usize,
    /// The second array, for the functions of two arrays.
    second: Option<&'a ArrayRef>,
}

impl ArrayEdit {
    /// Appends the indices of row `row.i`'s result elements to `picks`; `false` when the result
    /// is NULL (the second array is).
    fn pick(&self, e: &Elements, row: Row<'_>, picks: &mut Vec<u32>) -> Result<bool> {
        let Row {
            i,
            range,
            count,
            second,
        } = row;
        let (start, end) = (range.start, range.end);
        let before = picks.len();
        let x = count + i;
        match self.op {
            Op::Append => {
                picks.extend((start..end).map(|j| j as u32));
                picks.push(x as u32);
            }
            Op::Prepend => {
                picks.push(x as u32);
                picks.extend((start..end).map(|j| j as u32));
            }
            Op::Remove => picks.extend((start..end).filter(|&j| !e.equal(j, x)).map(|j| j as u32)),
            Op::Distinct => {
                for j in start..end {
                    if !picks[before..].iter().any(|&k| e.equal(k as usize, j)) {
                        picks.push(j as u32);
                    }
                }
            }
            Op::Sort => {
                let mut row: Vec<usize> = (start..end).collect();
                row.sort_by(|&a, &b| e.compare(a, b));
                picks.extend(row.into_iter().map(|j| j as u32));
            }
            Op::Concat => {
                if let Some(b) = second {
                    let b = b.as_list::<i32>();
                    if !b.is_valid(i) {
                        return Ok(false);
                    }
                    let bo = b.value_offsets();
                    picks.extend((start..end).map(|j| j as u32));
                    picks.extend((bo[i] as usize..bo[i + 1] as usize).map(|j| (count + j) as u32));
                }
            }
            Op::Union | Op::Intersect | Op::Except => {
                let Some(b) = second else {
                    return exec_err!("{} needs two arrays", self.name);
                };
                let b = b.as_list::<i32>();
                if b.is_null(i) {
                    return Ok(false);
                }
                let bo = b.value_offsets();
                let theirs: Vec<usize> = (bo[i] as usize..bo[i + 1] as usize)
                    .map(|j| count + j)
                    .collect();
                let candidates: Vec<usize> = if self.op == Op::Union {
                    (start..end).chain(theirs.iter().copied()).collect()
                } else {
                    (start..end).collect()
                };
                for j in candidates {
                    // Membership in the other array is Flink's `Double.equals` (-0.0 is not
                    // 0.0, observed), unlike its deduplication.
                    let in_b = theirs.iter().any(|&k| e.strict_equal(k, j));
                    let keep = match self.op {
                        Op::Intersect => in_b,
                        Op::Except => !in_b,
                        _ => true,
                    };
                    if keep && !picks[before..].iter().any(|&k| e.equal(k as usize, j)) {
                        picks.push(j as u32);
                    }
                }
            }
            Op::Min | Op::Max | Op::Join | Op::Slice => {}
        }
        Ok(true)
    }

    /// `ARRAY_MIN`/`ARRAY_MAX` of the elements in `range`: the index of the first least (or
    /// greatest) non-NULL element.
    fn extreme(&self, e: &Elements, range: std::ops::Range<usize>) -> Option<u32> {
        let best = range.filter(|&j| e.all.is_valid(j)).reduce(|a, b| {
            let o = e.compare(b, a);
            let better = if self.op == Op::Min {
                o == Ordering::Less
            } else {
                o == Ordering::Greater
            };
            if better { b } else { a }
        });
        best.map(|j| j as u32)
    }
}

/// The elements a result is picked from (the list's, then the second argument's), compared as
/// Flink compares them.
struct Elements {
    all: ArrayRef,
    order: Box<dyn Fn(usize, usize) -> Ordering + Send + Sync>,
    /// DOUBLE/FLOAT elements compare as Java's `==` (`-0.0` equals `0.0`, observed).
    floats: Option<Vec<f64>>,
}

impl Elements {
    fn new(all: ArrayRef) -> Result<Elements> {
        let order = make_comparator(
            all.as_ref(),
            all.as_ref(),
            SortOptions {
                descending: false,
                nulls_first: true,
            },
        )?;
        let floats = match all.data_type() {
            DataType::Float64 => Some(all.as_primitive::<Float64Type>().values().to_vec()),
            DataType::Float32 => Some(
                all.as_primitive::<Float32Type>()
                    .values()
                    .iter()
                    .map(|v| f64::from(*v))
                    .collect(),
            ),
            _ => None,
        };
        Ok(Elements { all, order, floats })
    }

    /// Sort order: ascending, NULLs first.
    fn compare(&self, a: usize, b: usize) -> Ordering {
        (self.order)(a, b)
    }

    /// Equality for deduplication and `ARRAY_REMOVE`: a NULL equals a NULL, doubles as Java's
    /// `==`.
    fn equal(&self, a: usize, b: usize) -> bool {
        match (self.all.is_null(a), self.all.is_null(b)) {
            (true, true) => true,
            (false, false) => match &self.floats {
                Some(f) => f[a] == f[b],
                None => self.compare(a, b) == Ordering::Equal,
            },
            _ => false,
        }
    }

    /// Equality for membership in the other array: doubles as `Double.equals`.
    fn strict_equal(&self, a: usize, b: usize) -> bool {
        match (self.all.is_null(a), self.all.is_null(b)) {
            (true, true) => true,
            (false, false) => self.compare(a, b) == Ordering::Equal,
            _ => false,
        }
    }
}

/// `ARRAY_SLICE(array, start[, end])`: elements `start..=end`, 1-based, negative positions
/// counted from the end (`-1` is the last), clamped to the array; empty when `start > end`;
/// NULL for a NULL argument.
fn slice(list: &ListArray, rest: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let bound = |k: usize| -> Result<Option<ArrayRef>> {
        rest.get(k)
            .map(|a| Ok(cast(&a.to_array(rows)?, &DataType::Int64)?))
            .transpose()
    };
    let (starts, ends) = (bound(0)?, bound(1)?);
    let offsets = list.value_offsets();
    let mut picks: Vec<u32> = Vec::new();
    let mut lengths = Vec::with_capacity(rows);
    let mut valid = Vec::with_capacity(rows);
    for i in 0..rows {
        let (start, end) = (offsets[i] as i64, offsets[i + 1] as i64);
        let n = end - start;
        let get = |a: &Option<ArrayRef>, default: i64| -> Option<i64> {
            match a {
                None => Some(default),
                Some(a) => {
                    let a = a.as_primitive::<Int64Type>();
                    a.is_valid(i).then(|| a.value(i))
                }
            }
        };
        let (Some(s), Some(e)) = (get(&starts, 1), get(&ends, n)) else {
            valid.push(false);
            lengths.push(0);
            continue;
        };
        if list.is_null(i) {
            valid.push(false);
            lengths.push(0);
            continue;
        }
        let pos = |p: i64| if p < 0 { n + p + 1 } else { p };
        let (s, e) = (pos(s).max(1), pos(e).min(n));
        let before = picks.len();
        if s <= e {
            picks.extend((start + s - 1..start + e).map(|j| j as u32));
        }
        valid.push(true);
        lengths.push(picks.len() - before);
    }
    let taken = take(list.values().as_ref(), &UInt32Array::from(picks), None)?;
    let DataType::List(field) = list.data_type() else {
        return exec_err!("ARRAY_SLICE of a non-list");
    };
    Ok(ColumnarValue::Array(Arc::new(ListArray::new(
        Arc::clone(field),
        OffsetBuffer::from_lengths(lengths),
        taken,
        Some(valid.into()),
    ))))
}

fn join(list: &ListArray, rest: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let values = cast(list.values(), &DataType::Utf8)?;
    let values = values.as_string::<i32>();
    let sep = cast(&rest[0].to_array(rows)?, &DataType::Utf8)?;
    let sep = sep.as_string::<i32>();
    let replacement = match rest.get(1) {
        Some(r) => Some(cast(&r.to_array(rows)?, &DataType::Utf8)?),
        None => None,
    };
    let offsets = list.value_offsets();
    let mut out = StringBuilder::with_capacity(rows, rows * 16);
    for i in 0..rows {
        let null_rep = replacement.as_ref().map(|r| r.as_string::<i32>());
        if list.is_null(i) || sep.is_null(i) || null_rep.is_some_and(|r| r.is_null(i)) {
            out.append_null();
            continue;
        }
        let mut parts: Vec<&str> = Vec::new();
        for j in offsets[i] as usize..offsets[i + 1] as usize {
            if values.is_valid(j) {
                parts.push(values.value(j));
            } else if let Some(r) = null_rep {
                parts.push(r.value(i));
            }
        }
        out.append_value(parts.join(sep.value(i)));
    }
    Ok(ColumnarValue::Array(Arc::new(out.finish())))
}
