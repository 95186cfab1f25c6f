#!/bin/bash
# `exec` and terminals through skiff-oci, runc's argument shape: a second
# process in a running container sees the container (its pid 1, its
# namespaces, hostname, seccomp), gets the options it was given, reports
# its exit status; --process FILE, --detach with --pid-file; the errors.
# Terminals: --console-socket for create and exec (received by
# tests/helper/skiff-recvtty, as containerd and conmon receive it), and
# skiff as the pty proxy of `run` and `exec -t`, under script(1).  Every
# check runs as root and rootless (one mapped id, and a subordinate range).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

: "${SKIFF_RECVTTY:=$SKIFF_BUILDDIR/tests/helper/skiff-recvtty}"
[ -x "$SKIFF_RECVTTY" ] || bail_out "SKIFF_RECVTTY=$SKIFF_RECVTTY is not an executable (make check builds it)"
command -v script >/dev/null || bail_out "script(1) is needed (Debian package bsdutils)"

last_line() {
    awk 'NF { l = $0 } END { print l }' <<<"$1"
}

# A filter for mkdir(2) only: shows that exec's process gets the
# container's seccomp profile.
SECCOMP_NO_MKDIR='{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}'

# running_container BUNDLE ARGS...: create and start; sets CID and INIT.
running_container() {
    local b=$1
    shift
    set_args "$b" "$@"
    new_id
    CID=$NEW_ID
    oci create --bundle "$b" "$CID" >"$b.out" 2>"$b.err" </dev/null &&
        oci start "$CID" </dev/null >>"$b.out" 2>>"$b.err" &&
        wait_status "$CID" running 10 && INIT=$(state_field "$CID" .pid) && return 0
    fail "container $CID is running" "$(cat "$b.err")"
    return 1
}

# in_ctr [OPTIONS] COMMAND...: exec OPTIONS CID COMMAND, through capture.
in_ctr() {
    local opts=()
    while [ $# -gt 0 ] && [[ $1 == -* ]]; do
        case $1 in
        --cwd | -e | -u | -g | --cap | --pid-file | --process | --console-socket | --apparmor | --process-label)
            opts+=("$1" "$2")
            shift 2
            ;;
        *)
            opts+=("$1")
            shift
            ;;
        esac
    done
    ocap exec "${opts[@]}" "$CID" "$@"
}

# The bundle of the mode: a hostname, a marker variable, the seccomp filter.
exec_bundle() {
    local b=$1
    bundle "$b"
    jq_edit "$b" ".hostname = \"exec-host\" | .process.env += [\"MARK=from-config\"]
        | .linux.seccomp = $SECCOMP_NO_MKDIR" || bail_out "cannot edit $b/config.json"
}

check_sees_container() {
    local b=$MODE_DIR/sees ns inside
    exec_bundle "$b"
    running_container "$b" sleep 1000 || return

    in_ctr sh -c 'tr "\0" " " </proc/1/cmdline'
    is "$status" 0 "exec exits 0"
    is "$out" "sleep 1000 " "exec: pid 1 is the container's init (same pid namespace)"
    for ns in pid mnt uts net ipc cgroup user; do
        in_ctr readlink "/proc/self/ns/$ns"
        inside=$out
        is "$inside" "$(readlink "/proc/$INIT/ns/$ns")" "exec: the $ns namespace is the init's"
    done
    in_ctr hostname
    is "$out" exec-host "exec: the container's hostname"
    in_ctr sh -c 'echo $MARK'
    is "$out" from-config "exec: the container's process.env"
    in_ctr grep '^Seccomp:' /proc/self/status
    is "$(awk '{print $2}' <<<"$out")" 2 "exec: the container's seccomp filter is loaded"
    in_ctr mkdir /tmp/denied
    isnt "$status" 0 "exec: the filter applies (mkdir denied)"
    in_ctr sh -c 'grep ^CapEff: /proc/self/status'
    is "$out" "$(grep '^CapEff:' "/proc/$INIT/status")" "exec: the container's capabilities (CapEff as the init's)"

    # The configuration create kept, not the bundle edited since.
    jq_edit "$b" '.process.env += ["MARK=edited-later"] | .hostname = "other"'
    in_ctr sh -c 'echo $MARK'
    is "$out" from-config "exec uses the config.json create saw, not the bundle edited since"

    # Exit codes, and signals as 128+N.
    in_ctr sh -c 'exit 0'
    is "$status" 0 "exec: exit 0 is passed on"
    in_ctr sh -c 'exit 3'
    is "$status" 3 "exec: exit 3 is passed on"
    in_ctr sh -c 'kill -9 $$'
    is "$status" 137 "exec: killed by SIGKILL: 137"
    in_ctr sh -c 'kill -TERM $$'
    is "$status" 143 "exec: killed by SIGTERM: 143"
    in_ctr /no/such/command
    is "$status" 127 "exec: a missing command: 127"
    like "$(last_line "$err")" '\[exec\.not_found\]$' "exec: a missing command names exec.not_found"
    ok "the container still runs after the execs" wait_status "$CID" running 2
}

