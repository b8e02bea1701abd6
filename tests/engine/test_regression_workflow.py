"""The regression story end to end on the smoke manifest: a second tiny model added with
--add-model (a local folder), run, verified (NEW, not verified), compared against the paper's
model with paired intervals and flipped instances, and reported (Markdown + HTML in chromium)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from tests.engine.conftest import REPO, SMOKE, bioeval_cmd


@pytest.mark.slow
def test_added_model_run_compared_and_reported(tmp_path):
    second = tmp_path / "tiny-llama-7"
    made = subprocess.run([sys.executable, str(REPO / "assets" / "make_tiny_model.py"), "--seed", "7", "--out",
                           str(second)], capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr[-2000:]
    work = tmp_path / "runs"
    add = ["--add-model", f"tiny7={second}", "--like", "tiny-llama"]
    only = ["--only", "dataset=smoke-tc"]
    plan = json.loads(bioeval_cmd("plan", str(SMOKE), *add, *only, "--json", workdir=work).stdout)
    assert [(r["model"], r["added"], r["expected"] == {}) for r in plan["runs"]] == \
        [("tiny-llama", False, False), ("tiny7", True, True)]

    res = bioeval_cmd("run", str(SMOKE), *add, *only, "--no-progress", workdir=work, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "cells: 2 run" in res.stderr

    res = bioeval_cmd("verify", str(SMOKE), *add, *only, "--json", workdir=work)
    data = json.loads(res.stdout)
    assert res.returncode == 0, res.stderr
    assert data["summary"]["reproduced"] == 3 and data["summary"]["new"] == 3

    res = bioeval_cmd("compare", str(work), "--pair", "tiny-llama=tiny7", "--instances", "--json", workdir=work)
    cmp = json.loads(res.stdout)
    (row,) = cmp["cells"]
    assert row["dataset"] == "smoke-tc" and row["model_b"] == "tiny7" and row["n_shared"] == 96
    assert row["ci"] is not None and row["ci"][0] <= row["delta"] <= row["ci"][1]
    assert res.returncode == (1 if row["verdict"] == "REGRESSED" else 0)
    broken = sum(f["direction"] == "broken" for f in row["flips"])
    fixed = sum(f["direction"] == "fixed" for f in row["flips"])
    assert row["delta"] == pytest.approx((fixed - broken) / 96, abs=1e-9)  # TC: one item per instance

    out, html = tmp_path / "site" / "report.md", tmp_path / "site" / "report.html"
    res = bioeval_cmd("report", str(SMOKE), *add, "--out", str(out), "--html", str(html), workdir=work)
    assert res.returncode == 0, res.stderr[-3000:]
    md = out.read_text()
    assert "### New models on the paper's protocol" in md and "#### tiny7 (F1, replaces tiny-llama)" in md
    tc = next(line for line in md.splitlines() if line.startswith("| SmokeTC |"))
    assert f"{row['delta']:+.4f}" in tc and "of 2" in tc  # paired delta against tiny-llama, rank among published

    from tests.report.test_html import check_in_browser

    page = check_in_browser(html, tmp_path / "shot.png")
    assert page["errors"] == [] and page["remote"] == [] and page["instances"] > 0 and page["pixel_std"] > 20
    assert REPO  # the repo's assets were not touched: the second model lives in tmp_path
    assert not (REPO / "assets" / "tiny-llama-7").exists()
