"""Limits over rolling windows, the settings that configure them, and the pre-run verdict."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.ledger_factory import AgentSpec, make_session
from token_tracking.errors import SettingError
from token_tracking.history.ledger import Ledger
from token_tracking.history.limits import check_limits_before_run, limits_status
from token_tracking.records import RequestUsage
from token_tracking.settings import load_settings

BOTH_LEDGERS = pytest.mark.usefixtures("each_ledger_backend")
"""Runs a test on the SQLite file and on PostgreSQL (tests/conftest.py)."""

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _insert(
    ledger: Ledger,
    project: Path,
    moment: datetime,
    *,
    requests: int,
    tokens: int,
    cost: float | None,
    source: str = "llm",
) -> None:
    report, _ = make_session(project, moment, [AgentSpec("a", 0, 0)], with_requests=False)
    report = report.model_copy(update={"source": source})
    row = RequestUsage(
        timestamp=moment,
        agent_name="a",
        prompt_tokens=tokens,
        completion_tokens=0,
        requests=requests,
        cost_usd=cost,
    )
    ledger.insert_report(report, [row])


@pytest.fixture
def ledger(each_ledger_backend: str, tmp_path: Path) -> Iterator[Ledger]:
    """Rows on both sides of each window's edge, plus offline and manual rows."""
    opened = Ledger()
    other = tmp_path / "other-project"
    other.mkdir()
    rows = [
        # (project, age, requests, tokens, cost, source)
        (tmp_path, timedelta(minutes=59, seconds=59), 3, 300, 0.3, "llm"),
        (other, timedelta(minutes=60, seconds=1), 5, 500, 0.5, "llm"),
        (tmp_path, timedelta(hours=23, minutes=59), 7, 700, None, "llm"),
        (tmp_path, timedelta(hours=24, minutes=1), 11, 1100, 1.1, "llm"),
        (tmp_path, timedelta(days=29, hours=23), 13, 1300, 1.3, "llm"),
        (tmp_path, timedelta(days=30, minutes=1), 17, 1700, 1.7, "llm"),
        (tmp_path, timedelta(minutes=5), 1000, 10**6, 0.0, "offline"),
        (tmp_path, timedelta(minutes=10), 2, 20, 0.02, "manual"),
    ]
    for project, age, requests, tokens, cost, source in rows:
        _insert(
            opened, project, NOW - age, requests=requests, tokens=tokens, cost=cost, source=source
        )
    yield opened
    opened.close()


def test_rolling_windows_are_counted_exactly(ledger: Ledger) -> None:
    settings = load_settings(
        {
            "TOKEN_HOURLY_LIMIT": "1000",
            "TOKEN_DAILY_LIMIT": "10000",
            "TOKEN_DAILY_BUDGET_USD": "2",
            "TOKEN_MONTHLY_BUDGET_USD": "10",
        }
    )
    report = limits_status(ledger, settings, now=NOW)
    got = {status.variable: status for status in report.limits}
    assert list(got) == [
        "CLAUDE_HOURLY_LIMIT",
        "CLAUDE_DAILY_LIMIT",
        "TOKEN_HOURLY_LIMIT",
        "TOKEN_DAILY_LIMIT",
        "TOKEN_DAILY_BUDGET_USD",
        "TOKEN_MONTHLY_BUDGET_USD",
    ]
    # Last hour: 3 + manual 2 (offline 1000 never counts).
    assert got["CLAUDE_HOURLY_LIMIT"].used == 5
    assert got["CLAUDE_HOURLY_LIMIT"].percent == pytest.approx(1.0, rel=1e-9)
    # Last 24 hours: 3 + 5 (other project: limits are per user) + 7 + 2.
    assert got["CLAUDE_DAILY_LIMIT"].used == 17
    assert got["TOKEN_HOURLY_LIMIT"].used == 320
    assert got["TOKEN_DAILY_LIMIT"].used == 1520
    assert got["TOKEN_DAILY_BUDGET_USD"].used == pytest.approx(0.82, rel=1e-9)
    assert got["TOKEN_DAILY_BUDGET_USD"].lower_bound is True  # the 700-token row has no price
    # Last 30 days adds 1.1 and 1.3, not 1.7.
    assert got["TOKEN_MONTHLY_BUDGET_USD"].used == pytest.approx(3.22, rel=1e-9)
    assert got["TOKEN_MONTHLY_BUDGET_USD"].percent == pytest.approx(32.2, rel=1e-9)
    assert [s.level for s in report.limits] == ["ok", "ok", "ok", "ok", "ok", "ok"]
    assert [s.explicit for s in report.limits] == [False, False, True, True, True, True]


def test_only_the_request_limits_have_defaults(ledger: Ledger) -> None:
    report = limits_status(ledger, load_settings({}), now=NOW)
    assert [(s.variable, s.limit) for s in report.limits] == [
        ("CLAUDE_HOURLY_LIMIT", 500),
        ("CLAUDE_DAILY_LIMIT", 5000),
    ]


