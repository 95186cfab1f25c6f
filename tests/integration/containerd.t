#!/bin/bash
# skiff-oci under containerd 1.6, as `ctr run --runc-binary` uses it: a
# private containerd (its own root, state and socket in the test directory,
# the CRI plugin off), the bundled busybox imported from an OCI archive,
# then output, exit codes, SIGTERM and SIGKILL through `ctr task kill`,
# `ctr task exec`, and a failing start whose message containerd reads back
# from the runtime's JSON log.  containerd calls the runtime as
#   skiff-oci --root /run/containerd/runc/NS --log B/log.json --log-format json
#     create --bundle B --pid-file B/init.pid ID; start ID; kill ID 15;
#     delete ID; delete --force ID (of the id just deleted: must exit 0)
# The namespace NS is private to this file, so /run/containerd/runc/NS is
# ours to remove.  Needs root; skipped only without containerd.
. "$(dirname "$0")/lib.sh"

if ! command -v containerd >/dev/null || ! command -v ctr >/dev/null; then
    skip "containerd is not installed (Debian package containerd)"
    done_testing
fi
if [ $IS_ROOT -ne 1 ]; then
    skip "containerd runs as root: run this test as root"
    done_testing
fi

CTD=$TEST_TMP/containerd
NS=skiff-test-$$
IMAGE=docker.io/library/busybox:latest
CTD_PID=
# What of /run/containerd existed before, so the teardown removes only
# what containerd made for this test.
RUN_CTD=/run/containerd
RUN_CTD_HAD=()
for _d in "$RUN_CTD" "$RUN_CTD/s" "$RUN_CTD/fifo" "$RUN_CTD/runc"; do
    [ -e "$_d" ] && RUN_CTD_HAD+=("$_d")
done
SHIM_SOCKS_BEFORE=$(ls "$RUN_CTD/s" 2>/dev/null)

ctr_() { timeout -k 5 60 ctr -a "$CTD/ctd.sock" -n "$NS" "$@" </dev/null 8>&-; }

# Tasks and containers left by a failed check, containerd itself (by its
# pid), and the runtime's state root of our namespace.
teardown() {
    local id i
    if [ -n "$CTD_PID" ] && kill -0 "$CTD_PID" 2>/dev/null; then
        for id in $(ctr_ tasks ls -q 2>/dev/null); do
            ctr_ tasks kill -a -s KILL "$id" >/dev/null 2>&1
            ctr_ tasks rm -f "$id" >/dev/null 2>&1
        done
        for id in $(ctr_ containers ls -q 2>/dev/null); do
            ctr_ containers rm "$id" >/dev/null 2>&1
        done
        kill -TERM "$CTD_PID" 2>/dev/null
        for ((i = 0; i < 100; i++)); do
            kill -0 "$CTD_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$CTD_PID" 2>/dev/null
        wait "$CTD_PID" 2>/dev/null
    fi
    CTD_PID=
    rm -rf "$RUN_CTD/runc/$NS"
    # Shim sockets of this test that the shims did not remove.
    local s
    for s in $(ls "$RUN_CTD/s" 2>/dev/null); do
        grep -qxF -- "$s" <<<"$SHIM_SOCKS_BEFORE" || rm -f "$RUN_CTD/s/$s"
    done
    for s in "$RUN_CTD/runc" "$RUN_CTD/fifo" "$RUN_CTD/s" "$RUN_CTD"; do
        [[ " ${RUN_CTD_HAD[*]} " == *" $s "* ]] || rmdir "$s" 2>/dev/null
    done
}
trap 'teardown; _on_exit' EXIT

# ---- a private containerd --------------------------------------------------

mkdir -p "$CTD"
cat >"$CTD/config.toml" <<EOF
version = 2
root = "$CTD/root"
state = "$CTD/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CTD/ctd.sock"
[ttrpc]
  address = "$CTD/ctd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
EOF
containerd --config "$CTD/config.toml" >"$CTD/containerd.log" 2>&1 </dev/null 8>&- &
CTD_PID=$!
for ((i = 0; i < 100; i++)); do
    [ -S "$CTD/ctd.sock" ] && ctr_ version >/dev/null 2>&1 && break
    kill -0 "$CTD_PID" 2>/dev/null || break
    sleep 0.1
