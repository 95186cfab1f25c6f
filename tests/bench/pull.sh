#!/bin/bash
# tests/bench/pull.sh [-n N] [--skiff PATH] [--user USER] [--media LIST] [--only LIST] [-v]
#
# Benchmark, not a test: the time to pull and unpack a Debian minbase image
# (three layers, ~49 MB gzip, ~121 MB unpacked) from a registry on this
# machine into a fresh, empty store, for skiff and its peers, N runs each
# (default 5), on a tmpfs and on disk (/var/tmp). Prints per medium the
# median and the minimum wall time (GNU time around the command), the median
# CPU time (user + system), the largest peak RSS, and skiff/each; then the
# targets as facts: skiff/best peer (target <= 0.50) and skiff/tar floor
# (target <= 1.00).
#
# The image: images/debian-minbase.py over `debootstrap --variant=minbase
# bookworm`, cached in tests/bench/cache/bookworm/ (rootfs, oci, and oci-zstd,
# the same image with zstd layers made by `skopeo copy --dest-compress-format
# zstd`). Both are pushed to a Debian docker-registry that this script
# starts on 127.0.0.1, on a free port, over HTTPS with a CA it makes with
# openssl; every client verifies the registry's certificate with that CA
# (nobody runs with an insecure flag): skopeo and podman through
# --src-cert-dir/--cert-dir, ch-image through REQUESTS_CA_BUNDLE, curl
# through --cacert, skiff through --cert-dir with --tls-verify=true (skiff
# would otherwise skip verification on the loopback).
#
# Contenders, all rootless as USER (default skiff-test, created by
# tests/integration/setup-user.sh when missing) with HOME and the XDG
# directories in the work directory, each into a new empty directory on the
# medium per run (TMPDIR there too). On disk, the runs' trees are removed
# after the medium's last run, not after each run: ext4 searches past the
# inodes freed in the last half minute when it allocates (recently_deleted),
# and a run right after the removal of another's 7,000 files spent up to
# 1.9 s of system time there instead of 0.2 s, a cost of the benchmark's
# own loop that no pull outside it pays:
#   skiff         skiff pull --store DIR -q --tls-verify=true --cert-dir CA_DIR
#                 docker://HOST/bench/debian:gzip
#   skopeo+umoci  skopeo copy docker://... oci:DIR, then umoci unpack --rootless
#   podman        podman pull with its own --root/--runroot, storage driver
#                 overlay (native: no mount_program), cgroupfs, file events
#   ch-image      ch-image pull, CH_IMAGE_STORAGE=DIR, its default build cache
#                 (which is why it needs a git identity: GIT_AUTHOR_NAME...)
#   tar floor     tar -xzf of the three layer blobs, one after another
# and for the zstd copy: skiff, skopeo+umoci, podman, ch-image and the floor
# with `tar --zstd -xf`. Three rows are for reading the others, not peers:
#   download      curl of the three gzip blobs from the registry into files
#   skiff-oci     skiff pull from the OCI layout on disk (no registry: the
#                 cost of verifying, storing and unpacking alone), and
#                 skiff-oci-zstd from the zstd layout
#
# Runs go round-robin: round r runs every contender once, in an order
# rotated by r, so that slow drifts of a busy machine (the page cache may
# not be dropped) spread over all of them; round 0 is a warm-up, not
# counted, that also checks each contender's result has etc/debian_version.
# A contender whose tool is missing is reported as missing, one that fails
# with the end of its error. --media picks the media, --only the contenders
# (names as in the table), -v adds every run's numbers from GNU time.
#
# Root only (it mounts the tmpfs and switches to USER). Everything it makes
# (the tmpfs mount, the registry, podman's pause process, temp dirs and
# every store) is removed on any exit.

if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
export LC_ALL=C

prog=tests/bench/pull.sh
die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }
usage() {
  printf 'usage: %s [-n N] [--skiff PATH] [--user USER] [--media tmpfs,disk] [--only NAME,...] [-v]\n' "$prog" >&2
  exit 2
}

