#!/bin/bash
# cgroups on the build host, whose layout is not pure cgroup v2 (here:
# hybrid, v1 controllers with cgroup2 at /sys/fs/cgroup/unified).  A
# container without limits runs, untouched by cgroups; one that asks for
# limits gets a clear error (cgroup.unavailable, naming the controllers and
# the layout) and nothing is created; settings v2 cannot express are
# refused on any host; the cgroup commands say what they need.  Limits
# themselves are tested in a VM with cgroup v2 (cgroup-vm.t).  Every check
# runs as root and rootless (one mapped id, and a subordinate range).
. "$(dirname "$0")/lib.sh"

ERROR_LINE='^skiff: .+ \[[a-z0-9_]+(\.[a-z0-9_]+)+\]$'
HOST_FS=$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)

last_line() {
    awk 'NF { l = $0 } END { print l }' <<<"$1"
}

# refused WHAT ID REGEX: after a capture, one error line matching REGEX,
# and no trace of container ID.
refused() {
    local what=$1 id=$2 regex=$3 line
    isnt "$status" 0 "$what: non-zero exit"
    line=$(last_line "$err")
    like "$line" "$ERROR_LINE" "$what: stderr says 'skiff: MESSAGE [ID]'"
    like "$line" "$regex" "$what: the message says why"
    nok "$what: no state dir is left" test -e "$STATE_ROOT/$id"
    nok "$what: state does not know the container" oci_quick state "$id"
}

check_without_limits() {
    local b=$MODE_DIR/plain id
    bundle "$b"
    set_args "$b" sh -c 'echo ran; cat /proc/self/cgroup'
    # Device rules alone are not limits (runc's spec has them as root).
    jq_edit "$b" '.linux.resources = {"devices": [{"allow": false, "access": "rwm"}],
                                      "pids": {"limit": 0}}'
    new_id; id=$NEW_ID
    ocap run --bundle "$b" "$id"
    is "$status" 0 "a container without limits runs"
    like "$out" '^ran' "it ran its job"
    nok "run leaves no state" test -e "$STATE_ROOT/$id"
}

check_limits_refused() {
    local b=$MODE_DIR/limits id
    if [ "$HOST_FS" = cgroup2fs ]; then
        skip "this host has pure cgroup v2: limits apply here (cgroup-vm.t tests them)" 15
        return
    fi
    bundle "$b"
    set_args "$b" sh -c 'echo should not run'
    cp "$b/config.json" "$b/config.good"

    jq_edit "$b" '.linux.resources = {"memory": {"limit": 33554432}, "pids": {"limit": 10}}'
    new_id; id=$NEW_ID
    ocap create --bundle "$b" "$id"
    refused "memory and pids limits" "$id" '\[cgroup\.unavailable\]$'
    like "$err" 'memory, pids' "the message names the controllers"
    like "$err" 'cgroup v2' "the message says what is needed (cgroup v2)"
    unlike "$out" 'should not run' "the job did not run"

    new_id; id=$NEW_ID
    ocap run --bundle "$b" "$id"
    refused "run with limits" "$id" '\[cgroup\.unavailable\]$'

    cp "$b/config.good" "$b/config.json"
    jq_edit "$b" '.linux.resources = {"unified": {"cgroup.max.depth": "1"}}'
    new_id; id=$NEW_ID
    ocap create --bundle "$b" "$id"
    refused "a unified file alone" "$id" '\[cgroup\.unavailable\]$'
}

