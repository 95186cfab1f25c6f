#!/bin/bash
# tests/bench/start.sh [-n N] [--skiff PATH] [--image LAYOUT] [--user USER]
#
# Benchmark, not a test: the time of `RUNTIME run` of /bin/true in the
# busybox bundle, for skiff, crun and runc side by side, as root and
# rootless, N runs each (default 50). Prints the median and p90 in ms, the
# floor (`unshare -Urmpf --mount-proc true`), and skiff/crun, skiff/runc.
#
# Seccomp rows: the same bundle with skiff's default profile (from `skiff
# oci spec --seccomp default`) as linux.seccomp: skiff-sc0 compiles it at every start (SKIFF_SECCOMP_CACHE=0),
# skiff-sc loads the compiled filter from its cache (filled by the warm-up
# runs; XDG_CACHE_HOME in the work dir), crun-sc is crun with the same
# profile (crun compiles it at every start).
#
# All runtimes get the same bundle and config.json (`runc spec`, with
# --rootless for the rootless runs, args ["/bin/true"], terminal false),
# a unique container id per run and their own --root state directory.
# Rootless runs go through USER (default skiff-test, created with its
# subordinate ranges by tests/integration/setup-user.sh when missing);
# run as non-root, only the rootless runs are made, as yourself.
#
# crun 1.8 refuses the v1/v2 hybrid cgroup layout of the build hosts, so it
# runs where /sys/fs/cgroup/unified is gone from a private mount namespace
# (root: unmounted; rootless: covered by an empty tmpfs inside `unshare
# -Urm`, then crun runs as USER again in a nested user namespace). The
# host's mounts are never changed. The timing loop runs inside that
# context, so the wrappers are not timed.

if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
export LC_ALL=C

prog=tests/bench/start.sh
die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }
usage() {
  printf 'usage: %s [-n N] [--skiff PATH] [--image LAYOUT] [--user USER]\n' "$prog" >&2
  exit 2
}

here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
builddir=${SKIFF_BUILDDIR:-$srcdir}
runs=50
skiff=${SKIFF:-$builddir/skiff}
image=${SKIFF_IMAGE:-$builddir/images/busybox}
user=${SKIFF_TEST_USER:-skiff-test}

while [ $# -gt 0 ]; do
  case $1 in
    -n) [ $# -ge 2 ] || usage; runs=$2; shift 2 ;;
    --skiff) [ $# -ge 2 ] || usage; skiff=$2; shift 2 ;;
    --image) [ $# -ge 2 ] || usage; image=$2; shift 2 ;;
    --user) [ $# -ge 2 ] || usage; user=$2; shift 2 ;;
    -h | --help) usage ;;
    *) printf '%s: unknown argument %s\n' "$prog" "$1" >&2; usage ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "-n wants a positive number of runs, not '$runs'"
[ "${BASH_VERSINFO[0]}" -ge 5 ] || die "bash 5 is needed (for \$EPOCHREALTIME)"
for tool in jq runc unshare; do
  command -v "$tool" >/dev/null || die "'$tool' is needed but is not installed"
done
have_crun=yes
command -v crun >/dev/null || have_crun=no
have_skiff=yes
[ -x "$skiff" ] || have_skiff=no

if [ "$(id -u)" -eq 0 ]; then
  modes=(root rootless)
  if ! id "$user" >/dev/null 2>&1; then
    [ -x "$srcdir/tests/integration/setup-user.sh" ] || [ -f "$srcdir/tests/integration/setup-user.sh" ] ||
      die "user '$user' does not exist and tests/integration/setup-user.sh is missing: give --user USER"
    echo "creating the rootless user '$user' with tests/integration/setup-user.sh"
    SKIFF_TEST_USER=$user bash "$srcdir/tests/integration/setup-user.sh" >/dev/null
  fi
else
  modes=(rootless)
  user=$(id -un)
fi
uid=$(id -u "$user")
gid=$(id -g "$user")

work=
cleanup_list=()
# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
  local entry
  for entry in "${cleanup_list[@]}"; do
    # Containers left by an interrupted run: delete them in their context.
    eval "$entry" >/dev/null 2>&1 || true
  done
  if [ -n "$work" ]; then rm -rf -- "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
work=$(mktemp -d "${TMPDIR:-/tmp}/skiff-bench.XXXXXX")
chmod 0755 "$work"

# ---- the image and the bundles ----------------------------------------------
if [ ! -f "$image/index.json" ]; then
  echo "no image at $image: building one from /bin/busybox"
  bash "$srcdir/images/busybox.sh" /bin/busybox "$work/image" ||
    die "cannot build the busybox image"
  image=$work/image
