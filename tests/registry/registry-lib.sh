# shellcheck shell=bash
# tests/registry/registry-lib.sh — real registries on loopback for tests.
# Sourced (by tests/integration/registry.t); needs bash, Debian's
# docker-registry, openssl, htpasswd (apache2-utils), python3 and
# python3-cryptography, curl.
#
#   fx_init DIR                 where every server's directory goes
#   fx_make_ca                  a CA and a server certificate for 127.0.0.1
#                               and localhost: $FX_CA_DIR/{ca.crt,server.crt,server.key};
#                               $FX_CA_DIR/certs holds only ca.crt
#   fx_registry NAME MODE [ARG] docker-registry serve on 127.0.0.1:free port;
#                               MODE: http | https | htpasswd (HTTPS, USER:PASS
#                               in ARG) | token (HTTP, ARG the issuer's NAME)
#   fx_issuer NAME USERS [EXPIRES_IN]   token-issuer.py (USERS: user:pass lines)
#   fx_proxy NAME UPSTREAM_NAME         faulty-proxy.py in front of a registry
#   fx_stop NAME / fx_stop_all  kill exactly the recorded PID, remove the dir
#
# After a start: FX_PORT[NAME], FX_PID[NAME], FX_DIR[NAME]; each server's
# output goes to FX_DIR[NAME]/server.log.  Every start waits until the
# server answers; it returns 1 (with FX_ERROR set) if it does not.

FX_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
declare -A FX_PORT=() FX_PID=() FX_DIR=()
FX_BASE=
FX_CA_DIR=
FX_ERROR=

fx_init() {
    FX_BASE=$1
    mkdir -p "$FX_BASE" || return 1
}

# A port nobody listens on now (the kernel's choice; a server binding it
# later can still lose a race, which fx_registry retries).
fx_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

fx_make_ca() {
    FX_CA_DIR=$FX_BASE/ca
    mkdir -p "$FX_CA_DIR" && (
        cd "$FX_CA_DIR" || exit 1
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=skiff test CA" \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
            -keyout ca.key -out ca.crt &&
            openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout server.key -out server.csr &&
            printf '%s\n' 'subjectAltName=IP:127.0.0.1,DNS:localhost' 'extendedKeyUsage=serverAuth' \
                'basicConstraints=CA:FALSE' >server.ext &&
            openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
                -extfile server.ext -out server.crt
    ) >"$FX_BASE/ca.log" 2>&1 || { FX_ERROR="openssl failed: $(tail -n 5 "$FX_BASE/ca.log")"; return 1; }
    # A directory with only the CA, as skopeo's --*-cert-dir and skiff's
    # --cert-dir take it (a *.key there would be read as a client key).
    mkdir -p "$FX_CA_DIR/certs" && cp "$FX_CA_DIR/ca.crt" "$FX_CA_DIR/certs/ca.crt" &&
        chmod -R a+rX "$FX_CA_DIR/certs"
}

# _fx_wait_port NAME FILE: wait for a python server's port file.
_fx_wait_port() {
    local i
    for ((i = 0; i < 100; i++)); do
        if [ -s "$2" ]; then
            FX_PORT[$1]=$(cat "$2")
            return 0
        fi
        kill -0 "${FX_PID[$1]}" 2>/dev/null || break
        sleep 0.1
    done
    FX_ERROR="$1 did not start: $(tail -n 5 "${FX_DIR[$1]}/server.log" 2>/dev/null)"
    return 1
}

# _fx_wait_http NAME URL: wait until URL answers with any HTTP status.
_fx_wait_http() {
    local i code
    for ((i = 0; i < 100; i++)); do
        kill -0 "${FX_PID[$1]}" 2>/dev/null || break
        code=$(curl -sk -o /dev/null -w '%{http_code}' --max-time 2 "$2" 2>/dev/null)
        case $code in [1-5][0-9][0-9]) return 0 ;; esac
        sleep 0.1
    done
    FX_ERROR="$1 does not answer $2: $(tail -n 5 "${FX_DIR[$1]}/server.log" 2>/dev/null)"
    return 1
}

