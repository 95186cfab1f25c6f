#!/bin/bash
# tests/bench/net.sh [-n N] [--mib M] [--skiff PATH] [--image LAYOUT] [--user USER]
#
# Benchmark, not a test: what a job's network costs, rootless (as USER,
# default skiff-test), side by side with rootless Podman using the same
# helper.
#
#   start     `skiff run -q localhost/busybox true` with --network none,
#             pasta and slirp4netns: median and p90 of N runs (default 10),
#             and the time each helper adds to none.
#   transfer  M MiB (default 512) sent by the host over TCP to a published
#             port (-p PORT:5000, to 127.0.0.1:PORT), received by
#             skiff-probe tcp-sink in the job: MiB/s from connect until the job's end of the
#             connection closes, median of N/2 runs (at least 3), with
#             skiff --network pasta, skiff --network slirp4netns, and
#             `podman --runtime runc run --network
#             slirp4netns:port_handler=slirp4netns` (the same helper
#             publishing the port; Podman 4.3 has no pasta network, and
#             its crun refuses the hybrid cgroup layout of the build hosts).
#
# Run as root; every row runs as USER.  Rows whose tool is missing are left
# out with a note.

if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
export LC_ALL=C

prog=tests/bench/net.sh
die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
builddir=${SKIFF_BUILDDIR:-$srcdir}
runs=10
mib=512
skiff=${SKIFF:-$builddir/skiff}
image=${SKIFF_IMAGE:-$builddir/images/busybox}
user=${SKIFF_TEST_USER:-skiff-test}
while [ $# -gt 0 ]; do
  case $1 in
    -n) runs=$2; shift 2 ;;
    --mib) mib=$2; shift 2 ;;
    --skiff) skiff=$2; shift 2 ;;
    --image) image=$2; shift 2 ;;
    --user) user=$2; shift 2 ;;
    *) die "unknown argument $1" ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "-n wants a positive number"
[[ $mib =~ ^[1-9][0-9]*$ ]] || die "--mib wants a positive number"
[ "$(id -u)" -eq 0 ] || die "run it as root (the rows run as --user)"
[ -x "$skiff" ] && [ -f "$image/index.json" ] || die "build first (make)"
id "$user" >/dev/null 2>&1 || die "no user $user (tests/integration/setup-user.sh makes it)"
command -v python3 >/dev/null || die "python3 is needed (the sender)"

work=$(mktemp -d /tmp/skiff-bench-net.XXXXXX)
chmod 0755 "$work"
uhome=$work/home
# A short runtime dir: Podman puts slirp4netns's API socket there, and a
# socket path has at most 107 bytes.
urun=$(mktemp -d /tmp/sbn.XXXXXX)
chown "$user:" "$urun"
cleanup() {
  # Rootless podman leaves its pause process: end it by the pid it recorded.
  local pause=$urun/libpod/tmp/pause.pid
  [ -f "$pause" ] && kill "$(cat "$pause")" 2>/dev/null
  rm -rf --one-file-system "$work" "$urun" 2>/dev/null || true
}
trap cleanup EXIT
mkdir -p "$uhome" && chown "$user:" "$uhome"
AS_USER=(runuser -u "$user" -- env -i PATH=/usr/bin:/bin HOME="$uhome" USER="$user"
  LOGNAME="$user" XDG_RUNTIME_DIR="$urun")
as_user() { "${AS_USER[@]}" "$@"; }

declare -A MED
# time_runs LABEL CMD...: N timed runs (after 2 untimed), median and p90 in ms.
time_runs() {
  local label=$1 i t0 t1 ts=()
  shift
  for i in 1 2; do
    timeout -s KILL 60 "$@" >/dev/null 2>&1 || { echo "$label: the command fails: $*" >&2; return 0; }
  done
  for ((i = 0; i < runs; i++)); do
    t0=${EPOCHREALTIME/./}
    timeout -s KILL 60 "$@" >/dev/null 2>&1
    t1=${EPOCHREALTIME/./}
    ts+=($(((t1 - t0))))
  done
  mapfile -t ts < <(printf '%s\n' "${ts[@]}" | sort -n)
  MED[$label]=${ts[$((runs / 2))]}
  printf '%-28s median %8.1f ms   p90 %8.1f ms\n' "$label" \
    "$(bc <<<"scale=1; ${ts[$((runs / 2))]} / 1000")" "$(bc <<<"scale=1; ${ts[$((runs * 9 / 10))]} / 1000")"
}
added() {
  [ -n "${MED[$1]:-}" ] && [ -n "${MED[$2]:-}" ] &&
    printf '%-28s %+8.1f ms\n' "$1 - $2" "$(bc <<<"scale=1; (${MED[$1]} - ${MED[$2]}) / 1000")"
  return 0
}

