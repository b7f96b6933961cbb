//! What a connector is: the `connector` value of a table, the roles it can play, and the
//! check of a table's options that yields a [`SourceConfig`] or a [`SinkConfig`].

use std::sync::Arc;

use sluice_sql::TableDef;

use super::context::ValidationContext;
use super::sink::SinkConfig;
use super::source::SourceConfig;
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

/// A connector: one module per kind of table, listed in [`super::REGISTRY`].
pub trait Connector: Send + Sync + 'static {
    /// The `connector` value (`kafka`, `filesystem`).
    fn name(&self) -> &'static str;

    /// The roles it supports.
    fn roles(&self) -> &'static [Role];

    /// Whether its tables have a `format` (`json`): Flink's `datagen`, `print` and `blackhole`
    /// have none.
    fn has_format(&self) -> bool {
        true
    }

    /// Metadata keys source tables of this connector can read (`METADATA FROM '...'`).
    fn metadata_keys(&self) -> &'static [&'static str] {
        &[]
    }

    /// The most executor pods a job reading this source may run (`spec.parallelism`), with
    /// the reason; `None`: no limit (the source's splits are shared among the pods).
    fn source_parallelism_limit(&self) -> Option<(i32, &'static str)> {
        None
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
