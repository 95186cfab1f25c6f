#!/bin/bash
# images/busybox.sh BUSYBOX_PATH OUTDIR
#
# Environment (for images of another architecture, see images/multiarch.sh):
# BUSYBOX_ARCH, the Debian architecture of BUSYBOX_PATH (default: this
# host's); BUSYBOX_LISTER, a busybox of the same version that runs here, to
# list the applets (default: BUSYBOX_PATH itself).
#
# Build a reproducible OCI image layout (oci-layout, index.json,
# blobs/sha256/...) of a busybox userland from Debian's busybox-static
# binary. The same binary gives byte-identical blobs, hence the same
# digests, on every run and in any directory: file modes, owners, times
# and member order are all fixed, gzip stores no name or time, and the
# JSON is written with a fixed key order and a fixed "created" time.
#
# The layout is built in OUTDIR.tmp and renamed to OUTDIR at the end, so a
# failed or interrupted build never leaves a partial OUTDIR behind.

# `make` runs us through $(SHELL), which may be a POSIX sh: switch to bash.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
export LC_ALL=C TZ=UTC

prog=images/busybox.sh
die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }

[ $# -eq 2 ] || { printf 'usage: %s BUSYBOX_PATH OUTDIR\n' "$prog" >&2; exit 2; }
busybox=$1
outdir=${2%/}
[ -n "$outdir" ] || die "OUTDIR is empty"
[ -f "$busybox" ] || die "busybox binary '$busybox' does not exist or is not a regular file"
[ -x "$busybox" ] || die "busybox binary '$busybox' is not executable"
lister=${BUSYBOX_LISTER:-$busybox}
for tool in jq tar gzip sha256sum; do
  command -v "$tool" >/dev/null || die "'$tool' is needed to build the image but is not installed"
done

# The applets, as paths relative to / (bin/ls, usr/bin/[, linuxrc ...).
applets=$("$lister" --list-full) ||
  die "'$lister --list-full' failed: is '$lister' Debian's busybox-static?"
grep -qx 'bin/sh' <<<"$applets" ||
  die "'$lister --list-full' does not list bin/sh: is '$lister' a full busybox build?"
version=$("$lister" 2>/dev/null | sed -n '1s/^BusyBox \(v[^ ]*\).*/\1/p' || true)
[ -n "$version" ] || version=unknown

# OCI platform of this host: Debian architecture names -> GOARCH names.
if [ -n "${BUSYBOX_ARCH:-}" ]; then
  debarch=$BUSYBOX_ARCH
elif command -v dpkg >/dev/null; then
  debarch=$(dpkg --print-architecture)
else
  debarch=$(uname -m)
fi
variant=
case $debarch in
  amd64|x86_64) arch=amd64 ;;
  arm64|aarch64) arch=arm64 variant=v8 ;;
  armhf|armv7l) arch=arm variant=v7 ;;
  armel) arch=arm variant=v5 ;;
  i386|i686) arch=386 ;;
  ppc64el|ppc64le) arch=ppc64le ;;
  s390x) arch=s390x ;;
  riscv64) arch=riscv64 ;;
  mips64el) arch=mips64le ;;
  loong64|loongarch64) arch=loong64 ;;
  *) die "unknown architecture '$debarch': add its OCI name to $prog" ;;
esac

