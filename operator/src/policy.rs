//! What a `StreamingJob` may ask of the pods the operator creates for it. Whoever may create a
//! job may not be allowed to create pods; the operator, which may, must not lend them that
//! right (docs/security.md). So:
//!
//! - `spec.podTemplate` is an **allow-list**, checked on the user's overlay before it is
//!   merged ([`overlay_problems`]): scheduling (node selector, tolerations, affinity, topology
//!   spread, priority class, DNS), labels and annotations, resources, sidecar and init
//!   containers, volumes of types that expose nothing of the node or of the namespace's Secrets
//!   (`emptyDir`, `configMap`, `downwardAPI`, `projected` service-account tokens, downward API
//!   and ConfigMaps). Anything else — `securityContext`, host namespaces, `nodeName`,
//!   `hostPath`, `secret` volumes, Secret-valued environment, `imagePullSecrets`,
//!   `serviceAccountName`, ... — is refused with its path and the reason.
//! - After the merge the hardened security context is **re-applied** to the pod and to every
//!   container ([`harden`]), and fields no overlay may set are reset, so that a gap in the
//!   allow-list cannot undo it.
//! - Images (`spec.image`, containers of the overlay) must start with one of the operator's
//!   allowed prefixes ([`Policy::image_allowed`]); by default the repository of its executor
//!   image.
//! - `hostNetwork` is refused unless the operator runs with `--allow-host-network` (clusters
//!   without a pod network).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, PodSecurityContext, PodSpec, SeccompProfile, SecurityContext, Volume,
};
use serde_json::Value;

use crate::executor_container::{CONTAINER, EXECUTOR_UID};

/// Label that opts a ServiceAccount in as an identity for executors (value `true`). Only a
/// namespace admin (who may patch ServiceAccounts, and so may already run pods as them) can
/// set it; a job naming an account without it is refused.
pub const LABEL_EXECUTOR_ACCOUNT: &str = "sluice.dev/executor";
/// Condition reason: the overlay asks for something outside the allow-list.
pub const FORBIDDEN_POD_TEMPLATE: &str = "ForbiddenPodTemplate";
/// Condition reason: an image the operator does not allow.
pub const FORBIDDEN_IMAGE: &str = "ForbiddenImage";
/// Condition reason: `spec.serviceAccountName` is not opted in.
pub const ACCOUNT_NOT_PERMITTED: &str = "ServiceAccountNotPermitted";

/// Whether a problem's reason is one of the refusals above: a job refused for them does not
/// keep its last Deployment running (it is scaled to zero), since what it asks for may have
/// been withdrawn (a ServiceAccount's opt-in label removed, an image no longer allowed).
pub fn is_refusal(reason: &str) -> bool {
    matches!(
        reason,
        FORBIDDEN_POD_TEMPLATE | FORBIDDEN_IMAGE | ACCOUNT_NOT_PERMITTED
    )
}

/// The overlay's path in the job, for messages.
const ROOT: &str = "spec.podTemplate.spec";

/// Where the reasons are explained.
const SEE: &str = "see docs/security.md";

/// What the operator lets jobs ask for, from its command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// The executor image for jobs without `spec.image`.
    pub default_image: String,
    /// Image prefixes jobs may use (`spec.image`, overlay containers). `*` allows any image.
    pub allowed_images: Vec<String>,
    /// Whether `spec.podTemplate.spec.hostNetwork: true` is allowed.
    pub allow_host_network: bool,
}

impl Policy {
    /// A policy allowing the default image's repository only, without host networking.
    pub fn new(default_image: &str) -> Policy {
        Policy {
            default_image: default_image.to_owned(),
            allowed_images: vec![repository(default_image).to_owned()],
            allow_host_network: false,
        }
    }

