#!/usr/bin/env bash
# Usage: e2e/rig/prepare.sh [--no-tansu] [--no-cluster]
# Installs and builds everything the e2e tests need, once (cached in $RIG): Debian packages,
# Kubernetes v1.20.2 binaries, the Python tools (moto, boto3, helm-python-sdk), cargo-machete, the base
# and pause images, tansu. On a new machine ≈ 20-25 min (Kubernetes ≈ 6, tansu ≈ 10-15);
# afterwards a few seconds. For .ci/run: call it before the tests, each step is idempotent.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

tansu=1 cluster=1
for a in "$@"; do
  case $a in
  --no-tansu) tansu=0 ;;
  --no-cluster) cluster=0 ;;
  *) die "usage: $0 [--no-tansu] [--no-cluster]" ;;
  esac
done
t0=$(_now_ms)
groups=(build kafka k8s perf)
((cluster)) && groups+=(node)
"$RIG_DIR/install-debs.sh" "${groups[@]}"
"$RIG_DIR/kubernetes-build.sh" >/dev/null
"$RIG_DIR/python-tools.sh"
"$RIG_DIR/cargo-tools.sh" >/dev/null
if ((cluster)); then "$RIG_DIR/base-image.sh" >/dev/null; fi
if ((tansu)); then "$RIG_DIR/tansu.sh" install >/dev/null; fi
log "rig ready in $(elapsed_since "$t0") (cache: $RIG)"
