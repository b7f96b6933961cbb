//! [`Context`]: everything a reconcile needs — the client, settings, metrics, the Event
//! recorder, the caches, the table index, the backoff counters and the validation cache.

use std::collections::BTreeSet;
use std::sync::Arc;

use kube::Client;
use kube::runtime::events::Recorder;
use kube::runtime::reflector::ObjectRef;
use sluice_crds::{StreamingJob, StreamingTable};

use super::backoff::Backoff;
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
    pub(super) fn validate(
        &self,
        job: &StreamingJob,
        tables: &[StreamingTable],
        accounts: &BTreeSet<String>,
    ) -> ValidationOutcome {
        let inputs = InputsKey::of(job, tables, accounts);
        let job_ref = ObjectRef::from_obj(job);
        if let Some(outcome) = self.validations.get(&job_ref, inputs) {
            return outcome;
        }
        let outcome = Arc::new(validate::validate_job(job, tables, &self.policy, accounts));
        // Forget deleted jobs now and then.
        if self
            .validations
            .insert(job_ref, inputs, outcome.clone(), &self.stores.jobs)
        {
            self.backoff.forget_all();
        }
        outcome
    }
}
