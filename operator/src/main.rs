//! `sluice-operator`: wires the flags, logs, metrics server and controllers together.

use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser;
use sluice_operator::config::LogFormat;
use sluice_operator::{Args, Metrics};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    init_logs(args.log_format);
    sluice_operator::install_crypto_provider();

    let metrics = Arc::new(Metrics::new());
    let kube_config = kube::Config::infer()
        .await
        .context("no kubeconfig or in-cluster configuration found")?;
    let default_namespace = kube_config.default_namespace.clone();
    let client = sluice_operator::counting_client(kube_config, metrics.clone())
        .context("failed to build the Kubernetes client")?;
    let config = args
        .operator_config(&default_namespace)
        .context("invalid leader election settings")?;
    sluice_operator::preflight(&client).await?;

    let shutdown = CancellationToken::new();
    let listener = tokio::net::TcpListener::bind(args.metrics_addr)
        .await
        .with_context(|| format!("failed to listen on {}", args.metrics_addr))?;
    tracing::info!(
        metrics = %args.metrics_addr,
        namespaces = ?config.namespaces,
        executor_image = %config.executor_image,
        leader_election = config.lease.is_some(),
        "sluice-operator starting"
    );
    let http = tokio::spawn(sluice_operator::http::serve(
        listener,
        metrics.clone(),
        shutdown.clone(),
    ));
    tokio::spawn(signals(shutdown.clone()));
    sluice_operator::run(client, config, metrics, shutdown.clone()).await;
    shutdown.cancel();
    let _ = http.await;
    tracing::info!("sluice-operator stopped");
    Ok(())
}

/// SIGTERM or Ctrl-C starts a graceful shutdown: running reconciles finish, the Lease is
/// released. A second signal exits at once.
async fn signals(shutdown: CancellationToken) {
    wait_for_signal().await;
    tracing::info!("shutting down gracefully (signal again to exit at once)");
    shutdown.cancel();
    wait_for_signal().await;
    tracing::warn!("second signal; exiting now");
    std::process::exit(130);
}

async fn wait_for_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(error) => {
            tracing::warn!(%error, "cannot listen for SIGTERM; Ctrl-C only");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

fn init_logs(format: LogFormat) {
    let filter = EnvFilter::try_from_env("SLUICE_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info,kube=warn,kube_runtime=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
}
