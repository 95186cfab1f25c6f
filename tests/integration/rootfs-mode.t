#!/bin/bash
# skiff run --rootfs-mode: the container's root as an overlay of the stored
# layers, or the flattening fallback (a private copy of the image in the
# container's directory).  "flatten" is forced on this host's store; the
# fallback of "auto" is shown on a store that overlayfs cannot use: one on
# an overlayfs mount (overlayfs refuses another overlay as its upper
# layer), made in a private mount namespace for each command, so that the
# host's mounts never change.
# Modes: root; rootless with a subordinate range; rootless with one id.
. "$(dirname "$0")/lib.sh"

TI=$TEST_TMP/test-images
command -v python3 >/dev/null || bail_out "python3 is needed to build the test images"
python3 "$SKIFF_SRCDIR/images/test-images.py" "$TI" "$TEST_TMP/outside" >/dev/null ||
    bail_out "images/test-images.py failed"
chmod -R a+rX "$TI"
BB=localhost/busybox:latest
MULTI=localhost/test-images:multi


# What the stored layers hold: a change made by a job would show here.
layers_listing() {
    (cd "$S/layers" && find . -printf '%y %m %U:%G %s %T@ %p\n' | sort)
}

# Nothing of a run is left: no container directory, no name, no state, no
# mount of the store.
check_nothing_left() {
    local what=$1
    is "$(ls -A "$S/containers" 2>/dev/null | grep -v '^names$')" "" "$what: no container directory is left"
    is "$(ls -A "$S/containers/names" 2>/dev/null)" "" "$what: no name is left claimed"
    is "$(ls -A "$STATE_ROOT" 2>/dev/null | grep -v '^\.')" "" "$what: no runtime state is left"
    is "$(grep -c " $S/" /proc/self/mountinfo)" "0" "$what: no mount of the store is left"
}

check_flatten() {
    local before
    sk_argv
    capture "${SK[@]}" pull -q --store "$S" "oci:$SKIFF_IMAGE"
    is "$status" 0 "pull busybox"
    capture "${SK[@]}" pull -q --store "$S" "oci:$TI:multi"
    is "$status" 0 "pull the multi image (whiteouts, an opaque directory)"

    # The root's line in the container's mountinfo: a new overlay is
    # mounted at "/" from its own root; a flattened copy is a directory of
    # the store, bound.
    skrun --rootfs-mode overlay "$BB" head -n 1 /proc/self/mountinfo
    like "$status:$out" '^0:[0-9]+ [0-9]+ [0-9:]+ / / .* - overlay ' "--rootfs-mode overlay: the root is an overlay"
    # Mounted over the namespace's own "/": the container's directory has
    # no mount point for it.
    skrun --keep --json "$BB" true
    local kept
    kept=$(jq -r .container_id <<<"$out")
    is "$(ls "$S/containers/$kept" | tr '\n' ' ')" "job.json result.json upper work " \
        "an overlay root: the container's directory holds the writable layer and the record, no rootfs/"
    capture "${SK[@]}" rm --store "$S" --root "$STATE_ROOT" "$kept"
    is "$status" 0 "skiff rm of that container"
    skrun --rootfs-mode flatten "$BB" sh -c 'head -n 1 /proc/self/mountinfo; echo hello'
    is "$status" 0 "--rootfs-mode flatten: the job runs"
    like "$out" $'^[0-9]+ [0-9]+ [0-9:]+ [^ ]*/containers/[0-9a-f]{64}/rootfs / .*\nhello$' \
        "its root is the container's directory in the store, bound"
    unlike "$out" ' - overlay ' "not an overlay"
    is "$err" "" "a forced flatten prints no notice"

    check_layer_view --rootfs-mode flatten "$MULTI"

    before=$(layers_listing)
    skrun --rootfs-mode flatten "$BB" sh -c \
        'rm /bin/true && echo new >/etc/new && echo more >>/etc/passwd && chmod 700 /etc && ls /bin/true 2>&1'
    like "$out" 'No such file' "the job removes, writes and chmods in its root"
    is "$(layers_listing)" "$before" "the stored layers are untouched"
    skrun --rootfs-mode flatten "$BB" sh -c \
        'test -e /bin/true && echo has-true; test -e /etc/new || echo no-new; grep -c more /etc/passwd'
    is "$out" $'has-true\nno-new\n0' "the next run starts from the image again"
    check_nothing_left "after flattened runs"

    skrun --rootfs-mode flatten --storage-limit 10m "$BB" true
    like "$status:$err" '^125:.*--storage-limit.*\[job\.rootfs\.flatten_limit\]' \
        "--storage-limit with a flattened root is refused"
    check_nothing_left "after the refused --storage-limit"
    skrun --rootfs-mode copy "$BB" true
    like "$status:$err" '^125:.*--rootfs-mode copy: expected overlay, flatten or auto.*\[cli\.usage\]' \
        "an unknown --rootfs-mode is a usage error"
}

