//! The `blackhole` connector: a sink that discards every row, as Flink's
//! `BlackHoleTableSinkFactory` (no options besides `connector`). For measuring a job without
//! the cost of writing, and for trying SQL without infrastructure.

use std::sync::Arc;

use futures::future::BoxFuture;
use sluice_sql::TableDef;

use super::api::{Connector, Role};
use super::context::{RunContext, ValidationContext};
use super::error::ConnectorError;
use super::sink::{Positions, SinkConfig, SinkFormat, SinkRuntime};
use super::source::SplitId;
use super::unpositioned::{RowWriter, Unpositioned};
use crate::options::{OptionError, Options};
use crate::output::Output;

/// The `blackhole` connector.
#[derive(Debug)]
pub struct Blackhole;

impl Connector for Blackhole {
    fn name(&self) -> &'static str {
        "blackhole"
    }

    fn roles(&self) -> &'static [Role] {
        &[Role::Sink]
    }

    fn has_format(&self) -> bool {
        false
    }

    fn sink(
        &self,
        table: &TableDef,
        _ctx: &ValidationContext,
    ) -> Result<Arc<dyn SinkConfig>, Vec<OptionError>> {
        let o = Options::of_table(table);
        o.finish(self.name())?;
        Ok(Arc::new(BlackholeSink))
    }
}

/// A checked `blackhole` table.
#[derive(Debug)]
pub struct BlackholeSink;

impl SinkConfig for BlackholeSink {
    fn format(&self) -> SinkFormat {
        // Rows are encoded (and so checked: a NOT NULL column, a value that cannot be
        // written) as for `print`, then dropped.
        SinkFormat::RowText
    }

    fn positions(&self) -> Positions {
        Positions::None
    }

    fn describe(&self) -> String {
        "blackhole (rows are discarded)".to_owned()
    }

    fn open<'a>(
        &'a self,
        run: &'a RunContext,
        _positions: &'a str,
    ) -> BoxFuture<'a, Result<Box<dyn SinkRuntime>, ConnectorError>> {
        let runtime = Unpositioned::new(Discard, run.memory_budget);
        Box::pin(async move { Ok(Box::new(runtime) as Box<dyn SinkRuntime>) })
    }
}

/// Drops rows.
struct Discard;

impl RowWriter for Discard {
    fn write(&mut self, _split: &SplitId, _out: &Output) -> Result<(), ConnectorError> {
        Ok(())
    }
}
