//! The Kafka consumer: a dedicated thread polls librdkafka, copies records into per-partition
//! batches and sends them to the pipeline. Partition assignment asks the sink where each
//! partition starts (its committed position, the source of truth for exactly-once) before
//! assigning; revocation waits for the pipeline to commit what it has.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, RebalanceProtocol};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Message, Timestamp};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientConfig, ClientContext, Offset, TopicPartitionList};
use tokio::sync::mpsc;

use super::msk_iam::TokenSource;
use super::options::{KafkaSourceOptions, OffsetReset, StartupMode};
use crate::connector::error::{ConnectorError, Report};
use crate::connector::source::{PositionOracle, RawBatch, SourceEvent, SplitId, TimestampType};

/// Records per batch sent to the pipeline.
const MAX_BATCH_RECORDS: usize = 4096;
/// Bytes per batch.
const MAX_BATCH_BYTES: usize = 2 << 20;
/// librdkafka's `fetch.queue.backoff.ms` unless the table sets it.
const FETCH_QUEUE_BACKOFF_MS: u64 = 50;
/// Records polled between two readings of the clock (at 1 M records/s, 16 µs apart).
const CLOCK_EVERY: u32 = 16;
/// A partial batch is sent after this long.
const MAX_BATCH_DELAY: Duration = Duration::from_millis(20);

/// Tuning of the consumer.
#[derive(Clone, Debug)]
pub struct ConsumerSettings {
    /// librdkafka's `queued.max.messages.kbytes` (prefetch memory).
    pub prefetch_kbytes: u64,
    /// Report [`SourceEvent::Idle`] after this long without records.
    pub idle_after: Option<Duration>,
    /// How long a revocation waits for the pipeline to commit.
    pub revoke_timeout: Duration,
}

impl Default for ConsumerSettings {
    fn default() -> Self {
        ConsumerSettings {
            prefetch_kbytes: 32 * 1024,
            idle_after: None,
            revoke_timeout: Duration::from_secs(30),
        }
    }
}

struct Context {
    events: mpsc::Sender<SourceEvent>,
    oracle: Arc<dyn PositionOracle>,
    startup: StartupMode,
    offset_reset: OffsetReset,
    group: String,
    revoke_timeout: Duration,
    /// Batches not yet sent, flushed before rebalances.
    pending: Arc<Mutex<Pending>>,
    fatal: AtomicBool,
    /// Splits to claim again (the sink lost them while Kafka still assigns them here),
    /// handled by the poll thread ([`reclaim`]).
    reclaims: Mutex<Vec<SplitId>>,
    reclaim_requested: AtomicBool,
    /// Signs the SASL/OAUTHBEARER tokens of Amazon MSK IAM authentication.
    msk_iam: Option<TokenSource>,
}

#[derive(Default)]
struct Pending {
    batches: BTreeMap<SplitId, (RawBatch, Instant)>,
}

impl ClientContext for Context {
    // librdkafka asks for a token only with sasl.mechanism=OAUTHBEARER and no built-in token
    // source (its OIDC and unsecured-JWT refreshes never reach this hook): at start, then at
    // 80 % of each token's lifetime, from the thread that polls the consumer.
    const ENABLE_REFRESH_OAUTH_TOKEN: bool = true;

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(%error, reason, "kafka client error (librdkafka retries by itself)");
    }

    fn generate_oauth_token(
        &self,
        _oauthbearer_config: Option<&str>,
    ) -> Result<rdkafka::client::OAuthToken, Box<dyn std::error::Error>> {
        let Some(source) = &self.msk_iam else {
            return Err("SASL/OAUTHBEARER needs a token source: set properties.sasl.mechanism: AWS_MSK_IAM (Amazon MSK IAM) or properties.sasl.oauthbearer.method: oidc".into());
        };
        source.oauth_token().map_err(|e| {
            // librdkafka retries in 10 s and reports the text as an authentication error.
            let text = e.with_causes();
            tracing::warn!(error = %text, "failed to sign an MSK IAM token");
            text.into()
        })
    }
}

