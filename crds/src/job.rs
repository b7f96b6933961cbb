//! `StreamingJob`: an `INSERT INTO ... SELECT ...` statement and how to run it.

// `printcolumn(...)` entries repeat `type_ = ...`; clippy mistakes them for duplicated attributes.
#![allow(clippy::duplicated_attributes)]

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::resources::ExecutorResources;

/// A continuously running Flink SQL statement, `INSERT INTO <sink> SELECT ... FROM <source>
/// [WHERE ...]`, executed by `parallelism` executor pods that share one Kafka consumer group and
/// write each record exactly once.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "sluice.dev",
    version = "v1alpha1",
    kind = "StreamingJob",
    namespaced,
    status = "StreamingJobStatus",
    shortname = "sjob",
    category = "sluice",
    doc = "A streaming SQL job: INSERT INTO a sink table SELECT ... FROM a source table.",
    scale = r#"{"specReplicasPath":".spec.parallelism", "statusReplicasPath":".status.replicas"}"#,
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(
        name = "Parallelism",
        type_ = "integer",
        json_path = ".spec.parallelism"
    ),
    printcolumn(name = "Ready", type_ = "integer", json_path = ".status.readyReplicas"),
    printcolumn(
        name = "Records Out",
        type_ = "integer",
        json_path = ".status.recordsOut"
    ),
    printcolumn(name = "Lag", type_ = "integer", json_path = ".status.lag"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StreamingJobSpec {
    /// The statement: `INSERT INTO <sink table> SELECT <expressions> FROM <source table>
    /// [WHERE <condition>]`, in Flink SQL. Tables are named by their SQL name.
    pub sql: String,

    /// How many executor pods run the job; they share the source's partitions.
    #[serde(default = "default_parallelism")]
    #[schemars(range(min = 0, max = 1024))]
    pub parallelism: i32,

    /// Stop every executor pod (after a graceful flush and commit) without deleting anything;
    /// set back to `false` to resume from the committed position.
    #[serde(default)]
    pub suspend: bool,

    /// The executor image. Default: the operator's executor image. It must start with one of
    /// the operator's allowed image prefixes (`--allowed-image`; by default the repository of
    /// its executor image), else the job is refused (`ForbiddenImage`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,

    /// The executor image's pull policy (`Always`, `IfNotPresent`, `Never`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<String>,

    /// CPU and memory for each executor pod (`requests`, `limits`). The executor keeps its
    /// buffers within a memory budget derived from the memory limit (see
    /// `executor.memoryBudget`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ExecutorResources>,

    /// Run executor pods under this ServiceAccount of the job's namespace (e.g. one annotated
    /// for IRSA) instead of the one the operator creates for the job. The account must carry
    /// the label `sluice.dev/executor: "true"` (set by a namespace admin), else the job is
    /// refused (`ServiceAccountNotPermitted`). The operator binds its least-privilege Role to
    /// it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,

    /// An overlay merged into the executor pods the operator renders: labels, annotations and
    /// an allow-list of PodSpec fields (scheduling, sidecar and init containers, safe volume
    /// types; see docs/security.md). A container named `executor` is merged into the main
    /// container. Anything else (securityContext, host namespaces, hostPath or secret volumes,
    /// ...) is refused (`ForbiddenPodTemplate`); the hardened security context is re-applied to
    /// every container after the merge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_template: Option<PodTemplateOverlay>,

    /// Executor tuning: commit interval, memory budget, rolling defaults, status and metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor: Option<ExecutorSettings>,
}

fn default_parallelism() -> i32 {
    1
}

/// Labels, annotations and PodSpec fields merged into the executor pods.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodTemplateOverlay {
    /// Labels and annotations added to the executor pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<OverlayMetadata>,

    /// PodSpec fields, merged into the rendered PodSpec: maps are merged, lists of named items
    /// (containers, volumes, env) are merged by name, anything else replaces the rendered value.
    /// Allowed: affinity, containers, dnsConfig, dnsPolicy, hostNetwork (only if the operator
    /// allows it), initContainers, nodeSelector, priorityClassName,
    /// terminationGracePeriodSeconds, tolerations, topologySpreadConstraints, volumes
    /// (emptyDir, configMap, downwardAPI, projected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_form_object")]
    pub spec: Option<serde_json::Value>,
}

/// Labels and annotations of the overlay.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OverlayMetadata {
    /// Labels added to the executor pods (the operator's own selector labels win).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations added to the executor pods (e.g. `eks.amazonaws.com/role-arn` on the
    /// ServiceAccount is the IRSA way; pod annotations serve sidecar injectors and scrapers).
    /// AppArmor and seccomp annotations are refused.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

fn free_form_object(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true
    })
}

