//! Sluice's Kubernetes API (`sluice.dev/v1alpha1`), shared by the operator and the executor.
//!
//! - [`StreamingTable`]: a source or sink table, the Kubernetes form of Flink's
//!   `CREATE TABLE ... PARTITIONED BY (...) WITH ('connector' = ...)`.
//! - [`StreamingJob`]: an `INSERT INTO sink SELECT ... FROM source` statement and how to run it.
//!
//! The generated CRD YAML lives in `crds/yaml/` and `charts/sluice/crds/`; regenerate it with
//! `cargo run -p sluice-crds --bin crdgen -- --write` (a test fails when it drifts).

pub mod api_version;
pub mod conditions;
pub mod crdgen;
pub mod job;
pub mod manifest;
pub mod options;
pub mod resources;
pub mod table;

pub use api_version::{GROUP, VERSION};
pub use job::{
    ExecutorSettings, PartitionStatus, PodTemplateOverlay, RollingPolicySettings, StreamingJob,
    StreamingJobSpec, StreamingJobStatus,
};
pub use manifest::{ManifestError, ManifestSource, Manifests};
pub use options::{OptionFromSecret, OptionValue, SecretKeyRef};
pub use resources::{ExecutorResources, QuantityValue};
pub use table::{ColumnSpec, StreamingTable, StreamingTableSpec, StreamingTableStatus};
