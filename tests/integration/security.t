#!/bin/bash
# The privileges a container gets and the known ways out of runc and crun,
# observed from the inside with the probe and from the host: capability
# sets and no_new_privileges for root and non-root process users; escapes
# through symlinks in the rootfs (mount destinations, /proc, /dev/null,
# process.cwd), fds of the caller (CVE-2024-21626) with --preserve-fds and
# LISTEN_FDS, the host's cgroup tree, writes to /proc that must land on
# procfs, and the sealed copy of the runtime's binary (CVE-2019-5736).
# Every check runs as root and rootless (one mapped id, and a subordinate
# range) unless it says why not.
. "$(dirname "$0")/lib.sh"

# in_box FILTER ARG...: run ARG... in the mode's bundle whose config is the
# base config changed by the jq FILTER ("" for none); sets status/out/err.
in_box() {
    local filter=$1
    shift
    cp "$SB/config.base.json" "$SB/config.json"
    if [ -n "$filter" ]; then
        jq_edit "$SB" "$filter" || bail_out "bad jq filter: $filter"
    fi
    set_args "$SB" "$@"
    new_id
    ocap run --bundle "$SB" "$NEW_ID"
}

# field TEXT KEY: the value of "KEY:\tVALUE" in /proc/self/status lines.
field() {
    awk -v k="$2:" '$1 == k { print $2; exit }' <<<"$1"
}

# caps_of TEXT: "inh prm eff bnd amb nnp" from `skiff-probe caps`.
caps_of() {
    echo "$(field "$1" CapInh) $(field "$1" CapPrm) $(field "$1" CapEff) $(field "$1" CapBnd) $(field "$1" CapAmb) $(field "$1" NoNewPrivs)"
}

# A fresh rootfs for checks that plant things in it, so that nothing they
# leave behind changes the next check.
fresh_rootfs() {
    rm -rf --one-file-system "$SB/rootfs"
    cp -a "$_ROOTFS_CACHE" "$SB/rootfs" || bail_out "cannot copy the rootfs"
    [ "$MODE" = root ] || chown -R "$TEST_USER:" "$SB/rootfs"
}

# owned PATH...: give PATH to the test user in the rootless modes.
owned() {
    [ "$MODE" = root ] || chown -h "$TEST_USER:" "$@"
}

# snapshot DIR: what the host's DIR holds, with times, to compare.
snapshot() {
    ls -laR --time-style=+%s.%N "$1" 2>&1
}

setup_bundle() {
    SB=$MODE_DIR/sec
    bundle "$SB"
    jq_edit "$SB" '.root.readonly = false'
    cp "$SB/config.json" "$SB/config.base.json"
}

# ---- capabilities and no_new_privileges -----------------------------------

DEFAULT_CAPS=0000000020000420   # AUDIT_WRITE, KILL, NET_BIND_SERVICE
NET_BIND=0000000000000400       # NET_BIND_SERVICE
NONE=0000000000000000

check_caps_root_user() {
    in_box "" skiff-probe caps
    is "$status" 0 "the probe reports the capability sets"
    is "$(caps_of "$out")" "$NONE $DEFAULT_CAPS $DEFAULT_CAPS $DEFAULT_CAPS $NONE 1" \
        "default spec, uid 0: permitted, effective and bounding are the three listed; NoNewPrivs 1"

    in_box '.process.noNewPrivileges = false
          | .process.capabilities = {bounding: ["CAP_KILL", "CAP_SYS_CHROOT"],
                                     effective: ["CAP_KILL", "CAP_SYS_CHROOT"],
                                     permitted: ["CAP_KILL", "CAP_SYS_CHROOT"]}' skiff-probe caps
    is "$(caps_of "$out")" "$NONE 0000000000040020 0000000000040020 0000000000040020 $NONE 0" \
        "uid 0, KILL and SYS_CHROOT: exactly those; NoNewPrivs 0 when not asked"

    in_box 'del(.process.capabilities)' skiff-probe caps
    is "$(caps_of "$out")" "$NONE $NONE $NONE $NONE $NONE 1" \
        "no capabilities object: no capability at all (as runc and crun)"

    # What a root process can no longer do once its capabilities are gone.
    in_box '.process.capabilities = {bounding: [], effective: [], permitted: []}' \
        sh -c 'mkdir -p /tmp/m && mount -t tmpfs none /tmp/m && echo mounted'
    isnt "$status" 0 "uid 0 without CAP_SYS_ADMIN cannot mount"
    unlike "$out" mounted "uid 0 without CAP_SYS_ADMIN: nothing was mounted"
}