impl ConsumerContext for Context {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let cooperative = matches!(
            consumer.rebalance_protocol(),
            RebalanceProtocol::Cooperative
        );
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                let splits: Vec<SplitId> = tpl
                    .elements()
                    .iter()
                    .map(|e| SplitId {
                        topic: e.topic().to_owned(),
                        partition: e.partition(),
                    })
                    .collect();
                match self.start_positions(consumer, &splits) {
                    Ok(starts) => {
                        for (split, (offset, _)) in splits.iter().zip(&starts) {
                            let _ =
                                tpl.set_partition_offset(&split.topic, split.partition, *offset);
                        }
                        let assigned = if cooperative {
                            consumer.incremental_assign(tpl)
                        } else {
                            consumer.assign(tpl)
                        };
                        if let Err(e) = assigned {
                            self.fail(format!("failed to assign partitions {splits:?}: {e}"));
                            return;
                        }
                        for (split, (_, position)) in splits.into_iter().zip(starts) {
                            tracing::info!(split = %split, ?position, "partition assigned");
                            let _ = self
                                .events
                                .blocking_send(SourceEvent::Assigned { split, position });
                        }
                    }
                    Err(e) => {
                        self.fail(e);
                        let _ = consumer.unassign();
                    }
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                let splits: Vec<SplitId> = tpl
                    .elements()
                    .iter()
                    .map(|e| SplitId {
                        topic: e.topic().to_owned(),
                        partition: e.partition(),
                    })
                    .collect();
                // Records already polled go first, then the revocation; wait for the pipeline
                // to commit them so that the next owner does not read them again.
                self.flush(|s| splits.contains(s));
                let (done, ack) = std::sync::mpsc::sync_channel(1);
                tracing::info!(
                    ?splits,
                    lost = consumer.assignment_lost(),
                    "partitions revoked"
                );
                if self
                    .events
                    .blocking_send(SourceEvent::Revoked {
                        splits: splits.clone(),
                        done,
                    })
                    .is_ok()
                    && ack.recv_timeout(self.revoke_timeout).is_err()
                {
                    tracing::warn!(
                        ?splits,
                        "the pipeline did not commit revoked partitions in time; their uncommitted records will be read again by the next owner"
                    );
                }
                let _ = if cooperative {
                    consumer.incremental_unassign(tpl)
                } else {
                    consumer.unassign()
                };
            }
            other => {
                let code: RDKafkaErrorCode = other.into();
                tracing::warn!(error = %code, "rebalance error");
                let _ = consumer.unassign();
            }
        }
    }

    fn commit_callback(
        &self,
        result: rdkafka::error::KafkaResult<()>,
        offsets: &TopicPartitionList,
    ) {
        if let Err(e) = result {
            // Advisory only: the sink's commit log is the source of truth.
            tracing::debug!(error = %e, count = offsets.count(), "kafka offset commit failed");
        }
    }
}

impl Context {
    fn fail(&self, message: String) {
        tracing::error!(%message, "kafka source failed");
        self.fatal.store(true, Ordering::SeqCst);
        let _ = self
            .events
            .blocking_send(SourceEvent::Failed(ConnectorError::permanent(message)));
    }

    /// Sends pending batches of the splits `which` selects.
    fn flush(&self, which: impl Fn(&SplitId) -> bool) {
        let ready: Vec<(SplitId, RawBatch)> = {
            let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            let keys: Vec<SplitId> = p.batches.keys().filter(|s| which(s)).cloned().collect();
            keys.into_iter()
                .filter_map(|k| p.batches.remove(&k).map(|(b, _)| (k, b)))
                .collect()
        };
        for (split, batch) in ready {
            let _ = self.events.blocking_send(SourceEvent::Batch {
                split,
                batch,
                high_watermark: None,
            });
        }
    }

