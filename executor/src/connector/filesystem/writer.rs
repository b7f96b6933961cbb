//! The filesystem sink's writer: rows of each source split go to one open file per partition
//! path; files roll on size, age, inactivity or memory pressure; rolled files are staged (small
//! ones travel inside the commit record, large ones as multipart uploads started while the
//! file is still open); a periodic commit publishes the staged prefix of each split's files
//! with the split's committable offset (see [`super::commit_log`]).
//!
//! All state is owned by the pipeline's task; uploads and commits run as tasks and report back
//! through [`FsSink::next_event`].

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;

use super::commit_log::{
    CommitError, CommitLog, CommitOutcome, FileContent, FileToPublish, PreparedCommit, SplitState,
};
use super::file_names::{DEAD_LETTER_EXTENSION, file_name};
use super::options::RollingPolicy;
use super::store::{Part, Store, StoreError};
use crate::connector::error::ConnectorError;
use crate::connector::sink::{BatchCounts, SinkEvent};
use crate::connector::source::SplitId;
use crate::format::compression::Compression;
use crate::output::Output;

/// Files up to this size travel inside the commit record (one request each to publish).
const INLINE_LIMIT: usize = 1 << 20;

/// The pseudo partition path of a split's dead letters (in `dedup` of commit records).
const DEAD_LETTERS: &str = "_sluice_dead_letters";

/// Memory of one file held by the writer besides its bytes: its struct (~150 B), key and
/// partition path (~130 B), the index entry (~70 B) and allocator headers while open; copies of
/// its key and its entry in the record's JSON (~350 B more) while its commit is in flight.
/// Counted against the budget so that many small partitions roll early instead of growing
/// past it (with 240,000 (source partition, path) pairs: 1,585 MiB RSS before, 262 after).
const FILE_OVERHEAD: u64 = 1024;
/// Memory of one partition path remembered for deduplication in a split's committed state.
const DEDUP_OVERHEAD: u64 = 128;

/// Where dead letters go: another location of the same kind of store, published by the same
/// commit records as the data (so exactly once, and fenced alike).
#[derive(Clone, Debug)]
struct DeadLetterTarget {
    /// The store's location (`s3://bucket`, `file:///dir`) as written in commit records.
    store: String,
    /// Key prefix in it (empty or ending in `/`).
    prefix: String,
}

#[derive(Debug)]
struct Mark {
    start: i64,
    end: i64,
    counts: BatchCounts,
}

/// A file being written.
#[derive(Debug)]
struct OpenFile {
    key: String,
    bucket: String,
    first_offset: i64,
    last_offset: i64,
    rows: u64,
    buf: Vec<u8>,
    size: u64,
    created: Instant,
    last_write: Instant,
    /// Parts of a multipart upload go through this file's upload task.
    parts: Option<mpsc::UnboundedSender<(Bytes, u64)>>,
    /// A file of dead letters (always inline, published to the dead-letter store).
    dead_letter: bool,
}

/// A rolled file waiting to be committed.
#[derive(Debug)]
struct RolledFile {
    key: String,
    bucket: String,
    first_offset: i64,
    last_offset: i64,
    rows: u64,
    size: u64,
    state: Staging,
    dead_letter: bool,
}

#[derive(Debug)]
enum Staging {
    Inline(Bytes),
    Uploading,
    Staged(String, Vec<Part>),
}

#[derive(Debug)]
struct SplitWriter {
    generation: u64,
    committed: SplitState,
    /// The next offset expected; unknown until the first batch when the source starts from
    /// "earliest"/"latest" symbolically.
    position: Option<i64>,
    buckets: HashMap<String, usize>,
    open: Vec<OpenFile>,
    rolled: VecDeque<RolledFile>,
    marks: VecDeque<Mark>,
    commit_in_flight: bool,
    commit_requested: bool,
    /// A commit that failed: the next attempt sends exactly it again. Its files left `rolled`
    /// when it was built, so a commit rebuilt from what is left would move the offset past
    /// rows that were never published.
    retry: Option<Retry>,
}

/// What one batch appended to a split's open files.
#[derive(Default)]
struct Appended {
    /// Growth of the files' buffers (bytes of the memory budget).
    grown: u64,
    /// Rows already in the sink (a replay after a crash), not written again.
    skipped: u64,
    /// The open files written to: only they can have become due for a part or a roll.
    touched: Vec<usize>,
}

impl OpenFile {
    fn new(key: String, bucket: String, offset: i64, now: Instant, dead_letter: bool) -> OpenFile {
        OpenFile {
            key,
            bucket,
            first_offset: offset,
            last_offset: offset,
            rows: 0,
            buf: Vec::new(),
            size: 0,
            created: now,
            last_write: now,
            parts: None,
            dead_letter,
        }
    }

    /// Appends one encoded row; returns how much the buffer's capacity grew.
    fn append(&mut self, line: &[u8], offset: i64, now: Instant) -> u64 {
        let before = self.buf.capacity();
        self.buf.extend_from_slice(line);
        self.size += line.len() as u64;
        self.rows += 1;
        self.last_offset = offset;
        self.last_write = now;
        (self.buf.capacity() - before) as u64
    }
}

impl SplitWriter {
    /// Whether the row at `offset` of `bucket` is already in the sink: committed files of the
    /// bucket reach that far (a replay after a crash or a handover).
    fn already_written(&self, bucket: &str, offset: i64) -> bool {
        self.committed
            .dedup
            .get(bucket)
            .is_some_and(|&hw| offset <= hw)
    }

    /// The index of `bucket`'s open file, opening one named `key()` if there is none.
    fn file_for(
        &mut self,
        bucket: &str,
        offset: i64,
        now: Instant,
        dead_letter: bool,
        key: impl FnOnce() -> String,
    ) -> usize {
        if let Some(&index) = self.buckets.get(bucket) {
            return index;
        }
        self.open.push(OpenFile::new(
            key(),
            bucket.to_owned(),
            offset,
            now,
            dead_letter,
        ));
        let index = self.open.len() - 1;
        self.buckets.insert(bucket.to_owned(), index);
        index
    }

