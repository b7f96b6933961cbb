#!/usr/bin/env bash
# Usage: e2e/rig/apiserver.sh start STATEDIR            -> prints STATEDIR/kubeconfig
#        e2e/rig/apiserver.sh stop STATEDIR
#        e2e/rig/apiserver.sh kubeconfig-for-sa STATEDIR NAMESPACE SA -> prints its path
# A fast test control plane on 127.0.0.1 only (no nodes, no kubelet): etcd + kube-apiserver
# v1.20.2 (token auth, RBAC, service-account tokens) + kube-controller-manager (all
# controllers but nodelifecycle: Deployments -> ReplicaSets -> Pending Pods, garbage
# collection, service-account token Secrets). No scheduler: Pods stay Pending.
#
# STATEDIR gets: kubeconfig (admin, cluster-admin), apiserver.port, apiserver.url,
# etcd.port, pki/ca.crt, tokens.csv, *.log and *.pid per process. `start` on a running
# instance prints the kubeconfig again; `start` after `stop` starts a fresh, empty cluster.
# `stop` is safe to call twice.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$RIG_DIR/k8s-common.sh"

PROCS=(kube-controller-manager.pid kube-apiserver.pid etcd.pid)

stop_all() {
  local sd=$1
  stop_pidfiles 15 "${PROCS[@]/#/$sd/}"
  rm -rf "$sd/etcd-data"
  rm -f "$sd/kubeconfig" "$sd/apiserver.port" "$sd/apiserver.url" "$sd/etcd.port"
}

start() {
  local sd=$1 t0 ports eport pport aport url token
  t0=$(_now_ms)
  if pid_alive "$sd/kube-apiserver.pid" && pid_alive "$sd/etcd.pid" && [[ -s $sd/kubeconfig ]]; then
    echo "$sd/kubeconfig"
    return 0
  fi
  k8s_prepare
  stop_all "$sd" # leftovers of a half-started or crashed instance
  rm -f "$sd/kubeconfig" "$sd"/*.log
  trap 'rc=$?; if ((rc)); then log "start failed; stopping what was started (logs kept in '"$sd"')"; stop_all "'"$sd"'"; fi' EXIT

  vlog "binaries ready"
  mapfile -t ports < <(free_ports 3)
  eport=${ports[0]} pport=${ports[1]} aport=${ports[2]}
  url="https://127.0.0.1:$aport"
  make_pki "$sd/pki" "IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  make_tokens "$sd/tokens.csv" "admin|system:masters" "system:kube-controller-manager|system:masters"
  token=$(token_of "$sd/tokens.csv" admin)
  write_kubeconfig "$sd/kubeconfig" "$url" "$sd/pki/ca.crt" "$token" admin
  write_kubeconfig "$sd/controller-manager.kubeconfig" "$url" "$sd/pki/ca.crt" \
    "$(token_of "$sd/tokens.csv" system:kube-controller-manager)" system:kube-controller-manager

  vlog "pki and kubeconfigs written"
  start_etcd "$sd" "$eport" "$pport"
  wait_for_proc 30 "$sd/etcd.pid" etcd "$sd/etcd.log" etcd_healthy "$eport"

  vlog "etcd healthy"
  start_apiserver "$sd" "$eport" \
    --bind-address=127.0.0.1 --secure-port="$aport" --advertise-address=127.0.0.1 \
    --endpoint-reconciler-type=none \
    --service-cluster-ip-range=10.200.1.0/24 \
    --authorization-mode=RBAC
  wait_for_proc 60 "$sd/kube-apiserver.pid" kube-apiserver "$sd/kube-apiserver.log" \
    apiserver_healthy "$url" "$sd/pki/ca.crt" "$token"

  vlog "kube-apiserver healthy"
  start_controller_manager "$sd" --controllers='*,-nodelifecycle'
  wait_for_proc 60 "$sd/kube-controller-manager.pid" "kube-controller-manager (default ServiceAccount token)" \
    "$sd/kube-controller-manager.log" default_sa_ready "$sd/kubeconfig"

  echo "$eport" >"$sd/etcd.port"
  echo "$aport" >"$sd/apiserver.port"
  echo "$url" >"$sd/apiserver.url"
  trap - EXIT
  log "API server v1.20.2 ready at $url in $(elapsed_since "$t0") (kubeconfig: $sd/kubeconfig)"
  echo "$sd/kubeconfig"
}

usage() { die "usage: $0 start STATEDIR | stop STATEDIR | kubeconfig-for-sa STATEDIR NAMESPACE SA"; }
(($# >= 2)) || usage
cmd=$1
mkdir -p "$2"
sd=$(cd "$2" && pwd)
case $cmd in
start) start "$sd" ;;
stop) stop_all "$sd" ;;
kubeconfig-for-sa)
  (($# == 4)) || usage
  [[ -s $sd/kubeconfig && -s $sd/apiserver.url ]] || die "no API server started in $sd (run: $0 start $sd)"
  KUBECTL="$RIG/k8s/bin/kubectl" # used by sa_kubeconfig
  export KUBECTL
  sa_kubeconfig "$sd" "$sd/kubeconfig" "$3" "$4" "$(cat "$sd/apiserver.url")"
  ;;
*) usage ;;
esac