fx_registry() {
    local name=$1 mode=$2 arg=${3:-} dir try port scheme=http
    dir=$(mktemp -d "$FX_BASE/registry-$name.XXXXXX") || return 1
    FX_DIR[$name]=$dir
    mkdir -p "$dir/data"
    local tls='' auth=''
    case $mode in
    http) ;;
    https | htpasswd)
        [ -n "$FX_CA_DIR" ] || fx_make_ca || return 1
        scheme=https
        tls="  tls:
    certificate: $FX_CA_DIR/server.crt
    key: $FX_CA_DIR/server.key"
        ;;
    token) ;;
    *) FX_ERROR="fx_registry: unknown mode $mode"; return 1 ;;
    esac
    case $mode in
    htpasswd)
        htpasswd -Bbn "${arg%%:*}" "${arg#*:}" >"$dir/htpasswd" 2>/dev/null ||
            { FX_ERROR="htpasswd failed"; return 1; }
        auth="auth:
  htpasswd:
    realm: skiff-test
    path: $dir/htpasswd"
        ;;
    token)
        [ -n "${FX_PORT[$arg]:-}" ] || { FX_ERROR="fx_registry: start the issuer $arg first"; return 1; }
        auth="auth:
  token:
    realm: http://127.0.0.1:${FX_PORT[$arg]}/token
    service: skiff-test-registry
    issuer: skiff-test-issuer
    rootcertbundle: ${FX_DIR[$arg]}/cert.pem"
        ;;
    esac
    for ((try = 0; try < 5; try++)); do
        port=$(fx_free_port) || return 1
        cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
  secret: skiff-test-$RANDOM$RANDOM
$tls
$auth
EOF
        docker-registry serve "$dir/config.yml" >"$dir/server.log" 2>&1 </dev/null 8>&- &
        FX_PID[$name]=$!
        FX_PORT[$name]=$port
        if _fx_wait_http "$name" "$scheme://127.0.0.1:$port/v2/"; then
            return 0
        fi
        kill -KILL "${FX_PID[$name]}" 2>/dev/null
        wait "${FX_PID[$name]}" 2>/dev/null
        unset "FX_PID[$name]"
        # A lost race for the port is retried; anything else is an error.
        grep -q 'address already in use' "$dir/server.log" || return 1
    done
    return 1
}

fx_issuer() {
    local name=$1 users=$2 expires=${3:-300} dir
    dir=$(mktemp -d "$FX_BASE/issuer-$name.XXXXXX") || return 1
    FX_DIR[$name]=$dir
    python3 "$FX_LIB_DIR/token-issuer.py" --dir "$dir" --users "$users" --expires-in "$expires" \
        >"$dir/server.log" 2>&1 </dev/null 8>&- &
    FX_PID[$name]=$!
    _fx_wait_port "$name" "$dir/port" && _fx_wait_http "$name" "http://127.0.0.1:${FX_PORT[$name]}/token"
}

fx_proxy() {
    local name=$1 upstream=$2 dir
    dir=$(mktemp -d "$FX_BASE/proxy-$name.XXXXXX") || return 1
    FX_DIR[$name]=$dir
    python3 "$FX_LIB_DIR/faulty-proxy.py" --dir "$dir" --upstream "http://127.0.0.1:${FX_PORT[$upstream]}" \
        >"$dir/server.log" 2>&1 </dev/null 8>&- &
    FX_PID[$name]=$!
    _fx_wait_port "$name" "$dir/port" && _fx_wait_http "$name" "http://127.0.0.1:${FX_PORT[$name]}/v2/"
}

# fx_rules NAME JSON: replace a proxy's rules (by rename: the proxy never
# reads half a file) and clear its request log.
fx_rules() {
    local dir=${FX_DIR[$1]}
    printf '%s\n' "$2" >"$dir/rules.json.tmp" && mv -f "$dir/rules.json.tmp" "$dir/rules.json" &&
        : >"$dir/requests.log"
}

fx_stop() {
    local name=$1 pid=${FX_PID[$1]:-} i
    if [ -n "$pid" ]; then
        kill -TERM "$pid" 2>/dev/null
        for ((i = 0; i < 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        unset "FX_PID[$name]"
    fi
    [ -n "${FX_DIR[$name]:-}" ] && rm -rf "${FX_DIR[$name]}"
    unset "FX_DIR[$name]" "FX_PORT[$name]"
    return 0
}

fx_stop_all() {
    local n
    for n in "${!FX_PID[@]}"; do fx_stop "$n"; done
    for n in "${!FX_DIR[@]}"; do fx_stop "$n"; done
    [ -n "$FX_BASE" ] && rm -rf "$FX_BASE"
    return 0
}
