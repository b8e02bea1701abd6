"""Rich rendering shared by commands (imported lazily: rich costs ~50 ms)."""

from __future__ import annotations

import functools

from rich.console import Console
from rich.markup import escape
from rich.table import Table


@functools.cache
def console(stderr: bool = False) -> Console:
    # pipes and CI logs get a wide console so file:line:field lines are not wrapped
    probe = Console(stderr=stderr)
    return Console(stderr=stderr, highlight=False, width=None if probe.is_terminal else 160)


def fmt(value, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    text = repr(value) if isinstance(value, str) and ("\n" in value or value == "") else str(value)
    return escape(text if len(text) <= 80 else text[:77] + "...")


def render_summary(s: dict) -> None:
    c = console()
    c.print(f"[bold]{s['manifest']}[/bold]  {s['paper']}" + (f"  (arXiv {s['arxiv']})" if s["arxiv"] else ""))
    src = ", ".join(f"{k} {v}" for k, v in sorted(s["protocol_sources"].items()))
    c.print(f"  {s['models']} models ({s['models_verified']} revisions verified), {s['datasets']} datasets, "
            f"{s['cells']} cells, {s['expected_values']} expected values; mode {'/'.join(s['modes'])}")
    c.print(f"  protocol values by source: {src}")
    unhashed = [w for w in s["warnings"] if "no sha256 yet" in w]
    for w in s["warnings"]:
        if w not in unhashed:
            c.print(f"  [yellow]warning[/yellow] {escape(w)}")
    if unhashed:  # one line, not fourteen: these are expected until `bioeval lock` runs
        names = ", ".join(w.split(": ")[2] for w in unhashed)
        c.print(f"  [yellow]warning[/yellow] {len(unhashed)} splits have no sha256 yet ({escape(names)}); "
                "`bioeval lock` fills them where the files are reachable.")


def render_plan(data: dict) -> None:
    c = console()
    t = Table(title=f"{data['paper']['title']}: {len(data['runs'])} cells", title_justify="left")
    for col in ("run id", "model", "dataset", "task", "mode", "GPUs", "P", "R", "F1"):
        t.add_column(col, justify="right" if col in ("GPUs", "P", "R", "F1") else "left")
    for r in data["runs"]:
        e = r["expected"]
        model = r["model"] + ("" if r["verified"] else " [dim](unverified)[/dim]")
        t.add_row(r["run_id"], model, r["dataset"], r["task"], r["mode"], str(r["gpus"]),
                  fmt(e.get("precision")), fmt(e.get("recall")), fmt(e.get("f1")))
    c.print(t)
    p = Table(title="Protocol (value and where it comes from)", title_justify="left")
    for col in ("field", "value", "source", "note"):
        p.add_column(col, overflow="fold")
    colors = {"paper": "green", "authors-code": "cyan", "assumed": "yellow", "unstated": "red"}
    for row in data["protocol"]:
        p.add_row(escape(row["field"].removeprefix("protocol.")), fmt(row["value"]),
                  f"[{colors.get(row['source'], 'white')}]{row['source']}[/]", escape(row["note"]))
    c.print(p)
    for w in data["warnings"]:
        c.print(f"[yellow]warning[/yellow] {escape(w)}")
