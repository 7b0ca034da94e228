"""Usage over time from the ledger: tables by period or by dimension, and insights.

Periods are local calendar days, weeks starting on Monday, and months; ``days=N`` is the last N
local calendar days including today (0 = all time). Offline rows are left out unless asked for.

Insights, each computed from the window's rows:

- peak day: the local day with the most tokens;
- most active branch: the branch with the most tokens;
- average tokens (and cost) per day: the window's total over its calendar days, counted from the
  window's first day or from the first record if that is later, through today;
- projected monthly cost: that daily average cost x 30 — a straight-line projection, stated as such;
- week-over-week: the last 7 local days (today included) against the 7 before them;
- recommendations: the agent and the model with the largest share of the cost, and what the
  window's usage would have cost on the cheapest model used in it (priced with ``cost_of``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Literal, get_args

from pydantic import Field

from pricing import PriceBook, Usage
from token_tracking import display
from token_tracking.counts import sum_exact, sum_known
from token_tracking.history.clock import to_us, utc_now, window_start
from token_tracking.history.ledger import Ledger
from token_tracking.history.models import (
    BUCKET_US,
    Bucket,
    Filters,
    GroupColumn,
    ModelUsage,
    UsageTotals,
    usage_by_model,
)
from token_tracking.records import DeferredModel

TrendBy = Literal[
    "day", "week", "month", "branch", "model", "agent", "command", "user", "machine", "commit"
]
"""What ``tokens trends --by`` groups on."""

TREND_BY: tuple[TrendBy, ...] = get_args(TrendBy)
"""Every accepted ``--by`` value."""

_SCAN_KEY: dict[str, GroupColumn] = {
    "model": "model",
    "agent": "agent",
    "commit": "attributed_commit",
}
"""The ``--by`` values grouped on a request-row column, and that column."""

NO_VALUE = "(none)"
"""The label of rows whose branch, model, agent or user is not known."""

CostFunction = Callable[[str, ModelUsage], float | None]
"""Prices a model's token sums on another model; ``None`` when that model has no price."""


def pricebook_cost(book: PriceBook) -> CostFunction:
    """Return a :data:`CostFunction` that prices token sums with ``book`` (``None`` if unknown)."""

    def cost(model: str, usage: ModelUsage) -> float | None:
        breakdown = book.try_cost(
            model,
            Usage(
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                cached_tokens=usage.cached_tokens,
                cache_write_tokens=usage.cache_write_tokens,
                reasoning_tokens=usage.reasoning_tokens,
            ),
        )
        return breakdown.total if breakdown is not None else None

    return cost


class TrendRow(DeferredModel):
    """One line of a trends table: a period or a branch, model, agent, command or user."""

    key: str
    """The period (``2026-11-23``, a week's Monday, ``2026-11``) or the group's value."""
    sessions: int
    """Sessions with usage in this row."""
    requests: int | None
    """LLM requests of the rows that know their count; ``None`` when no row did."""
    prompt_tokens: int
    """Input tokens (cache reads and writes included)."""
    completion_tokens: int
    """Output tokens (reasoning included)."""
    cached_tokens: int | None
    """Cached input tokens of the rows that report them; ``None`` when no row did."""
    total_tokens: int
    """``prompt + completion`` tokens."""
    cost_usd: float | None
    """Cost in USD; ``None`` when nothing was priced, a lower bound when coverage < 1."""
    priced_coverage: float | None
    """Share of the row's tokens with a known price."""


class WeekOverWeek(DeferredModel):
    """The last 7 local days (today included) against the 7 days before them."""

    last_7_days_tokens: int
    """Tokens of the last 7 days."""
    previous_7_days_tokens: int
    """Tokens of the 7 days before those."""
    last_7_days_cost: float | None
    """Cost of the last 7 days."""
    previous_7_days_cost: float | None
    """Cost of the 7 days before."""
    change_percent: float | None
    """Token change in percent; ``None`` when the previous week had no tokens."""


class Recommendation(DeferredModel):
    """A suggestion grounded in the window's figures."""

    kind: Literal["largest_agent", "largest_model", "cheapest_model"]
    """Which rule produced it."""
    text: str
    """The sentence shown to the user."""
    subject: str
    """The agent or model it is about."""
    share: float | None = None
    """The subject's share of the window's cost (0 to 1), for the largest-share rules."""
    cost_usd: float | None = None
    """The subject's cost, or the re-priced cost for ``cheapest_model``."""
    baseline_cost_usd: float | None = None
    """The window's recorded cost the figure is compared with."""


