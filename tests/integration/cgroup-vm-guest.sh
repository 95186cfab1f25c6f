#!/bin/bash
# tests/integration/cgroup-vm-guest.sh — the checks cgroup-vm.t runs inside
# the cgroup v2 guest of tests/vm/run, once as the test user in its
# delegated subtree and once as root.  One boot runs them all (TCG boots
# are slow).  Prints unnumbered TAP lines ("ok DESC", "not ok DESC",
# "# DIAG") that cgroup-vm.t numbers, and "done" at its end.
#
# Environment: SKIFF_OCI; ROOTFS (an unpacked busybox image, absolute);
# WORK (a directory of the user's in the shared build tree); from the
# harness SKIFF_VM_CGROUP (our own cgroup) and, with --disk, SKIFF_VM_DISK
# and SKIFF_VM_DISK_DEVNO.
set -u
export LC_ALL=C

O=$SKIFF_OCI
CG=/sys/fs/cgroup
PARENT=$(dirname "$SKIFF_VM_CGROUP")
ROOTLESS=0
[ "$(id -u)" -ne 0 ] && ROOTLESS=1
# The state on the guest's tmpfs: 9p makes no fifos.
S=/run/skiff-cgroup-test
[ $ROOTLESS = 1 ] && S=$XDG_RUNTIME_DIR/skiff-cgroup-test
mkdir -p "$S" "$WORK/out"

pass() { echo "ok $1"; }
fail() {
    local d
    echo "not ok $1"
    shift
    for d in "$@"; do printf '%s\n' "$d" | sed 's/^/# /'; done
}
is() { if [ "$1" = "$2" ]; then pass "$3"; else fail "$3" "got: '$1'" "expected: '$2'" ${ctx:+"$ctx"}; fi; }
isnt() { if [ "$1" != "$2" ]; then pass "$3"; else fail "$3" "got: '$1'" "expected anything else" ${ctx:+"$ctx"}; fi; }
like() { if [[ $1 =~ $2 ]]; then pass "$3"; else fail "$3" "got: '$1'" "does not match: /$2/" ${ctx:+"$ctx"}; fi; }
ok() {
    local d=$1 o
    shift
    if o=$("$@" 2>&1); then pass "$d"; else fail "$d" "command: $*" "$o"; fi
}
nok() {
    local d=$1 o
    shift
    if o=$("$@" 2>&1); then fail "$d" "succeeded: $*" "$o"; else pass "$d"; fi
}
# gt A B DESC: A > B, numbers.
gt() { if [ "${1:-0}" -gt "${2:-0}" ] 2>/dev/null; then pass "$3"; else fail "$3" "got: '$1', expected more than $2"; fi; }
le() { if [ "${1:-0}" -le "${2:-0}" ] 2>/dev/null; then pass "$3"; else fail "$3" "got: '$1', expected at most $2"; fi; }

oci() { timeout -s KILL 30 "$O" --root "$S" "$@"; }
# cap ARGS: the runtime with status, out and err set.
cap() {
    out=$(timeout -s KILL 60 "$O" --root "$S" "$@" 2>/tmp/cap.err </dev/null)
    status=$?
    err=$(cat /tmp/cap.err)
    ctx="command: skiff-oci $*"$'\n'"status: $status"$'\n'"stderr: $err"
}

# mkb NAME ARGS_JSON RESOURCES_JSON [JQ]: a bundle WORK/NAME over ROOTFS,
# from `spec` (--rootless as a user); sets B.
mkb() {
    ctx=
    B=$WORK/$1
    rm -rf "$B"
    mkdir -p "$B"
    if [ $ROOTLESS = 1 ]; then "$O" spec --rootless --bundle "$B"; else "$O" spec --bundle "$B"; fi
    jq --arg root "$ROOTFS" --argjson args "$2" --argjson res "$3" \
        '.process.terminal = false | .root.path = $root | .root.readonly = true
         | .process.args = $args | .linux.resources = $res | '"${4:-.}" \
        "$B/config.json" >"$B/c" && mv "$B/c" "$B/config.json"
}

