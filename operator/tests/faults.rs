//! Operator faults (issue 5, scenario 10) against a real kube-apiserver 1.20 + etcd +
//! kube-controller-manager, with the same harness as `api_server.rs` (one API server for the
//! binary, a namespace per scenario):
//!
//! - a `sluice-operator` process killed with SIGKILL at random moments while jobs are created,
//!   changed, scaled, suspended and rolled out; after each restart everything converges to
//!   exactly one set of objects per job with the right configuration hash and status, with no
//!   Event storm, and a restart of a converged operator writes nothing;
//! - 100 malformed resources applied together with valid jobs: each malformed one gets a
//!   `Valid=False` condition naming the line and column, option, table or field, and no
//!   Deployment, while every valid job gets its Deployment.
//!
//! The leader election faults (graceful hand-over, `kill -9` of the leader, a frozen leader)
//! are in `api_server.rs`. Set `SLUICE_TEST_SEED` to replay a random schedule.
//!
//! Run: `cargo test -p sluice-operator --test faults` (after `e2e/rig/prepare.sh`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

#[macro_use]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::ResourceExt;
use kube::api::{ListParams, Patch, PatchParams};
use sluice_crds::{StreamingJob, StreamingTable};
use sluice_operator::config::DEFAULT_EXECUTOR_IMAGE;
use sluice_operator::render::{self, LABEL_JOB};
use support::*;