check_options() {
    local b=$MODE_DIR/opts p
    exec_bundle "$b"
    running_container "$b" sleep 1000 || return

    in_ctr --cwd /tmp -e MARK=replaced -e NEW=1 sh -c 'pwd; echo "$MARK $NEW"; env | grep -c "^MARK="'
    is "$out" $'/tmp\nreplaced 1\n1' "exec --cwd, --env (replacing one variable, adding another)"
    in_ctr --cap CAP_NET_ADMIN sh -c 'grep ^CapEff: /proc/self/status'
    like "$out" '^CapEff:' "exec --cap: CapEff is printed"
    is "$(( 0x$(awk '{print $2}' <<<"$out") >> 12 & 1 ))" 1 "exec --cap CAP_NET_ADMIN: bit 12 is effective"
    in_ctr sh -c 'grep ^CapEff: /proc/self/status'
    is "$(( 0x$(awk '{print $2}' <<<"$out") >> 12 & 1 ))" 0 "exec without --cap: CAP_NET_ADMIN is not effective"
    in_ctr --no-new-privs grep '^NoNewPrivs:' /proc/self/status
    is "$(awk '{print $2}' <<<"$out")" 1 "exec --no-new-privs: NoNewPrivs 1"
    in_ctr --cap CAP_NO_SUCH true
    like "$(last_line "$err")" 'CAP_NO_SUCH.*\[cli\.usage\]$' "exec --cap with an unknown name is refused"

    if [ "$MODE" = single ]; then
        in_ctr -u 1000:1000 id
        like "$(last_line "$err")" 'not mapped.*\[container\.user\]$' \
            "exec -u 1000 in a single-id user namespace: uid not mapped"
    else
        in_ctr -u 1000:1000 -g 5 -g 6 id
        like "$out" '^uid=1000[^ ]* gid=1000[^ ]* groups=5[^,]*,6[^,]*$' "exec --user 1000:1000 --additional-gids 5,6"
        in_ctr -u 1000:1000 sh -c 'grep ^CapEff: /proc/self/status'
        is "$out" "CapEff:	0000000000000000" "exec --user 1000: no effective capability"
    fi

    # --process FILE: the Process object as given; no command with it.
    p=$MODE_DIR/process.json
    jq '.process | .args = ["sh", "-c", "echo \"$A $(pwd)\"; exit 7"] | .env = ["A=file", "PATH=/bin:/usr/bin"] | .cwd = "/etc"' \
        "$b/config.json" >"$p"
    in_ctr --process "$p"
    is "$status/$out" "7/file /etc" "exec --process FILE: args, env, cwd from the file; exit 7"
    ocap exec --process "$p" "$CID" true
    like "$(last_line "$err")" 'either --process FILE or a command.*\[cli\.usage\]$' "exec --process with a command is refused"
    echo '{"args": "sh", "cwd": "/"}' >"$p"
    ocap exec --process "$p" "$CID"
    like "$(last_line "$err")" "^skiff: --process $p: args: .*\\[spec\\.invalid\\]\$" "exec --process: a bad file names the file and the JSON path"
}

