"""``memory-banker tokens sessions|stats|limits|trends``: what the ledger says about usage.

Each command parses its options, calls one library function of ``token_tracking.history``, and
renders the result (a Rich table on stdout, or one JSON document with ``--json``). Queries default
to the current project (its git root, else its resolved path); ``--all-projects`` widens. Limits
are per user: every project counts.
"""

from __future__ import annotations

import difflib
from datetime import datetime
from pathlib import Path
from typing import TypeVar, get_args

import click
from rich import box
from rich.console import Console, JustifyMethod
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from memory_banker.cli.common import (
    DB_URL,
    AppContext,
    days_in_range,
    emit_json,
    pass_app,
    stdout_console,
    window_label,
)
from memory_banker.errors import UsageError
from pricing import load_pricebook
from token_tracking import display
from token_tracking.history.ledger import Ledger, project_key
from token_tracking.history.limits import LimitsReport, amount, limits_status
from token_tracking.history.models import SessionDetail, SessionSummary
from token_tracking.history.stats import STATS_PERIODS, UsageStats, usage_stats
from token_tracking.history.trends import (
    TREND_BY,
    TrendRow,
    TrendsResult,
    compute_trends,
    pricebook_cost,
)
from token_tracking.records import IntervalUsage, ReportSource
from token_tracking.settings import interval_minutes, load_settings

T = TypeVar("T")

_LEVEL_STYLE = {"ok": "green", "warning": "yellow", "critical": "red", "exceeded": "red"}

ALL_PROJECTS = click.option(
    "--all-projects", is_flag=True, help="Read every project in the ledger, not only this one."
)
"""The ``--all-projects`` option of the ledger commands."""
JSON = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
"""The ``--json`` option of the ledger commands."""
INCLUDE_OFFLINE = click.option(
    "--include-offline", is_flag=True, help="Count runs of the offline engine too."
)
"""The ``--include-offline`` option of the ledger commands."""


