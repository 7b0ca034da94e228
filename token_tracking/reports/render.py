"""The report as people read it, printed with Rich: a 60-column frame, the totals, one line per
agent, then the interval table when the session spanned more than one interval; and the listing
of a project's reports (``tokens --list-all``) and a report's cost on other models
(``tokens --price-as``).

Plain text when the console is not a terminal (Rich drops styles), and the line
``Estimated Cost: $0.0531 USD`` keeps its shape so ``grep "Estimated Cost" | grep -o '\\$[0-9.]*'``
extracts the figure. An unknown cost is written ``unknown`` with the reason, never ``$0.0000``; a
partly priced total is written as a lower bound.

The functions read a ``TokenUsageReport`` and never build one, so the class is imported for type
hints only: :mod:`token_tracking.reports.file`, which defines it, calls down into this module. They
read nothing but attributes, so they also print the validated document the report index keeps of
the latest report (:meth:`token_tracking.reports.listing.ReportListing.document`) without pydantic
being imported: this module imports neither pydantic nor the price table at its top.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from token_tracking import display
from token_tracking.counts import sum_exact

if TYPE_CHECKING:
    from rich.table import Table

    from pricing import PriceBook
    from token_tracking.records import AgentUsage, IntervalUsage
    from token_tracking.reports.file import TokenUsageReport
    from token_tracking.reports.listing import ReportListing
    from token_tracking.reports.summary import ReportSummary

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
    # "offline" is pricer.OFFLINE_MODEL, spelled out: the pricer is not imported to print.
    if report.model == "offline" or report.source == "offline":
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
        # Imported for 0.1 reports only: the pricer loads pydantic and the price table code,
        # a start-up cost `memory-banker tokens` does not pay for a current report.
        from token_tracking.reports.pricer import calculate_cost

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
    # Imported when a table is printed: most reports span one interval and print none, and
    # these modules add a tenth to the start-up of `memory-banker tokens`.
    from rich import box
    from rich.table import Table

    from token_tracking.intervals import format_minutes

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


# --- the listing, and the same usage on other models ----------------------------------------------


def _listing_cost(summary: ReportSummary) -> str:
    lower = summary.priced_coverage is not None and summary.priced_coverage < 1.0
    text = display.usd(
        summary.total_cost_usd, lower_bound=lower and summary.total_cost_usd is not None
    )
    if summary.schema_version is None and summary.total_cost_usd is not None:
        text += "*"
    return text


# Least wanted first: agents ok/total, the command, the date (the file name holds it too), the
# status and the tokens go before a file name, a model name or a cost is ever cut.
_LISTING_DROP_ORDER = (5, 2, 1, 4, 6)


_MODEL_COLUMN = 3
"""The listing's model column (see :func:`render_listing`)."""
_MIN_WRAP = 12
"""The narrowest a wrapped model column gets: below it the table is left wider instead."""


def _wrap_cell(row: tuple[str, ...], column: int, room: int) -> list[tuple[str, ...]]:
    """``row``, with its ``column`` cell split into ``room``-wide pieces on continuation rows
    whose other cells are empty, when the cell is wider than ``room`` (at least ``_MIN_WRAP``)."""
    cell = row[column]
    if room < _MIN_WRAP or len(cell) <= room:
        return [row]
    pieces = [cell[at : at + room] for at in range(0, len(cell), room)]
    return [
        tuple(
            piece if index == column else (value if n == 0 else "")
            for index, value in enumerate(row)
        )
        for n, piece in enumerate(pieces)
    ]


