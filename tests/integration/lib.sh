# shellcheck shell=bash
# tests/integration/lib.sh — sourced by every tests/integration/*.t file.
#
# A small TAP library in plain bash, and the helpers the runtime tests
# share: bundles from the busybox test image, the three modes every check
# runs in (root; rootless with one mapped id; rootless with a subordinate
# range through newuidmap), running commands as the test user, and a
# cleanup that deletes every container the file created and checks that no
# mount and no process of the test is left behind — also when a check fails
# or the file dies half-way.
#
# Environment (set by `make check`, see Makefile.am): SKIFF, SKIFF_OCI,
# SKIFF_PROBE, SKIFF_IMAGE, SKIFF_SRCDIR, SKIFF_BUILDDIR.  Optional:
# SKIFF_TEST_MODES (default "root single range"), SKIFF_TEST_TIMEOUT
# (seconds per command, default 30).

set -u

# ---- TAP -------------------------------------------------------------------

TAP_N=0          # tests emitted so far
TAP_FAILED=0     # of which failed
TAP_FINISHED=0   # done_testing ran
TAP_PREFIX=      # "[root] " etc., put before each description

# A description must not contain '#' (that starts a TAP directive) nor a
# newline.
_tap_desc() {
    local d="$TAP_PREFIX$*"
    d=${d//#/no.}
    d=${d//$'\n'/ }
    printf '%s' "$d"
}

diag() {
    local line
    while IFS= read -r line; do
        printf '# %s\n' "$line"
    done <<<"$*"
}

# pass DESC / fail DESC [DIAG...]
pass() {
    TAP_N=$((TAP_N + 1))
    printf 'ok %d - %s\n' "$TAP_N" "$(_tap_desc "$1")"
}
fail() {
    TAP_N=$((TAP_N + 1))
    TAP_FAILED=$((TAP_FAILED + 1))
    printf 'not ok %d - %s\n' "$TAP_N" "$(_tap_desc "$1")"
    shift
    local d
    for d in "$@"; do diag "$d"; done
}

# skip REASON [COUNT]: COUNT tests that could not run here, and why.
skip() {
    local reason=$1 count=${2:-1} i
    for ((i = 0; i < count; i++)); do
        TAP_N=$((TAP_N + 1))
        printf 'ok %d # SKIP %s\n' "$TAP_N" "$(_tap_desc "$reason")"
    done
}

# guest_results RC OUT ERR: turns what a tests/vm guest script printed (OUT:
# "ok …", "not ok …", "ok # SKIP …", "# …", and "done" at its end) into
# checks, then checks that the guest got to "done" and tests/vm/run exited
# with RC 0 (ERR's tail explains when not).
guest_results() {
    local rc=$1 out=$2 err=$3 line done_seen=0
    while IFS= read -r line; do
        case $line in
        "ok # SKIP "*) skip "${line#ok # SKIP }" ;;
        "ok "*) pass "${line#ok }" ;;
        "not ok "*) fail "${line#not ok }" ;;
        "# "*) diag "${line#\# }" ;;
        done) done_seen=1 ;;
        *) diag "guest: $line" ;;
        esac
    done <"$out"
    if [ "$rc" -eq 0 ] && [ $done_seen -eq 1 ]; then
        pass "the guest ran every check"
    else
        fail "the guest ran every check" "tests/vm/run exit status $rc" "$(tail -n 20 "$err")"
    fi
}

# sk ARGS... / skcap ARGS...: the skiff CLI as the mode's user (single: no
# subordinate ids), plainly or through capture.  The image tests use them.
sk() {
    case $MODE in
    root) "$SKIFF" "$@" ;;
    range) as_user "$SKIFF" "$@" ;;
    single) as_user env SKIFF_NO_SUBIDS=1 "$SKIFF" "$@" ;;
    esac
}
skcap() {
    case $MODE in
    root) capture "$SKIFF" "$@" ;;
    range) as_user_argv; capture "${AS_USER_ARGV[@]}" "$SKIFF" "$@" ;;
    single) as_user_argv; capture "${AS_USER_ARGV[@]}" env SKIFF_NO_SUBIDS=1 "$SKIFF" "$@" ;;
    esac
}

