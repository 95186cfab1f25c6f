#!/bin/bash
# skiff run --network none|host|pasta|slirp4netns|private|ns:PATH, -p,
# --add-host, --dns: what the job can reach, what reaches it, the files
# it is given, the errors, and that no helper (pasta, slirp4netns) outlives
# its job: after the job ends, after SIGKILL of skiff run, after SIGTERM.
# Servers are started by the test on the host (busybox httpd, a python
# UDP echo) and killed by the pid the test recorded.
# Modes: root; rootless with a subordinate range; rootless with one id.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || bail_out "python3 is needed for the UDP checks"
command -v busybox >/dev/null || bail_out "busybox is needed for the host's HTTP server (.ci/deps)"
BB=localhost/busybox:latest
HELPERS=()
command -v pasta >/dev/null && HELPERS+=(pasta)
command -v slirp4netns >/dev/null && HELPERS+=(slirp4netns)

# The host's side: a directory served over HTTP on 127.0.0.1 and a UDP
# echo on 127.0.0.1, on ports picked free.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("0.0.0.0", 0)); print(s.getsockname()[1])'
}
WWW=$TEST_TMP/www
mkdir -p "$WWW" && echo "from the host" >"$WWW/index.html" && chmod -R a+rX "$WWW"
HTTP_PORT=$(free_port)
busybox httpd -f -p "127.0.0.1:$HTTP_PORT" -h "$WWW" 8>&- &
HTTPD_PID=$!
UDP_PORT=$(free_port)
python3 - "$UDP_PORT" 8>&- <<'PY' &
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    d, a = s.recvfrom(512)
    s.sendto(b"host:" + d, a)
PY
UDP_PID=$!
NS_PID=
stop_servers() {
    kill "$HTTPD_PID" "$UDP_PID" 2>/dev/null
    wait "$HTTPD_PID" "$UDP_PID" 2>/dev/null
    [ -n "$NS_PID" ] && { kill -KILL "$NS_PID" 2>/dev/null; wait "$NS_PID" 2>/dev/null; }
    NS_PID=
}
# The servers go before the lib's own cleanup checks for leftovers.
trap 'stop_servers; _on_exit' EXIT
for ((i = 0; i < 50; i++)); do
    busybox wget -q -O /dev/null "http://127.0.0.1:$HTTP_PORT/index.html" 2>/dev/null && break
    sleep 0.1
done

# The host's own IPv4 address (pasta gives it to the job too) and the
# default gateway (where pasta's job reaches the host).
HOST_IP=$(ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p')
PASTA_GW=$(ip -4 route show default | awk '{ print $3; exit }')

# SKP: the prefix running a command as the mode's user (skiff passes its
# environment, with the test's token, on to the helpers); SK: skiff so.
sk_argv() {
    case $MODE in
    root) SKP=(env SKIFF_TEST_TOKEN="$TOKEN") ;;
    range) as_user_argv; SKP=("${AS_USER_ARGV[@]}") ;;
    single) as_user_argv; SKP=("${AS_USER_ARGV[@]}" env SKIFF_NO_SUBIDS=1) ;;
    esac
    SK=("${SKP[@]}" "$SKIFF")
}
# skrun_bg OUT ARGS...: skiff run in the background; BG is its pid (runuser's
# in the rootless modes), SKIFF_PID skiff's own once it runs.
skrun_bg() {
    local o=$1
    shift
    sk_argv
    "${SK[@]}" run --store "$S" --root "$STATE_ROOT" -q -e "SKIFF_TEST_TOKEN=$TOKEN" "$@" \
        >"$o" 2>&1 </dev/null 8>&- &
    BG=$!
}
skiff_pid_of_bg() {
    if [ "$MODE" = root ]; then
        # env execs skiff: the same pid.
        echo "$BG"
    else
        pgrep -P "$BG" -x skiff || pgrep -P "$(pgrep -P "$BG" | head -1)" -x skiff
    fi
}