check_caps_other_user() {
    local all='["CAP_NET_BIND_SERVICE"]'
    if [ "$MODE" = single ]; then
        skip "uid 1000 is not mapped in a single-id user namespace" 4
        return
    fi
    in_box ".process.user = {uid: 1000, gid: 1000}
          | .process.capabilities = {bounding: $all, effective: $all, permitted: $all,
                                     inheritable: $all, ambient: $all}" skiff-probe caps
    is "$(caps_of "$out")" "$NET_BIND $NET_BIND $NET_BIND $NET_BIND $NET_BIND 1" \
        "uid 1000 with NET_BIND_SERVICE in every set holds exactly it, ambient included"

    in_box ".process.user = {uid: 1000, gid: 1000}
          | .process.capabilities = {bounding: $all, effective: $all, permitted: $all,
                                     inheritable: $all, ambient: $all}" skiff-probe ids
    like "$out" "^uid=1000 gid=1000 euid=1000 egid=1000" "and it runs as uid 1000"

    # Without ambient, a non-root process keeps nothing across execve: the
    # kernel's rule, which runc and crun follow too.
    in_box ".process.user = {uid: 1000, gid: 1000}
          | .process.capabilities = {bounding: $all, effective: $all, permitted: $all}" skiff-probe caps
    is "$(caps_of "$out")" "$NONE $NONE $NONE $NET_BIND $NONE 1" \
        "uid 1000 without ambient: bounding only, nothing effective"

    in_box ".process.user = {uid: 1000, gid: 1000} | del(.process.capabilities)" skiff-probe caps
    is "$(caps_of "$out")" "$NONE $NONE $NONE $NONE $NONE 1" "uid 1000, no capabilities object: none"
}

check_caps_refused() {
    in_box '.process.capabilities.bounding += ["CAP_CHOWN1"]' true
    is "$status" 125 "a capability name with trailing junk is refused"
    like "$err" 'process\.capabilities\.bounding\[3\]: unknown capability "CAP_CHOWN1".*\[spec\.invalid\]' \
        "the error names the JSON path and the capability"

    in_box '.process.capabilities.effective += ["CAP_CHOWN"]' true
    is "$status" 125 "an effective capability that is not permitted is refused"
    like "$err" 'process\.capabilities\.effective: CAP_CHOWN is not in process\.capabilities\.permitted' \
        "the error says which and where to add it"
}

# ---- escapes through the rootfs -------------------------------------------

# A tmpfs whose destination is a symlink to an absolute host path lands in
# the rootfs (inside.t checks bind mounts the same way).
check_mount_destination_symlink() {
    local hostdir=$MODE_DIR/host-mnt before
    mkdir -p "$hostdir" && echo keep >"$hostdir/keep" && owned "$hostdir" "$hostdir/keep"
    before=$(snapshot "$hostdir")
    fresh_rootfs
    mkdir -p "$SB/rootfs/mnt" && ln -sfn "$hostdir" "$SB/rootfs/mnt/evil" && owned "$SB/rootfs/mnt/evil"
    in_box '.mounts += [{destination: "/mnt/evil", type: "tmpfs", source: "tmpfs", options: ["nosuid"]}]' \
        sh -c 'echo from-container >/mnt/evil/planted; echo done'
    is "$(snapshot "$hostdir")" "$before" "tmpfs on a symlinked destination: the host dir is unchanged"
    is "$(_mounts_under "$hostdir")" "" "tmpfs on a symlinked destination: nothing is mounted on the host dir"
}

