//! The outcome of the last validation of each job, reused while the job's generation, the
//! tables of its namespace and the opted-in ServiceAccounts are the same (validation parses
//! and plans the SQL: too costly to repeat on every resync).

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use kube::runtime::reflector::{ObjectRef, Store};
use sluice_crds::{StreamingJob, StreamingTable};

use crate::render::ValidJob;
use crate::validate::JobProblem;

/// A validation's outcome, shared between the cache and the reconcile that uses it.
pub(super) type ValidationOutcome = Arc<Result<ValidJob, Vec<JobProblem>>>;

/// What the inputs of a validation hash to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct InputsKey(u64);

impl InputsKey {
    /// The job's uid and generation, the name and resourceVersion of each table, the accounts.
    pub(super) fn of(
        job: &StreamingJob,
        tables: &[StreamingTable],
        accounts: &BTreeSet<String>,
    ) -> InputsKey {
        let mut h = DefaultHasher::new();
        job.metadata.uid.hash(&mut h);
        job.metadata.generation.hash(&mut h);
        for t in tables {
            t.metadata.name.hash(&mut h);
            t.metadata.resource_version.hash(&mut h);
        }
        accounts.hash(&mut h);
        InputsKey(h.finish())
    }
}

/// One job's last validation.
struct Cached {
    inputs: InputsKey,
    outcome: ValidationOutcome,
}

/// The last validation of each job.
#[derive(Default)]
pub(super) struct ValidationCache {
    entries: Mutex<HashMap<ObjectRef<StreamingJob>, Cached>>,
}

impl ValidationCache {
    /// The entries. A poisoned lock is recovered: each entry is inserted whole, and an entry is
    /// used only when its inputs key matches the current inputs, so whatever a panic left
    /// behind is either right or never used.
    fn entries(&self) -> MutexGuard<'_, HashMap<ObjectRef<StreamingJob>, Cached>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The outcome of validating `job` with inputs `inputs`, if that is the last validation.
    pub(super) fn get(
        &self,
        job: &ObjectRef<StreamingJob>,
        inputs: InputsKey,
    ) -> Option<ValidationOutcome> {
        self.entries()
            .get(job)
            .filter(|cached| cached.inputs == inputs)
            .map(|cached| cached.outcome.clone())
    }

    /// Records a validation; now and then forgets the jobs no longer in `jobs`. Whether it
    /// forgot.
    pub(super) fn insert(
        &self,
        job: ObjectRef<StreamingJob>,
        inputs: InputsKey,
        outcome: ValidationOutcome,
        jobs: &Store<StreamingJob>,
    ) -> bool {
        let mut entries = self.entries();
        entries.insert(job, Cached { inputs, outcome });
        if entries.len() > 2 * jobs.len() + 16 {
            entries.retain(|job, _| jobs.get(job).is_some());
            return true;
        }
        false
    }

    /// Whether the last validation of `job` found it valid (`None`: never validated).
    pub(super) fn was_valid(&self, job: &ObjectRef<StreamingJob>) -> Option<bool> {
        self.entries().get(job).map(|cached| cached.outcome.is_ok())
    }
}
