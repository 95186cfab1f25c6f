#!/bin/bash
# skiff run's events: the sequence of a normal run, a pulled image, a
# timed-out run and a run that fails, through --events-file and
# --events-fd; --notify-url POSTs to a receiver the test runs on
# 127.0.0.1 (headers, the retry after a 500), and a dead notify URL that
# does not fail the job.
# Modes: root; rootless with a subordinate range; rootless with one id.
. "$(dirname "$0")/lib.sh"

BB=localhost/busybox:latest
command -v python3 >/dev/null || bail_out "python3 is needed for the webhook receiver"
RECEIVER_PID=

# ske ARGS...: skiff run as the mode's user (audit log in the mode's dir).
ske_argv() {
    case $MODE in
    root) SK=("$SKIFF") ;;
    range) as_user_argv; SK=("${AS_USER_ARGV[@]}" "$SKIFF") ;;
    single) as_user_argv; SK=("${AS_USER_ARGV[@]}" env SKIFF_NO_SUBIDS=1 "$SKIFF") ;;
    esac
    SK+=(run --store "$S" --root "$STATE_ROOT" -q --audit-log "$MODE_DIR/audit.log"
        -e "SKIFF_TEST_TOKEN=$TOKEN")
}
ske() {
    ske_argv
    capture "${SK[@]}" "$@"
}
events_of() {
    jq -r .event "$1" 2>&1 | tr '\n' ' '
}

# receiver_start [--fail-first N]: the webhook receiver, on a free port of
# 127.0.0.1; RECEIVER_PID, PORT, RLOG (one JSON line per request).
receiver_start() {
    local pf=$TEST_TMP/port.$RANDOM
    RLOG=$TEST_TMP/requests.$RANDOM.jsonl
    : >"$RLOG"
    python3 "$SKIFF_SRCDIR/tests/integration/http-receiver.py" "$pf" "$RLOG" "$@" \
        </dev/null >/dev/null 2>"$TEST_TMP/receiver.err" 8>&- &
    RECEIVER_PID=$!
    local i
    for ((i = 0; i < 100; i++)); do
        [ -s "$pf" ] && break
        sleep 0.1
    done
    PORT=$(cat "$pf" 2>/dev/null)
    [ -n "$PORT" ] || bail_out "the webhook receiver did not start: $(cat "$TEST_TMP/receiver.err")"
}
receiver_stop() {
    [ -n "$RECEIVER_PID" ] || return 0
    kill "$RECEIVER_PID" 2>/dev/null
    wait "$RECEIVER_PID" 2>/dev/null
    RECEIVER_PID=
}
trap 'rc=$?; receiver_stop; (exit $rc); _on_exit' EXIT

