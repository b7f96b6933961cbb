//! Flink's substring search: `LOCATE(needle, s[, from])` and `INSTR(s, needle)`, 1-based
//! positions over code points (`BinaryStringData.indexOf`), 0 when absent.

use std::sync::Arc;

use datafusion_common::arrow::datatypes::DataType;
use datafusion_expr::ScalarUDF;

use super::rowwise::{Arg, Kind, Out, Returns, RowWise};

pub fn functions() -> Vec<Arc<ScalarUDF>> {
    use Kind::{Int, Str};
    vec![
        RowWise::new(
            "locate",
            &[&[Str, Str], &[Str, Str, Int]],
            Returns::Fixed(DataType::Int32),
            |a| {
                let from = match a.get(2) {
                    Some(f) => f.int().unwrap_or(1),
                    None => 1,
                };
                Ok(locate(str_at(a, 0), str_at(a, 1), from))
            },
        )
        .udf(),
        RowWise::new(
            "instr",
            &[&[Str, Str]],
            Returns::Fixed(DataType::Int32),
            |a| Ok(locate(str_at(a, 1), str_at(a, 0), 1)),
        )
        .udf(),
    ]
}

fn str_at<'a>(a: &[Arg<'a>], i: usize) -> &'a str {
    a.get(i).and_then(|x| x.str()).unwrap_or_default()
}

/// `SqlFunctionUtils.position(needle, s, from)` = `s.indexOf(needle, from - 1) + 1`, where
/// `indexOf` counts code points, starts at 0 for a `from` below 1, and finds an empty needle
/// at 0 whatever `from` is.
fn locate(needle: &str, s: &str, from: i64) -> Out {
    if needle.is_empty() {
        return Out::Int(1);
    }
    let skip = usize::try_from(from - 1).unwrap_or(0);
    let mut found = 0;
    for (n, (byte, _)) in s.char_indices().enumerate().skip(skip) {
        if s[byte..].starts_with(needle) {
            found = n + 1;
            break;
        }
    }
    Out::Int(found as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_code_points_and_from_is_clamped() {
        assert_eq!(locate("o", "hello world", 1), Out::Int(5));
        assert_eq!(locate("a", "aaa", 2), Out::Int(2));
        assert_eq!(locate("a", "aaa", -1), Out::Int(1));
        assert_eq!(locate("a", "aaa", 100), Out::Int(0));
        assert_eq!(locate("", "abc", 100), Out::Int(1));
        assert_eq!(locate("x", "😀x😀x", 3), Out::Int(4));
        assert_eq!(locate("z", "", 1), Out::Int(0));
    }
}
