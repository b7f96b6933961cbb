//! Sluice's executor: reads a source (Kafka), evaluates the job's SQL on Arrow batches, and
//! writes partitioned files exactly once (S3 or a local filesystem).

pub mod connector;
pub mod demo;
pub mod format;
pub mod identity;
pub mod job;
pub mod location;
pub mod metrics;
pub mod mock_kafka;
pub mod options;
pub mod output;
pub mod partition;
pub mod pipeline;
pub mod progress;
pub mod runner;
pub mod settings;
pub mod status;
pub mod ticks;
pub mod transform;

/// Installs the process-wide rustls `CryptoProvider` (ring), which kube's client and the
/// AWS SDK share. Idempotent.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
