#!/bin/bash
# Images from local sources into the store: skiff pull oci:DIR[:REF], images,
# inspect, rmi, prune, verify; the layer trees in overlayfs format
# (whiteouts, opaque directories, hardlinks, symlinks, setuid, owners,
# xattrs, mtimes), gzip and zstd layers; hostile layers refused without a
# trace; concurrent pulls; pulls killed at random moments.
# Modes: root; rootless with a subordinate range (owners kept through a user
# namespace); rootless with one id (owners collapse; SKIFF_NO_SUBIDS).
. "$(dirname "$0")/lib.sh"

ERROR_LINE='^skiff: .+ \[[a-z0-9_]+(\.[a-z0-9_]+)+\]$'
# A copy of the binary: a rebuild of the tree during the run must not pull
# it away from under the kill loop.
install -m 0755 "$SKIFF" "$TEST_TMP/skiff" || bail_out "cannot copy $SKIFF"
SKIFF=$TEST_TMP/skiff
TI=$TEST_TMP/test-images
TZ=$TEST_TMP/test-images-zstd
OUTSIDE=$TEST_TMP/outside
mkdir -p "$OUTSIDE" && chmod 1777 "$OUTSIDE"
command -v python3 >/dev/null || bail_out "python3 is needed to build the test images"
python3 "$SKIFF_SRCDIR/images/test-images.py" "$TI" "$OUTSIDE" || bail_out "images/test-images.py failed"
chmod -R a+rX "$TI"
HAVE_ZSTD=0
if command -v skopeo >/dev/null; then
    if skopeo copy -q --insecure-policy --dest-compress --dest-compress-format zstd \
        "oci:$TI:multi" "oci:$TZ:multi" >/dev/null 2>&1 8>&-; then
        HAVE_ZSTD=1
        chmod -R a+rX "$TZ"
    fi
fi

# The store as a listing (locks/ and the lock file aside: taking a lock is
# not a change).
snapshot() {
    (cd "$1" && find . -path ./locks -prune -o ! -name lock -printf '%y %m %s %p\n' | sort)
}

# layer_dir STORE IMAGE N: the directory of the N-th layer (from 0).
layer_dir() {
    sk inspect --store "$1" "$2" | jq -r ".Layers[$3].path"
}

check_busybox() {
    local S=$MODE_DIR/store l
    skcap pull --store "$S" "oci:$SKIFF_IMAGE"
    is "$status" 0 "pull oci:images/busybox succeeds"
    is "$out" "localhost/busybox:latest" "pull prints the stored name"
    like "$err" 'layer sha256:[0-9a-f]{12}: unpacked' "a line per finished layer"
    if [ "$MODE" = single ]; then
        like "$err" 'collapsed' "the single-id mode says once that owners collapse"
    fi
    skcap images --store "$S"
    like "$out" 'localhost/busybox:latest +[0-9a-f]{12} +linux/' "images lists it"
    skcap images --store "$S" --format json
    is "$(jq -r '.[0].name' <<<"$out")" "localhost/busybox:latest" "images --format json"
    skcap inspect --store "$S" busybox
    is "$status" 0 "inspect by short name"
    is "$(jq -r '.Layers | length' <<<"$out")" 1 "inspect shows one layer"
    is "$(jq -r '.Config.Cmd[0]' <<<"$out")" sh "inspect shows the config"
    l=$(jq -r '.Layers[0].path' <<<"$out")
    ok "bin/busybox is a regular file" test -f "$l/bin/busybox" -a ! -L "$l/bin/busybox"
    is "$(readlink "$l/bin/sh")" ../bin/busybox "bin/sh is a symlink to busybox"
    is "$(readlink "$l/usr/bin/env")" ../../bin/busybox "usr/bin/env is a relative symlink"
    is "$(stat -c %a "$l/tmp")" 1777 "tmp keeps its sticky mode"
    expect_owner "$l/home/user" 1000
    expect_owner "$l/bin/busybox" 0
    skcap pull --store "$S" --progress=json "oci:$SKIFF_IMAGE"
    is "$(jq -r 'select(.event == "layer") | .status' <<<"$out")" exists \
        "a second pull finds the layer in the store (JSON progress)"
    skcap pull --store "$S" --quiet "oci:$SKIFF_IMAGE"
    is "$err" "" "--quiet prints no progress"
    skcap verify --store "$S"
    is "$status" 0 "the store verifies"
}

