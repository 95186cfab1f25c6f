#!/bin/bash
# linux.seccomp, observed from inside the container: Seccomp: 2 with a
# profile and 0 without; skiff's default profile runs a busybox userland
# (sh, ls, cp, ps, wget to busybox httpd on the loopback) and denies what it
# says it denies, with EPERM, while unknown syscalls return ENOSYS; a KILL
# rule kills with SIGSYS; argument filters; the ENOSYS rule for syscalls
# newer than an EPERM profile; no_new_privileges false (the filter is then
# loaded before the uid switch); SCMP_ACT_NOTIFY with an agent; the cache
# of compiled filters; bad profiles named by JSON path; `spec --seccomp`.
# Root and rootless (one mapped id, and a subordinate range).
. "$(dirname "$0")/lib.sh"

# Syscall numbers for `skiff-probe syscall NR ARG...`.
declare -A NR
case $(uname -m) in
x86_64)
    NR=([mount]=165 [unshare]=272 [keyctl]=250 [add_key]=248 [reboot]=169 [init_module]=175
        [personality]=135 [getpid]=39 [getppid]=110 [vhangup]=153 [getrandom]=318 [clone3]=435
        [socket]=41) ;;
aarch64)
    NR=([mount]=40 [unshare]=97 [keyctl]=219 [add_key]=217 [reboot]=142 [init_module]=105
        [personality]=92 [getpid]=172 [getppid]=173 [vhangup]=58 [getrandom]=278 [clone3]=435
        [socket]=198) ;;
esac
CLONE_NEWUSER=0x10000000
AF_PACKET=17
SOCK_RAW=3

DEFAULT_PROFILE=$TEST_TMP/default-profile.json
mkdir -p "$TEST_TMP/spec-default"
"$SKIFF_OCI" spec --seccomp default --bundle "$TEST_TMP/spec-default" >&2 8>&- ||
    bail_out "skiff-oci spec --seccomp default failed"
jq '.linux.seccomp' "$TEST_TMP/spec-default/config.json" >"$DEFAULT_PROFILE" ||
    bail_out "no linux.seccomp in the spec written with --seccomp default"

# An EPERM profile that names only what the static probe needs, all of it
# older than getrandom: what is newer than the profile returns ENOSYS.
OLD_PROFILE=$TEST_TMP/old-profile.json
cat >"$OLD_PROFILE" <<'EOF'
{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
 "syscalls": [{"names": ["execve", "brk", "arch_prctl", "set_tid_address",
   "set_robust_list", "mprotect", "mmap", "munmap", "newfstatat", "fstat", "prlimit64",
   "readlink", "readlinkat", "read", "write", "close", "openat", "ioctl", "getpid",
   "exit", "exit_group"], "action": "SCMP_ACT_ALLOW"}]}
EOF

# run_in FILTER ARG...: run ARG... in the mode's bundle, its config the base
# config changed by the jq FILTER ("" for none; $default and $old are the
# profiles above); sets status/out/err.
run_in() {
    local filter=$1
    shift
    cp "$SB/config.base.json" "$SB/config.json"
    if [ -n "$filter" ]; then
        jq_edit "$SB" "$filter" --slurpfile default "$DEFAULT_PROFILE" \
            --slurpfile old "$OLD_PROFILE" || bail_out "bad jq filter: $filter"
    fi
    set_args "$SB" "$@"
    new_id
    ocap run --bundle "$SB" "$NEW_ID"
}
WITH_DEFAULT='.linux.seccomp = $default[0]'

# syscall_is NAME ARGS EXPECTED DESC [FILTER]: `skiff-probe syscall` of NAME
# under FILTER (default: skiff's profile) prints EXPECTED.
syscall_is() {
    local name=$1 args=$2 want=$3 desc=$4 filter=${5-$WITH_DEFAULT}
    # shellcheck disable=SC2086 # ARGS is a list of numbers
    run_in "$filter" skiff-probe syscall "${NR[$name]}" $args
    is "$out" "$want" "$desc"
}

setup_bundle() {
    SB=$MODE_DIR/sc
    bundle "$SB"
    # A writable root for cp and httpd's files; no core files from SIGSYS.
    jq_edit "$SB" '.root.readonly = false
        | .process.rlimits += [{type: "RLIMIT_CORE", soft: 0, hard: 0}]
        | if ([.linux.namespaces[].type] | index("network")) then . else .linux.namespaces += [{type: "network"}] end'
    cp "$SB/config.json" "$SB/config.base.json"
}

