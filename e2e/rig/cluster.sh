#!/usr/bin/env bash
# Usage: e2e/rig/cluster.sh up STATEDIR                 -> prints STATEDIR/kubeconfig
#        e2e/rig/cluster.sh down STATEDIR
#        e2e/rig/cluster.sh exec STATEDIR CMD...         (CMD inside the cluster's netns)
#        e2e/rig/cluster.sh import STATEDIR OCI_ARCHIVE  (into containerd's k8s.io namespace)
#        e2e/rig/cluster.sh forward STATEDIR [NS_HOST:]NS_PORT [HOST_PORT] -> prints HOST_PORT
#        e2e/rig/cluster.sh kubeconfig-for-sa STATEDIR NAMESPACE SA -> prints its path
#                                                   (server: the host forward, like kubeconfig.host)
#
# A real single-node Kubernetes v1.20.2 cluster whose pods really run, inside a network
# namespace created here (name sluice-<hash of STATEDIR>, so several can coexist):
# etcd, kube-apiserver (10.200.0.1:443; the `kubernetes` Service IP 10.200.1.1:443 reaches
# it too), kube-controller-manager (all controllers), kube-scheduler, containerd (own
# root/state/socket, loopback-only CNI, local pause image) and a kubelet (node
# `sluice-node`, IP 10.200.0.1). There is no pod network: pods need `hostNetwork: true`
# and then share the namespace (its 127.0.0.1 too) with whatever `exec` started there.
# Images come only from `import` (use imagePullPolicy: Never).
#
# STATEDIR gets: kubeconfig (admin; server https://10.200.0.1:443, usable inside the
# namespace, i.e. under `exec`), kubeconfig.host (admin through a loopback forward
# 127.0.0.1:PORT on the host, for tests running outside the namespace), netns (its name),
# containerd.sock (path of containerd's socket), pki/, *.log and *.pid, and after `down`
# pod-logs/ (the pods' container logs). `down` stops everything (including processes that
# `exec` left running in the namespace), unmounts, deletes the namespace; safe to call twice.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$RIG_DIR/k8s-common.sh"
source "$RIG_DIR/image-common.sh"

NODE=sluice-node
NODE_IP=10.200.0.1
SVC_IP=10.200.1.1
SVC_RANGE=10.200.1.0/24
PAUSE_TAG=localhost/pause:sluice
PAUSE_ARCHIVE="$RIG/images/localhost_pause_sluice.tar"
CTRL_PIDS=(kube-scheduler.pid kube-controller-manager.pid kube-apiserver.pid etcd.pid)

