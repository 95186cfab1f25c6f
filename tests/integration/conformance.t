#!/bin/bash
# runtime-spec MUSTs that no other file tests, one check each, as listed in
# docs/conformance.md: operations without an id, config.json edits after
# create, mount order and relative destinations, oomScoreAdj, duplicated
# namespaces and rlimits, a namespace path of the wrong type, annotation
# keys, unknown properties, consoleSize without a terminal, a device path
# taken by another file.  Every check runs as root and rootless (one mapped
# id, and a subordinate range).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

# refused WHAT REGEX: after a capture, the command failed with an error
# whose message matches REGEX.
refused() {
    isnt "$status" 0 "$1: refused"
    like "$err" "$2" "$1: the error says why"
}

check_operations_need_an_id() {
    local cmd
    for cmd in state start kill delete; do
        ocap "$cmd"
        isnt "$status" 0 "$cmd without a container id fails"
        like "$err" '\[cli\.usage\]' "$cmd without a container id: a usage error"
    done
}

check_config_after_create() {
    local b=$MODE_DIR/after id
    bundle "$b"
    set_args "$b" sh -c 'echo the args of create'
    new_id; id=$NEW_ID
    oci create --bundle "$b" "$id" >"$b.out" 2>"$b.err" </dev/null
    set_args "$b" sh -c 'echo the args edited later'
    jq_edit "$b" '.process.env += ["EDITED=1"]'
    oci start "$id" </dev/null >/dev/null 2>&1
    wait_status "$id" stopped 10
    is "$(cat "$b.out")" "the args of create" "an edit of config.json after create does not reach the container"
    oci delete --force "$id" >/dev/null 2>&1 </dev/null
}

check_mounts_order_and_relative() {
    local b=$MODE_DIR/mnt
    bundle "$b"
    user_dir "$MODE_DIR/first"
    user_dir "$MODE_DIR/second"
    echo first >"$MODE_DIR/first/which"
    echo second >"$MODE_DIR/second/which"
    # Two mounts on one destination: the later one is on top.  A relative
    # destination is taken from "/".
    jq_edit "$b" '.mounts += [{destination: "/mnt/x", type: "bind", source: $a, options: ["rbind"]},
                              {destination: "/mnt/x", type: "bind", source: $b, options: ["rbind"]},
                              {destination: "mnt/rel", type: "tmpfs", source: "tmpfs"}]' \
        --arg a "$MODE_DIR/first" --arg b "$MODE_DIR/second"
    set_args "$b" sh -c 'cat /mnt/x/which; skiff-probe mount /mnt/rel'
    new_id
    ocap run --bundle "$b" "$NEW_ID"
    is "$status" 0 "a container with two mounts on one destination and a relative one runs"
    is "$(head -n 1 <<<"$out")" second "mounts are made in the listed order: the later one is on top"
    like "$(sed -n 2p <<<"$out")" 'tmpfs' "a relative mount destination is relative to /"
}

check_oom_score_adj() {
    local b=$MODE_DIR/oom own
    bundle "$b"
    set_args "$b" cat /proc/self/oom_score_adj
    # Raising it needs no privilege; lowering below the caller's does.
    own=$("${RUNAS[@]}" cat /proc/self/oom_score_adj)
    new_id
    ocap run --bundle "$b" "$NEW_ID"
    is "$out" "$own" "without oomScoreAdj the value is the caller's, unchanged"
    jq_edit "$b" '.process.oomScoreAdj = 789'
    new_id
    ocap run --bundle "$b" "$NEW_ID"
    is "$out" 789 "process.oomScoreAdj is set"
}

