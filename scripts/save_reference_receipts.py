"""Copy the receipts of a manifest's runs into its reference folder (what `verify` diffs against).

    python scripts/save_reference_receipts.py MANIFEST RESULTS

Writes <manifest folder>/<reference_receipts>/<model>__<dataset>.json for every cell of MANIFEST
that has a receipt in RESULTS (found by run id), keeping only what envdiff compares
(verify/envdiff.py:reference_copy: no paths, timings or data pins of the recording machine).
Run it right after recording a manifest's expected values.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bioeval.manifest import cells, load_manifest  # noqa: E402
from bioeval.runs import write_text  # noqa: E402
from bioeval.verify.envdiff import reference_copy, reference_path  # noqa: E402


def main(manifest: str, results: str) -> int:
    loaded = load_manifest(manifest)
    if not loaded.manifest.reference_receipts:
        sys.exit(f"{manifest}: set reference_receipts: (a folder next to the manifest) first.")
    for c in cells(loaded):
        src = Path(results) / c.run_id / "receipt.json"
        if not src.is_file():
            print(f"skip {c.name}: no {src}")
            continue
        out = reference_path(loaded, c.model.key, c.dataset.key)
        out.parent.mkdir(parents=True, exist_ok=True)
        write_text(out, json.dumps(reference_copy(json.loads(src.read_text())), indent=2, sort_keys=True) + "\n")
        print(f"{c.name}: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
