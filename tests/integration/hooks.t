#!/bin/bash
# config.json's hooks (runtime-spec config.md "POSIX-platform Hooks" and
# runtime.md "Lifecycle"): when each list runs, in which namespaces, with
# which argv, environment and stdin, in which order; what a failing or
# hanging hook does to create, start and delete; that the hooks recorded at
# create are those delete runs.  The hook is skiff-probe's `hook` command,
# which logs one line per call.  Every check runs as root and rootless (one
# mapped id, and a subordinate range).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

# hook_entry NAME [ARGS...]: one hook object running the host's probe copy;
# argv[0] is "hook-NAME", the environment exactly FOO=bar and the marker.
hook_entry() {
    local name=$1
    shift
    jq -cn --arg p "$HOOK" --arg l "$HOOK_LOG" --arg n "$name" --arg t "SKIFF_TEST_TOKEN=$TOKEN" \
        '{path: $p, args: (["hook-" + $n, "hook", $l, $n] + $ARGS.positional), env: ["FOO=bar", $t]}' \
        --args -- "$@"
}

# The startContainer hook runs the container's own probe: its path is the
# container's (the host has no /bin/skiff-probe).
start_hook_entry() {
    jq -cn --arg t "SKIFF_TEST_TOKEN=$TOKEN" \
        --arg l "$HOOK_LOG" '{path: "/bin/skiff-probe", args: (["hook-startContainer", "hook", $l, "startContainer"] + $ARGS.positional), env: ["FOO=bar", $t]}' \
        --args -- "$@"
}

# set_hooks BUNDLE JSON: config.json's hooks object.
set_hooks() {
    jq_edit "$1" '.hooks = $h' --argjson h "$2"
}

# all_hooks [LIST ARGS...]: the six lists with one probe each; LIST (if
# given) gets ARGS appended (an exit status and message, or sleep S).
all_hooks() {
    local which=${1:-} l e out="{"
    shift
    for l in prestart createRuntime createContainer startContainer poststart poststop; do
        if [ "$l" = startContainer ]; then
            if [ "$l" = "$which" ]; then e=$(start_hook_entry "$@"); else e=$(start_hook_entry); fi
        else
            if [ "$l" = "$which" ]; then e=$(hook_entry "$l" "$@"); else e=$(hook_entry "$l"); fi
        fi
        out+="\"$l\": [$e],"
    done
    printf '%s' "${out%,}}"
}

# logged FIELD: the hooks run so far, in order, one NAME per line, or FIELD of each line (argv0, args, env, mnt,
# pidns, state).
logged() {
    awk -F'\t' -v f="${1:-name}" '
        { if (f == "name") { print $1; next }
          for (i = 2; i <= NF; i++) if (index($i, f "=") == 1) { print $1 " " substr($i, length(f) + 2) } }' "$HOOK_LOG" 2>/dev/null
}
# field NAME FIELD: FIELD of the line of hook NAME.
field() {
    logged "$2" | awk -v n="$1" '$1 == n { sub(/^[^ ]+ /, ""); print; exit }'
}
names() { logged | tr '\n' ' ' | sed 's/ $//'; }

reset_log() {
    rm -f "$HOOK_LOG"
}

setup_hooks() {
    HB=$MODE_DIR/hooks
    # The mode's directory at the same path inside: the startContainer
    # hook, run inside, logs to the same file as the others.
    [ -d "$HB" ] || { bundle "$HB" && jq_edit "$HB" '.mounts += [{destination: $d, type: "bind", source: $d, options: ["rbind"]}]' --arg d "$MODE_DIR"; }
    HOOK=$MODE_DIR/hook-probe
    HOOK_LOG=$MODE_DIR/hooks.log
    install -m 0755 "$SKIFF_PROBE" "$HOOK"
    set_args "$HB" skiff-probe sleep 1000
    reset_log
}