class Insights(DeferredModel):
    """Facts about the window (see the module docstring for their definitions)."""

    peak_day: date | None = None
    """The local day with the most tokens."""
    peak_day_tokens: int | None = None
    """Tokens of the peak day."""
    most_active_branch: str | None = None
    """The branch with the most tokens (``(none)`` for usage outside a branch)."""
    most_active_branch_tokens: int | None = None
    """Tokens of that branch."""
    days_counted: int = 0
    """Calendar days the averages divide by."""
    average_tokens_per_day: float | None = None
    """Window tokens / ``days_counted``."""
    average_cost_per_day: float | None = None
    """Window cost / ``days_counted``."""
    projected_monthly_cost: float | None = None
    """``average_cost_per_day`` x 30: a straight-line projection."""
    week_over_week: WeekOverWeek
    """Last 7 days against the 7 before."""
    recommendations: list[Recommendation] = Field(default_factory=list)
    """Suggestions grounded in the window's figures."""


class TrendsResult(DeferredModel):
    """The answer of ``tokens trends``: the table, the window's totals and the insights."""

    by: TrendBy
    """What the rows group on."""
    days: int
    """The window in local calendar days (0 = all time)."""
    start: datetime | None
    """First instant of the window (local midnight); ``None`` for all time."""
    end: datetime
    """When the window was read."""
    project: str | None
    """The project read; ``None`` for all projects."""
    include_offline: bool
    """Whether offline-engine rows were counted."""
    totals: TrendRow
    """The whole window (``key`` is ``TOTAL``)."""
    rows: list[TrendRow]
    """Periods newest first; other groupings by tokens, largest first."""
    insights: Insights
    """Peak day, most active branch, averages, projection, week-over-week, recommendations."""


class _Accumulator:
    """Running sums of buckets, plus the distinct sessions seen (slotted: hot loop).

    Requests, cached tokens and cost are kept per bucket and summed once with
    :func:`~token_tracking.counts.sum_known`: a sum of unknowns is unknown, not zero, and an
    unknown beside known values adds nothing.
    """

    __slots__ = (
        "cached",
        "completion",
        "cost",
        "priced",
        "prompt",
        "requests",
        "session_ids",
        "total",
    )

    def __init__(self) -> None:
        self.requests: list[int | None] = []
        self.prompt = 0
        self.completion = 0
        self.cached: list[int | None] = []
        self.total = 0
        self.cost: list[float | None] = []
        self.priced = 0
        self.session_ids: set[int] = set()

    def add(self, bucket: Bucket) -> None:
        self.requests.append(bucket.requests)
        self.prompt += bucket.prompt_tokens
        self.completion += bucket.completion_tokens
        self.cached.append(bucket.cached_tokens)
        self.total += bucket.total_tokens
        self.cost.append(bucket.cost_usd)
        self.priced += bucket.priced_tokens
        self.session_ids.add(bucket.session_pk)

    def row(self, key: str) -> TrendRow:
        # No bucket at all: nothing was requested or cached, a known zero.
        empty = len(self.session_ids) == 0
        return TrendRow(
            key=key,
            sessions=len(self.session_ids),
            requests=0 if empty else sum_known(self.requests),
            prompt_tokens=self.prompt,
            completion_tokens=self.completion,
            cached_tokens=0 if empty else sum_known(self.cached),
            total_tokens=self.total,
            cost_usd=sum_known(self.cost),
            priced_coverage=self.priced / self.total if self.total else None,
        )


def _row(key: str, totals: UsageTotals, sessions: int | None = None) -> TrendRow:
    return TrendRow(
        key=key,
        sessions=totals.sessions if sessions is None else sessions,
        requests=totals.known_requests,
        prompt_tokens=totals.prompt_tokens,
        completion_tokens=totals.completion_tokens,
        cached_tokens=totals.cached_tokens,
        total_tokens=totals.total_tokens,
        cost_usd=totals.cost_usd,
        priced_coverage=totals.priced_coverage,
    )


