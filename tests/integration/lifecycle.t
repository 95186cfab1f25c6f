#!/bin/bash
# The container lifecycle through skiff-oci, runc's argument shape: create,
# state, start, kill, delete, run, list, and the exact command lines that
# containerd, Podman and Slurm send.  Every check runs as root and rootless
# (one mapped id, and a subordinate range).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

# A job that waits until the host creates rootfs/tmp/go.
WAIT_GO='echo started; while [ ! -e /tmp/go ]; do sleep 0.1; done; echo finished'

# running_container BUNDLE ARGS...: create and start a container running
# ARGS in BUNDLE; sets CID.  Returns 1 (after a failed check) if it does
# not reach "running".
running_container() {
    local b=$1
    shift
    set_args "$b" "$@"
    new_id
    CID=$NEW_ID
    # The container's processes carry SKIFF_CID=ID (see cid_pids).
    jq_edit "$b" '.process.env = [.process.env[] | select(startswith("SKIFF_CID=") | not)] + [$c]' \
        --arg c "SKIFF_CID=$CID"
    oci create --bundle "$b" "$CID" >"$b.out" 2>"$b.err" </dev/null &&
        oci start "$CID" </dev/null >>"$b.out" 2>>"$b.err" &&
        wait_status "$CID" running 10 && return 0
    fail "container $CID is running" "$(cat "$b.err")"
    return 1
}

