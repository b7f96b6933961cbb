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
pub mod cast;
mod datetime;
pub mod math;
pub mod nested;
mod strings;
mod temporal;
pub mod text;
mod time_text;

#[cfg(test)]
mod test_support;

use std::collections::HashMap;
use std::sync::Arc;

use datafusion_expr::ScalarUDF;

pub use datetime::extract;
pub use strings::substring;
pub use temporal::{
    TimestampReader, civil_from_days, days_from_civil, epoch_days, local_date_time,
};

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
        {
            add(f);
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
