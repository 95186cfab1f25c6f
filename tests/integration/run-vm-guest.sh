#!/bin/bash
# tests/integration/run-vm-guest.sh — the checks run-vm.t runs inside the
# cgroup v2 guest of tests/vm/run: skiff run's limits enforced for real
# (the build host cannot: its cgroup layout is a v1/v2 hybrid).  Prints
# unnumbered TAP lines and "done" at its end, as cgroup-vm-guest.sh.
#
# Environment: SKIFF (the binary), SKIFF_IMAGE (the busybox layout).
set -u
export LC_ALL=C

pass() { echo "ok $1"; }
fail() {
    local d
    echo "not ok $1"
    shift
    for d in "$@"; do printf '%s\n' "$d" | sed 's/^/# /'; done
}
is() { if [ "$1" = "$2" ]; then pass "$3"; else fail "$3" "got: '$1'" "expected: '$2'" "$ctx"; fi; }
like() { if [[ $1 =~ $2 ]]; then pass "$3"; else fail "$3" "got: '$1'" "does not match: /$2/" "$ctx"; fi; }

# The store on the guest's tmpfs (/home, /run): the overlay's layers and
# writable layer must not be on 9p.
S=$HOME/store
[ "$(id -u)" -eq 0 ] && S=/run/skiff-store
mkdir -p "$S"
ctx=
run() {
    out=$(timeout -s KILL 60 "$SKIFF" run -q --store "$S" "$@" 2>/tmp/run.err)
    status=$?
    err=$(cat /tmp/run.err)
    ctx="skiff run $*; status $status; stderr: $err"
}

"$SKIFF" pull -q --store "$S" "oci:$SKIFF_IMAGE" >/dev/null 2>/tmp/run.err ||
    fail "pull the bundled image in the guest" "$(cat /tmp/run.err)"

run --json --memory 32m --memory-swap 32m localhost/busybox sh -c \
    'x=$(head -c 100000000 /dev/zero | tr "\0" a); echo survived'
is "$(jq -r '[.oom_killed, .success] | @tsv' <<<"$out")" $'true\tfalse' \
    "--memory 32m: a job that needs 100 MB is OOM-killed, and the result says so"
like "$(jq -r .cpu_seconds <<<"$out")" '^[0-9.e-]+$' "--json: cpu_seconds from the cgroup"
peak=$(jq -r .memory_peak_bytes <<<"$out")
if [[ $peak =~ ^[0-9]+$ ]] && [ "$peak" -gt 16000000 ] && [ "$peak" -le 33554432 ]; then
    pass "--json: memory_peak_bytes from the cgroup, near the 32m limit ($peak)"
else
    fail "--json: memory_peak_bytes from the cgroup, near the 32m limit" "got: '$peak'" "$ctx"
fi

FORKS='for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 2 & done; wait; echo all-forked'
run --json --pids-limit 8 localhost/busybox sh -c "$FORKS"
like "$(jq -r '.stdout + .stderr' <<<"$out")" "can't fork" "--pids-limit 8: the job cannot fork a 13th process"
run --json --pids-limit 64 localhost/busybox sh -c "$FORKS"
is "$(jq -r .stdout <<<"$out")" "all-forked" "--pids-limit 64: the same job forks them all"

run --cpus 0.5 localhost/busybox sh -c 'cat /sys/fs/cgroup/cpu.max'
is "$out" "50000 100000" "--cpus 0.5: cpu.max in the container's cgroup"

# The /etc files as the overlay's top layer on this older kernel (Debian's:
# a layer must be attached in the namespace).  Rootless, the tmpfs store
# may refuse overlay's user xattrs (before Linux 6.6), and the root is
# then a flattened copy that has them too.
run --hostname vmh localhost/busybox sh -c \
    'cat /etc/hostname; echo "10.1.2.3 x" >>/etc/hosts && tail -n 1 /etc/hosts
     grep -c " /etc/hosts " /proc/self/mountinfo; head -n 1 /proc/self/mountinfo'
if [ "$(id -u)" -eq 0 ] || [[ $err != *"overlayfs cannot be used"* ]]; then
    like "$status:$out" $'^0:vmh\n10.1.2.3 x\n0\n[^\n]* / / [^\n]* - overlay ' \
        "an overlay root: /etc/hostname and /etc/hosts from its top layer, writable"
else
    like "$status:$out" $'^0:vmh\n10.1.2.3 x\n' "a flattened root: /etc/hostname and /etc/hosts"
fi

echo done
