//! Build: a validated job → the Kubernetes objects that run it. Pure functions only; the
//! inputs were checked by [`crate::validate`], so nothing here can fail.
//!
//! Every object is named `<job>-executor`, labelled with [`common_labels`], and owned by the
//! job (a controller owner reference), so that deleting the job garbage-collects them.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource, EnvVar,
    EnvVarSource, HTTPGetAction, ObjectFieldSelector, PodSpec, PodTemplateSpec, Probe,
    ResourceFieldSelector, ResourceRequirements, SecretKeySelector, ServiceAccount, Volume,
    VolumeMount,
};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sluice_crds::{StreamingJob, StreamingTable};
use sluice_executor::job::SecretEnv;

/// The field manager of every server-side apply the operator makes.
pub const FIELD_MANAGER: &str = "sluice-operator";
pub use crate::executor_container::{CONTAINER, EXECUTOR_UID};
/// Label: the job an object belongs to.
pub const LABEL_JOB: &str = "sluice.dev/job";
/// Label: what the object is (`sluice-executor`).
pub const LABEL_NAME: &str = "app.kubernetes.io/name";
/// Label: the job, in the standard vocabulary.
pub const LABEL_INSTANCE: &str = "app.kubernetes.io/instance";
/// Label: who manages the object (`sluice-operator`).
pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// Value of [`LABEL_NAME`] on executor objects and pods.
pub const EXECUTOR_NAME: &str = "sluice-executor";
/// Pod template annotation: hash of the executor's configuration; a change rolls out pods.
pub const ANNOTATION_CONFIG_HASH: &str = "sluice.dev/config-hash";
/// Annotation on every object the operator applies: hash of what it applied, so that an
/// unchanged object is not written again.
pub const ANNOTATION_APPLIED_HASH: &str = "sluice.dev/applied-hash";
/// Deployment annotation: the job generation whose spec the Deployment runs.
pub const ANNOTATION_JOB_GENERATION: &str = "sluice.dev/job-generation";
/// Where the configuration is mounted.
pub const CONFIG_DIR: &str = "/etc/sluice";
/// The configuration's file (and ConfigMap key).
pub const CONFIG_FILE: &str = "job.yaml";
/// Seconds an executor has to flush and commit after SIGTERM.
pub const TERMINATION_GRACE_SECONDS: i64 = 60;

/// The name of every object the operator makes for a job.
pub fn child_name(job: &str) -> String {
    format!("{job}-executor")
}

/// The labels that select a job's executor pods.
pub fn selector_labels(job: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (LABEL_NAME.to_owned(), EXECUTOR_NAME.to_owned()),
        (LABEL_JOB.to_owned(), job.to_owned()),
    ])
}

/// The labels of every object the operator makes for a job (and of its pods).
pub fn common_labels(job: &str) -> BTreeMap<String, String> {
    let mut labels = selector_labels(job);
    labels.insert(LABEL_INSTANCE.to_owned(), job.to_owned());
    labels.insert(LABEL_MANAGED_BY.to_owned(), FIELD_MANAGER.to_owned());
    labels
}

/// The label selector of everything the operator manages (for its watches).
pub fn managed_selector() -> String {
    format!("{LABEL_MANAGED_BY}={FIELD_MANAGER}")
}

/// The label selector of every executor pod (for the operator's pod watch).
pub fn executor_pod_selector() -> String {
    format!("{LABEL_NAME}={EXECUTOR_NAME}")
}

/// What the executor pod is made of, before the user's overlay.
#[derive(Clone, Debug)]
pub struct PodInputs<'a> {
    /// The job's name.
    pub job: &'a str,
    /// The executor image.
    pub image: &'a str,
    /// The image pull policy, if set.
    pub image_pull_policy: Option<&'a str>,
    /// The ServiceAccount pods run as.
    pub service_account: &'a str,
    /// The `/metrics`, `/healthz`, `/readyz` port.
    pub metrics_port: u16,
    /// CPU and memory.
    pub resources: Option<ResourceRequirements>,
    /// Secret-valued options, as environment variables.
    pub secrets: &'a [SecretEnv],
}

