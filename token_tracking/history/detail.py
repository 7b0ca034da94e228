"""A session's usage per interval: the model of ``tokens sessions --session-id``.

Every interval of ``TOKEN_INTERVAL_MINUTES`` from the session's start to its end is listed,
empty ones included; the last one is partial when the session ended inside it. A request belongs
to the interval its timestamp falls in. An interval's cost is exact: ``None`` when a request in it
has no price (:func:`~token_tracking.counts.sum_exact`), and so is the TOTAL row's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from token_tracking.counts import sum_exact
from token_tracking.history.models import SessionDetail, SessionSummary
from token_tracking.records import IntervalUsage, RequestUsage


def split_intervals(
    session: SessionSummary, rows: Sequence[tuple[RequestUsage, bool]], minutes: float
) -> tuple[list[IntervalUsage], list[bool | None]]:
    """Return the session's ``minutes``-long intervals holding ``rows``, and for each interval
    whether a row in it knew its request count (``None``: the interval has no rows).

    ``rows`` are the session's requests in time order, each with whether its count is known.
    """
    length = timedelta(minutes=minutes)
    span = session.end_time - session.start_time
    last_ts = max((row.timestamp for row, _ in rows), default=session.end_time)
    span = max(span, last_ts - session.start_time)
    count = max(1, -(-span // length)) if span > timedelta(0) else 1
    intervals = [
        IntervalUsage(
            index=index + 1,
            start=session.start_time + index * length,
            duration_seconds=min(length, span - index * length).total_seconds()
            if span > timedelta(0)
            else 0.0,
            cost_usd=0.0,
        )
        for index in range(count)
    ]
    known: list[bool | None] = [None] * count
    for row, row_known in rows:
        offset = row.timestamp - session.start_time
        index = min(count - 1, max(0, offset // length))
        known[index] = known[index] is True or row_known
        interval = intervals[index]
        interval.prompt_tokens += row.prompt_tokens if row.prompt_tokens is not None else 0
        completion = row.completion_tokens if row.completion_tokens is not None else 0
        interval.completion_tokens += completion
        interval.total_tokens = interval.prompt_tokens + interval.completion_tokens
        interval.requests += row.requests
        interval.cost_usd = sum_exact((interval.cost_usd, row.cost_usd))
    return intervals, known


def session_detail(
    session: SessionSummary, rows: Sequence[tuple[RequestUsage, bool]], minutes: float
) -> SessionDetail:
    """Return ``session`` with its intervals (see :func:`split_intervals`) and their TOTAL row."""
    intervals, known = split_intervals(session, rows, minutes)
    total = IntervalUsage(
        index=0,
        start=session.start_time,
        duration_seconds=sum(interval.duration_seconds for interval in intervals),
        prompt_tokens=sum(interval.prompt_tokens for interval in intervals),
        completion_tokens=sum(interval.completion_tokens for interval in intervals),
        total_tokens=sum(interval.total_tokens for interval in intervals),
        cost_usd=sum_exact(interval.cost_usd for interval in intervals),
        requests=sum(interval.requests for interval in intervals),
    )
    # An interval whose rows all lack a request count holds 0 in ``requests`` (the
    # persisted interval model has no unknown); list it so that tables show it as unknown.
    unknown = [
        interval.index
        for interval, known_here in zip(intervals, known, strict=True)
        if known_here is False
    ]
    if False in known and True not in known:
        unknown.insert(0, 0)
    return SessionDetail(
        session=session,
        interval_minutes=minutes,
        intervals=intervals,
        total=total,
        unknown_requests=unknown,
    )
