#!/bin/bash
# The VM harness itself (tests/vm/run): the guest boots, has pure cgroup
# v2 with a subtree delegated to the unprivileged user (memory cpu pids io
# offered, writable by the user), binaries built here run there, the
# command's output and exit status come back (0 and 3, as the user and as
# root), --disk gives /dev/vda, a timeout is a harness failure (125) and
# leaves no qemu behind.  Reports how long a boot takes.
#
# Skipped (1..0 # SKIP) only where tests/vm/check-env says the VM cannot
# run: qemu, the kernel or busybox-static missing.
set -u
export LC_ALL=C

top=$(cd "$(dirname "$0")/../.." && pwd -P)
RUN=$top/tests/vm/run
: "${SKIFF_OCI:=$top/skiff-oci}"
export SKIFF_OCI
TIMEOUT=${SKIFF_VM_TEST_TIMEOUT:-180}

# ---- TAP -------------------------------------------------------------------
n=0
failed=0
pass() { n=$((n + 1)); echo "ok $n - $1"; }
fail() {
    n=$((n + 1)); failed=$((failed + 1))
    echo "not ok $n - $1"
    shift
    local d
    for d in "$@"; do printf '%s\n' "$d" | sed 's/^/# /'; done
}
diag() { printf '%s\n' "$*" | sed 's/^/# /'; }
# check DESC COND...: passes when the test command COND succeeds; shows
# the last run's output when it fails.
check() {
    local desc=$1
    shift
    if "$@"; then pass "$desc"; else fail "$desc" "check: $*" "$CONTEXT"; fi
}

if ! why=$("$top/tests/vm/check-env" 2>&1); then
    echo "1..0 # SKIP the VM cannot run here: ${why//#/no.}"
    exit 0
fi
diag "tests/vm/check-env: $why"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/skiff-vm-t.XXXXXX") || { echo "Bail out! mktemp failed"; exit 1; }
trap 'rm -rf "$tmp"' EXIT

# start NAME ARGS...: tests/vm/run ARGS (with --times and a timeout) in
# the background.  result NAME: wait for it; sets status, out, err
# (without the timing line), boot (the timing line), CONTEXT.
declare -A PIDS
start() {
    local name=$1
    shift
    printf '%q ' "$@" | cut -c1-160 >"$tmp/$name.cmd"
    TMPDIR=$tmp "$RUN" --times --timeout "$TIMEOUT" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null &
    PIDS[$name]=$!
}
result() {
    local name=$1
    wait "${PIDS[$name]}"
    status=$?
    out=$(cat "$tmp/$name.out")
    boot=$(grep '^tests/vm/run: .*guest up at the job' "$tmp/$name.err")
    err=$(grep -v '^tests/vm/run: .*guest up at the job' "$tmp/$name.err")
    CONTEXT="command: tests/vm/run $(cat "$tmp/$name.cmd")"$'\n'"status: $status"$'\n'"stdout: $(tail -n 20 <<<"$out")"$'\n'"stderr: $(tail -n 20 <<<"$err")"
}
# fact KEY: the value of the line KEY=VALUE the guest printed.
fact() { sed -n "s/^$1=//p" <<<"$out" | head -n 1; }
positive() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -gt 0 ]; }
has_words() {
    local w
    for w in $2; do
        [[ " $1 " == *" $w "* ]] || return 1
    done
}

# ---- as the user -------------------------------------------------------------
# The guest prints what it sees as KEY=VALUE lines, then exits 3.
# shellcheck disable=SC2016 # for the guest's shell
user_script='
c=$SKIFF_VM_CGROUP
echo uid=$(id -u)
echo cwd=$(pwd)
echo cgroup=$(cat /proc/self/cgroup)
echo fstype=$(stat -f -c %T /sys/fs/cgroup)
echo v1=$(grep -c " cgroup " /proc/mounts)
echo rootfs=$(stat -f -c %T /)
echo controllers=$(cat "$c/cgroup.controllers")
echo owner=$(stat -c %u "$c/cgroup.procs")
mkdir "$c/leaf" "$c/child" && echo $$ >"$c/leaf/cgroup.procs" &&
    echo "+memory +pids +cpu +io" >"$c/cgroup.subtree_control" &&
    echo 32M >"$c/child/memory.max" && echo 10 >"$c/child/pids.max" &&
    echo moved=$(cat /proc/self/cgroup) && echo child_memory_max=$(cat "$c/child/memory.max") &&
    echo delegated=ok