check_v1_only_refused() {
    local b=$MODE_DIR/v1only id f
    bundle "$b"
    set_args "$b" true
    cp "$b/config.json" "$b/config.good"
    for f in '{"memory": {"kernel": 1048576}}' '{"memory": {"swappiness": 10}}' \
        '{"cpu": {"realtimeRuntime": 1000}}' '{"network": {"classID": 1}}'; do
        cp "$b/config.good" "$b/config.json"
        jq_edit "$b" '.linux.resources = $r' --argjson r "$f"
        new_id; id=$NEW_ID
        ocap create --bundle "$b" "$id"
        refused "v1-only $(jq -c 'paths | map(tostring) | join(".")' <<<"$f" | tail -n1)" \
            "$id" 'cgroup v1.*\[cgroup\.unsupported\]$'
    done
    cp "$b/config.good" "$b/config.json"
    jq_edit "$b" '.linux.resources = {"unified": {"cgroup.procs": "1"}}'
    new_id; id=$NEW_ID
    ocap create --bundle "$b" "$id"
    refused "unified cgroup.procs" "$id" 'cgroup\.procs.*\[cgroup\.unified_key\]$'
    cp "$b/config.good" "$b/config.json"
    jq_edit "$b" '.linux.resources = {"unified": {"../memory.max": "1"}}'
    new_id; id=$NEW_ID
    ocap create --bundle "$b" "$id"
    refused "unified key with a slash" "$id" '\[cgroup\.unified_key\]$'
}

check_commands_without_cgroup() {
    local b=$MODE_DIR/cmds id pid
    bundle "$b"
    set_args "$b" sh -c 'sleep 1000 & sleep 1000 & wait'
    new_id; id=$NEW_ID
    oci create --bundle "$b" "$id" >/dev/null 2>&1 </dev/null && oci start "$id" </dev/null >/dev/null 2>&1
    if ! wait_status "$id" running 10; then
        fail "a container to query runs"
        return
    fi
    pid=$(state_field "$id" .pid)

    ocap ps --format json "$id"
    is "$status" 0 "ps --format json exits 0"
    like "$out" "^\[([0-9]+,)*$pid(,[0-9]+)*\]$" "ps lists the init's pid"
    is "$(jq length <<<"$out")" 3 "ps lists the init (sh) and its two sleeps"
    ocap ps "$id"
    like "$out" "^PID +CMD" "ps prints a table by default"
    like "$out" "sleep 1000" "the table shows the commands"

    if [ "$HOST_FS" != cgroup2fs ]; then
        ocap pause "$id"
        isnt "$status" 0 "pause without a cgroup fails"
        like "$(last_line "$err")" 'no cgroup.*\[container\.no_cgroup\]$' "pause says the container has no cgroup"
        is "$(state_field "$id" .status)" running "the container still runs"
        ocap update --memory 64m "$id"
        like "$(last_line "$err")" '\[container\.no_cgroup\]$' "update without a cgroup: container.no_cgroup"
        ocap events --stats "$id"
        is "$status" 0 "events --stats exits 0"
        is "$(jq -r .type <<<"$out")" stats "events --stats prints a stats event"
    else
        skip "pure cgroup v2 host: the container may have a cgroup" 6
    fi

    ocap update --memory lots "$id"
    like "$(last_line "$err")" '--memory: expected a size.*\[cli\.usage\]$' "update --memory checks its value"
    ocap update "$id"
    like "$(last_line "$err")" 'nothing to update.*\[cli\.usage\]$' "update without a flag says what to give"
    ocap update --memory 64m --memory-swap 32m "$id"
    like "$(last_line "$err")" 'below --memory.*\[cli\.usage\]$' "update: swap below memory is refused"
    echo '{"memory": {"limit": "x"}}' >"$MODE_DIR/res.json"
    [ "$MODE" = root ] || chown "$TEST_USER:" "$MODE_DIR/res.json" 2>/dev/null
    ocap update --resources "$MODE_DIR/res.json" "$id"
    like "$(last_line "$err")" 'res\.json: resources\.memory\.limit.*\[spec\.invalid\]$' \
        "update --resources names the file and the JSON path"
    ocap update --kernel-memory 1m "$id"
    like "$(last_line "$err")" '\[cgroup\.unsupported\]$' "update --kernel-memory: v1 only, refused"

    ocap kill --all "$id" KILL
    is "$status" 0 "kill --all without a cgroup works"
    ocap delete --force "$id"
    is "$status" 0 "delete --force"
    ocap ps --format json "$id"
    like "$(last_line "$err")" '\[container\.not_found\]$' "ps of a deleted container: not found"
}

all_checks() {
    check_without_limits
    check_limits_refused
    check_v1_only_refused
    check_commands_without_cgroup
}

for_each_mode all_checks
done_testing
