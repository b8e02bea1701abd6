#!/usr/bin/env bash
# A private single-node Slurm cluster on localhost, for tests and CI.
#
#   scripts/slurm_cluster.sh start [DIR]   install slurm-wlm/munge if missing (root, apt), start
#                                          munged, slurmctld and slurmd; print the SLURM_CONF line
#   scripts/slurm_cluster.sh stop  [DIR]   stop the daemons this script started (by their pid files)
#   scripts/slurm_cluster.sh status [DIR]  show whether they run
#
# Everything lives under DIR (default $BIOEVAL_SLURM_DIR or ${TMPDIR:-/tmp}/bioeval-slurm):
# slurm.conf, a munge key and socket of its own, spool, state, pid and log files, so it never
# touches /etc/slurm, /etc/munge or a system cluster.  Ports are picked free at start.
# Clients find it through SLURM_CONF=DIR/slurm.conf (source DIR/env.sh).
# BIOEVAL_SLURM_MAX_ARRAY_SIZE sets MaxArraySize (default: Slurm's own, 1001).
set -euo pipefail

cmd="${1:-}"
DIR="${2:-${BIOEVAL_SLURM_DIR:-${TMPDIR:-/tmp}/bioeval-slurm}}"
CONF="$DIR/slurm.conf"

die() { echo "slurm_cluster: $*" >&2; exit 1; }

install_if_missing() {
    local missing=()
    for bin in munged slurmctld slurmd sbatch; do
        command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] || missing+=("$bin")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" = 0 ] || die "missing ${missing[*]}; install slurm-wlm and munge (apt-get install slurm-wlm munge) or run as root"
    echo "slurm_cluster: installing slurm-wlm and munge (missing: ${missing[*]})"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq slurm-wlm munge >/dev/null
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

write_conf() {
    local node ctld_port slurmd_port node_line
    node="$(hostname -s)"
    ctld_port="$(free_port)"
    slurmd_port="$(free_port)"
    while [ "$slurmd_port" = "$ctld_port" ]; do slurmd_port="$(free_port)"; done
    # the node must be described exactly as slurmd sees it, or slurmd refuses to register
    node_line="$(PATH="$PATH:/usr/sbin" slurmd -C | head -n1)"
    case "$node_line" in NodeName=*) ;; *) die "slurmd -C gave no node line: $node_line" ;; esac
    node_line="${node_line/NodeName=* CPUs/NodeName=$node CPUs}"
    cat >"$CONF" <<EOF
# written by scripts/slurm_cluster.sh: a private single-node cluster (not for production)
ClusterName=bioeval
SlurmctldHost=$node(127.0.0.1)
SlurmUser=$(id -un)
SlurmdUser=root
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
AuthInfo=socket=$DIR/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
# schedule promptly: a tiny cluster has nothing to batch up
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
MailProg=/bin/true
# short waits: a cancelled task is killed 5 s after SIGTERM, finished jobs leave squeue after 5 min
KillWait=5
MinJobAge=300
${BIOEVAL_SLURM_MAX_ARRAY_SIZE:+MaxArraySize=$BIOEVAL_SLURM_MAX_ARRAY_SIZE}
$node_line NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
    printf 'export SLURM_CONF=%q\n' "$CONF" >"$DIR/env.sh"
}

start_munge() {
    alive "$DIR/munge/munged.pid" && return 0
    mkdir -p "$DIR/munge"
    chmod 700 "$DIR/munge"
    if [ ! -s "$DIR/munge/munge.key" ]; then
        dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
        chmod 400 "$DIR/munge/munge.key"
    fi
    /usr/sbin/munged --force --socket="$DIR/munge/munge.socket" --key-file="$DIR/munge/munge.key" \
        --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/log/munged.log" \
        --seed-file="$DIR/munge/munged.seed"
    for _ in $(seq 50); do [ -S "$DIR/munge/munge.socket" ] && return 0; sleep 0.1; done
    die "munged did not create its socket; see $DIR/log/munged.log"
}

wait_for_node() {
    local state=""
    for _ in $(seq 150); do
        state="$(SLURM_CONF="$CONF" sinfo -h -N -o '%T' 2>/dev/null | head -n1 || true)"
        case "$state" in idle|mixed|allocated) return 0 ;; esac
        sleep 0.2
    done
    die "node not ready (state '${state}'); see $DIR/log/slurmctld.log and $DIR/log/slurmd.log"
}

start() {
    install_if_missing
    export PATH="$PATH:/usr/sbin"
    if alive "$DIR/slurmctld.pid" && alive "$DIR/slurmd.pid"; then
        echo "slurm_cluster: already running ($CONF)"; cat "$DIR/env.sh"; return 0
    fi
    mkdir -p "$DIR"/{state,spool,log}
    alive "$DIR/slurmctld.pid" || write_conf   # fresh free ports unless the controller still runs
    export SLURM_CONF="$CONF"
    start_munge
    alive "$DIR/slurmctld.pid" || slurmctld -i   # -i: ignore state from an earlier run of this dir
    alive "$DIR/slurmd.pid" || slurmd
    wait_for_node
    echo "slurm_cluster: running ($(sinfo -h -o '%P %D %c CPUs %m MB'))"
    cat "$DIR/env.sh"
}

stop_one() {
    local pidfile="$1" pid
    alive "$pidfile" || return 0
    pid="$(cat "$pidfile")"
    kill "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
}

stop() {
    [ -d "$DIR" ] || return 0
    stop_one "$DIR/slurmd.pid"
    stop_one "$DIR/slurmctld.pid"
    stop_one "$DIR/munge/munged.pid"
    echo "slurm_cluster: stopped ($DIR)"
}

status() {
    for d in munge/munged slurmctld slurmd; do
        if alive "$DIR/$d.pid"; then echo "$(basename $d): running (pid $(cat "$DIR/$d.pid"))"; else echo "$(basename $d): stopped"; fi
    done
}

case "$cmd" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
