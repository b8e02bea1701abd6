"""`bioeval audit`: does the data match the paper, and how far do trivial baselines get?

Per dataset and split: records vs expected, sha256 status, response distribution, share of
empty gold, exact duplicate inputs between train and test; on the test split, trivial
baselines scored with the manifest's own scorer; then the published-table checks
(table_audit).  Missing files are reported as unavailable, never raised.
"""

from __future__ import annotations

import re
from collections import Counter

from bioeval.data.sources import describe
from bioeval.data.splits import count_problem, fetch_split, instances_of
from bioeval.data.table_audit import audit_table
from bioeval.errors import BioevalError, ChecksumMismatch
from bioeval.scoring import scorer_for

TOP_CONSTANTS = 20
TAG_LIST = re.compile(r"^\[(\d+(, \d+)*)?\]$")


def scoring_spec(loaded, dataset):
    """The dataset's scoring section (manifest default merged with the dataset's overrides)."""
    from bioeval.manifest.load import merge_protocol
    from bioeval.manifest.schema import Protocol

    if not dataset.protocol:
        return loaded.manifest.protocol.scoring
    return Protocol.model_validate(merge_protocol(loaded.raw["protocol"], dataset.protocol)).scoring


def answer_for(spec, dataset):
    """How a constant response is written as a model answer: for phrase-mapped binary tasks
    (Guo & Sarker) the label 1/0 becomes the first positive/negative phrase, else the response."""
    pos, neg = list(spec.positive_phrases.value), list(spec.negative_phrases.value)
    if not (pos and neg):
        return lambda response: response
    positive = str((dataset.format_options or {}).get("positive_label", "1"))
    return lambda response: pos[0] if response == positive else neg[0]


def score_constant(scorer, test, predict):
    from bioeval.scoring import Prediction, score

    return score(scorer, (Prediction(x.id, predict(x), x.response) for x in test))


def is_tag_list(dataset, instances) -> bool:
    return dataset.task == "NER" and bool(instances) and all(TAG_LIST.match(x.response) for x in instances[:50])


def distribution(dataset, instances) -> dict:
    if is_tag_list(dataset, instances):
        tags = Counter(t for x in instances for t in x.response.strip("[]").split(", ") if t)
        names = dataset.labels or ()
        return {"kind": "tag ids", "counts": {(f"{t} ({names[int(t)]})" if int(t) < len(names) else t): n
                                              for t, n in sorted(tags.items(), key=lambda kv: int(kv[0]))}}
    counts = Counter(x.response for x in instances)
    return {"kind": "responses", "distinct": len(counts), "counts": dict(counts.most_common(10))}


def baselines(dataset, scorer, train, test, answer=lambda response: response) -> list[dict]:
    out = []
    counts = Counter(x.response for x in test)
    if train:
        majority, oracle = Counter(x.response for x in train).most_common(1)[0][0], False
    else:
        majority, oracle = counts.most_common(1)[0][0], True
    s = score_constant(scorer, test, lambda x: answer(majority))
    out.append({"name": "majority-response", "constant": majority, "precision": s.precision, "recall": s.recall,
                "f1": s.f1, "oracle": oracle})
    best = None
    for constant, _ in counts.most_common(TOP_CONSTANTS):
        s = score_constant(scorer, test, lambda x, c=answer(constant): c)
        if best is None or s.f1 > best[1].f1:
            best = (constant, s)
    out.append({"name": "best-constant", "constant": best[0], "precision": best[1].precision,
                "recall": best[1].recall, "f1": best[1].f1, "oracle": True})
    if is_tag_list(dataset, test):
        def all_o(x):
            n = len([t for t in x.response.strip("[]").split(", ") if t])
            return "[" + ", ".join(["0"] * n) + "]"
        s = score_constant(scorer, test, all_o)
        out.append({"name": "all-O", "constant": None, "precision": s.precision, "recall": s.recall,
                    "f1": s.f1, "oracle": False})
    return out


def _short(text: str, n: int = 40) -> str:
    return repr(text if len(text) <= n else text[: n - 3] + "...")


