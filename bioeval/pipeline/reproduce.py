"""`reproduce` in named steps: check the machine, fetch inputs, run, verify, report (from that verification).

The CLI calls `reproduce`; each step is a function a script or a runtime can call alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from bioeval.errors import UsageError

if TYPE_CHECKING:
    from bioeval.manifest.load import LoadedManifest
    from bioeval.manifest.resolve import Cell
    from bioeval.settings import Settings


def check_additions_runtime(loaded: LoadedManifest, runtime: str) -> None:
    """--add-model lives in this process only; other runtimes re-read the manifest file."""
    if runtime != "local" and any(m.added and not _in_file(loaded, m.key) for m in loaded.manifest.models):
        raise UsageError(f"--add-model works with --runtime local only (runtime {runtime} re-reads {loaded.path}).",
                         "Write the added models into a small manifest with `extends: PAPER_MANIFEST` "
                         "(docs/manifests.md) and run that one.")


def _in_file(loaded, key: str) -> bool:
    return any(isinstance(e, dict) and e.get("key") == key for e in loaded.raw.get("models") or [])


def default_report_path(loaded: LoadedManifest, settings: Settings) -> Path:
    return Path(settings.workdir) / "reports" / f"{loaded.path.stem}.md"


def report_step(loaded: LoadedManifest, cells: list[Cell], settings: Settings, verification: dict, report_path: Path | None,
                html: Path | None = None) -> dict | None:
    """Write the report of ``verification`` unless it is newer than every input (None then)."""
    from bioeval.report.assemble import report_is_current, write_report

    report_path = report_path or default_report_path(loaded, settings)
    if html is None and report_is_current(report_path, loaded.path, cells, settings):
        return None
    return write_report([verification], [loaded], Path(settings.workdir), settings, out=report_path, html=html)


def verify_step(loaded: LoadedManifest, cells: list[Cell], settings: Settings) -> dict:
    """The verification of the cells this command resolved (no second resolution)."""
    from bioeval.verify.verify import verify_manifest

    return verify_manifest(loaded, settings.workdir, cells=cells)


def reproduce(loaded: LoadedManifest, cells: list[Cell], settings: Settings, runtime: str, options: dict, report_path: Path | None = None,
              html: Path | None = None) -> dict:
    """Fetch, run, verify, then report from that verification; returns {"rows", "report",
    "verification"} (the gate is the caller's)."""
    from bioeval.pipeline.runner import dispatch

    check_additions_runtime(loaded, runtime)
    if runtime == "local":  # every input before the first cell runs (Slurm does so on the submit host by default)
        options = {"fetch": True, **options}
    rows = dispatch(loaded, cells, settings, runtime, options)
    verification = verify_step(loaded, cells, settings)
    report = report_step(loaded, cells, settings, verification, report_path, html)
    return {"rows": rows, "report": report, "verification": verification,
            "report_path": report_path or default_report_path(loaded, settings)}
