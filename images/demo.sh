#!/bin/bash
# images/demo.sh SKIFF LAYOUT — `make demo`
#
# Unpack the image LAYOUT into a temporary bundle, write its config.json
# with `SKIFF oci spec` (--rootless when not root), and run a shell in the
# container that says where it is. Exits with the container's status; the
# bundle and the container are removed whatever happens.

if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

prog=images/demo.sh
die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }

[ $# -eq 2 ] || { printf 'usage: %s SKIFF LAYOUT\n' "$prog" >&2; exit 2; }
skiff=$1
layout=$2
here=$(cd "$(dirname "$0")" && pwd)
[ -x "$skiff" ] || die "skiff binary '$skiff' does not exist or is not executable (run 'make' first)"
[ -f "$layout/index.json" ] || die "image layout '$layout' has no index.json (run 'make' first)"
command -v jq >/dev/null || die "'jq' is needed but is not installed"

id=demo-$$
bundle=
started=no
# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
  if [ "$started" = yes ]; then
    "$skiff" oci delete --force "$id" >/dev/null 2>&1 || true
  fi
  if [ -n "$bundle" ]; then rm -rf -- "$bundle"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
bundle=$(mktemp -d "${TMPDIR:-/tmp}/skiff-demo.XXXXXX")

bash "$here/oci-unpack.sh" "$layout" "$bundle/rootfs" ||
  die "cannot unpack '$layout' into the bundle"

spec_opts=()
if [ "$(id -u)" -ne 0 ]; then spec_opts+=(--rootless); fi
"$skiff" oci spec "${spec_opts[@]}" --bundle "$bundle" ||
  die "'$skiff oci spec' failed"
[ -f "$bundle/config.json" ] || die "'$skiff oci spec' wrote no $bundle/config.json"

# shellcheck disable=SC2016 # expanded by the shell in the container
script='echo "hello from skiff: $(hostname), pid $$, uid_map $(echo $(cat /proc/self/uid_map))"'
jq --arg script "$script" \
  '.process.args = ["sh", "-c", $script] | .process.terminal = false' \
  "$bundle/config.json" >"$bundle/config.json.new" ||
  die "cannot patch $bundle/config.json"
mv -- "$bundle/config.json.new" "$bundle/config.json"

started=yes
status=0
"$skiff" oci run --bundle "$bundle" "$id" || status=$?
exit "$status"
