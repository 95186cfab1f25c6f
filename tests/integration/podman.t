#!/bin/bash
# skiff-oci under Podman 4.3 (`podman --runtime skiff-oci`), rootless as
# the test user and as root, each with storage, run root, tmpdir, HOME and
# XDG_RUNTIME_DIR of its own in the test directory (vfs storage, cgroupfs
# manager, file events, no network: nothing of the host's podman set-up is
# used or changed).  The bundled busybox is pulled from its OCI layout.
# Checked: output, exit code, -e, -v both ways, podman exec, podman stop
# (the stop signal, then SIGKILL), podman run -it through the console
# socket (under script(1) for a pty), and --memory.
#
# How Podman calls the runtime (conmon and podman, seen with a logging
# wrapper): create --bundle U --pid-file F [--console-socket S] ID; start
# ID; kill ID 15, kill ID 9; delete --force ID; exec --pid-file F --process
# P --detach [--tty --console-socket S] ID.  No --root: the state goes to
# $XDG_RUNTIME_DIR/skiff (rootless) or /run/skiff (root).  Rootless, the
# runtime runs as root inside Podman's user namespace and config.json has
# no user namespace of its own.
#
# --memory: this host has the hybrid cgroup layout (v1 controllers).  As
# root, Podman asks for the limit and skiff refuses it with its clear
# error; rootless, Podman drops every limit on cgroup v1 before the runtime
# sees it.  As root Podman also asks for pids.limit 2048 by default, and
# sets RLIMIT_NOFILE/NPROC that root cannot raise here (no CAP_SYS_RESOURCE
# over the hard limit): root runs get --pids-limit 0 and --ulimit.
#
# In the pure cgroup v2 qemu guest of tests/vm/run (when tests/vm/check-env
# finds qemu and a kernel), Podman as root applies --memory 32m through
# skiff: podman-vm-guest.sh.
#
# Skipped only without podman (Debian package podman).
. "$(dirname "$0")/lib.sh"

for _t in podman conmon; do
    if ! command -v "$_t" >/dev/null; then
        skip "$_t is not installed (Debian package podman)"
        done_testing
    fi
done

# Host paths root Podman may create; the teardown removes those that were
# not there before (and unmounts /run/netns if it made it a mount point).
HOST_PATHS=(/run/netns /run/containers /run/libpod /run/skiff /etc/cni/net.d/cni.lock)
HOST_HAD=()
for _p in "${HOST_PATHS[@]}"; do [ -e "$_p" ] && HOST_HAD+=("$_p"); done

# Podman refuses a --runroot longer than 50 characters: the mode
# directories live in a short directory of /tmp, removed by the teardown.
PM_BASE=$(mktemp -d /tmp/skiff-pm.XXXXXX) || bail_out "cannot create a directory in /tmp"
chmod 0755 "$PM_BASE"
PM_MODES=()
PM_DIRS=()