def _check_sources(
    ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
) -> tuple[str, ...]:
    """``--source`` values, checked against the ledger's sources (one error line otherwise)."""
    for name in value:
        if name not in LEDGER_SOURCES:
            close = difflib.get_close_matches(name, LEDGER_SOURCES, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise UsageError(
                f"--source {name!r} is not a source: choose from {', '.join(LEDGER_SOURCES)}{hint}"
            )
    return value


LEDGER_SOURCES: tuple[str, ...] = get_args(ReportSource)
"""Every source a ledger row can have."""

SOURCES = click.option(
    "--source",
    "sources",
    multiple=True,
    metavar="NAME",
    callback=_check_sources,
    help="Only usage of this source: llm, offline, manual, import, claude-code, codex or gemini "
    "(repeatable).",
)
"""The ``--source`` option of the history commands."""
USER = click.option(
    "--user",
    metavar="NAME",
    help="Only usage recorded by this user (TOKEN_TRACKING_USER, else the OS user).",
)
"""The ``--user`` option of the history commands."""


def local_time(moment: datetime) -> str:
    """``2026-01-31 14:05:09`` in the local time zone."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def scope(app: AppContext, all_projects: bool) -> str | None:
    """The project a query reads (its ledger key), or ``None`` for every project."""
    return None if all_projects else project_key(app.project_path)


def _scope_label(project: str | None) -> str:
    return "all projects" if project is None else f"project {display.printable(project)}"


def _lower_bound(coverage: float | None) -> bool:
    """True when a cost covers only part of the tokens (``priced_coverage`` below 1)."""
    return coverage is not None and coverage < 1


# --- rendering ------------------------------------------------------------------------------------


_SESSION_HEADERS = (
    "Session",
    "Started",
    "Duration",
    "Command",
    "Project",
    "Model",
    "Tokens",
    "Cost",
    "Status",
)
# Least wanted first: the duration, then the command, the start time and the status go before a
# model name or a cost is ever cut.
_SESSION_DROP_ORDER = ("Duration", "Command", "Started", "Status")
_PROJECT_WIDTH = 16
"""The project column (``--all-projects``) shows the folder's name, cut to this width."""


def render_sessions(console: Console, sessions: list[SessionSummary], project: str | None) -> None:
    """Print the recent-sessions table: id, start, duration, command, model, tokens, cost and
    status; across all projects (``project`` is ``None``) a project column (the folder's name)
    too.

    The table fits the console's width: model names and costs are never cut; when the columns do
    not fit, the duration goes first, then the command, then the start time's year, the start
    time and the status, in that order; the project name is cut to 16 characters.
    """
    if not sessions:
        console.print(f"No sessions in the ledger for {_scope_label(project)}: no data.")
        return
    rows: list[tuple[str, ...]] = [
        (
            session.session_id[:8],
            session.start_time.astimezone().strftime("%Y-%m-%d %H:%M"),
            display.clock(session.duration_seconds),
            display.printable(session.command),
            display.printable(Path(session.project).name or session.project),
            display.printable(session.model or "-"),
            # "≥": some request returned no usage, so the known sum is a lower bound.
            ("≥" if session.unknown_usage_requests > 0 and session.total_tokens is not None else "")
            + display.tokens(session.total_tokens),
            display.usd(session.cost_usd, lower_bound=_lower_bound(session.priced_coverage)),
            display.printable(session.status),
        )
        for session in sessions
    ]
    headers = list(_SESSION_HEADERS)
    if project is not None:
        headers.remove("Project")
        rows = [row[:4] + row[5:] for row in rows]
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=True)]
    if "Project" in headers:
        at = headers.index("Project")
        widths[at] = min(widths[at], _PROJECT_WIDTH)
    drop_order = [headers.index(name) for name in _SESSION_DROP_ORDER]
    keep = display.fit_columns(widths, drop_order, console.width, gap=1)
    started = headers.index("Started")
    if started not in keep:
        # Before the start time goes, its year goes: "12-05 14:05".
        rows = [(*row[:started], row[started][5:], *row[started + 1 :]) for row in rows]
        widths[started] = max(len(row[started]) for row in rows)
        keep = display.fit_columns(widths, drop_order, console.width, gap=1)
    # No cell padding and no outer edge: one space between columns.
    table = Table(
        title="Recent Token Tracking Sessions", box=box.SIMPLE_HEAD, show_edge=False, padding=0
    )
    for index in keep:
        name = headers[index]
        justify: JustifyMethod = "right" if name in ("Duration", "Tokens", "Cost") else "left"
        if name == "Project":
            table.add_column(name, no_wrap=True, overflow="ellipsis", max_width=_PROJECT_WIDTH)
        else:
            # "fold" rather than "ellipsis": a model name too long for any terminal wraps whole.
            table.add_column(name, justify=justify, no_wrap=name != "Model", overflow="fold")
    for row in rows:
        table.add_row(*(escape(row[index]) for index in keep))
    console.print(table)
    dropped = [name for name in _SESSION_DROP_ORDER if headers.index(name) not in keep]
    if dropped:
        console.print(display.left_out(dropped, console.width), markup=False)
    console.print("Use --session-id ID (a prefix is enough) to see a session's intervals.")


def _minutes_label(minutes: float) -> str:
    return f"{minutes:g}"


def _interval_cells(interval: IntervalUsage, label: str, requests_known: bool) -> tuple[str, ...]:
    return (
        label,
        display.clock(interval.duration_seconds),
        display.tokens(interval.prompt_tokens),
        display.tokens(interval.completion_tokens),
        display.tokens(interval.total_tokens),
        display.usd(interval.cost_usd),
        display.tokens(interval.requests if requests_known else None, unknown="-"),
    )


def render_session_detail(console: Console, detail: SessionDetail) -> None:
    """Print a session's table of usage per interval, with a TOTAL row."""
    session = detail.session
    console.print(
        display.printable(
            f"Session {session.session_id[:8]}  {local_time(session.start_time)}  "
            f"{session.command}  {session.model or '-'}  {session.status}"
        ),
        markup=False,
    )
    table = Table(
        title=f"Token Usage by {_minutes_label(detail.interval_minutes)}-Minute Intervals",
        box=box.SQUARE,
        show_footer=False,
    )
    for name in ("Interval", "Duration", "Tokens (in)", "Tokens (out)", "Total", "Cost"):
        table.add_column(name, justify="left" if name == "Interval" else "right")
    table.add_column("Reqs", justify="right")
    unknown = set(detail.unknown_requests)
    for interval in detail.intervals:
        known = interval.index not in unknown
        table.add_row(*_interval_cells(interval, str(interval.index), known))
    table.add_section()
    table.add_row(*_interval_cells(detail.total, "TOTAL", 0 not in unknown))
    console.print(table)


