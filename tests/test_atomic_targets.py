"""Issue 23, finding 12: an atomic write never replaces a target that is not a regular file (a
symlink, a fifo, a folder: what `--out /dev/full` was); `-` is standard output on purpose.
Never /dev/*: a fifo and a symlink in tmp_path stand for them."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bioeval.errors import WorkdirError
from bioeval.runs import write_text

REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "manifests" / "smoke.yaml"


def _targets(tmp_path: Path) -> dict[str, Path]:
    kept = tmp_path / "kept.md"
    kept.write_text("the user's file\n")
    link = tmp_path / "link.md"
    link.symlink_to(kept)
    fifo = tmp_path / "fifo.md"
    os.mkfifo(fifo)
    folder = tmp_path / "folder.md"
    folder.mkdir()
    return {"a symlink": link, "a fifo": fifo, "a folder": folder}


def test_write_text_refuses_what_is_not_a_regular_file(tmp_path):
    for kind, target in _targets(tmp_path).items():
        mode = os.lstat(target).st_mode
        with pytest.raises(WorkdirError) as err:
            write_text(target, "new\n")
        assert str(target) in str(err.value) and kind in str(err.value)
        assert os.lstat(target).st_mode == mode  # still a symlink / fifo / folder
    assert (tmp_path / "kept.md").read_text() == "the user's file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo.md", "folder.md", "kept.md", "link.md"]  # no temp left


def test_a_regular_file_is_still_replaced(tmp_path):
    target = tmp_path / "r.md"
    target.write_text("old\n")
    write_text(target, "new\n")
    assert target.read_text() == "new\n" and stat.S_ISREG(os.lstat(target).st_mode)


@pytest.mark.parametrize("kind", ["a symlink", "a fifo", "a folder"])
def test_report_out_onto_a_special_file_is_refused_with_its_path(bioeval_cli, tmp_path, kind):
    target = _targets(tmp_path)[kind]
    (tmp_path / "empty").mkdir()
    code, out, err = bioeval_cli("report", str(SMOKE), "--results", str(tmp_path / "empty"), "--out", str(target))
    assert code in (2, 3), (out, err)
    assert str(target) in err and "Traceback" not in err
    assert (tmp_path / "kept.md").read_text() == "the user's file\n"
    assert not (tmp_path / "figures").exists()  # nothing written beside a refused target


def test_dash_is_standard_output(bioeval_cli, tmp_path):
    (tmp_path / "empty").mkdir()
    code, out, err = bioeval_cli("verify", str(SMOKE), "--results", str(tmp_path / "empty"), "--junit", "-",
                                 "--allow-missing")
    assert "<testsuite" in out, (code, out, err)
    assert not (REPO / "-").exists()
    code, out, err = bioeval_cli("report", str(SMOKE), "--results", str(tmp_path / "empty"), "--out", "-")
    assert code == 0 and "# " in out and not (REPO / "-").exists() and not (REPO / "figures").exists()
