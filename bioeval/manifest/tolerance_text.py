"""A tolerance rule as the tables print it ("abs 0.06", "auto 95% margin=0.005").

It lives with the manifest, not with verify: `plan` and `validate` describe tolerances without
importing verify's statistics (scipy, about a second on 2 cores)."""

from __future__ import annotations

from bioeval.manifest.schema import Tolerance, ToleranceRule


def describe(rule: ToleranceRule, tolerance: Tolerance | None = None) -> str:
    if rule.kind == "abs":
        return f"abs {rule.value:g}"
    if rule.kind == "rel":
        return f"rel {rule.value:g}"
    level = f"z={rule.z:g}" if rule.z is not None else f"{(tolerance.level if tolerance else 0.95) * 100:g}%"
    return f"auto {level}" + (f" margin={rule.floor:g}" if rule.floor else "")
