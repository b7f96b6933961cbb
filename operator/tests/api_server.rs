//! The operator against a real kube-apiserver 1.20 + etcd + kube-controller-manager, started
//! once for this test binary by `e2e/rig/apiserver.sh` (a drop guard stops it). Each test has
//! its own namespace and, except the leader election test, its own in-process operator
//! watching only that namespace. There is no scheduler: executor pods stay Pending, which is
//! enough to see Deployments become ReplicaSets and Pods, garbage collection, and status
//! write-back through the executor's own `StatusWriter` with the executor's own RBAC.
//!
//! Run: `cargo test -p sluice-operator --test api_server` (after `e2e/rig/prepare.sh`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

#[macro_use]
mod support;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{ConfigMap, Pod, ServiceAccount};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use sluice_crds::conditions;
use sluice_crds::{StreamingJob, StreamingTable};
use sluice_executor::status::StatusWriter;
use sluice_operator::render::LABEL_JOB;
use support::*;

fn main() -> ExitCode {
    support::run_main(
        "t",
        scenarios![
            a_valid_job_gets_its_config_deployment_and_least_privilege_rbac,
            bad_sql_is_reported_with_line_and_column_and_an_event_and_gets_no_deployment,
            unknown_options_missing_tables_and_wrong_types_are_reported_until_fixed,
            executor_status_is_summed_and_entries_of_gone_pods_are_dropped,
            the_executor_account_may_patch_only_its_own_jobs_status,
            suspend_scales_to_zero_and_resume_restores_parallelism_without_a_rollout,
            a_table_change_rolls_out_only_the_jobs_that_use_the_table,
            deleting_a_job_garbage_collects_everything_it_made,
            a_reconcile_with_nothing_to_change_makes_no_writes,
            an_invalid_update_keeps_the_last_valid_deployment_and_still_follows_suspend,
            pod_template_overlays_are_merged_and_their_mistakes_reported,
            a_job_with_its_own_service_account_gets_the_role_bound_to_it,
            the_operator_works_with_only_its_documented_cluster_role,
            two_operators_elect_one_leader_and_a_standby_takes_over,
            a_user_who_may_not_create_pods_gets_no_pod_capability_through_a_job,
            the_operators_effective_permissions_are_the_documented_ones,
        ],
    )
}

// ---------------------------------------------------------------------------------------------
// Scenarios

async fn a_valid_job_gets_its_config_deployment_and_least_privilege_rbac(env: Env) {
    let op = InProcessOperator::start(&env.rig.kubeconfig, &[&env.ns], None).await;
    let unwatched = format!("{}-unwatched", env.ns);
    create_namespace(&env.client, &unwatched).await;
    let (tables, jobs) = example("stock-ticks.yaml", &unwatched);
    for t in &tables {
        apply(&env.client, &unwatched, t).await;
    }
    apply(&env.client, &unwatched, &jobs[0]).await;
    apply_example(&env, "stock-ticks.yaml").await;

    let d = wait_deployment(&env, "filter-ticks-executor", "exists", |_| true).await;
    let job: StreamingJob = api::<StreamingJob>(&env).get("filter-ticks").await.unwrap();
    let owner = &d.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str()),
        ("StreamingJob", job.uid().unwrap().as_str())
    );
    assert_eq!(owner.controller, Some(true));
    let spec = d.spec.clone().unwrap();
    assert_eq!(spec.replicas, Some(1));
    let pod = spec.template.spec.unwrap();
    let c = &pod.containers[0];
    assert_eq!(c.name, "executor");
    assert_eq!(c.image.as_deref(), Some("localhost/sluice:test"));
    assert_eq!(c.command.as_deref(), Some(&["sluice".to_owned()][..]));
    assert_eq!(
        c.args.as_ref().unwrap().join(" "),
        "run -f /etc/sluice/job.yaml --job filter-ticks"
    );
    assert!(config_hash(&d).is_some());

    // The configuration is what the executor validates the same way.
    let cm: ConfigMap = api(&env).get("filter-ticks-executor").await.unwrap();
    let text = &cm.data.unwrap()["job.yaml"];
    let m = sluice_crds::Manifests::parse(std::path::Path::new("job.yaml"), text).unwrap();
    let tables: Vec<_> = m.tables.iter().map(|(t, _)| t.clone()).collect();
    let (read, _) = m.job(Some("filter-ticks")).unwrap();
    sluice_executor::job::validate(read, &tables).unwrap_or_else(|p| panic!("{p:?}"));
    assert!(!text.contains("managedFields") && !text.contains("uid:"));

    // RBAC.
    let _: ServiceAccount = api(&env).get("filter-ticks-executor").await.unwrap();
    let role: Role = api(&env).get("filter-ticks-executor").await.unwrap();
    let rules = role.rules.unwrap();
    assert_eq!(rules.len(), 1, "{rules:?}");
    assert_eq!(
        rules[0].resource_names.as_deref(),
        Some(&["filter-ticks".to_owned()][..])
    );
    assert_eq!(rules[0].verbs, ["patch"]);
    let binding: RoleBinding = api(&env).get("filter-ticks-executor").await.unwrap();
    assert_eq!(binding.subjects.unwrap()[0].name, "filter-ticks-executor");

    // The pod the ReplicaSet made was accepted with the security context.
    let pods = wait_pods(&env, "filter-ticks", 1).await;
    let pod = pods[0].spec.as_ref().unwrap();
    let psc = pod.security_context.as_ref().unwrap();
    assert_eq!(
        (psc.run_as_user, psc.run_as_non_root),
        (Some(65532), Some(true))
    );
    let env_names: Vec<_> = pod.containers[0]
        .env
        .as_ref()
        .unwrap()
        .iter()
        .map(|e| e.name.clone())
        .collect();
    assert_eq!(
        env_names,
        ["POD_NAME", "POD_NAMESPACE", "SLUICE_MEMORY_LIMIT"]
    );

    // Status: valid, pending (no scheduler), one replica.
    wait_job(&env, "filter-ticks", "valid and pending", |j| {
        condition_is(j, "Valid", "True", "Valid")?;
        condition_is(j, "Ready", "False", "ExecutorsNotReady")?;
        let s = j.status.as_ref().unwrap();
        (s.phase.as_deref() == Some("Pending") && s.replicas == Some(1))
            .then_some(())
            .ok_or_else(|| "not pending with 1 replica".into())
    })
    .await;
    let tables_api: Api<StreamingTable> = api(&env);
    eventually("tables valid with their SQL names", WAIT, || {
        let tables_api = tables_api.clone();
        async move {
            let t = tables_api
                .get("stock-ticks")
                .await
                .map_err(|e| e.to_string())?;
            let s = t.status.ok_or("no status")?;
            (s.sql_name.as_deref() == Some("stock_ticks")
                && conditions::is_true(&s.conditions, "Valid"))
            .then_some(())
            .ok_or_else(|| format!("{s:?}"))
        }
    })
    .await;
    wait_event(&env, "filter-ticks", "Created").await;

    // The namespace the operator does not watch is left alone.
    let other: Api<Deployment> = Api::namespaced(env.client.clone(), &unwatched);
    assert!(
        other
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let other_job: StreamingJob = Api::namespaced(env.client.clone(), &unwatched)
        .get("filter-ticks")
        .await
        .unwrap();
    assert!(other_job.status.is_none());
    op.stop().await;
}

