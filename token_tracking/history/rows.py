"""How a finished session becomes ledger rows, and how query rows read back as models.

Three tables hold a session at three grains:

- ``sessions``: one row per finished session, with its totals and the report as JSON;
- ``agent_runs``: one row per agent run of the session (the export grain);
- ``usage_rows``: one row per LLM request (the grain of limits, intervals and time trends).
  A report that carries no request rows (a 0.1 report, an imported file, a manual entry) gets one
  row per agent run, timestamped at the agent's end and flagged ``derived``, so every token of the
  ledger is in ``usage_rows`` exactly once.

A request row carries its own fields (time, agent, iteration, model, token counts, requests,
cost, ``cost_is_actual``, duration, metadata JSON, note) and, through two small references, its
session's (commit) and its context's (project, branch, user, command, source).
"""

from __future__ import annotations

import getpass
import json
import os
import socket
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from token_tracking.counts import sum_exact
from token_tracking.history.clock import from_us, to_us
from token_tracking.history.models import (
    BUCKET_US,
    AgentRunRow,
    Bucket,
    Filters,
    ModelUsage,
    SessionSummary,
    UsageTotals,
)
from token_tracking.records import AgentUsage, RequestUsage
from token_tracking.reports.file import TokenUsageReport
from token_tracking.settings import USER_VARIABLE

ContextKey = tuple[str, str | None, str | None, str, str, str | None]
"""(project, branch, user, command, source, machine) of a context row."""

# --------------------------------------------------------------------------------------------------
# Writing


INSERT_SESSION = """
    INSERT OR IGNORE INTO sessions (
        session_id, project, project_remote, command, model, source, status,
        start_us, end_us, duration_seconds, branch, git_commit, user,
        prompt_tokens, completion_tokens, total_tokens, cached_tokens,
        cache_write_tokens, reasoning_tokens, requests, cost_usd, priced_coverage,
        successful_agents, failed_agents, note, report_json, unknown_usage_requests
    ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
              ?, ?, ?, ?)
"""


def session_values(report: TokenUsageReport, project: str, note: str | None) -> tuple[Any, ...]:
    """Return the parameters of :data:`INSERT_SESSION` for ``report`` in ``project``."""
    git = report.git
    return (
        report.session_id,
        project,
        git.remote if git is not None else None,
        report.command,
        report.model,
        report.source,
        report.status,
        to_us(report.start_time),
        to_us(report.end_time),
        report.total_duration_seconds,
        git.branch if git is not None else None,
        git.commit if git is not None else None,
        git.user_email if git is not None else None,
        # Null when every count is unknown; the sum of the known counts (a lower bound when
        # unknown_usage_requests > 0) otherwise.
        report.total_prompt_tokens,
        report.total_completion_tokens,
        report.total_tokens,
        report.total_cached_tokens,
        report.total_cache_write_tokens,
        report.total_reasoning_tokens,
        report.total_requests,
        report.total_cost_usd,
        report.priced_coverage,
        report.successful_agents,
        report.failed_agents,
        note,
        report.model_dump_json(),
        report.unknown_usage_requests,
    )


def context_key(
    report: TokenUsageReport, project: str, who: tuple[str | None, str | None] = (None, None)
) -> ContextKey:
    """Return the context (project, branch, user, command, source, machine) of ``report``'s rows.

    ``who`` is the recording ``(user, machine)`` (:func:`recorder`); a missing user falls back to
    the report's git user.
    """
    git = report.git
    branch = git.branch if git is not None else None
    user, machine = who
    if user is None:
        user = git.user_email if git is not None else None
    return (project, branch, user, report.command, report.source, machine)


def recorder() -> tuple[str, str | None]:
    """Return who records rows here: ``TOKEN_TRACKING_USER`` (else the OS user) and the hostname."""
    user = os.environ.get(USER_VARIABLE, "").strip()
    if not user:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):  # no passwd entry for the uid (containers)
            user = f"uid-{os.getuid()}" if hasattr(os, "getuid") else "unknown"
    machine = socket.gethostname() or None
    return user, machine