    /// Appends the batch's rows to the open file of each row's partition path.
    fn append_rows(
        &mut self,
        split: &SplitId,
        out: &Output,
        (file_tag, extension): (&str, &str),
        data_prefix: &str,
        now: Instant,
        appended: &mut Appended,
    ) {
        // This batch's partition paths → open files (looked up once per path and batch).
        let mut slots: Vec<Option<usize>> = vec![None; out.buckets.len()];
        for row in &out.rows {
            let b = row.bucket as usize;
            let bucket = &out.buckets[b];
            if self.already_written(bucket, row.offset) {
                appended.skipped += 1;
                continue;
            }
            let slot = match slots[b] {
                Some(slot) => slot,
                None => {
                    let slot = self.file_for(bucket, row.offset, now, false, || {
                        let name = file_name(file_tag, split, row.offset, extension);
                        if bucket.is_empty() {
                            format!("{data_prefix}{name}")
                        } else {
                            format!("{data_prefix}{bucket}/{name}")
                        }
                    });
                    slots[b] = Some(slot);
                    appended.touched.push(slot);
                    slot
                }
            };
            let line = &out.data[row.start as usize..row.end as usize];
            appended.grown += self.open[slot].append(line, row.offset, now);
        }
    }

    /// Appends the batch's dead letters to the split's dead-letter file.
    fn append_dead_letters(
        &mut self,
        split: &SplitId,
        dead_letters: &[(i64, Vec<u8>)],
        target: &DeadLetterTarget,
        file_tag: &str,
        now: Instant,
        appended: &mut Appended,
    ) {
        for (offset, line) in dead_letters {
            if self.already_written(DEAD_LETTERS, *offset) {
                appended.skipped += 1;
                continue;
            }
            let slot = self.file_for(DEAD_LETTERS, *offset, now, true, || {
                format!(
                    "{}{}",
                    target.prefix,
                    file_name(file_tag, split, *offset, DEAD_LETTER_EXTENSION)
                )
            });
            appended.grown += self.open[slot].append(line, *offset, now);
        }
        if let Some(&slot) = self.buckets.get(DEAD_LETTERS) {
            appended.touched.push(slot);
        }
    }

    /// Of the `touched` open files, those due for a multipart part (large, still open, and
    /// `parts_while_open`) and those due to roll (full), by index.
    fn due(
        &self,
        mut touched: Vec<usize>,
        file_size: u64,
        part_size: usize,
        parts_while_open: bool,
    ) -> (Vec<usize>, Vec<usize>) {
        touched.sort_unstable();
        touched.dedup();
        let mut to_upload = Vec::new();
        let mut to_roll = Vec::new();
        for i in touched {
            let f = &self.open[i];
            let limit = if f.dead_letter {
                file_size.min(INLINE_LIMIT as u64)
            } else {
                file_size
            };
            if f.size >= limit {
                to_roll.push(i);
            } else if parts_while_open && f.buf.len() >= part_size && !f.dead_letter {
                to_upload.push(i);
            }
        }
        (to_upload, to_roll)
    }
}

/// A failed commit kept for its next attempt, with the memory it holds. While an attempt is
/// in flight it is not here (the attempt's result brings it back on failure), so that
/// dropping the split then releases its memory once, through the attempt's result.
#[derive(Debug)]
struct Retry {
    prepared: Arc<PreparedCommit>,
    freed: u64,
    /// Failed attempts so far.
    attempts: u32,
    /// No attempt before: 1 s after the first failure, doubling up to 30 s.
    not_before: Instant,
}

/// How long a failed commit waits before its next attempt.
fn retry_delay(attempts: u32) -> Duration {
    Duration::from_secs(1u64 << attempts.saturating_sub(1).min(5)).min(Duration::from_secs(30))
}

#[derive(Debug)]
enum TaskEvent {
    /// Bytes of a part are durable (or abandoned): release them from the budget.
    PartDone { bytes: u64 },
    /// A rolled file's upload finished.
    Staged {
        split: SplitId,
        generation: u64,
        key: String,
        result: Result<(String, Vec<Part>), StoreError>,
    },
    /// A commit finished.
    Committed {
        split: SplitId,
        generation: u64,
        prepared: Arc<PreparedCommit>,
        result: Result<CommitOutcome, CommitError>,
        /// Bytes of inline files it holds, released once it is committed or abandoned.
        freed: u64,
        /// Earlier failed attempts of the same commit.
        attempts: u32,
    },
}

/// The writer of one sink table.
pub struct FsSink {
    log: Arc<CommitLog>,
    store: Store,
    data_prefix: String,
    file_tag: String,
    /// The extension of data files (the format's, and the compression's).
    extension: &'static str,
    /// `sluice.compression` of data files (dead letters are never compressed).
    compression: Compression,
    rolling: RollingPolicy,
    part_size: usize,
    budget: u64,
    /// Bytes of buffers and staged files (see [`FsSink::used`] for everything counted).
    used: u64,
    /// Files listed by commits in flight.
    committing: u64,
    splits: HashMap<SplitId, SplitWriter>,
    next_generation: u64,
    tx: mpsc::UnboundedSender<TaskEvent>,
    rx: mpsc::UnboundedReceiver<TaskEvent>,
    pending: VecDeque<SinkEvent>,
    tasks: u64,
    dead_letter: Option<DeadLetterTarget>,
}