def render_stats(console: Console, stats: UsageStats) -> None:
    """Print the statistics table: sessions, requests, tokens by kind, cost, tokens per request;
    with no usage, one line saying there is no data."""
    title = f"Token Usage Statistics: {stats.title}"
    if stats.period != "session":
        title += ", offline runs " + ("included" if stats.include_offline else "excluded")
    console.print(title, markup=False)
    if stats.sessions == 0:
        console.print(f"No usage in the ledger for {_scope_label(stats.project)}: no data.")
        return
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("Metric")
    table.add_column("Value", justify="right")
    table.add_row("Sessions", display.tokens(stats.sessions))
    table.add_row("Total Requests", display.tokens(stats.requests))
    table.add_row("Input Tokens", display.tokens(stats.prompt_tokens))
    table.add_row("Cached Input Tokens", display.tokens(stats.cached_tokens))
    table.add_row("Output Tokens", display.tokens(stats.completion_tokens))
    table.add_row("Total Tokens", display.tokens(stats.total_tokens))
    cost = display.usd(stats.cost_usd, lower_bound=_lower_bound(stats.priced_coverage))
    table.add_row("Total Cost", cost)
    average = stats.average_tokens_per_request
    table.add_row("Avg Tokens/Request", f"{average:,.0f}" if average is not None else "-")
    console.print(table)


_SHORT_WINDOW = {"last 60 minutes": "1 h", "last 24 hours": "24 h", "last 30 days": "30 d"}
_SHORT_UNIT = {"requests": " req", "tokens": " tok", "usd": ""}


def render_limits(console: Console, report: LimitsReport) -> None:
    """Print every configured limit in a panel coloured by the worst level."""
    legend = (
        "req = requests, tok = tokens; * default value.\n"
        f"Green below {report.warning_threshold:g}%, yellow from "
        f"{report.warning_threshold:g}%, red from {report.critical_threshold:g}%.\n"
        "Every project counts; offline runs never do."
    )
    table = Table(box=box.SIMPLE_HEAD, caption=legend, caption_justify="left", pad_edge=False)
    for name in ("Limit", "Window", "Used", "Of", "Usage", "Status"):
        table.add_column(
            name, justify="right" if name in ("Used", "Of", "Usage") else "left", no_wrap=True
        )
    worst = "ok"
    order = list(_LEVEL_STYLE)
    for status in report.limits:
        style = _LEVEL_STYLE[status.level]
        if order.index(status.level) > order.index(worst):
            worst = status.level
        table.add_row(
            status.variable + ("" if status.explicit else "*"),
            _SHORT_WINDOW.get(status.window, status.window),
            amount(status.used, status.unit, lower_bound=status.lower_bound),
            amount(status.limit, status.unit) + _SHORT_UNIT[status.unit],
            Text(f"{status.percent:.1f}%", style=style),
            Text(status.level, style=style),
        )
    console.print(
        Panel(table, title="Usage Limits", border_style=_LEVEL_STYLE[worst], expand=False)
    )
    if report.provider_limits:
        render_provider_limits(console, report)


def render_provider_limits(console: Console, report: LimitsReport) -> None:
    """Print the latest rate limits each provider reported per model: remaining, reset, age."""
    console.print("Provider rate limits (per minute, as last reported)")
    for snapshot in report.provider_limits:
        age = display.span(max((report.checked_at - snapshot.fetched_at).total_seconds(), 0.0))
        console.print(
            display.printable(
                f"{snapshot.provider}/{snapshot.model}, {age} ago ({snapshot.source})"
            ),
            markup=False,
            soft_wrap=True,
        )
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
        for name in ("Limit", "Remaining", "Of", "Resets"):
            table.add_column(name, justify="left" if name == "Limit" else "right", no_wrap=True)
        for kind, window in snapshot.limits.items():
            reset = snapshot.reset_at(kind)
            left = (reset - report.checked_at).total_seconds() if reset is not None else None
            table.add_row(
                kind.replace("_", " "),
                display.tokens(window.remaining, unknown="-"),
                display.tokens(window.limit, unknown="-"),
                "-" if left is None else ("reset" if left <= 0 else "in " + display.span(left)),
            )
        console.print(table)


_BY_TITLE = {
    "day": ("Daily Usage", "Date"),
    "week": ("Weekly Usage (weeks start on Monday)", "Week Starting"),
    "month": ("Monthly Usage", "Month"),
    "branch": ("Usage by Branch", "Branch"),
    "model": ("Usage by Model", "Model"),
    "agent": ("Usage by Agent", "Agent"),
    "command": ("Usage by Command", "Command"),
    "user": ("Usage by User", "User"),
    "machine": ("Usage by Machine", "Machine"),
    "commit": ("Usage by Commit (attributed by the post-commit hook)", "Commit"),
}