check_order_and_context() {
    local id pid st mnt_host ns
    setup_hooks
    set_hooks "$HB" "$(all_hooks)"
    new_id; id=$NEW_ID
    ocap create --bundle "$HB" --pid-file "$MODE_DIR/hooks.pid" "$id"
    is "$status" 0 "create with all six hook lists exits 0"
    pid=$(cat "$MODE_DIR/hooks.pid" 2>/dev/null)
    is "$(names)" "prestart createRuntime createContainer" \
        "create runs prestart, createRuntime, createContainer, in that order"
    unlike "$out" "hook .* stdout" "a hook's stdout does not reach create's stdout"
    like "$err" "hook createRuntime stdout" "a hook's stdout goes to create's stderr"

    ocap start "$id"
    is "$status" 0 "start with hooks exits 0"
    is "$(names)" "prestart createRuntime createContainer startContainer poststart" \
        "start runs startContainer, then poststart"
    is "$(state_field "$id" .status)" running "the container runs after its hooks"

    ocap delete --force "$id"
    is "$status" 0 "delete with hooks exits 0"
    is "$(names)" "prestart createRuntime createContainer startContainer poststart poststop" \
        "delete runs poststop"
    nok "poststop runs after the container is gone" grep -q "$id" <(oci list -q 2>/dev/null)

    # stdin: the state, with the status of the moment.
    for l in prestart:creating createRuntime:creating createContainer:creating \
        startContainer:created poststart:running poststop:stopped; do
        st=$(field "${l%%:*}" state)
        is "$(jq -r '.id + " " + .status' <<<"$st" 2>&1)" "$id ${l#*:}" \
            "${l%%:*} gets the state on stdin, status ${l#*:}"
    done
    is "$(jq -r .pid <<<"$(field createRuntime state)" 2>&1)" "$pid" \
        "createRuntime's state has the init's host pid"
    is "$(jq -r .pid <<<"$(field createContainer state)" 2>&1)" "$pid" \
        "createContainer's state has the init's host pid"
    is "$(jq -r .bundle <<<"$(field poststart state)" 2>&1)" "$HB" "the state names the bundle"

    # argv and environment exactly as given.
    is "$(field createRuntime argv0)" "hook-createRuntime" "a hook's argv[0] is args[0]"
    is "$(field prestart args)" "" "a hook gets no arguments beyond its args"
    is "$(field poststop env)" "FOO=bar|SKIFF_TEST_TOKEN=$TOKEN" \
        "a hook's environment is exactly its env"
    is "$(field startContainer env)" "FOO=bar|SKIFF_TEST_TOKEN=$TOKEN" \
        "startContainer's environment is exactly its env"

    # Namespaces: the runtime's for prestart, createRuntime, poststart and
    # poststop; the container's for createContainer and startContainer.
    mnt_host=$(readlink /proc/self/ns/mnt)
    for l in prestart createRuntime poststart poststop; do
        is "$(field $l mnt)" "$mnt_host" "$l runs in the runtime's mount namespace"
    done
    for l in createContainer startContainer; do
        ns=$(field $l mnt)
        isnt "$ns" "$mnt_host" "$l runs in the container's mount namespace"
    done
    is "$(field createContainer pidns)" "$(field startContainer pidns)" \
        "createContainer and startContainer share the container's pid namespace"
    isnt "$(field createContainer pidns)" "$(readlink /proc/self/ns/pid)" \
        "createContainer does not run in the runtime's pid namespace"
}

# Several hooks in one list run in array order.
check_list_order() {
    local id
    setup_hooks
    set_hooks "$HB" "{\"createRuntime\": [$(hook_entry first), $(hook_entry second), $(hook_entry third)]}"
    new_id; id=$NEW_ID
    ocap create --bundle "$HB" "$id"
    is "$status" 0 "create with three createRuntime hooks exits 0"
    is "$(names)" "first second third" "the hooks of a list run in array order"
    oci delete --force "$id" >/dev/null 2>&1 </dev/null
}

# failing_create LIST: LIST's hook exits 3; create fails naming it, leaves
# nothing, and poststop runs (runtime.md: on to the destruction).
failing_create() {
    local list=$1 id
    setup_hooks
    set_hooks "$HB" "$(all_hooks "$list" 3 "boom from $list")"
    new_id; id=$NEW_ID
    ocap create --bundle "$HB" "$id"
    isnt "$status" 0 "a failing $list hook fails create"
    like "$err" "hooks\\.$list\\[0\\] $HOOK exited with status 3: boom from $list \\[hook\\.failed\\]" \
        "the error names the $list hook, its status and the first line of its stderr"
    nok "a failing $list hook leaves no state" test -e "$STATE_ROOT/$id"
    nok "state does not know the container after a failing $list hook" oci_quick state "$id"
    like "$(names)" "poststop\$" "poststop runs after a failing $list hook"
    unlike "$(names)" "startContainer" "the container is never started after a failing $list hook"
}

