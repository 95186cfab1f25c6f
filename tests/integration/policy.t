#!/bin/bash
# skiff run under a policy, and its audit log: each rule's denial (its id,
# the rule and the file named), a user file that cannot loosen the system
# one, malformed files, digest pinning, maxima applied to a job that asks
# for none, the audit line of a success, a failure, a timeout, a denial,
# rotation by size (also with runs at the same time), and an audit the
# policy requires.  The system file is the one $SKIFF_POLICY names (the
# test does not write /etc); the user's is $XDG_CONFIG_HOME/skiff/policy.json.
# Modes: root; rootless with a subordinate range; rootless with one id.
. "$(dirname "$0")/lib.sh"

BB=localhost/busybox:latest

# skp [ENV=VALUE...] -- ARGS...: skiff run as the mode's user, with the
# mode's store, state root, policy files and audit log.
skp() {
    local envs=(XDG_CONFIG_HOME="$CFG")
    [ -e "$SYS" ] && envs+=(SKIFF_POLICY="$SYS")
    while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    case $MODE in
    root) SK=(env "${envs[@]}" "$SKIFF") ;;
    range) as_user_argv; SK=("${AS_USER_ARGV[@]}" env "${envs[@]}" "$SKIFF") ;;
    single) as_user_argv; SK=("${AS_USER_ARGV[@]}" env SKIFF_NO_SUBIDS=1 "${envs[@]}" "$SKIFF") ;;
    esac
    capture "${SK[@]}" run --store "$S" --root "$STATE_ROOT" -q --audit-log "$AUDIT" \
        -e "SKIFF_TEST_TOKEN=$TOKEN" "$@"
}
# policy FILE JSON: write a policy file the mode's user can read.
policy() {
    printf '%s\n' "$2" >"$1" && chmod 0644 "$1"
}
no_policy() {
    rm -f "$SYS" "$USERFILE"
}
last_audit() {
    tail -n 1 "$AUDIT" 2>/dev/null
}

# denied DESC RULE FILE ARGS...: the run is refused with policy.denied,
# naming RULE and FILE, with an audit line that says so.
denied() {
    local desc=$1 rule=$2 file=$3 lines
    shift 3
    lines=$(wc -l <"$AUDIT" 2>/dev/null || echo 0)
    skp -- "$@"
    like "$status:$err" "^125:skiff: .*denied by the rule \"$rule\" of the policy file $file .*\[policy\.denied\]\$" "$desc"
    is "$(($(wc -l <"$AUDIT") - lines)):$(last_audit | jq -r '[.outcome.result, .outcome.error.id, .policy.decisions[-1].rule, .policy.decisions[-1].file, .policy.decisions[-1].decision] | join(" ")')" \
        "1:denied policy.denied $rule $file denied" "... and audited as denied by $rule"
}