fi

# make_bundle DIR [--rootless]
make_bundle() {
  local dir=$1
  shift
  mkdir -p "$dir"
  bash "$srcdir/images/oci-unpack.sh" "$image" "$dir/rootfs" || die "cannot unpack '$image'"
  (cd "$dir" && runc spec "$@") || die "runc spec $* failed in $dir"
  jq '.process.args = ["/bin/true"] | .process.terminal = false' "$dir/config.json" >"$dir/config.new"
  mv "$dir/config.new" "$dir/config.json"
}

# make_seccomp_bundle DIR: DIR/bundle-sc, DIR/bundle's config with the
# profile as linux.seccomp, on the same rootfs.
profile=
make_seccomp_bundle() {
  local dir=$1
  mkdir -p "$dir/bundle-sc"
  jq --slurpfile p "$profile" --arg root "$dir/bundle/rootfs" \
    '.linux.seccomp = $p[0] | .root.path = $root' "$dir/bundle/config.json" >"$dir/bundle-sc/config.json"
}

# The timing loop: loop.sh N OUT CMD... with @ID@ in CMD replaced by a
# fresh container id per run; one duration in microseconds per line in OUT.
# `loop.sh --delete RUNTIME STATE` removes what an interrupted run left.
cat >"$work/loop.sh" <<'EOF'
set -euo pipefail
if [ "$1" = --delete ]; then
  for id in $("$2" --root "$3" list -q 2>/dev/null); do "$2" --root "$3" delete -f "$id"; done
  exit 0
fi
n=$1 out=$2
shift 2
: >"$out"
for ((i = -2; i < n; i++)); do           # two untimed warm-up runs
  args=("${@//@ID@/bench-$$-$i}")
  t0=${EPOCHREALTIME/./}
  if ! "${args[@]}" >/dev/null 2>"$out.err"; then
    echo "run $i failed: ${args[*]}" >&2
    cat "$out.err" >&2
    exit 1
  fi
  t1=${EPOCHREALTIME/./}
  if [ "$i" -ge 0 ]; then echo $((t1 - t0)) >>"$out"; fi
done
EOF

# in_context MODE RUNTIME CMD...: run CMD where RUNTIME can run in MODE.
in_context() {
  local mode=$1 rt=$2
  shift 2
  local cmd=("$@")
  if [ "$rt" = crun ]; then
    if [ "$mode" = root ]; then
      cmd=(unshare -m --propagation private sh -c
        'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$@"' sh "${cmd[@]}")
    else
      cmd=(unshare -Urm sh -c
        'mount -t tmpfs -o ro,size=4k skiff-bench /sys/fs/cgroup/unified && exec "$@"' sh
        unshare --map-user="$uid" --map-group="$gid" "${cmd[@]}")
    fi
  fi
  if [ "$mode" = rootless ] && [ "$(id -u)" -eq 0 ]; then
    cmd=(runuser -u "$user" -- env -u XDG_RUNTIME_DIR HOME="$work/home" "${cmd[@]}")
  fi
  "${cmd[@]}"
}