fn main() -> ExitCode {
    support::run_main(
        "f",
        scenarios![
            an_operator_killed_at_random_moments_converges_after_every_restart,
            a_hundred_malformed_resources_are_each_reported_while_valid_jobs_are_served,
            a_leader_frozen_past_its_lease_writes_nothing_when_it_wakes_up,
        ],
    )
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// xorshift64*: a reproducible random schedule (`SLUICE_TEST_SEED`), printed by each test.
struct Rng(u64);

impl Rng {
    fn seeded() -> (Rng, u64) {
        let seed = std::env::var("SLUICE_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            })
            | 1;
        (Rng(seed), seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}

/// Objects the operator manages in the namespace, per job: `kind → job → count`.
async fn children_per_job(env: &Env) -> BTreeMap<&'static str, BTreeMap<String, usize>> {
    let lp = ListParams::default().labels(&render::managed_selector());
    let mut out = BTreeMap::new();
    fn count<K: kube::Resource>(items: Vec<K>) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for o in items {
            let job = o.labels().get(LABEL_JOB).cloned().unwrap_or_default();
            *m.entry(job).or_insert(0) += 1;
        }
        m
    }
    out.insert(
        "Deployment",
        count(api::<Deployment>(env).list(&lp).await.unwrap().items),
    );
    out.insert(
        "ConfigMap",
        count(api::<ConfigMap>(env).list(&lp).await.unwrap().items),
    );
    out.insert(
        "ServiceAccount",
        count(api::<ServiceAccount>(env).list(&lp).await.unwrap().items),
    );
    out.insert(
        "Role",
        count(api::<Role>(env).list(&lp).await.unwrap().items),
    );
    out.insert(
        "RoleBinding",
        count(api::<RoleBinding>(env).list(&lp).await.unwrap().items),
    );
    out
}

/// Events per object name (an Event series counts its repetitions).
async fn events_per_object(env: &Env) -> BTreeMap<String, (usize, Vec<String>)> {
    let mut out: BTreeMap<String, (usize, Vec<String>)> = BTreeMap::new();
    for e in api::<Event>(env)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
    {
        let name = e
            .regarding
            .as_ref()
            .and_then(|r| r.name.clone())
            .unwrap_or_default();
        let n = e
            .series
            .as_ref()
            .map_or(1, |s| usize::try_from(s.count).unwrap_or(1));
        let entry = out.entry(name).or_default();
        entry.0 += n;
        entry.1.push(e.reason.unwrap_or_default());
    }
    out
}

/// The configuration hash the operator must have rolled out for `job` as it is now.
fn expected_hash(job: &StreamingJob, tables: &[StreamingTable]) -> Result<String, String> {
    let valid = sluice_operator::validate::validate_job(
        job,
        tables,
        &sluice_operator::policy::Policy::new(DEFAULT_EXECUTOR_IMAGE),
        &std::collections::BTreeSet::new(),
    )
    .map_err(|p| format!("{} is invalid: {p:?}", job.name_any()))?;
    config_hash(&render::deployment(&valid)).ok_or_else(|| "no hash rendered".to_owned())
}

// ---------------------------------------------------------------------------------------------
// Operator restarts

const RESTART_JOBS: usize = 24;
const RESTART_ROUNDS: usize = 10;

/// What the test asked of one job.
#[derive(Clone, Debug)]
struct Want {
    threshold: u64,
    parallelism: i32,
    suspend: bool,
    /// Spec changes made (each may cause at most one Event).
    changes: usize,
}

fn restart_job_yaml(name: &str, w: &Want) -> String {
    format!(
        "{}  parallelism: {}\n  suspend: {}\n",
        job_yaml(
            name,
            &GOOD_SQL.replace("> 10", &format!("> {}", w.threshold))
        ),
        w.parallelism,
        w.suspend
    )
}

async fn apply_wants(env: &Env, wants: &[Want], which: &[usize]) {
    futures::future::join_all(which.iter().map(|&i| async move {
        apply_yaml(
            &env.client,
            &env.ns,
            &restart_job_yaml(&format!("r-{i:02}"), &wants[i]),
        )
        .await
    }))
    .await;
}

/// Changes a random quarter of the jobs: SQL (a rollout), parallelism, or suspend.
fn mutate(rng: &mut Rng, wants: &mut [Want]) -> Vec<usize> {
    let mut picked = BTreeSet::new();
    for _ in 0..wants.len() / 4 {
        picked.insert(rng.below(wants.len() as u64) as usize);
    }
    for &i in &picked {
        let w = &mut wants[i];
        match rng.below(3) {
            0 => w.threshold += 1 + rng.below(50),
            1 => w.parallelism = 1 + (w.parallelism + rng.below(2) as i32) % 3,
            _ => w.suspend = !w.suspend,
        }
        w.changes += 1;
    }
    picked.into_iter().collect()
}

/// Sets the sink table's file size (every job rolls out).
async fn set_sink_file_size(env: &Env, size: u64) {
    let (tables, _) = example("stock-ticks.yaml", &env.ns);
    let mut sink = tables[1].clone();
    sink.spec.options.insert(
        "sink.rolling-policy.file-size".into(),
        format!("{size}MB").into(),
    );
    apply(&env.client, &env.ns, &sink).await;
}

/// Whether every job has converged to `wants`; a description of what has not.
async fn restart_converged(env: &Env, wants: &[Want], file_size: u64) -> Result<(), String> {
    let jobs = api::<StreamingJob>(env)
        .list(&ListParams::default())
        .await
        .map_err(|e| e.to_string())?
        .items;
    let tables = api::<StreamingTable>(env)
        .list(&ListParams::default())
        .await
        .map_err(|e| e.to_string())?
        .items;
    let deployments: BTreeMap<String, Deployment> = api::<Deployment>(env)
        .list(&ListParams::default())
        .await
        .map_err(|e| e.to_string())?
        .items
        .into_iter()
        .map(|d| (d.name_any(), d))
        .collect();
    let config_maps: BTreeMap<String, ConfigMap> = api::<ConfigMap>(env)
        .list(&ListParams::default())
        .await
        .map_err(|e| e.to_string())?
        .items
        .into_iter()
        .map(|c| (c.name_any(), c))
        .collect();
    let sets = api::<ReplicaSet>(env)
        .list(&ListParams::default())
        .await
        .map_err(|e| e.to_string())?
        .items;
    let mut behind = Vec::new();
    for (i, w) in wants.iter().enumerate() {
        let name = format!("r-{i:02}");
        let child = render::child_name(&name);
        let job = jobs
            .iter()
            .find(|j| j.name_any() == name)
            .ok_or(format!("{name} missing"))?;
        let want_replicas = if w.suspend { 0 } else { w.parallelism };
        let problem = (|| {
            condition_is(job, "Valid", "True", "Valid")?;
            condition_is(job, "Progressing", "False", "RolloutComplete")?;
            let s = job.status.as_ref().ok_or("no status")?;
            let phase = if w.suspend { "Suspended" } else { "Pending" };
            if s.phase.as_deref() != Some(phase) || s.replicas != Some(want_replicas) {
                return Err(format!(
                    "phase {:?} replicas {:?}, want {phase} {want_replicas}",
                    s.phase, s.replicas
                ));
            }
            let d = deployments.get(&child).ok_or("no Deployment")?;
            if replicas(d) != Some(want_replicas) {
                return Err(format!("Deployment replicas {:?}", replicas(d)));
            }
            let hash = expected_hash(job, &tables)?;
            if config_hash(d).as_deref() != Some(hash.as_str()) {
                return Err(format!("hash {:?}, want {hash}", config_hash(d)));
            }
            let text = config_maps
                .get(&child)
                .and_then(|c| c.data.as_ref()?.get("job.yaml").cloned())
                .ok_or("no ConfigMap")?;
            if !text.contains(&format!("price > {}\n", w.threshold))
                || !text.contains(&format!("{file_size}MB"))
            {
                return Err("ConfigMap has an old SQL or table".to_owned());
            }
            let active = sets
                .iter()
                .filter(|rs| rs.labels().get(LABEL_JOB) == Some(&name))
                .filter(|rs| rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0) > 0)
                .count();
            if active != usize::from(want_replicas > 0) {
                return Err(format!("{active} ReplicaSets with pods"));
            }
            Ok(())
        })();
        if let Err(e) = problem {
            behind.push(format!("{name}: {e}"));
        }
    }
    if behind.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} not converged, e.g. {}",
            behind.len(),
            behind[0]
        ))
    }
}

