"""The report as people read it: seed 002's layout, printed with Rich.

Plain text when the console is not a terminal (Rich drops styles), and the line
``Estimated Cost: $0.0531 USD`` keeps its shape so ``grep "Estimated Cost" | grep -o '\\$[0-9.]*'``
still extracts the figure. An unknown cost is written ``unknown`` with the reason, never
``$0.0000``; a partly priced total is written as a lower bound.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from pricing import PriceBook
from token_tracking.intervals import format_cost, format_minutes
from token_tracking.records import AgentUsage, IntervalUsage, TokenUsageReport
from token_tracking.reports.build import OFFLINE_MODEL, calculate_cost

_NAME_WIDTH = 16

RULE = "=" * 60
"""The report's frame: seed 002's 60 columns, whatever the terminal's width, so the end of a run
and `memory-banker tokens` print the same report."""


def _count(value: int | None) -> str:
    return "unknown" if value is None else f"{value:,}"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


def _clock(seconds: float) -> str:
    """Return ``m:ss`` (``h:mm:ss`` from an hour), as seed 000's interval table writes it."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


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
    if not parts:
        agents = report.agent_usage
        if any(agent.model is None for agent in agents) or (not agents and report.model is None):
            parts.append("requests without a model")
        elif agents:
            # Every model is priced: what is missing are counts a provider did not return.
            parts.append("a provider did not return every token count")
    return "; ".join(parts) if parts else None


def cost_line(report: TokenUsageReport) -> str:
    """Return ``Estimated Cost: $0.0531 USD``, or the unknown / lower-bound form with its reason."""
    reason = unknown_reason(report)
    if report.total_cost_usd is None:
        return "Estimated Cost: unknown" + (f" ({reason})" if reason else "")
    # No thousands separator: the documented `grep -o '\$[0-9.]*'` extraction must read it whole.
    figure = f"${report.total_cost_usd:.4f} USD"
    notes: list[str] = []
    coverage = report.priced_coverage
    if coverage is not None and coverage < 1:
        figure = "at least " + figure
        notes.append(f"lower bound: {coverage:.0%} of tokens priced")
        if reason:
            notes.append(reason)
    if report.pricing is not None and any(m.custom for m in report.pricing.models):
        notes.append("custom prices")
    if report.model == OFFLINE_MODEL or report.source == "offline":
        notes.append("offline engine, free")
    return f"Estimated Cost: {figure}" + (f" ({'; '.join(notes)})" if notes else "")


def _agent_lines(agent: AgentUsage, name_width: int) -> list[Text]:
    mark = "✅" if agent.success else "❌"
    tokens = _count(agent.total_tokens)
    line = Text(f"  {mark} ")
    line.append(f"{agent.agent_name:<{name_width}}", style="bold")
    line.append(
        f" | Tokens: {tokens:>8} | Cost: {format_cost(agent.cost_usd):>9}"
        f" | Duration: {_seconds(agent.duration_seconds):>7}"
    )
    lines = [line]
    extras = [
        f"{label} {value:,}"
        for label, value in (
            ("cached", agent.cached_tokens),
            ("cache-write", agent.cache_write_tokens),
            ("reasoning", agent.reasoning_tokens),
        )
        if value is not None and value != 0
    ]
    if extras:
        if agent.requests is not None:
            noun = "request" if agent.requests == 1 else "requests"
            extras.append(f"{agent.requests} {noun}")
        lines.append(Text("       " + " · ".join(extras), style="dim"))
    if not agent.success:
        error = agent.error if agent.error is not None else "unknown error"
        lines.append(Text(f"       Error: {error}", style="red"))
    return lines


def render_report(
    report: TokenUsageReport, console: Console, *, pricebook: PriceBook | None = None
) -> None:
    """Print ``report`` to ``console`` in seed 002's layout, then its interval table when the
    session spanned more than one interval.

    A 0.1 report (no ``schema_version``) shows its stored cost and, when today's table gives a
    different figure, that figure on the next line. Raises PricingError only when the price
    table cannot be loaded for that comparison.
    """
    total_agents = report.successful_agents + report.failed_agents
    console.print(RULE, highlight=False, markup=False)
    console.print(Text("TOKEN USAGE REPORT", style="bold"), highlight=False)
    console.print(RULE, highlight=False, markup=False)
    head = [
        f"Model: {report.model if report.model is not None else 'unknown'}",
        f"Total Duration: {_seconds(report.total_duration_seconds)}",
        f"Successful Agents: {report.successful_agents}/{total_agents}",
    ]
    if report.status != "success":
        head.append(f"Status: {report.status.replace('_', ' ')}")
    for text in head:
        console.print(text, highlight=False, markup=False)
    console.print()
    totals = [
        f"Total Prompt Tokens: {report.total_prompt_tokens:,}",
        f"Total Completion Tokens: {report.total_completion_tokens:,}",
        f"Total Tokens: {report.total_tokens:,}",
    ]
    for label, value in (
        ("Cached Prompt Tokens", report.total_cached_tokens),
        ("Cache-Write Prompt Tokens", report.total_cache_write_tokens),
        ("Reasoning Tokens", report.total_reasoning_tokens),
    ):
        if value is not None and value != 0:
            totals.append(f"  {label}: {value:,}")
    if report.total_requests is not None:
        totals.append(f"Requests: {report.total_requests:,}")
    for text in totals:
        console.print(text, highlight=False, markup=False)
    # Never wrapped: scripts grep this line for the figure.
    console.print(Text(cost_line(report), style="bold"), highlight=False, soft_wrap=True)
    if report.schema_version is None:
        today = calculate_cost(report, pricebook=pricebook)
        stored = report.total_cost_usd
        if today is not None and (stored is None or f"{today:.4f}" != f"{stored:.4f}"):
            console.print(
                f"  (written by memory-banker 0.1; today's price table gives {format_cost(today)}"
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
        console.print(f"Not run: {', '.join(report.agents_not_run)}", highlight=False, markup=False)
    console.print(RULE, highlight=False, markup=False)
    if len(report.intervals) > 1:
        console.print()
        render_intervals(report.intervals, console)


def interval_table(intervals: Sequence[IntervalUsage], minutes: float | None = None) -> Table:
    """Return seed 000's interval table with a TOTAL row; ``minutes`` names the interval length
    in the title (default: the first interval's length)."""
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
            _clock(interval.duration_seconds),
            f"{interval.prompt_tokens:,}",
            f"{interval.completion_tokens:,}",
            f"{interval.total_tokens:,}",
            format_cost(interval.cost_usd),
            f"{interval.requests:,}",
            end_section=position == len(intervals),
        )
    costs = [interval.cost_usd for interval in intervals]
    table.add_row(
        "TOTAL",
        _clock(sum(interval.duration_seconds for interval in intervals)),
        f"{sum(interval.prompt_tokens for interval in intervals):,}",
        f"{sum(interval.completion_tokens for interval in intervals):,}",
        f"{sum(interval.total_tokens for interval in intervals):,}",
        format_cost(None if None in costs else sum(c for c in costs if c is not None)),
        f"{sum(interval.requests for interval in intervals):,}",
        style="bold",
    )
    return table


def render_intervals(
    intervals: Sequence[IntervalUsage], console: Console, minutes: float | None = None
) -> None:
    """Print the interval table (see :func:`interval_table`)."""
    console.print(interval_table(intervals, minutes), highlight=False)
