#!/usr/bin/env bash
# Usage: e2e/rig/moto.sh start STATEDIR [PORT]   -> prints http://127.0.0.1:PORT
#        e2e/rig/moto.sh stop STATEDIR
# An S3 (and other AWS) mock: moto_server on 127.0.0.1 (a free port unless PORT is given).
# Writes STATEDIR/moto.port, STATEDIR/moto.pid, logs to STATEDIR/moto.log. Path-style S3,
# any access key/secret, region e.g. us-east-1. `start` on a running instance just prints
# its URL; `stop` is safe to call twice. Run it under `cluster.sh exec` to serve inside a
# cluster's network namespace.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { die "usage: $0 start STATEDIR [PORT] | stop STATEDIR"; }
(($# >= 2)) || usage
cmd=$1 sd=$2
mkdir -p "$sd"
sd=$(cd "$sd" && pwd)
case $cmd in
start)
  if pid_alive "$sd/moto.pid" && [[ -s $sd/moto.port ]]; then
    echo "http://127.0.0.1:$(cat "$sd/moto.port")"
    exit 0
  fi
  "$RIG_DIR/python-tools.sh"
  start=$(_now_ms)
  for _attempt in 1 2 3; do
    port=${3:-$(free_port)}
    : >"$sd/moto.log"
    spawn "$sd/moto.log" "$sd/moto.pid" "$RIG/venv/bin/moto_server" -H 127.0.0.1 -p "$port"
    pid=$(cat "$sd/moto.pid")
    # Ready when it accepts connections; stop polling early if it died.
    up_or_dead() { ! proc_alive "$pid" || port_open 127.0.0.1 "$port"; }
    if wait_for 30 up_or_dead; then
      if proc_alive "$pid"; then
        echo "$port" >"$sd/moto.port"
        log "moto_server ready at http://127.0.0.1:$port ($(elapsed_since "$start"))"
        echo "http://127.0.0.1:$port"
        exit 0
      fi
    fi
    stop_pidfile "$sd/moto.pid" 5
    # A port given by the caller, or a failure other than a lost port race: no retry.
    if [[ -n ${3:-} ]] || ! grep -qi 'address already in use' "$sd/moto.log"; then break; fi
    log "port $port was taken meanwhile; retrying with another"
  done
  show_log "$sd/moto.log"
  die "moto_server did not start on 127.0.0.1:$port; log: $sd/moto.log"
  ;;
stop)
  stop_pidfile "$sd/moto.pid" 10
  rm -f "$sd/moto.port"
  ;;
*) usage ;;
esac
