#!/usr/bin/env bash
# The one prepared GPU check (bench/device_check.py) on a GPU node without network access:
#   scripts/device_check.sh BUNDLE OUT.json
# BUNDLE is made beside the checkout by scripts/make_device_bundle.py (<= 64 MiB: the wheels the node
# lacks, bitsandbytes trimmed to its CUDA 13 and CPU libraries, and the lab's PHEE files). The node
# needs torch with CUDA 13, transformers, peft and accelerate, as common cluster images have.
set -euo pipefail
cd "$(dirname "$0")/.."
bundle=${1:?usage: scripts/device_check.sh BUNDLE OUT.json}
out=${2:?usage: scripts/device_check.sh BUNDLE OUT.json}
site=$(mktemp -d)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$site" "$bundle"/wheels/*.whl
export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
exec python3 bench/device_check.py --mirror "$bundle/data" --out "$out"
