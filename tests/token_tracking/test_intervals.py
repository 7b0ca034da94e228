"""Intervals (seed 000): the live line at each boundary, the stored intervals, the settings."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from tests.support.clock import START, StepClock
from tests.support.records import usage
from token_tracking import SettingError, TokenTracker, interval_minutes, tracking_enabled
from token_tracking.intervals import IntervalTracker, format_interval_line
from token_tracking.records import IntervalUsage


def test_the_live_line_has_seed_000s_shape() -> None:
    interval = IntervalUsage(
        index=1,
        start=START,
        duration_seconds=300,
        prompt_tokens=8_000,
        completion_tokens=4_345,
        total_tokens=12_345,
        cost_usd=0.0123,
        requests=7,
    )
    assert format_interval_line(interval, 5) == (
        "[+5min] Interval 1: 12,345 tokens (8,000 in, 4,345 out) | Cost: $0.0123 | 7 requests"
    )
    third = interval.model_copy(update={"index": 3, "cost_usd": None, "requests": 1})
    assert format_interval_line(third, 0.5) == (
        "[+1.5min] Interval 3: 12,345 tokens (8,000 in, 4,345 out) | Cost: unknown | 1 request"
    )


def tracker_printing_to_a_buffer(
    tmp_path: Path, clock: StepClock, *, minutes: float
) -> tuple[TokenTracker, io.StringIO]:
    """A tracker with ``minutes``-long intervals whose interval lines go to the returned buffer."""
    stderr = io.StringIO()
    tracker = TokenTracker(
        project_path=tmp_path,
        persist=False,
        clock=clock,
        interval_minutes=minutes,
        interval_console=Console(file=stderr, width=200),
    )
    return tracker, stderr


def test_lines_print_at_each_boundary_and_the_report_keeps_every_interval(tmp_path: Path) -> None:
    clock = StepClock()
    tracker, stderr = tracker_printing_to_a_buffer(tmp_path, clock, minutes=5)
    tracker.start_session()
    for seconds, prompt in ((60, 1_000), (120, 2_000), (180, 4_000), (360, 8_000)):
        clock.advance(seconds)
        tracker.record(usage("a", prompt, 100, model="gpt-4o-mini", timestamp=clock.now))
    # Requests at +1, +3, +6 and +12 min: interval 1 was announced by the +6 min request,
    # interval 2 by the +12 min one.
    assert stderr.getvalue().splitlines() == [
        "[+5min] Interval 1: 3,200 tokens (3,000 in, 200 out) | Cost: $0.0006 | 2 requests",
        "[+10min] Interval 2: 4,100 tokens (4,000 in, 100 out) | Cost: $0.0007 | 1 request",
    ]
    clock.advance(102)  # +13:42
    assert tracker.check_intervals() == []
    report = tracker.finish()
    assert [
        (i.index, i.duration_seconds, i.prompt_tokens, i.requests) for i in report.intervals
    ] == [(1, 300.0, 3_000, 2), (2, 300.0, 4_000, 1), (3, 222.0, 8_000, 1)]
    assert report.intervals[2].start == START.replace(minute=10)
    assert report.intervals[0].cost_usd == pytest.approx(3_000 * 0.15e-6 + 200 * 0.6e-6, rel=1e-9)


def test_a_quiet_boundary_is_announced_when_checked(tmp_path: Path) -> None:
    clock = StepClock()
    tracker, stderr = tracker_printing_to_a_buffer(tmp_path, clock, minutes=0.5)
    tracker.record(usage("a", 10, 5, model="gpt-4o-mini", timestamp=clock.now))
    clock.advance(31)
    assert tracker.check_intervals() == [
        "[+0.5min] Interval 1: 15 tokens (10 in, 5 out) | Cost: $0.000005 | 1 request"
    ]
    assert tracker.check_intervals() == []
    assert stderr.getvalue().count("Interval 1") == 1


def test_an_unknown_price_makes_the_interval_cost_unknown() -> None:
    tracker = IntervalTracker(START, 5)
    tracker.add(usage("a", 10, 5, cost_usd=0.5))
    tracker.add(usage("a", 10, 5, cost_usd=None))
    (only,) = tracker.intervals(START)
    assert (only.cost_usd, only.total_tokens, only.duration_seconds) == (None, 30, 0.0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", 5.0), ("10", 10.0), ("0.5", 0.5), (" 2.5 ", 2.5)],
)
def test_interval_minutes_accepts_fractions(value: str, expected: float) -> None:
    assert interval_minutes({"TOKEN_INTERVAL_MINUTES": value}) == expected


@pytest.mark.parametrize("value", ["0", "-1", "five", "nan", "inf"])
def test_a_bad_interval_is_an_error_naming_the_variable(value: str) -> None:
    with pytest.raises(SettingError, match="TOKEN_INTERVAL_MINUTES"):
        interval_minutes({"TOKEN_INTERVAL_MINUTES": value})


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", True), ("true", True), ("1", True), ("YES", True), ("false", False), ("Off", False)],
)
def test_tracking_enabled_reads_booleans(value: str, expected: bool) -> None:
    assert tracking_enabled({"TOKEN_TRACKING_ENABLED": value}) is expected


def test_interval_minutes_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOKEN_INTERVAL_MINUTES", "0.25")
    assert TokenTracker(project_path=tmp_path).interval_minutes == 0.25
    monkeypatch.setenv("TOKEN_INTERVAL_MINUTES", "soon")
    with pytest.raises(SettingError, match=r"^TOKEN_INTERVAL_MINUTES must be .*, got 'soon'$"):
        TokenTracker(project_path=tmp_path)