check_status_line() {
    run_in "" skiff-probe caps
    is "$(grep '^Seccomp:' <<<"$out" | awk '{print $2}')" 0 "without linux.seccomp: Seccomp: 0"
    run_in "$WITH_DEFAULT" skiff-probe caps
    is "$status" 0 "the default profile: the probe runs"
    is "$(grep '^Seccomp:' <<<"$out" | awk '{print $2}')" 2 "with the default profile: Seccomp: 2 (filter)"
    is "$(grep '^NoNewPrivs:' <<<"$out" | awk '{print $2}')" 1 "with the default profile: NoNewPrivs: 1"
}

check_busybox() {
    run_in "$WITH_DEFAULT" sh -c 'ls / >/dev/null && cp /etc/passwd /tmp/passwd.copy &&
        cmp /etc/passwd /tmp/passwd.copy && echo copied'
    is "$out" copied "default profile: sh, ls, cp and cmp work"
    run_in "$WITH_DEFAULT" ps -o pid,comm
    like "$out" "1 +ps" "default profile: ps lists the processes"
    run_in "$WITH_DEFAULT" sh -c 'mkdir -p /tmp/www && echo hello-from-httpd >/tmp/www/index.html &&
        httpd -p 127.0.0.1:8080 -h /tmp/www && wget -q -O - http://127.0.0.1:8080/index.html'
    is "$out" hello-from-httpd "default profile: wget fetches from busybox httpd on the loopback"
    run_in "$WITH_DEFAULT" sh -c 'sleep 0.1 & wait; echo $?'
    is "$out" 0 "default profile: fork and wait (clone without CLONE_NEW*)"
}

