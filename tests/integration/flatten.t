#!/bin/bash
# skiff flatten: a stored image's layers applied in order into one
# directory (the fallback rootfs where overlayfs cannot be used).  The exact
# tree of the multi test image (whiteouts gone, the opaque directory with
# only its upper content, types, modes with setuid/setgid, owners as the
# mode maps them, link targets, hardlinks, xattrs, mtimes); stacked layers
# writing through a lower layer's symlinks stay inside; a non-empty DIR is
# refused; a failure half-way removes what was made.
# Modes: root; rootless with a subordinate range; rootless with one id.
. "$(dirname "$0")/lib.sh"

ERROR_LINE='^skiff: .+ \[[a-z0-9_]+(\.[a-z0-9_]+)+\]$'
install -m 0755 "$SKIFF" "$TEST_TMP/skiff" || bail_out "cannot copy $SKIFF"
SKIFF=$TEST_TMP/skiff
TI=$TEST_TMP/test-images
OUTSIDE=$TEST_TMP/outside
mkdir -p "$OUTSIDE" && chmod 1777 "$OUTSIDE"
command -v python3 >/dev/null || bail_out "python3 is needed to build the test images"
python3 "$SKIFF_SRCDIR/images/test-images.py" "$TI" "$OUTSIDE" || bail_out "images/test-images.py failed"
chmod -R a+rX "$TI"

# own UID GID: the owner on disk of what the image has as UID:GID.
own() {
    case $MODE in
    root) echo "$1:$2" ;;
    range)
        local u g
        if [ "$1" -eq 0 ]; then u=$TEST_UID; else u=$((SUBUID_START + $1 - 1)); fi
        if [ "$2" -eq 0 ]; then g=$TEST_GID; else g=$((SUBGID_START + $2 - 1)); fi
        echo "$u:$g" ;;
    single) echo "$TEST_UID:$TEST_GID" ;;
    esac
}

# The tree as a listing: type, mode, owner, (link count for non-directories:
# directories' counts depend on the filesystem), path, link target.
listing() {
    (cd "$1" && find . \( -type d -printf '%p %y %m %U:%G\n' \) -o \
        \( -printf '%p %y %m %U:%G %n %l\n' \) | sed 's/ $//' | LC_ALL=C sort)
}

expected_multi() {
    local r u d
    r=$(own 0 0) u=$(own 1000 1000) d=$(own 1000 100)
    LC_ALL=C sort <<EOF
. d 755 $r
./a d 755 $r
./a/keep f 644 $r 1
./data d 750 $u
./data/f f 600 $u 1
./data/f2 f 640 $d 1
./etc d 755 $r
./etc/hostname f 644 $r 1
./hl d 755 $r
./hl/link f 644 $r 2
./hl/orig f 644 $r 2
./opq d 755 $r
./opq/new f 644 $r 1
./s d 755 $r
./s/abs l 777 $r 1 /etc/hostname
./s/dangling l 777 $r 1 /nowhere
./s/rel l 777 $r 1 ../a/keep
./usr d 755 $r
./usr/bin d 555 $r
./usr/bin/tool f 4755 $r 1
./x d 755 $r
./x/attr f 644 $r 2
./x/gid f 2755 $(own 0 100) 1
./x/hl2 f 644 $r 2
EOF
}

xattrs_of() {
    python3 -c 'import os,sys; print(" ".join(sorted(os.listxattr(sys.argv[1], follow_symlinks=False))))' "$1"
}

check_multi() {
    local S=$MODE_DIR/store D=$MODE_DIR/multi
    skcap pull -q --store "$S" "oci:$TI:multi"
    is "$status" 0 "pull of the multi-layer image"
    skcap flatten --store "$S" localhost/test-images:multi "$D"
    is "$status" 0 "flatten succeeds"
    is "$out$err" "" "flatten prints nothing when it works"
    is "$(listing "$D")" "$(expected_multi)" "the exact tree: types, modes, owners, links, targets"
    ok "the whited-out directory is absent" test ! -e "$D/gone" -a ! -L "$D/gone"
    ok "the whited-out file is absent" test ! -e "$D/a/old" -a ! -L "$D/a/old"
    is "$(ls -A "$D/opq")" new "the opaque directory holds only the upper layer's file"
    is "$(cat "$D/opq/new") $(cat "$D/a/keep") $(cat "$D/data/f2")" "new keep second" "file data is copied"
    is "$(stat -c %i "$D/hl/orig")" "$(stat -c %i "$D/hl/link")" "a hardlink of the lowest layer shares the inode"
    is "$(stat -c %i "$D/x/attr")" "$(stat -c %i "$D/x/hl2")" "a hardlink of the top layer shares the inode"
    is "$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.skiff").decode())' "$D/x/attr" 2>&1)" yes \
        "a user xattr is kept"
    is "$(xattrs_of "$D/opq")" "" "no overlay xattr of the store is copied"
    is "$(stat -c %Y "$D/etc/hostname")" 1234567890 "file mtimes are kept"
    is "$(stat -c %Y "$D/etc") $(stat -c %Y "$D/usr/bin")" "0 0" "directory mtimes are kept"
    skcap flatten --store "$S" localhost/test-images:multi "$MODE_DIR/multi"
    is "$status" 125 "flatten into the same (now full) directory fails"
    like "$(tail -n1 <<<"$err")" "$ERROR_LINE" "one error line"
    like "$err" '\[image\.flatten\.dest_not_empty\]' "the error is image.flatten.dest_not_empty"
    like "$err" "$MODE_DIR/multi exists and is not empty" "the message names the directory"
    is "$(listing "$D")" "$(expected_multi)" "the refused flatten changed nothing"
    skcap verify --store "$S"
    is "$status" 0 "the store still verifies"
}