def render_listing(listing: ReportListing, console: Console, *, limit: int | None = None) -> None:
    """Print the listing as a table, newest first: file, date (the end time in local time, like
    the file names), command, model, status, agents ok/total, tokens, cost; ``limit`` keeps the
    newest ``limit`` rows.

    The table fits the console's width: file names, model names and costs are never cut; when
    the columns do not fit, the agents column goes first, then the command, the date, the status
    and the tokens, and a model name still too long wraps onto continuation lines.

    A 0.1 report's stored cost is marked ``*`` (its table was wrong; showing the report re-prices
    it), a lower bound ``≥``.
    """
    shown = listing.reports if limit is None else listing.reports[:limit]
    rows = [
        (
            display.printable(s.file),
            # Each report keeps the offset it was written with; one zone keeps the column in order.
            s.end_time.astimezone().strftime("%Y-%m-%d %H:%M"),
            display.printable(s.command),
            display.printable(s.model or "-"),
            s.status,
            f"{s.successful_agents}/{s.agents_total}",
            display.tokens(s.total_tokens),
            _listing_cost(s),
        )
        for s in shown
    ]
    headers = ("File", "Date", "Command", "Model", "Status", "Agents", "Tokens", "Cost")
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=True)]
    keep = display.fit_columns(widths, _LISTING_DROP_ORDER, console.width)
    # A model name longer than the room left wraps onto continuation lines: never cut.
    room = console.width - sum(widths[i] + 2 for i in keep if i != _MODEL_COLUMN)
    wrapped = [piece for row in rows for piece in _wrap_cell(row, _MODEL_COLUMN, room)]
    lines = display.columns(
        [headers[i] for i in keep],
        ([row[i] for i in keep] for row in wrapped),
        right=[at for at, i in enumerate(keep) if i >= 5],
    )
    total = len(listing.reports)
    if not shown:
        footer = [f"No token reports in {listing.folder}"]
    elif len(shown) < total:
        footer = ["", f"Showing the newest {len(shown)} of {display.plural(total, 'report')}."]
    else:
        footer = ["", f"{display.plural(total, 'report')}, newest first."]
    if any(s.schema_version is None and s.total_cost_usd is not None for s in shown):
        footer.append("* cost stored by memory-banker 0.1; --report-file F re-prices it.")
    body = [lines[0], "-" * len(lines[0]), *lines[1:]] if shown else []
    # Plain text straight to the console's file: Rich would build a Text per line, ~0.2 s for
    # 10,000 rows, to print nothing it styles.
    console.file.write("\n".join(body + footer) + "\n")


def render_price_as(
    report: TokenUsageReport, pricebook: PriceBook, models: Sequence[str], console: Console
) -> None:
    """Print what ``report``'s usage would cost on each of ``models``, beside its cost under
    today's table on its own models, with the difference and the ratio."""
    # Imported here: the pricer loads the price table code, which a listing never needs.
    from token_tracking.reports.pricer import price_report

    here = price_report(report, pricebook)
    rows = [
        (
            f"this run ({display.printable(report.model or 'its models')})",
            "",
            display.usd(here.cost_usd, lower_bound=here.cost_usd is not None and not here.complete),
            "",
        )
    ]
    for model in models:
        priced = price_report(report, pricebook, as_model=model)
        resolution = pricebook.lookup(model)
        if resolution is None:
            close = pricebook.suggestions(model)
            hint = f"did you mean {', '.join(close)}?" if close else "no price known"
            rows.append((model, "unknown", "unknown", hint))
            continue
        if priced.cost_usd is None:
            # A known model: suggesting close names would point at a typo that is not there.
            hint = (
                "no per-token price in the table"
                if not resolution.entry.has_token_price
                else "token counts unknown"
            )
            rows.append((model, resolution.key, "unknown", hint))
            continue
        change = ""
        if here.cost_usd is not None and here.complete:
            change = display.signed_usd(priced.cost_usd - here.cost_usd)
            if here.cost_usd > 0:
                change += f" ({priced.cost_usd / here.cost_usd:.1f}x)"
        rows.append((model, resolution.key, display.usd(priced.cost_usd), change))
    table = display.columns(("Model", "Priced as", "Cost", "vs this run"), rows, right=(2,))
    lines = ["", "Same usage on other models (today's table):", *(f"  {line}" for line in table)]
    console.out("\n".join(lines), highlight=False)
