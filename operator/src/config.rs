//! The operator's settings: command-line flags, each with an environment variable.

use std::net::SocketAddr;
use std::time::Duration;

use crate::policy::Policy;

/// The executor image used when a job does not set `spec.image`.
pub const DEFAULT_EXECUTOR_IMAGE: &str =
    concat!("ghcr.io/sluice-dev/sluice:", env!("CARGO_PKG_VERSION"));

/// `sluice-operator`'s command line. With no arguments it watches every namespace, using the
/// standard kubeconfig or in-cluster configuration, with leader election on.
#[derive(Clone, Debug, clap::Parser)]
#[command(name = "sluice-operator", version, about)]
pub struct Args {
    /// Watch only these namespaces (repeat the flag or separate with commas). Default: all.
    #[arg(
        long = "namespace",
        short = 'n',
        env = "SLUICE_NAMESPACES",
        value_delimiter = ','
    )]
    pub namespaces: Vec<String>,

    /// The executor image for jobs that do not set `spec.image`.
    #[arg(long, env = "SLUICE_EXECUTOR_IMAGE", default_value = DEFAULT_EXECUTOR_IMAGE)]
    pub executor_image: String,

    /// Image prefixes jobs may use in `spec.image` and in the containers of
    /// `spec.podTemplate` (repeat the flag or separate with commas): `ghcr.io/acme/sluice`
    /// allows its tags and digests, `registry.acme.com/` a whole registry path, `*` any image.
    /// Default: the repository of `--executor-image`.
    #[arg(
        long = "allowed-image",
        env = "SLUICE_ALLOWED_IMAGES",
        value_delimiter = ','
    )]
    pub allowed_images: Vec<String>,

    /// Let jobs run their pods in the node's network namespace
    /// (`spec.podTemplate.spec.hostNetwork: true`), for clusters without a pod network.
    #[arg(long, env = "SLUICE_ALLOW_HOST_NETWORK", default_value_t = false, action = clap::ArgAction::Set)]
    pub allow_host_network: bool,

    /// Where `/metrics`, `/healthz` and `/readyz` are served.
    #[arg(long, env = "SLUICE_METRICS_ADDR", default_value = "0.0.0.0:8080")]
    pub metrics_addr: SocketAddr,

    /// Run only while holding the Lease (`--leader-election=false` for a single replica
    /// outside a cluster).
    #[arg(long, env = "SLUICE_LEADER_ELECTION", default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_election: bool,

    /// The Lease's name.
    #[arg(long, env = "SLUICE_LEASE_NAME", default_value = "sluice-operator")]
    pub lease_name: String,

    /// The Lease's namespace. Default: `POD_NAMESPACE`, else the kubeconfig's namespace.
    #[arg(long, env = "SLUICE_LEASE_NAMESPACE")]
    pub lease_namespace: Option<String>,

    /// This replica's identity in the Lease. Default: `POD_NAME`, else the host name plus a
    /// random suffix.
    #[arg(long, env = "POD_NAME")]
    pub identity: Option<String>,

    /// How long a Lease stays valid without renewal, in seconds.
    #[arg(long, env = "SLUICE_LEASE_DURATION", default_value_t = 15)]
    pub lease_duration_seconds: u64,

    /// How long the leader keeps trying to renew before it stops acting, in seconds
    /// (less than the lease duration).
    #[arg(long, env = "SLUICE_LEASE_RENEW_DEADLINE", default_value_t = 10)]
    pub renew_deadline_seconds: u64,

    /// How often a standby replica tries to acquire the Lease, in seconds.
    #[arg(long, env = "SLUICE_LEASE_RETRY_PERIOD", default_value_t = 2)]
    pub retry_period_seconds: u64,

    /// How many jobs are reconciled at once.
    #[arg(long, env = "SLUICE_CONCURRENCY", default_value_t = 16)]
    pub concurrency: u16,

    /// Log format: `json` (one object per line) or `text`.
    #[arg(long, env = "SLUICE_LOG_FORMAT", default_value = "json")]
    pub log_format: LogFormat,
}

/// How logs are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable lines.
    Text,
}

