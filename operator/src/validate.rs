//! Validate: a job and the tables of its namespace → a [`ValidJob`] ready to render, or every
//! problem found. The SQL, tables, options and executor settings are checked by
//! [`sluice_executor::job::validate`], the very code the executor runs at start-up; this module
//! adds what only the operator cares about (name length, resources, image fields, the pod
//! template overlay).

use std::collections::BTreeMap;

use kube::{Resource, ResourceExt};
use sluice_crds::{StreamingJob, StreamingTable};
use sluice_executor::job::{self, Subject};

use crate::overlay;
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
            Subject::JobField(_) => p.message,
            Subject::Table { resource, .. } if !p.message.contains(resource.as_str()) => {
                format!("{} (StreamingTable {resource})", p.message)
            }
            Subject::Table { .. } => p.message,
        };
        JobProblem {
            reason: p.reason,
            message,
        }
    }
}

/// Checks a job against the tables of its namespace and renders its executor pod.
pub fn validate_job(
    job: &StreamingJob,
    tables: &[StreamingTable],
    default_image: &str,
) -> Result<ValidJob, Vec<JobProblem>> {
    let name = job.name_any();
    let namespace = job.namespace().unwrap_or_else(|| "default".to_owned());
    let mut problems = Vec::new();
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
    let resources = match spec.resources.as_ref().map(|r| r.to_requirements()) {
        None => None,
        Some(Ok(r)) => Some(r),
        Some(Err(errors)) => {
            for (_, message) in errors {
                problem("InvalidResources", message);
            }
            None
        }
    };
    let validated = match job::validate(job, tables) {
        Ok(v) => Some(v),
        Err(errors) => {
            problems.extend(errors.into_iter().map(JobProblem::from));
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
        image: spec.image.as_deref().unwrap_or(default_image),
        image_pull_policy: spec.image_pull_policy.as_deref(),
        service_account: &service_account,
        metrics_port: validated.settings.metrics_port,
        resources,
        secrets: &validated.secrets,
    });
    let overlay = spec.pod_template.clone().unwrap_or_default();
    let pod_spec = match &overlay.spec {
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
    if !problems.is_empty() {
        return Err(problems);
    }
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
    use crate::render::tests::example;

    fn problems(job: &StreamingJob, tables: &[StreamingTable]) -> Vec<JobProblem> {
        validate_job(job, tables, "sluice:test").unwrap_err()
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
        let v = validate_job(&job, &tables, "sluice:test").unwrap();
        assert_eq!(v.tables, ["default/stock-ticks", "default/sink-table"]);
        assert_eq!(v.sql_names, ["stock_ticks", "sink_table"]);
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