impl FsSink {
    /// A writer of files under `data_prefix` (a key prefix ending in `/`, or empty), named
    /// `<file_tag>-<topic>-<partition>-<first offset>.json`, within `budget` bytes.
    pub fn new(
        log: Arc<CommitLog>,
        data_prefix: String,
        file_tag: String,
        rolling: RollingPolicy,
        part_size: u64,
        budget: u64,
    ) -> FsSink {
        let (tx, rx) = mpsc::unbounded_channel();
        FsSink {
            store: log.store().clone(),
            log,
            data_prefix,
            file_tag,
            extension: "json",
            compression: Compression::None,
            rolling,
            part_size: part_size.max(5 << 20) as usize,
            budget,
            used: 0,
            committing: 0,
            splits: HashMap::new(),
            next_generation: 1,
            tx,
            rx,
            pending: VecDeque::new(),
            tasks: 0,
            dead_letter: None,
        }
    }

    /// Names data files with this extension (the format's, one of
    /// [`EXTENSIONS`](super::file_names::EXTENSIONS); `json` unless set).
    pub fn set_extension(&mut self, extension: &'static str) {
        self.extension = extension;
    }

    /// Compresses data files as they roll ([`Compression`]): such a file is then never
    /// uploaded in parts while open, as its parts would not be S3-sized.
    pub fn set_compression(&mut self, compression: Compression) {
        self.compression = compression;
    }

    /// Writes dead letters ([`Output::dead_letters`]) to `location`, which must be of the
    /// same kind as the sink's store (S3 with the same client, or a directory).
    pub fn set_dead_letter(&mut self, location: &super::options::Location) -> Result<(), String> {
        use super::options::Location;
        self.store.sibling(location)?;
        let (store, prefix) = match location {
            Location::S3 { bucket, prefix } => (format!("s3://{bucket}"), prefix.clone()),
            Location::Local(dir) => (format!("file://{}", dir.display()), String::new()),
        };
        let prefix = if prefix.is_empty() {
            prefix
        } else {
            format!("{prefix}/")
        };
        self.dead_letter = Some(DeadLetterTarget { store, prefix });
        Ok(())
    }

    /// Memory held: open buffers, small rolled files, parts being uploaded, and the
    /// bookkeeping of every file and remembered partition path.
    pub fn used(&self) -> u64 {
        let (files, paths) = self
            .splits
            .values()
            .fold((self.committing, 0), |(f, p), w| {
                (
                    f + (w.open.len() + w.rolled.len()) as u64,
                    p + w.committed.dedup.len() as u64,
                )
            });
        self.used + files * FILE_OVERHEAD + paths * DEDUP_OVERHEAD
    }

    /// The memory budget.
    pub fn budget(&self) -> u64 {
        self.budget
    }

    /// Open files across all splits.
    pub fn open_files(&self) -> usize {
        self.splits.values().map(|s| s.open.len()).sum()
    }

    /// Starts writing a split just claimed (its committed state from the commit log), from
    /// `position` if the source knows it.
    pub fn assign(&mut self, state: SplitState, position: Option<i64>) {
        let generation = self.next_generation;
        self.next_generation += 1;
        let split = state.split.clone();
        tracing::debug!(split = %split, ?position, "sink writes split");
        if let Some(old) = self.splits.remove(&split) {
            self.discard(old);
        }
        self.splits.insert(
            split,
            SplitWriter {
                generation,
                committed: state,
                position,
                buckets: HashMap::new(),
                open: Vec::new(),
                rolled: VecDeque::new(),
                marks: VecDeque::new(),
                commit_in_flight: false,
                commit_requested: false,
                retry: None,
            },
        );
    }

    /// Whether the sink writes this split now.
    pub fn owns(&self, split: &SplitId) -> bool {
        self.splits.contains_key(split)
    }

    /// The next offset the sink expects for a split, if known.
    pub fn position(&self, split: &SplitId) -> Option<i64> {
        self.splits.get(split).and_then(|s| s.position)
    }

    /// Stops writing a split: what is not committed is abandoned (it will be read again by the
    /// next owner). Call [`FsSink::flush_split`] first to hand it over cleanly.
    pub fn revoke(&mut self, split: &SplitId) {
        if let Some(w) = self.splits.remove(split) {
            self.discard(w);
        }
    }

    fn discard(&mut self, w: SplitWriter) {
        if let Some(r) = w.retry {
            self.release(&r.prepared, r.freed);
        }
        for f in w.open {
            self.used = self.used.saturating_sub(f.buf.capacity() as u64);
            drop(f.parts); // the upload task sees the channel close without a final part
        }
        for f in w.rolled {
            if let Staging::Inline(b) = &f.state {
                self.used = self.used.saturating_sub(b.len() as u64);
            }
            if let Staging::Staged(upload, _) = f.state {
                let store = self.store.clone();
                tokio::spawn(async move {
                    let _ = store.abort_upload(&f.key, &upload).await;
                });
            }
        }
    }

    /// Writes a batch's rows of `split`: the batch's records are `first_offset..next_offset`
    /// (all handled now). `counts.records_out` counts every output row, including rows skipped
    /// because they are already in the sink.
    pub fn write(
        &mut self,
        split: &SplitId,
        out: &Output,
        first_offset: i64,
        next_offset: i64,
        counts: BatchCounts,
    ) {
        let now = Instant::now();
        let Some(w) = self.splits.get_mut(split) else {
            return;
        };
        let mut appended = Appended::default();
        w.append_rows(
            split,
            out,
            (&self.file_tag, self.extension),
            &self.data_prefix,
            now,
            &mut appended,
        );
        if let Some(target) = &self.dead_letter {
            w.append_dead_letters(
                split,
                &out.dead_letters,
                target,
                &self.file_tag,
                now,
                &mut appended,
            );
        }
        self.used += appended.grown;
        if appended.skipped > 0 {
            tracing::debug!(split = %split, skipped = appended.skipped, "rows already in the sink were skipped");
        }
        w.marks.push_back(Mark {
            start: first_offset,
            end: next_offset,
            counts,
        });
        w.position = Some(next_offset);
        // Large files upload parts while open (not compressed ones: a part of a compressed
        // stream could fall under S3's 5 MiB minimum part size); full files roll.
        let parts_while_open = self.compression == Compression::None;
        let (to_upload, to_roll) = w.due(
            appended.touched,
            self.rolling.file_size,
            self.part_size,
            parts_while_open,
        );
        let split = split.clone();
        for i in to_upload {
            self.upload_part(&split, i);
        }
        // Highest index first: `roll` swaps the last file into the rolled one's place.
        for i in to_roll.into_iter().rev() {
            self.roll(&split, i);
        }
        self.enforce_budget();
    }

