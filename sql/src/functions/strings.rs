//! Flink's string and conditional functions whose semantics differ from DataFusion's.

use std::sync::Arc;

use datafusion_common::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, StringBuilder};
use datafusion_common::arrow::compute::{cast, kernels::zip::zip};
use datafusion_common::arrow::datatypes::DataType;
use datafusion_common::{Result, ScalarValue, exec_err, plan_err};
use datafusion_expr::type_coercion::binary::comparison_coercion;
use datafusion_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use super::temporal::function_error;

pub fn functions() -> Vec<Arc<ScalarUDF>> {
    vec![
        Arc::new(ScalarUDF::from(Concat::new())),
        Arc::new(ScalarUDF::from(If::new())),
        Arc::new(ScalarUDF::from(SplitIndex::new())),
        Arc::new(ScalarUDF::from(RegexpExtract::new())),
        Arc::new(ScalarUDF::from(Regexp::new())),
        Arc::new(ScalarUDF::from(RegexpReplace::new())),
        Arc::new(ScalarUDF::from(Coalesce::new())),
        Arc::new(ScalarUDF::from(Pad::new("lpad", true))),
        Arc::new(ScalarUDF::from(Pad::new("rpad", false))),
        substring(),
    ]
}

/// `SUBSTRING(s FROM pos [FOR len])` / `SUBSTR(s, pos[, len])`.
pub fn substring() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(Substring::new()))
}

fn utf8(arg: &ColumnarValue, rows: usize) -> Result<ArrayRef> {
    Ok(cast(&arg.to_array(rows)?, &DataType::Utf8)?)
}

/// `CONCAT(a, b, ...)`: NULL if any argument is NULL (Flink), unlike DataFusion's.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Concat {
    name: &'static str,
    signature: Signature,
}

