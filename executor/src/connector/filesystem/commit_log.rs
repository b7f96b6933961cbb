//! The exactly-once commit protocol, in one place.
//!
//! For each source split (Kafka topic partition) the sink keeps a log of commit records under
//! `<table path>/_sluice/<consumer group>/<topic>/<partition>/<seq>.commit`. A record says:
//! every record of the split before `offset` is in the sink (or was filtered); these files are
//! to be published (`publish`); for these partitions of the table, records up to this offset
//! are already in published files (`dedup`); and the split's exactly-once counters.
//!
//! - **Order.** Data is made durable but invisible first (multipart parts, or bytes inside the
//!   record itself for small files), then the record is created, then the files are published
//!   (completed). A file is never visible without a record that lists it, so a crash at any
//!   point either loses nothing (the record exists: whoever reads it next publishes the files)
//!   or leaves only invisible bytes (no record: the records are read again from the source).
//! - **Fencing.** Records are created with a conditional create (`If-None-Match: *`) at the
//!   next sequence number. An executor that takes over a split *claims* it by creating the next
//!   record with a new epoch, after publishing the files of the latest record. A zombie that
//!   still thinks it owns the split fails to create its next record (the number is taken) and
//!   stops; it never publishes files of a record it could not create. A record created at a
//!   number below the latest (possible only after old records were pruned) is detected by
//!   listing and ignored.
//! - **Replay.** After a restart the source is read again from `offset`. A record of a
//!   partition `p` whose offset is at most `dedup[p]` is already in a published file of `p`
//!   and is skipped. (Files of one partition are published in order, so this is exact — for
//!   statements whose partition values depend only on the record.)

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};

use super::store::{Created, Part, Store, StoreError};
use crate::connector::sink::Counters;
use crate::connector::source::SplitId;

const MAGIC: &[u8; 8] = b"SLUICE1\n";
/// Records kept behind the latest when pruning.
const KEEP: u64 = 8;
/// Files of one record published at once.
const PUBLISH_CONCURRENCY: usize = 32;

/// How a file's bytes are held until it is published.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Staged {
    /// A staged (multipart) upload.
    Upload {
        /// Upload id.
        upload: String,
        /// Its parts.
        parts: Vec<Part>,
    },
    /// Inside the record, at this range of its payload.
    Inline {
        /// Start in the payload.
        start: u64,
        /// Length.
        len: u64,
    },
}

/// A file listed by a record, to publish.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingFile {
    /// Its key.
    pub key: String,
    /// Where its bytes are.
    pub staged: Staged,
    /// Its size.
    pub size: u64,
    /// Rows in it.
    pub rows: u64,
    /// The location of another store the file goes to (a dead-letter path, `s3://bucket` or
    /// `file:///dir`); the sink's own store when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
}

/// A commit record.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Record {
    version: u32,
    /// The consumer group whose log this is (absent in records of executors before 0.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    group: Option<String>,
    topic: String,
    partition: i32,
    seq: u64,
    epoch: u64,
    owner: String,
    time: String,
    offset: Option<i64>,
    dedup: BTreeMap<String, i64>,
    publish: Vec<PendingFile>,
    counters: Counters,
}

/// What the owner of a split knows about its committed state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitState {
    /// The split.
    pub split: SplitId,
    /// The last record's sequence number.
    pub seq: u64,
    /// The owner's epoch.
    pub epoch: u64,
    /// The committed position; `None` if nothing was ever committed (use the startup mode).
    pub offset: Option<i64>,
    /// Per partition path: last offset in published files.
    pub dedup: BTreeMap<String, i64>,
    /// Committed counters.
    pub counters: Counters,
}

/// A file to publish with a commit.
#[derive(Clone, Debug)]
pub struct FileToPublish {
    /// Its key.
    pub key: String,
    /// A staged upload's id and parts, or the bytes to inline.
    pub content: FileContent,
    /// Rows.
    pub rows: u64,
    /// Another store's location (see [`PendingFile::store`]).
    pub store: Option<String>,
}

/// The bytes of a file to publish.
#[derive(Clone, Debug)]
pub enum FileContent {
    /// A completed staging: upload id and parts.
    Upload(String, Vec<Part>),
    /// Small files travel inside the record.
    Inline(Bytes),
}