check_multi() {
    local S=$MODE_DIR/multi-store l0
    skcap pull --store "$S" "oci:$TI:multi"
    is "$status" 0 "pull of the multi-layer image"
    is "$out" "localhost/test-images:multi" "it is named after the directory and the ref"
    l0=$(layer_dir "$S" localhost/test-images:multi 0)
    check_multi_layers "$l0" "$(layer_dir "$S" localhost/test-images:multi 1)" \
        "$(layer_dir "$S" localhost/test-images:multi 2)"
    skcap verify --store "$S"
    is "$status" 0 "the store verifies"

    if [ $HAVE_ZSTD -eq 1 ]; then
        local Z=$MODE_DIR/zstd-store z0
        skcap pull --store "$Z" "oci:$TZ:multi"
        is "$status" 0 "pull of the zstd variant"
        is "$(sk inspect --store "$Z" localhost/test-images-zstd:multi | jq -r '.Layers[0].mediaType')" \
            application/vnd.oci.image.layer.v1.tar+zstd "its layers are zstd"
        z0=$(layer_dir "$Z" localhost/test-images-zstd:multi 0)
        is "$(tree_sum "$z0")" "$(tree_sum "$l0")" "the zstd layer unpacks to the same tree"
    else
        skip "skopeo cannot recompress to zstd here (Debian package skopeo)" 3
    fi

    # rmi then prune: the content goes.
    skcap rmi --store "$S" localhost/test-images:multi
    is "$out" "untagged localhost/test-images:multi" "rmi removes the name"
    skcap inspect --store "$S" localhost/test-images:multi
    like "$err" 'image\.not_found' "the name is gone"
    skcap prune --store "$S"
    like "$out" 'removed 2 blobs, 3 layers' "prune removes what no tag uses"
    is "$(ls "$S/layers/sha256" | wc -l)" 0 "no layer is left"
    skcap rmi --store "$S" nothing-here
    like "$err" "$ERROR_LINE" "rmi of an unknown image is one error line"
}

HOSTILE=(
    "abs:image.layer.unsafe_path:absolute"
    "dotdot:image.layer.unsafe_path:\.\."
    "symlink:image.layer.unsafe_path:symlink \"link\""
    "symlink-rel:image.layer.unsafe_path:symlink \"up\""
    "hardlink:image.layer.unsafe_path:\.\."
    "hardlink-abs:image.layer.unsafe_path:absolute"
    "hardlink-via-symlink:image.layer.unsafe_path:symlink \"l\""
    "root:image.layer.unsafe_path:layer root"
    "root-dot:image.layer.unsafe_path:layer root"
    "digest:image.layer.digest_mismatch:digest"
    "truncated:image.layer.malformed:truncated"
    "diffid:image.layer.diff_id_mismatch:config says"
    "huge:image.manifest.too_big:more than"
    "schema1:image.manifest.schema1:schema 1"
    "artifact:image.manifest.not_an_image:artifact"
)

check_hostile() {
    local S=$MODE_DIR/store before h ref id what
    before=$(snapshot "$S")
    for h in "${HOSTILE[@]}"; do
        IFS=: read -r ref id what <<<"$h"
        skcap pull --store "$S" "oci:$TI:$ref"
        isnt "$status" 0 "hostile $ref: the pull fails"
        like "$(tail -n1 <<<"$err")" "$ERROR_LINE" "hostile $ref: one error line"
        like "$err" "\[$id\]" "hostile $ref: the error is $id"
        like "$err" "$what" "hostile $ref: the message says what is wrong"
        case $id in image.layer.*) like "$err" 'layer sha256:[0-9a-f]{64}' "hostile $ref: the message names the layer" ;; esac
    done
    is "$(snapshot "$S")" "$before" "the store is unchanged after every hostile image"
    is "$(ls -A "$OUTSIDE")" "" "nothing was written outside the store"
    # A later symlink over an earlier entry only replaces it in the layer.
    skcap pull --store "$MODE_DIR/other" "oci:$TI:chmod-symlink"
    is "$status" 0 "a directory replacing a symlink to outside is fine"
    is "$(ls -A "$OUTSIDE")" "" "and nothing outside is touched"
}

check_concurrent() {
    local S=$MODE_DIR/conc a b
    case $MODE in root) ;; *) user_dir "$S" ;; esac
    sk pull -q --store "$S" "oci:$TI:multi" >"$MODE_DIR/c1" 2>&1 8>&- & a=$!
    sk pull -q --store "$S" "oci:$TI:multi" >"$MODE_DIR/c2" 2>&1 8>&- & b=$!
    wait $a; is "$?" 0 "concurrent pull 1 succeeds"
    wait $b; is "$?" 0 "concurrent pull 2 succeeds"
    skcap verify --store "$S"
    is "$status" 0 "the store verifies after concurrent pulls"
}

