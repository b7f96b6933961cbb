//! The running side of a sink that keeps no positions ([`Positions::None`]): `print` and
//! `blackhole`. Each such sink only says what it does with a batch's rows ([`RowWriter`]);
//! this module does the rest of [`SinkRuntime`]: every split the source assigns is written
//! from where the source starts it (the claim takes nothing: [`Unclaimed`]), and a commit
//! flushes the writer and reports each split's position, which the source commits upstream
//! (for Kafka, the group's offsets: at least once with `scan.startup.mode` `group-offsets`).
//!
//! [`Positions::None`]: super::sink::Positions::None

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use super::error::ConnectorError;
use super::sink::{BatchCounts, Claimed, Counters, SinkEvent, SinkRuntime};
use super::source::{PositionOracle, SplitId};
use crate::output::Output;

/// What a sink without positions does with rows.
pub trait RowWriter: Send {
    /// Takes the rows of one batch of `split` ([`Output::rows`], each a line of
    /// [`Output::data`]).
    fn write(&mut self, split: &SplitId, out: &Output) -> Result<(), ConnectorError>;
    /// Makes what was written so far durable or visible (flushes a stream).
    fn flush(&mut self) -> Result<(), ConnectorError> {
        Ok(())
    }
}

/// The claim of a sink without positions: it takes nothing, so a split starts where the
/// source's startup mode says.
#[derive(Debug, Default)]
pub struct Unclaimed;

impl PositionOracle for Unclaimed {
    fn claim(
        &self,
        _splits: &[SplitId],
        start_if_none: &[Option<i64>],
    ) -> Result<Vec<Option<i64>>, ConnectorError> {
        Ok(start_if_none.to_vec())
    }
}

#[derive(Debug, Default)]
struct SplitState {
    /// The next offset expected.
    position: Option<i64>,
    /// The last position reported as committed.
    committed: Option<i64>,
    /// Counts since the split was assigned here.
    counters: Counters,
    /// A write of this split failed: its position stays before that batch, later batches
    /// are not written, so no commit can pass the batch that was not written (the job is
    /// failing; the source reads it again from the committed position).
    failed: bool,
}

/// A [`SinkRuntime`] around a [`RowWriter`].
pub struct Unpositioned<W> {
    writer: W,
    budget: u64,
    splits: BTreeMap<SplitId, SplitState>,
    events: VecDeque<SinkEvent>,
}

impl<W: RowWriter> Unpositioned<W> {
    /// A running sink that writes with `writer`; `budget` is reported as its memory budget
    /// (it holds no rows itself).
    pub fn new(writer: W, budget: u64) -> Unpositioned<W> {
        Unpositioned {
            writer,
            budget,
            splits: BTreeMap::new(),
            events: VecDeque::new(),
        }
    }
}

impl<W: RowWriter> SinkRuntime for Unpositioned<W> {
    fn oracle(&self) -> Arc<dyn PositionOracle> {
        Arc::new(Unclaimed)
    }

    fn assign(&mut self, split: &SplitId, position: Option<i64>) -> Option<Claimed> {
        self.splits.insert(
            split.clone(),
            SplitState {
                position,
                ..SplitState::default()
            },
        );
        Some(Claimed::default())
    }

    fn revoke(&mut self, split: &SplitId) {
        self.splits.remove(split);
    }

    fn owns(&self, split: &SplitId) -> bool {
        self.splits.contains_key(split)
    }

    fn position(&self, split: &SplitId) -> Option<i64> {
        self.splits.get(split).and_then(|s| s.position)
    }

    fn write(
        &mut self,
        split: &SplitId,
        out: &Output,
        _first: i64,
        next: i64,
        counts: BatchCounts,
    ) {
        let Some(state) = self.splits.get_mut(split) else {
            return;
        };
        if state.failed {
            return;
        }
        if let Err(e) = self.writer.write(split, out) {
            state.failed = true;
            self.events.push_back(SinkEvent::Failed(e));
            return;
        }
        state.position = Some(next);
        let c = &mut state.counters;
        c.records_in += counts.records_in;
        c.records_out += counts.records_out;
        c.records_filtered += counts.records_filtered;
        c.records_failed += counts.records_failed;
        c.bytes_written += out
            .rows
            .iter()
            .map(|r| u64::from(r.end - r.start))
            .sum::<u64>();
    }

