"""The `claims:` section of a manifest (pydantic v2).

A claim is one sentence of the paper, quoted exactly with where it stands, and either a
``check`` a program can evaluate or ``not_checkable`` with the reason.  A check names cells by
model and dataset keys and one metric; its kinds:

- ``threshold``: every cell of ``models`` x ``datasets`` is ``op`` ``value`` (``between``: in ``range``;
  ``=``: equal to ``value`` at its printed digits, for a sentence that quotes a table value);
- ``ranking``: each of ``models`` is among the ``top`` (default: as many as are named) of the
  field (``among``, default every model of the manifest), ``order: highest`` or ``lowest``, on
  each dataset (``over: each``) or on the mean over ``datasets`` (``over: mean``); with
  ``rank: datasets`` each model's ``datasets`` are among its own ``top`` datasets instead
  ("both models performed best in breast cancer detection");
- ``comparison``: model ``a`` against model ``b`` on each dataset, one relation per metric
  (``relations: {recall: higher, precision: lower}``; ``equal`` means within ``margin``);
- ``count``: at least ``at_least`` of the results of the checks in ``of``, each split per
  dataset (``per: dataset``) or per model (``per: model``), hold ("on most tasks", "most models");
- ``spread``: the group ``subject`` of ``groups`` (name -> datasets) varies least across the
  field (the range over models, averaged over the group's datasets);
- ``all``: every check in ``of`` holds (a sentence that says two things).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# the manifest's Metric and SourceKind (bioeval.manifest.schema imports this module; a test keeps them equal)
ClaimMetric = Literal["precision", "recall", "f1"]
ClaimSource = Literal["paper", "authors-code", "assumed", "unstated"]
CheckKind = Literal["threshold", "ranking", "comparison", "count", "spread", "all"]
CLAIM_ID = r"^[a-z0-9][a-z0-9._-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Check(_Strict):
    kind: CheckKind
    models: tuple[str, ...] = ()
    datasets: tuple[str, ...] = ()
    metric: ClaimMetric = "f1"
    op: Literal[">", ">=", "<", "<=", "=", "between"] | None = None
    value: float | None = Field(None, ge=0, le=1)
    range: tuple[float, float] | None = None
    top: int | None = Field(None, ge=1)
    order: Literal["highest", "lowest"] = "highest"
    among: tuple[str, ...] = Field((), description="the field a ranking or spread is over; default: every model")
    over: Literal["each", "mean"] = "each"
    rank: Literal["models", "datasets"] = Field("models", description="datasets: rank each model's datasets "
                                                "(its best or worst tasks) instead of the models on a dataset")
    a: str | None = None
    b: str | None = None
    relations: dict[ClaimMetric, Literal["higher", "lower", "equal"]] = Field(default_factory=dict)
    margin: float = Field(0.0, ge=0, le=1, description="for `equal`: how far apart two values may be")
    at_least: int | None = Field(None, ge=1)
    per: Literal["dataset", "model"] = Field("dataset", description="count: what each check in `of` is split by")
    of: tuple["Check", ...] = ()
    groups: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    subject: str | None = None
    note: str = Field("", description="how the sentence was read into this check, where it had a choice")

    @model_validator(mode="after")
    def _fields_of_kind(self) -> "Check":
        need = {"threshold": ("models", "datasets", "op"), "ranking": ("models", "datasets"),
                "comparison": ("a", "b", "datasets", "relations"), "count": ("at_least", "of"),
                "spread": ("groups", "subject"), "all": ("of",)}[self.kind]
        missing = [n for n in need if not getattr(self, n)]
        if missing:
            raise ValueError(f"a {self.kind} check needs {', '.join(missing)}")
        if self.kind == "threshold":
            if self.op == "between" and (self.range is None or self.range[0] > self.range[1]):
                raise ValueError("op between needs range: [low, high] with low <= high")
            if self.op != "between" and self.value is None:
                raise ValueError(f"op {self.op!r} needs value")
        if self.kind == "spread" and self.subject not in self.groups:
            raise ValueError(f"subject {self.subject!r} is not one of the groups ({', '.join(self.groups)})")
        if self.kind == "comparison" and self.a == self.b:
            raise ValueError("a comparison needs two different models a and b")
        return self


class Claim(_Strict):
    id: str = Field(pattern=CLAIM_ID)
    quote: str = Field(min_length=1, description="the paper's sentence, exactly as printed")
    where: str = Field(min_length=1, description="section and paragraph (or table) the sentence stands in")
    source: ClaimSource = "paper"
    check: Check | None = None
    not_checkable: str | None = Field(None, description="why no check can be written (kept with its quote)")
    note: str = ""

    @model_validator(mode="after")
    def _check_or_reason(self) -> "Claim":
        if (self.check is None) == (self.not_checkable is None):
            raise ValueError("give a check, or not_checkable with the reason, exactly one of them")
        return self


def field_of(check: Check, model_keys: list[str]) -> list[str]:
    """The models a ranking or spread is over: `among`, else every model (an added one too)."""
    return list(check.among) if check.among else list(model_keys)