    /// Sends an open file's buffer as the next part of its multipart upload.
    fn upload_part(&mut self, split: &SplitId, index: usize) {
        let Some(w) = self.splits.get_mut(split) else {
            return;
        };
        let f = &mut w.open[index];
        if f.buf.is_empty() {
            return;
        }
        // The part's bytes (its whole allocation) stay counted until the upload task reports
        // them durable.
        let capacity = f.buf.capacity() as u64;
        let data = Bytes::from(std::mem::replace(
            &mut f.buf,
            Vec::with_capacity(self.part_size / 4),
        ));
        self.used += (self.part_size / 4) as u64;
        if f.parts.is_none() {
            f.parts = Some(start_upload(
                &self.store,
                &self.tx,
                split.clone(),
                w.generation,
                f.key.clone(),
            ));
        }
        if let Some(tx) = &f.parts {
            let _ = tx.send((data, capacity));
        }
    }

    /// Rolls an open file: it stops taking rows and is staged for the next commit.
    fn roll(&mut self, split: &SplitId, index: usize) {
        let Some(w) = self.splits.get_mut(split) else {
            return;
        };
        let mut f = w.open.swap_remove(index);
        w.buckets.remove(&f.bucket);
        if index < w.open.len() {
            let moved = &w.open[index];
            w.buckets.insert(moved.bucket.clone(), index);
        }
        let mut cap = f.buf.capacity() as u64;
        if self.compression != Compression::None && !f.dead_letter && f.parts.is_none() {
            // The whole file, compressed before it is staged: the commit publishes a complete
            // gzip member / zstd frame. Compressing bytes in memory fails only if the encoder
            // itself does; then the sink fails rather than publish plain bytes under a `.gz`
            // or `.zst` name, and the file goes back among the open ones, where its first
            // offset keeps every commit of the split before its rows (nothing is lost).
            match self.compression.compress(&f.buf) {
                Ok(packed) => {
                    self.used = self.used - cap + packed.capacity() as u64;
                    f.buf = packed;
                    cap = f.buf.capacity() as u64;
                }
                Err(e) => {
                    let key = f.key.clone();
                    w.buckets.insert(f.bucket.clone(), w.open.len());
                    w.open.push(f);
                    self.pending.push_back(SinkEvent::Failed(
                        ConnectorError::permanent(format!(
                            "cannot compress {key} ({:?})",
                            self.compression
                        ))
                        .caused_by(e),
                    ));
                    return;
                }
            }
        }
        // Dead letters always travel inline: they go to another store than the uploads.
        let state = if f.parts.is_none() && (f.buf.len() <= INLINE_LIMIT || f.dead_letter) {
            // Held until the commit publishes it: keep only what it needs.
            f.buf.shrink_to_fit();
            let bytes = Bytes::from(std::mem::take(&mut f.buf));
            self.used = self.used - cap + bytes.len() as u64;
            Staging::Inline(bytes)
        } else {
            let generation = w.generation;
            let tx = f.parts.take().unwrap_or_else(|| {
                start_upload(
                    &self.store,
                    &self.tx,
                    split.clone(),
                    generation,
                    f.key.clone(),
                )
            });
            let data = Bytes::from(std::mem::take(&mut f.buf));
            if data.is_empty() {
                self.used -= cap;
            } else {
                let _ = tx.send((data, cap));
            }
            drop(tx);
            Staging::Uploading
        };
        let Some(w) = self.splits.get_mut(split) else {
            return;
        };
        w.rolled.push_back(RolledFile {
            key: f.key,
            bucket: f.bucket,
            first_offset: f.first_offset,
            last_offset: f.last_offset,
            rows: f.rows,
            size: f.size,
            state,
            dead_letter: f.dead_letter,
        });
    }

    /// Over budget: roll the largest open files (their bytes leave with the next commit or
    /// their upload) and commit early.
    fn enforce_budget(&mut self) {
        let used = self.used();
        if used <= self.budget {
            return;
        }
        let target = self.budget * 3 / 4;
        // What rolling a file frees once it is committed: its buffer and its bookkeeping.
        let mut candidates: Vec<(u64, SplitId, String)> = self
            .splits
            .iter()
            .flat_map(|(s, w)| {
                w.open.iter().map(move |f| {
                    (
                        f.buf.capacity() as u64 + FILE_OVERHEAD,
                        s.clone(),
                        f.bucket.clone(),
                    )
                })
            })
            .collect();
        candidates.sort_unstable_by_key(|c| std::cmp::Reverse(c.0));
        let mut freed = 0u64;
        let need = used.saturating_sub(target);
        let mut touched = Vec::new();
        for (bytes, split, bucket) in candidates {
            if freed >= need {
                break;
            }
            if let Some(&i) = self.splits.get(&split).and_then(|w| w.buckets.get(&bucket)) {
                self.roll(&split, i);
                freed += bytes;
                touched.push(split);
            }
        }
        touched.sort();
        touched.dedup();
        tracing::debug!(
            used,
            budget = self.budget,
            rolled_bytes = freed,
            "memory budget reached: rolled the largest files"
        );
        for s in touched {
            if let Some(w) = self.splits.get_mut(&s) {
                w.commit_requested = true;
            }
        }
        self.start_requested_commits();
    }