check_refused_configs() {
    local b=$MODE_DIR/bad id
    bundle "$b"
    set_args "$b" true
    cp "$b/config.json" "$b/config.good.json"

    jq_edit "$b" '.linux.namespaces += [.linux.namespaces[0]]'
    new_id; id=$NEW_ID
    ocap create --bundle "$b" "$id"
    refused "a duplicated namespace type" 'linux\.namespaces\[[0-9]+\]\.type: the [a-z]+ namespace is already given'
    nok "a duplicated namespace type: nothing is created" test -e "$STATE_ROOT/$id"

    cp "$b/config.good.json" "$b/config.json"
    jq_edit "$b" '.process.rlimits = [{type: "RLIMIT_NOFILE", soft: 100, hard: 100},
                                      {type: "RLIMIT_NOFILE", soft: 50, hard: 50}]'
    new_id; id=$NEW_ID
    ocap create --bundle "$b" "$id"
    refused "a duplicated rlimit type" 'process\.rlimits\[1\]: RLIMIT_NOFILE is already set'

    # The uts namespace given by the path of a network namespace.
    cp "$b/config.good.json" "$b/config.json"
    jq_edit "$b" '.linux.namespaces = [.linux.namespaces[] | if .type == "uts" then .path = "/proc/self/ns/net" else . end]'
    new_id; id=$NEW_ID
    ocap create --bundle "$b" "$id"
    refused "a namespace path of another type" 'cannot join the uts namespace /proc/self/ns/net'
    nok "a namespace path of another type: nothing is created" test -e "$STATE_ROOT/$id"

    cp "$b/config.good.json" "$b/config.json"
    jq_edit "$b" 'del(.process)'
    new_id; id=$NEW_ID
    ocap create --bundle "$b" "$id"
    refused "a config without process" 'process: required'
    nok "a config without process: nothing is created" test -e "$STATE_ROOT/$id"

    cp "$b/config.good.json" "$b/config.json"
    jq_edit "$b" '.annotations = {"": "x"}'
    new_id; id=$NEW_ID
    ocap create --bundle "$b" "$id"
    refused "an empty annotation key" 'annotations: a key is empty'

    # A directory of the rootfs where a device is asked for: without the
    # /dev tmpfs, the rootfs's own /dev/null.  (Rootless, devices are
    # bind mounts of the host's, and a regular file there is only their
    # mount point, as with runc.)
    cp "$b/config.good.json" "$b/config.json"
    jq_edit "$b" '.mounts = [.mounts[] | select(.destination != "/dev")]
        | .linux.devices = [{path: "/dev/null", type: "c", major: 1, minor: 3}]'
    rm -rf "$b/rootfs/dev/null"
    user_dir "$b/rootfs/dev/null"
    new_id; id=$NEW_ID
    ocap create --bundle "$b" "$id"
    refused "a device path taken by another file" \
        '/dev/null (exists in the rootfs and is not the expected device|in the rootfs is neither a file nor a device)'
    nok "a device path taken by another file: nothing is created" test -e "$STATE_ROOT/$id"
    rmdir "$b/rootfs/dev/null"
    cp "$b/config.good.json" "$b/config.json"
}

check_ignored_properties() {
    local b=$MODE_DIR/ign
    bundle "$b"
    set_args "$b" echo fine
    jq_edit "$b" '.skiffTestUnknown = {a: 1} | .process.skiffTestUnknown = [1]
        | .linux.skiffTestUnknown = "x" | .process.consoleSize = {height: 25, width: 80}
        | .process.terminal = false'
    new_id
    ocap run --bundle "$b" "$NEW_ID"
    is "$status/$out" "0/fine" "unknown properties and consoleSize without a terminal are ignored"
}

# A namespace type the config does not list is the runtime's.
check_inherited_namespace() {
    local b=$MODE_DIR/inherit
    bundle "$b"
    jq_edit "$b" '.linux.namespaces = [.linux.namespaces[] | select(.type != "network")]'
    set_args "$b" readlink /proc/self/ns/net
    new_id
    ocap run --bundle "$b" "$NEW_ID"
    is "$out" "$("${RUNAS[@]}" readlink /proc/self/ns/net)" \
        "without a network namespace entry the container has the runtime's"
}

all_checks() {
    check_operations_need_an_id
    check_config_after_create
    check_mounts_order_and_relative
    check_oom_score_adj
    check_refused_configs
    check_ignored_properties
    check_inherited_namespace
}

for_each_mode all_checks
# Every test docs/conformance.md cites must exist, with the check it names.
ok "docs/conformance.md cites only tests and checks that exist" \
    sh "$SKIFF_SRCDIR/tests/conformance-refs.sh" "$SKIFF_SRCDIR"
done_testing
