#!/bin/bash
# No secret ever leaves skiff: the password, the base64 of USER:PASS and
# the registry's tokens must not appear on stdout, stderr, in --debug
# output nor in --log files (text and JSON), whether login and pull
# succeed or fail, against an htpasswd registry (Basic, HTTPS) and a token
# registry (Bearer, its issuer checking the credentials).
# Root mode only: what is printed does not depend on the store's owners.
. "$(dirname "$0")/lib.sh"
. "$SKIFF_SRCDIR/tests/registry/registry-lib.sh"

for t in docker-registry skopeo openssl htpasswd curl; do
    command -v $t >/dev/null || bail_out "$t is needed (.ci/deps installs it)"
done
python3 -c 'import cryptography' 2>/dev/null || bail_out "python3-cryptography is needed (.ci/deps)"
[ $IS_ROOT -eq 1 ] || bail_out "this file runs as root (it starts registries and pushes to them)"

# The servers go with the file, also when it bails out (lib.sh's own exit
# trap runs after).
trap '_rc=$?; fx_stop_all; (exit $_rc); _on_exit' EXIT
PASS="Pw-$RANDOM$RANDOM-secret"
B64=$(printf 'alice:%s' "$PASS" | base64 -w0)
D=$TEST_TMP/secrets
mkdir -p "$D"
AUTH=$D/auth.json
fx_init "$TEST_TMP/fx" || bail_out "fx_init failed"
fx_make_ca || bail_out "$FX_ERROR"
fx_registry basic htpasswd "alice:$PASS" || bail_out "$FX_ERROR"
printf 'alice:%s\n' "$PASS" >"$D/users"
fx_issuer issuer "$D/users" || bail_out "$FX_ERROR"
fx_registry tok token issuer || bail_out "$FX_ERROR"
BASIC=127.0.0.1:${FX_PORT[basic]}
TOK=127.0.0.1:${FX_PORT[tok]}
timeout 120 skopeo copy -q --dest-creds "alice:$PASS" --dest-cert-dir "$FX_CA_DIR/certs" \
    "oci:$SKIFF_IMAGE:latest" "docker://$BASIC/busybox:latest" 8>&- ||
    bail_out "skopeo cannot push to the htpasswd registry"
timeout 120 skopeo copy -q --dest-creds "alice:$PASS" --dest-tls-verify=false \
    "oci:$SKIFF_IMAGE:latest" "docker://$TOK/busybox:latest" 8>&- ||
    bail_out "skopeo cannot push to the token registry"

N=0
# run NAME ARGS...: skiff with --debug and a log file; keeps what it printed.
run() {
    local name=$1
    shift
    N=$((N + 1))
    capture env REGISTRY_AUTH_FILE="$AUTH" "$SKIFF" --debug --log "$D/$N-$name.log" "$@"
    printf '%s\n' "$out" >"$D/$N-$name.out"
    printf '%s\n' "$err" >"$D/$N-$name.err"
}

# Basic, HTTPS with the test CA: a failed and a good login, then a pull
# with the stored credentials.
capture env REGISTRY_AUTH_FILE="$AUTH" "$SKIFF" --debug --log "$D/0-login-bad.log" login \
    -u alice -p "wrong-$PASS" --cert-dir "$FX_CA_DIR/certs" "$BASIC"
printf '%s\n%s\n' "$out" "$err" >"$D/0-login-bad.out"
isnt "$status" 0 "login with a wrong password fails"
like "$err" 'did not accept these credentials.*\[image\.registry\.unauthorized\]' \
    "and says the credentials were refused"
run login-basic login -u alice -p "$PASS" --cert-dir "$FX_CA_DIR/certs" "$BASIC"
is "$status" 0 "login to the htpasswd registry succeeds"
is "$out" "Login Succeeded" "login prints Login Succeeded"
is "$(stat -c %a "$AUTH")" 600 "the auth file is mode 0600"
is "$(jq -r --arg k "$BASIC" '.auths[$k].auth' "$AUTH")" "$B64" "the auth file holds base64(USER:PASS)"
run pull-basic pull --store "$D/store" --cert-dir "$FX_CA_DIR/certs" "$BASIC/busybox"
is "$status" 0 "pull with the stored credentials succeeds"
is "$out" "$BASIC/busybox:latest" "pull prints the stored name"
like "$(cat "$D/$N-pull-basic.log")" 'auth basic with credentials' "the log says credentials were used"
run pull-basic-nocreds pull --store "$D/store2" --authfile "$D/none.json" --cert-dir "$FX_CA_DIR/certs" \
    "$BASIC/busybox"
like "$err" '\[image\.registry\.unauthorized\]' "without credentials the pull is unauthorized"
like "$err" "skiff login $BASIC" "and the message says skiff login HOST"

# Bearer: the token issuer checks the credentials and hands out JWTs.
printf '%s\n' "$PASS" | REGISTRY_AUTH_FILE="$AUTH" timeout 60 "$SKIFF" --debug \
    --log "$D/login-token.log" login -u alice --password-stdin "$TOK" \
    >"$D/login-token.out" 2>"$D/login-token.err" 8>&-
is "$?" 0 "login --password-stdin through the token server succeeds"
is "$(cat "$D/login-token.out")" "Login Succeeded" "and prints Login Succeeded"
run pull-token --log-format json pull --store "$D/store3" "$TOK/busybox"
is "$status" 0 "pull from the token registry with the stored credentials succeeds"
like "$(cat "$D/$N-pull-token.log")" '"msg":"got a token for' "the JSON log shows a token was fetched"
like "$(cat "${FX_DIR[issuer]}/requests.log")" '"account": *"alice"' "the issuer saw alice's credentials"
run pull-token-creds pull --store "$D/store4" --creds "alice:$PASS" "$TOK/busybox"
is "$status" 0 "pull with --creds succeeds"
run pull-token-bad pull --store "$D/store5" --creds "alice:wrong-$PASS" "$TOK/busybox"
like "$err" '\[image\.registry\.unauthorized\]' "a wrong --creds is unauthorized"
run logout logout "$BASIC"
is "$out" "Removed login credentials for $BASIC" "logout prints what it removed"
is "$(jq -r --arg k "$TOK" '.auths[$k].auth' "$AUTH")" "$B64" "logout keeps the other entries"

# The point of this file: none of it holds a secret.
files=("$D"/*.out "$D"/*.err "$D"/*.log)
ok "each of the $N runs left a --log file" [ "$(ls "$D"/[0-9]*-*.log | wc -l)" -ge "$N" ]
ok "the debug logs record the requests" [ "$(cat "$D"/*.log | grep -c 'GET ')" -ge 10 ]
ok "the test can see a secret: the password is in the users file" grep -qF -- "$PASS" "$D/users"
for needle in "$PASS" "$B64" "eyJ" "Bearer " "Basic "; do
    nok "no output or log holds \"${needle:0:6}...\"" grep -lF -- "$needle" "${files[@]}"
done

fx_stop_all
done_testing
