//! Leader election on a `coordination.k8s.io/v1` Lease (kube 5's runtime has none), following
//! client-go's `leaderelection` package:
//!
//! - A standby reads the Lease every `retry_period`. It may take the Lease when nobody holds it
//!   or when the holder's record has not changed for `lease_duration` *as measured by the
//!   standby's own clock since it first saw that record* — so clock skew between replicas does
//!   not matter. Taking and renewing are updates with the read `resourceVersion`, so two
//!   candidates can never both succeed.
//! - The leader renews every `lease_duration / 3`; when it has not managed to renew for
//!   `renew_deadline` (< `lease_duration`) it reports the leadership lost and must stop acting
//!   before any standby can consider the Lease expired.
//! - On shutdown the leader releases the Lease (empty holder, 1 s duration) so a standby takes
//!   over at its next retry instead of waiting for expiry.
//! - Writes are fenced ([`fenced_client`]): the controllers' client refuses to send a write once
//!   `renew_deadline` has passed since the last successful renewal began, whether or not the
//!   renewal task has noticed yet. A leader frozen longer than the Lease (SIGSTOP, a paused VM,
//!   a stalled node) wakes up to a client that refuses its writes, so it never fights the
//!   replica that took over; its renewal then finds the new holder and it steps down.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::api::{Api, PostParams};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::LeaseConfig;

/// A failed Lease request.
#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    /// Reading the Lease failed.
    #[error("failed to read Lease {name}: {source}")]
    Read {
        /// `namespace/name`.
        name: String,
        /// Cause.
        source: kube::Error,
    },
    /// Creating or updating the Lease failed (other than a lost race).
    #[error("failed to write Lease {name}: {source}")]
    Write {
        /// `namespace/name`.
        name: String,
        /// Cause.
        source: kube::Error,
    },
    /// A request took longer than allowed.
    #[error("Lease request timed out")]
    Timeout,
}

/// A Lease's holder record: what a standby watches for change (client-go's
/// `LeaderElectionRecord`, less the acquire time).
#[derive(Clone, Debug, PartialEq)]
struct HolderRecord {
    holder: Option<String>,
    renew_time: Option<MicroTime>,
    transitions: Option<i32>,
    duration_seconds: Option<i32>,
}

impl HolderRecord {
    fn of(spec: &LeaseSpec) -> HolderRecord {
        HolderRecord {
            holder: spec.holder_identity.clone(),
            renew_time: spec.renew_time.clone(),
            transitions: spec.lease_transitions,
            duration_seconds: spec.lease_duration_seconds,
        }
    }
}

/// The outcome of one attempt to take or renew the Lease.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "one per Lease request (every few seconds), moved straight into a match: a Box would be an allocation for nothing"
)]
enum Attempt {
    /// This replica holds the Lease, as written.
    Holding(Lease),
    /// Another replica validly holds the Lease (or won the race): its identity.
    HeldBy(String),
}

/// The holder record as last observed, and when it was first observed (local clock).
#[derive(Default)]
struct Observation {
    record: Option<HolderRecord>,
    since: Option<Instant>,
}

impl Observation {
    fn update(&mut self, spec: &LeaseSpec) -> Instant {
        let record = HolderRecord::of(spec);
        if self.record.as_ref() != Some(&record) || self.since.is_none() {
            self.record = Some(record);
            self.since = Some(Instant::now());
        }
        self.since.unwrap_or_else(Instant::now)
    }
}

/// Competes for the Lease.
#[derive(Clone)]
pub struct LeaderElector {
    api: Api<Lease>,
    config: LeaseConfig,
}

/// Holding the Lease. Renews in the background until released or lost.
pub struct Leadership {
    lost: CancellationToken,
    stop: CancellationToken,
    renewer: JoinHandle<()>,
    latest: Arc<Mutex<Lease>>,
    api: Api<Lease>,
    config: LeaseConfig,
    guard: LeaseGuard,
}

/// Whether this replica may still act as the leader: the leadership is not known to be lost
/// and the last successful renewal began less than `renew_deadline` ago (monotonic clock, which
/// keeps running while the process is stopped). Standbys consider the Lease expired only after
/// `lease_duration` (> `renew_deadline`) of their own observation, so a write allowed by the
/// guard is sent while no one else can lead.
#[derive(Clone, Debug)]
pub struct LeaseGuard {
    renewed: Arc<Mutex<Instant>>,
    deadline: Duration,
    lost: CancellationToken,
}

impl LeaseGuard {
    fn new(renewed: Instant, deadline: Duration, lost: CancellationToken) -> LeaseGuard {
        LeaseGuard {
            renewed: Arc::new(Mutex::new(renewed)),
            deadline,
            lost,
        }
    }