    /// The start offset of each split: the sink's committed position, else the startup mode.
    /// Also the numeric position when known. The startup mode is looked up first and a start
    /// at the end of a split (`latest-offset`, a timestamp after the last record,
    /// `auto.offset.reset=latest`) resolved to a number, so that the claim records it: a
    /// crash before the first commit then resumes there, not at a later "latest" that would
    /// skip what arrived in between. (`earliest-offset` stays symbolic: resolved again it skips
    /// nothing.)
    fn start_positions(
        &self,
        consumer: &BaseConsumer<Self>,
        splits: &[SplitId],
    ) -> Result<Vec<(Offset, Option<i64>)>, String> {
        let mut fallback = self.startup_offsets(consumer, splits)?;
        for (split, start) in splits.iter().zip(fallback.iter_mut()) {
            if start.0 == Offset::End {
                let (_, high) = consumer
                    .fetch_watermarks(&split.topic, split.partition, Duration::from_secs(30))
                    .map_err(|e| format!("failed to look up the end offset of {split}: {e}"))?;
                *start = (Offset::Offset(high), Some(high));
            }
        }
        let numbers: Vec<Option<i64>> = fallback.iter().map(|(_, n)| *n).collect();
        let committed = self
            .oracle
            .claim(splits, &numbers)
            .map_err(|e| Report(&e).to_string())?;
        Ok(committed
            .into_iter()
            .zip(fallback)
            .map(|(c, f)| c.map_or(f, |o| (Offset::Offset(o), Some(o))))
            .collect())
    }

    /// Where each split starts by the startup mode, before a start at its end is resolved.
    fn startup_offsets(
        &self,
        consumer: &BaseConsumer<Self>,
        splits: &[SplitId],
    ) -> Result<Vec<(Offset, Option<i64>)>, String> {
        let mut out = Vec::with_capacity(splits.len());
        let mut group_offsets: Option<TopicPartitionList> = None;
        for split in splits {
            let start = match &self.startup {
                StartupMode::EarliestOffset => (Offset::Beginning, None),
                StartupMode::LatestOffset => (Offset::End, None),
                StartupMode::SpecificOffsets(m) => match m.get(&split.partition) {
                    Some(&o) => (Offset::Offset(o), Some(o)),
                    None => (Offset::Beginning, None),
                },
                StartupMode::Timestamp(ts) => {
                    let mut tpl = TopicPartitionList::new();
                    let _ = tpl.add_partition_offset(
                        &split.topic,
                        split.partition,
                        Offset::Offset(*ts),
                    );
                    let found = consumer
                        .offsets_for_times(tpl, Duration::from_secs(30))
                        .map_err(|e| {
                            format!("failed to look up offsets for timestamp {ts} of {split}: {e}")
                        })?;
                    match found
                        .find_partition(&split.topic, split.partition)
                        .map(|e| e.offset())
                    {
                        Some(Offset::Offset(o)) => (Offset::Offset(o), Some(o)),
                        _ => (Offset::End, None),
                    }
                }
                StartupMode::GroupOffsets => {
                    if group_offsets.is_none() {
                        let mut tpl = TopicPartitionList::new();
                        for s in splits {
                            tpl.add_partition(&s.topic, s.partition);
                        }
                        group_offsets = Some(
                            consumer
                                .committed_offsets(tpl, Duration::from_secs(30))
                                .map_err(|e| {
                                    format!(
                                        "failed to read the committed offsets of group {}: {e}",
                                        self.group
                                    )
                                })?,
                        );
                    }
                    let found = group_offsets
                        .as_ref()
                        .and_then(|t| t.find_partition(&split.topic, split.partition))
                        .map(|e| e.offset());
                    match (found, self.offset_reset) {
                        (Some(Offset::Offset(o)), _) => (Offset::Offset(o), Some(o)),
                        (_, OffsetReset::Earliest) => (Offset::Beginning, None),
                        (_, OffsetReset::Latest) => (Offset::End, None),
                        (_, OffsetReset::None) => {
                            return Err(format!(
                                "partition {split} has no committed offset for group {} and scan.startup.mode is group-offsets; set properties.auto.offset.reset to earliest or latest, or choose another scan.startup.mode",
                                self.group
                            ));
                        }
                    }
                }
            };
            out.push(start);
        }
        Ok(out)
    }
}

