"""A cached data file is hashed again before use: edited after download, it is refused by the
engine's fetch, by `bioeval fetch` and by the audit (which report the hash of the bytes)."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from bioeval.data.cache import lookup, pinned_path, verified_sha256
from bioeval.data.sources import fetch_source
from bioeval.errors import ChecksumMismatch
from bioeval.manifest.schema import Source
from bioeval.settings import Settings
from conftest import sha256, write_manifest

PHEE = "EE_phee_test.json"
PHEE_SHA = "a75587d5c00e2a03ae0d46dd2d865b688d37237c3c25616a776d1604ca1de29c"
FAST = {"BIOEVAL_BACKOFF": "0.01", "BIOEVAL_RETRIES": "2"}


def edit_keeping_size_and_mtime(path):
    """The sneakiest edit: same size, mtime set back (only ctime, which no user can set, changes)."""
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[200] ^= 0x01
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_cache_hit_edited_after_download_is_refused(hub, tmp_path):
    settings = Settings(workdir=tmp_path / "runs", cache_dir=tmp_path / "cache")
    src = Source(url=f"{hub.url}/files/{PHEE}", sha256=PHEE_SHA)
    cached = fetch_source(src, tmp_path, settings).path
    assert fetch_source(src, tmp_path, settings).origin == "cache"  # unchanged: a hit (the stamp says so)
    edit_keeping_size_and_mtime(cached)
    with pytest.raises(ChecksumMismatch) as info:
        fetch_source(src, tmp_path, settings)
    assert info.value.actual == sha256(cached) != PHEE_SHA and str(cached) in str(info.value)
    assert "changed after it was downloaded" in str(info.value)


def test_a_forged_stamp_does_not_make_an_edited_cache_file_usable(tmp_path):
    """Whoever can edit the cache can also write a stamp (size, mtime, ctime, inode of the edited
    file beside the pinned sha256): every hit is hashed again, so the edit is still refused."""
    real = hashlib.sha256(b"hello").hexdigest()
    path = pinned_path(tmp_path, real, "f.txt")
    path.parent.mkdir(parents=True)
    path.write_text("hello")
    assert lookup(tmp_path, real, "f.txt") == path and verified_sha256(path, real) == real
    path.write_text("hellO")  # same size
    st = path.stat()
    stamp = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns, "ino": st.st_ino,
             "sha256": real}
    path.with_name(".f.txt.stamp").write_text(json.dumps(stamp))
    assert verified_sha256(path, real) == sha256(path) != real
    with pytest.raises(ChecksumMismatch):
        lookup(tmp_path, real, "f.txt")
    assert lookup(tmp_path, "1" * 64, "f.txt") is None  # not cached at all: None, not an error


def test_fetch_and_audit_report_the_edited_cache_file(cli, hub, tmp_path):
    cache = tmp_path / "cache"
    path = write_manifest(tmp_path, f"""\
        - key: phee
          paper_name: PHEE
          task: EE
          splits:
            test: {{source: {{url: "{hub.url}/files/{PHEE}", sha256: {PHEE_SHA}}}, records: 968}}
        """)
    env = {**FAST, "BIOEVAL_CACHE": str(cache)}
    assert cli("fetch", "--data-only", str(path), env=env).returncode == 0
    cached = pinned_path(cache, PHEE_SHA, PHEE)
    edit_keeping_size_and_mtime(cached)
    r = cli("fetch", "--data-only", str(path), env=env)
    flat = r.stdout.replace("\n", "")
    assert r.returncode == 3 and "refused" in r.stdout and sha256(cached) in flat, r.stdout
    r = cli("audit", str(path), "--json", env=env)
    assert "Traceback" not in r.stderr
    entry = json.loads(r.stdout)["datasets"][0]
    assert entry["sha256_ok"] is False and any(sha256(cached) in f for f in entry["findings"])