INSERT_AGENT_RUN = """
    INSERT INTO agent_runs (
        session_pk, position, agent, model, start_us, end_us, duration_seconds,
        success, error, prompt_tokens, completion_tokens, total_tokens,
        cached_tokens, cache_write_tokens, reasoning_tokens, requests, cost_usd,
        output_file
    ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""


def agent_values(session_pk: int | None, position: int, agent: AgentUsage) -> tuple[Any, ...]:
    """Return the parameters of :data:`INSERT_AGENT_RUN` for the ``position``-th agent run."""
    return (
        session_pk,
        position,
        agent.agent_name,
        agent.model,
        to_us(agent.start_time) if agent.start_time is not None else None,
        to_us(agent.end_time) if agent.end_time is not None else None,
        agent.duration_seconds,
        int(agent.success),
        agent.error,
        agent.prompt_tokens,
        agent.completion_tokens,
        agent.total_tokens,
        agent.cached_tokens,
        agent.cache_write_tokens,
        agent.reasoning_tokens,
        agent.requests,
        agent.cost_usd,
        agent.output_file,
    )


@dataclass(frozen=True)
class RowContext:
    """What every usage row of one session shares: its session, its context and its note."""

    session_pk: int
    """Internal id of the session."""
    context_id: int
    """Internal id of the session's context row."""
    note: str | None
    """The note of a manual entry."""


INSERT_ROW = """
    INSERT INTO usage_rows (
        session_pk, context_id, ts_us, agent, iteration, model, prompt_tokens, completion_tokens,
        cached_tokens, cache_write_tokens, reasoning_tokens, total_tokens, requests, cost_usd,
        cost_is_actual, duration_seconds, metadata, note, derived, request_model, response_model,
        response_id, request_id, unpriced_tokens
    ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""


_NO_REQUEST = (None, None, None, None, None)
"""The request-only columns of a derived row (models, ids, unpriced tokens): unknown."""


def usage_values(
    context: RowContext, report: TokenUsageReport, requests: Sequence[RequestUsage]
) -> Iterator[tuple[Any, ...]]:
    """Yield the usage rows of a report: its requests, plus a derived row per agent without any."""
    head = (context.session_pk, context.context_id)
    tail = (context.note,)
    for request in requests:
        yield (
            *head,
            to_us(request.timestamp),
            request.agent_name,
            request.iteration,
            request.model,
            request.prompt_tokens,
            request.completion_tokens,
            request.cached_tokens,
            request.cache_write_tokens,
            request.reasoning_tokens,
            sum_exact((request.prompt_tokens, request.completion_tokens)),
            request.requests,
            request.cost_usd,
            int(request.cost_is_actual),
            request.duration_seconds,
            json.dumps(request.metadata, sort_keys=True, default=str) if request.metadata else None,
            *tail,
            0,
            request.request_model,
            request.response_model,
            request.response_id,
            request.request_id,
            request.unpriced_tokens,
        )
    covered = {request.agent_name for request in requests}
    for agent in report.agent_usage:
        if agent.agent_name in covered:
            continue
        moment = agent.end_time or agent.start_time or report.end_time
        yield (
            *head,
            to_us(moment),
            agent.agent_name,
            None,
            agent.model if agent.model is not None else report.model,
            agent.prompt_tokens,
            agent.completion_tokens,
            agent.cached_tokens,
            agent.cache_write_tokens,
            agent.reasoning_tokens,
            agent.total_tokens
            if agent.total_tokens is not None
            else sum_exact((agent.prompt_tokens, agent.completion_tokens)),
            agent.requests,
            agent.cost_usd,
            0,
            agent.duration_seconds,
            None,
            *tail,
            1,
            *_NO_REQUEST,
        )
    if not requests and not report.agent_usage and report.total_tokens:
        # A session with tokens but no agent breakdown: one row keeps its tokens countable.
        yield (
            *head,
            to_us(report.end_time),
            None,
            None,
            report.model,
            report.total_prompt_tokens,
            report.total_completion_tokens,
            report.total_cached_tokens,
            report.total_cache_write_tokens,
            report.total_reasoning_tokens,
            report.total_tokens,
            report.total_requests,
            report.total_cost_usd,
            0,
            report.total_duration_seconds,
            None,
            *tail,
            1,
            *_NO_REQUEST,
        )


# --------------------------------------------------------------------------------------------------
# Reading


def session_where(
    project: str | None,
    start: datetime | None,
    include_offline: bool,
    *,
    table: str = "",
    sources: Sequence[str] = (),
    commit: str | None = None,
    user: str | None = None,
) -> tuple[str, list[Any]]:
    """Return the SQL condition on ``sessions`` (columns prefixed with ``table``) selecting the
    sessions of ``project`` that started at or after ``start`` (of ``sources`` only, when given;
    with rows attributed to ``commit``, a hash prefix, when given; with rows recorded by
    ``user``, when given), and its parameters."""
    clauses = ["1 = 1"]
    params: list[Any] = []
    if project is not None:
        clauses.append(f"{table}project = ?")
        params.append(project)
    if start is not None:
        clauses.append(f"{table}start_us >= ?")
        params.append(to_us(start))
    if not include_offline:
        clauses.append(f"{table}source != 'offline'")
    if sources:
        clauses.append(f"{table}source IN ({', '.join('?' * len(sources))})")
        params.extend(sources)
    if commit is not None or user is not None:
        where, found = Filters(include_offline=True, commit=commit, user=user).where()
        clauses.append(f"{table}id IN (SELECT session_pk FROM usage_rows WHERE {where})")
        params.extend(found)
    return " AND ".join(clauses), params


def first_row_sql(filters: Filters) -> tuple[str, list[Any]]:
    """Return the statement (and its parameters) reading the time of the earliest row the
    filters select: the earliest of each selected context's, each found at the start of that
    context's part of the (context, time) index, whichever database plans the query."""
    context_where, context_params = replace(filters, start=None, end=None, commit=None).where()
    row_where, row_params = replace(
        filters, project=None, include_offline=True, sources=(), user=None
    ).where()
    sql = f"""
        SELECT MIN((SELECT MIN(ts_us) FROM usage_rows
                    WHERE usage_rows.context_id = c.context_id AND {row_where}))
        FROM (SELECT id AS context_id FROM contexts) c WHERE {context_where}
    """
    return sql, [*row_params, *context_params]