/// A running Kafka source.
pub struct KafkaSource {
    /// `None` once closing (see `Drop`).
    consumer: Option<Arc<BaseConsumer<Context>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl KafkaSource {
    /// Connects, subscribes and starts polling; events go to `events`.
    pub fn start(
        options: &KafkaSourceOptions,
        oracle: Arc<dyn PositionOracle>,
        settings: ConsumerSettings,
        events: mpsc::Sender<SourceEvent>,
    ) -> Result<KafkaSource, String> {
        let mut config = ClientConfig::new();
        for (k, v) in &options.client {
            config.set(k, v);
        }
        for (k, env) in &options.client_secrets {
            let v = std::env::var(env).map_err(|_| {
                format!("environment variable {env} (properties.{k} from a Secret) is not set")
            })?;
            config.set(k, v);
        }
        config
            .set("group.id", &options.group_id)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "error")
            .set("enable.partition.eof", "false");
        if !options.client.contains_key("isolation.level") {
            // Records of aborted transactions never reach the sink unless the table asks.
            config.set("isolation.level", "read_committed");
        }
        if !options.client.contains_key("queued.max.messages.kbytes") {
            config.set(
                "queued.max.messages.kbytes",
                settings.prefetch_kbytes.to_string(),
            );
        }
        if !options.client.contains_key("fetch.queue.backoff.ms") {
            // librdkafka postpones a partition's next fetch by this much whenever its queue is
            // over the prefetch limits, which a consumer slower than the broker (any pipeline
            // doing real work) hits all the time: at the default 1,000 ms the fetcher idled and
            // the seed job ran at 150,000 records/s; at 50 ms, 800,000.
            config.set("fetch.queue.backoff.ms", FETCH_QUEUE_BACKOFF_MS.to_string());
        }
        if !options.client.contains_key("client.id") {
            config.set(
                "client.id",
                format!("sluice-{}", crate::identity::executor_name()),
            );
        }
        let pending = Arc::new(Mutex::new(Pending::default()));
        let context = Context {
            events: events.clone(),
            oracle,
            startup: options.startup.clone(),
            offset_reset: options.offset_reset,
            group: options.group_id.clone(),
            revoke_timeout: settings.revoke_timeout,
            pending: Arc::clone(&pending),
            fatal: AtomicBool::new(false),
            reclaims: Mutex::new(Vec::new()),
            reclaim_requested: AtomicBool::new(false),
            msk_iam: options.msk_iam.as_ref().map(|settings| {
                TokenSource::new(
                    settings,
                    options
                        .client
                        .get("bootstrap.servers")
                        .map_or("", String::as_str),
                )
            }),
        };
        let consumer: BaseConsumer<Context> = config
            .create_with_context(context)
            .map_err(|e| format!("failed to create the Kafka consumer: {e}"))?;
        let topics: Vec<String> = match &options.topic_pattern {
            Some(p) => vec![if p.starts_with('^') {
                p.clone()
            } else {
                format!("^{p}")
            }],
            None => options.topics.clone(),
        };
        let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
        consumer
            .subscribe(&refs)
            .map_err(|e| format!("failed to subscribe to {topics:?}: {e}"))?;
        let consumer = Arc::new(consumer);
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let consumer = Arc::clone(&consumer);
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("kafka-poll".into())
                .spawn(move || poll_loop(&consumer, &stop, &events, &pending, settings.idle_after))
                .map_err(|e| format!("failed to start the Kafka thread: {e}"))?
        };
        Ok(KafkaSource {
            consumer: Some(consumer),
            stop,
            thread: Some(thread),
        })
    }

    /// Commits positions to the consumer group (advisory: for lag tools and `group-offsets`;
    /// the sink's commit log decides where a restarted job resumes).
    pub fn commit(&self, positions: &[(SplitId, i64)]) {
        let mut tpl = TopicPartitionList::new();
        for (s, o) in positions {
            let _ = tpl.add_partition_offset(&s.topic, s.partition, Offset::Offset(*o));
        }
        if tpl.count() > 0
            && let Some(consumer) = &self.consumer
            && let Err(e) = consumer.commit(&tpl, CommitMode::Async)
        {
            tracing::debug!(error = %e, "kafka offset commit not sent");
        }
    }

    /// Asks the poll thread to leave the group (revoking everything first) and end with
    /// [`SourceEvent::Stopped`].
    pub fn request_stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// Asks the poll thread to claim these splits again and read them from their claimed
    /// position, if Kafka still assigns them here ([`reclaim`]).
    pub fn request_reclaim(&self, splits: &[SplitId]) {
        if let Some(consumer) = &self.consumer {
            let ctx = consumer.context();
            ctx.reclaims
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(splits.iter().cloned());
            ctx.reclaim_requested.store(true, Ordering::SeqCst);
        }
    }
}