# The job face's helpers: sk_argv sets SK to skiff as the mode's user (a
# test file may define its own); skrun ARGS... is skiff run with the mode's
# store S and state root, every job carrying the test's TOKEN so that the
# cleanup finds any process a run leaves behind.
sk_argv() {
    case $MODE in
    root) SK=("$SKIFF") ;;
    range) as_user_argv; SK=("${AS_USER_ARGV[@]}" "$SKIFF") ;;
    single) as_user_argv; SK=("${AS_USER_ARGV[@]}" env SKIFF_NO_SUBIDS=1 "$SKIFF") ;;
    esac
}
skrun() {
    sk_argv
    capture "${SK[@]}" run --store "$S" --root "$STATE_ROOT" -q -e "SKIFF_TEST_TOKEN=$TOKEN" "$@"
}

# check_layer_view [RUN OPTIONS...] IMAGE: the root a job of the `multi`
# test image (images/test-images.py) sees honours its layers: whiteouts,
# the opaque directory, and (with a range or as root) the layers' owners.
check_layer_view() {
    local n=$(($# - 1))
    local opts=("${@:1:n}") image=${!#}
    skrun "${opts[@]}" -v /bin/busybox:/busybox:ro "$image" /busybox sh -c \
        '/busybox ls /gone 2>&1; /busybox cat /a/old 2>&1; /busybox ls /opq; /busybox cat /a/keep'
    like "$out" 'ls: /gone: No such file or directory' "a directory the upper layer deleted is absent"
    like "$out" "can't open '/a/old'" "a file the upper layer deleted is absent"
    like "$out" $'\nnew\nkeep$' "an opaque directory shows only the upper layer's files"
    if [ "$MODE" = single ]; then
        skip "one mapped id: owners are collapsed" 1
    else
        skrun "${opts[@]}" -v /bin/busybox:/busybox:ro "$image" /busybox stat -c '%u:%g' /data/f2
        is "$out" "1000:100" "layer owners are the image's"
    fi
}

# ok DESC CMD [ARG...]: passes when CMD exits 0.
# nok DESC CMD [ARG...]: passes when CMD exits non-zero.
# CMD's output is shown only when the check fails.
ok() {
    local desc=$1 output rc
    shift
    output=$("$@" 2>&1 </dev/null 8>&-)
    rc=$?
    if [ $rc -eq 0 ]; then
        pass "$desc"
    else
        fail "$desc" "command: $*" "exit status: $rc" "${output:+output: $(printf '%s' "$output" | tail -n 20)}"
    fi
}
nok() {
    local desc=$1 output rc
    shift
    output=$("$@" 2>&1 </dev/null 8>&-)
    rc=$?
    if [ $rc -ne 0 ]; then
        pass "$desc"
    else
        fail "$desc" "command succeeded but should have failed: $*" "${output:+output: $(printf '%s' "$output" | tail -n 20)}"
    fi
}

# The last capture's command and output, shown when a check of its status,
# stdout or stderr fails.
_ctx() {
    [ -n "${_TAP_CONTEXT:-}" ] || return 0
    # A check of what the capture printed (an empty value only counts when
    # the command failed: then the failure explains the empty output).
    if [ "$1" == "${status-}" ] ||
        { { [ -n "$1" ] || [ "${status-0}" != 0 ]; } && { [ "$1" == "${out-}" ] || [ "$1" == "${err-}" ]; }; }; then
        printf '%s' "$_TAP_CONTEXT"
    fi
}

# is GOT EXPECTED DESC / isnt GOT UNEXPECTED DESC
is() {
    if [ "$1" == "$2" ]; then
        pass "$3"
    else
        fail "$3" "     got: '$1'" "expected: '$2'" "$(_ctx "$1")"
    fi
}
isnt() {
    if [ "$1" != "$2" ]; then
        pass "$3"
    else
        fail "$3" "     got: '$1'" "expected anything else" "$(_ctx "$1")"
    fi
}

# like GOT REGEX DESC / unlike GOT REGEX DESC (bash extended regex)
like() {
    if [[ $1 =~ $2 ]]; then
        pass "$3"
    else
        fail "$3" "          got: '$1'" "does not match: /$2/" "$(_ctx "$1")"
    fi
}
unlike() {
    if [[ $1 =~ $2 ]]; then
        fail "$3" "          got: '$1'" "matches: /$2/" "$(_ctx "$1")"
    else
        pass "$3"
    fi
}

bail_out() {
    printf 'Bail out! %s\n' "$*"
    exit 1
}

# done_testing: clean up (that emits its own checks), then print the plan.
# The exit status says whether every test passed.
done_testing() {
    _cleanup
    TAP_FINISHED=1
    printf '1..%d\n' "$TAP_N"
    [ "$TAP_FAILED" -eq 0 ]
    exit $?
}

# ---- environment -----------------------------------------------------------

_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${SKIFF_SRCDIR:=$(cd "$_lib_dir/../.." && pwd)}"
: "${SKIFF_BUILDDIR:=$SKIFF_SRCDIR}"
: "${SKIFF:=$SKIFF_BUILDDIR/skiff}"
: "${SKIFF_OCI:=$SKIFF_BUILDDIR/skiff-oci}"
: "${SKIFF_PROBE:=$SKIFF_BUILDDIR/tests/helper/skiff-probe}"
: "${SKIFF_IMAGE:=$SKIFF_BUILDDIR/images/busybox}"
: "${SKIFF_TEST_MODES:=root single range}"
: "${SKIFF_TEST_TIMEOUT:=30}"
export SKIFF SKIFF_OCI SKIFF_PROBE SKIFF_IMAGE SKIFF_SRCDIR SKIFF_BUILDDIR
export LC_ALL=C
DEFAULT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

TEST_NAME=$(basename "$0" .t)
# Marks every process the test starts (through the runtime's environment
# and the container's process.env), so the cleanup can find what is left.
TOKEN="$TEST_NAME-$$-$RANDOM$RANDOM"
IS_ROOT=0
[ "$(id -u)" -eq 0 ] && IS_ROOT=1

for _v in SKIFF_OCI SKIFF_PROBE; do
    [ -x "${!_v}" ] || bail_out "$_v=${!_v} is not an executable (run the tests with make check)"
done
[ -f "$SKIFF_IMAGE/index.json" ] || bail_out "SKIFF_IMAGE=$SKIFF_IMAGE is not an OCI layout (make builds it)"
[ -x "$SKIFF_SRCDIR/images/oci-unpack.sh" ] || [ -f "$SKIFF_SRCDIR/images/oci-unpack.sh" ] ||
    bail_out "$SKIFF_SRCDIR/images/oci-unpack.sh is missing"
for _t in jq timeout flock; do
    command -v "$_t" >/dev/null || bail_out "$_t is needed (.ci/deps installs it)"
done
unset _v _t

# The integration tests share the test user and its id ranges: one file at
# a time, even under `make -j check`.  Commands run with fd 8 closed so no
# container keeps the lock.
# SKIFF_TEST_LOCK widens this to several build trees on one host (they share
# the test user too).
mkdir -p "$SKIFF_BUILDDIR/tests/integration/tmp" 2>/dev/null
exec 8>>"${SKIFF_TEST_LOCK:-$SKIFF_BUILDDIR/tests/integration/tmp/.lock}" ||
    bail_out "cannot open the lock file"
flock -w 1800 8 || bail_out "another integration test held the lock for 30 minutes"

# The unprivileged user.  As root it is created by setup-user.sh; run as
# a normal user, the rootless modes run as that user itself.
if [ $IS_ROOT -eq 1 ]; then
    TEST_USER=$(bash "$_lib_dir/setup-user.sh" 8>&-) || bail_out "setup-user.sh failed"
else
    TEST_USER=$(id -un)
fi
TEST_UID=$(id -u "$TEST_USER")
TEST_GID=$(id -g "$TEST_USER")
TEST_HOME=$(getent passwd "$TEST_USER" | cut -d: -f6)
SUBUID_START=$(awk -F: -v u="$TEST_USER" -v i="$TEST_UID" '($1 == u || $1 == i) && $3 >= 65536 { print $2; exit }' /etc/subuid 2>/dev/null)
SUBGID_START=$(awk -F: -v u="$TEST_USER" -v i="$TEST_UID" '($1 == u || $1 == i) && $3 >= 65536 { print $2; exit }' /etc/subgid 2>/dev/null)

# as_user CMD...: run CMD as the test user with a clean environment (the
# SKIFF_* variables kept; XDG_RUNTIME_DIR only when AS_USER_XDG is set).
as_user_argv() {
    local envv=(env -i PATH="$DEFAULT_PATH" HOME="$TEST_HOME" USER="$TEST_USER" LOGNAME="$TEST_USER"
        SKIFF="$SKIFF" SKIFF_OCI="$SKIFF_OCI" SKIFF_PROBE="$SKIFF_PROBE" SKIFF_IMAGE="$SKIFF_IMAGE"
        SKIFF_SRCDIR="$SKIFF_SRCDIR" SKIFF_BUILDDIR="$SKIFF_BUILDDIR" SKIFF_TEST_TOKEN="$TOKEN")
    [ -n "${AS_USER_XDG:-}" ] && envv+=(XDG_RUNTIME_DIR="$AS_USER_XDG")
    [ -n "${TEST_AUDIT_DIR:-}" ] && envv+=(SKIFF_AUDIT_LOG="$TEST_AUDIT_DIR/user.log")
    if [ $IS_ROOT -eq 1 ]; then
        AS_USER_ARGV=(runuser -u "$TEST_USER" -- "${envv[@]}")
    else
        AS_USER_ARGV=("${envv[@]}")
    fi
}
as_user() {
    as_user_argv
    "${AS_USER_ARGV[@]}" "$@" 8>&-
}

# ---- the per-test directory ------------------------------------------------

# TEST_TMP: this file's directory, under the build tree if the test user
# can reach it, else under /tmp; root's, mode 0755 (the user can read and
# search it).  Each mode's MODE_DIR in it, and what user_dir makes, is the
# test user's.  The cleanup removes it all.
_make_test_tmp() {
    local base=$SKIFF_BUILDDIR/tests/integration/tmp dir
    if mkdir -p "$base" 2>/dev/null && chmod 0755 "$base" 2>/dev/null &&
        dir=$(mktemp -d "$base/$TEST_NAME.XXXXXX") && chmod 0755 "$dir" &&
        as_user test -x "$dir"; then
        :
    else
        [ -n "${dir:-}" ] && rmdir "$dir" 2>/dev/null
        dir=$(mktemp -d "/tmp/skiff-it-$TEST_NAME.XXXXXX") && chmod 0755 "$dir" ||
            bail_out "cannot create a temporary directory"
    fi
    TEST_TMP=$(realpath "$dir")
}
_make_test_tmp

# skiff run appends an audit line per run to /var/log/skiff (root) or the
# user's ~/.local/state: the tests keep theirs in the test directory, one
# file per user (the test user cannot append to root's 0600 file).
TEST_AUDIT_DIR=$TEST_TMP/.audit
mkdir -p "$TEST_AUDIT_DIR" && { [ $IS_ROOT -eq 0 ] || chown "$TEST_USER:" "$TEST_AUDIT_DIR"; } ||
    bail_out "cannot create $TEST_AUDIT_DIR"
export SKIFF_AUDIT_LOG=$TEST_AUDIT_DIR/root.log
[ $IS_ROOT -eq 1 ] || SKIFF_AUDIT_LOG=$TEST_AUDIT_DIR/user.log

# user_dir PATH: make a directory the test user owns.
user_dir() {
    mkdir -p "$1" && { [ $IS_ROOT -eq 0 ] || chown "$TEST_USER:" "$1"; }
}

# ---- modes -------------------------------------------------------------------

# set_mode MODE: root | single | range.  Sets MODE, STATE_ROOT (the --root
# of the runtime), MODE_DIR (where bundles of the mode go), RUNAS (the
# argv prefix running the runtime as root or as the test user) and the
# TAP prefix.  Returns 1 with SKIP_REASON set if the mode cannot run here.
set_mode() {
    MODE=$1
    SKIP_REASON=
    TAP_PREFIX="[$MODE] "
    case $MODE in
    root)
        [ $IS_ROOT -eq 1 ] || { SKIP_REASON="root mode needs root"; return 1; }
        RUNAS=(env SKIFF_TEST_TOKEN="$TOKEN")
        ;;
    single | range)
        if [ $IS_ROOT -eq 1 ] && ! as_user test -x "$SKIFF_OCI"; then
            SKIP_REASON="$TEST_USER cannot execute $SKIFF_OCI (a parent directory is not searchable)"
            return 1
        fi
        if [ "$MODE" = range ]; then
            local t
            for t in newuidmap newgidmap; do
                command -v $t >/dev/null ||
                    { SKIP_REASON="range mapping needs $t (Debian package uidmap)"; return 1; }
            done
            [ -n "$SUBUID_START" ] && [ -n "$SUBGID_START" ] ||
                { SKIP_REASON="range mapping needs /etc/subuid and /etc/subgid entries for $TEST_USER"; return 1; }
        fi
        as_user_argv
        RUNAS=("${AS_USER_ARGV[@]}")
        ;;
    *) bail_out "unknown mode $MODE" ;;
    esac
    MODE_DIR=$TEST_TMP/$MODE
    STATE_ROOT=$MODE_DIR/state
    if [ ! -d "$MODE_DIR" ]; then
        if [ "$MODE" = root ]; then mkdir -p "$MODE_DIR"; else user_dir "$MODE_DIR"; fi
    fi
    return 0
}