check_dest() {
    local S=$MODE_DIR/store E=$MODE_DIR/empty N=$MODE_DIR/nonempty
    user_dir "$E"; user_dir "$N"
    if [ "$MODE" = root ]; then echo mine >"$N/mine"; else as_user sh -c 'echo mine >"$1/mine"' sh "$N"; fi
    skcap flatten --store "$S" localhost/test-images:multi "$N"
    is "$status" 125 "a non-empty directory is refused"
    like "$err" '\[image\.flatten\.dest_not_empty\]' "with image.flatten.dest_not_empty"
    is "$(ls -A "$N")" mine "and left as it was"
    skcap flatten --store "$S" localhost/test-images:multi "$E"
    is "$status" 0 "an empty directory is fine"
    is "$(listing "$E")" "$(expected_multi)" "and gets the same tree"
    skcap flatten --store "$S" localhost/test-images:nosuch "$MODE_DIR/never"
    like "$err" '\[image\.not_found\]' "an unknown image is image.not_found"
    ok "and no directory is made" test ! -e "$MODE_DIR/never"
    skcap flatten --store "$S" localhost/test-images:multi "$MODE_DIR/no/parent"
    like "$err" '\[image\.flatten\.dest\]' "a DIR whose parent is missing is image.flatten.dest"
}

check_escape() {
    local S=$MODE_DIR/store D=$MODE_DIR/escape
    echo victim >"$OUTSIDE/victim"
    chmod 666 "$OUTSIDE/victim"
    skcap pull -q --store "$S" "oci:$TI:flatten-escape"
    is "$status" 0 "the layers of flatten-escape are fine alone"
    skcap flatten --store "$S" localhost/test-images:flatten-escape "$D"
    is "$status" 0 "flattening them works"
    is "$(cd "$D" && find . -printf '%p %y\n' | LC_ALL=C sort | tr '\n' ' ')" \
        ". d ./d d ./d/up d ./d/up/evil2 f ./f f ./link d ./link/evil f ./w d " \
        "the upper layer's directories and file replaced the lower symlinks"
    is "$(cat "$D/f")" inside "the file replacing a symlink has the upper data"
    is "$(ls -A "$OUTSIDE")" victim "nothing was written outside DIR"
    is "$(cat "$OUTSIDE/victim")" victim "a whiteout under a lower symlink removed nothing outside"
    rm -f "$OUTSIDE/victim"
}

# Half-way failure: a file of the store the mode's user cannot read (owned
# by real root, mode 0600; root reads anything, so not in the root mode).
check_failure() {
    local S=$MODE_DIR/store D=$MODE_DIR/failed l
    l=$(sk inspect --store "$S" localhost/test-images:multi | jq -r '.Layers[2].path')
    install -m 0600 -o root -g root /dev/null "$l/x/zz-unreadable" || bail_out "cannot plant a file in $l"
    skcap flatten --store "$S" localhost/test-images:multi "$D"
    is "$status" 125 "an unreadable file in a layer fails the flatten"
    like "$err" '\[image\.flatten\.write\]' "with image.flatten.write"
    like "$err" 'layer sha256:[0-9a-f]{64}: "/x/zz-unreadable"' "naming the layer and the path"
    ok "and the half-made DIR is removed" test ! -e "$D"
    rm -f "$l/x/zz-unreadable"
}

run_mode() {
    [ "$MODE" = root ] || user_dir "$MODE_DIR/store"
    check_multi
    check_dest
    check_escape
    if [ "$MODE" != root ] && [ $IS_ROOT -eq 1 ]; then
        check_failure
    else
        skip "a file only root can read stops no flatten as root" 4
    fi
}

for_each_mode run_mode
done_testing
