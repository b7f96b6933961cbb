//! What sources produce: batches of raw records of one split (a Kafka topic partition), copied
//! out of the client's buffers so that the client can reuse them.

use serde::{Deserialize, Serialize};

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

    /// Number of records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether there are no records.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}