check_failing_start_container() {
    local id pid
    setup_hooks
    set_hooks "$HB" "$(all_hooks startContainer 4 "boom from startContainer")"
    new_id; id=$NEW_ID
    oci create --bundle "$HB" "$id" >/dev/null 2>&1 </dev/null
    pid=$(state_field "$id" .pid)
    ocap start "$id"
    isnt "$status" 0 "a failing startContainer hook fails start"
    like "$err" "hooks\\.startContainer\\[0\\] /bin/skiff-probe exited with status 4: boom from startContainer \\[hook\\.failed\\]" \
        "start's error names the startContainer hook, its status and stderr"
    nok "a failing startContainer hook: the container is destroyed" oci_quick state "$id"
    nok "a failing startContainer hook: no state dir is left" test -e "$STATE_ROOT/$id"
    ok "a failing startContainer hook: the init is gone" sh -c "! kill -0 ${pid:-0} 2>/dev/null || grep -q '^State:.*Z' /proc/${pid:-0}/status"
    unlike "$(names)" "poststart" "a failing startContainer hook: poststart does not run"
    like "$(names)" "poststop\$" "a failing startContainer hook: poststop runs"
}

check_failing_post_hooks() {
    local id
    setup_hooks
    set_hooks "$HB" "{\"poststart\": [$(hook_entry poststart 5 'poststart complains'), $(hook_entry poststart2)],
                      \"poststop\": [$(hook_entry poststop 6 'poststop complains'), $(hook_entry poststop2)]}"
    new_id; id=$NEW_ID
    oci create --bundle "$HB" "$id" >/dev/null 2>&1 </dev/null
    ocap start "$id"
    is "$status" 0 "a failing poststart hook does not fail start"
    like "$err" "warning: hooks\\.poststart\\[0\\] $HOOK exited with status 5: poststart complains" \
        "a failing poststart hook is a warning naming it"
    is "$(state_field "$id" .status)" running "the container runs despite the failing poststart hook"
    ocap delete --force "$id"
    is "$status" 0 "a failing poststop hook does not fail delete"
    like "$err" "warning: hooks\\.poststop\\[0\\] $HOOK exited with status 6: poststop complains" \
        "a failing poststop hook is a warning naming it"
    is "$(names)" "poststart poststart2 poststop poststop2" \
        "the hooks after a failing poststart or poststop hook still run"
    nok "the container is gone after a failing poststop hook" oci_quick state "$id"
}

check_timeout() {
    local id start
    setup_hooks
    set_hooks "$HB" "{\"createRuntime\": [$(hook_entry createRuntime sleep 60 | jq -c '.timeout = 1')]}"
    new_id; id=$NEW_ID
    start=$SECONDS
    ocap create --bundle "$HB" "$id"
    isnt "$status" 0 "a hook past its timeout fails create"
    like "$err" "hooks\\.createRuntime\\[0\\] $HOOK did not finish within its timeout of 1 s.*\\[hook\\.timeout\\]" \
        "the error names the hook and its timeout"
    ok "create fails soon after the timeout" test $((SECONDS - start)) -lt 15
    nok "a timed-out hook leaves no state" test -e "$STATE_ROOT/$id"
}

check_missing_hook() {
    local id
    setup_hooks
    set_hooks "$HB" '{"createRuntime": [{"path": "/nonexistent/skiff-hook"}]}'
    new_id; id=$NEW_ID
    ocap create --bundle "$HB" "$id"
    isnt "$status" 0 "a hook that does not exist fails create"
    like "$err" "/nonexistent/skiff-hook.*\\[hook\\.failed\\]" "the error names the missing hook's path"
    nok "a missing hook leaves no state" test -e "$STATE_ROOT/$id"
}

# runtime.md: changes to config.json after create do not affect the
# container: delete runs the poststop hooks create saw.
check_recorded_hooks() {
    local id
    setup_hooks
    set_hooks "$HB" "{\"poststop\": [$(hook_entry recorded)]}"
    new_id; id=$NEW_ID
    oci create --bundle "$HB" "$id" >/dev/null 2>&1 </dev/null
    set_hooks "$HB" "{\"poststop\": [$(hook_entry edited-later)]}"
    ocap delete --force "$id"
    is "$status" 0 "delete after config.json changed exits 0"
    is "$(names)" "recorded" "delete runs the poststop hooks recorded at create"
}

# A container without hooks needs no hooks file, and run goes through
# every list too.
check_run() {
    local id
    setup_hooks
    set_args "$HB" sh -c 'echo job output'
    set_hooks "$HB" "$(all_hooks)"
    new_id; id=$NEW_ID
    ocap run --bundle "$HB" "$id"
    is "$status" 0 "run with all hook lists exits 0"
    is "$out" "job output" "run: only the job's output is on stdout"
    is "$(names)" "prestart createRuntime createContainer startContainer poststart poststop" \
        "run runs every hook list in order"
}

all_checks() {
    check_order_and_context
    check_list_order
    failing_create prestart
    failing_create createRuntime
    failing_create createContainer
    check_failing_start_container
    check_failing_post_hooks
    check_timeout
    check_missing_hook
    check_recorded_hooks
    check_run
}

for_each_mode all_checks
done_testing
