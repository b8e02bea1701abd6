"""`reproduce` verifies once and reports from that verification: verify_manifest runs once,
each predictions.jsonl is read from disk once (by the run folder's reader, shared by the
re-scoring, the baselines, the claims' paired bootstraps and the HTML's instance views), and
the figures are rendered once with --html."""

from __future__ import annotations

from collections import Counter

import pytest
from click.testing import CliRunner

from bioeval.cli import main
from tests.engine.conftest import SMOKE
from tests.engine.test_cli_run import finish_all_cells


def counting(monkeypatch, module, name: str, calls: list):
    original = getattr(module, name)

    def wrapped(*args, **kwargs):
        calls.append((args, kwargs))
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapped)


def test_reproduce_verifies_once_and_reads_each_predictions_file_once(tmp_path, monkeypatch):
    import bioeval.report.assemble as assemble
    import bioeval.runs.read as read
    import bioeval.scoring.files as files
    import bioeval.verify.verify as verify

    loaded = finish_all_cells(tmp_path)  # finished runs: reproduce runs nothing, then verifies and reports
    verified, predictions, parsed, figures = [], [], [], []
    counting(monkeypatch, verify, "verify_manifest", verified)
    counting(monkeypatch, read, "predictions_bytes", predictions)
    counting(monkeypatch, files, "read_predictions", parsed)
    counting(monkeypatch, assemble, "section_figures", figures)
    out = CliRunner().invoke(main, ["--workdir", str(tmp_path), "reproduce", str(SMOKE), "--no-progress",
                                    "--html", str(tmp_path / "smoke.html")])
    assert out.exit_code == 0, out.output
    assert (tmp_path / "reports" / "smoke.md").is_file() and (tmp_path / "smoke.html").is_file()
    assert len(verified) == 1
    reads = Counter(str(args[0]) for args, _ in predictions)
    from bioeval.manifest import cells

    assert set(reads) == {str(tmp_path / c.run_id / "predictions.jsonl") for c in cells(loaded)}
    assert set(reads.values()) == {1}, reads
    assert not [a for a, kw in parsed if kw.get("data") is None], "a predictions file read around the reader"
    assert len(figures) == 1


@pytest.mark.slow
def test_reproduce_resolves_the_manifest_once_and_converts_each_split_once(tmp_path, monkeypatch):
    """A cold run: the fetch counts each split's records and the report's audit reads them again;
    both share one conversion per file, and verify takes the cells the command resolved; the
    runtime's options, the pending cells, the GPUs and the inputs are each checked once."""
    import bioeval.data.splits as splits
    import bioeval.engine.inputs as inputs
    import bioeval.manifest.resolve as resolve
    import bioeval.runtimes.local as local
    import bioeval.runtimes.options as options

    resolved, converted, checks = [], [], {name: [] for name in ("pending", "check_gpus", "check_options",
                                                                  "fetch_inputs")}
    counting(monkeypatch, resolve, "iter_cells", resolved)
    counting(monkeypatch, splits, "convert", converted)
    for name, module in (("pending", local), ("check_gpus", local), ("check_options", options),
                         ("fetch_inputs", inputs)):
        counting(monkeypatch, module, name, checks[name])
    monkeypatch.setattr(splits, "_CONVERTED", {})  # nothing converted earlier in this process counts
    out = CliRunner().invoke(main, ["--workdir", str(tmp_path), "reproduce", str(SMOKE), "--no-progress",
                                    "--only", "dataset=smoke-tc"])
    assert out.exit_code == 0, out.output
    assert (tmp_path / "reports" / "smoke.md").is_file()
    assert len(resolved) == 1
    assert {name: len(calls) for name, calls in checks.items()} == dict.fromkeys(checks, 1)  # each check once
    files = Counter((str(args[0]), args[1]) for args, _ in converted)
    assert {split for _, split in files} == {"train", "validation", "test"}
    assert len({path for path, _ in files}) >= 4 * 3, files  # the audit reads every dataset's splits
    assert set(files.values()) == {1}, files
