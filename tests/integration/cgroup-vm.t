#!/bin/bash
# cgroup v2 limits for real, in the qemu guest of tests/vm/run (pure
# cgroup v2, a subtree delegated to the test user as systemd does): memory
# (OOM kill, exit 137, reported), pids, cpu.max throttling, io.max on a
# scratch disk, pause/resume, update, ps, events, the cgroup namespace,
# cgroups placed and removed, and the refusals that create nothing.  The
# checks are cgroup-vm-guest.sh; each guest boot runs all of them: one
# boot rootless in the delegated subtree, one as root.  Skipped, saying
# why, only where tests/vm/check-env finds no qemu or no kernel.
. "$(dirname "$0")/lib.sh"

VM=$SKIFF_SRCDIR/tests/vm
GUEST=$SKIFF_SRCDIR/tests/integration/cgroup-vm-guest.sh

# vm_checks MODE: boot the guest (--root for MODE root), run the guest
# script, and turn its lines into checks.
vm_checks() {
    local mode=$1 work=$TEST_TMP/vm/$1 args=(--disk 64M --timeout 480)
    TAP_PREFIX="[vm $mode] "
    if [ "$mode" = root ]; then
        args+=(--root)
        mkdir -p "$work"
    else
        user_dir "$work"
    fi
    # shellcheck disable=SC2016 # expanded in the guest
    timeout -k 10 600 "$VM/run" "${args[@]}" SKIFF_OCI="$SKIFF_OCI" ROOTFS="$ROOTFS" WORK="$work" \
        bash "$GUEST" >"$work.out" 2>"$work.err" </dev/null 8>&-
    guest_results $? "$work.out" "$work.err"
    TAP_PREFIX=
}

if ! why=$("$VM/check-env" 2>&1); then
    skip "no VM to test cgroup v2 in: $why"
    done_testing
fi
diag "VM: $why"

# One rootfs (busybox), the test user's, shared into the guest.
mkdir -p "$TEST_TMP/vm"
make_bundle "$TEST_TMP/vm/image" --rootless
ROOTFS=$TEST_TMP/vm/image/rootfs

case " $SKIFF_TEST_MODES " in
*" single "* | *" range "*) vm_checks user ;;
*) skip "rootless modes not in SKIFF_TEST_MODES" ;;
esac
case " $SKIFF_TEST_MODES " in
*" root "*) vm_checks root ;;
*) skip "root mode not in SKIFF_TEST_MODES" ;;
esac
done_testing