check_detach() {
    local b=$MODE_DIR/detach pidfile pid i
    exec_bundle "$b"
    running_container "$b" sleep 1000 || return
    pidfile=$MODE_DIR/detach.pid

    in_ctr --detach --pid-file "$pidfile" sleep 999
    is "$status" 0 "exec --detach exits 0"
    pid=$(cat "$pidfile" 2>/dev/null)
    like "$pid" '^[1-9][0-9]*$' "exec --pid-file holds a pid when exec returns"
    # Read at once: the process has exec'd by the time exec returns.
    is "$(tr '\0' ' ' <"/proc/${pid:-0}/cmdline" 2>/dev/null)" "sleep 999 " \
        "exec --detach returns once the process runs (its command line is the command's)"
    is "$(readlink "/proc/${pid:-0}/ns/pid")" "$(readlink "/proc/$INIT/ns/pid")" \
        "the detached process is in the container's pid namespace"
    in_ctr sh -c 'ps -o comm | grep -c "^sleep$"'
    is "$out" 2 "exec: the container sees the init and the detached process"
    ocap delete --force "$CID"
    is "$status" 0 "delete --force with a detached exec process"
    for ((i = 0; i < 50; i++)); do [ -e "/proc/${pid:-0}" ] || break; sleep 0.1; done
    nok "delete --force ends the detached process too" test -e "/proc/${pid:-0}"
}

check_errors() {
    local b=$MODE_DIR/errs id
    exec_bundle "$b"

    ocap exec "skt-no-such-$$" true
    is "$status" 125 "exec into an unknown id exits 125"
    like "$(last_line "$err")" "\"skt-no-such-$$\" does not exist.*\\[container\\.not_found\\]\$" "exec into an unknown id names it"

    set_args "$b" true
    new_id
    id=$NEW_ID
    oci create --bundle "$b" "$id" >/dev/null 2>&1 </dev/null && oci start "$id" >/dev/null 2>&1 </dev/null
    ok "a container whose process exited is stopped" wait_status "$id" stopped 10
    ocap exec "$id" true
    is "$status" 125 "exec into a stopped container exits 125"
    like "$(last_line "$err")" "\"$id\" is stopped.*\\[container\\.not_running\\]\$" "exec into a stopped container names it"

    running_container "$b" sleep 1000 || return
    ocap pause "$CID"
    if [ "$status" -eq 0 ]; then
        in_ctr true
        like "$(last_line "$err")" "\"$CID\" is paused.*\\[container\\.paused\\]\$" "exec into a paused container names it"
        oci resume "$CID" >/dev/null 2>&1
    else
        skip "pause needs the container in a cgroup v2 cgroup: $(last_line "$err")"
    fi
    in_ctr --apparmor some-profile true
    like "$(last_line "$err")" 'AppArmor.*\[exec\.lsm_unsupported\]$' "exec --apparmor is refused"
    in_ctr --process-label system_u:system_r:container_t:s0 true
    like "$(last_line "$err")" 'SELinux.*\[exec\.lsm_unsupported\]$' "exec --process-label is refused"
    in_ctr --apparmor "" true
    is "$status" 0 "exec --apparmor with an empty value is accepted"
    in_ctr --detach --tty true
    like "$(last_line "$err")" '--console-socket.*\[terminal\.no_console_socket\]$' "exec --detach --tty without --console-socket is refused"
    in_ctr --console-socket "$MODE_DIR/none.sock" true
    like "$(last_line "$err")" 'terminal.*\[terminal\.console_socket\]$' "exec --console-socket without --tty is refused"
}

# ---- terminals ------------------------------------------------------------------

# recvtty SOCKET OUT [ARGS...]: the receiver, as the mode's user, in the
# background (RECV_PID); waits until it listens.
recvtty() {
    local sock=$1 o=$2 i
    shift 2
    rm -f "$sock"
    "${RUNAS[@]}" "$SKIFF_RECVTTY" "$@" "$sock" >"$o" 2>&1 </dev/null 8>&- &
    RECV_PID=$!
    for ((i = 0; i < 50; i++)); do [ -S "$sock" ] && return 0; sleep 0.1; done
    return 1
}