# The columns of a session, read by :func:`session_summary`.
SESSION_COLUMNS = """
    session_id, project, project_remote, command, model, source, status, start_us, end_us,
    duration_seconds, branch, git_commit, user, prompt_tokens, completion_tokens, total_tokens,
    cached_tokens, requests, cost_usd, priced_coverage, note, unknown_usage_requests
"""


def session_summary(row: Sequence[Any]) -> SessionSummary:
    """Return the session of a row selected with :data:`SESSION_COLUMNS`."""
    return SessionSummary(
        session_id=row[0],
        project=row[1],
        project_remote=row[2],
        command=row[3],
        model=row[4],
        source=row[5],
        status=row[6],
        start_time=from_us(row[7]),
        end_time=from_us(row[8]),
        duration_seconds=row[9],
        branch=row[10],
        commit=row[11],
        user=row[12],
        prompt_tokens=row[13],
        completion_tokens=row[14],
        total_tokens=row[15],
        cached_tokens=row[16],
        requests=row[17],
        cost_usd=row[18],
        priced_coverage=row[19],
        note=row[20],
        unknown_usage_requests=row[21] if row[21] is not None else 0,
    )


# The sums of a set of usage rows, read by :func:`usage_totals`.
SUMS = """
    COUNT(DISTINCT session_pk),
    SUM(requests),
    SUM(prompt_tokens),
    SUM(completion_tokens),
    SUM(cached_tokens),
    SUM(total_tokens),
    SUM(cost_usd),
    SUM(CASE WHEN cost_usd IS NOT NULL THEN total_tokens END),
    SUM(CASE WHEN requests IS NOT NULL THEN total_tokens END)
"""


def usage_totals(row: Sequence[Any]) -> UsageTotals:
    """Return the sums of a row selected with :data:`SUMS`."""
    sessions, requests, prompt, completion, cached, total, cost, priced, counted = row
    no_rows = sessions == 0  # COUNT is never NULL
    return UsageTotals(
        sessions=sessions,
        # SUM over rows that all lack a count is NULL: unknown, kept apart from a known zero.
        # Over no rows at all it is NULL too, and then zero is the truth.
        requests=requests if requests is not None else 0,
        requests_known=requests is not None or no_rows,
        prompt_tokens=prompt if prompt is not None else 0,
        completion_tokens=completion if completion is not None else 0,
        cached_tokens=0 if no_rows else cached,
        total_tokens=total if total is not None else 0,
        cost_usd=cost,
        priced_tokens=priced if priced is not None else 0,
        counted_tokens=counted if counted is not None else 0,
    )


# The columns of a request row, read by :func:`request_usage`.
REQUEST_COLUMNS = """
    ts_us, agent, model, prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens,
    reasoning_tokens, requests, duration_seconds, cost_usd, cost_is_actual, iteration, metadata
"""


def request_usage(row: Sequence[Any]) -> tuple[RequestUsage, bool]:
    """Return the request of a row selected with :data:`REQUEST_COLUMNS`, and whether its request
    count is known (an unknown count, a manual entry's, reads as 0 requests)."""
    (
        ts,
        agent,
        model,
        prompt,
        completion,
        cached,
        cache_write,
        reasoning,
        requests,
        duration,
        cost,
        actual,
        iteration,
        metadata,
    ) = row
    request = RequestUsage(
        timestamp=from_us(ts),
        agent_name=agent,
        model=model,
        prompt_tokens=prompt,
        completion_tokens=completion,
        cached_tokens=cached,
        cache_write_tokens=cache_write,
        reasoning_tokens=reasoning,
        requests=requests if requests is not None else 0,
        duration_seconds=duration,
        cost_usd=cost,
        cost_is_actual=bool(actual),
        iteration=iteration,
        metadata=json.loads(metadata) if metadata else {},
    )
    return request, requests is not None


