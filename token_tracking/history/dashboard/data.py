"""The dashboard's figures, read from the ledger: the model ``tokens dashboard --json`` prints.

:func:`collect_dashboard_data` reads the ledger into a :class:`DashboardData`; the figures come
from :mod:`token_tracking.history.trends` and :mod:`token_tracking.history.limits`, so they equal
``tokens trends`` and ``tokens limits`` over the same window.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Literal

from pydantic import Field

from token_tracking.errors import DashboardError
from token_tracking.history.clock import MAX_DAYS, utc_now
from token_tracking.history.ledger import Ledger
from token_tracking.history.limits import LimitsReport, limits_status
from token_tracking.history.models import Filters, GroupColumn
from token_tracking.history.trends import (
    Insights,
    TrendRow,
    breakdown,
    compute_trends,
    daily_series,
)
from token_tracking.records import DeferredModel
from token_tracking.settings import load_settings


class DashboardSummary(DeferredModel):
    """The figures of the summary cards, over the dashboard's window."""

    sessions: int
    """Sessions in the window."""
    total_tokens: int
    """Prompt plus completion tokens of those sessions."""
    prompt_tokens: int
    """All input tokens, cache reads and writes included."""
    completion_tokens: int
    """All output tokens, reasoning included."""
    cached_tokens: int | None = None
    """The part of the prompt tokens read from a prompt cache; ``None`` when no session said."""
    requests: int | None = None
    """LLM requests; ``None`` when no session recorded them."""
    cost_usd: float | None = None
    """Total cost in USD; ``None`` when nothing could be priced."""
    cost_is_lower_bound: bool = False
    """True when some sessions have an unknown cost, so ``cost_usd`` is a lower bound."""
    average_tokens_per_day: float = 0.0
    """Tokens per calendar day of the window (or since the first record, if later)."""
    projected_monthly_cost_usd: float | None = None
    """Average cost per calendar day times 30; ``None`` when the cost is unknown."""


class DailyUsage(DeferredModel):
    """One local calendar day of the window (days without sessions are zero)."""

    day: date
    """The local calendar day."""
    sessions: int = 0
    """Sessions that ended that day."""
    prompt_tokens: int = 0
    """Input tokens, cache reads and writes included."""
    completion_tokens: int = 0
    """Output tokens, reasoning included."""
    cached_tokens: int | None = None
    """Cache-read input tokens; ``None`` when no session of the day reported them."""
    total_tokens: int = 0
    """Prompt plus completion tokens."""
    cost_usd: float | None = 0.0
    """Cost in USD; ``None`` when every session of the day has an unknown cost."""


class GroupUsage(DeferredModel):
    """Usage of one branch, model or agent over the window."""

    name: str
    """The branch, model or agent name; ``(none)`` when unknown (no git, no model recorded)."""
    sessions: int
    """Sessions the group appears in."""
    total_tokens: int
    """Prompt plus completion tokens."""
    cost_usd: float | None
    """Cost in USD; ``None`` when no row of the group could be priced."""


class SessionRow(DeferredModel):
    """One row of the most-expensive-sessions table."""

    session_id: str
    """The session's id."""
    end_time: datetime
    """When the session ended."""
    project_path: str
    """The project the session ran in."""
    branch: str | None = None
    """The git branch, when known."""
    command: str
    """``init``, ``update``, ``refresh``, ``manual`` or an app's own command."""
    model: str | None = None
    """The session's model."""
    source: str
    """``llm``, ``offline``, ``manual`` or ``import``."""
    status: str
    """The session's outcome."""
    total_tokens: int | None
    """Prompt plus completion tokens; ``None`` when every count is unknown."""
    cost_usd: float | None = None
    """Cost in USD; ``None`` when unknown."""
    note: str | None = None
    """The note of a manual entry."""


class DashboardData(DeferredModel):
    """Everything the dashboard shows; ``--json`` prints this model."""

    generated_at: datetime
    """When the data was read (local time, with offset)."""
    project: str | None
    """The project the figures belong to; ``None`` for all projects."""
    days: int
    """The window in local calendar days including today; 0 means all history."""
    include_offline: bool
    """Whether offline-engine sessions are counted."""
    first_day: date | None = None
    """First day of the charted window; ``None`` when there is no data."""
    last_day: date | None = None
    """Last day of the charted window (today)."""
    summary: DashboardSummary
    """The summary cards."""
    insights: Insights | None = None
    """Peak day, most active branch, week-over-week: the insights of ``tokens trends``."""
    daily: list[DailyUsage] = Field(default_factory=list)
    """One entry per local calendar day from ``first_day`` to ``last_day``."""
    by_branch: list[GroupUsage] = Field(default_factory=list)
    """Usage per git branch, most tokens first."""
    by_model: list[GroupUsage] = Field(default_factory=list)
    """Usage per model, most tokens first."""
    by_agent: list[GroupUsage] = Field(default_factory=list)
    """Usage per agent (or operation), most tokens first."""
    by_people: Literal["user", "machine"] | None = None
    """The extra breakdown asked for (``--by user`` or ``--by machine``), if any."""
    by_people_groups: list[GroupUsage] = Field(default_factory=list)
    """Usage per user or machine that recorded it, most tokens first (with ``by_people``)."""
    limits: LimitsReport | None = None
    """Configured limits against their rolling windows, as ``tokens limits`` shows them (limits
    are per user: all projects, whatever the dashboard's window)."""
    top_sessions: list[SessionRow] = Field(default_factory=list)
    """The most expensive sessions of the window, most expensive first."""

    @property
    def is_empty(self) -> bool:
        """True when the window holds no session, so there is nothing to chart."""
        return self.summary.sessions == 0


