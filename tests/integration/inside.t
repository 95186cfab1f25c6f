#!/bin/bash
# What the job sees from inside the container, observed with the probe
# (/bin/skiff-probe) and busybox: pid 1, hostname, id mappings, mounts and
# their flags, masked paths, network, cwd, user and groups, rlimits, umask,
# env, /dev, bind mounts both ways, and mount destinations that must stay in
# the rootfs.  Every check runs as root and rootless (one mapped id, and a
# subordinate range).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

# inside FILTER ARG...: run ARG... in the mode's bundle whose config is the
# base config changed by the jq FILTER ("" for none); sets status/out/err.
inside() {
    local filter=$1
    shift
    # One jq run (it is slow here): the base config, FILTER, and the args.
    JQ_EDIT_SRC=$IB/config.base.json jq_edit "$IB" "${filter:-.} | .process.args = \$ARGS.positional" \
        --args -- "$@" || bail_out "bad jq filter: $filter"
    new_id
    ocap run --bundle "$IB" "$NEW_ID"
}

# line_of TEXT PREFIX: the rest of the line of TEXT starting with "PREFIX ".
line_of() {
    awk -v p="$2 " 'index($0, p) == 1 { print substr($0, length(p) + 1); exit }' <<<"$1"
}

# squeeze TEXT: runs of blanks to one space, trimmed (uid_map's columns).
squeeze() {
    awk '{ $1 = $1; print }' <<<"$1"
}

setup_bundle() {
    IB=$MODE_DIR/inside
    bundle "$IB"
    # A network namespace even where `spec --rootless` leaves it out.
    jq_edit "$IB" 'if ([.linux.namespaces[].type] | index("network")) then . else .linux.namespaces += [{type: "network"}] end'
    mkdir -p "$IB/rootfs/opt/rodir" "$IB/rootfs/opt/secretdir"
    echo secret >"$IB/rootfs/etc/secret"
    echo secret >"$IB/rootfs/opt/secretdir/file"
    [ "$MODE" = root ] || chown -R "$TEST_USER:" "$IB/rootfs/opt" "$IB/rootfs/etc/secret"
    cp "$IB/config.json" "$IB/config.base.json"
}

check_process() {
    inside "" skiff-probe pid
    is "$status" 0 "the probe runs"
    is "$out" "1 0" "the job is pid 1 of its pid namespace"

    inside '.hostname = "skiff-box"' hostname
    is "$out" skiff-box "the hostname is the config's hostname"

    local uidmap gidmap
    case $MODE in
    root) uidmap="0 0 4294967295" gidmap=$uidmap ;;
    single) uidmap="0 $TEST_UID 1" gidmap="0 $TEST_GID 1" ;;
    range)
        uidmap="0 $TEST_UID 1"$'\n'"1 $SUBUID_START 65536"
        gidmap="0 $TEST_GID 1"$'\n'"1 $SUBGID_START 65536"
        ;;
    esac
    inside "" cat /proc/self/uid_map
    is "$(squeeze "$out")" "$uidmap" "/proc/self/uid_map matches the mapping"
    inside "" cat /proc/self/gid_map
    is "$(squeeze "$out")" "$gidmap" "/proc/self/gid_map matches the mapping"

    inside '.process.cwd = "/tmp"' skiff-probe cwd
    is "$out" /tmp "process.cwd is the working directory"

    inside '.process.cwd = "/var/no/such/dir"' skiff-probe cwd
    is "$out" /var/no/such/dir "a missing process.cwd is created"

    inside '.process.rlimits = [{type: "RLIMIT_NOFILE", soft: 512, hard: 768}]' skiff-probe rlimit NOFILE
    is "$out" "512 768" "RLIMIT_NOFILE soft and hard as set"

    inside '.process.user.umask = 23' skiff-probe umask
    is "$out" 0027 "process.user.umask (027) is the umask"

    inside '.process.env += ["SKIFF_GREETING=hello  world", "EMPTY="]' sh -c 'echo "[$SKIFF_GREETING][${EMPTY-unset}]"'
    is "$out" "[hello  world][]" "process.env reaches the job verbatim"
    inside '.process.env = ["PATH=/bin:/usr/bin", "ONLY=this"]' env
    # HOME is the one variable runtimes add when it is missing.
    is "$(grep -v '^HOME=' <<<"$out" | sort | tr '\n' ' ')" "ONLY=this PATH=/bin:/usr/bin " \
        "the job's environment is process.env and nothing else"

    inside '' skiff-probe ids
    like "$out" '^uid=0 gid=0 euid=0 egid=0 ' "the default user is 0:0"
    if [ "$MODE" = single ]; then
        inside '.process.user.uid = 1000 | .process.user.gid = 1000' skiff-probe ids
        isnt "$status" 0 "a uid outside the single-id mapping is refused"
        unlike "$out" 'uid=1000' "the job does not run as an unmapped uid"
    else
        inside '.process.user = {uid: 1000, gid: 1000, additionalGids: [1000, 2000]}' skiff-probe ids
        is "$status" 0 "process.user with additionalGids runs"
        like "$out" '^uid=1000 gid=1000 euid=1000 egid=1000 groups=' "process.user 1000:1000"
        like "$out" 'groups=(.*,)?2000(,|$)' "additionalGids are the supplementary groups"
        inside '.root.readonly = false | .process.user = {uid: 1000, gid: 1000}' skiff-probe write /tmp/by-1000
        is "$out" ok "user 1000 can write in /tmp (1777)"
        inside '.root.readonly = false | .process.user = {uid: 1000, gid: 1000}' skiff-probe write /etc/by-1000
        is "$out" EACCES "user 1000 cannot write in root's /etc"
    fi
}

