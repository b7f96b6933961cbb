//! The `StreamingTable` reconcile: validate the table (alone, and against the other tables of
//! its namespace for a duplicate SQL name), write its status when that changed, and announce a
//! change of its `Valid` condition with an Event.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use sluice_crds::conditions::VALID;
use sluice_crds::{StreamingTable, StreamingTableStatus};

use super::context::Context;
use super::error::Error;
use super::events::{condition_event, publish};
use super::status_patch::write_table_status;
use crate::table;

/// Reconciles one table. Tables have no children: the status is all there is to write.
pub(super) async fn reconcile_table(ctx: &Context, t: &StreamingTable) -> Result<Action, Error> {
    let name = t.name_any();
    let namespace = t.namespace().ok_or_else(|| Error::NoNamespace {
        kind: "StreamingTable",
        name: name.clone(),
    })?;
    let problems = table::validate_table(t);
    let duplicates = ctx.stores.duplicate_sql_names(&namespace, t);
    let desired = table::table_status(t, &problems, &duplicates, Time(Timestamp::now()));
    let current = t.status.clone().unwrap_or_default();
    if !same_table_status(&current, &desired) {
        write_table_status(ctx, &namespace, &name, &desired).await?;
        let event = condition_event(
            &current.conditions,
            &desired.conditions,
            VALID,
            "Validate",
            "the table is valid",
        );
        publish(ctx, &t.object_ref(&()), event.into_iter().collect()).await;
    }
    Ok(Action::await_change())
}

/// Whether two table statuses say the same, whatever the order of their conditions.
fn same_table_status(a: &StreamingTableStatus, b: &StreamingTableStatus) -> bool {
    let mut a = a.clone();
    let mut b = b.clone();
    a.conditions.sort_by(|x, y| x.type_.cmp(&y.type_));
    b.conditions.sort_by(|x, y| x.type_.cmp(&y.type_));
    a == b
}