tmp=$outdir.tmp
stage=
cleanup() {
  rm -rf -- "$tmp"
  if [ -n "$stage" ]; then rm -rf -- "$stage"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
rm -rf -- "$tmp"
mkdir -p -- "$tmp/blobs/sha256" || die "cannot create '$tmp'"
stage=$(mktemp -d "${TMPDIR:-/tmp}/skiff-busybox.XXXXXX")
root=$stage/rootfs

# ---- the root filesystem --------------------------------------------------
mkdir "$root"
for d in bin dev etc home proc root run sbin sys tmp usr usr/bin usr/sbin var var/tmp; do
  mkdir -p "$root/$d"
  chmod 0755 "$root/$d"
done
chmod 0700 "$root/root"
chmod 1777 "$root/tmp" "$root/var/tmp"

cp -- "$busybox" "$root/bin/busybox"
chmod 0755 "$root/bin/busybox"

# Every applet is a relative symlink to /bin/busybox (bin/ls -> busybox,
# usr/bin/env -> ../../bin/busybox), so it also resolves on the host.
while IFS= read -r applet; do
  case $applet in
    ''|bin/busybox) continue ;;
    /*|*..*) die "'$busybox --list-full' gave an unexpected path '$applet'" ;;
  esac
  dir=${applet%/*}
  [ "$dir" = "$applet" ] && dir=
  up=
  if [ -n "$dir" ]; then
    [ -d "$root/$dir" ] || { mkdir -p "$root/$dir" && chmod 0755 "$root/$dir"; }
    slashes=${dir//[!\/]/}
    up=..
    for ((i = 0; i < ${#slashes}; i++)); do up=$up/..; done
    up=$up/
  fi
  ln -sfn "${up}bin/busybox" "$root/$applet"
done <<<"$applets"

cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
user:x:1000:
nogroup:x:65534:
EOF
chmod 0644 "$root/etc/passwd" "$root/etc/group"
mkdir "$root/home/user"
chmod 0755 "$root/home/user"

# ---- the layer ------------------------------------------------------------
# Members sorted by name, no "./" prefix, owners 0:0 except /home/user
# (1000:1000, appended as a second archive), mtime 0, no atime/ctime, pax
# header names without a pid in them.
tar_opts=(--format=posix --numeric-owner --mtime=@0 --no-recursion
  '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime'
  --no-acls --no-xattrs --no-selinux)
(cd "$root" && find . -mindepth 1 ! -path ./home/user | sed 's|^\./||' | sort) >"$stage/members"
tar -C "$root" "${tar_opts[@]}" --owner=0 --group=0 -T "$stage/members" -cf "$stage/layer.tar" ||
  die "tar failed to write the layer"
tar -C "$root" "${tar_opts[@]}" --owner=1000 --group=1000 -cf "$stage/home.tar" home/user ||
  die "tar failed to write the /home/user part of the layer"
tar -Af "$stage/layer.tar" "$stage/home.tar" || die "tar failed to concatenate the layer parts"

diff_id=sha256:$(sha256sum <"$stage/layer.tar" | cut -d' ' -f1)
gzip -9 -n -c <"$stage/layer.tar" >"$stage/layer.tar.gz" || die "gzip failed to compress the layer"

# Store a file as a blob; print "DIGEST SIZE".
add_blob() {
  local hex size
  hex=$(sha256sum <"$1" | cut -d' ' -f1)
  size=$(stat -c %s "$1")
  mv -f -- "$1" "$tmp/blobs/sha256/$hex"
  chmod 0644 "$tmp/blobs/sha256/$hex"
  printf 'sha256:%s %s\n' "$hex" "$size"
}

read -r layer_digest layer_size < <(add_blob "$stage/layer.tar.gz")

# ---- config, manifest, index ----------------------------------------------
created=1970-01-01T00:00:00Z
jq -n -c -j --arg arch "$arch" --arg variant "$variant" --arg created "$created" \
  --arg diff_id "$diff_id" --arg version "$version" '
  {
    created: $created,
    architecture: $arch
  }
  + (if $variant != "" then {variant: $variant} else {} end)
  + {
    os: "linux",
    config: {
      Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
      Cmd: ["sh"],
      WorkingDir: "/"
    },
    rootfs: {type: "layers", diff_ids: [$diff_id]},
    history: [{
      created: $created,
      created_by: ("images/busybox.sh: busybox " + $version + " (Debian busybox-static)")
    }]
  }' >"$stage/config.json"
read -r config_digest config_size < <(add_blob "$stage/config.json")

jq -n -c -j --arg cd "$config_digest" --argjson cs "$config_size" \
  --arg ld "$layer_digest" --argjson ls "$layer_size" '
  {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $cd, size: $cs},
    layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $ld, size: $ls}]
  }' >"$stage/manifest.json"
read -r manifest_digest manifest_size < <(add_blob "$stage/manifest.json")

jq -n --arg md "$manifest_digest" --argjson ms "$manifest_size" \
  --arg arch "$arch" --arg variant "$variant" '
  {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [{
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: $md,
      size: $ms,
      platform: ({architecture: $arch, os: "linux"}
                 + (if $variant != "" then {variant: $variant} else {} end)),
      annotations: {"org.opencontainers.image.ref.name": "latest"}
    }]
  }' >"$tmp/index.json"
printf '{"imageLayoutVersion":"1.0.0"}\n' >"$tmp/oci-layout"
chmod 0644 "$tmp/index.json" "$tmp/oci-layout"
chmod 0755 "$tmp" "$tmp/blobs" "$tmp/blobs/sha256"

# ---- publish --------------------------------------------------------------
if [ -e "$outdir" ]; then
  rm -rf -- "$outdir.old"
  mv -- "$outdir" "$outdir.old" || die "cannot move the old '$outdir' aside"
fi
mv -- "$tmp" "$outdir" || die "cannot rename '$tmp' to '$outdir'"
rm -rf -- "$outdir.old"