# for_each_mode FUNC: run FUNC once per mode of SKIFF_TEST_MODES, or skip it
# with the reason.
for_each_mode() {
    local m
    for m in $SKIFF_TEST_MODES; do
        if set_mode "$m"; then
            "$1"
        else
            skip "$SKIP_REASON"
        fi
    done
    TAP_PREFIX=
}

# ---- running things ------------------------------------------------------

# capture CMD...: run CMD (an executable, not a function) with a timeout,
# stdin from /dev/null; sets status, out (stdout) and err (stderr).
capture() {
    local o e
    _TAP_CONTEXT=
    o=$(mktemp "$TEST_TMP/.out.XXXXXX") && e=$(mktemp "$TEST_TMP/.err.XXXXXX") || bail_out "mktemp failed"
    local start=$SECONDS
    timeout -k 5 "$SKIFF_TEST_TIMEOUT" "$@" >"$o" 2>"$e" </dev/null 8>&-
    status=$?
    [ $((SECONDS - start)) -ge "$SKIFF_TEST_TIMEOUT" ] && _count_timeout "$*"
    out=$(cat "$o")
    err=$(cat "$e")
    rm -f "$o" "$e"
    _TAP_CONTEXT="command: $*"$'\n'"status: $status"${out:+$'\n'"stdout: $(tail -n 15 <<<"$out")"}${err:+$'\n'"stderr: $(tail -n 15 <<<"$err")"}
    return 0
}

