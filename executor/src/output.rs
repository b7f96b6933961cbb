//! What one batch of source records became, as the sink receives it: encoded rows (each with
//! its partition path and the offset of the record it came from), and the records that were
//! filtered, dropped or failed. Made by [`crate::transform`], written by a sink
//! ([`crate::connector::sink::SinkRuntime::write`]); neither owns it.

/// A record that could not go through the job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedRecord {
    /// Its offset.
    pub offset: i64,
    /// Index in the batch.
    pub index: usize,
    /// Why (Flink's wording where there is one).
    pub reason: String,
}

/// One output row: its partition (index into [`Output::buckets`]), its JSON line (a range of
/// [`Output::data`]) and the offset of the source record it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutRow {
    /// Index into `buckets`.
    pub bucket: u32,
    /// Start of the line in `data`.
    pub start: u32,
    /// End of the line (after its `\n`).
    pub end: u32,
    /// Source offset.
    pub offset: i64,
}

/// What a batch became.
#[derive(Debug, Default)]
pub struct Output {
    /// JSON lines, back to back.
    pub data: Vec<u8>,
    /// Output rows in source order.
    pub rows: Vec<OutRow>,
    /// Partition paths used by this batch (`""` for an unpartitioned sink).
    pub buckets: Vec<String>,
    /// Records the `WHERE` clause dropped, plus empty records (tombstones).
    pub filtered: u64,
    /// Malformed records dropped because of `json.ignore-parse-errors`.
    pub dropped: u64,
    /// Records that failed (decoding, evaluation, NOT NULL), in offset order.
    pub failed: Vec<FailedRecord>,
    /// Dead letters of failed records, in offset order: (offset, JSON line), written by the
    /// sink to the dead-letter path when one is set (filled by the pipeline).
    pub dead_letters: Vec<(i64, Vec<u8>)>,
}