done
ctr_ version >/dev/null 2>&1 ||
    bail_out "containerd did not start: $(tail -n 5 "$CTD/containerd.log")"

# The bundled image as an OCI archive: its index names the tag "latest".
tar -C "$SKIFF_IMAGE" -cf "$CTD/busybox.tar" . || bail_out "cannot archive $SKIFF_IMAGE"
capture ctr -a "$CTD/ctd.sock" -n "$NS" images import --base-name docker.io/library/busybox "$CTD/busybox.tar"
is "$status" 0 "ctr images import of the bundled busybox"

# ---- run: output, exit code, environment -------------------------------------

capture ctr -a "$CTD/ctd.sock" -n "$NS" run --rm --runc-binary "$SKIFF_OCI" "$IMAGE" c-echo echo hello from skiff
is "$status" 0 "ctr run: exit 0"
is "$out" "hello from skiff" "ctr run: the output of echo"

capture ctr -a "$CTD/ctd.sock" -n "$NS" run --rm --runc-binary "$SKIFF_OCI" "$IMAGE" c-exit sh -c 'exit 3'
is "$status" 3 "ctr run: the exit code of the process (3)"

capture ctr -a "$CTD/ctd.sock" -n "$NS" run --rm --runc-binary "$SKIFF_OCI" --env SKIFF_CTD=yes-$$ "$IMAGE" c-env sh -c 'echo $SKIFF_CTD'
is "$out" "yes-$$" "ctr run --env reaches the process"

capture ctr -a "$CTD/ctd.sock" -n "$NS" containers ls -q
is "$out" "" "ctr run --rm leaves no container"
ok "the runtime's state root holds no container" \
    bash -c '[ -z "$(ls -A "$1" 2>/dev/null)" ]' _ "$RUN_CTD/runc/$NS"

# ---- kill: SIGTERM reaches a handler, SIGKILL ends anything -------------------

# detached ID CMD...: a task running in the background (ctr run -d).
detached() {
    local id=$1
    shift
    capture ctr -a "$CTD/ctd.sock" -n "$NS" run -d --runc-binary "$SKIFF_OCI" "$IMAGE" "$id" "$@"
}
# attached ID CMD...: `ctr run --rm` in the background; RUN_PID is ctr's pid,
# whose exit status is the task's (ctr 1.6 has no `task wait`).
attached() {
    local id=$1
    shift
    timeout -k 5 60 ctr -a "$CTD/ctd.sock" -n "$NS" run --rm --runc-binary "$SKIFF_OCI" \
        "$IMAGE" "$id" "$@" >"$CTD/$id.out" 2>&1 </dev/null 8>&- &
    RUN_PID=$!
}
# task_status ID: RUNNING, STOPPED … from `ctr task ls`.
task_status() { ctr_ tasks ls 2>/dev/null | awk -v id="$1" '$1 == id { print $3 }'; }
# wait_task ID STATUS: up to 10 s.
wait_task() {
    local i
    for ((i = 0; i < 100; i++)); do
        [ "$(task_status "$1")" = "$2" ] && return 0
        sleep 0.1
    done
    return 1
}

attached k-term sh -c 'trap "exit 7" TERM; while :; do sleep 0.1; done'
ok "ctr run: the task is running" wait_task k-term RUNNING
capture ctr -a "$CTD/ctd.sock" -n "$NS" tasks kill k-term
is "$status" 0 "ctr task kill (SIGTERM, sent as kill ID 15)"
wait "$RUN_PID"
is "$?" 7 "SIGTERM reached the process's trap: it exited with 7"

attached k-kill sleep 1000
ok "ctr run: a second task is running" wait_task k-kill RUNNING
capture ctr -a "$CTD/ctd.sock" -n "$NS" tasks kill -s SIGKILL k-kill
is "$status" 0 "ctr task kill -s SIGKILL"
wait "$RUN_PID"
is "$?" 137 "SIGKILL ended it: exit 137"