# pid_alive PID: the process exists and is not a zombie.
pid_alive() {
    [ -e "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# wait_gone PID: until the process is gone (or a zombie), at most 10 s.
wait_gone() {
    local i
    for ((i = 0; i < 100; i++)); do
        pid_alive "$1" || return 0
        sleep 0.1
    done
    return 1
}

# Processes whose environment holds SKIFF_CID=ID (root sees every user's).
cid_pids() {
    local p
    for p in /proc/[0-9]*; do
        grep -qxzF "SKIFF_CID=$1" "$p/environ" 2>/dev/null && echo "${p#/proc/}"
    done
}

check_spec() {
    local b=$MODE_DIR/spec
    bundle "$b"
    capture jq -c . "$b/config.json"
    is "$status" 0 "spec writes a valid config.json"
    like "$(jq -r .ociVersion "$b/config.json")" '^1\.' "spec: ociVersion 1.x"
    if [ "$MODE" = single ]; then
        is "$(jq -c '[.linux.uidMappings, .linux.gidMappings]' "$b/config.json")" \
            "[[{\"containerID\":0,\"hostID\":$TEST_UID,\"size\":1}],[{\"containerID\":0,\"hostID\":$TEST_GID,\"size\":1}]]" \
            "spec --rootless maps container id 0 to the calling user, one id"
        is "$(jq -r '[.linux.namespaces[].type] | index("user") != null' "$b/config.json")" true \
            "spec --rootless asks for a user namespace"
    fi
}

check_create_start_delete() {
    local b=$MODE_DIR/life pidfile st pid i
    bundle "$b"
    set_args "$b" sh -c "$WAIT_GO"
    jq_edit "$b" '.annotations = {"org.skiff.test": "lifecycle"}'
    new_id
    local id=$NEW_ID
    pidfile=$MODE_DIR/life.pid

    oci create --bundle "$b" --pid-file "$pidfile" "$id" >"$b.out" 2>"$b.err" </dev/null
    is "$?" 0 "create exits 0"
    # Read right away: the pid file must be complete when create returns.
    pid=$(cat "$pidfile" 2>/dev/null)
    like "$pid" '^[1-9][0-9]*$' "--pid-file holds a pid when create returns"
    ok "the init process $pid exists after create" pid_alive "${pid:-0}"

    st=$(oci state "$id" 2>"$b.state.err")
    is "$?" 0 "state of a created container exits 0"
    is "$(jq -r .status <<<"$st")" created "state says created"
    is "$(jq -r .pid <<<"$st")" "$pid" "state pid is the pid-file pid"
    is "$(jq -r .id <<<"$st")" "$id" "state id is the container id"
    like "$(jq -r .ociVersion <<<"$st")" '^1\.[0-9]+\.[0-9]+' "state has ociVersion"
    is "$(jq -r .bundle <<<"$st")" "$b" "state bundle is the absolute bundle path"
    is "$(jq -r '.annotations["org.skiff.test"]' <<<"$st")" lifecycle "state carries the config annotations"
    ok "the state dir is under --root" test -d "$STATE_ROOT/$id"
    nok "another --root does not see the container" oci --root "$MODE_DIR/other-root" state "$id"

    sleep 0.3
    unlike "$(cat "$b.out")" started "the job does not run before start"

    # A second create with the same id fails and leaves the first alone.
    oci create --bundle "$b" "$id" >"$b.out2" 2>"$b.err2" </dev/null
    isnt "$?" 0 "a second create with the same id fails"
    is "$(state_field "$id" .status)/$(state_field "$id" .pid)" "created/$pid" \
        "the first container is still created, same pid"

    oci start "$id" </dev/null >/dev/null 2>"$b.start.err"
    is "$?" 0 "start exits 0"
    ok "state says running after start" wait_status "$id" running 5
    for ((i = 0; i < 50; i++)); do grep -q started "$b.out" && break; sleep 0.1; done
    is "$(head -n 1 "$b.out")" started "the job runs after start, its stdout is create's stdout"

    touch "$b/rootfs/tmp/go"
    ok "state says stopped after the job exits" wait_status "$id" stopped 10
    ok "the init process is gone once stopped" wait_gone "$pid"

    oci delete "$id" </dev/null >/dev/null 2>"$b.del.err"
    is "$?" 0 "delete of a stopped container exits 0"
    nok "the state dir is removed by delete" test -e "$STATE_ROOT/$id"
    nok "state of a deleted container fails" oci state "$id"
}

# The init of a created container waits for start without the caller's
# other fds: a caller reading to its end a pipe it left open for create
# (not passed to the container) is not held up until start.
check_create_drops_fds() {
    local b=$MODE_DIR/fds p=$MODE_DIR/fds.fifo reader
    bundle "$b"
    set_args "$b" true
    new_id
    rm -f "$p" && mkfifo "$p"
    timeout 5 cat "$p" >/dev/null &
    reader=$!
    oci create --bundle "$b" "$NEW_ID" 9>"$p" >/dev/null 2>&1 </dev/null
    wait "$reader"
    is "$?" 0 "a created container's init holds no other fd of the caller (a pipe left open reads its end)"
    is "$(state_field "$NEW_ID" .status)" created "and that container is created"
    oci delete --force "$NEW_ID" >/dev/null 2>&1 </dev/null
}

check_kill() {
    local b=$MODE_DIR/kill sig pid
    bundle "$b"
    for sig in 9 KILL SIGKILL; do
        running_container "$b" sleep 1000 || continue
        pid=$(state_field "$CID" .pid)
        capture "${RUNAS[@]}" "$SKIFF_OCI" --root "$STATE_ROOT" kill "$CID" "$sig"
        is "$status" 0 "kill ID $sig exits 0"
        ok "kill ID $sig stops the container" wait_status "$CID" stopped 10
        ok "kill ID $sig: the init process is gone" wait_gone "${pid:-0}"
        ok "delete after kill ID $sig" oci delete "$CID"
    done

    # No signal: SIGTERM.  pid 1 ignores it unless it has a handler.
    running_container "$b" sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done' && {
        ocap kill "$CID"
        is "$status" 0 "kill ID without a signal exits 0"
        ok "kill ID without a signal sends SIGTERM: the job's handler ran" wait_status "$CID" stopped 10
        ok "delete after kill ID" oci delete "$CID"
    }

    # --all reaches every process of the container, not only pid 1.
    running_container "$b" sh -c 'sleep 1000 & sleep 1000 & wait' && {
        local pids n left=
        for ((n = 0; n < 50; n++)); do
            pids=$(cid_pids "$CID")
            [ "$(wc -w <<<"$pids")" -ge 3 ] && break
            sleep 0.1
        done
        is "$(wc -w <<<"$pids")" 3 "kill --all: the job and its two children run"
        ocap kill --all "$CID" KILL
        is "$status" 0 "kill --all ID KILL exits 0"
        ok "kill --all stops the container" wait_status "$CID" stopped 10
        for n in $pids; do wait_gone "$n" || left+=" $n"; done
        is "$left" "" "kill --all: no process of the container is left"
        ok "delete after kill --all" oci delete "$CID"
    }
}

check_run() {
    local b=$MODE_DIR/run
    bundle "$b"

    set_args "$b" sh -c 'echo hello from the job'
    new_id
    ocap run --bundle "$b" "$NEW_ID"
    is "$status" 0 "run: exit code 0"
    is "$out" "hello from the job" "run: the job's stdout is run's stdout"
    nok "run removes the container when the job ends" test -e "$STATE_ROOT/$NEW_ID"

    set_args "$b" sh -c 'echo to stderr >&2; exit 3'
    new_id
    ocap run --bundle "$b" "$NEW_ID"
    is "$status" 3 "run: the job's exit code 3"
    like "$err" "to stderr" "run: the job's stderr is run's stderr"

    set_args "$b" /bin/no-such-command
    new_id
    ocap run --bundle "$b" "$NEW_ID"
    is "$status" 127 "run: 127 when the command does not exist"
    nok "run of a missing command leaves no state" test -e "$STATE_ROOT/$NEW_ID"

    set_args "$b" skiff-probe exit 42
    new_id
    ocap run --bundle "$b" "$NEW_ID"
    is "$status" 42 "run: the command is looked up in the job's PATH, exit code 42"

    # Killed by SIGKILL from outside: 128 + 9.
    set_args "$b" skiff-probe sleep 1000
    new_id
    local id=$NEW_ID rc
    oci_bg "$b.out" "$b.err" run --bundle "$b" "$id"
    local bg=$BG_PID
    if wait_status "$id" running 10; then
        oci kill "$id" 9 </dev/null >/dev/null 2>&1
        wait_bg "$bg" 20
        rc=$?
        is "$rc" 137 "run: 137 when the job is killed by SIGKILL" 
    else
        kill -KILL "$bg" 2>/dev/null; wait "$bg" 2>/dev/null
        fail "run: 137 when the job is killed by SIGKILL" "the container never ran: $(cat "$b.err")"
    fi

    # --detach: run returns, the job keeps running.
    set_args "$b" skiff-probe sleep 1000
    new_id
    id=$NEW_ID
    ocap run --detach --bundle "$b" "$id"
    is "$status" 0 "run --detach exits 0"
    is "$(state_field "$id" .status)" running "run --detach: the container is running"
    ok "run --detach: delete --force removes it" oci delete --force "$id"
    nok "run --detach: state fails after delete --force" oci state "$id"
}

check_list_and_delete() {
    local b=$MODE_DIR/list id1 id2 pid
    bundle "$b"
    set_args "$b" skiff-probe sleep 1000
    new_id; id1=$NEW_ID
    new_id; id2=$NEW_ID
    oci create --bundle "$b" "$id1" >/dev/null 2>&1 </dev/null
    oci create --bundle "$b" "$id2" >/dev/null 2>&1 </dev/null
    ocap list
    is "$status" 0 "list exits 0"
    local nl=$'\n'
    like "$out" "(^|$nl)${id1}[[:space:]]" "list shows the first container"
    like "$out" "(^|$nl)${id2}[[:space:]]" "list shows the second container"
    ocap list --format json
    is "$status" 0 "list --format json exits 0"
    is "$(jq -r '[.[] | .id] | sort | join(" ")' <<<"$out" 2>&1)" "$id1 $id2" \
        "list --format json: both ids"
    is "$(jq -r '[.[] | .status] | unique | join(" ")' <<<"$out" 2>&1)" created \
        "list --format json: both created"

    oci start "$id1" </dev/null >/dev/null 2>&1
    wait_status "$id1" running 5
    pid=$(state_field "$id1" .pid)
    ocap delete "$id1"
    isnt "$status" 0 "delete of a running container fails without --force"
    is "$(state_field "$id1" .status)" running "the running container survives that delete"
    ocap delete --force "$id1"
    is "$status" 0 "delete --force of a running container exits 0"
    nok "delete --force removes the container" oci state "$id1"
    ok "delete --force kills the job" wait_gone "${pid:-0}"

    pid=$(state_field "$id2" .pid)
    ocap delete --force "$id2"
    is "$status" 0 "delete --force of a created container exits 0"
    ok "delete --force of a created container ends its init process" wait_gone "${pid:-0}"
    ocap list --format json
    is "$(jq -r 'length' <<<"$out" 2>&1)" 0 "list --format json is empty after the deletes"

    ocap delete --force "skt-no-such-container-$$"
    is "$status" 0 "delete --force of a nonexistent container exits 0"
    ocap delete "skt-no-such-container-$$"
    isnt "$status" 0 "delete of a nonexistent container fails"
}

# Without --root and XDG_RUNTIME_DIR the test user's state goes to a
# private dir under /tmp; with XDG_RUNTIME_DIR (Podman) under it.
check_default_state_dir() {
    local b=$MODE_DIR/defstate id dir
    bundle "$b"
    set_args "$b" skiff-probe sleep 1000
    new_id
    id=$NEW_ID
    track "$id" ""          # the cleanup deletes it without --root
    if [ "$MODE" = root ]; then
        capture "${RUNAS[@]}" "$SKIFF_OCI" create --bundle "$b" "$id"
        is "$status" 0 "create without --root exits 0"
        ok "root's default state dir is /run/skiff" test -d "/run/skiff/$id"
        capture "${RUNAS[@]}" "$SKIFF_OCI" delete --force "$id"
        is "$status" 0 "delete --force without --root exits 0"
        return
    fi
    as_user_argv # no XDG_RUNTIME_DIR
    capture "${AS_USER_ARGV[@]}" "$SKIFF_OCI" create --bundle "$b" "$id"
    is "$status" 0 "create without --root nor XDG_RUNTIME_DIR exits 0"
    dir=$(find /tmp -maxdepth 3 -type d -name "$id" -user "$TEST_USER" 2>/dev/null | head -n 1)
    like "$dir" "^/tmp/" "the default state dir is under /tmp"
    if [ -n "$dir" ]; then
        is "$(stat -c '%a %U' "$(dirname "$dir")")" "700 $TEST_USER" \
            "the default state root is 0700 and owned by the user"
    else
        fail "the default state root is 0700 and owned by the user" "no state dir named $id under /tmp"
    fi
    capture "${AS_USER_ARGV[@]}" "$SKIFF_OCI" state "$id"
    is "$(jq -r .status <<<"$out" 2>&1)" created "state without --root finds the container"
    capture "${AS_USER_ARGV[@]}" "$SKIFF_OCI" delete --force "$id"
    is "$status" 0 "delete --force without --root exits 0"
    [ -n "$dir" ] && nok "delete removes the default state dir of the container" test -e "$dir"
}

# containerd: --root R --log F --log-format json create --bundle B
# --pid-file B/init.pid ID, from cwd B; then start, kill 15/9, kill --all,
# delete, delete --force on the id that no longer exists.
check_containerd_shape() {
    local b=$MODE_DIR/ctrd id log pid
    bundle "$b"
    set_args "$b" skiff-probe sleep 1000
    new_id
    id=$NEW_ID
    log=$b/log.json
    local shape=(--root "$STATE_ROOT" --log "$log" --log-format json)
    capture sh -c 'cd "$1" && shift && exec "$@"' sh "$b" "${RUNAS[@]}" "$SKIFF_OCI" "${shape[@]}" \
        create --bundle "$b" --pid-file "$b/init.pid" "$id"
    is "$status" 0 "containerd shape: create exits 0"
    pid=$(cat "$b/init.pid" 2>/dev/null)
    is "$(state_field "$id" .pid)" "$pid" "containerd shape: init.pid holds the init pid"
    capture "${RUNAS[@]}" "$SKIFF_OCI" "${shape[@]}" start "$id"
    is "$status" 0 "containerd shape: start exits 0"
    ok "containerd shape: running" wait_status "$id" running 5
    capture "${RUNAS[@]}" "$SKIFF_OCI" "${shape[@]}" kill "$id" 15
    is "$status" 0 "containerd shape: kill ID 15 exits 0"
    capture "${RUNAS[@]}" "$SKIFF_OCI" "${shape[@]}" kill --all "$id" 9
    is "$status" 0 "containerd shape: kill --all ID 9 exits 0"
    ok "containerd shape: stopped after kill --all ID 9" wait_status "$id" stopped 10
    capture "${RUNAS[@]}" "$SKIFF_OCI" "${shape[@]}" delete "$id"
    is "$status" 0 "containerd shape: delete exits 0"
    capture "${RUNAS[@]}" "$SKIFF_OCI" "${shape[@]}" delete --force "$id"
    is "$status" 0 "containerd shape: delete --force of the deleted id exits 0"
    if [ -s "$log" ]; then
        ok "containerd shape: every line of the --log file is JSON" jq -e . "$log"
    else
        pass "containerd shape: the --log file has no lines to check"
    fi
}

# Podman: no --root (XDG_RUNTIME_DIR decides), create --bundle U
# --pid-file F ID, start, kill ID 15 then kill ID 9, delete --force ID.
check_podman_shape() {
    [ "$MODE" = root ] && return 0 # rootful Podman is the root default dir case
    local b=$MODE_DIR/podman xdg=$MODE_DIR/xdg id dir
    bundle "$b"
    set_args "$b" skiff-probe sleep 1000
    user_dir "$xdg"
    chmod 0700 "$xdg"
    AS_USER_XDG=$xdg
    as_user_argv
    local run=("${AS_USER_ARGV[@]}" "$SKIFF_OCI")
    new_id
    id=$NEW_ID
    track "$id" ""
    capture "${run[@]}" create --bundle "$b" --pid-file "$MODE_DIR/podman.pid" "$id"
    is "$status" 0 "Podman shape: create without --root exits 0"
    dir=$(find "$xdg" -maxdepth 3 -type d -name "$id" 2>/dev/null | head -n 1)
    like "$dir" "^$xdg/" "Podman shape: the state goes under XDG_RUNTIME_DIR"
    capture "${run[@]}" start "$id"
    is "$status" 0 "Podman shape: start exits 0"
    capture "${run[@]}" kill "$id" 15
    is "$status" 0 "Podman shape: kill ID 15 exits 0"
    capture "${run[@]}" kill "$id" 9
    is "$status" 0 "Podman shape: kill ID 9 exits 0"
    capture "${run[@]}" delete --force "$id"
    is "$status" 0 "Podman shape: delete --force exits 0"
    capture "${run[@]}" state "$id"
    isnt "$status" 0 "Podman shape: the container is gone"
    AS_USER_XDG=
    as_user_argv
}

# Slurm: each command through /bin/sh -c, as the job user with HOME=/root
# and no XDG_RUNTIME_DIR: RT --root=DIR run ID -b B; `state` as root on
# the user's dir; RT --root=DIR kill -a ID (no signal); delete --force.
check_slurm_shape() {
    local b=$MODE_DIR/slurm id root=$MODE_DIR/slurm-state rc st
    bundle "$b"
    set_args "$b" sh -c 'echo slurm-job; trap "exit 7" TERM; while :; do sleep 0.1; done'
    id="node1.$TEST_USER.$$.0.$MODE"
    track "$id" "$root"
    local who=()
    [ "$MODE" = root ] || who=(runuser -u "$TEST_USER" --)
    [ "$IS_ROOT" -eq 1 ] || who=()
    local envv=(env -i PATH="$DEFAULT_PATH" HOME=/root SKIFF_TEST_TOKEN="$TOKEN")
    "${who[@]}" "${envv[@]}" /bin/sh -c "$SKIFF_OCI --root=$root run $id -b $b" \
        >"$b.out" 2>"$b.err" </dev/null 8>&- &
    local bg=$!
    # Poll as the user: a query as root could create the state dir first.
    if wait_status_as "$root" "$id" running 10 "${who[@]}"; then
        pass "Slurm shape: run ID -b B starts the job"
        st=$(timeout 20 "$SKIFF_OCI" --root="$root" state "$id" 2>&1)
        is "$(jq -r .status <<<"$st" 2>&1)" running "Slurm shape: state as root on the user's state dir"
        capture "${who[@]}" "${envv[@]}" /bin/sh -c "$SKIFF_OCI --root=$root kill -a $id"
        is "$status" 0 "Slurm shape: kill -a ID without a signal exits 0"
        wait_bg "$bg" 20
        rc=$?
        is "$rc" 7 "Slurm shape: run returns the job's exit code after SIGTERM"
        is "$(head -n 1 "$b.out")" slurm-job "Slurm shape: the job's stdout"
    else
        kill -KILL "$bg" 2>/dev/null; wait "$bg" 2>/dev/null
        fail "Slurm shape: run ID -b B starts the job" "$(cat "$b.err")"
    fi
    capture "${who[@]}" "${envv[@]}" /bin/sh -c "$SKIFF_OCI --root=$root delete --force $id"
    is "$status" 0 "Slurm shape: delete --force ID exits 0"
}

# wait_status_as ROOT ID STATUS SECONDS [RUNAS...]: as wait_status, with
# another state root, as another user.
wait_status_as() {
    local i s root=$1 id=$2 want=$3 secs=$4
    shift 4
    for ((i = 0; i < secs * 10; i++)); do
        s=$(timeout 10 "$@" "$SKIFF_OCI" --root="$root" state "$id" 2>/dev/null 8>&- | jq -r .status 2>/dev/null)
        [ "$s" = "$want" ] && return 0
        sleep 0.1
    done
    return 1
}

# runtime.md's operations at the edges of the lifecycle.
check_edge_cases() {
    local b=$MODE_DIR/edges id pid sig
    bundle "$b"
    set_args "$b" skiff-probe sleep 1000

    # kill of a created container: the init waits for start, and is pid 1
    # of its namespace, yet TERM ends it as KILL does.
    for sig in KILL TERM; do
        new_id; id=$NEW_ID
        oci create --bundle "$b" "$id" >/dev/null 2>&1 </dev/null
        pid=$(state_field "$id" .pid)
        ocap kill "$id" "$sig"
        is "$status" 0 "kill $sig of a created container exits 0"
        ok "kill $sig of a created container: state says stopped" wait_status "$id" stopped 10
        ok "kill $sig of a created container: its init is gone" wait_gone "${pid:-0}"
        ocap start "$id"
        isnt "$status" 0 "start of a stopped container fails"
        like "$err" "is stopped: only a created container can be started" \
            "start of a stopped container says why"
        ocap kill "$id" KILL
        isnt "$status" 0 "kill of a stopped container fails"
        is "$(state_field "$id" .status)" stopped "a failed kill leaves the stopped container as it was"
        ocap delete "$id"
        is "$status" 0 "delete (no --force) of a killed created container exits 0"
    done

    # The init killed from the host, behind the runtime's back.
    running_container "$b" skiff-probe sleep 1000 && {
        pid=$(state_field "$CID" .pid)
        ocap start "$CID"
        isnt "$status" 0 "a second start fails"
        is "$(state_field "$CID" .status)/$(state_field "$CID" .pid)" "running/$pid" \
            "a second start leaves the container running, same pid"
        ocap delete "$CID"
        isnt "$status" 0 "delete of a running container without --force fails"
        like "$err" "is running: stop it first, or use delete --force.*\[container\.running\]" \
            "delete of a running container says what to do"
        is "$(state_field "$CID" .status)/$(state_field "$CID" .pid)" "running/$pid" \
            "delete without --force changes nothing"
        ok "the state dir survives delete without --force" test -f "$STATE_ROOT/$CID/state.json"
        kill -KILL "$pid" 2>/dev/null || as_user kill -KILL "$pid"
        ok "state of a container whose init was killed from the host says stopped" \
            wait_status "$CID" stopped 10
        is "$(state_field "$CID" .pid)" 0 "a stopped container's state has pid 0"
        ocap delete "$CID"
        is "$status" 0 "delete of a container whose init died exits 0"
    }
}

# `features`: valid JSON whose lists the runtime honours; every advertised
# namespace, capability and supported seccomp flag in one container.
check_features() {
    local b=$MODE_DIR/features f
    ocap features
    is "$status" 0 "features exits 0"
    f=$out
    ok "features prints JSON" jq -e .ociVersionMax <<<"$f"
    is "$(jq -r '.hooks | join(" ")' <<<"$f")" \
        "prestart createRuntime createContainer startContainer poststart poststop" \
        "features lists the six hook lists"
    bundle "$b"
    set_args "$b" skiff-probe exit 0
    jq_edit "$b" '.linux.namespaces = ($f.linux.namespaces | map({type: .}))
        | .process.capabilities.bounding = $f.linux.capabilities
        | .linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", flags: $f.linux.seccomp.supportedFlags}' \
        --argjson f "$f"
    # Root gets a user namespace too: the identity mapping of the host.
    [ "$MODE" = root ] && jq_edit "$b" '.linux.uidMappings = [{containerID: 0, hostID: 0, size: 4294967295}]
        | .linux.gidMappings = .linux.uidMappings'
    new_id
    ocap run --bundle "$b" "$NEW_ID"
    is "$status" 0 "a container with every advertised namespace, capability and supported seccomp flag runs"
}

all_checks() {
    check_spec
    check_create_start_delete
    check_create_drops_fds
    check_kill
    check_run
    check_list_and_delete
    check_default_state_dir
    check_containerd_shape
    check_podman_shape
    check_slurm_shape
    check_edge_cases
    check_features
}

for_each_mode all_checks
done_testing
