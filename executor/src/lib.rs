//! Sluice's executor: reads a source (Kafka), evaluates the job's SQL on Arrow batches, and
//! writes partitioned files exactly once (S3 or a local filesystem).

pub mod connector;
pub mod format;
pub mod identity;
pub mod job;
pub mod options;
pub mod settings;
pub mod transform;