async fn bad_sql_is_reported_with_line_and_column_and_an_event_and_gets_no_deployment(env: Env) {
    let op = InProcessOperator::start(&env.rig.kubeconfig, &[&env.ns], None).await;
    let (tables, _) = example("stock-ticks.yaml", &env.ns);
    for t in &tables {
        apply(&env.client, &env.ns, t).await;
    }
    apply_yaml(
        &env.client,
        &env.ns,
        &job_yaml(
            "bad-sql",
            "INSERT INTO sink_table\nSELEC event_time FROM stock_ticks",
        ),
    )
    .await;
    let job = wait_job(&env, "bad-sql", "Valid=False SqlSyntaxError", |j| {
        condition_is(j, "Valid", "False", "SqlSyntaxError")
    })
    .await;
    let message = &cond(&job, "Valid").unwrap().message;
    assert!(message.contains("spec.sql line 2, column 1"), "{message}");
    assert_eq!(
        job.status.as_ref().unwrap().phase.as_deref(),
        Some("Failed")
    );
    assert_eq!(cond(&job, "Ready").unwrap().reason, "Invalid");
    let event = wait_event(&env, "bad-sql", "SqlSyntaxError").await;
    assert_eq!(event.type_.as_deref(), Some("Warning"));
    assert!(event.note.unwrap().contains("line 2, column 1"));
    assert!(
        api::<Deployment>(&env)
            .get_opt("bad-sql-executor")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        api::<ConfigMap>(&env)
            .get_opt("bad-sql-executor")
            .await
            .unwrap()
            .is_none()
    );
    op.stop().await;
}

async fn unknown_options_missing_tables_and_wrong_types_are_reported_until_fixed(env: Env) {
    let op = InProcessOperator::start(&env.rig.kubeconfig, &[&env.ns], None).await;
    let (tables, _) = example("stock-ticks.yaml", &env.ns);
    for t in &tables {
        apply(&env.client, &env.ns, t).await;
    }
    let mut typo = tables[0].clone();
    typo.metadata.name = Some("typo-source".into());
    typo.spec
        .options
        .insert("scan.startup.mod".into(), "latest-offset".into());
    apply(&env.client, &env.ns, &typo).await;
    let mut bad_type = tables[1].clone();
    bad_type.metadata.name = Some("bad-types".into());
    bad_type.spec.columns[2].type_ = "DOUBLEE".into();
    apply(&env.client, &env.ns, &bad_type).await;
    apply_yaml(
        &env.client,
        &env.ns,
        &job_yaml(
            "unknown-option",
            &GOOD_SQL.replace("FROM stock_ticks", "FROM typo_source"),
        ),
    )
    .await;
    apply_yaml(
        &env.client,
        &env.ns,
        &job_yaml(
            "missing-table",
            &GOOD_SQL.replace("INTO sink_table", "INTO missing_sink"),
        ),
    )
    .await;
    apply_yaml(
        &env.client,
        &env.ns,
        &job_yaml(
            "wrong-types",
            "INSERT INTO sink_table\nSELECT event_time, ticker, ticker, 'a', 'b' FROM stock_ticks",
        ),
    )
    .await;
    let j = wait_job(&env, "unknown-option", "InvalidOption", |j| {
        condition_is(j, "Valid", "False", "InvalidOption")
    })
    .await;
    assert!(
        cond(&j, "Valid")
            .unwrap()
            .message
            .contains("scan.startup.mod")
    );
    let j = wait_job(&env, "missing-table", "UnknownTable", |j| {
        condition_is(j, "Valid", "False", "UnknownTable")
    })
    .await;
    assert!(cond(&j, "Valid").unwrap().message.contains("missing_sink"));
    wait_job(&env, "wrong-types", "TypeMismatch", |j| {
        condition_is(j, "Valid", "False", "TypeMismatch")
    })
    .await;
    let tables_api: Api<StreamingTable> = api(&env);
    for (name, reason) in [
        ("typo-source", "InvalidOption"),
        ("bad-types", "InvalidTable"),
    ] {
        let tables_api = tables_api.clone();
        let t = eventually(&format!("table {name} Valid=False {reason}"), WAIT, || {
            let tables_api = tables_api.clone();
            async move {
                let t = tables_api.get(name).await.map_err(|e| e.to_string())?;
                let c = t
                    .status
                    .as_ref()
                    .and_then(|s| conditions::find(&s.conditions, "Valid").cloned());
                match c {
                    Some(c) if c.status == "False" && c.reason == reason => Ok(t),
                    other => Err(format!("{other:?}")),
                }
            }
        })
        .await;
        assert!(t.status.unwrap().sql_name.is_some());
    }
    for job in ["unknown-option", "missing-table", "wrong-types"] {
        assert!(
            api::<Deployment>(&env)
                .get_opt(&format!("{job}-executor"))
                .await
                .unwrap()
                .is_none()
        );
    }
    // Creating the missing table re-reconciles the job that needs it.
    let mut missing = tables[1].clone();
    missing.metadata.name = Some("missing-sink".into());
    apply(&env.client, &env.ns, &missing).await;
    wait_job(&env, "missing-table", "valid once its table exists", |j| {
        condition_is(j, "Valid", "True", "Valid")
    })
    .await;
    wait_deployment(&env, "missing-table-executor", "exists", |_| true).await;
    op.stop().await;
}

async fn executor_status_is_summed_and_entries_of_gone_pods_are_dropped(env: Env) {
    let op = InProcessOperator::start(&env.rig.kubeconfig, &[&env.ns], None).await;
    let (tables, mut jobs) = example("stock-ticks.yaml", &env.ns);
    for t in &tables {
        apply(&env.client, &env.ns, t).await;
    }
    jobs[0].spec.parallelism = 2;
    apply(&env.client, &env.ns, &jobs[0]).await;
    let pods = wait_pods(&env, "filter-ticks", 2).await;
    let (a, b) = (pods[0].name_any(), pods[1].name_any());
    let sa = client_for(&env.rig.kubeconfig_for_sa(&env.ns, "filter-ticks-executor")).await;
    let wa = StatusWriter::with_client(sa.clone(), &env.ns, "filter-ticks", &a);
    let wb = StatusWriter::with_client(sa.clone(), &env.ns, "filter-ticks", &b);
    wa.publish(&[
        partition(0, 100, 5, "2026-01-01T00:00:01Z"),
        partition(1, 200, 7, "2026-01-01T00:00:03Z"),
    ])
    .await
    .unwrap();
    wb.publish(&[partition(2, 300, 11, "2026-01-01T00:00:02Z")])
        .await
        .unwrap();
    let totals = |records_in: i64, lag: i64, n: usize| {
        move |j: &StreamingJob| {
            let s = j.status.as_ref().ok_or("no status")?;
            (s.partitions.len() == n && s.records_in == Some(records_in) && s.lag == Some(lag))
                .then_some(())
                .ok_or_else(|| {
                    format!(
                        "in {:?} lag {:?} entries {}",
                        s.records_in,
                        s.lag,
                        s.partitions.len()
                    )
                })
        }
    };
    let job = wait_job(
        &env,
        "filter-ticks",
        "totals of 3 partitions",
        totals(600, 23, 3),
    )
    .await;
    let s = job.status.unwrap();
    assert_eq!(s.records_out, Some(50 + 100 + 150));
    assert_eq!(s.records_failed, Some(3));
    assert_eq!(s.files_written, Some(6));
    assert_eq!(s.bytes_written, Some(3000));
    assert_eq!(s.last_commit_time.as_deref(), Some("2026-01-01T00:00:03Z"));

    // Rebalance: partition 1 moves from a to b.
    wb.publish(&[
        partition(1, 250, 2, "2026-01-01T00:00:04Z"),
        partition(2, 300, 11, "2026-01-01T00:00:02Z"),
    ])
    .await
    .unwrap();
    wa.publish(&[partition(0, 100, 5, "2026-01-01T00:00:01Z")])
        .await
        .unwrap();
    let job = wait_job(
        &env,
        "filter-ticks",
        "partition 1 owned by b",
        totals(650, 18, 3),
    )
    .await;
    let p1 = job
        .status
        .as_ref()
        .unwrap()
        .partitions
        .iter()
        .find(|p| p.partition == 1)
        .unwrap();
    assert_eq!(p1.pod.as_deref(), Some(b.as_str()));

    // Pod a is deleted: its entries disappear (the ReplicaSet makes a new pod meanwhile).
    api::<Pod>(&env)
        .delete(&a, &DeleteParams::default().grace_period(0))
        .await
        .unwrap();
    let job = wait_job(
        &env,
        "filter-ticks",
        "pod a's entries dropped",
        totals(550, 13, 2),
    )
    .await;
    assert!(
        job.status
            .unwrap()
            .partitions
            .iter()
            .all(|p| p.pod.as_deref() == Some(b.as_str()))
    );
    let managers: Vec<_> = job
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter_map(|m| m.manager.clone())
        .collect();
    assert!(
        !managers.contains(&format!("sluice-executor-{a}")),
        "{managers:?}"
    );

    // An empty publish removes the pod's own entries, and the totals with them.
    wb.publish(&[]).await.unwrap();
    wait_job(&env, "filter-ticks", "no entries and no totals", |j| {
        let s = j.status.as_ref().ok_or("no status")?;
        (s.partitions.is_empty() && s.records_in.is_none())
            .then_some(())
            .ok_or_else(|| format!("{} entries", s.partitions.len()))
    })
    .await;
    op.stop().await;
}