def bucket(row: Sequence[Any]) -> Bucket:
    """Return the bucket of a row: number, session, context, then the sums of :data:`SUMS` but
    the session count."""
    number, session, context, requests, prompt, completion, cached, total, cost, priced = row
    return Bucket(
        number=number,
        session_pk=session,
        context_id=context,
        requests=requests,
        prompt_tokens=prompt if prompt is not None else 0,
        completion_tokens=completion if completion is not None else 0,
        cached_tokens=cached,
        total_tokens=total if total is not None else 0,
        cost_usd=cost,
        priced_tokens=priced if priced is not None else 0,
    )


def model_usage(row: Sequence[Any]) -> ModelUsage:
    """Return the sums of a row: agent, model, the five token sums, cost and unpriced rows."""
    return ModelUsage(
        agent=row[0],
        model=row[1],
        prompt_tokens=row[2] if row[2] is not None else 0,
        completion_tokens=row[3] if row[3] is not None else 0,
        cached_tokens=row[4],
        cache_write_tokens=row[5],
        reasoning_tokens=row[6],
        cost_usd=row[7],
        unpriced_rows=row[8],
    )


def agent_run(row: Sequence[Any]) -> AgentRunRow:
    """Return the export row of an agent run, its fields in :class:`AgentRunRow` order."""
    return AgentRunRow(
        session_id=row[0],
        timestamp=from_us(row[1]),
        project=row[2],
        branch=row[3],
        command=row[4],
        agent=row[5],
        model=row[6],
        prompt_tokens=row[7],
        completion_tokens=row[8],
        cached_tokens=row[9],
        cache_write_tokens=row[10],
        reasoning_tokens=row[11],
        total_tokens=row[12],
        requests=row[13],
        cost_usd=row[14],
        source=row[15],
        note=row[16],
        reported_cost_usd=row[17] if len(row) > 17 else None,
    )


# --------------------------------------------------------------------------------------------------
# The trends scan: one pass over the window's rows


@dataclass(frozen=True)
class TrendScan:
    """What ``tokens trends`` reads from one pass over the selected rows."""

    buckets: list[Bucket]
    """Per-session sums in 15-minute UTC buckets (see ``Ledger.buckets``)."""
    pairs: list[ModelUsage]
    """Token sums and cost per (agent, model) pair."""
    groups: list[tuple[str | None, UsageTotals]]
    """Sums per value of the request-row column asked for (empty when none was)."""


# One row per (context, bucket, session, agent, model, attributed commit): the index
# usage_rows_by_context_bucket holds the rows in this order, so the database aggregates them as it
# reads them, without sorting the window's rows. Every further grouping reads these few rows.
# The casts keep PostgreSQL's integer sums integers (its SUM of bigint is a slow numeric).
_SCAN_SUMS = """
    CAST(SUM({requests}) AS BIGINT), CAST(SUM({prompt}) AS BIGINT),
    CAST(SUM({completion}) AS BIGINT), CAST(SUM({cached}) AS BIGINT),
    CAST(SUM({total}) AS BIGINT), SUM({cost}), CAST(SUM({priced}) AS BIGINT),
    CAST(SUM({cache_write}) AS BIGINT), CAST(SUM({reasoning}) AS BIGINT),
    CAST(SUM({unpriced}) AS BIGINT)
"""
_ROW_SUMS = _SCAN_SUMS.format(
    requests="requests",
    prompt="prompt_tokens",
    completion="completion_tokens",
    cached="cached_tokens",
    total="total_tokens",
    cost="cost_usd",
    priced="CASE WHEN cost_usd IS NOT NULL THEN total_tokens END",
    cache_write="cache_write_tokens",
    reasoning="reasoning_tokens",
    unpriced="CASE WHEN cost_usd IS NULL THEN 1 ELSE 0 END",
)
_GROUP_SUMS = _SCAN_SUMS.format(
    requests="g_requests",
    prompt="g_prompt",
    completion="g_completion",
    cached="g_cached",
    total="g_total",
    cost="g_cost",
    priced="g_priced",
    cache_write="g_cache_write",
    reasoning="g_reasoning",
    unpriced="g_unpriced",
)
_GROUP_COLUMNS = (
    "g_requests, g_prompt, g_completion, g_cached, g_total, g_cost, g_priced, g_cache_write, "
    "g_reasoning, g_unpriced"
)
G_COLUMNS = f"context_id, bucket, session_pk, agent, model, attributed_commit, {_GROUP_COLUMNS}"
"""The columns of ``g``, the sums the trends scan regroups (and of the ``trend_rollup`` table)."""
GROUP_SUMS = _GROUP_SUMS
"""The sums of ``g``'s sum columns, to regroup rows of :data:`G_COLUMNS`."""
SCAN_KEYS: frozenset[str] = frozenset(("model", "agent", "attributed_commit"))
"""The request-row columns :func:`trend_scan_sql` can group the window by besides its buckets."""