here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
builddir=${SKIFF_BUILDDIR:-$srcdir}
runs=5
skiff=${SKIFF:-$builddir/skiff}
user=${SKIFF_TEST_USER:-skiff-test}
media=tmpfs,disk
only=
verbose=
cache=${SKIFF_BENCH_CACHE:-$here/cache/bookworm}

while [ $# -gt 0 ]; do
  case $1 in
    -n) [ $# -ge 2 ] || usage; runs=$2; shift 2 ;;
    --skiff) [ $# -ge 2 ] || usage; skiff=$2; shift 2 ;;
    --user) [ $# -ge 2 ] || usage; user=$2; shift 2 ;;
    --media) [ $# -ge 2 ] || usage; media=$2; shift 2 ;;
    --only) [ $# -ge 2 ] || usage; only=$2; shift 2 ;;
    -v) verbose=yes; shift ;;
    -h | --help) usage ;;
    *) printf '%s: unknown argument %s\n' "$prog" "$1" >&2; usage ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "-n wants a positive number of runs, not '$runs'"
[[ $media =~ ^(tmpfs|disk)(,(tmpfs|disk))?$ ]] || die "--media wants tmpfs, disk or both, not '$media'"
[ "$(id -u)" -eq 0 ] || die "run as root: it mounts a tmpfs and runs the contenders as '$user'"
for tool in docker-registry openssl curl python3 skopeo tar gzip zstd runuser /usr/bin/time; do
  command -v "$tool" >/dev/null || die "'$tool' is needed but is not installed (.ci/deps installs it)"
done
skiff=$(realpath -m "$skiff")

if ! id "$user" >/dev/null 2>&1; then
  echo "creating the rootless user '$user' with tests/integration/setup-user.sh"
  SKIFF_TEST_USER=$user bash "$srcdir/tests/integration/setup-user.sh" >/dev/null
fi
uid=$(id -u "$user")
gid=$(id -g "$user")

# ---- cleanup ---------------------------------------------------------------
work=
registry_pid=
tmpfs_mounted=
# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
  local pid f
  set +e
  if [ -n "$work" ]; then
    # Rootless podman leaves a pause process holding its user namespace;
    # it was started for us, under our XDG_RUNTIME_DIR: end it by its pid.
    f=$work/xdg-run/libpod/tmp/pause.pid
    if [ -f "$f" ] && pid=$(cat "$f") && [[ $pid =~ ^[0-9]+$ ]] &&
      [ "$(stat -c %u "/proc/$pid" 2>/dev/null)" = "$uid" ]; then
      kill "$pid" 2>/dev/null
      for _ in $(seq 50); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
    fi
  fi
  if [ -n "$registry_pid" ]; then
    kill "$registry_pid" 2>/dev/null
    wait "$registry_pid" 2>/dev/null
  fi
  if [ -n "$tmpfs_mounted" ]; then umount "$tmpfs_mounted" || umount -l "$tmpfs_mounted"; fi
  if [ -n "$work" ]; then rm -rf -- "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
work=$(mktemp -d /var/tmp/skiff-pull.XXXXXX)
chmod 0755 "$work"

# as_user CMD...: CMD as USER in a clean environment of its own.
userenv=(env -i "HOME=$work/home" "USER=$user" "LOGNAME=$user"
  "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" LC_ALL=C
  "XDG_RUNTIME_DIR=$work/xdg-run" "XDG_CONFIG_HOME=$work/home/.config"
  "XDG_DATA_HOME=$work/home/.local/share" "XDG_CACHE_HOME=$work/home/.cache"
  "CONTAINERS_STORAGE_CONF=$work/home/.config/containers/storage.conf"
  "GIT_AUTHOR_NAME=skiff bench" "GIT_AUTHOR_EMAIL=skiff-bench@localhost"
  "GIT_COMMITTER_NAME=skiff bench" "GIT_COMMITTER_EMAIL=skiff-bench@localhost")
