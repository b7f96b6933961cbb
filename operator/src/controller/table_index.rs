//! Which tables each job uses, so that a table change re-reconciles exactly those jobs.

use std::collections::{HashMap, HashSet};
use std::sync::{RwLock, RwLockWriteGuard};

use kube::ResourceExt;
use kube::runtime::reflector::{ObjectRef, Store};
use sluice_crds::{StreamingJob, StreamingTable};

/// Which tables a job uses, so that a table change re-reconciles exactly those jobs.
#[derive(Default)]
pub struct TableIndex {
    uses: RwLock<HashMap<ObjectRef<StreamingJob>, Uses>>,
}

/// What one job uses.
#[derive(Clone, Debug)]
pub(super) enum Uses {
    /// Being reconciled, or invalid: any table of the namespace may matter.
    Unknown,
    /// Valid: these tables (`namespace/name`) and SQL names.
    Tables {
        resources: Vec<String>,
        sql_names: Vec<String>,
    },
}

impl TableIndex {
    /// The map, for writing. A poisoned lock (a panic while another thread held it) is
    /// recovered, not skipped: skipping would leave stale entries and miss reconciles. The
    /// recovered map is cleared, which is always safe — a job without an entry counts as
    /// [`Uses::Unknown`], affected by any table of its namespace — so a poisoning can only
    /// cause extra reconciles, never missed ones, until each job's next reconcile records its
    /// tables again.
    fn write(&self) -> RwLockWriteGuard<'_, HashMap<ObjectRef<StreamingJob>, Uses>> {
        match self.uses.write() {
            Ok(map) => map,
            Err(poisoned) => {
                tracing::warn!("the table index was poisoned by a panic; starting it afresh");
                let mut map = poisoned.into_inner();
                map.clear();
                self.uses.clear_poison();
                map
            }
        }
    }

    /// Records what `job` uses.
    pub(super) fn set(&self, job: &ObjectRef<StreamingJob>, uses: Uses) {
        self.write().insert(job.clone(), uses);
    }

    /// The jobs to reconcile when `table` changed. Forgets the jobs no longer in `jobs`.
    pub(super) fn jobs_for_table(
        &self,
        jobs: &Store<StreamingJob>,
        table: &StreamingTable,
    ) -> Vec<ObjectRef<StreamingJob>> {
        let namespace = table.namespace().unwrap_or_default();
        let resource = format!("{namespace}/{}", table.name_any());
        let sql_name = table.sql_name();
        let mut map = self.write();
        let mut out = Vec::new();
        let mut present = HashSet::new();
        for job in jobs.state() {
            let job_ref = ObjectRef::from_obj(job.as_ref());
            present.insert(job_ref.clone());
            if job.namespace().as_deref() != Some(namespace.as_str()) {
                continue;
            }
            let affected = match map.get(&job_ref) {
                None | Some(Uses::Unknown) => true,
                Some(Uses::Tables {
                    resources,
                    sql_names,
                }) => resources.contains(&resource) || sql_names.contains(&sql_name),
            };
            if affected {
                out.push(job_ref);
            }
        }
        map.retain(|k, _| present.contains(k));
        out
    }
}

#[cfg(test)]
mod tests {
    use std::panic::AssertUnwindSafe;

    use kube::runtime::{reflector, watcher};

    use super::*;
    use crate::render::tests::example;

    #[test]
    fn a_poisoned_index_is_recovered_and_then_reconciles_every_job_of_the_namespace() {
        let (mut job, tables) = example("stock-ticks.yaml");
        job.metadata.namespace = Some("ns".into());
        let mut table = tables[0].clone();
        table.metadata.namespace = Some("ns".into());
        let (jobs, mut writer) = reflector::store::<StreamingJob>();
        writer.apply_watcher_event(&watcher::Event::Apply(job.clone()));
        let index = TableIndex::default();
        let job_ref = ObjectRef::from_obj(&job);
        let unrelated = Uses::Tables {
            resources: Vec::new(),
            sql_names: Vec::new(),
        };
        index.set(&job_ref, unrelated);
        assert!(index.jobs_for_table(&jobs, &table).is_empty());
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let _held = index.uses.write();
            panic!("a panic while the index is locked");
        }));
        assert!(index.uses.is_poisoned());
        assert_eq!(index.jobs_for_table(&jobs, &table), [job_ref]);
        assert!(!index.uses.is_poisoned());
    }
}
