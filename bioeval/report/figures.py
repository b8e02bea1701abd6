"""PNG figures of a verification (matplotlib, Agg backend: no display needed).

- published vs reproduced bars per model, one panel per dataset (the paper's Figure 1 style);
- reproduced - published heatmap, models x datasets.
matplotlib is imported inside the functions: the CLI stays fast and nothing else needs it.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

from bioeval.runs.atomic import write_bytes
from bioeval.verify.verdicts import Verdict, failing

PUBLISHED, REPRODUCED = "#9e9e9e", "#1f77b4"


def _save(fig, path: Path) -> Path:
    _scrub_texts(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=130, bbox_inches="tight")
    write_bytes(path, buf.getvalue())
    return path


def _scrub_texts(fig) -> None:
    """Every string drawn (titles, labels, ticks, legends, annotations) with secrets masked: once in
    the pixels of a PNG, no text scrubber can find them (bioeval.redact)."""
    from matplotlib.text import Text

    from bioeval.redact import scrub

    for text in fig.findobj(Text):
        clean = scrub(text.get_text())
        if clean != text.get_text():
            text.set_text(clean)


DISCREPANT_COLOR = "#d62728"


def _rows(verification: dict, metric: str) -> list[dict]:
    """The metric's rows of cells with published values (added models have none)."""
    return [r for r in verification["cells"] if r["metric"] == metric and r.get("expected") is not None]


def cell_failed(verification: dict) -> set[tuple[str, str]]:
    """(model, dataset) of cells where any metric is outside tolerance: a cell that fails on P or R is not
    drawn as passing in the F1 figure."""
    return {(r["model"], r["dataset"]) for r in verification["cells"] if failing(r["verdict"])}


def _order(values) -> list:
    return list(dict.fromkeys(values))


def _grid(verification: dict, metric: str) -> tuple[list[dict], list[str], list[str], dict[str, str]]:
    """The rows of one metric, datasets and models in manifest order, model display names."""
    rows = _rows(verification, metric)
    return (rows, _order(r["dataset"] for r in rows), _order(r["model"] for r in rows),
            {r["model"]: r["paper_model"] for r in rows})


def bars_figure(verification: dict, path: Path, metric: str = "f1", title: str = "") -> Path:
    """Published and reproduced values side by side per model, one panel per dataset (published_figure
    when nothing is reproduced yet)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, datasets, models, names = _grid(verification, metric)
    if all(r["observed"] is None for r in rows):
        return published_figure(verification, path, metric, title.replace("published vs reproduced", "published"))
    failed = cell_failed(verification)
    dnames = {r["dataset"]: f"{r['paper_dataset']} ({r['task']})" for r in rows}
    ncols = min(3, len(datasets)) or 1
    nrows = math.ceil(len(datasets) / ncols) or 1
    width = max(4.5, 0.55 * len(models) + 1.5)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, 3.6 * nrows), squeeze=False, sharey=True)
    by_key = {(r["model"], r["dataset"]): r for r in rows}
    for ax, dataset in zip(axes.flat, datasets):
        for i, model in enumerate(models):
            r = by_key.get((model, dataset))
            if r is None:
                continue
            # the pair straddles the model's tick: published on the left, ours on the right
            _published_bar(ax, i - 0.2, r)
            _reproduced_bar(ax, i + 0.2, r, (model, dataset) in failed)
        _dataset_panel(ax, dnames[dataset], [names[m] for m in models])
    _bars_frame(fig, axes, len(datasets), metric, title)
    try:
        return _save(fig, Path(path))
    finally:
        plt.close(fig)


def _published_bar(ax, x: float, r: dict) -> None:
    """The paper's value, with its 95% interval where the paper gives one (Guo & Sarker)."""
    ax.bar(x, r["expected"], 0.4, color=PUBLISHED)
    top = r["expected"]
    if r.get("published_ci"):
        lo, hi = r["published_ci"]
        ax.errorbar(x, r["expected"], yerr=[[r["expected"] - lo], [hi - r["expected"]]],
                    fmt="none", ecolor="black", elinewidth=0.8, capsize=2)
        top = hi
    ax.text(x, top + 0.02, f"{r['expected']:.2f}", ha="center", va="bottom", fontsize=6, rotation=90)