# The container's /etc/hosts, /etc/hostname and /etc/resolv.conf: files of
# the overlay's top layer (a tmpfs of the container's) over an overlay root
# whose image /etc is a directory the container's root owns (so the job may
# edit or replace them: a write copies them up); else, and over a flattened
# root, bind mounts from its directory.  Either way the contents are the
# container's and the stored layers are untouched.
check_etc_files() {
    local before bb=(-v /bin/busybox:/busybox:ro)
    # their mounts (by the target's resolved path), /etc/hostname, /etc
    local probe='/busybox grep -cE " [^ ]*/(hosts|hostname|resolv.conf) " /proc/mounts
        /busybox cat /etc/hostname; /busybox stat -c "%a %u:%g" /etc/'
    sk_argv
    capture "${SK[@]}" pull -q --store "$S" "oci:$TI:etc-link"
    is "$status" 0 "pull an image whose /etc is a symlink"
    capture "${SK[@]}" pull -q --store "$S" "oci:$TI:etc-owned"
    is "$status" 0 "pull an image whose /etc the container's root does not own"
    before=$(layers_listing)

    skrun --hostname eh "$BB" sh -c 'grep -cE " /etc/(hosts|hostname|resolv.conf) " /proc/mounts
        cat /etc/hostname; grep -c "^127.0.1.1	eh$" /etc/hosts; grep -c nameserver /etc/resolv.conf
        sed -i "s/^127.0.1.1.*/127.0.1.1 edited/" /etc/hosts && grep edited /etc/hosts
        grep -c "^root:" /etc/passwd'
    is "$status:$out" $'0:0\neh\n1\n1\n127.0.1.1 edited\n1' \
        "overlay root: the /etc files are the container's, above the image's layers (no mount; sed -i works), beside the image's /etc"
    # Not files of the store's disk: the writable layer has them only once
    # the job writes one.
    local kept
    skrun --keep --json "$BB" cat /etc/hosts
    kept=$(jq -r .container_id <<<"$out")
    is "$(ls -A "$S/containers/$kept/upper" | tr '\n' ' ')" "" \
        "a job that only reads them leaves the writable layer empty"
    capture "${SK[@]}" rm --store "$S" --root "$STATE_ROOT" "$kept"
    skrun --keep --json "$BB" sh -c 'echo "10.0.0.9 added" >>/etc/hosts'
    kept=$(jq -r .container_id <<<"$out")
    is "$(ls -A "$S/containers/$kept/upper/etc" | tr '\n' ' '):$(tail -n 1 "$S/containers/$kept/upper/etc/hosts")" \
        "hosts :10.0.0.9 added" "a write copies /etc/hosts up into the writable layer, alone"
    capture "${SK[@]}" rm --store "$S" --root "$STATE_ROOT" "$kept"
    is "$status" 0 "skiff rm of those containers"
    skrun --hostname mh "${bb[@]}" "$MULTI" /busybox sh -c "$probe"
    is "$status:$out" $'0:0\nmh\n755 0:0' "the image's /etc keeps its mode and owner"
    skrun --read-only --hostname rh "$BB" sh -c 'cat /etc/hostname; echo x >/etc/hostname || echo refused'
    is "$status:$out" $'0:rh\nrefused' "--read-only: they are there, and read-only like the rest"
    skrun --hostname lh "${bb[@]}" localhost/test-images:etc-link /busybox sh -c "$probe"
    like "$status:$out" $'^0:3\nlh\n' "/etc a symlink: the files are bind-mounted over the image's"
    skrun --hostname oh "${bb[@]}" localhost/test-images:etc-owned /busybox sh -c "$probe"
    if [ "$MODE" = single ]; then
        # one mapped id: the container's root owns every file
        is "$status:$out" $'0:0\noh\n750 0:0' \
            "/etc of another owner (collapsed to root here): above the layers, its mode kept"
    else
        is "$status:$out" $'0:3\noh\n750 1000:1000' "/etc of another owner: bind-mounted, the image's /etc as it is"
    fi
    skrun --rootfs-mode flatten --hostname fh "$BB" sh -c \
        'grep -cE " /etc/(hosts|hostname|resolv.conf) " /proc/mounts; cat /etc/hostname'
    is "$status:$out" $'0:3\nfh' "a flattened root: bind-mounted"
    skrun --storage-limit 10m --hostname sh "$BB" sh -c \
        'grep -cE " /etc/(hosts|hostname|resolv.conf) " /proc/mounts; cat /etc/hostname'
    is "$status:$out" $'0:3\nsh' "--storage-limit (the writable layer is the init's tmpfs): bind-mounted"
    is "$(layers_listing)" "$before" "the stored layers are untouched"
    check_nothing_left "after the /etc files' runs"
}