TOP_SESSIONS = 10
"""How many sessions the most-expensive table lists."""


def check_days(days: int) -> None:
    """Raise :class:`DashboardError` unless ``days`` is a window the ledger can be read over.

    A window reaching before year 1 cannot be computed, so the error comes before any work.
    """
    if days < 0:
        raise DashboardError(f"--days must be 0 (all history) or more, not {days}")
    if days > MAX_DAYS:
        raise DashboardError(
            f"--days must be at most {MAX_DAYS:,} (use 0 for all history), not {days:,}"
        )


def collect_dashboard_data(
    ledger: Ledger,
    *,
    days: int,
    project: str | None,
    include_offline: bool = False,
    now: datetime | None = None,
    environ: Mapping[str, str] | None = None,
    sources: tuple[str, ...] = (),
    by: Literal["user", "machine"] | None = None,
) -> DashboardData:
    """Read the ledger into the dashboard's model.

    ``days`` is the window in local calendar days including today (0 = all history); ``project``
    is a ledger project key (``None`` = all projects). Offline-engine sessions are left out
    unless ``include_offline``; ``sources``, when given, keeps only those; ``by`` adds usage per
    user or per machine (who recorded each row, and where). The figures come
    from :mod:`token_tracking.history.trends`, so they
    equal ``tokens trends`` over the same window.

    Limits come from ``environ`` (default ``os.environ``), as ``tokens limits`` reads them.

    Raises:
        DashboardError: ``days`` is negative or above :data:`MAX_DAYS`.
        SettingError: a limit or threshold variable holds an unusable value.
        LedgerError: the ledger cannot be read.
    """
    check_days(days)
    moment = now if now is not None else utc_now()
    # Read first: a bad limit setting is an error naming the variable, before any work.
    settings = load_settings(environ)
    trends = compute_trends(
        ledger,
        days=days,
        by="day",
        project=project,
        include_offline=include_offline,
        now=moment,
        sources=sources,
    )
    filters = Filters(
        project=project, start=trends.start, include_offline=include_offline, sources=sources
    )
    totals = trends.totals
    daily = daily_series(ledger, filters, now=moment) if totals.sessions else []
    insights = trends.insights
    summary = DashboardSummary(
        sessions=totals.sessions,
        total_tokens=totals.total_tokens,
        prompt_tokens=totals.prompt_tokens,
        completion_tokens=totals.completion_tokens,
        cached_tokens=totals.cached_tokens,
        requests=totals.requests,
        cost_usd=totals.cost_usd,
        cost_is_lower_bound=totals.cost_usd is not None
        and totals.priced_coverage is not None
        and totals.priced_coverage < 1,
        average_tokens_per_day=insights.average_tokens_per_day
        if insights.average_tokens_per_day is not None
        else 0.0,
        projected_monthly_cost_usd=insights.projected_monthly_cost,
    )
    return DashboardData(
        generated_at=moment.astimezone(),
        project=project,
        days=days,
        include_offline=include_offline,
        first_day=date.fromisoformat(daily[0].key) if daily else None,
        last_day=date.fromisoformat(daily[-1].key) if daily else None,
        summary=summary,
        insights=insights if totals.sessions else None,
        daily=[_day(row) for row in daily],
        by_branch=_groups(ledger, filters, "branch"),
        by_model=_groups(ledger, filters, "model"),
        by_agent=_groups(ledger, filters, "agent"),
        by_people=by,
        by_people_groups=_groups(ledger, filters, by) if by is not None else [],
        limits=limits_status(ledger, settings, now=moment),
        top_sessions=_top_sessions(ledger, filters) if totals.sessions else [],
    )


def _day(row: TrendRow) -> DailyUsage:
    return DailyUsage(
        day=date.fromisoformat(row.key),
        sessions=row.sessions,
        prompt_tokens=row.prompt_tokens,
        completion_tokens=row.completion_tokens,
        cached_tokens=row.cached_tokens,
        total_tokens=row.total_tokens,
        # A day without sessions cost nothing; a day with sessions but no price is unknown.
        cost_usd=0.0 if row.sessions == 0 else row.cost_usd,
    )


def _groups(ledger: Ledger, filters: Filters, column: GroupColumn) -> list[GroupUsage]:
    return [
        GroupUsage(
            name=row.key,
            sessions=row.sessions,
            total_tokens=row.total_tokens,
            cost_usd=row.cost_usd,
        )
        for row in breakdown(ledger, filters, column)
    ]


def _top_sessions(ledger: Ledger, filters: Filters) -> list[SessionRow]:
    sessions = ledger.sessions(
        project=filters.project,
        limit=TOP_SESSIONS,
        start=filters.start,
        include_offline=filters.include_offline,
        order_by="cost",
        sources=filters.sources,
    )
    return [
        SessionRow(
            session_id=session.session_id,
            end_time=session.end_time,
            project_path=session.project,
            branch=session.branch,
            command=session.command,
            model=session.model,
            source=session.source,
            status=session.status,
            total_tokens=session.total_tokens,
            cost_usd=session.cost_usd,
            note=session.note,
        )
        for session in sessions
    ]