async fn the_executor_account_may_patch_only_its_own_jobs_status(env: Env) {
    let op = InProcessOperator::start(&env.rig.kubeconfig, &[&env.ns], None).await;
    apply_example(&env, "stock-ticks.yaml").await;
    apply_yaml(&env.client, &env.ns, &job_yaml("other-job", GOOD_SQL)).await;
    wait_deployment(&env, "filter-ticks-executor", "exists", |_| true).await;
    wait_deployment(&env, "other-job-executor", "exists", |_| true).await;
    let sa = client_for(&env.rig.kubeconfig_for_sa(&env.ns, "filter-ticks-executor")).await;
    let code = |r: Result<(), kube::Error>| match r {
        Ok(()) => 200,
        Err(kube::Error::Api(e)) => e.code,
        Err(e) => panic!("{e}"),
    };
    let own = StatusWriter::with_client(sa.clone(), &env.ns, "filter-ticks", "p-1");
    own.publish(&[partition(0, 1, 0, "2026-01-01T00:00:00Z")])
        .await
        .unwrap();
    let other = StatusWriter::with_client(sa.clone(), &env.ns, "other-job", "p-1");
    assert_eq!(
        other
            .publish(&[partition(0, 1, 0, "2026-01-01T00:00:00Z")])
            .await
            .unwrap_err()
            .code(),
        Some(403)
    );
    // Not even its own job: the executor reads its configuration from the ConfigMap mount.
    let jobs: Api<StreamingJob> = Api::namespaced(sa.clone(), &env.ns);
    assert_eq!(code(jobs.get("filter-ticks").await.map(|_| ())), 403);
    assert_eq!(code(jobs.get("other-job").await.map(|_| ())), 403);
    assert_eq!(
        code(jobs.list(&ListParams::default()).await.map(|_| ())),
        403
    );
    let spec_patch = Patch::Merge(serde_json::json!({"spec": {"suspend": true}}));
    assert_eq!(
        code(
            jobs.patch("filter-ticks", &PatchParams::default(), &spec_patch)
                .await
                .map(|_| ())
        ),
        403
    );
    let mut event = Event::default();
    event.metadata.name = Some("executor-event".into());
    event.event_time = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime(
        k8s_openapi::jiff::Timestamp::now(),
    ));
    event.reporting_controller = Some("sluice-executor".into());
    event.reporting_instance = Some("p-1".into());
    event.action = Some("Commit".into());
    event.reason = Some("Committed".into());
    event.type_ = Some("Normal".into());
    event.note = Some("committed".into());
    event.regarding = Some(k8s_openapi::api::core::v1::ObjectReference {
        api_version: Some("sluice.dev/v1alpha1".into()),
        kind: Some("StreamingJob".into()),
        name: Some("filter-ticks".into()),
        namespace: Some(env.ns.clone()),
        ..Default::default()
    });
    // Executors record no Events: they may not create any.
    let events: Api<Event> = Api::namespaced(sa.clone(), &env.ns);
    assert_eq!(
        code(
            events
                .create(&PostParams::default(), &event)
                .await
                .map(|_| ())
        ),
        403
    );
    assert_eq!(
        code(
            Api::<Pod>::namespaced(sa.clone(), &env.ns)
                .list(&ListParams::default())
                .await
                .map(|_| ())
        ),
        403
    );
    assert_eq!(
        code(
            Api::<ConfigMap>::namespaced(sa.clone(), &env.ns)
                .get("filter-ticks-executor")
                .await
                .map(|_| ())
        ),
        403
    );
    assert_eq!(
        code(
            Api::<k8s_openapi::api::core::v1::Secret>::namespaced(sa, &env.ns)
                .list(&ListParams::default())
                .await
                .map(|_| ())
        ),
        403
    );
    op.stop().await;
}

async fn suspend_scales_to_zero_and_resume_restores_parallelism_without_a_rollout(env: Env) {
    let op = InProcessOperator::start(&env.rig.kubeconfig, &[&env.ns], None).await;
    let (tables, mut jobs) = example("stock-ticks.yaml", &env.ns);
    for t in &tables {
        apply(&env.client, &env.ns, t).await;
    }
    jobs[0].spec.parallelism = 2;
    apply(&env.client, &env.ns, &jobs[0]).await;
    let d = wait_deployment(&env, "filter-ticks-executor", "2 replicas", |d| {
        replicas(d) == Some(2)
    })
    .await;
    let hash = config_hash(&d).unwrap();
    wait_pods(&env, "filter-ticks", 2).await;

    set_spec(&env, "filter-ticks", serde_json::json!({"suspend": true})).await;
    let d = wait_deployment(&env, "filter-ticks-executor", "0 replicas", |d| {
        replicas(d) == Some(0)
    })
    .await;
    assert_eq!(
        config_hash(&d).as_deref(),
        Some(hash.as_str()),
        "suspending must not roll out"
    );
    wait_pods(&env, "filter-ticks", 0).await;
    wait_job(&env, "filter-ticks", "Suspended", |j| {
        condition_is(j, "Ready", "True", "Suspended")?;
        (j.status.as_ref().unwrap().phase.as_deref() == Some("Suspended"))
            .then_some(())
            .ok_or_else(|| "phase".into())
    })
    .await;
    wait_event(&env, "filter-ticks", "Suspended").await;

    set_spec(&env, "filter-ticks", serde_json::json!({"suspend": false})).await;
    let d = wait_deployment(&env, "filter-ticks-executor", "2 replicas again", |d| {
        replicas(d) == Some(2)
    })
    .await;
    assert_eq!(config_hash(&d).as_deref(), Some(hash.as_str()));
    wait_pods(&env, "filter-ticks", 2).await;
    wait_event(&env, "filter-ticks", "Resumed").await;
    let rs: Api<ReplicaSet> = api(&env);
    let sets = rs
        .list(&ListParams::default().labels(&format!("{LABEL_JOB}=filter-ticks")))
        .await
        .unwrap();
    assert_eq!(sets.items.len(), 1, "suspend/resume made no new ReplicaSet");
    op.stop().await;
}

async fn a_table_change_rolls_out_only_the_jobs_that_use_the_table(env: Env) {
    let op = InProcessOperator::start(&env.rig.kubeconfig, &[&env.ns], None).await;
    let (tables, _) = apply_example(&env, "stock-ticks.yaml").await;
    let mut other_sink = tables[1].clone();
    other_sink.metadata.name = Some("other-sink".into());
    apply(&env.client, &env.ns, &other_sink).await;
    apply_yaml(
        &env.client,
        &env.ns,
        &job_yaml(
            "other-job",
            &GOOD_SQL.replace("INTO sink_table", "INTO other_sink"),
        ),
    )
    .await;
    let d1 = wait_deployment(&env, "filter-ticks-executor", "exists", |_| true).await;
    let d2 = wait_deployment(&env, "other-job-executor", "exists", |_| true).await;
    let (h1, h2) = (config_hash(&d1).unwrap(), config_hash(&d2).unwrap());
    let before = op.metrics.reconciles();

    let mut changed = tables[1].clone();
    changed
        .spec
        .options
        .insert("sink.rolling-policy.file-size".into(), "64MB".into());
    apply(&env.client, &env.ns, &changed).await;
    let d1 = wait_deployment(&env, "filter-ticks-executor", "a new config hash", |d| {
        config_hash(d).as_deref() != Some(h1.as_str())
    })
    .await;
    let cm: ConfigMap = api(&env).get("filter-ticks-executor").await.unwrap();
    assert!(cm.data.unwrap()["job.yaml"].contains("64MB"));
    wait_event(&env, "filter-ticks", "RollingOut").await;
    assert!(op.metrics.reconciles() > before);
    let d2_now: Deployment = api(&env).get("other-job-executor").await.unwrap();
    assert_eq!(
        config_hash(&d2_now).as_deref(),
        Some(h2.as_str()),
        "a job not using the table is untouched"
    );
    assert_eq!(
        d2_now.metadata.generation, d2.metadata.generation,
        "its Deployment spec is unchanged"
    );
    assert_ne!(config_hash(&d1).as_deref(), Some(h1.as_str()));
    op.stop().await;
}

