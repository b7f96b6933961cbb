//! A hook for the fault suite: `SLUICE_FAULT_ABORT=<point>:<n>` ends the process at once (no
//! destructors, no flushing — like `kill -9`) the `n`-th time the sink reaches `<point>`, so a
//! test can crash the executor exactly between two steps of the commit protocol. Points:
//!
//! - `part-uploaded`: a part of a multipart upload is durable, the upload is not complete;
//! - `before-record`: files are staged, the commit record is not created;
//! - `after-record`: the record is created, its files are not published;
//! - `mid-publish`: one file of a record is published, the others are not;
//! - `after-publish`: the files are published, the consumer group's offset is not committed.
//!
//! Unset (always, outside tests) a point costs one atomic load.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

static TARGET: OnceLock<Option<(String, u64)>> = OnceLock::new();
static COUNT: AtomicU64 = AtomicU64::new(0);

/// Marks that the sink reached `point`.
pub fn reached(point: &str) {
    let target = TARGET.get_or_init(|| {
        let v = std::env::var("SLUICE_FAULT_ABORT").ok()?;
        let (p, n) = v.split_once(':').unwrap_or((&v, "1"));
        Some((p.to_owned(), n.parse().unwrap_or(1)))
    });
    if let Some((p, n)) = target
        && p == point
        && COUNT.fetch_add(1, Ordering::SeqCst) + 1 == *n
    {
        eprintln!("SLUICE_FAULT_ABORT: aborting at {point} #{n}");
        std::process::abort();
    }
}