# ON_OV CMD...: CMD in a private mount namespace where OV/m is an overlayfs
# mount holding the store OV/m/store (its upper layer OV/u is the mode
# user's).  The mount ends with the namespace.
ov_argv() {
    ON_OV=(unshare -m --propagation private bash -c
        'mount -t overlay skiff-test -o lowerdir="$1/l",upperdir="$1/u",workdir="$1/w" "$1/m" || exit 99
         shift; exec "$@"' - "$OV")
}
ovrun() {
    sk_argv
    ov_argv
    capture "${ON_OV[@]}" "${SK[@]}" run --store "$OV/m/store" --root "$STATE_ROOT" -q \
        -e "SKIFF_TEST_TOKEN=$TOKEN" "$@"
}

check_fallback() {
    OV=$MODE_DIR/ov
    mkdir -p "$OV/l" "$OV/u" "$OV/w" "$OV/m"
    [ "$MODE" = root ] || chown "$TEST_USER:" "$OV/u"
    sk_argv
    ov_argv
    capture "${ON_OV[@]}" "${SK[@]}" pull -q --store "$OV/m/store" "oci:$SKIFF_IMAGE"
    if [ "$status" = 99 ]; then
        skip "cannot mount overlayfs here to make a store overlayfs refuses" 6
        return
    fi
    is "$status" 0 "pull busybox into a store on overlayfs"

    ovrun --hostname fb "$BB" sh -c 'head -n 1 /proc/self/mountinfo; grep -cE " /etc/(hosts|hostname|resolv.conf) " /proc/mounts
        cat /etc/hostname; grep -c "^127.0.1.1	fb$" /etc/hosts; echo hello'
    is "$status" 0 "--rootfs-mode auto on a store overlayfs refuses: the job runs"
    like "$out" $'^[0-9]+ [0-9]+ [0-9:]+ /store/containers/[0-9a-f]{64}/rootfs / .*[ ,]upperdir='"$OV"$'/u,.*\n0\nfb\n1\nhello$' \
        "over a flattened copy: its root is the container's directory on the store's own filesystem, with the container's /etc files moved in"
    is "$(grep -c . <<<"$err")" 1 "one notice on stderr"
    like "$err" '^skiff: overlayfs cannot be used here \(.*\); the container.s root is a flattened copy of the image instead \(--rootfs-mode\)$' \
        "the notice says why and what was done instead"

    ovrun --rootfs-mode overlay "$BB" true
    like "$status:$err" '^125:skiff: --rootfs-mode overlay: cannot mount the overlay of 1 layers .*\[rootfs\.overlay\.unsupported\]$' \
        "forced overlay where it cannot be used: a clear error"

    capture "${ON_OV[@]}" bash -c 'ls -A "$1/containers" | grep -v "^names$"; ls -A "$1/containers/names"' - "$OV/m/store"
    is "$out" "" "nothing of either run is left in that store"
}

# On a store whose file system has no extended attributes (ramfs, in a
# private mount namespace), when the job started is a file of the
# container's directory instead of its attribute; inspect reads either.
check_started_file() {
    local rf=$MODE_DIR/rf owner=root
    mkdir -p "$rf"
    [ "$MODE" = root ] || owner=$TEST_USER
    sk_argv
    capture unshare -m --propagation private bash -c '
        rf=$1 owner=$2 image=$3 state=$4
        shift 4
        mount -t ramfs skiff-test "$rf" || exit 99
        chown "$owner:" "$rf"
        "$@" pull -q --store "$rf/store" "oci:$image" >/dev/null || exit 98
        id=$("$@" run -q --store "$rf/store" --root "$state" --keep --json \
            localhost/busybox true 2>/dev/null | jq -r .container_id)
        "$@" inspect --store "$rf/store" "$id" | jq -r .state.started_at
        ls "$rf/store/containers/$id"
        "$@" rm --store "$rf/store" --root "$state" "$id"' - "$rf" "$owner" "$SKIFF_IMAGE" "$STATE_ROOT" "${SK[@]}"
    if [ "$status" = 99 ]; then
        skip "cannot mount a ramfs here" 1
        return
    fi
    like "$status:$out" $'^0:[0-9T:.-]+Z\n(.*\n)*started\n' \
        "no extended attributes on the store's file system: the start time is the file started, and inspect reads it"
}

each_mode() {
    S=$MODE_DIR/store
    mkdir -p "$STATE_ROOT"
    [ "$MODE" = root ] || chown "$TEST_USER:" "$STATE_ROOT"
    check_flatten
    check_etc_files
    check_fallback
    check_started_file
}

for_each_mode each_mode
done_testing
