"""A small ledger for the dashboard tests, seeded through ``Ledger.insert_report``.

``NOW`` is the moment the tests read the ledger at (local time), so the window is fixed. The
expected figures below are added up by hand from the sessions, not read back from the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.support.ledger_factory import AgentSpec, make_session
from token_tracking.history.ledger import Ledger
from token_tracking.records import RequestUsage
from token_tracking.reports.file import TokenUsageReport
from token_tracking.settings import CACHE_DIR_VARIABLE

NOW = datetime(2026, 11, 20, 15, 0).astimezone()
"""The local time the tests read the ledger at."""

XSS_BRANCH = "<script>alert(1)</script>"
"""A branch name that must show as text and never run."""


def isolate_cache(monkeypatch: pytest.MonkeyPatch, root: Path) -> Path:
    """Point the platform cache directory (where the Vega bundle is cached) under ``root``.

    The shared isolation fixture already points ``XDG_CACHE_HOME`` into the test's home; this
    names the folder and clears the cache-folder setting, so a test knows where the bundle goes.
    Returns ``XDG_CACHE_HOME``.
    """
    cache_home = root / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))
    monkeypatch.delenv(CACHE_DIR_VARIABLE, raising=False)
    return cache_home


def local(day: int, hour: int, month: int = 11) -> datetime:
    """An aware local time in 2026."""
    return datetime(2026, month, day, hour, 0).astimezone()


def session_ending(
    project: Path,
    end: datetime,
    agents: list[AgentSpec],
    *,
    branch: str,
    source: str = "llm",
) -> tuple[TokenUsageReport, list[RequestUsage]]:
    """A finished session ending at ``end``: one request per agent, a minute each, in turn."""
    return make_session(
        project,
        end - timedelta(minutes=len(agents)),
        agents,
        branch=branch,
        source=source,
        request_spacing=timedelta(minutes=1),
    )


@dataclass(frozen=True)
class Seeded:
    """The seeded project and the reports inserted."""

    project: Path
    other_project: Path
    reports: dict[str, TokenUsageReport]


def seed_ledger(ledger: Ledger, root: Path) -> Seeded:
    """Insert the test sessions: three counted, one offline, one too old, one elsewhere."""
    project = root / "app"
    other = root / "other-app"
    project.mkdir()
    other.mkdir()
    mini, haiku = "gpt-4o-mini", "claude-3-haiku"
    sessions = {
        # Recorded request by request (the collector's path).
        "main": session_ending(
            project,
            local(20, 10),
            [
                AgentSpec("projectbrief", 1000, 200, 0.0003, mini, cached=400),
                AgentSpec("techContext", 2000, 300, 0.0005, mini, cached=0),
            ],
            branch="main",
        ),
        # Agent totals only (an imported report): the ledger derives one row per agent.
        "xss": session_ending(
            project,
            local(18, 9),
            [AgentSpec("progress", 5000, 1000, 0.0025, haiku, cached=0)],
            branch=XSS_BRANCH,
        ),
        # On the window's first day, so the averages count all 30 days of the window.
        "unpriced": session_ending(
            project,
            local(22, 16, month=10),
            [AgentSpec("systemPatterns", 3000, 500, None, "mystery-model")],
            branch="feature/x",
        ),
        "offline": session_ending(
            project,
            local(19, 11),
            [AgentSpec("projectbrief", 10000, 4000, 0.0, "offline")],
            branch="main",
            source="offline",
        ),
        "old": session_ending(
            project,
            local(1, 12, month=10),
            [AgentSpec("projectbrief", 7000, 700, 0.01, mini, cached=0)],
            branch="main",
        ),
        "elsewhere": session_ending(
            other,
            local(19, 14),
            [AgentSpec("progress", 1500, 150, 0.001, mini, cached=0)],
            branch="main",
        ),
    }
    for name, (report, requests) in sessions.items():
        ledger.insert_report(report, requests if name == "main" else [])
    reports = {name: report for name, (report, _) in sessions.items()}
    return Seeded(project=project, other_project=other, reports=reports)


LIMIT_SETTINGS = {"TOKEN_DAILY_LIMIT": "20000", "TOKEN_MONTHLY_BUDGET_USD": "0.005"}
"""Two limits on top of the request defaults (limits count every project, offline excluded)."""

# The project's last 30 days, offline left out: sessions "main", "xss" and "unpriced".
EXPECTED_SESSIONS = 3
EXPECTED_PROMPT = 1000 + 2000 + 5000 + 3000
EXPECTED_COMPLETION = 200 + 300 + 1000 + 500
EXPECTED_TOKENS = EXPECTED_PROMPT + EXPECTED_COMPLETION
EXPECTED_COST = 0.0003 + 0.0005 + 0.0025
# The window's 30 calendar days (Oct 22 to Nov 20): the average cost per day x 30.
EXPECTED_DAYS = 30
EXPECTED_PROJECTED = EXPECTED_COST / EXPECTED_DAYS * 30
