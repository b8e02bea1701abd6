"""`bioeval audit`: does the data match the paper, and what do the files say about the published table?

Per dataset and split: records vs expected, sha256 status, response distribution, share of
empty gold (the per-split entries, as before).  Then the findings (findings.py: the
`--json` contract, most severe first): count mismatches, empty gold, trivial baselines under
the authors' and a canonical scorer (on test, else validation), feasibility and k/n lattice of
the published values (tables.py), identical rows, label ceilings, split overlap, token
budgets.  The checks are pure functions (checks.py, tables.py); rules.py turns their
numbers into findings.  Missing files are reported as unavailable, never raised; a data mirror
that does not exist and an unknown --only value are usage errors.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from bioeval.data.mirror import check_mirror
from bioeval.data.sources import describe
from bioeval.data.splits import count_problem, fetch_split, instances_of
from bioeval.audit.tables import audit_table
from bioeval.errors import BioevalError, ChecksumMismatch
from bioeval.scoring import scorer_for

if TYPE_CHECKING:
    from bioeval.manifest.load import LoadedManifest
    from bioeval.settings import Settings

TOP_CONSTANTS = 20
TAG_LIST = re.compile(r"^\[(\d+(, \d+)*)?\]$")


def scoring_spec(loaded, dataset):
    """The dataset's scoring section (manifest default merged with the dataset's overrides)."""
    return dataset_protocol(loaded, dataset).scoring


def answer_for(spec, dataset):
    """How a constant response is written as a model answer: for phrase-mapped binary tasks
    (Guo & Sarker) the label 1/0 becomes the first positive/negative phrase, else the response."""
    pos, neg = list(spec.positive_phrases.value), list(spec.negative_phrases.value)
    if not (pos and neg):
        return lambda response: response
    positive = str((dataset.format_options or {}).get("positive_label", "1"))
    return lambda response: pos[0] if response == positive else neg[0]


def score_constant(scorer, test, predict):
    """Micro P/R/F1 of ``predict`` over ``test``; scorers are pure in (prediction, reference), so each
    distinct pair is scored once and weighted by its count."""
    return _weighted(scorer, Counter((predict(x), x.response) for x in test).items())


def score_constants(scorer, test, answers: list[str]) -> list:
    """Scores of answering each of ``answers`` for every instance.  The authors' set-F1 of a constant
    set P is sum |P & G| / (n |P|) and / sum |G|: gold sets are split once, not once per constant."""
    from bioeval.scoring.set_f1 import SetF1, first_line

    refs = Counter(x.response for x in test)
    if not isinstance(scorer, SetF1):
        return [_weighted(scorer, (((a, r), k) for r, k in refs.items())) for a in answers]
    from bioeval.scoring import prf
    from bioeval.scoring.base import Score

    golds = [(set(r.split(", ")), k) for r, k in refs.items()]
    n, g = len(test), sum(len(gs) * k for gs, k in golds)
    out = []
    for a in answers:
        ps = set(first_line(a).split(", "))
        c, p = sum(len(ps & gs) * k for gs, k in golds), len(ps) * n
        out.append(Score(*prf(c, p, g), n, 0, 0, c, p, g))
    return out


def _weighted(scorer, pairs):
    from bioeval.scoring import Prediction, prf
    from bioeval.scoring.base import Score

    c = p = g = n = skipped = invalid = 0
    for (prediction, reference), k in pairs:
        counts = scorer.counts(Prediction("", prediction, reference))
        if counts is None:
            skipped += k
            continue
        n, c, p, g = n + k, c + k * counts.correct, p + k * counts.predicted, g + k * counts.gold
        invalid += k * counts.invalid
    return Score(*prf(c, p, g), n, skipped, invalid, c, p, g)


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
    constants = [c for c, _ in counts.most_common(TOP_CONSTANTS)]
    scores = score_constants(scorer, test, [answer(c) for c in [majority, *constants]])
    s = scores[0]
    out.append({"name": "majority-response", "constant": majority, "precision": s.precision, "recall": s.recall,
                "f1": s.f1, "oracle": oracle})
    best = None
    for constant, s in zip(constants, scores[1:]):
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


def audit_split(loaded: LoadedManifest, settings: Settings, dataset, split_name: str) -> tuple[dict, list | None]:
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


def published_rows(manifest, dataset_key: str, models: set[str] | None = None) -> dict[str, tuple]:
    """{model: (P, R, F1)} of the published table for one dataset."""
    out = {}
    for model_key, per_dataset in manifest.expected.items():
        v = per_dataset.get(dataset_key)
        if v and all(m in v for m in ("precision", "recall", "f1")) and (not models or model_key in models):
            out[model_key] = (v["precision"].value, v["recall"].value, v["f1"].value)
    return out


def cached_tokenizer(settings):
    """A real tokenizer when one is at hand: the tokenizer.json of a GGUF model the engine has
    materialised in the cache (SmolLM2's, `models/gguf/<sha256>/`), else None (counts estimated)."""
    cache = getattr(settings, "cache_dir", None)
    found = sorted(Path(cache).glob("models/gguf/*/tokenizer.json")) if cache else []
    return found[0] if found else None


def audit_manifest(loaded: LoadedManifest, settings: Settings, only: str | None = None, tokenizer: str | None = None) -> dict:
    from bioeval.audit.checks import TokenCounter
    from bioeval.audit.findings import by_severity
    from bioeval.audit.tables import identical_rows

    m = loaded.manifest
    from bioeval.manifest.resolve import selection

    filters = selection(loaded, only)
    check_mirror(settings)
    counter = TokenCounter(tokenizer or cached_tokenizer(settings))
    entries, single_label, scorer_of, findings = [], {}, {}, []
    names = {d.key: d.paper_name for d in m.datasets}
    for dataset in m.datasets:
        if ("dataset" in filters and dataset.key not in filters["dataset"]) or \
                ("task" in filters and dataset.task not in filters["task"]):
            continue
        dataset_entries, dataset_findings, label = audit_dataset(loaded, settings, dataset, filters.get("model"), counter)
        entries += dataset_entries
        findings += dataset_findings
        scorer_of[dataset.key] = scoring_spec(loaded, dataset).scorer.value
        if label is not None:
            single_label[dataset.key] = label
    audited = {e["key"] for e in entries}
    table_models = filters.get("model")
    expected = {k: {d: v for d, v in per.items() if d in audited} for k, per in m.expected.items()
                if not table_models or k in table_models}
    from bioeval.audit import rules as rules
    findings += rules.identical_rows(names, identical_rows(expected))
    table = [x for x in audit_table(m, single_label, scorer_of) if x["dataset"] in audited
             and (not table_models or x["model"] in table_models)]
    from bioeval.audit import claims as claims_table  # the paper's sentences against its own table
    claims = claims_table.judge_table(m)
    findings += claims_table.findings(claims)
    return {"manifest": str(loaded.path), "manifest_sha256": loaded.sha256, "datasets": entries,
            "published_table": table, "findings": by_severity(findings), "token_counts": counter.name,
            "claims": claims, "claims_summary": claims_table.summary_line(claims) if claims else None}


def audit_dataset(loaded: LoadedManifest, settings: Settings, dataset, models, counter) -> tuple[list[dict], list[dict], bool | None]:
    """Entries per split, findings, and whether the test gold is single-label (None: unknown)."""
    from bioeval.audit import rules as rules

    spec = scoring_spec(loaded, dataset)
    protocol = dataset_protocol(loaded, dataset)
    published = published_rows(loaded.manifest, dataset.key, models)
    name = dataset.paper_name
    entries, findings, loaded_splits = _audit_splits(loaded, settings, dataset, published)
    split_entries = {e["split"]: e for e in entries}
    train, test = loaded_splits.get("train"), loaded_splits.get("test")
    single = None
    if test and dataset.task in ("TC", "RE"):
        single = all(", " not in x.response and x.response.strip() for x in test)
    # the split a baseline, a ceiling and a budget are measured on: test, else validation
    scored_name = "test" if test else ("validation" if loaded_splits.get("validation") else None)
    scored = loaded_splits.get(scored_name) if scored_name else None
    if test:
        findings += _test_overlaps(name, loaded_splits, split_entries["test"])
    if scored:
        findings += budget_findings(name, dataset, protocol, scored, scored_name, split_entries[scored_name], counter)
    findings += _feasibility(name, dataset, protocol, spec, test, split_entries, published)
    if scored is None:
        findings += rules.no_baseline(name, sorted(published))
    if scored:
        findings += _ceiling_and_baselines(loaded, dataset, protocol, spec, train, scored, scored_name,
                                           split_entries[scored_name], published)
    if dataset.originals:  # what the unformatted or released files show (originals.py)
        from bioeval.audit.originals import original_findings
        findings += original_findings(loaded, settings, dataset, loaded_splits, published)
    return entries, findings, single


def _audit_splits(loaded: LoadedManifest, settings: Settings, dataset, published) -> tuple[list[dict], list[dict], dict]:
    """Each split's entry, its count and empty-gold findings, and its instances (None: unreadable)."""
    from bioeval.audit import rules as rules

    entries, findings, loaded_splits = [], [], {}
    for split_name in dataset.splits:
        entry, instances = audit_split(loaded, settings, dataset, split_name)
        entries.append(entry)
        loaded_splits[split_name] = instances
        if instances is None:
            continue
        n = len(instances)
        if entry["count_ok"] is False:
            findings += rules.count_mismatch(dataset.paper_name, split_name, n, entry["expected_records"])
        empty = sum(not x.response.strip() for x in instances)
        findings += rules.empty_gold(dataset.paper_name, split_name, empty, n, sorted(published))
    return entries, findings, loaded_splits


def _test_overlaps(name: str, loaded_splits: dict, entry: dict) -> list[dict]:
    """Test inputs also in train (verbatim, noted on the entry) and the overlap with train and validation."""
    from bioeval.audit import checks as checks
    from bioeval.audit import rules as rules

    test, train = loaded_splits["test"], loaded_splits.get("train")
    if train:
        train_inputs = {x.input for x in train}
        dup = sum(x.input in train_inputs for x in test)
        entry["duplicates_with_train"] = dup
        if dup:
            entry["findings"].append(f"{dup} of {len(test)} test inputs ({dup / len(test):.1%}) also appear "
                                     "verbatim in train")
    findings = []
    for other in ("train", "validation"):
        if loaded_splits.get(other):
            overlap = checks.split_overlap(test, loaded_splits[other])
            entry[f"overlap_with_{other}"] = overlap
            findings += rules.split_overlap(name, other, overlap)
    return findings


def _feasibility(name: str, dataset, protocol, spec, test, split_entries: dict, published: dict) -> list[dict]:
    """Whether the published values can come from this test file under the cell's scorer and cut."""
    from bioeval.audit import checks as checks
    from bioeval.audit import rules as rules

    long_prompts = split_entries["test"].get("budgets", {}).get("prompts", {}).get("over") if test else None
    sizes = checks.gold_sizes(test) if test else None
    return rules.feasibility(name, {"sizes": sizes, "cut": protocol.evaluation.test_subsample.value,
                                    "records": dataset.splits["test"].records, "task": dataset.task},
                             published, spec.scorer.value, long_prompts)


def _ceiling_and_baselines(loaded, dataset, protocol, spec, train, scored, scored_name: str, entry: dict,
                           published: dict) -> list[dict]:
    """The label ceiling (noted on the entry) and the trivial baselines, on the scored split."""
    from bioeval.audit import checks as checks
    from bioeval.audit import rules as rules

    cut = protocol.evaluation.test_subsample.value
    single_item = all(s == 1 for s in checks.gold_sizes(scored))
    whole = cut is None or len(scored) <= cut
    ceiling = checks.label_ceiling(scored, None if whole else cut)
    entry["label_ceiling"] = None if ceiling is None else ceiling["ceiling"]
    findings = rules.label_ceiling(dataset.paper_name, scored_name, ceiling, published, single_item, whole)
    return findings + baseline_findings(loaded, dataset, spec, train, scored, scored_name, entry, published)


def dataset_protocol(loaded, dataset):
    """The dataset's protocol for no model in particular (the defaults and the dataset's overrides)."""
    from bioeval.manifest.protocols import protocol_for

    return protocol_for(loaded.manifest, loaded.raw["protocol"], dataset=dataset)


def baseline_findings(loaded, dataset, spec, train, scored, split_name, entry, published) -> list[dict]:
    from bioeval.audit import rules as rules

    try:
        scorer = scorer_for(spec, dataset)
    except BioevalError as exc:
        entry["findings"].append(f"baselines not scored: {exc.message}")
        return []
    entry["baselines"] = baselines(dataset, scorer, train, scored, answer_for(spec, dataset))
    best = max(entry["baselines"], key=lambda b: b["f1"])
    f1s = [v[2] for v in published.values()]
    text = baseline_finding(dataset, best, f1s)
    entry["findings"].append(text if split_name == "test" else text.replace("this test set", f"this {split_name} set"))
    canonical = canonical_baseline(dataset, spec, scored)
    entry["canonical_baseline"] = canonical
    return rules.trivial_baseline(dataset.paper_name, split_name, best, canonical, published, spec.scorer.value)


def canonical_baseline(dataset, spec, instances) -> dict | None:
    """The trivial baseline under a canonical scorer (None where the manifest's scorer is the canonical one)."""
    from bioeval.audit import checks as checks

    if spec.scorer.value != "zhan2024-set-f1":
        return None
    if dataset.task == "NER":
        if not dataset.labels or not is_tag_list(dataset, instances):
            return None
        from bioeval.scoring import get_scorer

        scorer = get_scorer("ner-entity-f1", labels=list(dataset.labels))
        s = score_constant(scorer, instances, lambda x: "[" + ", ".join(
            ["0"] * len([t for t in x.response.strip("[]").split(", ") if t])) + "]")
        return {"scorer": "entity-level F1 (ner-entity-f1)", "what": "all-O", "precision": s.precision,
                "recall": s.recall, "f1": s.f1}
    if all(len(checks.gold_items(x.response)) == 1 and x.response.strip() for x in instances):
        best = max(checks.constant_label_scores(instances), key=lambda c: c["accuracy"])
        return {"scorer": "accuracy / macro-F1", "what": f"constant {best['constant']!r}",
                "precision": best["accuracy"], "recall": best["accuracy"], "f1": best["accuracy"],
                "accuracy": best["accuracy"], "macro_f1": best["macro_f1"]}
    best = checks.best_constant_set(instances)
    return {"scorer": "set F1 with an empty answer as the empty set", "what": f"constant set {{{best['constant']}}}",
            "precision": best["precision"], "recall": best["recall"], "f1": best["f1"], "gold_items": best["gold_items"]}


def budget_findings(name, dataset, protocol, instances, split_name, entry, counter) -> list[dict]:
    from bioeval.audit import checks as checks
    from bioeval.audit import rules as rules
    from bioeval.engine.prompts import fill

    ids = [x.id for x in instances]
    out = []
    max_new = protocol.decoding.max_new_tokens.value.get(dataset.task)
    budgets = {}
    if max_new is not None:
        budgets["answers"] = checks.over_budget(counter.lengths([x.response for x in instances], max_new), max_new, ids)
    template = protocol.prompt.inference_template.value
    max_prompt = protocol.prompt.max_prompt_tokens.value
    budgets["prompts"] = checks.over_budget(counter.lengths([fill(template, x) for x in instances], max_prompt),
                                            max_prompt, ids)
    entry["budgets"] = {k: {kk: v[kk] for kk in ("over", "share", "budget")} for k, v in budgets.items()}
    for what, info in budgets.items():
        out += rules.budget(name, split_name, what, info, counter.estimated, counter.name)
    return out
