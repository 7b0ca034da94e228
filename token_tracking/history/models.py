"""What the ledger's queries take and return: filters, sessions, sums, buckets and export rows.

A count or cost that is not known is ``None``, never 0. Sums over several sets of rows follow
:mod:`token_tracking.counts`: a total over rows of which some lack a figure is the sum of the
known ones (:func:`~token_tracking.counts.sum_known`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from token_tracking.counts import sum_known
from token_tracking.history.clock import US_PER_SECOND, from_us, to_us
from token_tracking.records import DeferredModel, IntervalUsage

GroupColumn = Literal[
    "branch",
    "model",
    "agent",
    "command",
    "user",
    "project",
    "source",
    "attributed_commit",
    "machine",
]
"""A column the ledger's rows can be grouped by."""


@dataclass(frozen=True)
class Filters:
    """Which rows a query reads."""

    project: str | None = None
    """Only this project (``None``: all projects)."""
    start: datetime | None = None
    """Rows at or after this time (``None``: from the first)."""
    end: datetime | None = None
    """Rows before this time (``None``: up to the last)."""
    include_offline: bool = False
    """Count rows of the offline engine too."""
    sources: tuple[str, ...] = ()
    """Only rows of these sources (``llm``, ``manual``, ``claude-code`` …); empty: every source."""
    commit: str | None = None
    """Only rows a post-commit hook attributed to this commit (a hash or a prefix of one)."""
    user: str | None = None
    """Only rows recorded by this user (``TOKEN_TRACKING_USER``, else the OS user, at the time)."""

    def where(self) -> tuple[str, list[Any]]:
        """Return the SQL condition on ``usage_rows`` and its parameters for these filters."""
        clauses: list[str] = ["1 = 1"]
        params: list[Any] = []
        context: list[str] = []
        if self.project is not None:
            context.append("project = ?")
            params.append(self.project)
        if not self.include_offline:
            context.append("source != 'offline'")
        if self.sources:
            context.append(f"source IN ({', '.join('?' * len(self.sources))})")
            params.extend(self.sources)
        if self.user is not None:
            context.append("user = ?")
            params.append(self.user)
        if context:
            clauses.append(f"context_id IN (SELECT id FROM contexts WHERE {' AND '.join(context)})")
        if self.start is not None:
            clauses.append("ts_us >= ?")
            params.append(to_us(self.start))
        if self.end is not None:
            clauses.append("ts_us < ?")
            params.append(to_us(self.end))
        if self.commit is not None:
            clauses.append("attributed_commit LIKE ? ESCAPE '\\'")
            params.append(_like_prefix(self.commit))
        return " AND ".join(clauses), params


def _like_prefix(text: str) -> str:
    """A LIKE pattern matching values that start with ``text``."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class SessionSummary(DeferredModel):
    """One ledger session as lists and queries show it."""

    session_id: str
    """The session's UUID."""
    project: str
    """The project: its git root, else its resolved path."""
    project_remote: str | None = None
    """URL of the project's ``origin`` remote, when known."""
    command: str
    """``init``, ``update``, ``refresh``, ``manual`` or an app's own command name."""
    model: str | None = None
    """The session's model."""
    source: str
    """``llm``, ``offline``, ``manual`` or ``import``."""
    status: str
    """The session's outcome."""
    start_time: datetime
    """Session start (UTC)."""
    end_time: datetime
    """Session end (UTC)."""
    duration_seconds: float
    """Wall time of the session, in seconds."""
    branch: str | None = None
    """Git branch the session ran on."""
    commit: str | None = None
    """Git commit the session ran on."""
    user: str | None = None
    """The git user e-mail of whoever ran it."""
    prompt_tokens: int | None = None
    """All input tokens (cache reads and writes included); ``None`` when every count is
    unknown, a lower bound when ``unknown_usage_requests`` > 0."""
    completion_tokens: int | None = None
    """All output tokens (reasoning included); unknown and lower bound as ``prompt_tokens``."""
    total_tokens: int | None = None
    """``prompt_tokens + completion_tokens``; unknown and lower bound as ``prompt_tokens``."""
    cached_tokens: int | None = None
    """Cached input tokens; ``None`` when unknown."""
    requests: int | None = None
    """LLM requests; ``None`` when unknown."""
    cost_usd: float | None = None
    """Cost in USD; ``None`` when unknown, a lower bound when ``priced_coverage`` < 1."""
    priced_coverage: float | None = None
    """Share of tokens with a known price."""
    note: str | None = None
    """The note of a manual entry."""
    unknown_usage_requests: int = 0
    """Requests whose provider returned no usage; the token totals are lower bounds when > 0."""