check_rules() {
    no_policy
    skp -- "$BB" true
    is "$status" 0 "no policy file: the run goes on"

    policy "$SYS" '{"networks": ["none"]}'
    denied "networks: --network host is denied" networks "$SYS" --network host "$BB" true
    skp -- --network none "$BB" true
    is "$status" 0 "networks: --network none is allowed"

    policy "$SYS" '{"allow_volumes": false}'
    denied "allow_volumes false: -v is denied" allow_volumes "$SYS" -v /tmp:/x "$BB" true
    policy "$SYS" '{"allow_cap_add": false}'
    denied "allow_cap_add false: --cap-add is denied" allow_cap_add "$SYS" --cap-add NET_RAW "$BB" true
    skp -- --cap-drop ALL "$BB" true
    is "$status" 0 "allow_cap_add false: --cap-drop is allowed"
    policy "$SYS" '{"allow_seccomp_unconfined": false, "allow_seccomp_profile": false}'
    denied "allow_seccomp_unconfined false" allow_seccomp_unconfined "$SYS" \
        --security-opt seccomp=unconfined "$BB" true
    denied "allow_seccomp_profile false: seccomp=FILE is denied" allow_seccomp_profile "$SYS" \
        --security-opt "seccomp=$SKIFF_SRCDIR/seccomp/default.json" "$BB" true
    policy "$SYS" '{"allow_new_privileges": false}'
    denied "allow_new_privileges false: no-new-privileges=false is denied" allow_new_privileges "$SYS" \
        --security-opt no-new-privileges=false "$BB" true

    policy "$SYS" '{"max_timeout": 30, "max_memory": "64m", "max_cpus": 1}'
    denied "max_timeout 30: --timeout 60 is denied" max_timeout "$SYS" --timeout 60 "$BB" true
    denied "max_memory 64m: --memory 128m is denied" max_memory "$SYS" --memory 128m "$BB" true
    denied "max_cpus 1: --cpus 2 is denied" max_cpus "$SYS" --cpus 2 "$BB" true

    policy "$SYS" '{"max_timeout": 2}'
    local start=$SECONDS
    skp -- --json --stop-timeout 1 "$BB" sleep 100
    is "$(jq -r '[.timed_out, .exit_code] | @tsv' <<<"$out")" $'true\t137' \
        "max_timeout 2: a job without --timeout gets it (took $((SECONDS - start))s)"
    is "$(last_audit | jq -c '[.limits.timeout_seconds, (.policy.decisions[] | select(.decision == "applied") | .rule)]')" \
        '[2,"max_timeout"]' "... and the audit line says it was applied"
    skp -- --timeout 1 "$BB" true
    is "$status" 0 "max_timeout 2: --timeout 1 is allowed"

    policy "$SYS" '{"images": ["localhost/busybox"]}'
    denied "images: another name is denied" images "$SYS" localhost/test-other:latest true
    rm -f "$MODE_DIR/ev/denied.jsonl"
    denied "images: a registry name is denied" images "$SYS" \
        --events-file "$MODE_DIR/ev/denied.jsonl" docker.io/library/alpine:3 true
    is "$(jq -r .event "$MODE_DIR/ev/denied.jsonl" 2>&1 | tr '\n' ' ')" "failed " \
        "... before any pull (its only event: failed)"
    skp -- "$BB" true
    is "$status" 0 "images: a name without a tag allows its every tag"
    skp -- busybox true
    is "$status" 0 "images: a short name found as localhost/NAME is checked as that"
    denied "images: a local source is matched as oci:ABSPATH, not the name it is stored under" images \
        "$SYS" "oci:$SKIFF_IMAGE" true
    policy "$SYS" "{\"images\": [\"oci:$SKIFF_IMAGE\"]}"
    skp -- "oci:$SKIFF_IMAGE" true
    is "$status" 0 "images: oci:ABSPATH allows that layout"
    policy "$SYS" '{"images": ["docker.io/library/*"]}'
    denied "images: docker.io/library/* does not allow localhost/" images "$SYS" "$BB" true
}

check_pinning() {
    policy "$SYS" "{\"images\": [\"localhost/busybox@$DIGEST\"]}"
    skp -- "$BB" true
    is "$status" 0 "a pinned digest that matches: allowed"
    is "$(last_audit | jq -r '.policy.decisions[] | select(.rule == "images") | .decision')" allowed \
        "... and audited as allowed"
    local other=sha256:$(printf '0%.0s' {1..64})
    policy "$SYS" "{\"images\": [\"localhost/busybox@$other\"]}"
    skp -- "$BB" true
    like "$status:$err" "^125:.*manifest digest $DIGEST, not the one \"localhost/busybox@$other\" pins.*\[policy\.denied\]" \
        "a pinned digest that does not match: denied, both digests named"
    is "$(last_audit | jq -r '[.outcome.result, .image_digest] | join(" ")')" "denied $DIGEST" \
        "... checked after resolution (the audit has the digest), before the container"
}

check_user_file() {
    policy "$SYS" '{"allow_volumes": false, "max_timeout": 10, "networks": ["none"], "images": ["localhost/*"]}'
    policy "$USERFILE" '{"allow_volumes": true, "max_timeout": 100, "networks": ["none", "host"], "images": ["*"]}'
    denied "the user file cannot allow volumes the system file forbids" allow_volumes "$SYS" -v /tmp:/x "$BB" true
    denied "the user file cannot raise max_timeout" max_timeout "$SYS" --timeout 50 "$BB" true
    denied "the user file cannot add a network mode" networks "$SYS" --network host "$BB" true
    denied "the user file cannot widen the images" images "$SYS" docker.io/library/alpine true
    policy "$USERFILE" '{"max_timeout": 5, "images": ["localhost/busybox:*"]}'
    denied "the user file tightens max_timeout" max_timeout "$USERFILE" --timeout 8 "$BB" true
    denied "the user file tightens the images" images "$USERFILE" localhost/other:latest true
    skp -- --json "$BB" true
    is "$(jq -r .success <<<"$out"):$(last_audit | jq -c '[.limits.timeout_seconds, (.policy.files | length)]')" \
        "true:[5,2]" "the smallest maximum applies; both files are read"
    rm -f "$USERFILE"
}