    /// The time of the last successful renewal. A poisoned lock is recovered: the value is an
    /// `Instant`, replaced whole, so a panic elsewhere cannot leave it half-written. Refusing
    /// instead would fence every write of a replica that still leads, and skipping an update
    /// would fence it at the next deadline.
    fn last_renewal(&self) -> MutexGuard<'_, Instant> {
        self.renewed.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn renewed(&self, at: Instant) {
        let mut r = self.last_renewal();
        *r = (*r).max(at);
    }

    /// Whether writes may be sent now.
    pub fn valid(&self) -> bool {
        !self.lost.is_cancelled() && self.last_renewal().elapsed() < self.deadline
    }
}

/// A write refused because the Lease may have expired.
#[derive(Debug, thiserror::Error)]
#[error(
    "refused to send {method} {path}: this replica's Lease may have expired (no renewal for the renew deadline); another replica may lead"
)]
pub struct NotLeading {
    method: http::Method,
    path: String,
}

/// `client`, except that requests other than GET are refused (with [`NotLeading`]) while
/// `guard` is not valid. The Lease itself is renewed with the unfenced client.
pub fn fenced_client(client: &Client, guard: LeaseGuard) -> Client {
    let base = client.clone();
    let service = tower::service_fn(move |request: http::Request<kube::client::Body>| {
        let base = base.clone();
        let guard = guard.clone();
        async move {
            if request.method() != http::Method::GET && !guard.valid() {
                let refused = NotLeading {
                    method: request.method().clone(),
                    path: request.uri().path().to_owned(),
                };
                tracing::warn!(error = %refused, "write fenced");
                return Err(tower::BoxError::from(refused));
            }
            base.send(request).await.map_err(tower::BoxError::from)
        }
    });
    Client::new(service, client.default_namespace().to_owned())
}

impl LeaderElector {
    /// An elector for the configured Lease.
    pub fn new(client: Client, config: LeaseConfig) -> LeaderElector {
        LeaderElector {
            api: Api::namespaced(client, &config.namespace),
            config,
        }
    }

    fn lease_name(&self) -> String {
        format!("{}/{}", self.config.namespace, self.config.name)
    }

    /// Waits until this replica holds the Lease. `None` if `shutdown` came first.
    pub async fn acquire(&self, shutdown: &CancellationToken) -> Option<Leadership> {
        let mut observation = Observation::default();
        let mut logged_holder: Option<String> = None;
        loop {
            let attempt = Instant::now();
            match self.try_acquire_or_renew(&mut observation).await {
                Ok(Attempt::Holding(lease)) => {
                    tracing::info!(lease = %self.lease_name(), identity = %self.config.identity, "acquired the Lease; leading");
                    return Some(self.lead(lease, attempt));
                }
                Ok(Attempt::HeldBy(holder)) => {
                    if logged_holder.as_deref() != Some(holder.as_str()) {
                        tracing::info!(lease = %self.lease_name(), %holder, "another replica leads; standing by");
                        logged_holder = Some(holder);
                    }
                }
                Err(error) => {
                    tracing::warn!(lease = %self.lease_name(), %error, "could not acquire the Lease");
                }
            }
            let jitter = self.config.retry_period.mul_f64(jitter_fraction() * 0.2);
            tokio::select! {
                () = shutdown.cancelled() => return None,
                () = tokio::time::sleep(self.config.retry_period + jitter) => {}
            }
        }
    }