# A runtime that hangs would make every check wait for its timeout: after
# 8 timed-out commands the file gives up.
_TIMEOUTS=0
_count_timeout() {
    _TIMEOUTS=$((_TIMEOUTS + 1))
    diag "timed out after ${SKIFF_TEST_TIMEOUT}s: $1"
    [ $_TIMEOUTS -lt 8 ] || bail_out "8 commands timed out: the runtime hangs"
}

# The runtime as the current mode's user, with the mode's state root.
# oci ARGS...: output goes where the caller sends it.
# ocap ARGS...: through capture.
# oci_noroot ARGS...: without --root (the caller sets what it needs).
oci() {
    timeout -k 5 "$SKIFF_TEST_TIMEOUT" "${RUNAS[@]}" "$SKIFF_OCI" --root "$STATE_ROOT" "$@" 8>&-
}
# oci_quick ARGS...: the same for queries, with a 10 s limit.
oci_quick() {
    timeout -k 2 10 "${RUNAS[@]}" "$SKIFF_OCI" --root "$STATE_ROOT" "$@" 8>&-
}
ocap() {
    capture "${RUNAS[@]}" "$SKIFF_OCI" --root "$STATE_ROOT" "$@"
}

# oci_bg OUT ERR ARGS...: start the runtime in the background (stdin
# /dev/null); BG_PID is its pid.  wait_bg PID [SECONDS]: its exit status,
# or 124 after killing it (our own child) when it takes too long.
oci_bg() {
    local o=$1 e=$2
    shift 2
    "${RUNAS[@]}" "$SKIFF_OCI" --root "$STATE_ROOT" "$@" >"$o" 2>"$e" </dev/null 8>&- &
    BG_PID=$!
}
wait_bg() {
    local pid=$1 limit=$(( ${2:-$SKIFF_TEST_TIMEOUT} * 10 )) i=0
    while kill -0 "$pid" 2>/dev/null; do
        if [ $i -ge $limit ]; then
            kill -KILL "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
            return 124
        fi
        sleep 0.1
        i=$((i + 1))
    done
    wait "$pid"
}

