"""From checks to findings: severity, the two-sentence message and the evidence of each kind.

Each function takes what the checks computed (checks.py, tables.py) plus the published
values of one dataset (``{model: (P, R, F1)}``) and returns findings (findings.finding).
"""

from __future__ import annotations

from bioeval.audit import tables as ta
from bioeval.audit.findings import finding

NO_SKIP = "no test instance was skipped (every prompt kept its response marker within max_prompt_tokens)"
ROUNDING = ("each value is the exact ratio rounded to nearest at its printed digits "
            "(a dropped trailing zero only widens the interval)")


def count_mismatch(name: str, split: str, records: int, expected: int) -> list[dict]:
    rel = abs(records - expected) / max(expected, 1)
    severity = ("high" if split == "test" else "medium") if rel > 0.1 else "low"
    return [finding("count-mismatch", severity, name, split,
                    f"the {split} file holds {records:,} records, the paper's Table 1 says {expected:,}",
                    "the published numbers may come from other files than the ones the manifest pins"
                    if rel > 0.1 else "a small difference; the published numbers probably come from nearly the same file",
                    {"records": records, "expected_records": expected, "difference": records - expected,
                     "relative_difference": rel})]


def empty_gold(name: str, split: str, empty: int, n: int, models: list[str]) -> list[dict]:
    if not empty:
        return []
    every = empty == n
    if split == "test" and every:
        meaning = ("under set-F1 an empty gold is the set {\"\"}, so the published P/R/F1 on this dataset measure "
                   "how often a model answered with nothing, not event extraction")
    else:
        meaning = "instances with empty gold are scored as the set {\"\"}: answering nothing counts as correct there"
    return [finding("empty-gold", "high" if every and split == "test" else "medium", name, split,
                    f"{empty:,} of {n:,} gold responses of the {split} split are empty", meaning,
                    {"empty": empty, "n": n, "share": empty / n}, models if split == "test" else ())]


def trivial_baseline(name: str, split: str, authors: dict, canonical: dict | None, published: dict,
                     scorer: str = "zhan2024-set-f1") -> list[dict]:
    """``authors``: the best baseline under the manifest's scorer (audit.baselines); ``canonical``:
    {"scorer", "what", "precision", "recall", "f1"} or None."""
    below = sorted(m for m, (_, _, f1) in published.items() if f1 <= authors["f1"])
    what = {"majority-response": f"always answering {authors['constant']!r}",
            "best-constant": f"the best constant answer {authors['constant']!r}",
            "all-O": "tagging every token O"}[authors["name"]]
    paper_scorer = "the authors' set-F1" if scorer == "zhan2024-set-f1" else f"the manifest's scorer ({scorer})"
    fact = f"on the {split} split, {what} scores F1 {authors['f1']:.3f} under {paper_scorer}"
    if canonical is not None:
        f = canonical["f1"]
        fact += f" and {'undefined' if f is None else f'{f:.3f}'} under {canonical['scorer']} ({canonical['what']})"
    if published:
        fact += f"; {len(below)} of {len(published)} published models score no higher"
    if below and split == "test":
        severity, meaning = "high", "those published rows are no better than a model that ignores its input"
    elif below:
        severity, meaning = "medium", ("the test file is missing, so this is measured on the validation split: "
                                       "indicative, not a direct comparison")
    else:
        severity, meaning = "low", f"every published model beats this baseline under {paper_scorer}"
    best = {k: authors[k] for k in ("name", "constant", "precision", "recall", "f1", "oracle")}
    evidence = {"split": split, "scorer": scorer, "authors_scorer": best,
                "canonical": canonical, "published_f1": {m: v[2] for m, v in sorted(published.items())},
                "models_at_or_below": below}
    return [finding("trivial-baseline", severity, name, split, fact, meaning, evidence, below)]


def no_baseline(name: str, models: list[str]) -> list[dict]:
    return [finding("trivial-baseline", "info", name, None,
                    "neither the test nor the validation file is available here, so no trivial baseline was scored",
                    "the published rows of this dataset cannot be compared with a baseline until the files are fetched",
                    {"available": False, "published_models": len(models)})]


