//! The `filesystem` connector: a sink of Hive-partitioned files on S3 (`s3://`, `s3a://`) or a
//! local filesystem (`file://`), written exactly once.

pub mod commit_log;
pub mod fault;
pub mod file_names;
pub mod options;
pub mod runtime;
pub mod store;
pub mod writer;

use std::sync::Arc;

use sluice_sql::TableDef;

use futures::future::BoxFuture;

use super::api::{Connector, Role};
use super::context::{RunContext, ValidationContext};
use super::error::ConnectorError;
use super::sink::{Positions, SinkConfig, SinkFormat, SinkRuntime};
use crate::options::{OptionError, Options};
pub use options::FilesystemSinkOptions;

/// The `filesystem` connector.
#[derive(Debug)]
pub struct Filesystem;

impl Connector for Filesystem {
    fn name(&self) -> &'static str {
        "filesystem"
    }

    fn roles(&self) -> &'static [Role] {
        &[Role::Sink]
    }

    fn sink(
        &self,
        table: &TableDef,
        _ctx: &ValidationContext,
    ) -> Result<Arc<dyn SinkConfig>, Vec<OptionError>> {
        let mut o = Options::of_table(table);
        let options = options::read(&mut o, &table.secret_options, table.format.as_deref());
        o.finish("filesystem")?;
        match options {
            Some(options) => Ok(Arc::new(options)),
            None => Err(Vec::new()),
        }
    }
}

impl SinkConfig for FilesystemSinkOptions {
    fn format(&self) -> SinkFormat {
        SinkFormat::Rows(self.format.clone())
    }

    /// The commit log beside the data (`_sluice/`), written with it exactly once.
    fn positions(&self) -> Positions {
        Positions::Durable
    }

    fn default_partition_name(&self) -> &str {
        &self.default_partition_name
    }

    fn describe(&self) -> String {
        format!(
            "filesystem {} ({})",
            self.location.uri(),
            self.format.name()
        )
    }

    fn open<'a>(
        &'a self,
        run: &'a RunContext,
        positions: &'a str,
    ) -> BoxFuture<'a, Result<Box<dyn SinkRuntime>, ConnectorError>> {
        Box::pin(runtime::open(self, run, positions))
    }
}
