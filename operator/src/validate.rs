//! Validate: a job and the tables of its namespace → a [`ValidJob`] ready to render, or every
//! problem found. The SQL, tables, options and executor settings are checked by
//! [`sluice_executor::job::validate`], the very code the executor runs at start-up; this module
//! adds what only the operator cares about (name length, resources, image fields, the pod
//! template overlay).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{PodSpec, ResourceRequirements};
use kube::{Resource, ResourceExt};
use sluice_crds::{PodTemplateOverlay, StreamingJob, StreamingTable};
use sluice_executor::job::{self, Subject};

use crate::overlay;
use crate::policy::{self, Policy};
use crate::render::{self, PodInputs, ValidJob};

/// The longest job name: it becomes the value of the `sluice.dev/job` label.
pub const MAX_NAME_LEN: usize = 63;

/// One problem with a job, ready for a condition and an Event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobProblem {
    /// CamelCase reason (`SqlSyntaxError`, `InvalidOption`, `InvalidPodTemplate`, ...).
    pub reason: &'static str,
    /// What is wrong, where (SQL line and column, field path, table) and how to fix it.
    pub message: String,
}

impl std::fmt::Display for JobProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<job::Problem> for JobProblem {
    fn from(p: job::Problem) -> Self {
        let message = match &p.subject {
            // The executor's own rendering: `spec.sql line 2, column 28: ...`.
            Subject::Sql(_) => p.to_string(),
            // Name the field (`spec.executor.memoryBudget: "lots" is not a quantity`).
            Subject::JobField(field) if !p.message.contains(field.as_str()) => {
                format!("{field}: {}", p.message)
            }
            Subject::JobField(_) => p.message,
            Subject::Table { resource, option } => {
                let mut message = p.message;
                if let Some(option) = option
                    && !message.contains(option.as_str())
                {
                    message = format!("option '{option}': {message}");
                }
                if !message.contains(resource.as_str()) {
                    message = format!("{message} (StreamingTable {resource})");
                }
                message
            }
        };
        JobProblem {
            reason: p.reason,
            message,
        }
    }
}

/// The SQL name a declaration problem of a table is about (`table NAME: ...`, as the catalog
/// reports it), if `p` is one.
fn declaration_problem_of(p: &job::Problem) -> Option<&str> {
    if p.reason != "InvalidTable" || !matches!(p.subject, Subject::Sql(None)) {
        return None;
    }
    let rest = p.message.strip_prefix("table ")?;
    rest.split_once(':').map(|(name, _)| name.trim())
}

/// The name of the table an `UnknownTable` problem is about (`table NAME is not declared ...`).
fn unknown_table_of(p: &job::Problem) -> Option<&str> {
    if p.reason != "UnknownTable" {
        return None;
    }
    let rest = p.message.strip_prefix("table ")?;
    rest.split_once(' ').map(|(name, _)| name)
}

/// Whether `sql` mentions `name` as an identifier (case-insensitively).
fn mentions(sql: &str, name: &str) -> bool {
    sql.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|word| word.eq_ignore_ascii_case(name))
}

/// The executor's problems as the job's status shows them. A table whose declaration is
/// invalid is left out of the SQL catalog, so the executor reports both the declaration problem
/// and "table X is not declared" at its use; and when the statement cannot be planned it lists
/// the declaration problems of every table of the namespace. Here a declaration problem is
/// kept only for tables the statement names, and takes the place of the misleading
/// `UnknownTable` (reason `InvalidTable`, naming the resource).
fn job_problems(
    problems: Vec<job::Problem>,
    sql: &str,
    tables: &[StreamingTable],
) -> Vec<JobProblem> {
    let resource_of = |sql_name: &str| {
        tables.iter().find(|t| t.sql_name() == sql_name).map(|t| {
            format!(
                "{}/{}",
                t.namespace().unwrap_or_else(|| "default".to_owned()),
                t.name_any()
            )
        })
    };
    let declaration = |name: &str| {
        problems
            .iter()
            .filter(|p| declaration_problem_of(p) == Some(name))
            .map(|p| {
                let detail = p.message.split_once(':').map_or("", |(_, d)| d.trim());
                JobProblem {
                    reason: "InvalidTable",
                    message: match resource_of(name) {
                        Some(r) => {
                            format!("table {name} (StreamingTable {r}) is invalid: {detail}")
                        }
                        None => format!("table {name} is invalid: {detail}"),
                    },
                }
            })
            .collect::<Vec<_>>()
    };
    let mut out = Vec::new();
    let mut explained = std::collections::BTreeSet::new();
    for p in &problems {
        if let Some(name) = declaration_problem_of(p) {
            if mentions(sql, name) && explained.insert(name.to_owned()) {
                out.extend(declaration(name));
            }
            continue;
        }
        if let Some(name) = unknown_table_of(p) {
            let why = declaration(name);
            if !why.is_empty() {
                if explained.insert(name.to_owned()) {
                    out.extend(why);
                }
                continue;
            }
        }
        out.push(JobProblem::from(p.clone()));
    }
    out
}

