"""Fetching over a real local HTTP server: checksums, cache, retries, mirror, local paths."""

from __future__ import annotations

import shutil

import pytest

from bioeval.data.cache import pinned_path
from bioeval.errors import Unavailable
from bioeval.data.sources import fetch_source
from bioeval.errors import ChecksumMismatch
from bioeval.manifest.schema import Source
from bioeval.settings import Settings
from conftest import sha256

PHEE = "EE_phee_test.json"
PHEE_SHA = "a75587d5c00e2a03ae0d46dd2d865b688d37237c3c25616a776d1604ca1de29c"


@pytest.fixture
def settings(tmp_path):
    return Settings(workdir=tmp_path / "runs", cache_dir=tmp_path / "cache")


def test_url_download_is_verified_cached_and_reused(hub, settings, tmp_path):
    src = Source(url=f"{hub.url}/files/{PHEE}", sha256=PHEE_SHA)
    first = fetch_source(src, tmp_path, settings)
    assert first.origin == "url" and first.sha256_ok is True
    assert first.path == pinned_path(settings.cache_dir, PHEE_SHA, PHEE)
    assert sha256(first.path) == PHEE_SHA
    second = fetch_source(src, tmp_path, settings)
    assert second.origin == "cache" and second.path == first.path
    assert hub.count(f"/files/{PHEE}") == 1  # the second fetch made no HTTP request


def test_checksum_mismatch_is_refused_and_nothing_is_cached(hub, settings, tmp_path):
    src = Source(url=f"{hub.url}/bad/{PHEE}", sha256=PHEE_SHA)
    with pytest.raises(ChecksumMismatch) as info:
        fetch_source(src, tmp_path, settings)
    assert info.value.expected == PHEE_SHA and info.value.actual != PHEE_SHA
    assert f"/bad/{PHEE}" in str(info.value) and "was not used" in str(info.value)
    assert not pinned_path(settings.cache_dir, PHEE_SHA, PHEE).exists()
    assert not [p for p in settings.cache_dir.rglob("*") if p.is_file()]  # no temp file left behind


def test_retries_with_backoff_then_success(hub, settings, tmp_path, fast_retries):
    hub.fail[f"/files/{PHEE}"] = 2
    fetched = fetch_source(Source(url=f"{hub.url}/files/{PHEE}", sha256=PHEE_SHA), tmp_path, settings)
    assert fetched.origin == "url" and hub.count(f"/files/{PHEE}") == 3


def test_retries_give_up_and_404_is_final(hub, settings, tmp_path, fast_retries):
    hub.fail[f"/files/{PHEE}"] = 10
    with pytest.raises(Unavailable, match="HTTP 503 after 3 attempts"):
        fetch_source(Source(url=f"{hub.url}/files/{PHEE}", sha256=PHEE_SHA), tmp_path, settings)
    with pytest.raises(Unavailable, match="HTTP 404"):
        fetch_source(Source(url=f"{hub.url}/files/nope.json"), tmp_path, settings)
    assert hub.count("/files/nope.json") == 1


def test_unreachable_host_is_unavailable(settings, tmp_path, fast_retries):
    with pytest.raises(Unavailable, match="could not download"):
        fetch_source(Source(url="http://127.0.0.1:9/x.json", sha256=PHEE_SHA), tmp_path, settings)


def test_mirror_by_name_and_by_sha256_without_network(settings, tmp_path, mirror):
    settings.data_mirror = mirror
    src = Source(url="http://127.0.0.1:9/unreachable/EE_phee_test.json", sha256=PHEE_SHA)
    by_name = fetch_source(src, tmp_path, settings)
    assert by_name.origin == "mirror" and by_name.sha256_ok
    by_sha = tmp_path / "by-sha"
    by_sha.mkdir()
    shutil.copy(mirror / PHEE, by_sha / PHEE_SHA)
    settings.data_mirror, settings.cache_dir = by_sha, tmp_path / "cache2"
    renamed = Source(url="http://127.0.0.1:9/some/other-name.json", sha256=PHEE_SHA)
    found = fetch_source(renamed, tmp_path, settings)
    assert found.origin == "mirror" and found.sha256 == PHEE_SHA
    for layout in (f"{PHEE_SHA}.json", f"{PHEE_SHA}/other-name.json"):  # <sha>.<ext>, <sha>/<name>
        other = tmp_path / f"layout-{len(layout)}"
        (other / layout).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(mirror / PHEE, other / layout)
        settings.data_mirror, settings.cache_dir = other, other / "cache"
        assert fetch_source(renamed, tmp_path, settings).origin == "mirror"


def test_corrupted_mirror_file_is_refused(settings, tmp_path, mirror):
    bad = tmp_path / "badmirror"
    bad.mkdir()
    data = bytearray((mirror / PHEE).read_bytes())
    data[10] ^= 0x01
    (bad / PHEE).write_bytes(bytes(data))
    settings.data_mirror = bad
    with pytest.raises(ChecksumMismatch, match="mirror copy was refused"):
        fetch_source(Source(url=f"http://127.0.0.1:9/{PHEE}", sha256=PHEE_SHA), tmp_path, settings)
    assert not pinned_path(settings.cache_dir, PHEE_SHA, PHEE).exists()


def test_unpinned_file_is_used_but_reported(hub, settings, tmp_path):
    fetched = fetch_source(Source(url=f"{hub.url}/files/{PHEE}"), tmp_path, settings)
    assert fetched.sha256_ok is None and fetched.sha256 == PHEE_SHA


def test_local_path_relative_with_env_and_access_message(settings, tmp_path, mirror, monkeypatch):
    (tmp_path / "private").mkdir()
    shutil.copy(mirror / PHEE, tmp_path / "private" / PHEE)
    monkeypatch.setenv("PRIVATE_DATA", str(tmp_path / "private"))
    fetched = fetch_source(Source(local="${PRIVATE_DATA}/" + PHEE, sha256=PHEE_SHA), tmp_path / "elsewhere", settings,
                           data_locations=("PRIVATE_DATA",))
    assert fetched.origin == "local" and fetched.path == tmp_path / "private" / PHEE
    rel = fetch_source(Source(local=f"private/{PHEE}"), tmp_path, settings)
    assert rel.path == tmp_path / "private" / PHEE and rel.sha256_ok is None
    monkeypatch.delenv("PRIVATE_DATA")
    with pytest.raises(Unavailable, match=r"PRIVATE_DATA is not set.*Request access at smm4h"):
        fetch_source(Source(local="${PRIVATE_DATA}/x.csv", access="Request access at smm4h.example."), tmp_path, settings,
                     data_locations=("PRIVATE_DATA",))
