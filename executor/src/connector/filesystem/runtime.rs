//! The filesystem sink as the pipeline drives it: the store, the commit log, the writer, and
//! the claimer the source asks where assigned partitions start.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use sha2::Digest as _;

use super::commit_log::{CommitLog, SplitState};
use super::options::{FilesystemSinkOptions, Location};
use super::store::{Store, local::LocalStore, s3::S3Store};
use super::writer::FsSink;
use crate::connector::context::RunContext;
use crate::connector::error::ConnectorError;
use crate::connector::sink::{BatchCounts, Claimed, SinkEvent, SinkRuntime};
use crate::connector::source::{PositionOracle, SplitId};
use crate::output::Output;

/// Claims splits in the commit log and keeps their states for [`FsSinkRuntime::assign`].
struct Claims {
    log: Arc<CommitLog>,
    handle: tokio::runtime::Handle,
    states: Mutex<HashMap<SplitId, SplitState>>,
    data_prefix: String,
    file_tag: String,
}

impl PositionOracle for Claims {
    fn claim(
        &self,
        splits: &[SplitId],
        start_if_none: &[Option<i64>],
    ) -> Result<Vec<Option<i64>>, ConnectorError> {
        let started = Instant::now();
        let (states, orphans) = self.handle.block_on(async {
            // Uploads left by previous owners of these splits, listed before we write anything.
            let orphans = self
                .log
                .orphan_uploads(&self.data_prefix, &self.file_tag, splits)
                .await;
            let claims = futures::future::join_all(splits.iter().enumerate().map(|(i, s)| {
                self.log
                    .claim_starting(s, start_if_none.get(i).copied().flatten())
            }))
            .await;
            (claims, orphans)
        });
        let mut out = Vec::with_capacity(splits.len());
        let mut kept = self.states.lock().unwrap_or_else(|e| e.into_inner());
        for state in states {
            let state = state.map_err(|e| {
                ConnectorError::permanent("failed to claim partitions in the sink's commit log")
                    .caused_by(e)
            })?;
            out.push(state.offset);
            kept.insert(state.split.clone(), state);
        }
        if let Ok(orphans) = orphans
            && !orphans.is_empty()
        {
            tracing::info!(
                count = orphans.len(),
                "aborting uploads left by previous owners"
            );
            let store = self.log.store().clone();
            self.handle.spawn(async move {
                for (key, upload) in orphans {
                    let _ = store.abort_upload(&key, &upload).await;
                }
            });
        }
        tracing::debug!(
            splits = splits.len(),
            ms = started.elapsed().as_millis() as u64,
            "claimed"
        );
        Ok(out)
    }
}

/// The running filesystem sink.
pub struct FsSinkRuntime {
    sink: FsSink,
    claims: Arc<Claims>,
}

/// Opens a filesystem sink.
pub async fn open(
    options: &FilesystemSinkOptions,
    run: &RunContext,
    positions: &str,
) -> Result<Box<dyn SinkRuntime>, ConnectorError> {
    let (store, prefix) = match &options.location {
        Location::S3 { bucket, prefix } => (
            Store::S3(
                S3Store::connect(bucket, &options.s3)
                    .await
                    .map_err(ConnectorError::permanent)?,
            ),
            prefix.clone(),
        ),
        Location::Local(dir) => (
            Store::Local(LocalStore::new(dir.clone()).map_err(ConnectorError::permanent)?),
            String::new(),
        ),
    };
    let data_prefix = if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}/")
    };
    let log = Arc::new(CommitLog::new(
        store,
        &data_prefix,
        positions,
        &run.executor,
    ));
    // Files of different jobs writing the same path never share a name.
    let tag = hex::encode(&sha2::Sha256::digest(positions.as_bytes())[..4]);
    let file_tag = format!("part-{tag}");
    let rolling = run.rolling.apply(&options.rolling, |k| {
        options.explicit.iter().any(|e| e == k)
    });
    let claims = Arc::new(Claims {
        log: Arc::clone(&log),
        handle: tokio::runtime::Handle::current(),
        states: Mutex::new(HashMap::new()),
        data_prefix: data_prefix.clone(),
        file_tag: file_tag.clone(),
    });
    let mut sink = FsSink::new(
        log,
        data_prefix,
        file_tag,
        rolling,
        options.s3.part_size,
        run.memory_budget,
    );
    sink.set_extension(options.compression.extension(options.format.extension()));
    sink.set_compression(options.compression);
    Ok(Box::new(FsSinkRuntime { sink, claims }))
}

impl SinkRuntime for FsSinkRuntime {
    fn oracle(&self) -> Arc<dyn PositionOracle> {
        Arc::clone(&self.claims) as Arc<dyn PositionOracle>
    }

    fn assign(&mut self, split: &SplitId, position: Option<i64>) -> Option<Claimed> {
        let state = self
            .claims
            .states
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(split);
        match state {
            Some(state) => {
                let claimed = Claimed {
                    offset: state.offset,
                    counters: state.counters,
                };
                let position = position.or(state.offset);
                self.sink.assign(state, position);
                Some(claimed)
            }
            None => {
                tracing::error!(split = %split, "assigned without a claim; its records are ignored");
                None
            }
        }
    }

    fn revoke(&mut self, split: &SplitId) {
        self.sink.revoke(split);
    }

    fn owns(&self, split: &SplitId) -> bool {
        self.sink.owns(split)
    }

    fn position(&self, split: &SplitId) -> Option<i64> {
        self.sink.position(split)
    }

    fn write(&mut self, split: &SplitId, out: &Output, first: i64, next: i64, counts: BatchCounts) {
        self.sink.write(split, out, first, next, counts);
    }

    fn roll_due(&mut self, now: Instant) {
        self.sink.roll_due(now);
    }

    fn roll_split(&mut self, split: &SplitId) {
        self.sink.roll_split(split);
    }

    fn commit_all(&mut self) {
        self.sink.commit_all();
    }

    fn split_settled(&self, split: &SplitId) -> bool {
        self.sink.split_settled(split)
    }

    fn memory(&self) -> (u64, u64, usize) {
        (self.sink.used(), self.sink.budget(), self.sink.open_files())
    }

    fn next_event(&mut self) -> BoxFuture<'_, SinkEvent> {
        Box::pin(self.sink.next_event())
    }

    fn set_dead_letter(&mut self, path: &str) -> Result<(), ConnectorError> {
        let location = Location::parse(path).map_err(ConnectorError::permanent)?;
        self.sink
            .set_dead_letter(&location)
            .map_err(ConnectorError::permanent)
    }

    fn settle(&mut self, deadline: Duration) -> BoxFuture<'_, Result<(), ConnectorError>> {
        Box::pin(async move {
            self.sink.roll_all();
            self.sink
                .settle(deadline)
                .await
                .map_err(ConnectorError::permanent)
        })
    }
}