def baseline_finding(dataset, base: dict, published: list[float]) -> str:
    if base["name"] == "majority-response":
        what = (f"always answering {_short(base['constant'])} (the most frequent "
                f"{'test' if base['oracle'] else 'train'} response)")
    elif base["name"] == "best-constant":
        what = f"the best constant prediction {_short(base['constant'])}"
    else:
        what = "predicting O for every token"
    text = f"{what} scores F1 = {base['f1']:.3f} on this test set"
    if published:
        above = sum(f < base["f1"] for f in published)
        text += f", above {above} of the {len(published)} published models"
    return text


def audit_split(loaded, settings, dataset, split_name: str) -> tuple[dict, list | None]:
    split = dataset.splits[split_name]
    entry = {"dataset": dataset.paper_name, "key": dataset.key, "split": split_name, "source": describe(split.source),
             "available": False, "origin": None, "records": None, "expected_records": split.records,
             "count_ok": None, "sha256_ok": None, "distribution": {}, "empty_gold_share": None,
             "baselines": [], "findings": []}
    try:
        fetched = fetch_split(dataset, split_name, loaded, settings)
        instances = instances_of(fetched, dataset, split_name)
    except ChecksumMismatch as exc:
        entry["sha256_ok"] = False
        entry["findings"].append(f"refused: {exc.message}")
        return entry, None
    except BioevalError as exc:
        entry["findings"].append(f"unavailable: {exc.message}")
        return entry, None
    n = len(instances)
    entry.update(available=True, origin=fetched.origin, records=n, sha256_ok=fetched.sha256_ok,
                 count_ok=None if split.records is None else n == split.records,
                 distribution=distribution(dataset, instances))
    if fetched.sha256_ok is None:
        entry["findings"].append(f"no sha256 in the manifest (file has {fetched.sha256}); run `bioeval lock`")
    problem = count_problem(dataset, split_name, n)
    if problem:
        entry["findings"].append(problem.split(": ", 1)[1])
    empty = sum(not x.response.strip() for x in instances)
    entry["empty_gold_share"] = empty / n if n else None
    if n and empty == n:
        entry["findings"].append(f"every gold response of the {split_name} split is empty")
    elif empty:
        entry["findings"].append(f"{empty / n:.1%} of the gold responses of the {split_name} split are empty")
    if entry["distribution"].get("distinct") == 1 and n > 1 and empty < n:
        entry["findings"].append(f"every response of the {split_name} split is {_short(instances[0].response)}")
    return entry, instances


def audit_manifest(loaded, settings, only: str | None = None) -> dict:
    from bioeval.manifest.resolve import parse_only

    m = loaded.manifest
    wanted = parse_only(only).get("dataset")
    entries, single_label, scorer_of = [], {}, {}
    for dataset in m.datasets:
        if wanted and dataset.key not in wanted:
            continue
        spec = scoring_spec(loaded, dataset)
        scorer_of[dataset.key] = spec.scorer.value
        loaded_splits, split_entries = {}, {}
        for split_name in dataset.splits:
            entry, instances = audit_split(loaded, settings, dataset, split_name)
            entries.append(entry)
            split_entries[split_name] = entry
            loaded_splits[split_name] = instances
        train, test = loaded_splits.get("train"), loaded_splits.get("test")
        if test:
            if dataset.task in ("TC", "RE"):
                single_label[dataset.key] = all(", " not in x.response and x.response.strip() for x in test)
            entry = split_entries["test"]
            if train:
                train_inputs = {x.input for x in train}
                dup = sum(x.input in train_inputs for x in test)
                entry["duplicates_with_train"] = dup
                if dup:
                    entry["findings"].append(f"{dup} of {len(test)} test inputs ({dup / len(test):.1%}) also appear "
                                             "verbatim in train")
            try:
                scorer = scorer_for(spec, dataset)
            except BioevalError as exc:
                entry["findings"].append(f"baselines not scored: {exc.message}")
            else:
                entry["baselines"] = baselines(dataset, scorer, train, test, answer_for(spec, dataset))
                published = [v["f1"].value for v in (m.expected.get(k, {}).get(dataset.key) for k in m.expected)
                             if v and "f1" in v]
                best = max(entry["baselines"], key=lambda b: b["f1"])
                entry["findings"].append(baseline_finding(dataset, best, published))
    return {"manifest": str(loaded.path), "manifest_sha256": loaded.sha256, "datasets": entries,
            "published_table": audit_table(m, single_label, scorer_of)}
