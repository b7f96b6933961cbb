#!/usr/bin/env bash
# Usage: e2e/rig/tansu.sh install              -> prints the tansu binary path
#        e2e/rig/tansu.sh installed            -> prints it if installed (exit 1 if not; never builds)
#        e2e/rig/tansu.sh start STATEDIR [PORT] -> prints 127.0.0.1:PORT (bootstrap servers)
#        e2e/rig/tansu.sh stop STATEDIR
# tansu (crates.io), an independent Kafka-compatible broker, with in-memory storage by default.
# install: cargo install into $RIG/tansu (≈ 10-15 min on 2 cores the first time).
# start: listens on 127.0.0.1 (a free port unless PORT is given); writes STATEDIR/tansu.port,
# STATEDIR/tansu.pid; logs to STATEDIR/tansu.log.
# Persistent storage: SLUICE_TANSU_STORAGE=s3://BUCKET/ with SLUICE_TANSU_S3_ENDPOINT=URL (e.g.
# the moto server; the bucket must exist; credentials from AWS_ACCESS_KEY_ID/
# AWS_SECRET_ACCESS_KEY, default test/test): topics, records and group offsets survive a stop
# and a start with the same storage (give the same PORT to keep the bootstrap address).
# Known defect of tansu 0.6.0: ListOffsets(latest) (rdkafka fetch_watermarks) returns the last
# batch's base offset + 1, not the log end; use the fetch high watermark instead.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VERSION=0.6.0
ROOT="$RIG/tansu"
BIN="$ROOT/bin/tansu"
STAMP="$ROOT/.complete"
installed() { [[ -x $BIN && -f $STAMP && $(cat "$STAMP") == "$VERSION dynostore" ]]; }

install() {
  installed && return 0
  rig_lock tansu-install
  installed && return 0
  need_cmd cargo "(Rust toolchain; not a Debian group)"
  "$RIG_DIR/install-debs.sh" build
  local start buildlog="$RIG/tansu-install.log"
  start=$(_now_ms)
  log "cargo install tansu $VERSION (≈ 10-15 min on 2 cores; log: $buildlog)"
  mkdir -p "$ROOT"
  if ! cargo install tansu --version "$VERSION" --locked --features dynostore --root "$ROOT" \
    --target-dir "$RIG/tansu-target" >"$buildlog" 2>&1; then
    show_log "$buildlog" 40
    die "cargo install tansu failed; full log: $buildlog"
  fi
  rm -rf "$RIG/tansu-target"
  echo "$VERSION dynostore" >"$STAMP"
  log "installed tansu $VERSION in $(elapsed_since "$start")"
}

usage() { die "usage: $0 install | installed | start STATEDIR [PORT] | stop STATEDIR"; }

# The storage engine and, for s3://, the object store's environment.
storage_env=()
storage() {
  STORAGE=${SLUICE_TANSU_STORAGE:-memory://tansu/}
  case $STORAGE in
  memory://*) ;;
  s3://*)
    [[ -n ${SLUICE_TANSU_S3_ENDPOINT:-} ]] || die "SLUICE_TANSU_STORAGE=$STORAGE needs SLUICE_TANSU_S3_ENDPOINT"
    storage_env=(AWS_ENDPOINT="$SLUICE_TANSU_S3_ENDPOINT" AWS_ALLOW_HTTP=true
      AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
      AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}")
    ;;
  *) die "SLUICE_TANSU_STORAGE=$STORAGE: expected memory://NAME/ or s3://BUCKET/" ;;
  esac
}
(($#)) || usage
case $1 in
install)
  install
  echo "$BIN"
  ;;
installed)
  installed || { log "tansu $VERSION is not installed in $ROOT: it is built only by SLUICE_TANSU=1 ./test.sh or e2e/rig/tansu.sh install"; exit 1; }
  echo "$BIN"
  ;;
start)
  (($# >= 2)) || usage
  mkdir -p "$2"
  sd=$(cd "$2" && pwd)
  if pid_alive "$sd/tansu.pid" && [[ -s $sd/tansu.port ]]; then
    echo "127.0.0.1:$(cat "$sd/tansu.port")"
    exit 0
  fi
  install
  storage
  t0=$(_now_ms)
  for _attempt in 1 2 3; do
    port=${3:-$(free_port)}
    : >"$sd/tansu.log"
    spawn "$sd/tansu.log" "$sd/tansu.pid" env -u CLUSTER_ID -u LISTENER_URL -u ADVERTISED_LISTENER_URL \
      -u STORAGE_ENGINE -u SCHEMA_REGISTRY -u OTEL_EXPORTER_OTLP_ENDPOINT -u DATA_LAKE \
      RUST_LOG="${SLUICE_TANSU_LOG:-warn}" "${storage_env[@]}" \
      "$BIN" broker --cluster-id sluice \
      --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
      --storage-engine "$STORAGE"
    pid=$(cat "$sd/tansu.pid")
    up_or_dead() { ! proc_alive "$pid" || port_open 127.0.0.1 "$port"; }
    if wait_for 30 up_or_dead && proc_alive "$pid"; then
      echo "$port" >"$sd/tansu.port"
      log "tansu ready at 127.0.0.1:$port ($(elapsed_since "$t0"))"
      echo "127.0.0.1:$port"
      exit 0
    fi
    stop_pidfile "$sd/tansu.pid" 5
    if [[ -n ${3:-} ]] || ! grep -qi 'address already in use\|AddrInUse' "$sd/tansu.log"; then break; fi
    log "port $port was taken meanwhile; retrying with another"
  done
  show_log "$sd/tansu.log"
  die "tansu did not start on 127.0.0.1:$port; log: $sd/tansu.log"
  ;;
stop)
  (($# >= 2)) || usage
  [[ -d $2 ]] || exit 0
  stop_pidfile "$2/tansu.pid" 10
  rm -f "$2/tansu.port"
  ;;
*) usage ;;
esac
