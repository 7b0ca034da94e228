"""The report as people read it, printed with Rich: a 60-column frame, the totals, one line per
agent, then the interval table when the session spanned more than one interval.

Plain text when the console is not a terminal (Rich drops styles), and the line
``Estimated Cost: $0.0531 USD`` keeps its shape so ``grep "Estimated Cost" | grep -o '\\$[0-9.]*'``
extracts the figure. An unknown cost is written ``unknown`` with the reason, never ``$0.0000``; a
partly priced total is written as a lower bound.

The functions read a ``TokenUsageReport`` and never build one, so the class is imported for type
hints only: :mod:`token_tracking.reports.file`, which defines it, calls down into this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from pricing import PriceBook
from token_tracking import display
from token_tracking.counts import sum_exact
from token_tracking.intervals import format_minutes
from token_tracking.records import AgentUsage, IntervalUsage
from token_tracking.reports.pricer import OFFLINE_MODEL, calculate_cost

if TYPE_CHECKING:
    from token_tracking.reports.file import TokenUsageReport

_NAME_WIDTH = 16

RULE = "=" * 60
"""The frame of the report and of the other plain-text summaries: 60 columns whatever the
terminal's width, so the end of a run and `memory-banker tokens` print the same report."""


def unknown_reason(report: TokenUsageReport) -> str | None:
    """Return why (part of) the report's cost is unknown, naming the unpriced models and the
    close known models suggested for them; None when the report does not say."""
    if report.pricing is None:
        return None
    parts: list[str] = []
    for model in report.pricing.models:
        if model.matched_key is not None:
            continue
        if model.reason is not None:
            # A known name the table prices per second, image or query: no "did you mean".
            parts.append(model.reason)
            continue
        part = f"no price for {model.model!r}"
        if model.suggestions:
            part += f", did you mean {', '.join(model.suggestions)}?"
        parts.append(part)
    for model in report.pricing.models:
        if model.lower_bound_reason is not None:
            parts.append(model.lower_bound_reason)
    if unknown_usage(report) > 0:
        parts.append(f"{display.plural(unknown_usage(report), 'request')} returned no usage")
    if not parts:
        agents = report.agent_usage
        if any(agent.model is None for agent in agents) or (not agents and report.model is None):
            parts.append("requests without a model")
        elif agents:
            # Every model is priced: what is missing are counts a provider did not return.
            parts.append("a provider did not return every token count")
    return "; ".join(parts) if parts else None


def unknown_usage(report: TokenUsageReport) -> int:
    """Return how many requests of ``report`` returned no usage (0 for older reports)."""
    count = report.unknown_usage_requests
    return 0 if count is None else count


def _total(value: int | None, bound: str) -> str:
    return display.tokens(value) if value is None else bound + display.tokens(value)


def cost_line(report: TokenUsageReport) -> str:
    """Return ``Estimated Cost: $0.0531 USD``, or the unknown / lower-bound form with its reason."""
    reason = unknown_reason(report)
    if report.total_cost_usd is None:
        return "Estimated Cost: unknown" + (f" ({reason})" if reason else "")
    figure = f"{display.usd(report.total_cost_usd)} USD"
    notes: list[str] = []
    coverage = report.priced_coverage
    if (coverage is not None and coverage < 1) or unknown_usage(report) > 0:
        figure = "at least " + figure
        if coverage is not None and coverage < 1:
            notes.append(f"lower bound: {coverage:.0%} of tokens priced")
        else:
            notes.append("lower bound")
        if reason:
            notes.append(reason)
    if report.pricing is not None and any(m.custom for m in report.pricing.models):
        notes.append("custom prices")
    if report.model == OFFLINE_MODEL or report.source == "offline":
        notes.append("offline engine, free")
    return f"Estimated Cost: {figure}" + (f" ({'; '.join(notes)})" if notes else "")


def _agent_lines(agent: AgentUsage, name_width: int) -> list[Text]:
    mark = "✅" if agent.success else "❌"
    tokens = display.tokens(agent.total_tokens)
    line = Text(f"  {mark} ")
    line.append(f"{display.printable(agent.agent_name):<{name_width}}", style="bold")
    line.append(
        f" | Tokens: {tokens:>8} | Cost: {display.usd(agent.cost_usd):>9}"
        f" | Duration: {display.seconds(agent.duration_seconds):>7}"
    )
    lines = [line]
    extras = [
        f"{label} {display.tokens(value)}"
        for label, value in (
            ("cached", agent.cached_tokens),
            ("cache-write", agent.cache_write_tokens),
            ("reasoning", agent.reasoning_tokens),
        )
        if value is not None and value != 0
    ]
    if extras:
        if agent.requests is not None:
            extras.append(display.plural(agent.requests, "request"))
        lines.append(Text("       " + " · ".join(extras), style="dim"))
    if not agent.success:
        error = agent.error if agent.error is not None else "unknown error"
        lines.append(Text(f"       Error: {display.printable(error)}", style="red"))
    return lines