/// The executor pod as the operator renders it (the overlay is merged into this).
pub fn pod_spec(i: &PodInputs<'_>) -> PodSpec {
    let field = |name: &str, path: &str| EnvVar {
        name: name.to_owned(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: path.to_owned(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut env = vec![
        field("POD_NAME", "metadata.name"),
        field("POD_NAMESPACE", "metadata.namespace"),
        EnvVar {
            name: "SLUICE_MEMORY_LIMIT".to_owned(),
            value_from: Some(EnvVarSource {
                resource_field_ref: Some(ResourceFieldSelector {
                    container_name: Some(CONTAINER.to_owned()),
                    resource: "limits.memory".to_owned(),
                    divisor: Some(Quantity("1".to_owned())),
                }),
                ..Default::default()
            }),
            ..Default::default()
        },
    ];
    let mut secrets: Vec<&SecretEnv> = i.secrets.iter().collect();
    secrets.sort_by(|a, b| a.env.cmp(&b.env));
    secrets.dedup_by(|a, b| a.env == b.env);
    env.extend(secrets.into_iter().map(|s| EnvVar {
        name: s.env.clone(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: s.secret.clone(),
                key: s.key.clone(),
                optional: None,
            }),
            ..Default::default()
        }),
        ..Default::default()
    }));
    let probe = |path: &str, period: i32, failures: i32, delay: Option<i32>| Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_owned()),
            port: IntOrString::String("metrics".to_owned()),
            ..Default::default()
        }),
        initial_delay_seconds: delay,
        period_seconds: Some(period),
        failure_threshold: Some(failures),
        ..Default::default()
    };
    let container = Container {
        name: CONTAINER.to_owned(),
        image: Some(i.image.to_owned()),
        image_pull_policy: i.image_pull_policy.map(str::to_owned),
        command: Some(vec!["sluice".to_owned()]),
        args: Some(vec![
            "run".to_owned(),
            "-f".to_owned(),
            format!("{CONFIG_DIR}/{CONFIG_FILE}"),
            "--job".to_owned(),
            i.job.to_owned(),
        ]),
        env: Some(env),
        ports: Some(vec![ContainerPort {
            name: Some("metrics".to_owned()),
            container_port: i32::from(i.metrics_port),
            protocol: Some("TCP".to_owned()),
            ..Default::default()
        }]),
        readiness_probe: Some(probe("/readyz", 5, 3, None)),
        liveness_probe: Some(probe("/healthz", 10, 6, Some(15))),
        resources: i.resources.clone(),
        security_context: Some(crate::policy::container_security_context()),
        volume_mounts: Some(vec![
            VolumeMount {
                name: "config".to_owned(),
                mount_path: CONFIG_DIR.to_owned(),
                read_only: Some(true),
                ..Default::default()
            },
            VolumeMount {
                name: "tmp".to_owned(),
                mount_path: "/tmp".to_owned(),
                ..Default::default()
            },
        ]),
        ..Default::default()
    };
    PodSpec {
        containers: vec![container],
        service_account_name: Some(i.service_account.to_owned()),
        termination_grace_period_seconds: Some(TERMINATION_GRACE_SECONDS),
        enable_service_links: Some(false),
        security_context: Some(crate::policy::pod_security_context()),
        volumes: Some(vec![
            Volume {
                name: "config".to_owned(),
                config_map: Some(ConfigMapVolumeSource {
                    name: child_name(i.job),
                    ..Default::default()
                }),
                ..Default::default()
            },
            Volume {
                name: "tmp".to_owned(),
                empty_dir: Some(EmptyDirVolumeSource::default()),
                ..Default::default()
            },
        ]),
        ..Default::default()
    }
}

/// A resource as the executor reads it: apiVersion, kind, name, namespace and spec only.
#[derive(Serialize)]
struct CleanManifest<'a, S> {
    #[serde(rename = "apiVersion")]
    api_version: String,
    kind: &'static str,
    metadata: CleanMeta<'a>,
    spec: &'a S,
}

