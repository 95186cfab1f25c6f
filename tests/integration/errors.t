#!/bin/bash
# Bad input gets a clear error and changes nothing: every error is one line
# `skiff: MESSAGE [dotted.id]` on stderr with a non-zero exit (or a JSON
# line in the --log file with --log-format json), names what was wrong, and
# leaves no state dir, no container, no process and no mount behind.
# Every check runs as root and rootless (one mapped id, and a range).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

ERROR_LINE='^skiff: .+ \[[a-z0-9_]+(\.[a-z0-9_]+)+\]$'

# last_line TEXT: the last non-empty line.
last_line() {
    awk 'NF { l = $0 } END { print l }' <<<"$1"
}

# expect_error WHAT REGEX: after a capture, the command failed with one
# well-formed error line whose message matches REGEX.
expect_error() {
    local what=$1 regex=$2 line
    isnt "$status" 0 "$what: non-zero exit"
    line=$(last_line "$err")
    like "$line" "$ERROR_LINE" "$what: stderr says 'skiff: MESSAGE [ID]'"
    like "$line" "$regex" "$what: the message names the problem"
    is "$out" "" "$what: nothing on stdout"
}

# nothing_created ID WHAT: no state for ID under the state root.
nothing_created() {
    nok "$2: no state dir is left" test -e "$STATE_ROOT/$1"
    nok "$2: state does not know the container" oci state "$1"
}

# A fresh copy of the mode's good config in bundle EB.
reset_config() {
    cp "$EB/config.good.json" "$EB/config.json"
}

check_config_errors() {
    local id
    EB=$MODE_DIR/errors
    bundle "$EB"
    set_args "$EB" skiff-probe sleep 1000
    cp "$EB/config.json" "$EB/config.good.json"

    # Malformed JSON: cut the file in the middle.
    head -c 200 "$EB/config.good.json" >"$EB/config.json"
    new_id; id=$NEW_ID
    ocap create --bundle "$EB" "$id"
    expect_error "malformed config.json" 'config\.json'
    nothing_created "$id" "malformed config.json"

    # Valid JSON that is no object.
    echo '[1, 2, 3]' >"$EB/config.json"
    new_id; id=$NEW_ID
    ocap create --bundle "$EB" "$id"
    expect_error "config.json is an array" 'config\.json'
    nothing_created "$id" "config.json is an array"

    reset_config
    jq_edit "$EB" 'del(.ociVersion)'
    new_id; id=$NEW_ID
    ocap create --bundle "$EB" "$id"
    expect_error "config.json without ociVersion" 'ociVersion'
    nothing_created "$id" "config.json without ociVersion"

    # A zero-sized id mapping: the message names the JSON path.
    reset_config
    jq_edit "$EB" "if ([.linux.namespaces[].type] | index(\"user\")) then . else .linux.namespaces += [{type: \"user\"}] end
        | .linux.uidMappings = [{containerID: 0, hostID: $TEST_UID, size: 0}]
        | .linux.gidMappings = [{containerID: 0, hostID: $TEST_GID, size: 1}]"
    new_id; id=$NEW_ID
    ocap create --bundle "$EB" "$id"
    expect_error "uidMappings size 0" 'linux\.uidMappings\[0\]\.size'
    nothing_created "$id" "uidMappings size 0"

    reset_config
    jq_edit "$EB" '.process.args = []'
    new_id; id=$NEW_ID
    ocap run --bundle "$EB" "$id"
    expect_error "empty process.args" 'process\.args'
    nothing_created "$id" "empty process.args"

    reset_config
    jq_edit "$EB" '.process.rlimits = [{type: "RLIMIT_NOSUCH", soft: 1, hard: 1}]'
    new_id; id=$NEW_ID
    ocap run --bundle "$EB" "$id"
    expect_error "unknown rlimit type" 'RLIMIT_NOSUCH'
    nothing_created "$id" "unknown rlimit type"

    # A bind mount whose source does not exist fails late, in the middle of
    # setting up the container: still nothing may be left.
    reset_config
    jq_edit "$EB" '.mounts += [{destination: "/mnt/x", type: "bind", source: "/nonexistent/skiff-test-src", options: ["rbind"]}]'
    new_id; id=$NEW_ID
    ocap run --bundle "$EB" "$id"
    expect_error "bind mount of a missing source" '/nonexistent/skiff-test-src'
    nothing_created "$id" "bind mount of a missing source"
    reset_config
}

