"""Export the ledger as CSV (one row per agent run) or JSON (sessions and breakdowns).

CSV columns: five summary columns ``timestamp,branch,tokens,estimated_cost,notes`` first, then
the detail ``project,command,agent,model,prompt_tokens,completion_tokens,cached_tokens,
cache_write_tokens,reasoning_tokens,requests,source``. ``timestamp`` is the agent run's start in
local time (``2025-01-09 14:30:00``), which spreadsheets read as a date; the JSON export keeps the
exact UTC times. An unknown count or cost is an empty cell, never ``0``; costs are written with
full precision so the column sums back to the ledger's totals.

JSON keys: ``summary`` (``total_cost``, ``total_tokens``, …), ``daily``, ``weekly`` (keyed by the
Monday), ``monthly``, ``by_branch`` and ``by_model`` (each value with ``sessions``, ``tokens``,
``estimated_cost``), and ``sessions`` — every session's report with its agent runs.

An export holds every source (offline included; the ``source`` column tells them apart). Sessions
are selected by their start; the breakdowns by each request's time.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Literal

from pydantic import Field

from token_tracking.history.clock import utc_now, window_start
from token_tracking.history.ledger import Ledger
from token_tracking.history.models import AgentRunRow, Filters
from token_tracking.history.trends import NO_VALUE, TrendRow, breakdown, periods
from token_tracking.records import DeferredModel
from token_tracking.reports.file import TokenUsageReport

CSV_COLUMNS: tuple[str, ...] = (
    "timestamp",
    "branch",
    "tokens",
    "estimated_cost",
    "notes",
    "project",
    "command",
    "agent",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "requests",
    "source",
    "reported_cost_usd",
)
"""The CSV header: the five summary columns, then the detail."""

CSV_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
"""How the CSV writes ``timestamp``: local time, a format spreadsheets read as a date."""

ExportFormat = Literal["csv", "json"]


class GroupTotals(DeferredModel):
    """Totals of one day, week, month, branch or model."""

    sessions: int
    """Sessions with usage in the group."""
    tokens: int
    """Total tokens."""
    prompt_tokens: int
    """Input tokens."""
    completion_tokens: int
    """Output tokens."""
    requests: int | None
    """LLM requests of the rows that know their count; ``None`` when no row did."""
    estimated_cost: float | None
    """Cost in USD; ``None`` when nothing was priced."""


class ExportSummary(DeferredModel):
    """The export's headline figures."""

    total_cost: float | None
    """Cost in USD of the exported usage; a lower bound when ``priced_coverage`` < 1."""
    total_tokens: int
    """Total tokens of the exported usage."""
    total_sessions: int
    """Sessions exported."""
    priced_coverage: float | None
    """Share of tokens with a known price."""
    days: int
    """The window in local calendar days (0 = all time)."""
    start: datetime | None
    """First instant of the window; ``None`` for all time."""
    exported_at: datetime
    """When the export was made (UTC)."""
    project: str | None
    """The project exported; ``None`` for all projects."""


class ExportSession(TokenUsageReport):
    """A session's report as stored, plus where it belongs in the ledger."""

    project: str
    """The ledger's project (git root, else resolved path)."""
    note: str | None = None
    """The note of a manual entry."""
    reported_cost_usd: float | None = None
    """The cost the source itself logged (Claude Code's ``costUSD``), beside the computed total;
    ``None`` when it logged none."""


class ExportDocument(DeferredModel):
    """The JSON export (``tokens export --format json``)."""

    summary: ExportSummary
    """Headline totals."""
    daily: dict[str, GroupTotals] = Field(default_factory=dict)
    """Per local day (``YYYY-MM-DD``), oldest first."""
    weekly: dict[str, GroupTotals] = Field(default_factory=dict)
    """Per week, keyed by its Monday."""
    monthly: dict[str, GroupTotals] = Field(default_factory=dict)
    """Per month (``YYYY-MM``)."""
    by_branch: dict[str, GroupTotals] = Field(default_factory=dict)
    """Per git branch (``(none)`` outside a branch)."""
    by_model: dict[str, GroupTotals] = Field(default_factory=dict)
    """Per model."""
    sessions: list[ExportSession] = Field(default_factory=list)
    """Every exported session with its agent runs, oldest first."""


