#!/usr/bin/env bash
# Usage: e2e/cluster_e2e.sh            (on this rig: everything, ≈ 6-10 min once cached)
#
# Sluice end to end on a real Kubernetes node. By default it starts its own single-node
# Kubernetes 1.20 cluster (e2e/rig/cluster.sh: etcd, API server, controller manager,
# scheduler, containerd and a kubelet inside a network namespace made here), starts
# moto_server (S3) and the mock Kafka broker (`sluice-testkit mock-kafka`) in the same
# namespace, builds the two images from images/*/Dockerfile with buildah and imports them,
# renders charts/sluice with the real Helm engine and applies it (the operator runs as a
# pod under the chart's ServiceAccount), then applies examples/stock-ticks.yaml pointed at
# the test's broker and bucket, produces ticks with unique ids and runs the steps of
# issue 8 (see `step` lines below). Every step prints its figures; a failed step stops the
# test with "step N (NAME) FAILED: why". Logs (operator, executors, kubelet, ...) are kept in
# the work directory printed at the start.
#
# Against another cluster (kind, EKS, ...): set
#   SLUICE_E2E_KUBECONFIG      kubeconfig of the cluster (admin)
#   SLUICE_E2E_EXECUTOR_IMAGE  executor image reference the nodes can pull
#   SLUICE_E2E_OPERATOR_IMAGE  operator image reference
#   SLUICE_E2E_KAFKA           bootstrap servers reachable from the pods and from here
#   SLUICE_E2E_TOPIC           a new, empty topic with 4 partitions     (default e2e-ticks)
#   SLUICE_E2E_WIDE_TOPIC      a new, empty topic with 2 partitions     (default e2e-wide)
#   SLUICE_E2E_BUCKET          an existing bucket                        (default sluice-e2e)
#   SLUICE_E2E_S3_ENDPOINT     S3 endpoint (empty: AWS); AWS_* credentials in the environment
#                              are given to the executor pods and used here
#   SLUICE_E2E_HOST_NETWORK=1  only for clusters without a pod network
# Other settings: SLUICE_E2E_CARGO=0 uses the binaries already built (no cargo);
# SLUICE_E2E_PROFILE=debug (default release) runs the dev profile's binaries, as CI does;
# SLUICE_E2E_KEEP=1 keeps the cluster running afterwards (rig mode);
# SLUICE_E2E_RECORDS (default 20000): records of the first step.
RIG_NAME=e2e
source "$(dirname "${BASH_SOURCE[0]}")/rig/lib.sh"

T_START=$(_now_ms)
WORK=${SLUICE_E2E_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/sluice-e2e.XXXXXX")}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
PY="$RIG/venv/bin/python"
TOOL="$REPO_ROOT/e2e/lib/e2e_tool.py"
TARGET_DIR=${CARGO_TARGET_DIR:-$REPO_ROOT/target}
PROFILE=${SLUICE_E2E_PROFILE:-release}
TESTKIT="$TARGET_DIR/$PROFILE/sluice-testkit"
profile_args=()
[[ $PROFILE == release ]] && profile_args=(--release)
NSJ=sluice-e2e # the jobs' namespace
NSO=sluice-system
JOB=filter-ticks
WIDE=wide-ticks
N1=${SLUICE_E2E_RECORDS:-20000}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-e2e} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-e2e}
export AWS_REGION=${AWS_REGION:-us-east-1}

if [[ -n ${SLUICE_E2E_KUBECONFIG:-} ]]; then MODE=external; else MODE=rig; fi
IN=() # prefix that runs a command where the broker and S3 are reachable

STEP=setup STEP_T0=$T_START
step() {
  STEP="$1"
  STEP_T0=$(_now_ms)
  printf '\n[e2e] ===== step %s =====\n' "$STEP" >&2
}
fail() {
  printf '[e2e] step %s FAILED: %s\n' "$STEP" "$*" >&2
  exit 1
}
ok() { printf '[e2e] step %s PASSED in %s: %s\n' "${STEP%% *}" "$(elapsed_since "$STEP_T0")" "$*" >&2; }
info() { printf '[e2e]   %s\n' "$*" >&2; }

