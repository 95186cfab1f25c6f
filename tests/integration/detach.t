#!/bin/bash
# The job face's lifecycle from another shell, with no daemon: skiff run
# -d under a monitor of its own, skiff ps, logs [-f], wait, inspect, kill,
# stop, rm -f, for detached runs and for a foreground run started in
# another shell; and nothing left behind (processes, mounts, state).
# Modes: root; rootless with a subordinate range; rootless with one id.
. "$(dirname "$0")/lib.sh"

ERROR_LINE='^skiff: .+ \[[a-z0-9_]+(\.[a-z0-9_]+)+\]$'
BB=localhost/busybox:latest

# The skiff CLI as the mode's user.  The token in skiff's own environment
# marks the monitors too, so that the cleanup finds any monitor left.
sk_argv() {
    case $MODE in
    root) SK=(env SKIFF_TEST_TOKEN="$TOKEN" "$SKIFF") ;;
    range) as_user_argv; SK=("${AS_USER_ARGV[@]}" "$SKIFF") ;;
    single) as_user_argv; SK=("${AS_USER_ARGV[@]}" env SKIFF_NO_SUBIDS=1 "$SKIFF") ;;
    esac
}
# skc CMD ARGS...: a skiff command with the mode's store, through capture.
skc() {
    local cmd=$1
    shift
    sk_argv
    capture "${SK[@]}" "$cmd" --store "$S" "$@"
}
now_ms() { date +%s%3N; }

# wait_ps_status WHAT STATUS: poll ps -a until WHAT has STATUS (10 s).
wait_ps_status() {
    local i s
    for ((i = 0; i < 100; i++)); do
        sk_argv
        s=$(timeout -s KILL 10 "${SK[@]}" ps -a --store "$S" --format json 8>&- </dev/null |
            jq -r --arg w "$1" '.[] | select(.name == $w or (.id | startswith($w))) | .state.status')
        [ "$s" = "$2" ] && return 0
        sleep 0.1
    done
    return 1
}

check_detach_logs_wait() {
    local start took id
    start=$(now_ms)
    skrun -d "$BB" sh -c 'echo out1; echo err1 >&2; sleep 3; echo out2; exit 3'
    took=$(($(now_ms) - start))
    id=$out
    is "$status" 0 "run -d exits 0"
    like "$id" '^[0-9a-f]{64}$' "run -d prints the container's ID"
    ok "run -d returns while the job runs (took ${took} ms)" test "$took" -lt 2500
    skc ps
    like "$out" "${id:0:12} +job-${id:0:12} +$BB +\"sh -c echo out1; \.\.\.\" .* Up " "ps shows it, Up"
    skc ps --format json
    is "$(jq -r --arg id "$id" '.[] | select(.id == $id) | [.state.status, .name, .image, .detached] | @tsv' <<<"$out")" \
        "running	job-${id:0:12}	$BB	true" "ps --format json: status, name, image, detached"
    ok "logs: the job wrote its first line" wait_for_log "$id" out1
    skc logs "${id:0:12}"
    is "$status:$out:$err" "0:out1:err1" "logs ID-PREFIX: stdout to stdout, stderr to stderr, while it runs"
    start=$(now_ms)
    skc logs -f "$id"
    took=$(($(now_ms) - start))
    is "$status:$out:$err" $'0:out1\nout2:err1' "logs -f follows to the job's end"
    ok "logs -f returned once the job ended (took ${took} ms)" test "$took" -ge 1000
    skc wait "$id"
    # The run may have removed its directory already: then wait says so.
    like "$status:$out:$err" '^(0:3:|125::.*\[job\.not_found\])$' "wait after the end: the code, or that it is gone"
    skc ps -a
    unlike "$out" "${id:0:12}" "ps -a: a run without --keep is gone once it ended"
    ok "its directory is removed" test ! -e "$S/containers/$id"

    skrun -d "$BB" sh -c 'sleep 1; exit 3'
    id=$out
    skc wait "$id"
    is "$status:$out" "0:3" "wait blocks until the end and prints the exit code (3)"
    ok "the run removed its directory after wait read the result" wait_gone "$S/containers/$id"
}