async fn an_operator_killed_at_random_moments_converges_after_every_restart(env: Env) {
    let (mut rng, seed) = Rng::seeded();
    let (tables, _) = example("stock-ticks.yaml", &env.ns);
    for t in &tables {
        apply(&env.client, &env.ns, t).await;
    }
    let mut file_size = 128;
    set_sink_file_size(&env, file_size).await;
    let mut wants: Vec<Want> = (0..RESTART_JOBS)
        .map(|i| Want {
            threshold: 10 + i as u64,
            parallelism: 1 + (i % 3) as i32,
            suspend: false,
            changes: 0,
        })
        .collect();
    let mut table_changes = 0;
    let mut schedule = Vec::new();
    for round in 0..RESTART_ROUNDS {
        // The same identity, as a restarted container of the same pod: it takes its own Lease
        // back at once.
        let mut op = OperatorProcess::start(&env, "op");
        let what = match (round, rng.below(4)) {
            (0, _) => {
                let all: Vec<usize> = (0..RESTART_JOBS).collect();
                apply_wants(&env, &wants, &all).await;
                "create all jobs".to_owned()
            }
            (_, 0) => {
                file_size += 1;
                table_changes += 1;
                set_sink_file_size(&env, file_size).await;
                "change the sink table (every job rolls out)".to_owned()
            }
            _ => {
                let changed = mutate(&mut rng, &mut wants);
                apply_wants(&env, &wants, &changed).await;
                format!("change {} jobs", changed.len())
            }
        };
        // Kill it at a random moment: before it has even synced its caches, in the middle of
        // reconciles, or after it has caught up. (A fault's timing, not a wait for a state.)
        let delay = rng.below(2500);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        let writes = op.writes().await;
        op.kill();
        // Some changes land while no operator runs.
        let offline = if rng.below(3) == 0 {
            let changed = mutate(&mut rng, &mut wants);
            apply_wants(&env, &wants, &changed).await;
            changed.len()
        } else {
            0
        };
        schedule.push(format!(
            "round {round}: {what}; kill -9 after {delay} ms ({} writes); {offline} jobs changed while down",
            writes.map_or("?".to_owned(), |w| w.to_string())
        ));
    }
    println!(
        "seed {seed} (SLUICE_TEST_SEED)\n  {}",
        schedule.join("\n  ")
    );

    let op = OperatorProcess::start(&env, "op");
    let t = Instant::now();
    eventually(
        "every job to converge after the last restart",
        Duration::from_secs(180),
        || restart_converged(&env, &wants, file_size),
    )
    .await;
    let converged_after = t.elapsed();
    let writes = op.settled().await;

    // Exactly one of each object per job, and none for anything else.
    let children = children_per_job(&env).await;
    for (kind, per_job) in &children {
        let extra: Vec<_> = per_job.iter().filter(|(_, n)| **n != 1).collect();
        assert!(
            extra.is_empty(),
            "{kind}: not exactly one per job: {extra:?}"
        );
        assert_eq!(
            per_job.len(),
            RESTART_JOBS,
            "{kind}: {} jobs have one",
            per_job.len()
        );
    }
    // No Event storm: at most one Event per change (Created, RollingOut, Scaled, Suspended,
    // Resumed) and no Warnings.
    let events = events_per_object(&env).await;
    let mut total = 0;
    let mut most = 0;
    for (i, w) in wants.iter().enumerate() {
        let name = format!("r-{i:02}");
        let (n, reasons) = events.get(&name).cloned().unwrap_or_default();
        let bound = 1 + w.changes + table_changes;
        assert!(
            n <= bound,
            "{name}: {n} Events for {} changes: {reasons:?}",
            w.changes + table_changes
        );
        assert!(
            reasons.iter().all(
                |r| ["Created", "RollingOut", "Scaled", "Suspended", "Resumed"]
                    .contains(&r.as_str())
            ),
            "{name}: {reasons:?}"
        );
        total += n;
        most = most.max(n);
    }

    // A restart of a converged operator writes nothing.
    let mut op = op;
    op.kill();
    let op = OperatorProcess::start(&env, "op");
    op.wait_up(true).await;
    eventually(
        "the restarted operator to reconcile every job",
        WAIT,
        || async {
            let n = op
                .metric("sluice_operator_reconciliations_total{kind=\"job\"")
                .await
                .unwrap_or(0.0);
            (n >= RESTART_JOBS as f64)
                .then_some(())
                .ok_or_else(|| format!("{n} reconciles"))
        },
    )
    .await;
    let rewrites = op.settled().await;
    assert_eq!(
        rewrites,
        0.0,
        "a restart with nothing to change wrote (log: {})",
        op.log.display()
    );
    restart_converged(&env, &wants, file_size).await.unwrap();
    let changes: usize = wants.iter().map(|w| w.changes).sum();
    println!(
        "{RESTART_ROUNDS} kill -9 restarts, {RESTART_JOBS} jobs, {changes} job changes + {table_changes} table changes: \
         converged {:.1}s after the last restart ({writes} writes); 1 Deployment/ConfigMap/ServiceAccount/Role/RoleBinding per job; \
         {total} Events (at most {most} per job, none beyond one per change); a further restart wrote {rewrites}",
        converged_after.as_secs_f64()
    );
}

// ---------------------------------------------------------------------------------------------
// A frozen leader

fn image_of(d: &Deployment) -> Option<String> {
    d.spec.as_ref()?.template.spec.as_ref()?.containers[0]
        .image
        .clone()
}

/// `(image, generation)` of each job's Deployment.
async fn deployment_states(env: &Env) -> DeploymentStates {
    api::<Deployment>(env)
        .list(&ListParams::default().labels(&render::managed_selector()))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|d| (d.name_any(), (image_of(&d), d.metadata.generation)))
        .collect()
}

