//! Partition values must come from the record alone: exactly-once deduplication is per
//! partition path (a replayed record is skipped when its path's committed high-water mark
//! covers it), so a value that changes between two evaluations of the same record — the
//! clock, a random number — would put a replayed record into another partition and write it
//! twice.

use datafusion_common::tree_node::{TreeNode as _, TreeNodeRecursion};
use datafusion_expr::{Expr, Volatility};

/// Functions declared volatile for their form without arguments (which reads the clock)
/// that are deterministic when called with arguments: `UNIX_TIMESTAMP(s)` parses `s`.
const DETERMINISTIC_WITH_ARGUMENTS: &[&str] = &["unix_timestamp"];

/// The first function of `expr` whose result is not determined by its arguments (`NOW`,
/// `CURRENT_TIMESTAMP`, `CURRENT_DATE`, `LOCALTIMESTAMP`, `RAND`, `UUID`, `UNIX_TIMESTAMP()`,
/// ...), by name.
pub(super) fn volatile_function(expr: &Expr) -> Option<String> {
    let mut found = None;
    let _ = expr.apply(|e| {
        if let Expr::ScalarFunction(f) = e
            && f.func.signature().volatility == Volatility::Volatile
            && (f.args.is_empty() || !DETERMINISTIC_WITH_ARGUMENTS.contains(&f.func.name()))
        {
            found = Some(f.func.name().to_uppercase());
            return Ok(TreeNodeRecursion::Stop);
        }
        Ok(TreeNodeRecursion::Continue)
    });
    found
}

/// Why a partition column cannot take `display`, which calls `function`.
pub(super) fn message(display: &str, function: &str, sink: &str, column: &str) -> String {
    format!(
        "{display} chooses the partition (sink column {sink}.{column}) but calls {function}, whose value differs each time a record is read: after a restart the records read again would land in another partition and be written twice. Partition by a value of the record instead; to partition by arrival time, declare a column on the source table that reads the record's Kafka timestamp (e.g. {{name: ts, type: TIMESTAMP_LTZ(3), metadata: timestamp}}) and use it (e.g. DATE_FORMAT(ts, 'HH'))"
    )
}