as_user() { runuser -u "$user" -- "${userenv[@]}" "$@"; }

mkdir -p "$work/home/.config/containers" "$work/home/.local/share" "$work/home/.cache" \
  "$work/xdg-run" "$work/out" "$work/disk"
# Native overlay for podman: no mount_program (fuse-overlayfs) anywhere.
cat >"$work/home/.config/containers/storage.conf" <<'EOF'
[storage]
driver = "overlay"
EOF
# Big temporary files of podman's image copy go to its graph root (on the
# medium) rather than to /var/tmp.
cat >"$work/home/.config/containers/containers.conf" <<'EOF'
[engine]
image_copy_tmp_dir = "storage"
EOF
chown -R "$uid:$gid" "$work/home" "$work/xdg-run" "$work/disk" "$work/out"
chmod 0700 "$work/home" "$work/xdg-run"

# ---- the image -------------------------------------------------------------
if [ ! -f "$cache/oci/index.json" ]; then
  echo "building the image in $cache (debootstrap when $cache/rootfs is missing)"
  mkdir -p "$cache"
  python3 "$srcdir/images/debian-minbase.py" "$cache/rootfs" "$cache/oci" ||
    die "cannot build the image with images/debian-minbase.py"
fi
if [ ! -f "$cache/oci-zstd/index.json" ]; then
  echo "making the zstd copy in $cache/oci-zstd"
  install -d -o "$uid" -g "$gid" "$work/zstd"
  as_user skopeo copy -q --dest-compress-format zstd "oci:$cache/oci:bookworm" \
    "oci:$work/zstd/oci:bookworm" || die "skopeo cannot make the zstd copy"
  rm -rf -- "$cache/oci-zstd.tmp"
  cp -r "$work/zstd/oci" "$cache/oci-zstd.tmp"
  chown -R 0:0 "$cache/oci-zstd.tmp"
  mv "$cache/oci-zstd.tmp" "$cache/oci-zstd"
  rm -rf -- "$work/zstd"
fi

# layers LAYOUT: the layer digests (hex) of LAYOUT's only manifest, in order.
layers() {
  python3 - "$1" <<'EOF'
import json, os, sys
d = sys.argv[1]
idx = json.load(open(os.path.join(d, "index.json")))
m = json.load(open(os.path.join(d, "blobs", "sha256", idx["manifests"][0]["digest"][7:])))
for l in m["layers"]:
    print(l["digest"][7:], l["mediaType"])
EOF
}
mapfile -t gz_layers < <(layers "$cache/oci")
mapfile -t zst_layers < <(layers "$cache/oci-zstd")
if [ "${#gz_layers[@]}" -ne 3 ] || [ "${#zst_layers[@]}" -ne 3 ]; then
  die "the cached image has not three layers: remove $cache/oci* and run again"
fi
[[ ${zst_layers[0]} == *zstd ]] || die "$cache/oci-zstd does not have zstd layers: remove it and run again"
gz_blobs=() zst_blobs=() gz_bytes=0 zst_bytes=0 gz_digests=()
for l in "${gz_layers[@]}"; do
  gz_blobs+=("$cache/oci/blobs/sha256/${l%% *}")
  gz_digests+=("${l%% *}")
  gz_bytes=$((gz_bytes + $(stat -c %s "$cache/oci/blobs/sha256/${l%% *}")))
done
for l in "${zst_layers[@]}"; do
  zst_blobs+=("$cache/oci-zstd/blobs/sha256/${l%% *}")
  zst_bytes=$((zst_bytes + $(stat -c %s "$cache/oci-zstd/blobs/sha256/${l%% *}")))
done
# The layers' tar streams (gzip -l: sizes mod 4 GiB, enough here).
tar_bytes=$(gzip -l "${gz_blobs[@]}" | awk 'NR > 1 && $4 != "(totals)" { s += $2 } END { print s + 0 }')