#[derive(Serialize)]
struct CleanMeta<'a> {
    name: &'a str,
    namespace: &'a str,
}

/// The executor's `job.yaml`: the tables the job uses, then the job, as clean manifests.
/// Returns the text and its hash; the hash ignores `parallelism` and `suspend`, so that scaling
/// or suspending does not restart pods.
pub fn executor_config(
    job: &StreamingJob,
    namespace: &str,
    tables: &[&StreamingTable],
) -> (String, String) {
    let api_version = format!("{}/{}", sluice_crds::GROUP, sluice_crds::VERSION);
    let render = |job_spec: &sluice_crds::StreamingJobSpec| {
        let mut docs = Vec::new();
        for t in tables {
            docs.push(yaml(&CleanManifest {
                api_version: api_version.clone(),
                kind: "StreamingTable",
                metadata: CleanMeta {
                    name: t.metadata.name.as_deref().unwrap_or_default(),
                    namespace,
                },
                spec: &t.spec,
            }));
        }
        docs.push(yaml(&CleanManifest {
            api_version: api_version.clone(),
            kind: "StreamingJob",
            metadata: CleanMeta {
                name: job.metadata.name.as_deref().unwrap_or_default(),
                namespace,
            },
            spec: job_spec,
        }));
        docs.join("---\n")
    };
    let text = render(&job.spec);
    let mut for_hash = job.spec.clone();
    for_hash.parallelism = 1;
    for_hash.suspend = false;
    let hash = short_hash(render(&for_hash).as_bytes());
    (text, hash)
}

fn yaml<T: Serialize>(value: &T) -> String {
    // Plain data (strings, maps, numbers) always serializes.
    serde_yaml::to_string(value).unwrap_or_default()
}

/// The first 16 hex digits of the SHA-256 of `bytes`.
pub fn short_hash(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    hex::encode(&digest[..8])
}

/// A job ready to be rendered: everything [`crate::validate::validate_job`] checked.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidJob {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// `metadata.generation`.
    pub generation: i64,
    /// The controller owner reference children get (absent only for jobs never stored).
    pub owner: Option<OwnerReference>,
    /// Desired executor pods (0 when suspended).
    pub replicas: i32,
    /// The ServiceAccount pods run as.
    pub service_account: String,
    /// Whether the operator creates that ServiceAccount (it does unless `spec.serviceAccountName`).
    pub owns_service_account: bool,
    /// The executor's `job.yaml`.
    pub config: String,
    /// Its hash (see [`executor_config`]).
    pub config_hash: String,
    /// Pod labels from the overlay (the operator's own labels win).
    pub pod_labels: BTreeMap<String, String>,
    /// Pod annotations from the overlay (the config hash wins).
    pub pod_annotations: BTreeMap<String, String>,
    /// The executor pod, overlay merged.
    pub pod_spec: PodSpec,
    /// `namespace/name` of the tables used.
    pub tables: Vec<String>,
    /// SQL names of the tables used.
    pub sql_names: Vec<String>,
}

/// Everything a valid job is made of.
#[derive(Clone, Debug, PartialEq)]
pub struct Children {
    /// `job.yaml`.
    pub config_map: ConfigMap,
    /// The executors.
    pub deployment: Deployment,
    /// The executors' identity, unless the job names its own.
    pub service_account: Option<ServiceAccount>,
    /// What executors may do.
    pub role: Role,
    /// Who may do it.
    pub role_binding: RoleBinding,
}

fn meta(v: &ValidJob) -> ObjectMeta {
    ObjectMeta {
        name: Some(child_name(&v.name)),
        namespace: Some(v.namespace.clone()),
        labels: Some(common_labels(&v.name)),
        owner_references: v.owner.clone().map(|o| vec![o]),
        ..Default::default()
    }
}

