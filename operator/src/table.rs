//! A `StreamingTable` checked on its own, for its `Valid` condition and `status.sqlName`: the
//! declaration (columns, types, partition columns), the connector and format, and the options
//! for the role its connector plays. Problems that depend on a job (a Kafka table used as a
//! sink, columns that do not match a query) are reported on the job.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;
use sluice_crds::conditions;
use sluice_crds::{StreamingTable, StreamingTableStatus};
use sluice_executor::connector::{self, Role, ValidationContext};
use sluice_sql::TableDef;

use crate::validate::{JobProblem, summary};

/// Reason of the `Valid` condition when two tables of a namespace share a SQL name.
pub const DUPLICATE_SQL_NAME: &str = "DuplicateSqlName";

/// Every problem of a table's own declaration.
pub fn validate_table(table: &StreamingTable) -> Vec<JobProblem> {
    let def = match TableDef::from_resource(table) {
        Ok(def) => def,
        Err(errors) => {
            return errors
                .into_iter()
                .map(|e| JobProblem {
                    reason: "InvalidTable",
                    message: e.message,
                })
                .collect();
        }
    };
    let mut problems = Vec::new();
    let mut problem =
        |reason: &'static str, message: String| problems.push(JobProblem { reason, message });
    let Some(c) = connector::connector(&def.connector) else {
        problem(
            "InvalidOption",
            format!(
                "table {}: unknown connector '{}'; available: {}",
                def.name,
                def.connector,
                connector::REGISTRY
                    .iter()
                    .map(|c| c.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        return problems;
    };
    let formats = sluice_executor::format::NAMES;
    match def.format.as_deref() {
        Some(f) if formats.contains(&f) => {}
        Some(other) => problem(
            "InvalidOption",
            format!(
                "table {}: format '{other}' is not supported; use one of {}",
                def.name,
                formats.join(", ")
            ),
        ),
        None => problem(
            "InvalidOption",
            format!(
                "table {}: spec.format is missing; set it to one of {}",
                def.name,
                formats.join(", ")
            ),
        ),
    }
    let can_read = c.roles().contains(&Role::Source);
    for col in &def.columns {
        if let Some(key) = &col.metadata
            && (!can_read || !c.metadata_keys().contains(&key.as_str()))
        {
            let msg = if can_read && !c.metadata_keys().is_empty() {
                format!(
                    "table {}: column {} reads unknown metadata key '{key}'; the {} connector supports: {}",
                    def.name,
                    col.name,
                    c.name(),
                    c.metadata_keys().join(", ")
                )
            } else {
                format!(
                    "table {}: column {} reads metadata '{key}', but a {} table has no metadata columns",
                    def.name,
                    col.name,
                    c.name()
                )
            };
            problem("InvalidTable", msg);
        }
    }
    if !c.roles().contains(&Role::Sink) && !def.partitioned_by.is_empty() {
        problem(
            "InvalidTable",
            format!(
                "table {}: spec.partitionedBy only applies to sink tables",
                def.name
            ),
        );
    }
    // Options, for each role the connector can play; a table is fine if one role accepts it.
    let ctx = ValidationContext {
        job: format!(
            "{}/{}",
            table.namespace().unwrap_or_else(|| "default".into()),
            table.name_any()
        ),
    };
    let mut option_errors = Vec::new();
    for role in c.roles() {
        let errors = match role {
            Role::Source => c.source(&def, &ctx).err(),
            Role::Sink => c.sink(&def, &ctx).err(),
        };
        match errors {
            None => {
                option_errors.clear();
                break;
            }
            Some(e) if option_errors.is_empty() => option_errors = e,
            Some(_) => {}
        }
    }
    for e in option_errors {
        problem("InvalidOption", e.message);
    }
    problems
}

/// The status a table should have. `duplicates` are the other tables of the namespace with the
/// same SQL name.
pub fn table_status(
    table: &StreamingTable,
    problems: &[JobProblem],
    duplicates: &[String],
    now: Time,
) -> StreamingTableStatus {
    let previous = table
        .status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default();
    let generation = table.metadata.generation;
    let sql_name = table.sql_name();
    let mut all = problems.to_vec();
    if !duplicates.is_empty() {
        all.push(JobProblem {
            reason: DUPLICATE_SQL_NAME,
            message: format!(
                "the SQL name {sql_name} is also used by {}; set spec.tableName on one of them",
                duplicates.join(", ")
            ),
        });
    }
    let valid = match all.first() {
        None => conditions::condition(
            conditions::VALID,
            true,
            "Valid",
            format!(
                "{} table {sql_name}: columns, format and options are valid",
                table.spec.connector
            ),
            generation,
            previous,
            now,
        ),
        Some(first) => conditions::condition(
            conditions::VALID,
            false,
            first.reason,
            summary(&all),
            generation,
            previous,
            now,
        ),
    };
    StreamingTableStatus {
        observed_generation: generation,
        sql_name: Some(sql_name),
        conditions: vec![valid],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::tests::example;
    use k8s_openapi::jiff::Timestamp;

    fn now() -> Time {
        Time(Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn the_example_tables_are_valid_and_report_their_sql_name() {
        let (_, tables) = example("stock-ticks.yaml");
        for t in &tables {
            assert_eq!(validate_table(t), [], "{}", t.name_any());
        }
        let s = table_status(&tables[0], &[], &[], now());
        assert_eq!(s.sql_name.as_deref(), Some("stock_ticks"));
        assert!(conditions::is_true(&s.conditions, "Valid"));
    }

    #[test]
    fn a_table_with_an_unknown_option_or_bad_type_is_invalid_with_the_reason() {
        let (_, mut tables) = example("stock-ticks.yaml");
        tables[0]
            .spec
            .options
            .insert("scan.startup.mod".into(), "x".into());
        let p = validate_table(&tables[0]);
        assert_eq!(p[0].reason, "InvalidOption");
        assert!(p[0].message.contains("scan.startup.mod"), "{p:?}");
        tables[1].spec.columns[2].type_ = "DOUBLEE".into();
        let p = validate_table(&tables[1]);
        assert_eq!(p[0].reason, "InvalidTable", "{p:?}");
        let s = table_status(&tables[1], &p, &[], now());
        let c = conditions::find(&s.conditions, "Valid").unwrap();
        assert_eq!(
            (c.status.as_str(), c.reason.as_str()),
            ("False", "InvalidTable")
        );
    }

    #[test]
    fn two_tables_with_one_sql_name_are_both_flagged() {
        let (_, tables) = example("stock-ticks.yaml");
        let s = table_status(&tables[0], &[], &["default/other".into()], now());
        let c = conditions::find(&s.conditions, "Valid").unwrap();
        assert_eq!(c.reason, DUPLICATE_SQL_NAME);
        assert!(c.message.contains("default/other"));
    }

    #[test]
    fn an_unchanged_condition_keeps_its_transition_time() {
        let (_, mut tables) = example("stock-ticks.yaml");
        let first = table_status(&tables[0], &[], &[], now());
        tables[0].status = Some(first.clone());
        let later = Time(Timestamp::from_second(1_000_000).unwrap());
        assert_eq!(table_status(&tables[0], &[], &[], later), first);
    }
}
