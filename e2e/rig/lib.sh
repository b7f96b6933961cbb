# shellcheck shell=bash
# Shared helpers for the e2e rig scripts. Source it; do not run it.
#
#   RIG        cache folder (outside the checkout), reused across clones and CI runs:
#              ${SLUICE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice}
#   RIG_DIR    folder of these scripts
#   REPO_ROOT  the checkout
#
# Conventions: stdout carries only the script's result (a path, a URL); everything
# else goes to stderr. Processes started by the scripts log to files in a state dir.
set -euo pipefail

RIG="${SLUICE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice}"
RIG_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck disable=SC2034 # for callers
REPO_ROOT="$(cd "$RIG_DIR/../.." && pwd)"
RIG_NAME="${RIG_NAME:-$(basename "$0" .sh)}"
mkdir -p "$RIG/locks"
export RIG

log() { printf '[%s] %s\n' "$RIG_NAME" "$*" >&2; }
# vlog: only with SLUICE_RIG_VERBOSE=1, prefixed with the time since the script started.
RIG_T0=${EPOCHREALTIME/./}
vlog() {
  [[ ${SLUICE_RIG_VERBOSE:-0} == 1 ]] || return 0
  local t=${EPOCHREALTIME/./}
  t=$(((t - RIG_T0) / 1000))
  printf '[%s +%d.%03ds] %s\n' "$RIG_NAME" $((t / 1000)) $((t % 1000)) "$*" >&2
}
die() {
  printf '[%s] ERROR: %s\n' "$RIG_NAME" "$*" >&2
  exit 1
}
# Print the last lines of a log file to stderr (for error reports).
show_log() {
  local f=$1 n=${2:-30}
  if [[ -s $f ]]; then
    printf '[%s] --- last %s lines of %s ---\n' "$RIG_NAME" "$n" "$f" >&2
    tail -n "$n" "$f" >&2
    printf '[%s] ---\n' "$RIG_NAME" >&2
  fi
}
need_root() { [[ $(id -u) == 0 ]] || die "must run as root (${1:-this step} needs it)"; }

# ---------------------------------------------------------------------------
# Locks: rig_lock NAME holds $RIG/locks/NAME.lock until the script exits, so two
# concurrent callers do not both build the same thing. Daemons started through
# spawn() do not inherit the lock.
RIG_LOCK_FDS=()
rig_lock() {
  local name=$1 fd
  exec {fd}>"$RIG/locks/$name.lock"
  if ! flock -n "$fd"; then
    log "waiting for lock $RIG/locks/$name.lock (another rig script is building/starting $name)"
    flock -w "${SLUICE_RIG_LOCK_TIMEOUT:-3600}" "$fd" || die "timed out waiting for lock $RIG/locks/$name.lock"
  fi
  RIG_LOCK_FDS+=("$fd")
}

# spawn LOGFILE PIDFILE CMD... : start CMD as a daemon in its own session, stdin from
# /dev/null, stdout+stderr to LOGFILE, no lock fds inherited; writes its pid to PIDFILE.
spawn() {
  local logf=$1 pidf=$2
  shift 2
  (
    for fd in "${RIG_LOCK_FDS[@]}"; do eval "exec $fd>&-"; done
    exec setsid "$@" </dev/null >>"$logf" 2>&1
  ) &
  echo $! >"$pidf"
}

# ---------------------------------------------------------------------------
# Polling. wait_for TIMEOUT_SECONDS CMD... : run CMD every 0.2 s until it succeeds;
# returns 1 when the deadline passes. Never sleep blindly for a condition.
_now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
wait_for() {
  local timeout=$1
  shift
  local deadline=$(($(_now_ms) + timeout * 1000))
  until "$@" >/dev/null 2>&1; do
    (($(_now_ms) < deadline)) || return 1
    sleep 0.2
  done
}
# wait_for_proc TIMEOUT PIDFILE WHAT LOGFILE CMD... : like wait_for, but fails at once
# (with the log tail) when the process in PIDFILE dies, and dies with a clear message.
wait_for_proc() {
  local timeout=$1 pidf=$2 what=$3 logf=$4
  shift 4
  local pid deadline=$(($(_now_ms) + timeout * 1000))
  pid=$(cat "$pidf")
  until "$@" >/dev/null 2>&1; do
    if ! proc_alive "$pid"; then
      show_log "$logf"
      die "$what (pid $pid) exited before it became ready; full log: $logf"
    fi
    if (($(_now_ms) >= deadline)); then
      show_log "$logf"
      die "$what did not become ready within ${timeout}s; log: $logf"
    fi
    sleep 0.2
  done
}

