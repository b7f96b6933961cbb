//! [`Context`]: everything a reconcile needs — the client, settings, metrics, the Event
//! recorder, the caches, the table index, the backoff counters and the validation cache.

use std::collections::BTreeSet;
use std::sync::Arc;

use kube::Client;
use kube::runtime::events::Recorder;
use kube::runtime::reflector::ObjectRef;
use sluice_crds::{StreamingJob, StreamingTable};

use super::backoff::Backoff;
use super::error::Error;
use super::stores::Stores;
use super::table_index::TableIndex;
use super::validation_cache::{InputsKey, ValidationCache, ValidationOutcome};
use crate::config::OperatorConfig;
use crate::metrics::Metrics;
use crate::policy::Policy;
use crate::validate;

/// Everything a reconcile needs.
pub struct Context {
    /// The API client.
    pub client: Client,
    /// Settings.
    pub config: Arc<OperatorConfig>,
    /// What jobs may ask of their pods (from `config`).
    pub(super) policy: Policy,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Publishes Events on the reconciled objects.
    pub(super) recorder: Recorder,
    /// The caches.
    pub(super) stores: Stores,
    /// Which tables each job uses.
    pub(super) index: Arc<TableIndex>,
    /// Consecutive failures per object.
    pub(super) backoff: Backoff,
    /// The last validation of each job.
    pub(super) validations: ValidationCache,
}

impl Context {
    /// A context for one scope's controllers.
    pub(super) fn new(
        client: Client,
        config: Arc<OperatorConfig>,
        metrics: Arc<Metrics>,
        recorder: Recorder,
        stores: Stores,
        index: Arc<TableIndex>,
    ) -> Context {
        Context {
            client,
            policy: config.policy(),
            config,
            metrics,
            recorder,
            stores,
            index,
            backoff: Backoff::default(),
            validations: ValidationCache::default(),
        }
    }

    /// Validates, or reuses the outcome for the same job generation, tables and opted-in
    /// ServiceAccounts.
    ///
    /// Validation plans the job's SQL (DataFusion), which is CPU work of milliseconds to, in a
    /// debug build under load, hundreds of milliseconds. It runs on tokio's blocking pool
    /// ([`off_the_async_workers`]): on an async worker it would hold up the other tasks of that
    /// worker — among them the Lease renewal, whose missed deadline makes the replica step down
    /// (seen as a flaky `api_server` scenario with 16 jobs validating at once on 2 cores).
    pub(super) async fn validate(
        &self,
        job: &StreamingJob,
        tables: &[StreamingTable],
        accounts: &BTreeSet<String>,
    ) -> Result<ValidationOutcome, Error> {
        let inputs = InputsKey::of(job, tables, accounts);
        let job_ref = ObjectRef::from_obj(job);
        if let Some(outcome) = self.validations.get(&job_ref, inputs) {
            return Ok(outcome);
        }
        let (owned_job, owned_tables) = (job.clone(), tables.to_vec());
        let (policy, owned_accounts) = (self.policy.clone(), accounts.clone());
        let outcome = off_the_async_workers(move || {
            validate::validate_job(&owned_job, &owned_tables, &policy, &owned_accounts)
        })
        .await
        .map_err(|source| Error::Validation {
            name: format!(
                "{}/{}",
                job_ref.namespace.as_deref().unwrap_or_default(),
                job_ref.name
            ),
            source,
        })?;
        let outcome = Arc::new(outcome);
        // Forget deleted jobs now and then.
        if self
            .validations
            .insert(job_ref, inputs, outcome.clone(), &self.stores.jobs)
        {
            self.backoff.forget_all();
        }
        Ok(outcome)
    }
}

/// Runs CPU-bound work on tokio's blocking pool and waits for it, leaving the async workers
/// free for I/O and timers meanwhile.
async fn off_the_async_workers<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, tokio::task::JoinError> {
    tokio::task::spawn_blocking(work).await
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::off_the_async_workers;

    /// On a single-threaded runtime, a task spawned beside the work can only run if the work
    /// does not occupy the runtime's one thread: the work waits for that task's signal. Run
    /// inline (as validation was before), the work would block the thread and never get it.
    #[tokio::test(flavor = "current_thread")]
    async fn work_off_the_async_workers_lets_other_tasks_run_meanwhile() {
        let (signal, signalled) = mpsc::channel();
        let other_task = tokio::spawn(async move {
            signal.send(()).ok();
        });
        let saw_other_task =
            off_the_async_workers(move || signalled.recv_timeout(Duration::from_secs(30)).is_ok())
                .await
                .expect("the work does not panic");
        assert!(
            saw_other_task,
            "another task could not run while the work ran"
        );
        other_task.await.expect("the other task does not panic");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_panic_in_the_work_is_an_error_not_a_crash() {
        let outcome = off_the_async_workers(|| -> u32 { panic!("a bug in validation") }).await;
        assert!(outcome.is_err_and(|e| e.is_panic()));
    }
}
