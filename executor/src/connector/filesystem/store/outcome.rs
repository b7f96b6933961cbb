//! What store operations answer: a conditional create's outcome, a staged upload's part, and
//! the failures that retrying cannot fix.

/// A failure that retrying cannot fix (access denied, no such bucket, a conflicting object).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store refused the request for good.
    #[error("{operation} {location}: {message}")]
    Permanent {
        /// What was attempted (`PUT`, `LIST`, ...).
        operation: &'static str,
        /// The object or prefix.
        location: String,
        /// The store's answer and how to fix it.
        message: String,
    },
    /// The sink is shutting down; the operation was abandoned.
    #[error("shutting down")]
    Cancelled,
    /// A staged upload is gone: the claim of an executor that took its split over aborted it
    /// as an orphan. The split is not this executor's any more.
    #[error(
        "{operation} {location}: the staged upload is gone (aborted by another executor's claim of its partition)"
    )]
    UploadGone {
        /// What was attempted.
        operation: &'static str,
        /// The object.
        location: String,
    },
}

/// The outcome of a conditional create.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Created {
    /// The object was created.
    Created,
    /// An object already existed at the key; nothing was written.
    Exists,
}

/// A part of a staged upload.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Part {
    /// 1-based part number.
    pub number: i32,
    /// The store's tag for it.
    pub etag: String,
    /// Its size.
    pub size: u64,
}