check_kill() {
    local S=$MODE_DIR/killed i pid bad=0 pidf=$MODE_DIR/pull.pid msg=
    case $MODE in root) ;; *) user_dir "$S" ;; esac
    for ((i = 0; i < 20; i++)); do
        rm -f "$pidf"
        # (bash reports a killed background job on stderr: not a failure)
        case $MODE in
        root) bash -c 'echo $$ >"$1"; shift; exec "$@"' - "$pidf" "$SKIFF" pull -q --store "$S" "oci:$SKIFF_IMAGE" >/dev/null 2>&1 8>&- & ;;
        range) as_user bash -c 'echo $$ >"$1"; shift; exec "$@"' - "$pidf" "$SKIFF" pull -q --store "$S" "oci:$SKIFF_IMAGE" >/dev/null 2>&1 & ;;
        single) as_user env SKIFF_NO_SUBIDS=1 bash -c 'echo $$ >"$1"; shift; exec "$@"' - "$pidf" "$SKIFF" pull -q --store "$S" "oci:$SKIFF_IMAGE" >/dev/null 2>&1 & ;;
        esac
        sleep "0.$((RANDOM % 25))"
        for _ in 1 2 3 4 5 6 7 8 9 10; do [ -s "$pidf" ] && break; sleep 0.05; done
        pid=$(cat "$pidf" 2>/dev/null)
        [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
        wait 2>/dev/null
        if ! sk pull -q --store "$S" "oci:$SKIFF_IMAGE" >/dev/null 2>"$MODE_DIR/kill.err" 8>&-; then
            bad=1; msg="trial $i: the next pull failed: $(cat "$MODE_DIR/kill.err")"; break
        fi
        if ! sk verify --store "$S" >/dev/null 2>"$MODE_DIR/kill.err" 8>&-; then
            bad=1; msg="trial $i: the store does not verify: $(cat "$MODE_DIR/kill.err")"; break
        fi
        sk rmi --store "$S" localhost/busybox >/dev/null 2>&1 8>&-
        sk prune --store "$S" >/dev/null 2>&1 8>&-
    done
    if [ $bad -eq 0 ]; then pass "20 pulls killed at random moments: each next pull succeeds and the store verifies"
    else fail "20 pulls killed at random moments: each next pull succeeds and the store verifies" "$msg"; fi
    is "$(ls -A "$S/tmp")" "" "prune leaves tmp/ empty"
}

check_errors() {
    local S=$MODE_DIR/store
    skcap pull --store "$S" "Bad:Name"
    like "$err" 'image\.reference\.uppercase' "a bad reference says which part is wrong"
    skcap pull --store "$S" "oci:$TI:nosuch"
    like "$err" 'no image named "nosuch".*multi' "an unknown ref lists the names"
    skcap pull --store "$S" --platform linux/s390x "oci:$SKIFF_IMAGE"
    like "$err" 'image\.platform\.mismatch' "a foreign --platform is refused"
    skcap pull --store "$S" --platform nonsense "oci:$SKIFF_IMAGE"
    like "$err" 'image\.platform\.bad' "a malformed --platform is refused"
    skcap pull --store "$S" docker://busybox:-bad
    like "$err" 'image\.reference\.bad_tag' "a docker:// reference is checked before any request"
}

# oci-archive: a tar of the layout; docker-archive: what `docker save`
# writes (made by skopeo).
ARCH_DIR=$TEST_TMP/archives
mkdir -p "$ARCH_DIR" && tar -C "$SKIFF_IMAGE" -cf "$ARCH_DIR/bb.tar" . && chmod -R a+rX "$ARCH_DIR"
HAVE_DOCKER_ARCHIVE=0
if command -v skopeo >/dev/null && skopeo copy -q --insecure-policy "oci:$SKIFF_IMAGE" \
    "docker-archive:$ARCH_DIR/saved.tar:example.com/bb:1.0" >/dev/null 2>&1 8>&-; then
    HAVE_DOCKER_ARCHIVE=1
    chmod a+r "$ARCH_DIR/saved.tar"
fi

check_archives() {
    local S=$MODE_DIR/archive-store
    skcap pull --store "$S" "oci-archive:$ARCH_DIR/bb.tar"
    is "$out" "localhost/bb:latest" "pull oci-archive: names the image after the file"
    if [ $HAVE_DOCKER_ARCHIVE -eq 1 ]; then
        skcap pull --store "$S" "docker-archive:$ARCH_DIR/saved.tar"
        is "$out" "example.com/bb:1.0" "pull docker-archive: takes the RepoTags name"
        is "$(sk inspect --store "$S" example.com/bb:1.0 | jq -r .Id)" \
            "$(sk inspect --store "$S" localhost/bb | jq -r .Id)" "the same image id from both archives"
    else
        skip "skopeo cannot write a docker-archive here" 2
    fi
    skcap verify --store "$S"
    is "$status" 0 "the store verifies after archive pulls"
    is "$(ls -A "$S/tmp")" "" "no unpacked archive is left in tmp/"
}