check_console_socket() {
    local b=$MODE_DIR/tty sock=$MODE_DIR/tty.sock o=$MODE_DIR/tty.recv id rc
    exec_bundle "$b"
    jq_edit "$b" '.process.terminal = true'
    set_args "$b" sh -c 'read a; echo "got $a"; tty; stty size'

    # create + start: the init's terminal goes to the socket.
    new_id
    id=$NEW_ID
    recvtty "$sock" "$o" --size 12x34 --input $'hello\n' --name "$MODE_DIR/tty.name"
    is "$?" 0 "the receiver listens on the console socket"
    ocap create --bundle "$b" --console-socket "$sock" "$id"
    is "$status" 0 "create with process.terminal and --console-socket exits 0"
    is "$out" "" "nothing of the container went to create's stdout"
    oci start "$id" >/dev/null 2>>"$b.err" </dev/null
    wait_bg "$RECV_PID" 20
    is "$?" 0 "the receiver got the pty and read it until it closed"
    is "$(cat "$MODE_DIR/tty.name" 2>/dev/null)" /dev/ptmx "the master comes with the name runc sends (/dev/ptmx)"
    is "$(tr -d '\r' <"$o" | grep '^got')" "got hello" "create --console-socket: input reaches the process, output comes back"
    like "$(tr -d '\r' <"$o" | grep '^/dev')" '^/dev/pts/[0-9]+$' "create --console-socket: tty prints /dev/pts/N"
    is "$(tr -d '\r' <"$o" | tail -n 1)" "12 34" "create --console-socket: stty size is what the receiver set"
    oci delete --force "$id" >/dev/null 2>&1

    new_id
    id=$NEW_ID
    oci create --bundle "$b" "$id" >"$b.out" 2>"$b.err" </dev/null
    isnt "$?" 0 "create with process.terminal and no --console-socket fails"
    like "$(last_line "$(cat "$b.err")")" '\[terminal\.no_console_socket\]$' "... with terminal.no_console_socket"
    nok "... and leaves no container" oci_quick state "$id"

    # exec -t: foreground with a console socket, exit status passed on.
    jq_edit "$b" '.process.terminal = false'
    running_container "$b" sleep 1000 || return
    recvtty "$sock" "$o" --size 23x45 --input $'again\n'
    ocap exec --tty --console-socket "$sock" "$CID" sh -c 'read a; echo "got $a"; tty; stty size; exit 4'
    is "$status" 4 "exec -t --console-socket: exit 4 is passed on"
    wait_bg "$RECV_PID" 20
    rc=$?
    is "$rc" 0 "exec -t: the receiver read the pty until it closed"
    is "$(tr -d '\r' <"$o" | grep '^got')" "got again" "exec -t --console-socket: input and output through the pty"
    like "$(tr -d '\r' <"$o" | grep '^/dev')" '^/dev/pts/[0-9]+$' "exec -t --console-socket: tty prints /dev/pts/N"
    is "$(tr -d '\r' <"$o" | tail -n 1)" "23 45" "exec -t --console-socket: stty size is what the receiver set"

    # exec --detach -t, as containerd and Podman call it.
    recvtty "$sock" "$o" --size 5x6 --input $'x\n'
    ocap exec --detach --tty --console-socket "$sock" --pid-file "$MODE_DIR/tty.pid" "$CID" sh -c 'read a; stty size'
    is "$status" 0 "exec --detach --tty --console-socket exits 0"
    wait_bg "$RECV_PID" 20
    is "$(tr -d '\r' <"$o" | tail -n 1)" "5 6" "exec --detach --tty: the receiver has the process's terminal"
}

