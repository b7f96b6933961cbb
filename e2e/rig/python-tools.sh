#!/usr/bin/env bash
# Usage: e2e/rig/python-tools.sh
# Ensures the Python venv $RIG/venv with moto[server] (S3 mock: $RIG/venv/bin/moto_server),
# boto3 and helm-python-sdk (the Helm v4 engine as a library; see helm.sh). Prints nothing
# on success. Versions are pinned here; change REQS to upgrade.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VENV="$RIG/venv"
REQS=("moto[server]==5.2.5" "boto3==1.44.8" "helm-python-sdk==0.2.2")
STAMP="$VENV/.sluice-reqs"

ok() {
  [[ -f $STAMP && $(cat "$STAMP") == "${REQS[*]}" && -x $VENV/bin/moto_server && -d $VENV/lib ]] &&
    "$VENV/bin/python" -c "" 2>/dev/null
}
ok && exit 0
rig_lock venv
ok && exit 0

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