check_mounts() {
    local p want
    inside '.root.readonly = false' sh -c \
        'for p in / /proc /dev /dev/pts /dev/shm /dev/mqueue /sys /proc/sys; do echo "$p $(skiff-probe mount $p)"; done'
    is "$status" 0 "mount survey runs"
    for want in "/proc rw proc" "/dev rw tmpfs" "/dev/pts rw devpts" "/dev/shm rw tmpfs" \
        "/dev/mqueue rw mqueue" "/sys ro sysfs" "/proc/sys ro proc"; do
        p=${want%% *}
        is "$p $(line_of "$out" "$p")" "$want" "$p is mounted: ${want#* }"
    done
    like "$(line_of "$out" /)" '^rw ' "root.readonly false: / is writable"

    inside '.root.readonly = true' skiff-probe mount /
    like "$out" '^ro ' "root.readonly true: / is read-only"
    inside '.root.readonly = true' skiff-probe write /etc/new-file
    is "$out" EROFS "root.readonly true: writing /etc fails with EROFS"
    inside '.root.readonly = true' skiff-probe write /tmp/x
    is "$out" EROFS "root.readonly true: also /tmp of the rootfs"
    inside '.root.readonly = true' skiff-probe write /dev/shm/x
    is "$out" ok "root.readonly true: /dev/shm stays writable"

    inside '.root.readonly = false | .linux.readonlyPaths += ["/opt/rodir"]' skiff-probe write /opt/rodir/x
    is "$out" EROFS "a readonlyPaths entry is read-only"
    inside '.root.readonly = false' skiff-probe write /opt/rodir/x
    is "$out" ok "the same dir is writable without the readonlyPaths entry"

    # /proc/kcore may not exist (CONFIG_PROC_KCORE); /proc/keys always does.
    inside '' skiff-probe read /proc/keys
    is "$out" "readable 0 bytes" "/proc/keys (masked by the spec) reads empty"
    if [ -e /proc/kcore ]; then
        inside '' skiff-probe read /proc/kcore
        like "$out" '^(readable 0 bytes|EACCES|EPERM)$' "/proc/kcore is masked"
    else
        skip "this kernel has no /proc/kcore"
    fi
    inside '.linux.maskedPaths += ["/etc/secret", "/opt/secretdir"]' \
        sh -c 'skiff-probe read /etc/secret; ls -A /opt/secretdir | wc -l'
    is "$(head -n 1 <<<"$out")" "readable 0 bytes" "a masked file reads empty"
    is "$(sed -n 2p <<<"$out")" 0 "a masked directory is empty"
    inside '' sh -c 'cat /etc/secret; ls /opt/secretdir'
    is "$out" $'secret\nfile' "the same paths are readable without maskedPaths"
    inside '' sh -c 'ls -A /sys/firmware | wc -l'
    is "$out" 0 "/sys/firmware is masked"
}

