//! What kube's `Controller` runs: each reconcile wrapped in a tracing span, timed and counted
//! by outcome (after kube-rs `controller-rs`, whose `reconcile` only instruments and
//! dispatches), and the error policies that count the failure and pick the backoff.

use std::sync::Arc;
use std::time::Instant;

use kube::ResourceExt;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use sluice_crds::{StreamingJob, StreamingTable};
use tracing::{Instrument, info_span};

use super::backoff::Backoff;
use super::context::Context;
use super::error::Error;
use super::job_reconcile::reconcile_job;
use super::table_reconcile::reconcile_table;

/// Runs [`reconcile_job`] in a span; records its duration and outcome (`valid`, `invalid` or
/// `error`) and, on success, resets the job's backoff.
pub(super) async fn reconcile_job_instrumented(
    job: Arc<StreamingJob>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let started = Instant::now();
    let span = info_span!("reconcile", kind = "StreamingJob", namespace = %job.namespace().unwrap_or_default(), name = %job.name_any());
    let result = reconcile_job(&ctx, &job).instrument(span).await;
    let key = Backoff::key("job", job.namespace(), &job.name_any());
    let outcome = match &result {
        Ok(_) => {
            ctx.backoff.reset(&key);
            let job_ref = ObjectRef::from_obj(job.as_ref());
            let valid = ctx.validations.was_valid(&job_ref).unwrap_or(true);
            if valid { "valid" } else { "invalid" }
        }
        Err(_) => "error",
    };
    ctx.metrics.reconciled("job", outcome, started.elapsed());
    result
}

/// A failed job reconcile: counted by category, logged, retried with backoff.
pub(super) fn job_error_policy(job: Arc<StreamingJob>, error: &Error, ctx: Arc<Context>) -> Action {
    let key = Backoff::key("job", job.namespace(), &job.name_any());
    let delay = ctx.backoff.next_delay(key);
    ctx.metrics.reconcile_failed("job", error.category());
    tracing::warn!(
        namespace = %job.namespace().unwrap_or_default(),
        name = %job.name_any(),
        category = error.category(),
        %error,
        retry_in = ?delay,
        "reconcile failed"
    );
    Action::requeue(delay)
}

/// Runs [`reconcile_table`] in a span; records its duration and outcome (`valid` or `error`)
/// and, on success, resets the table's backoff.
pub(super) async fn reconcile_table_instrumented(
    table: Arc<StreamingTable>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let started = Instant::now();
    let span = info_span!("reconcile", kind = "StreamingTable", namespace = %table.namespace().unwrap_or_default(), name = %table.name_any());
    let result = reconcile_table(&ctx, &table).instrument(span).await;
    let key = Backoff::key("table", table.namespace(), &table.name_any());
    if result.is_ok() {
        ctx.backoff.reset(&key);
    }
    let outcome = if result.is_ok() { "valid" } else { "error" };
    ctx.metrics.reconciled("table", outcome, started.elapsed());
    result
}

/// A failed table reconcile: counted by category, logged, retried with backoff.
pub(super) fn table_error_policy(
    table: Arc<StreamingTable>,
    error: &Error,
    ctx: Arc<Context>,
) -> Action {
    let key = Backoff::key("table", table.namespace(), &table.name_any());
    let delay = ctx.backoff.next_delay(key);
    ctx.metrics.reconcile_failed("table", error.category());
    tracing::warn!(name = %table.name_any(), %error, retry_in = ?delay, "table reconcile failed");
    Action::requeue(delay)
}