# ---- the registry ------------------------------------------------------------
certs=$work/certs
mkdir -p "$certs/client"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$certs/ca.key" -out "$certs/ca.crt" \
  -days 2 -subj /CN=skiff-bench-ca -addext basicConstraints=critical,CA:TRUE \
  -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null || die "openssl cannot make the CA"
openssl req -newkey rsa:2048 -nodes -keyout "$certs/server.key" -out "$certs/server.csr" \
  -subj /CN=127.0.0.1 2>/dev/null || die "openssl cannot make the server key"
printf '%s\n' 'basicConstraints=CA:FALSE' 'subjectAltName=IP:127.0.0.1,DNS:localhost' \
  'extendedKeyUsage=serverAuth' >"$certs/server.ext"
openssl x509 -req -in "$certs/server.csr" -CA "$certs/ca.crt" -CAkey "$certs/ca.key" \
  -CAcreateserial -days 2 -extfile "$certs/server.ext" -out "$certs/server.crt" 2>/dev/null ||
  die "openssl cannot sign the server certificate"
cp "$certs/ca.crt" "$certs/client/ca.crt"
chmod 0755 "$certs" "$certs/client"
chmod 0644 "$certs/client/ca.crt" "$certs/ca.crt"

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
mkdir -p "$work/registry/data"
port=
for _ in 1 2 3; do
  p=$(free_port)
  cat >"$work/registry/config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/registry/data
http:
  addr: 127.0.0.1:$p
  tls:
    certificate: $certs/server.crt
    key: $certs/server.key
EOF
  docker-registry serve "$work/registry/config.yml" >"$work/registry/log" 2>&1 &
  registry_pid=$!
  for _ in $(seq 100); do
    if curl -fs --cacert "$certs/ca.crt" -o /dev/null "https://127.0.0.1:$p/v2/"; then port=$p; break; fi
    kill -0 "$registry_pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -z "$port" ] || break
  kill "$registry_pid" 2>/dev/null || true
  wait "$registry_pid" 2>/dev/null || true
  registry_pid=
done
[ -n "$port" ] || { cat "$work/registry/log" >&2; die "the registry does not start"; }
host=127.0.0.1:$port
as_user skopeo copy -q --dest-cert-dir "$certs/client" "oci:$cache/oci:bookworm" \
  "docker://$host/bench/debian:gzip" || die "cannot push the gzip image to $host"
as_user skopeo copy -q --dest-cert-dir "$certs/client" "oci:$cache/oci-zstd:bookworm" \
  "docker://$host/bench/debian:zstd" || die "cannot push the zstd image to $host"

