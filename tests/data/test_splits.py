"""Carving, subsampling and the record-count check of load_split."""

from __future__ import annotations

import warnings

import pytest

from bioeval.data import RecordCountMismatch, load_split, subsample
from bioeval.data.splits import carve_indices
from bioeval.errors import DataError
from bioeval.manifest import load_manifest
from bioeval.settings import Settings
from conftest import FIXTURES, write_manifest


def test_carve_partitions_and_matches_the_paper_sizes():
    n = 23516  # ADE classification sentences
    train = carve_indices(n, 0.0, 0.8, seed=42)
    test = carve_indices(n, 0.8, 1.0, seed=42)
    assert (len(train), len(test)) == (18812, 4704)  # Table 1
    assert not set(train) & set(test) and len(set(train) | set(test)) == n
    assert carve_indices(n, 0.8, 1.0, seed=42) == test  # deterministic
    assert carve_indices(n, 0.8, 1.0, seed=43) != test
    assert (len(carve_indices(8676, 0, 0.8, 1)), len(carve_indices(8676, 0.8, 1, 1))) == (6940, 1736)


def test_subsample_is_seeded_and_returns_indices():
    items = [f"x{i}" for i in range(3020)]
    chosen, idx = subsample(items, 1000, seed=7)
    assert len(chosen) == 1000 and len(set(idx)) == 1000 and idx == sorted(idx)
    assert chosen == [items[i] for i in idx]
    assert subsample(items, 1000, seed=7) == (chosen, idx)
    assert subsample(items, 1000, seed=8)[1] != idx
    assert subsample(items[:10], 1000, seed=7) == (items[:10], list(range(10)))
    assert subsample(items, None, seed=None)[1] == list(range(3020))


def test_load_split_carves_converts_and_warns_on_counts(tmp_path):
    ade = tmp_path / "ade_tiny.csv"  # local data sits in the manifest's folder
    ade.write_bytes((FIXTURES / "ade_tiny.csv").read_bytes())
    path = write_manifest(tmp_path, f"""\
        - key: ade
          paper_name: ADE
          task: TC
          format: ade-classification
          splits:
            train: {{source: {{local: {ade}}}, records: 2, carve: {{start: 0.0, end: 0.67, seed: 1}}}}
            test: {{source: {{local: {ade}}}, records: 5, carve: {{start: 0.67, end: 1.0, seed: 1}}}}
        """)
    loaded = load_manifest(path)
    ds = loaded.manifest.datasets[0]
    settings = Settings(cache_dir=tmp_path / "cache")
    train = load_split(ds, "train", loaded, settings)
    with pytest.warns(RecordCountMismatch, match="ADE test: 1 records, Table 1 says 5"):
        test = load_split(ds, "test", loaded, settings)
    assert len(train) == 2 and len(test) == 1
    assert {x.input for x in train} | {x.input for x in test} == {
        "Intravenous azithromycin-induced ototoxicity.",
        "Immobilization, while Paget's bone disease was present, caused hypercalcemia.",
        "Lithium toxicity after a dose increase."}
    assert test[0].id.startswith("test-")  # id = row of the source file
    settings.strict = True
    with pytest.raises(DataError, match="1 records, Table 1 says 5"):
        load_split(ds, "test", loaded, settings)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_split(ds, "train", loaded, settings)  # matching count: no warning
