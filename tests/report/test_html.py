"""The self-contained HTML report, opened from disk in a real headless chromium."""

from __future__ import annotations

import io
import re

import pytest
from tests.report.browser import Browser, chromium_path
from tests.verify.factory import cell_of, write_manifest, write_run

HEX = "a" * 40
LOCAL = ("file:", "data:", "about:")


def check_in_browser(html_path, shot_path=None) -> dict:
    """Load the page, click the first cell, return what a reviewer of the page would check."""
    exe = chromium_path()
    if exe is None:
        pytest.skip("no chromium on this machine (apt-get install chromium)")
    pytest.importorskip("websocket")
    browser = Browser(exe)
    try:
        browser.open(html_path.resolve().as_uri())
        out = {"ready": browser.evaluate("document.body.dataset.ready"),
               "cells": browser.evaluate("document.querySelectorAll('tr.cell').length")}
        browser.evaluate("document.querySelector('tr.cell:not([data-run=\"\"])').click()")  # a cell with a run
        out["instances"] = browser.evaluate("document.querySelectorAll('tr.instance').length")
        out["drill_text"] = browser.evaluate("document.querySelector('.drill').textContent")
        out["after_click"] = browser.screenshot()
        browser.evaluate("const s = document.querySelector('select[data-filter=verdict]');"
                         "s.value = [...s.options].map(o => o.value).find(v => v === 'discrepant');"
                         "document.querySelector('.filters').dispatchEvent(new Event('change', {bubbles: true}))")
        out["cells_after_filter"] = browser.evaluate("document.querySelectorAll('tr.cell').length")
        out["summary"] = browser.evaluate("document.querySelector('.summary').textContent")
        png = browser.screenshot()
        out["errors"], out["remote"] = browser.errors(), [u for u in browser.requests() if not u.startswith(LOCAL)]
    finally:
        browser.close()
    if shot_path is not None:
        shot_path.write_bytes(out["after_click"])
    from PIL import Image
    import numpy as np

    pixels = np.asarray(Image.open(io.BytesIO(out.pop("after_click"))).convert("L"), dtype=float)
    out["pixel_std"], out["size"] = float(pixels.std()), pixels.shape
    return out


def test_html_report_opens_offline_and_drills_down(tmp_path, bioeval_cli):
    manifest = write_manifest(tmp_path)
    results = tmp_path / "results"
    # 30 of 50 right: F1 0.60 against the published 0.80, a failing cell
    answers = [{"id": str(i), "prediction": "A" if i < 30 else "</script><img src=x onerror=alert(1)>", "reference": "A"}
               for i in range(50)]
    write_run(results, cell_of(manifest, "tiny", "ee"), {"precision": 0.8, "recall": 0.8, "f1": 0.83}, n=50,
              predictions=answers, receipt={"python": "3.11.7", "HF_TOKEN": "hf_abcdefghijklmnopqrstuvwx",
                                            "libraries": {"tokenizers": "0.22.1"}, "decoding": {"max_new_tokens": 12}})
    html = tmp_path / "report.html"
    code, _, err = bioeval_cli("report", manifest, "--results", results, "--html", html)
    assert code == 0, err
    text = html.read_text()
    # one file: no links to anything outside it, the secret redacted, the tokenizer facts kept
    assert not re.search(r"(src|href)=\"(https?:)?//", text) and "hf_abcdefghijklmnopqrstuvwx" not in text
    assert '"libraries.tokenizers": "0.22.1"' in text and '"decoding.max_new_tokens": "12"' in text
    page = check_in_browser(html, tmp_path / "shot.png")
    assert page["errors"] == [] and page["remote"] == []
    assert page["ready"] == "1" and page["cells"] == 6
    assert page["instances"] == 50 and "20 with errors" in page["drill_text"]
    assert page["cells_after_filter"] == 1  # the verdict filter keeps the failing cell only
    assert re.fullmatch(r"(\s*(reproduced|discrepant|missing|invalid|new) \d+\s*)+", page["summary"])  # counts, each named
    assert page["pixel_std"] > 20 and page["size"][0] > 500  # not a blank page


def embedded_data(html_path) -> dict:
    import json

    text = html_path.read_text()
    start = text.index('<script type="application/json" id="bioeval-data">') + len(
        '<script type="application/json" id="bioeval-data">')
    return json.loads(text[start:text.index("</script>", start)])


def test_html_environment_differences_and_regression_data(tmp_path, bioeval_cli):
    manifest = write_manifest(tmp_path)
    results = tmp_path / "results"
    write_run(results, cell_of(manifest, "tiny", "ee"), {"precision": 0.8, "recall": 0.8, "f1": 0.8},
              receipt={"python": "3.11.7", "libraries": {"torch": "2.13.0"}})
    write_run(results, cell_of(manifest, "tiny", "ner"), {"precision": 0.7, "recall": 0.6, "f1": 0.6462},
              receipt={"python": "3.11.7", "libraries": {"torch": "2.12.0"}})
    html = tmp_path / "r.html"
    code, _, err = bioeval_cli("report", manifest, "--results", results, "--html", html, "--add-model",
                               f"mynew=org/new@{HEX}", "--like", "tiny")
    assert code == 0, err
    (section,) = embedded_data(html)["sections"]
    env = section["environment"]
    (first, second) = sorted(env["environments"])
    assert env["diffs"][first] == [] or env["diffs"][second] == []
    changed = env["diffs"][second] or env["diffs"][first]
    assert [d["key"] for d in changed] == ["libraries.torch"]
    assert section["regression"][0]["model"] == "mynew" and section["regression"][0]["like"] == "tiny"
    assert {c["verdict"] for c in section["cells"] if c["model"] == "mynew"} == {"missing"}
    # verify's global verdict where it gives one, else one derived from the values (missing ones here)
    assert section["global"]["verdict"] == section["summary"]["global_verdict"]