check_malformed() {
    policy "$SYS" '{"images": ['
    skp -- "$BB" true
    like "$status:$err" "^125:.*policy file $SYS is not valid JSON.*\[policy\.invalid\]" "a file that is not JSON: policy.invalid naming it"
    policy "$SYS" '{"max_timeout": 10, "allow_volume": false}'
    skp -- "$BB" true
    like "$status:$err" "^125:.*policy file $SYS: unknown key \"allow_volume\".*\[policy\.invalid\]" "an unknown key (a typo) is never ignored"
    policy "$SYS" '{"max_timeout": "ten"}'
    skp -- "$BB" true
    like "$status:$err" "^125:.*policy file $SYS: \"max_timeout\" must be a positive number.*\[policy\.invalid\]" "a value of the wrong type"
    policy "$SYS" '{"networks": ["nope"]}'
    skp -- "$BB" true
    like "$status:$err" "^125:.*\"nope\" is no network mode.*\[policy\.invalid\]" "an unknown network mode"
    policy "$SYS" '{"images": ["localhost/busybox@sha256:abc"]}'
    skp -- "$BB" true
    like "$status:$err" "^125:.*\"localhost/busybox@sha256:abc\": after '@' must come a digest.*\[policy\.invalid\]" "a pin that is not a digest"
    policy "$SYS" '[1]'
    skp -- "$BB" true
    like "$status:$err" "^125:.*policy file $SYS must hold one JSON object.*\[policy\.invalid\]" "a document that is not an object"
    is "$(last_audit | jq -r '[.outcome.result, .outcome.error.id] | join(" ")')" "failed policy.invalid" \
        "... audited as failed with its id"
    if [ "$MODE" != root ]; then
        policy "$SYS" '{}'
        chmod 0600 "$SYS"
        skp -- "$BB" true
        like "$status:$err" "^125:.*policy file $SYS cannot be read.*\[policy\.invalid\]" "a file the user cannot read is an error, not skipped"
    fi
    no_policy
    # $SKIFF_POLICY must name a file that is there.
    case $MODE in
    root) SK=(env SKIFF_POLICY="$SYS.typo" "$SKIFF") ;;
    *) as_user_argv; SK=("${AS_USER_ARGV[@]}" env SKIFF_NO_SUBIDS=1 SKIFF_POLICY="$SYS.typo" "$SKIFF") ;;
    esac
    capture "${SK[@]}" run --store "$S" --root "$STATE_ROOT" -q --audit-log "$AUDIT" "$BB" true
    like "$status:$err" "^125:.*SKIFF_POLICY names the policy file $SYS.typo, which does not exist.*\[policy\.invalid\]" \
        "SKIFF_POLICY naming a missing file is an error"
}