# Every container created goes through track, so the cleanup can delete it.
# An entry: MODE, STATE_ROOT (empty: the default), XDG and ID separated by
# US (\x1f): not whitespace, so that read keeps the empty fields.
US=$'\x1f'
TRACKED=()
track() {
    TRACKED+=("$MODE$US${2-$STATE_ROOT}$US${AS_USER_XDG:-}$US$1")
}

# new_id: a fresh container id, tracked.
_ID_N=0
new_id() {
    _ID_N=$((_ID_N + 1))
    NEW_ID="skt-$TEST_NAME-$MODE-$$-$_ID_N"
    track "$NEW_ID"
}

# state_field ID JQFILTER: a field of `state ID`, empty if it fails.
state_field() {
    oci_quick state "$1" 2>/dev/null | jq -r "$2" 2>/dev/null
}

# wait_status ID STATUS [SECONDS]: poll `state` until STATUS; 1 on timeout.
wait_status() {
    local id=$1 want=$2 limit=$(( ${3:-10} * 10 )) i=0 s
    while [ $i -lt $limit ]; do
        s=$(state_field "$id" .status)
        [ "$s" = "$want" ] && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# ---- bundles -------------------------------------------------------------------

_ROOTFS_CACHE=

# make_bundle DIR [--rootless]: DIR/rootfs from SKIFF_IMAGE plus the probe
# at /bin/skiff-probe, DIR/config.json from `skiff-oci spec [--rootless]`
# (run as the test user with --rootless, so the mapping is the user's),
# with terminal false and the test's marker in process.env.
make_bundle() {
    local dir=$1 rootless=${2:-}
    mkdir -p "$dir" || bail_out "cannot create $dir"
    if [ -z "$_ROOTFS_CACHE" ]; then
        _ROOTFS_CACHE=$TEST_TMP/.rootfs-cache
        bash "$SKIFF_SRCDIR/images/oci-unpack.sh" "$SKIFF_IMAGE" "$_ROOTFS_CACHE" >&2 8>&- ||
            bail_out "images/oci-unpack.sh $SKIFF_IMAGE failed"
        install -m 0755 "$SKIFF_PROBE" "$_ROOTFS_CACHE/bin/skiff-probe" || bail_out "cannot install the probe"
    fi
    cp -a "$_ROOTFS_CACHE" "$dir/rootfs" || bail_out "cannot copy the rootfs to $dir"
    if [ "$rootless" = --rootless ]; then
        [ $IS_ROOT -eq 0 ] || chown -R "$TEST_USER:" "$dir"
        as_user "$SKIFF_OCI" spec --rootless --bundle "$dir" >&2 ||
            bail_out "$SKIFF_OCI spec --rootless --bundle $dir failed"
    else
        "$SKIFF_OCI" spec --bundle "$dir" >&2 8>&- || bail_out "$SKIFF_OCI spec --bundle $dir failed"
    fi
    jq_edit "$dir" '.process.terminal = false | .process.env += ["SKIFF_TEST_TOKEN='"$TOKEN"'"]' ||
        bail_out "cannot edit $dir/config.json"
}

# bundle DIR: make_bundle for the current mode; the range mode gets
# uid/gid mappings {0 -> the user, 1..65536 -> the subordinate range}.
bundle() {
    local dir=$1
    case $MODE in
    root) make_bundle "$dir" ;;
    single) make_bundle "$dir" --rootless ;;
    range)
        make_bundle "$dir" --rootless
        jq_edit "$dir" "
            .linux.uidMappings = [{containerID: 0, hostID: $TEST_UID, size: 1},
                                  {containerID: 1, hostID: $SUBUID_START, size: 65536}]
          | .linux.gidMappings = [{containerID: 0, hostID: $TEST_GID, size: 1},
                                  {containerID: 1, hostID: $SUBGID_START, size: 65536}]" ||
            bail_out "cannot edit $dir/config.json"
        ;;
    esac
}