def lattice_space(structure: dict) -> dict | None:
    """n scored, the range of gold totals g, and the basis, for the protocol's test cut.

    ``structure``: {"sizes": gold set sizes of the test file or None, "cut": test_subsample,
    "records": Table 1 count, "task"}.
    """
    sizes, cut = structure.get("sizes"), structure.get("cut")
    if sizes:
        n_file = len(sizes)
        single = all(s == 1 for s in sizes)
        if cut is None or n_file <= cut:
            return {"n": n_file, "g": (sum(sizes), sum(sizes)), "single_item": single,
                    "basis": f"the whole test file is scored (n = {n_file})"}
        s = sorted(sizes)
        return {"n": cut, "g": (sum(s[:cut]), sum(s[-cut:])), "single_item": single,
                "basis": f"a sample of {cut} of the file's {n_file} instances is scored; g lies between the "
                         "gold totals of its smallest and largest possible samples"}
    records = structure.get("records")
    if structure.get("task") == "TC" and records:
        n = min(records, cut) if cut else records
        return {"n": n, "g": (n, n), "single_item": True,
                "basis": f"the test file is not available: one label per instance assumed (TC) and n = {n} "
                         "from Table 1's count and the protocol's cut"}
    return None


def feasibility(name: str, structure: dict, published: dict, scorer: str, long_prompts: int | None = None) -> list[dict]:
    """published-infeasible and off-lattice findings.  ``long_prompts``: test prompts over
    max_prompt_tokens (by the audit's token count), which the authors' scorer would skip."""
    if scorer != "zhan2024-set-f1":
        return []
    space = lattice_space(structure)
    if space is None:
        return []
    out = []
    infeasible = []
    n, (g_lo, g_hi) = space["n"], space["g"]
    if space["single_item"] and structure.get("sizes"):
        infeasible = sorted(m for m, (p, r, _) in published.items() if ta.infeasible_p_over_r(p, r))
        if infeasible:
            out.append(finding(
                "published-infeasible", "high", name, "test",
                f"{len(infeasible)} published row(s) print precision above recall although every gold answer of the "
                f"test file holds exactly one item",
                "under the authors' set-F1 every prediction holds at least one item, so precision can never exceed "
                "recall on this file: these rows cannot have come from this file with this scorer",
                {"rows": {m: {"precision": published[m][0], "recall": published[m][1]} for m in infeasible},
                 "instances": len(structure["sizes"]), "gold_items_per_instance": 1,
                 "rule": "p = sum |P_i| >= n = g, hence P = c/p <= c/g = R",
                 "assumptions": [ROUNDING]},
                infeasible))
    single = space["single_item"]
    gold_totals = range(g_lo, g_hi + 1)
    min_pred = (lambda g: g) if single else (lambda g: n)
    for model, (p, r, f1) in sorted(published.items()):
        if model in infeasible or min(p, r, f1) <= 0:
            continue
        if ta.witness(p, r, f1, gold_totals, min_pred) is not None:
            continue
        truncated = ta.witness(p, r, f1, gold_totals, min_pred, truncated=True)
        skipped = None
        if single:  # how many skipped instances would make it fit (each takes its one gold item along)
            skipped = next((s for s in range(1, n) if ta.witness(p, r, f1, [n - s], lambda g: g) is not None), None)
        evidence = {"precision": p, "recall": r, "f1": f1, "printed_digits": [ta.printed_digits(v) for v in (p, r, f1)],
                    "n_scored": n, "gold_items": [g_lo, g_hi], "single_item_gold": single,
                    "recall_fits_alone": ta.recall_fits(r, gold_totals),
                    "fits_if_truncated": truncated is not None, "fits_if_skipped_at_least": skipped,
                    "assumptions": [space["basis"], NO_SKIP, ROUNDING,
                                    "each prediction holds at least one item (p >= n)"]}
        why = ("recall is not k/g for any gold total g the protocol allows" if not evidence["recall_fits_alone"]
               else "no integers (c, p, g) give these P, R and F1 together")
        evidence["test_prompts_over_budget"] = long_prompts
        explained = skipped is not None and long_prompts is not None and skipped <= long_prompts
        meaning = ("the row was not computed on the test set the protocol implies (another sample size, skipped "
                   "instances, another file or a transcription error)")
        if truncated is not None:
            meaning += "; it fits if the values were truncated rather than rounded"
        if explained:
            meaning += (f"; it fits if {skipped} instance(s) were skipped, and {long_prompts} test prompts exceed "
                        "max_prompt_tokens (the authors' scorer skips those; counts vary with each model's tokenizer)")
        out.append(finding(
            "off-lattice", "low" if truncated is not None or explained else "medium", name, "test",
            f"the published P/R/F1 {p}/{r}/{f1} of {model} do not lie on the k/n lattice of {n} scored instances ({why})",
            meaning, evidence, [model]))
    return out


