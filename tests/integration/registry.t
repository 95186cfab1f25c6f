#!/bin/bash
# skiff pull from registries, against Debian's docker-registry on loopback
# (tests/registry/): plain HTTP, TLS with a CA made here, htpasswd, token
# auth with a token issuer; faults injected by a proxy (5xx, 429, cut,
# stalled, corrupt and short blobs, huge manifests); login/logout and the
# auth file lookup order; settings (insecure, certs.d, mirrors); a
# multi-arch index; pulls killed at random moments; concurrent pulls.
# The servers run as root, once per file; the pulls run in the three modes
# (root, rootless range, rootless single id) and reach them on 127.0.0.1.
. "$(dirname "$0")/lib.sh"
. "$SKIFF_SRCDIR/tests/registry/registry-lib.sh"

# A copy of the binary: a rebuild of the tree during the run must not pull
# it away from under the kill loop.
install -m 0755 "$SKIFF" "$TEST_TMP/skiff" || bail_out "cannot copy $SKIFF"
SKIFF=$TEST_TMP/skiff
for _t in docker-registry skopeo htpasswd openssl curl python3; do
    command -v "$_t" >/dev/null || bail_out "$_t is needed (.ci/deps installs it)"
done
python3 -c 'import cryptography' 2>/dev/null || bail_out "python3-cryptography is needed (.ci/deps installs it)"

# Every server is stopped on the way out, also when a check dies half-way;
# lib.sh's own exit handler runs after.
_stop_servers() {
    fx_stop_all
}
trap '_fx_rc=$?; _stop_servers; (exit $_fx_rc); _on_exit' EXIT

USER_NAME=alice
PASSWORD="pw-$RANDOM$RANDOM-Secret"
printf '%s:%s\n' "$USER_NAME" "$PASSWORD" >"$TEST_TMP/users"
chmod 0600 "$TEST_TMP/users"

# ---- the servers and the images ---------------------------------------------
fx_init "$TEST_TMP/fx" || bail_out "cannot create $TEST_TMP/fx"
fx_make_ca || bail_out "$FX_ERROR"
fx_registry plain http || bail_out "plain registry: $FX_ERROR"
fx_registry tls https || bail_out "TLS registry: $FX_ERROR"
fx_registry basic htpasswd "$USER_NAME:$PASSWORD" || bail_out "htpasswd registry: $FX_ERROR"
fx_issuer issuer "$TEST_TMP/users" || bail_out "token issuer: $FX_ERROR"
fx_registry tok token issuer || bail_out "token registry: $FX_ERROR"
fx_proxy px plain || bail_out "proxy: $FX_ERROR"
P=127.0.0.1:${FX_PORT[plain]}
T=127.0.0.1:${FX_PORT[tls]}
H=127.0.0.1:${FX_PORT[basic]}
K=127.0.0.1:${FX_PORT[tok]}
X=127.0.0.1:${FX_PORT[px]}
DEAD=127.0.0.1:$(fx_free_port)   # nobody listens there

TI=$TEST_TMP/test-images
TZ=$TEST_TMP/test-images-zstd
OUTSIDE=$TEST_TMP/outside
mkdir -p "$OUTSIDE" && chmod 1777 "$OUTSIDE"
python3 "$SKIFF_SRCDIR/images/test-images.py" "$TI" "$OUTSIDE" >/dev/null || bail_out "images/test-images.py failed"
skopeo copy -q --insecure-policy --dest-compress --dest-compress-format zstd \
    "oci:$TI:multi" "oci:$TZ:multi" >/dev/null 2>&1 8>&- || bail_out "skopeo cannot make the zstd copy"

# push SRC HOST/REPO:TAG [skopeo args]
push() {
    local src=$1 dst=$2
    shift 2
    skopeo copy -q --insecure-policy "$@" "$src" "docker://$dst" >"$TEST_TMP/push.log" 2>&1 8>&- ||
        bail_out "skopeo copy $src docker://$dst: $(tail -n 3 "$TEST_TMP/push.log")"
}
push "oci:$SKIFF_IMAGE" "$P/busybox:latest" --dest-tls-verify=false
push "oci:$TI:multi" "$P/multi:latest" --dest-tls-verify=false
push "oci:$TZ:multi" "$P/multi-zstd:latest" --dest-tls-verify=false
push "oci:$SKIFF_IMAGE" "$T/busybox:latest" --dest-cert-dir "$FX_CA_DIR/certs"
push "oci:$SKIFF_IMAGE" "$H/busybox:latest" --dest-cert-dir "$FX_CA_DIR/certs" --dest-creds "$USER_NAME:$PASSWORD"
push "oci:$SKIFF_IMAGE" "$K/busybox:latest" --dest-tls-verify=false --dest-creds "$USER_NAME:$PASSWORD"
push "oci:$TI:multi" "$K/multi:latest" --dest-tls-verify=false --dest-creds "$USER_NAME:$PASSWORD"
HAVE_MULTIARCH=0
if [ -f "${SKIFF_MULTIARCH:-}/index.json" ]; then
    push "oci:$SKIFF_MULTIARCH:latest" "$P/multiarch:latest" --all --dest-tls-verify=false
    HAVE_MULTIARCH=1
fi
: >"${FX_DIR[issuer]}/requests.log"