def _trend_cells(row: TrendRow) -> tuple[str, ...]:
    return (
        display.printable(row.key, markup=True),
        display.tokens(row.sessions),
        display.tokens(row.total_tokens),
        display.usd(row.cost_usd, lower_bound=_lower_bound(row.priced_coverage)),
    )


def render_trends(console: Console, result: TrendsResult) -> None:
    """Print the trends table and the insights; with no usage in the window, one line saying
    there is no data."""
    window = window_label(result.days)
    offline = "offline runs included" if result.include_offline else "offline runs excluded"
    console.print(f"Usage over {window}, {_scope_label(result.project)}, {offline}")
    if not result.rows:
        console.print("No usage in this window: no data.")
        return
    title, first = _BY_TITLE[result.by]
    table = Table(title=title, box=box.SIMPLE_HEAD)
    # A model or branch name is never cut: too long for the terminal, it wraps whole.
    table.add_column(first, no_wrap=True, overflow="fold")
    for name in ("Sessions", "Tokens", "Cost"):
        table.add_column(name, justify="right")
    for row in result.rows:
        table.add_row(*_trend_cells(row))
    table.add_section()
    table.add_row(*_trend_cells(result.totals))
    console.print(table)
    insights = result.insights
    lines: list[str] = []
    if insights.peak_day is not None:
        lines.append(
            f"Peak usage day:          {insights.peak_day} ({insights.peak_day_tokens:,} tokens)"
        )
    if insights.most_active_branch is not None:
        branch = display.printable(insights.most_active_branch, markup=True)
        lines.append(
            f"Most active branch:      {branch} ({insights.most_active_branch_tokens:,} tokens)"
        )
    if insights.average_tokens_per_day is not None:
        lines.append(
            f"Average per day:         {insights.average_tokens_per_day:,.0f} tokens "
            f"over {insights.days_counted} calendar day{'' if insights.days_counted == 1 else 's'}"
        )
    projected = insights.projected_monthly_cost
    if projected is not None:
        cost = display.usd(projected, lower_bound=_lower_bound(result.totals.priced_coverage))
        lines.append(f"Projected monthly cost:  {cost} (the daily average cost x 30)")
    wow = insights.week_over_week
    change = f"{wow.change_percent:+.0f}%" if wow.change_percent is not None else "n/a"
    lines.append(
        f"Week over week:          {change} (last 7 days {wow.last_7_days_tokens:,} tokens, "
        f"the 7 before {wow.previous_7_days_tokens:,})"
    )
    for recommendation in insights.recommendations:
        lines.append(f"- {display.printable(recommendation.text, markup=True)}")
    console.print(Panel("\n".join(lines), title="Insights", expand=False))


# --- commands -------------------------------------------------------------------------------------


def _session_id_option(value: str | None) -> str | None:
    """``--session-id`` as given; an empty id is a usage error naming the option."""
    if value is not None and not value.strip():
        raise UsageError("--session-id must not be empty")
    return value


@click.command("sessions")
@click.option(
    "--limit", type=click.IntRange(min=1), default=10, show_default=True, help="Sessions to list."
)
@click.option("--session-id", metavar="ID", help="Show this session's intervals (a prefix works).")
@click.option(
    "--commit",
    metavar="SHA",
    help="Only sessions with usage the post-commit hook attributed to this commit.",
)
@SOURCES
@USER
@ALL_PROJECTS
@JSON
@DB_URL
@pass_app
def sessions(
    app: AppContext,
    limit: int,
    session_id: str | None,
    commit: str | None,
    sources: tuple[str, ...],
    user: str | None,
    all_projects: bool,
    as_json: bool,
) -> None:
    """List recent sessions from the ledger, or one session's usage per interval.

    Intervals are TOKEN_INTERVAL_MINUTES long (default 5); the last one may be partial.
    An unknown session id is an error (exit 2).

    \b
    Examples:
      memory-banker tokens sessions --limit 20
      memory-banker tokens sessions --session-id 3f2a9c
      memory-banker tokens sessions --source claude-code --source codex
      memory-banker tokens sessions --all-projects --user ci
    """
    session_id = _session_id_option(session_id)
    if commit is not None and not commit.strip():
        raise UsageError("--commit must not be empty")
    with Ledger() as ledger:
        if session_id is not None:
            detail = ledger.session_detail(session_id, interval_minutes())
            if as_json:
                emit_json(detail)
            else:
                render_session_detail(stdout_console(), detail)
            return
        project = scope(app, all_projects)
        found = ledger.sessions(
            project=project, limit=limit, sources=sources, commit=commit, user=user
        )
    if as_json:
        emit_json(found)
    else:
        render_sessions(stdout_console(), found, project)