check_sequences() {
    local ev=$MODE_DIR/ev/run.jsonl cid
    ske --events-file "$ev" "$BB" sh -c 'exit 3'
    is "$status" 3 "a run with --events-file exits with the job's code"
    is "$(events_of "$ev")" "created started exited " "a stored image: created, started, exited"
    cid=$(jq -r .container_id "$ev" | sort -u)
    like "$cid" '^[0-9a-f]{64}$' "every event has the run's container id"
    is "$(jq -r '[.name, .image] | @tsv' "$ev" | sort -u)" "$(printf 'job-%s\t%s' "${cid:0:12}" "$BB")" \
        "... its name and image"
    like "$(jq -r .time "$ev" | tr '\n' ' ')" \
        '^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z ){3}$' "... a time in RFC 3339 with ms"
    is "$(tail -n 1 "$ev" | jq -c '[.exit_code, .signal, .timed_out, .oom_killed, (.duration_seconds > 0)]')" \
        '[3,null,false,false,true]' "exited: exit_code, signal, timed_out, oom_killed, duration"
    is "$(stat -c %a "$ev")" 600 "the events file is made 0600"

    ev=$MODE_DIR/ev/pull.jsonl
    ske --events-file "$ev" "oci:$SKIFF_IMAGE" true
    is "$(events_of "$ev")" "pull_started pull_finished created started exited " \
        "a source that is pulled: pull_started and pull_finished first"
    is "$(sed -n 2p "$ev" | jq -r '[.source, .image, (.image_digest | test("^sha256:[0-9a-f]{64}$"))] | @tsv')" \
        "$(printf 'oci:%s\t%s\ttrue' "$SKIFF_IMAGE" "$BB")" "pull_finished: the source, the stored name, the digest"

    ev=$MODE_DIR/ev/timeout.jsonl
    ske --events-file "$ev" --timeout 1 --stop-timeout 1 "$BB" sleep 100
    is "$status" 137 "a timed-out run"
    is "$(events_of "$ev")" "created started timeout exited " "a timed-out run: created, started, timeout, exited"
    is "$(jq -c 'select(.event == "timeout" or .event == "exited") | [.event, .timeout_seconds, .timed_out, .exit_code, .signal]' "$ev" | tr '\n' ' ')" \
        '["timeout",1,null,null,null] ["exited",null,true,137,"KILL"] ' "... the timeout, then how it ended"

    ev=$MODE_DIR/ev/fail.jsonl
    ske --events-file "$ev" "$BB" /no/such/program
    is "$(events_of "$ev")" "failed " "a job whose command is missing (found at create): failed"
    is "$(tail -n 1 "$ev" | jq -r '.error.id')" exec.not_found "failed: the error id"
    like "$(tail -n 1 "$ev" | jq -r '.error.message')" '/no/such/program' "failed: the message"

    ev=$MODE_DIR/ev/copy-out.jsonl
    ske --events-file "$ev" --copy-out /nothing:"$MODE_DIR/ev/out" "$BB" true
    is "$status:$(events_of "$ev")" "125:created started exited failed " \
        "skiff fails after the job ended (--copy-out): exited, then failed"
    is "$(tail -n 1 "$ev" | jq -r '.error.id')" job.copy "... with its id"

    # --events-fd: an fd the caller opened (here 3, appending to a file).
    ev=$MODE_DIR/ev/fd.jsonl
    ske_argv
    timeout -k 5 60 "${SK[@]}" --events-fd 3 "$BB" true 3>>"$ev" >/dev/null 2>"$MODE_DIR/ev/fd.err" </dev/null 8>&-
    is "$?:$(events_of "$ev")" "0:created started exited " "--events-fd 3: the same events"
    ev=$MODE_DIR/ev/fd-timeout.jsonl
    timeout -k 5 60 "${SK[@]}" --events-fd 3 --timeout 1 --stop-timeout 1 "$BB" sleep 100 3>>"$ev" \
        >/dev/null 2>&1 </dev/null 8>&-
    is "$(events_of "$ev")" "created started timeout exited " "--events-fd: a timed-out run"
    # The fd is not the container's: it is close-on-exec for the job.
    ev=$MODE_DIR/ev/fd-leak.jsonl
    local listing
    listing=$(timeout -k 5 60 "${SK[@]}" --events-fd 3 "$BB" ls /proc/self/fd 3>>"$ev" 2>&1 </dev/null 8>&-)
    is "$(tr '\n' ' ' <<<"$listing")" "0 1 2 3 " "the job does not inherit --events-fd (only ls's own dir fd 3)"
    ske --events-fd 97 "$BB" true
    like "$status:$err" '^125:.*--events-fd 97 is not a file descriptor open for writing.*\[job\.events\]' \
        "--events-fd of a closed fd: job.events"
    ske --events-file "$MODE_DIR/no/such/dir/ev" "$BB" true
    like "$status:$err" "^125:.*--events-file $MODE_DIR/no/such/dir/ev.*\[job\.events\]" \
        "--events-file that cannot be opened: job.events"
    is "$(tail -n 1 "$MODE_DIR/audit.log" | jq -r '.outcome.error.id')" job.events "... and audited"

    # A reader that goes away: the job goes on, one warning.
    ske_argv
    capture bash -c 'set -o pipefail; "$@" --events-fd 3 "'"$BB"'" sh -c "sleep 0.5; echo done" 3>&1 >/dev/null | true' _ "${SK[@]}"
    like "$status:$err" '^0:.*cannot write an event to --events-fd' "a closed events pipe: the job goes on, with a warning"
    is "$(grep -c 'cannot write an event' <<<"$err")" 1 "... said once"
}

