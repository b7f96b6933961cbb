//! `RAND([seed])` and `RAND_INTEGER([seed, ] bound)` with Flink's seed semantics: a literal
//! seed makes one `java.util.Random(seed)` per job instance, from which each row takes the
//! next value (so a job gives the same sequence as Flink's task with the same input order);
//! without a seed the generator is seeded from the clock.

use std::sync::{Arc, Mutex};

use datafusion_common::arrow::array::{Float64Builder, Int32Builder};
use datafusion_common::arrow::datatypes::DataType;
use datafusion_common::{Result, ScalarValue, exec_err, plan_err};
use datafusion_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

pub fn functions() -> Vec<Arc<ScalarUDF>> {
    vec![
        Arc::new(ScalarUDF::from(Rand::new("rand", false))),
        Arc::new(ScalarUDF::from(Rand::new("rand_integer", true))),
    ]
}

/// `java.util.Random`'s linear congruential generator.
#[derive(Debug, Clone)]
pub(super) struct JavaRandom {
    seed: u64,
}

const MULTIPLIER: u64 = 0x5_DEEC_E66D;
const MASK: u64 = (1 << 48) - 1;

impl JavaRandom {
    pub(super) fn new(seed: i64) -> JavaRandom {
        JavaRandom {
            seed: (seed as u64 ^ MULTIPLIER) & MASK,
        }
    }

    fn next(&mut self, bits: u32) -> i32 {
        self.seed = (self.seed.wrapping_mul(MULTIPLIER).wrapping_add(0xB)) & MASK;
        (self.seed >> (48 - bits)) as i64 as i32
    }

    pub(super) fn next_double(&mut self) -> f64 {
        let hi = i64::from(self.next(26)) << 27;
        let lo = i64::from(self.next(27));
        (hi + lo) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// `nextInt(bound)` for `bound > 0`.
    pub(super) fn next_int(&mut self, bound: i32) -> i32 {
        let mut r = self.next(31);
        let m = bound - 1;
        if bound & m == 0 {
            return ((i64::from(bound) * i64::from(r)) >> 31) as i32;
        }
        let mut u = r;
        loop {
            r = u % bound;
            if u.wrapping_sub(r).wrapping_add(m) >= 0 {
                return r;
            }
            u = self.next(31);
        }
    }
}

/// One generator per literal seed (Flink: per call), created on first use; without a seed,
/// one generator seeded from the clock.
#[derive(Debug)]
struct Rand {
    name: &'static str,
    integer: bool,
    state: Mutex<std::collections::HashMap<Option<i64>, JavaRandom>>,
    signature: Signature,
}

impl PartialEq for Rand {
    fn eq(&self, other: &Self) -> bool {
        // Two calls are never the same expression: each has its own sequence.
        std::ptr::eq(self, other)
    }
}

impl Eq for Rand {}

impl std::hash::Hash for Rand {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl Rand {
    fn new(name: &'static str, integer: bool) -> Self {
        Rand {
            name,
            integer,
            state: Mutex::new(std::collections::HashMap::new()),
            signature: Signature::user_defined(Volatility::Volatile),
        }
    }
}

fn literal_int(arg: &ColumnarValue, what: &str) -> Result<Option<i64>> {
    match arg {
        ColumnarValue::Scalar(s) => match s.cast_to(&DataType::Int64)? {
            ScalarValue::Int64(v) => Ok(v),
            _ => Ok(None),
        },
        ColumnarValue::Array(_) => exec_err!("{what} must be a literal"),
    }
}

impl ScalarUDFImpl for Rand {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let max = if self.integer { 2 } else { 1 };
        let min = usize::from(self.integer);
        if args.len() < min
            || args.len() > max
            || !args.iter().all(|t| t.is_integer() || t == &DataType::Null)
        {
            return plan_err!(
                "{}",
                if self.integer {
                    "RAND_INTEGER([INT seed, ] INT bound) takes integers"
                } else {
                    "RAND([INT seed]) takes an integer seed"
                }
            );
        }
        Ok(vec![DataType::Int64; args.len()])
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(if self.integer {
            DataType::Int32
        } else {
            DataType::Float64
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let seeded = args.args.len() == if self.integer { 2 } else { 1 };
        let seed = if seeded {
            literal_int(&args.args[0], "the seed")?
        } else {
            None
        };
        let bound = if self.integer {
            literal_int(&args.args[args.args.len() - 1], "the bound")?
        } else {
            None
        };
        let mut state = self
            .state
            .lock()
            .map_err(|_| datafusion_common::DataFusionError::Internal("RAND state".into()))?;
        let random = state.entry(seed).or_insert_with(|| {
            JavaRandom::new(seed.unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as i64)
            }))
        });
        if self.integer {
            let mut b = Int32Builder::with_capacity(rows);
            for _ in 0..rows {
                match bound {
                    Some(n) if n > 0 && n <= i64::from(i32::MAX) => {
                        b.append_value(random.next_int(n as i32));
                    }
                    Some(n) => return exec_err!("RAND_INTEGER: bound must be positive, got {n}"),
                    None => b.append_null(),
                }
            }
            Ok(ColumnarValue::Array(Arc::new(b.finish())))
        } else {
            let mut b = Float64Builder::with_capacity(rows);
            for _ in 0..rows {
                b.append_value(random.next_double());
            }
            Ok(ColumnarValue::Array(Arc::new(b.finish())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sequence_is_javas() {
        let mut r = JavaRandom::new(42);
        assert_eq!(r.next_double(), 0.7275636800328681);
        let mut r = JavaRandom::new(0);
        assert_eq!(r.next_double(), 0.730967787376657);
    }
}