# The job: skiff-probe tcp-sink (tests/helper, bind-mounted in) receives
# on 5000 in 1 MiB reads and counts; it says "ready" once the port
# listens.  The sender (as root on the host, the same for every row) waits
# for "ready", connects to 127.0.0.1:PORT, sends M MiB, half-closes, and
# waits for the job to close its end; it prints MiB/s, or fails when the
# job did not get every byte.
probe=${SKIFF_PROBE:-$builddir/tests/helper/skiff-probe}
[ -x "$probe" ] || die "$probe is missing (make check builds it; or make tests/helper/skiff-probe)"
cp "$probe" "$work/probe" && chmod 0755 "$work/probe"
sender=$work/send.py
cat >"$sender" <<'PY'
import socket, subprocess, sys, time
mib, port, argv = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
p = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
line = p.stdout.readline().strip()
if line != "ready":
    p.kill(); p.wait(); sys.exit("the job did not get ready: %r" % line)
chunk = b"\0" * (1 << 20)
s = socket.create_connection(("127.0.0.1", port))
t0 = time.monotonic()
for _ in range(mib):
    s.sendall(chunk)
s.shutdown(socket.SHUT_WR)
while s.recv(65536):
    pass
t1 = time.monotonic()
s.close()
count = p.stdout.read().strip()
if p.wait() != 0 or count != str(mib << 20):
    sys.exit("the job got %s bytes of %d (status %d)" % (count, mib << 20, p.returncode))
print("%.1f" % (mib / (t1 - t0)))
PY

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("0.0.0.0", 0)); print(s.getsockname()[1])'
}
declare -A TPUT
# transfer LABEL CMD-PREFIX...: the job run by CMD-PREFIX -p PORT:5000 IMAGE sh -c JOB.
transfer() {
  local label=$1 i port r rs=() n=$(( runs / 2 > 3 ? runs / 2 : 3 ))
  shift
  for ((i = 0; i < n; i++)); do
    port=$(free_port)
    if ! r=$(timeout -s KILL 300 python3 "$sender" "$mib" "$port" "$@" -p "$port:5000" -v "$work/probe:/probe:ro" "$IMG" /probe tcp-sink 5000 2>&1); then
      echo "$label: $r" >&2
      return 0
    fi
    rs+=("$r")
  done
  mapfile -t rs < <(printf '%s\n' "${rs[@]}" | sort -n)
  TPUT[$label]=${rs[$((n / 2))]}
  printf '%-28s median %8.1f MiB/s   (%s)\n' "$label" "${TPUT[$label]}" "$(echo "${rs[@]}")"
}
tratio() {
  [ -n "${TPUT[$1]:-}" ] && [ -n "${TPUT[$2]:-}" ] &&
    printf '%-28s %s\n' "$1 / $2" "$(bc <<<"scale=2; ${TPUT[$1]} / ${TPUT[$2]}")"
  return 0
}

echo "# rootless ($user), $runs runs; load: $(cut -d' ' -f1-3 /proc/loadavg)"
as_user "$skiff" pull -q --store "$uhome/store" "oci:$image" >/dev/null
sk=("${AS_USER[@]}" "$skiff" run -q --store "$uhome/store")
IMG=localhost/busybox
time_runs "start none" "${sk[@]}" --network none "$IMG" true
for h in pasta slirp4netns; do
  if command -v "$h" >/dev/null; then
    time_runs "start $h" "${sk[@]}" --network "$h" "$IMG" true
  else
    echo "$h: not installed"
  fi
done
added "start pasta" "start none"
added "start slirp4netns" "start none"

echo "# transfer of $mib MiB host -> job through -p (127.0.0.1)"
for h in pasta slirp4netns; do
  command -v "$h" >/dev/null && transfer "skiff $h" "${sk[@]}" --network "$h"
done
if command -v podman >/dev/null && pid=$(as_user podman pull -q "oci:$image" 2>/dev/null) && [ -n "$pid" ]; then
  IMG=$pid transfer "podman slirp4netns" "${AS_USER[@]}" podman --runtime runc run --rm \
    --network slirp4netns:port_handler=slirp4netns
  echo "podman pasta: Podman $(podman --version | awk '{ print $3 }') has no pasta network"
else
  echo "podman: not installed, or cannot import the layout"
fi
tratio "skiff pasta" "skiff slirp4netns"
tratio "skiff slirp4netns" "podman slirp4netns"