# The helpers of this test still running: processes with the test's token
# in their environment (skiff passes its own on) named pasta, passt* or
# slirp4netns.
helper_pids() {
    local p comm
    for p in $(grep -lxzF -f <(printf '%s' "SKIFF_TEST_TOKEN=$TOKEN") /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3); do
        comm=$(cat "/proc/$p/comm" 2>/dev/null) || continue
        case $comm in pasta* | passt* | slirp4netns) echo "$p" ;; esac
    done
}
# Processes of the test other than this shell and its servers: every
# helper, keeper, skiff run and job.
test_pids() {
    grep -lxzF -f <(printf '%s' "SKIFF_TEST_TOKEN=$TOKEN") /proc/[0-9]*/environ 2>/dev/null |
        cut -d/ -f3 | grep -vxF -e "$$" -e "$BASHPID" -e "$HTTPD_PID" -e "$UDP_PID"
}
wait_gone() {   # wait_gone FUNC: up to 10 s for FUNC to print nothing
    local i
    for ((i = 0; i < 100; i++)); do
        [ -z "$("$1")" ] && return 0
        sleep 0.1
    done
    return 1
}
wait_helper() {  # up to 20 s for a helper to run
    local i
    for ((i = 0; i < 200; i++)); do
        [ -n "$(helper_pids)" ] && return 0
        sleep 0.1
    done
    return 1
}
# After skiff run was killed: its container (still running) and directory.
remove_orphans() {
    local id
    for id in $(timeout -k 2 10 "${RUNAS[@]}" "$SKIFF_OCI" --root "$STATE_ROOT" list --quiet 2>/dev/null 8>&-); do
        timeout -k 2 10 "${RUNAS[@]}" "$SKIFF_OCI" --root "$STATE_ROOT" delete --force "$id" >/dev/null 2>&1 8>&-
        rm -rf --one-file-system "${S:?}/containers/$id"
    done
    find "$S/containers/names" -type l -delete 2>/dev/null
}

