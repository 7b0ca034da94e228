"""The Rich layouts of the history commands, rendered at width 100 and compared to snapshots."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from inline_snapshot import snapshot
from rich.console import Console

from memory_banker.cli.ledger import (
    render_limits,
    render_session_detail,
    render_sessions,
    render_stats,
    render_trends,
)
from tests.support.ledger_factory import use_timezone
from token_tracking.history.limits import LimitsReport, LimitStatus
from token_tracking.history.models import SessionDetail, SessionSummary
from token_tracking.history.stats import UsageStats
from token_tracking.history.trends import (
    Insights,
    Recommendation,
    TrendRow,
    TrendsResult,
    WeekOverWeek,
)
from token_tracking.records import IntervalUsage

START = datetime(2026, 11, 20, 10, 30, 15, tzinfo=UTC)


@pytest.fixture(autouse=True)
def utc_local(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with use_timezone(monkeypatch, "UTC"):
        yield


def render(draw: object, *args: object) -> str:
    console = Console(file=io.StringIO(), width=100, color_system=None)
    draw(console, *args)  # type: ignore[operator]
    output = console.file.getvalue()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in output.splitlines()) + "\n"


def _session(
    session_id: str, tokens: int, cost: float | None, coverage: float | None
) -> SessionSummary:
    return SessionSummary(
        session_id=session_id,
        project="/work/shop",
        command="update",
        model="gpt-4o-mini",
        source="llm",
        status="success" if cost is not None else "partial",
        start_time=START,
        end_time=START,
        duration_seconds=822.0,
        prompt_tokens=tokens - 1000,
        completion_tokens=1000,
        total_tokens=tokens,
        cost_usd=cost,
        priced_coverage=coverage,
    )


def test_sessions_table() -> None:
    sessions = [
        _session("abc12345-0000", 4377, 0.042, 1.0),
        _session("def45678-0000", 2891, 0.028, 0.5),
        _session("fed00000-0000", 1200, None, 0.0),
    ]
    assert render(render_sessions, sessions, "/work/shop") == snapshot("""\
                        Recent Token Tracking Sessions
Session  Started          Duration Command Model       Tokens     Cost Status
──────────────────────────────────────────────────────────────────────────────
abc12345 2026-11-20 10:30    13:42 update  gpt-4o-mini  4,377  $0.0420 success
def45678 2026-11-20 10:30    13:42 update  gpt-4o-mini  2,891 ≥$0.0280 success
fed00000 2026-11-20 10:30    13:42 update  gpt-4o-mini  1,200  unknown partial
Use --session-id ID (a prefix is enough) to see a session's intervals.
""")


def test_sessions_table_at_80_columns_keeps_a_long_model_name_whole() -> None:
    session = _session("abc12345-0000", 4377, 0.042, 1.0).model_copy(
        update={"command": "refresh", "model": "anthropic/claude-sonnet-4-5-20250929"}
    )
    console = Console(file=io.StringIO(), width=80, color_system=None)
    render_sessions(console, [session], "/work/shop")
    row = console.file.getvalue().splitlines()[3]  # type: ignore[attr-defined]
    assert len(row) <= 80
    assert row.rstrip() == (
        "abc12345 11-20 10:30 anthropic/claude-sonnet-4-5-20250929  4,377 $0.0420 success"
    )


def test_interval_table_with_a_total_row() -> None:
    intervals = [
        IntervalUsage(index=1, start=START, duration_seconds=300, prompt_tokens=890,
                      completion_tokens=344, total_tokens=1234, cost_usd=0.012, requests=3),
        IntervalUsage(index=2, start=START, duration_seconds=300, prompt_tokens=1502,
                      completion_tokens=654, total_tokens=2156, cost_usd=0.021, requests=5),
        IntervalUsage(index=3, start=START, duration_seconds=222, prompt_tokens=701,
                      completion_tokens=286, total_tokens=987, cost_usd=None, requests=2),
    ]  # fmt: skip
    total = IntervalUsage(
        index=0,
        start=START,
        duration_seconds=822,
        prompt_tokens=3093,
        completion_tokens=1284,
        total_tokens=4377,
        cost_usd=None,
        requests=10,
    )
    detail = SessionDetail(
        session=_session("abc12345-0000", 4377, 0.042, 1.0),
        interval_minutes=5,
        intervals=intervals,
        total=total,
    )
    assert render(render_session_detail, detail) == snapshot("""\