check_bundle_and_id_errors() {
    local id bad
    new_id; id=$NEW_ID
    ocap create --bundle "$MODE_DIR/no-such-bundle" "$id"
    expect_error "missing bundle dir" "$MODE_DIR/no-such-bundle"
    nothing_created "$id" "missing bundle dir"

    user_dir "$MODE_DIR/empty-bundle"
    new_id; id=$NEW_ID
    ocap create --bundle "$MODE_DIR/empty-bundle" "$id"
    expect_error "bundle without config.json" 'config\.json'
    nothing_created "$id" "bundle without config.json"

    # Ids that are no file names, or that leave the state root.
    for bad in "../escape" "a/b" "." ".." "" $'new\nline'; do
        ocap create --bundle "$EB" "$bad"
        expect_error "bad container id '${bad//$'\n'/\\n}'" 'id'
    done
    nok "the id ../escape created nothing next to the state root" test -e "$MODE_DIR/escape"
    nok "the id a/b created nothing under the state root" test -e "$STATE_ROOT/a"

    ocap create --bundle "$EB"
    isnt "$status" 0 "create without an id fails"
    like "$(last_line "$err")" "$ERROR_LINE" "create without an id: stderr says 'skiff: MESSAGE [ID]'"
}

check_command_errors() {
    local id pid
    ocap state "skt-missing-$$"
    expect_error "state of an unknown container" "skt-missing-$$"
    ocap start "skt-missing-$$"
    expect_error "start of an unknown container" "skt-missing-$$"
    ocap kill "skt-missing-$$" 9
    expect_error "kill of an unknown container" "skt-missing-$$"
    ocap delete "skt-missing-$$"
    expect_error "delete of an unknown container" "skt-missing-$$"

    ocap frobnicate
    isnt "$status" 0 "an unknown command fails"
    like "$(last_line "$err")" "$ERROR_LINE" "an unknown command: stderr says 'skiff: MESSAGE [ID]'"
    like "$(last_line "$err")" frobnicate "an unknown command: the message names it"
    ocap list --no-such-option
    isnt "$status" 0 "an unknown option fails"
    like "$(last_line "$err")" "no-such-option" "an unknown option: the message names it"

    # A bad signal changes nothing: the container stays as it was.
    new_id; id=$NEW_ID
    oci create --bundle "$EB" "$id" >/dev/null 2>&1 </dev/null
    pid=$(state_field "$id" .pid)
    ocap kill "$id" SIGNOSUCH
    expect_error "kill with an unknown signal" 'SIGNOSUCH'
    is "$(state_field "$id" .status)/$(state_field "$id" .pid)" "created/$pid" \
        "kill with an unknown signal leaves the container as it was"
    ocap start "$id"
    ocap start "$id"
    expect_error "start of a started container" "$id"
    ok "delete --force cleans up after the start errors" oci delete --force "$id"
}

# --log F --log-format json: the error is a JSON line in F.
check_json_log() {
    local id log=$MODE_DIR/log.json line
    rm -f "$log"
    head -c 100 "$EB/config.good.json" >"$EB/config.json"
    new_id; id=$NEW_ID
    ocap --log "$log" --log-format json create --bundle "$EB" "$id"
    isnt "$status" 0 "--log-format json: create with a bad config fails"
    ok "--log-format json: the log file exists" test -s "$log"
    line=$(jq -c 'select(.level == "error")' "$log" 2>&1 | tail -n 1)
    like "$line" '^\{' "--log-format json: an error line in the log is JSON with level error"
    is "$(jq -r '.msg | type' <<<"$line" 2>&1)" string "--log-format json: the line has msg"
    like "$(jq -r '.msg' <<<"$line" 2>&1)" 'config\.json' "--log-format json: msg names the problem"
    like "$(jq -r '.time' <<<"$line" 2>&1)" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}' \
        "--log-format json: the line has an RFC 3339 time"
    ok "--log-format json: every line of the log is JSON" jq -e . "$log"
    nothing_created "$id" "--log-format json"
    reset_config
}