check_dev_and_net() {
    inside '' sh -c 'echo x >/dev/null && head -c 5 /dev/zero | wc -c && head -c 16 /dev/urandom | wc -c'
    is "$out" $'5\n16' "/dev/null, /dev/zero and /dev/urandom work"
    inside '' sh -c 'for d in null zero full random urandom tty; do test -c /dev/$d && echo $d; done'
    is "$(tr '\n' ' ' <<<"$out")" "null zero full random urandom tty " "the standard character devices exist"
    inside '' sh -c 'for l in fd stdin stdout stderr; do readlink /dev/$l; done'
    is "$out" $'/proc/self/fd\n/proc/self/fd/0\n/proc/self/fd/1\n/proc/self/fd/2' \
        "/dev/fd, /dev/stdin, /dev/stdout, /dev/stderr links"
    inside '' sh -c 'exec 3<>/dev/ptmx && echo opened'
    is "$out" opened "/dev/ptmx opens"

    inside '' skiff-probe netifs
    is "$out" lo "only lo in the network namespace"
    inside '' ip -o link show lo
    like "$out" '<[^>]*\bUP\b[^>]*>' "lo is up"
}

check_binds() {
    local owner
    # The jq filters read paths from the environment ($ENV.X).
    export SHARED_SRC=$MODE_DIR/shared RO_SRC=$MODE_DIR/ro-src
    mkdir -p "$SHARED_SRC" "$RO_SRC"
    echo from-host >"$SHARED_SRC/from-host"
    echo read-only >"$RO_SRC/file"
    [ "$MODE" = root ] || chown -R "$TEST_USER:" "$SHARED_SRC" "$RO_SRC"
    local binds='.mounts += [
        {destination: "/mnt/shared", type: "bind", source: $ENV.SHARED_SRC, options: ["rbind", "rw"]},
        {destination: "/mnt/ro", type: "bind", source: $ENV.RO_SRC, options: ["rbind", "ro"]}]'

    inside "$binds" sh -c 'cat /mnt/shared/from-host && skiff-probe write /mnt/shared/from-container'
    is "$out" $'from-host\nok' "a bind mount of a host dir is visible and writable inside"
    is "$(cat "$SHARED_SRC/from-container" 2>&1)" skiff-probe "a file written inside is on the host"
    owner=root
    [ "$MODE" = root ] || owner=$TEST_USER
    is "$(stat -c %U "$SHARED_SRC/from-container" 2>&1)" "$owner" "it is owned by the mapped user on the host"

    inside "$binds" sh -c 'cat /mnt/ro/file; skiff-probe write /mnt/ro/new'
    is "$out" $'read-only\nEROFS' "a bind mount with ro is readable and read-only"
    nok "nothing was written to the ro bind source" test -e "$RO_SRC/new"

    # A destination missing from the rootfs is created inside the rootfs.
    inside '.mounts += [{destination: "/new/deep/dir", type: "tmpfs", source: "tmpfs", options: ["nosuid"]}]' \
        skiff-probe mount /new/deep/dir
    is "$out" "rw tmpfs" "a missing mount destination is created and mounted"
    ok "the created destination is inside the rootfs" test -d "$IB/rootfs/new/deep/dir"
}