# set_args DIR ARG...: process.args.
# jq_edit DIR FILTER [JQ ARGS...]: any change to DIR/config.json.
set_args() {
    local dir=$1
    shift
    # "--" so that jq does not take the "-c" of `sh -c` for its own option.
    jq_edit "$dir" '.process.args = $ARGS.positional' --args -- "$@"
}
jq_edit() {
    local dir=$1 filter=$2 tmp
    shift 2
    tmp=$(mktemp "$dir/.config.XXXXXX") || return 1
    # The file before "$@": jq's --args takes every argument after it.
    # JQ_EDIT_SRC: start from that file instead of config.json.
    if jq "$filter" "${JQ_EDIT_SRC:-$dir/config.json}" "$@" >"$tmp" </dev/null && [ -s "$tmp" ]; then
        # Keep the owner (the test user for rootless bundles).
        chown --reference="$dir/config.json" "$tmp" 2>/dev/null
        chmod 0644 "$tmp"
        mv -f "$tmp" "$dir/config.json"
    else
        rm -f "$tmp"
        return 1
    fi
}

# ---- image trees ---------------------------------------------------------------
# Checks of unpacked layers shared by the files that pull images
# (image-local.t from local layouts, registry.t from registries).

# expect_owner PATH UID_IN_IMAGE: the owner on disk for the mode.
expect_owner() {
    local want
    case $MODE in
    root) want=$2 ;;
    range) if [ "$2" -eq 0 ]; then want=$TEST_UID; else want=$((SUBUID_START + $2 - 1)); fi ;;
    single) want=$TEST_UID ;;
    esac
    is "$(stat -c %u "$1")" "$want" "owner of ${1##*/diff/} is $want"
}