# The busybox manifest's and layer's digests (skopeo keeps the bytes).
BB_MANIFEST=$(jq -r '.manifests[0].digest' "$SKIFF_IMAGE/index.json")
BB_LAYER=$(jq -r '.layers[0].digest' "$SKIFF_IMAGE/blobs/sha256/${BB_MANIFEST#sha256:}")
BB_CONFIG=$(jq -r '.config.digest' "$SKIFF_IMAGE/blobs/sha256/${BB_MANIFEST#sha256:}")
MULTI_MANIFEST=$(jq -r '.manifests[] | select(.annotations."org.opencontainers.image.ref.name" == "multi") | .digest' "$TI/index.json")
MULTI_LAYERS=$(jq -r '.layers[].digest' "$TI/blobs/sha256/${MULTI_MANIFEST#sha256:}")
ERROR_LINE='^skiff: .+ \[[a-z0-9_]+(\.[a-z0-9_]+)+\]$'
CREDS_B64=$(printf '%s:%s' "$USER_NAME" "$PASSWORD" | base64 -w0)

# ---- running skiff -------------------------------------------------------------

# Each mode has its own HOME, XDG_CONFIG_HOME and XDG_RUNTIME_DIR under its
# directory, so that settings, certs.d and auth files are the test's own;
# SKENV adds variables (REGISTRY_AUTH_FILE …) for one call.
SKENV=()
skargv() {
    local envv=(HOME="$MODE_DIR/home" XDG_CONFIG_HOME="$MODE_DIR/config" XDG_RUNTIME_DIR="$MODE_DIR/run" "${SKENV[@]}")
    case $MODE in
    root) SK_ARGV=(env -i PATH="$DEFAULT_PATH" SKIFF_TEST_TOKEN="$TOKEN" "${envv[@]}" "$SKIFF") ;;
    range) as_user_argv; SK_ARGV=("${AS_USER_ARGV[@]}" env "${envv[@]}" "$SKIFF") ;;
    single) as_user_argv; SK_ARGV=("${AS_USER_ARGV[@]}" env SKIFF_NO_SUBIDS=1 "${envv[@]}" "$SKIFF") ;;
    esac
}
sk() { skargv; "${SK_ARGV[@]}" "$@" 8>&-; }
# sk_pidfile FILE ARGS...: skiff ARGS with its own pid in FILE (the shell
# that writes it runs as the mode's user, past runuser, and execs skiff),
# so that a kill reaches skiff itself.
sk_pidfile() {
    local f=$1
    shift
    skargv
    "${SK_ARGV[@]:0:${#SK_ARGV[@]}-1}" bash -c 'echo $$ >"$1"; shift; exec "$@"' - "$f" "$SKIFF" "$@" 8>&-
}
skcap() { skargv; capture "${SK_ARGV[@]}" "$@"; }

# mine PATH...: make paths the mode's user's (root's in root mode).
mine() { [ "$MODE" = root ] || chown -R "$TEST_USER:" "$@"; }

# put FILE TEXT: write a file the mode's user owns, mode 0600.
put() {
    mkdir -p "$(dirname "$1")" && printf '%s\n' "$2" >"$1" && chmod 0600 "$1" && mine "$1"
}