/// What the controllers need to know, independent of how it was configured.
#[derive(Clone, Debug)]
pub struct OperatorConfig {
    /// Namespaces to watch; empty = all.
    pub namespaces: Vec<String>,
    /// Default executor image.
    pub executor_image: String,
    /// Image prefixes jobs may use; empty = the repository of `executor_image`.
    pub allowed_images: Vec<String>,
    /// Whether jobs may ask for host networking.
    pub allow_host_network: bool,
    /// Leader election; `None` = run unconditionally.
    pub lease: Option<LeaseConfig>,
    /// Reconciles at once (per watched namespace).
    pub concurrency: u16,
    /// How often a valid job is reconciled even without any change (a safety net).
    pub resync: Duration,
}

impl Default for OperatorConfig {
    fn default() -> Self {
        OperatorConfig {
            namespaces: Vec::new(),
            executor_image: DEFAULT_EXECUTOR_IMAGE.to_owned(),
            allowed_images: Vec::new(),
            allow_host_network: false,
            lease: None,
            concurrency: 16,
            resync: Duration::from_secs(600),
        }
    }
}

impl OperatorConfig {
    /// What jobs may ask of their pods.
    pub fn policy(&self) -> Policy {
        let mut policy = Policy::new(&self.executor_image);
        if !self.allowed_images.is_empty() {
            policy.allowed_images = self.allowed_images.clone();
        }
        policy.allow_host_network = self.allow_host_network;
        policy
    }
}

/// Leader election settings (client-go's defaults: 15 s / 10 s / 2 s).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseConfig {
    /// The Lease's name.
    pub name: String,
    /// The Lease's namespace.
    pub namespace: String,
    /// This replica's identity.
    pub identity: String,
    /// How long a lease is valid after its last renewal.
    pub lease_duration: Duration,
    /// The leader stops acting when it could not renew for this long.
    pub renew_deadline: Duration,
    /// How often standbys try to acquire, and how often a failed renewal is retried.
    pub retry_period: Duration,
}

impl LeaseConfig {
    /// A lease with client-go's default timings.
    pub fn new(
        name: impl Into<String>,
        namespace: impl Into<String>,
        identity: impl Into<String>,
    ) -> Self {
        LeaseConfig {
            name: name.into(),
            namespace: namespace.into(),
            identity: identity.into(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }

    /// How often the leader renews: a third of the lease duration, so that two renewals can
    /// fail before the lease could expire.
    pub fn renew_interval(&self) -> Duration {
        (self.lease_duration / 3).max(Duration::from_millis(200))
    }

    /// Checks that the timings make a correct elector: the leader must give up before anyone
    /// else may take over.
    pub fn check(&self) -> Result<(), LeaseConfigError> {
        if self.renew_deadline >= self.lease_duration {
            return Err(LeaseConfigError::RenewDeadline {
                renew_deadline: self.renew_deadline,
                lease_duration: self.lease_duration,
            });
        }
        if self.retry_period.is_zero() || self.retry_period >= self.renew_deadline {
            return Err(LeaseConfigError::RetryPeriod {
                retry_period: self.retry_period,
                renew_deadline: self.renew_deadline,
            });
        }
        if self.identity.is_empty() {
            return Err(LeaseConfigError::EmptyIdentity);
        }
        Ok(())
    }
}

/// Leader election settings that would make an incorrect elector.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaseConfigError {
    /// The leader would not give up before a standby may take over.
    #[error(
        "the renew deadline ({renew_deadline:?}) must be shorter than the lease duration ({lease_duration:?})"
    )]
    RenewDeadline {
        /// The renew deadline.
        renew_deadline: Duration,
        /// The lease duration.
        lease_duration: Duration,
    },
    /// A failed renewal would not be retried before the deadline.
    #[error(
        "the retry period ({retry_period:?}) must be positive and shorter than the renew deadline ({renew_deadline:?})"
    )]
    RetryPeriod {
        /// The retry period.
        retry_period: Duration,
        /// The renew deadline.
        renew_deadline: Duration,
    },
    /// No identity to write into the Lease.
    #[error("the leader election identity is empty")]
    EmptyIdentity,
}

