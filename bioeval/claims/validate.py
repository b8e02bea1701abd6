"""Cross-references of the `claims:` section: every model, dataset and group a check names exists."""

from __future__ import annotations

import difflib


def check_claims(manifest, add) -> None:
    """Report each unknown key at its place: ``add(loc, message)`` (manifest/load.py's located problems)."""
    models = [x.key for x in manifest.models]
    datasets = [x.key for x in manifest.datasets]
    seen: set[str] = set()
    for i, claim in enumerate(manifest.claims):
        if claim.id in seen:
            add(("claims", i, "id"), f"duplicate claim id {claim.id!r}; ids must be unique.")
        seen.add(claim.id)
        if claim.check is not None:
            _check(claim.check, ("claims", i, "check"), models, datasets, add, claim.id)


def _unknown(loc, key, known, what, add, claim_id) -> None:
    if key in known:
        return
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    add(loc, f"claim {claim_id}: unknown {what} key {key!r}; {hint}known: {', '.join(known)}.")


def _check(check, loc, models, datasets, add, claim_id) -> None:
    for j, key in enumerate(check.models):
        _unknown(loc + ("models", j), key, models, "model", add, claim_id)
    by_dataset = check.kind == "ranking" and check.rank == "datasets"  # `among` lists datasets then
    for j, key in enumerate(check.among):
        _unknown(loc + ("among", j), key, datasets if by_dataset else models,
                 "dataset" if by_dataset else "model", add, claim_id)
    for field in ("a", "b"):
        if getattr(check, field) is not None:
            _unknown(loc + (field,), getattr(check, field), models, "model", add, claim_id)
    for j, key in enumerate(check.datasets):
        _unknown(loc + ("datasets", j), key, datasets, "dataset", add, claim_id)
    for name, keys in check.groups.items():
        for j, key in enumerate(keys):
            _unknown(loc + ("groups", name, j), key, datasets, "dataset", add, claim_id)
    if check.kind == "ranking":
        what, field = ("datasets", len(check.among or datasets)) if by_dataset else ("models", len(check.among or models))
        top = check.top or len(check.datasets if by_dataset else check.models)
        if top > field:
            add(loc + ("top",), f"claim {claim_id}: top {top} is more than the {field} {what} the ranking is over; "
                "lower it or widen `among`.")
    for j, sub in enumerate(check.of):
        _check(sub, loc + ("of", j), models, datasets, add, claim_id)


def names_only(raw_claim, models: set, datasets: set) -> bool:
    """Whether a raw (YAML) claim names only these models and datasets (extend.keep_only drops
    the others: a claim about a dropped cell has nothing to be judged on)."""
    def ok(check) -> bool:
        if not isinstance(check, dict):
            return True
        named_models = list(check.get("models") or []) + [check.get(k) for k in ("a", "b") if check.get(k)]
        named_datasets = list(check.get("datasets") or []) + [d for ds in (check.get("groups") or {}).values()
                                                             for d in (ds or [])]
        among = check.get("among") or []
        by_dataset = check.get("rank") == "datasets"
        named_datasets += among if by_dataset else []
        named_models += [] if by_dataset else among
        return set(named_models) <= models and set(named_datasets) <= datasets and \
            all(ok(sub) for sub in check.get("of") or [])
    return not isinstance(raw_claim, dict) or ok(raw_claim.get("check"))
