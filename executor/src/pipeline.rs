//! The job's main loop: source events → transform → sink, periodic rolls and commits, the
//! sink's commits acknowledged upstream, partitions handed over cleanly on rebalance, a
//! graceful stop, and what to do with records that cannot be processed.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::connector::error::{ConnectorError, Report};
use crate::connector::sink::{BatchCounts, SinkEvent, SinkRuntime};
use crate::connector::source::{RawBatch, SourceEvent, SourceRuntime, SplitId};
use crate::output::FailedRecord;
use crate::progress::Progress;
use crate::transform::Transform;

/// Why the job stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A record could not be decoded or evaluated and no dead-letter path is set.
    #[error(
        "record at topic {topic} partition {partition} offset {offset} could not be processed: {reason}. Nothing after it was committed. Fix the record or the statement, set json.ignore-parse-errors=true on the source table to skip malformed records, or set sluice.dead-letter.path on the source table to keep them aside"
    )]
    PoisonRecord {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// Offset.
        offset: i64,
        /// Why.
        reason: String,
    },
    /// The source failed for good.
    #[error("source failed")]
    Source(#[source] ConnectorError),
    /// The sink failed for good.
    #[error("sink failed")]
    Sink(#[source] ConnectorError),
    /// The dead-letter path cannot be written by this sink.
    #[error("cannot use {key}", key = crate::options::DEAD_LETTER_PATH)]
    DeadLetter(#[source] ConnectorError),
}

/// How long a stop may take to commit what is buffered.
const STOP_DEADLINE: Duration = Duration::from_secs(50);

/// How long a split the sink lost (fenced, or assigned without a claim) waits before it is
/// claimed again if the source still reads it. A zombie (an executor that was frozen past its
/// session timeout) is fenced too, and Kafka takes its splits away within a heartbeat or two:
/// claiming at once would take the split back from its rightful owner for a moment.
const RECLAIM_AFTER: Duration = Duration::from_secs(10);

/// The running job.
pub struct Pipeline {
    transform: Transform,
    sink: Box<dyn SinkRuntime>,
    source: Box<dyn SourceRuntime>,
    events: mpsc::Receiver<SourceEvent>,
    progress: Arc<Progress>,
    commit_interval: Duration,
    roll_check: Duration,
    stop_when_idle: bool,
    /// Failed records go to the sink's dead-letter path instead of stopping the job.
    dead_letters: bool,
    /// Splits the sink lost while the source may still read them, and when to claim them
    /// again ([`RECLAIM_AFTER`]).
    reclaims: std::collections::BTreeMap<SplitId, Instant>,
    reclaim_after: Duration,
}

impl Pipeline {
    /// Wires a pipeline; the source sends its events to `events`.
    pub fn new(
        transform: Transform,
        sink: Box<dyn SinkRuntime>,
        source: Box<dyn SourceRuntime>,
        events: mpsc::Receiver<SourceEvent>,
        progress: Arc<Progress>,
        commit_interval: Duration,
        stop_when_idle: bool,
    ) -> Pipeline {
        Pipeline {
            transform,
            sink,
            source,
            events,
            progress,
            commit_interval,
            roll_check: Duration::from_millis(500),
            stop_when_idle,
            dead_letters: false,
            reclaims: std::collections::BTreeMap::new(),
            reclaim_after: RECLAIM_AFTER,
        }
    }

    /// Points the sink at the source table's dead-letter path, if it has one.
    fn open_dead_letters(&mut self) -> Result<(), PipelineError> {
        let Some(raw) = self
            .transform
            .plan()
            .source
            .options
            .get(crate::options::DEAD_LETTER_PATH)
        else {
            return Ok(());
        };
        let path = raw.trim();
        self.sink
            .set_dead_letter(path)
            .map_err(PipelineError::DeadLetter)?;
        tracing::info!(
            path,
            "records that cannot be processed go to the dead-letter path"
        );
        self.dead_letters = true;
        Ok(())
    }

    /// Runs until the source stops (after `shutdown` resolves, or when idle with
    /// `stop_when_idle`), committing everything on the way out; or until a failure.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Result<(), PipelineError> {
        let mut commits = tokio::time::interval(self.commit_interval);
        commits.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut rolls = tokio::time::interval(self.roll_check);
        rolls.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        let mut stopping = false;
        let setup = self.open_dead_letters();
        let result = if let Err(e) = setup {
            Err(e)
        } else {
            loop {
                let (used, budget, _) = self.sink.memory();
                let overloaded = used > budget;
                self.progress.with(|s| {
                    s.heartbeat = Instant::now();
                    s.memory = self.sink.memory();
                });
                tokio::select! {
                    event = self.events.recv(), if !overloaded => match event {
                        Some(SourceEvent::Batch { split, batch, high_watermark }) => {
                            if let Err(e) = self.on_batch(&split, batch, high_watermark).await {
                                break Err(e);
                            }
                        }
                        Some(SourceEvent::Assigned { split, position }) => {
                            self.reclaims.remove(&split);
                            let claimed = self.sink.assign(&split, position);
                            if claimed.is_none() {
                                self.lost(&split, "assigned without a claim");
                            }
                            self.progress.with(|s| {
                                s.ready = true;
                                let p = s.splits.entry(split).or_default();
                                p.position = position;
                                p.owned = true;
                                // What the claim found is the truth now, not what this
                                // process knew before the split was away.
                                if let Some(c) = claimed {
                                    p.committed_offset = c.offset;
                                    p.counters = c.counters;
                                }
                            });
                        }
                        Some(SourceEvent::Watermarks(marks)) => {
                            self.progress.with(|s| {
                                for (split, high) in marks {
                                    if let Some(p) = s.splits.get_mut(&split) {
                                        p.high_watermark = Some(high);
                                    }
                                }
                            });
                        }
                        Some(SourceEvent::Revoked { splits, done }) => {
                            for s in &splits {
                                self.reclaims.remove(s);
                            }
                            let handed = self.hand_over(&splits).await;
                            let _ = done.send(());
                            if let Err(e) = handed {
                                break Err(e);
                            }
                        }
                        Some(SourceEvent::Idle) => {
                            if self.stop_when_idle && !stopping {
                                tracing::info!("no records for the idle interval: stopping");
                                stopping = true;
                                self.source.stop();
                            }
                        }
                        Some(SourceEvent::Failed(e)) => {
                            if let Some(e) = self.failed(e) {
                                break Err(PipelineError::Source(e));
                            }
                        }
                        Some(SourceEvent::Stopped) | None => break Ok(()),
                    },
                    event = self.sink.next_event() => {
                        if let Err(e) = self.on_sink_event(event) {
                            break Err(e);
                        }
                    }
                    _ = commits.tick() => self.sink.commit_all(),
                    _ = rolls.tick() => {
                        self.sink.roll_due(Instant::now());
                        self.reclaim_due();
                    }
                    () = &mut shutdown, if !stopping => {
                        tracing::info!("stopping: committing what is buffered");
                        stopping = true;
                        self.source.stop();
                    }
                }
            }
        };
        // Commit everything processed so far (also after a failure: nothing past it was written).
        let settled = self.sink.settle(STOP_DEADLINE).await;
        while let Ok(Some(event)) = tokio::time::timeout(Duration::ZERO, self.sink.next_event())
            .await
            .map(Some)
        {
            let _ = self.on_sink_event(event);
        }
        if let Err(e) = &settled {
            tracing::error!(error = %Report(e), "could not commit everything before stopping; uncommitted records will be read again");
        }
        self.progress.with(|s| {
            s.ready = false;
            if let Err(e) = &result {
                s.failure = Some(Report(e).to_string());
            }
        });
        if result.is_err() {
            // Leave the group promptly: answer the revocation (everything is settled) and
            // wait for the source to end.
            self.source.stop();
            let deadline = Instant::now() + Duration::from_secs(15);
            while let Ok(Some(event)) = tokio::time::timeout(
                deadline.saturating_duration_since(Instant::now()),
                self.events.recv(),
            )
            .await
            {
                match event {
                    SourceEvent::Revoked { done, .. } => {
                        let _ = done.send(());
                    }
                    SourceEvent::Stopped => break,
                    _ => {}
                }
            }
        }
        result
    }

    async fn on_batch(
        &mut self,
        split: &SplitId,
        mut batch: RawBatch,
        high_watermark: Option<i64>,
    ) -> Result<(), PipelineError> {
        if !self.sink.owns(split) || batch.is_empty() {
            return Ok(());
        }
        let handled = skip_handled(&mut batch, self.sink.position(split));
        if handled > 0 {
            tracing::warn!(split = %split, records = handled, "the source delivered records the sink has already handled (a rewind): skipped");
        }
        if batch.is_empty() {
            return Ok(());
        }
        let first = batch.records[0].offset;
        let next = batch.next_offset().unwrap_or(first);
        let mut out = self.transform.process(split, &batch);
        if let Some(f) = out.failed.first().cloned() {
            if !self.dead_letters {
                return self.stop_at(split, &batch, f).await;
            }
            out.dead_letters = dead_letters(split, &batch, &out.failed);
        }
        let counts = BatchCounts {
            records_in: batch.len() as u64,
            records_out: out.rows.len() as u64,
            records_filtered: out.filtered,
            records_failed: out.dropped + out.dead_letters.len() as u64,
        };
        self.sink.write(split, &out, first, next, counts);
        let bytes: u64 = batch
            .records
            .iter()
            .filter_map(|r| r.value.map(|(s, e)| u64::from(e - s)))
            .sum();
        self.progress.with(|s| {
            let now = Instant::now();
            s.first_record.get_or_insert(now);
            s.last_record = Some(now);
            s.live.records_in += counts.records_in;
            s.live.records_out += counts.records_out;
            s.live.records_filtered += counts.records_filtered;
            s.live.records_failed += counts.records_failed;
            s.live.bytes_in += bytes;
            let p = s.splits.entry(split.clone()).or_default();
            p.position = Some(next);
            if high_watermark.is_some() {
                p.high_watermark = high_watermark;
            }
        });
        Ok(())
    }

    /// A record failed: write what came before it, commit, and stop with an error naming it.
    async fn stop_at(
        &mut self,
        split: &SplitId,
        batch: &RawBatch,
        f: FailedRecord,
    ) -> Result<(), PipelineError> {
        if f.index > 0 {
            let prefix = RawBatch {
                data: batch.data.clone(),
                records: batch.records[..f.index].to_vec(),
            };
            let out = self.transform.process(split, &prefix);
            let counts = BatchCounts {
                records_in: prefix.len() as u64,
                records_out: out.rows.len() as u64,
                records_filtered: out.filtered,
                records_failed: out.dropped,
            };
            self.sink
                .write(split, &out, prefix.records[0].offset, f.offset, counts);
        }
        Err(PipelineError::PoisonRecord {
            topic: split.topic.clone(),
            partition: split.partition,
            offset: f.offset,
            reason: f.reason,
        })
    }

    fn on_sink_event(&mut self, event: SinkEvent) -> Result<(), PipelineError> {
        match event {
            SinkEvent::Committed {
                split,
                offset,
                counters,
            } => {
                self.source.commit(&[(split.clone(), offset)]);
                let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                self.progress.with(|s| {
                    s.live.commits += 1;
                    let p = s.splits.entry(split).or_default();
                    p.committed_offset = Some(offset);
                    p.counters = counters;
                    p.last_commit = Some(now);
                });
                Ok(())
            }
            SinkEvent::Fenced { split } => {
                tracing::warn!(split = %split, "another executor owns this partition now; dropping it");
                self.progress.with(|s| {
                    if let Some(p) = s.splits.get_mut(&split) {
                        p.owned = false;
                    }
                });
                self.lost(&split, "fenced by another executor's claim");
                Ok(())
            }
            SinkEvent::Failed(e) => self
                .failed(e)
                .map_or(Ok(()), |e| Err(PipelineError::Sink(e))),
        }
    }

    /// A connector's failure: a permanent one is returned (the job stops with it); a transient
    /// one is logged and counted while the connector retries with its backoff.
    fn failed(&mut self, e: ConnectorError) -> Option<ConnectorError> {
        if e.is_permanent() {
            return Some(e);
        }
        tracing::warn!(error = %Report(&e), "a connector failed transiently; it retries");
        self.progress.with(|s| s.live.transient_failures += 1);
        None
    }

    /// The sink lost a split: claim it again after [`RECLAIM_AFTER`] if the source still reads
    /// it (Kafka may keep it assigned here, and nobody else would write it).
    fn lost(&mut self, split: &SplitId, why: &str) {
        tracing::warn!(split = %split, why, after_s = self.reclaim_after.as_secs(), "the sink does not write this partition: claiming it again unless it moves to another executor");
        let at = Instant::now() + self.reclaim_after;
        self.reclaims.entry(split.clone()).or_insert(at);
    }

    /// Asks the source to claim again the lost splits whose wait is over.
    fn reclaim_due(&mut self) {
        let now = Instant::now();
        let due: Vec<SplitId> = self
            .reclaims
            .iter()
            .filter(|(s, at)| **at <= now && !self.sink.owns(s))
            .map(|(s, _)| s.clone())
            .collect();
        self.reclaims
            .retain(|s, at| *at > now && !self.sink.owns(s));
        if !due.is_empty() {
            self.progress.with(|s| s.live.reclaims += due.len() as u64);
            self.source.reclaim(&due);
        }
    }

    /// Commits everything of revoked splits (bounded), then stops writing them. A failure of
    /// the sink on the way (of these splits or any other) is returned once the splits are
    /// handed over, and stops the job as it would in the main loop.
    async fn hand_over(&mut self, splits: &[SplitId]) -> Result<(), PipelineError> {
        for s in splits {
            self.sink.roll_split(s);
        }
        let mut failed = None;
        let deadline = Instant::now() + Duration::from_secs(25);
        while failed.is_none()
            && !splits.iter().all(|s| self.sink.split_settled(s))
            && Instant::now() < deadline
        {
            self.sink.commit_all();
            if let Ok(event) =
                tokio::time::timeout(Duration::from_millis(200), self.sink.next_event()).await
                && let Err(e) = self.on_sink_event(event)
            {
                tracing::warn!(error = %Report(&e), "the sink failed while partitions were handed over");
                failed = Some(e);
            }
        }
        for s in splits {
            if !self.sink.split_settled(s) {
                tracing::warn!(split = %s, "handing over with uncommitted records; the next owner reads them again");
            }
            self.sink.revoke(s);
        }
        self.progress.with(|st| {
            for s in splits {
                if let Some(p) = st.splits.get_mut(s) {
                    p.owned = false;
                }
            }
        });
        failed.map_or(Ok(()), Err)
    }
}

/// Drops the records of a batch before `position` (the next offset the sink expects), which a
/// source that rewound (a seek, a reset) delivers again: written again they would be
/// duplicates. Returns how many were dropped. Offsets after `position` may be missing (Kafka
/// transaction markers, compaction), so only what comes before it is dropped.
fn skip_handled(batch: &mut RawBatch, position: Option<i64>) -> usize {
    let Some(position) = position else {
        return 0;
    };
    let handled = batch
        .records
        .iter()
        .take_while(|r| r.offset < position)
        .count();
    batch.records.drain(..handled);
    handled
}

/// One JSON line per failed record (the first failure of each): topic, partition, offset,
/// timestamp (epoch ms), key and value (as text, or base64 in `key_base64`/`value_base64`
/// when not UTF-8), error.
fn dead_letters(split: &SplitId, batch: &RawBatch, failed: &[FailedRecord]) -> Vec<(i64, Vec<u8>)> {
    use base64::Engine as _;
    let mut out: Vec<(i64, Vec<u8>)> = Vec::with_capacity(failed.len());
    for f in failed {
        if out.last().is_some_and(|(o, _)| *o == f.offset) {
            continue;
        }
        let Some(r) = batch.records.get(f.index) else {
            continue;
        };
        let mut line = serde_json::json!({
            "topic": split.topic,
            "partition": split.partition,
            "offset": f.offset,
            "timestamp": r.timestamp,
            "error": f.reason,
        });
        for (name, bytes) in [("key", batch.bytes(r.key)), ("value", batch.bytes(r.value))] {
            match bytes.map(std::str::from_utf8) {
                None => line[name] = serde_json::Value::Null,
                Some(Ok(text)) => line[name] = serde_json::Value::from(text),
                Some(Err(_)) => {
                    line[name] = serde_json::Value::Null;
                    line[format!("{name}_base64")] = serde_json::Value::from(
                        base64::engine::general_purpose::STANDARD.encode(bytes.unwrap_or_default()),
                    );
                }
            }
        }
        let mut bytes = serde_json::to_vec(&line).unwrap_or_default();
        bytes.push(b'\n');
        out.push((f.offset, bytes));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector::filesystem::Filesystem;
    use crate::connector::sink::SinkFormat;
    use crate::connector::source::SourceFormat;
    use crate::connector::source::TimestampType;
    use crate::connector::{Connector as _, RunContext, SourceRuntime, ValidationContext};
    use crate::format::Format;
    use sluice_sql::{Catalog, Column, FunctionRegistry, JobPlan, SqlType, TableDef};
    use std::sync::Mutex;

    /// A source driven by the test through the events channel; it remembers reclaims.
    #[derive(Clone, Default)]
    struct ScriptedSource {
        reclaimed: Arc<Mutex<Vec<SplitId>>>,
    }

    impl SourceRuntime for ScriptedSource {
        fn commit(&self, _: &[(SplitId, i64)]) {}
        fn stop(&mut self) {}
        fn reclaim(&self, splits: &[SplitId]) {
            self.reclaimed.lock().unwrap().extend_from_slice(splits);
        }
    }

    fn table(name: &str, connector: &str, options: &[(&str, &str)]) -> TableDef {
        TableDef {
            name: name.to_owned(),
            resource: format!("test/{name}"),
            connector: connector.to_owned(),
            format: Some("json".to_owned()),
            columns: vec![Column {
                name: "id".to_owned(),
                ty: SqlType::parse("BIGINT").unwrap(),
                metadata: None,
            }],
            partitioned_by: Vec::new(),
            options: options
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            secret_options: Vec::new(),
        }
    }

    /// A pipeline from a scripted source into a `file://` sink under `dir`: `INSERT INTO
    /// lake SELECT id FROM src`, committing every 100 ms.
    /// Claims split `t/0` through the sink's oracle and announces it assigned from offset 0,
    /// as the Kafka source does.
    async fn claim_and_assign(
        oracle: Arc<dyn crate::connector::PositionOracle>,
        tx: &mpsc::Sender<SourceEvent>,
    ) -> SplitId {
        let split = SplitId {
            topic: "t".into(),
            partition: 0,
        };
        let claim = split.clone();
        tokio::task::spawn_blocking(move || oracle.claim(&[claim], &[None]))
            .await
            .unwrap()
            .unwrap();
        tx.send(SourceEvent::Assigned {
            split: split.clone(),
            position: Some(0),
        })
        .await
        .unwrap();
        split
    }

    async fn pipeline(
        dir: &std::path::Path,
        events: mpsc::Receiver<SourceEvent>,
        source: ScriptedSource,
    ) -> (Pipeline, Arc<dyn crate::connector::PositionOracle>) {
        let path = format!("file://{}", dir.display());
        let sink = table("lake", "filesystem", &[("path", path.as_str())]);
        let config = Filesystem
            .sink(
                &sink,
                &ValidationContext {
                    job: "test/job".to_owned(),
                },
            )
            .unwrap();
        let run = RunContext {
            job: "test/job".to_owned(),
            executor: "test".to_owned(),
            memory_budget: 64 << 20,
            rolling: crate::settings::RollingDefaults::default(),
            idle_after: None,
            prefetch_kbytes: 1024,
        };
        let runtime = config.open(&run, "group-1").await.unwrap();
        let oracle = runtime.oracle();
        let catalog = Catalog::new([table("src", "kafka", &[]), sink]);
        let plan = JobPlan::plan(
            "INSERT INTO lake SELECT id FROM src",
            &catalog,
            &FunctionRegistry::flink(),
        )
        .unwrap();
        let transform = Transform::new(
            plan,
            SourceFormat::default(),
            SinkFormat::Rows(Format::default()),
            "__DEFAULT_PARTITION__",
        )
        .unwrap();
        let p = Pipeline::new(
            transform,
            runtime,
            Box::new(source),
            events,
            Arc::new(Progress::new(Instant::now())),
            Duration::from_millis(100),
            false,
        );
        (p, oracle)
    }

    fn ids(offsets: std::ops::Range<i64>) -> RawBatch {
        let mut b = RawBatch::default();
        for o in offsets {
            let v = format!("{{\"id\":{o}}}");
            b.push(o, None, TimestampType::None, None, None, Some(v.as_bytes()));
        }
        b
    }

    /// Every `id` in the published files under `dir`.
    fn written(dir: &std::path::Path) -> Vec<i64> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_owned()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    if !p.ends_with("_sluice") {
                        stack.push(p);
                    }
                } else if p.extension().is_some_and(|x| x == "json") {
                    for line in std::fs::read_to_string(&p).unwrap().lines() {
                        let v: serde_json::Value = serde_json::from_str(line).unwrap();
                        out.push(v["id"].as_i64().unwrap());
                    }
                }
            }
        }
        out.sort_unstable();
        out
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batch_that_rewinds_before_the_sinks_position_is_not_written_twice() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, rx) = mpsc::channel(16);
        let (p, oracle) = pipeline(dir.path(), rx, ScriptedSource::default()).await;
        let split = claim_and_assign(oracle, &tx).await;
        for batch in [ids(0..10), ids(5..15)] {
            tx.send(SourceEvent::Batch {
                split: split.clone(),
                batch,
                high_watermark: None,
            })
            .await
            .unwrap();
        }
        tx.send(SourceEvent::Stopped).await.unwrap();
        p.run(std::future::pending()).await.unwrap();
        assert_eq!(written(dir.path()), (0..15).collect::<Vec<i64>>());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_split_assigned_without_a_claim_is_claimed_again_by_the_source() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, rx) = mpsc::channel(16);
        let source = ScriptedSource::default();
        let (mut p, _) = pipeline(dir.path(), rx, source.clone()).await;
        p.reclaim_after = Duration::ZERO;
        let split = SplitId {
            topic: "t".into(),
            partition: 3,
        };
        // Assigned, but its claim was taken by an earlier assignment: nothing writes it.
        tx.send(SourceEvent::Assigned {
            split: split.clone(),
            position: Some(0),
        })
        .await
        .unwrap();
        let events = tx.clone();
        let reclaimed = Arc::clone(&source.reclaimed);
        tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(10);
            while reclaimed.lock().unwrap().is_empty() && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let _ = events.send(SourceEvent::Stopped).await;
        });
        p.run(std::future::pending()).await.unwrap();
        assert_eq!(*source.reclaimed.lock().unwrap(), vec![split]);
    }

    /// A source that reports a failure of `kind` between two batches.
    async fn run_with_source_failure(
        dir: &std::path::Path,
        failure: ConnectorError,
    ) -> Result<(), PipelineError> {
        let (tx, rx) = mpsc::channel(16);
        let (p, oracle) = pipeline(dir, rx, ScriptedSource::default()).await;
        let split = claim_and_assign(oracle, &tx).await;
        tx.send(SourceEvent::Batch {
            split: split.clone(),
            batch: ids(0..5),
            high_watermark: None,
        })
        .await
        .unwrap();
        tx.send(SourceEvent::Failed(failure)).await.unwrap();
        tx.send(SourceEvent::Batch {
            split,
            batch: ids(5..10),
            high_watermark: None,
        })
        .await
        .unwrap();
        tx.send(SourceEvent::Stopped).await.unwrap();
        p.run(std::future::pending()).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_transient_connector_failure_keeps_the_job_running() {
        let dir = tempfile::tempdir().unwrap();
        let failure = ConnectorError::transient("broker unreachable");
        run_with_source_failure(dir.path(), failure).await.unwrap();
        assert_eq!(written(dir.path()), (0..10).collect::<Vec<i64>>());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_permanent_connector_failure_stops_the_job_with_its_cause_after_committing() {
        let dir = tempfile::tempdir().unwrap();
        let cause = std::io::Error::other("offset 7 is gone");
        let failure = ConnectorError::permanent("position lost").caused_by(cause);
        let e = run_with_source_failure(dir.path(), failure)
            .await
            .unwrap_err();
        assert!(
            matches!(&e, PipelineError::Source(c) if c.is_permanent()),
            "{e:?}"
        );
        assert_eq!(
            Report(&e).to_string(),
            "source failed: position lost: offset 7 is gone"
        );
        // What came before the failure is committed; nothing after it is written.
        assert_eq!(written(dir.path()), (0..5).collect::<Vec<i64>>());
    }

    fn batch(offsets: &[i64]) -> RawBatch {
        let mut b = RawBatch::default();
        for &o in offsets {
            b.push(o, None, TimestampType::None, None, None, Some(b"{}"));
        }
        b
    }

    #[test]
    fn records_before_the_sinks_position_are_not_written_again_after_a_rewind() {
        let mut rewound = batch(&[5, 6, 7, 8]);
        assert_eq!(skip_handled(&mut rewound, Some(7)), 2);
        assert_eq!(
            rewound.records.iter().map(|r| r.offset).collect::<Vec<_>>(),
            vec![7, 8]
        );
        // A gap after the position (transaction markers) is no rewind.
        let mut gap = batch(&[9, 12]);
        assert_eq!(skip_handled(&mut gap, Some(7)), 0);
        assert_eq!(gap.len(), 2);
        let mut whole = batch(&[1, 2]);
        assert_eq!(skip_handled(&mut whole, Some(3)), 2);
        assert!(whole.is_empty());
        assert_eq!(skip_handled(&mut batch(&[1]), None), 0);
    }
}
