//! A job checked end to end: its SQL against its tables, each table's connector options, the
//! executor settings. The one validation the executor (`sluice validate`, `sluice run`) and the
//! operator both use, so a job the operator accepts is a job the executor runs.

use std::sync::Arc;

use kube::ResourceExt;
use sluice_crds::{StreamingJob, StreamingTable};
use sluice_sql::{Catalog, ErrorKind, FunctionRegistry, JobPlan, Location, SqlError, TableDef};

use crate::connector::{self, Role, SinkConfig, SourceConfig, ValidationContext};
use crate::settings::Settings;

/// What a problem is about, so that it can be reported where the user looks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    /// The job's `spec.sql`, at a position.
    Sql(Option<Location>),
    /// A field of the job (`spec.executor.commitInterval`).
    JobField(String),
    /// A table (`namespace/name` of the resource), and the option if it is about one.
    Table {
        /// `namespace/name`.
        resource: String,
        /// The option, if any.
        option: Option<String>,
    },
}

/// One problem with a job or its tables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// A CamelCase reason for conditions and events (`SqlSyntaxError`, `InvalidOption`).
    pub reason: &'static str,
    /// What is wrong and how to fix it.
    pub message: String,
    /// Where.
    pub subject: Subject,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.subject {
            Subject::Sql(Some(at)) => write!(f, "spec.sql {at}: {}", self.message),
            Subject::Sql(None) => write!(f, "spec.sql: {}", self.message),
            Subject::JobField(_) | Subject::Table { .. } => f.write_str(&self.message),
        }
    }
}

impl Problem {
    fn sql(e: SqlError) -> Problem {
        let subject = match e.kind {
            ErrorKind::Table => Subject::Sql(None),
            _ => Subject::Sql(e.location),
        };
        Problem {
            reason: e.kind.reason(),
            message: e.message,
            subject,
        }
    }
}

/// A secret-valued option an executor pod needs: the environment variable and where it comes
/// from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretEnv {
    /// The environment variable.
    pub env: String,
    /// The Secret's name.
    pub secret: String,
    /// The key in the Secret.
    pub key: String,
}

/// A job ready to run.
#[derive(Debug)]
pub struct ValidatedJob {
    /// `namespace/name`.
    pub id: String,
    /// The planned statement (with the source and sink table definitions).
    pub plan: JobPlan,
    /// The source's checked options.
    pub source: Arc<dyn SourceConfig>,
    /// The sink's checked options.
    pub sink: Arc<dyn SinkConfig>,
    /// Executor settings.
    pub settings: Settings,
    /// Secrets the executor needs as environment variables.
    pub secrets: Vec<SecretEnv>,
    /// The resources of the tables the job uses (source, sink).
    pub tables: Vec<String>,
}

/// Checks a job against the tables of its namespace. Returns every problem found.
pub fn validate(
    job: &StreamingJob,
    tables: &[StreamingTable],
) -> Result<ValidatedJob, Vec<Problem>> {
    let namespace = job.namespace().unwrap_or_else(|| "default".to_owned());
    let id = format!("{namespace}/{}", job.name_any());
    let mut problems = Vec::new();
    let settings = match Settings::read(job.spec.executor.as_ref()) {
        Ok(s) => s,
        Err(errors) => {
            problems.extend(errors.into_iter().map(|(field, message)| Problem {
                reason: "InvalidSetting",
                message,
                subject: Subject::JobField(field),
            }));
            Settings::default()
        }
    };
    if job.spec.parallelism < 0 {
        problems.push(Problem {
            reason: "InvalidSetting",
            message: format!(
                "spec.parallelism {} must be 0 or more",
                job.spec.parallelism
            ),
            subject: Subject::JobField("spec.parallelism".into()),
        });
    }
    let same_namespace: Vec<&StreamingTable> = tables
        .iter()
        .filter(|t| t.namespace().unwrap_or_else(|| "default".into()) == namespace)
        .collect();
    let (catalog, table_errors) = Catalog::from_resources(same_namespace.iter().copied());
    let plan = match JobPlan::plan(&job.spec.sql, &catalog, &FunctionRegistry::flink()) {
        Ok(plan) => Some(plan),
        Err(errors) => {
            problems.extend(errors.0.into_iter().map(Problem::sql));
            None
        }
    };
    // Words of the SQL: which tables it names, even when it does not plan.
    let words: std::collections::HashSet<String> = job
        .spec
        .sql
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .map(str::to_lowercase)
        .collect();
    // Problems of tables this job uses (others are reported on their own resources).
    for e in table_errors {
        let used = match plan.as_ref() {
            Some(p) => {
                e.message.contains(&format!("table {}:", p.source.name))
                    || e.message.contains(&format!("table {}:", p.sink.name))
            }
            None => same_namespace.iter().any(|t| {
                let name = t.sql_name();
                words.contains(&name.to_lowercase())
                    && e.message.contains(&format!("table {name}:"))
            }),
        };
        if used {
            problems.push(Problem {
                reason: "InvalidTable",
                message: e.message,
                subject: Subject::Sql(None),
            });
        }
    }
    let Some(plan) = plan else {
        // The SQL failed, yet the options of the tables it names are worth checking too, so
        // that one run lists every mistake.
        for table in &same_namespace {
            if words.contains(&table.sql_name().to_lowercase()) {
                problems.extend(table_option_problems(table, &id));
            }
        }
        return Err(problems);
    };
    let ctx = ValidationContext { job: id.clone() };
    let source_connector = connector_of(&plan.source, Role::Source, &mut problems);
    if let Some((limit, why)) = source_connector.and_then(|c| c.source_parallelism_limit())
        && job.spec.parallelism > limit
    {
        problems.push(Problem {
            reason: "InvalidSetting",
            message: format!(
                "spec.parallelism {} is more than table {} allows ({limit}): {why}",
                job.spec.parallelism, plan.source.name
            ),
            subject: Subject::JobField("spec.parallelism".into()),
        });
    }
    let source = source_connector
        .and_then(|c| table_problems(&plan.source, c.source(&plan.source, &ctx), &mut problems));
    let sink = connector_of(&plan.sink, Role::Sink, &mut problems)
        .and_then(|c| table_problems(&plan.sink, c.sink(&plan.sink, &ctx), &mut problems));
    let secrets = same_namespace
        .iter()
        .filter(|t| t.sql_name() == plan.source.name || t.sql_name() == plan.sink.name)
        .flat_map(|t| {
            let name = t.sql_name();
            t.spec.options_from.iter().map(move |o| SecretEnv {
                env: o.env_var(&name),
                secret: o.secret_key_ref.name.clone(),
                key: o.secret_key_ref.key.clone(),
            })
        })
        .collect();
    match (source, sink) {
        (Some(source), Some(sink)) if problems.is_empty() => Ok(ValidatedJob {
            id,
            tables: vec![plan.source.resource.clone(), plan.sink.resource.clone()],
            plan,
            source,
            sink,
            settings,
            secrets,
        }),
        _ => Err(problems),
    }
}

