//! Connectors: where records come from and go to, as Flink's user-defined sources and sinks.
//!
//! A connector is one module that implements [`Connector`]: it checks a table's options and
//! returns a configuration that can open the runtime side. [`REGISTRY`] lists them; the job
//! validation, the operator and the pipeline only go through this trait, so a new connector is
//! a new module and one entry in [`REGISTRY`].

pub mod filesystem;
pub mod kafka;
pub mod source;

use std::fmt::Debug;
use std::sync::Arc;

use sluice_sql::TableDef;

use crate::format::json::JsonOptions;
use crate::options::OptionError;

/// Whether a table is read or written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Read (`FROM`).
    Source,
    /// Written (`INSERT INTO`).
    Sink,
}

impl Role {
    /// `source` / `sink`.
    pub fn name(self) -> &'static str {
        match self {
            Role::Source => "source",
            Role::Sink => "sink",
        }
    }
}

/// A connector: one module per kind of table.
pub trait Connector: Send + Sync + 'static {
    /// The `connector` value (`kafka`, `filesystem`).
    fn name(&self) -> &'static str;

    /// The roles it supports.
    fn roles(&self) -> &'static [Role];

    /// Metadata keys source tables of this connector can read (`METADATA FROM '...'`).
    fn metadata_keys(&self) -> &'static [&'static str] {
        &[]
    }

    /// Checks a source table's options (all problems at once).
    fn source(
        &self,
        _table: &TableDef,
        _ctx: &ValidationContext,
    ) -> Result<Arc<dyn SourceConfig>, Vec<OptionError>> {
        Err(vec![OptionError {
            key: "connector".into(),
            message: format!("connector '{}' cannot be read from", self.name()),
        }])
    }

    /// Checks a sink table's options (all problems at once).
    fn sink(
        &self,
        _table: &TableDef,
        _ctx: &ValidationContext,
    ) -> Result<Arc<dyn SinkConfig>, Vec<OptionError>> {
        Err(vec![OptionError {
            key: "connector".into(),
            message: format!("connector '{}' cannot be written to", self.name()),
        }])
    }
}

/// What a connector may need to know about the job while checking options.
#[derive(Clone, Debug)]
pub struct ValidationContext {
    /// `namespace/name` of the job (for default consumer groups and state paths).
    pub job: String,
}

/// A checked source configuration.
pub trait SourceConfig: Send + Sync + Debug {
    /// The value format's options.
    fn json(&self) -> &JsonOptions;
    /// A one-line description for logs and the demo (`kafka topic stock-ticks at ...`).
    fn describe(&self) -> String;
    /// Downcasting, for the runtime side of the same connector.
    fn as_any(&self) -> &dyn std::any::Any;
}

/// A checked sink configuration.
pub trait SinkConfig: Send + Sync + Debug {
    /// The format's options.
    fn json(&self) -> &JsonOptions;
    /// `partition.default-name`.
    fn default_partition_name(&self) -> &str;
    /// A one-line description for logs and the demo.
    fn describe(&self) -> String;
    /// Downcasting, for the runtime side of the same connector.
    fn as_any(&self) -> &dyn std::any::Any;
}

/// Every connector.
pub static REGISTRY: &[&dyn Connector] = &[&kafka::Kafka, &filesystem::Filesystem];

/// The connector of a name.
pub fn connector(name: &str) -> Option<&'static dyn Connector> {
    REGISTRY
        .iter()
        .copied()
        .find(|c| c.name().eq_ignore_ascii_case(name))
}

/// Names of every connector with a role, for messages.
pub fn names(role: Role) -> Vec<&'static str> {
    REGISTRY
        .iter()
        .filter(|c| c.roles().contains(&role))
        .map(|c| c.name())
        .collect()
}