/// The executor's configuration.
pub fn config_map(v: &ValidJob) -> ConfigMap {
    ConfigMap {
        metadata: meta(v),
        data: Some(BTreeMap::from([(CONFIG_FILE.to_owned(), v.config.clone())])),
        ..Default::default()
    }
}

/// The executors: `replicas` pods, replaced all at once (`Recreate`) when the configuration
/// changes, so that old and new SQL never run side by side.
pub fn deployment(v: &ValidJob) -> Deployment {
    let mut labels = v.pod_labels.clone();
    labels.extend(common_labels(&v.name));
    let mut annotations = v.pod_annotations.clone();
    annotations.insert(ANNOTATION_CONFIG_HASH.to_owned(), v.config_hash.clone());
    annotations.insert(
        "kubectl.kubernetes.io/default-container".to_owned(),
        CONTAINER.to_owned(),
    );
    let mut metadata = meta(v);
    metadata.annotations = Some(BTreeMap::from([(
        ANNOTATION_JOB_GENERATION.to_owned(),
        v.generation.to_string(),
    )]));
    Deployment {
        metadata,
        spec: Some(DeploymentSpec {
            replicas: Some(v.replicas),
            selector: LabelSelector {
                match_labels: Some(selector_labels(&v.name)),
                ..Default::default()
            },
            strategy: Some(DeploymentStrategy {
                type_: Some("Recreate".to_owned()),
                ..Default::default()
            }),
            revision_history_limit: Some(5),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    annotations: Some(annotations),
                    ..Default::default()
                }),
                spec: Some(v.pod_spec.clone()),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The executors' ServiceAccount, unless the job runs under its own.
pub fn service_account(v: &ValidJob) -> Option<ServiceAccount> {
    v.owns_service_account.then(|| ServiceAccount {
        metadata: meta(v),
        ..Default::default()
    })
}

/// Least privilege for executors: patch their own job's status (server-side apply of their
/// partition entries), nothing else. They read their configuration from the mounted ConfigMap
/// and record no Events.
pub fn role(v: &ValidJob) -> Role {
    let strings = |items: &[&str]| Some(items.iter().map(|s| (*s).to_owned()).collect());
    Role {
        metadata: meta(v),
        rules: Some(vec![PolicyRule {
            api_groups: strings(&[sluice_crds::GROUP]),
            resources: strings(&["streamingjobs/status"]),
            resource_names: strings(&[&v.name]),
            verbs: vec!["patch".to_owned()],
            ..Default::default()
        }]),
    }
}

/// Binds [`role`] to the ServiceAccount the executors run as.
pub fn role_binding(v: &ValidJob) -> RoleBinding {
    RoleBinding {
        metadata: meta(v),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".to_owned(),
            kind: "Role".to_owned(),
            name: child_name(&v.name),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".to_owned(),
            name: v.service_account.clone(),
            namespace: Some(v.namespace.clone()),
            ..Default::default()
        }]),
    }
}