    /// One attempt to take (or renew) the Lease.
    async fn try_acquire_or_renew(
        &self,
        observation: &mut Observation,
    ) -> Result<Attempt, LeaderError> {
        let name = &self.config.name;
        let current = self
            .with_timeout(self.api.get_opt(name))
            .await?
            .map_err(|source| LeaderError::Read {
                name: self.lease_name(),
                source,
            })?;
        let now = MicroTime(Timestamp::now());
        let Some(mut lease) = current else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    namespace: Some(self.config.namespace.clone()),
                    ..Default::default()
                },
                spec: Some(self.spec(None, now)),
            };
            return match self
                .with_timeout(self.api.create(&PostParams::default(), &lease))
                .await?
            {
                Ok(created) => Ok(Attempt::Holding(created)),
                Err(kube::Error::Api(e)) if e.code == 409 => {
                    Ok(Attempt::HeldBy("(another candidate)".into()))
                }
                Err(source) => Err(LeaderError::Write {
                    name: self.lease_name(),
                    source,
                }),
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let since = observation.update(&spec);
        let holder = spec.holder_identity.clone().filter(|h| !h.is_empty());
        if let Some(holder) = &holder
            && *holder != self.config.identity
        {
            let duration = spec
                .lease_duration_seconds
                .and_then(|s| u64::try_from(s).ok())
                .map_or(self.config.lease_duration, Duration::from_secs);
            if since.elapsed() < duration {
                return Ok(Attempt::HeldBy(holder.clone()));
            }
            tracing::info!(lease = %self.lease_name(), %holder, "the Lease expired; taking over");
        }
        lease.spec = Some(self.spec(Some(&spec), now));
        self.write(lease).await
    }

    /// The spec this replica writes, taking over from or renewing `previous`.
    fn spec(&self, previous: Option<&LeaseSpec>, now: MicroTime) -> LeaseSpec {
        let renewing = previous
            .and_then(|p| p.holder_identity.as_deref())
            .is_some_and(|h| h == self.config.identity);
        let duration = i32::try_from(self.config.lease_duration.as_secs()).unwrap_or(i32::MAX);
        LeaseSpec {
            holder_identity: Some(self.config.identity.clone()),
            lease_duration_seconds: Some(duration),
            acquire_time: if renewing {
                previous.and_then(|p| p.acquire_time.clone())
            } else {
                Some(now.clone())
            },
            renew_time: Some(now),
            lease_transitions: match previous {
                None => Some(0),
                Some(p) if renewing => p.lease_transitions,
                Some(p) => Some(p.lease_transitions.unwrap_or(0) + 1),
            },
            ..Default::default()
        }
    }

    /// Replaces the Lease (optimistic concurrency on its resourceVersion).
    async fn write(&self, lease: Lease) -> Result<Attempt, LeaderError> {
        match self
            .with_timeout(
                self.api
                    .replace(&self.config.name, &PostParams::default(), &lease),
            )
            .await?
        {
            Ok(written) => Ok(Attempt::Holding(written)),
            Err(kube::Error::Api(e)) if e.code == 409 => {
                Ok(Attempt::HeldBy("(a concurrent writer)".into()))
            }
            Err(source) => Err(LeaderError::Write {
                name: self.lease_name(),
                source,
            }),
        }
    }

    async fn with_timeout<T>(
        &self,
        f: impl std::future::Future<Output = T>,
    ) -> Result<T, LeaderError> {
        tokio::time::timeout(self.config.retry_period.max(Duration::from_secs(1)), f)
            .await
            .map_err(|_| LeaderError::Timeout)
    }

    /// Leads with `lease`, acquired by an attempt that began at `acquired`.
    fn lead(&self, lease: Lease, acquired: Instant) -> Leadership {
        let lost = CancellationToken::new();
        let stop = CancellationToken::new();
        let latest = Arc::new(Mutex::new(lease));
        let guard = LeaseGuard::new(acquired, self.config.renew_deadline, lost.clone());
        let renewer = tokio::spawn(renew(
            self.clone(),
            latest.clone(),
            guard.clone(),
            lost.clone(),
            stop.clone(),
        ));
        Leadership {
            lost,
            stop,
            renewer,
            latest,
            api: self.api.clone(),
            config: self.config.clone(),
            guard,
        }
    }
}

/// Renews every `renew_interval`; on failure retries every `retry_period` until
/// `renew_deadline` has passed since the last successful renewal, then cancels `lost`.
async fn renew(
    elector: LeaderElector,
    latest: Arc<Mutex<Lease>>,
    guard: LeaseGuard,
    lost: CancellationToken,
    stop: CancellationToken,
) {
    let config = &elector.config;
    let mut last_renewal = Instant::now();
    let mut observation = Observation::default();
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(config.renew_interval()) => {}
        }
        loop {
            let attempt = Instant::now();
            // Fast path: update the Lease we last wrote; on a conflict, read and decide.
            let mut lease = lock_latest(&latest).clone();
            let previous = lease.spec.clone();
            lease.spec = Some(elector.spec(previous.as_ref(), MicroTime(Timestamp::now())));
            let result = match elector.write(lease).await {
                Ok(Attempt::HeldBy(_conflict)) => {
                    elector.try_acquire_or_renew(&mut observation).await
                }
                other => other,
            };
            match result {
                Ok(Attempt::Holding(written)) => {
                    *lock_latest(&latest) = written;
                    last_renewal = attempt;
                    guard.renewed(attempt);
                    break;
                }
                Ok(Attempt::HeldBy(holder)) => {
                    tracing::warn!(%holder, "another replica holds the Lease; leadership lost");
                    lost.cancel();
                    return;
                }
                Err(error) => tracing::warn!(%error, "failed to renew the Lease"),
            }
            if last_renewal.elapsed() >= config.renew_deadline {
                tracing::error!(
                    deadline = ?config.renew_deadline,
                    "could not renew the Lease in time; leadership lost"
                );
                lost.cancel();
                return;
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(config.retry_period) => {}
            }
        }
    }
}

impl Leadership {
    /// Cancelled when the Lease could not be renewed in time or was taken over: stop acting.
    pub fn lost(&self) -> CancellationToken {
        self.lost.clone()
    }

