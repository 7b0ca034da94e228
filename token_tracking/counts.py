"""Sums over token counts and costs that may be unknown (``None``).

A count the provider did not return is ``None``, never 0, and two rules combine such values. Each
use picks the rule that matches the question it answers:

- :func:`sum_known` answers "how much did the providers report?": the sum of the known values,
  ``None`` only when none is known. A report's total over partly unknown counts uses it (and says
  the total is a lower bound elsewhere).
- :func:`sum_exact` answers "what is the exact total?": ``None`` as soon as one value is unknown.
  A derived figure that must not pretend to be complete (a row's prompt + completion, a cost
  difference) uses it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

Number = TypeVar("Number", int, float)


def sum_known(values: Iterable[Number | None]) -> Number | None:
    """Return the sum of the known values; ``None`` when every value is unknown or there is none."""
    total: Number | None = None
    for value in values:
        if value is not None:
            total = value if total is None else total + value
    return total


def sum_exact(values: Iterable[Number | None]) -> Number | None:
    """Return the sum of ``values``; ``None`` when any of them is unknown.

    An empty iterable sums to ``None`` too: there is nothing to be exact about.
    """
    total: Number | None = None
    for value in values:
        if value is None:
            return None
        total = value if total is None else total + value
    return total