type DeploymentStates = BTreeMap<String, (Option<String>, Option<i64>)>;

fn all_images(states: &DeploymentStates, n: usize, image: &str) -> bool {
    states.len() == n && states.values().all(|(i, _)| i.as_deref() == Some(image))
}

async fn until_images(env: &Env, n: usize, image: &str) -> DeploymentStates {
    eventually(
        &format!("{n} Deployments with image {image}"),
        WAIT,
        || async {
            let states = deployment_states(env).await;
            if all_images(&states, n, image) {
                Ok(states)
            } else {
                Err(format!("{states:?}"))
            }
        },
    )
    .await
}

/// A leader that is frozen (SIGSTOP) longer than its Lease, and so replaced, must not act on
/// what it sees when it wakes up (SIGCONT): the replicas run with different executor images
/// (as an old and a new operator version during an upgrade), so any write of the woken one
/// would show as a Deployment flipping back to its image.
async fn a_leader_frozen_past_its_lease_writes_nothing_when_it_wakes_up(env: Env) {
    const JOBS: usize = 8;
    let old =
        OperatorProcess::start_with(&env, "old", &["--executor-image", "localhost/sluice:old"]);
    old.wait_up(true).await;
    apply_example(&env, "stock-ticks.yaml").await;
    for i in 0..JOBS {
        apply_yaml(&env.client, &env.ns, &job_yaml(&format!("z-{i}"), GOOD_SQL)).await;
    }
    until_images(&env, JOBS + 1, "localhost/sluice:old").await;
    let old_writes = old.settled().await;

    let new =
        OperatorProcess::start_with(&env, "new", &["--executor-image", "localhost/sluice:new"]);
    new.wait_up(false).await;
    old.signal("STOP");
    let frozen = Instant::now();
    eventually("the standby to take the Lease over", WAIT, || async {
        let holder = lease_holder(&env).await;
        (new.leading().await == Some(true) && holder.as_deref() == Some("new"))
            .then_some(())
            .ok_or_else(|| format!("holder {holder:?}"))
    })
    .await;
    let took_over = frozen.elapsed();
    // The new leader rolls its image out (one change per Deployment), and a user edits a job
    // while the old leader sleeps: both are what the old one sees first when it wakes up.
    until_images(&env, JOBS + 1, "localhost/sluice:new").await;
    set_spec(
        &env,
        "z-0",
        serde_json::json!({"sql": GOOD_SQL.replace("> 10", "> 20")}),
    )
    .await;
    wait_job(&env, "z-0", "the edit rolled out", |j| {
        condition_is(j, "Valid", "True", "Valid")
    })
    .await;
    new.settled().await;
    let before = deployment_states(&env).await;
    assert!(all_images(&before, JOBS + 1, "localhost/sluice:new"));

    old.signal("CONT");
    let woke = Instant::now();
    // Watch for 8 s (two lease durations): nothing may change.
    while woke.elapsed() < Duration::from_secs(8) {
        let now = deployment_states(&env).await;
        assert_eq!(
            now, before,
            "a Deployment changed after the frozen leader woke up"
        );
        assert_eq!(lease_holder(&env).await.as_deref(), Some("new"));
        assert_ne!(
            new.leading().await,
            Some(false),
            "the new leader stepped down"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        old.leading().await,
        Some(false),
        "the woken replica still claims to lead"
    );
    let woken_writes = old.writes().await.unwrap() - old_writes;
    assert_eq!(
        woken_writes,
        0.0,
        "the woken replica wrote (log: {})",
        old.log.display()
    );
    println!(
        "leader frozen for {:.1}s, standby took over after {took_over:.1?}; after waking: 0 writes, \
         {} Deployments unchanged, Lease still held by the new leader",
        woke.duration_since(frozen).as_secs_f64(),
        before.len()
    );
}

// ---------------------------------------------------------------------------------------------
// Malformed resources

/// A malformed job: its YAML (tables it needs included), the `Valid` reason expected and words
/// the message must hold (where: line and column, option, table, field).
struct Malformed {
    name: String,
    yaml: String,
    reason: &'static str,
    words: Vec<String>,
}

fn with_spec(name: &str, sql: &str, extra: &str) -> String {
    format!("{}{extra}", job_yaml(name, sql))
}

fn source_table(name: &str, mutate: impl FnOnce(&mut StreamingTable)) -> String {
    let (tables, _) = example("stock-ticks.yaml", "x");
    let mut t = tables[0].clone();
    t.metadata.name = Some(name.to_owned());
    t.metadata.namespace = None;
    mutate(&mut t);
    format!("{}---\n", serde_yaml::to_string(&t).unwrap())
}

fn sink_table(name: &str, mutate: impl FnOnce(&mut StreamingTable)) -> String {
    let (tables, _) = example("stock-ticks.yaml", "x");
    let mut t = tables[1].clone();
    t.metadata.name = Some(name.to_owned());
    t.metadata.namespace = None;
    mutate(&mut t);
    format!("{}---\n", serde_yaml::to_string(&t).unwrap())
}

fn malformed_jobs() -> Vec<Malformed> {
    let mut out = Vec::new();
    let mut add = |name: String, yaml: String, reason: &'static str, words: &[&str]| {
        out.push(Malformed {
            name,
            yaml,
            reason,
            words: words.iter().map(|w| (*w).to_owned()).collect(),
        })
    };
    // Syntax errors, shifted down by comment lines: the line number follows. (20)
    let typos: [(&str, &str, usize); 5] = [
        ("SELECT event_time", "SELEC event_time", 2),
        ("FROM stock_ticks", "FORM stock_ticks", 4),
        ("'HH')", "'HH'", 4),
        ("WHERE price > 10", "WHERE price > > 10", 5),
        ("'yyyy-MM-dd'", "'yyyy-MM-dd)", 3),
    ];
    for (k, (from, to, line)) in typos.iter().enumerate() {
        for shift in 0..4 {
            let sql = format!(
                "{}{}",
                "-- a comment line\n".repeat(shift),
                GOOD_SQL.replace(from, to)
            );
            let name = format!("syntax-{k}-{shift}");
            add(
                name.clone(),
                job_yaml(&name, &sql),
                "SqlSyntaxError",
                &[&format!("spec.sql line {}, column", line + shift)],
            );
        }
    }
    // Empty, not an INSERT, two statements. (4)
    add(
        "empty-sql".into(),
        "apiVersion: sluice.dev/v1alpha1\nkind: StreamingJob\nmetadata: {name: empty-sql}\nspec: {sql: ''}\n".into(),
        "SqlSyntaxError",
        &["spec.sql"],
    );
    add(
        "blank-sql".into(),
        job_yaml("blank-sql", "   \n   "),
        "SqlSyntaxError",
        &["spec.sql"],
    );
    add(
        "select-only".into(),
        job_yaml("select-only", "SELECT ticker FROM stock_ticks"),
        "SqlUnsupported",
        &["spec.sql line 1, column 1"],
    );
    add(
        "two-statements".into(),
        job_yaml("two-statements", &format!("{GOOD_SQL};\n{GOOD_SQL}")),
        "SqlUnsupported",
        &["spec.sql line"],
    );
    // Unknown columns and functions, with their position. (10)
    for (k, col) in ["nope", "tickr", "prices", "event_tme", "dt", "hr"]
        .iter()
        .enumerate()
    {
        let name = format!("unknown-column-{k}");
        add(
            name.clone(),
            job_yaml(
                &name,
                &GOOD_SQL.replace("ticker, price", &format!("{col}, price")),
            ),
            "UnknownColumn",
            &["spec.sql line 2, column 20", col],
        );
    }
    for (k, f) in ["DATE_FORMATT", "DATEFORMAT", "FORMAT_DATE", "DATE_FMT"]
        .iter()
        .enumerate()
    {
        let name = format!("unknown-function-{k}");
        add(
            name.clone(),
            job_yaml(&name, &GOOD_SQL.replacen("DATE_FORMAT", f, 1)),
            "UnknownFunction",
            &["spec.sql line 3", f],
        );
    }
    // Missing tables. (8)
    for k in 0..4 {
        let name = format!("missing-sink-{k}");
        let table = format!("no_such_sink_{k}");
        add(
            name.clone(),
            job_yaml(&name, &GOOD_SQL.replace("sink_table", &table)),
            "UnknownTable",
            &[&table, "spec.sql line 1"],
        );
        let name = format!("missing-source-{k}");
        let table = format!("no_such_source_{k}");
        add(
            name.clone(),
            job_yaml(&name, &GOOD_SQL.replace("stock_ticks", &table)),
            "UnknownTable",
            &[&table, "spec.sql line 4"],
        );
    }
    // Wrong table kinds: a Kafka source as the sink, a filesystem sink as the source. (6)
    for k in 0..3 {
        let name = format!("kafka-as-sink-{k}");
        add(
            name.clone(),
            job_yaml(
                &name,
                "INSERT INTO stock_ticks\nSELECT event_time, ticker, price FROM stock_ticks",
            ),
            "InvalidOption",
            &["stock_ticks", "cannot be a sink"],
        );
        let name = format!("sink-as-source-{k}");
        add(
            name.clone(),
            job_yaml(&name, "INSERT INTO sink_table\nSELECT * FROM sink_table"),
            "InvalidOption",
            &["sink_table", "cannot be a source"],
        );
    }
    // Wrong types and column counts. (6)
    for (k, select) in [
        "event_time, ticker, ticker, 'a', 'b'",
        "ticker, ticker, price, 'a', 'b'",
        "event_time, price, price, 'a', 'b'",
        "event_time, ticker, price, price, 'b'",
        "event_time, ticker, price",
        "event_time, ticker, price, 'a', 'b', 'c'",
    ]
    .iter()
    .enumerate()
    {
        let name = format!("wrong-types-{k}");
        add(
            name.clone(),
            job_yaml(
                &name,
                &format!("INSERT INTO sink_table\nSELECT {select} FROM stock_ticks"),
            ),
            "TypeMismatch",
            &["spec.sql line"],
        );
    }
    // Unknown options, each on its own table the job uses. (10)
    for (k, (option, sink)) in [
        ("scan.startup.mod", false),
        ("topicc", false),
        ("properties.bootstrap.server", false),
        ("scan.startup.timestamp-milis", false),
        ("json.ignore-parse-error", false),
        ("sink.rolling-policy.file-sise", true),
        ("pathh", true),
        ("sink.rolling-policy.rollover-intervall", true),
        ("partition.default-nam", true),
        ("s3.endpoit", true),
    ]
    .iter()
    .enumerate()
    {
        let name = format!("unknown-option-{k}");
        let table = format!("typo-{k}");
        let sql_name = format!("typo_{k}");
        let (t, sql) = if *sink {
            (
                sink_table(&table, |t| {
                    t.spec.options.insert((*option).into(), "x".into());
                }),
                GOOD_SQL.replace("sink_table", &sql_name),
            )
        } else {
            (
                source_table(&table, |t| {
                    t.spec.options.insert((*option).into(), "x".into());
                }),
                GOOD_SQL.replace("stock_ticks", &sql_name),
            )
        };
        // librdkafka names the property without the `properties.` prefix.
        let word = option.trim_start_matches("properties.");
        add(
            name.clone(),
            format!("{t}{}", job_yaml(&name, &sql)),
            "InvalidOption",
            &[word, &format!("/{table})")],
        );
    }
    // Wrong option values. (6)
    for (k, (option, value, sink)) in [
        ("scan.startup.mode", "sometimes", false),
        // Names the option the mode needs.
        ("scan.startup.timestamp-millis", "timestamp", false),
        ("json.ignore-parse-errors", "maybe", false),
        ("sink.rolling-policy.file-size", "huge", true),
        ("sink.rolling-policy.rollover-interval", "-5min", true),
        ("path", "ftp://bucket/x", true),
    ]
    .iter()
    .enumerate()
    {
        let name = format!("bad-value-{k}");
        let table = format!("bad-value-{k}");
        let sql_name = format!("bad_value_{k}");
        let (t, sql) = if *sink {
            (
                sink_table(&table, |t| {
                    t.spec.options.insert((*option).into(), (*value).into());
                }),
                GOOD_SQL.replace("sink_table", &sql_name),
            )
        } else {
            (
                source_table(&table, |t| {
                    let key = if *value == "timestamp" {
                        "scan.startup.mode"
                    } else {
                        option
                    };
                    t.spec.options.insert(key.into(), (*value).into());
                }),
                GOOD_SQL.replace("stock_ticks", &sql_name),
            )
        };
        add(
            name.clone(),
            format!("{t}{}", job_yaml(&name, &sql)),
            "InvalidOption",
            &[option],
        );
    }
    // Tables with invalid column types. (4)
    for (k, type_) in ["DOUBLEE", "DECIMAL(50, 2)", "TIMESTAMP(3", "VARCHAR(-1)"]
        .iter()
        .enumerate()
    {
        let name = format!("bad-column-type-{k}");
        let table = format!("bad-type-{k}");
        let sql_name = format!("bad_type_{k}");
        let t = source_table(&table, |t| t.spec.columns[2].type_ = (*type_).into());
        add(
            name.clone(),
            format!(
                "{t}{}",
                job_yaml(&name, &GOOD_SQL.replace("stock_ticks", &sql_name))
            ),
            "InvalidTable",
            &[&sql_name, &format!("/{table})"), "price"],
        );
    }
    // Executor settings: memory budget, intervals, port, log filter, rolling defaults. (10)
    for (k, (field, value)) in [
        ("memoryBudget", "lots"),
        ("memoryBudget", "1Ki"),
        ("memoryBudget", "-5Mi"),
        ("commitInterval", "10 parsecs"),
        ("commitInterval", "1ms"),
        ("statusInterval", "soon"),
        ("metricsPort", "80"),
        ("metricsPort", "70000"),
        ("logLevel", "sluice=loud"),
        ("rollingPolicy: {fileSize", "big}"),
    ]
    .iter()
    .enumerate()
    {
        let name = format!("bad-setting-{k}");
        let value = if value.chars().all(|c| c.is_ascii_digit()) {
            (*value).to_owned()
        } else if value.ends_with('}') {
            format!("'{}'}}", value.trim_end_matches('}'))
        } else {
            format!("'{value}'")
        };
        let field_path = field.split(':').next().unwrap_or(field);
        add(
            name.clone(),
            with_spec(
                &name,
                GOOD_SQL,
                &format!("  executor:\n    {field}: {value}\n"),
            ),
            "InvalidSetting",
            &[&format!("spec.executor.{field_path}")],
        );
    }
    // Resources. (5)
    for (k, (yaml, word)) in [
        ("requests: {cpu: lots}", "requests.cpu"),
        ("limits: {memory: '-1Gi'}", "limits.memory"),
        (
            "requests: {memory: 2Gi}, limits: {memory: 1Gi}",
            "requests.memory",
        ),
        ("limits: {cpu: '1.5.3'}", "limits.cpu"),
        ("requests: {gpu: '1'}", "gpu"),
    ]
    .iter()
    .enumerate()
    {
        let name = format!("bad-resources-{k}");
        add(
            name.clone(),
            with_spec(&name, GOOD_SQL, &format!("  resources: {{{yaml}}}\n")),
            "InvalidResources",
            &[word],
        );
    }
    // Image fields and the ServiceAccount. (3)
    add(
        "empty-image".into(),
        with_spec("empty-image", GOOD_SQL, "  image: ''\n"),
        "InvalidImage",
        &["spec.image"],
    );
    add(
        "bad-pull-policy".into(),
        with_spec(
            "bad-pull-policy",
            GOOD_SQL,
            "  imagePullPolicy: Sometimes\n",
        ),
        "InvalidImage",
        &["spec.imagePullPolicy"],
    );
    add(
        "empty-service-account".into(),
        with_spec(
            "empty-service-account",
            GOOD_SQL,
            "  serviceAccountName: ''\n",
        ),
        "InvalidServiceAccount",
        &["spec.serviceAccountName"],
    );
    // Pod templates. (6)
    for (k, (yaml, reason, word)) in [
        (
            "spec: {nodeSelecter: {a: b}}",
            "InvalidPodTemplate",
            "spec.podTemplate.spec.nodeSelecter",
        ),
        (
            "spec: {nodeSelector: [1, 2]}",
            "InvalidPodTemplate",
            "spec.podTemplate.spec.nodeSelector",
        ),
        (
            "spec: {hostNetwork: 'yes'}",
            "InvalidPodTemplate",
            "spec.podTemplate.spec.hostNetwork",
        ),
        (
            "spec: {tolerations: all}",
            "InvalidPodTemplate",
            "spec.podTemplate.spec.tolerations",
        ),
        (
            "spec: {containers: [{name: executor, imagee: x}]}",
            "InvalidPodTemplate",
            "imagee",
        ),
        (
            "metadata: {labels: {team: 'not a valid label value!'}}",
            "Rejected",
            "not a valid label value",
        ),
    ]
    .iter()
    .enumerate()
    {
        let name = format!("bad-pod-template-{k}");
        add(
            name.clone(),
            with_spec(&name, GOOD_SQL, &format!("  podTemplate: {{{yaml}}}\n")),
            reason,
            &[word],
        );
    }
    // Names too long for the job label. (2)
    for k in 0..2 {
        let name = format!(
            "a-name-far-too-long-to-be-a-label-value-{k}-{}",
            "x".repeat(30)
        );
        add(
            name.clone(),
            job_yaml(&name, GOOD_SQL),
            "InvalidName",
            &["metadata.name", "63"],
        );
    }
    out
}

