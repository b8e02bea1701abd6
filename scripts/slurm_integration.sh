#!/usr/bin/env bash
# Real Slurm integration test of `bioeval run --runtime slurm` (issue 7), for CI and by hand:
#
#   bash scripts/slurm_integration.sh        (as root on Debian/Ubuntu; PYTHON=... picks the interpreter)
#
# 1. starts a private single-node cluster (scripts/slurm_cluster.sh: installs slurm-wlm and
#    munge if missing; munged, slurmctld, slurmd on localhost, private ports, state in a temp
#    dir), unless SLURM_CONF already names a reachable cluster;
# 2. runs manifests/smoke.yaml as a job array and checks that `bioeval verify` passes;
# 3. submits two of its cells again into a second workdir, cancels one task after its first
#    checkpoint (scancel JOB_TASK), re-runs the command (reattach: nothing resubmitted, exit 3),
#    checks that the cell is reported cancelled and the other done, and that --retry-failed
#    resubmits exactly that cell, which resumes from its checkpoint and finishes;
# 4. stops the daemons it started (also on failure) and prints the wall times.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"   # `python -m bioeval` finds this checkout even when bioeval is not installed
PYTHON="${PYTHON:-$(command -v python3)}"
MANIFEST="$REPO/manifests/smoke.yaml"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/bioeval-slurm-it.XXXXXX")"
CLUSTER_DIR="/tmp/bioeval-slurm-it-$$"   # short: munge's socket path has a length limit
export BIOEVAL_SLURM_POLL_S="${BIOEVAL_SLURM_POLL_S:-2}"
started=0

say() { echo "== slurm_integration: $*"; }
fail() { echo "== slurm_integration: FAILED: $*" >&2; exit 1; }
bioeval() { "$PYTHON" -m bioeval "$@"; }
now() { date +%s.%N; }
secs() { "$PYTHON" -c "print(f'{$2 - $1:.1f}')"; }

cleanup() {
    local rc=$?
    if [ "$started" = 1 ]; then
        bash "$REPO/scripts/slurm_cluster.sh" stop "$CLUSTER_DIR" || true
        rm -rf "$CLUSTER_DIR"
    fi
    if [ "$rc" = 0 ]; then rm -rf "$WORK"; else echo "== slurm_integration: kept $WORK for inspection" >&2; fi
    exit "$rc"
}
trap cleanup EXIT

# cells as "run_id state job" lines, from `bioeval status --json` ($1 workdir, then status options)
states() {
    local workdir="$1"; shift
    bioeval --workdir "$workdir" status "$MANIFEST" "$@" --json |
        "$PYTHON" -c 'import json, sys; [print(c["run_id"], c["state"], c["job"] or "-") for c in json.load(sys.stdin)["cells"]]'
}

check_verified() {  # $1 workdir, then e.g. --only ...: every cell done, expected values reproduced
    local workdir="$1"; shift
    states "$workdir" "$@" | while read -r rid state _; do
        [ "$state" = done ] && [ -s "$workdir/$rid/scores.json" ] || fail "cell $rid is $state (no scores.json)"
    done
    bioeval --workdir "$workdir" verify "$MANIFEST" --results "$workdir" "$@" || fail "bioeval verify failed for $workdir"
}

t_start=$(now)
if [ -n "${SLURM_CONF:-}" ] && scontrol ping >/dev/null 2>&1; then
    say "using the cluster of SLURM_CONF=$SLURM_CONF"
else
    bash "$REPO/scripts/slurm_cluster.sh" start "$CLUSTER_DIR"
    started=1
    export SLURM_CONF="$CLUSTER_DIR/slurm.conf"
fi
t_cluster=$(now)

say "1. the smoke manifest as a job array"
bioeval --workdir "$WORK/a" run "$MANIFEST" --runtime slurm
check_verified "$WORK/a"
t_smoke=$(now)
n_cells=$(states "$WORK/a" | wc -l)
say "   $n_cells cells done and verified"

say "2. a second submission (two cells); cancel one task mid-training"
ONLY="dataset=smoke-ee,dataset=smoke-ner"
bioeval --workdir "$WORK/b" run "$MANIFEST" --only "$ONLY" --runtime slurm --no-wait
victim=""
for _ in $(seq 600); do
    victim=$(states "$WORK/b" --only "$ONLY" | awk '$2 == "running" {print $1, $3; exit}')
    [ -n "$victim" ] && break
    sleep 0.2
done
[ -n "$victim" ] || fail "no task of the second submission started running"
read -r victim_id victim_job <<<"$victim"
# wait for its first checkpoint, so the retry has something to resume from
for _ in $(seq 600); do
    "$PYTHON" -c 'import json, sys; sys.exit(json.load(open(sys.argv[1]))["last_step"] == 0)' \
        "$WORK/b/$victim_id/checkpoints/progress.json" 2>/dev/null && break
    sleep 0.2
done
say "   scancel $victim_job (cell $victim_id, after its first checkpoint)"
scancel "$victim_job"
# re-running the same command reattaches: it submits nothing and waits for the other cell
set +e
bioeval --workdir "$WORK/b" run "$MANIFEST" --only "$ONLY" --runtime slurm
rc=$?
set -e
[ "$rc" = 3 ] || fail "expected exit 3 (one cell cancelled) from the reattached run, got $rc"
[ "$(ls -d "$WORK/b/slurm"/*/ | wc -l)" = 1 ] || fail "re-running the command submitted again"
bioeval --workdir "$WORK/b" status "$WORK/b" --json |
    "$PYTHON" -c 'import json, sys; [print(c["run_id"], c["state"]) for c in json.load(sys.stdin)["cells"]]' |
    while read -r rid state; do
        if [ "$rid" = "$victim_id" ]; then [ "$state" = cancelled ] || fail "cancelled cell $rid is $state"
        else [ "$state" = done ] || fail "cell $rid is $state, expected done"; fi
    done
t_cancel=$(now)

say "3. --retry-failed reruns only the cancelled cell, from its checkpoint"
bioeval --workdir "$WORK/b" run "$MANIFEST" --only "$ONLY" --runtime slurm --retry-failed
latest=$(ls -d "$WORK/b/slurm"/*/ | sort | tail -n1)
resubmitted=$(tail -n +2 "$latest/grid.tsv" | cut -f2)
[ "$resubmitted" = "$victim_id" ] || fail "--retry-failed resubmitted [$resubmitted], expected [$victim_id]"
grep -q "resumed from checkpoint step" "$WORK/b/$victim_id/log.txt" || fail "the retried cell did not resume from its checkpoint"
say "   $(grep -h "resumed from checkpoint step" "$WORK/b/$victim_id/log.txt" | tail -n1)"
check_verified "$WORK/b" --only "$ONLY"
t_retry=$(now)

say "passed. wall times (s): cluster start $(secs "$t_start" "$t_cluster"), smoke array ($n_cells cells) $(secs "$t_cluster" "$t_smoke"), second submission (2 cells) + cancel + reattach $(secs "$t_smoke" "$t_cancel"), retry $(secs "$t_cancel" "$t_retry"), total $(secs "$t_start" "$t_retry")"
