"""Rich rendering of the audit (tables for numbers, plain-word findings)."""

from __future__ import annotations


def strict_failures(report: dict) -> list[str]:
    out = [f"{e['key']}/{e['split']}: records" for e in report["datasets"] if e["count_ok"] is False]
    out += [f"{e['key']}/{e['split']}: sha256" for e in report["datasets"] if e["sha256_ok"] is False]
    out += [f"{p['model']} x {p['dataset']}: {p['check']}" for p in report["published_table"]]
    out += [f"{f['dataset']}: {f['kind']}" for f in report.get("findings", []) if f["kind"] == "published-infeasible"]
    return out


SEVERITY_STYLE = {"high": "bold red", "medium": "yellow", "low": "cyan", "info": "dim"}


def render_findings(findings: list[dict], console) -> None:
    """Most severe first (the report's order): severity, kind, where, models, message."""
    from rich.markup import escape

    console.print(f"[bold]Findings ({len(findings)}, most severe first)[/bold]")
    for f in findings:
        where = f"{f['dataset']}" + (f" / {f['split']}" if f["split"] else "")
        models = f" [{', '.join(f['models'])}]" if f["models"] else ""
        style = SEVERITY_STYLE[f["severity"]]
        console.print(f"  [{style}]{f['severity'].upper():6}[/{style}] {f['kind']:20} {escape(where)}{escape(models)}: "
                      f"{escape(f['message'])}", soft_wrap=True)


def render_audit(report: dict) -> None:
    from rich.table import Table

    from bioeval.console import console

    c = console()
    t = Table(title=f"Data audit of {report['manifest']}", title_justify="left")
    for col in ("dataset", "split", "origin", "sha256", "records", "expected", "empty gold", "top responses"):
        t.add_column(col, justify="right" if col in ("records", "expected", "empty gold") else "left",
                     overflow="fold")
    for e in report["datasets"]:
        sha = {True: "[green]ok[/green]", False: "[red]MISMATCH[/red]", None: "[yellow]not pinned[/yellow]"}[e["sha256_ok"]]
        if not e["available"]:
            sha = sha if e["sha256_ok"] is False else "-"
        records = "-" if e["records"] is None else f"{e['records']:,}"
        if e["count_ok"] is False:
            records = f"[yellow]{records}[/yellow]"
        counts = e["distribution"].get("counts", {})
        top = ", ".join(f"{k or repr(k)}: {v}" for k, v in list(counts.items())[:3])
        empty = "-" if e["empty_gold_share"] is None else f"{e['empty_gold_share']:.0%}"
        t.add_row(e["dataset"], e["split"], e["origin"] or "[red]unavailable[/red]", sha, records,
                  "-" if e["expected_records"] is None else f"{e['expected_records']:,}", empty, top)
    c.print(t)
    b = Table(title="Trivial baselines on the test splits (manifest's scorer)", title_justify="left")
    for col in ("dataset", "baseline", "constant", "P", "R", "F1", "oracle"):
        b.add_column(col, justify="right" if col in ("P", "R", "F1") else "left", overflow="fold")
    for e in report["datasets"]:
        for x in e["baselines"]:
            const = "-" if x["constant"] is None else repr(x["constant"])[:40]
            b.add_row(e["dataset"], x["name"], const, f"{x['precision']:.3f}", f"{x['recall']:.3f}", f"{x['f1']:.3f}",
                      "yes (peeks at test)" if x["oracle"] else "no")
    if b.row_count:
        c.print(b)
    else:
        c.print("No test split available: no baselines scored.")
    c.print("[bold]Notes per split[/bold]")
    for e in report["datasets"]:
        for f in e["findings"]:
            c.print(f"  - {e['dataset']} {e['split']}: {f}", soft_wrap=True)
    if report["published_table"]:
        p = Table(title="Published table: internal consistency", title_justify="left")
        for col in ("model", "dataset", "check", "detail"):
            p.add_column(col, overflow="fold")
        for x in report["published_table"]:
            p.add_row(x["model"], x["dataset"], x["check"], x["detail"])
        c.print(p)
    else:
        c.print("Published table: every cell passes the range, F1 and single-label checks.")
    render_findings(report.get("findings", []), c)
    if report.get("claims_summary"):  # each claim is a finding of kind `claim` above
        c.print(f"[bold]Claims[/bold]: {report['claims_summary']}.", soft_wrap=True)
    if report.get("token_counts"):
        c.print(f"Budget token counts: {report['token_counts']}.", soft_wrap=True)