/// The connector and option problems of one table, checked for each role its connector
/// plays (without a job's SQL: what a table is used as is not known).
fn table_option_problems(table: &StreamingTable, job: &str) -> Vec<Problem> {
    let Ok(def) = TableDef::from_resource(table) else {
        return Vec::new(); // column problems are reported with the catalog's errors
    };
    let mut problems = Vec::new();
    let Some(c) = connector::connector(&def.connector) else {
        return problems;
    };
    let ctx = ValidationContext {
        job: job.to_owned(),
    };
    for role in c.roles() {
        match role {
            Role::Source => {
                table_problems(&def, c.source(&def, &ctx), &mut problems);
            }
            Role::Sink => {
                table_problems(&def, c.sink(&def, &ctx), &mut problems);
            }
        }
    }
    problems
}

fn table_problem(table: &TableDef, option: Option<&str>, message: String) -> Problem {
    Problem {
        reason: if option.is_some() {
            "InvalidOption"
        } else {
            "InvalidTable"
        },
        message,
        subject: Subject::Table {
            resource: table.resource.clone(),
            option: option.map(str::to_owned),
        },
    }
}

/// The table's connector, if it exists and can play `role`; checks what is common to all
/// connectors (format, metadata columns, partition columns).
fn connector_of(
    table: &TableDef,
    role: Role,
    problems: &mut Vec<Problem>,
) -> Option<&'static dyn connector::Connector> {
    let Some(c) = connector::connector(&table.connector) else {
        problems.push(table_problem(
            table,
            Some("connector"),
            format!(
                "table {}: unknown connector '{}'; available: {}",
                table.name,
                table.connector,
                connector::REGISTRY
                    .iter()
                    .map(|c| c.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
        return None;
    };
    if !c.roles().contains(&role) {
        problems.push(table_problem(
            table,
            Some("connector"),
            format!(
                "table {} is a '{}' table, which cannot be a {}; {} tables: {}",
                table.name,
                c.name(),
                role.name(),
                role.name(),
                connector::names(role).join(", ")
            ),
        ));
        return None;
    }
    if !c.has_format() {
        if table.format.is_some() {
            problems.push(table_problem(
                table,
                Some("format"),
                format!(
                    "table {}: the {} connector has no format; remove spec.format",
                    table.name,
                    c.name()
                ),
            ));
        }
    } else {
        match table.format.as_deref() {
            Some(f) if crate::format::NAMES.contains(&f) => {}
            Some(other) => problems.push(table_problem(
                table,
                Some("format"),
                format!(
                    "table {}: format '{other}' is not supported; use one of {}",
                    table.name,
                    crate::format::NAMES.join(", ")
                ),
            )),
            None => problems.push(table_problem(
                table,
                Some("format"),
                format!(
                    "table {}: spec.format is missing; set it to one of {}",
                    table.name,
                    crate::format::NAMES.join(", ")
                ),
            )),
        }
    }
    for col in &table.columns {
        if let Some(key) = &col.metadata
            && (role == Role::Sink || !c.metadata_keys().contains(&key.as_str()))
        {
            let keys = c.metadata_keys();
            let msg = if role == Role::Sink || keys.is_empty() {
                format!(
                    "table {}: column {} reads metadata '{key}', but a {} table has no metadata columns",
                    table.name,
                    col.name,
                    c.name()
                )
            } else {
                format!(
                    "table {}: column {} reads unknown metadata key '{key}'; the {} connector supports: {}",
                    table.name,
                    col.name,
                    c.name(),
                    keys.join(", ")
                )
            };
            problems.push(table_problem(table, None, msg));
        }
    }
    if role == Role::Source && !table.partitioned_by.is_empty() {
        problems.push(table_problem(
            table,
            None,
            format!(
                "table {}: spec.partitionedBy only applies to sink tables",
                table.name
            ),
        ));
    }
    Some(c)
}

fn table_problems<T: ?Sized>(
    table: &TableDef,
    result: Result<Arc<T>, Vec<crate::options::OptionError>>,
    problems: &mut Vec<Problem>,
) -> Option<Arc<T>> {
    match result {
        Ok(v) => Some(v),
        Err(errors) => {
            problems.extend(
                errors
                    .into_iter()
                    .map(|e| table_problem(table, Some(&e.key), e.message)),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_crds::Manifests;
    use std::path::Path;

    fn examples(file: &str) -> Manifests {
        Manifests::load(&[Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../examples")
            .join(file)])
        .unwrap()
    }

    fn tables(m: &Manifests) -> Vec<StreamingTable> {
        m.tables.iter().map(|(t, _)| t.clone()).collect()
    }

    #[test]
    fn the_seed_job_is_valid() {
        let m = examples("stock-ticks.yaml");
        let (job, _) = m.job(None).unwrap();
        let v = validate(job, &tables(&m)).unwrap_or_else(|p| panic!("{p:?}"));
        assert_eq!(v.id, "default/filter-ticks");
        assert_eq!(v.plan.sink.partitioned_by, ["ticker", "dt", "hr"]);
        assert!(
            v.source.describe().contains("topic stock-ticks"),
            "{}",
            v.source.describe()
        );
        assert!(v.sink.describe().contains("s3://my-bucket/stock-ticks"));
    }

    #[test]
    fn the_msk_job_needs_its_secret_as_an_environment_variable() {
        let mut m = examples("stock-ticks-msk.yaml");
        m.tables.extend(
            examples("stock-ticks.yaml")
                .tables
                .into_iter()
                .filter(|(t, _)| t.name_any() == "sink-table"),
        );
        let (job, _) = m.job(Some("filter-ticks-prod")).unwrap();
        let v = validate(job, &tables(&m)).unwrap_or_else(|p| panic!("{p:?}"));
        assert_eq!(
            v.secrets,
            [SecretEnv {
                env: "SLUICE_SECRET_STOCK_TICKS__PROPERTIES_SASL_PASSWORD".into(),
                secret: "msk-credentials".into(),
                key: "password".into()
            }]
        );
    }

    #[test]
    fn mistakes_are_reported_with_where_they_are() {
        let mut m = examples("stock-ticks.yaml");
        m.tables[1]
            .0
            .spec
            .options
            .insert("sink.rolling-policy.file-sizee".into(), "1MB".into());
        m.jobs[0].0.spec.sql =
            "INSERT INTO sink_table\nSELECT event_time, ticker, prise, 'a', 'b' FROM stock_ticks"
                .into();
        let (job, _) = m.job(None).unwrap();
        let problems = validate(job, &tables(&m)).unwrap_err();
        // The SQL error, and the option mistake of a table the failed SQL names: one run
        // lists both.
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(
            problems[1].subject,
            Subject::Table {
                resource: "default/sink-table".into(),
                option: Some("sink.rolling-policy.file-sizee".into())
            }
        );
        assert_eq!(
            problems[0].subject,
            Subject::Sql(Some(Location {
                line: 2,
                column: 28
            }))
        );
        assert!(problems[0].message.contains("prise"), "{}", problems[0]);
        m.jobs[0].0.spec.sql =
            "INSERT INTO sink_table SELECT event_time, ticker, price, 'a', 'b' FROM stock_ticks"
                .into();
        let (job, _) = m.job(None).unwrap();
        let problems = validate(job, &tables(&m)).unwrap_err();
        assert!(
            matches!(&problems[0].subject, Subject::Table { option: Some(o), .. } if o == "sink.rolling-policy.file-sizee"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_kafka_table_cannot_be_a_sink() {
        let mut m = examples("stock-ticks.yaml");
        m.jobs[0].0.spec.sql =
            "INSERT INTO stock_ticks SELECT event_time, ticker, price FROM stock_ticks".into();
        let (job, _) = m.job(None).unwrap();
        let problems = validate(job, &tables(&m)).unwrap_err();
        assert!(
            problems.iter().any(|p| p
                .message
                .contains("is a 'kafka' table, which cannot be a sink; sink tables: filesystem")),
            "{problems:?}"
        );
    }
}