Session abc12345  2026-11-20 10:30:15  update  gpt-4o-mini  success
                      Token Usage by 5-Minute Intervals
┌──────────┬──────────┬─────────────┬──────────────┬───────┬─────────┬──────┐
│ Interval │ Duration │ Tokens (in) │ Tokens (out) │ Total │    Cost │ Reqs │
├──────────┼──────────┼─────────────┼──────────────┼───────┼─────────┼──────┤
│ 1        │     5:00 │         890 │          344 │ 1,234 │ $0.0120 │    3 │
│ 2        │     5:00 │       1,502 │          654 │ 2,156 │ $0.0210 │    5 │
│ 3        │     3:42 │         701 │          286 │   987 │ unknown │    2 │
├──────────┼──────────┼─────────────┼──────────────┼───────┼─────────┼──────┤
│ TOTAL    │    13:42 │       3,093 │        1,284 │ 4,377 │ unknown │   10 │
└──────────┴──────────┴─────────────┴──────────────┴───────┴─────────┴──────┘
""")


def test_stats_table() -> None:
    stats = UsageStats(
        period="hourly",
        title="Last 60 minutes",
        sessions=2,
        requests=3,
        prompt_tokens=3000,
        completion_tokens=1500,
        cached_tokens=1000,
        total_tokens=4500,
        cost_usd=0.0315,
        priced_coverage=1.0,
        average_tokens_per_request=1500.0,
    )
    assert render(render_stats, stats) == snapshot("""\
Token Usage Statistics: Last 60 minutes, offline runs excluded

  Metric                  Value
 ───────────────────────────────
  Sessions                    2
  Total Requests              3
  Input Tokens            3,000
  Cached Input Tokens     1,000
  Output Tokens           1,500
  Total Tokens            4,500
  Total Cost            $0.0315
  Avg Tokens/Request      1,500

""")


def test_limits_panel() -> None:
    report = LimitsReport(
        checked_at=START,
        warning_threshold=50,
        critical_threshold=80,
        limits=[
            LimitStatus(variable="CLAUDE_HOURLY_LIMIT", unit="requests", window="last 60 minutes",
                        used=120, limit=500, percent=24.0, level="ok", explicit=False),
            LimitStatus(variable="TOKEN_DAILY_LIMIT", unit="tokens", window="last 24 hours",
                        used=1_700_000, limit=2_000_000, percent=85.0, level="critical",
                        explicit=True),
            LimitStatus(variable="TOKEN_MONTHLY_BUDGET_USD", unit="usd", window="last 30 days",
                        used=61.5, limit=100, percent=61.5, level="warning", explicit=True,
                        lower_bound=True),
        ],
    )  # fmt: skip
    assert render(render_limits, report) == snapshot("""\
╭─────────────────────────────────── Usage Limits ───────────────────────────────────╮
│                                                                                    │
│  Limit                      Window        Used              Of   Usage   Status    │
│  ────────────────────────────────────────────────────────────────────────────────  │
│  CLAUDE_HOURLY_LIMIT*       1 h            120         500 req   24.0%   ok        │
│  TOKEN_DAILY_LIMIT          24 h     1,700,000   2,000,000 tok   85.0%   critical  │
│  TOKEN_MONTHLY_BUDGET_USD   30 d     ≥$61.5000       $100.0000   61.5%   warning   │
│                                                                                    │
│ req = requests, tok = tokens; * default value.                                     │
│ Green below 50%, yellow from 50%, red from 80%.                                    │
│ Every project counts; offline runs never do.                                       │
╰────────────────────────────────────────────────────────────────────────────────────╯
""")


def test_trends_table_and_insights() -> None:
    rows = [
        TrendRow(key="2025-01-09", sessions=3, requests=9, prompt_tokens=40000,
                 completion_tokens=5230, cached_tokens=0, total_tokens=45230, cost_usd=0.2048,
                 priced_coverage=1.0),
        TrendRow(key="2025-01-08", sessions=2, requests=4, prompt_tokens=30000,
                 completion_tokens=2100, cached_tokens=0, total_tokens=32100, cost_usd=0.1455,
                 priced_coverage=0.9),
    ]  # fmt: skip
    total = TrendRow(key="TOTAL", sessions=5, requests=13, prompt_tokens=70000,
                     completion_tokens=7330, cached_tokens=0, total_tokens=77330,
                     cost_usd=0.3503, priced_coverage=0.95)  # fmt: skip
    insights = Insights(
        peak_day=date(2025, 1, 9),
        peak_day_tokens=45230,
        most_active_branch="feature/scoring-transparency",
        most_active_branch_tokens=45230,
        days_counted=7,
        average_tokens_per_day=77330 / 7,
        average_cost_per_day=0.3503 / 7,
        projected_monthly_cost=0.3503 / 7 * 30,
        week_over_week=WeekOverWeek(
            last_7_days_tokens=77330,
            previous_7_days_tokens=60000,
            last_7_days_cost=0.3503,
            previous_7_days_cost=0.3,
            change_percent=(77330 - 60000) / 60000 * 100,
        ),
        recommendations=[
            Recommendation(kind="largest_agent", subject="systemPatterns", share=0.41,
                           text="Agent systemPatterns accounts for 41% of the cost."),
        ],
    )  # fmt: skip
    result = TrendsResult(
        by="day",
        days=7,
        start=datetime(2025, 1, 3, tzinfo=UTC),
        end=datetime(2025, 1, 9, 18, tzinfo=UTC),
        project="/work/shop",
        include_offline=False,
        totals=total,
        rows=rows,
        insights=insights,
    )
    assert render(render_trends, result) == snapshot("""\
