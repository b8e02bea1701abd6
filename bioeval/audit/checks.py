"""Pure checks of split files behind the audit's findings (no I/O; lists of Instances in).

- gold structure: how many items each gold answer holds under the authors' ", " split;
- label ceilings: identical prompts (instruction + input) with different gold answers;
- split overlap: test inputs found in another split, exactly and after normalisation;
- canonical trivial baselines (accuracy / macro-F1 of constant labels; set F1 with an empty
  gold as the empty set; entity F1 of all-O), beside the authors' set-F1 ones in audit.py;
- budgets: gold answers longer than max_new_tokens, prompts longer than max_prompt_tokens,
  counted with a real tokenizer (``tokenizers``, never torch) or an estimate labelled so.
"""

from __future__ import annotations

import re
import string
from collections import Counter, defaultdict
from pathlib import Path

from bioeval.data.instances import Instance

ROWS_SHOWN = 10


def gold_items(response: str) -> set[str]:
    """The authors' gold set: the response split on ", " (an empty response is {""})."""
    return set(response.split(", "))


def gold_sizes(instances: list[Instance]) -> list[int]:
    return [len(gold_items(x.response)) for x in instances]


# ----------------------------------------------------------------------------- label ceilings

def label_ceiling(instances: list[Instance], sample_size: int | None = None) -> dict | None:
    """Exact-match ceiling when a model answers identical prompts identically (greedy decoding).

    Rows sharing instruction and input but not the gold answer: at most the most frequent gold
    of each group can be matched.  None when no two identical prompts disagree.
    """
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, x in enumerate(instances):
        groups[(x.instruction, x.input)].append(i)
    conflicts = []
    lost = 0
    for rows in groups.values():
        if len(rows) == 1:
            continue
        golds = Counter(instances[i].response for i in rows)
        if len(golds) > 1:
            lost += len(rows) - golds.most_common(1)[0][1]
            conflicts.append({"rows": [instances[i].id for i in rows], "golds": dict(golds.most_common())})
    if not conflicts:
        return None
    n = len(instances)
    conflicts.sort(key=lambda c: -len(c["rows"]))
    out = {"n": n, "ceiling": (n - lost) / n, "unavoidable_errors": lost, "conflicting_groups": len(conflicts),
           "rows_in_conflict": sum(len(c["rows"]) for c in conflicts), "distinct_prompts": len(groups),
           "examples": conflicts[:ROWS_SHOWN]}
    if sample_size is not None and sample_size < n:
        out["sample_ceiling"] = sample_ceilings(instances, groups, sample_size)
    return out


