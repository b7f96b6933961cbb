#!/usr/bin/env bash
# Runs every test of the project, installing what they need first (cached under
# ~/.cache/sluice, see e2e/rig/prepare.sh). `.ci/run` runs exactly this.
#
#   ./test.sh            everything: lint, unit, integration (real Kafka-protocol broker, moto S3,
#                        real kube-apiserver), the fault suite, the Helm chart, and the end-to-end
#                        test on a real single-node Kubernetes cluster
#   ./test.sh --quick    skip the single-node cluster e2e (no buildah images, no kubelet)
#
# Environment: SLUICE_TANSU=1 also installs tansu (a persistent Kafka-compatible broker, ≈ 12 min
# to build once) for the broker-restart fault case; without it that case says it is skipped.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

quick=0
for a in "$@"; do
  case $a in
  --quick) quick=1 ;;
  *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
  esac
done

t_all=$SECONDS
step() {
  local name=$1; shift
  local t=$SECONDS
  echo "==> $name"
  if ! "$@"; then
    echo "FAILED: $name (after $((SECONDS - t)) s)" >&2
    exit 1
  fi
  echo "<== $name: ok in $((SECONDS - t)) s"
}

prepare_args=()
[[ ${SLUICE_TANSU:-0} == 1 ]] || prepare_args+=(--no-tansu)
((quick)) && prepare_args+=(--no-cluster)
step "install the test rig (cached)" e2e/rig/prepare.sh "${prepare_args[@]}"
step "rustfmt" cargo fmt --all --check
step "clippy" cargo clippy --workspace --all-targets --locked -- -D warnings
step "CRD YAML is generated from the Rust types" cargo run --quiet -p sluice-crds --bin crdgen -- --check
step "unit, integration and fault tests" cargo test --workspace --locked
if [[ -x e2e/chart_test.sh ]]; then
  step "Helm chart: lint, render, API server accepts it" e2e/chart_test.sh
fi
if ((!quick)) && [[ -x e2e/cluster_e2e.sh ]]; then
  step "end to end on a real single-node Kubernetes cluster" e2e/cluster_e2e.sh
fi
echo "all tests passed in $((SECONDS - t_all)) s"