def trend_scan_sql(
    filters: Filters, key: str | None, source: tuple[str, list[Any]] | None = None
) -> tuple[str, list[Any]]:
    """Return the one statement (and its parameters) that reads a :class:`TrendScan`.

    ``key`` is a column of :data:`SCAN_KEYS` to group by too, or ``None``. ``source`` is the
    ``WITH`` clause (and its parameters) defining ``g``, the selected rows' sums per context,
    bucket, session, agent, model and attributed commit (:data:`G_COLUMNS`); by default
    :func:`row_source` (summed from the request rows).
    """
    with_clause, params = source if source is not None else row_source(filters)
    parts = [
        f"SELECT 0, bucket, session_pk, context_id, NULL, NULL, {_GROUP_SUMS} "
        "FROM g GROUP BY bucket, session_pk, context_id",
        f"SELECT 1, NULL, NULL, NULL, agent, model, {_GROUP_SUMS} FROM g GROUP BY agent, model",
    ]
    if key is not None:
        if key not in SCAN_KEYS:
            raise ValueError(f"cannot group the trends scan by {key!r}")
        parts.append(
            f"SELECT 2, COUNT(DISTINCT session_pk), NULL, NULL, {key}, NULL, {_GROUP_SUMS} "
            f"FROM g GROUP BY {key}"
        )
    return f"{with_clause} {' UNION ALL '.join(parts)}", params


def row_sums_sql(table: str, where: str) -> str:
    """Return the ``SELECT`` of the sums of ``table``'s request rows matching ``where``, one row
    per context, bucket, session, agent, model and attributed commit (:data:`G_COLUMNS`)."""
    return f"""
        SELECT context_id, ts_us / {BUCKET_US}, session_pk, agent, model, attributed_commit,
               {_ROW_SUMS}
        FROM {table} WHERE {where}
        GROUP BY context_id, ts_us / {BUCKET_US}, session_pk, agent, model, attributed_commit
    """


def row_source(filters: Filters) -> tuple[str, list[Any]]:
    """Return the ``WITH`` clause defining ``g`` (see :func:`trend_scan_sql`) from the request
    rows the filters select, and its parameters."""
    where, params = bucket_where(filters)
    return f"WITH g ({G_COLUMNS}) AS ({row_sums_sql('usage_rows', where)})", params


def bucket_where(filters: Filters) -> tuple[str, list[Any]]:
    """Return :meth:`Filters.where` with the window's start also stated on the 15-minute bucket
    (``ts_us / BUCKET_US``), so that the (context, bucket, …) index starts at the window."""
    where, params = filters.where()
    if filters.start is not None:
        # Implied by ``ts_us >= start``: integer division never decreases.
        where += f" AND ts_us / {BUCKET_US} >= ?"
        params.append(truncated_division(to_us(filters.start), BUCKET_US))
    return where, params


def truncated_division(value: int, divisor: int) -> int:
    """``value / divisor`` rounded toward zero, as both databases divide integers."""
    quotient = abs(value) // divisor
    return quotient if value >= 0 else -quotient


def trend_scan(found: Iterable[Sequence[Any]]) -> TrendScan:
    """Return the :class:`TrendScan` of the rows :func:`trend_scan_sql` selected."""
    scan = TrendScan(buckets=[], pairs=[], groups=[])
    for kind, first, second, third, name, model, *sums in found:
        requests, prompt, completion, cached, total, cost, priced, cache_write, reasoning = sums[:9]
        if kind == 0:
            scan.buckets.append(bucket((first, second, third, *sums[:7])))
        elif kind == 1:
            usage = (prompt, completion, cached, cache_write, reasoning, cost, sums[9])
            scan.pairs.append(model_usage((name, model, *usage)))
        else:
            counts = (first, requests, prompt, completion, cached, total, cost, priced, None)
            scan.groups.append((name, usage_totals(counts)))
    return scan
