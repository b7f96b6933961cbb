#!/usr/bin/env bash
# Usage: e2e/rig/kubernetes-build.sh
# Builds Kubernetes v1.20.2 (kube-apiserver, kube-controller-manager, kube-scheduler,
# kubelet, kubectl) from Debian bookworm's `kubernetes` source package with Go 1.15 from
# Debian bullseye, plus a static `pause` binary from the same tree. Cached in
# $RIG/k8s/bin (≈ 6-8 min on 2 cores the first time); prints that path.
# Env: SLUICE_K8S_KEEP_BUILD=1 keeps the source tree and Go cache after a build.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

K8S="$RIG/k8s"
BIN="$K8S/bin"
RECIPE="k8s-1.20.2-go1.15-r1"
TOOLS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl)

built() { [[ -f $BIN/.complete && $(cat "$BIN/.complete") == "$RECIPE" ]]; }
if built; then echo "$BIN"; exit 0; fi
rig_lock k8s-build
if built; then echo "$BIN"; exit 0; fi

start=$(_now_ms)
"$RIG_DIR/install-debs.sh" k8s

mkdir -p "$K8S/src" "$K8S/go-debs"
buildlog="$K8S/build.log"
: >"$buildlog"
log "building Kubernetes v1.20.2 (log: $buildlog)"

# 1+2. Downloads through apt (holding the apt lock only for them).
(
  rig_lock apt
  apt_enable_extra_sources
  apt_update_if_needed
  # Source package (bookworm).
  if ! compgen -G "$K8S/src/kubernetes_*.dsc" >/dev/null; then
    log "downloading Debian source package 'kubernetes'"
    (cd "$K8S/src" && apt-get source --download-only kubernetes) >>"$buildlog" 2>&1 ||
      { show_log "$buildlog"; die "apt-get source kubernetes failed; is deb-src enabled in $APT_RIG_SOURCES?"; }
  fi
  # Go 1.15 (bullseye), unpacked privately.
  GOROOT="$K8S/go/usr/lib/go-1.15"
  if [[ ! -x $GOROOT/bin/go || ! -d $GOROOT/src/runtime ]]; then
    log "fetching golang-1.15-go and golang-1.15-src from bullseye"
    rm -rf "$K8S/go" "$K8S/go-debs"/*.deb
    (cd "$K8S/go-debs" && apt-get download golang-1.15-go golang-1.15-src) >>"$buildlog" 2>&1 ||
      { show_log "$buildlog"; die "apt-get download golang-1.15-go golang-1.15-src failed; is bullseye enabled in $APT_RIG_SOURCES?"; }
    for d in "$K8S/go-debs"/*.deb; do dpkg -x "$d" "$K8S/go"; done
  fi
)
GOROOT="$K8S/go/usr/lib/go-1.15"
[[ -x $GOROOT/bin/go ]] || die "Go 1.15 not found at $GOROOT after unpacking"

# 3. Unpack the tree (fresh each build, the source package applies Debian's patches).
dscs=("$K8S/src"/kubernetes_*.dsc)
dsc=${dscs[0]}
rm -rf "$K8S/build"
mkdir -p "$K8S/build/gopath/src/k8s.io"
log "unpacking $(basename "$dsc")"
dpkg-source --no-check -x "$dsc" "$K8S/build/kubernetes" >>"$buildlog" 2>&1 ||
  { show_log "$buildlog"; die "dpkg-source -x $dsc failed"; }
ln -s "$K8S/build/kubernetes" "$K8S/build/gopath/src/k8s.io/kubernetes"

# 4. Build.
log "compiling (CGO_ENABLED=0, Go $("$GOROOT/bin/go" version | awk '{print $3}'))"
(
    cd "$K8S/build/gopath/src/k8s.io/kubernetes"
    export GOROOT GOPATH="$K8S/build/gopath" GOCACHE="$K8S/build/gocache" GO111MODULE=off
    export PATH="$GOROOT/bin:$PATH" CGO_ENABLED=0 GOFLAGS="" GOTOOLCHAIN=local
    export KUBE_GIT_VERSION=v1.20.2 KUBE_GIT_MAJOR=1 KUBE_GIT_MINOR=20 KUBE_GIT_TREE_STATE=clean
    export KUBE_GIT_COMMIT=faecb196815e248d3ecfb03c680a4507229c2a56
    make WHAT="cmd/kube-apiserver cmd/kube-controller-manager cmd/kube-scheduler cmd/kubelet cmd/kubectl"
  ) >>"$buildlog" 2>&1 || { show_log "$buildlog" 40; die "Kubernetes build failed; full log: $buildlog"; }

  # 5. Collect binaries and build pause.
  mkdir -p "$BIN.tmp"
  for t in "${TOOLS[@]}"; do
    f=$(find "$K8S/build/kubernetes/_output" -type f -name "$t" -perm -u+x | head -1)
    [[ -n $f ]] || die "built tree has no $t binary; log: $buildlog"
    cp "$f" "$BIN.tmp/$t"
  done
  gcc -Os -static -DVERSION=v1.20.2-sluice -o "$BIN.tmp/pause" "$K8S/build/kubernetes/build/pause/linux/pause.c" >>"$buildlog" 2>&1 ||
    { show_log "$buildlog"; die "building pause failed (needs gcc and libc6-dev)"; }
  echo "$RECIPE" >"$BIN.tmp/.complete"
  rm -rf "$BIN"
  mv "$BIN.tmp" "$BIN"
  [[ ${SLUICE_K8S_KEEP_BUILD:-0} == 1 ]] || rm -rf "$K8S/build"
  log "built Kubernetes v1.20.2 in $(elapsed_since "$start") -> $BIN"
  echo "$BIN"
