//! Flink's `STR_TO_MAP(text[, pair_delimiter, key_value_delimiter])`
//! (`SqlFunctionUtils.strToMap`): a MAP<STRING, STRING> from `text` split with Java's
//! `String.split` at `pair_delimiter` (default `,`), each piece split once at
//! `key_value_delimiter` (default `=`); a piece without it is a key with a NULL value, a key
//! seen again takes the later value. Both delimiters are regular expressions. Empty text gives
//! an empty map, a NULL argument NULL. The map's order is that of Java's `HashMap`, which Flink
//! keeps.
//!
//! Delimiters are run by the `regex` crate: a Java-only construct (lookaround, backreferences,
//! possessive quantifiers) fails the job in Sluice, where Flink splits.

use std::sync::Arc;

use datafusion_common::arrow::array::{
    Array, ArrayRef, AsArray, ListArray, StringArray, StructArray,
};
use datafusion_common::arrow::buffer::OffsetBuffer;
use datafusion_common::arrow::compute::cast;
use datafusion_common::arrow::datatypes::DataType;
use datafusion_common::{Result, exec_err, plan_err};
use datafusion_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use regex::Regex;

use super::collections::entries_type;
use super::temporal::function_error;
use crate::java::hash_map::JavaHashMap;

pub fn function() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(StrToMap {
        name: "str_to_map",
        signature: Signature::user_defined(Volatility::Immutable),
    }))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct StrToMap {
    name: &'static str,
    signature: Signature,
}

impl ScalarUDFImpl for StrToMap {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let text = |t: &DataType| {
            matches!(
                t,
                DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 | DataType::Null
            )
        };
        if (args.len() == 1 || args.len() == 3) && args.iter().all(text) {
            Ok(vec![DataType::Utf8; args.len()])
        } else {
            plan_err!(
                "STR_TO_MAP(STRING) or STR_TO_MAP(STRING, STRING, STRING) cannot be called with {args:?}"
            )
        }
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(entries_type(&DataType::Utf8, &DataType::Utf8))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = args
            .args
            .iter()
            .map(|a| {
                a.to_array(rows)
                    .and_then(|a| Ok(cast(&a, &DataType::Utf8)?))
            })
            .collect::<Result<Vec<ArrayRef>>>()?;
        let texts: Vec<_> = arrays.iter().map(|a| a.as_string::<i32>()).collect();
        let mut splitters = Splitters::default();
        let (mut keys, mut values) = (Vec::new(), Vec::new());
        let (mut lengths, mut valid) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
        for i in 0..rows {
            if texts.iter().any(|t| t.is_null(i)) {
                lengths.push(0);
                valid.push(false);
                continue;
            }
            let (pairs, kv) = match texts.as_slice() {
                [_, p, k] => (p.value(i), k.value(i)),
                _ => (",", "="),
            };
            let map = splitters
                .str_to_map(texts[0].value(i), pairs, kv)
                .map_err(|e| function_error("STR_TO_MAP", e))?;
            lengths.push(map.len());
            valid.push(true);
            for (k, v) in map {
                keys.push(Some(k));
                values.push(v);
            }
        }
        let DataType::List(field) = entries_type(&DataType::Utf8, &DataType::Utf8) else {
            return exec_err!("STR_TO_MAP: no entries type");
        };
        let DataType::Struct(fields) = field.data_type().clone() else {
            return exec_err!("STR_TO_MAP: no entries type");
        };
        let entries = StructArray::try_new(
            fields,
            vec![
                Arc::new(StringArray::from(keys)),
                Arc::new(StringArray::from(values)),
            ],
            None,
        )?;
        Ok(ColumnarValue::Array(Arc::new(ListArray::new(
            field,
            OffsetBuffer::from_lengths(lengths),
            Arc::new(entries),
            Some(valid.into()),
        ))))
    }
}

/// A delimiter that is not a regular expression the `regex` crate runs.
#[derive(Debug, thiserror::Error)]
#[error("the delimiter {delimiter:?} is not a regular expression Sluice can run")]
struct BadDelimiter {
    delimiter: String,
    #[source]
    source: regex::Error,
}

/// The two delimiters' compiled patterns, kept while they stay the same from row to row.
#[derive(Default)]
struct Splitters {
    pairs: Option<(String, Regex)>,
    key_value: Option<(String, Regex)>,
}

impl Splitters {
    fn str_to_map(
        &mut self,
        text: &str,
        pairs: &str,
        kv: &str,
    ) -> std::result::Result<Vec<(String, Option<String>)>, BadDelimiter> {
        if text.is_empty() {
            return Ok(Vec::new());
        }
        let pairs = compiled(&mut self.pairs, pairs)?;
        let kv = compiled(&mut self.key_value, kv)?;
        let pieces = java_split(text, pairs, 0);
        let mut map = JavaHashMap::with_capacity(pieces.len());
        for piece in pieces {
            match java_split(piece, kv, 2).as_slice() {
                [k, v] => map.put((*k).to_owned(), Some((*v).to_owned())),
                _ => map.put(piece.to_owned(), None),
            }
        }
        Ok(map.into_entries())
    }
}

fn compiled<'a>(
    slot: &'a mut Option<(String, Regex)>,
    pattern: &str,
) -> std::result::Result<&'a Regex, BadDelimiter> {
    if slot.as_ref().is_none_or(|(p, _)| p != pattern) {
        let re = Regex::new(pattern).map_err(|source| BadDelimiter {
            delimiter: pattern.to_owned(),
            source,
        })?;
        *slot = Some((pattern.to_owned(), re));
    }
    match slot {
        Some((_, re)) => Ok(re),
        None => unreachable!("just filled"),
    }
}

/// Java's `Pattern.split(input, limit)` (`limit` 0: no limit, trailing empty pieces dropped):
/// no empty first piece for a zero-width match at the start, the whole input when nothing
/// matches.
fn java_split<'a>(s: &'a str, re: &Regex, limit: usize) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut index = 0;
    for m in re.find_iter(s) {
        if limit == 0 || out.len() < limit - 1 {
            if index == 0 && m.start() == 0 && m.end() == 0 {
                continue;
            }
            out.push(&s[index..m.start()]);
            index = m.end();
        } else if out.len() == limit - 1 {
            out.push(&s[index..]);
            index = m.end();
        }
    }
    if index == 0 {
        return vec![s];
    }
    if limit == 0 || out.len() < limit {
        out.push(&s[index..]);
    }
    if limit == 0 {
        while out.last().is_some_and(|p| p.is_empty()) {
            out.pop();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str, re: &str, limit: usize) -> Vec<String> {
        java_split(s, &Regex::new(re).unwrap(), limit)
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn splits_as_java_does() {
        assert_eq!(split(",,a=1,,", ",", 0), ["", "", "a=1"]);
        assert_eq!(split(",", ",", 0), Vec::<String>::new());
        assert_eq!(split("ab", "", 0), ["a", "b"]);
        assert_eq!(split("x=", "=", 2), ["x", ""]);
        assert_eq!(split("a=1=2", "=", 2), ["a", "1=2"]);
        assert_eq!(split("k", "=", 2), ["k"]);
    }

    #[test]
    fn maps_in_hash_map_order() {
        let m = Splitters::default()
            .str_to_map("k,=v,x=", ",", "=")
            .unwrap();
        assert_eq!(
            m,
            [
                (String::new(), Some("v".to_owned())),
                ("x".to_owned(), Some(String::new())),
                ("k".to_owned(), None)
            ]
        );
    }
}