    /// Rolls files past their rollover or inactivity interval. Call every second or so.
    pub fn roll_due(&mut self, now: Instant) {
        let (rollover, inactivity) = (
            self.rolling.rollover_interval,
            self.rolling.inactivity_interval,
        );
        let due: Vec<(SplitId, usize)> = self
            .splits
            .iter()
            .flat_map(|(s, w)| {
                w.open
                    .iter()
                    .enumerate()
                    .filter(move |(_, f)| {
                        now.duration_since(f.created) >= rollover
                            || now.duration_since(f.last_write) >= inactivity
                    })
                    .map(move |(i, _)| (s.clone(), i))
            })
            .collect();
        // Highest index first so that swap_remove does not move files still to roll.
        let mut due = due;
        due.sort_by_key(|d| std::cmp::Reverse(d.1));
        for (s, i) in due {
            self.roll(&s, i);
        }
    }

    /// Starts a commit of every split that has something to commit.
    pub fn commit_all(&mut self) {
        for w in self.splits.values_mut() {
            w.commit_requested = true;
        }
        self.start_requested_commits();
    }

    fn start_requested_commits(&mut self) {
        let splits: Vec<SplitId> = self
            .splits
            .iter()
            .filter(|(_, w)| w.commit_requested && !w.commit_in_flight)
            .map(|(s, _)| s.clone())
            .collect();
        for s in splits {
            self.start_commit(&s);
        }
    }

    fn start_commit(&mut self, split: &SplitId) {
        let Some(w) = self.splits.get_mut(split) else {
            return;
        };
        w.commit_requested = false;
        if w.retry.is_some() {
            let now = Instant::now();
            let Some(r) = w.retry.take_if(|r| r.not_before <= now) else {
                return;
            };
            tracing::info!(split = %split, seq = r.prepared.next().seq, attempt = r.attempts + 1, "trying the failed commit again with the same files");
            w.commit_in_flight = true;
            let generation = w.generation;
            self.spawn_commit(split, generation, r.prepared, r.freed, r.attempts);
            return;
        }
        // The staged prefix of the rolled files, in roll order.
        let ready = w
            .rolled
            .iter()
            .take_while(|f| matches!(f.state, Staging::Inline(_) | Staging::Staged(..)))
            .count();
        // Every record before `offset` is filtered or in a file that is committed or in `ready`.
        let pinned = w
            .open
            .iter()
            .map(|f| f.first_offset)
            .chain(w.rolled.iter().skip(ready).map(|f| f.first_offset))
            .min();
        let Some(position) = w.position else { return };
        let mut offset = pinned.unwrap_or(position).min(position);
        // Counters are exact per batch: commit on a batch boundary.
        if let Some(m) = w.marks.iter().find(|m| m.end > offset) {
            offset = offset.min(m.start);
        }
        let previous = w.committed.offset;
        if ready == 0 && previous.is_some_and(|p| p >= offset) {
            return;
        }
        let mut counters = w.committed.counters;
        for m in w.marks.iter().take_while(|m| m.end <= offset) {
            counters.records_in += m.counts.records_in;
            counters.records_out += m.counts.records_out;
            counters.records_filtered += m.counts.records_filtered;
            counters.records_failed += m.counts.records_failed;
        }
        let mut dedup = w.committed.dedup.clone();
        let mut files = Vec::with_capacity(ready);
        let mut freed = 0u64;
        for f in w.rolled.drain(..ready) {
            let hw = dedup.entry(f.bucket.clone()).or_insert(f.last_offset);
            *hw = (*hw).max(f.last_offset);
            counters.files_written += 1;
            counters.bytes_written += f.size;
            let content = match f.state {
                Staging::Inline(b) => {
                    freed += b.len() as u64;
                    FileContent::Inline(b)
                }
                Staging::Staged(upload, parts) => FileContent::Upload(upload, parts),
                // `ready` counts only staged files.
                Staging::Uploading => continue,
            };
            files.push(FileToPublish {
                key: f.key,
                content,
                rows: f.rows,
                store: if f.dead_letter {
                    self.dead_letter.as_ref().map(|d| d.store.clone())
                } else {
                    None
                },
            });
        }
        dedup.retain(|_, hw| *hw >= offset);
        let next = SplitState {
            split: split.clone(),
            seq: w.committed.seq + 1,
            epoch: w.committed.epoch,
            offset: Some(offset),
            dedup,
            counters,
        };
        w.commit_in_flight = true;
        let generation = w.generation;
        let prepared = Arc::new(self.log.prepare(&next, files));
        self.committing += prepared.files() as u64;
        self.spawn_commit(split, generation, prepared, freed, 0);
    }

    fn spawn_commit(
        &mut self,
        split: &SplitId,
        generation: u64,
        prepared: Arc<PreparedCommit>,
        freed: u64,
        attempts: u32,
    ) {
        let log = Arc::clone(&self.log);
        let events = self.tx.clone();
        let split = split.clone();
        self.tasks += 1;
        tokio::spawn(async move {
            let result = log.commit_prepared(&prepared).await;
            let _ = events.send(TaskEvent::Committed {
                split,
                generation,
                prepared,
                result,
                freed,
                attempts,
            });
        });
    }

    /// Releases the memory a commit held (committed, fenced or abandoned).
    fn release(&mut self, prepared: &PreparedCommit, freed: u64) {
        self.used = self.used.saturating_sub(freed);
        self.committing = self.committing.saturating_sub(prepared.files() as u64);
    }

    /// Whether anything is still to be committed or in flight.
    pub fn is_idle(&self) -> bool {
        self.tasks == 0 && self.splits.keys().all(|s| self.split_settled(s))
    }

    /// Rolls every open file of a split (before handing it over, or at shutdown).
    pub fn roll_split(&mut self, split: &SplitId) {
        // Each file once, from the last: a file that cannot roll (compression failed) goes
        // back to the end, below the indices still to visit.
        let open = self.splits.get(split).map_or(0, |w| w.open.len());
        for index in (0..open).rev() {
            self.roll(split, index);
        }
    }

