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

    ovrun "$BB" sh -c 'head -n 1 /proc/self/mountinfo; echo hello'
    is "$status" 0 "--rootfs-mode auto on a store overlayfs refuses: the job runs"
    like "$out" $'^[0-9]+ [0-9]+ [0-9:]+ /store/containers/[0-9a-f]{64}/rootfs / .*[ ,]upperdir='"$OV"$'/u,.*\nhello$' \
        "over a flattened copy: its root is the container's directory on the store's own filesystem"
    is "$(grep -c . <<<"$err")" 1 "one notice on stderr"
    like "$err" '^skiff: overlayfs cannot be used here \(.*\); the container.s root is a flattened copy of the image instead \(--rootfs-mode\)$' \
        "the notice says why and what was done instead"

    ovrun --rootfs-mode overlay "$BB" true
    like "$status:$err" '^125:skiff: --rootfs-mode overlay: cannot mount the overlay of 1 layers .*\[rootfs\.overlay\.unsupported\]$' \
        "forced overlay where it cannot be used: a clear error"

    capture "${ON_OV[@]}" bash -c 'ls -A "$1/containers" | grep -v "^names$"; ls -A "$1/containers/names"' - "$OV/m/store"
    is "$out" "" "nothing of either run is left in that store"
}

each_mode() {
    S=$MODE_DIR/store
    mkdir -p "$STATE_ROOT"
    [ "$MODE" = root ] || chown "$TEST_USER:" "$STATE_ROOT"
    check_flatten
    check_fallback
}

for_each_mode each_mode
done_testing