check_audit_lines() {
    no_policy
    : >"$AUDIT"
    skp -- --name audited "$BB" sh -c 'echo hi'
    local line
    line=$(last_audit)
    is "$(jq -r '[.outcome.result, .outcome.exit_code, .outcome.started, .outcome.timed_out, .outcome.oom_killed] | @tsv' <<<"$line")" \
        $'exited\t0\ttrue\tfalse\tfalse' "audit, success: result, exit_code, started, timed_out, oom_killed"
    is "$(jq -r '[.uid, .user, .image, .image_name, .name, .network] | @tsv' <<<"$line")" \
        "$(printf '%s\t%s\t%s\t%s\t%s\t%s' "$RUN_UID" "$RUN_USER" "$BB" "$BB" audited none)" \
        "audit, success: uid, user, image, image_name, name, network"
    is "$(jq -c .command <<<"$line")" '["sh","-c","echo hi"]' "audit: the job's command"
    like "$(jq -r '.image_digest + " " + .container_id + " " + .time' <<<"$line")" \
        "^$DIGEST [0-9a-f]{64} [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z\$" \
        "audit: image_digest, container_id, time (RFC 3339, ms)"
    like "$(jq -r '.outcome.duration_seconds' <<<"$line")" '^[0-9.e-]+$' "audit: duration"
    is "$(stat -c %a "$AUDIT")" 600 "the audit log is mode 0600"

    local vol=$MODE_DIR/vol
    user_dir "$vol"
    skp -- --storage-limit 8m -v "$vol:/v:ro" --cap-add NET_RAW --cap-drop chown "$BB" sh -c 'exit 1'
    is "$status" 1 "a job that exits 1"
    line=$(last_audit)
    is "$(jq -c '[.outcome.result, .outcome.exit_code, .volumes, .cap_add, .cap_drop, .limits.storage_limit]' <<<"$line")" \
        "[\"exited\",1,[\"$vol:/v:ro\"],[\"NET_RAW\"],[\"chown\"],\"8m\"]" "audit, exit 1: exit code, volumes, capabilities, limits"

    skp -- --timeout 1 --stop-timeout 1 "$BB" sleep 100
    is "$(last_audit | jq -c '[.outcome.timed_out, .outcome.exit_code, .outcome.signal, .limits.timeout_seconds]')" \
        '[true,137,"KILL",1]' "audit, timeout: timed_out, 137, KILL, the timeout"

    skp -- "$BB" /no/such/program
    is "$(last_audit | jq -c '[.outcome.result, .outcome.started, .outcome.exit_code, .outcome.error.id]')" \
        '["failed",false,127,"exec.not_found"]' "audit, a job that could not start: failed, with the error id"

    skp -- --name 'bad name' "$BB" true
    is "$(last_audit | jq -r '[.outcome.result, .outcome.error.id] | join(" ")')" "failed job.name.invalid" \
        "audit, a failure before anything is made"

    policy "$SYS" '{"networks": ["none"]}'
    skp -- --network host "$BB" true
    is "$(last_audit | jq -c '[.outcome.result, .outcome.exit_code, .outcome.error.id, .network, .policy.files, .policy.decisions[0].decision]')" \
        "[\"denied\",125,\"policy.denied\",\"host\",[\"$SYS\"],\"denied\"]" "audit, a denial: denied, the rule's decision, the file"
    no_policy
    is "$(wc -l <"$AUDIT")" 6 "one line per run"
    is "$(jq -c . "$AUDIT" | wc -l)" 6 "... each one JSON object"

    # The defaults: $SKIFF_AUDIT_LOG; $XDG_STATE_HOME/skiff/audit.log.
    local envlog=$MODE_DIR/env-audit/a.log
    user_dir "$MODE_DIR/env-audit"
    case $MODE in
    root) SK=(env SKIFF_AUDIT_LOG="$envlog" "$SKIFF") ;;
    range) as_user_argv; SK=("${AS_USER_ARGV[@]}" env SKIFF_AUDIT_LOG="$envlog" "$SKIFF") ;;
    single) as_user_argv; SK=("${AS_USER_ARGV[@]}" env SKIFF_NO_SUBIDS=1 SKIFF_AUDIT_LOG="$envlog" "$SKIFF") ;;
    esac
    capture "${SK[@]}" run --store "$S" --root "$STATE_ROOT" -q "$BB" true
    is "$(jq -r .outcome.result "$envlog" 2>&1)" exited "\$SKIFF_AUDIT_LOG names the audit log"
    if [ "$MODE" = root ]; then
        skip "root's default audit log is /var/log/skiff/audit.log: not written by the tests"
    else
        local xs=$MODE_DIR/xdg-state
        user_dir "$xs"
        as_user_argv
        SK=("${AS_USER_ARGV[@]}" env -u SKIFF_AUDIT_LOG XDG_STATE_HOME="$xs" "$SKIFF")
        [ "$MODE" = single ] && SK=("${AS_USER_ARGV[@]}" env -u SKIFF_AUDIT_LOG SKIFF_NO_SUBIDS=1 XDG_STATE_HOME="$xs" "$SKIFF")
        capture "${SK[@]}" run --store "$S" --root "$STATE_ROOT" -q "$BB" true
        is "$(jq -r .outcome.result "$xs/skiff/audit.log" 2>&1):$(stat -c %a "$xs/skiff")" "exited:700" \
            "the default: \$XDG_STATE_HOME/skiff/audit.log, its directory made 0700"
    fi
}

