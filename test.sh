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

# In CI: no incremental compilation (it only costs disk and time in a fresh clone), and the
# cluster e2e runs the binaries `cargo test --workspace` has just built and tested (the dev
# profile, no further cargo: `cargo build -p` alone unifies features differently and rebuilt
# DataFusion, 8 min) instead of a second, release build of every dependency (~15 min).
if [[ ${CI:-} == true ]]; then
  export CARGO_INCREMENTAL=0
  export SLUICE_E2E_PROFILE=${SLUICE_E2E_PROFILE:-debug}
  [[ $SLUICE_E2E_PROFILE == debug ]] && export SLUICE_E2E_CARGO=${SLUICE_E2E_CARGO:-0}
fi

t_all=$SECONDS
log_dir=${SLUICE_TEST_LOGS:-target/test-logs}
mkdir -p "$log_dir"

# Why a step failed, short enough to survive a CI page that keeps only the tail of the output:
# the error lines (long linker command lines cut), the last lines, and disk and memory.
failure_summary() {
  local log=$1
  echo "---- why it failed (full log: $log) ----"
  grep -E '^(error|warning: unused)|panicked at|^test .* FAILED|FAIL|^failures:|No space left|signal: 9|Killed|collect2|ld: ' "$log" |
    cut -c1-400 | grep -v '^error: aborting' | tail -25 || true
  echo "---- last lines ----"
  tail -15 "$log" | cut -c1-400
  echo "---- disk and memory ----"
  df -h "$PWD" "${CARGO_TARGET_DIR:-$PWD/target}" 2>/dev/null | uniq
  free -m | head -2
}

step() {
  local name=$1; shift
  local t=$SECONDS log
  log="$log_dir/$(echo "$name" | tr -c 'a-zA-Z0-9\n' '-' | cut -c1-40).log"
  echo "==> $name"
  if ! "$@" 2>&1 | tee "$log"; then
    echo "FAILED: $name (after $((SECONDS - t)) s)"
    failure_summary "$log"
    echo "FAILED: $name (after $((SECONDS - t)) s)"
    exit 1
  fi
  echo "<== $name: ok in $((SECONDS - t)) s"
}

prepare_args=()
[[ ${SLUICE_TANSU:-0} == 1 ]] || prepare_args+=(--no-tansu)
((quick)) && prepare_args+=(--no-cluster)
step "install the test rig (cached)" e2e/rig/prepare.sh "${prepare_args[@]}"
step "rustfmt" cargo fmt --all --check
machete_bin=$(e2e/rig/cargo-tools.sh)
step "no unused dependencies (cargo machete)" "$machete_bin/cargo-machete"
step "clippy" cargo clippy --workspace --all-targets --locked -- -D warnings
no_import_cycles() {
  local crate
  for crate in crds sql executor operator endpoints; do
    python3 tools/module-cycles.py "$crate/src" || return 1
  done
}
step "no import cycles between modules (tools/module-cycles.py)" no_import_cycles
# The CRD YAML's drift check is the unit test crdgen::committed_crd_yaml_matches_the_rust_types,
# run by the step below: a separate `cargo run -p sluice-crds` resolved features differently and
# rebuilt kube and its dependencies (223 s of a CI run).
step "unit, integration and fault tests" cargo test --workspace --locked
if [[ -x e2e/chart_test.sh ]]; then
  step "Helm chart: lint, render, API server accepts it" e2e/chart_test.sh
fi
if ((!quick)) && [[ -x e2e/cluster_e2e.sh ]]; then
  step "end to end on a real single-node Kubernetes cluster" e2e/cluster_e2e.sh
fi
echo "all tests passed in $((SECONDS - t_all)) s"
