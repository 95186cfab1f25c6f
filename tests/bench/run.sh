#!/bin/bash
# tests/bench/run.sh [-n N] [--skiff PATH] [--image LAYOUT] [--user USER] [--settle S]
#
# Benchmark, not a test: `skiff run IMAGE true` with the image already in
# the store, side by side with what the issue compares it to, N runs each
# (default 30); prints the median and p90 in ms, the ratios, and skiff's
# peak RSS during a run (GNU time's %M).
#
#   skiff-run     skiff run -q --store S localhost/busybox true
#   skiff-oci     skiff oci run over a prepared bundle (the same layers)
#   crun          crun run over that bundle (root only: crun 1.8 refuses the
#                 build hosts' hybrid cgroup layout, so it runs in a private
#                 mount namespace without /sys/fs/cgroup/unified, as
#                 start.sh does; its rootless rows are start.sh's)
#   ch-run        ch-run on an unpacked copy (rootless)
#   podman        podman run --rm --network none (rootless, its own
#                 overlay store; the image imported from the layout once).
#                 Podman runs crun, which refuses the hybrid layout: its
#                 runs, the import included (so that its pause process and
#                 the namespaces it keeps are made there), happen in a
#                 private mount namespace without /sys/fs/cgroup/unified,
#                 as crun's.  Its storage.conf (in the bench's home) asks
#                 for the kernel's overlay driver: with none, Podman 4.3
#                 falls back to vfs, which copies the rootfs on every run.
#
# skiff-run-rootless: with /etc/subuid ranges the first of the untimed
# runs leaves the holder of the user namespace later runs join (skiff(1),
# RUN), as Podman's import leaves its pause process; the cleanup ends it.
#
# Every run of every row but ch-run's makes files and directories on the
# disk and removes them.  ext4 without a journal (these VMs' root) does not
# reuse a recently freed inode (up to 5 minutes while its inode table
# block is dirty, 5 s once it is written back, which takes up to 30 s):
# it looks past each such inode when it allocates one, so a row timed
# right after another row's runs pays for that row's files too.  Each row
# therefore starts S seconds (--settle, default 31) after the previous one
# ended.
#
# Rows whose tool is missing are left out with a note.  Run as root: the
# root rows as root, the rootless rows as USER (default skiff-test), each
# row's runs in one runuser session (its set-up, shown as the
# runuser-session row, would otherwise be counted in every run of every
# rootless tool alike).

if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
export LC_ALL=C

prog=tests/bench/run.sh
die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
builddir=${SKIFF_BUILDDIR:-$srcdir}
runs=30
settle=31
skiff=${SKIFF:-$builddir/skiff}
image=${SKIFF_IMAGE:-$builddir/images/busybox}
user=${SKIFF_TEST_USER:-skiff-test}
while [ $# -gt 0 ]; do
  case $1 in
    -n) runs=$2; shift 2 ;;
    --skiff) skiff=$2; shift 2 ;;
    --image) image=$2; shift 2 ;;
    --user) user=$2; shift 2 ;;
    --settle) settle=$2; shift 2 ;;
    *) die "unknown argument $1" ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "-n wants a positive number"
[[ $settle =~ ^[0-9]+$ ]] || die "--settle wants seconds"
# settle: the wait before a row (see above).
settle() { sleep "$settle"; }
[ "$(id -u)" -eq 0 ] || die "run it as root (the rootless rows run as --user)"
[ -x "$skiff" ] && [ -f "$image/index.json" ] || die "build first (make)"
id "$user" >/dev/null 2>&1 || die "no user $user (tests/integration/setup-user.sh makes it)"

