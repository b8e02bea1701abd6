"""Issue 23, findings 6 and 7: a secret is scrubbed before rich wraps it into a table cell and
before matplotlib draws it, so no fragment of it reaches a terminal, a pipe or a figure."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CANARY = "hf_CanaryToken0123456789abcdefghijKLMNOPQRSTuvwxyz"


def _fragments(text: str, size: int = 10) -> list[str]:
    """Every piece of the canary long enough to matter, as rich may print it split across lines."""
    return [CANARY[i:i + size] for i in range(len(CANARY) - size + 1) if CANARY[i:i + size] in text]


def _manifest(tmp_path: Path) -> Path:
    text = (REPO / "tests" / "manifest" / "minimal.yaml").read_text()
    assert "seed: {value: 1, source: assumed}" in text
    text = text.replace("seed: {value: 1, source: assumed}",
                        f'seed: {{value: 1, source: assumed, note: "seed chosen by {CANARY} here"}}')
    path = tmp_path / "m.yaml"
    path.write_text(text)
    return path


def _env(columns: int) -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO), "HF_TOKEN": CANARY, "COLUMNS": str(columns), "TERM": "xterm"}


def _on_a_terminal(args: list[str], columns: int) -> str:
    """`python -m bioeval ARGS` with stdout on a pseudo-terminal COLUMNS wide."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "bioeval", *args], stdout=follower, stderr=follower,
                            env=_env(columns), cwd=REPO)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    assert proc.wait(timeout=120) == 0
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.parametrize("columns", [40, 80, 160])
def test_plan_on_a_terminal_prints_no_piece_of_a_wrapped_token(tmp_path, columns):
    out = _on_a_terminal(["plan", str(_manifest(tmp_path))], columns)
    assert "chosen" in out  # the note is there (at 40 columns, folded over several lines)
    assert _fragments(out) == []


def test_plan_in_a_pipe_prints_no_piece_of_a_wrapped_token(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "bioeval", "plan", str(_manifest(tmp_path))],
                          env=_env(160), cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "seed chosen by" in proc.stdout and _fragments(proc.stdout + proc.stderr) == []


@pytest.mark.parametrize("width", [40, 80, 160])
def test_tables_at_any_width_are_scrubbed_before_wrapping(monkeypatch, width):
    from rich.table import Table
    from rich.text import Text

    from bioeval.console import ScrubbingConsole

    monkeypatch.setenv("HF_TOKEN", CANARY)
    out = io.StringIO()
    c = ScrubbingConsole(file=out, width=width, force_terminal=False)
    t = Table(title=f"title {CANARY}")
    t.add_column("note", overflow="fold")
    t.add_column("text")
    t.add_row(f"a note {CANARY} end", Text(f"a Text {CANARY}", style="bold"))
    c.print(t)
    c.print(f"[bold]markup {CANARY}[/bold]")
    assert _fragments(out.getvalue()) == [] and out.getvalue().count("***") >= 3


def _drawn_texts(monkeypatch) -> list[str]:
    """The strings of every figure at the moment it is saved (what matplotlib draws into the PNG)."""
    from matplotlib.figure import Figure
    from matplotlib.text import Text

    drawn: list[str] = []
    save = Figure.savefig

    def spy(fig, *args, **kwargs):
        drawn.extend(t.get_text() for t in fig.findobj(Text))
        return save(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", spy)
    return drawn


def test_figures_draw_no_secret(tmp_path, monkeypatch):
    from tests.verify.factory import cell_of, write_manifest, write_run

    from bioeval.manifest import load_manifest
    from bioeval.report.figures import regression_figure, render_figures
    from bioeval.verify.verify import verify_manifest

    monkeypatch.setenv("HF_TOKEN", CANARY)
    manifest = write_manifest(tmp_path)
    text = manifest.read_text()
    manifest.write_text(text.replace("paper_name: ", f"paper_name: {CANARY}", 1))
    results = tmp_path / "results"
    write_run(results, cell_of(manifest, "tiny", "ee"), {"precision": 0.80, "recall": 0.83}, n=400)
    drawn = _drawn_texts(monkeypatch)
    verification = verify_manifest(load_manifest(manifest), results)
    paths = render_figures(verification, tmp_path / "fig", "mini", title=f"Paper {CANARY}")
    block = {"model": "mynew", "like": "tiny", "metric": "f1", "datasets": [
        {"dataset": "ee", "paper_dataset": f"Set {CANARY}", "task": "EE", "observed": 0.7, "observed_ci": [0.6, 0.8],
         "published": [{"model": "big", "paper_model": CANARY, "expected": 0.9}], "paired": None}]}
    paths.append(regression_figure(block, tmp_path / "new.png", title=f"new {CANARY}"))
    # bars, heatmap, baselines (verify/baseline.py) and the regression figure
    assert [p.name for p in paths] == ["mini-bars-f1.png", "mini-delta-f1.png", "mini-baselines-f1.png", "new.png"]
    assert all(p.stat().st_size > 10_000 for p in paths)
    joined = "\n".join(drawn)
    assert "Paper ***" in joined and "Set ***" in joined  # title, panel titles, tick labels drawn masked
    assert CANARY not in joined
