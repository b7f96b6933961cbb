//! Where a running job stands, shared by the pipeline (which updates it), the status writer,
//! the metrics endpoint and the demo's progress line.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::connector::sink::Counters;
use crate::connector::source::SplitId;

/// Progress of one split owned by this executor.
#[derive(Clone, Debug, Default)]
pub struct SplitProgress {
    /// Committed position.
    pub committed_offset: Option<i64>,
    /// Next offset to process.
    pub position: Option<i64>,
    /// End of the split when last fetched.
    pub high_watermark: Option<i64>,
    /// Committed exactly-once counters.
    pub counters: Counters,
    /// When it was last committed (RFC 3339).
    pub last_commit: Option<String>,
    /// Whether this executor owns the split now (entries of handed-over splits are kept for
    /// the totals of this process but are not reported as owned).
    pub owned: bool,
}

/// Counters since this process started (not exactly-once: replays count again).
#[derive(Clone, Copy, Debug, Default)]
pub struct Live {
    /// Records consumed.
    pub records_in: u64,
    /// Rows written.
    pub records_out: u64,
    /// Records filtered.
    pub records_filtered: u64,
    /// Records failed.
    pub records_failed: u64,
    /// Record bytes consumed.
    pub bytes_in: u64,
    /// Commits.
    pub commits: u64,
    /// Splits claimed again after the sink lost them while the source still read them.
    pub reclaims: u64,
    /// Transient failures connectors reported (and retried).
    pub transient_failures: u64,
}

/// The state.
#[derive(Debug)]
pub struct State {
    /// Per owned split.
    pub splits: BTreeMap<SplitId, SplitProgress>,
    /// Since start.
    pub live: Live,
    /// When the process started.
    pub started: Instant,
    /// When the first record was processed.
    pub first_record: Option<Instant>,
    /// When the latest record was processed.
    pub last_record: Option<Instant>,
    /// Sink memory held, budget, open files.
    pub memory: (u64, u64, usize),
    /// Whether the job runs (sources assigned, no failure).
    pub ready: bool,
    /// The last loop iteration (liveness).
    pub heartbeat: Instant,
    /// A fatal error, if the job stopped on one.
    pub failure: Option<String>,
}

/// Shared progress.
#[derive(Debug)]
pub struct Progress(Mutex<State>);

impl Progress {
    /// Progress of a job starting now (`started` is the process start).
    pub fn new(started: Instant) -> Progress {
        Progress(Mutex::new(State {
            splits: BTreeMap::new(),
            live: Live::default(),
            started,
            first_record: None,
            last_record: None,
            memory: (0, 0, 0),
            ready: false,
            heartbeat: Instant::now(),
            failure: None,
        }))
    }

    /// Runs `f` on the state.
    pub fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Totals of the committed counters of every split this process committed.
    pub fn committed_totals(&self) -> Counters {
        self.with(|s| {
            let mut t = Counters::default();
            for p in s.splits.values() {
                t.add(&p.counters);
            }
            t
        })
    }

    /// Lag summed over owned splits (high watermark − committed offset).
    pub fn lag(&self) -> i64 {
        self.with(|s| {
            s.splits
                .values()
                .filter(|p| p.owned)
                .filter_map(|p| Some((p.high_watermark? - p.committed_offset?).max(0)))
                .sum()
        })
    }
}