impl FileToPublish {
    /// The file's size.
    pub fn size(&self) -> u64 {
        match &self.content {
            FileContent::Upload(_, parts) => parts.iter().map(|p| p.size).sum(),
            FileContent::Inline(b) => b.len() as u64,
        }
    }
}

/// What a commit did.
#[derive(Debug, PartialEq, Eq)]
pub enum CommitOutcome {
    /// Committed as record `seq`.
    Committed {
        /// The record's sequence number.
        seq: u64,
    },
    /// Another executor owns the split now; nothing of this commit will be published by us.
    Fenced,
}

/// A commit whose record is built: its bytes never change, so trying it again after a failure
/// publishes exactly the files of the first attempt, at the same sequence number.
#[derive(Debug)]
pub struct PreparedCommit {
    key: String,
    next: SplitState,
    publish: Vec<PendingFile>,
    encoded: Bytes,
    payload: Bytes,
}

impl PreparedCommit {
    /// The state the split is in once this commit is made.
    pub fn next(&self) -> &SplitState {
        &self.next
    }

    /// Files it publishes.
    pub fn files(&self) -> usize {
        self.publish.len()
    }
}

/// Why the protocol failed.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// The store failed permanently.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A record could not be read.
    #[error("commit record {key} is corrupt: {message}")]
    Corrupt {
        /// The record's key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// A file's key holds a different object than the one to publish.
    #[error(
        "refusing to publish {uri}: an object of {existing} bytes is already there, not the expected {expected}; the sink path is shared with another writer?"
    )]
    Conflict {
        /// The object.
        uri: String,
        /// Its size.
        existing: u64,
        /// The size it should have.
        expected: u64,
    },
    /// A log an older executor kept for this group is in a folder another group's name maps
    /// to as well: whose it is cannot be told.
    #[error(
        "the commit log of {split} may be in {legacy}: executors before 0.2 kept the log of group {group:?} there, under a name other groups map to as well (every character other than letters, digits, -, _ and . became _), and it holds no group id. If it is this job's, move it to {current} and start the job again; if it is another job's, start this one once that job runs on this version (its commits then carry their group id)"
    )]
    AmbiguousLegacyLog {
        /// The split.
        split: SplitId,
        /// The group.
        group: String,
        /// The old folder.
        legacy: String,
        /// The folder this executor keeps the group's log in.
        current: String,
    },
    /// Claiming kept racing with other executors.
    #[error(
        "could not claim {split}: other executors kept committing; is the consumer group shared by two jobs?"
    )]
    Contended {
        /// The split.
        split: SplitId,
    },
}

/// The commit logs of one sink table and consumer group.
#[derive(Clone, Debug)]
pub struct CommitLog {
    store: Store,
    root: String,
    group: String,
    /// Where executors before 0.2 kept the logs of a group whose name needs encoding (every
    /// other character replaced by `_`, a name other groups may map to as well): a first
    /// claim that finds such a log there, with no group id in it, stops and says so.
    legacy_root: Option<String>,
    owner: String,
}