# runc's log contract, as containerd reads it back: with --log F
# --log-format json, every failure of create (and of start) is a JSON line
# {"level":"error","msg":…,"time":…} in F whose msg carries the message.
# log_error_case WHAT REGEX CMD...: after the command, F's lines all parse
# and the last error line's msg matches REGEX.
log_error_case() {
    local what=$1 regex=$2 log=$MODE_DIR/log-case.json line
    shift 2
    rm -f "$log"
    ocap --log "$log" --log-format json "$@"
    isnt "$status" 0 "--log json, $what: the command fails"
    ok "--log json, $what: every line of the log parses" jq -e . "$log"
    line=$(jq -c 'select(.level == "error")' "$log" 2>/dev/null | tail -n 1)
    like "$(jq -r .msg <<<"$line" 2>&1)" "$regex" "--log json, $what: an error line carries the message"
    like "$(jq -r .time <<<"$line" 2>&1)" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' "--log json, $what: the error line has a time"
}

check_log_contract() {
    local id
    reset_config
    jq_edit "$EB" '.root.path = "no-such-rootfs"'
    new_id; id=$NEW_ID
    log_error_case "missing rootfs" 'root\.path: .*no-such-rootfs.*\[bundle\.rootfs\]' create --bundle "$EB" "$id"
    nothing_created "$id" "--log json, missing rootfs"

    reset_config
    jq_edit "$EB" '.hooks.createRuntime = [{path: "/bin/sh", args: ["sh", "-c", "echo the hook says no >&2; exit 9"]}]'
    new_id; id=$NEW_ID
    log_error_case "failing createRuntime hook" \
        'hooks\.createRuntime\[0\] /bin/sh exited with status 9: the hook says no \[hook\.failed\]' \
        create --bundle "$EB" "$id"
    nothing_created "$id" "--log json, failing hook"

    reset_config
    jq_edit "$EB" '.process.args = ["/bin/no-such-binary"]'
    new_id; id=$NEW_ID
    log_error_case "missing binary" 'no-such-binary.*\[exec\.not_found\]' create --bundle "$EB" "$id"
    nothing_created "$id" "--log json, missing binary"

    # An executable file the kernel cannot run (no format it knows): only
    # the execve at start finds out; start fails and says so.
    reset_config
    printf 'not a program\n' >"$EB/rootfs/bin/not-a-program"
    chmod 0755 "$EB/rootfs/bin/not-a-program"
    jq_edit "$EB" '.process.args = ["/bin/not-a-program"]'
    new_id; id=$NEW_ID
    ocap create --bundle "$EB" "$id"
    is "$status" 0 "create of a container whose binary has no known format exits 0"
    log_error_case "execve failing at start" 'cannot execute /bin/not-a-program.*\[exec\.not_executable\]' \
        start "$id"
    ok "--log json, execve failing at start: the container is stopped" wait_status "$id" stopped 5
    ok "--log json, execve failing at start: delete removes it" oci delete "$id"
    rm -f "$EB/rootfs/bin/not-a-program"
    reset_config
}

check_nothing_left() {
    ocap list --format json
    is "$status" 0 "list --format json after the errors exits 0"
    is "$(jq -r 'length' <<<"$out" 2>&1)" 0 "list is empty after the errors"
    is "$(ls "$STATE_ROOT" 2>/dev/null | tr '\n' ' ')" "" "the state root is empty after the errors"
}

all_checks() {
    check_config_errors
    check_bundle_and_id_errors
    check_command_errors
    check_json_log
    check_log_contract
    check_nothing_left
}

for_each_mode all_checks
done_testing
