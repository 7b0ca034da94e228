"""Usage statistics of ``tokens stats``: the last 60 minutes, the last 24 hours, or one session.

The windows are rolling (they end now); offline rows are left out unless asked for. A session's
figures are the sums of its request rows. Tokens per request divide only the tokens of rows that
know their request count: a manual entry (``tokens add``) has tokens but no request count.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal, get_args

from token_tracking.errors import LedgerError
from token_tracking.history.clock import utc_now
from token_tracking.history.ledger import Ledger
from token_tracking.history.models import Filters, UsageTotals
from token_tracking.records import DeferredModel

StatsPeriod = Literal["hourly", "daily", "session"]
"""What ``tokens stats --period`` summarizes."""

STATS_PERIODS: tuple[StatsPeriod, ...] = get_args(StatsPeriod)
"""Every accepted ``--period`` value."""


class UsageStats(DeferredModel):
    """The table of ``tokens stats``: the last hour, the last 24 hours, or one session."""

    period: StatsPeriod
    """``hourly`` (last 60 minutes), ``daily`` (last 24 hours) or ``session``."""
    title: str
    """What the figures cover, in words."""
    session_id: str | None = None
    """The session, for ``session``."""
    project: str | None = None
    """The project read; ``None`` for all projects."""
    sessions: int
    """Sessions with usage in the period."""
    requests: int | None
    """LLM requests of the rows that know their count; ``None`` when no row did."""
    prompt_tokens: int
    """Input tokens."""
    completion_tokens: int
    """Output tokens."""
    cached_tokens: int | None
    """Cached input tokens of the rows that report them; ``None`` when no row did."""
    total_tokens: int
    """Total tokens."""
    cost_usd: float | None
    """Cost in USD; ``None`` when nothing was priced."""
    priced_coverage: float | None
    """Share of tokens with a known price."""
    average_tokens_per_request: float | None
    """Tokens per request over the rows that know their request count (a manual entry does not);
    ``None`` without a known, non-zero request count."""
    include_offline: bool = False
    """Whether the offline engine's rows are counted (a session's figures always count its own)."""


def usage_stats(
    ledger: Ledger,
    period: StatsPeriod,
    *,
    project: str | None = None,
    session_id: str | None = None,
    include_offline: bool = False,
    now: datetime | None = None,
    sources: tuple[str, ...] = (),
    user: str | None = None,
) -> UsageStats:
    """Return the usage of the last hour, the last 24 hours, or one session.

    With ``session_id`` (a prefix is enough) the figures are that session's, whatever ``period``
    says; ``session`` without an id means the project's latest session (of ``sources``, when
    given: the windows then count only rows of those sources; of ``user``, when given: only the
    rows that user recorded).

    Raises:
        SessionNotFoundError: the session is unknown.
        LedgerError: ``session`` without an id, and the ledger has no session in scope.
    """
    moment = now if now is not None else utc_now()
    if session_id is not None or period == "session":
        if session_id is not None:
            session = ledger.find_session(session_id)
        else:
            latest = ledger.sessions(project=project, limit=1, sources=sources, user=user)
            if not latest:
                scope = "any project" if project is None else f"project {project}"
                raise LedgerError(f"no session in the ledger for {scope} yet")
            session = latest[0]
        totals = ledger.session_totals(session.session_id)
        title = f"Session {session.session_id}"
        return _stats("session", title, totals, session_id=session.session_id, project=project)
    window = timedelta(hours=1) if period == "hourly" else timedelta(days=1)
    filters = Filters(
        project=project,
        start=moment - window,
        include_offline=include_offline,
        sources=sources,
        user=user,
    )
    title = "Last 60 minutes" if period == "hourly" else "Last 24 hours"
    return _stats(
        period,
        title,
        ledger.window_totals(filters),
        project=project,
        include_offline=include_offline,
    )


def _stats(
    period: StatsPeriod,
    title: str,
    totals: UsageTotals,
    *,
    session_id: str | None = None,
    project: str | None = None,
    include_offline: bool = False,
) -> UsageStats:
    requests = totals.known_requests
    return UsageStats(
        period=period,
        title=title,
        session_id=session_id,
        project=project,
        sessions=totals.sessions,
        requests=requests,
        prompt_tokens=totals.prompt_tokens,
        completion_tokens=totals.completion_tokens,
        cached_tokens=totals.cached_tokens,
        total_tokens=totals.total_tokens,
        cost_usd=totals.cost_usd,
        priced_coverage=totals.priced_coverage,
        average_tokens_per_request=totals.counted_tokens / requests
        if requests is not None and requests > 0
        else None,
        include_offline=include_offline,
    )