class SessionDetail(DeferredModel):
    """A session with its usage per interval: the model of ``tokens sessions --session-id``."""

    session: SessionSummary
    """The session."""
    interval_minutes: float
    """Interval length (``TOKEN_INTERVAL_MINUTES``)."""
    intervals: list[IntervalUsage]
    """Every interval from start to end; the last may be partial."""
    total: IntervalUsage
    """The TOTAL row: index 0, the session's start, the sum of the intervals."""
    unknown_requests: list[int] = Field(default_factory=list)
    """Intervals (by ``index``; 0 is the TOTAL row) with usage but no known request count: their
    ``requests`` is 0 because nothing was counted, not because no request was made."""


class UsageTotals(DeferredModel):
    """Sums over a set of ledger rows."""

    sessions: int = 0
    """Distinct sessions with rows in the set."""
    requests: int = 0
    """LLM requests of the rows that know their count (a lower bound for limits)."""
    requests_known: bool = True
    """False when there are rows but none knew its request count: :attr:`known_requests` is then
    ``None``. No rows at all is a known zero."""
    prompt_tokens: int = 0
    """Input tokens."""
    completion_tokens: int = 0
    """Output tokens."""
    cached_tokens: int | None = 0
    """Cached input tokens; ``None`` when there are rows but none reported them."""
    total_tokens: int = 0
    """``prompt + completion`` tokens."""
    cost_usd: float | None = None
    """Cost of the priced rows; ``None`` when no row has a price."""
    priced_tokens: int = 0
    """Tokens of the rows with a known cost."""
    counted_tokens: int = 0
    """Tokens of the rows that know their request count (what per-request averages divide)."""

    @property
    def known_requests(self) -> int | None:
        """LLM requests; ``None`` when no row knew its request count (unknown, not zero)."""
        return self.requests if self.requests_known else None

    @property
    def priced_coverage(self) -> float | None:
        """Share of tokens with a known cost; ``None`` when there are no tokens."""
        if self.total_tokens == 0:
            return None
        return self.priced_tokens / self.total_tokens


@dataclass(frozen=True, slots=True)
class Bucket:
    """Sums of one session's rows within one 15-minute UTC bucket (see ``Ledger.buckets``).

    A plain slotted dataclass: a year of busy history is tens of thousands of these.
    """

    number: int
    """The bucket: 15-minute periods since the Unix epoch."""
    session_pk: int
    """Internal id of the session."""
    context_id: int
    """Internal id of the session's context (project, branch, user, command, source)."""
    requests: int | None
    """LLM requests; ``None`` when no row knew its count."""
    prompt_tokens: int
    """Input tokens."""
    completion_tokens: int
    """Output tokens."""
    cached_tokens: int | None
    """Cached input tokens; ``None`` when no row reported them."""
    total_tokens: int
    """``prompt + completion`` tokens."""
    cost_usd: float | None
    """Cost of the priced rows; ``None`` when none has a price."""
    priced_tokens: int
    """Tokens of the rows with a known cost."""

    @property
    def start(self) -> datetime:
        """UTC start of the bucket."""
        return from_us(self.number * BUCKET_US)


BUCKET_US = 900 * US_PER_SECOND
"""Length of a bucket: 15 minutes, in microseconds."""