    /// Whether `image` starts with an allowed prefix, at a boundary: `ghcr.io/x/sluice` allows
    /// `ghcr.io/x/sluice:1` and `ghcr.io/x/sluice@sha256:…`, not `ghcr.io/x/sluice-evil`; a
    /// prefix ending in `/` allows a whole registry path.
    pub fn image_allowed(&self, image: &str) -> bool {
        self.allowed_images.iter().any(|p| {
            p == "*"
                || image == p
                || (image.starts_with(p.as_str())
                    && (p.ends_with(['/', ':', '@'])
                        || image[p.len()..].starts_with([':', '@', '/'])))
        })
    }

    /// The refusal message for an image, naming `field`.
    pub fn image_problem(&self, field: &str, image: &str) -> Option<String> {
        (!self.image_allowed(image)).then(|| {
            format!(
                "{field}: image {image:?} is not allowed by the operator (allowed: {}); ask the platform team to add it to --allowed-image, {SEE}",
                self.allowed_images.join(", ")
            )
        })
    }
}

/// `registry/path/name` of an image reference, without tag or digest.
pub fn repository(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    match image.rfind(':') {
        Some(colon) if !image[colon..].contains('/') => &image[..colon],
        _ => image,
    }
}

/// PodSpec fields an overlay may set.
const POD_FIELDS: &[&str] = &[
    "affinity",
    "containers",
    "dnsConfig",
    "dnsPolicy",
    "hostNetwork", // `true` only with --allow-host-network
    "initContainers",
    "nodeSelector",
    "priorityClassName",
    "terminationGracePeriodSeconds",
    "tolerations",
    "topologySpreadConstraints",
    "volumes",
];

/// Every PodSpec field (Kubernetes 1.33); those not in [`POD_FIELDS`] are refused, others are
/// misspellings the merge reports.
const KNOWN_POD_FIELDS: &[&str] = &[
    "activeDeadlineSeconds",
    "affinity",
    "automountServiceAccountToken",
    "containers",
    "dnsConfig",
    "dnsPolicy",
    "enableServiceLinks",
    "ephemeralContainers",
    "hostAliases",
    "hostIPC",
    "hostNetwork",
    "hostPID",
    "hostUsers",
    "hostname",
    "imagePullSecrets",
    "initContainers",
    "nodeName",
    "nodeSelector",
    "os",
    "overhead",
    "preemptionPolicy",
    "priority",
    "priorityClassName",
    "readinessGates",
    "resourceClaims",
    "resources",
    "restartPolicy",
    "runtimeClassName",
    "schedulerName",
    "schedulingGates",
    "securityContext",
    "serviceAccount",
    "serviceAccountName",
    "setHostnameAsFQDN",
    "shareProcessNamespace",
    "subdomain",
    "terminationGracePeriodSeconds",
    "tolerations",
    "topologySpreadConstraints",
    "volumes",
];

/// Every Container field (Kubernetes 1.33), as [`KNOWN_POD_FIELDS`].
const KNOWN_CONTAINER_FIELDS: &[&str] = &[
    "args",
    "command",
    "env",
    "envFrom",
    "image",
    "imagePullPolicy",
    "lifecycle",
    "livenessProbe",
    "name",
    "ports",
    "readinessProbe",
    "resizePolicy",
    "resources",
    "restartPolicy",
    "securityContext",
    "startupProbe",
    "stdin",
    "stdinOnce",
    "terminationMessagePath",
    "terminationMessagePolicy",
    "tty",
    "volumeDevices",
    "volumeMounts",
    "workingDir",
];

/// Container fields an overlay may set (on the executor container and on sidecars).
const CONTAINER_FIELDS: &[&str] = &[
    "args",
    "command",
    "env",
    "envFrom",
    "image",
    "imagePullPolicy",
    "lifecycle",
    "livenessProbe",
    "name",
    "ports",
    "readinessProbe",
    "resources",
    "startupProbe",
    "terminationMessagePath",
    "terminationMessagePolicy",
    "volumeMounts",
    "workingDir",
];

/// Volume types an overlay may add.
const VOLUME_TYPES: &[&str] = &["configMap", "downwardAPI", "emptyDir", "projected"];