# rootfs/proc -> a host directory: procfs goes only on a real directory.
check_symlinked_proc_sys() {
    local d hostdir before
    for d in proc sys; do
        hostdir=$MODE_DIR/host-$d
        mkdir -p "$hostdir" && owned "$hostdir"
        before=$(snapshot "$hostdir")
        fresh_rootfs
        rmdir "$SB/rootfs/$d" && ln -s "$hostdir" "$SB/rootfs/$d" && owned "$SB/rootfs/$d"
        in_box "" true
        is "$status" 125 "a symlinked /$d is refused"
        like "$err" "/$d crosses a symlink inside the rootfs" "the error says /$d crosses a symlink"
        is "$(snapshot "$hostdir")" "$before" "symlinked /$d: the host dir is unchanged"
        is "$(_mounts_under "$hostdir")" "" "symlinked /$d: nothing is mounted on the host dir"
        nok "symlinked /$d: nothing was created at the link target in the rootfs" test -e "$SB/rootfs$hostdir"
    done
}

# CVE-2025-31133: /dev/null of the rootfs a symlink to a host file, with
# /dev not a tmpfs and masked paths that are files (bound from /dev/null).
check_devnull_symlink() {
    local hostfile=$MODE_DIR/host-file target before
    echo host-data >"$hostfile" && owned "$hostfile"
    for target in "$hostfile" /etc/passwd; do
        before=$(snapshot "$hostfile")
        fresh_rootfs
        ln -sfn "$target" "$SB/rootfs/dev/null" && owned "$SB/rootfs/dev/null"
        in_box '.mounts |= map(select(.destination != "/dev"))
              | .linux.maskedPaths += ["/proc/kcore", "/etc/hostname"]' sh -c 'echo x >/dev/null; cat /etc/hostname'
        is "$status" 125 "/dev/null -> $target with /dev from the rootfs: refused"
        like "$err" '/dev/null' "the error names /dev/null"
        is "$(snapshot "$hostfile")" "$before" "/dev/null -> $target: the host file is unchanged"
        is "$(_mounts_under "$hostfile")" "" "/dev/null -> $target: nothing is mounted on the host file"
    done
    # And the container's /etc/passwd, which a link to it must not reach.
    is "$(head -c 5 "$SB/rootfs/etc/passwd")" "root:" "the rootfs's /etc/passwd is not covered"
    is "$(_mounts_under "$SB/rootfs")" "" "nothing is left mounted in the rootfs"
}

# A /dev/ptmx the rootfs links elsewhere is replaced by the devpts one.
check_ptmx() {
    fresh_rootfs
    ln -sfn /etc/passwd "$SB/rootfs/dev/ptmx" && owned "$SB/rootfs/dev/ptmx"
    in_box '.mounts |= map(select(.destination != "/dev"))' readlink /dev/ptmx
    is "$out" pts/ptmx "/dev/ptmx of the rootfs is replaced by a link to pts/ptmx"
}

# process.cwd through a symlink to a host path, or through a magic link of
# /proc to an fd of the caller (CVE-2024-21626).
check_cwd() {
    local hostdir=$MODE_DIR/host-cwd before
    mkdir -p "$hostdir" && echo keep >"$hostdir/keep" && owned "$hostdir" "$hostdir/keep"
    before=$(snapshot "$hostdir")
    fresh_rootfs
    # (A name no host path starts with: the link's target is resolved in
    # the rootfs, where it would otherwise run into the link again.)
    ln -sfn "$hostdir" "$SB/rootfs/cwd-link" && owned "$SB/rootfs/cwd-link"
    in_box '.process.cwd = "/cwd-link"' sh -c 'touch planted; ls'
    is "$status" 0 "a cwd through a symlink to a host path runs"
    unlike "$out" keep "the cwd is not the host directory (its file is not there)"
    ok "the cwd is the link target inside the rootfs" test -e "$SB/rootfs$hostdir/planted"
    is "$(snapshot "$hostdir")" "$before" "symlinked cwd: the host dir is unchanged"

    local cwd
    for cwd in /proc/self/fd/7 /proc/self/cwd /proc/1/root/tmp; do
        exec 7<"$hostdir"
        in_box ".process.cwd = \"$cwd\"" sh -c 'pwd; touch planted2'
        exec 7<&-
        is "$status" 125 "process.cwd $cwd (a magic link) is refused"
        like "$err" "process\.cwd" "the error names process.cwd"
    done
    is "$(snapshot "$hostdir")" "$before" "magic-link cwds: the host dir is unchanged"
}