check_none() {
    skrun "$BB" sh -c 'ls /sys/class/net; ip route | wc -l'
    is "$out" $'lo\n0' "none (the default): only lo, no route"
    skrun "$BB" timeout 3 wget -q -O - "http://127.0.0.1:$HTTP_PORT/index.html"
    # The job's own loopback answers: nothing listens there.
    like "$status:$err" "^1:.*Connection refused" "none: a server on the host's loopback is not reachable"
    skrun "$BB" sh -c 'grep nameserver /etc/resolv.conf | grep -c "127\."'
    is "$out" 0 "none: no loopback name server in resolv.conf"
    skrun --network none -p 8080:80 "$BB" true
    like "$status:$err" '^125:.*-p 8080:80.*\[job\.network\.publish_invalid\]$' \
        "none: -p is refused, naming the option"
    # The namespace is the job's own, owned by its user namespace (skiff
    # makes it ahead, beside its other set-up): the job's root may change
    # it, and the next job starts from a new one.
    skrun --cap-add NET_ADMIN "$BB" sh -c \
        'ip addr add 10.9.9.9/32 dev lo && ip link set lo down && ip -o link show lo | grep -c "<LOOPBACK>"; readlink /proc/self/ns/net'
    is "$status:$(head -1 <<<"$out")" "0:1" "none: with NET_ADMIN the job's root configures its own lo"
    local first_ns=${out##*$'\n'}
    skrun "$BB" sh -c 'ip -o addr show lo | grep -c 10.9.9.9; ip -o link show lo | grep -c "LOOPBACK,UP"; readlink /proc/self/ns/net'
    is "$(head -2 <<<"$out" | tr '\n' ' ')" "0 1 " "none: the next job's lo is new and up (no address of the last one)"
    isnt "${out##*$'\n'}" "$first_ns" "none: the next job has a network namespace of its own"
    isnt "${out##*$'\n'}" "$(readlink /proc/self/ns/net)" "none: not the host's network namespace"
    # lo is brought up beside the set-up, the namespace's last teardown
    # contending for the kernel's lock: the job starts only once lo is up
    # with its addresses, run after run.
    local i bad=0 want
    want=$(unshare -n sh -c 'ip link set lo up; ip -o addr show lo | grep -c -e "inet 127.0.0.1/8" -e "inet6 ::1/128"' 2>/dev/null)
    [ -n "$want" ] || want=2
    for ((i = 0; i < 20; i++)); do
        skrun "$BB" sh -c 'ip -o addr show lo | grep -c -e "inet 127.0.0.1/8" -e "inet6 ::1/128"'
        [ "$status:$out" = "0:$want" ] || bad=$((bad + 1))
    done
    is "$bad" 0 "none: in 20 runs back to back the job finds lo up with its addresses ($want) from its start"
}

check_host() {
    skrun --network host "$BB" sh -c 'ls /sys/class/net | sort | tr "\n" " "'
    is "$out" "$(ls /sys/class/net | sort | tr '\n' ' ')" "host: the host's interfaces"
    skrun --network host "$BB" grep nameserver /etc/resolv.conf
    is "$out" "$(grep nameserver /etc/resolv.conf)" "host: the host's name servers, as they are"
}

# check_helper MODE GATEWAY DNS IFACE
check_helper() {
    local m=$1 gw=$2 dns=$3 iface=$4 port ctr_http tmp
    TAP_PREFIX="[$MODE $m] "

    skrun --network "$m" --hostname web1 --add-host web.test:"$gw" --add-host v6.test:fd00::99 "$BB" \
        sh -c 'ls /sys/class/net | sort | tr "\n" " "; echo; cat /etc/hosts; echo ---; cat /etc/resolv.conf; echo ---; cat /etc/hostname'
    is "$status" 0 "a job runs"
    like "$out" "^$(printf '%s\n' lo "$iface" | sort | tr '\n' ' ')"$'\n' "the job has lo and the helper's $iface, no other interface"
    like "$out" $'\n'"$gw"$'\thost.containers.internal\n' "/etc/hosts: host.containers.internal is $gw"
    like "$out" $'\n'"$gw"$'\tweb.test\n' "/etc/hosts: --add-host web.test:$gw"
    like "$out" $'\nfd00::99\tv6.test\n' "/etc/hosts: --add-host with an IPv6 address"
    like "$out" $'127.0.0.1\tlocalhost\n' "/etc/hosts: localhost"
    like "$out" $'\n127.0.1.1\tweb1\n' "/etc/hosts: the hostname"
    like "$out" $'---\nnameserver '"$dns"$'\n' "/etc/resolv.conf: nameserver $dns"
    like "$out" $'---\nweb1$' "/etc/hostname"

    skrun --network "$m" --dns 192.0.2.53 --dns 2001:db8::53 "$BB" grep nameserver /etc/resolv.conf
    is "$out" $'nameserver 192.0.2.53\nnameserver 2001:db8::53' "--dns replaces the name servers"

    skrun --network "$m" --add-host web.test:"$gw" "$BB" timeout 5 wget -q -O - "http://web.test:$HTTP_PORT/index.html"
    is "$status:$out" "0:from the host" "the job reaches an HTTP server on the host's loopback by an --add-host name"
    skrun --network "$m" "$BB" timeout 5 wget -q -O - "http://host.containers.internal:$HTTP_PORT/index.html"
    is "$status:$out" "0:from the host" "... and as host.containers.internal"
    skrun --network "$m" -v "$SKIFF_PROBE:/probe:ro" "$BB" /probe udp-send "$gw" "$UDP_PORT" "ping-$m"
    is "$status:$out" "0:host:ping-$m" "UDP from the job to the host and back"

    if busybox nslookup deb.debian.org >/dev/null 2>&1; then
        skrun --network "$m" "$BB" nslookup deb.debian.org
        is "$status" 0 "the job resolves a name through $dns (the host resolves it too)"
    else
        skip "the host itself resolves no name here"
    fi

    # -p: a server in the job, reached from the host; the job ends when
    # the host has made its requests (the flag file in a volume).
    port=$(free_port)
    tmp=$MODE_DIR/www-$m
    user_dir "$tmp"
    ctr_http='echo "from the job" >/srv/page; httpd -f -p 8000 -h /srv & i=0; while [ ! -e /srv/done ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; kill $!; test -e /srv/done'
    skrun_bg "$TEST_TMP/bg.out" --network "$m" -p "$port:8000" -v "$tmp:/srv" "$BB" sh -c "$ctr_http"
    local got= i
    for ((i = 0; i < 100; i++)); do
        got=$(curl -sS -m 2 "http://127.0.0.1:$port/page" 2>/dev/null) && break
        sleep 0.2
    done
    is "$got" "from the job" "-p $port:8000: the host reaches a server in the job through 127.0.0.1"
    capture curl -sS -m 5 "http://$HOST_IP:$port/page"
    is "$out" "from the job" "... and through the host's address $HOST_IP"
    touch "$tmp/done"
    wait "$BG"
    is "$?" 0 "the job with -p ran to its end"
    ok "no helper is left after the job" wait_gone helper_pids

    # -p over UDP into the job, sent to the host's address (Debian 12's
    # pasta loses the answer to a datagram sent to 127.0.0.1: README).
    port=$(free_port)
    skrun_bg "$TEST_TMP/bg.out" --network "$m" -p "$port:5353/udp" -v "$SKIFF_PROBE:/probe:ro" "$BB" /probe udp-echo 5353
    capture python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
for i in range(40):
    s.sendto(b"udp-in", (sys.argv[1], int(sys.argv[2])))
    try:
        print(s.recv(512).decode()); sys.exit(0)
    except socket.timeout:
        pass
sys.exit(1)' "$HOST_IP" "$port"
    is "$status:$out" "0:echo:udp-in" "-p $port:5353/udp: a datagram from the host reaches the job and its answer comes back"
    wait "$BG"
    is "$?:$(cat "$TEST_TMP/bg.out")" "0:udp-in" "the job got the datagram"

    # A busy host port is an error before the job starts.
    skrun --network "$m" -p "$HTTP_PORT:80" "$BB" echo started
    like "$status:$err" "^125:.*-p $HTTP_PORT:80: host port $HTTP_PORT/tcp is in use.*\[job\.network\.port_busy\]$" \
        "a busy host port is a clear error"
    is "$out" "" "... before the job starts"
    skrun --network "$m" -p "127.0.0.1:$UDP_PORT:53/udp" "$BB" echo started
    like "$status:$err" "^125:.*host port $UDP_PORT/udp is in use.*\[job\.network\.port_busy\]$" \
        "a busy UDP host port (with HOST_IP) too"
    if [ "$MODE" != root ]; then
        skrun --network "$m" -p 80:80 "$BB" true
        like "$status:$err" '^125:.*-p 80:80: host port 80 is below.*\[job\.network\.port_denied\]$' \
            "rootless: a privileged host port is a clear error"
    fi

    # The helper ends with the job: a job whose init is killed by SIGKILL
    # (from the host: pid 1 of a namespace ignores its own SIGKILL) ...
    skrun_bg "$TEST_TMP/bg.out" --network "$m" "$BB" sleep 60
    local init=
    if wait_helper; then
        init=$(oci_quick list --format json | jq -r '.[0].pid // empty')
    fi
    if [ -n "$init" ] && [ "$init" -gt 1 ]; then
        kill -KILL "$init"
        wait "$BG"
        is "$?" 137 "a job killed by SIGKILL: skiff run's exit status is 137"
        ok "no helper is left after the job was killed by SIGKILL" wait_gone helper_pids
    else
        fail "the job's init is found in skiff-oci list" "$(cat "$TEST_TMP/bg.out")"
        kill -KILL "$BG" 2>/dev/null
        wait "$BG" 2>/dev/null
        remove_orphans
    fi
    # ... and killed before the job's command started: skiff starts the
    # job once its helper is ready, and a helper that waits for a file
    # keeps the job "created" until then.  The same 137, not an error
    # about a start.
    local wrap=$MODE_DIR/wrap-$m st=
    user_dir "$wrap"
    printf '#!/bin/sh\nwhile [ ! -e %s/go ]; do sleep 0.05; done\nexec %s "$@"\n' \
        "$wrap" "$(command -v "$m")" >"$wrap/$m"
    chmod 755 "$wrap/$m"
    sk_argv
    "${SK[@]:0:${#SK[@]}-1}" env "PATH=$wrap:$PATH" "$SKIFF" run --store "$S" --root "$STATE_ROOT" \
        -q -e "SKIFF_TEST_TOKEN=$TOKEN" --network "$m" "$BB" sleep 60 \
        >"$TEST_TMP/bg.out" 2>&1 </dev/null 8>&- &
    BG=$!
    for ((i = 0; i < 200; i++)); do
        st=$(oci_quick list --format json | jq -r '.[0] // empty | "\(.status) \(.pid)"')
        [ -n "$st" ] && break
        sleep 0.1
    done
    if [ "${st%% *}" = created ]; then
        kill -KILL "${st#* }"
        touch "$wrap/go"
        wait "$BG"
        is "$?:$(cat "$TEST_TMP/bg.out")" "137:" \
            "killed while created: skiff run exits 137 and says nothing"
        ok "... no helper is left" wait_gone helper_pids
        is "$(oci_quick list --quiet)" "" "... and no container is left"
    else
        fail "killed while created: the job is created while its helper waits" "state: $st"
        touch "$wrap/go"
        kill -KILL "$BG" 2>/dev/null
        wait "$BG" 2>/dev/null
        remove_orphans
    fi
    rm -rf "$wrap"
    # ... after SIGKILL of skiff run.
    skrun_bg "$TEST_TMP/bg.out" --network "$m" "$BB" sleep 60
    if wait_helper; then
        pass "the helper runs during the job"
        kill -KILL "$(skiff_pid_of_bg)"
        wait "$BG" 2>/dev/null
        ok "no helper is left after SIGKILL of skiff run" wait_gone helper_pids
    else
        fail "the helper runs during the job" "$(cat "$TEST_TMP/bg.out")"
        kill -KILL "$BG" 2>/dev/null
        wait "$BG" 2>/dev/null
        skip "no helper started" 1
    fi
    remove_orphans
    # ... and after SIGTERM to skiff run, which the job gets and exits on.
    skrun_bg "$TEST_TMP/bg.out" --network "$m" "$BB" sh -c 'trap "exit 42" TERM; sleep 60 & wait'
    if wait_helper; then
        sleep 0.3
        kill -TERM "$(skiff_pid_of_bg)"
        wait "$BG"
        is "$?" 42 "SIGTERM to skiff run reaches the job"
        ok "no helper is left after SIGTERM to skiff run" wait_gone helper_pids
    else
        fail "the helper runs during the job" "$(cat "$TEST_TMP/bg.out")"
        kill -KILL "$BG" 2>/dev/null
        wait "$BG" 2>/dev/null
        remove_orphans
    fi
    # ... after skiff kill of the named run from another shell ...
    local kname="net-kill-$MODE-$m"
    skrun_bg "$TEST_TMP/bg.out" --name "$kname" --network "$m" "$BB" sleep 60
    if wait_helper; then
        capture "${SK[@]}" kill --store "$S" "$kname"
        is "$status:$out" "0:$kname" "skiff kill of a run with a $m network"
        wait "$BG"
        is "$?" 137 "the killed run's skiff run exits 137"
        ok "no helper is left after skiff kill" wait_gone helper_pids
    else
        fail "the helper runs during the job" "$(cat "$TEST_TMP/bg.out")"
        kill -KILL "$BG" 2>/dev/null
        wait "$BG" 2>/dev/null
        remove_orphans
    fi
    # ... and with a detached run: its monitor holds the helper, and stops
    # it when the job ends (skiff stop here).
    skrun -d --name "$kname-d" --network "$m" "$BB" sleep 60
    is "$status" 0 "run -d with a $m network"
    if wait_helper; then
        pass "the detached job's helper runs"
        capture "${SK[@]}" stop -t 1 --store "$S" "$kname-d"
        is "$status" 0 "skiff stop of the detached run"
        ok "no helper is left after the detached run was stopped" wait_gone helper_pids
    else
        fail "the detached job's helper runs"
        capture "${SK[@]}" kill --store "$S" "$kname-d"
        skip "no helper started" 2
    fi
    if wait_gone test_pids; then
        pass "no process of the test is left: no keeper, no job"
    else
        fail "no process of the test is left: no keeper, no job" \
            "$(for p in $(test_pids); do echo "$p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"; done)"
    fi
    TAP_PREFIX="[$MODE] "
}

check_missing_helper() {
    local bin=$TEST_TMP/bin-$MODE t
    mkdir -p "$bin"
    for t in newuidmap newgidmap; do
        command -v $t >/dev/null && ln -sf "$(command -v $t)" "$bin/$t"
    done
    sk_argv
    capture "${SKP[@]}" env PATH="$bin" "$SKIFF" run --store "$S" --root "$STATE_ROOT" -q --network pasta "$BB" true
    like "$status:$err" '^125:.*pasta is not in PATH: install the Debian package passt.*\[job\.network\.helper_missing\]$' \
        "--network pasta without pasta: names the package passt"
    capture "${SKP[@]}" env PATH="$bin" "$SKIFF" run --store "$S" --root "$STATE_ROOT" -q --network slirp4netns "$BB" true
    like "$status:$err" '^125:.*install the Debian package slirp4netns.*\[job\.network\.helper_missing\]$' \
        "--network slirp4netns without slirp4netns: names the package"
    capture "${SKP[@]}" env PATH="$bin" "$SKIFF" run --store "$S" --root "$STATE_ROOT" -q --network private "$BB" true
    like "$status:$err" '^125:.*neither is in PATH: install the Debian package passt.*\[job\.network\.helper_missing\]$' \
        "--network private with neither: names the package"
    # A helper that fails: its last line of output is in the error.
    printf '#!/bin/sh\necho "fake pasta: no tap device here" >&2\nexit 1\n' >"$bin/pasta"
    chmod 0755 "$bin/pasta"
    capture "${SKP[@]}" env PATH="$bin" "$SKIFF" run --store "$S" --root "$STATE_ROOT" -q \
        -e "SKIFF_TEST_TOKEN=$TOKEN" --network pasta "$BB" echo started
    like "$status:$err" '^125:.*--network pasta: .*/pasta exited while setting up: "fake pasta: no tap device here".*\[job\.network\.helper_failed\]$' \
        "a helper that fails is a clear error with its last line of output"
    is "$out" "" "... and the job does not start"
    is "$(ls -A "$S/containers" | grep -v '^names$')" "" "... and its container is removed"
    rm -f "$bin/pasta"
    if command -v slirp4netns >/dev/null; then
        ln -sf "$(command -v slirp4netns)" "$bin/slirp4netns"
        capture "${SKP[@]}" env PATH="$bin" "$SKIFF" run --store "$S" --root "$STATE_ROOT" -q \
            -e "SKIFF_TEST_TOKEN=$TOKEN" --network private "$BB" ls /sys/class/net
        is "$status:$(echo $out)" "0:lo tap0" "--network private without pasta picks slirp4netns"
    else
        skip "slirp4netns is not installed"
    fi
    if command -v pasta >/dev/null; then
        skrun --network private "$BB" ls /sys/class/net
        is "$status:$(echo $out)" "0:eth0 lo" "--network private picks pasta when it is installed"
    else
        skip "pasta is not installed"
    fi
}

check_bad_options() {
    skrun --network bridge "$BB" true
    like "$status:$err" '^125:.*--network bridge: expected none, host, pasta, slirp4netns, private or ns:PATH.*\[job\.network\.invalid\]$' \
        "an unknown --network mode is a clear error"
    skrun --network ns:relative "$BB" true
    like "$status:$err" '^125:.*\[job\.network\.invalid\]$' "ns: needs an absolute path"
    skrun --network ns:/etc/hostname "$BB" true
    like "$status:$err" '^125:.*ns:/etc/hostname: not a network namespace.*\[job\.network\.ns_invalid\]$' \
        "ns:PATH that is not a network namespace"
    skrun --network private -p 70000:80 "$BB" true
    like "$status:$err" '^125:.*-p 70000:80: expected \[HOST_IP:\]HOST_PORT:CONTAINER_PORT.*\[job\.network\.publish_invalid\]$' \
        "a port out of range"
    skrun --network private -p 1.2.3:8080:80 "$BB" true
    like "$status:$err" '^125:.*-p 1.2.3:8080:80: the host address.*\[job\.network\.publish_invalid\]$' \
        "a malformed HOST_IP"
    skrun --network private -p 8080:80/sctp "$BB" true
    like "$status:$err" '^125:.*\[job\.network\.publish_invalid\]$' "a protocol other than tcp and udp"
    skrun --add-host nocolon "$BB" true
    like "$status:$err" '^125:.*--add-host nocolon: expected NAME:IP.*\[job\.network\.add_host_invalid\]$' \
        "--add-host without an address"
    skrun --add-host name:300.1.1.1 "$BB" true
    like "$status:$err" '^125:.*\[job\.network\.add_host_invalid\]$' "--add-host with a bad address"
    skrun --dns resolver.example "$BB" true
    like "$status:$err" '^125:.*--dns resolver.example: expected the IPv4 or IPv6 address.*\[job\.network\.dns_invalid\]$' \
        "--dns with a name"
    is "$(ls -A "$S/containers" 2>/dev/null | grep -v '^names$')" "" "refused runs leave no container directory"
}

# --network ns:PATH: a namespace the test makes (as root, or as the test
# user in a user namespace of its own), with lo up and a server on it.
check_ns() {
    local pidfile=$MODE_DIR/ns.pid i target=
    local ns_cmd="echo \$\$ >$pidfile && ip link set lo up && exec busybox nc -l -p 12345 -e echo from-the-namespace"
    rm -f "$pidfile"
    if [ "$MODE" = root ]; then
        unshare -n sh -c "$ns_cmd" 8>&- &
    else
        as_user unshare -Urn sh -c "$ns_cmd" &
    fi
    NS_PID=$!
    # The namespace's own process (runuser's grandchild in the rootless
    # modes) writes its pid, then becomes the server.
    for ((i = 0; i < 50; i++)); do
        target=$(cat "$pidfile" 2>/dev/null)
        [ -n "$target" ] && nsenter -t "$target" -n ss -ltn 2>/dev/null | grep -q ':12345 ' && break
        sleep 0.1
    done
    skrun --network "ns:/proc/$target/ns/net" "$BB" nc 127.0.0.1 12345
    is "$status:$out" "0:from-the-namespace" "ns:PATH joins the namespace: its loopback server answers"
    [ -n "$target" ] && kill -KILL "$target" 2>/dev/null
    kill -KILL "$NS_PID" 2>/dev/null
    wait "$NS_PID" 2>/dev/null
    NS_PID=
    if [ "$MODE" != root ]; then
        skrun --network ns:/proc/1/ns/net "$BB" true
        like "$status:$err" '^125:.*ns:/proc/1/ns/net.*\[job\.network\.ns_(invalid|not_joinable)\]$' \
            "rootless: the host's namespace cannot be joined, said clearly"
    fi
}

each_mode() {
    S=$MODE_DIR/store
    mkdir -p "$STATE_ROOT"
    [ "$MODE" = root ] || chown "$TEST_USER:" "$STATE_ROOT"
    sk_argv
    capture "${SK[@]}" pull -q --store "$S" "oci:$SKIFF_IMAGE"
    is "$status" 0 "pull the bundled image"
    check_none
    check_host
    check_bad_options
    local h
    for h in "${HELPERS[@]}"; do
        case $h in
        pasta) check_helper pasta "$PASTA_GW" 169.254.1.1 eth0 ;;
        slirp4netns) check_helper slirp4netns 10.0.2.2 10.0.2.3 tap0 ;;
        esac
    done
    [ ${#HELPERS[@]} -eq 2 ] || skip "pasta or slirp4netns is not installed (.ci/deps installs both)"
    check_missing_helper
    check_ns
    is "$(grep -rl host.containers.internal "$S/layers" 2>/dev/null)" "" "no image layer holds the job's /etc files"
    is "$(ls -A "$S/containers" | grep -v '^names$')" "" "no container directory is left in the store"
}

for_each_mode each_mode
stop_servers
done_testing
