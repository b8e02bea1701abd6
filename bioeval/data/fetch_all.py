"""`bioeval fetch`: every split of every selected dataset, with where it came from."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bioeval.data.splits import count_problem, fetch_split, instances_of
from bioeval.errors import BioevalError, ChecksumMismatch, InputRefused

if TYPE_CHECKING:
    from bioeval.manifest.load import LoadedManifest
    from bioeval.manifest.resolve import Cell
    from bioeval.settings import Settings


def selected_datasets(loaded: LoadedManifest, cells: list[Cell]) -> list:
    """The manifest's datasets that the cells use, in manifest order."""
    keys = {c.dataset.key for c in cells}
    return [d for d in loaded.manifest.datasets if d.key in keys]


def fetch_all(loaded: LoadedManifest, settings: Settings, cells: list[Cell]) -> list[dict]:
    """Every split of the cells' datasets, fetched and checked, as rows (what `bioeval fetch` prints)."""
    from bioeval.data.mirror import check_mirror

    check_mirror(settings)  # a mistyped --data-mirror is one usage error, not a table of "unavailable"
    rows = []
    for dataset in selected_datasets(loaded, cells):
        for split_name, split in dataset.splits.items():
            row = {"dataset": dataset.key, "split": split_name, "origin": "unavailable", "sha256": None,
                   "sha256_ok": None, "records": None, "expected": split.records, "ok": False, "detail": ""}
            try:
                fetched = fetch_split(dataset, split_name, loaded, settings)
                row.update(origin=fetched.origin, sha256=fetched.sha256, sha256_ok=fetched.sha256_ok,
                           path=str(fetched.path))
                try:
                    row["records"] = len(instances_of(fetched, dataset, split_name))
                except BioevalError as exc:  # fetched but unreadable: as missing as a 404
                    row.update(origin="unreadable", detail=str(exc))
                    rows.append(row)
                    continue
                row["ok"] = True
                row["detail"] = count_problem(dataset, split_name, row["records"]) or ""
                if fetched.sha256_ok is None:
                    row["detail"] = (row["detail"] + "; " if row["detail"] else "") + "no sha256: run `bioeval lock`"
            except InputRefused:
                raise  # the manifest asks for something bioeval does not read: a usage error, exit 2
            except ChecksumMismatch as exc:
                row.update(origin="refused", sha256=exc.actual, sha256_ok=False, detail=str(exc))
            except BioevalError as exc:
                row["detail"] = str(exc)
            rows.append(row)
    return rows


def render_fetch(rows: list[dict], console) -> None:
    from rich.table import Table

    t = Table(title="Data files", title_justify="left")
    for col in ("input", "split", "origin", "sha256", "records", "expected", "detail"):
        t.add_column(col, justify="right" if col in ("records", "expected") else "left", overflow="fold")
    for r in rows:
        sha = {True: "[green]ok[/green]", False: "[red]MISMATCH[/red]", None: "[yellow]not pinned[/yellow]"}[r["sha256_ok"]]
        if r["origin"] in ("unavailable", "unreadable"):
            sha = "-"
        origin = r["origin"] if r["ok"] else f"[red]{r['origin']}[/red]"
        records = "-" if r["records"] is None else f"{r['records']:,}"
        if r["records"] is not None and r["expected"] is not None and r["records"] != r["expected"]:
            records = f"[yellow]{records}[/yellow]"
        detail = r["detail"] if r["ok"] else "see below"
        t.add_row(input_name(r), r["split"], origin, sha, records,
                  "-" if r["expected"] is None else f"{r['expected']:,}", detail)
    console.print(t)
    for r in rows:
        if not r["ok"]:  # full messages outside the table, so they are never cut into columns
            console.print(f"[red]{r['origin']}[/red] {input_name(r)}/{r['split']}: {r['detail']}", soft_wrap=True)


def input_name(row: dict) -> str:
    """What a fetch row is about: its dataset's key, or the model's for a model snapshot's row."""
    return row.get("dataset") or row.get("model") or "?"