/// Sources of a `projected` volume an overlay may use.
const PROJECTED_SOURCES: &[&str] = &["configMap", "downwardAPI", "serviceAccountToken"];

/// Pod annotations that change the pod's security profile (Pod Security Admission reads them).
const SECURITY_ANNOTATION_PREFIXES: &[&str] = &[
    "container.apparmor.security.beta.kubernetes.io/",
    "seccomp.security.alpha.kubernetes.io/",
    "container.seccomp.security.alpha.kubernetes.io/",
];

/// Environment variables of the executor container an overlay may not set: those the operator
/// sets, and those that redirect where the executor sends signed requests.
fn reserved_env(name: &str) -> bool {
    matches!(name, "POD_NAME" | "POD_NAMESPACE")
        || name.starts_with("SLUICE_")
        || name.starts_with("AWS_ENDPOINT_URL")
}

/// Every problem of an overlay (`spec.podTemplate`): fields outside the allow-list, forbidden
/// values, images not allowed. `rendered_volumes` and `rendered_mounts` are the names and mount
/// paths of the executor's own volumes, which an overlay may not replace.
pub fn overlay_problems(
    policy: &Policy,
    labels_annotations: Option<&BTreeMap<String, String>>,
    spec: Option<&Value>,
    rendered_volumes: &[&str],
    rendered_mounts: &[&str],
) -> Vec<String> {
    let mut out = Vec::new();
    for key in labels_annotations.into_iter().flat_map(|a| a.keys()) {
        if SECURITY_ANNOTATION_PREFIXES
            .iter()
            .any(|p| key.starts_with(p))
        {
            out.push(format!(
                "spec.podTemplate.metadata.annotations.{key}: not allowed: it changes the pods' AppArmor or seccomp profile, which the operator sets; {SEE}"
            ));
        }
    }
    let Some(Value::Object(spec)) = spec else {
        return out; // not a map: reported by the merge
    };
    for (key, value) in spec {
        let at = format!("{ROOT}.{key}");
        if !POD_FIELDS.contains(&key.as_str()) {
            // A misspelt field is reported by the merge as an unknown field.
            if KNOWN_POD_FIELDS.contains(&key.as_str()) {
                out.push(format!("{at}: not allowed: {}; {SEE}", why_pod_field(key)));
            }
            continue;
        }
        match key.as_str() {
            "hostNetwork" if value == &Value::Bool(true) && !policy.allow_host_network => {
                out.push(format!(
                    "{at}: not allowed: host networking shares the node's network namespace and is enabled only when the operator runs with --allow-host-network; {SEE}"
                ));
            }
            "containers" | "initContainers" => {
                for (i, c) in value.as_array().into_iter().flatten().enumerate() {
                    let name = c.get("name").and_then(Value::as_str);
                    let at = match name {
                        Some(n) => format!("{at}[name={n}]"),
                        None => format!("{at}[{i}]"),
                    };
                    let executor = key == "containers" && name == Some(CONTAINER);
                    container_problems(policy, c, &at, executor, rendered_mounts, &mut out);
                }
            }
            "volumes" => {
                for (i, v) in value.as_array().into_iter().flatten().enumerate() {
                    let name = v.get("name").and_then(Value::as_str);
                    let at = match name {
                        Some(n) => format!("{at}[name={n}]"),
                        None => format!("{at}[{i}]"),
                    };
                    if let Some(n) = name
                        && rendered_volumes.contains(&n)
                    {
                        out.push(format!(
                            "{at}: not allowed: the volume {n:?} is the executor's own; name yours differently"
                        ));
                        continue;
                    }
                    volume_problems(v, &at, &mut out);
                }
            }
            _ => {}
        }
    }
    out
}