impl crate::connector::source::SourceRuntime for KafkaSource {
    fn commit(&self, positions: &[(SplitId, i64)]) {
        KafkaSource::commit(self, positions);
    }

    fn stop(&mut self) {
        self.request_stop();
    }

    fn reclaim(&self, splits: &[SplitId]) {
        self.request_reclaim(splits);
    }
}

/// How long closing the consumer (leaving the group) may take before the executor goes on.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

impl Drop for KafkaSource {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        // Dropping the last handle closes the consumer, and librdkafka's close waits for the
        // group coordinator without a deadline: once, after a run against a slow sink, a
        // finished `--until-idle` job waited there for 17 minutes. Nothing depends on it (the
        // sink's commit log holds the positions), so it gets a deadline.
        let Some(consumer) = self.consumer.take() else {
            return;
        };
        let (closed, wait) = std::sync::mpsc::sync_channel::<()>(1);
        let spawned = std::thread::Builder::new()
            .name("kafka-close".into())
            .spawn(move || {
                drop(consumer);
                let _ = closed.send(());
            });
        if spawned.is_ok() && wait.recv_timeout(CLOSE_TIMEOUT).is_err() {
            tracing::warn!(
                timeout_s = CLOSE_TIMEOUT.as_secs(),
                "the Kafka consumer did not close in time (librdkafka is still leaving the group); going on without waiting: every position is in the sink's commit log"
            );
        }
    }
}

/// The split's cached high watermark (from fetch responses; no request).
/// `--until-idle` waits this many times its interval when records seem left unread (a
/// transactional topic ends with commit markers, never delivered, past its last record).
const IDLE_UNREAD_FACTOR: u32 = 5;

/// Whether every assigned split that delivered records was read up to its end offset, as
/// librdkafka last saw it: quiet because there is nothing left, not because fetching stalled.
fn read_to_end(consumer: &BaseConsumer<Context>, splits: &[SplitId], next: &[i64]) -> bool {
    let Ok(assignment) = consumer.assignment() else {
        return false;
    };
    assignment.elements().iter().all(|e| {
        let Some(i) = splits
            .iter()
            .position(|s| s.partition == e.partition() && s.topic == e.topic())
        else {
            return true;
        };
        cached_high_watermark(consumer, &splits[i]).is_none_or(|high| next[i] >= high)
    })
}

fn cached_high_watermark(consumer: &BaseConsumer<Context>, split: &SplitId) -> Option<i64> {
    let topic = CString::new(split.topic.as_str()).ok()?;
    let (mut low, mut high) = (-1i64, -1i64);
    let err = unsafe {
        rdkafka::bindings::rd_kafka_get_watermark_offsets(
            consumer.client().native_ptr(),
            topic.as_ptr(),
            split.partition,
            &mut low,
            &mut high,
        )
    };
    (err == RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0).then_some(high)
}

