#!/usr/bin/env bash
# Real Docker integration test: build the CPU image from a local Debian bookworm base and a
# wheelhouse, then `bioeval reproduce manifests/smoke.yaml --runtime docker`, which must verify.
#
#   bash scripts/docker_integration.sh            (as root on CI; from any directory)
#
# Environment:
#   PYTHON              Python with bioeval's dependencies (default: python3); bioeval is
#                       taken from this checkout (PYTHONPATH), so a clean clone works.
#   BIOEVAL_CI_CACHE    cache for the base tarball and the wheelhouse (default /var/cache/bioeval-ci)
#   KEEP_WORKDIR=1      keep the run folder (printed at the end)
# Exit: 0 pass, 1 fail, 77 Docker cannot be started here at all (the pytest wrapper skips).
#
# It installs docker.io if missing, starts dockerd if none runs (and stops it again), makes
# the base once (debootstrap + docker import; the tarball is cached), fills the wheelhouse
# from containers/requirements-cpu.lock once, and runs with HF_TOKEN set to a canary to check
# that the token reaches no image, log or result file.
set -euo pipefail

started=$(date +%s)
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
CACHE="${BIOEVAL_CI_CACHE:-/var/cache/bioeval-ci}"
BASE_IMAGE="bioeval-base:bookworm"
BASE_TAR="$CACHE/bookworm-python3.tar.gz"
WHEELHOUSE="$CACHE/wheelhouse-cpu"
CANARY="hf_secret_canary_$(date +%s%N | sha256sum | cut -c1-12)"
WORK="$(mktemp -d /tmp/bioeval-docker-it.XXXXXX)"
DOCKERD_PID=""
# Own caches, so a run never touches the real ones (the container runs as the invoking uid:gid).
export HF_HOME="$WORK/hf" BIOEVAL_CACHE="$WORK/cache" HF_HUB_OFFLINE=1
unset BIOEVAL_WORKDIR HF_TOKEN
base_how="not reached"

log() { printf '[docker-it %4ss] %s\n' "$(( $(date +%s) - started ))" "$*" >&2; }
bioeval() { PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" -m bioeval --workdir "$WORK/runs" "$@"; }

cleanup() {
    local rc=$?
    if [[ -n "$DOCKERD_PID" ]]; then
        log "stopping the dockerd this script started (pid $DOCKERD_PID)"
        kill "$DOCKERD_PID" 2>/dev/null || true
        for _ in $(seq 1 30); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 1; done
    fi
    if [[ "${KEEP_WORKDIR:-0}" != 1 ]]; then rm -rf "$WORK"; else log "kept $WORK"; fi
    log "wall time $(( $(date +%s) - started )) s (base: $base_how), exit $rc"
    exit $rc
}
trap cleanup EXIT

# ---------------------------------------------------------------------- docker daemon
if ! command -v dockerd >/dev/null 2>&1; then
    if [[ $EUID -ne 0 ]]; then log "dockerd is not installed and we are not root"; exit 77; fi
    log "installing docker.io"
    DEBIAN_FRONTEND=noninteractive apt-get install -y docker.io >/dev/null 2>&1 \
        || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y docker.io >/dev/null; } \
        || { log "cannot install docker.io"; exit 77; }
fi
if ! docker info >/dev/null 2>&1; then
    if [[ $EUID -ne 0 ]]; then log "no Docker daemon reachable and we are not root to start one"; exit 77; fi
    log "starting dockerd"
    dockerd >"$WORK/dockerd.log" 2>&1 &
    DOCKERD_PID=$!
    for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    if ! docker info >/dev/null 2>&1; then
        log "dockerd did not come up:"; tail -n 20 "$WORK/dockerd.log" >&2; exit 77
    fi
fi

# ---------------------------------------------------------------------- base image
base_how="reused image"
if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    mkdir -p "$CACHE"
    if [[ ! -s "$BASE_TAR" ]]; then
        if ! command -v debootstrap >/dev/null 2>&1; then
            DEBIAN_FRONTEND=noninteractive apt-get install -y debootstrap >/dev/null 2>&1 \
                || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y debootstrap >/dev/null; }
        fi
        log "debootstrap bookworm (minbase + python3) -> $BASE_TAR"
        root="$WORK/rootfs"
        debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
            bookworm "$root" http://deb.debian.org/debian >"$WORK/debootstrap.log" 2>&1 \
            || { tail -n 20 "$WORK/debootstrap.log" >&2; exit 1; }
        tar -C "$root" -c . | gzip -1 >"$BASE_TAR.part" && mv "$BASE_TAR.part" "$BASE_TAR"
        rm -rf "$root"
        base_how="debootstrap"
    else
        base_how="imported cached tarball"
    fi
    log "docker import $BASE_TAR -> $BASE_IMAGE"
    gzip -dc "$BASE_TAR" | docker import - "$BASE_IMAGE" >/dev/null