def period_key(moment: datetime, unit: Literal["day", "week", "month"]) -> str:
    """Return the local period of ``moment``: ``YYYY-MM-DD``, the week's Monday, ``YYYY-MM``."""
    local = moment.astimezone().date()
    if unit == "day":
        return local.isoformat()
    if unit == "week":
        return (local - timedelta(days=local.weekday())).isoformat()
    return f"{local.year:04d}-{local.month:02d}"


def _periods_of(buckets: Iterable[Bucket], unit: Literal["day", "week", "month"]) -> list[TrendRow]:
    sums: dict[str, _Accumulator] = {}
    keys: dict[int, str] = {}
    for bucket in buckets:
        key = keys.get(bucket.number)
        if key is None:
            key = keys[bucket.number] = period_key(bucket.start, unit)
        accumulator = sums.get(key)
        if accumulator is None:
            accumulator = sums[key] = _Accumulator()
        accumulator.add(bucket)
    return [sums[key].row(key) for key in sorted(sums)]


def _total_of(buckets: Iterable[Bucket]) -> TrendRow:
    accumulator = _Accumulator()
    for bucket in buckets:
        accumulator.add(bucket)
    return accumulator.row("TOTAL")


def _contexts_of(buckets: Iterable[Bucket], values: dict[int, str | None]) -> list[TrendRow]:
    sums: dict[str, _Accumulator] = {}
    for bucket in buckets:
        value = values.get(bucket.context_id)
        key = value if value is not None else NO_VALUE
        accumulator = sums.get(key)
        if accumulator is None:
            accumulator = sums[key] = _Accumulator()
        accumulator.add(bucket)
    rows = [accumulator.row(key) for key, accumulator in sums.items()]
    return sorted(rows, key=lambda row: (-row.total_tokens, row.key))


def periods(
    ledger: Ledger, filters: Filters, unit: Literal["day", "week", "month"]
) -> list[TrendRow]:
    """Return the selected usage per local day, week (Monday) or month, oldest first.

    Only periods with usage are listed (see :func:`daily_series` for a gap-free series).
    """
    return _periods_of(ledger.buckets(filters), unit)


def daily_series(
    ledger: Ledger, filters: Filters, *, now: datetime | None = None
) -> list[TrendRow]:
    """Return one row per local day from the window's first day (or first record) through today.

    Days without usage are present with zero tokens and a ``None`` cost: the series has no gaps,
    ready to chart.
    """
    rows = {row.key: row for row in periods(ledger, filters, "day")}
    first = _first_day(ledger, filters)
    if first is None:
        return []
    today = (now if now is not None else utc_now()).astimezone().date()
    series: list[TrendRow] = []
    day = first
    while day <= today:
        key = day.isoformat()
        series.append(rows.get(key) or _row(key, UsageTotals()))
        day += timedelta(days=1)
    return series


def breakdown(ledger: Ledger, filters: Filters, by: GroupColumn) -> list[TrendRow]:
    """Return the selected usage per branch, model, agent, command or user, most tokens first."""
    return _sorted_rows(ledger.grouped(by, filters))


def _sorted_rows(groups: Iterable[tuple[str | None, UsageTotals]]) -> list[TrendRow]:
    rows = [_row(key if key is not None else NO_VALUE, totals) for key, totals in groups]
    return sorted(rows, key=lambda row: (-row.total_tokens, row.key))


