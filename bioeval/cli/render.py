"""Rich rendering shared by commands (imported lazily: rich costs ~50 ms)."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from bioeval.console import console
from bioeval.verify.verdicts import Comparison, Verdict


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


def plain(value) -> str:
    """A protocol value in full: floats without rounding (2e-05, not 0.0000), strings with visible newlines."""
    import json

    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float):
        return format(value, ".6g")
    if isinstance(value, (str, list, dict, tuple)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def ledger_note(row: dict) -> str:
    """The note, plus every alternative value another source gives."""
    parts = [row["note"]] if row.get("note") else []
    for alt in row.get("alternatives") or []:
        parts.append(f"alternative: {plain(alt['value'])} ({alt['source']}{': ' + alt['note'] if alt.get('note') else ''})")
    return "; ".join(parts)


def render_plan(data: dict) -> None:
    c = console()
    t = Table(title=f"{data['paper']['title']}: {len(data['runs'])} cells", title_justify="left")
    for col in ("run id", "model", "dataset", "task", "mode", "GPUs", "P", "R", "F1"):
        t.add_column(col, justify="right" if col in ("GPUs", "P", "R", "F1") else "left")
    for r in data["runs"]:
        e = r["expected"]
        model = escape(r["model"]) + ("" if r["verified"] else " [dim](unverified)[/dim]")
        if r.get("added"):
            model += " [cyan](added: new)[/cyan]"
        t.add_row(r["run_id"], model, escape(r["dataset"]), r["task"], r["mode"], str(r["gpus"]),
                  fmt(e.get("precision")), fmt(e.get("recall")), fmt(e.get("f1")))
    c.print(t)
    p = Table(title="Protocol (value and where it comes from)", title_justify="left")
    for col in ("field", "value", "source", "note"):
        p.add_column(col, overflow="fold")
    colors = {"paper": "green", "authors-code": "cyan", "assumed": "yellow", "unstated": "red"}
    for row in data["protocol"]:
        p.add_row(escape(row["field"].removeprefix("protocol.")), escape(plain(row["value"])),
                  f"[{colors.get(row['source'], 'white')}]{row['source']}[/]", escape(ledger_note(row)))
    c.print(p)
    if data.get("tolerance"):
        tt = Table(title="Tolerances (how far a reproduced value may be from the published one)", title_justify="left")
        for col in ("applies to", "rule", "note"):
            tt.add_column(col, overflow="fold")
        for row in data["tolerance"]:
            tt.add_row(escape(row["applies_to"]), escape(row["rule"]), escape(row["note"]))
        c.print(tt)
    if data.get("datasets"):
        dt = Table(title="Datasets", title_justify="left")
        for col in ("key", "paper name", "task", "records", "notes"):
            dt.add_column(col, overflow="fold")
        for d in data["datasets"]:
            records = ", ".join(f"{k} {v:,}" if v is not None else f"{k} ?" for k, v in d["records"].items())
            dt.add_row(escape(d["key"]) + (" [cyan](added)[/cyan]" if d.get("added") else ""), escape(d["paper_name"]),
                       d["task"], records, escape("; ".join(d["notes"])))
        c.print(dt)
    c.print("[bold]Deviations from the paper[/bold]")
    for d in data.get("deviations") or []:
        c.print(f"  - {escape(d['what'])}" + (f": {escape(d['why'])}" if d.get("why") else ""), soft_wrap=True)
    if not data.get("deviations"):
        c.print("  - none recorded")
    for e in data.get("exclude") or []:
        c.print(f"  excluded: {escape(e['model'])} x {escape(e['dataset'])}" + (f": {escape(e['reason'])}" if e.get("reason") else ""))
    for w in data["warnings"]:
        c.print(f"[yellow]warning[/yellow] {escape(w)}")
    if data.get("detection"):
        render_detection(data["detection"])
    if data.get("costs"):
        render_costs(data["costs"])


def render_detection(d: dict) -> None:
    """One line: how many cells could show a shift at all (the full table is in --json)."""
    cells = d["cells"]
    if not cells:
        return
    mdes = sorted(x["mde"] for x in cells)
    small = sum(m <= 0.05 + 1e-9 for m in mdes)
    c = console()
    c.print(f"[bold]What each cell can detect[/bold] ({d['runs_per_cell']} run(s) per cell, power "
            f"{d['power']:g}): the smallest true shift the global verdict names, per cell "
            f"{mdes[0]:.3f} to {mdes[-1]:.3f} (median {mdes[len(mdes) // 2]:.3f}); {small} of {len(cells)} "
            "cells can show a shift of 0.05. Per value: `plan --json` \"detection\"; "
            "more runs per cell: `plan --seeds K`.", soft_wrap=True)


def render_costs(costs: dict) -> None:
    c = console()
    t = Table(title=f"What the grid costs on {costs['gpu']} (GPU-hours; tokens: {costs['tokenizer']})",
              title_justify="left")
    for col in ("cell", "GPUs", "train tokens", "prompts", "new tokens (max)", "train h", "per-sentence h", "batched h"):
        t.add_column(col, justify="left" if col == "cell" else "right")
    rows = costs["cells"] + [{"cell": "[bold]grid total[/bold]", "gpus": "", "prompts": "", **costs["total"]}]
    for r in rows:
        name = r["cell"] if r["cell"].startswith("[bold]") else escape(r["cell"])
        t.add_row(name + (" [dim](est.)[/dim]" if r.get("estimated") else ""), str(r["gpus"]),
                  f"{r['train_tokens']:,}", f"{r['prompts']:,}" if r["prompts"] != "" else "",
                  f"{r['new_tokens_upper']:,}", f"{r['train_h']:.2f}", f"{r['per_sentence_h']:.2f}", f"{r['batched_h']:.2f}")
    c.print(t)
    m = costs["throughput"]
    for key in ("bf16_tflops", "hbm_tb_s", "train_mfu_nf4", "train_mfu_none", "decode_bandwidth"):
        c.print(f"  {key} = {m[key]['value']}: {escape(m[key]['source'])}", soft_wrap=True)
    est = len(costs["cells"]) - costs["measured_cells"]
    if est:
        c.print(f"  {costs['measured_cells']} cells measured on their data, {est} (est.) from their record counts and the "
                "mean token lengths of the readable datasets of the same task type (their splits are not readable here)",
                soft_wrap=True)
    for u in costs["unknown"]:
        if not u.get("estimated"):
            c.print(f"  [yellow]not costed[/yellow] {escape(u['cell'])}: {escape(u['reason'])}", soft_wrap=True)


def f4(x) -> str:
    return "-" if x is None else f"{x:.4f}"


def ci_text(ci) -> str:
    return "-" if not ci else f"[{ci[0]:.4f}, {ci[1]:.4f}]"


# verify's verdicts (verify/verdicts.py) and compare's (OK / REGRESSED / IMPROVED / MISSING / INVALID)
VERDICT_COLORS = {Verdict.REPRODUCED: "green", Verdict.DISCREPANT: "red", Verdict.MISSING: "yellow",
                  Verdict.INVALID: "magenta", Verdict.NEW: "cyan", Comparison.OK: "green", Comparison.REGRESSED: "red",
                  Comparison.IMPROVED: "cyan", Comparison.MISSING: "yellow", Comparison.INVALID: "magenta"}


def verdict(v: str) -> str:
    return f"[{VERDICT_COLORS.get(str(v), 'white')}]{v}[/]"


def _interval(r: dict) -> str:
    if not r.get("interval"):
        return "-"
    lo, hi = r["interval"]
    return f"[{lo:.4f}, {hi:.4f}]"


def render_verify(report: dict) -> None:
    by_task: dict[str, list[dict]] = {}
    for r in report["cells"]:
        by_task.setdefault(r["task"], []).append(r)
    for task, rows in by_task.items():
        t = Table(title=f"{task}: expected vs observed", title_justify="left")
        for col in ("model", "dataset", "metric", "expected", "observed", "delta", "interval", "p", "K", "n",
                    "verdict", "vs reference", "note"):
            t.add_column(col, justify="left" if col in ("model", "dataset", "metric", "verdict", "vs reference", "note")
                         else "right", overflow="fold")
        for r in rows:
            expected = f4(r["expected"]) + (f" {ci_text(r['published_ci'])}" if r.get("published_ci") else "")
            note = "; ".join([r["rule"]] + r["notes"])
            if r.get("in_published_ci") is False:
                note = "outside published CI; " + note
            if r.get("added"):
                note = (f"added model (like {r['like']}); " if r.get("like") else "added; ") + note
            v = str(r["verdict"]) + (f" ({r['direction']})" if r.get("direction") else "")
            if r.get("family_discrepant"):
                v += " *"
            p = "-" if r.get("p_value") is None else f"{r['p_value']:.3g}"
            t.add_row(escape(r["model"]), escape(r["dataset"]), r["metric"], expected, f4(r["observed"]),
                      "-" if r["delta"] is None else f"{r['delta']:+.4f}", _interval(r), p, str(r.get("runs", "-")),
                      str(r["n"] or "-"), f"[{VERDICT_COLORS.get(str(r['verdict']), 'white')}]{escape(v)}[/]",
                      escape((r.get("reference") or {}).get("predictions") or "-"), escape(note))
        console().print(t)
    s = report["summary"]
    parts = [f"[{VERDICT_COLORS.get(k, 'white')}]{s[k]} {k}[/]"
             for k in map(str, Verdict) if k in s]
    console().print(", ".join(parts) + f"  ({report['manifest']} vs {report['results']})")
    if "global_verdict" in s:
        color = "green" if s["global_verdict"] == "reproduced" else "red"
        console().print(f"expected false discrepancies under perfect reproduction: {s['expected_false_discrepancies']:g} "
                        f"of {s['tested']} tested value(s); discrepant after Holm (*): {s['family_discrepant']}")
        console().print(f"global verdict ({s['method']}, family-wise error {s['level']:g}): "
                        f"[bold {color}]{s['global_verdict']}[/]")
        if s.get("declared_spreads"):  # the level holds only if these are not too small
            rest = ", ".join(f"{d['declaration']} sd {d['sd']:g} ({d['values']} value(s))" for d in s["declared_spreads"])
            worse = s["expected_false_discrepancies_if_spreads_too_small"]
            console().print(f"rests on declared seed spreads: {escape(rest)}; if they were 1.25x / 1.5x too small, "
                            f"{worse['1.25x']:g} / {worse['1.5x']:g} false discrepancies expected", highlight=False)
    if s.get("claims"):  # the paper's sentences on these runs; not part of the global verdict
        console().print(f"claims (not part of the global verdict): {escape(s['claims'])}", highlight=False)
        for c in report.get("claims") or []:
            if c["verdict"] != "not-checkable":
                changed = f" (changed by {', '.join(c['changed_by'])})" if c.get("changed_by") else ""
                console().print(f"  {c['verdict']:12} {escape(c['id'])}{escape(changed)}", highlight=False)
    from bioeval.verify.envdiff import text_lines

    for line in text_lines(report["cells"]):  # what differs from the environment of the reference run
        console().print(line, markup=False, highlight=False)


def render_compare(data: dict) -> None:
    pairs = data.get("pairs") or {}
    title = f"{data['metric']}: {data['b']} (B) - {data['a']} (A), threshold {data['threshold']}"
    if pairs:
        title += "; pairs " + ", ".join(f"{o} (A) -> {n} (B)" for o, n in pairs.items())
    t = Table(title=title, title_justify="left")
    for col in ("model", "dataset", "A", "B", "delta", f"{int(data.get('level', 0.95) * 100)}% CI", "n", "verdict", "note"):
        t.add_column(col, justify="right" if col in ("A", "B", "delta", "n") else "left", overflow="fold")
    for r in data["cells"]:
        model = str(r["model"]) + (f" -> {r['model_b']}" if r.get("model_b") not in (None, r["model"]) else "")
        t.add_row(model, str(r["dataset"]), f4(r["a"]), f4(r["b"]),
                  "-" if r["delta"] is None else f"{r['delta']:+.4f}", ci_text(r["ci"]), str(r["n_shared"] or "-"),
                  verdict(r["verdict"]), escape("; ".join(r["notes"])))
    console().print(t)
    for r in data["cells"]:
        if r.get("flips"):
            model = str(r["model"]) + (f" -> {r['model_b']}" if r.get("model_b") not in (None, r["model"]) else "")
            f = Table(title=f"{model} x {r['dataset']}: {len(r['flips'])} instance(s) changed (A -> B)",
                      title_justify="left")
            for col in ("id", "direction", "gold", "A", "B"):
                f.add_column(col, overflow="fold")
            for x in r["flips"]:
                color = "red" if x["direction"] in ("broken", "worse") else "green"
                f.add_row(escape(str(x["id"])), f"[{color}]{x['direction']}[/]", escape(str(x["gold"])),
                          escape(str(x["a"])), escape(str(x["b"])))
            console().print(f)


def render_score(data: dict, title: str) -> None:
    t = Table(title=title, title_justify="left")
    for col in ("metric", "value", f"{int(data.get('level', 0.95) * 100)}% CI"):
        t.add_column(col, justify="right" if col != "metric" else "left")
    for m in ("precision", "recall", "f1"):
        t.add_row(m, f4(data[m]), ci_text(data["ci"].get(m)))
    console().print(t)
    console().print(f"n {data['n']} scored, {data['skipped']} skipped (truncated prompt), {data['invalid']} invalid; "
                    f"correct {data['correct']}, predicted {data['predicted']}, gold {data['gold']}")


def render_show(data: dict) -> None:
    c = console()
    c.print(f"[bold]{data['model']} x {data['dataset']}[/bold] ({data['task']}, scorer {data['scorer']})  {data['run']}")
    c.print(f"{data['total']} instances: {data['errors']} with errors, {data['skipped']} skipped, "
            f"{data['truncated']} with a truncated prompt, {data.get('input_cut', 0)} with a shortened input "
            f"(template kept), {data['invalid']} unparseable answers; showing {data['shown']}")
    t = Table(show_lines=True)
    for col in ("id", "gold", "prediction", "completion", "correct/pred/gold", "flags"):
        t.add_column(col, overflow="fold", justify="right" if col == "correct/pred/gold" else "left")
    for r in data["instances"]:
        counts = "skipped" if r["skipped"] else f"{r['correct']}/{r['predicted']}/{r['gold_items']}"
        flags = [x for x, on in (("ERROR", r["error"]), ("truncated prompt", r["prompt_truncated"]),
                                 ("input shortened", r.get("input_cut")),
                                 ("unparseable", r["invalid"]), ("completion cut", r["completion_cut"])) if on]
        color = "red" if r["error"] else "green"
        t.add_row(escape(str(r["id"])), escape(repr(r["gold"]) if isinstance(r["gold"], str) else str(r["gold"])),
                  escape(repr(r["prediction"])), escape(repr(r["completion"])), f"[{color}]{counts}[/]",
                  ", ".join(flags))
    c.print(t)