# in_pty CMDLINE: CMDLINE under script(1) as the mode's user, with a stdin
# that stays open (script sends a NUL into the pty when its input ends);
# sets status and out (without the pty's \r).
in_pty() {
    local fd sleeper
    exec {fd}< <(exec sleep 60 8>&-)
    sleeper=$!
    out=$(timeout -k 5 "$SKIFF_TEST_TIMEOUT" "${RUNAS[@]}" script -qec "$1" /dev/null <&"$fd" 2>&1 8>&-)
    status=$?
    kill "$sleeper" 2>/dev/null
    exec {fd}<&-
    out=${out//$'\r'/}
}

check_pty_proxy() {
    local b=$MODE_DIR/proxy oci_cmd id
    exec_bundle "$b"
    jq_edit "$b" '.process.terminal = true'
    oci_cmd="$SKIFF_OCI --root $STATE_ROOT"

    set_args "$b" sh -c 'tty; stty size; echo out; exit 6'
    new_id
    id=$NEW_ID
    in_pty "stty rows 9 cols 99; stty -g >$MODE_DIR/before; $oci_cmd run --bundle $b $id; rc=\$?; stty -g >$MODE_DIR/after; exit \$rc"
    is "$status" 6 "run with a terminal, skiff as the proxy: exit 6 is passed on"
    like "$(grep '^/dev' <<<"$out")" '^/dev/pts/[0-9]+$' "run proxy: tty prints /dev/pts/N"
    is "$(sed -n 2p <<<"$out")" "9 99" "run proxy: the size is the caller's terminal's"
    is "$(sed -n 3p <<<"$out")" out "run proxy: output comes through"
    is "$(cat "$MODE_DIR/after" 2>/dev/null)" "$(cat "$MODE_DIR/before" 2>/dev/null)" "run proxy: the caller's terminal is restored"
    nok "run proxy: the container is deleted" oci_quick state "$id"

    jq_edit "$b" '.process.consoleSize = {"height": 7, "width": 70}'
    set_args "$b" sh -c 'stty size'
    new_id
    in_pty "stty rows 9 cols 99; $oci_cmd run --bundle $b $NEW_ID"
    is "$out" "7 70" "run proxy: process.consoleSize wins over the caller's size"

    jq_edit "$b" 'del(.process.consoleSize)'
    set_args "$b" sh -c 'sleep 3; stty size'
    new_id
    in_pty "stty rows 9 cols 99; (sleep 1; stty -F /dev/tty rows 15 cols 40) & $oci_cmd run --bundle $b $NEW_ID"
    is "$out" "15 40" "run proxy: SIGWINCH passes the new size on"

    # exec -t without a console socket, in the foreground.
    jq_edit "$b" '.process.terminal = false'
    running_container "$b" sleep 1000 || return
    in_pty "stty rows 11 cols 22; $oci_cmd exec -t $CID sh -c 'tty; stty size; exit 5'"
    is "$status" 5 "exec -t proxy: exit 5 is passed on"
    like "$(head -n 1 <<<"$out")" '^/dev/pts/[0-9]+$' "exec -t proxy: tty prints /dev/pts/N"
    is "$(sed -n 2p <<<"$out")" "11 22" "exec -t proxy: the size is the caller's terminal's"

    # SIGTERM to skiff goes to the process; skiff's terminal is restored.
    in_pty "stty rows 11 cols 22; stty -g >$MODE_DIR/before2; (sleep 1; kill -TERM \$(pgrep -f -- '^$oci_cmd exec -t $CID sleep 30')) & $oci_cmd exec -t $CID sleep 30; rc=\$?; stty -g >$MODE_DIR/after2; exit \$rc"
    is "$status" 143 "exec -t proxy: SIGTERM to skiff is passed on (the process's status: 143)"
    is "$(cat "$MODE_DIR/after2" 2>/dev/null)" "$(cat "$MODE_DIR/before2" 2>/dev/null)" "exec -t proxy: the caller's terminal is restored after a signal"
}

run_mode() {
    check_sees_container
    check_options
    check_detach
    check_errors
    check_console_socket
    check_pty_proxy
}

for_each_mode run_mode
done_testing
