//! What connectors are told about the job: while checking options ([`ValidationContext`]) and
//! while running ([`RunContext`]).

use std::time::Duration;

/// What a connector may need to know about the job while checking options.
#[derive(Clone, Debug)]
pub struct ValidationContext {
    /// `namespace/name` of the job (for default consumer groups and state paths).
    pub job: String,
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