work=$(mktemp -d /tmp/skiff-bench-run.XXXXXX)
chmod 0755 "$work"
cleanup() {
  # Rootless podman leaves its pause process (which holds its namespaces):
  # end it by the pid it recorded, then remove everything.
  local pause=$work/home/run/libpod/tmp/pause.pid
  [ -f "$pause" ] && kill "$(cat "$pause")" 2>/dev/null
  # skiff's holder of the user namespace rootless runs share, by the pid
  # it recorded, if that pid still is the holder of the recorded namespace.
  local rec hpid hino
  for rec in "$work"/home/run/skiff/.userns/*.pid; do
    read -r hpid hino <"$rec" 2>/dev/null || continue
    [ "$(cat "/proc/$hpid/comm" 2>/dev/null)" = skiff-userns ] &&
      [ "$(readlink "/proc/$hpid/ns/user" 2>/dev/null)" = "user:[$hino]" ] &&
      kill -KILL "$hpid" 2>/dev/null
  done
  rm -rf --one-file-system "$work" 2>/dev/null || true
}
trap cleanup EXIT
uhome=$work/home
mkdir -p "$uhome" && chown "$user:" "$uhome"
as_user() {
  runuser -u "$user" -- env -i PATH=/usr/bin:/bin HOME="$uhome" USER="$user" LOGNAME="$user" \
    XDG_RUNTIME_DIR="$uhome/run" "$@"
}
as_user mkdir -p "$uhome/run"

# time_runs LABEL CMD...: N timed runs (after 3 untimed), median and p90.
declare -A MED
time_runs() {
  local label=$1 i t0 t1 ts=()
  shift
  for i in 1 2 3; do "$@" >/dev/null 2>&1 || { echo "$label: the command fails: $*" >&2; return 0; }; done
  for ((i = 0; i < runs; i++)); do
    t0=${EPOCHREALTIME/./}
    "$@" >/dev/null 2>&1
    t1=${EPOCHREALTIME/./}
    ts+=($(((t1 - t0))))
  done
  mapfile -t ts < <(printf '%s\n' "${ts[@]}" | sort -n)
  MED[$label]=${ts[$((runs / 2))]}
  printf '%-22s median %7.1f ms   p90 %7.1f ms\n' "$label" \
    "$(bc <<<"scale=1; ${ts[$((runs / 2))]} / 1000")" "$(bc <<<"scale=1; ${ts[$((runs * 9 / 10))]} / 1000")"
}
ratio() {
  [ -n "${MED[$1]:-}" ] && [ -n "${MED[$2]:-}" ] &&
    printf '%-22s %s\n' "$1 / $2" "$(bc <<<"scale=3; ${MED[$1]} / ${MED[$2]}")"
  return 0
}

# The bundle: the layout unpacked, a runc spec with /bin/true.
bundle=$work/bundle
bash "$srcdir/images/oci-unpack.sh" "$image" "$bundle/rootfs" >/dev/null
runc spec --bundle "$bundle"
jq '.process.args = ["/bin/true"] | .process.terminal = false' "$bundle/config.json" >"$bundle/c" &&
  mv "$bundle/c" "$bundle/config.json"
ubundle=$work/ubundle
bash "$srcdir/images/oci-unpack.sh" "$image" "$ubundle/rootfs" >/dev/null
chown -R "$user:" "$ubundle"
as_user runc spec --rootless --bundle "$ubundle"
jq '.process.args = ["/bin/true"] | .process.terminal = false' "$ubundle/config.json" >"$ubundle/c" &&
  mv "$ubundle/c" "$ubundle/config.json" && chown "$user:" "$ubundle/config.json"

echo "# root, $runs runs each; load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$skiff" pull -q --store "$work/store" "oci:$image" >/dev/null
settle
time_runs skiff-run "$skiff" run -q --store "$work/store" --root "$work/state" localhost/busybox true
n=0
oci_run() { n=$((n + 1)); "$skiff" oci --root "$work/ostate" run --bundle "$bundle" "b$n"; }
settle
time_runs skiff-oci oci_run
# The timing loop, a bash script: $1 (a command line; $i is the run's
# number) run N+3 times, the first 3 untimed; prints the N times in µs,
# sorted, on one line, or nothing if a run fails.  It runs inside the
# wrapper (unshare, runuser), so the wrapper is not timed.
loop='t=()
for ((i = 0; i < '"$runs"' + 3; i++)); do
  t0=${EPOCHREALTIME/./}
  eval "$1" >/dev/null 2>&1 || { echo "the command fails: $1" >&2; exit 1; }
  t1=${EPOCHREALTIME/./}; [ $i -ge 3 ] && t+=($((t1 - t0)))
done
printf "%s\n" "${t[@]}" | sort -n | tr "\n" " "'
# hidden_unified_runs CMD [USER]: the loop over CMD in a private mount
# namespace where /sys/fs/cgroup/unified is unmounted (the host's mounts
# are untouched); with USER, as that user (one runuser for all runs).
hidden_unified_runs() {
  local pre=
  [ -n "${2:-}" ] && pre="exec runuser -u $2 -- env -i PATH=/usr/bin:/bin HOME=$uhome USER=$2 LOGNAME=$2 XDG_RUNTIME_DIR=$uhome/run"
  unshare -m --propagation private bash -c '
    umount /sys/fs/cgroup/unified 2>/dev/null || true
    '"$pre"' bash -c "$2" bash "$1"' bash "$1" "$loop" || true
}
# user_runs CMD: the loop over CMD as USER, in one runuser session: the
# session's set-up (PAM; tens of ms here) is paid once, not in every run,
# for every rootless row alike.
user_runs() {
  as_user bash -c "$loop" bash "$1" || true
}
# report LABEL TIMES...: the median and p90 of sorted TIMES (µs).
report() {
  local label=$1
  shift
  [ $# -eq "$runs" ] || return 0
  local ts=("$@")
  MED[$label]=${ts[$((runs / 2))]}
  printf '%-22s median %7.1f ms   p90 %7.1f ms\n' "$label" \
    "$(bc <<<"scale=1; ${ts[$((runs / 2))]} / 1000")" "$(bc <<<"scale=1; ${ts[$((runs * 9 / 10))]} / 1000")"
}
if command -v crun >/dev/null; then
  # c$i: a fresh name each run (crun run deletes the container at exit).
  settle
  read -r -a ts <<<"$(hidden_unified_runs 'crun --root '"$work"'/cstate run --bundle '"$bundle"' c$i')"
  report crun "${ts[@]}"
else
  echo "crun: not installed"
fi
ratio skiff-run crun
ratio skiff-run skiff-oci
rss=$( { /usr/bin/time -f '%M' "$skiff" run -q --store "$work/store" --root "$work/state" localhost/busybox true; } 2>&1 | tail -n 1)
echo "peak RSS of skiff run (root): ${rss} kB"

echo "# rootless ($user)"
as_user "$skiff" pull -q --store "$uhome/store" "oci:$image" >/dev/null
# runuser alone: what each rootless run would cost more if every run
# opened a session of its own (the rows below open one for all runs).
time_runs runuser-session as_user true
settle
read -r -a ts <<<"$(user_runs "$skiff run -q --store $uhome/store localhost/busybox true")"
report skiff-run-rootless "${ts[@]}"
settle
read -r -a ts <<<"$(user_runs "$skiff oci run --bundle $ubundle u\$i")"
report skiff-oci-rootless "${ts[@]}"
if command -v ch-run >/dev/null; then
  read -r -a ts <<<"$(user_runs "ch-run $ubundle/rootfs -- /bin/true")"
  report ch-run-rootless "${ts[@]}"
else
  echo "ch-run: not installed"
fi
if command -v podman >/dev/null; then
  as_user mkdir -p "$uhome/.config/containers"
  printf '[storage]\ndriver = "overlay"\n' >"$uhome/.config/containers/storage.conf"
  # By its id: podman names a layout's image after nothing usable.
  settle
  read -r -a ts <<<"$(hidden_unified_runs '[ -n "${pid:-}" ] || pid=$(podman pull -q oci:'"$image"') &&
    podman run --rm --network none "$pid" /bin/true' "$user")"
  if [ ${#ts[@]} -eq "$runs" ]; then
    report podman-rootless "${ts[@]}"
    ratio skiff-run-rootless podman-rootless
  else
    echo "podman-rootless: left out (see the message above)"
  fi
else
  echo "podman: not installed"
fi
ratio skiff-run-rootless skiff-oci-rootless
rss=$(as_user /usr/bin/time -f '%M' "$skiff" run -q --store "$uhome/store" localhost/busybox true 2>&1 | tail -n 1)
echo "peak RSS of skiff run (rootless): ${rss} kB (the parent process; the init is a fork of it)"