def identical_rows(names: dict, groups: list[dict]) -> list[dict]:
    out = []
    for g in groups:
        p, r, f1 = g["values"]
        distinct = len({p, r, f1})
        severity = "medium" if distinct > 1 else "low"
        meaning = ("three different numbers agreeing to the last digit is unlikely by chance: a copy error in the "
                   "paper is the likeliest explanation" if distinct > 1 else
                   "P = R = F1 (single-label), so one number agrees: coincidence is plausible at three decimals")
        out.append(finding("identical-rows", severity, names.get(g["dataset"], g["dataset"]), "test",
                           f"the published rows of {', '.join(g['models'])} are exactly the same P/R/F1 "
                           f"({p} / {r} / {f1})", meaning,
                           {"values": {"precision": p, "recall": r, "f1": f1}, "distinct_numbers": distinct,
                            "printed_digits": [ta.printed_digits(v) for v in (p, r, f1)]}, g["models"]))
    return out


def label_ceiling(name: str, split: str, info: dict | None, published: dict, single_item: bool,
                  whole_file: bool) -> list[dict]:
    if info is None:
        return []
    above = []
    if split == "test" and single_item and whole_file:
        above = sorted(m for m, (_, r, _) in published.items() if r - ta.half_unit(r) > info["ceiling"] + ta.EPS)
    severity = "high" if above else ("medium" if info["unavoidable_errors"] / info["n"] >= 0.01 else "low")
    fact = (f"{info['rows_in_conflict']:,} {split} rows in {info['conflicting_groups']:,} groups share instruction and "
            f"input but not the gold answer, so no model that answers identical prompts identically can exceed "
            f"exact-match accuracy {info['ceiling']:.4f}")
    if above:
        meaning = f"{len(above)} published recall value(s) exceed this ceiling on the whole test file"
    elif split == "test":
        meaning = "the published values must be read against this ceiling, not 1.0"
        sample = info.get("sample_ceiling")
        if sample:
            meaning += (f"; a random {sample['size']:,}-instance sample, as the protocol scores, splits some of these "
                        f"groups: its ceiling is {sample['mean']:.4f} on average ({sample['p5']:.4f}-{sample['p95']:.4f} "
                        f"in 90% of {sample['draws']} seeded draws)")
    else:
        meaning = "the test file is missing; the validation split shows the same input design"
    evidence = dict(info, assumptions=["the model answers identical prompts identically (greedy decoding)"],
                    published_recall_above=above, single_item_gold=single_item)
    return [finding("label-ceiling", severity, name, split, fact, meaning, evidence, above)]


def split_overlap(name: str, other: str, info: dict) -> list[dict]:
    if not info["normalised"]:
        return []
    share = info["normalised_share"]
    severity = "medium" if share >= 0.05 else "low"
    return [finding("split-overlap", severity, name, "test",
                    f"{info['exact']:,} of {info['n_test']:,} test inputs ({info['exact_share']:.1%}) appear "
                    f"verbatim in {other}, "
                    f"{info['normalised']:,} ({share:.1%}) after normalising case, whitespace, punctuation and entity "
                    f"bracketing; {info['same_label']:,} of those carry the same gold answer there",
                    "a fine-tuned model may have memorised these answers, which inflates the published scores by up to "
                    "that share" if other == "train" else
                    "selecting or tuning on this split leaks test instances into model selection",
                    dict(info, other_split=other))]


def budget(name: str, split: str, what: str, info: dict, estimated: bool, counted_with: str) -> list[dict]:
    if not info["over"]:
        return []
    severity = "medium" if info["share"] >= 0.01 else "low"
    if what == "answers":
        fact = (f"{info['over']:,} of {info['n']:,} {split} gold answers ({info['share']:.1%}) are longer than "
                f"max_new_tokens = {info['budget']} tokens")
        meaning = "no model can produce those answers in full under the protocol's budget, which caps recall"
    else:
        fact = (f"{info['over']:,} of {info['n']:,} {split} prompts ({info['share']:.1%}) are longer than "
                f"max_prompt_tokens = {info['budget']}")
        meaning = ("truncation drops their end (for the lab's prompts, the response marker) and the scorer skips "
                   "them, gold included, "
                   "so the published numbers are over the remaining instances")
    if estimated:
        fact += " (token counts estimated; give --tokenizer for exact counts)"
    return [finding("budget", severity, name, split, fact, meaning,
                    dict(info, what=what, estimated=estimated, counted_with=counted_with))]
