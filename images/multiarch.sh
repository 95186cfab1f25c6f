#!/bin/bash
# images/multiarch.sh BUSYBOX_PATH CACHEDIR OUTDIR
#
# Builds an OCI image layout OUTDIR whose "latest" is an image index of two
# busybox images: this host's (from BUSYBOX_PATH, Debian's busybox-static)
# and one foreign architecture (arm64 on amd64 hosts, amd64 elsewhere),
# whose busybox-static of the same version images/busybox-deb.sh fetches
# from the Debian mirror into CACHEDIR once.  Each image is made by
# images/busybox.sh, so both are as reproducible as the bundled one; the
# index lists the host's image first.  The registry tests push it with
# `skopeo copy --all` and check which one `skiff pull --platform` picks.
#
# Built in OUTDIR.tmp and renamed at the end.

if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
export LC_ALL=C TZ=UTC
prog=images/multiarch.sh
die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }

[ $# -eq 3 ] || { printf 'usage: %s BUSYBOX_PATH CACHEDIR OUTDIR\n' "$prog" >&2; exit 2; }
busybox=$1
cache=$2
outdir=${3%/}
here=$(cd "$(dirname "$0")" && pwd)

host=$(dpkg --print-architecture)
case $host in amd64) foreign=arm64 ;; *) foreign=amd64 ;; esac
foreign_bin=$(bash "$here/busybox-deb.sh" "$foreign" "$cache") || die "no $foreign busybox-static"

tmp=$outdir.tmp
stage=$(mktemp -d "${TMPDIR:-/tmp}/skiff-multiarch.XXXXXX")
trap 'rm -rf -- "$tmp" "$stage"' EXIT
trap 'exit 130' INT TERM HUP
rm -rf -- "$tmp"
mkdir -p "$tmp/blobs/sha256"

bash "$here/busybox.sh" "$busybox" "$stage/host" || die "images/busybox.sh failed for $host"
BUSYBOX_ARCH=$foreign BUSYBOX_LISTER=$busybox bash "$here/busybox.sh" "$foreign_bin" "$stage/foreign" ||
  die "images/busybox.sh failed for $foreign"
cp -- "$stage"/host/blobs/sha256/* "$stage"/foreign/blobs/sha256/* "$tmp/blobs/sha256/"

# The index: each layout's single manifest descriptor (with its platform),
# without the layout's ref name annotation.
jq -n -c -j --slurpfile h "$stage/host/index.json" --slurpfile f "$stage/foreign/index.json" '
  {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [($h[0].manifests[0], $f[0].manifests[0]) | del(.annotations)]
  }' >"$stage/index-blob.json"
hex=$(sha256sum <"$stage/index-blob.json" | cut -d' ' -f1)
size=$(stat -c %s "$stage/index-blob.json")
mv -- "$stage/index-blob.json" "$tmp/blobs/sha256/$hex"

jq -n --arg d "sha256:$hex" --argjson s "$size" '
  {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [{
      mediaType: "application/vnd.oci.image.index.v1+json",
      digest: $d,
      size: $s,
      annotations: {"org.opencontainers.image.ref.name": "latest"}
    }]
  }' >"$tmp/index.json"
printf '{"imageLayoutVersion":"1.0.0"}\n' >"$tmp/oci-layout"
chmod 0644 "$tmp/index.json" "$tmp/oci-layout" "$tmp"/blobs/sha256/*
chmod 0755 "$tmp" "$tmp/blobs" "$tmp/blobs/sha256"

rm -rf -- "$outdir"
mv -- "$tmp" "$outdir" || die "cannot rename '$tmp' to '$outdir'"
