#!/usr/bin/env bash
# Usage: e2e/rig/python-tools.sh [python]
# Ensures the Python venv $RIG/venv with moto[server] (S3 mock: $RIG/venv/bin/moto_server),
# boto3, helm-python-sdk (the Helm v4 engine as a library; see helm.sh) and
# aws-msk-iam-sasl-signer-python (AWS's reference MSK IAM token signer, which the executor's
# AWS_MSK_IAM token is checked against: executor/tests/msk_iam_token.rs). Prints nothing
# on success, or with `python` the venv's interpreter. Versions are pinned here; change REQS
# to upgrade.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VENV="$RIG/venv"
REQS=("moto[server]==5.2.5" "boto3==1.44.8" "helm-python-sdk==0.2.2"
  "aws-msk-iam-sasl-signer-python==1.0.2")
STAMP="$VENV/.sluice-reqs"

ok() {
  [[ -f $STAMP && $(cat "$STAMP") == "${REQS[*]}" && -x $VENV/bin/moto_server && -d $VENV/lib ]] &&
    "$VENV/bin/python" -c "" 2>/dev/null
}
done_() {
  [[ ${1:-} == python ]] && echo "$VENV/bin/python"
  exit 0
}
ok && done_ "$@"
rig_lock venv
ok && done_ "$@"

PY="${SLUICE_PYTHON:-python3}"
command -v "$PY" >/dev/null || die "python3 not found (set SLUICE_PYTHON to a Python >= 3.10)"
out="$RIG/venv-install.log"
start=$(_now_ms)
if [[ ! -x $VENV/bin/python ]] || ! "$VENV/bin/python" -c 1 2>/dev/null; then
  rm -rf "$VENV"
  "$PY" -m venv "$VENV" >"$out" 2>&1 || { show_log "$out"; die "creating venv $VENV with $PY failed"; }
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "${REQS[@]}" >>"$out" 2>&1 ||
  { show_log "$out"; die "pip install ${REQS[*]} into $VENV failed (needs PyPI); log: $out"; }
printf '%s' "${REQS[*]}" >"$STAMP"
ok || die "venv $VENV is incomplete after install; log: $out"
log "Python tools ready in $VENV ($(elapsed_since "$start"))"
done_ "$@"
