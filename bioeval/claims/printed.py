"""What a printed value says about the exact one: its digits and the half unit of its last digit.

Shared by the claims' intervals (logic.py) and the published-table checks (audit/tables.py)."""

from __future__ import annotations

from decimal import Decimal


def printed_digits(value: float) -> int:
    exponent = Decimal(repr(float(value))).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def half_unit(value: float) -> float:
    return 0.5 * 10 ** -printed_digits(value)