def test_levels_follow_the_thresholds(ledger: Ledger) -> None:
    # 320 tokens in the hour against limits that put it at 40%, 64%, 80%, 320%.
    levels = []
    for limit in ("800", "500", "400", "100"):
        settings = load_settings({"TOKEN_HOURLY_LIMIT": limit})
        (status,) = [
            s for s in limits_status(ledger, settings, now=NOW).limits if s.unit == "tokens"
        ]
        levels.append(status.level)
    assert levels == ["ok", "warning", "critical", "exceeded"]


@BOTH_LEDGERS
def test_defaults_warn_but_never_refuse(tmp_path: Path) -> None:
    with Ledger() as ledger:
        _insert(ledger, tmp_path, NOW - timedelta(minutes=1), requests=501, tokens=10, cost=0.01)
        verdict = check_limits_before_run(ledger, {}, now=NOW)
        assert verdict.refuse is False
        assert verdict.warnings == [
            "CLAUDE_HOURLY_LIMIT: 501 of 500 requests in the last 60 minutes (100%)"
        ]


@BOTH_LEDGERS
def test_refusal_only_above_a_limit_set_in_the_environment(tmp_path: Path) -> None:
    with Ledger() as ledger:
        _insert(ledger, tmp_path, NOW - timedelta(minutes=1), requests=500, tokens=10, cost=0.01)
        at_limit = check_limits_before_run(ledger, {"CLAUDE_HOURLY_LIMIT": "500"}, now=NOW)
        assert at_limit.refuse is False  # exactly 100% is not above it
        assert len(at_limit.warnings) == 1
        above = check_limits_before_run(ledger, {"CLAUDE_HOURLY_LIMIT": "499"}, now=NOW)
        assert above.refuse is True
        assert above.refusals == [
            "CLAUDE_HOURLY_LIMIT: 500 of 499 requests in the last 60 minutes (100%)"
        ]
        budget = check_limits_before_run(ledger, {"TOKEN_DAILY_BUDGET_USD": "0.005"}, now=NOW)
        assert budget.refusals == [
            "TOKEN_DAILY_BUDGET_USD: $0.0100 of $0.0050 in the last 24 hours (200%)"
        ]


@BOTH_LEDGERS
def test_below_the_warning_level_nothing_is_said(tmp_path: Path) -> None:
    with Ledger() as ledger:
        _insert(ledger, tmp_path, NOW - timedelta(minutes=1), requests=249, tokens=10, cost=0.01)
        verdict = check_limits_before_run(ledger, {}, now=NOW)
        assert (verdict.warnings, verdict.refusals) == ([], [])


WHOLE = "a positive whole number"
DOLLARS = "a positive number of dollars"
PERCENT = "a percentage from 0 to 100"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("TOKEN_HOURLY_LIMIT", "abc", WHOLE),
        ("CLAUDE_DAILY_LIMIT", "-1", WHOLE),
        ("CLAUDE_HOURLY_LIMIT", "0", WHOLE),
        ("TOKEN_DAILY_LIMIT", "1.5", WHOLE),
        ("TOKEN_DAILY_BUDGET_USD", "five", DOLLARS),
        ("TOKEN_MONTHLY_BUDGET_USD", "nan", DOLLARS),
        ("TOKEN_WARNING_THRESHOLD", "150", PERCENT),
        ("TOKEN_CRITICAL_THRESHOLD", "x", PERCENT),
        ("TOKEN_HISTORY_DAYS", "0", WHOLE),
    ],
)
def test_invalid_settings_name_the_variable(variable: str, value: str, expected: str) -> None:
    with pytest.raises(SettingError) as raised:
        load_settings({variable: value})
    assert str(raised.value) == f"{variable} must be {expected}, got {value!r}"
    assert raised.value.variable == variable


def test_a_warning_threshold_above_the_critical_one_is_invalid() -> None:
    with pytest.raises(SettingError) as raised:
        load_settings({"TOKEN_WARNING_THRESHOLD": "90", "TOKEN_CRITICAL_THRESHOLD": "80"})
    assert str(raised.value) == (
        "TOKEN_WARNING_THRESHOLD must be at most TOKEN_CRITICAL_THRESHOLD (80), got '90'"
    )


def test_settings_defaults_and_empty_values() -> None:
    settings = load_settings({"TOKEN_HOURLY_LIMIT": "", "TOKEN_HISTORY_DAYS": " 30 "})
    assert dict(settings.limits) == {"CLAUDE_HOURLY_LIMIT": 500, "CLAUDE_DAILY_LIMIT": 5000}
    assert settings.explicit == frozenset()
    assert (settings.warning_threshold, settings.critical_threshold) == (50.0, 80.0)
    assert settings.history_days == 30
