"""The redesign of issue 24 (resolve once, one run-folder reader, verify once, the stage order)
changed no output, and no later change does unless it says so: `make smoke` with the code of
BEFORE and with this checkout writes the same run folders and the same report, file by file,
byte for byte once what must differ is set aside (timestamps, durations, the two workdirs'
paths, the git commit the receipts record).  Move BEFORE forward when a change of output is
intended, and say so in its commit."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
from io import BytesIO
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# 29809ce (the last commit before issue 24's first change) until the protocol ledger gained its
# training.shared_prefix row (ea32474), then its lora.top_layers and training.train_subsample
# rows (e06da49): intended changes of the report, which lists every protocol field
BEFORE = "e06da49"
STAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}| UTC)?")
DURATION = re.compile(r"\b\d+(\.\d+)?\s?s\b")  # "in 12.4s" in log.txt
# what differs between any two runs: wall times, the process, the commit the receipt records
VOLATILE = {"git_sha", "pid", "time", "ms"}  # status.json's time and pid; the numerics fingerprint's ms
VOLATILE_UNDER = {"timings_s"}
TABLE_ROW = re.compile(r"^\| ([\w.]+) \| (.*) \|$", re.M)  # the report's receipt tables: key | value


def _checkout(commit: str, into: Path) -> Path:
    """The commit's tracked files (git archive: the repository itself is left as it is)."""
    data = subprocess.run(["git", "-C", str(REPO), "archive", commit], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into


def _smoke(code: Path, workdir: Path) -> None:
    """`bioeval reproduce manifests/smoke.yaml` with the bioeval package under ``code``: `python -m`
    puts the working directory first on sys.path, ahead of the editable install."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIOEVAL_")}
    env["BIOEVAL_CACHE"] = str(workdir.parent / "cache")  # the same offline inputs for both
    done = subprocess.run([sys.executable, "-m", "bioeval", "--workdir", str(workdir), "reproduce",
                           "manifests/smoke.yaml", "--no-progress"], cwd=code, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    probe = subprocess.run([sys.executable, "-c", "import bioeval; print(bioeval.__file__)"], cwd=code,
                           env=env, capture_output=True, text=True, check=True).stdout
    assert Path(probe.strip()).resolve().is_relative_to(code.resolve()), probe  # that code ran, not this one


def _normalised(path: Path, workdir: Path, code: Path) -> object:
    text = path.read_text(encoding="utf-8").replace(str(workdir), "<workdir>").replace(str(code), "<code>")
    if path.suffix == ".json":
        return _drop_volatile(json.loads(text))
    if path.suffix == ".jsonl":
        return [_drop_volatile(json.loads(line)) for line in text.splitlines() if line.strip()]
    text = TABLE_ROW.sub(lambda m: m.group(0) if not _volatile(m.group(1)) else f"| {m.group(1)} | <volatile> |", text)
    return DURATION.sub("<duration>", STAMP.sub("<time>", text))


def _volatile(dotted: str) -> bool:
    parts = dotted.split(".")
    return parts[-1] in VOLATILE or bool(VOLATILE_UNDER & set(parts[:-1]))


def _drop_volatile(value):
    if isinstance(value, dict):
        return {k: _drop_volatile(v) for k, v in value.items() if k not in VOLATILE and k not in VOLATILE_UNDER}
    if isinstance(value, list):
        return [_drop_volatile(v) for v in value]
    return value


def _diff(before, after) -> str:
    """What changed, as a unified diff of the two normalised forms (the first 40 lines)."""
    import difflib

    def lines(value):
        return (value if isinstance(value, str) else json.dumps(value, indent=1, sort_keys=True)).splitlines()

    return "\n".join(list(difflib.unified_diff(lines(before), lines(after), "before", "after", lineterm=""))[:40]) + "\n"


def _files(workdir: Path) -> dict[str, Path]:
    skip = {".lock"}
    return {str(p.relative_to(workdir)): p for p in sorted(workdir.rglob("*"))
            if p.is_file() and p.name not in skip and "checkpoints" not in p.parts}


@pytest.mark.slow
def test_the_smoke_run_and_report_are_what_they_were_before_the_redesign(tmp_path):
    if subprocess.run(["git", "-C", str(REPO), "cat-file", "-e", BEFORE + "^{commit}"]).returncode:
        pytest.skip(f"commit {BEFORE} is not in this clone (a shallow clone): clone with history to run this")
    old = _checkout(BEFORE, tmp_path / "before")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _smoke(old, tmp_path / "a" / "runs")
    _smoke(REPO, tmp_path / "b" / "runs")
    before, after = _files(tmp_path / "a" / "runs"), _files(tmp_path / "b" / "runs")
    assert sorted(after) == sorted(before)
    assert any(name.endswith("predictions.jsonl") for name in after) and any(n.startswith("reports") for n in after)
    changed = [name for name in after if name.endswith(".png") and after[name].read_bytes() != before[name].read_bytes()
               or not name.endswith(".png") and _normalised(after[name], tmp_path / "b" / "runs", REPO)
               != _normalised(before[name], tmp_path / "a" / "runs", old)]
    assert not changed, f"outputs that differ from {BEFORE}'s: {changed}\n" + "".join(
        _diff(_normalised(before[name], tmp_path / "a" / "runs", old), _normalised(after[name], tmp_path / "b" / "runs", REPO))
        for name in changed if not name.endswith(".png"))
    for name in after:  # the files the verdicts rest on: the same bytes, not just the same content
        if name.endswith(("predictions.jsonl", "scores.json", "spec.json")):
            assert after[name].read_bytes() == before[name].read_bytes(), name