def compute_trends(
    ledger: Ledger,
    *,
    days: int = 30,
    by: TrendBy = "day",
    project: str | None = None,
    include_offline: bool = False,
    now: datetime | None = None,
    cost_of: CostFunction | None = None,
    sources: tuple[str, ...] = (),
    user: str | None = None,
) -> TrendsResult:
    """Return the trends table and insights of the last ``days`` local days (0 = all time).

    ``cost_of`` prices token sums on a given model; without it the cheapest-model recommendation
    is left out. ``sources`` keeps only rows of those sources (empty: all), ``user`` only the rows
    that user recorded; ``by="commit"`` groups by the commit a post-commit hook attributed each
    row to, ``by="user"``/``"machine"`` by who recorded each row and where.
    """
    moment = now if now is not None else utc_now()
    start = window_start(days, now=moment)
    filters = Filters(
        project=project, start=start, include_offline=include_offline, sources=sources, user=user
    )
    # One pass over the window's rows feeds the periods, the total, every breakdown and the
    # recommendations.
    scan = ledger.trend_scan(filters, _SCAN_KEY.get(by))
    buckets = scan.buckets
    day_rows = _periods_of(buckets, "day")
    branch_rows = _contexts_of(buckets, ledger.context_values("branch"))
    if by == "day":
        rows = list(reversed(day_rows))
    elif by == "week" or by == "month":
        rows = list(reversed(_periods_of(buckets, by)))
    elif by == "branch":
        rows = branch_rows
    elif by in ("command", "user", "machine"):
        rows = _contexts_of(buckets, ledger.context_values(by))
    else:
        rows = _sorted_rows(scan.groups)
    total = _total_of(buckets)
    insights = _insights(
        ledger, filters, day_rows, branch_rows, total, moment, cost_of, scan.pairs, buckets
    )
    return TrendsResult(
        by=by,
        days=days,
        start=start,
        end=moment,
        project=project,
        include_offline=include_offline,
        totals=total,
        rows=rows,
        insights=insights,
    )


def week_over_week(
    ledger: Ledger,
    filters: Filters,
    *,
    now: datetime | None = None,
    buckets: Sequence[Bucket] | None = None,
) -> WeekOverWeek:
    """Return the last 7 local days (today included) against the 7 before them.

    The filters' own window is ignored; project and offline filters apply. ``buckets``: the
    buckets of these filters (:meth:`Ledger.buckets`), summed instead of asking the ledger when
    their window holds the last 14 days.
    """
    moment = now if now is not None else utc_now()
    last_start = window_start(7, now=moment)
    previous_start = window_start(14, now=moment)
    if (
        buckets is not None
        and last_start is not None
        and previous_start is not None
        and _buckets_hold(filters, last_start, previous_start)
    ):
        last_us, previous_us = to_us(last_start), to_us(previous_start)
        last = _bucket_sums(b for b in buckets if b.number * BUCKET_US >= last_us)
        previous = _bucket_sums(b for b in buckets if previous_us <= b.number * BUCKET_US < last_us)
    else:
        totals = ledger.window_totals(replace(filters, start=last_start, end=None))
        before = ledger.window_totals(replace(filters, start=previous_start, end=last_start))
        last = (totals.total_tokens, totals.cost_usd)
        previous = (before.total_tokens, before.cost_usd)
    change = None
    if previous[0]:
        change = (last[0] - previous[0]) / previous[0] * 100
    return WeekOverWeek(
        last_7_days_tokens=last[0],
        previous_7_days_tokens=previous[0],
        last_7_days_cost=last[1],
        previous_7_days_cost=previous[1],
        change_percent=change,
    )


def _buckets_hold(filters: Filters, last_start: datetime, previous_start: datetime) -> bool:
    """Whether the buckets of ``filters`` hold exactly the rows of both 7-day windows: the
    window starts no later than 14 days ago, has no end, and both starts fall on a bucket's
    start (a local midnight always does, unless the zone's offset is not a multiple of 15
    minutes)."""
    if filters.end is not None:
        return False
    if filters.start is not None and filters.start > previous_start:
        return False
    return to_us(last_start) % BUCKET_US == 0 and to_us(previous_start) % BUCKET_US == 0


def _bucket_sums(buckets: Iterable[Bucket]) -> tuple[int, float | None]:
    """Tokens and cost of ``buckets`` (cost ``None`` when none has a price)."""
    tokens = 0
    costs: list[float | None] = []
    for bucket in buckets:
        tokens += bucket.total_tokens
        costs.append(bucket.cost_usd)
    return tokens, sum_known(costs)


def _first_day(ledger: Ledger, filters: Filters) -> date | None:
    """The first local day the averages count: the window's first day, or the day of the first
    record of the ledger (same project and offline filters) when that is later."""
    everything = replace(filters, start=None, end=None)
    first = ledger.first_row_time(everything)
    if first is None:
        return None
    first_day = first.astimezone().date()
    if filters.start is not None:
        first_day = max(first_day, filters.start.astimezone().date())
    return first_day


