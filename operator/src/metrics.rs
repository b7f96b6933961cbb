//! Prometheus metrics (bounded labels only: kinds, verbs, outcomes, error categories — never
//! object names) and a client layer that counts every request sent to the API server.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// What was reconciled.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    /// `job` or `table`.
    pub kind: &'static str,
}

/// A reconcile's outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// `job` or `table`.
    pub kind: &'static str,
    /// `valid`, `invalid` or `error`.
    pub outcome: &'static str,
}

/// A failed reconcile.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// `job` or `table`.
    pub kind: &'static str,
    /// The error's category (`apply`, `status`, ...).
    pub error: &'static str,
}

/// A write the operator made.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WriteLabels {
    /// `Deployment`, `ConfigMap`, `StreamingJob/status`, `Event`, ...
    pub resource: &'static str,
    /// `apply`, `patch`, `delete`, `create`.
    pub verb: &'static str,
}

/// A request to the API server.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VerbLabels {
    /// `get` (includes lists), `watch`, `create`, `update`, `patch`, `delete`.
    pub verb: &'static str,
}

type HistogramFamily = Family<KindLabels, Histogram, fn() -> Histogram>;

/// Every metric of the operator.
pub struct Metrics {
    registry: Registry,
    reconciliations: Family<OutcomeLabels, Counter>,
    reconcile_errors: Family<ErrorLabels, Counter>,
    reconcile_duration: HistogramFamily,
    writes: Family<WriteLabels, Counter>,
    api_requests: Family<VerbLabels, Counter>,
    leader: Gauge,
    writes_total: AtomicU64,
    requests_total: AtomicU64,
    reconciles_total: AtomicU64,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("writes", &self.writes())
            .field("requests", &self.requests())
            .finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered under `sluice_operator_`.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("sluice_operator");
        let reconciliations = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "reconciliations",
            "Reconciles run, by kind and outcome",
            reconciliations.clone(),
        );
        let reconcile_errors = Family::<ErrorLabels, Counter>::default();
        registry.register(
            "reconcile_errors",
            "Reconciles that failed (and are retried with backoff), by error category",
            reconcile_errors.clone(),
        );
        let reconcile_duration: HistogramFamily =
            Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.0005, 2.0, 16)));
        registry.register(
            "reconcile_duration_seconds",
            "Time spent in one reconcile",
            reconcile_duration.clone(),
        );
        let writes = Family::<WriteLabels, Counter>::default();
        registry.register(
            "writes",
            "Writes to the API server by resource and verb (a reconcile with nothing to change makes none)",
            writes.clone(),
        );
        let api_requests = Family::<VerbLabels, Counter>::default();
        registry.register(
            "api_requests",
            "Requests sent to the API server, by verb",
            api_requests.clone(),
        );
        let leader = Gauge::default();
        registry.register(
            "leader",
            "Whether this replica holds the Lease and runs the controllers (1) or stands by (0)",
            leader.clone(),
        );
        Metrics {
            registry,
            reconciliations,
            reconcile_errors,
            reconcile_duration,
            writes,
            api_requests,
            leader,
            writes_total: AtomicU64::new(0),
            requests_total: AtomicU64::new(0),
            reconciles_total: AtomicU64::new(0),
        }
    }

    /// The OpenMetrics text of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// Records a finished reconcile.
    pub fn reconciled(&self, kind: &'static str, outcome: &'static str, took: Duration) {
        self.reconciliations
            .get_or_create(&OutcomeLabels { kind, outcome })
            .inc();
        self.reconcile_duration
            .get_or_create(&KindLabels { kind })
            .observe(took.as_secs_f64());
        self.reconciles_total.fetch_add(1, Ordering::Relaxed);
    }

    /// Records a failed reconcile.
    pub fn reconcile_failed(&self, kind: &'static str, error: &'static str) {
        self.reconcile_errors
            .get_or_create(&ErrorLabels { kind, error })
            .inc();
    }

    /// Records a write.
    pub fn wrote(&self, resource: &'static str, verb: &'static str) {
        self.writes
            .get_or_create(&WriteLabels { resource, verb })
            .inc();
        self.writes_total.fetch_add(1, Ordering::Relaxed);
    }

    /// Records a request to the API server.
    pub fn requested(&self, verb: &'static str) {
        self.api_requests.get_or_create(&VerbLabels { verb }).inc();
        self.requests_total.fetch_add(1, Ordering::Relaxed);
    }

    /// Sets the leader gauge.
    pub fn set_leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }

    /// Whether this replica currently leads.
    pub fn is_leader(&self) -> bool {
        self.leader.get() == 1
    }

    /// Writes made so far (all resources and verbs).
    pub fn writes(&self) -> u64 {
        self.writes_total.load(Ordering::Relaxed)
    }

    /// Requests sent so far.
    pub fn requests(&self) -> u64 {
        self.requests_total.load(Ordering::Relaxed)
    }

    /// Reconciles finished so far.
    pub fn reconciles(&self) -> u64 {
        self.reconciles_total.load(Ordering::Relaxed)
    }
}

/// The verb of a request, from its method and query.
pub fn verb_of<B>(request: &http::Request<B>) -> &'static str {
    let watch = request
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|kv| kv == "watch=true" || kv == "watch=1"));
    match *request.method() {
        http::Method::GET if watch => "watch",
        http::Method::GET => "get",
        http::Method::POST => "create",
        http::Method::PUT => "update",
        http::Method::PATCH => "patch",
        http::Method::DELETE => "delete",
        _ => "other",
    }
}

/// A kube client whose every request is counted in `metrics`.
pub fn counting_client(
    config: kube::Config,
    metrics: Arc<Metrics>,
) -> Result<kube::Client, kube::Error> {
    let layer =
        tower::util::MapRequestLayer::new(move |request: http::Request<kube::client::Body>| {
            metrics.requested(verb_of(&request));
            request
        });
    Ok(kube::client::ClientBuilder::try_from(config)?
        .with_layer(&layer)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watches_are_told_apart_from_gets() {
        let r = |m: &str, uri: &str| {
            http::Request::builder()
                .method(m)
                .uri(uri)
                .body(())
                .unwrap()
        };
        assert_eq!(verb_of(&r("GET", "/api/v1/pods?watch=true&x=1")), "watch");
        assert_eq!(verb_of(&r("GET", "/api/v1/pods?limit=500")), "get");
        assert_eq!(verb_of(&r("PATCH", "/apis/x")), "patch");
    }

    #[test]
    fn metrics_are_encoded_with_the_operator_prefix() {
        let m = Metrics::new();
        m.wrote("Deployment", "apply");
        m.reconciled("job", "valid", Duration::from_millis(3));
        let text = m.encode();
        assert!(
            text.contains("sluice_operator_writes_total{resource=\"Deployment\",verb=\"apply\"} 1"),
            "{text}"
        );
        assert!(text.contains("sluice_operator_reconcile_duration_seconds"));
        assert_eq!(m.writes(), 1);
    }
}
