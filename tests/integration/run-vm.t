#!/bin/bash
# skiff run's limits (--memory, --pids-limit, --cpus) enforced for real, in
# the qemu guest of tests/vm/run (pure cgroup v2, a delegated subtree): one
# boot rootless, one as root.  The checks are run-vm-guest.sh.  Skipped,
# saying why, only where tests/vm/check-env finds no qemu or no kernel.
. "$(dirname "$0")/lib.sh"

VM=$SKIFF_SRCDIR/tests/vm
GUEST=$SKIFF_SRCDIR/tests/integration/run-vm-guest.sh

vm_checks() {
    local mode=$1 work=$TEST_TMP/vm-$1 args=(--timeout 480)
    TAP_PREFIX="[vm $mode] "
    [ "$mode" = root ] && args+=(--root)
    mkdir -p "$work"
    timeout -k 10 600 "$VM/run" "${args[@]}" SKIFF="$SKIFF" SKIFF_IMAGE="$SKIFF_IMAGE" \
        bash "$GUEST" >"$work.out" 2>"$work.err" </dev/null 8>&-
    guest_results $? "$work.out" "$work.err"
    TAP_PREFIX=
}

if ! why=$("$VM/check-env" 2>&1); then
    skip "no VM to test cgroup v2 in: $why"
    done_testing
fi
diag "VM: $why"

case " $SKIFF_TEST_MODES " in
*" single "* | *" range "*) vm_checks user ;;
esac
case " $SKIFF_TEST_MODES " in
*" root "*) [ $IS_ROOT -eq 1 ] && vm_checks root ;;
esac
done_testing
