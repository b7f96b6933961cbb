//! The top of the controllers: [`run`], the leader loop (with a Lease, the controllers run
//! only while this replica leads), and [`run_controllers`], one scope per watched namespace.

use std::sync::Arc;

use kube::Client;
use tokio_util::sync::CancellationToken;

use super::scope::run_scope;
use crate::config::OperatorConfig;
use crate::leader::{self, LeaderElector};
use crate::metrics::Metrics;

/// Runs the operator until `shutdown`: with a Lease, the controllers run only while this
/// replica leads (and stop when the leadership is lost, to compete again); without one, they
/// run at once.
pub async fn run(
    client: Client,
    config: OperatorConfig,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) {
    let config = Arc::new(config);
    let Some(lease) = config.lease.clone() else {
        metrics.set_leader(true);
        run_controllers(&client, &config, &metrics, "sluice-operator", &shutdown).await;
        metrics.set_leader(false);
        return;
    };
    let elector = LeaderElector::new(client.clone(), lease.clone());
    loop {
        let Some(leadership) = elector.acquire(&shutdown).await else {
            return;
        };
        metrics.set_leader(true);
        let stop = shutdown.child_token();
        let lost = leadership.lost();
        let watcher = {
            let stop = stop.clone();
            tokio::spawn(async move {
                tokio::select! {
                    () = lost.cancelled() => stop.cancel(),
                    () = stop.cancelled() => {}
                }
            })
        };
        let fenced = leader::fenced_client(&client, leadership.guard());
        run_controllers(&fenced, &config, &metrics, &lease.identity, &stop).await;
        stop.cancel();
        let _ = watcher.await;
        metrics.set_leader(false);
        if shutdown.is_cancelled() {
            leadership.release().await;
            return;
        }
        tracing::warn!("leadership lost; controllers stopped; competing for the Lease again");
        leadership.release().await;
    }
}

/// Runs one set of controllers per watched namespace (or one for all) until `stop`.
async fn run_controllers(
    client: &Client,
    config: &Arc<OperatorConfig>,
    metrics: &Arc<Metrics>,
    identity: &str,
    stop: &CancellationToken,
) {
    let scopes: Vec<Option<String>> = if config.namespaces.is_empty() {
        vec![None]
    } else {
        config.namespaces.iter().cloned().map(Some).collect()
    };
    tracing::info!(namespaces = ?config.namespaces, "starting controllers");
    let mut tasks = tokio::task::JoinSet::new();
    for scope in scopes {
        tasks.spawn(run_scope(
            client.clone(),
            config.clone(),
            metrics.clone(),
            identity.to_owned(),
            scope,
            stop.clone(),
        ));
    }
    while tasks.join_next().await.is_some() {}
    tracing::info!("controllers stopped");
}
