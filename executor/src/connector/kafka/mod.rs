//! The `kafka` connector: a source that reads topics in a consumer group.

pub mod consumer;
pub mod msk_iam;
pub mod options;
pub mod properties;

use std::sync::Arc;

use sluice_sql::TableDef;

use tokio::sync::mpsc;

use super::api::{Connector, Role};
use super::context::{RunContext, ValidationContext};
use super::error::ConnectorError;
use super::source::{
    Metadata, PositionOracle, SourceConfig, SourceEvent, SourceFormat, SourceRuntime,
};
use crate::options::{OptionError, Options};
pub use options::KafkaSourceOptions;

/// The `kafka` connector.
#[derive(Debug)]
pub struct Kafka;

impl Connector for Kafka {
    fn name(&self) -> &'static str {
        "kafka"
    }

    fn roles(&self) -> &'static [Role] {
        &[Role::Source]
    }

    fn metadata_keys(&self) -> &'static [&'static str] {
        Metadata::KEYS
    }

    fn source(
        &self,
        table: &TableDef,
        ctx: &ValidationContext,
    ) -> Result<Arc<dyn SourceConfig>, Vec<OptionError>> {
        let mut o = Options::of_table(table);
        let default_group = format!("sluice-{}", ctx.job.replace('/', "-"));
        let options = options::read(
            &mut o,
            &default_group,
            &table.secret_options,
            table.format.as_deref(),
        );
        o.finish("kafka")?;
        match options {
            Some(options) => Ok(Arc::new(options)),
            None => Err(Vec::new()),
        }
    }
}

impl SourceConfig for KafkaSourceOptions {
    fn format(&self) -> SourceFormat {
        self.format.clone()
    }

    fn describe(&self) -> String {
        let what = match &self.topic_pattern {
            Some(p) => format!("topics matching {p}"),
            None => format!("topic {}", self.topics.join(";")),
        };
        let servers = self
            .client
            .get("bootstrap.servers")
            .map_or("", String::as_str);
        format!("kafka {what} at {servers} (group {})", self.group_id)
    }

    fn position_namespace(&self) -> String {
        self.group_id.clone()
    }

    fn open(
        &self,
        run: &RunContext,
        oracle: Arc<dyn PositionOracle>,
        events: mpsc::Sender<SourceEvent>,
    ) -> Result<Box<dyn SourceRuntime>, ConnectorError> {
        let settings = consumer::ConsumerSettings {
            prefetch_kbytes: run.prefetch_kbytes,
            idle_after: run.idle_after,
            ..Default::default()
        };
        let source = consumer::KafkaSource::start(self, oracle, settings, events)
            .map_err(ConnectorError::permanent)?;
        Ok(Box::new(source))
    }
}