def _reproduced_bar(ax, x: float, r: dict, failed: bool) -> None:
    """Our value with its bootstrap interval, red when the cell fails on any metric; a label
    in its place when the cell is invalid or was not run."""
    if r["observed"] is None:
        label = "invalid" if r["verdict"] == Verdict.INVALID else "not run"
        ax.text(x, 0.02, label, ha="center", va="bottom", fontsize=6, rotation=90, color="#555555")
        return
    ax.bar(x, r["observed"], 0.4, color=DISCREPANT_COLOR if failed else REPRODUCED)
    top = r["observed"]
    if r.get("observed_ci"):
        lo, hi = r["observed_ci"]
        ax.errorbar(x, r["observed"], yerr=[[max(0, r["observed"] - lo)], [max(0, hi - r["observed"])]],
                    fmt="none", ecolor="black", elinewidth=0.8, capsize=2)
        top = hi
    ax.text(x, top + 0.02, f"{r['observed']:.2f}", ha="center", va="bottom", fontsize=6, rotation=90)


def _dataset_panel(ax, title: str, model_names: list[str]) -> None:
    """One dataset's axes: its title, the models along x, the shared 0..1 scale."""
    ax.set_title(title, fontsize=10)
    ax.set_xticks(list(range(len(model_names))))
    ax.set_xticklabels(model_names, rotation=45, ha="right", fontsize=7)
    ax.set_xlim(-0.6, len(model_names) - 0.4)  # keep "not run" labels inside their own panel
    ax.set_ylim(0, 1.22)
    ax.grid(axis="y", alpha=0.3)


def _bars_frame(fig, axes, panels: int, metric: str, title: str) -> None:
    """What surrounds the panels: the unused grid places hidden, the metric on the left, one
    legend and the title."""
    from matplotlib.patches import Patch

    for ax in axes.flat[panels:]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel(metric.upper() if metric == "f1" else metric)
    fig.legend(handles=[Patch(color=PUBLISHED, label="published"), Patch(color=REPRODUCED, label="reproduced (pass)"),
                        Patch(color=DISCREPANT_COLOR, label="reproduced (cell outside tolerance on any metric)")],
               loc="lower center", ncol=3, fontsize=9, frameon=False)
    fig.suptitle((title or f"Published vs reproduced {metric}") + "  (error bars: 95% intervals where known)",
                 fontsize=12, x=0.01, ha="left")
    fig.tight_layout(rect=(0, 0.035, 1, 0.96))


def delta_heatmap(verification: dict, path: Path, metric: str = "f1", title: str = "") -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rows, datasets, models, names = _grid(verification, metric)
    dnames = {r["dataset"]: r["paper_dataset"] for r in rows}
    grid = np.full((len(models), len(datasets)), np.nan)
    verdict, outside = {}, set()
    failed = cell_failed(verification)
    for r in rows:
        i, j = models.index(r["model"]), datasets.index(r["dataset"])
        if r["delta"] is not None:
            grid[i, j] = r["delta"]
        verdict[i, j] = r["verdict"]
        if (r["model"], r["dataset"]) in failed:
            outside.add((i, j))
    finite = np.abs(grid[np.isfinite(grid)])
    span = max(0.05, float(finite.max()) if finite.size else 0.05)
    fig, ax = plt.subplots(figsize=(1.0 * len(datasets) + 3.5, 0.45 * len(models) + 2.0))
    cmap = plt.get_cmap("RdBu").with_extremes(bad="#eeeeee")
    image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=-span, vmax=span, aspect="auto")
    for (i, j), v in verdict.items():
        value = grid[i, j]
        label = ("invalid" if v == Verdict.INVALID and (i, j) not in outside else "not run") if np.isnan(value) \
            else f"{value:+.3f}" + (f"\n{Verdict.DISCREPANT}" if (i, j) in outside else "")
        dark = not np.isnan(value) and abs(value) > 0.6 * span
        ax.text(j, i, label, ha="center", va="center", fontsize=7, color="white" if dark else "black")
    ax.set_xticks(range(len(datasets)))
    ax.set_xticklabels([dnames[d] for d in datasets], rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(models)))
    ax.set_yticklabels([names[m] for m in models], fontsize=8)
    bar = fig.colorbar(image, ax=ax, fraction=0.04)
    bar.set_label(f"reproduced − published {metric.upper() if metric == 'f1' else metric}")
    # a figure title (not the axes'): a long title then spans the colour bar instead of running into it
    fig.suptitle(title or f"Reproduced − published {metric}", fontsize=11, x=0.01, ha="left")
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    try:
        return _save(fig, Path(path))
    finally:
        plt.close(fig)


