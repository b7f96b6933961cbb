#!/usr/bin/env bash
# Usage: e2e/chart_test.sh
# Checks charts/sluice with the real Helm engine (helm-python-sdk, via e2e/rig/helm.sh) and a
# real API server (e2e/rig/apiserver.sh, Kubernetes 1.20):
#   1. `helm lint --strict` passes with the defaults and with every optional feature on;
#   2. values.schema.json refuses misspelt or mistyped values;
#   3. the chart's ClusterRole and leader-election Role rules equal operator/rbac.yaml (the
#      rules the operator's tests run with), and the chart's CRDs equal crds/yaml (generated);
#   4. the rendered manifests are accepted by the API server: applied for real (default values)
#      and with --dry-run=server (watchNamespaces, hostNetwork, ...), after the chart's CRDs.
# ≈ 30 s once the rig is cached. Exits non-zero with a message naming the failed check.
RIG_NAME=chart-test
source "$(dirname "${BASH_SOURCE[0]}")/rig/lib.sh"

CHART="$REPO_ROOT/charts/sluice"
HELM="$RIG_DIR/helm.sh"
PY="$RIG/venv/bin/python"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sluice-chart-test.XXXXXX")
SD="$WORK/apiserver"
cleanup() {
  "$RIG_DIR/apiserver.sh" stop "$SD" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
failed=0
pass() { log "PASS $*"; }
fail() { log "FAIL $*"; failed=1; }

# Value sets: every optional feature of the chart on at least once.
ALL_ON=(--set replicaCount=2 --set hostNetwork=true --set 'watchNamespaces={team-a,team-b}'
  --set metrics.serviceMonitor.enabled=true --set 'podAnnotations.example\.com/team=data'
  --set 'nodeSelector.kubernetes\.io/os=linux'
  --set-json 'tolerations=[{"key":"dedicated","operator":"Exists","effect":"NoSchedule"}]'
  --set leaderElection.enabled=false
  --set image.tag=dev --set image.pullPolicy=Never --set executor.image.tag=dev
  --set serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::1:role/x
  --set networkPolicy.enabled=true
  --set-json 'networkPolicy.metricsFrom=[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"monitoring"}}}]'
  --set 'executor.allowedImages={registry.example.com/,ghcr.io/sluice-dev/sluice}' --set executor.allowHostNetwork=true)

# 1. lint
if out=$("$HELM" lint "$CHART" --strict 2>&1); then pass "lint (defaults)"; else echo "$out" >&2; fail "lint (defaults)"; fi
if out=$("$HELM" lint "$CHART" --strict "${ALL_ON[@]}" 2>&1); then pass "lint (every option on)"; else echo "$out" >&2; fail "lint (every option on)"; fi

# 2. the schema refuses mistakes
for bad in 'imagee.tag=x' 'image.pullPolicy=Sometimes' 'replicaCount=-1' 'metrics.port=70000' \
  'watchNamespaces={Bad_Name}' 'hostNetwork=yes' 'resources.limits.memory=lots'; do
  if "$HELM" lint "$CHART" --set "$bad" >/dev/null 2>&1; then
    fail "schema: --set $bad was accepted"
  else
    pass "schema refuses --set $bad"
  fi
done

# 3. one source of truth for RBAC and CRDs
"$HELM" template sluice "$CHART" -n sluice-system --include-crds >"$WORK/default.yaml" || die "helm template failed"
if out=$("$PY" - "$WORK/default.yaml" "$REPO_ROOT/operator/rbac.yaml" "$REPO_ROOT/crds/yaml" <<'PY' 2>&1
import os, sys, yaml
rendered = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
documented = [d for d in yaml.safe_load_all(open(sys.argv[2])) if d]
def rules(docs, kind, suffix=""):
    [role] = [d for d in docs if d["kind"] == kind and d["metadata"]["name"].endswith(suffix)]
    return sorted((tuple(r.get("apiGroups", [])), tuple(r.get("resources", [])), tuple(r.get("verbs", [])),
                   tuple(len(r.get("resourceNames", [])) * ["name"]))
                  for r in role["rules"])
if rules(rendered, "ClusterRole") != rules(documented, "ClusterRole"):
    sys.exit(f"chart ClusterRole rules differ from operator/rbac.yaml:\n chart: {rules(rendered, 'ClusterRole')}\n file:  {rules(documented, 'ClusterRole')}")
if rules(rendered, "Role", "-leader-election") != rules(documented, "Role", "-leader-election"):
    sys.exit("chart leader-election Role rules differ from operator/rbac.yaml")
crds = {d["metadata"]["name"]: d for d in rendered if d["kind"] == "CustomResourceDefinition"}
for f in sorted(os.listdir(sys.argv[3])):
    d = yaml.safe_load(open(os.path.join(sys.argv[3], f)))
    if crds.get(d["metadata"]["name"]) != d:
        sys.exit(f"the chart's CRD {d['metadata']['name']} differs from crds/yaml/{f} (run: cargo run -p sluice-crds --bin crdgen -- --write)")
if len(crds) != len(os.listdir(sys.argv[3])):
    sys.exit(f"the chart has CRDs {sorted(crds)}, crds/yaml has {os.listdir(sys.argv[3])}")
PY
); then pass "chart RBAC = operator/rbac.yaml, chart CRDs = crds/yaml"; else echo "$out" >&2; fail "RBAC/CRD agreement"; fi

# 4. the API server accepts the output
KC=$("$RIG_DIR/apiserver.sh" start "$SD")
k() { "$RIG/k8s/bin/kubectl" --kubeconfig "$KC" "$@"; }
k create namespace sluice-system >/dev/null
k create namespace team-a >/dev/null
k create namespace team-b >/dev/null
"$PY" - "$WORK/default.yaml" "$WORK/crds.yaml" "$WORK/objects.yaml" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
yaml.safe_dump_all([d for d in docs if d["kind"] == "CustomResourceDefinition"], open(sys.argv[2], "w"))
yaml.safe_dump_all([d for d in docs if d["kind"] != "CustomResourceDefinition"], open(sys.argv[3], "w"))
PY
if out=$(k apply -f "$WORK/crds.yaml" 2>&1) &&
  out=$(k wait --for condition=established --timeout=30s crd/streamingjobs.sluice.dev crd/streamingtables.sluice.dev 2>&1); then
  pass "API server: the chart's CRDs are established"
else
  echo "$out" >&2
  fail "API server refused the chart's CRDs"
fi
if out=$(k apply -f "$WORK/objects.yaml" 2>&1); then
  pass "API server: default release applied ($(echo "$out" | wc -l) objects)"
else
  echo "$out" >&2
  fail "API server refused the default release"
fi
# Every option on (but the ServiceMonitor, whose CRD is prometheus-operator's) as a dry run.
"$HELM" template other "$CHART" -n sluice-system "${ALL_ON[@]}" >"$WORK/all-on.yaml" || die "helm template (every option on) failed"
"$PY" - "$WORK/all-on.yaml" <<'PY' >"$WORK/all-on-core.yaml"
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
kinds = sorted({d["kind"] for d in docs})
assert "ServiceMonitor" in kinds, kinds
# Namespace-scoped: a Role and a RoleBinding in team-a and team-b, nothing cluster-scoped
# (leader election is off in this value set, so no Lease Role).
assert sum(d["kind"] == "RoleBinding" for d in docs) == 2, "RoleBindings in team-a, team-b"
assert sorted(d["metadata"]["namespace"] for d in docs if d["kind"] == "Role") == ["team-a", "team-b"]
assert not [d for d in docs if d["kind"] in ("ClusterRole", "ClusterRoleBinding")], "cluster-scoped RBAC"
assert sorted(d["metadata"]["namespace"] for d in docs if d["kind"] == "NetworkPolicy") == ["sluice-system", "team-a", "team-b"]
yaml.safe_dump_all([d for d in docs if d["kind"] != "ServiceMonitor"], sys.stdout)
PY
if out=$(k apply --dry-run=server -f "$WORK/all-on-core.yaml" 2>&1); then
  pass "API server: every-option release accepted (--dry-run=server)"
else
  echo "$out" >&2
  fail "API server refused the every-option release"
fi

if ((failed)); then die "chart test failed (see FAIL lines above)"; fi
log "chart test passed"
