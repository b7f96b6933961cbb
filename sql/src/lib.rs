//! Sluice's Flink SQL layer, shared by the operator (validation) and the executor (evaluation).
//!
//! - [`types`]: Flink's type syntax and its Arrow mapping.
//! - [`catalog`]: tables as declared by `StreamingTable` resources.
//! - [`planner`]: `INSERT INTO ... SELECT ... FROM ... WHERE ...` onto DataFusion expressions.
//! - [`functions`]: Flink's functions (`DATE_FORMAT` with Java patterns, ...).
//! - [`java`]: the JDK's date-time patterns, number text and parsers, which Flink's output
//!   follows to the character (a leaf: it uses nothing of the crate but [`calendar`]).
//! - [`calendar`]: proleptic Gregorian day numbers for any year (a leaf).

pub mod calendar;
pub mod catalog;
pub mod dialect;
pub mod error;
pub mod functions;
pub mod java;
pub mod planner;
pub mod types;

pub use catalog::{Catalog, Column, TableDef};
pub use error::{ErrorKind, Location, SqlError, SqlErrors};
pub use functions::FunctionRegistry;
pub use planner::{EvalError, Evaluated, JobPlan};
pub use types::{SqlType, SqlTypeKind};

/// Re-exported so that dependents use the one Arrow version in the tree.
pub use datafusion_common::arrow;