def _insights(
    ledger: Ledger,
    filters: Filters,
    day_rows: list[TrendRow],
    branch_rows: list[TrendRow],
    total: TrendRow,
    now: datetime,
    cost_of: CostFunction | None,
    pairs: list[ModelUsage],
    buckets: Sequence[Bucket],
) -> Insights:
    insights = Insights(week_over_week=week_over_week(ledger, filters, now=now, buckets=buckets))
    if not day_rows:
        return insights
    peak = max(day_rows, key=lambda row: (row.total_tokens, row.key))
    insights.peak_day = date.fromisoformat(peak.key)
    insights.peak_day_tokens = peak.total_tokens
    if branch_rows:
        insights.most_active_branch = branch_rows[0].key
        insights.most_active_branch_tokens = branch_rows[0].total_tokens
    first = _first_day(ledger, filters)
    if first is not None:
        days = (now.astimezone().date() - first).days + 1
        insights.days_counted = days
        insights.average_tokens_per_day = total.total_tokens / days
        if total.cost_usd is not None:
            insights.average_cost_per_day = total.cost_usd / days
            insights.projected_monthly_cost = insights.average_cost_per_day * 30
    insights.recommendations = list(_recommendations(pairs, total, cost_of))
    return insights


def _largest_share(
    costs: Iterable[tuple[str, float | None]],
    total_cost: float,
    kind: Literal["largest_agent", "largest_model"],
) -> Recommendation | None:
    priced = [(key, cost) for key, cost in costs if cost is not None]
    if not priced or total_cost <= 0:
        return None
    # Costs equal to the nanodollar are a tie, which the name decides: which of two equal sums
    # is larger in its last bit depends only on the order the database added the rows in.
    key, cost = max(priced, key=lambda item: (round(item[1], 9), item[0]))
    share = cost / total_cost
    noun = "Agent" if kind == "largest_agent" else "Model"
    return Recommendation(
        kind=kind,
        subject=key,
        share=share,
        cost_usd=cost,
        baseline_cost_usd=total_cost,
        text=(
            f"{noun} {key} accounts for {share:.0%} of the cost "
            f"({display.usd(cost)} of {display.usd(total_cost)}): the first place to look for "
            "savings."
        ),
    )


def _recommendations(
    pairs: list[ModelUsage], total: TrendRow, cost_of: CostFunction | None
) -> Iterable[Recommendation]:
    """The recommendations of a window whose rows sum to ``pairs`` per (agent, model)."""
    total_cost = total.cost_usd
    if total_cost is None or total_cost <= 0:
        return
    per_agent: dict[str, list[float | None]] = {}
    for pair in pairs:
        per_agent.setdefault(pair.agent if pair.agent is not None else NO_VALUE, []).append(
            pair.cost_usd
        )
    if len(per_agent) > 1:
        agent_costs = ((name, sum_known(costs)) for name, costs in per_agent.items())
        found = _largest_share(agent_costs, total_cost, "largest_agent")
        if found is not None:
            yield found
    usage = usage_by_model(pairs)
    model_costs = ((u.model if u.model is not None else NO_VALUE, u.cost_usd) for u in usage)
    found = _largest_share(model_costs, total_cost, "largest_model")
    if found is not None:
        yield found
    if cost_of is None:
        return
    candidates = sorted({u.model for u in usage if u.model is not None and u.model != "offline"})
    if len(candidates) < 2 or any(u.unpriced_rows for u in usage):
        # One model leaves nothing to compare; unpriced rows would make the baseline a lower bound.
        return
    repriced: dict[str, float] = {}
    for candidate in candidates:
        # The whole usage must have a price on the candidate, or the figure is not comparable.
        candidate_cost = sum_exact(cost_of(candidate, u) for u in usage)
        if candidate_cost is not None:
            repriced[candidate] = candidate_cost
    if not repriced:
        return
    cheapest = min(repriced, key=lambda name: (repriced[name], name))
    cost = repriced[cheapest]
    if cost >= total_cost:
        return
    saving = 1 - cost / total_cost
    yield Recommendation(
        kind="cheapest_model",
        subject=cheapest,
        cost_usd=cost,
        baseline_cost_usd=total_cost,
        text=(
            f"The same usage on {cheapest}, the cheapest model used in this window, would have "
            f"cost {display.usd(cost)} instead of {display.usd(total_cost)} ({saving:.0%} less), "
            "at list prices."
        ),
    )