/// The folder of a consumer group's logs, one-to-one with the group id: the id itself when it
/// is made of letters, digits, `-`, `_` and `.` (every default group name), else `~` and the
/// id with every other byte percent-encoded. `~` is in no name of the first kind, so two
/// groups never share a folder (`a/b` and `a_b` did when both became `a_b`).
pub fn group_folder(group: &str) -> String {
    let plain = |b: u8| b.is_ascii_alphanumeric() || b"-_.".contains(&b);
    if !group.is_empty() && group != "." && group != ".." && group.bytes().all(plain) {
        return group.to_owned();
    }
    let mut out = String::from("~");
    for b in group.bytes() {
        if plain(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl CommitLog {
    /// The logs under `<table prefix>_sluice/<group folder>/` ([`group_folder`]); `owner`
    /// names this executor in records.
    pub fn new(store: Store, table_prefix: &str, group: &str, owner: &str) -> CommitLog {
        let folder = group_folder(group);
        let legacy: String = group
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        CommitLog {
            store,
            group: group.to_owned(),
            root: format!("{table_prefix}_sluice/{folder}/"),
            legacy_root: (legacy != folder
                && !legacy.is_empty()
                && legacy != "."
                && legacy != "..")
                .then(|| format!("{table_prefix}_sluice/{legacy}/")),
            owner: owner.to_owned(),
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    fn prefix(&self, split: &SplitId) -> String {
        Self::prefix_in(&self.root, split)
    }

    fn prefix_in(root: &str, split: &SplitId) -> String {
        format!("{root}{}/{:05}/", split.topic, split.partition)
    }

    fn key(&self, split: &SplitId, seq: u64) -> String {
        format!("{}{seq:020}.commit", self.prefix(split))
    }

    fn seq_of(key: &str) -> Option<u64> {
        key.rsplit('/')
            .next()?
            .strip_suffix(".commit")?
            .parse()
            .ok()
    }

    /// The latest record of a split. With no log yet, a log in the folder an older executor
    /// used for this group ([`CommitLog::legacy_root`]) that holds no group id is an error:
    /// it may be this group's or another's whose name maps to the same folder.
    async fn latest(
        &self,
        split: &SplitId,
    ) -> Result<Option<(String, Record, Bytes)>, CommitError> {
        let found = self.latest_in(&self.prefix(split)).await?;
        if found.is_none()
            && let Some(legacy) = &self.legacy_root
            && let Some((_, old, _)) = self.latest_in(&Self::prefix_in(legacy, split)).await?
            && old.group.is_none()
        {
            return Err(CommitError::AmbiguousLegacyLog {
                split: split.clone(),
                group: self.group.clone(),
                legacy: self.store.uri(&Self::prefix_in(legacy, split)),
                current: self.store.uri(&self.prefix(split)),
            });
        }
        Ok(found)
    }

    async fn latest_in(
        &self,
        prefix: &str,
    ) -> Result<Option<(String, Record, Bytes)>, CommitError> {
        let keys = self.store.list(prefix, None, usize::MAX).await?;
        let Some(key) = keys
            .into_iter()
            .filter(|k| Self::seq_of(k).is_some())
            .max_by_key(|k| Self::seq_of(k))
        else {
            return Ok(None);
        };
        let Some(bytes) = self.store.get(&key).await? else {
            // Pruned between LIST and GET: the caller retries.
            return Err(CommitError::Corrupt {
                key,
                message: "vanished while being read".into(),
            });
        };
        let (record, payload) = decode(&key, &bytes)?;
        Ok(Some((key, record, payload)))
    }

    /// Takes ownership of a split: publishes what its latest record lists, then creates the
    /// next record with a new epoch, fencing off any previous owner. Returns the committed state.
    pub async fn claim(&self, split: &SplitId) -> Result<SplitState, CommitError> {
        self.claim_starting(split, None).await
    }

    /// [`CommitLog::claim`]; a split with no committed position gets `start_if_none` recorded
    /// by the claim (a start the source resolved from its startup mode).
    pub async fn claim_starting(
        &self,
        split: &SplitId,
        start_if_none: Option<i64>,
    ) -> Result<SplitState, CommitError> {
        for _ in 0..20 {
            let latest = match self.latest(split).await {
                Ok(l) => l,
                Err(CommitError::Corrupt { message, .. })
                    if message == "vanished while being read" =>
                {
                    continue;
                }
                Err(e) => return Err(e),
            };
            let (seq, epoch, offset, dedup, counters) = match &latest {
                None => (0, 0, None, BTreeMap::new(), Counters::default()),
                Some((_, r, payload)) => {
                    self.publish(&r.publish, payload, Publish::Repair).await?;
                    (r.seq, r.epoch, r.offset, r.dedup.clone(), r.counters)
                }
            };
            let next = SplitState {
                split: split.clone(),
                seq: seq + 1,
                epoch: epoch + 1,
                offset: offset.or(start_if_none),
                dedup,
                counters,
            };
            let record = self.record(&next, Vec::new());
            let bytes = encode(&record, Vec::new());
            match self.create(&self.key(split, next.seq), bytes).await? {
                Created::Exists => continue,
                Created::Created => {
                    if self.newer_exists(split, next.seq).await? {
                        continue;
                    }
                    tracing::info!(split = %split, epoch = next.epoch, offset = ?next.offset, "claimed split");
                    return Ok(next);
                }
            }
        }
        Err(CommitError::Contended {
            split: split.clone(),
        })
    }

    /// Creates a record unless its number is taken. A create that reached the store but whose
    /// answer was lost is retried by the store and then finds the key taken: the record there
    /// is ours if it holds exactly our bytes (they include the owner, epoch and a timestamp).
    async fn create(&self, key: &str, bytes: Bytes) -> Result<Created, CommitError> {
        match self.store.put_if_absent(key, bytes.clone()).await? {
            Created::Created => Ok(Created::Created),
            Created::Exists => match self.store.get(key).await? {
                Some(there) if there == bytes => {
                    tracing::info!(
                        key,
                        "our commit record was created by an attempt whose answer was lost"
                    );
                    Ok(Created::Created)
                }
                _ => Ok(Created::Exists),
            },
        }
    }

    async fn newer_exists(&self, split: &SplitId, seq: u64) -> Result<bool, CommitError> {
        let after = self.key(split, seq);
        Ok(!self
            .store
            .list(&self.prefix(split), Some(&after), 1)
            .await?
            .is_empty())
    }

    fn record(&self, state: &SplitState, publish: Vec<PendingFile>) -> Record {
        Record {
            version: 1,
            group: Some(self.group.clone()),
            topic: state.split.topic.clone(),
            partition: state.split.partition,
            seq: state.seq,
            epoch: state.epoch,
            owner: self.owner.clone(),
            time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            offset: state.offset,
            dedup: state.dedup.clone(),
            publish,
            counters: state.counters,
        }
    }

    /// Commits `next` (whose `seq` is the previous record's + 1, same epoch) with `files`. The
    /// files' bytes must already be durable (staged) or small enough to travel inline.
    pub async fn commit(
        &self,
        next: &SplitState,
        files: Vec<FileToPublish>,
    ) -> Result<CommitOutcome, CommitError> {
        self.commit_prepared(&self.prepare(next, files)).await
    }

    /// Builds the record of a commit once, so that a commit that failed can be tried again
    /// with exactly the same files and bytes ([`CommitLog::commit_prepared`]).
    pub fn prepare(&self, next: &SplitState, files: Vec<FileToPublish>) -> PreparedCommit {
        let mut publish = Vec::with_capacity(files.len());
        let mut inline = Vec::new();
        let mut start = 0u64;
        for f in files {
            let size = f.size();
            let staged = match f.content {
                FileContent::Upload(upload, parts) => Staged::Upload { upload, parts },
                FileContent::Inline(bytes) => {
                    let len = bytes.len() as u64;
                    inline.push(bytes);
                    start += len;
                    Staged::Inline {
                        start: start - len,
                        len,
                    }
                }
            };
            publish.push(PendingFile {
                key: f.key,
                staged,
                size,
                rows: f.rows,
                store: f.store,
            });
        }
        let record = self.record(next, publish);
        // The record and the files' bytes in one buffer, which the files are published from.
        let encoded = encode(&record, inline);
        let payload = encoded.slice(encoded.len() - start as usize..);
        PreparedCommit {
            key: self.key(&next.split, next.seq),
            next: next.clone(),
            publish: record.publish,
            encoded,
            payload,
        }
    }

    /// Creates a prepared commit's record and publishes its files. Idempotent: after any
    /// error the same prepared commit can be tried again (a record created by an earlier
    /// attempt holds the same bytes and counts as ours).
    pub async fn commit_prepared(
        &self,
        prepared: &PreparedCommit,
    ) -> Result<CommitOutcome, CommitError> {
        let next = &prepared.next;
        super::fault::reached("before-record");
        if self.create(&prepared.key, prepared.encoded.clone()).await? == Created::Exists {
            tracing::warn!(split = %next.split, seq = next.seq, "commit fenced: another executor owns the split");
            return Ok(CommitOutcome::Fenced);
        }
        if self.newer_exists(&next.split, next.seq).await? {
            tracing::warn!(split = %next.split, seq = next.seq, "commit fenced: a newer record exists");
            return Ok(CommitOutcome::Fenced);
        }
        super::fault::reached("after-record");
        self.publish(&prepared.publish, &prepared.payload, Publish::Commit)
            .await?;
        super::fault::reached("after-publish");
        if next.seq.is_multiple_of(KEEP) {
            self.prune(&next.split, next.seq).await;
        }
        Ok(CommitOutcome::Committed { seq: next.seq })
    }

    /// Publishes the files a record lists (idempotent).
    async fn publish(
        &self,
        files: &[PendingFile],
        payload: &Bytes,
        mode: Publish,
    ) -> Result<(), CommitError> {
        let all = files;
        let mut files = files;
        if let [first, _, ..] = files {
            // The first alone, so that a crash can land between two publications.
            publish_one(self.store.clone(), first.clone(), payload.clone(), mode).await?;
            super::fault::reached("mid-publish");
            files = &files[1..];
        }
        // Futures made as they start (each is ~11 KB: with 10,000 files a commit made them all
        // first and held 110 MB).
        let results: Vec<Result<(), CommitError>> = futures::stream::iter(files.iter().cloned())
            .map(|f| publish_one(self.store.clone(), f, payload.clone(), mode))
            .buffer_unordered(PUBLISH_CONCURRENCY)
            .collect()
            .await;
        results.into_iter().collect::<Result<(), CommitError>>()?;
        // Inline files were created without a sync each (a local directory): make them durable
        // before this split's next record can exist, since recovery republishes only the
        // latest record's files.
        self.store.sync().await?;
        // Every other store a file of the record went to, the first file's included.
        let mut others: Vec<&PendingFile> = all.iter().filter(|f| f.store.is_some()).collect();
        others.sort_unstable_by(|a, b| a.store.cmp(&b.store));
        others.dedup_by(|a, b| a.store == b.store);
        for f in others {
            target_store(&self.store, f)?.sync().await?;
        }
        Ok(())
    }

    /// Deletes records more than [`KEEP`] behind `seq` (best effort).
    async fn prune(&self, split: &SplitId, seq: u64) {
        let Ok(keys) = self.store.list(&self.prefix(split), None, usize::MAX).await else {
            return;
        };
        for k in keys {
            if Self::seq_of(&k).is_some_and(|s| s + KEEP < seq) {
                let _ = self.store.delete(&k).await;
            }
        }
    }

    /// Staged uploads under `data_prefix` of files of these splits (named by
    /// [`super::writer::file_name`] with `file_tag`) that no record lists: left by a crashed
    /// or fenced owner. Call between claiming and writing.
    pub async fn orphan_uploads(
        &self,
        data_prefix: &str,
        file_tag: &str,
        splits: &[SplitId],
    ) -> Result<Vec<(String, String)>, CommitError> {
        let uploads = self.store.list_uploads(data_prefix).await?;
        Ok(uploads
            .into_iter()
            .filter(|(key, _)| {
                let name = key.rsplit('/').next().unwrap_or("");
                super::file_names::file_split(file_tag, name).is_some_and(|s| splits.contains(&s))
            })
            .collect())
    }
}

/// The store a file is published to: the sink's, or the one its record names (dead letters).
fn target_store(store: &Store, f: &PendingFile) -> Result<Store, CommitError> {
    match &f.store {
        None => Ok(store.clone()),
        Some(uri) => super::options::Location::parse(uri)
            .and_then(|l| store.sibling(&l))
            .map_err(|message| CommitError::Corrupt {
                key: f.key.clone(),
                message: format!("cannot publish to {uri}: {message}"),
            }),
    }
}

/// Why files are published.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Publish {
    /// By the commit that created the record: an object of other bytes at a key is a conflict.
    Commit,
    /// By a claim, rolling the latest record forward after a crash: a local file whose bytes
    /// differ from the record's is what a power loss left of it, and is written again.
    Repair,
}

/// Publishes one file; an object already at its key must be this file (the same bytes for an
/// inline file on a local directory, else the same size).
async fn publish_one(
    store: Store,
    f: PendingFile,
    payload: Bytes,
    mode: Publish,
) -> Result<(), CommitError> {
    let store = target_store(&store, &f)?;
    let inline = match &f.staged {
        Staged::Upload { .. } => None,
        Staged::Inline { start, len } => {
            Some(payload.slice(*start as usize..(*start + *len) as usize))
        }
    };
    let created = match (&f.staged, &inline) {
        (Staged::Upload { upload, parts }, _) => {
            store.complete_upload(&f.key, upload, parts).await?
        }
        (Staged::Inline { .. }, Some(bytes)) => {
            store.put_if_absent_deferred(&f.key, bytes.clone()).await?
        }
        (Staged::Inline { .. }, None) => Created::Created,
    };
    if created == Created::Created {
        return Ok(());
    }
    // On a local directory a published file can be short or hold wrong bytes after a power
    // loss (files are synced once per commit): an inline file is compared with its bytes.
    // S3 writes an object whole or not at all: its size tells it apart from another object.
    let local = store.is_local();
    let (existing, intact) = match &inline {
        Some(bytes) if local => match store.get(&f.key).await? {
            Some(there) => (Some(there.len() as u64), there == *bytes),
            None => (None, false),
        },
        _ => {
            let size = store.size(&f.key).await?;
            (size, size == Some(f.size))
        }
    };
    if intact {
        return Ok(());
    }
    if let (Publish::Repair, true, Some(bytes)) = (mode, local, inline) {
        tracing::warn!(
            uri = %store.uri(&f.key),
            size = existing.unwrap_or(0),
            expected = f.size,
            "a committed file is short or has wrong bytes (the machine stopped before it was synced): writing it again"
        );
        store.rewrite(&f.key, bytes).await?;
        return Ok(());
    }
    Err(CommitError::Conflict {
        uri: store.uri(&f.key),
        existing: existing.unwrap_or(0),
        expected: f.size,
    })
}

/// A record: magic, header length, JSON header, then the payload `chunks` back to back (each
/// dropped once copied, so that a commit holds its files' bytes once).
fn encode(record: &Record, chunks: Vec<Bytes>) -> Bytes {
    let header = serde_json::to_vec(record).unwrap_or_default();
    let payload: usize = chunks.iter().map(Bytes::len).sum();
    let mut out = BytesMut::with_capacity(MAGIC.len() + 4 + header.len() + payload);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(&header);
    drop(header);
    for chunk in chunks {
        out.extend_from_slice(&chunk);
    }
    out.freeze()
}

fn decode(key: &str, bytes: &Bytes) -> Result<(Record, Bytes), CommitError> {
    let corrupt = |message: &str| CommitError::Corrupt {
        key: key.to_owned(),
        message: message.to_owned(),
    };
    if bytes.len() < MAGIC.len() + 4 || &bytes[..MAGIC.len()] != MAGIC {
        return Err(corrupt("not a Sluice commit record"));
    }
    let len =
        u32::from_le_bytes(bytes[8..12].try_into().map_err(|_| corrupt("truncated"))?) as usize;
    let header = bytes
        .get(12..12 + len)
        .ok_or_else(|| corrupt("truncated header"))?;
    let record: Record = serde_json::from_slice(header).map_err(|e| corrupt(&e.to_string()))?;
    if record.version != 1 {
        return Err(corrupt(&format!(
            "version {} is newer than this executor understands",
            record.version
        )));
    }
    Ok((record, bytes.slice(12 + len..)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector::filesystem::store::local::LocalStore;

    fn log(dir: &std::path::Path, owner: &str) -> CommitLog {
        CommitLog::new(
            Store::Local(LocalStore::new(dir.to_owned()).unwrap()),
            "",
            "group-1",
            owner,
        )
    }

    fn split() -> SplitId {
        SplitId {
            topic: "ticks".into(),
            partition: 3,
        }
    }

    fn inline(key: &str, text: &str) -> FileToPublish {
        FileToPublish {
            key: key.into(),
            content: FileContent::Inline(Bytes::from(text.to_owned())),
            rows: 1,
            store: None,
        }
    }

    #[tokio::test]
    async fn a_first_claim_starts_from_nothing_and_commits_publish_files() {
        let dir = tempfile::tempdir().unwrap();
        let a = log(dir.path(), "a");
        let s = a.claim(&split()).await.unwrap();
        assert_eq!((s.seq, s.epoch, s.offset), (1, 1, None));
        let next = SplitState {
            seq: 2,
            offset: Some(10),
            ..s.clone()
        };
        assert_eq!(
            a.commit(&next, vec![inline("p=x/f1.json", "{}\n")])
                .await
                .unwrap(),
            CommitOutcome::Committed { seq: 2 }
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("p=x/f1.json")).unwrap(),
            "{}\n"
        );
    }

    #[tokio::test]
    async fn a_record_created_by_an_attempt_whose_answer_was_lost_is_ours_not_a_fence() {
        let dir = tempfile::tempdir().unwrap();
        let a = log(dir.path(), "a");
        let key = a.key(&split(), 5);
        let mine = Bytes::from_static(b"SLUICE1\nmine");
        assert_eq!(
            a.create(&key, mine.clone()).await.unwrap(),
            Created::Created
        );
        // The retry of the same create finds our own bytes: created.
        assert_eq!(a.create(&key, mine).await.unwrap(), Created::Created);
        // Someone else's record at the number: taken.
        let theirs = Bytes::from_static(b"SLUICE1\ntheirs");
        assert_eq!(a.create(&key, theirs).await.unwrap(), Created::Exists);
    }

    #[tokio::test]
    async fn a_new_owner_fences_the_old_one_and_resumes_from_its_commit() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (log(dir.path(), "a"), log(dir.path(), "b"));
        let sa = a.claim(&split()).await.unwrap();
        let committed = SplitState {
            seq: 2,
            offset: Some(100),
            ..sa.clone()
        };
        a.commit(&committed, vec![]).await.unwrap();
        let sb = b.claim(&split()).await.unwrap();
        assert_eq!((sb.seq, sb.epoch, sb.offset), (3, 2, Some(100)));
        // The zombie's next commit is refused and its file never appears.
        let zombie = SplitState {
            seq: 3,
            offset: Some(150),
            ..committed
        };
        assert_eq!(
            a.commit(&zombie, vec![inline("p=x/zombie.json", "late\n")])
                .await
                .unwrap(),
            CommitOutcome::Fenced
        );
        assert!(!dir.path().join("p=x/zombie.json").exists());
    }

    #[tokio::test]
    async fn a_claim_rolls_forward_files_of_a_record_whose_owner_crashed_before_publishing() {
        let dir = tempfile::tempdir().unwrap();
        let a = log(dir.path(), "a");
        let s = a.claim(&split()).await.unwrap();
        // Write a record but "crash" before publishing: create it by hand.
        let next = SplitState {
            seq: 2,
            offset: Some(7),
            ..s
        };
        let files = [inline("p=y/f.json", "row\n")];
        let mut payload = BytesMut::new();
        payload.extend_from_slice(b"row\n");
        let record = a.record(
            &next,
            vec![PendingFile {
                key: "p=y/f.json".into(),
                staged: Staged::Inline { start: 0, len: 4 },
                size: 4,
                rows: 1,
                store: None,
            }],
        );
        a.store
            .put_if_absent(
                &a.key(&next.split, 2),
                encode(&record, vec![Bytes::copy_from_slice(&payload)]),
            )
            .await
            .unwrap();
        assert!(!dir.path().join("p=y/f.json").exists());
        let b = log(dir.path(), "b").claim(&split()).await.unwrap();
        assert_eq!(b.offset, Some(7));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("p=y/f.json")).unwrap(),
            "row\n"
        );
        let _ = files;
    }

    #[tokio::test]
    async fn a_file_left_empty_by_a_power_loss_before_the_sync_is_written_again_on_claim() {
        let dir = tempfile::tempdir().unwrap();
        let a = log(dir.path(), "a");
        let s = a.claim(&split()).await.unwrap();
        let next = SplitState {
            seq: 2,
            offset: Some(9),
            ..s
        };
        a.commit(&next, vec![inline("p=w/f.json", "row\n")])
            .await
            .unwrap();
        // The record is durable (synced) but the file's data never reached the disk: the
        // name exists with no bytes.
        std::fs::write(dir.path().join("p=w/f.json"), "").unwrap();
        let b = log(dir.path(), "b").claim(&split()).await.unwrap();
        assert_eq!(b.offset, Some(9));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("p=w/f.json")).unwrap(),
            "row\n"
        );
    }

    #[tokio::test]
    async fn a_file_left_short_or_with_wrong_bytes_by_a_power_loss_is_written_again_on_claim() {
        let dir = tempfile::tempdir().unwrap();
        let a = log(dir.path(), "a");
        let mut s = a.claim(&split()).await.unwrap();
        let file = dir.path().join("p=v/f.json");
        // Delayed allocation kept only the first line; then the same size with other bytes.
        for (seq, damaged) in [(2, "row 1\n"), (4, "XXXXXXXXXXXX")] {
            s.seq = seq;
            s.offset = Some(seq as i64);
            a.commit(&s, vec![inline("p=v/f.json", "row 1\nrow 2\n")])
                .await
                .unwrap();
            std::fs::write(&file, damaged).unwrap();
            let b = log(dir.path(), "b").claim(&split()).await.unwrap();
            assert_eq!(b.offset, Some(seq as i64));
            assert_eq!(
                std::fs::read_to_string(&file).unwrap(),
                "row 1\nrow 2\n",
                "the claim left the damaged file {damaged:?} visible"
            );
            std::fs::remove_file(&file).unwrap();
            s.epoch = b.epoch;
            s.seq = b.seq;
        }
    }

    #[tokio::test]
    async fn two_groups_never_share_a_log_and_an_older_executors_ambiguous_log_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = || Store::Local(LocalStore::new(dir.path().to_owned()).unwrap());
        let (slash, underscore) = (
            CommitLog::new(store(), "", "a/b", "x"),
            CommitLog::new(store(), "", "a_b", "y"),
        );
        let mut s = slash.claim(&split()).await.unwrap();
        s.seq += 1;
        s.offset = Some(42);
        slash.commit(&s, vec![]).await.unwrap();
        let other = underscore.claim(&split()).await.unwrap();
        assert_eq!(
            (other.seq, other.offset),
            (1, None),
            "group a_b resumed from group a/b's log"
        );
        // And the other way round: a/b's first claim is not taken by a_b's log.
        let other_split = SplitId {
            topic: "ticks".into(),
            partition: 4,
        };
        let mut s = underscore.claim(&other_split).await.unwrap();
        s.seq += 1;
        s.offset = Some(9);
        underscore.commit(&s, vec![]).await.unwrap();
        assert_eq!(slash.claim(&other_split).await.unwrap().offset, None);
        for (group, folder) in [
            ("a/b", "~a%2Fb"),
            ("a_b", "a_b"),
            ("..", "~.."),
            ("", "~"),
            ("sluice-ns-job", "sluice-ns-job"),
        ] {
            assert_eq!(group_folder(group), folder);
        }
        // A log an older executor kept in `a_b` (no group id in it) for group `a/b` or `a_b`:
        // `a/b` cannot tell whose it is and says what to do; `a_b` resumes it, its own.
        let old = tempfile::tempdir().unwrap();
        let old_store = Store::Local(LocalStore::new(old.path().to_owned()).unwrap());
        let legacy = CommitLog::new(old_store.clone(), "", "a_b", "old");
        let mut s = legacy.claim(&split()).await.unwrap();
        s.seq += 1;
        s.offset = Some(7);
        let mut record = legacy.record(&s, vec![]);
        record.group = None;
        legacy
            .store
            .put_if_absent(&legacy.key(&split(), s.seq), encode(&record, vec![]))
            .await
            .unwrap();
        let e = CommitLog::new(old_store.clone(), "", "a/b", "new")
            .claim(&split())
            .await
            .unwrap_err();
        assert!(
            matches!(&e, CommitError::AmbiguousLegacyLog { legacy, current, .. }
                if legacy.ends_with("_sluice/a_b/ticks/00003/") && current.ends_with("_sluice/~a%2Fb/ticks/00003/")),
            "{e}"
        );
        let mine = CommitLog::new(old_store, "", "a_b", "new")
            .claim(&split())
            .await;
        assert_eq!(mine.unwrap().offset, Some(7));
    }

    #[tokio::test]
    async fn publishing_twice_is_harmless_but_a_different_object_is_a_conflict() {
        let dir = tempfile::tempdir().unwrap();
        let a = log(dir.path(), "a");
        let s = a.claim(&split()).await.unwrap();
        std::fs::create_dir_all(dir.path().join("p=z")).unwrap();
        std::fs::write(dir.path().join("p=z/f.json"), "something else entirely\n").unwrap();
        let next = SplitState { seq: 2, ..s };
        let err = a
            .commit(&next, vec![inline("p=z/f.json", "row\n")])
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                CommitError::Conflict {
                    existing: 24,
                    expected: 4,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[tokio::test]
    async fn old_records_are_pruned_and_a_resurrected_old_number_is_fenced() {
        let dir = tempfile::tempdir().unwrap();
        let a = log(dir.path(), "a");
        let mut s = a.claim(&split()).await.unwrap();
        for _ in 0..20 {
            s.seq += 1;
            a.commit(&s, vec![]).await.unwrap();
        }
        let left = a
            .store
            .list(&a.prefix(&split()), None, usize::MAX)
            .await
            .unwrap();
        assert!(left.len() <= 2 * KEEP as usize, "{left:?}");
        // A zombie with a stale sequence number that was pruned can create it again, but the
        // newer records are seen and its commit does not count.
        let zombie = SplitState {
            seq: 3,
            ..s.clone()
        };
        assert_eq!(
            a.commit(&zombie, vec![inline("p=q/z.json", "x\n")])
                .await
                .unwrap(),
            CommitOutcome::Fenced
        );
        assert!(!dir.path().join("p=q/z.json").exists());
    }
}