# tree_sum DIR: one line that changes when any entry's type, mode, name or
# link target under DIR does.
tree_sum() {
    (cd "$1" && find . -printf '%y %m %p %l\n' | sort | md5sum)
}

# check_multi_layers L0 L1 L2: the three layer directories of the "multi"
# image of images/test-images.py as the current mode must unpack them.
check_multi_layers() {
    local l0=$1 l1=$2 l2=$3 opq
    is "$(stat -c '%F %t:%T' "$l1/gone")" "character special file 0:0" "a whited-out directory is a 0/0 device"
    is "$(stat -c '%F %t:%T' "$l1/a/old")" "character special file 0:0" "a whited-out file is a 0/0 device"
    if [ "$MODE" = root ]; then opq=trusted.overlay.opaque; else opq=user.overlay.opaque; fi
    is "$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], sys.argv[2]).decode())' "$l1/opq" $opq 2>&1)" y \
        "the opaque directory has $opq=y"
    ok "the opaque directory keeps its new file" test -f "$l1/opq/new"
    is "$(stat -c %i "$l0/hl/orig")" "$(stat -c %i "$l0/hl/link")" "a hardlink shares the inode"
    is "$(stat -c %h "$l2/x/attr")" 2 "a hardlink in the last layer has 2 links"
    is "$(readlink "$l0/s/rel")" ../a/keep "a relative symlink is kept"
    is "$(readlink "$l0/s/abs")" /etc/hostname "an absolute symlink is kept as it is"
    is "$(stat -c %a "$l0/usr/bin/tool")" 4755 "the setuid bit is kept"
    is "$(stat -c %a "$l0/usr/bin")" 555 "a read-only directory gets its mode at the end"
    is "$(stat -c %Y "$l0/etc/hostname")" 1234567890 "mtimes are kept"
    is "$(stat -c %Y "$l0/etc")" 0 "directory mtimes are kept"
    is "$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.skiff").decode())' "$l2/x/attr" 2>&1)" yes \
        "user xattrs are kept"
    expect_owner "$l0/data/f" 1000
    if [ "$MODE" = root ]; then
        is "$(stat -c %a "$l2/x/gid")" 2755 "the setgid bit is kept"
    fi
}

# ---- cleanup -------------------------------------------------------------------

# Processes of this test, other than this shell: those carrying its marker
# in their environment, and those naming its directory in their environment
# or command line (a runtime's helpers may start with an environment of
# their own, like runc's `runc init`).
_marked_pids() {
    # Two greps over all of /proc (one grep per process is slow here); the
    # patterns come through a pipe so that no grep names them in its own
    # command line.
    {
        grep -lxzF -f <(printf '%s' "SKIFF_TEST_TOKEN=$TOKEN") /proc/[0-9]*/environ
        grep -lzF -f <(printf '%s' "$TEST_TMP/") /proc/[0-9]*/environ /proc/[0-9]*/cmdline
    } 2>/dev/null | awk -F/ -v me="$$" -v sub_="$BASHPID" '$3 != me && $3 != sub_ && !seen[$3]++ { print $3 }'
}

# Mount points at or under DIR in this mount namespace, deepest first.
_mounts_under() {
    awk -v d="$1" '{
        m = $5
        while (match(m, /\\[0-7][0-7][0-7]/)) {
            c = substr(m, RSTART + 1, 3)
            m = substr(m, 1, RSTART - 1) sprintf("%c", (substr(c,1,1)*64 + substr(c,2,1)*8 + substr(c,3,1))) substr(m, RSTART + 4)
        }
        if (m == d || index(m, d "/") == 1) print length(m) "\t" m
    }' /proc/self/mountinfo | sort -rn | cut -f2-
}

