//! The functions a statement can call: DataFusion's built-ins, with Flink's own functions and
//! Flink's semantics where they differ (`DATE_FORMAT` with Java patterns, `CONCAT` returning
//! NULL on a NULL argument, `FROM_UNIXTIME` returning a string, ...).

/// `name()` and `signature()` of a UDF struct with `name` and `signature` fields.
macro_rules! udf_boilerplate {
    () => {
        fn name(&self) -> &str {
            self.name
        }
        fn signature(&self) -> &Signature {
            &self.signature
        }
    };
}

mod args;
mod array_edit;
pub mod cast;
pub mod cast_text;
mod collections;
mod convert_tz;
pub mod coverage;
mod date_time_utils;
mod datetime;
mod elt;
mod encoding;
mod greatest;
mod hashing;
mod json;
mod json_build;
mod json_construct;
mod map_union;
pub mod math;
mod math_double;
pub mod nested;
mod numeric;
mod parse_url;
mod random;
mod regex_search;
mod rowwise;
mod similar_to;
mod split;
mod str_to_map;
mod string_edit;
mod string_search;
mod strings;
mod temporal;
mod time_text;
mod timestamp_add;
mod truncate;
mod type_of;
mod type_predicates;

#[cfg(test)]
mod test_support;

use std::collections::HashMap;
use std::sync::Arc;

use datafusion_expr::ScalarUDF;

pub use datetime::extract;
pub use string_edit::overlay;
pub use strings::substring;
pub use temporal::{TimestampReader, epoch_days, local_date_time};

/// Scalar functions by lower-case name (and alias).
#[derive(Clone, Debug)]
pub struct FunctionRegistry {
    functions: HashMap<String, Arc<ScalarUDF>>,
}

impl FunctionRegistry {
    /// DataFusion's functions, overridden and extended by Flink's.
    pub fn flink() -> FunctionRegistry {
        let mut functions = HashMap::new();
        let mut add = |f: Arc<ScalarUDF>| {
            for alias in f.aliases() {
                functions.insert(alias.to_ascii_lowercase(), Arc::clone(&f));
            }
            functions.insert(f.name().to_ascii_lowercase(), f);
        };
        for f in datafusion_functions::all_default_functions() {
            add(f);
        }
        // DataFusion names whose meaning differs from Flink's and that Flink does not have.
        for f in datetime::functions()
            .into_iter()
            .chain(time_text::functions())
            .chain(strings::functions())
            .chain(math::functions())
            .chain(math_double::functions())
            .chain(numeric::functions())
            .chain([
                truncate::function(),
                timestamp_add::function(),
                convert_tz::function(),
                split::function(),
                split::extract_all(),
                collections::map_from_arrays(),
                elt::function(),
                parse_url::function(),
                str_to_map::function(),
                map_union::function(),
                similar_to::function(),
                type_of::function(),
            ])
            .chain(string_search::functions())
            .chain(string_edit::functions())
            .chain(encoding::functions())
            .chain(hashing::functions())
            .chain(random::functions())
            .chain(regex_search::functions())
            .chain(collections::functions())
            .chain(array_edit::functions())
            .chain(json::functions())
            .chain(json_construct::functions())
            .chain(greatest::functions())
            .chain(type_predicates::functions())
        {
            add(f);
        }
        // Flink's functions that Sluice refuses must not run as DataFusion's namesakes
        // (`validate` gives the reason instead).
        for name in coverage::refused_names() {
            functions.remove(&name.to_ascii_lowercase());
        }
        FunctionRegistry { functions }
    }

    /// A function by name, case-insensitively.
    pub fn get(&self, name: &str) -> Option<Arc<ScalarUDF>> {
        self.functions.get(&name.to_ascii_lowercase()).cloned()
    }

    /// Every name.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.functions.keys().map(String::as_str)
    }
}