class AgentRunRow(DeferredModel):
    """One agent run with its session's context: the export grain."""

    session_id: str
    """The session's UUID."""
    timestamp: datetime
    """When the agent run started (UTC); the session start when unknown."""
    project: str
    """The project."""
    branch: str | None = None
    """Git branch."""
    command: str
    """The session's command."""
    agent: str | None = None
    """The agent's name; ``None`` for a session without agent runs."""
    model: str | None = None
    """The agent's model."""
    prompt_tokens: int | None = None
    """Input tokens."""
    completion_tokens: int | None = None
    """Output tokens."""
    cached_tokens: int | None = None
    """Cached input tokens."""
    cache_write_tokens: int | None = None
    """Cache-write input tokens."""
    reasoning_tokens: int | None = None
    """Reasoning output tokens."""
    total_tokens: int | None = None
    """``prompt + completion``."""
    requests: int | None = None
    """LLM requests."""
    cost_usd: float | None = None
    """Cost in USD; ``None`` when unknown."""
    source: str
    """The session's source."""
    note: str | None = None
    """The session's note, or the agent's error."""
    reported_cost_usd: float | None = None
    """The cost the source itself logged (Claude Code's ``costUSD``), beside the computed
    ``cost_usd``; ``None`` when it logged none."""


class PruneResult(DeferredModel):
    """What ``prune`` removed, or would remove."""

    cutoff: datetime
    """Sessions that ended before this time (UTC) are removed."""
    sessions: int
    """Sessions removed (or that would be)."""
    agent_runs: int
    """Agent runs removed."""
    usage_rows: int
    """Request rows removed."""
    dry_run: bool
    """True when nothing was removed."""


class ModelUsage(DeferredModel):
    """Token sums of one model over a window (the input of "same usage on another model")."""

    agent: str | None = None
    """The agent, for per-(agent, model) sums; ``None`` in per-model sums."""
    model: str | None
    """The model; ``None`` for rows with no model."""
    prompt_tokens: int
    """Input tokens."""
    completion_tokens: int
    """Output tokens."""
    cached_tokens: int | None
    """Cached input tokens; ``None`` when never reported."""
    cache_write_tokens: int | None
    """Cache-write input tokens; ``None`` when never reported."""
    reasoning_tokens: int | None
    """Reasoning output tokens; ``None`` when never reported."""
    cost_usd: float | None
    """Recorded cost of the priced rows."""
    unpriced_rows: int
    """Rows of this model with no known cost."""


def merge_totals(parts: Iterable[UsageTotals]) -> UsageTotals:
    """Return the sums of disjoint sets of rows: an unknown cost or cached count beside known
    ones adds nothing (:func:`~token_tracking.counts.sum_known`).

    Sessions add up exactly only when no session has rows in two of the sets.
    """
    items = list(parts)
    return UsageTotals(
        sessions=sum(part.sessions for part in items),
        requests=sum(part.requests for part in items),
        requests_known=any(part.requests_known for part in items),
        prompt_tokens=sum(part.prompt_tokens for part in items),
        completion_tokens=sum(part.completion_tokens for part in items),
        cached_tokens=sum_known(part.cached_tokens for part in items),
        total_tokens=sum(part.total_tokens for part in items),
        cost_usd=sum_known(part.cost_usd for part in items),
        priced_tokens=sum(part.priced_tokens for part in items),
        counted_tokens=sum(part.counted_tokens for part in items),
    )


def usage_by_model(pairs: Iterable[ModelUsage]) -> list[ModelUsage]:
    """Merge per-(agent, model) sums into per-model sums (``agent`` ``None``), in first-seen order.

    A figure unknown for some pairs is the sum of the known ones
    (:func:`~token_tracking.counts.sum_known`).
    """
    groups: dict[str | None, list[ModelUsage]] = {}
    for usage in pairs:
        groups.setdefault(usage.model, []).append(usage)
    return [
        ModelUsage(
            agent=None,
            model=model,
            prompt_tokens=sum(usage.prompt_tokens for usage in group),
            completion_tokens=sum(usage.completion_tokens for usage in group),
            cached_tokens=sum_known(usage.cached_tokens for usage in group),
            cache_write_tokens=sum_known(usage.cache_write_tokens for usage in group),
            reasoning_tokens=sum_known(usage.reasoning_tokens for usage in group),
            cost_usd=sum_known(usage.cost_usd for usage in group),
            unpriced_rows=sum(usage.unpriced_rows for usage in group),
        )
        for model, group in groups.items()
    ]
