"""Usage per fixed interval (``TOKEN_INTERVAL_MINUTES``) of a session: the live line printed when
an interval ends, and the intervals stored in the report.

A request belongs to the interval in which its response arrived. Boundaries are checked when a
request is recorded and whenever the caller asks (``TokenTracker.check_intervals``), so there is
no timer thread: the cost is one comparison per request.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from token_tracking import display
from token_tracking.records import IntervalUsage, RequestUsage


@dataclass
class _Bucket:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    cost_known: bool = True
    requests: int = 0


def format_minutes(minutes: float) -> str:
    """Return ``minutes`` the way the interval line writes it: ``5``, ``0.5``, ``12.5``."""
    return f"{round(minutes, 6):g}"


def format_interval_line(interval: IntervalUsage, minutes: float) -> str:
    """Return the live line for a finished interval.

    ``[+5min] Interval 1: 12,345 tokens (8,000 in, 4,345 out) | Cost: $0.0123 | 7 requests``
    """
    elapsed = format_minutes(interval.index * minutes)
    return (
        f"[+{elapsed}min] Interval {interval.index}: {display.tokens(interval.total_tokens)} "
        f"tokens ({display.tokens(interval.prompt_tokens)} in, "
        f"{display.tokens(interval.completion_tokens)} out) | "
        f"Cost: {display.usd(interval.cost_usd)} | {display.plural(interval.requests, 'request')}"
    )


class IntervalTracker:
    """Sums requests into intervals of ``minutes`` starting at ``start``. Not thread-safe by
    itself: the collector calls it under its lock."""

    def __init__(self, start: datetime, minutes: float) -> None:
        self.start = start
        self.minutes = minutes
        self.length = timedelta(minutes=minutes)
        self._buckets: dict[int, _Bucket] = {}
        self._announced = 0

    def index_at(self, moment: datetime) -> int:
        """Return the 1-based index of the interval containing ``moment`` (1 before the start)."""
        elapsed = (moment - self.start) / self.length
        return max(1, math.floor(elapsed) + 1)

    def add(self, usage: RequestUsage) -> None:
        """Count ``usage`` in the interval of its timestamp. Unknown counts add nothing; an
        unknown cost makes that interval's cost unknown."""
        bucket = self._buckets.setdefault(self.index_at(usage.timestamp), _Bucket())
        if usage.prompt_tokens is not None:
            bucket.prompt_tokens += usage.prompt_tokens
        if usage.completion_tokens is not None:
            bucket.completion_tokens += usage.completion_tokens
        if usage.cost_usd is None:
            bucket.cost_known = False
        else:
            bucket.cost_usd += usage.cost_usd
        bucket.requests += usage.requests

    def _interval(self, index: int, end: datetime) -> IntervalUsage:
        start = self.start + self.length * (index - 1)
        duration = min(self.length, max(end - start, timedelta(0)))
        bucket = self._buckets.get(index, _Bucket())
        return IntervalUsage(
            index=index,
            start=start,
            duration_seconds=duration.total_seconds(),
            prompt_tokens=bucket.prompt_tokens,
            completion_tokens=bucket.completion_tokens,
            total_tokens=bucket.prompt_tokens + bucket.completion_tokens,
            cost_usd=bucket.cost_usd if bucket.cost_known else None,
            requests=bucket.requests,
        )

    def newly_completed(self, now: datetime) -> list[IntervalUsage]:
        """Return the intervals that ended by ``now`` and were not returned before (each once)."""
        completed = self.index_at(now) - 1
        fresh = [
            self._interval(index, self.start + self.length * index)
            for index in range(self._announced + 1, completed + 1)
        ]
        self._announced = max(self._announced, completed)
        return fresh

    def intervals(self, end: datetime) -> list[IntervalUsage]:
        """Return every interval from the start to ``end``; the last one may be partial."""
        elapsed = (end - self.start) / self.length
        count = max(1, math.ceil(elapsed), *self._buckets.keys())
        return [self._interval(index, end) for index in range(1, count + 1)]