def render_report(
    report: TokenUsageReport, console: Console, *, pricebook: PriceBook | None = None
) -> None:
    """Print ``report`` to ``console``: frame, totals, cost line, one line per agent, then its
    interval table when the session spanned more than one interval.

    A 0.1 report (no ``schema_version``) shows its stored cost and, when today's table gives a
    different figure, that figure on the next line. Raises PricingError only when the price
    table cannot be loaded for that comparison.
    """
    total_agents = report.successful_agents + report.failed_agents
    console.print(RULE, highlight=False, markup=False)
    console.print(Text("TOKEN USAGE REPORT", style="bold"), highlight=False)
    console.print(RULE, highlight=False, markup=False)
    head = [
        f"Model: {display.printable(report.model) if report.model is not None else 'unknown'}",
        f"Total Duration: {display.seconds(report.total_duration_seconds)}",
        f"Successful Agents: {report.successful_agents}/{total_agents}",
    ]
    if report.status != "success":
        head.append(f"Status: {report.status.replace('_', ' ')}")
    for text in head:
        console.print(text, highlight=False, markup=False)
    console.print()
    bound = "at least " if unknown_usage(report) > 0 else ""
    totals = [
        f"Total Prompt Tokens: {_total(report.total_prompt_tokens, bound)}",
        f"Total Completion Tokens: {_total(report.total_completion_tokens, bound)}",
        f"Total Tokens: {_total(report.total_tokens, bound)}",
    ]
    for label, value in (
        ("Cached Prompt Tokens", report.total_cached_tokens),
        ("Cache-Write Prompt Tokens", report.total_cache_write_tokens),
        ("Reasoning Tokens", report.total_reasoning_tokens),
    ):
        if value is not None and value != 0:
            totals.append(f"  {label}: {display.tokens(value)}")
    if report.total_requests is not None:
        totals.append(f"Requests: {display.tokens(report.total_requests)}")
    if unknown_usage(report) > 0:
        totals.append(
            f"  No usage returned: {display.plural(unknown_usage(report), 'request')} "
            "(token totals are lower bounds)"
        )
    for text in totals:
        console.print(text, highlight=False, markup=False)
    # Never wrapped: scripts grep this line for the figure.
    console.print(Text(cost_line(report), style="bold"), highlight=False, soft_wrap=True)
    if report.schema_version is None:
        today = calculate_cost(report, pricebook=pricebook)
        stored = report.total_cost_usd
        if today is not None and (stored is None or display.usd(today) != display.usd(stored)):
            console.print(
                f"  (written by memory-banker 0.1; today's price table gives {display.usd(today)}"
                " USD)",
                highlight=False,
                markup=False,
            )
    if report.agent_usage:
        console.print()
        console.print("Per-Agent Breakdown:", highlight=False, markup=False)
        width = max(_NAME_WIDTH, *(len(agent.agent_name) for agent in report.agent_usage))
        for agent in report.agent_usage:
            for text_line in _agent_lines(agent, width):
                console.print(text_line, highlight=False)
    if report.agents_not_run:
        not_run = display.printable(", ".join(report.agents_not_run))
        console.print(f"Not run: {not_run}", highlight=False, markup=False)
    console.print(RULE, highlight=False, markup=False)
    if len(report.intervals) > 1:
        console.print()
        render_intervals(report.intervals, console)


def interval_table(intervals: Sequence[IntervalUsage], minutes: float | None = None) -> Table:
    """Return the interval table (start offset, duration, tokens in and out, cost, requests per
    interval) with a TOTAL row; ``minutes`` names the interval length in the title (default: the
    first interval's length)."""
    if minutes is None:
        minutes = intervals[0].duration_seconds / 60 if intervals else 5.0
    table = Table(
        title=f"Token Usage by {format_minutes(minutes)}-Minute Intervals",
        box=box.SQUARE,
        title_justify="left",
    )
    table.add_column("Interval")
    table.add_column("Duration", justify="right")
    table.add_column("Tokens (in)", justify="right")
    table.add_column("Tokens (out)", justify="right")
    table.add_column("Total", justify="right")
    table.add_column("Cost", justify="right")
    table.add_column("Requests", justify="right")
    for position, interval in enumerate(intervals, start=1):
        table.add_row(
            str(interval.index),
            display.clock(interval.duration_seconds),
            display.tokens(interval.prompt_tokens),
            display.tokens(interval.completion_tokens),
            display.tokens(interval.total_tokens),
            display.usd(interval.cost_usd),
            display.tokens(interval.requests),
            end_section=position == len(intervals),
        )
    # One interval of unknown cost makes the total unknown rather than quietly too low.
    cost = sum_exact(interval.cost_usd for interval in intervals) if intervals else 0.0
    table.add_row(
        "TOTAL",
        display.clock(sum(interval.duration_seconds for interval in intervals)),
        display.tokens(sum(interval.prompt_tokens for interval in intervals)),
        display.tokens(sum(interval.completion_tokens for interval in intervals)),
        display.tokens(sum(interval.total_tokens for interval in intervals)),
        display.usd(cost),
        display.tokens(sum(interval.requests for interval in intervals)),
        style="bold",
    )
    return table


def render_intervals(
    intervals: Sequence[IntervalUsage], console: Console, minutes: float | None = None
) -> None:
    """Print the interval table (see :func:`interval_table`)."""
    console.print(interval_table(intervals, minutes), highlight=False)
