#!/bin/bash
# tests/integration/podman-vm-guest.sh — the checks podman.t runs as root
# inside the pure cgroup v2 guest of tests/vm/run: `podman --runtime
# skiff-oci run --memory 32m` applies the limit there.  The guest sees the
# host's /etc read-only, so Podman's network configuration goes to the
# guest's tmpfs (--network-config-dir).  Prints unnumbered TAP lines for
# podman.t and "done" at the end.
#
# Environment: SKIFF_OCI; SKIFF_IMAGE (the bundled busybox OCI layout).
set -u
export LC_ALL=C

pass() { echo "ok $1"; }
fail() {
    local d
    echo "not ok $1"
    shift
    for d in "$@"; do printf '%s\n' "$d" | sed 's/^/# /'; done
}

P=/tmp/podman
mkdir -p "$P"
# Not in the repository's top (the guest's cwd, the host's build tree):
# conmon writes files into its working directory (an empty "oom" when it
# sees a memory event of the container's cgroup).
cd "$P" || exit 1
PM=(podman --root "$P/root" --runroot "$P/runroot" --storage-driver vfs
    --cgroup-manager cgroupfs --events-backend file --tmpdir "$P/tmp"
    --network-config-dir "$P/net" --runtime "$SKIFF_OCI")
RUN=(run --rm --network none --memory 32m --memory-swap 32m localhost/busybox)

if ! id=$("${PM[@]}" pull -q "oci:$SKIFF_IMAGE:latest" 2>"$P/err") ||
    ! "${PM[@]}" tag "$id" localhost/busybox 2>>"$P/err"; then
    fail "podman pull oci:DIR in the guest" "$(tail -n 5 "$P/err")"
    echo done
    exit 0
fi
pass "podman pull oci:DIR in the guest"

out=$(timeout 120 "${PM[@]}" "${RUN[@]}" cat /sys/fs/cgroup/memory.max 2>"$P/err")
rc=$?
if [ $rc -eq 0 ] && [ "$out" = 33554432 ]; then
    pass "podman run --memory 32m: the container's memory.max is 33554432"
else
    fail "podman run --memory 32m: the container's memory.max is 33554432" \
        "exit status $rc, output '$out'" "$(tail -n 5 "$P/err")"
fi

# Doubling a string until the limit stops it: the OOM killer, exit 137.
timeout 120 "${PM[@]}" "${RUN[@]}" sh -c 'x=a; while :; do x="$x$x"; done' >/dev/null 2>"$P/err"
rc=$?
if [ $rc -eq 137 ]; then
    pass "podman run --memory 32m: a process using more is OOM-killed (exit 137)"
else
    fail "podman run --memory 32m: a process using more is OOM-killed (exit 137)" \
        "exit status $rc" "$(tail -n 5 "$P/err")"
fi

left=$("${PM[@]}" ps -aq 2>&1)
if [ -z "$left" ]; then
    pass "no container is left in the guest"
else
    fail "no container is left in the guest" "$left"
fi
echo done
