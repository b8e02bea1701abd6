"""Progress of a grid on Slurm: a live rich table on a terminal, one line per change elsewhere."""

from __future__ import annotations

import os
import time
from pathlib import Path

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from bioeval.runtimes.slurm_state import STATES, CellState, cell_states, counts

COLOURS = {"pending": "yellow", "running": "cyan", "done": "green", "failed": "red", "cancelled": "magenta"}
ORDER = {"running": 0, "failed": 1, "cancelled": 2, "pending": 3, "done": 4}
MAX_ROWS = 30


def poll_seconds() -> float:
    return float(os.environ.get("BIOEVAL_SLURM_POLL_S", "10"))


def summary(states: list[CellState]) -> Text:
    c = counts(states)
    text = Text(f"{len(states)} cells: ")
    for i, s in enumerate(STATES):
        text.append(f"{c[s]} {s}", style=COLOURS[s])
        if i < len(STATES) - 1:
            text.append(", ")
    return text


def _short(path: str | None, base: Path | None) -> str:
    if not path:
        return ""
    if base is not None:
        try:
            return str(Path(path).relative_to(base))
        except ValueError:
            pass
    return path


def table(states: list[CellState], title: str | None = None, limit: int | None = MAX_ROWS,
          base: Path | None = None) -> Table:
    """One row per cell, unfinished first; log paths relative to `base` (the workdir) when given."""
    t = Table(title=title, show_lines=False)
    for col in ("model", "dataset", "state", "job", "detail", "log" if base is None else "log (in workdir)"):
        t.add_column(col, overflow="fold")
    rows = sorted(states, key=lambda s: (ORDER[s.state], s.model, s.dataset))
    shown = rows if limit is None else rows[:limit]
    for s in shown:
        t.add_row(s.model, s.dataset, Text(s.state, style=COLOURS[s.state]), s.job or "", s.detail, _short(s.log, base))
    if len(rows) > len(shown):
        t.caption = f"... and {len(rows) - len(shown)} more (bioeval status for all)"
    return t


def active(states: list[CellState]) -> bool:
    return any(s.in_queue for s in states)


def watch(workdir: Path, cells: list[tuple[str, str, str]], console: Console, reattach: str,
          poll_s: float | None = None) -> list[CellState]:
    """Poll until no cell of `cells` is queued or running; Ctrl-C leaves the jobs running."""
    poll_s = poll_seconds() if poll_s is None else poll_s
    states = cell_states(workdir, cells)
    try:
        if console.is_terminal:
            with Live(Group(summary(states), table(states, base=workdir)), console=console, refresh_per_second=2) as live:
                while active(states):
                    time.sleep(poll_s)
                    states = cell_states(workdir, cells)
                    live.update(Group(summary(states), table(states, base=workdir)))
        else:
            last = ""
            while True:
                line = summary(states).plain
                if line != last:
                    console.print(f"[{time.strftime('%H:%M:%S')}] {line}", highlight=False)
                    last = line
                if not active(states):
                    break
                time.sleep(poll_s)
                states = cell_states(workdir, cells)
    except KeyboardInterrupt:
        console.print(f"\nStopped watching; the Slurm jobs keep running.\nReattach with: {reattach}",
                      highlight=False)
        raise SystemExit(130) from None
    return states