# A mount destination that is a symlink to an absolute path must be
# resolved inside the rootfs, never on the host.
check_symlink_destination() {
    local hostdir=$MODE_DIR/hostdir before
    export EVIL_SRC=$MODE_DIR/evil-src
    mkdir -p "$hostdir" "$EVIL_SRC"
    echo marker >"$EVIL_SRC/marker"
    echo host-file >"$hostdir/keep"
    [ "$MODE" = root ] || chown -R "$TEST_USER:" "$hostdir" "$EVIL_SRC"
    before=$(ls -lA --time-style=+%s.%N "$hostdir")
    mkdir -p "$IB/rootfs/mnt" "$IB/rootfs/inner"
    ln -sfn "$hostdir" "$IB/rootfs/mnt/evil"
    [ "$MODE" = root ] || chown -h "$TEST_USER:" "$IB/rootfs/mnt/evil" "$IB/rootfs/inner"

    inside '.mounts += [{destination: "/mnt/evil", type: "bind", source: $ENV.EVIL_SRC, options: ["rbind", "rw"]}]' \
        sh -c 'cat /mnt/evil/marker; echo written >/mnt/evil/from-container'
    # Refusing the mount is fine; following the link out of the rootfs is not.
    if [ "$status" -eq 0 ]; then
        is "$(head -n 1 <<<"$out")" marker "symlinked destination: the mount is at the link resolved in the rootfs"
    else
        pass "symlinked destination: the runtime refused the mount (exit $status)"
    fi
    is "$(ls -lA --time-style=+%s.%N "$hostdir")" "$before" "symlinked destination: the host dir is unchanged"
    is "$(_mounts_under "$hostdir")" "" "symlinked destination: nothing is mounted on the host dir"
    rm -f "$IB/rootfs/mnt/evil"

    # A link to a host path that is also inside the rootfs tells from the
    # inside where the mount landed: at <rootfs>/<link target> (right) or
    # at the target on the host, which is /inner in the container (wrong).
    ln -sfn "$IB/rootfs/inner" "$IB/rootfs/mnt/evil2"
    [ "$MODE" = root ] || chown -h "$TEST_USER:" "$IB/rootfs/mnt/evil2"
    inside '.mounts += [{destination: "/mnt/evil2", type: "bind", source: $ENV.EVIL_SRC, options: ["rbind", "ro"]}]' \
        sh -c 'test -e /inner/marker && echo "mounted on the host path"; cat /mnt/evil2/marker'
    unlike "$out" "mounted on the host path" "symlinked destination: the mount is not at the link target on the host"
    rm -f "$IB/rootfs/mnt/evil2"
}

# linux.namespaces entries with a path join that namespace instead of
# making one, as the containers of a pod share one network.
check_join_namespaces() {
    local a_id a_pid filter want
    cp "$IB/config.base.json" "$IB/config.json"
    jq_edit "$IB" '.hostname = "pod-a"'
    set_args "$IB" sleep 30
    new_id
    a_id=$NEW_ID
    ocap create --bundle "$IB" "$a_id"
    is "$status" 0 "a first container is created, to be joined"
    a_pid=$(state_field "$a_id" .pid)
    # The second joins its network and uts namespaces by path; rootless it
    # joins its user namespace too, which owns them (and maps no ids).
    filter='del(.hostname) | .linux.namespaces |= map(
        if .type == "network" then .path = "/proc/\($pid)/ns/net"
        elif .type == "uts" then .path = "/proc/\($pid)/ns/uts"
        elif .type == "user" then .path = "/proc/\($pid)/ns/user"
        else . end)'
    [ "$MODE" = root ] || filter="$filter"' | del(.linux.uidMappings, .linux.gidMappings)'
    cp "$IB/config.base.json" "$IB/config.json"
    jq_edit "$IB" "$filter" --arg pid "$a_pid"
    set_args "$IB" sh -c 'hostname; readlink /proc/self/ns/net; readlink /proc/self/ns/uts'
    new_id
    ocap run --bundle "$IB" "$NEW_ID"
    is "$status" 0 "a container that joins namespaces by path runs"
    want="pod-a"$'\n'"$(readlink "/proc/$a_pid/ns/net")"$'\n'"$(readlink "/proc/$a_pid/ns/uts")"
    is "$out" "$want" "it has the first container's hostname, network and uts namespaces"
    oci_quick delete --force "$a_id" >/dev/null 2>&1
    cp "$IB/config.base.json" "$IB/config.json"
}

all_checks() {
    setup_bundle
    check_process
    check_mounts
    check_dev_and_net
    check_binds
    check_symlink_destination
    check_join_namespaces
}

for_each_mode all_checks
done_testing