cg_of() { jq -r '.cgroup // empty' "$S/$1/state.json" 2>/dev/null; }
status_of() { oci state "$1" 2>/dev/null | jq -r .status; }
wait_status() {
    local i
    for ((i = 0; i < 100; i++)); do
        [ "$(status_of "$1")" = "$2" ] && return 0
        sleep 0.1
    done
    return 1
}
started() {
    oci create --bundle "$B" "$1" >"$WORK/$1.out" 2>"$WORK/$1.err" </dev/null &&
        oci start "$1" </dev/null && wait_status "$1" running
}
stat_of() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
now_us() { local s n; read -r s n < <(date '+%s %N'); echo $((s * 1000000 + 10#$n / 1000)); }
# Our cgroup's siblings, to see that a failure created nothing.
siblings() { find "$PARENT" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort | tr '\n' ' '; }
SIBLINGS=$(siblings)

check_oom() {
    local cg
    mkb oom '["dd", "if=/dev/zero", "of=/dev/null", "bs=100M", "count=1"]' \
        '{"memory": {"limit": 33554432, "swap": 33554432}}'
    cap run --bundle "$B" oom1
    is "$status" 137 "memory.max 32M: a job allocating 100 MB is killed (exit 137)"
    like "$err" 'out of memory.*oom_killed' "run reports the OOM kill"

    oci create --bundle "$B" oom2 >/dev/null 2>&1 </dev/null && oci start oom2
    wait_status oom2 stopped
    cg=$(cg_of oom2)
    like "$cg" "^$PARENT/skiff-oom2\$" "the container's cgroup is next to ours (we share ours with a shell)"
    is "$(cat "$cg/memory.max" 2>&1)" 33554432 "memory.max is the limit"
    is "$(cat "$cg/memory.swap.max" 2>&1)" 0 "memory.swap.max 0: memory+swap of 32M leaves no swap"
    is "$(oci state oom2 | jq -r '.annotations["run.skiff.oom_kills"]')" 1 \
        "state reports the OOM kill (annotation run.skiff.oom_kills)"
    is "$(oci events --stats oom2 | jq -r .data.memory.oom_kill)" 1 "events --stats counts the OOM kill"
    ok "delete a stopped container" oci delete oom2
    nok "delete leaves no cgroup directory" test -e "$cg"

    # The event stream reports the kill as it happens.
    mkb oom3 '["sh", "-c", "sleep 3; dd if=/dev/zero of=/dev/null bs=100M count=1"]' \
        '{"memory": {"limit": 33554432, "swap": 33554432}}'
    if started oom3; then
        out=$(timeout 30 "$O" --root "$S" events --interval 10s oom3 2>"$WORK/events.err")
        ctx="events: $out"$'\n'"stderr: $(cat "$WORK/events.err")"
        is "$(jq -r .type <<<"$out" 2>&1 | tr '\n' ' ')" "stats oom " \
            "events streams stats, then an oom event, and ends when the container stops"
    else
        fail "a container that will run out of memory starts" "$(cat "$WORK/oom3.err")"
    fi
    oci delete --force oom3 >/dev/null 2>&1
}

check_pids() {
    local cg i
    # The inner shell forks until the kernel says no (ash then gives up),
    # the outer one reports and stays.
    mkb pids '["sh", "-c", "sh -c \"while :; do sleep 60 & done\" 2>/dev/null; echo stopped; sleep 60"]' \
        '{"pids": {"limit": 10}}'
    if ! started pids1; then
        fail "a fork loop starts" "$(cat "$WORK/pids1.err")"
        return
    fi
    for ((i = 0; i < 100; i++)); do
        grep -q stopped "$WORK/pids1.out" && break
        sleep 0.1
    done
    cg=$(cg_of pids1)
    is "$(cat "$cg/pids.max")" 10 "pids.max is 10"
    ok "pids.max 10: a fork loop is stopped" grep -q stopped "$WORK/pids1.out"
    is "$(cat "$cg/pids.peak")" 10 "it stopped at the limit (pids.peak 10)"
    le "$(cat "$cg/pids.current")" 10 "and the container never has more than 10"
    gt "$(stat_of "$cg/pids.events" max)" 0 "the kernel refused forks (pids.events max)"
    is "$(oci ps --format json pids1 | jq length)" "$(cat "$cg/pids.current")" \
        "ps lists every process of the container (cgroup.procs)"
    is "$(oci events --stats pids1 | jq -c .data.pids.limit)" 10 "events --stats: the pids limit"
    ok "kill --all KILL (cgroup.kill)" oci kill --all pids1 KILL
    wait_status pids1 stopped
    is "$(wc -l <"$cg/cgroup.procs")" 0 "every process of the container is gone"
    ok "delete" oci delete pids1
    nok "delete leaves no cgroup directory" test -e "$cg"
}

check_cpu() {
    local cg u0 u1 t0 t1 pct
    mkb cpu '["sh", "-c", "while :; do :; done"]' '{"cpu": {"quota": 20000, "period": 100000, "shares": 512}}'
    if ! started cpu1; then
        fail "a busy loop starts" "$(cat "$WORK/cpu1.err")"
        return
    fi
    cg=$(cg_of cpu1)
    is "$(cat "$cg/cpu.max")" "20000 100000" "cpu.max is quota/period"
    is "$(cat "$cg/cpu.weight")" 20 "cpu.weight from shares 512 (crun's conversion)"
    u0=$(stat_of "$cg/cpu.stat" usage_usec)
    t0=$(now_us)
    sleep 3
    u1=$(stat_of "$cg/cpu.stat" usage_usec)
    t1=$(now_us)
    gt "$(stat_of "$cg/cpu.stat" nr_throttled)" 0 "cpu.max 20%: the busy loop is throttled (cpu.stat nr_throttled)"
    pct=$(((u1 - u0) * 100 / (t1 - t0)))
    le "$pct" 30 "cpu.max 20%: it used about a fifth of a cpu (${pct}%)"
    ok "delete --force a running container" oci delete --force cpu1
    nok "delete leaves no cgroup directory" test -e "$cg"
}

check_pause_update() {
    local cg n1 n2 n3
    OUT=$WORK/out
    export OUT
    rm -f "$OUT/n" "$OUT/n.new"
    # The count is published by rename: a reader (or the freeze) landing
    # between a truncate and a write would otherwise see an empty file.
    mkb pause '["sh", "-c", "i=0; while :; do i=$((i+1)); echo $i >/out/n.new; mv /out/n.new /out/n; usleep 50000; done"]' \
        '{"memory": {"limit": 33554432}}' \
        '.mounts += [{"destination": "/out", "type": "bind", "source": $ENV.OUT, "options": ["rbind", "rw"]}]'
    if ! started p1; then
        fail "a counting job starts" "$(cat "$WORK/p1.err")"
        return
    fi
    cg=$(cg_of p1)
    sleep 0.5
    ok "pause" oci pause p1
    is "$(status_of p1)" paused "state says paused"
    like "$(cat "$cg/cgroup.events")" 'frozen 1' "cgroup.events says frozen"
    n1=$(cat "$OUT/n")
    sleep 1
    n2=$(cat "$OUT/n")
    is "$n2" "$n1" "paused: the job makes no progress"
    cap pause p1
    like "$err" '\[container\.not_running\]$' "pausing a paused container is refused"
    ok "resume" oci resume p1
    is "$(status_of p1)" running "state says running again"
    sleep 1
    n3=$(cat "$OUT/n")
    gt "$n3" "$n2" "resumed: the job continues"

    ok "update --memory 64m" oci update --memory 64m p1
    is "$(cat "$cg/memory.max")" 67108864 "update raises memory.max on a running container"
    ok "update --pids-limit 50 --cpu-quota 50000" oci update --pids-limit 50 --cpu-quota 50000 p1
    is "$(cat "$cg/pids.max")" 50 "update sets pids.max"
    is "$(cat "$cg/cpu.max")" "50000 100000" "update sets cpu.max (the period in force kept)"
    echo '{"memory": {"limit": 100663296}, "unified": {"memory.high": "90000000"}}' >"$WORK/res.json"
    ok "update --resources FILE" oci update --resources "$WORK/res.json" p1
    is "$(cat "$cg/memory.max")" 100663296 "update --resources: memory.max"
    is "$(cat "$cg/memory.high")" 89997312 "update --resources: a unified file, written as given"
    ok "the job still runs" test "$(status_of p1)" = running
    ok "delete --force" oci delete --force p1
    nok "delete leaves no cgroup directory" test -e "$cg"
    nok "delete leaves no state" test -e "$S/p1"
}

check_no_limits() {
    local cg
    mkb plain '["sleep", "60"]' '{}'
    if ! started plain1; then
        fail "a container without limits starts" "$(cat "$WORK/plain1.err")"
        return
    fi
    cg=$(cg_of plain1)
    like "$cg" "^$CG/" "without limits, a container still gets a cgroup on cgroup v2"
    ok "so it can be paused" oci pause plain1
    ok "and resumed" oci resume plain1
    is "$(oci ps --format json plain1 | jq length)" 1 "ps lists its process"
    cap update --cpu-quota 10000 plain1
    if [[ $err =~ not_delegated ]]; then
        like "$err" 'no cpu controller.*\[cgroup\.not_delegated\]$' \
            "update of a controller the container's cgroup lacks: a clear error"
    else
        is "$status" 0 "update of a container without limits"
    fi
    ok "delete --force" oci delete --force plain1
    nok "delete leaves no cgroup directory" test -e "$cg"
}

check_refused() {
    local own=${SKIFF_VM_CGROUP#"$CG"}
    if [ $ROOTLESS = 1 ]; then
        mkb cpuset '["true"]' '{"cpu": {"cpus": "0"}}'
        cap create --bundle "$B" nd1
        isnt "$status" 0 "a limit whose controller is not delegated (cpuset) fails"
        like "$err" 'cpuset controller.*/sys/fs/cgroup/.*not delegated to uid.*systemd-run --user --scope.*Delegate=.*\[cgroup\.not_delegated\]$' \
            "the error names the controller, the cgroup and the fix"
        nok "nothing is created: no state" test -e "$S/nd1"
        is "$(siblings)" "$SIBLINGS" "nothing is created: no cgroup"
    else
        pass "# SKIP root has every controller"
    fi
    export OWN=$own
    mkb busy '["true"]' '{"pids": {"limit": 10}}' '.linux.cgroupsPath = $ENV.OWN'
    cap create --bundle "$B" busy1
    like "$err" 'already holds processes.*\[cgroup\.busy\]$' "a cgroupsPath that holds processes is refused"
    nok "nothing is created: no state" test -e "$S/busy1"
    mkb v1 '["true"]' '{"memory": {"kernel": 1048576}}'
    cap create --bundle "$B" v1only
    like "$err" 'cgroup v1.*\[cgroup\.unsupported\]$' "a cgroup v1 setting is refused, not dropped"
    is "$(siblings)" "$SIBLINGS" "no cgroup is left by the refusals"
}

# systemd-run --scope: skiff alone in a cgroup of its own moves into a
# leaf and puts the container under its own cgroup.
check_own_scope() {
    local scope=$PARENT/solo.scope cg
    mkdir "$scope" || { fail "make a scope" "cannot mkdir $scope"; return; }
    mkb solo '["sh", "-c", "cat /proc/self/cgroup; cat /sys/fs/cgroup/memory.max"]' '{"memory": {"limit": 33554432}}'
    sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" --root "$3" create --bundle "$4" solo1' \
        _ "$scope" "$O" "$S" "$B" >"$WORK/solo1.out" 2>"$WORK/solo1.err" </dev/null
    is "$?" 0 "create from a cgroup of its own (as under systemd-run --scope)"
    cg=$(cg_of solo1)
    is "$cg" "$scope/skiff-solo1" "the container's cgroup is under skiff's own"
    ok "skiff moved itself into a leaf to hand the controllers down" test -d "$scope/skiff"
    like "$(cat "$scope/cgroup.subtree_control")" memory "the scope hands memory down"
    ok "start" oci start solo1
    wait_status solo1 stopped
    like "$(tr '\n' ' ' <"$WORK/solo1.out")" '^0::/ 33554432 $' \
        "inside, a cgroup namespace rooted at the container's cgroup, its limit visible"
    ok "delete" oci delete solo1
    nok "delete leaves no cgroup directory" test -e "$cg"
    nok "nor the leaf skiff used" test -e "$scope/skiff"
    ok "the scope is empty again" rmdir "$scope"
}

check_io() {
    local dev=${SKIFF_VM_DISK:-} devno=${SKIFF_VM_DISK_DEVNO:-} t0 t1 slow fast
    if [ -z "$dev" ]; then
        pass "# SKIP no scratch disk"
        return
    fi
    export DEV=$dev
    local mnt='.mounts += [{"destination": "/dev/vda", "type": "bind", "source": $ENV.DEV, "options": ["bind", "rw"]}]'
    mkb io0 '["dd", "if=/dev/zero", "of=/dev/vda", "bs=64k", "count=32", "oflag=direct"]' '{}' "$mnt"
    t0=$(now_us)
    cap run --bundle "$B" io0
    t1=$(now_us)
    is "$status" 0 "a direct write of 2 MiB to the scratch disk, unthrottled"
    fast=$(((t1 - t0) / 1000))
    mkb io1 '["dd", "if=/dev/zero", "of=/dev/vda", "bs=64k", "count=32", "oflag=direct"]' \
        "{\"blockIO\": {\"throttleWriteBpsDevice\": [{\"major\": ${devno%:*}, \"minor\": ${devno#*:}, \"rate\": 524288}]}}" \
        "$mnt"
    t0=$(now_us)
    cap run --bundle "$B" io1
    t1=$(now_us)
    is "$status" 0 "the same write with io.max wbps=512k"
    slow=$(((t1 - t0) / 1000))
    gt "$slow" 2500 "io.max: the direct write is throttled (${slow} ms, unthrottled ${fast} ms)"
    gt "$slow" $((fast + 1500)) "io.max: slower than unthrottled by the limit"
}

check_oom
check_pids
check_cpu
check_pause_update
check_no_limits
check_refused
check_own_scope
check_io
is "$(siblings)" "$SIBLINGS" "no container cgroup is left behind"
echo done