k() { "${IN[@]}" "$KUBECTL" --kubeconfig "$KC" "$@"; }
kj() { k -n "$NSJ" "$@"; }
tk() { "${IN[@]}" "$TESTKIT" "$@"; }
tool() { "${IN[@]}" "$PY" "$TOOL" "$@"; }

# ---------------------------------------------------------------------------------------------
cleanup() {
  local rc=$?
  set +e
  if [[ -n ${KC:-} ]]; then
    # Evidence for a failed run: status, events, operator and executor logs.
    {
      k get streamingjobs,streamingtables -A -o yaml
      k get all -A -o wide
      k get events -A --sort-by=.lastTimestamp
    } >"$WORK/cluster-state.txt" 2>&1
    k -n "$NSO" logs -l app.kubernetes.io/component=operator --tail=-1 >"$WORK/operator.log" 2>&1
    k -n "$NSO" logs -l app.kubernetes.io/component=operator --tail=-1 --previous >>"$WORK/operator.log" 2>&1
    kj logs -l app.kubernetes.io/name=sluice-executor --tail=2000 --prefix >"$WORK/executors.log" 2>&1
  fi
  pid_alive "$WORK/producer.pid" && stop_pidfile "$WORK/producer.pid" 5
  if [[ $MODE == rig ]]; then
    if [[ ${SLUICE_E2E_KEEP:-0} == 1 ]]; then
      log "cluster kept (SLUICE_E2E_KEEP=1): kubectl --kubeconfig $WORK/cluster/kubeconfig.host; stop with: e2e/rig/cluster.sh down $WORK/cluster"
    else
      "$RIG_DIR/cluster.sh" down "$WORK/cluster" >/dev/null 2>&1 || log "warning: cluster.sh down failed"
    fi
  else
    k delete namespace "$NSJ" --wait=false >/dev/null 2>&1
  fi
  if ((rc)); then
    log "FAILED after $(elapsed_since "$T_START"); logs and cluster state in $WORK"
  else
    log "all steps passed in $(elapsed_since "$T_START") (logs: $WORK)"
  fi
}
trap cleanup EXIT

# SLUICE_E2E_STEPS="1 2 7" runs only those steps (setup always runs; later steps assume the
# job of step 1).
want() { [[ -z ${SLUICE_E2E_STEPS:-} || " $SLUICE_E2E_STEPS " == *" $1 "* ]]; }

# Polling with a deadline: until SECONDS WHAT CMD... (fails the step with WHAT).
until_ok() {
  local t=$1 what=$2
  shift 2
  wait_for "$t" "$@" || fail "$what (not within ${t}s)"
}

# ---------------------------------------------------------------------------------------------
step "0 (setup)"
log "work directory: $WORK (mode: $MODE)"
if [[ ${SLUICE_E2E_CARGO:-1} == 1 || ! -x $TESTKIT ]]; then
  (cd "$REPO_ROOT" && cargo build "${profile_args[@]}" --quiet -p sluice-executor --bin sluice-testkit) ||
    fail "cannot build sluice-testkit"
fi
"$RIG_DIR/python-tools.sh"
if [[ $MODE == rig ]]; then
  need_root "the e2e cluster"
  img_args=()
  [[ ${SLUICE_E2E_CARGO:-1} == 1 ]] || img_args+=(--no-cargo)
  images=$("$REPO_ROOT/e2e/images.sh" "${img_args[@]}") || fail "building the images failed"
  eval "$images"
  KC=$("$RIG_DIR/cluster.sh" up "$WORK/cluster") || fail "the cluster did not start (logs: $WORK/cluster)"
  KUBECTL="$RIG/k8s/bin/kubectl"
  NS=$(cat "$WORK/cluster/netns")
  IN=(nsenter "--net=/run/netns/$NS")
  "$RIG_DIR/cluster.sh" import "$WORK/cluster" "$executor_archive"
  "$RIG_DIR/cluster.sh" import "$WORK/cluster" "$operator_archive"
  S3=$("$RIG_DIR/cluster.sh" exec "$WORK/cluster" "$RIG_DIR/moto.sh" start "$WORK/moto") || fail "moto_server did not start"
  spawn "$WORK/mock-kafka.log" "$WORK/mock-kafka.pid" "${IN[@]}" "$TESTKIT" mock-kafka \
    --topic ticks:4 --topic wide:2 --ready-file "$WORK/bootstrap"
  wait_for_proc 30 "$WORK/mock-kafka.pid" "the mock Kafka broker" "$WORK/mock-kafka.log" test -s "$WORK/bootstrap"
  BOOT=$(cat "$WORK/bootstrap")
  TOPIC=ticks WIDE_TOPIC=wide BUCKET=sluice-e2e HOSTNET=1
