"""Scorers by name, imported lazily so `bioeval score` pays only for the scorer it uses."""

from __future__ import annotations

import difflib
import importlib

from bioeval.errors import UsageError
from bioeval.scoring.base import Scorer

# name -> "module:factory"; factories take keyword options (labels, phrases) and ignore none
SCORERS: dict[str, str] = {
    "zhan2024-set-f1": "bioeval.scoring.set_f1:SetF1",
}


def get_scorer(name: str, **options) -> Scorer:
    if name not in SCORERS:
        close = difflib.get_close_matches(name, list(SCORERS), n=1)
        hint = f"Did you mean {close[0]!r}? " if close else ""
        raise UsageError(f"unknown scorer {name!r}.", f"{hint}Known scorers: {', '.join(sorted(SCORERS))}.")
    module, _, attr = SCORERS[name].partition(":")
    factory = getattr(importlib.import_module(module), attr)
    return factory(**options)
