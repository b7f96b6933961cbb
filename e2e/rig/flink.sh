#!/usr/bin/env bash
# Usage: PY=$(e2e/rig/flink.sh)
# Ensures the Python venv $RIG/flink-venv with Apache Flink (PyFlink) 2.3.0 + PyYAML and prints
# the path of its python on stdout. Used by tools/flink-golden/generate.py, which runs real
# Flink SQL jobs on a local mini-cluster to produce golden outputs.
#
# First run downloads ~850 MB from PyPI (a few minutes); later runs return at once. Idempotent
# and safe to run concurrently (rig_lock). Running Flink needs a JDK 11/17 (`java` on PATH or
# JAVA_HOME); the Kafka connector jar is not part of the pip package.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FLINK_VERSION=2.3.0
VENV="$RIG/flink-venv"
REQS=("apache-flink==$FLINK_VERSION" "pyyaml")
STAMP="$VENV/.sluice-reqs"

ok() {
  [[ -f $STAMP && $(cat "$STAMP") == "${REQS[*]}" && -x $VENV/bin/python ]] &&
    "$VENV/bin/python" -c "" 2>/dev/null
}
if ! ok; then
  rig_lock flink-venv
  if ! ok; then
    PY="${SLUICE_PYTHON:-python3}"
    command -v "$PY" >/dev/null || die "python3 not found (set SLUICE_PYTHON to a Python 3.9-3.12)"
    out="$RIG/flink-venv-install.log"
    start=$(_now_ms)
    if [[ ! -x $VENV/bin/python ]] || ! "$VENV/bin/python" -c 1 2>/dev/null; then
      rm -rf "$VENV"
      "$PY" -m venv "$VENV" >"$out" 2>&1 || { show_log "$out"; die "creating venv $VENV with $PY failed"; }
    fi
    log "installing ${REQS[*]} into $VENV (~850 MB, a few minutes)"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${REQS[@]}" >>"$out" 2>&1 ||
      { show_log "$out"; die "pip install ${REQS[*]} into $VENV failed (needs PyPI); log: $out"; }
    got=$("$VENV/bin/python" -c 'import importlib.metadata as m, pyflink, yaml; print(m.version("apache-flink"))' 2>>"$out") ||
      { show_log "$out"; die "pyflink does not import in $VENV; log: $out"; }
    [[ $got == "$FLINK_VERSION" ]] || die "expected apache-flink $FLINK_VERSION in $VENV, found $got"
    printf '%s' "${REQS[*]}" >"$STAMP"
    command -v java >/dev/null || [[ -n ${JAVA_HOME:-} ]] ||
      log "warning: no java on PATH and JAVA_HOME unset; PyFlink needs a JDK 11/17 to run"
    log "Flink $FLINK_VERSION venv ready in $VENV ($(elapsed_since "$start"))"
  fi
fi
echo "$VENV/bin/python"