# ---- fds ------------------------------------------------------------------

check_fds() {
    local f3=$MODE_DIR/fd3 f4=$MODE_DIR/fd4
    echo three >"$f3" && echo four >"$f4" && owned "$f3" "$f4"

    exec 7<"$f4"
    in_box "" skiff-probe fds
    exec 7<&-
    is "$(echo $out)" "0 1 2" "an fd the caller left open (7) is not in the container"

    exec 3<"$f3" 7<"$f4"
    in_box "" skiff-probe fds
    is "$(echo $out)" "0 1 2" "without --preserve-fds, fd 3 is not passed either"
    cp "$SB/config.base.json" "$SB/config.json"
    set_args "$SB" sh -c 'ls /proc/self/fd | tr "\n" " "; echo; cat <&3'
    new_id
    ocap run --preserve-fds 1 --bundle "$SB" "$NEW_ID"
    exec 3<&- 7<&-
    is "$status" 0 "run --preserve-fds 1 with fd 3 open"
    # ls's own directory fd is the next free one: 4.
    is "$(head -n 1 <<<"$out")" "0 1 2 3 4 " "--preserve-fds 1: fd 3 is there, 7 is not"
    is "$(tail -n 1 <<<"$out")" three "--preserve-fds 1: fd 3 is the caller's file"

    # Socket activation: LISTEN_FDS for this pid (the runtime execs from
    # the shell that sets LISTEN_PID=$$), then --preserve-fds after them.
    exec 3<"$f3" 4<"$f4" 7<"$f4"
    cp "$SB/config.base.json" "$SB/config.json"
    jq_edit "$SB" '.process.env += ["LISTEN_FDS=9", "LISTEN_PID=77"]'
    set_args "$SB" sh -c 'echo "$LISTEN_FDS $LISTEN_PID"; ls /proc/self/fd | tr "\n" " "; echo'
    new_id
    capture "${RUNAS[@]}" sh -c 'export LISTEN_FDS=1 LISTEN_PID=$$; exec "$@"' sh \
        "$SKIFF_OCI" --root "$STATE_ROOT" run --preserve-fds 1 --bundle "$SB" "$NEW_ID"
    is "$status" 0 "run with LISTEN_FDS=1 for its pid and --preserve-fds 1"
    is "$(sed -n 1p <<<"$out")" "1 1" "LISTEN_FDS=1 and LISTEN_PID=1 (the process's pid) replace the spec's"
    is "$(sed -n 2p <<<"$out")" "0 1 2 3 4 5 " "fds 3 (listen) and 4 (preserved) are passed, 7 is not"

    # LISTEN_PID of another process: not ours, nothing passed.
    new_id
    capture "${RUNAS[@]}" sh -c 'export LISTEN_FDS=1 LISTEN_PID=1; exec "$@"' sh \
        "$SKIFF_OCI" --root "$STATE_ROOT" run --bundle "$SB" "$NEW_ID"
    exec 3<&- 4<&- 7<&-
    is "$(sed -n 1p <<<"$out")" "9 77" "LISTEN_PID of another process: the spec's env is kept"
    is "$(sed -n 2p <<<"$out")" "0 1 2 3 " "LISTEN_PID of another process: no fd is passed"
}

# ---- cgroups, procfs ------------------------------------------------------

check_cgroup_readonly() {
    local filter=
    # Rootless: read-only even when the spec asks for rw.
    [ "$MODE" = root ] || filter='.mounts |= map(if .destination == "/sys/fs/cgroup" then .options = ["nosuid", "noexec", "nodev", "rw"] else . end)'
    in_box "$filter" sh -c 'skiff-probe mount /sys/fs/cgroup; for d in /sys/fs/cgroup/*/; do skiff-probe mount "$d"; done; skiff-probe write /sys/fs/cgroup/planted'
    like "$(head -n 1 <<<"$out")" "^ro " "/sys/fs/cgroup is read-only${filter:+ (the spec asked for rw)}"
    unlike "$out" "^rw " "every mount under /sys/fs/cgroup is read-only"
    like "$(tail -n 1 <<<"$out")" "^(EROFS|EACCES|EPERM)$" "nothing can be created in /sys/fs/cgroup"
}