echo userns=$(unshare -Ur id -u 2>&1)
echo var=$MY_VAR
echo skiff=$("$SKIFF_OCI" --version 2>&1 | head -n 1)
echo to-stderr >&2
exit 3'
# The first boot alone, to measure it; the others together.
start user --env SKIFF_OCI MY_VAR='a b' "$user_script"
result user
check "the guest boots and runs the command (as the user)" test "$status" != 125
[ -n "$boot" ] && diag "boot as the user: ${boot#tests/vm/run: }"
check "exit status 3 comes back (as the user)" test "$status" = 3
check "the command runs as the unprivileged user" positive "$(fact uid)"
check "its cwd is the repository, at the host's path" test "$(fact cwd)" = "$top"
check "/sys/fs/cgroup is cgroup2" test "$(fact fstype)" = cgroup2fs
check "no cgroup v1 hierarchy is mounted (pure v2)" test "$(fact v1)" = 0
check "/ is a tmpfs (pivot_root works)" test "$(fact rootfs)" = tmpfs
check "the command is in user@UID.service of its uid" \
    test "$(fact cgroup)" = "0::/user.slice/user-$(fact uid).slice/user@$(fact uid).service/app.slice/skiff-vm.scope"
check "its cgroup offers memory cpu pids io" has_words "$(fact controllers)" "memory cpu pids io"
check "its cgroup.procs is the user's" test "$(fact owner)" = "$(fact uid)"
check "the user can make cgroups, move itself and set limits there" test "$(fact delegated)" = ok
check "the limit is set (memory.max 32M)" test "$(fact child_memory_max)" = 33554432
check "the user can make a user namespace" test "$(fact userns)" = 0
check "VAR=VALUE reaches the command" test "$(fact var)" = "a b"
if [ -x "$SKIFF_OCI" ]; then
    check "a binary built on the host runs in the guest" grep -q '^skiff=skiff version' <<<"$out"
else
    echo "ok $((n += 1)) # SKIP $SKIFF_OCI is not built"
fi
check "stdout and stderr come back apart" test "$err" = to-stderr

# ---- as root, with a disk ------------------------------------------------------
# shellcheck disable=SC2016 # for the guest's shell
root_script='
echo uid=$(id -u)
echo cgroup=$(cat /proc/self/cgroup)
echo disk=$SKIFF_VM_DISK
echo devno=$SKIFF_VM_DISK_DEVNO
echo sysdev=$(cat /sys/block/vda/dev)
echo size=$(cat /sys/block/vda/size)
echo written >"$MARK"
exit 0'
# A file written in the guest, seen here (the build tree's tests/integration/tmp).
mark_dir=${SKIFF_BUILDDIR:-$top}/tests/integration/tmp
mkdir -p "$mark_dir" 2>/dev/null
mark=$mark_dir/vm-mark.$$
rm -f "$mark"
trap 'rm -rf "$tmp" "$mark"' EXIT
start root --root --disk 64M MARK="$mark" "$root_script"
start user0 true
start root3 --root 'exit 3'
timeout_start=$(date +%s)
TIMEOUT=2 start timeout 'sleep 600'

result root
check "the guest boots and runs the command (as root)" test "$status" != 125
[ -n "$boot" ] && diag "boot as root with a disk, 3 other guests booting alongside: ${boot#tests/vm/run: }"
check "exit status 0 comes back (as root)" test "$status" = 0
check "--root runs the command as root" test "$(fact uid)" = 0
check "root's command is in a leaf cgroup, not the root one" test "$(fact cgroup)" = "0::/system.slice/skiff-vm.scope"
check "--disk gives /dev/vda" test "$(fact disk)" = /dev/vda
check "SKIFF_VM_DISK_DEVNO is its MAJOR:MINOR" test -n "$(fact devno)" -a "$(fact devno)" = "$(fact sysdev)"
check "the disk has the size asked for (64M)" test "$(fact size)" = 131072
if [ -w "$mark_dir" ]; then
    check "the build tree is shared read-write" test "$(cat "$mark" 2>/dev/null)" = written
else
    echo "ok $((n += 1)) # SKIP $mark_dir is not writable here"
fi
rm -f "$mark"

# ---- the other exit statuses -------------------------------------------------
result user0
check "exit status 0 comes back (as the user)" test "$status" = 0
result root3
check "exit status 3 comes back (as root)" test "$status" = 3

# ---- harness failures ----------------------------------------------------------
result timeout
check "a timeout is a harness failure: exit 125" test "$status" = 125
check "it says so" grep -q 'timed out after 2s' <<<"$err"
check "it does not wait for the command" test $(($(date +%s) - timeout_start)) -lt 300
check "no qemu of the harness is left" test -z "$(pgrep -f "path=$tmp/" || true)"
left=$(find "$tmp" -mindepth 1 -maxdepth 1 -name 'skiff-vm.*')
check "the harness removes its temporary directories" test -z "$left"

"$RUN" --timeout 5 >/dev/null 2>"$tmp/usage.err"
status=$?
CONTEXT="stderr: $(cat "$tmp/usage.err")"
check "no command is a usage error: exit 125" test "$status" = 125

echo "1..$n"
[ $failed -eq 0 ]
