"""The one report factory: token usage reports built with the pydantic models, and report files.

Reports are built with the pydantic models and written as JSON files, the way the tracker saves
them, so the tests read exactly what users' folders hold. The ledger tests' sessions
(``tests/support/ledger_factory.py``) are built with :func:`make_report` too.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.support.paths import FIXTURES
from token_tracking.records import AgentUsage, GitInfo, ModelPricing, PricingInfo
from token_tracking.reports.file import TokenUsageReport

V0_1_FIXTURE = FIXTURES / "report_v0_1.json"
"""A report written by memory-banker 0.1 (the tracking core's frozen fixture)."""

# memory-banker 0.1's six-agent run on gpt-4o-mini: 12,450 prompt and 8,320 completion tokens.
_V0_1 = json.loads(V0_1_FIXTURE.read_text(encoding="utf-8"))
V0_1_PROMPT, V0_1_COMPLETION = _V0_1["total_prompt_tokens"], _V0_1["total_completion_tokens"]
V0_1_STORED_COST: float = _V0_1["total_cost_usd"]
# Today's table: gpt-4o-mini $0.15 / $0.60 per 1M tokens.
V0_1_TODAY_COST = V0_1_PROMPT * 0.15e-6 + V0_1_COMPLETION * 0.60e-6

START = datetime(2026, 11, 20, 9, 0, 0, tzinfo=UTC)


def agent(
    name: str, prompt: int, completion: int, *, cost: float | None, **extra: Any
) -> AgentUsage:
    """One agent's usage with consistent totals."""
    return AgentUsage(
        agent_name=name,
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        model=extra.pop("model", "gpt-4o-mini"),
        duration_seconds=extra.pop("duration_seconds", 5.0),
        success=extra.pop("success", True),
        requests=extra.pop("requests", 1),
        cost_usd=cost,
        **extra,
    )


def make_report(
    session_id: str,
    *,
    end: datetime,
    agents: Sequence[AgentUsage],
    start: datetime | None = None,
    project_path: str = "/home/dev/shop",
    command: str = "update",
    model: str | None = "gpt-4o-mini",
    status: str = "success",
    source: str = "llm",
    git: GitInfo | None = None,
    priced: bool = True,
    priced_coverage: float | None = 1.0,
    unknown_models: tuple[str, ...] = (),
    tool_version: str | None = "0.2.0",
) -> TokenUsageReport:
    """A schema-1 report whose totals are the sums of ``agents``.

    ``start`` defaults to 40 seconds before ``end``. With ``priced`` the report carries a
    litellm 1.83.0 pricing block naming each agent's model (those in ``unknown_models`` as
    unmatched); without it, no pricing block.
    """
    start = end - timedelta(seconds=40) if start is None else start
    prompt = sum(a.prompt_tokens or 0 for a in agents)
    completion = sum(a.completion_tokens or 0 for a in agents)
    costs = [a.cost_usd for a in agents if a.cost_usd is not None]
    models = sorted({a.model for a in agents if a.model})
    pricing = PricingInfo(
        source="litellm",
        version="1.83.0",
        models=[
            ModelPricing(model=m, matched_key=None if m in unknown_models else m) for m in models
        ],
    )
    return TokenUsageReport(
        session_id=session_id,
        project_path=project_path,
        model=model,
        command=command,
        start_time=start,
        end_time=end,
        total_duration_seconds=(end - start).total_seconds(),
        total_prompt_tokens=prompt,
        total_completion_tokens=completion,
        total_tokens=prompt + completion,
        total_cost_usd=sum(costs) if costs else None,
        successful_agents=sum(1 for a in agents if a.success),
        failed_agents=sum(1 for a in agents if not a.success),
        agent_usage=list(agents),
        schema_version=1,
        total_requests=sum(a.requests or 0 for a in agents),
        status=status,  # type: ignore[arg-type]
        source=source,  # type: ignore[arg-type]
        git=git,
        pricing=pricing if priced else None,
        priced_coverage=priced_coverage,
        tool_version=tool_version,
    )


def reports_dir(project: Path) -> Path:
    """The project's reports folder, created."""
    folder = project / "memory-bank" / "token-reports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_report(project: Path, name: str, report: TokenUsageReport) -> Path:
    """Write ``report`` as ``name`` into the project's reports folder."""
    path = reports_dir(project) / name
    path.write_text(report.model_dump_json(indent=2), encoding="utf-8")
    return path


def copy_v0_1(project: Path, name: str = "token_usage_20241206_143107.json") -> Path:
    """Copy the 0.1 fixture into the project's reports folder."""
    path = reports_dir(project) / name
    shutil.copy(V0_1_FIXTURE, path)
    return path


def three_reports(project: Path) -> dict[str, TokenUsageReport]:
    """Three reports whose file names do not sort like their end times (latest: ``b…``)."""
    reports = {
        "token_usage_20261120_090000.json": make_report(
            "aaaa1111-0000-4000-8000-000000000001",
            end=START,
            command="init",
            agents=[agent("projectbrief", 3_000, 1_000, cost=0.00105)],
        ),
        # Named as if older, but it ended last: "latest" goes by end_time, not the name.
        "token_usage_20261119_080000.json": make_report(
            "bbbb2222-0000-4000-8000-000000000002",
            end=START + timedelta(days=2),
            agents=[
                agent("projectbrief", 10_000, 2_000, cost=0.0027),
                agent("progress", 6_000, 1_500, cost=None, success=False, error="timeout"),
            ],
            status="partial",
            priced_coverage=0.6153846153846154,
        ),
        "token_usage_20261121_100000.json": make_report(
            "cccc3333-0000-4000-8000-000000000003",
            end=START + timedelta(days=1),
            command="refresh",
            model="gpt-4o",
            agents=[agent("techContext", 20_000, 4_000, cost=0.09, model="gpt-4o")],
        ),
    }
    for name, report in reports.items():
        write_report(project, name, report)
    return reports


def age_reports(folder: Path, seconds: int = 3_600) -> None:
    """Date every report's mtime in ``folder`` back by ``seconds``: the index trusts no file
    modified within seconds of the index being written (a rewrite in the same clock tick keeps
    the mtime)."""
    for path in folder.glob("*.json"):
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns - seconds * 1_000_000_000))