def _group(row: TrendRow) -> GroupTotals:
    return GroupTotals(
        sessions=row.sessions,
        tokens=row.total_tokens,
        prompt_tokens=row.prompt_tokens,
        completion_tokens=row.completion_tokens,
        requests=row.requests,
        estimated_cost=row.cost_usd,
    )


def _cell(value: int | float | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return _neutralise(value)
    return str(value)


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _neutralise(text: str) -> str:
    """Return ``text`` as a CSV cell no spreadsheet runs as a formula: a text starting with
    ``=``, ``+``, ``-``, ``@``, tab or CR gets a leading ``'`` (as OWASP recommends)."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_row(run: AgentRunRow) -> dict[str, str]:
    """Return one agent run as a CSV record keyed by ``CSV_COLUMNS``."""
    return {
        "timestamp": run.timestamp.astimezone().strftime(CSV_TIME_FORMAT),
        "branch": _cell(run.branch),
        "tokens": _cell(run.total_tokens),
        "estimated_cost": _cell(run.cost_usd),
        "notes": _cell(run.note),
        "project": _cell(run.project),
        "command": _cell(run.command),
        "agent": _cell(run.agent),
        "model": _cell(run.model),
        "prompt_tokens": _cell(run.prompt_tokens),
        "completion_tokens": _cell(run.completion_tokens),
        "cached_tokens": _cell(run.cached_tokens),
        "cache_write_tokens": _cell(run.cache_write_tokens),
        "reasoning_tokens": _cell(run.reasoning_tokens),
        "requests": _cell(run.requests),
        "source": _cell(run.source),
        "reported_cost_usd": _cell(run.reported_cost_usd),
    }


def export_csv(
    ledger: Ledger,
    *,
    days: int = 0,
    project: str | None = None,
    now: datetime | None = None,
    sources: tuple[str, ...] = (),
) -> str:
    """Return the CSV of the sessions that started in the last ``days`` local days (0 = all),
    of ``sources`` only when given."""
    start = window_start(days, now=now)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for run in ledger.agent_runs(project=project, start=start, sources=sources):
        writer.writerow(csv_row(run))
    return buffer.getvalue()


def export_document(
    ledger: Ledger,
    *,
    days: int = 0,
    project: str | None = None,
    now: datetime | None = None,
    sources: tuple[str, ...] = (),
) -> ExportDocument:
    """Return the JSON export of the last ``days`` local days (0 = all time), of ``sources``
    only when given."""
    moment = now if now is not None else utc_now()
    start = window_start(days, now=moment)
    filters = Filters(project=project, start=start, include_offline=True, sources=sources)
    stored = ledger.stored_sessions(project=project, start=start, sources=sources)
    reported = ledger.reported_costs()
    totals = ledger.window_totals(filters)
    day_rows = periods(ledger, filters, "day")
    return ExportDocument(
        summary=ExportSummary(
            total_cost=totals.cost_usd,
            total_tokens=totals.total_tokens,
            total_sessions=len(stored),
            priced_coverage=totals.priced_coverage,
            days=days,
            start=start,
            exported_at=moment,
            project=project,
        ),
        daily={row.key: _group(row) for row in day_rows},
        weekly={row.key: _group(row) for row in periods(ledger, filters, "week")},
        monthly={row.key: _group(row) for row in periods(ledger, filters, "month")},
        by_branch={row.key: _group(row) for row in breakdown(ledger, filters, "branch")},
        by_model={row.key: _group(row) for row in breakdown(ledger, filters, "model")},
        sessions=[
            ExportSession(
                **report.model_dump(),
                project=summary.project,
                note=summary.note,
                reported_cost_usd=reported.get(summary.session_id),
            )
            for summary, report in stored
        ],
    )


__all__ = [
    "CSV_COLUMNS",
    "CSV_TIME_FORMAT",
    "NO_VALUE",
    "ExportDocument",
    "ExportFormat",
    "ExportSession",
    "ExportSummary",
    "GroupTotals",
    "csv_row",
    "export_csv",
    "export_document",
]