Usage over the last 7 days, project /work/shop, offline runs excluded
                 Daily Usage

  Date         Sessions   Tokens       Cost
 ───────────────────────────────────────────
  2025-01-09          3   45,230    $0.2048
  2025-01-08          2   32,100   ≥$0.1455

  TOTAL               5   77,330   ≥$0.3503

╭─────────────────────────────────── Insights ───────────────────────────────────╮
│ Peak usage day:          2025-01-09 (45,230 tokens)                            │
│ Most active branch:      feature/scoring-transparency (45,230 tokens)          │
│ Average per day:         11,047 tokens over 7 calendar days                    │
│ Projected monthly cost:  ≥$1.5013 (the daily average cost x 30)                │
│ Week over week:          +29% (last 7 days 77,330 tokens, the 7 before 60,000) │
│ - Agent systemPatterns accounts for 41% of the cost.                           │
╰────────────────────────────────────────────────────────────────────────────────╯
""")


def test_unknown_request_and_cached_counts_render_as_unknown_not_zero() -> None:
    manual = IntervalUsage(
        index=1, start=START, duration_seconds=0, prompt_tokens=1200, completion_tokens=300,
        total_tokens=1500, cost_usd=None, requests=0,
    )  # fmt: skip
    detail = SessionDetail(
        session=_session("abc12345-0000", 1500, None, 0.0),
        interval_minutes=5,
        intervals=[manual],
        total=manual.model_copy(update={"index": 0}),
        unknown_requests=[0, 1],
    )
    stats = UsageStats(
        period="session",
        title="Session abc12345-0000",
        sessions=1,
        requests=None,
        prompt_tokens=1200,
        completion_tokens=300,
        cached_tokens=None,
        total_tokens=1500,
        cost_usd=None,
        priced_coverage=0.0,
        average_tokens_per_request=None,
    )
    assert render(render_session_detail, detail) + render(render_stats, stats) == snapshot("""\
Session abc12345  2026-11-20 10:30:15  update  gpt-4o-mini  partial
                      Token Usage by 5-Minute Intervals
┌──────────┬──────────┬─────────────┬──────────────┬───────┬─────────┬──────┐
│ Interval │ Duration │ Tokens (in) │ Tokens (out) │ Total │    Cost │ Reqs │
├──────────┼──────────┼─────────────┼──────────────┼───────┼─────────┼──────┤
│ 1        │     0:00 │       1,200 │          300 │ 1,500 │ unknown │    - │
├──────────┼──────────┼─────────────┼──────────────┼───────┼─────────┼──────┤
│ TOTAL    │     0:00 │       1,200 │          300 │ 1,500 │ unknown │    - │
└──────────┴──────────┴─────────────┴──────────────┴───────┴─────────┴──────┘
Token Usage Statistics: Session abc12345-0000

  Metric                  Value
 ───────────────────────────────
  Sessions                    1
  Total Requests        unknown
  Input Tokens            1,200
  Cached Input Tokens   unknown
  Output Tokens             300
  Total Tokens            1,500
  Total Cost            unknown
  Avg Tokens/Request          -

""")