/// Values the CRD's schema refuses: the API server answers 422 naming the field, and nothing
/// is stored. `(name, spec, field)`.
fn refused_at_admission() -> Vec<(String, serde_json::Value, &'static str)> {
    use serde_json::json;
    vec![
        (
            "parallelism-minus-5".into(),
            json!({"sql": GOOD_SQL, "parallelism": -5}),
            "spec.parallelism",
        ),
        (
            "parallelism-100000".into(),
            json!({"sql": GOOD_SQL, "parallelism": 100_000}),
            "spec.parallelism",
        ),
        (
            "parallelism-three".into(),
            json!({"sql": GOOD_SQL, "parallelism": "three"}),
            "spec.parallelism",
        ),
        ("sql-a-number".into(), json!({"sql": 42}), "spec.sql"),
        (
            "suspend-maybe".into(),
            json!({"sql": GOOD_SQL, "suspend": "maybe"}),
            "spec.suspend",
        ),
        ("no-sql".into(), json!({"parallelism": 1}), "spec.sql"),
    ]
}

async fn a_hundred_malformed_resources_are_each_reported_while_valid_jobs_are_served(env: Env) {
    let op = InProcessOperator::start(&env.rig.kubeconfig, &[&env.ns], None).await;
    let (tables, _) = example("stock-ticks.yaml", &env.ns);
    for t in &tables {
        apply(&env.client, &env.ns, t).await;
    }
    let malformed = malformed_jobs();
    assert_eq!(malformed.len(), 100, "the list of malformed jobs");
    let valid: Vec<String> = (0..20).map(|i| format!("valid-{i:02}")).collect();

    // Everything at once, malformed and valid interleaved.
    let mut docs: Vec<String> = Vec::new();
    for (i, m) in malformed.iter().enumerate() {
        docs.push(m.yaml.clone());
        if i % 5 == 0 {
            let name = &valid[i / 5];
            docs.push(job_yaml(
                name,
                &GOOD_SQL.replace("> 10", &format!("> {}", i / 5)),
            ));
        }
    }
    let t = Instant::now();
    futures::future::join_all(
        docs.iter()
            .map(|yaml| apply_yaml(&env.client, &env.ns, yaml)),
    )
    .await;
    let jobs_api = api::<StreamingJob>(&env);
    let mut refused = Vec::new();
    for (name, spec, field) in refused_at_admission() {
        let body = serde_json::json!({
            "apiVersion": "sluice.dev/v1alpha1",
            "kind": "StreamingJob",
            "metadata": {"name": name},
            "spec": spec,
        });
        match jobs_api
            .patch(
                &name,
                &PatchParams::apply("sluice-test-user").force(),
                &Patch::Apply(&body),
            )
            .await
        {
            // 422 from validation; server-side apply of a wrong type is a 500 on 1.20.
            Err(kube::Error::Api(e)) if e.code >= 400 && e.message.contains(field) => {
                refused.push(format!("{name}: {} {}", e.code, e.message));
            }
            other => panic!("{name}: expected a refusal naming {field}, got {other:?}"),
        }
    }

    // A misspelled field: server-side apply refuses it (naming it); a create (`kubectl create`,
    // client-side `kubectl apply`) stores the job without it, as Kubernetes before 1.25 prunes
    // unknown fields without a word, so nobody can report it. (Both documented.)
    let typo = serde_json::json!({
        "apiVersion": "sluice.dev/v1alpha1",
        "kind": "StreamingJob",
        "metadata": {"name": "misspelled-field"},
        "spec": {"sql": GOOD_SQL, "paralelism": 3},
    });
    match jobs_api
        .patch(
            "misspelled-field",
            &PatchParams::apply("sluice-test-user").force(),
            &Patch::Apply(&typo),
        )
        .await
    {
        Err(kube::Error::Api(e)) if e.message.contains("spec.paralelism") => {
            refused.push(format!(
                "misspelled-field (server-side apply): {} {}",
                e.code, e.message
            ));
        }
        other => panic!("server-side apply of a misspelled field: {other:?}"),
    }
    let created = kube::Api::<kube::api::DynamicObject>::namespaced_with(
        env.client.clone(),
        &env.ns,
        &kube::discovery::ApiResource::erase::<StreamingJob>(&()),
    )
    .create(
        &kube::api::PostParams::default(),
        &serde_json::from_value(typo).unwrap(),
    )
    .await
    .expect("a create with a misspelled field is accepted")
    .data;
    assert!(
        created["spec"].get("paralelism").is_none() && created["spec"]["parallelism"] == 1,
        "pruned, so the default applies: {}",
        created["spec"]
    );

    // Valid jobs are served meanwhile.
    for name in &valid {
        wait_deployment(&env, &render::child_name(name), "exists", |_| true).await;
    }
    let served_after = t.elapsed();
    // Each malformed job: Valid=False with the expected reason and words.
    let report =
        eventually(
            "every malformed job to be reported",
            Duration::from_secs(120),
            || async {
                let jobs = jobs_api
                    .list(&ListParams::default())
                    .await
                    .map_err(|e| e.to_string())?
                    .items;
                let mut missing = Vec::new();
                let mut report = Vec::new();
                for m in &malformed {
                    let Some(job) = jobs.iter().find(|j| j.name_any() == m.name) else {
                        missing.push(format!("{}: not stored", m.name));
                        continue;
                    };
                    match condition_is(job, "Valid", "False", m.reason) {
                        Err(e) => missing.push(format!("{}: {e} ({})", m.name, describe(job))),
                        Ok(()) => {
                            let message = &cond(job, "Valid").unwrap().message;
                            match m.words.iter().find(|w| !message.contains(w.as_str())) {
                                Some(w) => missing
                                    .push(format!("{}: message lacks {w:?}: {message}", m.name)),
                                None => report
                                    .push(format!("{:<28} {:<22} {message}", m.name, m.reason)),
                            }
                        }
                    }
                }
                if missing.is_empty() {
                    Ok(report)
                } else {
                    Err(format!(
                        "{} not right:\n  {}",
                        missing.len(),
                        missing.join("\n  ")
                    ))
                }
            },
        )
        .await;
    let reported_after = t.elapsed();
    // And none has a Deployment.
    let deployments: BTreeSet<String> = api::<Deployment>(&env)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|d| d.name_any())
        .collect();
    let with_deployment: Vec<_> = malformed
        .iter()
        .filter(|m| deployments.contains(&render::child_name(&m.name)))
        .map(|m| m.name.clone())
        .collect();
    assert!(with_deployment.is_empty(), "{with_deployment:?}");
    let served = valid
        .iter()
        .filter(|v| deployments.contains(&render::child_name(v)))
        .count();
    assert_eq!(served, valid.len());
    for name in &valid {
        wait_job(&env, name, "valid", |j| {
            condition_is(j, "Valid", "True", "Valid")
        })
        .await;
    }
    // One Warning per malformed job, not a storm.
    let events = events_per_object(&env).await;
    let warnings: usize = malformed
        .iter()
        .map(|m| events.get(&m.name).map_or(0, |(n, _)| *n))
        .sum();
    assert!(
        malformed
            .iter()
            .all(|m| events.get(&m.name).is_some_and(|(n, _)| *n >= 1)),
        "every malformed job has its Warning"
    );
    // More than one only when the message changed (an unknown table's message lists the
    // tables declared so far, and tables were being created meanwhile).
    let most_warnings = malformed
        .iter()
        .map(|m| events.get(&m.name).map_or(0, |(n, _)| *n))
        .max()
        .unwrap_or(0);
    assert!(
        most_warnings <= 3,
        "an Event storm: {most_warnings} Events for one job"
    );
    let writes = settled(&op.metrics).await;
    println!("{}\n{}", report.join("\n"), refused.join("\n"));
    println!(
        "malformed applied {}: with Valid=False naming the place {}, with a Deployment {}, Warning Events {} (at most {} per job); \
         refused by the API server's schema (naming the field) {}; \
         valid served {served}/{} (all Deployments after {:.1}s, all malformed reported after {:.1}s; {writes} writes)",
        malformed.len(),
        report.len(),
        with_deployment.len(),
        warnings,
        most_warnings,
        refused.len(),
        valid.len(),
        served_after.as_secs_f64(),
        reported_after.as_secs_f64()
    );
    op.stop().await;
}
