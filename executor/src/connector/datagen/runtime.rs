//! The running `datagen` source: a thread that claims the table's one split, then generates
//! batches of rows at `rows-per-second` from the claimed row on, until the table's rows are
//! all out (then the source stops and the job ends once they are committed) or it is stopped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rand::SeedableRng as _;
use tokio::sync::mpsc;

use super::fields::{Field, write_row};
use crate::connector::error::ConnectorError;
use crate::connector::source::{
    PositionOracle, RawBatch, SourceEvent, SourceRuntime, SplitId, TimestampType,
};

/// Rows per batch at most.
const MAX_BATCH: u64 = 1000;

/// What to generate.
#[derive(Clone, Debug)]
pub struct Generation {
    /// The table's SQL name: the topic of its one split.
    pub table: String,
    /// The columns.
    pub fields: Vec<Field>,
    /// `rows-per-second`.
    pub rows_per_second: u64,
    /// How many rows (`None`: unbounded).
    pub total: Option<u64>,
}

/// The running source.
pub struct DatagenRuntime {
    stop: Arc<AtomicBool>,
    reclaim: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl DatagenRuntime {
    /// Starts generating.
    pub fn start(
        source: Generation,
        oracle: Arc<dyn PositionOracle>,
        events: mpsc::Sender<SourceEvent>,
    ) -> Result<DatagenRuntime, ConnectorError> {
        let stop = Arc::new(AtomicBool::new(false));
        let reclaim = Arc::new(AtomicBool::new(false));
        let thread = {
            let (stop, reclaim) = (Arc::clone(&stop), Arc::clone(&reclaim));
            std::thread::Builder::new()
                .name("datagen".into())
                .spawn(move || generate(&source, &*oracle, &events, &stop, &reclaim))
                .map_err(|e| {
                    ConnectorError::permanent("failed to start the datagen thread").caused_by(e)
                })?
        };
        Ok(DatagenRuntime {
            stop,
            reclaim,
            thread: Some(thread),
        })
    }
}

impl SourceRuntime for DatagenRuntime {
    /// Nothing to commit upstream: positions are the sink's.
    fn commit(&self, _positions: &[(SplitId, i64)]) {}

    fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    fn reclaim(&self, _splits: &[SplitId]) {
        self.reclaim.store(true, Ordering::SeqCst);
    }
}

impl Drop for DatagenRuntime {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Claims the split: where it starts (the next row).
fn claim(oracle: &dyn PositionOracle, split: &SplitId) -> Result<u64, ConnectorError> {
    let claimed = oracle.claim(std::slice::from_ref(split), &[Some(0)])?;
    Ok(claimed.first().copied().flatten().unwrap_or(0).max(0) as u64)
}

fn generate(
    source: &Generation,
    oracle: &dyn PositionOracle,
    events: &mpsc::Sender<SourceEvent>,
    stop: &AtomicBool,
    reclaim: &AtomicBool,
) {
    let split = SplitId {
        topic: source.table.clone(),
        partition: 0,
    };
    let total = source.total;
    let high_watermark = total.map(|t| t as i64);
    let batch = (source.rows_per_second / 10).clamp(1, MAX_BATCH);
    let mut rng = rand::rngs::StdRng::from_os_rng();
    let mut next = None;
    let started = Instant::now();
    let mut sent = 0u64;
    while !stop.load(Ordering::SeqCst) {
        if next.is_none() || reclaim.swap(false, Ordering::SeqCst) {
            match claim(oracle, &split) {
                Ok(row) => {
                    tracing::info!(split = %split, row, "datagen starts");
                    next = Some(row);
                    let assigned = SourceEvent::Assigned {
                        split: split.clone(),
                        position: Some(row as i64),
                    };
                    if events.blocking_send(assigned).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = events.blocking_send(SourceEvent::Failed(e));
                    break;
                }
            }
        }
        let Some(row) = next else { break };
        let n = total.map_or(batch, |t| batch.min(t.saturating_sub(row)));
        if n == 0 {
            tracing::info!(split = %split, rows = row, "datagen has produced every row: stopping");
            break;
        }
        let now = chrono::Utc::now();
        let mut raw = RawBatch::default();
        let mut value = Vec::with_capacity(64);
        for r in row..row + n {
            value.clear();
            write_row(&mut value, &source.fields, r, now, &mut rng);
            raw.push(
                r as i64,
                Some(now.timestamp_millis()),
                TimestampType::CreateTime,
                None,
                None,
                Some(&value),
            );
        }
        let event = SourceEvent::Batch {
            split: split.clone(),
            batch: raw,
            high_watermark,
        };
        if events.blocking_send(event).is_err() {
            return;
        }
        next = Some(row + n);
        sent += n;
        // Paced: `sent` rows are due `sent / rows-per-second` after the start.
        let due = started + Duration::from_secs_f64(sent as f64 / source.rows_per_second as f64);
        while !stop.load(Ordering::SeqCst) {
            let wait = due.saturating_duration_since(Instant::now());
            if wait.is_zero() {
                break;
            }
            std::thread::sleep(wait.min(Duration::from_millis(100)));
        }
    }
    let _ = events.blocking_send(SourceEvent::Stopped);
}
