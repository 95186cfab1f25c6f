#!/bin/bash
# skiff-oci under Slurm 22.05: `srun --container=BUNDLE` as the test user on
# a one-node cluster of this host (munged, slurmctld -D, slurmd -D, every
# file in the test directory: SLURM_CONF points the daemons and srun at it,
# munged gets its own socket and key; /etc is not touched).  oci.conf runs
# the container with RunTimeRun:
#   RunTimeRun="skiff-oci --root=DIR/%u run %n.%u.%j.%s.%t -b %b"
# as the job user, with slurmstepd's environment (no XDG_RUNTIME_DIR, HOME
# of root): --root is always given.  Slurm then runs RunTimeQuery (`state`)
# as root on the user's state directory, RunTimeKill (`kill -a`, no signal)
# and RunTimeDelete (`delete --force`).  DIR is 1777, as /run/user would be
# made, so each user's state directory is made by the user.
#
# Not tested: the create/start mode (RunTimeCreate/RunTimeStart).  Slurm
# reads the create command's output to EOF, and a runc-style create leaves
# the caller's stdout to the container waiting for start: it deadlocks
# with runc, and skiff's create does the same (the container's standard
# streams are those of create).
#
# Not tested: several tasks of one step on the node (srun -n 2).  Slurm
# 22.05 refuses it before any runtime runs: slurmstepd logs
# "_modify_config: unexpected number of tasks 2 > 1" and the launch fails.
#
# Needs root (the daemons); skipped only without Slurm or munge.
. "$(dirname "$0")/lib.sh"

for _t in srun sinfo squeue scancel slurmctld slurmd munged; do
    if ! command -v "$_t" >/dev/null; then
        skip "$_t is not installed (Debian packages slurm-wlm, slurm-client, munge)"
        done_testing
    fi
done
if [ $IS_ROOT -ne 1 ]; then
    skip "the Slurm daemons run as root: run this test as root"
    done_testing
fi
command -v python3 >/dev/null || bail_out "python3 is needed to find free ports"

SL=$TEST_TMP/slurm
CONF=$SL/etc/slurm.conf
OCI_ROOT=$SL/oci
DAEMON_PIDS=()