/// Executor tuning. Every field has a default that suits the common case.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExecutorSettings {
    /// How often finished files are published and source offsets committed, as a Flink
    /// duration (`10s`, `1min`). Default `10s`. Flink's `execution.checkpointing.interval`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_interval: Option<String>,

    /// Memory for buffered records and uploads (`192Mi`, `1Gi`, at least `16Mi`). When it is
    /// reached the largest open files are rolled and committed early. Default: 40% of the
    /// container's memory limit, or 96Mi without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_budget: Option<String>,

    /// Defaults for sinks that do not set `sink.rolling-policy.*` themselves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolling_policy: Option<RollingPolicySettings>,

    /// How often each executor writes its offsets, lag and counters to this resource's status
    /// (`5s`). Default `10s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_interval: Option<String>,

    /// Port of the executor's `/metrics` (Prometheus) and `/healthz` endpoints. Default 9464.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_port: Option<i32>,

    /// Log filter, e.g. `info` or `sluice=debug,rdkafka=warn`. Default `info`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_level: Option<String>,
}

/// Defaults for Flink's `sink.rolling-policy.*` options.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RollingPolicySettings {
    /// `sink.rolling-policy.file-size`, e.g. `128MB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_size: Option<String>,
    /// `sink.rolling-policy.rollover-interval`, e.g. `30min`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollover_interval: Option<String>,
    /// `sink.rolling-policy.inactivity-interval`, e.g. `1min`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inactivity_interval: Option<String>,
}

/// Where a job stands. The operator writes the phase, conditions and totals; each executor pod
/// writes the entries of the source partitions it owns.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreamingJobStatus {
    /// The `metadata.generation` the operator last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// `Pending`, `Running`, `Suspended` or `Failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,

    /// `Valid`, `Ready`, `Progressing`, `Degraded`, each with a reason and a message.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,

    /// Executor pods that exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,

    /// Executor pods that are ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_replicas: Option<i32>,

    /// Source records consumed and committed, summed over `partitions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records_in: Option<i64>,
    /// Records written to the sink and committed, summed over `partitions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records_out: Option<i64>,
    /// Records dropped by the `WHERE` clause, summed over `partitions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records_filtered: Option<i64>,
    /// Records that could not be decoded (skipped or sent to the dead-letter path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records_failed: Option<i64>,
    /// Files published to the sink, summed over `partitions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files_written: Option<i64>,
    /// Bytes published to the sink, summed over `partitions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_written: Option<i64>,
    /// Records in the source not yet committed, summed over `partitions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag: Option<i64>,
    /// The newest `lastCommitTime` of any partition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_commit_time: Option<String>,

    /// One entry per source partition, written by the executor pod that owns it. Counters are
    /// exactly-once: they are stored with the sink's commits and survive restarts.
    // Nullable: on Kubernetes 1.20, server-side apply that removes the last entry of a list-map
    // leaves `null` (an executor pod publishing no partitions, the operator dropping the entries
    // of a gone pod); a non-nullable schema would reject that write.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["topic", "partition"], "nullable" = true))]
    pub partitions: Vec<PartitionStatus>,
}

/// Reads `null` (what a list-map becomes on Kubernetes 1.20 when its last entry is removed) as
/// an empty list.
pub(crate) fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// Progress of one source partition.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartitionStatus {
    /// Source topic.
    pub topic: String,
    /// Source partition.
    pub partition: i32,
    /// The next offset to read after a restart: every record before it is in the sink (or was
    /// filtered) and committed.
    pub committed_offset: i64,
    /// The partition's end offset (high watermark) when last fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high_watermark: Option<i64>,
    /// `highWatermark - committedOffset`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag: Option<i64>,
    /// Records of this partition consumed and committed.
    #[serde(default)]
    pub records_in: i64,
    /// Records of this partition written to the sink and committed.
    #[serde(default)]
    pub records_out: i64,
    /// Records of this partition dropped by the `WHERE` clause.
    #[serde(default)]
    pub records_filtered: i64,
    /// Records of this partition that could not be decoded.
    #[serde(default)]
    pub records_failed: i64,
    /// Files published with records of this partition.
    #[serde(default)]
    pub files_written: i64,
    /// Bytes published with records of this partition.
    #[serde(default)]
    pub bytes_written: i64,
    /// The executor pod that owns the partition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    /// When the last commit of this partition happened (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_commit_time: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_null_partition_list_reads_as_empty() {
        let s: StreamingJobStatus =
            serde_json::from_str(r#"{"phase": "Running", "partitions": null, "conditions": null}"#)
                .unwrap();
        assert!(s.partitions.is_empty() && s.conditions.is_empty());
        let s: StreamingJobStatus = serde_json::from_str(r#"{}"#).unwrap();
        assert!(s.partitions.is_empty());
    }
}