fn why_pod_field(key: &str) -> &'static str {
    match key {
        "securityContext" => {
            "executor pods run with the operator's hardened security context (non-root uid 65532, RuntimeDefault seccomp); it cannot be changed or removed"
        }
        "hostPID" | "hostIPC" | "shareProcessNamespace" => {
            "it shares the node's (or the pod's) process or IPC namespace"
        }
        "nodeName" => "it bypasses the scheduler and its admission; use nodeSelector or affinity",
        "serviceAccountName" | "serviceAccount" | "automountServiceAccountToken" => {
            "the pods' identity is spec.serviceAccountName, which must be a ServiceAccount labelled sluice.dev/executor=true"
        }
        "imagePullSecrets" => {
            "it uses the namespace's registry credentials; images come from the operator's allowed registries"
        }
        "ephemeralContainers" => "ephemeral containers are for kubectl debug",
        _ => {
            "the overlay may set only affinity, containers, dnsConfig, dnsPolicy, hostNetwork, initContainers, nodeSelector, priorityClassName, terminationGracePeriodSeconds, tolerations, topologySpreadConstraints and volumes"
        }
    }
}

fn container_problems(
    policy: &Policy,
    c: &Value,
    at: &str,
    executor: bool,
    rendered_mounts: &[&str],
    out: &mut Vec<String>,
) {
    let Value::Object(c) = c else {
        return; // reported by the merge
    };
    for (key, value) in c {
        let at = format!("{at}.{key}");
        if !CONTAINER_FIELDS.contains(&key.as_str())
            && KNOWN_CONTAINER_FIELDS.contains(&key.as_str())
        {
            let why = match key.as_str() {
                "securityContext" => {
                    "every container runs with the hardened security context (non-root, no privilege escalation, all capabilities dropped, read-only root filesystem; write to an emptyDir volume)"
                }
                "volumeDevices" => "it exposes block devices",
                _ => {
                    "a container of the overlay may set only args, command, env, envFrom, image, imagePullPolicy, lifecycle, livenessProbe, name, ports, readinessProbe, resources, startupProbe, terminationMessagePath, terminationMessagePolicy, volumeMounts and workingDir"
                }
            };
            out.push(format!("{at}: not allowed: {why}; {SEE}"));
            continue;
        }
        match key.as_str() {
            "image" => {
                if let Some(image) = value.as_str()
                    && let Some(p) = policy.image_problem(&at, image)
                {
                    out.push(p);
                }
            }
            "env" => {
                for (i, e) in value.as_array().into_iter().flatten().enumerate() {
                    let name = e.get("name").and_then(Value::as_str).unwrap_or_default();
                    let at = format!(
                        "{at}[{}]",
                        if name.is_empty() {
                            i.to_string()
                        } else {
                            format!("name={name}")
                        }
                    );
                    if e.pointer("/valueFrom/secretKeyRef").is_some() {
                        out.push(format!(
                            "{at}.valueFrom.secretKeyRef: not allowed: a job may not read the namespace's Secrets into its pods; Kafka and S3 credentials go in a table's spec.optionsFrom; {SEE}"
                        ));
                    }
                    if executor && reserved_env(name) {
                        out.push(format!(
                            "{at}: not allowed: {name} is set by the operator or redirects the executor's requests; use the table options (s3.endpoint, ...) instead"
                        ));
                    }
                }
            }
            "envFrom" => {
                for (i, e) in value.as_array().into_iter().flatten().enumerate() {
                    if e.get("secretRef").is_some() {
                        out.push(format!(
                            "{at}[{i}].secretRef: not allowed: a job may not read the namespace's Secrets into its pods; {SEE}"
                        ));
                    }
                }
            }
            "ports" => {
                for (i, p) in value.as_array().into_iter().flatten().enumerate() {
                    for host in ["hostPort", "hostIP"] {
                        if p.get(host).is_some() {
                            out.push(format!(
                                "{at}[{i}].{host}: not allowed: it binds a port of the node; {SEE}"
                            ));
                        }
                    }
                }
            }
            "volumeMounts" => {
                for (i, m) in value.as_array().into_iter().flatten().enumerate() {
                    if m.get("mountPropagation")
                        .and_then(Value::as_str)
                        .is_some_and(|p| p != "None")
                    {
                        out.push(format!(
                            "{at}[{i}].mountPropagation: not allowed: mount propagation reaches the node's mounts; {SEE}"
                        ));
                    }
                    if let Some(path) = m.get("mountPath").and_then(Value::as_str)
                        && executor
                        && rendered_mounts.contains(&path)
                    {
                        out.push(format!(
                            "{at}[mountPath={path}]: not allowed: the executor's own mount; mount yours elsewhere"
                        ));
                    }
                }
            }
            _ => {}
        }
    }
}