def sample_ceilings(instances: list[Instance], groups: dict, size: int, draws: int = 200, seed: int = 0) -> dict:
    """The ceiling of random ``size``-instance samples (the protocol's test cut): a sample splits
    conflicting groups, so its ceiling is higher than the file's.  Seeded draws, summarised."""
    import numpy as np

    group_of = np.empty(len(instances), dtype=np.int64)
    for g, rows in enumerate(groups.values()):
        group_of[rows] = g
    golds = {r: i for i, r in enumerate(sorted({x.response for x in instances}))}
    pair = group_of * len(golds) + np.array([golds[x.response] for x in instances], dtype=np.int64)
    rng = np.random.default_rng(seed)
    ceilings = np.empty(draws)
    for d in range(draws):
        codes, counts = np.unique(pair[rng.choice(len(instances), size, replace=False)], return_counts=True)
        best = np.zeros(len(groups), dtype=np.int64)
        np.maximum.at(best, codes // len(golds), counts)
        ceilings[d] = best.sum() / size
    return {"size": size, "draws": draws, "seed": seed, "mean": float(ceilings.mean()),
            "p5": float(np.percentile(ceilings, 5)), "p95": float(np.percentile(ceilings, 95)),
            "max": float(ceilings.max())}


# ----------------------------------------------------------------------------- split overlap

_TAG = re.compile(r"</?[A-Za-z][\w-]*>|@[A-Z]+\$|\[/?[A-Z][A-Z0-9]*\]")  # <e1>..</e1>, @DRUG$, [E1]..[/E1]
_PUNCT = str.maketrans({c: " " for c in string.punctuation})


def normalise(text: str) -> str:
    """Case, whitespace, (ASCII) punctuation and entity bracketing removed: 'The <e1>X</e1> , y.' -> 'the x y'."""
    if "<" in text or "@" in text or "[" in text:
        text = _TAG.sub(" ", text)
    return " ".join(text.lower().translate(_PUNCT).split())


def split_overlap(test: list[Instance], other: list[Instance]) -> dict:
    """Test inputs found in ``other``: exactly, after normalisation, and with the same gold answer."""
    exact = {x.input for x in other}
    labels: dict[str, set[str]] = defaultdict(set)
    for x in other:
        labels[normalise(x.input)].add(x.response)
    exact_rows = [x for x in test if x.input in exact]
    norm_rows = [x for x in test if normalise(x.input) in labels]
    same = [x for x in norm_rows if x.response in labels[normalise(x.input)]]
    n = len(test)
    return {"n_test": n, "n_other": len(other), "exact": len(exact_rows), "exact_share": len(exact_rows) / n if n else 0.0,
            "normalised": len(norm_rows), "normalised_share": len(norm_rows) / n if n else 0.0,
            "same_label": len(same), "same_label_share_of_normalised": len(same) / len(norm_rows) if norm_rows else 0.0,
            "example_rows": [x.id for x in norm_rows[:ROWS_SHOWN]]}


# ----------------------------------------------------------------------------- canonical baselines

def constant_label_scores(instances: list[Instance], top: int = 20) -> list[dict]:
    """Single-label tasks: accuracy and macro-F1 (over the gold labels) of answering one label always."""
    golds = Counter(x.response for x in instances)
    n, k = len(instances), len(golds)
    out = []
    for label, count in golds.most_common(top):
        # a constant c: F1 of class c is 2 count / (n + count), every other class's F1 is 0
        out.append({"constant": label, "accuracy": count / n, "macro_f1": 2 * count / (n + count) / k})
    return out


def set_f1_empty_is_empty(preds: list[set[str]], golds: list[set[str]]) -> dict:
    """Micro set F1 where an empty answer is the empty set (not {""}); undefined (None) without gold items."""
    c = p = g = 0
    for ps, gs in zip(preds, golds):
        c, p, g = c + len(ps & gs), p + len(ps), g + len(gs)
    precision = c / p if p else None
    recall = c / g if g else None
    f1 = None if precision is None or recall is None else (0.0 if c == 0 else 2 * c / (p + g))
    return {"precision": precision, "recall": recall, "f1": f1, "gold_items": g}


def canonical_set(response: str) -> set[str]:
    return {t for t in response.split(", ") if t.strip()}


def best_constant_set(instances: list[Instance], top: int = 20) -> dict:
    """EE: the best constant set of types (among the `top` most frequent gold sets) under canonical set F1."""
    golds = [canonical_set(x.response) for x in instances]
    candidates = [frozenset(s) for s, _ in Counter(frozenset(g) for g in golds).most_common(top)]
    best = None
    for cand in candidates:
        s = set_f1_empty_is_empty([set(cand)] * len(golds), golds)
        if best is None or (s["f1"] or 0) > (best[1]["f1"] or 0):
            best = (cand, s)
    return {"constant": ", ".join(sorted(best[0])), **best[1]}


# ----------------------------------------------------------------------------- budgets

_PIECE = re.compile(r"\d|[^\W\d_]+|[^\w\s]|_")


class TokenCounter:
    """Token counts: a real tokenizer (tokenizer.json via `tokenizers`) or a labelled estimate."""

    def __init__(self, path: str | Path | None):
        self.tokenizer = None
        # a lower estimate than real BPE tokenizers give: SmolLM2's counts 6x more NER tag lists over 200
        self.name = ("estimated: one token per word, digit and punctuation mark (an under-count, most of all for "
                     "tag lists and rare words; give --tokenizer for exact counts)")
        if path:
            from tokenizers import Tokenizer  # Rust tokenizers only: no torch on the audit path

            from bioeval.errors import UsageError

            file = Path(path)
            file = file / "tokenizer.json" if file.is_dir() else file
            try:
                self.tokenizer = Tokenizer.from_file(str(file))
            except Exception as exc:  # tokenizers raises a bare Exception for missing or malformed files
                raise UsageError(f"--tokenizer {path}: cannot read {file} ({exc}).",
                                 "Give a tokenizer.json, or the model folder that holds one (a fast tokenizer).") from None
            self.name = f"tokenizer {file}"

    @property
    def estimated(self) -> bool:
        return self.tokenizer is None

    def lengths(self, texts: list[str], budget: int | None = None) -> list[int]:
        """Token counts; with a ``budget``, texts of at most ``budget`` UTF-8 bytes are not counted (a token
        covers at least one byte, a piece at least one character) and get their byte length, a bound below it."""
        out = [len(t.encode("utf-8")) for t in texts]
        todo = [i for i, n in enumerate(out) if budget is None or n > budget]
        if self.tokenizer is None:
            for i in todo:
                out[i] = len(_PIECE.findall(texts[i]))
        else:
            for i, e in zip(todo, self.tokenizer.encode_batch([texts[i] for i in todo], add_special_tokens=False)):
                out[i] = len(e.ids)
        return out


def over_budget(lengths: list[int], budget: int, ids: list[str]) -> dict:
    """``lengths`` from TokenCounter.lengths(texts, budget): exact above the budget, a bound below it."""
    over = [i for i, n in enumerate(lengths) if n > budget]
    n = len(lengths)
    return {"n": n, "budget": budget, "over": len(over), "share": len(over) / n if n else 0.0,
            "max_tokens_over": max((lengths[i] for i in over), default=None),
            "over_rows": [ids[i] for i in over[:ROWS_SHOWN]]}