async fn deleting_a_job_garbage_collects_everything_it_made(env: Env) {
    let op = InProcessOperator::start(&env.rig.kubeconfig, &[&env.ns], None).await;
    apply_example(&env, "stock-ticks.yaml").await;
    wait_deployment(&env, "filter-ticks-executor", "exists", |_| true).await;
    wait_pods(&env, "filter-ticks", 1).await;
    api::<StreamingJob>(&env)
        .delete("filter-ticks", &DeleteParams::foreground())
        .await
        .unwrap();
    eventually(
        "every object of the job to be garbage-collected",
        WAIT,
        || async {
            let mut left = Vec::new();
            let name = "filter-ticks-executor";
            if api::<Deployment>(&env)
                .get_opt(name)
                .await
                .map_err(|e| e.to_string())?
                .is_some()
            {
                left.push("Deployment");
            }
            if api::<ConfigMap>(&env)
                .get_opt(name)
                .await
                .map_err(|e| e.to_string())?
                .is_some()
            {
                left.push("ConfigMap");
            }
            if api::<ServiceAccount>(&env)
                .get_opt(name)
                .await
                .map_err(|e| e.to_string())?
                .is_some()
            {
                left.push("ServiceAccount");
            }
            if api::<Role>(&env)
                .get_opt(name)
                .await
                .map_err(|e| e.to_string())?
                .is_some()
            {
                left.push("Role");
            }
            if api::<RoleBinding>(&env)
                .get_opt(name)
                .await
                .map_err(|e| e.to_string())?
                .is_some()
            {
                left.push("RoleBinding");
            }
            let rs = api::<ReplicaSet>(&env)
                .list(&ListParams::default().labels(&format!("{LABEL_JOB}=filter-ticks")))
                .await
                .map_err(|e| e.to_string())?;
            if !rs.items.is_empty() {
                left.push("ReplicaSet");
            }
            let pods = api::<Pod>(&env)
                .list(&ListParams::default().labels(&format!("{LABEL_JOB}=filter-ticks")))
                .await
                .map_err(|e| e.to_string())?;
            if !pods.items.is_empty() {
                left.push("Pod");
            }
            if api::<StreamingJob>(&env)
                .get_opt("filter-ticks")
                .await
                .map_err(|e| e.to_string())?
                .is_some()
            {
                left.push("StreamingJob");
            }
            if left.is_empty() {
                Ok(())
            } else {
                Err(format!("left: {left:?}"))
            }
        },
    )
    .await;
    op.stop().await;
}