check_procfs_writes() {
    # /proc/sys is read-only, and sysctl is still written (before that).
    in_box '.linux.sysctl = {"net.ipv4.ip_unprivileged_port_start": "99"}' \
        sh -c 'cat /proc/sys/net/ipv4/ip_unprivileged_port_start; skiff-probe mount /proc/sys/net'
    is "$(head -n 1 <<<"$out")" 99 "linux.sysctl is written to the container's procfs"
    is "$(tail -n 1 <<<"$out")" "ro proc" "and /proc/sys is read-only afterwards"

    # A read-only path under /proc that something else covers is refused:
    # making that read-only would leave the real one writable.
    in_box '.mounts += [{destination: "/proc/sys", type: "tmpfs", source: "tmpfs", options: ["nosuid"]}]' true
    is "$status" 125 "a linux.readonlyPaths entry under /proc that is not procfs is refused"
    like "$err" '/proc/sys \(linux\.readonlyPaths\) is not on the container.s procfs' "the error says why"
}

# ---- the runtime's binary -------------------------------------------------

check_cloned_binary() {
    local pid exe
    if [ "$MODE" != root ]; then
        new_id
        ocap create --bundle "$SB" "$NEW_ID"
        pid=$(state_field "$NEW_ID" .pid)
        exe=$(readlink "/proc/$pid/exe" 2>&1)
        unlike "$exe" "memfd" "rootless: no sealed copy (the binary is not the user's to write)"
        oci_quick delete --force "$NEW_ID" >/dev/null 2>&1
        return
    fi
    # With its own pid namespace nothing but the init can see the init
    # before it execs: no copy needed.
    cp "$SB/config.base.json" "$SB/config.json"
    new_id
    ocap create --bundle "$SB" "$NEW_ID"
    pid=$(state_field "$NEW_ID" .pid)
    is "$(readlink -f "/proc/$pid/exe")" "$(readlink -f "$SKIFF_OCI")" \
        "as root with a new pid namespace, the init runs skiff-oci's binary (nothing can see it)"
    oci_quick delete --force "$NEW_ID" >/dev/null 2>&1

    # Without a pid namespace of its own, host root in other containers
    # could reach /proc/PID/exe: the init runs from a sealed copy.
    jq 'del(.linux.namespaces[] | select(.type == "pid"))' "$SB/config.base.json" >"$SB/config.json"
    new_id
    ocap create --bundle "$SB" "$NEW_ID"
    pid=$(state_field "$NEW_ID" .pid)
    exe=$(readlink "/proc/$pid/exe")
    is "$exe" "/memfd:skiff (deleted)" "as root without a pid namespace, the init runs from a sealed memfd copy of skiff"
    exe=$(ls -l "$(readlink -f "$SKIFF_OCI")")
    nok "the copy cannot be opened for writing" sh -c "echo x >>/proc/$pid/exe"
    is "$(ls -l "$(readlink -f "$SKIFF_OCI")")" "$exe" "skiff-oci's binary is unchanged"
    oci_quick delete --force "$NEW_ID" >/dev/null 2>&1

    new_id
    capture env SKIFF_NO_CLONED_BINARY=1 "$SKIFF_OCI" --root "$STATE_ROOT" create --bundle "$SB" "$NEW_ID"
    pid=$(state_field "$NEW_ID" .pid)
    is "$(readlink -f "/proc/$pid/exe")" "$(readlink -f "$SKIFF_OCI")" "SKIFF_NO_CLONED_BINARY=1 (benchmark knob): the binary itself"
    oci_quick delete --force "$NEW_ID" >/dev/null 2>&1
}

all_checks() {
    setup_bundle
    check_caps_root_user
    check_caps_other_user
    check_caps_refused
    check_mount_destination_symlink
    check_symlinked_proc_sys
    check_devnull_symlink
    check_ptmx
    check_cwd
    check_fds
    check_cgroup_readonly
    check_procfs_writes
    check_cloned_binary
}

for_each_mode all_checks
done_testing
