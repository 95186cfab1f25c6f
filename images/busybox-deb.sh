#!/bin/bash
# images/busybox-deb.sh DEBARCH CACHEDIR
#
# Prints the path of Debian's busybox-static binary for the architecture
# DEBARCH (arm64, amd64 …), of exactly the version installed on this host
# (dpkg-query), so that a multi-arch image is made of one source version
# and builds the same on every run.  The .deb is fetched once into
# CACHEDIR (the build tree's images/debs by default in the Makefile;
# SKIFF_DEB_CACHE overrides) and unpacked next to it.
#
# The download uses apt-get with a private state directory that knows only
# DEBARCH: the host's dpkg architectures and apt lists are not touched
# (no `dpkg --add-architecture`), and apt still checks the archive's
# signatures with the host's keyrings and sources.  It needs the Debian
# mirror once; later runs use the cache.

if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
export LC_ALL=C
prog=images/busybox-deb.sh
die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }

[ $# -eq 2 ] || { printf 'usage: %s DEBARCH CACHEDIR\n' "$prog" >&2; exit 2; }
arch=$1
cache=${2%/}
case $arch in *[!a-z0-9]* | '') die "'$arch' is not a Debian architecture name" ;; esac

version=$(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null) ||
  die "busybox-static is not installed on this host (.ci/deps installs it): its version picks the $arch one"
# "1:1.35.0-4+deb12u1+b1" -> a file name without the epoch colon.
fversion=${version#*:}
bin=$cache/busybox-static_${fversion}_$arch/bin/busybox
if [ -x "$bin" ]; then
  printf '%s\n' "$bin"
  exit 0
fi

mkdir -p "$cache" || die "cannot create '$cache'"
deb=$cache/busybox-static_${fversion}_$arch.deb
if [ ! -s "$deb" ]; then
  state=$(mktemp -d "${TMPDIR:-/tmp}/skiff-apt.XXXXXX")
  trap 'rm -rf -- "$state"' EXIT
  mkdir -p "$state/lists/partial" "$state/cache/archives/partial"
  apt=(-q -o "Dir::State::Lists=$state/lists" -o "Dir::Cache=$state/cache"
    -o "APT::Architecture=$arch" -o "APT::Architectures::=$arch"
    -o Debug::NoLocking=1 -o APT::Sandbox::User="$(id -un)")
  apt-get "${apt[@]}" update >"$state/log" 2>&1 ||
    die "apt-get update for $arch failed (is the Debian mirror reachable?): $(tail -n 3 "$state/log")"
  (cd "$state" && apt-get "${apt[@]}" download "busybox-static:$arch=$version") >>"$state/log" 2>&1 ||
    die "apt-get download busybox-static:$arch=$version failed: $(tail -n 3 "$state/log")"
  got=$(find "$state" -maxdepth 1 -name 'busybox-static_*.deb' | head -n 1)
  [ -n "$got" ] || die "apt-get download left no .deb in $state"
  mv -f -- "$got" "$deb.tmp" && mv -f -- "$deb.tmp" "$deb"
fi

out=$cache/busybox-static_${fversion}_$arch
rm -rf -- "$out.tmp"
dpkg-deb -x "$deb" "$out.tmp" || die "dpkg-deb cannot unpack '$deb'"
[ -f "$out.tmp/bin/busybox" ] || die "'$deb' has no bin/busybox"
rm -rf -- "$out"
mv -- "$out.tmp" "$out"
printf '%s\n' "$bin"
