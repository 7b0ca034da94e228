"""Trends and insights over a seeded ledger, with every expected figure worked out by hand."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from pricing import default_pricebook
from tests.support.ledger_factory import AgentSpec, make_session, use_timezone
from token_tracking.history.clock import window_start
from token_tracking.history.export import export_document
from token_tracking.history.ledger import Ledger
from token_tracking.history.manual import manual_entry
from token_tracking.history.models import Filters
from token_tracking.history.stats import usage_stats
from token_tracking.history.trends import (
    compute_trends,
    daily_series,
    periods,
    pricebook_cost,
)
from token_tracking.records import RequestUsage

BOTH_LEDGERS = pytest.mark.usefixtures("each_ledger_backend")
"""Runs a test on the SQLite file and on PostgreSQL (tests/conftest.py)."""

# Monday 2026-11-23, noon UTC; local time is UTC unless a test says otherwise.
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def utc_local(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with use_timezone(monkeypatch, "UTC"):
        yield


def _at(day: int, hour: int, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


@pytest.fixture
def seeded(
    each_ledger_backend: str, tmp_path: Path, utc_local: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Ledger, str]]:
    """Six sessions (one offline, one outside the 30-day window) in project ``tmp_path``,
    recorded by the user ``dev@example.com``.

    | session | day | branch | agents (prompt/completion/cost, model) | tokens | cost |
    |---|---|---|---|---|---|
    | S1 | 11-23 | main | a 1000/200 $0.01 mini; b 3000/500 $0.05 4o | 4,700 | 0.06 |
    | S2 | 11-21 | feature/x | a 2000/1000 $0.02 mini | 3,000 | 0.02 |
    | S3 | 11-21 | feature/x | b 5000/1000 $0.10 4o | 6,000 | 0.10 |
    | S4 | 11-12 | main | a 1000/1000 $0.01 mini | 2,000 | 0.01 |
    | S5 | 10-01 | old | a 10000/0 $0.03 mini | 10,000 | 0.03 |
    | S6 | 11-22 | main | offline 50000/5000 $0 | 55,000 | 0 |
    """
    mini, big = "gpt-4o-mini", "gpt-4o"
    sessions = [
        (_at(23, 9), "main", [AgentSpec("a", 1000, 200, 0.01, mini),
                              AgentSpec("b", 3000, 500, 0.05, big)], "llm"),
        (_at(21, 10), "feature/x", [AgentSpec("a", 2000, 1000, 0.02, mini)], "llm"),
        (_at(21, 15), "feature/x", [AgentSpec("b", 5000, 1000, 0.10, big)], "llm"),
        (_at(12, 8), "main", [AgentSpec("a", 1000, 1000, 0.01, mini)], "llm"),
        (_at(1, 8, month=10), "old", [AgentSpec("a", 10000, 0, 0.03, mini)], "llm"),
        (_at(22, 8), "main", [AgentSpec("a", 50000, 5000, 0.0, "offline")], "offline"),
    ]  # fmt: skip
    monkeypatch.setenv("TOKEN_TRACKING_USER", "dev@example.com")
    with Ledger() as ledger:
        for start, branch, agents, source in sessions:
            report, requests = make_session(tmp_path, start, agents, branch=branch, source=source)
            ledger.insert_report(report, requests)
        yield ledger, str(tmp_path.resolve())


def test_daily_table_and_insights_of_the_last_30_days(seeded: tuple[Ledger, str]) -> None:
    ledger, project = seeded
    result = compute_trends(ledger, days=30, by="day", project=project, now=NOW)
    assert result.start == datetime(2026, 10, 25, tzinfo=UTC)
    assert [(r.key, r.sessions, r.total_tokens) for r in result.rows] == [
        ("2026-11-23", 1, 4700),
        ("2026-11-21", 2, 9000),
        ("2026-11-12", 1, 2000),
    ]
    assert [r.cost_usd for r in result.rows] == [
        pytest.approx(0.06, rel=1e-9),
        pytest.approx(0.12, rel=1e-9),
        pytest.approx(0.01, rel=1e-9),
    ]
    assert (result.totals.sessions, result.totals.total_tokens) == (4, 15700)
    assert result.totals.cost_usd == pytest.approx(0.19, rel=1e-9)
    insights = result.insights
    assert (insights.peak_day, insights.peak_day_tokens) == (date(2026, 11, 21), 9000)
    assert (insights.most_active_branch, insights.most_active_branch_tokens) == ("feature/x", 9000)
    # S5 (10-01) shows tracking began before the window: all 30 calendar days count.
    assert insights.days_counted == 30
    assert insights.average_tokens_per_day == pytest.approx(15700 / 30, rel=1e-9)
    assert insights.projected_monthly_cost == pytest.approx(0.19 / 30 * 30, rel=1e-9)
    wow = insights.week_over_week
    # Last 7 days = 11-17..11-23 (S1, S2, S3); the 7 before = 11-10..11-16 (S4).
    assert (wow.last_7_days_tokens, wow.previous_7_days_tokens) == (13700, 2000)
    assert wow.change_percent == pytest.approx((13700 - 2000) / 2000 * 100, rel=1e-9)


def test_recommendations_name_the_costliest_agent_and_model_and_the_cheapest_model(
    seeded: tuple[Ledger, str],
) -> None:
    ledger, project = seeded
    cost_of = pricebook_cost(default_pricebook())
    result = compute_trends(ledger, days=30, project=project, now=NOW, cost_of=cost_of)
    agent, model, cheapest = result.insights.recommendations
    # Agent b: 0.05 + 0.10 of 0.19.
    assert (agent.kind, agent.subject) == ("largest_agent", "b")
    assert agent.share == pytest.approx(0.15 / 0.19, rel=1e-9)
    assert agent.text.startswith("Agent b accounts for 79% of the cost ($0.1500 of $0.1900)")
    assert (model.kind, model.subject) == ("largest_model", "gpt-4o")
    # All window usage (12,000 prompt, 3,700 completion) on gpt-4o-mini at $0.15/$0.60 per 1M.
    expected = 12000 * 0.15e-6 + 3700 * 0.60e-6
    assert (cheapest.kind, cheapest.subject) == ("cheapest_model", "gpt-4o-mini")
    assert cheapest.cost_usd == pytest.approx(expected, rel=1e-9)
    assert cheapest.baseline_cost_usd == pytest.approx(0.19, rel=1e-9)
    assert "cheapest model used in this window" in cheapest.text


def test_branch_and_model_breakdowns(seeded: tuple[Ledger, str]) -> None:
    ledger, project = seeded
    by_branch = compute_trends(ledger, days=30, by="branch", project=project, now=NOW)
    assert [(r.key, r.sessions, r.total_tokens) for r in by_branch.rows] == [
        ("feature/x", 2, 9000),
        ("main", 2, 6700),
    ]
    by_model = compute_trends(ledger, days=30, by="model", project=project, now=NOW)
    assert [(r.key, r.total_tokens) for r in by_model.rows] == [
        ("gpt-4o", 9500),
        ("gpt-4o-mini", 6200),
    ]
    by_agent = compute_trends(ledger, days=30, by="agent", project=project, now=NOW)
    assert [(r.key, r.sessions) for r in by_agent.rows] == [("b", 2), ("a", 3)]
    by_user = compute_trends(ledger, days=30, by="user", project=project, now=NOW)
    assert [(r.key, r.total_tokens) for r in by_user.rows] == [("dev@example.com", 15700)]


def test_weeks_start_on_monday_and_months_group(seeded: tuple[Ledger, str]) -> None:
    ledger, project = seeded
    weekly = compute_trends(ledger, days=0, by="week", project=project, now=NOW)
    assert [(r.key, r.total_tokens) for r in weekly.rows] == [
        ("2026-11-23", 4700),
        ("2026-11-16", 9000),
        ("2026-11-09", 2000),
        ("2026-09-28", 10000),
    ]
    monthly = compute_trends(ledger, days=0, by="month", project=project, now=NOW)
    assert [(r.key, r.sessions, r.total_tokens) for r in monthly.rows] == [
        ("2026-11", 4, 15700),
        ("2026-10", 1, 10000),
    ]


def test_days_zero_reads_all_time_from_the_first_record(seeded: tuple[Ledger, str]) -> None:
    ledger, project = seeded
    result = compute_trends(ledger, days=0, project=project, now=NOW)
    assert result.start is None
    assert result.totals.total_tokens == 25700
    assert result.totals.cost_usd == pytest.approx(0.22, rel=1e-9)
    # 2026-10-01 .. 2026-11-23 = 31 + 23 days.
    assert result.insights.days_counted == 54
    assert result.insights.average_tokens_per_day == pytest.approx(25700 / 54, rel=1e-9)
    assert result.insights.projected_monthly_cost == pytest.approx(0.22 / 54 * 30, rel=1e-9)
    assert result.insights.peak_day == date(2026, 10, 1)


def test_offline_rows_are_excluded_unless_asked_for(seeded: tuple[Ledger, str]) -> None:
    ledger, project = seeded
    default = compute_trends(ledger, days=30, project=project, now=NOW)
    assert "2026-11-22" not in [r.key for r in default.rows]
    included = compute_trends(ledger, days=30, project=project, now=NOW, include_offline=True)
    assert (included.rows[1].key, included.rows[1].total_tokens) == ("2026-11-22", 55000)
    assert included.totals.total_tokens == 15700 + 55000
    assert included.insights.peak_day == date(2026, 11, 22)


def test_other_projects_are_left_out_unless_all_projects(
    seeded: tuple[Ledger, str], tmp_path: Path
) -> None:
    ledger, project = seeded
    other = tmp_path / "other"
    other.mkdir()
    report, requests = make_session(other, _at(23, 8), [AgentSpec("a", 1, 1, 0.5)])
    ledger.insert_report(report, requests)
    mine = compute_trends(ledger, days=30, project=project, now=NOW)
    everyone = compute_trends(ledger, days=30, project=None, now=NOW)
    assert mine.totals.total_tokens == 15700
    assert everyone.totals.total_tokens == 15702


@BOTH_LEDGERS
def test_an_empty_ledger_has_no_rows_and_no_insights(tmp_path: Path, utc_local: None) -> None:
    with Ledger() as ledger:
        result = compute_trends(ledger, days=30, now=NOW)
        assert result.rows == []
        assert (result.totals.total_tokens, result.totals.cost_usd) == (0, None)
        insights = result.insights
        assert insights.peak_day is None
        assert insights.most_active_branch is None
        assert insights.average_tokens_per_day is None
        assert insights.projected_monthly_cost is None
        assert insights.week_over_week.change_percent is None
        assert insights.recommendations == []
        assert daily_series(ledger, Filters(), now=NOW) == []


@BOTH_LEDGERS
def test_a_window_crossing_a_local_day_boundary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # New York is UTC-5 in November: local midnight of 11-21 is 05:00 UTC.
    with use_timezone(monkeypatch, "America/New_York"):
        report, _ = make_session(tmp_path, _at(21, 4), [AgentSpec("a", 0, 0)], with_requests=False)
        times_and_tokens = [
            (datetime(2026, 11, 21, 4, 50, tzinfo=UTC), 100),  # 23:50 local, 11-20
            (datetime(2026, 11, 21, 4, 59, 59, tzinfo=UTC), 200),  # 23:59:59 local, 11-20
            (datetime(2026, 11, 21, 5, 0, tzinfo=UTC), 400),  # 00:00 local, 11-21
            (datetime(2026, 11, 21, 5, 10, tzinfo=UTC), 800),  # 00:10 local, 11-21
        ]
        requests = [
            RequestUsage(timestamp=moment, agent_name="a", prompt_tokens=n, completion_tokens=0)
            for moment, n in times_and_tokens
        ]
        with Ledger() as ledger:
            ledger.insert_report(report, requests)
            now = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)  # 12:00 local
            everything = compute_trends(ledger, days=0, now=now)
            assert [(r.key, r.sessions, r.total_tokens) for r in everything.rows] == [
                ("2026-11-21", 1, 1200),
                ("2026-11-20", 1, 300),
            ]
            # The last 3 local days start at 11-21 00:00 local = 05:00 UTC.
            assert window_start(3, now=now) == datetime(2026, 11, 21, 5, 0, tzinfo=UTC)
            recent = compute_trends(ledger, days=3, now=now)
            assert [(r.key, r.total_tokens) for r in recent.rows] == [("2026-11-21", 1200)]
            series = daily_series(ledger, Filters(start=window_start(3, now=now)), now=now)
            assert [(r.key, r.total_tokens) for r in series] == [
                ("2026-11-21", 1200),
                ("2026-11-22", 0),
                ("2026-11-23", 0),
            ]


@BOTH_LEDGERS
def test_periods_of_a_half_hour_time_zone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # India is UTC+5:30: 18:29 UTC is 23:59 local, 18:30 UTC the next local day.
    with use_timezone(monkeypatch, "Asia/Kolkata"):
        report, _ = make_session(tmp_path, _at(20, 18), [AgentSpec("a", 0, 0)], with_requests=False)
        requests = [
            RequestUsage(
                timestamp=datetime(2026, 11, 20, 18, minute, tzinfo=UTC),
                prompt_tokens=tokens,
                completion_tokens=0,
            )
            for minute, tokens in ((29, 5), (30, 7))
        ]
        with Ledger() as ledger:
            ledger.insert_report(report, requests)
            rows = periods(ledger, Filters(), "day")
            assert [(r.key, r.total_tokens) for r in rows] == [("2026-11-20", 5), ("2026-11-21", 7)]


@BOTH_LEDGERS
def test_usage_stats_hourly_daily_and_session(tmp_path: Path, utc_local: None) -> None:
    with Ledger() as ledger:
        recent, recent_requests = make_session(
            tmp_path, NOW - timedelta(minutes=30), [AgentSpec("a", 300, 100, 0.004, requests=4)]
        )
        earlier, earlier_requests = make_session(
            tmp_path, NOW - timedelta(hours=5), [AgentSpec("a", 1000, 0, 0.001)]
        )
        ledger.insert_report(recent, recent_requests)
        ledger.insert_report(earlier, earlier_requests)
        hourly = usage_stats(ledger, "hourly", now=NOW)
        assert (hourly.requests, hourly.total_tokens, hourly.sessions) == (4, 400, 1)
        assert hourly.cost_usd == pytest.approx(0.004, rel=1e-9)
        assert hourly.average_tokens_per_request == 100
        daily = usage_stats(ledger, "daily", now=NOW)
        assert (daily.requests, daily.total_tokens, daily.sessions) == (5, 1400, 2)
        latest = usage_stats(ledger, "session", now=NOW)
        assert (latest.session_id, latest.total_tokens) == (recent.session_id, 400)
        chosen = usage_stats(ledger, "hourly", session_id=earlier.session_id[:6], now=NOW)
        assert (chosen.period, chosen.total_tokens, chosen.requests) == ("session", 1000, 1)


@BOTH_LEDGERS
def test_manual_entries_leave_requests_and_cached_tokens_unknown(
    tmp_path: Path, utc_local: None
) -> None:
    """A manual entry knows neither its request count nor its cached tokens: their sums are
    unknown (``None``), not 0, until a row that knows them joins the group."""
    with Ledger() as ledger:
        for day, tokens_in in ((20, 10_000), (22, 4_000)):
            entry = manual_entry(
                tmp_path,
                input_tokens=tokens_in,
                output_tokens=1_000,
                branch="main",
                now=_at(day, 9),
            )
            ledger.insert_report(entry)
        manual_only = compute_trends(ledger, days=7, now=NOW)
        by_model = compute_trends(ledger, days=7, by="model", now=NOW)
        by_branch = compute_trends(ledger, days=7, by="branch", now=NOW)
        stats = usage_stats(ledger, "daily", now=NOW - timedelta(hours=3))
        exported = export_document(ledger, days=7, now=NOW)

        report, requests = make_session(
            tmp_path, _at(22, 10), [AgentSpec("a", 2_000, 500, 0.01, requests=3, cached=800)]
        )
        ledger.insert_report(report, requests)
        mixed = compute_trends(ledger, days=7, now=NOW)

    assert [(r.key, r.requests, r.cached_tokens, r.total_tokens) for r in manual_only.rows] == [
        ("2026-11-22", None, None, 5_000),
        ("2026-11-20", None, None, 11_000),
    ]
    assert (manual_only.totals.requests, manual_only.totals.cached_tokens) == (None, None)
    assert [(r.key, r.requests, r.cached_tokens) for r in by_model.rows] == [("(none)", None, None)]
    assert [(r.key, r.requests, r.cached_tokens) for r in by_branch.rows] == [("main", None, None)]
    assert (stats.requests, stats.cached_tokens, stats.total_tokens) == (None, None, 5_000)
    assert stats.average_tokens_per_request is None
    assert [(key, group.requests) for key, group in exported.daily.items()] == [
        ("2026-11-20", None),
        ("2026-11-22", None),
    ]
    assert [(key, group.requests) for key, group in exported.by_branch.items()] == [("main", None)]
    # The known rows' counts are the sums: the manual entries add nothing, not a made-up 0.
    assert [(r.key, r.requests, r.cached_tokens, r.total_tokens) for r in mixed.rows] == [
        ("2026-11-22", 3, 800, 7_500),
        ("2026-11-20", None, None, 11_000),
    ]
    assert (mixed.totals.requests, mixed.totals.cached_tokens) == (3, 800)


@BOTH_LEDGERS
def test_an_empty_window_has_zero_requests_and_cached_tokens_not_unknown(
    tmp_path: Path, utc_local: None
) -> None:
    with Ledger() as ledger:
        trends = compute_trends(ledger, days=7, now=NOW)
        stats = usage_stats(ledger, "hourly", now=NOW)

    assert (trends.totals.requests, trends.totals.cached_tokens) == (0, 0)
    assert (stats.requests, stats.cached_tokens, stats.average_tokens_per_request) == (0, 0, None)
