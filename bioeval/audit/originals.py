"""What the lab's unformatted (or released) files show that its formatted splits hide.

A dataset's `originals` (manifest) name files the audit reads beside the formatted splits, never
run: PHEE as released (JSON lines with event annotations), a sentence-level Genia 2011 release
(CSV), DDI with the drug pair of each label.  Each reader gives one finding of the contract
(findings.py), with its numbers as evidence:

- label-set-collapsed: the released data has more labels than the formatted responses keep;
- other-release: the paper's Table 1 counts are another release's than the files the lab used;
- pair-dropped: identical blinded inputs carry different labels because the pair each label
  belongs to was dropped; the label ceiling with and without it.
"""

from __future__ import annotations

import csv
import json
from collections import Counter

from bioeval.audit.checks import label_ceiling
from bioeval.audit.findings import finding
from bioeval.data.instances import Instance
from bioeval.data.sources import describe, fetch_source
from bioeval.errors import BioevalError


def original_findings(loaded, settings, dataset, splits: dict, published: dict) -> list[dict]:
    """Findings from every original of one dataset; an original that cannot be read is said, not raised.
    ``splits``: the formatted instances per split name (None where unavailable)."""
    out = []
    for original in dataset.originals:
        try:
            fetched = fetch_source(original.source, loaded.base_dir, settings, label=f"{dataset.key}/original")
            text = fetched.path.read_text(encoding="utf-8")
        except (BioevalError, OSError, UnicodeDecodeError) as exc:
            why = getattr(exc, "message", None) or str(exc)
            out.append(finding("count-mismatch", "info", dataset.paper_name, original.split,
                               f"the original {describe(original.source)} could not be read ({why[:160]})",
                               "the findings it would give are missing from this audit",
                               {"original": describe(original.source)}))
            continue
        read = READERS[original.format]
        out += read(dataset, original, text, splits, published)
    return out


def _phee(dataset, original, text: str, splits: dict, published: dict) -> list[dict]:
    types, sentences = Counter(), Counter()
    records = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        records += 1
        seen = set()
        for annotation in row.get("annotations") or []:
            for event in annotation.get("events") or []:
                types[event.get("event_type")] += 1
                seen.add(event.get("event_type"))
        sentences.update(seen)
    formatted = splits.get(original.split) or []
    kept = Counter(x.response for x in formatted)
    lost = sorted(t for t in types if t not in kept)
    if not lost:
        return []
    shown = ", ".join(f"{n:,} {t}" for t, n in types.most_common())
    fact = (f"{dataset.paper_name} {original.split} as released has {len(types)} event types ({shown} events in "
            f"{records:,} sentences), while every formatted response of the split is one of "
            f"{', '.join(map(repr, sorted(kept))) or 'nothing'}; {', '.join(lost)} never appears")
    meaning = (f"the formatted task asks for {'a constant' if len(kept) == 1 else f'{len(kept)} answers'}, so the published "
               f"{dataset.paper_name} scores measure the answer format, not event typing; "
               f"{sum(sentences[t] for t in lost):,} sentences hold an event of a type the formatting dropped")
    evidence = {"original": describe(original.source), "records": records, "event_types": dict(types.most_common()),
                "sentences_with_type": dict(sentences.most_common()), "formatted_responses": dict(kept.most_common()),
                "dropped_types": lost}
    return [finding("label-set-collapsed", "high", dataset.paper_name, original.split, fact, meaning, evidence,
                    sorted(published))]


def _genia_csv(dataset, original, text: str, splits: dict, published: dict) -> list[dict]:
    rows = list(csv.DictReader(text.splitlines()))
    expected = dataset.splits[original.split].records if original.split in dataset.splits else None
    formatted = splits.get(original.split)
    if expected is None:
        return []
    matches = len(rows) == expected
    lab = "missing" if formatted is None else f"{len(formatted):,}"
    if not matches:
        return []
    fact = (f"the file {describe(original.source).rsplit('/', 1)[-1]} ({original.note or 'a release of the dataset'}) has "
            f"{len(rows):,} rows, exactly Table 1's {dataset.paper_name} {original.split} count, while the lab's "
            f"formatted {original.split} file has {lab}")
    meaning = (f"Table 1's {original.split} count is this release's, not the count of the files the lab published: "
               "the published scores may come from instances a run on the lab's files never sees")
    evidence = {"original": describe(original.source), "rows": len(rows), "table_1": expected,
                "formatted_records": None if formatted is None else len(formatted), "columns": list(rows[0]) if rows else []}
    return [finding("other-release", "high", dataset.paper_name, original.split, fact, meaning, evidence,
                    sorted(published))]


def _ddi_pairs(dataset, original, text: str, splits: dict, published: dict) -> list[dict]:
    rows = json.loads(text)
    blind = [Instance(f"{original.split}-{i}", "", r["sentence"], r["relation"]) for i, r in enumerate(rows)]
    paired = [Instance(x.id, "", f"{x.input}\t{r['head']['word']}\t{r['tail']['word']}", x.response)
              for x, r in zip(blind, rows)]
    without, with_pair = label_ceiling(blind), label_ceiling(paired)
    if without is None:
        return []
    ceiling_with = 1.0 if with_pair is None else with_pair["ceiling"]
    fact = (f"{without['rows_in_conflict']:,} of {len(rows):,} {dataset.paper_name} {original.split} rows share a blinded "
            f"input with another pair of drugs that has a different label: the formatting drops the (head, tail) "
            f"pair each label belongs to, so the exact-match ceiling is {without['ceiling']:.4f}; with the pair in the "
            f"input it is {ceiling_with:.4f}")
    meaning = ("the published values are bounded by the first ceiling, not by 1.0, and part of every model's error is "
               "the task's: with the pair marked the labels are (nearly) determined by the input")
    evidence = {"original": describe(original.source), "rows": len(rows), "ceiling_without_pair": without["ceiling"],
                "ceiling_with_pair": ceiling_with, "rows_in_conflict": without["rows_in_conflict"],
                "conflicting_groups": without["conflicting_groups"],
                "conflicts_with_pair": 0 if with_pair is None else with_pair["rows_in_conflict"],
                "assumptions": ["a model answers identical prompts identically (greedy decoding)"]}
    return [finding("pair-dropped", "medium", dataset.paper_name, original.split, fact, meaning, evidence,
                    sorted(published))]


READERS = {"phee-jsonl": _phee, "genia2011-csv": _genia_csv, "ddi-pairs": _ddi_pairs}