# ---- the contenders ------------------------------------------------------------
# cmd_of NAME DIR: sets cmd to NAME's command line pulling into DIR, and
# check to the tree where etc/debian_version must be found afterwards.
cmd_of() {
  local name=$1 dir=$2 ref
  case $name in *-zstd) ref=$host/bench/debian:zstd ;; *) ref=$host/bench/debian:gzip ;; esac
  check=$dir
  case $name in
    skiff | skiff-zstd)
      cmd=("$skiff" pull --store "$dir/store" -q --tls-verify=true --cert-dir "$certs/client" "docker://$ref") ;;
    skiff-oci) cmd=("$skiff" pull --store "$dir/store" -q "oci:$cache/oci:bookworm") ;;
    skiff-oci-zstd) cmd=("$skiff" pull --store "$dir/store" -q "oci:$cache/oci-zstd:bookworm") ;;
    skopeo+umoci | skopeo+umoci-zstd)
      # shellcheck disable=SC2016 # expanded by that shell
      cmd=(sh -ec 'skopeo copy -q --src-cert-dir "$1" "docker://$2" "oci:$3/oci:img"
                   umoci unpack --rootless --image "$3/oci:img" "$3/bundle" >/dev/null'
        sh "$certs/client" "$ref" "$dir") ;;
    podman | podman-zstd)
      cmd=(podman --root "$dir/store" --runroot "$dir/run" --storage-driver overlay
        --cgroup-manager cgroupfs --events-backend file pull -q --cert-dir "$certs/client" "$ref") ;;
    ch-image | ch-image-zstd)
      cmd=(env "CH_IMAGE_STORAGE=$dir/store" "REQUESTS_CA_BUNDLE=$certs/ca.crt"
        ch-image pull "$ref" bench) ;;
    tar-floor | tar-floor-zstd)
      local opt=-xzf blobs=("${gz_blobs[@]}")
      if [ "$name" = tar-floor-zstd ]; then opt=--zstd blobs=("${zst_blobs[@]}"); fi
      # shellcheck disable=SC2016
      cmd=(sh -ec 'd=$1 o=$2; shift 2; mkdir "$d/root"
                   for b; do if [ "$o" = --zstd ]; then tar --zstd -xf "$b" -C "$d/root"
                   else tar -xzf "$b" -C "$d/root"; fi; done' sh "$dir" "$opt" "${blobs[@]}") ;;
    download)
      # shellcheck disable=SC2016
      cmd=(sh -ec 'c=$1 u=$2 d=$3; shift 3; i=0
                   for b; do i=$((i+1)); curl -fsS --cacert "$c" -o "$d/blob$i" "$u/sha256:$b"; done'
        sh "$certs/ca.crt" "https://$host/v2/bench/debian/blobs" "$dir" "${gz_digests[@]}") ;;
    *) die "no command for contender $name" ;;
  esac
}

# tool_of NAME: the programs NAME needs.
tool_of() {
  case $1 in
    skiff*) echo "$skiff" ;;
    skopeo+umoci*) echo skopeo umoci ;;
    podman*) echo podman ;;
    ch-image*) echo ch-image git ;;
    tar-floor*) echo tar ;;
    download) echo curl ;;
  esac
}

all=(skiff skopeo+umoci podman ch-image tar-floor download skiff-oci
  skiff-zstd skopeo+umoci-zstd podman-zstd ch-image-zstd tar-floor-zstd skiff-oci-zstd)
names=()
declare -A tools_state state index   # NAME -> ok | missing: WHY | failed: WHY
for n in "${all[@]}"; do
  if [ -n "$only" ] && [[ ,$only, != *",$n,"* ]]; then continue; fi
  index[$n]=${#names[@]}
  names+=("$n")
  tools_state[$n]=ok
  for t in $(tool_of "$n"); do
    if ! command -v "$t" >/dev/null; then tools_state[$n]="missing: $t is not installed"; fi
  done
done
[ "${#names[@]}" -gt 0 ] || die "--only '$only' names no contender (${all[*]})"

# run_one MEDIUM NAME ROUND: one timed run; appends "wall user sys rss_kb" to
# $work/out/MEDIUM.NAME (not for round 0, the warm-up, which checks instead).
run_one() {
  local medium=$1 name=$2 round=$3 base dir tf
  if [ "$medium" = tmpfs ]; then base=$work/tmpfs; else base=$work/disk; fi
  # Short names: podman refuses a --runroot longer than 50 characters.
  dir=$base/${index[$name]}.$round
  install -d -o "$uid" -g "$gid" "$dir" "$dir/tmp"
  cmd_of "$name" "$dir"
  tf=$work/out/time.$$
  rm -f "$tf"
  if ! as_user env "TMPDIR=$dir/tmp" /usr/bin/time -f '%e %U %S %M %w %c' -o "$tf" \
    "${cmd[@]}" >"$work/out/$medium.$name.log" 2>&1; then
    state[$name]="failed: $(grep -v '^Command exited' "$work/out/$medium.$name.log" | tail -n 3 |
      tr -s '\n\t ' '   ' | sed 's/^ *//; s/^[^[:alnum:]]* //')"
    if [ "$name" = ch-image-zstd ] && grep -q ReadError "$work/out/$medium.$name.log"; then
      state[$name]="failed: ch-image cannot read zstd layers (its tar reader: $(grep -o 'method tar: [^)]*)' "$work/out/$medium.$name.log" | head -n1))"
    fi
    rm -rf -- "$dir"
    return
  fi
  if [ "$round" -eq 0 ]; then
    if [ "$name" != download ] && [ -z "$(find "$check" -path '*/etc/debian_version' -print -quit)" ]; then
      state[$name]="failed: no etc/debian_version in what it unpacked"
    fi
    if [ "$name" = podman ]; then
      podman_info[$medium]=$(as_user podman --root "$dir/store" --runroot "$dir/run" \
        --storage-driver overlay --cgroup-manager cgroupfs --events-backend file info \
        --format '{{index .Store.GraphStatus "Backing Filesystem"}}, native overlay diff {{index .Store.GraphStatus "Native Overlay Diff"}}, {{.Store.GraphOptions}}' 2>&1 | tail -n1)
    fi
  else
    cat "$tf" >>"$work/out/$medium.$name"
  fi
  if [ "$medium" = disk ]; then kept_dirs+=("$dir"); else rm -rf -- "$dir"; fi
}

