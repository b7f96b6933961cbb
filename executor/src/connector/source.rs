//! What sources produce: batches of raw records of one split (a Kafka topic partition), copied
//! out of the client's buffers so that the client can reuse them.

use std::fmt::Debug;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::context::RunContext;
use super::error::ConnectorError;

/// A unit of a source that one executor reads in order: a Kafka topic partition.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SplitId {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
}

impl std::fmt::Display for SplitId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.topic, self.partition)
    }
}

/// How a record's timestamp was set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimestampType {
    /// No timestamp.
    None,
    /// Set by the producer.
    CreateTime,
    /// Set by the broker.
    LogAppendTime,
}

impl TimestampType {
    /// Kafka's name for it (Flink's `timestamp-type` metadata).
    pub fn name(self) -> &'static str {
        match self {
            TimestampType::None => "NoTimestampType",
            TimestampType::CreateTime => "CreateTime",
            TimestampType::LogAppendTime => "LogAppendTime",
        }
    }
}

/// One record; key and value are ranges of the batch's data.
#[derive(Clone, Copy, Debug)]
pub struct RawRecord {
    /// Offset in the split.
    pub offset: i64,
    /// Epoch milliseconds.
    pub timestamp: Option<i64>,
    /// How the timestamp was set.
    pub timestamp_type: TimestampType,
    /// The leader epoch, if known.
    pub leader_epoch: Option<i32>,
    /// Key bytes.
    pub key: Option<(u32, u32)>,
    /// Value bytes (`None` for a tombstone).
    pub value: Option<(u32, u32)>,
}

/// Records of one split, in offset order.
#[derive(Clone, Debug, Default)]
pub struct RawBatch {
    /// Keys and values, back to back.
    pub data: Vec<u8>,
    /// The records.
    pub records: Vec<RawRecord>,
}

impl RawBatch {
    /// Appends a record, copying its key and value.
    pub fn push(
        &mut self,
        offset: i64,
        timestamp: Option<i64>,
        timestamp_type: TimestampType,
        leader_epoch: Option<i32>,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
    ) {
        let mut copy = |b: Option<&[u8]>| {
            b.map(|b| {
                let start = self.data.len() as u32;
                self.data.extend_from_slice(b);
                (start, self.data.len() as u32)
            })
        };
        let key = copy(key);
        let value = copy(value);
        self.records.push(RawRecord {
            offset,
            timestamp,
            timestamp_type,
            leader_epoch,
            key,
            value,
        });
    }

    /// The bytes of a range.
    pub fn bytes(&self, range: Option<(u32, u32)>) -> Option<&[u8]> {
        range.map(|(s, e)| &self.data[s as usize..e as usize])
    }

    /// The offset after the last record.
    pub fn next_offset(&self) -> Option<i64> {
        self.records.last().map(|r| r.offset + 1)
    }

    /// Appends another batch's records (which must follow these).
    pub fn append(&mut self, other: RawBatch) {
        let shift = self.data.len() as u32;
        self.data.extend_from_slice(&other.data);
        self.records.extend(other.records.into_iter().map(|mut r| {
            r.key = r.key.map(|(s, e)| (s + shift, e + shift));
            r.value = r.value.map(|(s, e)| (s + shift, e + shift));
            r
        }));
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether there are no records.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

/// A property of a source record that a column can read (Flink's `METADATA FROM '...'`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metadata {
    /// `topic` (STRING).
    Topic,
    /// `partition` (INT).
    Partition,
    /// `offset` (BIGINT).
    Offset,
    /// `timestamp` (TIMESTAMP_LTZ(3)).
    Timestamp,
    /// `timestamp-type` (STRING).
    TimestampType,
    /// `leader-epoch` (INT).
    LeaderEpoch,
    /// `key` (STRING or BYTES): the record key, a Sluice extension.
    Key,
}

impl Metadata {
    /// Every key, for messages.
    pub const KEYS: &'static [&'static str] = &[
        "topic",
        "partition",
        "offset",
        "timestamp",
        "timestamp-type",
        "leader-epoch",
        "key",
    ];

    /// The metadata of a key.
    pub fn parse(key: &str) -> Option<Metadata> {
        Some(match key {
            "topic" => Metadata::Topic,
            "partition" => Metadata::Partition,
            "offset" => Metadata::Offset,
            "timestamp" => Metadata::Timestamp,
            "timestamp-type" => Metadata::TimestampType,
            "leader-epoch" => Metadata::LeaderEpoch,
            "key" => Metadata::Key,
            _ => return None,
        })
    }
}

/// What a source tells the pipeline, in order.
#[derive(Debug)]
pub enum SourceEvent {
    /// The split is now read by this executor, from `position` (if known numerically).
    Assigned {
        /// The split.
        split: SplitId,
        /// The first offset that will be read, if the source knows it.
        position: Option<i64>,
    },
    /// Records of an assigned split.
    Batch {
        /// The split.
        split: SplitId,
        /// The records.
        batch: RawBatch,
        /// The split's end offset when the batch was fetched.
        high_watermark: Option<i64>,
    },
    /// The end offsets of assigned splits, refreshed every few seconds (also for splits that
    /// receive nothing, so that their lag stays true).
    Watermarks(Vec<(SplitId, i64)>),
    /// The splits are being taken away; reply on `done` once their work is committed (or
    /// abandoned); the source waits a bounded time.
    Revoked {
        /// The splits.
        splits: Vec<SplitId>,
        /// Acknowledgement.
        done: std::sync::mpsc::SyncSender<()>,
    },
    /// No record arrived for a while on any split (used by `--until-idle`).
    Idle,
    /// Something failed: a [`crate::connector::ErrorKind::Permanent`] failure stops the job
    /// (nothing follows but [`SourceEvent::Stopped`] or the channel closing); a transient one
    /// is reported while the source retries.
    Failed(ConnectorError),
    /// The source stopped after [`SourceRuntime::stop`]; nothing follows.
    Stopped,
}

/// Where assigned splits start: the sink's committed positions. `claim` takes ownership of the
/// splits in the sink (fencing off any previous owner) and returns each one's committed
/// position, or `None` when the job never committed one and the startup mode gives no number
/// (`earliest-offset`).
pub trait PositionOracle: Send + Sync {
    /// Claims the splits; blocking. `start_if_none[i]` is where split `i` starts by the
    /// startup mode when it is a number: a split with no committed position gets it recorded
    /// by the claim itself, so that a restart before its first commit starts there too
    /// ("latest" resolved again would skip what arrived in between).
    fn claim(
        &self,
        splits: &[SplitId],
        start_if_none: &[Option<i64>],
    ) -> Result<Vec<Option<i64>>, ConnectorError>;
}

/// How records are decoded: the source table's format (`format` / `value.format`).
pub type SourceFormat = crate::format::Format;

/// A checked source configuration.
pub trait SourceConfig: Send + Sync + Debug {
    /// How the values of its records are decoded.
    fn format(&self) -> SourceFormat;
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
    ) -> Result<Box<dyn SourceRuntime>, ConnectorError>;
}

/// A running source.
pub trait SourceRuntime: Send {
    /// Commits positions upstream (advisory; a sink with durable positions is the source of
    /// truth).
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
