//! Sluice's operator: `StreamingTable` and `StreamingJob` resources (`sluice.dev/v1alpha1`)
//! reconciled into executor Deployments, with status and Events on the resources themselves.
//!
//! - [`controller`]: the controllers and the reconcile pipeline (dereference → validate →
//!   build → apply → status), leader-elected [`run`];
//! - [`validate`], [`render`], [`overlay`], [`policy`], [`status`], [`table`]: the pure steps
//!   ([`policy`]: what a job may ask of its pods, see docs/security.md);
//! - [`apply`]: server-side apply that writes only what changed;
//! - [`informer`]: watches with caches updated before reconciles are triggered;
//! - [`leader`]: Lease-based leader election;
//! - [`metrics`], [`http`]: Prometheus metrics, `/metrics`, `/healthz`, `/readyz`;
//! - [`config`]: flags and environment.
//!
//! `docs/operator.md` describes installation, the API, status fields and RBAC.

pub mod apply;
pub mod config;
pub mod controller;
pub mod executor_container;
pub mod http;
pub mod informer;
pub mod leader;
pub mod metrics;
pub mod overlay;
pub mod policy;
pub mod render;
pub mod status;
pub mod table;
pub mod validate;

pub use config::{Args, LeaseConfig, OperatorConfig};
pub use controller::{PreflightError, preflight, run};
pub use metrics::{Metrics, counting_client};

/// Installs the process-wide rustls `CryptoProvider` (ring). kube's rustls and the AWS
/// SDK are both linked; without one provider chosen up front, the first TLS handshake panics.
/// Safe to call more than once.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