fn volume_problems(v: &Value, at: &str, out: &mut Vec<String>) {
    let Value::Object(v) = v else {
        return; // reported by the merge
    };
    for (key, value) in v {
        if key == "name" {
            continue;
        }
        if !VOLUME_TYPES.contains(&key.as_str()) {
            let why = match key.as_str() {
                "hostPath" => "it exposes the node's file system",
                "secret" => {
                    "a job may not mount the namespace's Secrets; credentials go in a table's spec.optionsFrom"
                }
                "persistentVolumeClaim" | "ephemeral" => {
                    "executors keep no state on disk (their state is in the sink's commit records)"
                }
                _ => "volumes may be emptyDir, configMap, downwardAPI or projected",
            };
            out.push(format!("{at}.{key}: not allowed: {why}; {SEE}"));
            continue;
        }
        if key == "projected" {
            for (i, source) in value
                .get("sources")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                for kind in source.as_object().into_iter().flat_map(|s| s.keys()) {
                    if !PROJECTED_SOURCES.contains(&kind.as_str()) {
                        out.push(format!(
                            "{at}.projected.sources[{i}].{kind}: not allowed: projected volumes may hold serviceAccountToken, downwardAPI and configMap sources; {SEE}"
                        ));
                    }
                }
            }
        }
    }
}

/// The security context of every container of an executor pod.
pub fn container_security_context() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        read_only_root_filesystem: Some(true),
        run_as_non_root: Some(true),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".to_owned()]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The security context of an executor pod.
pub fn pod_security_context() -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(EXECUTOR_UID),
        run_as_group: Some(EXECUTOR_UID),
        fs_group: Some(EXECUTOR_UID),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".to_owned(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn safe_volume(v: &Volume) -> bool {
    let projected_ok = v.projected.as_ref().is_none_or(|p| {
        p.sources
            .iter()
            .flatten()
            .all(|s| s.secret.is_none() && s.cluster_trust_bundle.is_none())
    });
    let plain = Volume {
        name: v.name.clone(),
        config_map: v.config_map.clone(),
        downward_api: v.downward_api.clone(),
        empty_dir: v.empty_dir.clone(),
        projected: v.projected.clone(),
        ..Default::default()
    };
    projected_ok && plain == *v
}

