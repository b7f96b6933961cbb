//! The controllers: `StreamingJob` → executor objects and status; `StreamingTable` → its own
//! status. A job reconcile is a pipeline (after Stackable's operators):
//!
//! 1. **dereference** (async, from caches): the tables of the job's namespace, the existing
//!    Deployment and other children, the executor pods;
//! 2. **validate** ([`crate::validate`], on the blocking pool: SQL planning is CPU work that
//!    must not hold up the Lease renewal): the very validation the executor runs, plus the
//!    pod template overlay — a [`ValidJob`](crate::render::ValidJob) or every problem;
//! 3. **build** (pure, [`crate::render`]): ConfigMap, Deployment, ServiceAccount, Role,
//!    RoleBinding;
//! 4. **apply** ([`crate::apply`]): server-side apply of what changed only; delete what is no
//!    longer wanted (the operator's ServiceAccount once the job names its own);
//! 5. **status** ([`crate::status`]): conditions, phase, totals; stale partition entries
//!    removed; Events on transitions only. Nothing is written when nothing changed.
//!
//! An invalid job keeps its last valid Deployment (if any) running — the way a Deployment with
//! a bad image keeps its old ReplicaSet — except that `suspend` and `parallelism` are still
//! followed; a job that was never valid gets no Deployment at all. Invalid specs wait for a
//! change; API errors are retried with exponential backoff per object.
//!
//! The modules, from the top:
//!
//! - `run`: [`run`], the leader loop, and one scope per watched namespace;
//! - `scope`: a scope's informers (which change triggers which reconcile) and controllers;
//! - `instrumented`: what the controllers call — span, duration and outcome metrics, error
//!   policies with backoff;
//! - `job_reconcile`: the job pipeline above, one function per step;
//! - `children`: the apply step (children of a valid job; the scale of an invalid one);
//! - `status_patch`: every status write, one patch shape;
//! - `events`: the Events a reconcile publishes;
//! - `table_reconcile`: the table reconcile;
//! - `context`: [`Context`], and the validation it caches;
//! - `stores`: [`Stores`], the caches, and the queries the dereference step makes;
//! - `table_index`: [`TableIndex`], which tables each job uses;
//! - `validation_cache`: the last validation of each job, by its inputs;
//! - `backoff`: per-object retry delays;
//! - `error`: [`Error`], one variant per failed operation;
//! - `preflight`: [`preflight`], the start-up check that the CRDs are installed.

mod backoff;
mod children;
mod context;
mod error;
mod events;
mod instrumented;
mod job_reconcile;
mod preflight;
mod run;
mod scope;
mod status_patch;
mod stores;
mod table_index;
mod table_reconcile;
mod validation_cache;

pub use context::Context;
pub use error::Error;
pub use preflight::{PreflightError, preflight};
pub use run::run;
pub use stores::Stores;
pub use table_index::TableIndex;
