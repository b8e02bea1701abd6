"""The three-valued judging: invariant to the order of models and datasets (hypothesis), honest
about ties, and, on runs, paired where two cells score the same instances."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bioeval.claims.logic import Interval, judge_claim
from bioeval.claims.schema import Check, Claim

MODELS = ["m0", "m1", "m2", "m3"]
DATASETS = ["d0", "d1", "d2"]
METRICS = ["precision", "recall", "f1"]


class Intervals:
    """Evidence from a dict of intervals; differences through the two intervals."""

    def __init__(self, values: dict):
        self.values = values

    def value(self, model, dataset, metric):
        return self.values.get((model, dataset, metric))

    def diff(self, a, b):
        x, y = self.value(*a), self.value(*b)
        return None if x is None or y is None else Interval(x.lo - y.hi, x.hi - y.lo, x.point - y.point)


def _claim(check: dict) -> Claim:
    return Claim(id="c", quote="q", where="w", check=Check.model_validate(check))


CHECKS = [
    {"kind": "threshold", "models": ["m0", "m2"], "datasets": ["d0", "d1"], "op": ">", "value": 0.5},
    {"kind": "ranking", "models": ["m1", "m3"], "datasets": ["d0", "d2"], "metric": "recall"},
    {"kind": "ranking", "models": ["m2"], "datasets": DATASETS, "over": "mean", "top": 2, "order": "lowest"},
    {"kind": "ranking", "rank": "datasets", "models": ["m0", "m1"], "datasets": ["d1"], "top": 1},
    {"kind": "comparison", "a": "m0", "b": "m3", "datasets": DATASETS, "relations": {"precision": "higher", "recall": "lower"}},
    {"kind": "count", "at_least": 2, "of": [{"kind": "comparison", "a": "m1", "b": "m2", "datasets": DATASETS,
                                             "relations": {"f1": "higher"}}]},
    {"kind": "count", "at_least": 2, "per": "model", "of": [{"kind": "threshold", "models": MODELS,
                                                            "datasets": ["d0"], "op": "<=", "value": 0.6}]},
    {"kind": "spread", "subject": "a", "groups": {"a": ["d0"], "b": ["d1", "d2"]}},
]

values = st.fixed_dictionaries({(m, d, x): st.tuples(st.floats(0, 1), st.floats(0, 0.2))
                                for m in MODELS for d in DATASETS for x in METRICS})


def _evidence(raw: dict, order: list) -> Intervals:
    return Intervals({k: Interval(max(p - w, 0), min(p + w, 1), p) for k in order for p, w in [raw[k]]})


@settings(max_examples=60, deadline=None)
@given(values, st.permutations(MODELS), st.permutations(DATASETS), st.randoms(use_true_random=False))
def test_a_claims_verdict_does_not_depend_on_the_order_of_models_and_datasets(raw, models, datasets, rnd):
    keys = list(raw)
    shuffled = keys[:]
    rnd.shuffle(shuffled)
    for check in CHECKS:
        listed = dict(check)
        for field in ("models", "datasets"):
            if field in listed:
                listed[field] = rnd.sample(listed[field], len(listed[field]))
        first, _ = judge_claim(_claim(check), _evidence(raw, keys), MODELS, DATASETS)
        again, _ = judge_claim(_claim(listed), _evidence(raw, shuffled), models, datasets)
        assert first == again, check


def test_ties_and_rounding_are_undecided_not_a_point_comparison():
    tied = Intervals({("m0", "d0", "f1"): Interval(0.9495, 0.9505, 0.95), ("m1", "d0", "f1"): Interval(0.9495, 0.9505, 0.95)})
    best, atoms = judge_claim(_claim({"kind": "ranking", "models": ["m0"], "datasets": ["d0"], "top": 1}), tied,
                              ["m0", "m1"], ["d0"])
    assert best is None and "0 surely and 1 possibly" in atoms[0]["what"]
    above, _ = judge_claim(_claim({"kind": "threshold", "models": ["m0"], "datasets": ["d0"], "op": ">", "value": 0.95}),
                           tied, ["m0", "m1"], ["d0"])
    assert above is None  # "exceeding 0.95" for a value printed 0.95: the digits cannot tell
    clear = Intervals({("m0", "d0", "f1"): Interval(0.96, 0.97, 0.965), ("m1", "d0", "f1"): Interval(0.90, 0.95, 0.93)})
    assert judge_claim(_claim({"kind": "ranking", "models": ["m0"], "datasets": ["d0"], "top": 1}), clear,
                       ["m0", "m1"], ["d0"])[0] is True
    assert judge_claim(_claim({"kind": "ranking", "models": ["m1"], "datasets": ["d0"], "top": 1}), clear,
                       ["m0", "m1"], ["d0"])[0] is False


def test_on_runs_a_model_not_run_keeps_a_ranking_open():
    """The paper's table leaves out what it does not print; runs that lack a model cannot say
    the claimed model is the best: the unrun one may lie anywhere."""
    values = {("m0", "d0", "f1"): Interval(0.9, 0.95, 0.93), ("m1", "d0", "f1"): Interval(0.5, 0.6, 0.55)}
    best = _claim({"kind": "ranking", "models": ["m0"], "datasets": ["d0"], "top": 1})
    table = Intervals(values)
    assert judge_claim(best, table, ["m0", "m1", "m2"], ["d0"])[0] is True
    runs = Intervals(values)
    runs.complete = False
    holds, atoms = judge_claim(best, runs, ["m0", "m1", "m2"], ["d0"])
    assert holds is None and "m2 - m0" in atoms[0]["values"]


def test_runs_pair_cells_of_one_dataset_and_judge_with_intervals(tmp_path):
    """Two models scored on the same 400 instances: the paired interval of their difference is
    narrower than the one from their two intervals, and a 0.02 gap is decided only when paired."""
    from bioeval.claims.logic import sign3
    from bioeval.verify.claims import RunEvidence
    from bioeval.manifest import load_manifest
    from bioeval.verify.verify import verify_manifest
    from tests.verify.factory import MANIFEST, cell_of, write_manifest, write_run

    manifest = write_manifest(tmp_path, MANIFEST)
    results = tmp_path / "results"
    tiny = cell_of(manifest, "tiny", "ee")
    big = cell_of(manifest, "big", "ee")
    # tiny gets the first 40 wrong, big those 40 and 8 more: F1 0.90 vs 0.88 on the same instances
    write_run(results, tiny, predictions=[{"id": str(i), "reference": "A", "prediction": "B" if i < 40 else "A"}
                                          for i in range(400)], bootstrap=True, scores=True)
    write_run(results, big, predictions=[{"id": str(i), "reference": "A", "prediction": "B" if i < 48 else "A"}
                                         for i in range(400)], bootstrap=True, scores=True)
    report = verify_manifest(load_manifest(manifest), results)
    ev = RunEvidence(report, 0.95)
    paired = ev.diff(("tiny", "ee", "f1"), ("big", "ee", "f1"))
    x, y = ev.value("tiny", "ee", "f1"), ev.value("big", "ee", "f1")
    assert paired.point == x.point - y.point
    assert paired.hi - paired.lo < (x.hi - y.lo) - (x.lo - y.hi)
    assert sign3(paired) is True  # decided: tiny is higher on these instances
    assert sign3(Interval(x.lo - y.hi, x.hi - y.lo, 0.02)) is None  # the two intervals alone overlap
