"""A small ledger for the dashboard tests, seeded through ``Ledger.insert_report``.

``NOW`` is the moment the tests read the ledger at (local time), so the window is fixed. The
expected figures below are added up by hand from the sessions, not read back from the ledger.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from token_tracking.dashboard import CACHE_DIR_VARIABLE
from token_tracking.records import AgentUsage, GitInfo, RequestUsage, TokenUsageReport
from token_tracking.store import Ledger

NOW = datetime(2026, 11, 20, 15, 0).astimezone()
"""The local time the tests read the ledger at."""

XSS_BRANCH = "<script>alert(1)</script>"
"""A branch name that must show as text and never run."""


def isolate_cache(monkeypatch: pytest.MonkeyPatch, root: Path) -> Path:
    """Point the platform cache directory (where the Vega bundle is cached) under ``root``.

    The shared isolation fixture sets ``XDG_DATA_HOME`` and ``XDG_CONFIG_HOME`` only; without this
    a test would write the bundle into the user's ``~/.cache``. Returns ``XDG_CACHE_HOME``.
    """
    cache_home = root / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))
    monkeypatch.delenv(CACHE_DIR_VARIABLE, raising=False)
    return cache_home


@dataclass(frozen=True)
class Agent:
    """One agent run of a seeded session."""

    name: str
    prompt: int
    completion: int
    cached: int | None
    cost: float | None


def local(day: int, hour: int, month: int = 11) -> datetime:
    """An aware local time in 2026."""
    return datetime(2026, month, day, hour, 0).astimezone()


def make_report(
    project: Path,
    end: datetime,
    agents: list[Agent],
    *,
    branch: str | None,
    model: str,
    source: str = "llm",
    command: str = "update",
) -> TokenUsageReport:
    """A finished session whose agents ran one after another, ending at ``end``."""
    start = end - timedelta(minutes=len(agents))
    usage = [
        AgentUsage(
            agent_name=agent.name,
            prompt_tokens=agent.prompt,
            completion_tokens=agent.completion,
            total_tokens=agent.prompt + agent.completion,
            cached_tokens=agent.cached,
            model=model,
            start_time=start + timedelta(minutes=index),
            end_time=start + timedelta(minutes=index + 1),
            duration_seconds=60.0,
            success=True,
            requests=1,
            cost_usd=agent.cost,
        )
        for index, agent in enumerate(agents)
    ]
    costs = [agent.cost for agent in agents if agent.cost is not None]
    priced = sum(agent.prompt + agent.completion for agent in agents if agent.cost is not None)
    total = sum(agent.prompt + agent.completion for agent in agents)
    cached = [agent.cached for agent in agents if agent.cached is not None]
    return TokenUsageReport(
        schema_version=1,
        session_id=str(uuid.uuid4()),
        project_path=str(project),
        model=model,
        command=command,
        start_time=start,
        end_time=end,
        total_duration_seconds=60.0 * len(agents),
        total_prompt_tokens=sum(agent.prompt for agent in agents),
        total_completion_tokens=sum(agent.completion for agent in agents),
        total_tokens=total,
        total_cost_usd=sum(costs) if costs else None,
        total_cached_tokens=sum(cached) if cached else None,
        total_requests=len(agents),
        successful_agents=len(agents),
        agent_usage=usage,
        source=source,  # type: ignore[arg-type]
        git=GitInfo(branch=branch) if branch is not None else None,
        priced_coverage=priced / total if total else None,
    )


def request_rows(report: TokenUsageReport) -> list[RequestUsage]:
    """One request row per agent, as the collector records them."""
    return [
        RequestUsage(
            timestamp=agent.end_time if agent.end_time is not None else report.end_time,
            agent_name=agent.agent_name,
            model=agent.model,
            prompt_tokens=agent.prompt_tokens,
            completion_tokens=agent.completion_tokens,
            cached_tokens=agent.cached_tokens,
            cost_usd=agent.cost_usd,
        )
        for agent in report.agent_usage
    ]


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
    reports = {
        # Recorded request by request (the collector's path).
        "main": make_report(
            project,
            local(20, 10),
            [
                Agent("projectbrief", 1000, 200, 400, 0.0003),
                Agent("techContext", 2000, 300, 0, 0.0005),
            ],
            branch="main",
            model="gpt-4o-mini",
        ),
        # Agent totals only (an imported report): the ledger derives one row per agent.
        "xss": make_report(
            project,
            local(18, 9),
            [Agent("progress", 5000, 1000, 0, 0.0025)],
            branch=XSS_BRANCH,
            model="claude-3-haiku",
        ),
        # On the window's first day, so the averages count all 30 days of the window.
        "unpriced": make_report(
            project,
            local(22, 16, month=10),
            [Agent("systemPatterns", 3000, 500, None, None)],
            branch="feature/x",
            model="mystery-model",
        ),
        "offline": make_report(
            project,
            local(19, 11),
            [Agent("projectbrief", 10000, 4000, None, 0.0)],
            branch="main",
            model="offline",
            source="offline",
        ),
        "old": make_report(
            project,
            local(1, 12, month=10),
            [Agent("projectbrief", 7000, 700, 0, 0.01)],
            branch="main",
            model="gpt-4o-mini",
        ),
        "elsewhere": make_report(
            other,
            local(19, 14),
            [Agent("progress", 1500, 150, 0, 0.001)],
            branch="main",
            model="gpt-4o-mini",
        ),
    }
    ledger.insert_report(reports["main"], request_rows(reports["main"]))
    for name in ("xss", "unpriced", "offline", "old", "elsewhere"):
        ledger.insert_report(reports[name])
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