usage() { die "usage: $0 up|down STATEDIR | exec STATEDIR CMD... | import STATEDIR ARCHIVE | forward STATEDIR [HOST:]PORT [HOST_PORT] | kubeconfig-for-sa STATEDIR NAMESPACE SA"; }
(($# >= 2)) || usage
cmd=$1
mkdir -p "$2"
SD=$(cd "$2" && pwd)
shift 2
NS="sluice-$(printf '%s' "$SD" | sha1sum | cut -c1-10)"
RUNDIR="/run/sluice/$NS" # short paths for unix sockets
SOCK="$RUNDIR/containerd.sock"
NS_PREFIX=(nsenter "--net=/run/netns/$NS")
KUBECTL="$RIG/k8s/bin/kubectl"
ctr_() { ctr --address "$SOCK" --namespace k8s.io "$@"; }
netns_exists() { [[ -e /run/netns/$NS ]]; }

# ---------------------------------------------------------------------------
pause_image() {
  local bin=$1 sum
  sum=$(sha256sum "$bin/pause" | cut -c1-16)
  [[ -s $PAUSE_ARCHIVE && $(cat "$PAUSE_ARCHIVE.stamp" 2>/dev/null) == "$sum" ]] && return 0
  rig_lock pause-image
  [[ -s $PAUSE_ARCHIVE && $(cat "$PAUSE_ARCHIVE.stamp" 2>/dev/null) == "$sum" ]] && return 0
  local blog="$PAUSE_ARCHIVE.log" c
  {
    c=$(bah from scratch)
    bah copy "$c" "$bin/pause" /pause
    bah config --entrypoint '["/pause"]' --user 65535:65535 "$c"
    bah commit --rm "$c" "$PAUSE_TAG"
  } >"$blog" 2>&1 || { show_log "$blog"; die "building the pause image failed; log: $blog"; }
  save_archive "$PAUSE_TAG" "$PAUSE_ARCHIVE" "$blog"
  echo "$sum" >"$PAUSE_ARCHIVE.stamp"
}

write_containerd_config() {
  local cfg="$SD/containerd.toml"
  containerd config default >"$cfg.tmp"
  # Each edit must hit exactly the expected line of the 1.6 default config.
  local edits=(
    "s|^root = .*|root = \"$RUNDIR/containerd-root\"|"
    "s|^state = .*|state = \"$RUNDIR/containerd\"|"
    "s|^  address = \"/run/containerd/containerd.sock\"|  address = \"$SOCK\"|"
    "s|^\(\s*\)sandbox_image = .*|\1sandbox_image = \"$PAUSE_TAG\"|"
    "s|^\(\s*\)restrict_oom_score_adj = false|\1restrict_oom_score_adj = true|"
    "s|^\(\s*\)bin_dir = \"/opt/cni/bin\"|\1bin_dir = \"/usr/lib/cni\"|"
    "s|^\(\s*\)conf_dir = \"/etc/cni/net.d\"|\1conf_dir = \"$SD/cni\"|"
    "s|^\(\s*\)path = \"/opt/containerd\"|\1path = \"$SD/containerd/opt\"|"
    "s|^\(\s*\)Root = \"\"|\1Root = \"$RUNDIR/runc\"|"
  )
  local e
  for e in "${edits[@]}"; do
    sed -i "$e" "$cfg.tmp"
  done
  for e in "root = \"$RUNDIR/containerd-root\"" "state = \"$RUNDIR/containerd\"" "address = \"$SOCK\"" \
    "sandbox_image = \"$PAUSE_TAG\"" "restrict_oom_score_adj = true" "bin_dir = \"/usr/lib/cni\"" \
    "conf_dir = \"$SD/cni\"" "path = \"$SD/containerd/opt\"" "Root = \"$RUNDIR/runc\""; do
    grep -qF "$e" "$cfg.tmp" || die "could not set '$e' in containerd's default config (containerd version changed?)"
  done
  mv "$cfg.tmp" "$cfg"
  mkdir -p "$SD/cni"
  cat >"$SD/cni/10-loopback.conflist" <<'EOF'
{"cniVersion": "0.4.0", "name": "loopback", "plugins": [{"type": "loopback"}]}
EOF
}

node_ready() {
  local out
  out=$(in_ns "$KUBECTL" --kubeconfig "$SD/kubeconfig" get node "$NODE" \
    -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status} {.spec.taints}' 2>/dev/null) || return 1
  [[ $out == "True " ]]
}

# forward [NS_HOST:]NS_PORT [HOST_PORT]: socat on host 127.0.0.1:HOST_PORT -> NS_HOST:NS_PORT
# inside the namespace (default NS_HOST 127.0.0.1). Prints HOST_PORT.
forward() {
  local target=$1 hport=${2:-} nshost nsport name
  if [[ $target == *:* ]]; then nshost=${target%:*} nsport=${target##*:}; else nshost=127.0.0.1 nsport=$target; fi
  name="forward-${nshost}-${nsport}"
  if pid_alive "$SD/$name.pid" && [[ -s $SD/$name.port ]]; then cat "$SD/$name.port"; return 0; fi
  need_cmd socat node
  [[ -n $hport ]] || hport=$(free_port)
  printf '#!/bin/sh\nexec nsenter --net=/run/netns/%s socat STDIO TCP:%s:%s\n' "$NS" "$nshost" "$nsport" >"$SD/$name.sh"
  chmod +x "$SD/$name.sh"
  : >"$SD/$name.log"
  spawn "$SD/$name.log" "$SD/$name.pid" socat "TCP-LISTEN:$hport,bind=127.0.0.1,reuseaddr,fork" "EXEC:$SD/$name.sh"
  wait_for_proc 10 "$SD/$name.pid" "socat forward 127.0.0.1:$hport -> $nshost:$nsport" "$SD/$name.log" port_open 127.0.0.1 "$hport"
  echo "$hport" >"$SD/$name.port"
  echo "$hport"
}

# ---------------------------------------------------------------------------
up() {
  local t0 token
  t0=$(_now_ms)
  if netns_exists && pid_alive "$SD/kubelet.pid" && pid_alive "$SD/kube-apiserver.pid" && [[ -s $SD/kubeconfig ]]; then
    echo "$SD/kubeconfig"
    return 0
  fi
  need_root "cluster.sh up"
  k8s_prepare
  images_prepare
  "$RIG_DIR/install-debs.sh" node
  pause_image "$K8S_BIN"
  rig_lock "cluster-$NS"
  down_quiet # leftovers of an earlier, failed run
  trap 'rc=$?; if ((rc)); then log "up failed; tearing down (logs kept in '"$SD"')"; down_quiet; fi' EXIT
  rm -f "$SD"/*.log

  # Everything bulky or write-heavy (containerd's root and state, etcd's data) lives on a
  # tmpfs of its own: fast, and `down` frees it by unmounting (deleting unpacked images on
  # this disk takes seconds).
  mkdir -p "$RUNDIR"
  mount -t tmpfs -o "size=${SLUICE_CLUSTER_TMPFS_SIZE:-12g},mode=0755" "$NS" "$RUNDIR" ||
    die "mounting a tmpfs on $RUNDIR failed"
  # Network namespace: lo, a veth pair (both ends inside) carrying the node IP, and the
  # kubernetes Service IP on lo so in-cluster clients reach the API server without kube-proxy.
  ip netns add "$NS" || die "ip netns add $NS failed"
  ip -n "$NS" link set lo up
  ip -n "$NS" link add v0 type veth peer name v1
  ip -n "$NS" addr add "$NODE_IP/24" dev v0
  ip -n "$NS" link set v0 up
  ip -n "$NS" link set v1 up
  ip -n "$NS" addr add "$SVC_IP/32" dev lo
  echo "$NS" >"$SD/netns"
  echo "$SOCK" >"$SD/containerd.sock"

  vlog "up: prerequisites ready, namespace $NS created"
  # containerd first (independent of the control plane), then the pause image.
  write_containerd_config
  spawn "$SD/containerd.log" "$SD/containerd.pid" "${NS_PREFIX[@]}" containerd --config "$SD/containerd.toml"

  # Certificates, tokens, kubeconfigs.
  make_pki "$SD/pki" "IP:$NODE_IP,IP:$SVC_IP,IP:127.0.0.1,DNS:localhost,DNS:$NODE,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  make_tokens "$SD/tokens.csv" "admin|system:masters" "system:kube-controller-manager|system:masters" \
    "system:kube-scheduler|system:masters" "system:node:$NODE|system:nodes"
  token=$(token_of "$SD/tokens.csv" admin)
  local url="https://$NODE_IP:443"
  write_kubeconfig "$SD/kubeconfig" "$url" "$SD/pki/ca.crt" "$token" admin
  write_kubeconfig "$SD/controller-manager.kubeconfig" "$url" "$SD/pki/ca.crt" "$(token_of "$SD/tokens.csv" system:kube-controller-manager)" system:kube-controller-manager
  write_kubeconfig "$SD/scheduler.kubeconfig" "$url" "$SD/pki/ca.crt" "$(token_of "$SD/tokens.csv" system:kube-scheduler)" system:kube-scheduler
  write_kubeconfig "$SD/kubelet.kubeconfig" "$url" "$SD/pki/ca.crt" "$(token_of "$SD/tokens.csv" "system:node:$NODE")" "system:node:$NODE"

  vlog "up: pki written"
  start_etcd "$SD" 2379 2380 "$RUNDIR/etcd-data"
  wait_for_proc 30 "$SD/etcd.pid" etcd "$SD/etcd.log" etcd_healthy 2379
  start_apiserver "$SD" 2379 \
    --bind-address=0.0.0.0 --secure-port=443 --advertise-address="$NODE_IP" \
    --service-cluster-ip-range="$SVC_RANGE" \
    --authorization-mode=Node,RBAC \
    --kubelet-preferred-address-types=InternalIP

  vlog "up: etcd healthy"
  wait_for_proc 30 "$SD/containerd.pid" containerd "$SD/containerd.log" test -S "$SOCK"
  local imp="$SD/import.log"
  ctr_ images import "$PAUSE_ARCHIVE" >"$imp" 2>&1 || { show_log "$imp"; die "importing the pause image into containerd failed"; }

  vlog "up: pause image imported"
  wait_for_proc 60 "$SD/kube-apiserver.pid" kube-apiserver "$SD/kube-apiserver.log" \
    apiserver_healthy "$url" "$SD/pki/ca.crt" "$token"
  local tapi
  tapi=$(elapsed_since "$t0")
  # A short node-monitor period: the not-ready taint goes as soon as the node is Ready.
  start_controller_manager "$SD" --node-monitor-period=1s
  start_scheduler "$SD"

  mkdir -p "$SD/kubelet"
  spawn "$SD/kubelet.log" "$SD/kubelet.pid" "${NS_PREFIX[@]}" "$K8S_BIN/kubelet" \
    --kubeconfig="$SD/kubelet.kubeconfig" \
    --container-runtime=remote --container-runtime-endpoint="unix://$SOCK" \
    --image-service-endpoint="unix://$SOCK" \
    --cgroup-driver=cgroupfs --cgroups-per-qos=false --enforce-node-allocatable= \
    --fail-swap-on=false --eviction-hard= \
    --image-gc-high-threshold=100 --image-gc-low-threshold=99 \
    --node-ip="$NODE_IP" --address="$NODE_IP" --hostname-override="$NODE" \
    --pod-infra-container-image="$PAUSE_TAG" --read-only-port=0 \
    --root-dir="$SD/kubelet" --cert-dir="$SD/kubelet/pki" \
    --volume-plugin-dir="$SD/kubelet/volume-plugins" \
    --make-iptables-util-chains=false \
    --node-status-update-frequency=1s \
    --cluster-domain=cluster.local \
    --v=1

  vlog "up: kubelet started"
  wait_for_proc 120 "$SD/kubelet.pid" "kubelet (node $NODE Ready and untainted)" "$SD/kubelet.log" node_ready
  wait_for_proc 60 "$SD/kube-controller-manager.pid" "kube-controller-manager (default ServiceAccount token)" \
    "$SD/kube-controller-manager.log" default_sa_ready "$SD/kubeconfig"
  vlog "up: node Ready, default ServiceAccount token minted"
  pid_alive "$SD/kube-scheduler.pid" || { show_log "$SD/kube-scheduler.log"; die "kube-scheduler exited; log: $SD/kube-scheduler.log"; }

  # Admin access from outside the namespace.
  local hport
  hport=$(forward "$NODE_IP:443")
  write_kubeconfig "$SD/kubeconfig.host" "https://127.0.0.1:$hport" "$SD/pki/ca.crt" "$token" admin
  echo "$hport" >"$SD/apiserver.host-port"

  trap - EXIT
  log "cluster up in $(elapsed_since "$t0") (netns $NS; API server healthy at $tapi); kubeconfig: $SD/kubeconfig, from the host: $SD/kubeconfig.host"
  echo "$SD/kubeconfig"
}

# ---------------------------------------------------------------------------
# Mount points below a prefix, deepest first.
mounts_under() {
  local p
  for p in "$@"; do
    awk -v p="$p/" '{ m = $5; gsub(/\\040/, " ", m); if (index(m "/", p) == 1) print m }' /proc/self/mountinfo
  done | sort -r -u
}

down_quiet() {
  local pids

  # Forwards and the kubelet first, so nothing restarts containers.
  stop_pidfiles 10 "$SD"/forward-*.pid "$SD/kubelet.pid"

  vlog "down: kubelet and forwards stopped"
  # Containers: kill and delete through containerd so runc removes their cgroups.
  if pid_alive "$SD/containerd.pid" && [[ -S $SOCK ]]; then
    local ids id
    ids=$(timeout 10 ctr --address "$SOCK" -n k8s.io tasks ls -q 2>/dev/null || true)
    for id in $ids; do timeout 10 ctr --address "$SOCK" -n k8s.io tasks kill -a -s SIGKILL "$id" >/dev/null 2>&1 || true; done
    for id in $ids; do timeout 10 ctr --address "$SOCK" -n k8s.io tasks delete -f "$id" >/dev/null 2>&1 || true; done
    for id in $(timeout 10 ctr --address "$SOCK" -n k8s.io containers ls -q 2>/dev/null || true); do
      timeout 10 ctr --address "$SOCK" -n k8s.io containers rm "$id" >/dev/null 2>&1 || true
    done
  fi
  vlog "down: containers deleted"
  stop_pidfiles 15 "${CTRL_PIDS[@]/#/$SD/}" "$SD/containerd.pid"
  vlog "down: control plane and containerd stopped"

  # Whatever else runs in the namespace (shims, containers, servers started with `exec`).
  if netns_exists; then
    pids=$(ip netns pids "$NS" 2>/dev/null || true)
    if [[ -n $pids ]]; then
      # shellcheck disable=SC2086
      kill -TERM $pids 2>/dev/null || true
      _ns_empty() { local p; for p in $(ip netns pids "$NS" 2>/dev/null); do proc_alive "$p" && return 1; done; return 0; }
      if ! wait_for 10 _ns_empty; then
        # shellcheck disable=SC2086
        # shellcheck disable=SC2046
        kill -KILL $(ip netns pids "$NS" 2>/dev/null) 2>/dev/null || true
        wait_for 5 _ns_empty || log "warning: processes still in netns $NS: $(ip netns pids "$NS" | tr '\n' ' ')"
      fi
    fi
  fi

  vlog "down: namespace empty"
  # Container logs: keep a copy in STATEDIR, remove them from /var/log/pods.
  if [[ -d $SD/kubelet/pods ]]; then
    local uid d
    for uid in "$SD"/kubelet/pods/*; do
      uid=${uid##*/}
      for d in /var/log/pods/*_"$uid"; do
        [[ -d $d ]] || continue
        mkdir -p "$SD/pod-logs"
        cp -rL "$d" "$SD/pod-logs/" 2>/dev/null || true
        rm -rf "$d"
      done
    done
    find /var/log/containers -maxdepth 1 -xtype l -delete 2>/dev/null || true
  fi

  vlog "down: pod logs saved"
  # Mounts made by containerd (rootfs, shm) and the kubelet (volumes).
  local m
  for m in $(mounts_under "$RUNDIR" "$SD"); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "warning: could not unmount $m"
  done
  vlog "down: unmounted"
  if netns_exists; then ip netns delete "$NS" 2>/dev/null || log "warning: ip netns delete $NS failed"; fi
  rmdir "$RUNDIR" 2>/dev/null || rm -rf --one-file-system "$RUNDIR"
  rm -rf --one-file-system "$SD/kubelet"
  rmdir /sys/fs/cgroup/*/k8s.io 2>/dev/null || true # only when empty (no other cluster)
  vlog "down: files removed"
  rmdir /run/sluice 2>/dev/null || true
  rm -f "$SD/kubeconfig" "$SD/kubeconfig.host" "$SD"/kubeconfig-* "$SD/apiserver.host-port" "$SD/netns" \
    "$SD/containerd.sock" "$SD"/forward-*.port "$SD"/forward-*.sh
  vlog "down: unmounted, namespace deleted"
}

down() {
  rig_lock "cluster-$NS"
  local t0
  t0=$(_now_ms)
  down_quiet
  local left
  left=$(mounts_under "$RUNDIR" "$SD")
  [[ -z $left ]] || die "mounts left after down: $left"
  ! netns_exists || die "network namespace $NS still exists after down"
  log "cluster down in $(elapsed_since "$t0")"
}

case $cmd in
up) up ;;
down) down ;;
exec)
  (($#)) || usage
  netns_exists || die "no cluster namespace $NS for $SD (run: $0 up $SD)"
  exec nsenter "--net=/run/netns/$NS" env KUBECONFIG="$SD/kubeconfig" SLUICE_CLUSTER_STATEDIR="$SD" \
    PATH="$RIG/k8s/bin:$PATH" "$@"
  ;;
import)
  (($# == 1)) || usage
  [[ -s $1 ]] || die "archive $1 not found"
  [[ -S $SOCK ]] || die "containerd of $SD is not running (run: $0 up $SD)"
  out=$(ctr_ images import "$1" 2>&1) || { echo "$out" >&2; die "ctr images import $1 failed"; }
  log "imported $(tar -xOf "$1" index.json 2>/dev/null | python3 -c 'import json,sys; print(" ".join(m.get("annotations",{}).get("org.opencontainers.image.ref.name","?") for m in json.load(sys.stdin)["manifests"]))' 2>/dev/null || echo "$1")"
  ;;
kubeconfig-for-sa)
  (($# == 2)) || usage
  [[ -s $SD/apiserver.host-port ]] || die "cluster of $SD is not up (run: $0 up $SD)"
  sa_kubeconfig "$SD" "$SD/kubeconfig" "$1" "$2" "https://127.0.0.1:$(cat "$SD/apiserver.host-port")"
  ;;
forward)
  (($# >= 1)) || usage
  netns_exists || die "no cluster namespace $NS for $SD (run: $0 up $SD)"
  forward "$@"
  ;;
*) usage ;;
esac
