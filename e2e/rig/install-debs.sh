#!/usr/bin/env bash
# Usage: e2e/rig/install-debs.sh GROUP...
# Installs the Debian packages of each GROUP that are not installed yet (apt-get update
# only when needed). Groups:
#   build  C toolchain and libraries for rdkafka (ssl, zstd) and librdkafka's configure
#   kafka  kcat
#   k8s    etcd, openssl, curl and what building Kubernetes from Debian's source needs
#   node   containerd, runc, buildah, CNI plugins, iproute2, debootstrap, nsenter, socat
#   perf   hyperfine, valgrind
#   all    every group
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

declare -A GROUPS_=(
  [build]="pkg-config libssl-dev zlib1g-dev libzstd-dev make gcc g++ libc6-dev perl rsync"
  [kafka]="kcat"
  [k8s]="etcd-server etcd-client openssl curl rsync make gcc libc6-dev dpkg-dev procps util-linux"
  [node]="containerd runc buildah containernetworking-plugins iproute2 debootstrap util-linux mount procps socat"
  [perf]="hyperfine valgrind"
)

(($#)) || die "usage: $0 GROUP... (groups: ${!GROUPS_[*]} all)"
pkgs=()
for g in "$@"; do
  if [[ $g == all ]]; then
    for k in "${!GROUPS_[@]}"; do read -ra a <<<"${GROUPS_[$k]}"; pkgs+=("${a[@]}"); done
    continue
  fi
  [[ -n ${GROUPS_[$g]:-} ]] || die "unknown group '$g' (groups: ${!GROUPS_[*]} all)"
  read -ra a <<<"${GROUPS_[$g]}"
  pkgs+=("${a[@]}")
done
mapfile -t pkgs < <(printf '%s\n' "${pkgs[@]}" | sort -u)
apt_install "${pkgs[@]}"
