"""The one ledger factory: sessions (a report and its request rows) and ledgers of older schemas.

Reports come from :func:`tests.support.reports.make_report`; nothing here writes files beyond
the ledger file.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.support.reports import make_report
from token_tracking.history.database import Database
from token_tracking.history.migrations import migrate
from token_tracking.records import AgentUsage, GitInfo, RequestUsage
from token_tracking.reports.file import TokenUsageReport


@dataclass(frozen=True)
class AgentSpec:
    """One agent of a test session: its requests' counts and costs."""

    name: str
    prompt: int
    completion: int
    cost: float | None = None
    model: str = "gpt-4o-mini"
    requests: int = 1
    cached: int | None = None


def make_session(
    project: Path,
    start: datetime,
    agents: Sequence[AgentSpec],
    *,
    branch: str | None = "main",
    source: str = "llm",
    command: str = "update",
    user: str | None = "dev@example.com",
    session_id: str | None = None,
    request_spacing: timedelta = timedelta(seconds=10),
    with_requests: bool = True,
) -> tuple[TokenUsageReport, list[RequestUsage]]:
    """Return a report and its request rows: agents run one after another from ``start``.

    Each agent's tokens and cost are split evenly over its requests (the first request takes
    the remainder), ``request_spacing`` apart.
    """
    moment = start
    usages: list[AgentUsage] = []
    requests: list[RequestUsage] = []
    for agent in agents:
        agent_start = moment
        for index in range(agent.requests):
            share_p = agent.prompt // agent.requests
            share_c = agent.completion // agent.requests
            if index == 0:
                share_p += agent.prompt - share_p * agent.requests
                share_c += agent.completion - share_c * agent.requests
            cost = None if agent.cost is None else agent.cost / agent.requests
            cached = None
            if agent.cached is not None:
                cached = agent.cached if index == 0 else 0
            moment = moment + request_spacing
            requests.append(
                RequestUsage(
                    timestamp=moment,
                    agent_name=agent.name,
                    model=agent.model,
                    prompt_tokens=share_p,
                    completion_tokens=share_c,
                    cached_tokens=cached,
                    cost_usd=cost,
                    duration_seconds=request_spacing.total_seconds(),
                )
            )
        usages.append(
            AgentUsage(
                agent_name=agent.name,
                prompt_tokens=agent.prompt,
                completion_tokens=agent.completion,
                total_tokens=agent.prompt + agent.completion,
                model=agent.model,
                start_time=agent_start,
                end_time=moment,
                duration_seconds=(moment - agent_start).total_seconds(),
                success=True,
                cached_tokens=agent.cached,
                requests=agent.requests,
                cost_usd=agent.cost,
            )
        )
    prompt = sum(agent.prompt for agent in agents)
    completion = sum(agent.completion for agent in agents)
    priced = sum(a.prompt + a.completion for a in agents if a.cost is not None)
    report = make_report(
        session_id or str(uuid.uuid4()),
        start=start,
        end=moment,
        agents=usages,
        project_path=str(project),
        command=command,
        model=agents[0].model if agents else None,
        source=source,
        git=GitInfo(branch=branch, user_email=user) if branch or user else None,
        priced=False,
        priced_coverage=priced / (prompt + completion) if prompt + completion else None,
        tool_version=None,
    )
    return report, requests if with_requests else []


@contextlib.contextmanager
def use_timezone(monkeypatch: pytest.MonkeyPatch, name: str) -> Iterator[None]:
    """Make ``name`` the process's local time zone (``TZ`` + ``time.tzset``) inside the block."""
    monkeypatch.setenv("TZ", name)
    time.tzset()
    try:
        yield
    finally:
        monkeypatch.undo()
        time.tzset()


def make_first_form_ledger(path: Path, *, version: int) -> None:
    """Write a ledger at ``version`` 1 or 2 of the first committed schema, with two sessions.

    Both are in project ``/p``: ``s-main`` (branch main, 180 tokens in 3 requests, $0.75) and
    ``s-feature`` (branch feature/a, 1,200 tokens in 1 request, unpriced). The rows are written
    the way the first committed code wrote them: each request row repeats its context (project,
    branch, commit, user, command, source).
    """
    db = sqlite3.connect(path, isolation_level=None)
    assert migrate(Database.sqlite(db), target=version) == list(range(1, version + 1))
    db.execute(
        """
        INSERT INTO sessions (id, session_id, project, command, model, source, status, start_us,
            end_us, duration_seconds, branch, git_commit, user, prompt_tokens, completion_tokens,
            total_tokens, requests, cost_usd, successful_agents, failed_agents, report_json)
        VALUES
            (1, 's-main', '/p', 'update', 'gpt-4o-mini', 'llm', 'success', 0, 2000000, 2.0,
             'main', 'abc123', 'dev@x', 150, 30, 180, 3, 0.75, 1, 0, '{}'),
            (2, 's-feature', '/p', 'init', 'gpt-4o', 'llm', 'success', 5000000, 6000000, 1.0,
             'feature/a', 'def456', NULL, 1000, 200, 1200, 1, NULL, 1, 0, '{}')
        """
    )
    db.execute(
        """
        INSERT INTO agent_runs (session_pk, position, agent, model, success, prompt_tokens,
            completion_tokens, total_tokens, requests, cost_usd)
        VALUES (1, 0, 'product_context', 'gpt-4o-mini', 1, 150, 30, 180, 3, 0.75),
               (2, 0, 'system_patterns', 'gpt-4o', 1, 1000, 200, 1200, 1, NULL)
        """
    )
    context = "project, branch, git_commit, user, command, source"
    db.execute(
        f"""
        INSERT INTO usage_rows (session_pk, ts_us, {context}, agent, model, prompt_tokens,
            completion_tokens, total_tokens, requests, cost_usd, cost_is_actual)
        VALUES
            (1, 500000, '/p', 'main', 'abc123', 'dev@x', 'update', 'llm', 'product_context',
             'gpt-4o-mini', 100, 20, 120, 2, 0.5, 0),
            (1, 1500000, '/p', 'main', 'abc123', 'dev@x', 'update', 'llm', 'product_context',
             'gpt-4o-mini', 50, 10, 60, 1, 0.25, 1),
            (2, 5500000, '/p', 'feature/a', 'def456', NULL, 'init', 'llm', 'system_patterns',
             'gpt-4o', 1000, 200, 1200, 1, NULL, 0)
        """
    )
    if version >= 2:
        db.execute("UPDATE usage_rows SET derived = 1 WHERE session_pk = 2")
    db.close()
