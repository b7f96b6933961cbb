#!/usr/bin/env bash
# Usage: e2e/rig/build-image.sh DOCKERFILE_OR_DIR CONTEXT TAG [--build-arg K=V]...
#        -> prints the OCI archive path ($RIG/images/<TAG with / and : as _>.tar)
# Builds an image without a Docker engine: buildah bud (vfs storage under $RIG/buildah,
# chroot isolation, never pulls: FROM must be scratch, localhost/sluice-base:bookworm
# (made on demand by base-image.sh) or another image built here), then saves it as an OCI
# archive for `cluster.sh import`. Build log: the archive path + .log.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$RIG_DIR/image-common.sh"

(($# >= 3)) || die "usage: $0 DOCKERFILE_OR_DIR CONTEXT TAG [--build-arg K=V]..."
df=$1 ctx=$2 tag=$3
shift 3
if [[ -d $df ]]; then
  if [[ -f $df/Dockerfile ]]; then df=$df/Dockerfile; elif [[ -f $df/Containerfile ]]; then df=$df/Containerfile; else
    die "no Dockerfile or Containerfile in $df"
  fi
fi
[[ -f $df ]] || die "Dockerfile $df not found"
[[ -d $ctx ]] || die "build context $ctx is not a directory"
extra=()
while (($#)); do
  case $1 in
  --build-arg) (($# >= 2)) || die "--build-arg needs K=V"; extra+=(--build-arg "$2"); shift 2 ;;
  --build-arg=*) extra+=(--build-arg "${1#--build-arg=}"); shift ;;
  *) die "unknown option $1 (only --build-arg K=V is supported)" ;;
  esac
done

images_prepare
archive=$(archive_for "$tag")
blog="$archive.log"
if grep -q 'sluice-base' "$df" || [[ " ${extra[*]} " == *sluice-base* ]]; then
  base=$("$RIG_DIR/base-image.sh")
  ensure_in_storage localhost/sluice-base:bookworm "$base"
fi
rig_lock "image-$(basename "$archive" .tar)"
t0=$(_now_ms)
: >"$blog"
if ! BUILDAH_ISOLATION=chroot bah bud --pull-never --isolation chroot --network host -f "$df" -t "$tag" "${extra[@]}" "$ctx" >>"$blog" 2>&1; then
  show_log "$blog"
  die "buildah bud of $tag from $df failed; log: $blog"
fi
save_archive "$tag" "$archive" "$blog"
log "built $tag in $(elapsed_since "$t0") -> $archive"
echo "$archive"