_CLEANED=0
_cleanup() {
    [ $_CLEANED -eq 1 ] && return
    _CLEANED=1
    [ -n "${TEST_TMP:-}" ] || return 0
    local saved_prefix=$TAP_PREFIX entry mode root xdg id pids p i mounts m
    TAP_PREFIX="[cleanup] "

    # Delete every container the test made that still exists, as the user
    # who made it: one `list` per state root, then delete --force (for
    # every tracked id if `list` fails).
    local -A groups=()
    local key listing lrc rootarg
    for entry in "${TRACKED[@]}"; do
        IFS=$US read -r mode root xdg id <<<"$entry"
        groups["$mode$US$root$US$xdg"]+="$id"$'\n'
    done
    for key in "${!groups[@]}"; do
        IFS=$US read -r mode root xdg <<<"$key"
        set_mode "$mode" >/dev/null 2>&1 || continue
        AS_USER_XDG=$xdg
        [ "$mode" = root ] || { as_user_argv; RUNAS=("${AS_USER_ARGV[@]}"); }
        rootarg=()
        [ -n "$root" ] && rootarg=(--root "$root")
        listing=$(timeout -k 5 30 "${RUNAS[@]}" "$SKIFF_OCI" "${rootarg[@]}" list --format json 2>/dev/null </dev/null 8>&-)
        lrc=$?
        [ $lrc -eq 0 ] && { listing=$(jq -r '.[]?.id' <<<"$listing" 2>/dev/null) || lrc=1; }
        while IFS= read -r id; do
            [ -n "$id" ] || continue
            [ $lrc -ne 0 ] || grep -qxF -- "$id" <<<"$listing" || continue
            timeout -k 5 30 "${RUNAS[@]}" "$SKIFF_OCI" "${rootarg[@]}" delete --force "$id" >/dev/null 2>&1 </dev/null 8>&-
        done <<<"${groups[$key]}"
    done
    TAP_PREFIX="[cleanup] "
    AS_USER_XDG=

    # The user namespaces rootless runs keep (skiff run with ranges): end
    # each holder by the pid it recorded, if that pid is still the holder
    # of the recorded namespace.
    local rec hpid hino
    while IFS= read -r rec; do
        read -r hpid hino <"$rec" 2>/dev/null || continue
        [ "$(cat "/proc/$hpid/comm" 2>/dev/null)" = skiff-userns ] &&
            [ "$(readlink "/proc/$hpid/ns/user" 2>/dev/null)" = "user:[$hino]" ] &&
            kill -KILL "$hpid" 2>/dev/null
    done < <(find "$TEST_TMP" -path '*/.userns/*.pid' -type f 2>/dev/null)

    # No process of the test may outlive it: give the deletes a moment, then
    # kill what is left (only processes carrying this test's marker).
    for ((i = 0; i < 50; i++)); do
        pids=$(_marked_pids)
        [ -z "$pids" ] && break
        sleep 0.1
    done
    if [ -z "$pids" ]; then
        pass "no process of the test is left"
    else
        local listing=
        for p in $pids; do
            listing+="pid $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"$'\n'
        done
        fail "no process of the test is left" "$listing"
        for p in $pids; do kill -KILL "$p" 2>/dev/null; done
    fi

    # Nothing mounted under the test's directory.
    mounts=$(_mounts_under "$TEST_TMP")
    if [ -z "$mounts" ]; then
        pass "nothing is left mounted under the test directory"
    else
        fail "nothing is left mounted under the test directory" "$mounts"
        while IFS= read -r m; do
            [ -n "$m" ] && umount -l "$m" 2>/dev/null
        done <<<"$mounts"
    fi

    # --one-file-system: never follow a leftover mount out of the test dir.
    if rm -rf --one-file-system "$TEST_TMP" 2>/dev/null || { chmod -R u+rwX "$TEST_TMP" 2>/dev/null; rm -rf --one-file-system "$TEST_TMP"; }; then
        pass "the test directory is removed"
    else
        fail "the test directory is removed" "$TEST_TMP remains"
    fi
    TAP_PREFIX=$saved_prefix
}

_on_exit() {
    local rc=$?
    [ $TAP_FINISHED -eq 1 ] && return
    # The file stopped before done_testing: report it, clean up, plan.
    fail "the test file ran to its end" "exit status $rc before done_testing"
    _cleanup
    printf '1..%d\n' "$TAP_N"
    exit 1
}
trap _on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP
