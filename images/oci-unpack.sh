#!/bin/bash
# images/oci-unpack.sh LAYOUT DEST [REF]
#
# Unpack an image from the OCI image layout LAYOUT into the directory DEST
# (a bundle's rootfs), with jq and tar. REF is the
# org.opencontainers.image.ref.name of the manifest in index.json; without
# it, "latest", or else the only manifest. An index pointing to an image
# index picks the manifest for this host's platform.
#
# Every blob is checked (size and sha256) before use, and each
# uncompressed layer against the config's rootfs.diff_ids. Layers are
# applied in order; whiteouts (.wh.NAME) remove NAME from the lower
# layers and opaque markers (.wh..wh..opq) empty their directory first.
# As non-root, file owners are not restored (tar --no-same-owner).
#
# DEST must be absent or empty. This is a test tool for trusted images:
# it refuses layers whose paths leave DEST (absolute paths, "..", or a
# symlink of a lower layer pointing outside), but it is no sandbox.

if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
export LC_ALL=C

prog=oci-unpack.sh
die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }

[ $# -eq 2 ] || [ $# -eq 3 ] || {
  printf 'usage: %s LAYOUT DEST [REF]\n' "$prog" >&2
  exit 2
}
layout=${1%/}
dest=$2
ref=${3-}
for tool in jq tar sha256sum; do
  command -v "$tool" >/dev/null || die "'$tool' is needed but is not installed"
done

[ -d "$layout" ] || die "image layout '$layout' is not a directory"
[ -f "$layout/oci-layout" ] || die "'$layout' is not an OCI image layout: no oci-layout file"
[ -f "$layout/index.json" ] || die "'$layout' is not an OCI image layout: no index.json"
jq -e '.imageLayoutVersion | type == "string"' "$layout/oci-layout" >/dev/null 2>&1 ||
  die "'$layout/oci-layout' is not valid: expected {\"imageLayoutVersion\": \"1.0.0\"}"

dest_created=no
if [ -e "$dest" ]; then
  [ -d "$dest" ] || die "destination '$dest' exists and is not a directory"
  [ -z "$(ls -A -- "$dest")" ] || die "destination '$dest' is not empty"
else
  mkdir -p -- "$dest" || die "cannot create the destination '$dest'"
  dest_created=yes
fi
dest_real=$(realpath -e -- "$dest")

# On failure, leave DEST as it was: removed if we made it, else empty.
finished=no
work=
cleanup() {
  if [ -n "$work" ]; then rm -rf -- "$work"; fi
  if [ "$finished" = no ]; then
    chmod -R u+rwx -- "$dest_real" 2>/dev/null || true
    if [ "$dest_created" = yes ]; then
      rm -rf -- "$dest_real"
    else
      find "$dest_real" -mindepth 1 -maxdepth 1 -exec rm -rf -- {} +
    fi
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
work=$(mktemp -d "${TMPDIR:-/tmp}/oci-unpack.XXXXXX")

# blob_path DIGEST SIZE WHAT: check the blob and print its path.
blob_path() {
  local digest=$1 size=$2 what=$3 hex path actual
  case $digest in
    sha256:*) hex=${digest#sha256:} ;;
    *:*) die "$what $digest: unsupported digest algorithm '${digest%%:*}' (only sha256)" ;;
    *) die "$what '$digest': not a digest (expected sha256:HEX)" ;;
  esac
  [[ $hex =~ ^[0-9a-f]{64}$ ]] || die "$what $digest: malformed sha256 digest"
  path=$layout/blobs/sha256/$hex
  [ -f "$path" ] || die "$what $digest: blob missing (no file $path)"
  actual=$(stat -c %s -- "$path")
  if [ -n "$size" ] && [ "$actual" != "$size" ]; then
    die "$what $digest: blob $path is $actual bytes, the descriptor says $size"
  fi
  actual=sha256:$(sha256sum <"$path" | cut -d' ' -f1)
  [ "$actual" = "$digest" ] ||
    die "$what $digest: blob $path is corrupt: its content has digest $actual"
  printf '%s\n' "$path"
}

# jq_blob FILTER FILE WHAT: run jq on a JSON blob, naming it on failure.
jq_blob() {
  jq -r "$1" "$2" 2>/dev/null || die "$3: $2 is not valid JSON or not the expected document"
}

# ---- pick the manifest ----------------------------------------------------
index_mt='application/vnd.oci.image.index.v1+json'
docker_list_mt='application/vnd.docker.distribution.manifest.list.v2+json'
manifest_mt='application/vnd.oci.image.manifest.v1+json'
docker_manifest_mt='application/vnd.docker.distribution.manifest.v2+json'

jq -e '.manifests | type == "array"' "$layout/index.json" >/dev/null 2>&1 ||
  die "'$layout/index.json' is not an image index: no \"manifests\" array"
refname='org.opencontainers.image.ref.name'
if [ -n "$ref" ]; then
  desc=$(jq -c --arg r "$ref" --arg k "$refname" \
    '[.manifests[] | select(.annotations[$k]? == $r)] | first // empty' "$layout/index.json")
  [ -n "$desc" ] || die "'$layout' has no manifest named '$ref' (names: $(
    jq -r --arg k "$refname" '[.manifests[].annotations[$k]? // empty] | join(", ")' \
      "$layout/index.json"))"
else
  desc=$(jq -c --arg k "$refname" '
    ([.manifests[] | select(.annotations[$k]? == "latest")] | first)
    // (if (.manifests | length) == 1 then .manifests[0] else empty end)' "$layout/index.json")
  [ -n "$desc" ] ||
    die "'$layout/index.json' has no manifest named 'latest' and more than one manifest: give REF"
  ref=latest
fi

case $(uname -m) in
  x86_64) host_arch=amd64 ;; aarch64) host_arch=arm64 ;; armv7l) host_arch=arm ;;
  i?86) host_arch=386 ;; ppc64le) host_arch=ppc64le ;; s390x) host_arch=s390x ;;
  riscv64) host_arch=riscv64 ;; *) host_arch=$(uname -m) ;;
esac

# Follow nested indexes down to a manifest for this platform.
for _ in 1 2 3 4; do
  IFS=$'\t' read -r mt digest size < <(jq -r '[.mediaType // "", .digest // "", .size // ""] | @tsv' <<<"$desc")
  [ -n "$digest" ] || die "the descriptor of '$ref' in '$layout/index.json' has no digest"
  case $mt in
    "$manifest_mt" | "$docker_manifest_mt") break ;;
    "$index_mt" | "$docker_list_mt")
      path=$(blob_path "$digest" "$size" "image index")
      desc=$(jq -c --arg a "$host_arch" \
        '[.manifests[]? | select(.platform.os == "linux" and .platform.architecture == $a)] | first // empty' \
        "$path" 2>/dev/null) || die "image index $digest: $path is not valid JSON"
      [ -n "$desc" ] || die "image index $digest has no manifest for linux/$host_arch"
      ;;
    *) die "descriptor $digest of '$ref': unsupported media type '$mt'" ;;
  esac
done
case $mt in
  "$manifest_mt" | "$docker_manifest_mt") ;;
  *) die "'$ref' in '$layout': image indexes nested too deeply" ;;
esac

manifest=$(blob_path "$digest" "$size" "manifest")
jq -e '(.config.digest | type == "string") and (.layers | type == "array")' "$manifest" >/dev/null 2>&1 ||
  die "manifest $digest: $manifest is not an image manifest (no config or layers)"
IFS=$'\t' read -r cdigest csize < <(jq_blob '[.config.digest, .config.size // ""] | @tsv' "$manifest" "manifest $digest")
config=$(blob_path "$cdigest" "$csize" "config")
nlayers=$(jq_blob '.layers | length' "$manifest" "manifest $digest")
ndiff=$(jq_blob '.rootfs.diff_ids | length' "$config" "config $cdigest")
[ "$nlayers" = "$ndiff" ] ||
  die "config $cdigest lists $ndiff diff_ids but manifest $digest has $nlayers layers"

# ---- safety of paths --------------------------------------------------------
# check_members LIST WHAT: every member stays inside DEST, also through
# the symlinks lower layers left in DEST.
check_members() {
  local list=$1 what=$2 bad
  bad=$(grep -E -m1 '^/|(^|/)\.\.(/|$)' "$list" || true)
  [ -z "$bad" ] || die "$what: member '$bad' leaves the root filesystem"
  sed -e 's|^\./||' -e 's|/*$||' -e '/\//!d' -e 's|/[^/]*$||' "$list" | sort -u >"$work/dirs"
  [ -s "$work/dirs" ] || return 0
  while IFS= read -r resolved; do
    case $resolved in
      "$dest_real" | "$dest_real"/*) ;;
      *) die "$what: a member would be written at '$resolved', outside '$dest' (a symlink of a lower layer points outside)" ;;
    esac
  done < <(sed "s|^|$dest_real/|" "$work/dirs" | tr '\n' '\0' | xargs -0 realpath -m --)
}

# ---- apply the layers ---------------------------------------------------------
tar_x=(-x -p --numeric-owner --delay-directory-restore
  --warning=no-unknown-keyword --warning=no-timestamp --exclude=.wh..wh..opq --exclude='.wh.*')
if [ "$(id -u)" -ne 0 ]; then
  tar_x+=(--no-same-owner)
else
  tar_x+=(--same-owner)
fi

for ((i = 0; i < nlayers; i++)); do
  IFS=$'\t' read -r lmt ldigest lsize < <(jq_blob ".layers[$i] | [.mediaType // \"\", .digest // \"\", .size // \"\"] | @tsv" "$manifest" "manifest $digest")
  diff_id=$(jq_blob ".rootfs.diff_ids[$i]" "$config" "config $cdigest")
  what="layer $((i + 1))/$nlayers $ldigest"
  blob=$(blob_path "$ldigest" "$lsize" "layer $((i + 1))/$nlayers")
  case $lmt in
    *.tar+gzip | *.tar.gzip) decomp=(gzip -dc) ;;
    *.tar+zstd) command -v zstd >/dev/null || die "$what is zstd-compressed but 'zstd' is not installed"
      decomp=(zstd -dcq) ;;
    *.tar) decomp=(cat) ;;
    *) die "$what: unsupported layer media type '$lmt'" ;;
  esac
  tarball=$work/layer.tar
  "${decomp[@]}" <"$blob" >"$tarball" || die "$what: cannot decompress $blob (${decomp[*]} failed)"
  actual=sha256:$(sha256sum <"$tarball" | cut -d' ' -f1)
  [ "$actual" = "$diff_id" ] ||
    die "$what: uncompressed content has digest $actual, config $cdigest says diff_id $diff_id"
  tar --quoting-style=literal -tf "$tarball" >"$work/members" 2>"$work/tar.err" ||
    die "$what: not a valid tar archive: $(head -n1 "$work/tar.err")"
  check_members "$work/members" "$what"

  # Whiteouts apply to the lower layers: remove, then extract this layer.
  while IFS= read -r member; do
    member=${member#./}
    member=${member%/}
    name=${member##*/}
    dir=
    [ "$name" = "$member" ] || dir=${member%/*}
    target=$dest_real${dir:+/$dir}
    case $name in
      .wh..wh..opq)
        if [ -d "$target" ] && [ ! -L "$target" ]; then
          find "$target" -mindepth 1 -maxdepth 1 -exec rm -rf -- {} +
        fi
        ;;
      .wh.*)
        rm -rf -- "${target:?}/${name#.wh.}"
        ;;
    esac
  done < <(grep -E '(^|/)\.wh\.[^/]*/?$' "$work/members" || true)

  # A non-directory replaces a lower directory: tar would not remove it.
  while IFS= read -r member; do
    member=${member#./}
    case $member in */ | '') continue ;; esac
    if [ -d "$dest_real/$member" ] && [ ! -L "$dest_real/$member" ]; then
      rm -rf -- "${dest_real:?}/$member"
    fi
  done <"$work/members"

  tar -C "$dest_real" "${tar_x[@]}" -f "$tarball" 2>"$work/tar.err" ||
    die "$what: tar could not extract it into '$dest': $(grep -v '^tar: Exiting' "$work/tar.err" | head -n3)"
done
finished=yes
