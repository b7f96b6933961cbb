//! Connectors: where records come from and go to, as Flink's user-defined sources and sinks.
//!
//! A connector is one module that implements [`Connector`] ([`api`]): it checks a table's
//! options and returns a [`SourceConfig`] ([`source`]) or a [`SinkConfig`] ([`sink`]) that
//! opens the running side. Failures are [`ConnectorError`]s ([`error`]) whose kind the
//! pipeline acts on. [`REGISTRY`] lists the connectors; the job validation, the operator and
//! the pipeline only go through these traits, so a new connector is a new module and one entry
//! in [`REGISTRY`] (`docs/connectors.md`).

pub mod api;
pub mod blackhole;
pub mod context;
pub mod datagen;
pub mod error;
pub mod filesystem;
pub mod kafka;
pub mod print;
pub mod sink;
pub mod source;
pub mod unpositioned;

pub use api::{Connector, Role};
pub use context::{RunContext, ValidationContext};
pub use error::{ConnectorError, ErrorKind, Report};
pub use sink::{
    BatchCounts, Claimed, Counters, Positions, SinkConfig, SinkEvent, SinkFormat, SinkRuntime,
};
pub use source::{PositionOracle, SourceConfig, SourceEvent, SourceFormat, SourceRuntime, SplitId};

/// Every connector.
pub static REGISTRY: &[&dyn Connector] = &[
    &kafka::Kafka,
    &filesystem::Filesystem,
    &datagen::Datagen,
    &print::Print,
    &blackhole::Blackhole,
];

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