impl Concat {
    fn new() -> Self {
        Concat {
            name: "concat",
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for Concat {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        if args.is_empty() {
            return plan_err!("CONCAT needs at least one argument");
        }
        Ok(vec![DataType::Utf8; args.len()])
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = args
            .args
            .iter()
            .map(|a| utf8(a, rows))
            .collect::<Result<Vec<_>>>()?;
        let strings: Vec<_> = arrays.iter().map(|a| a.as_string::<i32>()).collect();
        let mut out = StringBuilder::with_capacity(rows, rows * 16);
        let mut buf = String::new();
        'rows: for i in 0..rows {
            buf.clear();
            for s in &strings {
                if s.is_null(i) {
                    out.append_null();
                    continue 'rows;
                }
                buf.push_str(s.value(i));
            }
            out.append_value(&buf);
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// `IF(condition, then, else)`.
#[derive(Debug, PartialEq, Eq, Hash)]
struct If {
    name: &'static str,
    signature: Signature,
}

impl If {
    fn new() -> Self {
        If {
            name: "if",
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for If {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [DataType::Boolean | DataType::Null, a, b] => match comparison_coercion(a, b) {
                Some(t) => Ok(vec![DataType::Boolean, t.clone(), t]),
                None => plan_err!("IF: the branches have incompatible types {a} and {b}"),
            },
            _ => plan_err!("IF(BOOLEAN condition, then, else) got {args:?}"),
        }
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args[1].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let cond = args.args[0].to_array(rows)?;
        let cond = cond.as_boolean();
        // NULL conditions take the else branch.
        let mask: BooleanArray = cond.iter().map(|c| Some(c == Some(true))).collect();
        let a = args.args[1].to_array(rows)?;
        let b = args.args[2].to_array(rows)?;
        Ok(ColumnarValue::Array(zip(&mask, &a, &b)?))
    }
}

/// `SPLIT_INDEX(string, separator, index)`: the 0-based `index`-th piece, NULL if out of range.
#[derive(Debug, PartialEq, Eq, Hash)]
struct SplitIndex {
    name: &'static str,
    signature: Signature,
}

impl SplitIndex {
    fn new() -> Self {
        SplitIndex {
            name: "split_index",
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for SplitIndex {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [_, _, i] if i.is_integer() || i == &DataType::Null => {
                Ok(vec![DataType::Utf8, DataType::Utf8, DataType::Int64])
            }
            _ => plan_err!("SPLIT_INDEX(STRING, STRING separator, INT index) got {args:?}"),
        }
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let s = utf8(&args.args[0], rows)?;
        let sep = utf8(&args.args[1], rows)?;
        let idx = args.args[2].to_array(rows)?;
        let idx = idx.as_primitive::<datafusion_common::arrow::datatypes::Int64Type>();
        let (s, sep) = (s.as_string::<i32>(), sep.as_string::<i32>());
        let mut out = StringBuilder::with_capacity(rows, rows * 8);
        for i in 0..rows {
            // An empty string splits into no pieces.
            if s.is_null(i)
                || sep.is_null(i)
                || idx.is_null(i)
                || idx.value(i) < 0
                || s.value(i).is_empty()
            {
                out.append_null();
                continue;
            }
            let sep_v = sep.value(i);
            let piece = if sep_v.is_empty() {
                None
            } else {
                s.value(i).split(sep_v).nth(idx.value(i) as usize)
            };
            out.append_option(piece);
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// `REGEXP_EXTRACT(string, regex[, group])`: the group (default 1) of the first match.
#[derive(Debug, PartialEq, Eq, Hash)]
struct RegexpExtract {
    name: &'static str,
    signature: Signature,
}

impl RegexpExtract {
    fn new() -> Self {
        RegexpExtract {
            name: "regexp_extract",
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for RegexpExtract {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args.len() {
            2 => Ok(vec![DataType::Utf8, DataType::Utf8]),
            3 => Ok(vec![DataType::Utf8, DataType::Utf8, DataType::Int64]),
            _ => plan_err!("REGEXP_EXTRACT(STRING, STRING regex[, INT group]) got {args:?}"),
        }
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let s = utf8(&args.args[0], rows)?;
        let s = s.as_string::<i32>();
        let pattern = match &args.args[1] {
            ColumnarValue::Scalar(ScalarValue::Utf8(Some(p))) => p.clone(),
            ColumnarValue::Scalar(ScalarValue::Utf8(None)) => {
                return Ok(ColumnarValue::Scalar(ScalarValue::Utf8(None)));
            }
            _ => return exec_err!("REGEXP_EXTRACT: the regex must be a literal"),
        };
        let group = match args.args.get(2) {
            None => 1,
            Some(ColumnarValue::Scalar(ScalarValue::Int64(Some(g)))) if *g >= 0 => *g as usize,
            Some(_) => {
                return exec_err!("REGEXP_EXTRACT: the group must be a non-negative literal");
            }
        };
        let re = regex::Regex::new(&pattern).map_err(|e| function_error("REGEXP_EXTRACT", e))?;
        let mut out = StringBuilder::with_capacity(rows, rows * 8);
        for v in s.iter() {
            out.append_option(
                v.and_then(|v| re.captures(v))
                    .and_then(|c| c.get(group))
                    .map(|m| m.as_str()),
            );
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// The regex of a literal pattern argument (`None` for a NULL pattern).
fn literal_regex(function: &str, arg: &ColumnarValue) -> Result<Option<regex::Regex>> {
    match arg {
        ColumnarValue::Scalar(ScalarValue::Utf8(Some(p))) => regex::Regex::new(p)
            .map(Some)
            .map_err(|e| function_error(function, e)),
        ColumnarValue::Scalar(ScalarValue::Utf8(None) | ScalarValue::Null) => Ok(None),
        _ => exec_err!("{function}: the regex must be a literal"),
    }
}

/// `REGEXP(string, regex)`: whether the regex matches a part of the string (Java's `find()`).
#[derive(Debug, PartialEq, Eq, Hash)]
struct Regexp {
    name: &'static str,
    signature: Signature,
}

impl Regexp {
    fn new() -> Self {
        Regexp {
            name: "regexp",
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for Regexp {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args.len() {
            2 => Ok(vec![DataType::Utf8, DataType::Utf8]),
            _ => plan_err!("REGEXP(STRING, STRING regex) got {args:?}"),
        }
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let s = utf8(&args.args[0], rows)?;
        let Some(re) = literal_regex("REGEXP", &args.args[1])? else {
            return Ok(ColumnarValue::Scalar(ScalarValue::Boolean(None)));
        };
        let out: BooleanArray = s
            .as_string::<i32>()
            .iter()
            .map(|v| v.map(|v| re.is_match(v)))
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// `LPAD(s, len, pad)` / `RPAD(s, len, pad)` as Flink's `SqlFunctionUtils`: lengths in UTF-16
/// units, the result cut to `len` when `s` is longer; NULL for a negative `len` or an empty
/// `pad`.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Pad {
    name: &'static str,
    left: bool,
    signature: Signature,
}

impl Pad {
    fn new(name: &'static str, left: bool) -> Self {
        Pad {
            name,
            left,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

/// Flink's `lpad`/`rpad` on UTF-16 units.
fn pad(base: &str, len: i64, pad: &str, left: bool, out: &mut Vec<u16>) -> Option<()> {
    out.clear();
    if len < 0 || pad.is_empty() {
        return None;
    }
    let len = usize::try_from(len).ok()?;
    let base: Vec<u16> = base.encode_utf16().collect();
    let pad: Vec<u16> = pad.encode_utf16().collect();
    if left {
        let fill = len.saturating_sub(base.len());
        out.extend(pad.iter().cycle().take(fill));
        out.extend(base.iter().take(len - fill));
    } else {
        out.extend(base.iter().take(len));
        let fill = len - out.len();
        out.extend(pad.iter().cycle().take(fill));
    }
    Some(())
}

impl ScalarUDFImpl for Pad {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [_, n] if n.is_integer() || n == &DataType::Null => {
                Ok(vec![DataType::Utf8, DataType::Int64])
            }
            [_, n, _] if n.is_integer() || n == &DataType::Null => {
                Ok(vec![DataType::Utf8, DataType::Int64, DataType::Utf8])
            }
            _ => plan_err!(
                "{}(STRING, INT length, STRING pad) got {args:?}",
                self.name.to_uppercase()
            ),
        }
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let s = utf8(&args.args[0], rows)?;
        let n = args.args[1].to_array(rows)?;
        let p = match args.args.get(2) {
            Some(p) => utf8(p, rows)?,
            None => utf8(
                &ColumnarValue::Scalar(ScalarValue::Utf8(Some(" ".into()))),
                rows,
            )?,
        };
        let (s, n, p) = (
            s.as_string::<i32>(),
            n.as_primitive::<datafusion_common::arrow::datatypes::Int64Type>(),
            p.as_string::<i32>(),
        );
        let mut out = StringBuilder::with_capacity(rows, rows * 8);
        let mut units = Vec::new();
        for i in 0..rows {
            if s.is_null(i) || n.is_null(i) || p.is_null(i) {
                out.append_null();
                continue;
            }
            match pad(s.value(i), n.value(i), p.value(i), self.left, &mut units) {
                Some(()) => {
                    // A cut surrogate pair becomes '?', as Java encodes it.
                    let text: String = char::decode_utf16(units.iter().copied())
                        .map(|c| c.unwrap_or('?'))
                        .collect();
                    out.append_value(text);
                }
                None => out.append_null(),
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// `SUBSTRING(s, pos[, len])`, Flink's `substringSQL`: 1-based over code points; `pos` 0 is 1,
/// a negative `pos` counts from the end, past the end is `''`, a negative `len` is NULL.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Substring {
    name: &'static str,
    aliases: Vec<String>,
    signature: Signature,
}

impl Substring {
    fn new() -> Self {
        Substring {
            name: "substring",
            aliases: vec!["substr".to_owned()],
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

/// Flink's `BinaryStringDataUtil.substringSQL`.
fn substring_sql(s: &str, pos: i64, len: i64) -> Option<&str> {
    if len < 0 {
        return None;
    }
    if s.is_empty() {
        return Some("");
    }
    let chars = s.chars().count() as i64;
    let start = match pos {
        p if p > 0 => p - 1,
        p if p < 0 => chars + p,
        _ => 0,
    };
    if start < 0 || start >= chars {
        return Some("");
    }
    let end = if chars - start < len {
        chars
    } else {
        start + len
    };
    let byte = |n: i64| s.char_indices().nth(n as usize).map_or(s.len(), |(b, _)| b);
    Some(&s[byte(start)..byte(end)])
}

impl ScalarUDFImpl for Substring {
    udf_boilerplate!();

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let int = |t: &DataType| t.is_integer() || t == &DataType::Null;
        match args {
            [_, p] if int(p) => Ok(vec![DataType::Utf8, DataType::Int64]),
            [_, p, l] if int(p) && int(l) => {
                Ok(vec![DataType::Utf8, DataType::Int64, DataType::Int64])
            }
            _ => plan_err!("SUBSTRING(STRING, INT position[, INT length]) got {args:?}"),
        }
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let s = utf8(&args.args[0], rows)?;
        let p = args.args[1].to_array(rows)?;
        let l = match args.args.get(2) {
            Some(l) => Some(l.to_array(rows)?),
            None => None,
        };
        let s = s.as_string::<i32>();
        let p = p.as_primitive::<datafusion_common::arrow::datatypes::Int64Type>();
        let l = l
            .as_ref()
            .map(|l| l.as_primitive::<datafusion_common::arrow::datatypes::Int64Type>());
        let mut out = StringBuilder::with_capacity(rows, rows * 8);
        for i in 0..rows {
            let len = match l {
                Some(l) if l.is_null(i) => {
                    out.append_null();
                    continue;
                }
                Some(l) => l.value(i),
                None => i64::from(i32::MAX),
            };
            if s.is_null(i) || p.is_null(i) {
                out.append_null();
                continue;
            }
            // Flink takes INT positions and lengths.
            out.append_option(substring_sql(
                s.value(i),
                i64::from(p.value(i) as i32),
                i64::from(len as i32),
            ));
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// `COALESCE(a, b, ...)` and `IFNULL(a, b)`: the first non-NULL argument.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Coalesce {
    name: &'static str,
    aliases: Vec<String>,
    signature: Signature,
}

impl Coalesce {
    fn new() -> Self {
        Coalesce {
            name: "coalesce",
            aliases: vec!["ifnull".to_owned(), "nvl".to_owned()],
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for Coalesce {
    udf_boilerplate!();

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let mut common = DataType::Null;
        for t in args {
            common = match comparison_coercion(&common, t) {
                Some(c) => c,
                None => return plan_err!("COALESCE: no common type for {common} and {t}"),
            };
        }
        if args.is_empty() {
            return plan_err!("COALESCE needs at least one argument");
        }
        Ok(vec![common; args.len()])
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args[0].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let mut result = args.args[0].to_array(rows)?;
        for next in &args.args[1..] {
            if result.null_count() == 0 {
                break;
            }
            let present = datafusion_common::arrow::compute::is_not_null(&result)?;
            result = zip(&present, &result, &next.to_array(rows)?)?;
        }
        Ok(ColumnarValue::Array(result))
    }
}

/// Java's `Matcher.replaceAll` replacement text in Rust `regex` syntax: `$n` group references,
/// `\x` for a literal `x`.
fn java_replacement(java: &str) -> String {
    let mut out = String::with_capacity(java.len() + 4);
    let mut chars = java.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(n) => out.push(n),
                None => {}
            },
            '$' => {
                let mut group = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    group.push(*d);
                    chars.next();
                }
                out.push_str("${");
                out.push_str(&group);
                out.push('}');
            }
            other => out.push(other),
        }
    }
    out
}

/// `REGEXP_REPLACE(s, regex, replacement)`: every match replaced (Java's `replaceAll`).
#[derive(Debug, PartialEq, Eq, Hash)]
struct RegexpReplace {
    name: &'static str,
    signature: Signature,
}

impl RegexpReplace {
    fn new() -> Self {
        RegexpReplace {
            name: "regexp_replace",
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for RegexpReplace {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args.len() {
            3 => Ok(vec![DataType::Utf8; 3]),
            _ => plan_err!("REGEXP_REPLACE(STRING, STRING regex, STRING replacement) got {args:?}"),
        }
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let s = utf8(&args.args[0], rows)?;
        let replacement = match &args.args[2] {
            ColumnarValue::Scalar(ScalarValue::Utf8(Some(r))) => java_replacement(r),
            ColumnarValue::Scalar(_) => return Ok(ColumnarValue::Scalar(ScalarValue::Utf8(None))),
            _ => return exec_err!("REGEXP_REPLACE: the replacement must be a literal"),
        };
        let Some(re) = literal_regex("REGEXP_REPLACE", &args.args[1])? else {
            return Ok(ColumnarValue::Scalar(ScalarValue::Utf8(None)));
        };
        let mut out = StringBuilder::with_capacity(rows, rows * 16);
        for v in s.as_string::<i32>().iter() {
            out.append_option(v.map(|v| re.replace_all(v, replacement.as_str())));
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_replacements() {
        assert_eq!(java_replacement("#"), "#");
        assert_eq!(java_replacement("<$1>"), "<${1}>");
        assert_eq!(java_replacement(r"\$x\\"), r"$$x\");
    }

    #[test]
    fn substring_like_flink() {
        assert_eq!(substring_sql("hello", 2, i64::MAX), Some("ello"));
        assert_eq!(substring_sql("hello", 0, 2), Some("he"));
        assert_eq!(substring_sql("hello", -3, i64::MAX), Some("llo"));
        assert_eq!(substring_sql("hello", -3, 2), Some("ll"));
        assert_eq!(substring_sql("hello", 10, 2), Some(""));
        assert_eq!(substring_sql("hello", -10, 2), Some(""));
        assert_eq!(substring_sql("héllo", 2, 3), Some("éll"));
        assert_eq!(substring_sql("hello", 1, -1), None);
    }

    #[test]
    fn pads_count_utf16_units() {
        let run = |s: &str, n, p: &str, left| {
            let mut u = Vec::new();
            pad(s, n, p, left, &mut u).map(|()| String::from_utf16_lossy(&u))
        };
        assert_eq!(
            run("  Hello aa  ", 8, "*", true).as_deref(),
            Some("  Hello ")
        );
        assert_eq!(
            run("\u{1F600}a", 8, "*", true).as_deref(),
            Some("*****\u{1F600}a")
        );
        assert_eq!(
            run("\u{1F600}a", 8, "*", false).as_deref(),
            Some("\u{1F600}a*****")
        );
        assert_eq!(run("ab", 5, "xy", true).as_deref(), Some("xyxab"));
        assert_eq!(run("ab", -1, "x", true), None);
        assert_eq!(run("ab", 3, "", true), None);
    }
}
