//! Where the filesystem sink keeps bytes: S3 or a local directory, behind the few primitives
//! the commit protocol needs — conditional create, read, list, delete, and staged (multipart)
//! uploads that become visible only when completed.
//!
//! Every operation retries transient failures with exponential backoff, forever, logging what
//! is unreachable; callers see only final answers or permanent errors.

pub mod local;
mod outcome;
mod retry;
pub mod s3;

pub use outcome::{Created, Part, StoreError};

use bytes::Bytes;

/// A store: S3 or local.
#[derive(Clone, Debug)]
pub enum Store {
    /// Amazon S3 or an S3-compatible server.
    S3(s3::S3Store),
    /// A local directory.
    Local(local::LocalStore),
}

/// Store requests in flight in this process, at most. Every split commits on its own, and each
/// commit publishes up to 32 files at once: without a common limit 24 splits committing
/// together made 768 requests at once (as many connections to S3), and the executor's peak
/// memory was reached there (README, Performance). Not lower: against a store that answers
/// each request 1.5 s late (fault test 10), 64 made commits fall behind (47 s instead of 38 s;
/// 41 s with 256).
pub const MAX_IN_FLIGHT: usize = 256;

/// Threads serving a local directory's file operations (tokio's blocking pool), at most.
/// Tokio starts a new thread whenever none is idle at that instant, and its default pool of
/// 512 grew to 519 threads at the end of the benchmark; 72 with this limit.
pub const MAX_BLOCKING_THREADS: usize = 64;

static IN_FLIGHT: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(MAX_IN_FLIGHT);

/// Waits until fewer than [`MAX_IN_FLIGHT`] requests are running; the request holds the permit
/// until it has its answer (retries included). The semaphore is never closed, so `None` does
/// not happen (and would only let the request run unlimited).
async fn in_flight() -> Option<tokio::sync::SemaphorePermit<'static>> {
    IN_FLIGHT.acquire().await.ok()
}

/// Runs a request on either store under the [`in_flight`] limit.
macro_rules! dispatch {
    ($self:ident, $s:ident => $e:expr) => {{
        let _permit = in_flight().await;
        match $self {
            Store::S3($s) => $e,
            Store::Local($s) => $e,
        }
    }};
}

impl Store {
    /// The store of another location of the same kind (another bucket with the same client
    /// and credentials, another directory), e.g. for a dead-letter path.
    pub fn sibling(&self, location: &super::options::Location) -> Result<Store, String> {
        use super::options::Location;
        match (self, location) {
            (Store::S3(s), Location::S3 { bucket, .. }) => Ok(Store::S3(s.with_bucket(bucket))),
            (_, Location::Local(dir)) => Ok(Store::Local(local::LocalStore::new(dir.clone())?)),
            (Store::Local(_), Location::S3 { .. }) => Err(format!(
                "{} is on S3 but the sink writes to a local directory; use a file:// path",
                location.uri()
            )),
        }
    }

    /// A URI for messages (`s3://bucket/prefix`).
    pub fn uri(&self, key: &str) -> String {
        match self {
            Store::S3(s) => s.uri(key),
            Store::Local(s) => s.uri(key),
        }
    }

    /// Creates `key` unless it exists.
    pub async fn put_if_absent(&self, key: &str, data: Bytes) -> Result<Created, StoreError> {
        dispatch!(self, s => s.put_if_absent(key, data).await)
    }

    /// Creates `key` unless it exists, for a file whose bytes are already durable elsewhere (in
    /// a commit record): S3 makes it durable before answering; a local directory only once
    /// [`Store::sync`] returns.
    pub async fn put_if_absent_deferred(
        &self,
        key: &str,
        data: Bytes,
    ) -> Result<Created, StoreError> {
        let _permit = in_flight().await;
        match self {
            Store::S3(s) => s.put_if_absent(key, data).await,
            Store::Local(s) => s.put_if_absent_unsynced(key, data).await,
        }
    }

    /// Makes files created by [`Store::put_if_absent_deferred`] durable.
    pub async fn sync(&self) -> Result<(), StoreError> {
        match self {
            Store::S3(_) => Ok(()),
            Store::Local(s) => {
                let _permit = in_flight().await;
                s.sync().await
            }
        }
    }

    /// Replaces a published file that a power loss left short or wrong with `data` (a local
    /// directory; an S3 object is written whole or not at all and never needs it).
    pub async fn rewrite(&self, key: &str, data: Bytes) -> Result<(), StoreError> {
        match self {
            Store::S3(s) => Err(StoreError::Permanent {
                operation: "REWRITE",
                location: s.uri(key),
                message: "an S3 object is never rewritten".to_owned(),
            }),
            Store::Local(s) => {
                let _permit = in_flight().await;
                s.rewrite(key, data).await
            }
        }
    }

    /// Whether bytes published to this store can be left short by a power loss (a local
    /// directory, where published files are synced once per commit).
    pub fn is_local(&self) -> bool {
        matches!(self, Store::Local(_))
    }

    /// Reads `key`, or `None` if it does not exist.
    pub async fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        dispatch!(self, s => s.get(key).await)
    }

    /// The size of `key`, or `None` if it does not exist.
    pub async fn size(&self, key: &str) -> Result<Option<u64>, StoreError> {
        dispatch!(self, s => s.size(key).await)
    }

    /// Keys under `prefix`, sorted, after `start_after`, at most `limit`.
    pub async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        dispatch!(self, s => s.list(prefix, start_after, limit).await)
    }

    /// Deletes `key` (no error if absent).
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        dispatch!(self, s => s.delete(key).await)
    }

    /// Starts a staged upload of `key`; returns its id.
    pub async fn begin_upload(&self, key: &str) -> Result<String, StoreError> {
        dispatch!(self, s => s.begin_upload(key).await)
    }

    /// Uploads a part of a staged upload (durable once this returns).
    pub async fn upload_part(
        &self,
        key: &str,
        upload: &str,
        number: i32,
        data: Bytes,
    ) -> Result<Part, StoreError> {
        dispatch!(self, s => s.upload_part(key, upload, number, data).await)
    }

    /// Makes a staged upload visible at `key`, unless an object already exists there. Returns
    /// `Exists` when the key holds an object (e.g. this upload was already completed).
    pub async fn complete_upload(
        &self,
        key: &str,
        upload: &str,
        parts: &[Part],
    ) -> Result<Created, StoreError> {
        dispatch!(self, s => s.complete_upload(key, upload, parts).await)
    }

    /// Abandons a staged upload.
    pub async fn abort_upload(&self, key: &str, upload: &str) -> Result<(), StoreError> {
        dispatch!(self, s => s.abort_upload(key, upload).await)
    }

    /// Staged uploads not yet completed under `prefix`: (key, upload id).
    pub async fn list_uploads(&self, prefix: &str) -> Result<Vec<(String, String)>, StoreError> {
        dispatch!(self, s => s.list_uploads(prefix).await)
    }
}