    /// Rolls everything.
    pub fn roll_all(&mut self) {
        let splits: Vec<SplitId> = self.splits.keys().cloned().collect();
        for s in splits {
            self.roll_split(&s);
        }
    }

    /// Whether a split has nothing uncommitted: all its records before its position are
    /// committed.
    pub fn split_settled(&self, split: &SplitId) -> bool {
        self.splits.get(split).is_none_or(|w| {
            w.open.is_empty()
                && w.rolled.is_empty()
                && !w.commit_in_flight
                && w.retry.is_none()
                && (w.position.is_none() || w.committed.offset == w.position)
        })
    }

    /// The next event for the pipeline, processing task results as they arrive.
    pub async fn next_event(&mut self) -> SinkEvent {
        loop {
            if let Some(e) = self.pending.pop_front() {
                return e;
            }
            let Some(task) = self.rx.recv().await else {
                return SinkEvent::Failed(ConnectorError::permanent(
                    "the sink's task channel closed",
                ));
            };
            self.handle(task);
        }
    }

    fn handle(&mut self, task: TaskEvent) {
        match task {
            TaskEvent::PartDone { bytes } => self.used = self.used.saturating_sub(bytes),
            TaskEvent::Staged {
                split,
                generation,
                key,
                result,
            } => {
                let Some(w) = self
                    .splits
                    .get_mut(&split)
                    .filter(|w| w.generation == generation)
                else {
                    // The split was revoked: abandon the upload.
                    if let Ok((upload, _)) = result {
                        let store = self.store.clone();
                        tokio::spawn(async move {
                            let _ = store.abort_upload(&key, &upload).await;
                        });
                    }
                    return;
                };
                match result {
                    Ok((upload, parts)) => {
                        if let Some(f) = w.rolled.iter_mut().find(|f| f.key == key) {
                            f.state = Staging::Staged(upload, parts);
                        } else if !parts.is_empty() {
                            // The file was still open and its task ended (revoked mid-way): abort.
                            let store = self.store.clone();
                            tokio::spawn(async move {
                                let _ = store.abort_upload(&key, &upload).await;
                            });
                        }
                    }
                    // Aborted as an orphan by the claim of an executor that took the split
                    // over: the split is not ours any more, as if a commit had been fenced.
                    Err(StoreError::UploadGone { .. }) => {
                        tracing::warn!(split = %split, key, "an upload of this split was aborted by another executor's claim: the split is fenced");
                        if let Some(w) = self.splits.remove(&split) {
                            self.discard(w);
                        }
                        self.pending.push_back(SinkEvent::Fenced { split });
                    }
                    Err(e) => self.pending.push_back(SinkEvent::Failed(
                        ConnectorError::permanent(format!("failed to stage {key}")).caused_by(e),
                    )),
                }
            }
            TaskEvent::Committed {
                split,
                generation,
                prepared,
                result,
                freed,
                attempts,
            } => {
                self.tasks -= 1;
                let current = self
                    .splits
                    .get(&split)
                    .is_some_and(|w| w.generation == generation);
                if !current || result.is_ok() {
                    self.release(&prepared, freed);
                }
                let Some(w) = self.splits.get_mut(&split).filter(|_| current) else {
                    return;
                };
                w.commit_in_flight = false;
                match result {
                    Ok(CommitOutcome::Committed { seq }) => {
                        w.retry = None;
                        let next = prepared.next().clone();
                        let files = prepared.files();
                        let offset = next.offset.unwrap_or_default();
                        while w.marks.front().is_some_and(|m| m.end <= offset) {
                            w.marks.pop_front();
                        }
                        tracing::debug!(split = %split, seq, offset, files, "committed");
                        let counters = next.counters;
                        w.committed = next;
                        self.pending.push_back(SinkEvent::Committed {
                            split,
                            offset,
                            counters,
                        });
                    }
                    Ok(CommitOutcome::Fenced) => {
                        w.retry = None;
                        if let Some(w) = self.splits.remove(&split) {
                            self.discard(w);
                        }
                        self.pending.push_back(SinkEvent::Fenced { split });
                    }
                    Err(e) => {
                        // Tried again as it is: never rebuilt from what is left to commit.
                        let attempts = attempts + 1;
                        let delay = retry_delay(attempts);
                        tracing::warn!(split = %split, attempts, retry_in_ms = delay.as_millis() as u64, error = %e, "commit failed; it will be tried again with the same files");
                        w.retry = Some(Retry {
                            prepared,
                            freed,
                            attempts,
                            not_before: Instant::now() + delay,
                        });
                        if attempts == 1 {
                            self.pending.push_back(SinkEvent::Failed(
                                ConnectorError::permanent(format!("failed to commit {split}"))
                                    .caused_by(e),
                            ));
                        }
                    }
                }
                // A commit asked for while this one was in flight (memory pressure) goes now.
                self.start_requested_commits();
            }
        }
    }

    /// Per split: (committed offset, position), for status and lag.
    pub fn positions(&self) -> BTreeMap<SplitId, (Option<i64>, Option<i64>)> {
        self.splits
            .iter()
            .map(|(s, w)| (s.clone(), (w.committed.offset, w.position)))
            .collect()
    }

    /// Waits for in-flight work and commits until every split is settled, or `deadline`.
    pub async fn settle(&mut self, deadline: Duration) -> Result<(), String> {
        let end = Instant::now() + deadline;
        loop {
            self.start_requested_commits();
            if self.is_idle() {
                return Ok(());
            }
            for w in self.splits.values_mut() {
                if !w.commit_in_flight {
                    w.commit_requested = true;
                }
            }
            self.start_requested_commits();
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err("timed out waiting for uploads and commits".to_owned());
            }
            match tokio::time::timeout(left.min(Duration::from_millis(200)), self.rx.recv()).await {
                Ok(Some(task)) => self.handle(task),
                Ok(None) => return Err("the sink's task channel closed".to_owned()),
                Err(_) => {}
            }
        }
    }
}