else
  KC=$SLUICE_E2E_KUBECONFIG
  KUBECTL=$(command -v kubectl || echo "$RIG/k8s/bin/kubectl")
  executor_image=${SLUICE_E2E_EXECUTOR_IMAGE:?set SLUICE_E2E_EXECUTOR_IMAGE}
  operator_image=${SLUICE_E2E_OPERATOR_IMAGE:?set SLUICE_E2E_OPERATOR_IMAGE}
  BOOT=${SLUICE_E2E_KAFKA:?set SLUICE_E2E_KAFKA (bootstrap servers reachable from pods and from here)}
  S3=${SLUICE_E2E_S3_ENDPOINT:-}
  TOPIC=${SLUICE_E2E_TOPIC:-e2e-ticks} WIDE_TOPIC=${SLUICE_E2E_WIDE_TOPIC:-e2e-wide}
  BUCKET=${SLUICE_E2E_BUCKET:-sluice-e2e} HOSTNET=${SLUICE_E2E_HOST_NETWORK:-0}
fi
tool s3 create-bucket --endpoint "$S3" --bucket "$BUCKET" || fail "cannot create bucket $BUCKET at ${S3:-AWS}"
RUN=$(date +%s)
PREFIX="run-$RUN/stock-ticks"
WIDE_PREFIX="run-$RUN/wide"
info "broker $BOOT, S3 ${S3:-AWS} bucket $BUCKET, executor image $executor_image, operator image $operator_image"