# A port nobody listens on, on 127.0.0.1.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# slurmstepd processes outlive slurmd; they carry SLURM_CONF=$CONF in
# their environment (inherited from slurmd), which marks them as ours.
stepd_pids() {
    local f p
    for f in $(grep -lzxF -f <(printf '%s' "SLURM_CONF=$CONF") /proc/[0-9]*/environ 2>/dev/null); do
        p=${f#/proc/}
        p=${p%/environ}
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" = slurmstepd ] && echo "$p"
    done
}

teardown() {
    local p i
    [ ${#DAEMON_PIDS[@]} -gt 0 ] || return 0
    SLURM_CONF=$CONF timeout 10 scancel --user="$TEST_USER" >/dev/null 2>&1 </dev/null 8>&-
    # slurmd and slurmctld first (they would restart work), munged last.
    for ((i = ${#DAEMON_PIDS[@]} - 1; i >= 0; i--)); do
        p=${DAEMON_PIDS[$i]}
        kill -TERM "$p" 2>/dev/null
    done
    for p in "${DAEMON_PIDS[@]}"; do
        for ((i = 0; i < 100; i++)); do
            kill -0 "$p" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    for p in $(stepd_pids); do
        kill -KILL "$p" 2>/dev/null
    done
    # Containers the steps left (a failed check): as the user who made them.
    local id
    for id in $(ls "$OCI_ROOT/$TEST_USER" 2>/dev/null); do
        as_user "$SKIFF_OCI" --root="$OCI_ROOT/$TEST_USER" delete --force "$id" >/dev/null 2>&1
    done
    DAEMON_PIDS=()
}
trap 'teardown; _on_exit' EXIT

# ---- munged, slurmctld, slurmd -------------------------------------------------

# munged refuses a socket directory that others cannot search or that
# others can write, and a key others can read.
mkdir -p "$SL/munge" "$SL/run" "$SL/etc" "$SL/state" "$SL/spool" "$SL/log" "$OCI_ROOT"
chmod 0700 "$SL/munge"
chmod 0755 "$SL/run" "$SL/etc"
chmod 1777 "$OCI_ROOT"
head -c 1024 /dev/urandom >"$SL/munge/key" && chmod 0400 "$SL/munge/key"
munged -F --socket="$SL/run/munge.sock" --key-file="$SL/munge/key" \
    --pid-file="$SL/munge/munged.pid" --log-file="$SL/munge/munged.log" \
    --seed-file="$SL/munge/munged.seed" >"$SL/munge/out" 2>&1 </dev/null 8>&- &
DAEMON_PIDS+=($!)
for ((i = 0; i < 50; i++)); do
    [ -S "$SL/run/munge.sock" ] && break
    sleep 0.1
done
[ -S "$SL/run/munge.sock" ] || bail_out "munged did not start: $(tail -n 3 "$SL/munge/out")"

CTLD_PORT=$(free_port)
SLURMD_PORT=$(free_port)
while [ "$SLURMD_PORT" = "$CTLD_PORT" ]; do SLURMD_PORT=$(free_port); done
MEM_MB=$(awk '/MemTotal/ { print int($2 / 1024 / 2) }' /proc/meminfo)
cat >"$CONF" <<EOF
ClusterName=skifftest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
CommunicationParameters=NoInAddrAny
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SL/run/munge.sock
StateSaveLocation=$SL/state
SlurmdSpoolDir=$SL/spool
SlurmctldPidFile=$SL/run/slurmctld.pid
SlurmdPidFile=$SL/run/slurmd.pid
SlurmctldLogFile=$SL/log/slurmctld.log
SlurmdLogFile=$SL/log/slurmd.log
SlurmdDebug=debug
SelectType=select/cons_tres
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
KillWait=5
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$MEM_MB State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=10 State=UP
EOF
# oci.conf sits beside slurm.conf.  Slurm 22.05 needs all four commands
# with RunTimeRun, runs each through /bin/sh -c, and knows no %U.
cat >"$SL/etc/oci.conf" <<EOF
RunTimeQuery="$SKIFF_OCI --root=$OCI_ROOT/%u state %n.%u.%j.%s.%t"
RunTimeRun="$SKIFF_OCI --root=$OCI_ROOT/%u run %n.%u.%j.%s.%t -b %b"
RunTimeKill="$SKIFF_OCI --root=$OCI_ROOT/%u kill -a %n.%u.%j.%s.%t"
RunTimeDelete="$SKIFF_OCI --root=$OCI_ROOT/%u delete --force %n.%u.%j.%s.%t"
EOF
export SLURM_CONF=$CONF
slurmctld -D -f "$CONF" >"$SL/log/slurmctld.out" 2>&1 </dev/null 8>&- &
DAEMON_PIDS+=($!)
slurmd -D -N localhost -f "$CONF" >"$SL/log/slurmd.out" 2>&1 </dev/null 8>&- &
DAEMON_PIDS+=($!)
node_state=
for ((i = 0; i < 300; i++)); do
    node_state=$(timeout 5 sinfo -h -n localhost -o %t 2>/dev/null </dev/null 8>&-)
    [ "$node_state" = idle ] && break
    sleep 0.1
done
[ "$node_state" = idle ] ||
    bail_out "the Slurm node is not idle ('$node_state'): $(tail -n 3 "$SL/log/slurmctld.log" "$SL/log/slurmd.log" 2>&1)"
pass "munged, slurmctld and slurmd run; the node is idle"

# ---- the bundle: busybox, a rootless config of the test user ------------------

BUNDLE=$SL/bundle
bash "$SKIFF_SRCDIR/images/oci-unpack.sh" "$SKIFF_IMAGE" "$BUNDLE/rootfs" >&2 8>&- ||
    bail_out "images/oci-unpack.sh $SKIFF_IMAGE failed"
chown -R "$TEST_USER:" "$BUNDLE"
as_user "$SKIFF_OCI" spec --rootless --bundle "$BUNDLE" >&2 ||
    bail_out "$SKIFF_OCI spec --rootless --bundle $BUNDLE failed"
# /out: a host directory the steps can write to (the scancel check).
mkdir -p "$SL/out" && chown "$TEST_USER:" "$SL/out"
jq --arg out "$SL/out" \
    '.mounts += [{destination: "/out", type: "bind", source: $out, options: ["rbind", "rw"]}]' \
    "$BUNDLE/config.json" >"$SL/config.json" && mv "$SL/config.json" "$BUNDLE/config.json" &&
    chown "$TEST_USER:" "$BUNDLE/config.json" || bail_out "cannot add /out to $BUNDLE/config.json"

# srun_ ARGS...: srun as the test user, through capture (SLURM_CONF kept).
srun_() {
    as_user_argv
    capture "${AS_USER_ARGV[@]}" SLURM_CONF="$CONF" srun --container="$BUNDLE" "$@"
}

# ---- output, exit code, environment ---------------------------------------------

srun_ echo hello from skiff
is "$status" 0 "srun --container: exit 0"
is "$out" "hello from skiff" "srun --container: the output of echo"

srun_ sh -c 'exit 3'
is "$status" 3 "srun --container: the exit code of the task (3)"
like "$err" "exit code 3" "srun reports the task's exit code"

as_user_argv
capture "${AS_USER_ARGV[@]}" SLURM_CONF="$CONF" SKIFF_SLURM_VAR="passed-$$" srun --container="$BUNDLE" \
    sh -c 'echo "$SKIFF_SLURM_VAR $SLURM_JOB_ID"'
is "$status" 0 "srun --container with an exported variable: exit 0"
like "$out" "^passed-$$ [0-9]+$" "the user's environment and Slurm's job variables reach the process"

# The container runs as the job user: its user namespace maps root in the
# container to the test user's uid.
srun_ cat /proc/self/uid_map
like "$out" "^ *0 +$TEST_UID +1$" "the container's root is the job user (uid $TEST_UID)"

ok "the steps leave no container in the user's state directory" \
    bash -c '[ -z "$(ls -A "$1" 2>/dev/null)" ]' _ "$OCI_ROOT/$TEST_USER"

# ---- scancel: SIGTERM reaches the process through skiff-oci run --------------

# The trap writes to /out, not to its stdout: with proctrack/linuxproc
# slurmstepd signals every process of the step at once, the task's own
# /bin/sh -c too, and stops forwarding the step's output as soon as that
# shell is gone, which can be before the trap's echo.  Whether the output
# still arrives is a race between them; the file is not.
as_user_argv
"${AS_USER_ARGV[@]}" SLURM_CONF="$CONF" srun -J skiff-cancel --container="$BUNDLE" \
    sh -c 'trap "echo got-term >/out/term; exit 0" TERM; echo started; while :; do sleep 0.1; done' \
    >"$SL/cancel.out" 2>&1 </dev/null 8>&- &
SRUN_PID=$!
job=
for ((i = 0; i < 100; i++)); do
    grep -q started "$SL/cancel.out" 2>/dev/null &&
        job=$(timeout 5 squeue -h -n skiff-cancel -o %i 2>/dev/null </dev/null 8>&-) && [ -n "$job" ] && break
    sleep 0.1
done
isnt "$job" "" "a container step runs (job ${job:-none})"
ok "scancel" timeout 10 scancel "${job:-0}"
for ((i = 0; i < 200; i++)); do
    kill -0 "$SRUN_PID" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$SRUN_PID" 2>/dev/null; then
    fail "srun ends within 20 s of scancel"
    kill -KILL "$SRUN_PID" 2>/dev/null
else
    pass "srun ends within 20 s of scancel"
fi
wait "$SRUN_PID" 2>/dev/null
for ((i = 0; i < 50; i++)); do
    [ -s "$SL/out/term" ] && break
    sleep 0.1
done
is "$(cat "$SL/out/term" 2>/dev/null)" "got-term" "the container's process got SIGTERM"
for ((i = 0; i < 100; i++)); do
    [ -z "$(ls -A "$OCI_ROOT/$TEST_USER" 2>/dev/null)" ] && break
    sleep 0.1
done
ok "the cancelled step leaves no container" \
    bash -c '[ -z "$(ls -A "$1" 2>/dev/null)" ]' _ "$OCI_ROOT/$TEST_USER"

# ---- teardown ---------------------------------------------------------------------

PIDS_WERE=("${DAEMON_PIDS[@]}")
teardown
ok "munged, slurmctld and slurmd are stopped" \
    bash -c 'for p; do ! kill -0 "$p" 2>/dev/null || exit 1; done' _ "${PIDS_WERE[@]}"
ok "no slurmstepd of the test is left" bash -c '[ -z "$1" ]' _ "$(stepd_pids)"
done_testing
