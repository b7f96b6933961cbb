#!/usr/bin/env bash
# Usage: e2e/rig/cargo-tools.sh
# Ensures the cargo subcommands the tests use, built once from crates.io into $RIG/cargo-tools
# (≈ 3 min on a new 2-core machine): cargo-machete, which finds dependencies a crate declares
# and never uses. Prints the bin directory. Versions are pinned here.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROOT="$RIG/cargo-tools"
MACHETE_VERSION=0.9.2
BIN="$ROOT/bin/cargo-machete"

ok() { [[ -x $BIN ]] && [[ $("$BIN" --version 2>/dev/null) == *"$MACHETE_VERSION"* ]]; }
if ! ok; then
  rig_lock cargo-tools
  if ! ok; then
    out="$RIG/cargo-tools-install.log"
    start=$(_now_ms)
    cargo install --locked --quiet --root "$ROOT" --version "$MACHETE_VERSION" cargo-machete >"$out" 2>&1 ||
      { show_log "$out"; die "cargo install cargo-machete $MACHETE_VERSION failed (needs crates.io); log: $out"; }
    ok || die "$BIN does not report version $MACHETE_VERSION after install; log: $out"
    log "cargo-machete $MACHETE_VERSION ready in $ROOT ($(elapsed_since "$start"))"
  fi
fi
echo "$ROOT/bin"