# The chart, rendered by the Helm engine, applied with kubectl (CRDs first, like helm install).
repo=${operator_image%:*} tag=${operator_image##*:}
erepo=${executor_image%:*} etag=${executor_image##*:}
chart_args=(--set "image.repository=$repo" --set "image.tag=$tag" --set "executor.image.repository=$erepo"
  --set "executor.image.tag=$etag")
# One node without a pod network: executor pods need host networking, which the operator
# refuses unless allowed (docs/security.md).
if ((HOSTNET)); then chart_args+=(--set hostNetwork=true --set metrics.port=18080 --set executor.allowHostNetwork=true); fi
"$RIG_DIR/helm.sh" lint "$REPO_ROOT/charts/sluice" --strict "${chart_args[@]}" >"$WORK/helm-lint.txt" ||
  fail "helm lint: $(cat "$WORK/helm-lint.txt")"
"$RIG_DIR/helm.sh" template sluice "$REPO_ROOT/charts/sluice" -n "$NSO" --include-crds "${chart_args[@]}" >"$WORK/chart.yaml" ||
  fail "helm template failed"
"$PY" - "$WORK/chart.yaml" "$WORK/chart-crds.yaml" "$WORK/chart-objects.yaml" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
yaml.safe_dump_all([d for d in docs if d["kind"] == "CustomResourceDefinition"], open(sys.argv[2], "w"))
yaml.safe_dump_all([d for d in docs if d["kind"] != "CustomResourceDefinition"], open(sys.argv[3], "w"))
PY
k create namespace "$NSO" --dry-run=client -o yaml | k apply -f - >/dev/null
k create namespace "$NSJ" --dry-run=client -o yaml | k apply -f - >/dev/null
k apply -f "$WORK/chart-crds.yaml" >/dev/null || fail "the API server refused the chart's CRDs"
k wait --for condition=established --timeout=60s crd/streamingjobs.sluice.dev crd/streamingtables.sluice.dev >/dev/null ||
  fail "the CRDs were not established"
k apply -f "$WORK/chart-objects.yaml" >/dev/null || fail "the API server refused the chart"
t0=$(_now_ms)
k -n "$NSO" rollout status deployment/sluice --timeout=120s >/dev/null || fail "the operator Deployment did not become available"
op_sa=$(k -n "$NSO" get pods -l app.kubernetes.io/component=operator -o jsonpath='{.items[0].spec.serviceAccountName}')
[[ $op_sa == sluice ]] || fail "the operator pod runs as ServiceAccount '$op_sa', not the chart's 'sluice'"
ok "chart installed; operator pod Ready in $(elapsed_since "$t0") as ServiceAccount $NSO/$op_sa"

# ---------------------------------------------------------------------------------------------
# Helpers for the steps.
live_pods() { # names of running pods of job $1 (not terminating), comma-separated
  kj get pods -l "sluice.dev/job=${1:-$JOB}" -o json | "$PY" -c '
import json, sys
print(",".join(p["metadata"]["name"] for p in json.load(sys.stdin)["items"]
               if not p["metadata"].get("deletionTimestamp") and p["status"].get("phase") == "Running"))'
}
restarts() { # "executor restarts: N, operator restarts: M"
  local e o
  e=$(kj get pods -l "sluice.dev/job=${1:-$JOB}" -o jsonpath='{range .items[*]}{.status.containerStatuses[0].restartCount}{"\n"}{end}' | awk '{s+=$1} END {print s+0}')
  o=$(k -n "$NSO" get pods -l app.kubernetes.io/component=operator -o jsonpath='{range .items[*]}{.status.containerStatuses[0].restartCount}{"\n"}{end}' | awk '{s+=$1} END {print s+0}')
  echo "pod restarts: executor $e, operator $o"
}
PRODUCED=0
produce() { # produce COUNT [TOPIC] [extra testkit args...]: ids PRODUCED..PRODUCED+COUNT
  local n=$1
  tk produce --bootstrap "$BOOT" --topic "$TOPIC" --count "$n" --start "$PRODUCED" >/dev/null ||
    fail "producing $n records failed"
  PRODUCED=$((PRODUCED + n))
}
produce_bg() { # produce_bg COUNT RATE: in the background
  local n=$1 rate=$2
  spawn "$WORK/producer.log" "$WORK/producer.pid" "${IN[@]}" "$TESTKIT" produce --bootstrap "$BOOT" \
    --topic "$TOPIC" --count "$n" --start "$PRODUCED" --rate "$rate"
  PRODUCED=$((PRODUCED + n))
}
producer_done() { ! pid_alive "$WORK/producer.pid"; }
wait_producer() {
  until_ok 300 "the background producer did not finish" producer_done
  if ! grep -q . "$WORK/producer.log" || grep -qi error "$WORK/producer.log"; then
    fail "the background producer failed: $(cat "$WORK/producer.log")"
  fi
  : >"$WORK/producer.log"
}
VERIFY_OUT=
verify_once() {
  VERIFY_OUT=$(tk verify --sink "s3://$BUCKET/$PREFIX" --s3-endpoint "$S3" --count "$PRODUCED" 2>&1)
}
# verify: every produced record in S3 exactly once, in its partition; polls until the executors
# have caught up (a deadline), then prints the oracle's figures.
verify() {
  local t=${1:-180}
  if ! wait_for "$t" verify_once; then
    verify_once || true
    fail "the sink does not hold every record exactly once after ${t}s: $VERIFY_OUT"
  fi
  local j
  j=$(echo "$VERIFY_OUT" | grep '^{' | tail -1)
  info "records: $(echo "$j" | "$PY" -c 'import json,sys; print("produced %(produced)s, expected (price > 10) %(expected)s, found %(found)s, missing %(missing)s, duplicated %(duplicated)s, unexpected %(unexpected)s, misplaced %(misplaced)s, files %(files)s" % json.load(sys.stdin))')"
  EXPECTED=$(echo "$j" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["expected"])')
}
ends() { # end offsets of TOPIC's 4 partitions after PRODUCED ids (partition = id mod 4)
  local p out=()
  for p in 0 1 2 3; do out+=("$p=$((PRODUCED / 4 + (p < PRODUCED % 4 ? 1 : 0)))"); done
  local IFS=,
  echo "${out[*]}"
}
STATUS_OUT=
status_once() {
  STATUS_OUT=$(kj get streamingjob "$JOB" -o json | tool job-status --ends "$(ends)" "$@" 2>&1)
}
# status_check [--records-in N --records-out N --live-pods a,b]: polls until the job's status
# shows the end of the topic committed, lag 0, counters and conditions.
status_check() {
  if ! wait_for 90 status_once "$@"; then
    status_once "$@" || true
    fail "status of $JOB: $STATUS_OUT"
  fi
  info "status: $(echo "$STATUS_OUT" | tail -1)"
}
# status_after_handover: status_check (all produced records in, only live pods' entries) after
# partitions changed hands. A re-acquired partition reports what its claim found, and a departing
# pod never writes entries for partitions it handed over; entries the operator pruned in a race
# with a departing pod come back with the remaining pod's next publish (at least every 30 s,
# status::REPUBLISH_AFTER). So the status must be exact within 50 s, with no new records.
status_after_handover() {
  if wait_for 50 status_once --records-in "$PRODUCED" --live-pods "$(live_pods)"; then
    info "status: $(echo "$STATUS_OUT" | tail -1)"
    return 0
  fi
  kj get streamingjob "$JOB" -o yaml >"$WORK/handover-status-$(date +%s).yaml" 2>&1 # managedFields: who owned what
  fail "status not exact 50 s after a partition hand-over: $(echo "$STATUS_OUT" | tr '\n' ' ') (the job with its managedFields is in $WORK/handover-status-*.yaml)"
}
job_cond() { kj get streamingjob "${2:-$JOB}" -o "jsonpath={.status.conditions[?(@.type==\"$1\")].status}"; }
job_ready() { [[ $(job_cond Ready "$@") == True ]]; }
job_settled() { # the current generation is observed, Ready, not progressing
  local g og
  g=$(kj get streamingjob "$JOB" -o jsonpath='{.metadata.generation}')
  og=$(kj get streamingjob "$JOB" -o jsonpath='{.status.observedGeneration}')
  [[ $g == "$og" && $(job_cond Ready) == True && $(job_cond Progressing) == False ]]
}
deploy_ready() { # deploy_ready N: the executor Deployment has N ready pods and no others
  local n=$1 got
  got=$(kj get deployment "$JOB-executor" -o jsonpath='{.status.readyReplicas}/{.status.replicas}/{.spec.replicas}')
  [[ $got == "$n/$n/$n" || ($n == 0 && $got == "//0") ]] && [[ $(live_pods | tr ',' '\n' | grep -c .) == "$n" ]] &&
    [[ $(kj get pods -l "sluice.dev/job=$JOB" --no-headers 2>/dev/null | wc -l) == "$n" ]]
}
manifests() { # manifests EXAMPLE JOB SOURCE SINK TOPIC GROUP PREFIX [more e2e_tool args]
  local ex=$1 job=$2 src=$3 sink=$4 topic=$5 group=$6 prefix=$7
  shift 7
  local extra=()
  ((HOSTNET)) && extra+=(--host-network)
  tool manifests "$REPO_ROOT/examples/$ex" --bootstrap "$BOOT" --topic "$topic" --group "$group-$RUN" \
    --bucket "$BUCKET" --sink-prefix "$prefix" --s3-endpoint "$S3" --job "$job" \
    --source-table "$src" --sink-table "$sink" --image "$executor_image" "${extra[@]}" "$@"
}
MAIN_ARGS=()
((HOSTNET)) && MAIN_ARGS+=(--no-port) # one node, host network: three pods cannot share a port

# ---------------------------------------------------------------------------------------------
if want 1; then
step "1 (examples applied; executors under their own ServiceAccount; every record in S3 once)"
manifests stock-ticks.yaml "$JOB" stock_ticks sink_table "$TOPIC" stock-ticks-to-s3 "$PREFIX" "${MAIN_ARGS[@]}" >"$WORK/job.yaml"
t0=$(_now_ms)
kj apply -f "$WORK/job.yaml" >/dev/null || fail "kubectl apply of examples/stock-ticks.yaml refused"
produce "$N1"
until_ok 180 "job $JOB did not become Ready" job_ready
t_ready=$(elapsed_since "$t0")
sa=$(kj get pods -l "sluice.dev/job=$JOB" -o jsonpath='{.items[0].spec.serviceAccountName}')
[[ $sa == "$JOB-executor" ]] || fail "executor pods run as ServiceAccount '$sa', expected $JOB-executor"
kj get serviceaccount "$sa" >/dev/null || fail "ServiceAccount $sa does not exist"
verify 180
ok "time to Ready $t_ready; executor ServiceAccount $sa; $(restarts)"

fi
# ---------------------------------------------------------------------------------------------
if want 2; then
step "2 (status: offsets = end of topic, lag 0, counters, conditions, columns)"
status_check --records-in "$PRODUCED" --records-out "$EXPECTED"
cols=$(kj get streamingjobs --no-headers | awk -v j="$JOB" '$1==j')
info "kubectl get streamingjobs: $(kj get streamingjobs | head -1)"
info "                           $cols"
read -r -a c <<<"$cols"
((${#c[@]} >= 7)) || fail "kubectl get streamingjobs has empty columns: '$cols'"
[[ ${c[1]} == Running && ${c[2]} == 1 && ${c[3]} == 1 && ${c[4]} == "$EXPECTED" && ${c[5]} == 0 ]] ||
  fail "kubectl get streamingjobs columns: '$cols' (want Running 1 1 $EXPECTED 0)"
ok "committed offsets = topic end, lag 0, recordsIn $PRODUCED, recordsOut $EXPECTED; $(restarts)"

fi
# ---------------------------------------------------------------------------------------------
if want 3; then
step "3 (SQL changed with kubectl apply: rollout; new rows follow the new query)"
before=$PRODUCED
old_rs=$(kj get pods -l "sluice.dev/job=$JOB" -o jsonpath='{.items[0].metadata.labels.pod-template-hash}')
manifests stock-ticks.yaml "$JOB" stock_ticks sink_table "$TOPIC" stock-ticks-to-s3 "$PREFIX" "${MAIN_ARGS[@]}" \
  --select-price 'ROUND(price, 0)' >"$WORK/job-v2.yaml"
produce_bg 4000 1000 # records keep arriving during the change
t0=$(_now_ms)
kj apply -f "$WORK/job-v2.yaml" >/dev/null || fail "kubectl apply of the changed SQL refused"
new_pods() { local h; h=$(kj get pods -l "sluice.dev/job=$JOB" -o jsonpath='{.items[*].metadata.labels.pod-template-hash}'); [[ -n $h && $h != *"$old_rs"* ]]; }
until_ok 120 "no rollout: the executor pods were not replaced" new_pods
until_ok 120 "the job did not settle on the new generation (Ready, not Progressing)" job_settled
t_roll=$(elapsed_since "$t0")
wait_producer
after=$PRODUCED
produce 3000
verify 180
tool s3 rows-check --endpoint "$S3" --bucket "$BUCKET" --prefix "$PREFIX" --from-id "$after" --before "$before" >"$WORK/rows-check.json" ||
  fail "new rows do not follow the new query: $(cat "$WORK/rows-check.json")"
info "query change: $(cat "$WORK/rows-check.json")"
status_check --records-in "$PRODUCED"
ok "rollout to new pods and Ready in $t_roll; nothing lost or duplicated across the change; $(restarts)"

fi
# ---------------------------------------------------------------------------------------------
if want 4; then
step "4 (suspend: 0 pods, no new files while records arrive; resume: delivered once)"
kj patch streamingjob "$JOB" --type merge -p '{"spec":{"suspend":true}}' >/dev/null
no_pods() { [[ -z $(kj get pods -l "sluice.dev/job=$JOB" -o name) ]]; }
suspended() { [[ $(kj get streamingjob "$JOB" -o jsonpath='{.status.phase}') == Suspended ]]; }
until_ok 90 "executor pods still exist 90 s after suspend: true" no_pods
until_ok 30 "the job's phase is not Suspended" suspended
files0=$(tool s3 count --endpoint "$S3" --bucket "$BUCKET" --prefix "$PREFIX")
produce 3000
# Observe a while: still no pods, no new files.
t_obs=$(($(_now_ms) + 10000))
while (($(_now_ms) < t_obs)); do
  no_pods || fail "an executor pod appeared while suspended"
  sleep 1
done
files1=$(tool s3 count --endpoint "$S3" --bucket "$BUCKET" --prefix "$PREFIX")
[[ $files0 == "$files1" ]] || fail "files appeared while suspended ($files0 -> $files1)"
info "suspended: 0 pods, $files1 files before and after 10 s of new records"
kj patch streamingjob "$JOB" --type merge -p '{"spec":{"suspend":false}}' >/dev/null
until_ok 120 "the job did not become Ready after resume" job_ready
verify 180
status_check --records-in "$PRODUCED"
ok "suspend held, resume delivered everything once; $(restarts)"

fi
# ---------------------------------------------------------------------------------------------
if want 5; then
step "5 (parallelism 1 -> 3 -> 1 mid-stream: exactly once; status holds only live pods)"
produce_bg 12000 800
kj patch streamingjob "$JOB" --type merge -p '{"spec":{"parallelism":3}}' >/dev/null
until_ok 120 "3 executor pods did not become ready" deploy_ready 3
status_spread() { # the status names exactly the live pods (after the rebalance)
  local live
  live=$(live_pods)
  status_pods=$(kj get streamingjob "$JOB" -o jsonpath='{range .status.partitions[*]}{.pod}{"\n"}{end}' | sort -u | paste -sd,)
  [[ $status_pods == "$(echo "$live" | tr ',' '\n' | sort | paste -sd,)" ]]
}
until_ok 90 "status.partitions does not name exactly the 3 live pods" status_spread
info "parallelism 3: partitions held by $status_pods"
kj patch streamingjob "$JOB" --type merge -p '{"spec":{"parallelism":1}}' >/dev/null
until_ok 120 "the job did not scale back to 1 pod" deploy_ready 1
wait_producer
verify 180
status_after_handover
ok "exactly once through 1 -> 3 -> 1; status entries only of live pod $(live_pods); $(restarts)"

fi
# ---------------------------------------------------------------------------------------------
if want 6; then
step "6 (kubectl delete pod: an executor, then the operator, mid-stream)"
produce_bg 8000 800
victim=$(live_pods)
kj delete pod "$victim" --wait=false >/dev/null
replaced() { local l; l=$(live_pods); [[ -n $l && $l != *"$victim"* ]] && deploy_ready 1; }
until_ok 120 "the deleted executor pod was not replaced by a ready one" replaced
info "executor $victim replaced by $(live_pods)"
op=$(k -n "$NSO" get pods -l app.kubernetes.io/component=operator -o jsonpath='{.items[0].metadata.name}')
k -n "$NSO" delete pod "$op" --wait=false >/dev/null
op_replaced() {
  [[ $(k -n "$NSO" get pods -l app.kubernetes.io/component=operator \
    -o jsonpath='{range .items[?(@.status.containerStatuses[0].ready==true)]}{.metadata.name}{"\n"}{end}' | grep -v "^$op\$" | grep -c .) == 1 ]]
}
until_ok 120 "the deleted operator pod was not replaced by a ready one" op_replaced
wait_producer
verify 180
status_after_handover
for kind in deployment configmap serviceaccount role rolebinding; do
  n=$(kj get "$kind" -l "sluice.dev/job=$JOB" --no-headers 2>/dev/null | wc -l)
  [[ $n == 1 ]] || fail "$n ${kind}s of $JOB after the operator restart (want 1)"
done
n=$(kj get replicasets -l "sluice.dev/job=$JOB" -o jsonpath='{range .items[?(@.spec.replicas>0)]}{.metadata.name}{"\n"}{end}' | grep -c .)
[[ $n == 1 ]] || fail "$n active ReplicaSets of $JOB (want 1)"
ok "replacements converged, one of each object; $(restarts)"

fi
# ---------------------------------------------------------------------------------------------
if want 7; then
step "7 (256 MiB memory limit, 5,000 output partitions: never OOMKilled)"
WIDE_N=${SLUICE_E2E_WIDE_RECORDS:-60000}
wide_args=(--memory-limit 256Mi)
((HOSTNET)) && wide_args+=(--metrics-port 19464)
manifests stock-ticks.yaml "$WIDE" wide_ticks wide_sink "$WIDE_TOPIC" wide "$WIDE_PREFIX" "${wide_args[@]}" --prefix wide- >"$WORK/wide.yaml"
kj apply -f "$WORK/wide.yaml" >/dev/null || fail "kubectl apply of the wide job refused"
# 500 tickers over ~10 hours of event time: ≈ 5,000 ticker/dt/hr partitions.
tk produce --bootstrap "$BOOT" --topic "$WIDE_TOPIC" --count "$WIDE_N" --tickers 500 --step-ms 600 >/dev/null ||
  fail "producing to $WIDE_TOPIC failed"
wide_verify_once() {
  VERIFY_OUT=$(tk verify --sink "s3://$BUCKET/$WIDE_PREFIX" --s3-endpoint "$S3" --count "$WIDE_N" --tickers 500 --step-ms 600 2>&1)
}
if ! wait_for 420 wide_verify_once; then
  wide_verify_once || true
  fail "wide job: the sink does not hold every record exactly once: $VERIFY_OUT"
fi
dirs=$(tool s3 dirs --endpoint "$S3" --bucket "$BUCKET" --prefix "$WIDE_PREFIX")
oom=$(kj get pods -l "sluice.dev/job=$WIDE" -o jsonpath='{range .items[*]}{.status.containerStatuses[0].restartCount}{" "}{.status.containerStatuses[0].lastState.terminated.reason}{"\n"}{end}')
info "records: $(echo "$VERIFY_OUT" | grep '^{' | tail -1); output partitions: $dirs"
info "executor restarts / last termination: ${oom:-none}"
((dirs >= 5000)) || fail "only $dirs output partitions (want >= 5,000)"
[[ $oom == "0 " ]] || fail "the wide executor restarted or was killed: '$oom'"
[[ $(job_cond Degraded "$WIDE") != True ]] || fail "the wide job is Degraded: $(kj get streamingjob "$WIDE" -o jsonpath='{.status.conditions[?(@.type=="Degraded")].message}')"
limit=$(kj get pods -l "sluice.dev/job=$WIDE" -o jsonpath='{.items[0].spec.containers[0].resources.limits.memory}')
ok "$dirs partitions under a $limit limit, 0 restarts, never OOMKilled"

fi
# ---------------------------------------------------------------------------------------------
if want 8; then
step "8 (a bad job beside the good one: False condition, Event, no pods)"
cat >"$WORK/bad.yaml" <<EOF
apiVersion: sluice.dev/v1alpha1
kind: StreamingJob
metadata: {name: bad-sql}
spec:
  sql: INSERT INTO sink_table SELECT no_such_column FROM stock_ticks
EOF
kj apply -f "$WORK/bad.yaml" >/dev/null || fail "kubectl apply of the bad job refused"
bad_invalid() { [[ $(job_cond Valid bad-sql) == False ]]; }
until_ok 60 "the bad job has no Valid=False condition" bad_invalid
bad_event() { [[ -n $(kj get events --field-selector involvedObject.name=bad-sql,type=Warning -o name) ]]; }
until_ok 30 "no Warning Event for the bad job" bad_event
msg=$(kj get streamingjob bad-sql -o jsonpath='{.status.conditions[?(@.type=="Valid")].reason}: {.status.conditions[?(@.type=="Valid")].message}')
ev=$(kj get events --field-selector involvedObject.name=bad-sql,type=Warning -o jsonpath='{.items[0].reason}: {.items[0].message}')
[[ -z $(kj get deployment,pods -l sluice.dev/job=bad-sql -o name) ]] || fail "the bad job has a Deployment or pods"
job_ready || fail "the good job is not Ready beside the bad one"
info "condition Valid=False $msg"
info "event Warning $ev"
ok "bad job refused, good job still Ready"

fi
# ---------------------------------------------------------------------------------------------
if want 9; then
step "9 (deleting the jobs removes every object the operator made)"
kj delete streamingjob "$JOB" "$WIDE" bad-sql --ignore-not-found --wait=false >/dev/null
gone() {
  [[ -z $(kj get deployments,replicasets,pods,configmaps,serviceaccounts,roles,rolebindings \
    -l "sluice.dev/job in ($JOB,$WIDE,bad-sql)" -o name 2>/dev/null) ]]
}
until_ok 120 "objects left after deleting the jobs: $(kj get deployments,replicasets,pods,configmaps,serviceaccounts,roles,rolebindings -l "sluice.dev/job in ($JOB,$WIDE,bad-sql)" -o name 2>&1 | tr '\n' ' ')" gone
ok "no Deployment, ReplicaSet, Pod, ConfigMap, ServiceAccount, Role or RoleBinding left"
fi