/// Kubernetes' own limits on the executor container's resources, which the API server would
/// otherwise only report when the Deployment is applied: no negative quantities, and standard
/// or fully qualified (`example.com/gpu`) resource names.
fn resource_problems(r: &ResourceRequirements) -> Vec<String> {
    let mut out = Vec::new();
    for (which, map) in [("requests", &r.requests), ("limits", &r.limits)] {
        for (name, q) in map.iter().flatten() {
            let field = format!("spec.resources.{which}.{name}");
            let standard = matches!(name.as_str(), "cpu" | "memory" | "ephemeral-storage")
                || name.starts_with("hugepages-")
                || name.contains('/');
            if !standard {
                out.push(format!(
                    "{field}: {name:?} is not a resource Kubernetes knows; use cpu, memory, ephemeral-storage, hugepages-<size> or a fully qualified name such as example.com/gpu"
                ));
            }
            if sluice_crds::resources::parse_quantity(&q.0).is_some_and(|v| v < 0.0) {
                out.push(format!("{field} {:?} must not be negative", q.0));
            }
        }
    }
    out
}

/// Checks a job against the tables of its namespace, the operator's [`Policy`] and the
/// ServiceAccounts of its namespace that executors may use (`executor_accounts`: those
/// labelled [`policy::LABEL_EXECUTOR_ACCOUNT`]`=true`), and renders its executor pod.
pub fn validate_job(
    job: &StreamingJob,
    tables: &[StreamingTable],
    policy: &Policy,
    executor_accounts: &BTreeSet<String>,
) -> Result<ValidJob, Vec<JobProblem>> {
    let name = job.name_any();
    let namespace = job.namespace().unwrap_or_else(|| "default".to_owned());
    let spec = &job.spec;
    let mut problems = Vec::new();
    let resources = field_problems(job, &name, policy, executor_accounts, &mut problems);
    let validated = match job::validate(job, tables) {
        Ok(v) => Some(v),
        Err(errors) => {
            problems.extend(job_problems(errors, &spec.sql, tables));
            None
        }
    };
    let Some(validated) = validated else {
        return Err(problems);
    };
    let service_account = spec
        .service_account_name
        .clone()
        .unwrap_or_else(|| render::child_name(&name));
    let base = render::pod_spec(&PodInputs {
        job: &name,
        image: spec.image.as_deref().unwrap_or(&policy.default_image),
        image_pull_policy: spec.image_pull_policy.as_deref(),
        service_account: &service_account,
        metrics_port: validated.settings.metrics_port,
        resources,
        secrets: &validated.secrets,
    });
    let overlay = spec.pod_template.clone().unwrap_or_default();
    let mut pod_spec = overlaid_pod_spec(base, &overlay, policy, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    policy::harden(&mut pod_spec, policy, &service_account);
    let used: Vec<&StreamingTable> = validated
        .tables
        .iter()
        .filter_map(|resource| {
            tables.iter().find(|t| {
                let ns = t.namespace().unwrap_or_else(|| "default".to_owned());
                format!("{ns}/{}", t.name_any()) == *resource
            })
        })
        .collect();
    let (config, config_hash) = render::executor_config(job, &namespace, &used);
    let (pod_labels, pod_annotations) = match overlay.metadata {
        Some(m) => (m.labels, m.annotations),
        None => (BTreeMap::new(), BTreeMap::new()),
    };
    Ok(ValidJob {
        namespace,
        generation: job.metadata.generation.unwrap_or_default(),
        owner: job.controller_owner_ref(&()),
        replicas: if spec.suspend { 0 } else { spec.parallelism },
        owns_service_account: spec.service_account_name.is_none(),
        service_account,
        config,
        config_hash,
        pod_labels,
        pod_annotations,
        pod_spec,
        tables: validated.tables.clone(),
        sql_names: vec![
            validated.plan.source.name.clone(),
            validated.plan.sink.name.clone(),
        ],
        name,
    })
}

/// Checks the job's own fields (name, image, ServiceAccount, resources, log filter) into
/// `problems`; returns its resources if they are valid.
fn field_problems(
    job: &StreamingJob,
    name: &str,
    policy: &Policy,
    executor_accounts: &BTreeSet<String>,
    problems: &mut Vec<JobProblem>,
) -> Option<ResourceRequirements> {
    let mut problem =
        |reason: &'static str, message: String| problems.push(JobProblem { reason, message });
    if name.len() > MAX_NAME_LEN {
        problem(
            "InvalidName",
            format!(
                "metadata.name {name:?} is {} characters long; job names may have at most {MAX_NAME_LEN}",
                name.len()
            ),
        );
    }
    let spec = &job.spec;
    if spec.image.as_deref().is_some_and(|i| i.trim().is_empty()) {
        problem(
            "InvalidImage",
            "spec.image is empty; remove it to use the operator's executor image".to_owned(),
        );
    }
    if let Some(image) = spec.image.as_deref().filter(|i| !i.trim().is_empty())
        && let Some(message) = policy.image_problem("spec.image", image)
    {
        problem(policy::FORBIDDEN_IMAGE, message);
    }
    if let Some(p) = spec.image_pull_policy.as_deref()
        && !matches!(p, "Always" | "IfNotPresent" | "Never")
    {
        problem(
            "InvalidImage",
            format!("spec.imagePullPolicy {p:?} must be Always, IfNotPresent or Never"),
        );
    }
    if spec
        .service_account_name
        .as_deref()
        .is_some_and(|s| s.trim().is_empty())
    {
        problem(
            "InvalidServiceAccount",
            "spec.serviceAccountName is empty; remove it to use the account the operator makes"
                .to_owned(),
        );
    }
    if let Some(account) = spec.service_account_name.as_deref()
        && !account.trim().is_empty()
        && !executor_accounts.contains(account)
    {
        problem(
            policy::ACCOUNT_NOT_PERMITTED,
            format!(
                "spec.serviceAccountName {account:?}: executors may run only under ServiceAccounts of this namespace labelled {}=true, and this one is not (or does not exist); a namespace admin opts one in with: kubectl label serviceaccount {account} {}=true (see docs/security.md)",
                policy::LABEL_EXECUTOR_ACCOUNT,
                policy::LABEL_EXECUTOR_ACCOUNT
            ),
        );
    }
    let resources = match spec.resources.as_ref().map(|r| r.to_requirements()) {
        None => None,
        Some(Ok(r)) => {
            for message in resource_problems(&r) {
                problem("InvalidResources", message);
            }
            Some(r)
        }
        Some(Err(errors)) => {
            for (_, message) in errors {
                problem("InvalidResources", message);
            }
            None
        }
    };
    if let Some(filter) = spec.executor.as_ref().and_then(|e| e.log_level.as_deref())
        && let Err(e) = tracing_subscriber::EnvFilter::try_new(filter)
    {
        // The executor would fall back to `info` without a word.
        problem(
            "InvalidSetting",
            format!(
                "spec.executor.logLevel {filter:?} is not a log filter ({e}); write e.g. info or sluice=debug,rdkafka=warn"
            ),
        );
    }
    resources
}

/// The rendered pod spec `base` with the job's pod template `overlay` merged in, unless the
/// policy refuses the overlay; the refusals and merge problems go into `problems`.
fn overlaid_pod_spec(
    base: PodSpec,
    overlay: &PodTemplateOverlay,
    policy: &Policy,
    problems: &mut Vec<JobProblem>,
) -> PodSpec {
    let rendered_volumes: Vec<&str> = base
        .volumes
        .iter()
        .flatten()
        .map(|v| v.name.as_str())
        .collect();
    let rendered_mounts: Vec<&str> = base
        .containers
        .iter()
        .filter(|c| c.name == render::CONTAINER)
        .flat_map(|c| c.volume_mounts.iter().flatten())
        .map(|m| m.mount_path.as_str())
        .collect();
    let refused = policy::overlay_problems(
        policy,
        overlay.metadata.as_ref().map(|m| &m.annotations),
        overlay.spec.as_ref(),
        &rendered_volumes,
        &rendered_mounts,
    );
    let overlay_refused = !refused.is_empty();
    problems.extend(refused.into_iter().map(|message| JobProblem {
        reason: policy::FORBIDDEN_POD_TEMPLATE,
        message,
    }));
    let overlay_spec = overlay.spec.as_ref().filter(|_| !overlay_refused);
    let pod_spec = match overlay_spec {
        None => base,
        Some(o) => match overlay::merge_pod_spec(&base, o) {
            Ok(merged) => merged,
            Err(errors) => {
                problems.extend(errors.into_iter().map(|message| JobProblem {
                    reason: "InvalidPodTemplate",
                    message,
                }));
                base
            }
        },
    };
    if !pod_spec
        .containers
        .iter()
        .any(|c| c.name == render::CONTAINER)
    {
        problems.push(JobProblem {
            reason: "InvalidPodTemplate",
            message: format!(
                "spec.podTemplate.spec.containers: the main container {:?} is missing",
                render::CONTAINER
            ),
        });
    }
    pod_spec
}

/// One line for a condition: every problem, `; `-separated, capped to what a condition holds.
pub fn summary(problems: &[JobProblem]) -> String {
    let mut text = problems
        .iter()
        .map(|p| p.message.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    const MAX: usize = 30_000;
    if text.len() > MAX {
        let mut end = MAX;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str(" …");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::tests::{accounts, example, test_policy};

    fn problems(job: &StreamingJob, tables: &[StreamingTable]) -> Vec<JobProblem> {
        validate_job(job, tables, &test_policy(), &BTreeSet::new()).unwrap_err()
    }

    #[test]
    fn bad_sql_is_reported_with_line_and_column() {
        let (mut job, tables) = example("stock-ticks.yaml");
        job.spec.sql = "INSERT INTO sink_table\nSELEC event_time FROM stock_ticks".into();
        let p = problems(&job, &tables);
        assert_eq!(p[0].reason, "SqlSyntaxError");
        assert!(
            p[0].message.starts_with("spec.sql line 2, column "),
            "{p:?}"
        );
    }

    #[test]
    fn a_missing_table_and_an_unknown_option_are_named() {
        let (job, tables) = example("stock-ticks.yaml");
        let p = problems(&job, &tables[..1]);
        assert_eq!(p[0].reason, "UnknownTable", "{p:?}");
        assert!(p[0].message.contains("sink_table"), "{p:?}");
        let mut tables = tables;
        tables[0]
            .spec
            .options
            .insert("scan.startup.mod".into(), "latest-offset".into());
        let p = problems(&job, &tables);
        assert_eq!(p[0].reason, "InvalidOption", "{p:?}");
        assert!(p[0].message.contains("scan.startup.mod"), "{p:?}");
        assert!(p[0].message.contains("default/stock-ticks"), "{p:?}");
    }

    #[test]
    fn wrong_types_between_query_and_sink_are_reported() {
        let (mut job, tables) = example("stock-ticks.yaml");
        job.spec.sql =
            "INSERT INTO sink_table SELECT event_time, ticker, ticker, 'a', 'b' FROM stock_ticks"
                .into();
        let p = problems(&job, &tables);
        assert_eq!(p[0].reason, "TypeMismatch", "{p:?}");
    }

    #[test]
    fn operator_side_fields_are_checked_too() {
        let (mut job, tables) = example("stock-ticks.yaml");
        job.spec.image_pull_policy = Some("Sometimes".into());
        job.spec.resources = Some(serde_yaml::from_str("limits: {memory: lots}").unwrap());
        job.spec.pod_template = Some(
            serde_yaml::from_str(
                "spec: {containers: [{name: executor, imagePullPolicy: 3}], nodeSelecter: {}}",
            )
            .unwrap(),
        );
        let p = problems(&job, &tables);
        let reasons: Vec<_> = p.iter().map(|p| p.reason).collect();
        assert_eq!(
            reasons,
            ["InvalidImage", "InvalidResources", "InvalidPodTemplate"],
            "{p:?}"
        );
        job.metadata.name = Some("x".repeat(64));
        assert_eq!(problems(&job, &tables)[0].reason, "InvalidName");
    }

    #[test]
    fn a_valid_job_knows_its_tables_for_re_reconciling_on_table_changes() {
        let (job, tables) = example("stock-ticks.yaml");
        let v = validate_job(&job, &tables, &test_policy(), &BTreeSet::new()).unwrap();
        assert_eq!(v.tables, ["default/stock-ticks", "default/sink-table"]);
        assert_eq!(v.sql_names, ["stock_ticks", "sink_table"]);
    }

    #[test]
    fn an_invalid_table_is_reported_on_the_jobs_that_name_it_only() {
        let (mut job, mut tables) = example("stock-ticks.yaml");
        let mut broken = tables[0].clone();
        broken.metadata.name = Some("broken".into());
        broken.spec.columns[2].type_ = "DOUBLEE".into();
        tables.push(broken);
        // A syntax error: the unrelated broken table is not part of the job's message.
        job.spec.sql = "INSERT INTO sink_table\nSELEC event_time FROM stock_ticks".into();
        let p = problems(&job, &tables);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].reason, "SqlSyntaxError");
        // A job reading the broken table: the table's problem, not "not declared".
        let (valid, _) = example("stock-ticks.yaml");
        job.spec.sql = valid.spec.sql.replace("FROM stock_ticks", "FROM broken");
        let p = problems(&job, &tables);
        assert_eq!(p[0].reason, "InvalidTable", "{p:?}");
        assert!(
            p[0].message.starts_with(
                "table broken (StreamingTable default/broken) is invalid: spec.columns[2] (price)"
            ),
            "{p:?}"
        );
        assert!(!p.iter().any(|p| p.reason == "UnknownTable"), "{p:?}");
    }

    #[test]
    fn fields_and_options_are_named_and_kubernetes_limits_checked() {
        let (mut job, tables) = example("stock-ticks.yaml");
        job.spec.executor =
            Some(serde_yaml::from_str("{memoryBudget: lots, logLevel: 'sluice=loud'}").unwrap());
        job.spec.resources =
            Some(serde_yaml::from_str("{limits: {memory: '-1Gi'}, requests: {gpu: '1'}}").unwrap());
        let p = problems(&job, &tables);
        let text = summary(&p);
        assert!(text.contains("spec.executor.memoryBudget: "), "{text}");
        assert!(
            text.contains("spec.executor.logLevel \"sluice=loud\""),
            "{text}"
        );
        assert!(
            text.contains("spec.resources.limits.memory \"-1Gi\" must not be negative"),
            "{text}"
        );
        assert!(text.contains("spec.resources.requests.gpu: "), "{text}");
    }

    fn with_overlay(yaml: &str) -> StreamingJob {
        let (mut job, _) = example("stock-ticks.yaml");
        job.spec.pod_template = Some(serde_yaml::from_str(yaml).unwrap());
        job
    }

    #[test]
    fn a_service_account_must_be_opted_in_by_its_label() {
        let (mut job, tables) = example("stock-ticks.yaml");
        job.spec.service_account_name = Some("team-b-admin".into());
        let p =
            validate_job(&job, &tables, &test_policy(), &accounts(&["ticks-irsa"])).unwrap_err();
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].reason, policy::ACCOUNT_NOT_PERMITTED);
        assert!(
            p[0].message.starts_with("spec.serviceAccountName \"team-b-admin\": executors may run only under ServiceAccounts of this namespace labelled sluice.dev/executor=true")
                && p[0].message.contains("kubectl label serviceaccount team-b-admin sluice.dev/executor=true"),
            "{p:?}"
        );
        job.spec.service_account_name = Some("ticks-irsa".into());
        let v = validate_job(&job, &tables, &test_policy(), &accounts(&["ticks-irsa"])).unwrap();
        assert_eq!(
            v.pod_spec.service_account_name.as_deref(),
            Some("ticks-irsa")
        );
    }

    #[test]
    fn images_outside_the_allowed_prefixes_are_refused() {
        let (mut job, tables) = example("stock-ticks.yaml");
        job.spec.image = Some("docker.io/attacker/sluice:1".into());
        let p = problems(&job, &tables);
        assert_eq!(p[0].reason, policy::FORBIDDEN_IMAGE, "{p:?}");
        assert!(p[0].message.starts_with("spec.image: image \"docker.io/attacker/sluice:1\" is not allowed by the operator (allowed: sluice, ghcr.io/example/)"), "{p:?}");
        job.spec.image = Some("sluice:other-tag".into());
        assert!(validate_job(&job, &tables, &test_policy(), &BTreeSet::new()).is_ok());
    }

    #[test]
    fn escalations_in_the_pod_template_are_refused_and_nothing_is_rendered() {
        let (_, tables) = example("stock-ticks.yaml");
        for (overlay, expected) in [
            (
                "spec: {containers: [{name: side, image: busybox, securityContext: {privileged: true}}]}",
                "containers[name=side].securityContext: not allowed",
            ),
            (
                "spec: {volumes: [{name: host, hostPath: {path: /}}]}",
                "volumes[name=host].hostPath: not allowed",
            ),
            (
                "spec: {securityContext: {runAsUser: 0}}",
                "spec.podTemplate.spec.securityContext: not allowed",
            ),
            (
                "spec: {securityContext: null}",
                "spec.podTemplate.spec.securityContext: not allowed",
            ),
            (
                "spec: {hostPID: true, hostNetwork: true}",
                "spec.podTemplate.spec.hostPID: not allowed",
            ),
            (
                "spec: {serviceAccountName: admin}",
                "spec.podTemplate.spec.serviceAccountName: not allowed",
            ),
        ] {
            let job = with_overlay(overlay);
            let p = problems(&job, &tables);
            assert!(
                p.iter().all(|p| p.reason == policy::FORBIDDEN_POD_TEMPLATE),
                "{overlay}: {p:?}"
            );
            assert!(
                p.iter().any(|p| p.message.contains(expected)),
                "{overlay}: {p:?}"
            );
            assert!(
                p.iter().all(|p| p.message.contains("not allowed")),
                "{overlay}: {p:?}"
            );
        }
    }

    #[test]
    fn every_accepted_overlay_renders_a_hardened_pod() {
        let (_, tables) = example("stock-ticks.yaml");
        for overlay in [
            "metadata: {labels: {team: data}, annotations: {example.com/scrape: 'true'}}",
            "spec: {nodeSelector: {kubernetes.io/arch: arm64}, tolerations: [{key: dedicated, operator: Equal, value: streaming, effect: NoSchedule}]}",
            "spec: {containers: [{name: executor, env: [{name: AWS_REGION, value: eu-west-1}], volumeMounts: [{name: cache, mountPath: /cache}]}, {name: sidecar, image: sluice:proxy, args: [proxy]}], volumes: [{name: cache, emptyDir: {}}]}",
            "spec: {initContainers: [{name: init, image: sluice:test, command: [sluice, --version]}]}",
            "spec: {volumes: [{name: token, projected: {sources: [{serviceAccountToken: {audience: sts.amazonaws.com, path: token}}]}}, {name: ca, configMap: {name: kafka-ca}}]}",
            "spec: {priorityClassName: streaming, topologySpreadConstraints: [{maxSkew: 1, topologyKey: zone, whenUnsatisfiable: ScheduleAnyway}], terminationGracePeriodSeconds: 120}",
        ] {
            let job = with_overlay(overlay);
            let v = validate_job(&job, &tables, &test_policy(), &BTreeSet::new())
                .unwrap_or_else(|p| panic!("{overlay}: {p:?}"));
            crate::policy::tests::assert_hardened(&v.pod_spec, "filter-ticks-executor");
        }
        // Host networking, when the operator allows it, is the only host setting that stays.
        let job = with_overlay("spec: {hostNetwork: true, dnsPolicy: ClusterFirstWithHostNet}");
        let mut policy = test_policy();
        assert!(validate_job(&job, &tables, &policy, &BTreeSet::new()).is_err());
        policy.allow_host_network = true;
        let v = validate_job(&job, &tables, &policy, &BTreeSet::new()).unwrap();
        assert_eq!(v.pod_spec.host_network, Some(true));
        let mut spec = v.pod_spec.clone();
        spec.host_network = None;
        crate::policy::tests::assert_hardened(&spec, "filter-ticks-executor");
    }

    #[test]
    fn summaries_join_every_problem() {
        let p = |m: &str| JobProblem {
            reason: "X",
            message: m.into(),
        };
        assert_eq!(summary(&[p("a"), p("b")]), "a; b");
    }
}
