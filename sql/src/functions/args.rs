//! Argument handling shared by the date-time functions: literal formats compiled once,
//! per-row formats, and the Arrow types they accept.

use datafusion_common::arrow::array::{Array, ArrayRef, AsArray};
use datafusion_common::arrow::datatypes::{DataType, TimeUnit};
use datafusion_common::{Result, ScalarValue, exec_err, plan_err};
use datafusion_expr::{ColumnarValue, ScalarFunctionArgs};

use super::temporal::function_error;
use crate::java::PatternError;
use crate::java::sdf::SimpleDateFormat;
use crate::java::time::JavaPattern;

/// `SimpleDateFormat`'s pattern for `DATE_FORMAT(STRING)`, `UNIX_TIMESTAMP`, `FROM_UNIXTIME`.
pub(super) const DEFAULT_FORMAT: &str = "yyyy-MM-dd HH:mm:ss";

/// The Arrow type of every TIMESTAMP (`ltz`: TIMESTAMP_LTZ) Sluice makes.
pub(super) fn timestamp_ns(ltz: bool) -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, ltz.then(|| "UTC".into()))
}

pub(super) fn is_string(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

pub(super) fn is_temporal(t: &DataType) -> bool {
    matches!(t, DataType::Timestamp(..) | DataType::Date32)
}

/// A string argument that is the same for every row (a format), if it is a literal.
pub(super) fn scalar_string(arg: &ColumnarValue) -> Option<Option<String>> {
    match arg {
        ColumnarValue::Scalar(
            ScalarValue::Utf8(s) | ScalarValue::LargeUtf8(s) | ScalarValue::Utf8View(s),
        ) => Some(s.clone()),
        ColumnarValue::Scalar(ScalarValue::Null) => Some(None),
        _ => None,
    }
}

/// An argument as a `Utf8` array.
pub(super) fn utf8_array(arg: &ColumnarValue, rows: usize) -> Result<ArrayRef> {
    Ok(datafusion_common::arrow::compute::cast(
        &arg.to_array(rows)?,
        &DataType::Utf8,
    )?)
}

/// Compiles formats, caching the last one (formats are nearly always literals).
pub(super) struct Cache<T> {
    last: Option<(String, Result<T, PatternError>)>,
    compile: fn(&str) -> Result<T, PatternError>,
}

impl<T> Cache<T> {
    pub(super) fn new(compile: fn(&str) -> Result<T, PatternError>) -> Self {
        Cache {
            last: None,
            compile,
        }
    }

    pub(super) fn get(&mut self, function: &str, fmt: &str) -> Result<&T> {
        if self.last.as_ref().is_none_or(|(f, _)| f != fmt) {
            self.last = Some((fmt.to_owned(), (self.compile)(fmt)));
        }
        match self.last.as_ref().map(|(_, p)| p) {
            Some(Ok(p)) => Ok(p),
            Some(Err(e)) => Err(function_error(function, e)),
            None => exec_err!("{function}: no format"),
        }
    }
}

pub(super) fn java_pattern(fmt: &str) -> Result<JavaPattern, PatternError> {
    JavaPattern::compile(fmt)
}

pub(super) fn simple_date_format(fmt: &str) -> Result<SimpleDateFormat, PatternError> {
    SimpleDateFormat::compile(fmt)
}

/// The format of row `i`: the literal, or the row's value.
pub(super) fn format_at<'a>(
    literal: &'a Option<Option<String>>,
    column: Option<&'a ArrayRef>,
    i: usize,
) -> Option<&'a str> {
    match (literal, column) {
        (Some(f), _) => f.as_deref(),
        (None, Some(c)) => {
            let c = c.as_string::<i32>();
            c.is_valid(i).then(|| c.value(i))
        }
        (None, None) => None,
    }
}

pub(super) fn string_args(
    name: &str,
    args: &[DataType],
    min: usize,
    max: usize,
) -> Result<Vec<DataType>> {
    if args.len() < min
        || args.len() > max
        || !args.iter().all(|t| is_string(t) || t == &DataType::Null)
    {
        return plan_err!(
            "{}(string{}) got ({})",
            name.to_uppercase(),
            if max > 1 { "[, format]" } else { "" },
            args.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(vec![DataType::Utf8; args.len()])
}

/// Per row: the text and the format (`None` without a format argument); rows where either is
/// NULL give NULL.
pub(super) fn for_each_text(
    args: &ScalarFunctionArgs,
    mut f: impl FnMut(Option<(&str, Option<&str>)>) -> Result<()>,
) -> Result<()> {
    let rows = args.number_rows;
    let texts = utf8_array(&args.args[0], rows)?;
    let texts = texts.as_string::<i32>();
    let literal = args.args.get(1).and_then(scalar_string);
    let formats = match (&literal, args.args.get(1)) {
        (None, Some(a)) => Some(utf8_array(a, rows)?),
        _ => None,
    };
    for i in 0..rows {
        if texts.is_null(i) {
            f(None)?;
            continue;
        }
        let text = texts.value(i);
        if args.args.len() < 2 {
            f(Some((text, None)))?;
            continue;
        }
        match format_at(&literal, formats.as_ref(), i) {
            Some(fmt) => f(Some((text, Some(fmt))))?,
            None => f(None)?,
        }
    }
    Ok(())
}