# settings JSON: the mode's $XDG_CONFIG_HOME/skiff/config.json; no argument
# removes it.
settings() {
    if [ $# -eq 0 ]; then rm -f "$MODE_DIR/config/skiff/config.json"; else put "$MODE_DIR/config/skiff/config.json" "$1"; fi
}

# fresh NAME: a new empty store directory for the mode; prints it.
_STORE_N=0
fresh() {
    _STORE_N=$((_STORE_N + 1))
    local s=$MODE_DIR/stores/$_STORE_N-$1
    mkdir -p "$s" && mine "$MODE_DIR/stores"
    printf '%s\n' "$s"
}

# What the store holds, as a listing: files and links, not directories (a
# first pull may lay out the empty store), locks aside (taking a lock is
# not a change).
snapshot() {
    (cd "$1" && find . -path ./locks -prune -o ! -type d ! -name lock -printf '%y %m %s %p\n' | sort)
}

layer_path() { sk inspect --store "$1" "$2" | jq -r ".Layers[$3].path"; }

# elf_machine FILE: the ELF e_machine field (62 x86-64, 183 aarch64).
elf_machine() { od -An -tu2 -j18 -N2 "$1" | tr -d ' '; }

# expect_error ID DESC: the last capture failed with exit 125 and ID.
expect_error() {
    local id_re
    id_re=$(sed 's/\./\\./g' <<<"$1")
    is "$status" 125 "$2: exit status 125"
    like "$(tail -n 1 <<<"$err")" "$ERROR_LINE" "$2: one error line"
    like "$err" "\\[$id_re\\]" "$2: the error is $1"
}

# proxy_count METHOD PATH_REGEX: requests of the proxy's log matching.
proxy_count() {
    jq -r --arg m "$1" --arg p "$2" 'select(.method == $m and (.path | test($p))) | .path' \
        "${FX_DIR[px]}/requests.log" | wc -l
}

# ---- HTTP, anonymous -------------------------------------------------------------
check_http() {
    local S l out1
    S=$(fresh http)
    skcap pull --store "$S" "$P/busybox:latest"
    is "$status" 0 "pull of busybox by tag succeeds"
    is "$out" "$P/busybox:latest" "pull prints the stored name"
    like "$err" 'layer sha256:[0-9a-f]{12}: unpacked' "a line per finished layer"
    skcap images --store "$S"
    like "$out" "$P/busybox:latest +[0-9a-f]{12} +linux/" "images lists it"
    l=$(layer_path "$S" "$P/busybox:latest" 0)
    ok "the layer has bin/busybox, a regular file" test -f "$l/bin/busybox" -a ! -L "$l/bin/busybox"
    is "$(readlink "$l/bin/sh")" ../bin/busybox "bin/sh is a symlink to busybox"
    expect_owner "$l/home/user" 1000
    skcap pull --store "$S" --progress=json "$P/busybox:latest"
    is "$status" 0 "a second pull succeeds"
    is "$(jq -r 'select(.event == "layer") | .status' <<<"$out" 2>&1 | sort -u)" exists \
        "a second pull finds every layer in the store (JSON progress)"
    is "$(jq -r 'select(.event == "done") | .event' <<<"$out" 2>&1)" done "JSON progress ends with a done event"
    skcap pull --store "$S" "$P/busybox@$BB_MANIFEST"
    is "$status" 0 "pull by digest succeeds"
    is "$out" "$P/busybox@$BB_MANIFEST" "a pull by digest is stored under the digest"
    skcap pull --store "$S" -q "$P/busybox"
    is "$out" "$P/busybox:latest" "a bare name means :latest"
    is "$err" "" "--quiet prints no progress"
    skcap pull --store "$S" -q "docker://$P/busybox"
    is "$out" "$P/busybox:latest" "docker:// is accepted"
    skcap verify --store "$S"
    is "$status" 0 "the store verifies"

    # The multi-layer image: the same trees as from a local layout.
    S=$(fresh multi)
    skcap pull --store "$S" "$P/multi:latest"
    is "$status" 0 "pull of the multi-layer image"
    out1=$(layer_path "$S" "$P/multi:latest" 0)
    check_multi_layers "$out1" "$(layer_path "$S" "$P/multi:latest" 1)" "$(layer_path "$S" "$P/multi:latest" 2)"
    skcap pull --store "$S" "$P/multi-zstd:latest"
    is "$status" 0 "pull of the zstd variant"
    is "$(sk inspect --store "$S" "$P/multi-zstd:latest" | jq -r '.Layers[0].mediaType')" \
        application/vnd.oci.image.layer.v1.tar+zstd "its layers are zstd"
    is "$(tree_sum "$(layer_path "$S" "$P/multi-zstd:latest" 0)")" "$(tree_sum "$out1")" \
        "the zstd layer unpacks to the same tree"
    skcap verify --store "$S"
    is "$status" 0 "the store verifies after the multi-layer pulls"
}

check_multiarch() {
    local S A before
    if [ $HAVE_MULTIARCH -eq 0 ]; then
        fail "the multi-arch image is there" "SKIFF_MULTIARCH=${SKIFF_MULTIARCH:-} has no index.json: images/multiarch.sh failed at make check (no Debian mirror?)"
        return
    fi
    S=$(fresh multiarch)
    skcap pull --store "$S" "$P/multiarch:latest"
    is "$status" 0 "pull of a multi-arch index"
    is "$(elf_machine "$(layer_path "$S" "$P/multiarch:latest" 0)/bin/busybox")" 62 \
        "the default platform picks this host's (amd64) busybox"
    A=$(fresh arm64)
    skcap pull --store "$A" --platform linux/arm64 "$P/multiarch:latest"
    is "$status" 0 "pull --platform linux/arm64"
    is "$(elf_machine "$(layer_path "$A" "$P/multiarch:latest" 0)/bin/busybox")" 183 \
        "--platform linux/arm64 picks the arm64 busybox"
    like "$(sk inspect --store "$A" "$P/multiarch:latest" | jq -r .Platform)" '^linux/arm64' "inspect says linux/arm64"
    # skiff run --platform against the stored (arm64) image.
    mkdir -p "$MODE_DIR/run-state" && mine "$MODE_DIR/run-state"
    before=$(snapshot "$A")
    skcap run -q --store "$A" --root "$MODE_DIR/run-state" --pull never --platform linux/amd64 \
        "$P/multiarch:latest" /bin/busybox true
    is "$status" 125 "run --pull never --platform linux/amd64 of a stored arm64 image fails"
    like "$err" 'is an image for linux/arm64/v8, not for linux/amd64.*\[image\.platform\.mismatch\]' \
        "the message names both platforms"
    is "$(snapshot "$A")" "$before" "and the store is unchanged"
    skcap run -q --store "$A" --root "$MODE_DIR/run-state" --platform linux/amd64 \
        "$P/multiarch:latest" /bin/busybox echo ran
    is "$status:$out" "0:ran" "run --platform linux/amd64 (--pull missing) pulls the amd64 image and runs it"
    is "$(elf_machine "$(layer_path "$A" "$P/multiarch:latest" 0)/bin/busybox")" 62 \
        "the name now holds the amd64 busybox"
    skcap run -q --store "$A" --root "$MODE_DIR/run-state" --pull never --platform linux/amd64 \
        "$P/multiarch:latest" /bin/busybox echo again
    is "$status:$out" "0:again" "then --pull never --platform linux/amd64 uses the stored image"
    before=$(snapshot "$S")
    skcap pull --store "$S" --platform linux/s390x "$P/multiarch:latest"
    is "$status" 125 "--platform linux/s390x fails"
    like "$err" '\[image\.platform\.[a-z_]+\]' "the error is image.platform.*"
    like "$err" 's390x' "the message names the platform asked for"
    is "$(snapshot "$S")" "$before" "the store is unchanged"
}

check_not_found() {
    local S before start
    S=$(fresh notfound)
    before=$(snapshot "$S")
    skcap pull --store "$S" "$P/nosuch:latest"
    expect_error image.registry.not_found "an unknown repository"
    like "$err" "nosuch" "the message names the repository"
    like "$err" "$P" "the message names the registry"
    skcap pull --store "$S" "$P/busybox:nosuchtag"
    expect_error image.registry.not_found "an unknown tag"
    is "$(snapshot "$S")" "$before" "the store is unchanged"
    start=$SECONDS
    skargv
    SKIFF_TEST_TIMEOUT=90 capture timeout 60 "${SK_ARGV[@]}" pull --store "$S" "$DEAD/busybox:latest"
    expect_error image.registry.unreachable "a port nobody listens on"
    diag "unreachable took $((SECONDS - start)) s"
    like "$err" "$DEAD" "the message names the registry"
}

# ---- TLS ------------------------------------------------------------------------
check_tls() {
    local S
    S=$(fresh tls)
    settings "{\"registries\": {\"$T\": {\"insecure\": false}}}"
    skcap pull --store "$S" "$T/busybox:latest"
    expect_error image.registry.tls "strict TLS without the CA"
    like "$err" 'certs\.d' "the message points at certs.d"
    like "$err" '--cert-dir' "the message points at --cert-dir"
    like "$err" '--tls-verify=false' "the message points at --tls-verify=false"
    put "$MODE_DIR/config/skiff/certs.d/$T/ca.crt" "$(cat "$FX_CA_DIR/ca.crt")"
    chmod 0644 "$MODE_DIR/config/skiff/certs.d/$T/ca.crt"
    skcap pull --store "$S" "$T/busybox:latest"
    is "$status" 0 "strict TLS with the CA in \$XDG_CONFIG_HOME/skiff/certs.d/HOST:PORT succeeds"
    rm -rf "$MODE_DIR/config/skiff/certs.d"
    skcap pull --store "$S" --cert-dir "$FX_CA_DIR/certs" "$T/busybox:latest"
    is "$status" 0 "strict TLS with --cert-dir succeeds"
    settings "{\"registries\": {\"$T\": {\"insecure\": false, \"ca_dir\": \"$FX_CA_DIR/certs\"}}}"
    skcap pull --store "$S" "$T/busybox:latest"
    is "$status" 0 "strict TLS with the entry's ca_dir succeeds"
    settings
    skcap pull --store "$S" "$T/busybox:latest"
    is "$status" 0 "loopback is insecure by default: no CA needed"
    skcap pull --store "$S" --tls-verify=true "$T/busybox:latest"
    expect_error image.registry.tls "--tls-verify=true without the CA"
    settings "{\"registries\": {\"$T\": {\"insecure\": \"yes\"}}}"
    skcap pull --store "$S" "$T/busybox:latest"
    expect_error image.settings.invalid "a malformed config.json"
    like "$err" 'config\.json' "the message names the file"
    like "$err" 'insecure' "the message names the key"
    settings
    skcap verify --store "$S"
    is "$status" 0 "the store verifies"
}

# ---- htpasswd, login, logout, the auth files ----------------------------------------
# no_secret DESC TEXT: neither the password nor the base64 of the
# credentials nor any bearer token is in TEXT.
no_secret() {
    local hits=
    [[ $2 == *"$PASSWORD"* ]] && hits+="the password; "
    [[ $2 == *"$CREDS_B64"* ]] && hits+="the base64 credentials; "
    [[ $2 =~ eyJ[A-Za-z0-9_-]{10,}\.eyJ ]] && hits+="a JWT; "
    if [ -z "$hits" ]; then pass "$1"; else fail "$1" "found: $hits"; fi
}

auth_entry() { jq -r --arg h "$2" '.auths[$h].auth // empty' "$1" 2>/dev/null; }

check_htpasswd() {
    local S A D R before wrong_b64
    S=$(fresh basic)
    A=$MODE_DIR/auth/auth.json
    D=$MODE_DIR/home/.docker/config.json
    R=$MODE_DIR/run/containers/auth.json
    wrong_b64=$(printf '%s:%s' "$USER_NAME" wrong | base64 -w0)
    rm -rf "$MODE_DIR/auth" "$MODE_DIR/home/.docker" "$MODE_DIR/run/containers"
    mkdir -p "$MODE_DIR/auth" && mine "$MODE_DIR/auth"

    before=$(snapshot "$S")
    skcap pull --store "$S" "$H/busybox:latest"
    expect_error image.registry.unauthorized "an anonymous pull from an htpasswd registry"
    like "$err" "skiff login $H" "the message says skiff login HOST:PORT"
    is "$(snapshot "$S")" "$before" "the store is unchanged"

    SKENV=(REGISTRY_AUTH_FILE="$A")
    skcap login -u "$USER_NAME" -p wrong "$H"
    expect_error image.registry.unauthorized "login with a wrong password"
    ok "a failed login writes no auth file" test ! -e "$A"
    skcap login -u "$USER_NAME" -p "$PASSWORD" "$H"
    is "$status" 0 "login with the right password succeeds"
    is "$out" "Login Succeeded" "login prints Login Succeeded"
    no_secret "login prints no secret" "$out$err"
    is "$(stat -c %a "$A" 2>&1)" 600 "the auth file at \$REGISTRY_AUTH_FILE has mode 0600"
    is "$(auth_entry "$A" "$H")" "$CREDS_B64" "it holds base64(user:password) under HOST:PORT"
    skcap pull --store "$S" "$H/busybox:latest"
    is "$status" 0 "the pull uses the stored credentials"
    skcap --debug --log "$MODE_DIR/auth/skiff.log" pull --store "$(fresh debug)" "$H/busybox:latest"
    is "$status" 0 "a pull with --debug --log succeeds"
    no_secret "no secret in the --debug output" "$out$err"
    no_secret "no secret in the --log file" "$(cat "$MODE_DIR/auth/skiff.log" 2>/dev/null)"

    # --password-stdin: the password comes on stdin (from a file root
    # opens, so that it is on no command line).
    rm -f "$A"
    printf '%s\n' "$PASSWORD" >"$TEST_TMP/password" && chmod 0600 "$TEST_TMP/password"
    skargv
    capture bash -c 'exec "$@" <"$0"' "$TEST_TMP/password" "${SK_ARGV[@]}" login -u "$USER_NAME" --password-stdin "$H"
    is "$out" "Login Succeeded" "login --password-stdin"
    is "$(auth_entry "$A" "$H")" "$CREDS_B64" "it stores the password read from stdin"
    SKENV=()

    # The default path when REGISTRY_AUTH_FILE is unset.
    skcap login --username "$USER_NAME" --password "$PASSWORD" "$H"
    is "$out" "Login Succeeded" "login without REGISTRY_AUTH_FILE"
    is "$(stat -c %a "$R" 2>&1)" 600 "it writes \$XDG_RUNTIME_DIR/containers/auth.json, mode 0600"
    is "$(auth_entry "$R" "$H")" "$CREDS_B64" "with the credentials"

    # Lookup order: REGISTRY_AUTH_FILE > XDG_RUNTIME_DIR > ~/.docker.
    put "$D" "{\"auths\": {\"$H\": {\"auth\": \"$wrong_b64\"}}}"
    skcap pull --store "$S" -q "$H/busybox:latest"
    is "$status" 0 "\$XDG_RUNTIME_DIR/containers/auth.json comes before ~/.docker/config.json"
    put "$A" "{\"auths\": {\"$H\": {\"auth\": \"$wrong_b64\"}}}"
    SKENV=(REGISTRY_AUTH_FILE="$A")
    skcap pull --store "$S" -q "$H/busybox:latest"
    expect_error image.registry.unauthorized "\$REGISTRY_AUTH_FILE comes first (wrong credentials there)"
    put "$A" '{"auths": {"other.example:5000": {"auth": "eDp5"}}}'
    skcap pull --store "$S" -q "$H/busybox:latest"
    is "$status" 0 "a file without an entry for the registry is passed over"
    SKENV=()
    rm -f "$R"
    put "$D" "{\"auths\": {\"$H\": {\"auth\": \"$CREDS_B64\"}}}"
    skcap pull --store "$S" -q "$H/busybox:latest"
    is "$status" 0 "~/.docker/config.json is read last"
    rm -f "$D"
    put "$A" "{\"auths\": {\"$H/busybox\": {\"auth\": \"$CREDS_B64\"}}}"
    skcap pull --store "$S" -q --authfile "$A" "$H/busybox:latest"
    is "$status" 0 "--authfile, with a HOST/REPO key"
    put "$A" '{"auths": '
    skcap pull --store "$S" -q --authfile "$A" "$H/busybox:latest"
    expect_error image.auth.file "a malformed auth file"
    like "$err" "$A" "the message names the file"

    skcap pull --store "$S" -q --creds "$USER_NAME:$PASSWORD" "$H/busybox:latest"
    is "$status" 0 "--creds USER:PASS"
    skcap pull --store "$S" -q --creds "$USER_NAME:wrong" "$H/busybox:latest"
    expect_error image.registry.unauthorized "--creds with a wrong password"
    no_secret "an auth error shows no secret" "$out$err"

    # logout removes one entry and keeps the others.
    put "$A" "{\"auths\": {\"$H\": {\"auth\": \"$CREDS_B64\"}, \"other.example:5000\": {\"auth\": \"eDp5\"}}}"
    skcap logout --authfile "$A" "$H"
    is "$status" 0 "logout succeeds"
    is "$out" "Removed login credentials for $H" "logout says what it removed"
    is "$(auth_entry "$A" "$H")" "" "the entry is gone"
    is "$(auth_entry "$A" other.example:5000)" "eDp5" "the other entry is kept"
    is "$(stat -c %a "$A" 2>&1)" 600 "the auth file keeps mode 0600"
    skcap verify --store "$S"
    is "$status" 0 "the store verifies"
}

# ---- token auth ------------------------------------------------------------------------
issuer_count() {
    # issuer_count SCOPE: token requests of alice asking for SCOPE.
    jq -r --arg s "$1" 'select(.account == "alice" and .status == 200 and (.scopes | index($s))) | .path' \
        "${FX_DIR[issuer]}/requests.log" | wc -l
}

check_token() {
    local S
    S=$(fresh token)
    : >"${FX_DIR[issuer]}/requests.log"
    skcap pull --store "$S" "$K/multi:latest"
    expect_error image.registry.unauthorized "an anonymous pull from a token registry"
    skcap pull --store "$S" --creds "$USER_NAME:$PASSWORD" "$K/multi:latest"
    is "$status" 0 "a pull with credentials through the token flow"
    is "$(issuer_count repository:multi:pull)" 1 \
        "one token request for repository:multi:pull for a pull of four blobs (the token is cached)"
    no_secret "no secret in the pull's output" "$out$err"
    SKENV=(REGISTRY_AUTH_FILE="$MODE_DIR/auth/token.json")
    skcap login -u "$USER_NAME" --password "$PASSWORD" "$K"
    is "$out" "Login Succeeded" "login to a token registry goes through the token flow"
    skcap --debug pull --store "$S" "$K/busybox:latest"
    is "$status" 0 "a pull with the stored credentials"
    no_secret "no token in the --debug output" "$out$err"
    SKENV=()
    skcap verify --store "$S"
    is "$status" 0 "the store verifies"
}

# A token that expires is fetched again.  Not timing-flaky: the issuer's
# tokens last 12 s (expires_in; the registry itself accepts them a minute
# longer, so only the client's own bookkeeping can ask for a new one), and
# the proxy holds the manifest answer 14 s, so the blob requests after it
# come when the first token has expired on any reading of expires_in >= 10.
check_token_refresh() {
    local S n
    S=$(fresh refresh)
    : >"${FX_DIR[issuer2]}/requests.log"
    fx_rules pxt '{"rules": [{"path": "/manifests/", "method": "GET", "action": "delay", "seconds": 14, "times": 1}]}'
    SKIFF_TEST_TIMEOUT=60 skcap pull --store "$S" --creds "$USER_NAME:$PASSWORD" "127.0.0.1:${FX_PORT[pxt]}/busybox:latest"
    is "$status" 0 "a pull that outlives its token succeeds"
    n=$(jq -r 'select(.account == "alice" and (.scopes | index("repository:busybox:pull"))) | .path' \
        "${FX_DIR[issuer2]}/requests.log" | wc -l)
    like "$n" '^[2-9]$' "an expired token is refreshed (token requests: $n)"
}

# ---- faults through the proxy ---------------------------------------------------------------
check_faults() {
    local S before n log t
    S=$(fresh faults)
    fx_rules px '{"rules": [{"path": "/manifests/", "method": "GET", "action": "status", "code": 503, "times": 2}]}'
    skcap pull --store "$S" -q "$X/busybox:latest"
    is "$status" 0 "503 twice, then OK: the pull succeeds"
    is "$(proxy_count GET /manifests/)" 3 "the manifest was asked for three times"

    fx_rules px '{"rules": [{"path": "/blobs/", "method": "GET", "action": "status", "code": 429, "headers": {"Retry-After": "1"}, "times": 1}]}'
    skcap pull --store "$(fresh 429)" -q "$X/busybox:latest"
    is "$status" 0 "429 with Retry-After, then OK: the pull succeeds"

    S=$(fresh 503)
    before=$(snapshot "$S")
    fx_rules px '{"rules": [{"path": "/manifests/", "method": "GET", "action": "status", "code": 503}]}'
    SKIFF_TEST_TIMEOUT=120 skcap pull --store "$S" "$X/busybox:latest"
    expect_error image.registry.http "503 forever"
    n=$(proxy_count GET /manifests/)
    like "$n" '^[2-5]$' "503 is retried at most 4 times (requests: $n)"
    is "$(snapshot "$S")" "$before" "the store is unchanged"

    S=$(fresh cut)
    fx_rules px "{\"rules\": [{\"path\": \"$BB_LAYER\", \"method\": \"GET\", \"action\": \"cut\", \"after\": 100000, \"times\": 1}]}"
    skcap pull --store "$S" -q "$X/busybox:latest"
    is "$status" 0 "a blob cut after 100000 bytes: the pull succeeds"
    is "$(jq -r --arg p "$BB_LAYER" 'select(.method == "GET" and (.path | endswith($p))) | .range // "none"' "${FX_DIR[px]}/requests.log" | tr '\n' ' ')" \
        "none bytes=100000- " "the transfer goes on with Range: bytes=100000-"
    skcap verify --store "$S"
    is "$status" 0 "the store verifies"

    S=$(fresh corrupt)
    before=$(snapshot "$S")
    : >"$TEST_TMP/.mark"
    fx_rules px "{\"rules\": [{\"path\": \"$BB_LAYER\", \"method\": \"GET\", \"action\": \"corrupt\", \"offset\": 5000}]}"
    skcap pull --store "$S" "$X/busybox:latest"
    expect_error image.layer.digest_mismatch "a corrupt byte in a layer"
    like "$err" "${BB_LAYER#sha256:}" "the message names the blob"
    skcap verify --store "$S"
    is "$status" 0 "the store verifies after the corrupt blob"
    skcap images --store "$S" --format json
    is "$(jq -r 'length' <<<"$out")" 0 "no image is tagged"
    is "$(find "$MODE_DIR" -newer "$TEST_TMP/.mark" -type f ! -path "$S/*" ! -path "$MODE_DIR/stores/*" 2>/dev/null)" "" \
        "nothing is written outside the store"
    is "$(ls -A "$OUTSIDE")" "" "nothing is written to the outside directory"

    S=$(fresh truncated)
    fx_rules px "{\"rules\": [{\"path\": \"$BB_LAYER\", \"method\": \"GET\", \"action\": \"truncate\", \"bytes\": 300000}]}"
    skcap pull --store "$S" "$X/busybox:latest"
    expect_error image.layer.size_mismatch "a layer blob shorter than its descriptor"
    skcap verify --store "$S"
    is "$status" 0 "the store verifies after the short blob"
    skcap images --store "$S" --format json
    is "$(jq -r 'length' <<<"$out")" 0 "no image is tagged"

    # Asked by digest, an answer whose Docker-Content-Digest names another
    # digest is refused, even with the right body.
    S=$(fresh content-digest)
    before=$(snapshot "$S")
    fx_rules px "{\"rules\": [{\"path\": \"/manifests/sha256:\", \"method\": \"GET\", \"action\": \"headers\", \"headers\": {\"Docker-Content-Digest\": \"sha256:$(printf '0%.0s' {1..64})\"}}]}"
    skcap pull --store "$S" "$X/busybox@$BB_MANIFEST"
    expect_error image.registry.digest_mismatch "a Docker-Content-Digest header that names another digest"
    like "$err" "$BB_MANIFEST" "the message names the manifest asked for"
    is "$(snapshot "$S")" "$before" "the store is unchanged"
    fx_rules px '{"rules": [{"path": "/manifests/sha256:", "method": "GET", "action": "headers", "headers": {"X-Unrelated": "1"}}]}'
    skcap pull --store "$S" -q "$X/busybox@$BB_MANIFEST"
    is "$status" 0 "the same pull by digest with the registry's own header succeeds"

    # A config the store has is not asked for again.
    fx_rules px '{"rules": []}'
    skcap pull --store "$S" -q "$X/busybox:latest"
    is "$status" 0 "a pull of an image the store has (by digest) succeeds"
    is "$(proxy_count GET "/blobs/$BB_CONFIG")" 0 "the config in the store is not fetched again"

    S=$(fresh huge)
    before=$(snapshot "$S")
    fx_rules px '{"rules": [{"path": "/manifests/", "method": "GET", "action": "huge", "size": 6291456}]}'
    skcap pull --store "$S" "$X/busybox:latest"
    expect_error image.manifest.too_big "a 6 MiB manifest"
    is "$(snapshot "$S")" "$before" "the store is unchanged"

    # A transfer that stalls is resumed by the next pull from the partial
    # kept under tmp/.
    S=$(fresh resume)
    fx_rules px "{\"rules\": [{\"path\": \"$BB_LAYER\", \"method\": \"GET\", \"action\": \"stall\", \"after\": 200000, \"seconds\": 60, \"times\": 1}]}"
    local pidf=$MODE_DIR/resume.pid pid i bg
    rm -f "$pidf"
    sk_pidfile "$pidf" pull -q --store "$S" "$X/busybox:latest" >/dev/null 2>&1 8>&- &
    bg=$!
    for ((i = 0; i < 150; i++)); do
        grep -q '"stalled": true' "${FX_DIR[px]}/requests.log" && break
        sleep 0.1
    done
    sleep 0.5
    pid=$(cat "$pidf" 2>/dev/null)
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
    wait "$bg" 2>/dev/null
    log=$(grep -c '"stalled": true' "${FX_DIR[px]}/requests.log")
    is "$log" 1 "the layer transfer stalled after 200000 bytes"
    fx_rules px '{"rules": []}'
    skcap pull --store "$S" -q "$X/busybox:latest"
    is "$status" 0 "the next pull succeeds"
    like "$(jq -r --arg p "$BB_LAYER" 'select(.method == "GET" and (.path | endswith($p))) | .range // "none"' "${FX_DIR[px]}/requests.log")" \
        '^bytes=[1-9][0-9]*-$' "it resumes the partial layer with a Range request"
    skcap verify --store "$S"
    is "$status" 0 "the store verifies"

    # With "stall_timeout": 2, a stalled transfer counts as cut after 2 s
    # and continues with a Range request in the same pull.
    S=$(fresh stall-timeout)
    settings "{\"registries\": {\"$X\": {\"stall_timeout\": 2}}}"
    fx_rules px "{\"rules\": [{\"path\": \"$BB_LAYER\", \"method\": \"GET\", \"action\": \"stall\", \"after\": 200000, \"seconds\": 60, \"times\": 1}]}"
    t=$SECONDS
    SKIFF_TEST_TIMEOUT=40 skcap pull --store "$S" -q "$X/busybox:latest"
    is "$status" 0 "a transfer stalled after 200000 bytes: the pull succeeds"
    ok "it notices the stall after the stall_timeout, not 60 s (took $((SECONDS - t)) s)" test $((SECONDS - t)) -lt 20
    is "$(jq -r --arg p "$BB_LAYER" 'select(.method == "GET" and (.path | endswith($p))) | .range // "none"' "${FX_DIR[px]}/requests.log" | tr '\n' ' ')" \
        "none bytes=200000- " "the transfer goes on with Range: bytes=200000-"
    skcap verify --store "$S"
    is "$status" 0 "the store verifies"
    settings "{\"registries\": {\"$X\": {\"stall_timeout\": 0}}}"
    skcap pull --store "$S" -q "$X/busybox:latest"
    expect_error image.settings.invalid "a stall_timeout of 0"
    like "$err" 'stall_timeout' "the message names the key"
    settings
}

# ---- resilience ------------------------------------------------------------------------------
check_kill() {
    local S i pid bg bad=0 pidf=$MODE_DIR/pull.pid msg=
    S=$(fresh killed)
    # The layer comes at 2 MB/s, so that kills land in every phase.
    fx_rules px "{\"rules\": [{\"path\": \"/blobs/\", \"method\": \"GET\", \"action\": \"rate\", \"bytes_per_second\": 2000000}]}"
    for ((i = 0; i < 20; i++)); do
        rm -f "$pidf"
        sk_pidfile "$pidf" pull -q --store "$S" "$X/busybox:latest" >/dev/null 2>&1 8>&- &
        bg=$!
        sleep "0.$((RANDOM % 8))$((RANDOM % 10))"
        for _ in 1 2 3 4 5 6 7 8 9 10; do [ -s "$pidf" ] && break; sleep 0.05; done
        pid=$(cat "$pidf" 2>/dev/null)
        [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
        wait "$bg" 2>/dev/null   # not a bare wait: the servers are children too
        if ! sk pull -q --store "$S" "$X/busybox:latest" >/dev/null 2>"$MODE_DIR/kill.err"; then
            bad=1; msg="trial $i: the next pull failed: $(cat "$MODE_DIR/kill.err")"; break
        fi
        if ! sk verify --store "$S" >/dev/null 2>"$MODE_DIR/kill.err"; then
            bad=1; msg="trial $i: the store does not verify: $(cat "$MODE_DIR/kill.err")"; break
        fi
        sk rmi --store "$S" "$X/busybox:latest" >/dev/null 2>&1
        sk prune --store "$S" >/dev/null 2>&1
    done
    if [ $bad -eq 0 ]; then pass "20 pulls killed at random moments: each next pull succeeds and the store verifies"
    else fail "20 pulls killed at random moments: each next pull succeeds and the store verifies" "$msg"; fi
}

check_concurrent() {
    local S a b d n bad=
    S=$(fresh concurrent)
    fx_rules px '{"rules": [{"path": "/blobs/", "method": "GET", "action": "delay", "seconds": 1}]}'
    sk pull -q --store "$S" "$X/multi:latest" >"$MODE_DIR/c1" 2>&1 & a=$!
    sk pull -q --store "$S" "$X/multi:latest" >"$MODE_DIR/c2" 2>&1 & b=$!
    wait $a; is "$?" 0 "concurrent pull 1 succeeds"
    wait $b; is "$?" 0 "concurrent pull 2 succeeds"
    for d in $MULTI_LAYERS; do
        n=$(jq -r --arg p "$d" 'select(.method == "GET" and (.path | endswith($p)) and (.status == 200 or .status == 206)) | .path' \
            "${FX_DIR[px]}/requests.log" | wc -l)
        [ "$n" = 1 ] || bad+="$d: $n GETs; "
    done
    is "$bad" "" "each layer blob was downloaded once for both pulls"
    skcap verify --store "$S"
    is "$status" 0 "the store verifies after concurrent pulls"
}

# ---- mirrors ------------------------------------------------------------------------------
check_mirrors() {
    local S
    S=$(fresh mirror)
    settings "{\"registries\": {\"$DEAD\": {\"mirrors\": [\"$P\"]}}}"
    SKIFF_TEST_TIMEOUT=60 skcap pull --store "$S" "$DEAD/busybox:latest"
    is "$status" 0 "an origin that is down: the pull comes from its mirror"
    is "$out" "$DEAD/busybox:latest" "the image keeps the name asked for"
    settings
}

run_mode() {
    mkdir -p "$MODE_DIR/home" "$MODE_DIR/config" "$MODE_DIR/run" "$MODE_DIR/stores"
    chmod 0700 "$MODE_DIR/run"
    mine "$MODE_DIR/home" "$MODE_DIR/config" "$MODE_DIR/run" "$MODE_DIR/stores"
    local c t
    for c in check_http check_multiarch check_not_found check_tls check_htpasswd check_token \
        check_faults check_concurrent check_mirrors check_kill; do
        t=$SECONDS
        $c
        diag "$MODE: $c took $((SECONDS - t)) s"
    done
}

for_each_mode run_mode

# The refresh test waits for a token to expire: once, as root (it checks
# the client's token bookkeeping, which does not depend on the mode).
fx_issuer issuer2 "$TEST_TMP/users" 12 || bail_out "second token issuer: $FX_ERROR"
fx_registry tok2 token issuer2 || bail_out "second token registry: $FX_ERROR"
push "oci:$SKIFF_IMAGE" "127.0.0.1:${FX_PORT[tok2]}/busybox:latest" --dest-tls-verify=false --dest-creds "$USER_NAME:$PASSWORD"
fx_proxy pxt tok2 || bail_out "second proxy: $FX_ERROR"
if set_mode root; then
    check_token_refresh
else
    set_mode single && check_token_refresh
fi
TAP_PREFIX=

fx_stop_all
done_testing
