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

/// The seed of the random values of row `row` of `table`: a replay after a crash or a
/// handover regenerates the same values, so a row lands in the same partition path again and
/// the sink's record of the paths it already published (`dedup`) skips it exactly. (Values
/// of DATE/TIME/TIMESTAMP columns are the time of generation: those differ on a replay.)
fn row_seed(table: &str, row: u64) -> u64 {
    // FNV-1a of the name, then the row spread over the bits.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in table.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash ^ row.wrapping_mul(0x9e37_79b9_7f4a_7c15)
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
            let mut rng = rand::rngs::StdRng::seed_from_u64(row_seed(&source.table, r));
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

#[cfg(test)]
mod tests {
    use rand::SeedableRng as _;

    use super::super::fields::{Field, Kind, write_row};
    use super::row_seed;

    fn random_row(table: &str, row: u64) -> Vec<u8> {
        let fields = [
            Field {
                key: "\"v\":".to_owned(),
                kind: Kind::Integer {
                    min: 0,
                    max: 1_000_000,
                },
                quoted: false,
                null_rate: 0.3,
            },
            Field {
                key: "\"t\":".to_owned(),
                kind: Kind::Text { length: 8 },
                quoted: false,
                null_rate: 0.0,
            },
        ];
        let now = chrono::DateTime::from_timestamp(0, 0).unwrap_or_default();
        let mut out = Vec::new();
        let mut rng = rand::rngs::StdRng::seed_from_u64(row_seed(table, row));
        write_row(&mut out, &fields, row, now, &mut rng);
        out
    }

    /// A replay (kill -9 before the commit, a handover) regenerates each row as it was, so a
    /// sink partitioned by a random column puts it in the same partition path again.
    #[test]
    fn a_replayed_row_has_the_same_random_values() {
        for row in [0, 1, 41, 1 << 40] {
            assert_eq!(random_row("gen", row), random_row("gen", row), "row {row}");
        }
        let rows: std::collections::BTreeSet<Vec<u8>> =
            (0..100).map(|row| random_row("gen", row)).collect();
        assert!(rows.len() > 90, "rows look alike: {} distinct", rows.len());
        assert_ne!(random_row("gen", 5), random_row("other", 5));
    }
}
