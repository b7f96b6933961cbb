#!/usr/bin/env bash
# Usage: e2e/images.sh [--no-cargo]
#   -> prints, one per line (shell assignments):
#        executor_image=localhost/sluice:e2e
#        executor_archive=$RIG/images/localhost_sluice_e2e.tar
#        operator_image=localhost/sluice-operator:e2e
#        operator_archive=$RIG/images/localhost_sluice-operator_e2e.tar
#
# Builds the two runtime images from the project's Dockerfiles (images/sluice,
# images/sluice-operator) with buildah, without a Docker engine or a registry:
#  1. `cargo build --release` of `sluice` and `sluice-operator` (skip with --no-cargo: the
#     binaries already in the target dir are used; SLUICE_E2E_PROFILE=debug takes the dev
#     profile's binaries instead, as CI does: `cargo test` has just built them);
#  2. each binary is stripped into its own build context ($RIG/images/ctx-NAME);
#  3. `buildah bud --build-arg BASE_IMAGE=localhost/sluice-base:bookworm` (the locally made
#     Debian minbase image of e2e/rig/base-image.sh, standing in for distroless/cc), saved
#     as an OCI archive for `e2e/rig/cluster.sh import`.
# Cached: an image is rebuilt only when its binary, its Dockerfile or the base image changed
# (a stamp beside the archive records their hashes).
source "$(dirname "${BASH_SOURCE[0]}")/rig/lib.sh"
source "$RIG_DIR/image-common.sh"

cargo_build=1
for a in "$@"; do
  case $a in
  --no-cargo) cargo_build=0 ;;
  *) die "usage: $0 [--no-cargo]" ;;
  esac
done
TARGET_DIR=${CARGO_TARGET_DIR:-$REPO_ROOT/target}
PROFILE=${SLUICE_E2E_PROFILE:-release}
case $PROFILE in
release) profile_args=(--release) ;;
debug) profile_args=() ;;
*) die "SLUICE_E2E_PROFILE must be release or debug, not '$PROFILE'" ;;
esac
TAG=${SLUICE_IMAGE_TAG:-e2e}
BASE=localhost/sluice-base:bookworm

if ((cargo_build)); then
  log "cargo build ${profile_args[*]} (sluice, sluice-operator)"
  (cd "$REPO_ROOT" && cargo build "${profile_args[@]}" --quiet -p sluice-executor --bin sluice -p sluice-operator --bin sluice-operator) ||
    die "cargo build ${profile_args[*]} failed (see above)"
fi
base_archive=$("$RIG_DIR/base-image.sh")

# build_one NAME: prints the archive path.
build_one() {
  local name=$1 bin df ctx tag archive key
  bin="$TARGET_DIR/$PROFILE/$name"
  df="$REPO_ROOT/images/$name/Dockerfile"
  [[ -x $bin ]] || die "$bin not found: build it with cargo build ${profile_args[*]}, or run without --no-cargo"
  [[ -f $df ]] || die "$df not found"
  tag="localhost/$name:$TAG"
  archive=$(archive_for "$tag")
  key="$(sha256sum "$bin" "$df" "$base_archive.stamp" | sha256sum | cut -c1-32)"
  if [[ -s $archive && $(cat "$archive.stamp" 2>/dev/null) == "$key" ]]; then
    log "$tag is up to date ($archive)"
    echo "$archive"
    return 0
  fi
  ctx="$RIG/images/ctx-$name"
  rm -rf "$ctx"
  mkdir -p "$ctx"
  strip -o "$ctx/$name" "$bin" || die "strip $bin failed"
  log "building $tag ($(du -h "$ctx/$name" | cut -f1) stripped binary)"
  "$RIG_DIR/build-image.sh" "$df" "$ctx" "$tag" --build-arg "BASE_IMAGE=$BASE" >/dev/null
  rm -rf "$ctx"
  local user
  user=$(bah inspect --type image --format '{{.OCIv1.Config.User}}' "$tag")
  [[ $user == 65532:65532 ]] || die "$tag runs as '$user', not 65532:65532"
  # The archive is what is used from now on: free the image's copy in buildah's vfs storage
  # (a full copy of every layer) and older builds' dangling layers.
  bah rmi "$tag" >/dev/null 2>&1 || true
  bah rmi --prune >/dev/null 2>&1 || true
  echo "$key" >"$archive.stamp"
  echo "$archive"
}

exe_archive=$(build_one sluice)
op_archive=$(build_one sluice-operator)
echo "executor_image=localhost/sluice:$TAG"
echo "executor_archive=$exe_archive"
echo "operator_image=localhost/sluice-operator:$TAG"
echo "operator_archive=$op_archive"
