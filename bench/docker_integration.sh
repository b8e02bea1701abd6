#!/usr/bin/env bash
# Wall time of the real Docker integration test (scripts/docker_integration.sh), two ways:
#   bash bench/docker_integration.sh cold     no base image, no base tarball, no bioeval images,
#                                             no build cache: debootstrap + full build + reproduce
#   bash bench/docker_integration.sh cached   base image and build cache kept (the usual CI case
#                                             on a reused machine): build is a no-op or only the
#                                             bioeval layer, then reproduce
# Prints one line per run: mode, seconds, exit status.  Needs root (dockerd, debootstrap).
# The wheelhouse cache is kept in both modes (it is a pip download, not what is measured).
set -euo pipefail
mode="${1:-cached}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${BIOEVAL_CI_CACHE:-/var/cache/bioeval-ci}"
if [[ "$mode" == cold ]]; then
    if docker info >/dev/null 2>&1; then
        docker images --format '{{.Repository}}:{{.Tag}}' | grep -E '^bioeval(-base)?:' | xargs -r docker rmi -f >/dev/null
        docker image prune -f >/dev/null   # dangling layers (the builder stage), nothing else
    fi
    rm -f "$CACHE/bookworm-python3.tar.gz"
fi
t0=$(date +%s)
set +e
bash "$REPO/scripts/docker_integration.sh"
rc=$?
set -e
printf 'docker-integration\t%s\t%ss\texit %s\n' "$mode" "$(( $(date +%s) - t0 ))" "$rc"
exit $rc