# Seconds since EPOCH with millisecond precision, for timing summaries.
elapsed_since() { # elapsed_since START_MS -> "1.23s"
  local d=$(($(_now_ms) - $1))
  printf '%d.%02ds' $((d / 1000)) $((d % 1000 / 10))
}

# ---------------------------------------------------------------------------
# Processes recorded in pid files.
# proc_alive PID: running and not a zombie (PID 1 here may reap orphans only every few
# seconds, and kill -0 succeeds on a zombie).
proc_alive() {
  local st
  kill -0 "$1" 2>/dev/null || return 1
  st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  st=${st##*) }
  [[ ${st%% *} != Z ]]
}
pid_alive() { [[ -s $1 ]] && proc_alive "$(cat "$1")"; }
# stop_pidfile PIDFILE [TIMEOUT]: TERM the process (and its session/group), wait, KILL.
# Safe when the file or process is gone.
stop_pidfile() {
  local pidf=$1 timeout=${2:-10} pid
  [[ -s $pidf ]] || { rm -f "$pidf"; return 0; }
  pid=$(cat "$pidf")
  if proc_alive "$pid"; then
    # spawn() runs daemons with setsid, so the pid is also the process group id.
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    _dead() { ! proc_alive "$pid"; }
    if ! wait_for "$timeout" _dead; then
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
      wait_for 5 _dead || log "warning: pid $pid survived SIGKILL"
    fi
  fi
  rm -f "$pidf"
}

# stop_pidfiles TIMEOUT PIDFILE...: stop_pidfile for many processes at once (TERM all,
# wait for all up to TIMEOUT, then KILL the rest).
stop_pidfiles() {
  local timeout=$1 f pids=()
  shift
  for f in "$@"; do
    if pid_alive "$f"; then
      pids+=("$(cat "$f")")
      kill -TERM -- "-$(cat "$f")" 2>/dev/null || kill -TERM "$(cat "$f")" 2>/dev/null || true
    fi
  done
  _all_dead() { local p; for p in "${pids[@]}"; do proc_alive "$p" && return 1; done; return 0; }
  if ((${#pids[@]})) && ! wait_for "$timeout" _all_dead; then
    for p in "${pids[@]}"; do kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null || true; done
    wait_for 5 _all_dead || log "warning: some of pids ${pids[*]} survived SIGKILL"
  fi
  rm -f "$@"
}

# ---------------------------------------------------------------------------
# Ports.
# free_port: an unused TCP port on 127.0.0.1 (the kernel picks it).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null && return 0
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 30000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
  done
  die "could not find a free port"
}
# port_open HOST PORT: something accepts TCP connections there.
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# ---------------------------------------------------------------------------
# Debian packages.
APT_SOURCES=/etc/apt/sources.list.d/debian.sources
APT_RIG_SOURCES=/etc/apt/sources.list.d/sluice-rig.sources
APT_NEEDS_UPDATE=0
APT_GET=(apt-get -y -q -o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0)

# The machine's main Debian archive entry (the stanza whose Suites include "bookworm"),
# printed as deb822 text.
_apt_main_stanza() {
  [[ -r $APT_SOURCES ]] || die "$APT_SOURCES not found: cannot derive extra apt sources (expected a deb822 entry for bookworm)"
  awk 'BEGIN{RS=""; ORS="\n\n"} /(^|\n)Suites:[^\n]*(^|[ \t])bookworm([ \t]|\n|$)/ {print; exit}' "$APT_SOURCES"
}
# The mirror URI of that entry (for debootstrap).
apt_mirror() {
  _apt_main_stanza | awk '$1=="URIs:" {print $2; exit}'
}
# Enable deb-src for bookworm and a bullseye (binary) suite by copying the machine's own
# entry, changing only Types:/Suites:. Bullseye is pinned low so it never replaces
# bookworm packages.
apt_enable_extra_sources() {
  need_root "enabling apt sources"
  local stanza want
  stanza=$(_apt_main_stanza)
  [[ -n $stanza ]] || die "no bookworm entry in $APT_SOURCES"
  want=$(
    echo "# Written by sluice e2e/rig: copies of the entry in $APT_SOURCES with other Types/Suites."
    echo
    printf '%s\n' "$stanza" | sed -E 's/^Types:.*/Types: deb-src/; s/^Suites:.*/Suites: bookworm/'
    echo
    printf '%s\n' "$stanza" | sed -E 's/^Types:.*/Types: deb/; s/^Suites:.*/Suites: bullseye/'
  )
  if [[ ! -f $APT_RIG_SOURCES ]] || [[ $(cat "$APT_RIG_SOURCES") != "$want" ]]; then
    printf '%s\n' "$want" >"$APT_RIG_SOURCES"
    printf 'Package: *\nPin: release n=bullseye\nPin-Priority: 50\n' >/etc/apt/preferences.d/sluice-rig-bullseye
    APT_NEEDS_UPDATE=1
  fi
  # Lists never fetched for the extra suites (e.g. written by an earlier run that failed).
  compgen -G '/var/lib/apt/lists/*_dists_bullseye_InRelease' >/dev/null || APT_NEEDS_UPDATE=1
  compgen -G '/var/lib/apt/lists/*_dists_bookworm_main_source_Sources*' >/dev/null || APT_NEEDS_UPDATE=1
}
apt_update() {
  log "apt-get update"
  local out
  out=$(mktemp)
  if ! "${APT_GET[@]}" update >"$out" 2>&1; then
    cat "$out" >&2
    rm -f "$out"
    die "apt-get update failed (see above); check network access to the Debian mirror in $APT_SOURCES"
  fi
  rm -f "$out"
  APT_NEEDS_UPDATE=0
}
apt_update_if_needed() { if ((APT_NEEDS_UPDATE)); then apt_update; fi; }
deb_installed() { [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]; }
# apt_install PKG... : install those not yet installed (no recommends); apt-get update
# only when a package has no candidate, the extra sources are new, or install fails.
apt_install() {
  local missing=() p
  for p in "$@"; do deb_installed "$p" || missing+=("$p"); done
  ((${#missing[@]})) || return 0
  need_root "installing ${missing[*]}"
  rig_lock apt
  # Re-check under the lock (a concurrent caller may have installed them).
  local m2=()
  for p in "${missing[@]}"; do deb_installed "$p" || m2+=("$p"); done
  ((${#m2[@]})) || return 0
  for p in "${m2[@]}"; do
    if ! apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [^(]'; then APT_NEEDS_UPDATE=1; fi
  done
  apt_update_if_needed
  log "installing Debian packages: ${m2[*]}"
  local out
  out=$(mktemp)
  if ! DEBIAN_FRONTEND=noninteractive "${APT_GET[@]}" install --no-install-recommends "${m2[@]}" >"$out" 2>&1; then
    log "apt-get install failed; refreshing package lists and retrying once"
    apt_update
    if ! DEBIAN_FRONTEND=noninteractive "${APT_GET[@]}" install --no-install-recommends "${m2[@]}" >"$out" 2>&1; then
      tail -n 40 "$out" >&2
      rm -f "$out"
      die "apt-get install ${m2[*]} failed (see above)"
    fi
  fi
  rm -f "$out"
}

# Check a command exists, with an install hint.
need_cmd() {
  command -v "$1" >/dev/null 2>&1 || die "'$1' not found; run: e2e/rig/install-debs.sh ${2:-<group>}"
}