async fn a_reconcile_with_nothing_to_change_makes_no_writes(env: Env) {
    let op = InProcessOperator::start(&env.rig.kubeconfig, &[&env.ns], None).await;
    apply_example(&env, "stock-ticks.yaml").await;
    wait_deployment(&env, "filter-ticks-executor", "exists", |_| true).await;
    wait_job(&env, "filter-ticks", "converged", |j| {
        condition_is(j, "Valid", "True", "Valid")?;
        condition_is(j, "Progressing", "False", "RolloutComplete")
    })
    .await;
    let writes = settled(&op.metrics).await;
    let versions = || async {
        let d: Deployment = api(&env).get("filter-ticks-executor").await.unwrap();
        let c: ConfigMap = api(&env).get("filter-ticks-executor").await.unwrap();
        let r: Role = api(&env).get("filter-ticks-executor").await.unwrap();
        let b: RoleBinding = api(&env).get("filter-ticks-executor").await.unwrap();
        let s: ServiceAccount = api(&env).get("filter-ticks-executor").await.unwrap();
        [
            d.resource_version(),
            c.resource_version(),
            r.resource_version(),
            b.resource_version(),
            s.resource_version(),
        ]
    };
    let before = versions().await;

    // Trigger reconciles without changing anything the operator manages: an annotation on
    // the job, a foreign annotation on the Deployment, an annotation on a table.
    let annotate = serde_json::json!({"metadata": {"annotations": {"example.com/touched": "1"}}});
    let patch = PatchParams::default();
    for target in ["job", "deployment", "table"] {
        let reconciles = op.metrics.reconciles();
        let p = Patch::Merge(&annotate);
        match target {
            "job" => drop(
                api::<StreamingJob>(&env)
                    .patch("filter-ticks", &patch, &p)
                    .await
                    .unwrap(),
            ),
            "deployment" => drop(
                api::<Deployment>(&env)
                    .patch("filter-ticks-executor", &patch, &p)
                    .await
                    .unwrap(),
            ),
            _ => drop(
                api::<StreamingTable>(&env)
                    .patch("sink-table", &patch, &p)
                    .await
                    .unwrap(),
            ),
        }
        eventually(
            &format!("a reconcile after touching the {target}"),
            WAIT,
            || {
                let n = op.metrics.reconciles();
                async move {
                    (n > reconciles)
                        .then_some(())
                        .ok_or_else(|| format!("{n} reconciles"))
                }
            },
        )
        .await;
    }
    let after_writes = settled(&op.metrics).await;
    assert_eq!(
        after_writes,
        writes,
        "a reconcile with nothing to change wrote something:\n{}",
        op.metrics
            .encode()
            .lines()
            .filter(|l| l.contains("writes_total"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let mut after = versions().await;
    // The foreign annotation on the Deployment is the test's own write.
    after[0] = before[0].clone();
    assert_eq!(after, before);
    op.stop().await;
}

async fn an_invalid_update_keeps_the_last_valid_deployment_and_still_follows_suspend(env: Env) {
    let op = InProcessOperator::start(&env.rig.kubeconfig, &[&env.ns], None).await;
    apply_example(&env, "stock-ticks.yaml").await;
    let d = wait_deployment(&env, "filter-ticks-executor", "exists", |_| true).await;
    let hash = config_hash(&d).unwrap();
    set_spec(
        &env,
        "filter-ticks",
        serde_json::json!({"sql": "INSERT INTO sink_table SELECT nope FROM stock_ticks"}),
    )
    .await;
    let job = wait_job(&env, "filter-ticks", "Valid=False UnknownColumn", |j| {
        condition_is(j, "Valid", "False", "UnknownColumn")
    })
    .await;
    assert_eq!(
        job.status.as_ref().unwrap().phase.as_deref(),
        Some("Failed")
    );
    assert!(
        cond(&job, "Ready")
            .unwrap()
            .message
            .contains("last valid spec"),
        "{}",
        describe(&job)
    );
    let d: Deployment = api(&env).get("filter-ticks-executor").await.unwrap();
    assert_eq!(
        config_hash(&d).as_deref(),
        Some(hash.as_str()),
        "the last valid configuration keeps running"
    );
    let cm: ConfigMap = api(&env).get("filter-ticks-executor").await.unwrap();
    assert!(!cm.data.unwrap()["job.yaml"].contains("nope"));

    set_spec(&env, "filter-ticks", serde_json::json!({"suspend": true})).await;
    wait_deployment(
        &env,
        "filter-ticks-executor",
        "scaled to 0 although invalid",
        |d| replicas(d) == Some(0),
    )
    .await;

    set_spec(
        &env,
        "filter-ticks",
        serde_json::json!({"suspend": false, "sql": GOOD_SQL.replace("> 10", "> 20")}),
    )
    .await;
    let d = wait_deployment(
        &env,
        "filter-ticks-executor",
        "the fixed spec rolled out",
        |d| replicas(d) == Some(1) && config_hash(d).as_deref() != Some(hash.as_str()),
    )
    .await;
    assert!(config_hash(&d).is_some());
    wait_job(&env, "filter-ticks", "valid again", |j| {
        condition_is(j, "Valid", "True", "Valid")
    })
    .await;
    wait_event(&env, "filter-ticks", "Valid").await;
    op.stop().await;
}

async fn pod_template_overlays_are_merged_and_their_mistakes_reported(env: Env) {
    let op = InProcessOperator::start(&env.rig.kubeconfig, &[&env.ns], None).await;
    let (tables, _) = example("stock-ticks.yaml", &env.ns);
    for t in &tables {
        apply(&env.client, &env.ns, t).await;
    }
    let overlay = |name: &str, template: &str| {
        format!(
            "{}  podTemplate:\n{}\n",
            job_yaml(name, GOOD_SQL),
            template
                .lines()
                .map(|l| format!("    {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        )
    };
    apply_yaml(&env.client, &env.ns, &overlay("merged", "metadata:\n  labels: {team: data, sluice.dev/job: hijack}\n  annotations: {example.com/scrape: 'true'}\nspec:\n  nodeSelector: {kubernetes.io/arch: arm64}\n  tolerations: [{key: dedicated, operator: Equal, value: streaming, effect: NoSchedule}]\n  containers:\n  - name: executor\n    env: [{name: AWS_REGION, value: eu-west-1}]\n  - name: sidecar\n    image: busybox:1\n")).await;
    apply_yaml(
        &env.client,
        &env.ns,
        &overlay("typo", "spec:\n  nodeSelecter: {a: b}\n"),
    )
    .await;
    apply_yaml(
        &env.client,
        &env.ns,
        &overlay(
            "rejected",
            "metadata:\n  labels: {team: 'not a valid label value!'}\n",
        ),
    )
    .await;

    let d = wait_deployment(&env, "merged-executor", "exists", |_| true).await;
    let template = d.spec.unwrap().template;
    let meta = template.metadata.unwrap();
    let labels = meta.labels.unwrap();
    assert_eq!(labels["team"], "data");
    assert_eq!(
        labels[LABEL_JOB], "merged",
        "the operator's selector labels win"
    );
    assert_eq!(meta.annotations.unwrap()["example.com/scrape"], "true");
    let pod = template.spec.unwrap();
    assert_eq!(pod.node_selector.unwrap()["kubernetes.io/arch"], "arm64");
    assert_eq!(pod.containers.len(), 2);
    let main = &pod.containers[0];
    assert_eq!(
        main.args.as_ref().unwrap()[0],
        "run",
        "command and args are kept"
    );
    assert!(
        main.env
            .as_ref()
            .unwrap()
            .iter()
            .any(|e| e.name == "AWS_REGION")
    );
    assert!(
        main.env
            .as_ref()
            .unwrap()
            .iter()
            .any(|e| e.name == "POD_NAME")
    );
    wait_pods(&env, "merged", 1).await;

    let job = wait_job(&env, "typo", "InvalidPodTemplate", |j| {
        condition_is(j, "Valid", "False", "InvalidPodTemplate")
    })
    .await;
    assert!(
        cond(&job, "Valid")
            .unwrap()
            .message
            .contains("spec.podTemplate.spec.nodeSelecter: unknown field")
    );
    let job = wait_job(&env, "rejected", "Rejected by the API server", |j| {
        condition_is(j, "Valid", "False", "Rejected")
    })
    .await;
    assert!(
        cond(&job, "Valid")
            .unwrap()
            .message
            .contains("not a valid label value"),
        "{}",
        describe(&job)
    );
    assert!(
        api::<Deployment>(&env)
            .get_opt("typo-executor")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        api::<Deployment>(&env)
            .get_opt("rejected-executor")
            .await
            .unwrap()
            .is_none()
    );
    op.stop().await;
}

async fn a_job_with_its_own_service_account_gets_the_role_bound_to_it(env: Env) {
    let op = InProcessOperator::start(&env.rig.kubeconfig, &[&env.ns], None).await;
    apply_example(&env, "stock-ticks.yaml").await;
    wait_deployment(&env, "filter-ticks-executor", "exists", |_| true).await;
    assert!(
        api::<ServiceAccount>(&env)
            .get_opt("filter-ticks-executor")
            .await
            .unwrap()
            .is_some()
    );
    let mut own = ServiceAccount::default();
    own.metadata.name = Some("ticks-irsa".into());
    own.metadata.labels = Some([("sluice.dev/executor".to_owned(), "true".to_owned())].into());
    api::<ServiceAccount>(&env)
        .create(&PostParams::default(), &own)
        .await
        .unwrap();
    set_spec(
        &env,
        "filter-ticks",
        serde_json::json!({"serviceAccountName": "ticks-irsa"}),
    )
    .await;
    wait_deployment(
        &env,
        "filter-ticks-executor",
        "pods run as ticks-irsa",
        |d| {
            d.spec
                .as_ref()
                .and_then(|s| s.template.spec.as_ref())
                .and_then(|p| p.service_account_name.as_deref())
                == Some("ticks-irsa")
        },
    )
    .await;
    let binding: RoleBinding = api(&env).get("filter-ticks-executor").await.unwrap();
    assert_eq!(binding.subjects.unwrap()[0].name, "ticks-irsa");
    eventually(
        "the operator's own ServiceAccount to be deleted",
        WAIT,
        || async {
            match api::<ServiceAccount>(&env)
                .get_opt("filter-ticks-executor")
                .await
            {
                Ok(None) => Ok(()),
                other => Err(format!("{:?}", other.map(|o| o.is_some()))),
            }
        },
    )
    .await;
    assert!(
        api::<ServiceAccount>(&env)
            .get_opt("ticks-irsa")
            .await
            .unwrap()
            .is_some(),
        "the user's account is untouched"
    );
    let sa = client_for(&env.rig.kubeconfig_for_sa(&env.ns, "ticks-irsa")).await;
    StatusWriter::with_client(sa, &env.ns, "filter-ticks", "p-1")
        .publish(&[partition(0, 1, 0, "2026-01-01T00:00:00Z")])
        .await
        .unwrap();
    op.stop().await;
}

/// Applies `operator/rbac.yaml` for a ServiceAccount `sluice-operator` of the test's namespace,
/// which plays the release namespace (the ClusterRole and its binding renamed per test).
async fn apply_documented_rbac(env: &Env) -> &'static str {
    let rbac = std::fs::read_to_string(root().join("operator/rbac.yaml")).unwrap();
    let sa_name = "sluice-operator";
    let mut sa = ServiceAccount::default();
    sa.metadata.name = Some(sa_name.into());
    api::<ServiceAccount>(env)
        .create(&PostParams::default(), &sa)
        .await
        .unwrap();
    for doc in rbac.split("\n---\n") {
        let value: serde_yaml::Value = serde_yaml::from_str(doc).unwrap();
        match value["kind"].as_str() {
            Some("ClusterRole") => {
                let mut role: k8s_openapi::api::rbac::v1::ClusterRole =
                    serde_yaml::from_value(value).unwrap();
                role.metadata.name = Some(format!("{}-{}", env.ns, sa_name));
                Api::<k8s_openapi::api::rbac::v1::ClusterRole>::all(env.client.clone())
                    .create(&PostParams::default(), &role)
                    .await
                    .unwrap();
            }
            Some("ClusterRoleBinding") => {
                let mut b: k8s_openapi::api::rbac::v1::ClusterRoleBinding =
                    serde_yaml::from_value(value).unwrap();
                b.metadata.name = Some(format!("{}-{}", env.ns, sa_name));
                b.role_ref.name = format!("{}-{}", env.ns, sa_name);
                if let Some(s) = b.subjects.as_mut() {
                    s[0].namespace = Some(env.ns.clone());
                }
                Api::<k8s_openapi::api::rbac::v1::ClusterRoleBinding>::all(env.client.clone())
                    .create(&PostParams::default(), &b)
                    .await
                    .unwrap();
            }
            Some("Role") => {
                let mut role: Role = serde_yaml::from_value(value).unwrap();
                role.metadata.namespace = Some(env.ns.clone());
                api::<Role>(env)
                    .create(&PostParams::default(), &role)
                    .await
                    .unwrap();
            }
            Some("RoleBinding") => {
                let mut b: RoleBinding = serde_yaml::from_value(value).unwrap();
                b.metadata.namespace = Some(env.ns.clone());
                if let Some(s) = b.subjects.as_mut() {
                    s[0].namespace = Some(env.ns.clone());
                }
                api::<RoleBinding>(env)
                    .create(&PostParams::default(), &b)
                    .await
                    .unwrap();
            }
            other => panic!("unexpected kind {other:?} in operator/rbac.yaml"),
        }
    }
    sa_name
}

async fn the_operator_works_with_only_its_documented_cluster_role(env: Env) {
    // The RBAC of operator/rbac.yaml, bound to a ServiceAccount of this test.
    let sa_name = apply_documented_rbac(&env).await;
    let kubeconfig = env.rig.kubeconfig_for_sa(&env.ns, sa_name);
    let lease = sluice_operator::LeaseConfig::new("sluice-operator", &env.ns, "only-one");
    let op = InProcessOperator::start(&kubeconfig, &[&env.ns], Some(lease)).await;
    apply_example(&env, "stock-ticks.yaml").await;
    wait_deployment(&env, "filter-ticks-executor", "exists", |_| true).await;
    wait_job(&env, "filter-ticks", "valid", |j| {
        condition_is(j, "Valid", "True", "Valid")
    })
    .await;
    wait_event(&env, "filter-ticks", "Created").await;
    set_spec(
        &env,
        "filter-ticks",
        serde_json::json!({"sql": "INSERT INTO sink_table SELECT nope FROM stock_ticks"}),
    )
    .await;
    wait_job(&env, "filter-ticks", "invalid", |j| {
        condition_is(j, "Valid", "False", "UnknownColumn")
    })
    .await;
    set_spec(&env, "filter-ticks", serde_json::json!({"suspend": true})).await;
    wait_deployment(&env, "filter-ticks-executor", "scaled to 0", |d| {
        replicas(d) == Some(0)
    })
    .await;
    assert!(op.metrics.writes() > 0, "the operator wrote nothing");
    op.stop().await;
}

/// Waits until exactly one of `ops` leads and holds the Lease; checks they never both lead.
async fn one_leader<'a>(env: &Env, ops: &'a [&'a OperatorProcess]) -> &'a OperatorProcess {
    eventually("exactly one leader", WAIT, || async {
        let mut leaders = Vec::new();
        for op in ops {
            if op.leading().await == Some(true) {
                leaders.push(*op);
            }
        }
        assert!(leaders.len() <= 1, "two replicas lead at once");
        let holder = lease_holder(env).await;
        match leaders.as_slice() {
            [one] if holder.as_deref() == Some(one.identity.as_str()) => Ok(*one),
            _ => Err(format!(
                "{} leaders, Lease holder {holder:?}",
                leaders.len()
            )),
        }
    })
    .await
}

/// What would change if a replica rewrote a job's objects: the Deployment's generation and
/// the other objects' resourceVersions.
async fn children_versions(env: &Env, job: &str) -> Vec<Option<String>> {
    let name = sluice_operator::render::child_name(job);
    let d: Deployment = api(env).get(&name).await.unwrap();
    let c: ConfigMap = api(env).get(&name).await.unwrap();
    let s: ServiceAccount = api(env).get(&name).await.unwrap();
    let r: Role = api(env).get(&name).await.unwrap();
    let b: RoleBinding = api(env).get(&name).await.unwrap();
    vec![
        d.metadata.generation.map(|g| g.to_string()),
        c.resource_version(),
        s.resource_version(),
        r.resource_version(),
        b.resource_version(),
    ]
}

/// A new leader's writes once settled: only the objects of the one job applied since it took
/// over; the existing job's objects untouched; still one `Created` Event for it.
async fn took_over_without_rewriting(
    env: &Env,
    leader: &OperatorProcess,
    existing: &[Option<String>],
) {
    leader.settled().await;
    let deployments = leader
        .metric("sluice_operator_writes_total{resource=\"Deployment\"")
        .await
        .unwrap();
    assert_eq!(
        deployments,
        1.0,
        "{} wrote a Deployment it did not need to (log: {})",
        leader.identity,
        leader.log.display()
    );
    assert_eq!(
        children_versions(env, "filter-ticks").await,
        existing,
        "the new leader rewrote the objects of a converged job"
    );
    let created = events_of(env, "filter-ticks")
        .await
        .iter()
        .filter(|e| e.reason.as_deref() == Some("Created"))
        .count();
    assert_eq!(created, 1, "one Created Event for filter-ticks");
}

async fn two_operators_elect_one_leader_and_a_standby_takes_over(env: Env) {
    let mut a = OperatorProcess::start(&env, "a");
    let mut b = OperatorProcess::start(&env, "b");
    let leader = one_leader(&env, &[&a, &b]).await.identity.clone();
    apply_example(&env, "stock-ticks.yaml").await;
    wait_deployment(&env, "filter-ticks-executor", "made by the leader", |_| {
        true
    })
    .await;
    let (first, standby) = if leader == "a" { (&a, &b) } else { (&b, &a) };
    first.settled().await;
    let existing = children_versions(&env, "filter-ticks").await;
    // The standby stays a standby while the leader renews, and writes nothing.
    for _ in 0..20 {
        let (la, lb) = (a.leading().await, b.leading().await);
        assert!(!(la == Some(true) && lb == Some(true)), "two leaders");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(lease_holder(&env).await.as_deref(), Some(leader.as_str()));
    assert_eq!(standby.writes().await, Some(0.0), "the standby wrote");

    // Graceful stop: the Lease is released, the standby takes over before it could expire.
    let (stopping, standby) = if leader == "a" {
        (&mut a, &b)
    } else {
        (&mut b, &a)
    };
    let t = Instant::now();
    stopping.terminate();
    stopping.wait();
    let new_leader = one_leader(&env, &[standby]).await.identity.clone();
    assert_ne!(new_leader, leader);
    assert!(
        t.elapsed() < Duration::from_secs(4),
        "takeover after release took {:?}",
        t.elapsed()
    );
    apply_yaml(&env.client, &env.ns, &job_yaml("after-failover", GOOD_SQL)).await;
    wait_deployment(
        &env,
        "after-failover-executor",
        "made by the new leader",
        |_| true,
    )
    .await;
    took_over_without_rewriting(&env, standby, &existing).await;

    // A crash (kill -9, no release): a fresh standby takes over once the Lease expires.
    let restarted = OperatorProcess::start(&env, &format!("{leader}2"));
    let (crashing, standby) = if new_leader == "a" {
        (&mut a, &restarted)
    } else {
        (&mut b, &restarted)
    };
    standby.wait_up(false).await;
    crashing.kill();
    let t = Instant::now();
    one_leader(&env, &[standby]).await;
    assert!(
        t.elapsed() >= Duration::from_secs(2),
        "took over a Lease that had not expired ({:?})",
        t.elapsed()
    );
    apply_yaml(&env.client, &env.ns, &job_yaml("after-crash", GOOD_SQL)).await;
    wait_deployment(
        &env,
        "after-crash-executor",
        "made by the third leader",
        |_| true,
    )
    .await;
    took_over_without_rewriting(&env, standby, &existing).await;
}

// ---------------------------------------------------------------------------------------------
// Security (docs/security.md)

/// Checks, field by field, the hardening of an executor pod spec (rendered or running).
fn assert_hardened_pod(pod: &k8s_openapi::api::core::v1::PodSpec, account: &str, what: &str) {
    let psc = pod
        .security_context
        .as_ref()
        .unwrap_or_else(|| panic!("{what}: no pod securityContext"));
    assert_eq!(psc.run_as_non_root, Some(true), "{what}: runAsNonRoot");
    assert_eq!(psc.run_as_user, Some(65532), "{what}: runAsUser");
    assert_eq!(psc.run_as_group, Some(65532), "{what}: runAsGroup");
    assert_eq!(psc.fs_group, Some(65532), "{what}: fsGroup");
    assert_eq!(
        psc.seccomp_profile.as_ref().map(|p| p.type_.as_str()),
        Some("RuntimeDefault"),
        "{what}: seccompProfile"
    );
    assert_eq!(psc.sysctls, None, "{what}: sysctls");
    for c in pod
        .containers
        .iter()
        .chain(pod.init_containers.iter().flatten())
    {
        let sc = c
            .security_context
            .as_ref()
            .unwrap_or_else(|| panic!("{what}: container {} has no securityContext", c.name));
        assert!(!sc.privileged.unwrap_or(false), "{what}: {}", c.name);
        assert_eq!(
            sc.allow_privilege_escalation,
            Some(false),
            "{what}: {}",
            c.name
        );
        assert_eq!(
            sc.read_only_root_filesystem,
            Some(true),
            "{what}: {}",
            c.name
        );
        assert_eq!(sc.run_as_non_root, Some(true), "{what}: {}", c.name);
        assert_eq!(sc.run_as_user, None, "{what}: {}", c.name);
        let caps = sc.capabilities.as_ref().expect("capabilities");
        assert_eq!(
            caps.drop.as_deref(),
            Some(&["ALL".to_owned()][..]),
            "{what}: {}",
            c.name
        );
        assert_eq!(caps.add, None, "{what}: {}", c.name);
    }
    assert!(!pod.host_network.unwrap_or(false), "{what}: hostNetwork");
    assert!(!pod.host_pid.unwrap_or(false), "{what}: hostPID");
    assert!(!pod.host_ipc.unwrap_or(false), "{what}: hostIPC");
    assert_eq!(pod.image_pull_secrets, None, "{what}: imagePullSecrets");
    assert_eq!(pod.service_account_name.as_deref(), Some(account), "{what}");
    for v in pod.volumes.iter().flatten() {
        // On 1.20 the ServiceAccount admission plugin adds the account's token Secret.
        let token = v.secret.as_ref().is_some_and(|s| {
            s.secret_name
                .as_deref()
                .is_some_and(|n| n.starts_with(&format!("{account}-token-")))
        });
        assert!(
            v.host_path.is_none()
                && (v.secret.is_none() || token)
                && v.persistent_volume_claim.is_none(),
            "{what}: volume {v:?}"
        );
    }
}

fn job_from_yaml(name: &str, ns: &str, extra_spec: &str) -> StreamingJob {
    let yaml = format!(
        "{}{}",
        job_yaml(name, GOOD_SQL),
        extra_spec
            .lines()
            .map(|l| format!("  {l}\n"))
            .collect::<String>()
    );
    let m = sluice_crds::Manifests::parse(std::path::Path::new("job.yaml"), &yaml)
        .unwrap_or_else(|e| panic!("{e:?}\n{yaml}"));
    let (mut job, _) = m.jobs[0].clone();
    job.metadata.namespace = Some(ns.to_owned());
    job
}

async fn a_user_who_may_not_create_pods_gets_no_pod_capability_through_a_job(env: Env) {
    let op = InProcessOperator::start(&env.rig.kubeconfig, &[&env.ns], None).await;
    let code = |r: Result<(), kube::Error>| match r {
        Ok(()) => 200,
        Err(kube::Error::Api(e)) => e.code,
        Err(e) => panic!("{e}"),
    };
    // alice may write StreamingJobs and StreamingTables, and nothing else.
    let role: Role = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "sluice-author"},
        "rules": [{"apiGroups": ["sluice.dev"], "resources": ["streamingjobs", "streamingtables"],
                   "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]}]
    }))
    .unwrap();
    api::<Role>(&env)
        .create(&PostParams::default(), &role)
        .await
        .unwrap();
    let binding: RoleBinding = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "sluice-author-alice"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "sluice-author"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"}]
    }))
    .unwrap();
    api::<RoleBinding>(&env)
        .create(&PostParams::default(), &binding)
        .await
        .unwrap();
    let alice = client_as(&env.rig.kubeconfig, "alice").await;
    let pod: Pod = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "direct"},
        "spec": {"containers": [{"name": "c", "image": "busybox:1"}]}
    }))
    .unwrap();
    assert_eq!(
        code(
            Api::<Pod>::namespaced(alice.clone(), &env.ns)
                .create(&PostParams::default(), &pod)
                .await
                .map(|_| ())
        ),
        403,
        "alice may not create pods herself"
    );
    // The namespace admin's ServiceAccounts: one opted in for executors (IRSA), one not.
    let irsa: ServiceAccount = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "ticks-irsa", "labels": {"sluice.dev/executor": "true"},
                     "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/ticks"}}
    }))
    .unwrap();
    let other: ServiceAccount =
        serde_json::from_value(serde_json::json!({"metadata": {"name": "team-b-admin"}})).unwrap();
    for sa in [&irsa, &other] {
        api::<ServiceAccount>(&env)
            .create(&PostParams::default(), sa)
            .await
            .unwrap();
    }
    // alice's tables: the example's, one with a plaintext password, one with a plugin path.
    let (tables, _) = example("stock-ticks.yaml", &env.ns);
    let tables_api: Api<StreamingTable> = Api::namespaced(alice.clone(), &env.ns);
    for t in &tables {
        tables_api.create(&PostParams::default(), t).await.unwrap();
    }
    let mut leaky = tables[0].clone();
    leaky.metadata.name = Some("leaky".into());
    leaky
        .spec
        .options
        .insert("properties.sasl.password".into(), "hunter2".into());
    let mut plugin = tables[0].clone();
    plugin.metadata.name = Some("plugin".into());
    plugin.spec.options.insert(
        "properties.plugin.library.paths".into(),
        "/tmp/evil.so".into(),
    );
    for t in [&leaky, &plugin] {
        tables_api.create(&PostParams::default(), t).await.unwrap();
    }
    // Each escalation, as alice.
    let jobs_api: Api<StreamingJob> = Api::namespaced(alice.clone(), &env.ns);
    let escalations = [
        (
            "privileged",
            "podTemplate:\n  spec:\n    containers:\n    - {name: sidecar, image: 'busybox:1', securityContext: {privileged: true}}",
            "ForbiddenPodTemplate",
            "spec.podTemplate.spec.containers[name=sidecar].securityContext: not allowed: every container runs with the hardened security context",
        ),
        (
            "host-path",
            "podTemplate:\n  spec:\n    volumes: [{name: host, hostPath: {path: /}}]\n    containers: [{name: executor, volumeMounts: [{name: host, mountPath: /host}]}]",
            "ForbiddenPodTemplate",
            "spec.podTemplate.spec.volumes[name=host].hostPath: not allowed: it exposes the node's file system",
        ),
        (
            "root-uid",
            "podTemplate:\n  spec:\n    securityContext: {runAsUser: 0, runAsNonRoot: false}",
            "ForbiddenPodTemplate",
            "spec.podTemplate.spec.securityContext: not allowed: executor pods run with the operator's hardened security context",
        ),
        (
            "no-security-context",
            "podTemplate:\n  spec:\n    securityContext: null",
            "ForbiddenPodTemplate",
            "spec.podTemplate.spec.securityContext: not allowed",
        ),
        (
            "host-pid",
            "podTemplate:\n  spec: {hostPID: true, hostNetwork: true}",
            "ForbiddenPodTemplate",
            "spec.podTemplate.spec.hostPID: not allowed",
        ),
        (
            "other-account",
            "serviceAccountName: team-b-admin",
            "ServiceAccountNotPermitted",
            "spec.serviceAccountName \"team-b-admin\": executors may run only under ServiceAccounts of this namespace labelled sluice.dev/executor=true",
        ),
        (
            "secret-env",
            "podTemplate:\n  spec:\n    containers: [{name: executor, env: [{name: PW, valueFrom: {secretKeyRef: {name: db, key: password}}}]}]",
            "ForbiddenPodTemplate",
            "valueFrom.secretKeyRef: not allowed",
        ),
        (
            "any-image",
            "image: 'docker.io/attacker/miner:1'",
            "ForbiddenImage",
            "spec.image: image \"docker.io/attacker/miner:1\" is not allowed by the operator",
        ),
    ];
    for (name, spec, _, _) in &escalations {
        let job = job_from_yaml(name, &env.ns, spec);
        jobs_api
            .create(&PostParams::default(), &job)
            .await
            .unwrap_or_else(|e| panic!("alice creates {name}: {e}"));
    }
    let from_table = |name: &str, table: &str| {
        let mut job = job_from_yaml(name, &env.ns, "");
        job.spec.sql = GOOD_SQL.replace("FROM stock_ticks", &format!("FROM {table}"));
        job
    };
    for job in [
        from_table("leaky-job", "leaky"),
        from_table("plugin-job", "plugin"),
    ] {
        jobs_api.create(&PostParams::default(), &job).await.unwrap();
    }
    // The legitimate job: a sidecar, tolerations, the opted-in IRSA account.
    let legit = job_from_yaml(
        "legit",
        &env.ns,
        "serviceAccountName: ticks-irsa\npodTemplate:\n  metadata: {annotations: {example.com/team: market-data}}\n  spec:\n    tolerations: [{key: dedicated, operator: Equal, value: streaming, effect: NoSchedule}]\n    containers:\n    - {name: sidecar, image: 'busybox:1', args: [sleep, '1000000'], volumeMounts: [{name: scratch, mountPath: /scratch}]}\n    volumes: [{name: scratch, emptyDir: {}}]",
    );
    jobs_api
        .create(&PostParams::default(), &legit)
        .await
        .unwrap();

    for (name, _, reason, expected) in &escalations {
        let job = wait_job(&env, name, reason, |j| {
            condition_is(j, "Valid", "False", reason)
        })
        .await;
        let message = &cond(&job, "Valid").unwrap().message;
        assert!(message.contains(expected), "{name}: {message}");
        assert!(
            message.contains("docs/security.md") || *reason == "ForbiddenImage",
            "{name}: {message}"
        );
        assert!(
            api::<Deployment>(&env)
                .get_opt(&format!("{name}-executor"))
                .await
                .unwrap()
                .is_none(),
            "{name} got a Deployment"
        );
    }
    for (table, expected) in [
        (
            "leaky",
            "'properties.sasl.password' is a credential and must not be written in the spec",
        ),
        (
            "plugin",
            "'properties.plugin.library.paths' is not allowed: it makes librdkafka load shared libraries (dlopen)",
        ),
    ] {
        let t = eventually(&format!("table {table} invalid"), WAIT, || {
            let api = tables_api.clone();
            async move {
                let t = api.get(table).await.map_err(|e| e.to_string())?;
                let c = t
                    .status
                    .as_ref()
                    .and_then(|s| conditions::find(&s.conditions, "Valid"))
                    .ok_or("no Valid condition")?;
                (c.status == "False")
                    .then(|| c.message.clone())
                    .ok_or_else(|| c.message.clone())
            }
        })
        .await;
        assert!(t.contains(expected), "{table}: {t}");
        let job = wait_job(&env, &format!("{table}-job"), "invalid", |j| {
            observed(j)?;
            let c = cond(j, "Valid").ok_or("no Valid")?;
            (c.status == "False")
                .then_some(())
                .ok_or_else(|| c.reason.clone())
        })
        .await;
        let message = &cond(&job, "Valid").unwrap().message;
        assert!(message.contains(expected), "{table}-job: {message}");
        assert!(
            api::<Deployment>(&env)
                .get_opt(&format!("{table}-job-executor"))
                .await
                .unwrap()
                .is_none()
        );
        // The ConfigMap (readable with the namespace's `view` role) never got the password.
        assert!(
            api::<ConfigMap>(&env)
                .get_opt(&format!("{table}-job-executor"))
                .await
                .unwrap()
                .is_none()
        );
    }

    // The legitimate job deploys, hardened, under the IRSA account.
    wait_job(&env, "legit", "valid", |j| {
        condition_is(j, "Valid", "True", "Valid")
    })
    .await;
    let d = wait_deployment(&env, "legit-executor", "exists", |_| true).await;
    let template = d.spec.unwrap().template;
    assert_eq!(
        template.metadata.unwrap().annotations.unwrap()["example.com/team"],
        "market-data"
    );
    let spec = template.spec.unwrap();
    assert_hardened_pod(&spec, "ticks-irsa", "the Deployment's pod template");
    assert_eq!(spec.containers.len(), 2);
    assert_eq!(spec.containers[1].name, "sidecar");
    assert_eq!(
        spec.tolerations.as_ref().unwrap()[0].value.as_deref(),
        Some("streaming")
    );
    let pods = wait_pods(&env, "legit", 1).await;
    assert_hardened_pod(
        pods[0].spec.as_ref().unwrap(),
        "ticks-irsa",
        "the running pod",
    );
    let sa: ServiceAccount = api(&env).get("ticks-irsa").await.unwrap();
    assert_eq!(
        sa.annotations()["eks.amazonaws.com/role-arn"],
        "arn:aws:iam::111122223333:role/ticks",
        "the IRSA annotation is the namespace admin's, untouched"
    );

    // The namespace admin withdraws the opt-in: the job is refused and scaled to zero.
    api::<ServiceAccount>(&env)
        .patch(
            "ticks-irsa",
            &PatchParams::default(),
            &Patch::Merge(
                serde_json::json!({"metadata": {"labels": {"sluice.dev/executor": null}}}),
            ),
        )
        .await
        .unwrap();
    wait_job(&env, "legit", "refused", |j| {
        let c = cond(j, "Valid").ok_or("no Valid")?;
        (c.reason == "ServiceAccountNotPermitted")
            .then_some(())
            .ok_or_else(|| c.reason.clone())
    })
    .await;
    wait_deployment(&env, "legit-executor", "scaled to 0", |d| {
        replicas(d) == Some(0)
    })
    .await;
    op.stop().await;
}