check_rotation() {
    local dir=$MODE_DIR/rot f n i pids=() bad=0 total=0
    user_dir "$dir"
    AUDIT=$dir/audit.log
    # A line is about 1 KiB: the file rotates every 3 runs.
    for ((i = 0; i < 8; i++)); do
        skp SKIFF_AUDIT_MAX_SIZE=3000 -- "$BB" true
    done
    ok "past SKIFF_AUDIT_MAX_SIZE the log is rotated to audit.log.1" test -s "$dir/audit.log.1"
    ok "... and audit.log.2" test -s "$dir/audit.log.2"
    like "$(stat -c %s "$dir/audit.log")" '^([0-9]{1,3}|[0-2][0-9]{3})$' "the current log stays under the limit"
    # Runs at the same time: every line whole, none lost but what rotation drops.
    rm -f "$dir"/audit.log*
    for ((i = 0; i < 4; i++)); do
        case $MODE in
        root) SK=(env SKIFF_AUDIT_MAX_SIZE=2500 "$SKIFF") ;;
        range) as_user_argv; SK=("${AS_USER_ARGV[@]}" env SKIFF_AUDIT_MAX_SIZE=2500 "$SKIFF") ;;
        single) as_user_argv; SK=("${AS_USER_ARGV[@]}" env SKIFF_NO_SUBIDS=1 SKIFF_AUDIT_MAX_SIZE=2500 "$SKIFF") ;;
        esac
        timeout -k 5 60 "${SK[@]}" run --store "$S" --root "$STATE_ROOT" -q --audit-log "$AUDIT" \
            -e "SKIFF_TEST_TOKEN=$TOKEN" "$BB" sh -c 'echo x' >/dev/null 2>&1 </dev/null 8>&- &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i"; done
    for f in "$dir"/audit.log "$dir"/audit.log.[0-9]; do
        [ -f "$f" ] || continue
        n=$(wc -l <"$f")
        total=$((total + n))
        [ "$(jq -c . "$f" 2>/dev/null | wc -l)" = "$n" ] || bad=1
    done
    is "$bad" 0 "4 runs at the same time: every line of every file is one whole JSON object"
    is "$total" 4 "... and every run has its line (4; 3 files kept)"
    ok "no file beyond audit.log.3 is kept" test ! -e "$dir/audit.log.4"
    AUDIT=$MODE_DIR/audit/audit.log
}

check_required_audit() {
    local blocked=$MODE_DIR/not-a-dir
    : >"$blocked"
    chmod 0644 "$blocked"
    policy "$SYS" '{"require_audit": true}'
    local saved=$AUDIT
    AUDIT=$blocked/audit.log
    skp -- "$BB" echo should-not-run
    like "$status:$out:$err" "^125::.*the policy requires an audit log: the audit log $blocked/audit.log.*\[audit\.write\]" \
        "require_audit: a log that cannot be written refuses the run before it starts"
    no_policy
    skp -- "$BB" echo runs
    like "$status:$out:$err" "^0:runs:.*warning.*the audit log $blocked/audit.log.*\[audit\.write\]" \
        "without require_audit: the run goes on, with a warning"
    AUDIT=$saved
}

each_mode() {
    S=$MODE_DIR/store
    CFG=$MODE_DIR/config
    SYS=$MODE_DIR/system-policy.json
    USERFILE=$CFG/skiff/policy.json
    AUDIT=$MODE_DIR/audit/audit.log
    mkdir -p "$STATE_ROOT" "$CFG/skiff"
    chmod 0755 "$CFG" "$CFG/skiff"
    user_dir "$MODE_DIR/audit"
    [ "$MODE" = root ] || chown "$TEST_USER:" "$STATE_ROOT"
    if [ "$MODE" = root ]; then RUN_UID=0; RUN_USER=root; else RUN_UID=$TEST_UID; RUN_USER=$TEST_USER; fi
    no_policy
    skp -- "oci:$SKIFF_IMAGE" true
    is "$status" 0 "the bundled image runs (and is stored as $BB)"
    skp -- --json "$BB" true
    DIGEST=$(jq -r .image_digest <<<"$out")
    like "$DIGEST" '^sha256:[0-9a-f]{64}$' "its manifest digest"
    user_dir "$MODE_DIR/ev"
    check_rules
    check_pinning
    check_user_file
    check_malformed
    check_audit_lines
    check_rotation
    check_required_audit
}

for_each_mode each_mode
done_testing