@click.command("stats")
@click.option(
    "--period",
    type=click.Choice(["hourly", "daily", "session"]),
    default="daily",
    show_default=True,
    help="Last 60 minutes, last 24 hours, or one session (the latest without --session-id).",
)
@click.option("--session-id", metavar="ID", help="Show this session's figures (a prefix works).")
@INCLUDE_OFFLINE
@SOURCES
@USER
@ALL_PROJECTS
@JSON
@DB_URL
@pass_app
def stats(
    app: AppContext,
    period: str,
    session_id: str | None,
    include_offline: bool,
    sources: tuple[str, ...],
    user: str | None,
    all_projects: bool,
    as_json: bool,
) -> None:
    """Show requests, tokens and cost of the last hour, the last day, or a session.

    Offline runs are left out of the hourly and daily figures unless --include-offline.
    Tokens per request count only usage with a known request count (not manual entries).

    \b
    Examples:
      memory-banker tokens stats --period hourly
      memory-banker tokens stats --period session --session-id 3f2a9c --json
    """
    with Ledger() as ledger:
        result = usage_stats(
            ledger,
            _choice(STATS_PERIODS, period),
            project=scope(app, all_projects),
            session_id=_session_id_option(session_id),
            sources=sources,
            user=user,
            include_offline=include_offline,
        )
    if as_json:
        emit_json(result)
    else:
        render_stats(stdout_console(), result)


@click.command("limits")
@JSON
@DB_URL
def limits(as_json: bool) -> None:
    """Show usage against every configured limit over its rolling window (all projects).

    Requests: CLAUDE_HOURLY_LIMIT (500, last 60 minutes), CLAUDE_DAILY_LIMIT (5000, last 24 h).
    Tokens: TOKEN_HOURLY_LIMIT, TOKEN_DAILY_LIMIT. Dollars: TOKEN_DAILY_BUDGET_USD (last 24 h),
    TOKEN_MONTHLY_BUDGET_USD (last 30 days). Colours follow TOKEN_WARNING_THRESHOLD (50) and
    TOKEN_CRITICAL_THRESHOLD (80). Below them, the latest rate limits each provider reported
    (tokens fetch-limits, or any tracked response): remaining, reset and age.

    \b
    Examples:
      memory-banker tokens limits
      TOKEN_DAILY_BUDGET_USD=5 memory-banker tokens limits --json
    """
    settings = load_settings()
    with Ledger() as ledger:
        report = limits_status(ledger, settings)
    if as_json:
        emit_json(report)
    else:
        render_limits(stdout_console(), report)


@click.command("trends")
@click.option(
    "--days",
    type=int,
    callback=days_in_range,
    default=30,
    show_default=True,
    help="The last N local calendar days including today (0 = all time).",
)
@click.option(
    "--by",
    type=click.Choice(TREND_BY),
    default="day",
    show_default=True,
    help="Group by period or by dimension.",
)
@INCLUDE_OFFLINE
@SOURCES
@USER
@ALL_PROJECTS
@JSON
@DB_URL
@pass_app
def trends(
    app: AppContext,
    days: int,
    by: str,
    include_offline: bool,
    sources: tuple[str, ...],
    user: str | None,
    all_projects: bool,
    as_json: bool,
) -> None:
    """Show usage per day, week, month, branch, model, agent, command, user, machine or commit.

    Insights: peak day, most active branch, average tokens per day, projected monthly cost (the
    window's daily average x 30), week-over-week change, and recommendations.

    \b
    Examples:
      memory-banker tokens trends --days 7
      memory-banker tokens trends --days 0 --by branch --json
      memory-banker tokens trends --by commit --source claude-code
      memory-banker tokens trends --all-projects --by machine
    """
    book = load_pricebook(app.pricing_file)
    with Ledger() as ledger:
        result = compute_trends(
            ledger,
            days=days,
            by=_choice(TREND_BY, by),
            project=scope(app, all_projects),
            include_offline=include_offline,
            cost_of=pricebook_cost(book),
            sources=sources,
            user=user,
        )
    if as_json:
        emit_json(result)
    else:
        render_trends(stdout_console(), result)


def _choice(options: tuple[T, ...], value: str) -> T:
    """The typed member of ``options`` that click's ``Choice`` already validated ``value`` as."""
    for option in options:
        if option == value:
            return option
    raise UsageError(f"expected one of {', '.join(map(str, options))}, got {value!r}")