def published_figure(verification: dict, path: Path, metric: str = "f1", title: str = "") -> Path:
    """Nothing reproduced yet: the published values as an annotated models x datasets grid, the best
    model per dataset outlined, so the figure still says what the paper found and what to run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.patches import Rectangle

    rows, datasets, models, names = _grid(verification, metric)
    dnames = {r["dataset"]: f"{r['paper_dataset']}\n({r['task']})" for r in rows}
    grid = np.full((len(models), len(datasets)), np.nan)
    for r in rows:
        grid[models.index(r["model"]), datasets.index(r["dataset"])] = r["expected"]
    fig, ax = plt.subplots(figsize=(1.0 * len(datasets) + 3.5, 0.45 * len(models) + 2.4))
    image = ax.imshow(np.ma.masked_invalid(grid), cmap=plt.get_cmap("viridis").with_extremes(bad="#eeeeee"),
                      vmin=0, vmax=1, aspect="auto")
    for i in range(len(models)):
        for j in range(len(datasets)):
            if np.isfinite(grid[i, j]):
                ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", fontsize=7,
                        color="black" if grid[i, j] > 0.6 else "white")
    for j in range(len(datasets)):
        column = grid[:, j]
        if np.isfinite(column).any():
            i = int(np.nanargmax(column))
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="#d62728", linewidth=1.6))
    ax.set_xticks(range(len(datasets)))
    ax.set_xticklabels([dnames[d] for d in datasets], rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(models)))
    ax.set_yticklabels([names[m] for m in models], fontsize=8)
    bar = fig.colorbar(image, ax=ax, fraction=0.04)
    bar.set_label(f"published {metric.upper() if metric == 'f1' else metric}")
    fig.suptitle((title or f"Published {metric}") + f"\nnothing reproduced here yet ({len(rows)} cells): "
                 "the paper's values, best per dataset outlined; `bioeval reproduce` fills in ours",
                 fontsize=10, x=0.01, ha="left")
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    try:
        return _save(fig, Path(path))
    finally:
        plt.close(fig)


def render_figures(verification: dict, out_dir: str | Path, stem: str, metric: str = "f1",
                   title: str = "") -> list[Path]:
    """Both figures for one manifest; the heatmap only when some cell was reproduced; the
    baseline figure when some reproduced cell has a trivial baseline (verify/baseline.py)."""
    out_dir = Path(out_dir)
    if not _rows(verification, metric):
        return []
    paths = [bars_figure(verification, out_dir / f"{stem}-bars-{metric}.png", metric,
                         f"{title}: published vs reproduced {metric.upper()}" if title else "")]
    if any(r["delta"] is not None for r in _rows(verification, metric)):
        paths.append(delta_heatmap(verification, out_dir / f"{stem}-delta-{metric}.png", metric,
                                   f"{title}: reproduced − published {metric.upper()}" if title else ""))
    if baseline_rows(verification):
        paths.append(baseline_figure(verification, out_dir / f"{stem}-baselines-f1.png",
                                     f"{title}: reproduced F1 against the best trivial baseline" if title else ""))
    return paths


BASELINE_COLOR = "#2ca02c"


def baseline_rows(verification: dict) -> list[dict]:
    """F1 rows with a reproduced value and a trivial baseline, manifest order."""
    return [r for r in verification["cells"] if r["metric"] == "f1" and r.get("observed") is not None
            and r.get("baseline")]


def baseline_figure(verification: dict, path: Path, title: str = "") -> Path:
    """One panel per dataset: each model's reproduced F1 (bars) and the best trivial baseline on the
    same instances (a green line), so a reader sees at a glance whether a model learned anything."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = baseline_rows(verification)
    datasets = _order(r["dataset"] for r in rows)
    fig, axes = plt.subplots(1, len(datasets), figsize=(max(4.0, 2.6 * len(datasets)), 3.4), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        mine = [r for r in rows if r["dataset"] == dataset]
        xs = range(len(mine))
        ax.bar(xs, [r["observed"] for r in mine], color=REPRODUCED, width=0.6)
        for x, r in zip(xs, mine):  # each run's own baseline (their instances may differ)
            ax.hlines(r["baseline"]["f1"], x - 0.4, x + 0.4, colors=BASELINE_COLOR, linewidth=2.5)
        ax.set_xticks(list(xs), [r["paper_model"] for r in mine], rotation=30, ha="right", fontsize=7)
        ax.set_ylim(0, 1.05)
        ax.set_title(mine[0]["paper_dataset"], fontsize=9)
    axes[0][0].set_ylabel("F1 (green: best trivial baseline)")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    try:
        return _save(fig, Path(path))
    finally:
        plt.close(fig)


NEW_COLOR = "#ff7f0e"


def regression_figure(block: dict, path: Path, title: str = "") -> Path | None:
    """One added model against every published model, one panel per dataset: the published values
    (grey, the replaced model darker) and the new model's value with its bootstrap interval (orange),
    sorted high to low.  None when the new model has no value yet."""
    datasets = [d for d in block["datasets"] if d["observed"] is not None]
    if not datasets:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ncols = min(3, len(datasets))
    nrows = math.ceil(len(datasets) / ncols)
    height = max(2.6, 0.28 * max(len(d["published"]) for d in datasets) + 1.4)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.8 * ncols, height * nrows), squeeze=False)
    for ax, d in zip(axes.flat, datasets):
        bars = [(p["paper_model"], p["expected"], "#595959" if p["model"] == block.get("like") else PUBLISHED, None)
                for p in d["published"]]
        ci = d.get("observed_ci")
        bars.append((f"{block['model']} (new)", d["observed"], NEW_COLOR, ci))
        bars.sort(key=lambda b: b[1])
        ys = range(len(bars))
        ax.barh(list(ys), [b[1] for b in bars], color=[b[2] for b in bars])
        for y, (_, value, _, interval) in zip(ys, bars):
            if interval:
                ax.errorbar(value, y, xerr=[[max(0, value - interval[0])], [max(0, interval[1] - value)]],
                            fmt="none", ecolor="black", elinewidth=0.8, capsize=2)
            right = max(value, interval[1] if interval else value)
            ax.text(right + 0.01, y, f"{value:.3f}", va="center", fontsize=6)
        ax.set_yticks(list(ys))
        ax.set_yticklabels([b[0] for b in bars], fontsize=7)
        ax.set_xlim(0, 1.15)
        ax.set_xlabel(f"{block['metric'].upper()}: published (grey; dark: the replaced model), new (orange)", fontsize=7)
        pair = d.get("paired") or {}
        sub = f"{d['paper_dataset']} ({d['task']})"
        if pair.get("delta") is not None:
            sub += f"\nΔ vs {block.get('like')}: {pair['delta']:+.3f}" + (
                f" [{pair['ci'][0]:+.3f}, {pair['ci'][1]:+.3f}]" if pair.get("ci") else "")
        ax.set_title(sub, fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    for ax in axes.flat[len(datasets):]:
        ax.set_visible(False)
    fig.suptitle(title or f"{block['model']} against the published models ({block['metric'].upper()})",
                 fontsize=11, x=0.01, ha="left")
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    try:
        return _save(fig, Path(path))
    finally:
        plt.close(fig)