    /// Whether writes may be sent now; see [`fenced_client`].
    pub fn guard(&self) -> LeaseGuard {
        self.guard.clone()
    }

    /// Stops renewing and, unless the leadership was lost, hands the Lease back so that a
    /// standby can take over at once.
    pub async fn release(self) {
        self.stop.cancel();
        let _ = self.renewer.await;
        if self.lost.is_cancelled() {
            return;
        }
        let mut lease = lock_latest(&self.latest).clone();
        let now = MicroTime(Timestamp::now());
        lease.spec = Some(LeaseSpec {
            holder_identity: None,
            lease_duration_seconds: Some(1),
            acquire_time: Some(now.clone()),
            renew_time: Some(now),
            lease_transitions: lease.spec.as_ref().and_then(|s| s.lease_transitions),
            ..Default::default()
        });
        match self
            .api
            .replace(&self.config.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => tracing::info!(lease = %self.config.name, "released the Lease"),
            Err(error) => tracing::warn!(%error, "failed to release the Lease"),
        }
    }
}

/// The Lease as last written. A poisoned lock is recovered: the Lease is replaced whole, so
/// what a panic left behind is the last Lease written — at worst with a stale
/// resourceVersion, which the next write finds out (a conflict, then a fresh read). A default
/// Lease instead (what a skipped read gave before) has no name nor resourceVersion and would
/// make the renewal fail.
fn lock_latest(latest: &Mutex<Lease>) -> MutexGuard<'_, Lease> {
    latest.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A number in [0, 1) that differs between calls and processes.
fn jitter_fraction() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(Timestamp::now().as_nanosecond() as u64);
    (h.finish() % 10_000) as f64 / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elector(identity: &str) -> LeaderElector {
        // The API is never called by these tests.
        let config = kube::Config::new("http://127.0.0.1:1".parse().unwrap());
        let client = Client::try_from(config).unwrap();
        LeaderElector::new(client, LeaseConfig::new("l", "ns", identity))
    }

    #[tokio::test]
    async fn taking_over_counts_a_transition_and_renewing_keeps_the_acquire_time() {
        let a = elector("a");
        let t0 = MicroTime(Timestamp::from_second(100).unwrap());
        let t1 = MicroTime(Timestamp::from_second(105).unwrap());
        let first = a.spec(None, t0.clone());
        assert_eq!(first.lease_transitions, Some(0));
        assert_eq!(first.lease_duration_seconds, Some(15));
        let renewed = a.spec(Some(&first), t1.clone());
        assert_eq!(renewed.acquire_time, Some(t0));
        assert_eq!(renewed.renew_time, Some(t1.clone()));
        assert_eq!(renewed.lease_transitions, Some(0));
        let b = elector("b");
        let taken = b.spec(Some(&renewed), t1.clone());
        assert_eq!(taken.holder_identity.as_deref(), Some("b"));
        assert_eq!(taken.acquire_time, Some(t1));
        assert_eq!(taken.lease_transitions, Some(1));
    }

    #[tokio::test]
    async fn the_guard_expires_at_the_renew_deadline_and_with_a_lost_lease() {
        let lost = CancellationToken::new();
        let guard = LeaseGuard::new(Instant::now(), Duration::from_millis(50), lost.clone());
        assert!(guard.valid());
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert!(!guard.valid(), "no renewal for the deadline");
        guard.renewed(Instant::now());
        assert!(guard.valid());
        lost.cancel();
        assert!(!guard.valid(), "lost");
    }

    #[tokio::test]
    async fn a_fenced_client_refuses_writes_but_not_reads_once_the_guard_expired() {
        let lost = CancellationToken::new();
        let guard = LeaseGuard::new(Instant::now(), Duration::from_millis(1), lost);
        tokio::time::sleep(Duration::from_millis(5)).await;
        let base =
            Client::try_from(kube::Config::new("http://127.0.0.1:1".parse().unwrap())).unwrap();
        let fenced = fenced_client(&base, guard);
        let api: Api<Lease> = Api::namespaced(fenced, "ns");
        let write = api.delete("l", &Default::default()).await.unwrap_err();
        assert!(write.to_string().contains("may have expired"), "{write}");
        // A read is sent (and fails to connect: nothing listens on port 1).
        let read = api.get("l").await.unwrap_err();
        assert!(!read.to_string().contains("may have expired"), "{read}");
    }

    #[tokio::test]
    async fn an_observation_restarts_only_when_the_record_changes() {
        let mut o = Observation::default();
        let spec = LeaseSpec {
            holder_identity: Some("a".into()),
            ..Default::default()
        };
        let first = o.update(&spec);
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(o.update(&spec), first);
        let renewed = LeaseSpec {
            renew_time: Some(MicroTime(Timestamp::now())),
            ..spec
        };
        assert!(o.update(&renewed) > first);
    }
}