/// A default identity: `POD_NAME`-less replicas use the host name and a random suffix, so
/// that two processes on one host never share an identity.
pub fn default_identity() -> String {
    use std::hash::{BuildHasher, Hasher};
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "sluice-operator".to_owned());
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    format!("{host}-{:08x}", h.finish() as u32)
}

impl Args {
    /// The controllers' settings. `default_namespace` is the kubeconfig's namespace, used for
    /// the Lease when neither `--lease-namespace` nor `POD_NAMESPACE` is set.
    pub fn operator_config(
        &self,
        default_namespace: &str,
    ) -> Result<OperatorConfig, LeaseConfigError> {
        let lease = if self.leader_election {
            let namespace = self
                .lease_namespace
                .clone()
                .or_else(|| std::env::var("POD_NAMESPACE").ok())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| default_namespace.to_owned());
            let identity = self
                .identity
                .clone()
                .filter(|i| !i.is_empty())
                .unwrap_or_else(default_identity);
            let lease = LeaseConfig {
                lease_duration: Duration::from_secs(self.lease_duration_seconds),
                renew_deadline: Duration::from_secs(self.renew_deadline_seconds),
                retry_period: Duration::from_secs(self.retry_period_seconds),
                ..LeaseConfig::new(&self.lease_name, namespace, identity)
            };
            lease.check()?;
            Some(lease)
        } else {
            None
        };
        let mut namespaces: Vec<String> = self
            .namespaces
            .iter()
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .collect();
        namespaces.sort();
        namespaces.dedup();
        Ok(OperatorConfig {
            namespaces,
            executor_image: self.executor_image.clone(),
            allowed_images: self
                .allowed_images
                .iter()
                .map(|i| i.trim().to_owned())
                .filter(|i| !i.is_empty())
                .collect(),
            allow_host_network: self.allow_host_network,
            lease,
            concurrency: self.concurrency,
            ..OperatorConfig::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn no_arguments_watch_all_namespaces_with_leader_election() {
        let args = Args::try_parse_from(["sluice-operator"]).unwrap();
        let config = args.operator_config("ops").unwrap();
        assert!(config.namespaces.is_empty());
        assert_eq!(config.executor_image, DEFAULT_EXECUTOR_IMAGE);
        let lease = config.lease.unwrap();
        assert_eq!(lease.name, "sluice-operator");
        assert_eq!(lease.lease_duration, Duration::from_secs(15));
    }

    #[test]
    fn namespaces_are_narrowed_by_repeated_or_comma_separated_flags() {
        let args = Args::try_parse_from([
            "sluice-operator",
            "--namespace",
            "b,a",
            "-n",
            "c",
            "--leader-election=false",
        ])
        .unwrap();
        let config = args.operator_config("default").unwrap();
        assert_eq!(config.namespaces, ["a", "b", "c"]);
        assert!(config.lease.is_none());
    }

    #[test]
    fn jobs_may_use_the_executor_images_repository_unless_images_are_listed() {
        let args = Args::try_parse_from([
            "sluice-operator",
            "--executor-image",
            "registry.acme.com/sluice:1.2",
        ])
        .unwrap();
        let policy = args.operator_config("ops").unwrap().policy();
        assert_eq!(policy.allowed_images, ["registry.acme.com/sluice"]);
        assert!(!policy.allow_host_network);
        let args = Args::try_parse_from([
            "sluice-operator",
            "--allowed-image",
            "registry.acme.com/,docker.io/envoyproxy/envoy",
            "--allow-host-network=true",
        ])
        .unwrap();
        let policy = args.operator_config("ops").unwrap().policy();
        assert_eq!(
            policy.allowed_images,
            ["registry.acme.com/", "docker.io/envoyproxy/envoy"]
        );
        assert!(policy.allow_host_network);
    }

    #[test]
    fn a_renew_deadline_longer_than_the_lease_is_refused() {
        let args = Args::try_parse_from([
            "sluice-operator",
            "--lease-duration-seconds",
            "5",
            "--renew-deadline-seconds",
            "10",
        ])
        .unwrap();
        assert!(matches!(
            args.operator_config("default"),
            Err(LeaseConfigError::RenewDeadline { .. })
        ));
    }

    #[test]
    fn default_identities_differ_between_processes_on_one_host() {
        assert_ne!(default_identity(), default_identity());
    }
}
