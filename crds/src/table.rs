//! `StreamingTable`: a source or sink table.

// `printcolumn(...)` entries repeat `type_ = ...`; clippy mistakes them for duplicated attributes.
#![allow(clippy::duplicated_attributes)]

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, ResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::options::{OptionFromSecret, OptionValue};

/// A table that jobs read from or write to: the Kubernetes form of Flink's
/// `CREATE TABLE name (columns) PARTITIONED BY (...) WITH ('connector' = ..., 'format' = ..., ...)`.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "sluice.dev",
    version = "v1alpha1",
    kind = "StreamingTable",
    namespaced,
    status = "StreamingTableStatus",
    shortname = "stbl",
    category = "sluice",
    doc = "A source or sink table: columns, connector, format and Flink-style options.",
    printcolumn(name = "SQL Name", type_ = "string", json_path = ".status.sqlName"),
    printcolumn(name = "Connector", type_ = "string", json_path = ".spec.connector"),
    printcolumn(name = "Format", type_ = "string", json_path = ".spec.format"),
    printcolumn(name = "Topic", type_ = "string", json_path = ".spec.options.topic"),
    printcolumn(name = "Path", type_ = "string", json_path = ".spec.options.path"),
    printcolumn(
        name = "Valid",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Valid\")].status"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StreamingTableSpec {
    /// The table's name in SQL. Default: `metadata.name` with `-` turned into `_`
    /// (`stock-ticks` is `stock_ticks`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_name: Option<String>,

    /// The connector, as Flink's `'connector'` option: `kafka` (source) or `filesystem`
    /// (sink; `s3://`, `s3a://` or `file://` paths).
    pub connector: String,

    /// The format of records, as Flink's `'format'` option: `json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,

    /// The columns, in order, with Flink SQL types (`STRING`, `DOUBLE`, `BIGINT`, `BOOLEAN`,
    /// `DECIMAL(10, 2)`, `TIMESTAMP(3)`, `TIMESTAMP_LTZ(3)`, `DATE`, ... and `NOT NULL`).
    /// A column with `metadata` reads a property of the source record instead of its value.
    pub columns: Vec<ColumnSpec>,

    /// Sink only: the columns whose values make the Hive-style `col=value/` directories, in
    /// order (Flink's `PARTITIONED BY`). They are not repeated inside the files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partitioned_by: Vec<String>,

    /// Connector and format options with Flink's names (`topic`,
    /// `properties.bootstrap.servers`, `scan.startup.mode`, `path`,
    /// `sink.rolling-policy.file-size`, `json.ignore-parse-errors`, ...). Secrets do not go
    /// here: credentials (`properties.sasl.password`, `properties.ssl.key.pem`,
    /// `s3.secret-key`, ...) are refused; use `optionsFrom`. `properties.*` must be librdkafka
    /// consumer properties; those that load code or name files (`plugin.library.paths`,
    /// `*.location`, ...) are refused.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, OptionValue>,

    /// Options whose values come from Secrets (passwords, keys). Executor pods receive them as
    /// environment variables; nothing secret is stored in the spec or the executor's config.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options_from: Vec<OptionFromSecret>,
}

/// One column of a table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ColumnSpec {
    /// The column's name in SQL.
    pub name: String,

    /// The Flink SQL type, e.g. `STRING`, `DOUBLE`, `DECIMAL(10, 2)`, `TIMESTAMP(3)`,
    /// `BIGINT NOT NULL`.
    #[serde(rename = "type")]
    pub type_: String,

    /// Source only: read this property of the record instead of a field of its value
    /// (Flink's `METADATA FROM '...'`). Kafka: `topic`, `partition`, `offset`, `timestamp`,
    /// `timestamp-type`, `key`, `leader-epoch`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,

    /// A human-readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// Where a table stands, as the operator last checked it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreamingTableStatus {
    /// The `metadata.generation` these conditions describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// The table's name in SQL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql_name: Option<String>,

    /// `Valid`: whether the columns, connector, format and options check out; its message lists
    /// every problem.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::job::null_as_empty"
    )]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}

impl StreamingTable {
    /// The table's SQL name: `spec.tableName`, else `metadata.name` with `-` turned into `_`.
    pub fn sql_name(&self) -> String {
        match &self.spec.table_name {
            Some(name) => name.clone(),
            None => self.name_any().replace('-', "_"),
        }
    }
}
