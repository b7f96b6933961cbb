//! What sinks are: a checked configuration ([`SinkConfig`]) that opens a running sink
//! ([`SinkRuntime`]), the pipeline's side of it, and what a running sink tells the pipeline
//! ([`SinkEvent`]). Nothing here names a connector: where a sink keeps source positions is its
//! own business ([`Positions`]).

use std::fmt::Debug;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use super::context::RunContext;
use super::error::ConnectorError;
use super::source::{PositionOracle, SplitId};
use crate::format::Format;
use crate::output::Output;

/// Exactly-once counters of a split, stored with its commits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Records consumed.
    pub records_in: u64,
    /// Records written (or already in the sink when replayed).
    pub records_out: u64,
    /// Records dropped by `WHERE`, and empty records.
    pub records_filtered: u64,
    /// Records that could not be decoded or evaluated.
    pub records_failed: u64,
    /// Files published.
    pub files_written: u64,
    /// Bytes published.
    pub bytes_written: u64,
}

impl Counters {
    /// Adds another set.
    pub fn add(&mut self, o: &Counters) {
        self.records_in += o.records_in;
        self.records_out += o.records_out;
        self.records_filtered += o.records_filtered;
        self.records_failed += o.records_failed;
        self.files_written += o.files_written;
        self.bytes_written += o.bytes_written;
    }
}

/// Counts of one batch of a split, kept until its records are committed.
#[derive(Clone, Copy, Debug, Default)]
pub struct BatchCounts {
    /// Records in the batch.
    pub records_in: u64,
    /// Rows written (or skipped as already in the sink).
    pub records_out: u64,
    /// Records dropped by `WHERE` or empty.
    pub records_filtered: u64,
    /// Records that failed (dropped or sent to a dead-letter path).
    pub records_failed: u64,
}

/// What a running sink tells the pipeline.
#[derive(Debug)]
pub enum SinkEvent {
    /// A split's position is committed: every record before `offset` is handled by the sink
    /// (durably for a sink with [`Positions::Durable`]).
    Committed {
        /// The split.
        split: SplitId,
        /// The committed position.
        offset: i64,
        /// Its counters (exactly once for a sink with [`Positions::Durable`]).
        counters: Counters,
    },
    /// Another executor took the split over; its batches must be dropped until reassigned.
    Fenced {
        /// The split.
        split: SplitId,
    },
    /// Something failed: a [`crate::connector::ErrorKind::Permanent`] failure stops the job;
    /// a transient one is reported while the sink retries.
    Failed(ConnectorError),
}

/// Where the positions of the source records a sink has handled are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Positions {
    /// With the data, atomically (the filesystem sink's commit log): the sink's claim says
    /// where an assigned split starts, and a restart neither loses nor repeats a record.
    Durable,
    /// Nowhere: the sink keeps no positions (`print`, `blackhole`). A split starts by the
    /// source's startup mode (for Kafka, `group-offsets` resumes from the offsets the source
    /// commits to its group after each of the sink's commits: at least once).
    None,
}

/// How rows are encoded for the sink: the sink table's format.
#[derive(Clone, Debug)]
pub enum SinkFormat {
    /// One of the row formats a table chooses with `format` (`json`, `csv`, `raw`), one line
    /// per row.
    Rows(Format),
    /// Flink's `Row.toString()`: `+I[1, abc, 2024-01-01T12:00]`, one line per row (the
    /// `print` sink's text).
    RowText,
}

/// A checked sink configuration.
pub trait SinkConfig: Send + Sync + Debug {
    /// How rows are encoded.
    fn format(&self) -> SinkFormat;
    /// The partition path segment of a NULL or empty partition value (`partition.default-name`).
    fn default_partition_name(&self) -> &str {
        crate::partition::DEFAULT_PARTITION_NAME
    }
    /// Where positions are kept.
    fn positions(&self) -> Positions;
    /// A one-line description for logs and the demo.
    fn describe(&self) -> String;
    /// Opens the sink; positions are committed under `positions` (the source's namespace).
    fn open<'a>(
        &'a self,
        run: &'a RunContext,
        positions: &'a str,
    ) -> BoxFuture<'a, Result<Box<dyn SinkRuntime>, ConnectorError>>;
}

/// What a sink found committed for a split it claimed.
#[derive(Clone, Debug, Default)]
pub struct Claimed {
    /// The committed position (`None`: nothing committed yet).
    pub offset: Option<i64>,
    /// The committed counters.
    pub counters: Counters,
}

/// A running sink, driven by the pipeline.
pub trait SinkRuntime: Send {
    /// The claimer the source asks where assigned splits start.
    fn oracle(&self) -> Arc<dyn PositionOracle>;
    /// Starts writing a claimed split; returns what its claim found committed (position and
    /// counters), which replaces anything this process knew of the split before. `None`: the
    /// split was not claimed, and its records are ignored.
    fn assign(&mut self, split: &SplitId, position: Option<i64>) -> Option<Claimed>;
    /// Stops writing a split, abandoning what is not committed.
    fn revoke(&mut self, split: &SplitId);
    /// Whether the split is written by this sink now.
    fn owns(&self, split: &SplitId) -> bool;
    /// The next offset the sink expects of a split it writes, once known: records before it
    /// are handled already.
    fn position(&self, split: &SplitId) -> Option<i64>;
    /// Writes a batch's output rows (`first..next` are the batch's offsets).
    fn write(&mut self, split: &SplitId, out: &Output, first: i64, next: i64, counts: BatchCounts);
    /// Rolls what is due by time.
    fn roll_due(&mut self, now: Instant);
    /// Rolls every open file of a split.
    fn roll_split(&mut self, split: &SplitId);
    /// Starts commits of every split with something to commit.
    fn commit_all(&mut self);
    /// Whether everything of the split before its position is committed.
    fn split_settled(&self, split: &SplitId) -> bool;
    /// Memory held / budget / open files, for metrics and back-pressure.
    fn memory(&self) -> (u64, u64, usize);
    /// The next event (commits, fencing, failures).
    fn next_event(&mut self) -> BoxFuture<'_, SinkEvent>;
    /// Rolls everything and waits until all is committed, or the deadline passes.
    fn settle(&mut self, deadline: Duration) -> BoxFuture<'_, Result<(), ConnectorError>>;
    /// Writes the dead letters of [`Output::dead_letters`] to `path` (the source table's
    /// `sluice.dead-letter.path`), exactly once with the data.
    fn set_dead_letter(&mut self, path: &str) -> Result<(), ConnectorError> {
        Err(ConnectorError::permanent(format!(
            "this sink cannot write dead letters to {path}"
        )))
    }
}
