#!/usr/bin/env bash
# Usage: e2e/rig/helm.sh template [NAME] CHART [-f VALUES]... [--set K=V]... [-n NS]
#                                  [--include-crds] [-s TEMPLATE]...
#        e2e/rig/helm.sh lint CHART... [-f VALUES]... [--set K=V]... [--strict]
#        e2e/rig/helm.sh version
# The real Helm v4 engine (helm-python-sdk's libhelm_c) behind a helm-like CLI (helm.py).
# `template` prints the manifests like `helm template` (NOTES.txt skipped, ordered by
# Helm's install order); `lint` prints helm-style findings and exits 1 on failure.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$RIG_DIR/python-tools.sh"
exec "$RIG/venv/bin/python" "$RIG_DIR/helm.py" "$@"
