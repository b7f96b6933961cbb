# shellcheck shell=bash
# Image helpers shared by base-image.sh, build-image.sh and cluster.sh. Source after lib.sh.
# buildah uses its own storage (vfs driver) under $RIG/buildah, not the machine's.
BUILDAH_ROOT="$RIG/buildah/storage"
BUILDAH_RUNROOT="/run/sluice-buildah"
bah() { buildah --root "$BUILDAH_ROOT" --runroot "$BUILDAH_RUNROOT" --storage-driver vfs "$@"; }

images_prepare() {
  "$RIG_DIR/install-debs.sh" node
  mkdir -p "$RIG/images" "$BUILDAH_ROOT"
}

# save_archive TAG ARCHIVE LOG: buildah push TAG to an OCI archive (atomically replaced).
save_archive() {
  local tag=$1 archive=$2 logf=$3
  rm -f "$archive.tmp"
  bah push "$tag" "oci-archive:$archive.tmp:$tag" >>"$logf" 2>&1 ||
    { show_log "$logf"; die "buildah push $tag to $archive failed; log: $logf"; }
  mv -f "$archive.tmp" "$archive"
}

# archive_for TAG: where build-image.sh stores TAG's archive.
archive_for() { echo "$RIG/images/$(echo "$1" | tr '/:' '__').tar"; }

# ensure_in_storage TAG ARCHIVE: make TAG usable in FROM (restores it from its archive
# when the buildah storage was wiped).
ensure_in_storage() {
  local tag=$1 archive=$2
  bah inspect --type image "$tag" >/dev/null 2>&1 && return 0
  [[ -s $archive ]] || return 1
  bah pull "oci-archive:$archive" >/dev/null 2>&1 || die "could not load $archive into buildah storage"
  bah inspect --type image "$tag" >/dev/null 2>&1 || bah tag "$(bah images -q | head -1)" "$tag"
}
