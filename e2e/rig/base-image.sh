#!/usr/bin/env bash
# Usage: e2e/rig/base-image.sh   -> prints the OCI archive path
# A base image for dynamically linked (glibc) binaries, like distroless/cc: Debian bookworm
# `debootstrap --variant=minbase` (+ ca-certificates, a `nonroot` user 65532) from the
# machine's own apt mirror, committed with buildah as localhost/sluice-base:bookworm and
# saved as $RIG/images/sluice-base-bookworm.tar (≈ 1 min the first time, then cached).
# Use it with build-image.sh: FROM localhost/sluice-base:bookworm, or
# --build-arg BASE_IMAGE=localhost/sluice-base:bookworm.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$RIG_DIR/image-common.sh"

TAG=localhost/sluice-base:bookworm
ARCHIVE="$RIG/images/sluice-base-bookworm.tar"
RECIPE="minbase+ca-certificates+nonroot r1"

done_() { [[ -s $ARCHIVE && -f $ARCHIVE.stamp && $(cat "$ARCHIVE.stamp") == "$RECIPE" ]]; }
if done_; then echo "$ARCHIVE"; exit 0; fi
images_prepare
rig_lock base-image
if done_; then echo "$ARCHIVE"; exit 0; fi

t0=$(_now_ms)
mirror=$(apt_mirror)
[[ -n $mirror ]] || die "could not read the Debian mirror (URIs:) from $APT_SOURCES"
root="$RIG/images/rootfs-bookworm"
blog="$RIG/images/base-image.log"
rm -rf "$root"
mkdir -p "$root"
log "debootstrap --variant=minbase bookworm (log: $blog)"
if ! debootstrap --variant=minbase --include=ca-certificates bookworm "$root" "$mirror" >"$blog" 2>&1; then
  show_log "$blog"
  die "debootstrap failed; log: $blog"
fi
# Trim caches; add the distroless-style nonroot user.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/*.log
grep -q '^nonroot:' "$root/etc/passwd" || echo 'nonroot:x:65532:65532:nonroot:/home/nonroot:/usr/sbin/nologin' >>"$root/etc/passwd"
grep -q '^nonroot:' "$root/etc/group" || echo 'nonroot:x:65532:' >>"$root/etc/group"
install -d -o 65532 -g 65532 "$root/home/nonroot"

{
  c=$(bah from scratch)
  bah copy "$c" "$root" /
  bah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt --cmd /bin/bash "$c"
  bah commit --rm "$c" "$TAG"
} >>"$blog" 2>&1 || { show_log "$blog"; die "buildah commit of $TAG failed; log: $blog"; }
save_archive "$TAG" "$ARCHIVE" "$blog"
echo "$RECIPE" >"$ARCHIVE.stamp"
rm -rf "$root"
log "built $TAG in $(elapsed_since "$t0") -> $ARCHIVE ($(du -h "$ARCHIVE" | cut -f1))"
echo "$ARCHIVE"