wait_for_log() {
    local i
    for ((i = 0; i < 50; i++)); do
        grep -q "$2" "$S/containers/$1/stdout.log" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
wait_gone() {
    local i
    for ((i = 0; i < 100; i++)); do
        [ -e "$1" ] || return 0
        sleep 0.1
    done
    return 1
}

check_keep_inspect() {
    local id
    skrun -d --keep --name kept-d "$BB" sh -c 'echo kept-out; echo kept-err >&2; exit 4'
    id=$out
    skc wait kept-d
    is "$status:$out" "0:4" "wait NAME: 4"
    skc ps
    unlike "$out" "kept-d" "ps: an ended one is not listed"
    skc ps -a
    like "$out" "${id:0:12} +kept-d +$BB .* Exited \(4\) .* ago" "ps -a: Exited (4) ... ago"
    skc inspect kept-d
    is "$status" 0 "inspect NAME of a container"
    is "$(jq -r '[.id, .name, .image, (.command | join(" ")), .state.status, .state.running, .state.exit_code, .state.pid] | @tsv' <<<"$out")" \
        "$id	kept-d	$BB	sh -c echo kept-out; echo kept-err >&2; exit 4	exited	false	4	0" \
        "inspect: id, name, image, command, status, running, exit code, pid"
    like "$(jq -r .image_digest <<<"$out")" '^sha256:[0-9a-f]{64}$' "inspect: image_digest"
    like "$(jq -r '[.created, .state.started_at, .state.finished_at] | join(" ")' <<<"$out")" \
        '^[0-9T:.-]+Z [0-9T:.-]+Z [0-9T:.-]+Z$' "inspect: created, started_at, finished_at"
    is "$(jq -c '.result | [.exit_code, .success, .stdout, .stderr, .timed_out, .container_id == "'"$id"'"]' <<<"$out")" \
        '[4,false,"kept-out\n","kept-err\n",false,true]' "inspect: the result, with the job's output"
    skc logs kept-d
    is "$out:$err" "kept-out:kept-err" "logs of a kept container after its end"
    skc inspect "$BB"
    is "$(jq -r .Name <<<"$out")" "$BB" "inspect IMAGE still inspects images"
    skc inspect no-such-thing
    like "$status:$err" '^125:.*' "inspect of neither a container nor an image: 125"
    skc rm kept-d
    is "$status:$out" "0:kept-d" "rm of the kept container"
    skc ps -a
    unlike "$out" "kept-d" "ps -a: gone after rm"
}

check_kill_stop() {
    local id start took
    skrun -d --keep --name k-kill "$BB" sleep 100
    ok "the job runs" wait_ps_status k-kill running
    skc kill k-kill
    is "$status:$out" "0:k-kill" "kill NAME (SIGKILL by default)"
    skc wait k-kill
    is "$status:$out" "0:137" "wait after kill: 137"
    skc inspect k-kill
    is "$(jq -c '[.state.exit_code, .state.signal, .result.signal, .result.exit_code]' <<<"$out")" \
        '[137,"KILL","KILL",137]' "the result says how it ended: KILL, 137"
    skc kill k-kill
    like "$status:$err" '^125:.*\[job\.not_running\]' "kill of an ended one: job.not_running"
    skc rm k-kill

    skrun -d --keep --name k-term "$BB" sh -c 'trap "echo got-term; exit 5" TERM; sleep 100 & wait'
    ok "the job runs" wait_ps_status k-term running
    sleep 0.3   # the trap is set once sh runs its script
    skc kill -s TERM k-term
    is "$status" 0 "kill -s TERM"
    skc wait k-term
    is "$status:$out" "0:5" "a job that handles TERM exits as it chooses (5)"
    skc logs k-term
    is "$out" "got-term" "... having run its trap"
    skc rm k-term

    skrun -d --keep --name k-stop "$BB" sh -c 'trap "" TERM; sleep 100 & wait; sleep 100'
    ok "the job runs" wait_ps_status k-stop running
    start=$(now_ms)
    skc stop -t 1 k-stop
    took=$(($(now_ms) - start))
    is "$status:$out" "0:k-stop" "stop -t 1 of a job that ignores TERM"
    ok "stop -t 1 returns within 2 s (took ${took} ms)" test "$took" -le 2000
    skc inspect k-stop
    is "$(jq -c '[.state.status, .state.exit_code, .state.signal]' <<<"$out")" '["exited",137,"KILL"]' \
        "stop: SIGKILL after the grace, recorded"
    skc stop k-stop
    is "$status" 0 "stop of an ended one is no error"
    skc rm k-stop

    skrun -d --name k-stop2 "$BB" sh -c 'trap "exit 0" TERM; sleep 100 & wait'
    ok "the job runs" wait_ps_status k-stop2 running
    sleep 0.3
    start=$(now_ms)
    skc stop k-stop2
    took=$(($(now_ms) - start))
    is "$status" 0 "stop of a job that handles TERM"
    ok "... returns at once (took ${took} ms)" test "$took" -lt 1500

    skrun -d --keep --name k-rm "$BB" sleep 100
    id=$out
    ok "the job runs" wait_ps_status k-rm running
    skc rm k-rm
    like "$status:$err" '^125:.*\[job\.running\]' "rm of a running one: job.running"
    skc rm -f k-rm
    is "$status:$out" "0:k-rm" "rm -f of a running one"
    ok "rm -f removed its directory" test ! -e "$S/containers/$id"
    ok "rm -f freed the name" test ! -L "$S/containers/names/k-rm"
}

check_clash_timeout_errors() {
    local id
    skrun -d --name clash "$BB" sleep 100
    is "$status" 0 "run -d --name clash"
    skrun -d --name clash "$BB" true
    like "$status:$err" '^125:.*\[job\.name\.in_use\]' "a second run -d with the name: 125, job.name.in_use"
    skc rm -f clash
    is "$status" 0 "rm -f clash"

    skrun -d --keep --timeout 1 --stop-timeout 1 "$BB" sleep 100
    id=$out
    skc wait "$id"
    is "$status:$out" "0:137" "a detached --timeout 1 on sleep 100: 137"
    skc inspect "$id"
    is "$(jq -c '.result | [.timed_out, .exit_code, .signal, .success]' <<<"$out")" '[true,137,"KILL",false]' \
        "... timed_out true in its result"
    skc rm "$id"

    skrun -d --pull never localhost/not-there true
    like "$status:$err" '^125:.*\[image\.not_found\]' "an error before the start reaches run -d: 125, image.not_found"
    like "$err" "$ERROR_LINE" "... as one error line"
    skrun -d "$BB" /no/such/program
    like "$status:$err" '^127:.*\[exec\.not_found\]' "a command that is not there: 127, exec.not_found, from run -d"
    skrun -d -i "$BB" true
    like "$status:$err" '^125:.*-d and -i.*\[cli\.usage\]' "-d with -i is refused"
    skrun -d --json "$BB" true
    like "$status:$err" '^125:.*-d and --json.*\[cli\.usage\]' "-d with --json is refused"
    skrun -d --log-file "$MODE_DIR/x.log" "$BB" true
    like "$status:$err" '^125:.*-d and --log-file.*\[cli\.usage\]' "-d with --log-file is refused"
    skc logs nothing-here
    like "$status:$err" '^125:.*\[job\.not_found\]' "logs of an unknown name: job.not_found"
    skc kill -s NOPE clash
    like "$status:$err" '^125:.*\[cli\.usage\]' "kill -s with a bad signal: cli.usage"
}

# The job starts with the default signal dispositions and an empty mask,
# whatever skiff run -d inherited (a shell ignores SIGINT and SIGQUIT for
# `cmd &`), and whatever the monitor itself does with SIGPIPE.
check_signals_default() {
    local id
    sk_argv
    id=$(trap '' INT QUIT HUP PIPE
        timeout -s KILL 30 "${SK[@]}" run --store "$S" --root "$STATE_ROOT" -q -d --keep \
            -e "SKIFF_TEST_TOKEN=$TOKEN" "$BB" grep -E '^Sig(Ign|Blk)' /proc/self/status 2>/dev/null </dev/null 8>&-)
    skc wait "$id"
    is "$status:$out" "0:0" "the job that reads its signal state ends"
    skc logs "$id"
    is "$out" $'SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000' \
        "a detached job ignores and blocks no signal, though skiff run -d was started ignoring some"
    skc rm "$id"
}

# A run holds the store's lock only until its image is recorded in its
# directory: prune does not wait for a job, and keeps its layers.
check_prune_while_running() {
    local before start took
    skrun -d --name pr "$BB" sleep 100
    ok "the job runs" wait_ps_status pr running
    before=$(ls "$S/layers/sha256" | sort)
    skc rmi "$BB"
    is "$status" 0 "rmi of the running job's image name"
    start=$(now_ms)
    skc prune
    took=$(($(now_ms) - start))
    is "$status" 0 "prune while a detached job runs"
    ok "... returns without waiting for the job (took ${took} ms)" test "$took" -lt 5000
    is "$(ls "$S/layers/sha256" | sort)" "$before" "... and keeps the running job's layers"
    skc rm -f pr
    is "$status" 0 "rm -f pr"
    skc pull -q "oci:$SKIFF_IMAGE"
    is "$status" 0 "the image is named again"
}

# A foreground run from one shell, killed and stopped from another.
check_foreground() {
    local o=$MODE_DIR/fg.json rc
    sk_argv
    timeout -s KILL 60 "${SK[@]}" run --store "$S" --root "$STATE_ROOT" -q -e "SKIFF_TEST_TOKEN=$TOKEN" \
        --json --name fg "$BB" sh -c 'echo before; sleep 100' >"$o" 2>/dev/null </dev/null 8>&- &
    local pid=$!
    ok "the foreground run shows in ps" wait_ps_status fg running
    skc logs fg
    like "$status:$err" '^125:.*\[job\.logs\.none\]' "logs of a foreground run: its output is its run's"
    skc kill fg
    is "$status:$out" "0:fg" "kill NAME of a foreground run from another shell"
    wait "$pid"
    rc=$?
    is "$rc" 137 "the foreground run exits 137"
    is "$(jq -c '[.exit_code, .signal, .success, .stdout]' "$o")" '[137,"KILL",false,"before\n"]' \
        "its --json result says how it ended"

    timeout -s KILL 60 "${SK[@]}" run --store "$S" --root "$STATE_ROOT" -q -e "SKIFF_TEST_TOKEN=$TOKEN" \
        --json --name fg2 "$BB" sh -c 'trap "exit 7" TERM; sleep 100 & wait' >"$o" 2>/dev/null </dev/null 8>&- &
    pid=$!
    ok "the second foreground run shows in ps" wait_ps_status fg2 running
    sleep 0.3
    skc stop fg2
    is "$status" 0 "stop NAME of a foreground run"
    wait "$pid"
    rc=$?
    is "$rc:$(jq -c '[.exit_code, .signal]' "$o")" '7:[7,null]' "it ended through its TERM trap: 7"
}

# N detached runs one after the other, each waited for.
check_sequential_detached() {
    local i n=${SKIFF_DETACH_REPEAT:-20} fails=0 start=$SECONDS id code
    sk_argv
    for ((i = 0; i < n; i++)); do
        id=$(timeout -s KILL 30 "${SK[@]}" run --store "$S" --root "$STATE_ROOT" -q -d --keep \
            -e "SKIFF_TEST_TOKEN=$TOKEN" "$BB" true 2>/dev/null </dev/null 8>&-) || { fails=$((fails + 1)); continue; }
        code=$(timeout -s KILL 30 "${SK[@]}" wait --store "$S" "$id" 2>/dev/null </dev/null 8>&-)
        timeout -s KILL 30 "${SK[@]}" rm --store "$S" "$id" >/dev/null 2>&1 </dev/null 8>&- || fails=$((fails + 1))
        [ "$code" = 0 ] || fails=$((fails + 1))
    done
    is "$fails" 0 "$n sequential detached runs (run -d --keep, wait, rm) succeed (took $((SECONDS - start))s)"
}

check_no_leftovers() {
    local i pids
    for ((i = 0; i < 50; i++)); do
        pids=$(_marked_pids)
        [ -z "$pids" ] && break
        sleep 0.1
    done
    is "$pids" "" "no monitor nor job process is left"
    ok "every run removed its directory" wait_gone_all
    is "$(ls -A "$S/containers/names")" "" "no name is left claimed"
    is "$(ls -A "$STATE_ROOT" 2>/dev/null | grep -v '^\.')" "" "no runtime state is left"
    is "$(grep -c " $S/" /proc/self/mountinfo)" "0" "no mount of the store is left in the host's namespace"
    skc ps -a --format json
    is "$out" "[]" "ps -a lists nothing"
}
wait_gone_all() {
    local i
    for ((i = 0; i < 50; i++)); do
        [ -z "$(ls -A "$S/containers" | grep -v '^names$')" ] && return 0
        sleep 0.1
    done
    ls -A "$S/containers"
    return 1
}

each_mode() {
    S=$MODE_DIR/store
    mkdir -p "$STATE_ROOT"
    [ "$MODE" = root ] || chown "$TEST_USER:" "$STATE_ROOT"
    skc pull -q "oci:$SKIFF_IMAGE"
    is "$status" 0 "pull the bundled image"
    check_detach_logs_wait
    check_keep_inspect
    check_kill_stop
    check_clash_timeout_errors
    check_signals_default
    check_prune_while_running
    check_foreground
    check_sequential_detached
    check_no_leftovers
}

for_each_mode each_mode
done_testing