check_denied() {
    if [ ${#NR[@]} -eq 0 ]; then
        skip "no syscall numbers for $(uname -m) in this test" 17
        return
    fi
    # What the kernel says without a filter, to know that the filter is
    # what denies below.
    syscall_is unshare $CLONE_NEWUSER "0 ok" "no profile: unshare(CLONE_NEWUSER) works" ""
    run_in "" skiff-probe syscall "${NR[keyctl]}"
    isnt "$out" "-1 EPERM" "no profile: keyctl is not EPERM"
    syscall_is vhangup "" "-1 EPERM" "no profile: vhangup is EPERM (no CAP_SYS_TTY_CONFIG)" ""

    syscall_is mount "" "-1 EPERM" "default profile: mount is EPERM"
    syscall_is unshare $CLONE_NEWUSER "-1 EPERM" "default profile: unshare(CLONE_NEWUSER) is EPERM"
    syscall_is unshare 0 "0 ok" "default profile: unshare(0) works"
    syscall_is keyctl "" "-1 EPERM" "default profile: keyctl is EPERM"
    syscall_is add_key "" "-1 EPERM" "default profile: add_key is EPERM"
    syscall_is reboot "" "-1 EPERM" "default profile: reboot is EPERM"
    syscall_is init_module "" "-1 EPERM" "default profile: init_module is EPERM"
    syscall_is socket "$AF_PACKET $SOCK_RAW" "-1 EAFNOSUPPORT" "default profile: socket(AF_PACKET) looks absent"
    syscall_is vhangup "" "-1 ENOSYS" "default profile: a syscall it does not name is ENOSYS"
    syscall_is clone3 "" "-1 ENOSYS" "default profile: clone3 is ENOSYS (libc falls back to clone)"
    syscall_is personality 0xffffffff "0 ok" "default profile: personality(0xffffffff) (query) works"
    syscall_is personality 0x0040000 "-1 ENOSYS" "default profile: personality(ADDR_NO_RANDOMIZE) is refused"

    # An EPERM profile older than getrandom: newer syscalls are ENOSYS.
    syscall_is getrandom "0 0 0" "-1 ENOSYS" "EPERM profile: a syscall newer than the profile is ENOSYS" \
        '.linux.seccomp = $old[0]'
    syscall_is vhangup "" "-1 EPERM" "EPERM profile: an older syscall it does not name is EPERM" \
        '.linux.seccomp = $old[0]'
}

check_actions_and_args() {
    if [ ${#NR[@]} -eq 0 ]; then
        skip "no syscall numbers for $(uname -m) in this test" 7
        return
    fi
    run_in '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{names: ["getppid"], action: "SCMP_ACT_KILL"}]}' skiff-probe pid
    is "$status" 159 "SCMP_ACT_KILL kills with SIGSYS: run exits 128+31"
    run_in '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{names: ["getppid"], action: "SCMP_ACT_ERRNO", errnoRet: 42}]}' \
        skiff-probe syscall "${NR[getppid]}"
    is "$out" "-1 E42" "SCMP_ACT_ERRNO with errnoRet 42"

    local args='.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", syscalls: [
        {names: ["personality"], action: "SCMP_ACT_ERRNO",
         args: [{index: 0, value: 4294967295, op: "SCMP_CMP_EQ"}]},
        {names: ["unshare"], action: "SCMP_ACT_ERRNO",
         args: [{index: 0, value: 268435456, valueTwo: 268435456, op: "SCMP_CMP_MASKED_EQ"}]}]}'
    syscall_is personality 0 "0 ok" "args: personality(0) is allowed" "$args"
    syscall_is personality 0xffffffff "-1 EPERM" "args: personality(0xffffffff) is denied" "$args"
    syscall_is unshare 0 "0 ok" "args (MASKED_EQ): unshare(0) is allowed" "$args"
    syscall_is unshare $((CLONE_NEWUSER | 0x400)) "-1 EPERM" \
        "args (MASKED_EQ): unshare(CLONE_NEWUSER|CLONE_FILES) is denied" "$args"

    # Without no_new_privileges the filter is loaded before the capability
    # drop and the uid switch, which would forbid loading it afterwards.
    run_in "$WITH_DEFAULT | .process.noNewPrivileges = false" skiff-probe caps
    is "$(grep -E '^(NoNewPrivs|Seccomp):' <<<"$out" | awk '{print $2}' | paste -sd' ')" "0 2" \
        "noNewPrivileges false: NoNewPrivs: 0, Seccomp: 2"
}

check_non_root_user() {
    if [ "$MODE" = single ]; then
        skip "a non-root process user needs a range mapping" 1
        return
    fi
    run_in "$WITH_DEFAULT | .process.noNewPrivileges = false | .process.user = {uid: 1000, gid: 1000}" \
        sh -c 'skiff-probe ids; skiff-probe caps'
    like "$out" "uid=1000 gid=1000.*Seccomp:.2" "noNewPrivileges false, uid 1000: the filter is loaded (before the uid switch)"
}

check_notify() {
    if [ ${#NR[@]} -eq 0 ]; then
        skip "no syscall numbers for $(uname -m) in this test" 5
        return
    fi
    local sock=$MODE_DIR/agent.sock agent_out=$MODE_DIR/agent.out i
    rm -f "$sock"
    "${RUNAS[@]}" "$SKIFF_PROBE" seccomp-agent "$sock" 4242 >"$agent_out" 2>&1 </dev/null 8>&- &
    local agent=$!
    for ((i = 0; i < 100; i++)); do [ -S "$sock" ] && break; sleep 0.05; done
    run_in '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", listenerPath: $ENV.AGENT_SOCK,
        listenerMetadata: "meta-data", syscalls: [{names: ["getppid"], action: "SCMP_ACT_NOTIFY"}]}' \
        skiff-probe syscall "${NR[getppid]}"
    is "$out" "4242 ok" "SCMP_ACT_NOTIFY: the agent's answer is the syscall's result"
    wait_bg "$agent" 10
    is "$?" 0 "SCMP_ACT_NOTIFY: the agent got the fd and ends with the container"
    local state
    state=$(head -n 1 "$agent_out")
    is "$(jq -r '[.ociVersion != null, .fds[0], .metadata, .state.status] | map(tostring) | join(" ")' <<<"$state" 2>&1)" \
        "true seccompFd meta-data running" "SCMP_ACT_NOTIFY: the state sent with the fd (runc's ContainerProcessState)"
    is "$(jq -r '.state.id + " " + .state.bundle + " " + (.pid == .state.pid and .pid > 1 | tostring)' <<<"$state" 2>&1)" \
        "$NEW_ID $SB true" "SCMP_ACT_NOTIFY: the state names the container, its bundle and the init's host pid"
    like "$(cat "$agent_out")" "notified ${NR[getppid]}" "SCMP_ACT_NOTIFY: the agent saw getppid"
}

# cache_run ENV... : run the default profile with --debug, XDG_CACHE_HOME in
# the mode's dir, and ENV.
cache_run() {
    cp "$SB/config.base.json" "$SB/config.json"
    jq_edit "$SB" "$WITH_DEFAULT" --slurpfile default "$DEFAULT_PROFILE"
    set_args "$SB" true
    new_id
    capture "${RUNAS[@]}" env XDG_CACHE_HOME="$CACHE" "$@" "$SKIFF_OCI" --debug --root "$STATE_ROOT" \
        run --bundle "$SB" "$NEW_ID"
}

check_cache() {
    CACHE=$MODE_DIR/cache
    if [ "$MODE" = root ]; then mkdir -p "$CACHE"; else user_dir "$CACHE"; fi
    cache_run
    is "$status" 0 "cache: the first run works"
    like "$err" "seccomp: compiled the filter" "cache: the first run compiles the profile"
    local entries
    entries=$(find "$CACHE/skiff/seccomp" -name '*.bpf' -printf '%m %f\n' 2>/dev/null)
    like "$entries" '^600 [0-9a-f]{64}\.bpf$' "cache: one entry, 0600, named by a sha256"
    is "$(stat -c %a "$CACHE/skiff/seccomp" 2>&1)" 700 "cache: the directory is private (0700)"
    cache_run
    like "$err" "seccomp: cached filter" "cache: the second run loads the cached program"
    cache_run SKIFF_SECCOMP_CACHE=0
    like "$err" "seccomp: compiled the filter" "cache: SKIFF_SECCOMP_CACHE=0 compiles again"
    # An entry that others could have written is not trusted.
    chmod 0666 "$CACHE"/skiff/seccomp/*.bpf
    cache_run
    like "$err" "seccomp: compiled the filter" "cache: an entry writable by others is ignored"
    is "$status" 0 "cache: and the container still runs"
}

check_bad_profiles() {
    local f
    for f in 'syscalls[0].action = "SCMP_ACT_MAYBE"|linux\.seccomp\.syscalls\[0\]\.action: unknown action "SCMP_ACT_MAYBE"' \
        'syscalls[0].args = [{index: 0, value: 1, op: "SCMP_CMP_ABOUT"}]|linux\.seccomp\.syscalls\[0\]\.args\[0\]\.op: unknown operator "SCMP_CMP_ABOUT"' \
        'architectures = ["SCMP_ARCH_VAX"]|linux\.seccomp\.architectures\[0\]: unknown architecture "SCMP_ARCH_VAX"' \
        'syscalls[0].errnoRet = 70000|linux\.seccomp\.syscalls\[0\]\.errnoRet: 70000 does not fit' \
        'syscalls[0].action = "SCMP_ACT_NOTIFY"|linux\.seccomp\.listenerPath: required'; do
        run_in ".linux.seccomp = {defaultAction: \"SCMP_ACT_ALLOW\", syscalls: [{names: [\"getppid\"], action: \"SCMP_ACT_ERRNO\"}]}
            | .linux.seccomp.${f%%|*}" true
        is "$status" 125 "bad profile (${f%%|*}): run fails"
        like "$err" "config.json: ${f#*|}.*\[spec\.invalid\]" "bad profile (${f%%|*}): the error names the JSON path"
    done
}

check_spec_option() {
    TAP_PREFIX=
    is "$(jq -r '.linux.seccomp | [.defaultAction, .defaultErrnoRet, (.syscalls | length > 20)] | map(tostring) | join(" ")' \
        "$TEST_TMP/spec-default/config.json")" "SCMP_ACT_ERRNO 38 true" "spec --seccomp default embeds skiff's profile"
    mkdir -p "$TEST_TMP/spec-file" "$TEST_TMP/spec-bad"
    echo '{"defaultAction": "SCMP_ACT_LOG"}' >"$TEST_TMP/profile.json"
    capture "$SKIFF_OCI" spec --seccomp "$TEST_TMP/profile.json" --bundle "$TEST_TMP/spec-file"
    is "$(jq -r .linux.seccomp.defaultAction "$TEST_TMP/spec-file/config.json" 2>&1)" SCMP_ACT_LOG \
        "spec --seccomp FILE embeds the file's profile"
    echo '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "NOPE"}]}' \
        >"$TEST_TMP/bad-profile.json"
    capture "$SKIFF_OCI" spec --seccomp "$TEST_TMP/bad-profile.json" --bundle "$TEST_TMP/spec-bad"
    like "$err" "bad-profile\.json: linux\.seccomp\.syscalls\[0\]\.action: unknown action \"NOPE\"" \
        "spec --seccomp BAD: the error names the file and the JSON path"
    ok "spec --seccomp BAD: no config.json is written" test ! -e "$TEST_TMP/spec-bad/config.json"
    echo '[1, 2]' >"$TEST_TMP/array.json"
    capture "$SKIFF_OCI" spec --seccomp "$TEST_TMP/array.json" --bundle "$TEST_TMP/spec-bad"
    like "$err" "array\.json: expected a JSON object" "spec --seccomp: a profile that is not an object is refused"
}

all_checks() {
    setup_bundle
    check_status_line
    check_busybox
    check_denied
    check_actions_and_args
    check_non_root_user
    export AGENT_SOCK=$MODE_DIR/agent.sock
    check_notify
    check_cache
    check_bad_profiles
}

for_each_mode all_checks
check_spec_option
done_testing
