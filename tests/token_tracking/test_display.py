"""One formatter per kind of figure: money, counts, durations, shares, plurals, columns."""

from __future__ import annotations

import pytest

from token_tracking import display


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "unknown"),
        (0.0, "$0.0000"),
        (0.0531, "$0.0531"),
        (1234.5, "$1234.5000"),
        (0.0001, "$0.0001"),
        (0.0000123, "$0.000012"),
        (-0.25, "-$0.2500"),
        (-0.00000001, "$0.000000"),
    ],
)
def test_usd(value: float | None, text: str) -> None:
    assert display.usd(value) == text


def test_usd_marks_a_lower_bound_and_names_an_unknown() -> None:
    assert display.usd(0.0531, lower_bound=True) == "≥$0.0531"
    assert display.usd(None, unknown="-") == "-"


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.012, "+$0.0120"), (-0.012, "-$0.0120"), (0.0, "$0.0000"), (None, "unknown")],
)
def test_signed_usd(value: float | None, text: str) -> None:
    assert display.signed_usd(value) == text


def test_counts_durations_shares_and_plurals() -> None:
    assert display.tokens(107046) == "107,046"
    assert display.tokens(None) == "unknown"
    assert display.seconds(4.25) == "4.2s"
    assert display.percent(0.25) == "25.0%"
    assert display.percent(None) == "n/a"
    assert display.plural(1, "model") == "1 model"
    assert display.plural(1200, "file") == "1,200 files"
    assert display.plural(2, "entry", "entries") == "2 entries"


def test_columns_align_left_and_right() -> None:
    lines = display.columns(["name", "cost"], [["a", "$1.0000"], ["long", "$0.5"]], right=[1])
    assert lines == ["name     cost", "a     $1.0000", "long     $0.5"]