check_notify() {
    receiver_start
    local url=http://127.0.0.1:$PORT/hooks/skiff
    ske --notify-url "$url" --notify-header "Authorization: Bearer t0k3n" --notify-header "X-Run: 42" \
        "$BB" sh -c 'exit 2'
    is "$status" 2 "--notify-url: the job's exit code"
    is "$(jq -r .body.event "$RLOG" | tr '\n' ' ')" "created started exited " "--notify-url: each event POSTed, in order"
    is "$(jq -r '[.method, .path, .headers["content-type"], .headers.authorization, .headers["x-run"]] | @tsv' "$RLOG" | sort -u)" \
        "$(printf 'POST\t/hooks/skiff\tapplication/json\tBearer t0k3n\t42')" \
        "... POST to the path, Content-Type: application/json, the --notify-header headers"
    is "$(tail -n 1 "$RLOG" | jq -c '[.body.exit_code, (.body.container_id | length)]')" '[2,64]' \
        "... the body is the event"
    is "$err" "" "... nothing on stderr"
    receiver_stop

    receiver_start --fail-first 1
    url=http://127.0.0.1:$PORT/retry
    ske --notify-url "$url" "$BB" true
    is "$(jq -r '[.status, .body.event] | join(":")' "$RLOG" | tr '\n' ' ')" "500:created 204:created 204:started 204:exited " \
        "a 500 is retried: the event comes again, then the others"
    is "$status:$err" "0:" "... the job is not troubled"
    receiver_stop

    # A dead URL: the port the receiver had, now closed.
    local start end took
    start=$(date +%s.%N)
    ske --notify-url "http://127.0.0.1:$PORT/dead" "$BB" echo still-runs
    end=$(date +%s.%N)
    took=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
    diag "a run with a dead --notify-url took ${took}s"
    is "$status:$out" "0:still-runs" "a dead notify URL does not fail the job"
    like "$err" "warning: --notify-url http://127.0.0.1:$PORT/dead: .*\[job\.notify\]; no more events are posted" \
        "... it is reported on stderr"
    is "$(grep -c 'notify-url' <<<"$err")" 1 "... once"
    ok "... and holds the run up little (${took}s, under 5)" awk -v t="$took" 'BEGIN { exit !(t < 5) }'
    ske --notify-url "ftp://127.0.0.1/x" "$BB" true
    like "$status:$err" '^125:.*--notify-url ftp://127.0.0.1/x: expected an http:// or https:// URL.*\[cli\.usage\]' \
        "--notify-url of another scheme: cli.usage"
    ske --notify-header "no colon" --notify-url "$url" "$BB" true
    like "$status:$err" '^125:.*--notify-header no colon: expected "NAME: VALUE".*\[cli\.usage\]' \
        "--notify-header without a colon: cli.usage"
}

each_mode() {
    S=$MODE_DIR/store
    mkdir -p "$STATE_ROOT"
    user_dir "$MODE_DIR/ev"
    [ "$MODE" = root ] || chown "$TEST_USER:" "$STATE_ROOT" "$MODE_DIR"
    ske "oci:$SKIFF_IMAGE" true
    is "$status" 0 "the bundled image runs (and is stored as $BB)"
    check_sequences
    check_notify
}

for_each_mode each_mode
receiver_stop
done_testing