/// A task that stages one file: begins the upload, uploads parts in order as they arrive,
/// and reports the staged upload when the channel closes after a final part.
fn start_upload(
    store: &Store,
    events: &mpsc::UnboundedSender<TaskEvent>,
    split: SplitId,
    generation: u64,
    key: String,
) -> mpsc::UnboundedSender<(Bytes, u64)> {
    let (parts_tx, mut parts_rx) = mpsc::unbounded_channel::<(Bytes, u64)>();
    let store = store.clone();
    let events = events.clone();
    tokio::spawn(async move {
        let result = async {
            let upload = store.begin_upload(&key).await?;
            let mut parts = Vec::new();
            let mut number = 1;
            while let Some((data, accounted)) = parts_rx.recv().await {
                let part = store.upload_part(&key, &upload, number, data).await;
                let _ = events.send(TaskEvent::PartDone { bytes: accounted });
                parts.push(part?);
                super::fault::reached("part-uploaded");
                number += 1;
            }
            Ok((upload, parts))
        }
        .await;
        let _ = events.send(TaskEvent::Staged {
            split,
            generation,
            key,
            result,
        });
    });
    parts_tx
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector::filesystem::file_names::file_split;
    use crate::connector::filesystem::store::local::LocalStore;
    use crate::output::OutRow;

    fn split(partition: i32) -> SplitId {
        SplitId {
            topic: "ticks".into(),
            partition,
        }
    }

    /// A batch of `rows` records from offset `first`, offset `o` in partition path
    /// `p=<o % paths>`.
    fn batch(first: i64, rows: usize, paths: usize) -> Output {
        let mut out = Output {
            buckets: (0..paths).map(|p| format!("p={p}")).collect(),
            ..Output::default()
        };
        for i in 0..rows {
            let start = out.data.len() as u32;
            out.data
                .extend_from_slice(format!("{{\"offset\":{}}}\n", first + i as i64).as_bytes());
            out.rows.push(OutRow {
                bucket: ((first as usize + i) % paths) as u32,
                start,
                end: out.data.len() as u32,
                offset: first + i as i64,
            });
        }
        out
    }

    fn counts(rows: usize) -> BatchCounts {
        BatchCounts {
            records_in: rows as u64,
            records_out: rows as u64,
            ..BatchCounts::default()
        }
    }

    #[tokio::test]
    async fn many_small_partitions_stay_within_the_budget_and_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::Local(LocalStore::new(dir.path().to_owned()).unwrap());
        let log = Arc::new(CommitLog::new(store, "", "group-1", "a"));
        let budget = 2 << 20;
        let mut sink = FsSink::new(
            Arc::clone(&log),
            String::new(),
            "part".into(),
            RollingPolicy::default(),
            5 << 20,
            budget,
        );
        let (splits, paths, rows, rounds) = (4, 2_000, 500, 20);
        for p in 0..splits {
            sink.assign(log.claim(&split(p)).await.unwrap(), Some(0));
        }
        let (mut peak, mut most_open) = (0, 0);
        for round in 0..rounds as i64 {
            for p in 0..splits {
                // The pipeline takes no batch while the sink is over its budget.
                while sink.used() > budget {
                    let event = sink.next_event().await;
                    assert!(!matches!(event, SinkEvent::Failed(_)), "{event:?}");
                }
                let first = round * rows as i64;
                sink.write(
                    &split(p),
                    &batch(first, rows, paths),
                    first,
                    first + rows as i64,
                    counts(rows),
                );
                peak = peak.max(sink.used());
                most_open = most_open.max(sink.open_files());
            }
        }
        // Without the bookkeeping counted, all 8,000 would stay open.
        assert!(
            (most_open as u64) < budget / FILE_OVERHEAD,
            "{most_open} files open at once"
        );
        // 8,000 (split, path) files would need ≈ 8 MiB of bookkeeping alone: the budget
        // rolled them early instead, and one batch (500 files) is all it can overshoot by.
        assert!(
            peak <= budget + rows as u64 * (FILE_OVERHEAD + 64) + (1 << 20),
            "peak {peak} > budget {budget}"
        );
        sink.roll_all();
        sink.settle(Duration::from_secs(30)).await.unwrap();
        assert_eq!(sink.open_files(), 0);
        assert!(sink.used() < budget / 4, "{} still held", sink.used());
        // Every row is in exactly one published file.
        let mut seen = vec![0u8; rounds * rows * splits as usize];
        for entry in walk(dir.path()) {
            let name = entry.file_name().unwrap().to_string_lossy().into_owned();
            if !name.ends_with(".json") {
                continue;
            }
            let p: usize = name.split('-').nth(2).unwrap().parse().unwrap();
            for line in std::fs::read_to_string(&entry).unwrap().lines() {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                let offset = v["offset"].as_u64().unwrap() as usize;
                seen[p * rounds * rows + offset] += 1;
            }
        }
        assert!(
            seen.iter().all(|&n| n == 1),
            "a row is missing or duplicated"
        );
    }

    #[tokio::test]
    async fn a_claim_never_takes_another_splits_uploads_for_its_own_orphans() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::Local(LocalStore::new(dir.path().to_owned()).unwrap());
        let log = CommitLog::new(store.clone(), "", "group-1", "a");
        let t_1 = SplitId {
            topic: "t".into(),
            partition: 1,
        };
        let t1_5 = SplitId {
            topic: "t-1".into(),
            partition: 5,
        };
        // A live upload of topic `t-1` partition 5, which another executor's record may list.
        let key = format!("p=x/{}", file_name("part-0a1b", &t1_5, 0, "json"));
        let upload = store.begin_upload(&key).await.unwrap();
        assert_eq!(
            log.orphan_uploads("", "part-0a1b", std::slice::from_ref(&t_1))
                .await
                .unwrap(),
            vec![],
            "claiming topic t partition 1 would abort {key}"
        );
        assert_eq!(
            log.orphan_uploads("", "part-0a1b", std::slice::from_ref(&t1_5))
                .await
                .unwrap(),
            vec![(key, upload)]
        );
        for (topic, partition, offset) in [("t", 1, 0), ("t-1", 5, 7), ("a-1-2", 0, 12)] {
            let split = SplitId {
                topic: topic.into(),
                partition,
            };
            let name = file_name("part-0a1b", &split, offset, "csv");
            assert_eq!(file_split("part-0a1b", &name), Some(split), "{name}");
        }
        assert_eq!(file_split("part-0a1b", "part-0a1b-t-x-0.json"), None);
        assert_eq!(file_split("part-0a1b", "part-0a1b-t-1-0.txt"), None);
        assert_eq!(
            file_split("part-0a1b", "part-0a1b-a.b-1-0.json"),
            Some(SplitId {
                topic: "a.b".into(),
                partition: 1
            })
        );
        assert_eq!(file_split("part-ffff", "part-0a1b-t-1-0.json"), None);
    }

    /// Rows of every published data file under `dir`, by their `offset` field.
    fn published_offsets(dir: &std::path::Path) -> Vec<i64> {
        let mut seen = Vec::new();
        for entry in walk(dir) {
            if entry.extension().is_some_and(|e| e == "json") {
                for line in std::fs::read_to_string(&entry).unwrap().lines() {
                    let v: serde_json::Value = serde_json::from_str(line).unwrap();
                    seen.push(v["offset"].as_i64().unwrap());
                }
            }
        }
        seen.sort_unstable();
        seen
    }

    /// A sink writing to a local directory, 64 MiB budget, and its commit log.
    fn local_sink(dir: &std::path::Path) -> (Arc<CommitLog>, FsSink) {
        let store = Store::Local(LocalStore::new(dir.to_owned()).unwrap());
        let log = Arc::new(CommitLog::new(store, "", "group-1", "a"));
        let sink = FsSink::new(
            Arc::clone(&log),
            String::new(),
            "part".into(),
            RollingPolicy::default(),
            5 << 20,
            64 << 20,
        );
        (log, sink)
    }

    #[tokio::test]
    async fn a_failed_commit_is_tried_again_with_the_same_files_and_never_commits_past_them() {
        let dir = tempfile::tempdir().unwrap();
        let (log, mut sink) = local_sink(dir.path());
        let state = log.claim(&split(0)).await.unwrap();
        assert_eq!(state.seq, 1);
        sink.assign(state, Some(0));
        sink.write(&split(0), &batch(0, 10, 2), 0, 10, counts(10));
        sink.roll_all();
        // The next record cannot be created: a directory stands at its key, so the store
        // answers with a permanent error (as a full disk or an expired token would).
        let record = dir
            .path()
            .join("_sluice/group-1/ticks/00000/00000000000000000002.commit");
        std::fs::create_dir_all(&record).unwrap();
        sink.commit_all();
        let event = sink.next_event().await;
        assert!(matches!(event, SinkEvent::Failed(_)), "{event:?}");
        assert!(!sink.split_settled(&split(0)));
        // The cause goes away; the pipeline's stop settles the sink, which commits again.
        std::fs::remove_dir(&record).unwrap();
        sink.settle(Duration::from_secs(30)).await.unwrap();
        let committed = sink.positions()[&split(0)].0;
        assert_eq!(committed, Some(10));
        assert_eq!(
            published_offsets(dir.path()),
            (0..10).collect::<Vec<i64>>(),
            "the commit moved the offset to {committed:?} past rows it never published"
        );
        assert_eq!(
            sink.used(),
            0,
            "the retried commit's memory was not released"
        );
    }

    #[tokio::test]
    async fn a_retry_in_flight_when_its_split_is_revoked_releases_its_memory_once() {
        let dir = tempfile::tempdir().unwrap();
        let (log, mut sink) = local_sink(dir.path());
        for p in [0, 1] {
            sink.assign(log.claim(&split(p)).await.unwrap(), Some(0));
        }
        // Split 1 keeps an open file: the memory that must still be counted at the end.
        sink.write(&split(1), &batch(0, 10, 1), 0, 10, counts(10));
        let held = sink.used();
        sink.write(&split(0), &batch(0, 10, 2), 0, 10, counts(10));
        sink.roll_split(&split(0));
        let record = dir
            .path()
            .join("_sluice/group-1/ticks/00000/00000000000000000002.commit");
        std::fs::create_dir_all(&record).unwrap();
        sink.commit_all();
        loop {
            match sink.next_event().await {
                SinkEvent::Failed(_) => break,
                SinkEvent::Committed { split: s, .. } if s == split(1) => {}
                other => panic!("{other:?}"),
            }
        }
        let in_flight = |sink: &FsSink| sink.splits[&split(0)].commit_in_flight;
        // The next attempt waits for its back-off, then is in flight when the split goes.
        sink.commit_all();
        assert!(!in_flight(&sink), "tried again before its back-off");
        tokio::time::sleep(retry_delay(1)).await;
        sink.commit_all();
        assert!(in_flight(&sink));
        sink.revoke(&split(0));
        while sink.tasks > 0 {
            let task = sink.rx.recv().await.unwrap();
            sink.handle(task);
        }
        assert_eq!(
            sink.used(),
            held,
            "memory of the retried commit released twice or never"
        );
        assert_eq!(sink.committing, 0);
    }

    fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                if !path.ends_with("_sluice") {
                    out.extend(walk(&path));
                }
            } else {
                out.push(path);
            }
        }
        out
    }
}