    fn roll_due(&mut self, _now: Instant) {}

    fn roll_split(&mut self, _split: &SplitId) {}

    fn commit_all(&mut self) {
        let due = self
            .splits
            .values()
            .any(|s| s.position.is_some() && s.position != s.committed);
        if !due {
            return;
        }
        if let Err(e) = self.writer.flush() {
            self.events.push_back(SinkEvent::Failed(e));
            return;
        }
        for (split, s) in &mut self.splits {
            if let Some(offset) = s.position.filter(|p| s.committed != Some(*p)) {
                s.committed = Some(offset);
                self.events.push_back(SinkEvent::Committed {
                    split: split.clone(),
                    offset,
                    counters: s.counters,
                });
            }
        }
    }

    fn split_settled(&self, split: &SplitId) -> bool {
        self.splits
            .get(split)
            .is_none_or(|s| s.position.is_none() || s.position == s.committed)
    }

    fn memory(&self) -> (u64, u64, usize) {
        (0, self.budget, 0)
    }

    fn next_event(&mut self) -> BoxFuture<'_, SinkEvent> {
        Box::pin(async move {
            match self.events.pop_front() {
                Some(e) => e,
                None => std::future::pending().await,
            }
        })
    }

    fn settle(&mut self, _deadline: Duration) -> BoxFuture<'_, Result<(), ConnectorError>> {
        Box::pin(async move {
            self.commit_all();
            match self
                .events
                .iter()
                .position(|e| matches!(e, SinkEvent::Failed(_)))
            {
                Some(i) => match self.events.remove(i) {
                    Some(SinkEvent::Failed(e)) => Err(e),
                    _ => Ok(()),
                },
                None => Ok(()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails the first write it is given after `fail_next` is set, and records the others.
    struct Flaky {
        fail_next: bool,
        written: Vec<i64>,
    }

    impl RowWriter for Flaky {
        fn write(&mut self, _split: &SplitId, out: &Output) -> Result<(), ConnectorError> {
            if std::mem::take(&mut self.fail_next) {
                return Err(ConnectorError::permanent("stdout is gone"));
            }
            self.written.extend(out.rows.iter().map(|r| r.offset));
            Ok(())
        }
    }

    fn batch(offsets: std::ops::Range<i64>) -> Output {
        let mut out = Output::default();
        for offset in offsets {
            out.rows.push(crate::output::OutRow {
                bucket: 0,
                offset,
                start: 0,
                end: 0,
            });
        }
        out
    }

    /// The print sink's at-least-once: a batch whose write failed is never committed past,
    /// even when a later batch of the split is written before the failure stops the job.
    #[test]
    fn no_commit_passes_a_batch_whose_write_failed() {
        let split = SplitId {
            topic: "t".into(),
            partition: 0,
        };
        let mut sink = Unpositioned::new(
            Flaky {
                fail_next: false,
                written: Vec::new(),
            },
            1 << 20,
        );
        sink.assign(&split, Some(0));
        sink.write(&split, &batch(0..10), 0, 10, BatchCounts::default());
        sink.writer.fail_next = true;
        sink.write(&split, &batch(10..20), 10, 20, BatchCounts::default());
        sink.write(&split, &batch(20..30), 20, 30, BatchCounts::default());
        sink.commit_all();
        let mut committed = None;
        let mut failed = false;
        while let Some(event) = sink.events.pop_front() {
            match event {
                SinkEvent::Committed { offset, .. } => committed = Some(offset),
                SinkEvent::Failed(_) => failed = true,
                _ => {}
            }
        }
        assert!(failed, "the failed write is reported");
        assert_eq!(
            committed,
            Some(10),
            "committed past the batch that was not written"
        );
        assert_eq!(sink.writer.written, (0..10).collect::<Vec<_>>());
    }
}
