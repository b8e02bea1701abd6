"""Run directories: atomic writes, locks and status."""

from __future__ import annotations

import shutil

import pytest

from bioeval.manifest.resolve import run_id_of
from bioeval.runs import CellBusy, RunDir


def test_atomic_write_gives_normal_permissions(tmp_path):
    import os
    import stat

    from bioeval.runs import write_json

    write_json(tmp_path / "x.json", {"a": 1})
    mode = stat.S_IMODE(os.stat(tmp_path / "x.json").st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask
    assert not list(tmp_path.glob(".x.json.*"))  # no temp file left behind


def test_cell_lock_excludes_a_second_holder_and_dies_with_it(tmp_path):
    first = RunDir(tmp_path, "abc").create({"x": 1})
    second = RunDir(tmp_path, "abc")
    with first:
        with pytest.raises(CellBusy, match="another process"):
            second.acquire()
    with second:  # released: the next holder gets it
        assert second.status()["state"] == "pending"


def test_status_round_trip(tmp_path):
    run = RunDir(tmp_path, run_id_of({"x": 1})).create({"x": 1})
    assert not run.is_done()
    run.set_status("done", note="ok")
    assert run.status()["state"] == "done" and run.status()["note"] == "ok"
    assert not run.is_done()  # done without scores.json is not done
    run.scores.write_text("{}")
    assert run.is_done()
    other = RunDir(tmp_path, "0123456789abcdef")  # a copy of that folder under another run id: not done
    shutil.copytree(run.path, other.path)
    assert other.status()["state"] == "done" and not other.is_done()
