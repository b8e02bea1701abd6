#!/usr/bin/env bash
# Build the paper manifest's CUDA image once, here, without a GPU and without an image registry, and
# run the smoke inside it on CPU (docs/containers.md, "The CUDA image"):
#
#   bash scripts/build_cuda_image.sh          (as root; takes minutes and downloads ~4 GB of CUDA wheels)
#
# The base is Debian bookworm made by debootstrap + docker import (the nvidia/cuda base cannot be
# pulled here). That is enough for a CUDA image: torch's PyPI wheels carry the CUDA 13 runtime
# (nvidia-* packages of the GPU lock) and the host's driver comes in through the NVIDIA container
# toolkit, as with any base. It prints the image's size and the build's wall time.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-$REPO/.venv/bin/python}"
BASE_IMAGE="bioeval-base:bookworm"
WORK="$(mktemp -d /tmp/bioeval-cuda-image.XXXXXX)"
bioeval() { PYTHONPATH="$REPO" "$PYTHON" -m bioeval --workdir "$WORK/runs" "$@"; }
started=$(date +%s)
log() { printf '[cuda-image %4ss] %s\n' "$(( $(date +%s) - started ))" "$*" >&2; }

need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
if ((${#need[@]})); then
    log "apt-get install ${need[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
    log "starting dockerd"; dockerd >"$WORK/dockerd.log" 2>&1 &
    for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || { tail -n 20 "$WORK/dockerd.log" >&2; exit 1; }
fi
if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    log "debootstrap bookworm -> $BASE_IMAGE"
    root="$WORK/rootfs"
    debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
        bookworm "$root" http://deb.debian.org/debian >"$WORK/debootstrap.log" 2>&1
    tar -C "$root" -c . | docker import - "$BASE_IMAGE" >/dev/null
    rm -rf "$root"
fi
cd "$REPO"
log "bioeval build manifests/deepseek_bionlp.yaml (gpu variant) on $BASE_IMAGE"
t0=$(date +%s)
bioeval build manifests/deepseek_bionlp.yaml --base-image "$BASE_IMAGE" --ca-bundle /etc/ssl/certs/ca-certificates.crt
build_s=$(( $(date +%s) - t0 ))
tag="$(PYTHONPATH="$REPO" "$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["tag"])' "$WORK/runs/image.json")"
size="$(docker image inspect --format '{{.Size}}' "$tag")"
log "built $tag in ${build_s} s, $(( size / 1024 / 1024 )) MiB"
docker run --rm --entrypoint /opt/venv/bin/python "$tag" -c \
    'import torch, bitsandbytes; print("torch", torch.__version__, "cuda", torch.version.cuda, "bitsandbytes", bitsandbytes.__version__)'
log "the smoke inside the CUDA image, on CPU"
bioeval reproduce manifests/smoke.yaml --runtime docker --no-progress
log "done: image $tag, build ${build_s} s, size $(( size / 1024 / 1024 )) MiB"
