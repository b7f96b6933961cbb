//! `REGEXP_COUNT(s, re)`, `REGEXP_INSTR(s, re)` and `REGEXP_SUBSTR(s, re)`: the number of
//! matches, the 1-based position (in UTF-16 units, as Java's `Matcher.start`) of the first
//! match or 0, and the first match or NULL. A pattern that does not compile gives NULL.

use std::cell::RefCell;
use std::sync::Arc;

use datafusion_common::arrow::datatypes::DataType;
use datafusion_expr::ScalarUDF;
use regex::Regex;

use super::rowwise::{Arg, Kind, Out, Returns, RowWise};

const TWO: &[&[Kind]] = &[&[Kind::Str, Kind::Str]];

pub fn functions() -> Vec<Arc<ScalarUDF>> {
    vec![
        RowWise::new("regexp_count", TWO, Returns::Fixed(DataType::Int32), |a| {
            Ok(with_regex(a, |s, re| {
                Out::Int(re.find_iter(s).count() as i64)
            }))
        })
        .udf(),
        RowWise::new("regexp_instr", TWO, Returns::Fixed(DataType::Int32), |a| {
            Ok(with_regex(a, |s, re| {
                Out::Int(
                    re.find(s)
                        .map_or(0, |m| s[..m.start()].encode_utf16().count() as i64 + 1),
                )
            }))
        })
        .udf(),
        RowWise::new("regexp_substr", TWO, Returns::Fixed(DataType::Utf8), |a| {
            Ok(with_regex(a, |s, re| {
                re.find(s)
                    .map_or(Out::Null, |m| Out::Str(m.as_str().to_owned()))
            }))
        })
        .udf(),
    ]
}

thread_local! {
    /// The last pattern compiled on this thread (patterns are nearly always literals).
    static LAST: RefCell<Option<(String, Option<Regex>)>> = const { RefCell::new(None) };
}

fn with_regex(a: &[Arg<'_>], f: impl FnOnce(&str, &Regex) -> Out) -> Out {
    let (Some(s), Some(pattern)) = (a[0].str(), a[1].str()) else {
        return Out::Null;
    };
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if last.as_ref().is_none_or(|(p, _)| p != pattern) {
            *last = Some((pattern.to_owned(), Regex::new(pattern).ok()));
        }
        match last.as_ref().and_then(|(_, re)| re.as_ref()) {
            Some(re) => f(s, re),
            None => Out::Null,
        }
    })
}