/// Re-applies what no overlay may change, after the merge: the pod's and every container's
/// security context, the ServiceAccount, no host namespaces (host network only when the policy
/// allows it), no node name, no registry credentials, no ephemeral containers, only safe
/// volume types. A second line behind [`overlay_problems`].
pub fn harden(spec: &mut PodSpec, policy: &Policy, service_account: &str) {
    spec.security_context = Some(pod_security_context());
    for c in spec
        .containers
        .iter_mut()
        .chain(spec.init_containers.iter_mut().flatten())
    {
        c.security_context = Some(container_security_context());
        for p in c.ports.iter_mut().flatten() {
            p.host_port = None;
            p.host_ip = None;
        }
        c.volume_devices = None;
    }
    spec.ephemeral_containers = None;
    spec.service_account_name = Some(service_account.to_owned());
    spec.service_account = None;
    spec.automount_service_account_token = None;
    if !policy.allow_host_network || spec.host_network != Some(true) {
        spec.host_network = None;
    }
    spec.host_pid = None;
    spec.host_ipc = None;
    spec.share_process_namespace = None;
    spec.node_name = None;
    spec.image_pull_secrets = None;
    spec.host_users = None;
    if let Some(volumes) = spec.volumes.as_mut() {
        volumes.retain(safe_volume);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// Checks, field by field, that a rendered executor pod carries the hardened security
    /// context and nothing that escapes it.
    pub(crate) fn assert_hardened(spec: &PodSpec, service_account: &str) {
        let psc = spec.security_context.as_ref().expect("pod securityContext");
        assert_eq!(psc.run_as_non_root, Some(true), "runAsNonRoot");
        assert_eq!(psc.run_as_user, Some(EXECUTOR_UID), "runAsUser");
        assert_eq!(psc.run_as_group, Some(EXECUTOR_UID), "runAsGroup");
        assert_eq!(psc.fs_group, Some(EXECUTOR_UID), "fsGroup");
        assert_eq!(
            psc.seccomp_profile.as_ref().map(|s| s.type_.as_str()),
            Some("RuntimeDefault"),
            "seccompProfile"
        );
        assert_eq!(psc.sysctls, None, "sysctls");
        assert_eq!(psc.supplemental_groups, None, "supplementalGroups");
        assert_eq!(psc.se_linux_options, None, "seLinuxOptions");
        assert_eq!(psc.windows_options, None, "windowsOptions");
        let containers: Vec<_> = spec
            .containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
            .collect();
        assert!(!containers.is_empty());
        for c in containers {
            let sc = c
                .security_context
                .as_ref()
                .unwrap_or_else(|| panic!("{}: securityContext", c.name));
            assert_eq!(sc.privileged, None, "{}: privileged", c.name);
            assert_eq!(sc.allow_privilege_escalation, Some(false), "{}", c.name);
            assert_eq!(sc.read_only_root_filesystem, Some(true), "{}", c.name);
            assert_eq!(sc.run_as_non_root, Some(true), "{}", c.name);
            assert_eq!(sc.run_as_user, None, "{}: runAsUser", c.name);
            assert_eq!(sc.run_as_group, None, "{}: runAsGroup", c.name);
            assert_eq!(sc.proc_mount, None, "{}: procMount", c.name);
            assert_eq!(sc.se_linux_options, None, "{}: seLinuxOptions", c.name);
            assert_eq!(sc.seccomp_profile, None, "{}: seccompProfile", c.name);
            assert_eq!(sc.app_armor_profile, None, "{}: appArmorProfile", c.name);
            let caps = sc.capabilities.as_ref().expect("capabilities");
            assert_eq!(
                caps.drop.as_deref(),
                Some(&["ALL".to_owned()][..]),
                "{}",
                c.name
            );
            assert_eq!(caps.add, None, "{}: capabilities.add", c.name);
            for p in c.ports.iter().flatten() {
                assert_eq!(
                    (p.host_port, p.host_ip.as_deref()),
                    (None, None),
                    "{}",
                    c.name
                );
            }
            for e in c.env.iter().flatten() {
                if let Some(from) = &e.value_from
                    && from.secret_key_ref.is_some()
                {
                    assert!(
                        e.name.starts_with("SLUICE_SECRET_") && c.name == CONTAINER,
                        "{}: {} reads a Secret",
                        c.name,
                        e.name
                    );
                }
            }
            assert_eq!(c.volume_devices, None);
        }
        assert_eq!(spec.host_pid, None, "hostPID");
        assert_eq!(spec.host_ipc, None, "hostIPC");
        assert_eq!(spec.host_network, None, "hostNetwork");
        assert_eq!(spec.share_process_namespace, None);
        assert_eq!(spec.node_name, None, "nodeName");
        assert_eq!(spec.image_pull_secrets, None, "imagePullSecrets");
        assert_eq!(spec.ephemeral_containers, None);
        assert_eq!(spec.service_account_name.as_deref(), Some(service_account));
        assert_eq!(spec.service_account, None);
        for v in spec.volumes.iter().flatten() {
            assert!(
                safe_volume(v),
                "volume {} is not of a safe type: {v:?}",
                v.name
            );
        }
    }

    fn policy() -> Policy {
        Policy::new("ghcr.io/sluice-dev/sluice:1.0")
    }

    fn problems(spec: Value) -> Vec<String> {
        overlay_problems(
            &policy(),
            None,
            Some(&spec),
            &["config", "tmp"],
            &["/etc/sluice", "/tmp"],
        )
    }

    #[test]
    fn images_are_allowed_by_prefix_at_a_boundary() {
        let p = Policy {
            allowed_images: vec![
                "ghcr.io/sluice-dev/sluice".into(),
                "docker.io/envoyproxy/".into(),
            ],
            ..policy()
        };
        assert!(p.image_allowed("ghcr.io/sluice-dev/sluice:2"));
        assert!(p.image_allowed("ghcr.io/sluice-dev/sluice@sha256:00"));
        assert!(p.image_allowed("docker.io/envoyproxy/envoy:v1"));
        assert!(!p.image_allowed("ghcr.io/sluice-dev/sluice-evil:1"));
        assert!(!p.image_allowed("busybox"));
        assert_eq!(
            repository("localhost:5000/sluice:test"),
            "localhost:5000/sluice"
        );
        assert_eq!(repository("sluice@sha256:ab"), "sluice");
        assert_eq!(repository("localhost:5000/sluice"), "localhost:5000/sluice");
        assert!(
            Policy {
                allowed_images: vec!["*".into()],
                ..policy()
            }
            .image_allowed("x")
        );
    }

    #[test]
    fn every_escalation_of_the_overlay_is_refused_with_its_path_and_reason() {
        let cases = [
            (
                json!({"containers": [{"name": "side", "image": "ghcr.io/sluice-dev/sluice:1", "securityContext": {"privileged": true}}]}),
                "spec.podTemplate.spec.containers[name=side].securityContext: not allowed: every container runs with the hardened security context",
            ),
            (
                json!({"containers": [{"name": "executor", "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}]}),
                "containers[name=executor].securityContext: not allowed",
            ),
            (
                json!({"securityContext": {"runAsUser": 0}}),
                "spec.podTemplate.spec.securityContext: not allowed",
            ),
            (
                json!({"securityContext": null}),
                "spec.podTemplate.spec.securityContext: not allowed",
            ),
            (
                json!({"hostPID": true}),
                "spec.podTemplate.spec.hostPID: not allowed",
            ),
            (json!({"hostIPC": true}), "hostIPC: not allowed"),
            (json!({"hostNetwork": true}), "--allow-host-network"),
            (
                json!({"nodeName": "node-1"}),
                "nodeName: not allowed: it bypasses the scheduler",
            ),
            (
                json!({"imagePullSecrets": [{"name": "regcred"}]}),
                "imagePullSecrets: not allowed",
            ),
            (
                json!({"serviceAccountName": "admin"}),
                "serviceAccountName: not allowed",
            ),
            (
                json!({"volumes": [{"name": "root", "hostPath": {"path": "/"}}]}),
                "volumes[name=root].hostPath: not allowed: it exposes the node's file system",
            ),
            (
                json!({"volumes": [{"name": "s", "secret": {"secretName": "other-team"}}]}),
                "volumes[name=s].secret: not allowed",
            ),
            (
                json!({"volumes": [{"name": "p", "projected": {"sources": [{"secret": {"name": "x"}}]}}]}),
                "projected.sources[0].secret: not allowed",
            ),
            (
                json!({"volumes": [{"name": "config", "configMap": {"name": "other-job-executor"}}]}),
                "volumes[name=config]: not allowed: the volume \"config\" is the executor's own",
            ),
            (
                json!({"containers": [{"name": "side", "image": "ghcr.io/sluice-dev/sluice:1", "env": [{"name": "P", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}}]}]}),
                "env[name=P].valueFrom.secretKeyRef: not allowed",
            ),
            (
                json!({"containers": [{"name": "side", "image": "ghcr.io/sluice-dev/sluice:1", "envFrom": [{"secretRef": {"name": "db"}}]}]}),
                "envFrom[0].secretRef: not allowed",
            ),
            (
                json!({"containers": [{"name": "executor", "env": [{"name": "AWS_ENDPOINT_URL_S3", "value": "http://169.254.169.254"}]}]}),
                "env[name=AWS_ENDPOINT_URL_S3]: not allowed",
            ),
            (
                json!({"containers": [{"name": "side", "image": "evil.example.com/miner:1"}]}),
                "containers[name=side].image: image \"evil.example.com/miner:1\" is not allowed",
            ),
            (
                json!({"containers": [{"name": "side", "image": "ghcr.io/sluice-dev/sluice:1", "ports": [{"containerPort": 80, "hostPort": 80}]}]}),
                "ports[0].hostPort: not allowed",
            ),
            (
                json!({"initContainers": [{"name": "init", "image": "ghcr.io/sluice-dev/sluice:1", "volumeMounts": [{"name": "x", "mountPath": "/x", "mountPropagation": "Bidirectional"}]}]}),
                "mountPropagation: not allowed",
            ),
            (
                json!({"ephemeralContainers": []}),
                "ephemeralContainers: not allowed",
            ),
            (
                json!({"containers": [{"name": "side", "image": "ghcr.io/sluice-dev/sluice:1", "tty": true}]}),
                "tty: not allowed",
            ),
        ];
        for (overlay, expected) in cases {
            let p = problems(overlay.clone());
            assert_eq!(p.len(), 1, "{overlay}: {p:?}");
            assert!(p[0].contains(expected), "{overlay}: {p:?}");
        }
        let annotations = BTreeMap::from([(
            "container.apparmor.security.beta.kubernetes.io/executor".to_owned(),
            "unconfined".to_owned(),
        )]);
        let p = overlay_problems(&policy(), Some(&annotations), None, &[], &[]);
        assert!(p[0].contains("AppArmor"), "{p:?}");
    }

    #[test]
    fn scheduling_sidecars_and_safe_volumes_are_allowed() {
        let overlay = json!({
            "nodeSelector": {"kubernetes.io/arch": "arm64"},
            "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "streaming", "effect": "NoSchedule"}],
            "affinity": {"nodeAffinity": {}},
            "topologySpreadConstraints": [],
            "priorityClassName": "streaming",
            "hostNetwork": false,
            "containers": [
                {"name": "executor", "env": [{"name": "AWS_REGION", "value": "eu-west-1"}],
                 "volumeMounts": [{"name": "cache", "mountPath": "/cache"}]},
                {"name": "proxy", "image": "ghcr.io/sluice-dev/sluice:1", "args": ["proxy"],
                 "resources": {"limits": {"memory": "64Mi"}}}
            ],
            "volumes": [
                {"name": "cache", "emptyDir": {"medium": "Memory"}},
                {"name": "ca", "configMap": {"name": "kafka-ca"}},
                {"name": "token", "projected": {"sources": [{"serviceAccountToken": {"audience": "sts.amazonaws.com", "path": "token"}}]}}
            ]
        });
        assert_eq!(problems(overlay), Vec::<String>::new());
        // Misspelt fields are left to the merge, which reports them as unknown.
        assert_eq!(
            problems(json!({"nodeSelecter": {}, "containers": [{"name": "executor", "envv": []}]})),
            Vec::<String>::new()
        );
        let host = Policy {
            allow_host_network: true,
            ..policy()
        };
        assert_eq!(
            overlay_problems(
                &host,
                None,
                Some(&json!({"hostNetwork": true, "dnsPolicy": "ClusterFirstWithHostNet"})),
                &[],
                &[]
            ),
            Vec::<String>::new()
        );
    }
}