# pm_setup MODE: the mode's private directories and PM (the podman argv).
pm_setup() {
    PM_MODE=$1
    P=$PM_BASE/$PM_MODE
    TAP_PREFIX="[$PM_MODE] "
    local envv=(HOME="$P/home" XDG_RUNTIME_DIR="$P/xdg" XDG_CONFIG_HOME="$P/home/.config"
        XDG_DATA_HOME="$P/home/.local/share")
    mkdir -p "$P/home" "$P/xdg" "$P/tmp" "$P/vol"
    chmod 0700 "$P/xdg"
    if [ "$PM_MODE" = rootless ]; then
        [ $IS_ROOT -eq 0 ] || chown -R "$TEST_USER:" "$P"
        as_user_argv
        PM=("${AS_USER_ARGV[@]}" "${envv[@]}")
    else
        PM=(env "${envv[@]}" SKIFF_TEST_TOKEN="$TOKEN")
    fi
    PM+=(podman --root "$P/root" --runroot "$P/runroot" --storage-driver vfs
        --cgroup-manager cgroupfs --events-backend file --tmpdir "$P/tmp"
        --runtime "$SKIFF_OCI")
    RUN_OPTS=(--network none)
    [ "$PM_MODE" = root ] &&
        RUN_OPTS+=(--pids-limit 0 --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
    PM_MODES+=("$PM_MODE")
    PM_DIRS+=("$P")
}

# pm ARGS...: podman of the mode, through capture.  pmq: quietly, no capture.
pm() { capture "${PM[@]}" "$@"; }
pmq() { timeout -k 5 60 "${PM[@]}" "$@" </dev/null 8>&-; }

# pm_teardown DIR MODE: every container removed, the rootless pause
# process (Podman's user namespace keeper) stopped by its pid file.
pm_teardown() {
    local dir=$1 mode=$2 pid i
    pm_setup_argv "$dir" "$mode"
    timeout -k 5 60 "${PM[@]}" rm -af -t 0 >/dev/null 2>&1 </dev/null 8>&-
    if [ -f "$dir/tmp/pause.pid" ]; then
        pid=$(cat "$dir/tmp/pause.pid")
        # catatonit -P where it is installed, else Podman's own ("podman pause").
        if [ -n "$pid" ] && [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" =~ ^(catatonit|podman\ pause)$ ]]; then
            kill -TERM "$pid" 2>/dev/null
            for ((i = 0; i < 50; i++)); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -KILL "$pid" 2>/dev/null
        fi
    fi
}
# pm_setup_argv DIR MODE: PM for DIR without creating anything.
pm_setup_argv() {
    local dir=$1 mode=$2
    local envv=(HOME="$dir/home" XDG_RUNTIME_DIR="$dir/xdg" XDG_CONFIG_HOME="$dir/home/.config"
        XDG_DATA_HOME="$dir/home/.local/share")
    if [ "$mode" = rootless ]; then
        as_user_argv
        PM=("${AS_USER_ARGV[@]}" "${envv[@]}")
    else
        PM=(env "${envv[@]}")
    fi
    PM+=(podman --root "$dir/root" --runroot "$dir/runroot" --storage-driver vfs
        --cgroup-manager cgroupfs --events-backend file --tmpdir "$dir/tmp")
}

teardown() {
    local i p
    for i in "${!PM_DIRS[@]}"; do
        pm_teardown "${PM_DIRS[$i]}" "${PM_MODES[$i]}"
    done
    PM_DIRS=()
    PM_MODES=()
    if [ -n "$PM_BASE" ] && [ -d "$PM_BASE" ]; then
        local m
        while IFS= read -r m; do
            [ -n "$m" ] && umount -l "$m" 2>/dev/null
        done < <(_mounts_under "$PM_BASE")
        rm -rf --one-file-system "$PM_BASE"
    fi
    for p in "${HOST_PATHS[@]}"; do
        [[ " ${HOST_HAD[*]} " == *" $p "* ]] && continue
        [ -e "$p" ] || continue
        if [ "$p" = /run/netns ] && grep -q ' /run/netns ' /proc/self/mountinfo; then
            umount /run/netns 2>/dev/null
        fi
        if [ -d "$p" ]; then
            rmdir "$p" 2>/dev/null || [ "$p" != /run/containers ] || rm -rf /run/containers
        else
            rm -f "$p"
        fi
    done
}
trap 'teardown; _on_exit' EXIT

# ---- the checks of one mode -----------------------------------------------------

podman_checks() {
    pm_setup "$1"

    pm pull "oci:$SKIFF_IMAGE:latest"
    is "$status" 0 "podman pull oci:DIR of the bundled busybox"
    [ "$status" -eq 0 ] || return 0
    local image_id
    image_id=$(tail -n 1 <<<"$out")
    ok "tag it localhost/busybox" pmq tag "$image_id" localhost/busybox:latest

    # output, exit code, environment
    pm run --rm "${RUN_OPTS[@]}" localhost/busybox echo hello from skiff
    is "$status" 0 "podman run: exit 0"
    is "$out" "hello from skiff" "podman run: the output of echo"

    pm run --rm "${RUN_OPTS[@]}" localhost/busybox sh -c 'exit 3'
    is "$status" 3 "podman run: the exit code of the process (3)"

    pm run --rm "${RUN_OPTS[@]}" -e SKIFF_PODMAN=yes-$$ localhost/busybox sh -c 'echo $SKIFF_PODMAN'
    is "$out" "yes-$$" "podman run -e reaches the process"

    # a host directory, both ways
    echo "from-host-$$" >"$P/vol/in"
    [ "$PM_MODE" = rootless ] && [ $IS_ROOT -eq 1 ] && chown -R "$TEST_USER:" "$P/vol"
    pm run --rm "${RUN_OPTS[@]}" -v "$P/vol:/data" localhost/busybox \
        sh -c 'cat /data/in && echo from-container > /data/out'
    is "$out" "from-host-$$" "podman run -v: the container reads the host's file"
    is "$(cat "$P/vol/out" 2>/dev/null)" "from-container" "podman run -v: the host reads the container's file"
    local want_uid=0
    [ "$PM_MODE" = rootless ] && want_uid=$TEST_UID
    is "$(stat -c %u "$P/vol/out" 2>/dev/null)" "$want_uid" "the file is owned by uid $want_uid on the host"

    # podman exec
    pm run -d --name x-exec "${RUN_OPTS[@]}" localhost/busybox sleep 1000
    is "$status" 0 "podman run -d"
    pm exec x-exec sh -c 'echo exec-out; exit 4'
    is "$out" "exec-out" "podman exec: the output of the exec'd process"
    is "$status" 4 "podman exec: its exit code (4)"
    pm exec x-exec cat /proc/1/comm
    is "$out" "sleep" "podman exec joins the container's pid namespace"
    if command -v script >/dev/null; then
        local xcmd xrc xtext
        printf -v xcmd '%q ' "${PM[@]}" exec -it x-exec sh -c 'tty; read line; echo "got:$line"'
        { sleep 2; printf 'typed-exec-%s\n' "$$"; sleep 3; } |
            timeout -k 5 60 script -qec "$xcmd" /dev/null >"$P/exec-tty.out" 2>&1 8>&-
        xrc=$?
        xtext=$(tr -d '\r' <"$P/exec-tty.out")
        is "$xrc" 0 "podman exec -it under script: exit 0"
        like "$xtext" "/dev/pts/[0-9]+" "podman exec -it: the process has a terminal"
        like "$xtext" "got:typed-exec-$$" "podman exec -it: the input reaches the process"
    else
        skip "script(1) is not installed (Debian package bsdutils)" 3
    fi
    pmq rm -f -t 0 x-exec >/dev/null 2>&1

    # podman stop: the stop signal, which a trap turns into exit 5 ...
    pm run -d --name x-term "${RUN_OPTS[@]}" localhost/busybox \
        sh -c 'trap "exit 5" TERM; while :; do sleep 0.1; done'
    is "$status" 0 "podman run -d of a process that traps SIGTERM"
    pm stop -t 10 x-term
    is "$status" 0 "podman stop (SIGTERM)"
    pm inspect --format '{{.State.Status}} {{.State.ExitCode}}' x-term
    is "$out" "exited 5" "the stop signal reached the trap: exited with 5"
    # ... and SIGKILL after the timeout for one that ignores it (sleep as
    # pid 1 has no handler: SIGTERM does nothing to it).
    pm run -d --name x-kill "${RUN_OPTS[@]}" localhost/busybox sleep 1000
    pm stop -t 1 x-kill
    is "$status" 0 "podman stop -t 1 of a process that ignores SIGTERM"
    pm inspect --format '{{.State.Status}} {{.State.ExitCode}}' x-kill
    is "$out" "exited 137" "then SIGKILL ended it: exited with 137"
    pmq rm -f -t 0 x-term x-kill >/dev/null 2>&1

    # podman run -it: a terminal through the console socket; script(1)
    # gives podman a pty of its own.
    if command -v script >/dev/null; then
        local cmd
        printf -v cmd '%q ' "${PM[@]}" run -it --rm "${RUN_OPTS[@]}" localhost/busybox \
            sh -c 'tty; read line; echo "got:$line"'
        { sleep 2; printf 'typed-%s\n' "$$"; sleep 3; } |
            timeout -k 5 60 script -qec "$cmd" /dev/null >"$P/tty.out" 2>&1 8>&-
        local rc=$? text
        text=$(tr -d '\r' <"$P/tty.out")
        is "$rc" 0 "podman run -it under script: exit 0"
        like "$text" "/dev/pts/[0-9]+" "podman run -it: the process has a terminal (tty prints /dev/pts/N)"
        like "$text" "got:typed-$$" "podman run -it: the input reaches the process"
    else
        skip "script(1) is not installed (Debian package bsdutils)" 3
    fi

    # --memory on this hybrid host
    pm run --rm "${RUN_OPTS[@]}" --memory 32m localhost/busybox echo limited
    if [ "$PM_MODE" = root ]; then
        isnt "$status" 0 "podman run --memory 32m fails as root on a host without cgroup v2 controllers"
        like "$err" "cgroup\.unavailable" "with skiff's error id cgroup.unavailable"
        like "$err" "linux.resources asks for limits \(memory\)" "naming the memory limit"
    else
        is "$out" "limited" "rootless: podman run --memory 32m runs (Podman drops limits on cgroup v1)"
        like "$err" "not supported and ignored on cgroups V1 rootless" "Podman says it dropped the limit"
    fi

    pm ps -a -q
    pmq rm -af -t 0 >/dev/null 2>&1
    pm ps -a -q
    is "$out" "" "no container is left"
}

if [ $IS_ROOT -eq 1 ] && ! as_user test -x "$SKIFF_OCI"; then
    skip "$TEST_USER cannot execute $SKIFF_OCI (a parent directory is not searchable)"
else
    podman_checks rootless
fi
if [ $IS_ROOT -eq 1 ]; then
    podman_checks root
else
    skip "root mode needs root"
fi
TAP_PREFIX=

# --memory where it can work: Podman as root in the pure cgroup v2 guest of
# tests/vm/run (the host's /usr, so the same podman, conmon and skiff-oci).
podman_vm_checks() {
    local work=$TEST_TMP/vm
    TAP_PREFIX="[vm root] "
    mkdir -p "$work"
    timeout -k 10 600 "$SKIFF_SRCDIR/tests/vm/run" --root --timeout 480 \
        SKIFF_OCI="$SKIFF_OCI" SKIFF_IMAGE="$SKIFF_IMAGE" \
        bash "$SKIFF_SRCDIR/tests/integration/podman-vm-guest.sh" >"$work/out" 2>"$work/err" </dev/null 8>&-
    guest_results $? "$work/out" "$work/err"
    TAP_PREFIX=
}
if [ $IS_ROOT -ne 1 ]; then
    skip "Podman in the VM runs as root: run this test as root"
elif ! why=$("$SKIFF_SRCDIR/tests/vm/check-env" 2>&1); then
    skip "no VM to test --memory on cgroup v2 in: $why"
else
    podman_vm_checks
fi

PM_BASE_WAS=$PM_BASE
ok "nothing is mounted under the Podman directories" bash -c '[ -z "$1" ]' _ "$(_mounts_under "$PM_BASE")"
teardown
PM_BASE=
ok "the Podman directories are removed" test ! -e "$PM_BASE_WAS"
for _p in "${HOST_PATHS[@]}"; do
    [[ " ${HOST_HAD[*]} " == *" $_p "* ]] && continue
    ok "root Podman left no $_p behind" test ! -e "$_p"
done
ok "no /run/netns mount is left" bash -c '! grep -q " /run/netns " /proc/self/mountinfo || [[ " $1 " == *" /run/netns "* ]]' _ "${HOST_HAD[*]}"
done_testing