fi

# ---------------------------------------------------------------------- wheelhouse
lock_sha="$(sha256sum "$REPO/containers/requirements-cpu.lock" | cut -d' ' -f1)"
if [[ "$(cat "$WHEELHOUSE/.lock-sha256" 2>/dev/null)" != "$lock_sha" ]]; then
    log "wheelhouse $WHEELHOUSE (from containers/requirements-cpu.lock, hashes checked)"
    "$PYTHON" -m pip download --quiet --only-binary=:all: --no-deps --require-hashes \
        -r "$REPO/containers/requirements-cpu.lock" -d "$WHEELHOUSE"
    echo "$lock_sha" >"$WHEELHOUSE/.lock-sha256"
else
    log "wheelhouse $WHEELHOUSE is complete for this lock"
fi

# ---------------------------------------------------------------------- build + reproduce
cd "$REPO"
log "bioeval build (cpu variant)"
bioeval build manifests/smoke.yaml --variant cpu --wheelhouse "$WHEELHOUSE"
log "bioeval reproduce manifests/smoke.yaml --runtime docker (HF_TOKEN = a canary)"
set +e
HF_TOKEN="$CANARY" bioeval reproduce manifests/smoke.yaml --runtime docker 2>&1 | tee "$WORK/reproduce.log"
rc=${PIPESTATUS[0]}
set -e
if [[ $rc -ne 0 ]]; then log "reproduce exited $rc"; exit 1; fi

# ---------------------------------------------------------------------- checks
image="$(PYTHONPATH="$REPO" "$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["tag"])' "$WORK/runs/image.json")"
image_id="$(docker image inspect --format '{{.Id}}' "$image")"
grep -rq --include=receipt.json "$image_id" "$WORK/runs" \
    || { log "no receipt.json records the image id $image_id"; exit 1; }
leaks="$( { docker image inspect "$image"; docker history --no-trunc "$image"; cat "$WORK/reproduce.log"; } | grep -c "$CANARY" || true)"
leaks=$(( leaks + $( (grep -rl "$CANARY" "$WORK/runs" || true) | wc -l) ))
if [[ $leaks -ne 0 ]]; then log "HF_TOKEN canary leaked ($leaks places)"; exit 1; fi
left="$(docker ps -aq --filter label=io.bioeval.run-id | wc -l)"
if [[ $left -ne 0 ]]; then log "$left bioeval containers left behind (their config holds HF_TOKEN)"; exit 1; fi

# The no-leak check means something only if the token did reach the container: start one with
# the runtime's own arguments and ask it.
HF_TOKEN="$CANARY" PYTHONPATH="$REPO" "$PYTHON" - "$WORK/runs" "$image" <<'PY' || { log "HF_TOKEN did not reach the container"; exit 1; }
import sys
from pathlib import Path
from bioeval.containers.build import docker_client
from bioeval.manifest import cells, load_manifest
from bioeval.runtimes.docker import run_kwargs
from bioeval.settings import Settings

loaded = load_manifest("manifests/smoke.yaml")
kw = run_kwargs(loaded, cells(loaded)[0], Settings(workdir=Path(sys.argv[1])), sys.argv[2], "probe", {})
kw.update(entrypoint=["python3", "-c", "import os, sys; sys.exit(0 if os.environ.get('HF_TOKEN', '').startswith('hf_secret_canary_') else 9)"],
          command=[], detach=False, remove=True)
docker_client().containers.run(**kw)
PY

log "second reproduce (nothing changed: no container should start)"
t0=$(date +%s%N)
bioeval build manifests/smoke.yaml --variant cpu --wheelhouse "$WHEELHOUSE" >/dev/null 2>"$WORK/build2.log"
grep -q "up to date" "$WORK/build2.log" || { cat "$WORK/build2.log" >&2; log "second build was not a no-op"; exit 1; }
HF_TOKEN="$CANARY" bioeval reproduce manifests/smoke.yaml --runtime docker >"$WORK/reproduce2.log" 2>&1 \
    || { cat "$WORK/reproduce2.log" >&2; exit 1; }
log "warm build + reproduce: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
log "PASS"
