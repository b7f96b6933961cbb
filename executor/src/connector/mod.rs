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
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use tokio::sync::mpsc;

use sluice_sql::TableDef;

use crate::format::json::JsonOptions;
use crate::options::OptionError;
use crate::transform::Output;
pub use filesystem::writer::{BatchCounts, SinkEvent};
pub use source::{PositionOracle, SourceEvent, SplitId};

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
    /// The value format (JSON with [`SourceConfig::json`] unless the connector says otherwise).
    fn format(&self) -> crate::format::Format {
        crate::format::Format::Json(self.json().clone())
    }
    /// A one-line description for logs and the demo (`kafka topic stock-ticks at ...`).
    fn describe(&self) -> String;
    /// The name under which positions of this source are committed (the consumer group):
    /// two runs with the same name continue from each other's positions.
    fn position_namespace(&self) -> String;
    /// Starts reading; events go to `events`, starting positions come from `oracle`.
    fn open(
        &self,
        run: &RunContext,
        oracle: Arc<dyn PositionOracle>,
        events: mpsc::Sender<SourceEvent>,
    ) -> Result<Box<dyn SourceRuntime>, String>;
}

/// A checked sink configuration.
pub trait SinkConfig: Send + Sync + Debug {
    /// The format's options.
    fn json(&self) -> &JsonOptions;
    /// The format (JSON with [`SinkConfig::json`] unless the connector says otherwise).
    fn format(&self) -> crate::format::Format {
        crate::format::Format::Json(self.json().clone())
    }
    /// `partition.default-name`.
    fn default_partition_name(&self) -> &str;
    /// A one-line description for logs and the demo.
    fn describe(&self) -> String;
    /// Opens the sink; positions are committed under `positions` (the source's namespace).
    fn open<'a>(
        &'a self,
        run: &'a RunContext,
        positions: &'a str,
    ) -> BoxFuture<'a, Result<Box<dyn SinkRuntime>, String>>;
}

/// What a running job tells connectors about itself.
#[derive(Clone, Debug)]
pub struct RunContext {
    /// `namespace/name` of the job.
    pub job: String,
    /// This executor's name (pod name, or host and pid).
    pub executor: String,
    /// Memory the sink may hold.
    pub memory_budget: u64,
    /// Rolling defaults from the job's settings.
    pub rolling: crate::settings::RollingDefaults,
    /// Report idleness after this long without records (`--until-idle`).
    pub idle_after: Option<Duration>,
    /// librdkafka prefetch memory, in KiB.
    pub prefetch_kbytes: u64,
}

/// A running source.
pub trait SourceRuntime: Send {
    /// Commits positions upstream (advisory; the sink is the source of truth).
    fn commit(&self, positions: &[(SplitId, i64)]);
    /// Asks the source to stop: it revokes its splits (a [`SourceEvent::Revoked`] to answer)
    /// and ends with the channel closing.
    fn stop(&mut self);
    /// Asks the source to claim these splits again (through its [`PositionOracle`]) and read
    /// them from the claimed position, announced by a new [`SourceEvent::Assigned`], if it
    /// still reads them: the sink lost them (fenced by an executor whose claim came later, or
    /// assigned without a claim) while the source is still assigned them.
    fn reclaim(&self, splits: &[SplitId]);
}

/// What a sink found committed for a split it claimed.
#[derive(Clone, Debug, Default)]
pub struct Claimed {
    /// The committed position (`None`: nothing committed yet).
    pub offset: Option<i64>,
    /// The committed exactly-once counters.
    pub counters: filesystem::commit_log::Counters,
}

/// A running sink, driven by the pipeline.
pub trait SinkRuntime: Send {
    /// The claimer the source asks where assigned splits start.
    fn oracle(&self) -> Arc<dyn PositionOracle>;
    /// Starts writing a claimed split; returns what its claim found committed (position and
    /// exactly-once counters), which replaces anything this process knew of the split before.
    fn assign(&mut self, split: &SplitId, position: Option<i64>) -> Option<Claimed>;
    /// Stops writing a split, abandoning what is not committed.
    fn revoke(&mut self, split: &SplitId);
    /// Whether the split is written by this sink now.
    fn owns(&self, split: &SplitId) -> bool;
    /// The next offset the sink expects of a split it writes, once known: records before it
    /// are handled already.
    fn position(&self, split: &SplitId) -> Option<i64>;
    /// Writes a batch's output rows (`first..next` are the batch's offsets).
    fn write(&mut self, split: &SplitId, out: &Output, first: i64, next: i64, counts: BatchCounts);
    /// Rolls what is due by time.
    fn roll_due(&mut self, now: Instant);
    /// Rolls every open file of a split.
    fn roll_split(&mut self, split: &SplitId);
    /// Starts commits of every split with something to commit.
    fn commit_all(&mut self);
    /// Whether everything of the split before its position is committed.
    fn split_settled(&self, split: &SplitId) -> bool;
    /// Memory held / budget / open files, for metrics and back-pressure.
    fn memory(&self) -> (u64, u64, usize);
    /// The next event (commits, fencing, failures).
    fn next_event(&mut self) -> BoxFuture<'_, SinkEvent>;
    /// Rolls everything and waits until all is committed, or the deadline passes.
    fn settle(&mut self, deadline: Duration) -> BoxFuture<'_, Result<(), String>>;
    /// Writes the dead letters of [`Output::dead_letters`] to `location`, exactly once with
    /// the data.
    fn set_dead_letter(&mut self, location: &filesystem::options::Location) -> Result<(), String> {
        Err(format!(
            "this sink cannot write dead letters to {}",
            location.uri()
        ))
    }
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