# stats FILE: "median min cpu_median rss_max_MB" of the runs in FILE.
stats() {
  awk '{ w[NR] = $1; c[NR] = $2 + $3; if ($4 > r) r = $4 }
    function med(a, n,   i, j, t) {
      for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
      return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    END { mn = w[1]; for (i = 2; i <= NR; i++) if (w[i] < mn) mn = w[i]
          printf "%.2f %.2f %.2f %.0f\n", med(w, NR), mn, med(c, NR), r / 1024 }' "$1"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

# ---- run -----------------------------------------------------------------------
declare -A podman_info
printf 'pull of Debian bookworm minbase (3 layers: %.1f MB gzip, %.1f MB zstd, %.1f MB of tar) from docker-registry on %s (HTTPS)\n' \
  "$(awk -v b="$gz_bytes" 'BEGIN { print b / 1e6 }')" "$(awk -v b="$zst_bytes" 'BEGIN { print b / 1e6 }')" \
  "$(awk -v b="$tar_bytes" 'BEGIN { print b / 1e6 }')" "$host"
printf '%s runs each after a warm-up, round-robin, as %s; kernel %s, %s CPUs, load %s\n' \
  "$runs" "$user" "$(uname -r)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
if [ -x "$skiff" ]; then
  printf 'skiff: %s (%s; tree %s)\n' "$skiff" "$("$skiff" --version 2>/dev/null | head -n1 || echo '?')" \
    "$(git -C "$srcdir" describe --always --dirty 2>/dev/null || echo 'not a git tree')"
else
  printf 'skiff: %s is not built\n' "$skiff"
fi
for n in "${names[@]}"; do
  case $n in
    skopeo+umoci) printf 'skopeo %s, umoci %s\n' "$(skopeo --version 2>/dev/null | awk '{print $3}')" \
      "$(umoci --version 2>/dev/null | awk '{print $3}')" ;;
    podman) printf '%s\n' "$(podman --version 2>/dev/null)" ;;
    ch-image)
      printf 'ch-image %s, build cache %s\n' "$(as_user ch-image --version 2>&1 | tail -n1)" \
        "$(as_user ch-image -s "$work/ch-probe" gestalt bucache >/dev/null 2>&1 && echo 'enabled (its default)' || echo 'not available')" ;;
  esac
done