fn poll_loop(
    consumer: &BaseConsumer<Context>,
    stop: &AtomicBool,
    events: &mpsc::Sender<SourceEvent>,
    pending: &Mutex<Pending>,
    idle_after: Option<Duration>,
) {
    let mut paused = false;
    let mut last_record = Instant::now();
    let mut idle_sent = false;
    let mut last_flush = Instant::now();
    let mut last_marks = Instant::now();
    // Split ids seen so far: looked up per record without allocating; and the offset after
    // the last record polled from each.
    let mut splits: Vec<SplitId> = Vec::new();
    let mut next_offsets: Vec<i64> = Vec::new();
    // Partitions assigned when last looked: a new assignment starts the idle clock again (its
    // claims may have taken longer than the idle interval).
    let mut assigned_count = 0;
    // Records polled since the clocks were last read: reading the clock for every record cost
    // 7 % of the executor's CPU, so timers are checked every CLOCK_EVERY records (or when a
    // poll returns nothing).
    let mut unclocked = 0u32;
    while !stop.load(Ordering::SeqCst) && !consumer.context().fatal.load(Ordering::SeqCst) {
        let polled = consumer.poll(Duration::from_millis(if paused { 100 } else { 10 }));
        let record = matches!(polled, Some(Ok(_)));
        match polled {
            Some(Ok(m)) => {
                unclocked += 1;
                idle_sent = false;
                let (topic, partition) = (m.topic(), m.partition());
                let i = match splits
                    .iter()
                    .position(|s| s.partition == partition && s.topic == topic)
                {
                    Some(i) => i,
                    None => {
                        splits.push(SplitId {
                            topic: topic.to_owned(),
                            partition,
                        });
                        next_offsets.push(0);
                        splits.len() - 1
                    }
                };
                next_offsets[i] = m.offset() + 1;
                let split = &splits[i];
                let (ts, tt) = match m.timestamp() {
                    Timestamp::NotAvailable => (None, TimestampType::None),
                    Timestamp::CreateTime(t) => (Some(t), TimestampType::CreateTime),
                    Timestamp::LogAppendTime(t) => (Some(t), TimestampType::LogAppendTime),
                };
                let full = {
                    let mut p = pending.lock().unwrap_or_else(|e| e.into_inner());
                    if !p.batches.contains_key(split) {
                        p.batches
                            .insert(split.clone(), (RawBatch::default(), Instant::now()));
                    }
                    let Some((batch, _)) = p.batches.get_mut(split) else {
                        continue;
                    };
                    batch.push(m.offset(), ts, tt, None, m.key(), m.payload());
                    batch.len() >= MAX_BATCH_RECORDS || batch.data.len() >= MAX_BATCH_BYTES
                };
                if full {
                    paused = send_ready(consumer, events, pending, |s| s == split, paused);
                }
            }
            Some(Err(e)) => {
                if let Some(message) = position_lost(&e) {
                    // The committed position is gone from the topic: going on would skip
                    // records silently, so stop and say so.
                    tracing::error!(error = %e, "{message}");
                    let _ = events
                        .blocking_send(SourceEvent::Failed(ConnectorError::permanent(message)));
                    break;
                }
                tracing::warn!(error = %e, "kafka consume error (retrying)");
            }
            None => {
                if unclocked > 0 {
                    unclocked = 0;
                    last_record = Instant::now();
                }
                // Idle means: partitions assigned, fetching (not paused because the pipeline
                // is behind), and nothing new for the interval.
                let count = consumer.assignment().map_or(0, |a| a.count());
                let assigned = count > 0;
                if !assigned || paused || count != assigned_count {
                    last_record = Instant::now();
                }
                assigned_count = count;
                if let Some(after) = idle_after
                    && assigned
                    && !idle_sent
                    && last_record.elapsed() >= after
                    && (read_to_end(consumer, &splits, &next_offsets)
                        || last_record.elapsed() >= after * IDLE_UNREAD_FACTOR)
                {
                    idle_sent = true;
                    let _ = events.try_send(SourceEvent::Idle);
                }
            }
        }
        if record && unclocked < CLOCK_EVERY {
            continue;
        }
        if unclocked > 0 {
            unclocked = 0;
            last_record = Instant::now();
        }
        if consumer
            .context()
            .reclaim_requested
            .swap(false, Ordering::SeqCst)
        {
            reclaim(consumer, events, pending);
        }
        if last_marks.elapsed() >= WATERMARKS_EVERY {
            last_marks = Instant::now();
            let assigned: Vec<SplitId> = consumer
                .assignment()
                .map(|a| {
                    a.elements()
                        .iter()
                        .map(|e| SplitId {
                            topic: e.topic().to_owned(),
                            partition: e.partition(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let marks: Vec<(SplitId, i64)> = assigned
                .into_iter()
                .filter_map(|s| {
                    let high = cached_high_watermark(consumer, &s)?;
                    Some((s, high))
                })
                .collect();
            if !marks.is_empty() {
                let _ = events.try_send(SourceEvent::Watermarks(marks));
            }
        }
        if last_flush.elapsed() >= Duration::from_millis(5) {
            last_flush = Instant::now();
            paused = send_ready(consumer, events, pending, |_| true, paused);
        }
    }
    // Leaving the group revokes the assignment through the rebalance callback.
    consumer.unsubscribe();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && consumer.assignment().is_ok_and(|a| a.count() > 0) {
        consumer.poll(Duration::from_millis(50));
    }
    let _ = events.blocking_send(SourceEvent::Stopped);
}

/// Claims again the requested splits that are still assigned here, seeks each to its claimed
/// position and announces it with [`SourceEvent::Assigned`], as a new assignment. Batches
/// polled from the old position are dropped first, and librdkafka's seek drops what it had
/// fetched, so what follows the announcement starts at the claimed position.
fn reclaim(
    consumer: &BaseConsumer<Context>,
    events: &mpsc::Sender<SourceEvent>,
    pending: &Mutex<Pending>,
) {
    let ctx = consumer.context();
    let mut wanted = std::mem::take(&mut *ctx.reclaims.lock().unwrap_or_else(|e| e.into_inner()));
    wanted.sort();
    wanted.dedup();
    let Ok(assignment) = consumer.assignment() else {
        return;
    };
    let splits: Vec<SplitId> = wanted
        .into_iter()
        .filter(|s| assignment.find_partition(&s.topic, s.partition).is_some())
        .collect();
    if splits.is_empty() {
        return;
    }
    {
        let mut p = pending.lock().unwrap_or_else(|e| e.into_inner());
        for s in &splits {
            p.batches.remove(s);
        }
    }
    let starts = match ctx.start_positions(consumer, &splits) {
        Ok(s) => s,
        Err(e) => return ctx.fail(e),
    };
    for (split, (offset, position)) in splits.into_iter().zip(starts) {
        if let Err(e) = consumer.seek(
            &split.topic,
            split.partition,
            offset,
            Duration::from_secs(30),
        ) {
            return ctx.fail(format!(
                "failed to seek {split} to its claimed position: {e}"
            ));
        }
        tracing::info!(split = %split, ?position, "partition claimed again");
        let _ = events.blocking_send(SourceEvent::Assigned { split, position });
    }
}

/// Sends batches that are full or old enough; when the pipeline is behind, pauses fetching
/// (librdkafka keeps heartbeating) and resumes once it catches up. Returns whether paused.
fn send_ready(
    consumer: &BaseConsumer<Context>,
    events: &mpsc::Sender<SourceEvent>,
    pending: &Mutex<Pending>,
    force: impl Fn(&SplitId) -> bool,
    paused: bool,
) -> bool {
    loop {
        let next = {
            let mut p = pending.lock().unwrap_or_else(|e| e.into_inner());
            let key = p
                .batches
                .iter()
                .find(|(s, (b, t))| {
                    !b.is_empty()
                        && (force(s)
                            && (b.len() >= MAX_BATCH_RECORDS || b.data.len() >= MAX_BATCH_BYTES)
                            || t.elapsed() >= MAX_BATCH_DELAY)
                })
                .map(|(s, _)| s.clone());
            key.and_then(|k| p.batches.remove(&k).map(|(b, _)| (k, b)))
        };
        let Some((split, batch)) = next else {
            if paused && let Ok(a) = consumer.assignment() {
                let _ = consumer.resume(&a);
            }
            return false;
        };
        let high_watermark = cached_high_watermark(consumer, &split);
        match send_briefly_waiting(
            events,
            SourceEvent::Batch {
                split,
                batch,
                high_watermark,
            },
        ) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(SourceEvent::Batch { split, batch, .. })) => {
                // Put it back and stop fetching until there is room.
                let mut p = pending.lock().unwrap_or_else(|e| e.into_inner());
                let entry = p
                    .batches
                    .entry(split)
                    .or_insert_with(|| (RawBatch::default(), Instant::now()));
                let mut merged = batch;
                merged.append(std::mem::take(&mut entry.0));
                entry.0 = merged;
                if !paused && let Ok(a) = consumer.assignment() {
                    tracing::debug!("the pipeline is behind: fetching paused");
                    let _ = consumer.pause(&a);
                }
                return true;
            }
            Err(_) => return paused,
        }
    }
}

/// How often the end offsets of the splits seen so far are sent to the pipeline.
const WATERMARKS_EVERY: Duration = Duration::from_secs(2);

/// How long the poll thread waits for room in the pipeline's channel before it pauses fetching.
/// Pausing makes librdkafka drop its prefetched messages and fetch them again on resume, which
/// costs far more than a short wait when the pipeline is merely busy; a pipeline stalled for
/// longer (a slow or unreachable sink) gets the pause, and the poll thread keeps serving
/// rebalances and heartbeats.
const PAUSE_AFTER: Duration = Duration::from_millis(500);

/// `try_send`, retried for up to [`PAUSE_AFTER`] while the channel is full.
fn send_briefly_waiting(
    events: &mpsc::Sender<SourceEvent>,
    mut event: SourceEvent,
) -> Result<(), mpsc::error::TrySendError<SourceEvent>> {
    let deadline = Instant::now() + PAUSE_AFTER;
    loop {
        match events.try_send(event) {
            Err(mpsc::error::TrySendError::Full(back)) if Instant::now() < deadline => {
                event = back;
                std::thread::sleep(Duration::from_micros(500));
            }
            other => return other,
        }
    }
}

/// The message for an error that means a partition's position is no longer in the topic
/// (deleted by retention, or the topic was recreated), if `e` is one.
fn position_lost(e: &rdkafka::error::KafkaError) -> Option<String> {
    use rdkafka::error::{KafkaError, RDKafkaErrorCode};
    match e {
        KafkaError::MessageConsumption(
            RDKafkaErrorCode::AutoOffsetReset | RDKafkaErrorCode::OffsetOutOfRange,
        ) => Some(format!(
            "the committed position of a partition is no longer in the topic ({e}): records \
             between it and the log start were deleted (retention) before they were read, or \
             the topic was recreated. Nothing was skipped. To go on from the log start, delete \
             the job's commit log for that partition under the sink's _sluice/ prefix"
        )),
        _ => None,
    }
}

#[cfg(test)]
mod position_tests {
    use super::*;
    use rdkafka::error::{KafkaError, RDKafkaErrorCode};

    #[test]
    fn only_a_lost_position_is_fatal() {
        let lost = KafkaError::MessageConsumption(RDKafkaErrorCode::AutoOffsetReset);
        assert!(position_lost(&lost).is_some_and(|m| m.contains("no longer in the topic")));
        let other = KafkaError::MessageConsumption(RDKafkaErrorCode::BrokerTransportFailure);
        assert!(position_lost(&other).is_none());
    }
}
