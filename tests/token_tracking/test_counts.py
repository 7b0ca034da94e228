"""The two rules for summing counts that may be unknown."""

from __future__ import annotations

from token_tracking.counts import sum_exact, sum_known


def test_sum_known_adds_what_is_known_and_is_unknown_only_when_nothing_is() -> None:
    assert sum_known([3, None, 4]) == 7
    assert sum_known([None, None]) is None
    assert sum_known([]) is None
    assert sum_known([0, None]) == 0
    assert sum_known([0.25, None, 0.5]) == 0.75


def test_sum_exact_is_unknown_as_soon_as_one_value_is() -> None:
    assert sum_exact([3, 4]) == 7
    assert sum_exact([3, None, 4]) is None
    assert sum_exact([]) is None
    assert sum_exact([0, 0]) == 0