# measure MODE NAME: time NAME in MODE; NAME is a runtime or "floor".
# Sets result to "MEDIAN P90" (ms), or to "failed".
measure() {
  local mode=$1 name=$2 dir=$work/$1 state out
  state=$dir/state-$name
  out=$dir/times-$name
  mkdir -p "$state"
  chmod 0700 "$state"   # skiff wants a private state root
  if [ "$mode" = rootless ]; then chown "$uid:$gid" "$state" "$dir"; fi
  # envv: set for the whole timing loop, not wrapped around each run (an
  # `env` per run would cost more than what is measured).
  local run rt=${name%%-*} envv=()
  case $name in
    floor) run=(unshare -Urmpf --mount-proc true) ;;
    skiff) run=("$skiff" oci --root "$state" run --bundle "$dir/bundle" @ID@) ;;
    skiff-sc0)
      envv=(env SKIFF_SECCOMP_CACHE=0)
      run=("$skiff" oci --root "$state" run --bundle "$dir/bundle-sc" @ID@) ;;
    skiff-sc)
      envv=(env XDG_CACHE_HOME="$dir/cache")
      run=("$skiff" oci --root "$state" run --bundle "$dir/bundle-sc" @ID@) ;;
    crun-sc) run=(crun --root "$state" run --bundle "$dir/bundle-sc" @ID@) ;;
    *) run=("$name" --root "$state" run --bundle "$dir/bundle" @ID@) ;;
  esac
  if [ "$name" != floor ]; then
    cleanup_list+=("$(printf 'in_context %q %q bash %q --delete %q %q' \
      "$mode" "$rt" "$work/loop.sh" "${rt/#skiff/$skiff}" "$state")")
  fi
  result=failed
  if in_context "$mode" "$rt" "${envv[@]}" bash "$work/loop.sh" "$runs" "$out" "${run[@]}"; then
    result=$(stats "$out")
  fi
}

# stats FILE: "median p90" in ms of the microsecond durations in FILE.
stats() {
  sort -n "$1" | awk '
    { v[NR] = $1 }
    END {
      med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      i = int(NR * 0.9); if (i < NR * 0.9) i++; if (i < 1) i = 1
      printf "%.2f %.2f\n", med / 1000, v[i] / 1000
    }'
}

mkdir -p "$work/home"
chmod 0777 "$work/home"
if [ "$have_skiff" = yes ] && mkdir -p "$work/profile" &&
  "$skiff" oci spec --seccomp default --bundle "$work/profile" >/dev/null; then
  profile=$work/profile/seccomp.json
  jq '.linux.seccomp' "$work/profile/config.json" >"$profile"
fi
for mode in "${modes[@]}"; do
  if [ "$mode" = rootless ]; then
    make_bundle "$work/$mode/bundle" --rootless
    # runc spec --rootless maps the container's root to the caller: to USER.
    jq --argjson u "$uid" --argjson g "$gid" \
      '.linux.uidMappings = [{containerID: 0, hostID: $u, size: 1}]
       | .linux.gidMappings = [{containerID: 0, hostID: $g, size: 1}]' \
      "$work/$mode/bundle/config.json" >"$work/$mode/bundle/config.new"
    mv "$work/$mode/bundle/config.new" "$work/$mode/bundle/config.json"
    if [ "$(id -u)" -eq 0 ]; then chown -R "$uid:$gid" "$work/$mode"; fi
  else
    make_bundle "$work/$mode/bundle"
  fi
  if [ -n "$profile" ]; then
    make_seccomp_bundle "$work/$mode"
    if [ "$mode" = rootless ] && [ "$(id -u)" -eq 0 ]; then chown -R "$uid:$gid" "$work/$mode/bundle-sc"; fi
  fi
done

# ---- run ------------------------------------------------------------------
printf 'start of /bin/true in the busybox bundle, %s runs each; kernel %s\n' "$runs" "$(uname -r)"
printf 'runc %s' "$(runc --version | sed -n '1s/^runc version //p')"
[ "$have_crun" = no ] || printf ', crun %s' "$(crun --version | sed -n '1s/^crun version //p')"
if [ "$have_skiff" = yes ]; then
  printf ', skiff %s\n' "$("$skiff" --version 2>/dev/null | head -n1 || echo '?')"
else
  printf '; skiff not built (%s)\n' "$skiff"
fi
printf '\n%-9s %-9s %10s %10s\n' mode what 'median ms' 'p90 ms'

declare -A median
for mode in "${modes[@]}"; do
  names=(floor)
  [ "$have_skiff" = no ] || names+=(skiff)
  [ "$have_skiff" = no ] || [ -z "$profile" ] || names+=(skiff-sc0 skiff-sc)
  [ "$have_crun" = no ] || names+=(crun)
  [ "$have_crun" = no ] || [ -z "$profile" ] || names+=(crun-sc)
  names+=(runc)
  for name in "${names[@]}"; do
    measure "$mode" "$name"
    read -r med p90 <<<"$result"
    if [ "$med" = failed ]; then
      printf '%-9s %-9s %10s\n' "$mode" "$name" failed
      continue
    fi
    median[$mode.$name]=$med
    printf '%-9s %-9s %10s %10s\n' "$mode" "$name" "$med" "$p90"
  done
done

echo
for mode in "${modes[@]}"; do
  # A/B pairs: skiff against the others, then the cost of seccomp.
  for pair in skiff/crun skiff/runc skiff-sc/crun-sc skiff-sc0/crun-sc \
    skiff-sc0/skiff skiff-sc/skiff skiff-sc0/skiff-sc crun-sc/crun; do
    a=${median[$mode.${pair%/*}]:-} b=${median[$mode.${pair#*/}]:-}
    [ -n "$a" ] && [ -n "$b" ] || continue
    printf '%-9s %-19s = %s\n' "$mode" "$pair" "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }')"
  done
done