detached k-all sh -c 'sleep 1000 & sleep 1000 & wait'
is "$status" 0 "ctr run -d starts a task with children"
ok "the detached task is running" wait_task k-all RUNNING
capture ctr -a "$CTD/ctd.sock" -n "$NS" tasks kill -a -s SIGKILL k-all
is "$status" 0 "ctr task kill -a -s SIGKILL (kill --all ID 9)"
ok "the task is stopped" wait_task k-all STOPPED
ok "ctr task rm" ctr_ tasks rm k-all
ok "ctr container rm" ctr_ containers rm k-all
ok "no container is left in the runtime's state root" \
    bash -c '[ -z "$(ls -A "$1" 2>/dev/null)" ]' _ "$RUN_CTD/runc/$NS"

# ---- exec ------------------------------------------------------------------------

detached x-exec sleep 1000
ok "a task for exec is running" wait_task x-exec RUNNING
capture ctr -a "$CTD/ctd.sock" -n "$NS" tasks exec --exec-id e1 x-exec sh -c 'echo exec-out; exit 4'
is "$out" "exec-out" "ctr task exec: the output of the exec'd process"
is "$status" 4 "ctr task exec: its exit code (4)"
capture ctr -a "$CTD/ctd.sock" -n "$NS" tasks exec --exec-id e2 x-exec cat /proc/1/comm
is "$out" "sleep" "ctr task exec runs in the task's pid namespace"
# tty_run NAME CMD: CMD under script(1) (a pty for ctr), typing a line
# after 2 s; TTY_RC and TTY_OUT (carriage returns removed).
tty_run() {
    { sleep 2; printf 'typed-%s\n' "$1"; sleep 3; } |
        timeout -k 5 60 script -qec "$2" /dev/null >"$CTD/$1.tty" 2>&1 8>&-
    TTY_RC=$?
    TTY_OUT=$(tr -d '\r' <"$CTD/$1.tty")
}
if command -v script >/dev/null; then
    printf -v cmd '%q ' ctr -a "$CTD/ctd.sock" -n "$NS" tasks exec -t --exec-id e3 x-exec \
        sh -c 'tty; read line; echo "got:$line"'
    tty_run exec-t "$cmd"
    is "$TTY_RC" 0 "ctr task exec -t under script: exit 0"
    like "$TTY_OUT" "/dev/pts/[0-9]+" "ctr task exec -t: the process has a terminal"
    like "$TTY_OUT" "got:typed-exec-t" "ctr task exec -t: the input reaches the process"
    printf -v cmd '%q ' ctr -a "$CTD/ctd.sock" -n "$NS" run -t --rm --runc-binary "$SKIFF_OCI" \
        "$IMAGE" t-run sh -c 'tty; read line; echo "got:$line"'
    tty_run run-t "$cmd"
    is "$TTY_RC" 0 "ctr run -t under script: exit 0"
    like "$TTY_OUT" "/dev/pts/[0-9]+" "ctr run -t: the process has a terminal (console socket)"
    like "$TTY_OUT" "got:typed-run-t" "ctr run -t: the input reaches the process"
else
    skip "script(1) is not installed (Debian package bsdutils)" 6
fi
ctr_ tasks kill -s SIGKILL x-exec >/dev/null 2>&1
wait_task x-exec STOPPED
ok "ctr task rm of the exec task" ctr_ tasks rm x-exec
ok "ctr container rm of the exec task" ctr_ containers rm x-exec

# ---- a failing start: skiff's message, read back from --log ------------------

capture ctr -a "$CTD/ctd.sock" -n "$NS" run --rm --runc-binary "$SKIFF_OCI" "$IMAGE" f-missing /no/such/program
isnt "$status" 0 "ctr run of a missing program fails"
like "$err" "/no/such/program" "containerd's error names the program skiff could not run"
like "$err" "\[[a-z_]+\.[a-z_.]+\]" "containerd's error carries skiff's error id"
ctr_ tasks rm -f f-missing >/dev/null 2>&1
ctr_ containers rm f-missing >/dev/null 2>&1

# ---- teardown ---------------------------------------------------------------------

CTD_PID_WAS=$CTD_PID
teardown
ok "containerd is stopped" bash -c '! kill -0 "$1" 2>/dev/null' _ "$CTD_PID_WAS"
ok "no runtime state of the test's namespace is left" test ! -e "$RUN_CTD/runc/$NS"
ok "no shim socket of the test is left" bash -c '[ "$(ls "$1/s" 2>/dev/null)" = "$2" ]' _ "$RUN_CTD" "$SHIM_SOCKS_BEFORE"
done_testing