IFS=, read -r -a media_list <<<"$media"
for medium in "${media_list[@]}"; do
  if [ "$medium" = tmpfs ]; then
    mkdir -p "$work/tmpfs"
    mount -t tmpfs -o size=8g,mode=0755 skiff-bench "$work/tmpfs"
    tmpfs_mounted=$work/tmpfs
  fi
  for name in "${names[@]}"; do state[$name]=${tools_state[$name]}; done
  kept_dirs=()
  for ((round = 0; round <= runs; round++)); do
    k=${#names[@]}
    for ((j = 0; j < k; j++)); do
      name=${names[$(((j + round) % k))]}
      [ "${state[$name]}" = ok ] || continue
      run_one "$medium" "$name" "$round"
    done
  done
  if [ "${#kept_dirs[@]}" -gt 0 ]; then rm -rf -- "${kept_dirs[@]}"; fi

  # The table.
  declare -A med=()
  printf '\n%s (%s)\n' "$medium" "$([ "$medium" = tmpfs ] && echo "a tmpfs in $work" || echo "$work/disk, $(df --output=fstype "$work" | tail -n1)")"
  printf '%-18s %9s %7s %8s %8s %12s\n' contender 'median s' 'min s' 'cpu s' 'rss MB' 'skiff/this'
  for name in "${names[@]}"; do
    if [ "${state[$name]}" = ok ]; then
      read -r m _ <<<"$(stats "$work/out/$medium.$name")"
      med[$name]=$m
    fi
  done
  for name in "${names[@]}"; do
    if [ "${state[$name]}" != ok ]; then
      printf '%-18s %s\n' "$name" "${state[$name]}"
      continue
    fi
    read -r m mn cpu rss <<<"$(stats "$work/out/$medium.$name")"
    s=skiff
    case $name in *-zstd) s='skiff-zstd' ;; esac
    r=-
    if [ -n "${med[$s]:-}" ] && [ "$name" != "$s" ]; then r=$(ratio "${med[$s]}" "$m"); fi
    printf '%-18s %9s %7s %8s %8s %12s\n' "$name" "$m" "$mn" "$cpu" "$rss" "$r"
  done
  if [ -n "${podman_info[$medium]:-}" ]; then printf 'podman storage: %s\n' "${podman_info[$medium]}"; fi
  if [ -n "$verbose" ]; then
    echo "runs: wall s, user s, sys s, peak RSS KB, voluntary and involuntary context switches"
    for name in "${names[@]}"; do
      [ "${state[$name]}" = ok ] || continue
      printf '  %-18s %s\n' "$name" "$(awk '{ printf "%s[%s %s %s %s %s %s]", (NR > 1 ? " " : ""), $1, $2, $3, $4, $5, $6 }' "$work/out/$medium.$name")"
    done
  fi
  for z in "" -zstd; do
    s=skiff$z
    [ -n "${med[$s]:-}" ] || continue
    best='' bestname=
    for p in skopeo+umoci podman ch-image; do
      v=${med[$p$z]:-}
      [ -n "$v" ] || continue
      if [ -z "$best" ] || awk -v a="$v" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$v bestname=$p$z; fi
    done
    if [ -n "$best" ]; then
      printf '%s: %s/best peer (%s) = %s (target <= 0.50)\n' "$medium" "$s" "$bestname" "$(ratio "${med[$s]}" "$best")"
    fi
    if [ -n "${med[tar-floor$z]:-}" ]; then
      printf '%s: %s/tar floor = %s (target <= 1.00)\n' "$medium" "$s" "$(ratio "${med[$s]}" "${med[tar-floor$z]}")"
    fi
  done
  unset med

  if [ "$medium" = tmpfs ]; then
    # podman's pause process holds a copy of the mount table: end it before
    # the tmpfs goes, so that nothing keeps the tmpfs alive.
    f=$work/xdg-run/libpod/tmp/pause.pid
    if [ -f "$f" ] && pid=$(cat "$f") && [ "$(stat -c %u "/proc/$pid" 2>/dev/null)" = "$uid" ]; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
    fi
    umount "$work/tmpfs"
    tmpfs_mounted=
  fi
done