/// Every object of a valid job.
pub fn build(v: &ValidJob) -> Children {
    Children {
        config_map: config_map(v),
        deployment: deployment(v),
        service_account: service_account(v),
        role: role(v),
        role_binding: role_binding(v),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::validate::validate_job;
    use kube::ResourceExt;
    use sluice_crds::Manifests;
    use std::path::Path;

    pub(crate) fn example(file: &str) -> (StreamingJob, Vec<StreamingTable>) {
        let m = Manifests::load(&[Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../examples")
            .join(file)])
        .unwrap();
        let (job, _) = m.jobs[0].clone();
        let mut job = job;
        job.metadata.uid = Some("uid-1".into());
        job.metadata.generation = Some(3);
        (job, m.tables.into_iter().map(|(t, _)| t).collect())
    }

    /// The operator policy of unit tests: the default image `sluice:test`, and the example's
    /// `ghcr.io/example/` images allowed.
    pub(crate) fn test_policy() -> crate::policy::Policy {
        let mut p = crate::policy::Policy::new("sluice:test");
        p.allowed_images.push("ghcr.io/example/".into());
        p
    }

    /// ServiceAccounts opted in as executor identities, as the controller's cache gives them.
    pub(crate) fn accounts(names: &[&str]) -> std::collections::BTreeSet<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    fn valid(job: &StreamingJob, tables: &[StreamingTable]) -> ValidJob {
        let v = validate_job(job, tables, &test_policy(), &accounts(&["sluice-ticks"]))
            .unwrap_or_else(|p| panic!("{p:?}"));
        crate::policy::tests::assert_hardened(&v.pod_spec, &v.service_account);
        v
    }

    #[test]
    fn the_deployment_runs_parallelism_executors_with_the_fixed_command_and_env() {
        let (job, tables) = example("stock-ticks.yaml");
        let d = deployment(&valid(&job, &tables));
        assert_eq!(d.metadata.name.as_deref(), Some("filter-ticks-executor"));
        let owner = &d.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(owner.kind, "StreamingJob");
        assert_eq!(owner.controller, Some(true));
        let spec = d.spec.unwrap();
        assert_eq!(spec.replicas, Some(1));
        assert_eq!(spec.strategy.unwrap().type_.as_deref(), Some("Recreate"));
        let template = spec.template;
        let pod = template.spec.unwrap();
        let c = &pod.containers[0];
        assert_eq!(c.image.as_deref(), Some("sluice:test"));
        assert_eq!(
            c.args.as_ref().unwrap().join(" "),
            "run -f /etc/sluice/job.yaml --job filter-ticks"
        );
        let env: Vec<_> = c
            .env
            .as_ref()
            .unwrap()
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        assert_eq!(env, ["POD_NAME", "POD_NAMESPACE", "SLUICE_MEMORY_LIMIT"]);
        assert_eq!(c.ports.as_ref().unwrap()[0].container_port, 9464);
        assert_eq!(
            c.readiness_probe
                .as_ref()
                .unwrap()
                .http_get
                .as_ref()
                .unwrap()
                .path
                .as_deref(),
            Some("/readyz")
        );
        let sc = c.security_context.as_ref().unwrap();
        assert_eq!(sc.read_only_root_filesystem, Some(true));
        assert_eq!(sc.allow_privilege_escalation, Some(false));
        assert_eq!(
            sc.capabilities.as_ref().unwrap().drop.as_deref(),
            Some(&["ALL".to_owned()][..])
        );
        let psc = pod.security_context.as_ref().unwrap();
        assert_eq!(psc.run_as_user, Some(65532));
        assert_eq!(
            psc.seccomp_profile.as_ref().unwrap().type_,
            "RuntimeDefault"
        );
        assert_eq!(pod.termination_grace_period_seconds, Some(60));
        assert_eq!(
            pod.service_account_name.as_deref(),
            Some("filter-ticks-executor")
        );
        let annotations = template.metadata.unwrap().annotations.unwrap();
        assert_eq!(annotations[ANNOTATION_CONFIG_HASH].len(), 16);
    }

    #[test]
    fn suspending_scales_to_zero_without_changing_the_config_hash() {
        let (mut job, tables) = example("stock-ticks.yaml");
        let running = valid(&job, &tables);
        job.spec.suspend = true;
        let suspended = valid(&job, &tables);
        assert_eq!(suspended.replicas, 0);
        assert_eq!(suspended.config_hash, running.config_hash);
        job.spec.suspend = false;
        job.spec.parallelism = 3;
        let scaled = valid(&job, &tables);
        assert_eq!(scaled.replicas, 3);
        assert_eq!(scaled.config_hash, running.config_hash);
    }

    #[test]
    fn a_sql_or_table_change_changes_the_config_hash() {
        let (mut job, mut tables) = example("stock-ticks.yaml");
        let before = valid(&job, &tables).config_hash;
        tables[1]
            .spec
            .options
            .insert("sink.rolling-policy.file-size".into(), "64MB".into());
        let table_changed = valid(&job, &tables).config_hash;
        assert_ne!(before, table_changed);
        job.spec.sql = job.spec.sql.replace("price > 10", "price > 20");
        assert_ne!(valid(&job, &tables).config_hash, table_changed);
    }

    #[test]
    fn the_config_holds_clean_manifests_the_executor_validates_the_same_way() {
        let (mut job, tables) = example("stock-ticks.yaml");
        job.metadata.resource_version = Some("42".into());
        job.metadata.labels = Some([("x".to_owned(), "y".to_owned())].into());
        let v = valid(&job, &tables);
        let cm = config_map(&v);
        let text = &cm.data.unwrap()[CONFIG_FILE];
        assert!(
            !text.contains("resourceVersion") && !text.contains("uid"),
            "{text}"
        );
        let m = Manifests::parse(Path::new("job.yaml"), text).unwrap();
        assert_eq!(m.tables.len(), 2);
        let (read, _) = m.job(Some("filter-ticks")).unwrap();
        assert_eq!(read.metadata.namespace.as_deref(), Some("default"));
        let tables: Vec<_> = m.tables.iter().map(|(t, _)| t.clone()).collect();
        sluice_executor::job::validate(read, &tables).unwrap_or_else(|p| panic!("{p:?}"));
    }

    #[test]
    fn executors_may_only_patch_their_own_jobs_status() {
        let (job, tables) = example("stock-ticks.yaml");
        let v = valid(&job, &tables);
        let rules = role(&v).rules.unwrap();
        assert_eq!(rules.len(), 1, "{rules:?}");
        assert_eq!(
            rules[0].api_groups.as_deref(),
            Some(&["sluice.dev".to_owned()][..])
        );
        assert_eq!(
            rules[0].resources.as_deref(),
            Some(&["streamingjobs/status".to_owned()][..])
        );
        assert_eq!(
            rules[0].resource_names.as_deref(),
            Some(&["filter-ticks".to_owned()][..])
        );
        assert_eq!(rules[0].verbs, ["patch"]);
        let binding = role_binding(&v);
        assert_eq!(binding.subjects.unwrap()[0].name, "filter-ticks-executor");
        assert!(service_account(&v).is_some());
    }

    #[test]
    fn a_job_with_its_own_service_account_gets_the_role_bound_to_it_and_no_account_of_ours() {
        let (job, mut tables) = example("stock-ticks-msk.yaml");
        tables.extend(
            example("stock-ticks.yaml")
                .1
                .into_iter()
                .filter(|t| t.name_any() == "sink-table"),
        );
        let v = valid(&job, &tables);
        assert!(service_account(&v).is_none());
        assert_eq!(role_binding(&v).subjects.unwrap()[0].name, "sluice-ticks");
        let d = deployment(&v);
        let template = d.spec.unwrap().template;
        let pod = template.spec.unwrap();
        assert_eq!(pod.service_account_name.as_deref(), Some("sluice-ticks"));
        assert_eq!(
            pod.containers[0].image.as_deref(),
            Some("ghcr.io/example/sluice:0.1.0")
        );
        let env = pod.containers[0].env.as_ref().unwrap();
        let secret = env
            .iter()
            .find(|e| e.name == "SLUICE_SECRET_STOCK_TICKS__PROPERTIES_SASL_PASSWORD")
            .unwrap();
        let r = secret
            .value_from
            .as_ref()
            .unwrap()
            .secret_key_ref
            .as_ref()
            .unwrap();
        assert_eq!(
            (r.name.as_str(), r.key.as_str()),
            ("msk-credentials", "password")
        );
        assert_eq!(pod.node_selector.unwrap()["kubernetes.io/arch"], "arm64");
        assert_eq!(
            pod.tolerations.unwrap()[0].value.as_deref(),
            Some("streaming")
        );
        let limits = pod.containers[0]
            .resources
            .as_ref()
            .unwrap()
            .limits
            .as_ref()
            .unwrap();
        assert_eq!(limits["memory"], Quantity("512Mi".into()));
        let annotations = template.metadata.unwrap().annotations.unwrap();
        assert_eq!(annotations["example.com/team"], "market-data");
    }
}