# On a terminal (script(1) gives skiff a pty) pull draws bars in place; in a
# pipe it writes plain lines.
check_progress() {
    local S=$MODE_DIR/progress-store P=$MODE_DIR/progress-pipe argv cmd screen
    case $MODE in
    root) argv=("$SKIFF") ;;
    range) as_user_argv; argv=("${AS_USER_ARGV[@]}" "$SKIFF") ;;
    single) as_user_argv; argv=("${AS_USER_ARGV[@]}" env SKIFF_NO_SUBIDS=1 "$SKIFF") ;;
    esac
    cmd=$(printf '%q ' "${argv[@]}" pull --store "$S" "oci:$TI:multi")
    screen=$(timeout -s KILL 60 script -qec "$cmd" /dev/null </dev/null 2>&1 8>&-)
    like "$screen" $'\e\\[2K' "on a pty, pull clears lines to draw bars"
    like "$screen" $'\e\\[4A' "it moves up over three layer lines and the total to redraw"
    ok "a full bar ends each layer" test "$(grep -cE '^.*[0-9a-f]{12} \[=+\] +[0-9.]+ [kM]?B / [0-9.]+ [kM]?B .* unpacked' <<<"$screen")" -ge 3
    ok "the total line counts the layers" test "$(grep -cE 'total +\[=+\] .* 3/3 layers' <<<"$screen")" -ge 1
    like "$screen" 'stored localhost/test-images:multi' "the final state stays, then the name"
    skcap pull --store "$P" "oci:$TI:multi"
    unlike "$err" $'\e' "in a pipe there is no escape sequence"
    like "$err" 'layer sha256:[0-9a-f]{12}: unpacked' "in a pipe a line per layer"
}

# libcurl, libarchive and libcrypto are loaded on first use: with each
# replaced by a file that is not a library, a run of a stored image works,
# and a pull says which library and which package it needs.
check_lazy_libs() {
    local S=$MODE_DIR/store B=$MODE_DIR/broken-libs so
    mkdir -p "$B"
    for so in libcurl.so.4 libarchive.so.13 libcrypto.so.3; do
        echo "not a library" >"$B/$so"
    done
    chmod -R a+rX "$B"
    capture env LD_LIBRARY_PATH="$B" "$SKIFF" run -q --store "$S" --root "$MODE_DIR/state" \
        localhost/busybox echo started
    is "$status" 0 "skiff run of a stored image loads neither libcurl, libarchive nor libcrypto"
    is "$out" "started" "the job ran"
    capture env LD_LIBRARY_PATH="$B" "$SKIFF" pull --store "$MODE_DIR/lazy-store" "oci:$TI:multi"
    is "$status" 125 "a pull without a loadable libarchive exits 125"
    like "$err" '^skiff: skiff needs libarchive\.so\.13 to unpack image layers, and cannot load it \(.*\): install the package libarchive13 \[image\.library_missing\]$' \
        "the message names the library, what it is for and the package"
    is "$(ls -A "$MODE_DIR/lazy-store/tmp" 2>/dev/null)" "" "nothing is left in the store's tmp/"
    mkdir -p "$B/curl-only" && cp "$B/libcurl.so.4" "$B/curl-only/" && chmod -R a+rX "$B"
    capture env LD_LIBRARY_PATH="$B/curl-only" "$SKIFF" pull --store "$MODE_DIR/lazy-store" \
        docker://127.0.0.1:9/busybox
    like "$err" '^skiff: skiff needs libcurl\.so\.4 to reach a registry, .*libcurl4 \[image\.library_missing\]$' \
        "a registry pull without a loadable libcurl names it, before any connection"
    capture env LD_LIBRARY_PATH="$B/curl-only" "$SKIFF" run -q --store "$S" --root "$MODE_DIR/state" \
        --notify-url http://127.0.0.1:9/ localhost/busybox echo started
    like "$status:$out:$err" '^125::skiff: --notify-url: skiff needs libcurl\.so\.4 .*libcurl4 \[image\.library_missing\]$' \
        "run --notify-url without a loadable libcurl says so before the job starts"
}

run_mode() {
    case $MODE in
    root) ;;
    *) user_dir "$MODE_DIR/store"; user_dir "$MODE_DIR/multi-store"; user_dir "$MODE_DIR/zstd-store"
       user_dir "$MODE_DIR/other"; user_dir "$MODE_DIR/archive-store"
       user_dir "$MODE_DIR/progress-store"; user_dir "$MODE_DIR/progress-pipe" ;;
    esac
    check_busybox
    check_multi
    check_hostile
    check_errors
    check_archives
    check_concurrent
    check_kill
    check_progress
    if [ "$MODE" = root ]; then check_lazy_libs; fi
}

for_each_mode run_mode
done_testing