/// The fenced block after `<!-- can-i: {marker} -->` in docs/security.md.
fn documented_block(doc: &str, marker: &str) -> String {
    let tag = format!("<!-- can-i: {marker} -->");
    let start = doc
        .find(&tag)
        .unwrap_or_else(|| panic!("docs/security.md has no {tag}"));
    let rest = &doc[start + tag.len()..];
    let open = rest.find("```text\n").expect("a ```text block") + "```text\n".len();
    let close = rest[open..].find("```").expect("a closing ```");
    rest[open..open + close].to_owned()
}

/// `kubectl auth can-i --list` output as sorted rows of single-spaced columns.
fn permission_rows(text: &str) -> Vec<String> {
    let mut rows: Vec<String> = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect();
    rows.sort();
    rows
}

async fn the_operators_effective_permissions_are_the_documented_ones(env: Env) {
    let sa = apply_documented_rbac(&env).await;
    let jobs_ns = format!("{}-jobs", env.ns);
    create_namespace(&env.client, &jobs_ns).await;
    let user = format!("system:serviceaccount:{}:{sa}", env.ns);
    let doc = std::fs::read_to_string(root().join("docs/security.md")).unwrap();
    for (ns, marker) in [
        (env.ns.as_str(), "operator-namespace"),
        (jobs_ns.as_str(), "any-namespace"),
    ] {
        // RBAC caches are eventually consistent: poll until the listing is stable.
        let expected = permission_rows(&documented_block(&doc, marker));
        let kubeconfig = env.rig.kubeconfig.clone();
        let listed = eventually(
            &format!("the documented permissions in {marker}"),
            WAIT,
            || {
                let out = kubectl(
                    &kubeconfig,
                    &["auth", "can-i", "--list", "--as", &user, "-n", ns],
                );
                let rows = permission_rows(&out);
                let ok = rows == expected;
                async move { if ok { Ok(rows) } else { Err(out) } }
            },
        )
        .await;
        assert_eq!(listed, expected);
    }
}
