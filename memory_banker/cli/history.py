"""``memory-banker tokens`` history commands over the SQLite ledger (DESIGN §5, §7).

``sessions``, ``stats``, ``limits``, ``trends``, ``export``, ``add``, ``prune`` and ``reindex``
attach to the ``tokens`` group; ``tokens check --since DAYS`` gates on ledger totals. Each command
parses its options, calls one library function of ``token_tracking``, and renders the result (a
Rich table on stdout, or one JSON document with ``--json``). Queries default to the current
project (its git root, else its resolved path); ``--all-projects`` widens. Limits are per user.
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click
from rich import box
from rich.console import Console, JustifyMethod
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from memory_banker.cli.common import AppContext, emit_json, pass_app, stdout_console
from memory_banker.cli.tokens import register_check_target, tokens
from memory_banker.errors import UsageError
from pricing import load_pricebook
from token_tracking import gate
from token_tracking.history.export import export_csv, export_document
from token_tracking.history.ledger import (
    Ledger,
    PruneResult,
    ReindexResult,
    SessionDetail,
    SessionSummary,
    manual_entry,
    project_key,
    reindex,
    utc_now,
)
from token_tracking.history.limits import LimitsReport, limits_status, load_settings
from token_tracking.history.trends import (
    STATS_PERIODS,
    TREND_BY,
    TrendRow,
    TrendsResult,
    compute_trends,
    pricebook_cost,
    usage_stats,
)
from token_tracking.history.trends import UsageStats as StatsResult
from token_tracking.records import IntervalUsage
from token_tracking.reports.listing import reports_folder
from token_tracking.settings import interval_minutes

T = TypeVar("T")

_LEVEL_STYLE = {"ok": "green", "warning": "yellow", "critical": "red", "exceeded": "red"}


# --- formatting -----------------------------------------------------------------------------------


def _money(cost: float | None, coverage: float | None = None) -> str:
    """``$0.0120``; ``unknown`` when nothing was priced; ``≥$0.0120`` for a lower bound."""
    if cost is None:
        return "unknown"
    text = f"${cost:.4f}"
    if coverage is not None and coverage < 1:
        return "≥" + text
    return text


def _count(value: int | None, unknown: str = "-") -> str:
    """``1,234``; ``unknown`` (``-`` unless given) when the count is not known."""
    return unknown if value is None else f"{value:,}"


def _duration(seconds: float) -> str:
    """``13:42`` (minutes:seconds), or ``1:02:03`` from an hour on."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _local(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _scope(app: AppContext, all_projects: bool) -> str | None:
    return None if all_projects else project_key(app.project_path)


def _scope_label(project: str | None) -> str:
    return "all projects" if project is None else f"project {project}"


# --- rendering ------------------------------------------------------------------------------------


def render_sessions(console: Console, sessions: list[SessionSummary], project: str | None) -> None:
    """Print the recent-sessions table (seed 000's list, with command, model and status)."""
    if not sessions:
        console.print(f"No sessions in the ledger for {_scope_label(project)}.")
        return
    table = Table(
        title="Recent Token Tracking Sessions",
        # No cell padding and no outer edge: the eight columns fit an 80-column terminal.
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=0,
    )
    for name in ("Session", "Started", "Duration", "Command", "Model", "Tokens", "Cost"):
        justify: JustifyMethod = "right" if name in ("Duration", "Tokens", "Cost") else "left"
        # Only the model column shrinks (with an ellipsis) when the terminal is narrow: a cut
        # cost or status would be unreadable, a long model name is recognisable from its start.
        table.add_column(name, justify=justify, no_wrap=name != "Model", overflow="ellipsis")
    table.add_column("Status", no_wrap=True)
    for session in sessions:
        table.add_row(
            session.session_id[:8],
            session.start_time.astimezone().strftime("%Y-%m-%d %H:%M"),
            _duration(session.duration_seconds),
            session.command,
            session.model or "-",
            f"{session.total_tokens:,}",
            _money(session.cost_usd, session.priced_coverage),
            session.status,
        )
    console.print(table)
    console.print("Use --session-id ID (a prefix is enough) to see a session's intervals.")


def _minutes_label(minutes: float) -> str:
    return f"{minutes:g}"


def _interval_cells(interval: IntervalUsage, label: str, requests_known: bool) -> tuple[str, ...]:
    return (
        label,
        _duration(interval.duration_seconds),
        f"{interval.prompt_tokens:,}",
        f"{interval.completion_tokens:,}",
        f"{interval.total_tokens:,}",
        _money(interval.cost_usd),
        _count(interval.requests if requests_known else None),
    )


def render_session_detail(console: Console, detail: SessionDetail) -> None:
    """Print a session's interval table with its TOTAL row (seed 000's layout)."""
    session = detail.session
    console.print(
        f"Session {session.session_id[:8]}  {_local(session.start_time)}  {session.command}  "
        f"{session.model or '-'}  {session.status}",
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


def render_stats(console: Console, stats: StatsResult) -> None:
    """Print seed 001's statistics table."""
    console.print(f"Token Usage Statistics: {stats.title}", markup=False)
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("Metric")
    table.add_column("Value", justify="right")
    table.add_row("Sessions", f"{stats.sessions:,}")
    table.add_row("Total Requests", _count(stats.requests, "unknown"))
    table.add_row("Input Tokens", f"{stats.prompt_tokens:,}")
    table.add_row("Cached Input Tokens", _count(stats.cached_tokens, "unknown"))
    table.add_row("Output Tokens", f"{stats.completion_tokens:,}")
    table.add_row("Total Tokens", f"{stats.total_tokens:,}")
    table.add_row("Total Cost", _money(stats.cost_usd, stats.priced_coverage))
    average = stats.average_tokens_per_request
    table.add_row("Avg Tokens/Request", f"{average:,.0f}" if average is not None else "-")
    console.print(table)


def _amount(value: float, unit: str) -> str:
    return f"${value:,.2f}" if unit == "usd" else f"{value:,.0f}"


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
        used = _amount(status.used, status.unit)
        if status.lower_bound:
            used = "≥" + used
        table.add_row(
            status.variable + ("" if status.explicit else "*"),
            _SHORT_WINDOW.get(status.window, status.window),
            used,
            _amount(status.limit, status.unit) + _SHORT_UNIT[status.unit],
            Text(f"{status.percent:.1f}%", style=style),
            Text(status.level, style=style),
        )
    console.print(
        Panel(table, title="Usage Limits", border_style=_LEVEL_STYLE[worst], expand=False)
    )


_BY_TITLE = {
    "day": ("Daily Usage", "Date"),
    "week": ("Weekly Usage (weeks start on Monday)", "Week Starting"),
    "month": ("Monthly Usage", "Month"),
    "branch": ("Usage by Branch", "Branch"),
    "model": ("Usage by Model", "Model"),
    "agent": ("Usage by Agent", "Agent"),
    "command": ("Usage by Command", "Command"),
    "user": ("Usage by User", "User"),
}


def _trend_cells(row: TrendRow) -> tuple[str, ...]:
    return (
        row.key,
        f"{row.sessions:,}",
        f"{row.total_tokens:,}",
        _money(row.cost_usd, row.priced_coverage),
    )


def render_trends(console: Console, result: TrendsResult) -> None:
    """Print the trends table and the insights."""
    window = "all time" if result.days == 0 else f"the last {result.days} days"
    offline = "offline runs included" if result.include_offline else "offline runs excluded"
    console.print(f"Usage over {window}, {_scope_label(result.project)}, {offline}")
    title, first = _BY_TITLE[result.by]
    table = Table(title=title, box=box.SIMPLE_HEAD)
    table.add_column(first)
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
        lines.append(
            f"Most active branch:      {insights.most_active_branch} "
            f"({insights.most_active_branch_tokens:,} tokens)"
        )
    if insights.average_tokens_per_day is not None:
        lines.append(
            f"Average per day:         {insights.average_tokens_per_day:,.0f} tokens "
            f"over {insights.days_counted} calendar day{'' if insights.days_counted == 1 else 's'}"
        )
    if insights.projected_monthly_cost is not None:
        lines.append(
            f"Projected monthly cost:  "
            f"{_money(insights.projected_monthly_cost, result.totals.priced_coverage)} "
            "(the daily average cost x 30)"
        )
    wow = insights.week_over_week
    change = f"{wow.change_percent:+.0f}%" if wow.change_percent is not None else "n/a"
    lines.append(
        f"Week over week:          {change} (last 7 days {wow.last_7_days_tokens:,} tokens, "
        f"the 7 before {wow.previous_7_days_tokens:,})"
    )
    for recommendation in insights.recommendations:
        lines.append(f"- {recommendation.text}")
    console.print(Panel("\n".join(lines), title="Insights", expand=False))


# --- commands -------------------------------------------------------------------------------------

_ALL_PROJECTS = click.option(
    "--all-projects", is_flag=True, help="Read every project in the ledger, not only this one."
)
_JSON = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")

MAX_DAYS = 36_500
"""The widest history window in days (100 years, as the dashboard allows): beyond it a date
computation overflows."""


def _days_in_range(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    """Check a ``--days`` / ``--since`` value: 0 (all time) to :data:`MAX_DAYS`, else one line
    naming the option (click's own range error prints three)."""
    if value is not None and not 0 <= value <= MAX_DAYS:
        option = param.opts[0] if param.opts else str(param.name)
        raise UsageError(
            f"{option} must be between 0 and {MAX_DAYS:,} days (0 = all time), not {value:,}"
        )
    return value


def _session_id_option(value: str | None) -> str | None:
    """``--session-id`` as given; an empty id is a usage error naming the option."""
    if value is not None and not value.strip():
        raise UsageError("--session-id must not be empty")
    return value


@tokens.command("sessions")
@click.option(
    "--limit", type=click.IntRange(min=1), default=10, show_default=True, help="Sessions to list."
)
@click.option("--session-id", metavar="ID", help="Show this session's intervals (a prefix works).")
@_ALL_PROJECTS
@_JSON
@pass_app
def sessions(
    app: AppContext, limit: int, session_id: str | None, all_projects: bool, as_json: bool
) -> None:
    """List recent sessions from the ledger, or one session's usage per interval.

    Intervals are TOKEN_INTERVAL_MINUTES long (default 5); the last one may be partial.
    An unknown session id is an error (exit 2).

    \b
    Examples:
      memory-banker tokens sessions --limit 20
      memory-banker tokens sessions --session-id 3f2a9c
    """
    session_id = _session_id_option(session_id)
    with Ledger() as ledger:
        if session_id is not None:
            detail = ledger.session_detail(session_id, interval_minutes())
            if as_json:
                emit_json(detail)
            else:
                render_session_detail(stdout_console(), detail)
            return
        project = _scope(app, all_projects)
        found = ledger.sessions(project=project, limit=limit)
    if as_json:
        emit_json(found)
    else:
        render_sessions(stdout_console(), found, project)


@tokens.command("stats")
@click.option(
    "--period",
    type=click.Choice(["hourly", "daily", "session"]),
    default="daily",
    show_default=True,
    help="Last 60 minutes, last 24 hours, or one session (the latest without --session-id).",
)
@click.option("--session-id", metavar="ID", help="Show this session's figures (a prefix works).")
@_ALL_PROJECTS
@_JSON
@pass_app
def stats(
    app: AppContext, period: str, session_id: str | None, all_projects: bool, as_json: bool
) -> None:
    """Show requests, tokens and cost of the last hour, the last day, or a session.

    \b
    Examples:
      memory-banker tokens stats --period hourly
      memory-banker tokens stats --period session --session-id 3f2a9c --json
    """
    with Ledger() as ledger:
        result = usage_stats(
            ledger,
            _choice(STATS_PERIODS, period),
            project=_scope(app, all_projects),
            session_id=_session_id_option(session_id),
        )
    if as_json:
        emit_json(result)
    else:
        render_stats(stdout_console(), result)


@tokens.command("limits")
@_JSON
def limits(as_json: bool) -> None:
    """Show usage against every configured limit over its rolling window (all projects).

    Requests: CLAUDE_HOURLY_LIMIT (500, last 60 minutes), CLAUDE_DAILY_LIMIT (5000, last 24 h).
    Tokens: TOKEN_HOURLY_LIMIT, TOKEN_DAILY_LIMIT. Dollars: TOKEN_DAILY_BUDGET_USD (last 24 h),
    TOKEN_MONTHLY_BUDGET_USD (last 30 days). Colours follow TOKEN_WARNING_THRESHOLD (50) and
    TOKEN_CRITICAL_THRESHOLD (80).

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


@tokens.command("trends")
@click.option(
    "--days",
    type=int,
    callback=_days_in_range,
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
@click.option("--include-offline", is_flag=True, help="Count runs of the offline engine too.")
@_ALL_PROJECTS
@_JSON
@pass_app
def trends(
    app: AppContext,
    days: int,
    by: str,
    include_offline: bool,
    all_projects: bool,
    as_json: bool,
) -> None:
    """Show usage per day, week, month, branch, model, agent, command or user, with insights.

    Insights: peak day, most active branch, average tokens per day, projected monthly cost (the
    window's daily average x 30), week-over-week change, and recommendations.

    \b
    Examples:
      memory-banker tokens trends --days 7
      memory-banker tokens trends --days 0 --by branch --json
    """
    book = load_pricebook(app.pricing_file)
    with Ledger() as ledger:
        result = compute_trends(
            ledger,
            days=days,
            by=_choice(TREND_BY, by),
            project=_scope(app, all_projects),
            include_offline=include_offline,
            cost_of=pricebook_cost(book),
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


def _write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename."""
    if not path.name:
        raise UsageError(f"--output {str(path)!r} names no file: give a file name, or - for stdout")
    folder = path.parent if str(path.parent) else Path(".")
    try:
        handle = tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=folder, prefix=f".{path.name}.", delete=False, newline=""
        )
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror}") from error
    try:
        with handle:
            handle.write(text)
        os.replace(handle.name, path)
    except OSError as error:
        # The rename failed (the target is a folder, the disk is full): leave no temp file behind.
        Path(handle.name).unlink(missing_ok=True)
        raise UsageError(f"cannot write {path}: {error.strerror}") from error


@tokens.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "json"]),
    default="csv",
    show_default=True,
    help="CSV: one row per agent run. JSON: summary, breakdowns and every session.",
)
@click.option(
    "--output",
    default="-",
    show_default=True,
    metavar="FILE|-",
    help="Where to write; - is stdout.",
)
@click.option(
    "--days",
    type=int,
    callback=_days_in_range,
    default=0,
    show_default=True,
    help="Sessions of the last N local calendar days (0 = all time).",
)
@_ALL_PROJECTS
@pass_app
def export(app: AppContext, fmt: str, output: str, days: int, all_projects: bool) -> None:
    """Export the ledger for spreadsheets (CSV) or programs (JSON).

    CSV columns: timestamp,branch,tokens,estimated_cost,notes, then project, command, agent, model,
    the token fields, requests and source. JSON: summary.total_cost, summary.total_tokens, daily,
    weekly, monthly, by_branch, by_model and sessions.

    \b
    Examples:
      memory-banker tokens export --format csv --output usage.csv
      memory-banker tokens export --format json --days 30 | jq .summary.total_cost
    """
    project = _scope(app, all_projects)
    with Ledger() as ledger:
        if fmt == "csv":
            text = export_csv(ledger, days=days, project=project)
        else:
            text = export_document(ledger, days=days, project=project).model_dump_json(indent=2)
            text += "\n"
    if output == "-":
        click.echo(text, nl=False)
        return
    path = Path(output)
    _write_atomically(path, text)
    click.echo(f"Exported the ledger as {fmt.upper()} to {path}", err=True)


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


@tokens.command("add")
@click.option(
    "--input", "input_tokens", type=click.IntRange(min=0), metavar="N", help="Input tokens."
)
@click.option(
    "--output", "output_tokens", type=click.IntRange(min=0), metavar="N", help="Output tokens."
)
@click.option("--model", metavar="MODEL", help="Price the entry with this model.")
@click.option("--branch", metavar="BRANCH", help="Git branch (default: the current branch).")
@click.option("--note", metavar="TEXT", help="What the usage was for.")
@click.option(
    "--cost", type=click.FloatRange(min=0), metavar="USD", help="The actual cost, if you know it."
)
@_JSON
@pass_app
def add(
    app: AppContext,
    input_tokens: int | None,
    output_tokens: int | None,
    model: str | None,
    branch: str | None,
    note: str | None,
    cost: float | None,
    as_json: bool,
) -> None:
    """Record usage made outside memory-banker (source manual), e.g. a chat session.

    Missing counts are asked for when stdin is a terminal. Without --model or --cost the cost is
    unknown.

    \b
    Examples:
      memory-banker tokens add --input 10000 --output 5000 --model claude-sonnet-4-5
      memory-banker tokens add --input 15000 --output 8000 --cost 0.17 --note "auth debugging"
    """
    if input_tokens is None or output_tokens is None:
        if not _stdin_is_terminal():
            raise UsageError("give --input and --output (stdin is not a terminal to ask)")
        if input_tokens is None:
            input_tokens = click.prompt("Input tokens", type=click.IntRange(min=0))
        if output_tokens is None:
            output_tokens = click.prompt("Output tokens", type=click.IntRange(min=0))
    book = load_pricebook(app.pricing_file) if model is not None and cost is None else None
    report = manual_entry(
        app.project_path,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        model=model,
        branch=branch,
        cost_usd=cost,
        pricebook=book,
    )
    if model is not None and book is not None and report.total_cost_usd is None:
        hint = ", ".join(book.suggestions(model))
        click.echo(
            f"Warning: no price known for {model}"
            + (f" (did you mean {hint}?)" if hint else "")
            + "; the cost is unknown",
            err=True,
        )
    with Ledger() as ledger:
        ledger.insert_report(report, note=note)
        summary = ledger.find_session(report.session_id)
    if as_json:
        emit_json(summary)
        return
    branch_label = summary.branch or "no branch"
    click.echo(
        f"Recorded {summary.total_tokens:,} tokens ({input_tokens:,} in, {output_tokens:,} out) "
        f"on {branch_label}, cost {_money(summary.cost_usd)}, session {summary.session_id[:8]}"
    )


def _prune_message(result: PruneResult, days: int) -> str:
    cutoff = _local(result.cutoff)
    if result.sessions == 0:
        return f"Nothing to prune: no session ended before {cutoff} (TOKEN_HISTORY_DAYS={days})."
    verb = "Would remove" if result.dry_run else "Removed"
    return (
        f"{verb} {result.sessions:,} sessions ({result.agent_runs:,} agent runs, "
        f"{result.usage_rows:,} request rows) that ended before {cutoff} "
        f"(TOKEN_HISTORY_DAYS={days})."
    )


@tokens.command("prune")
@click.option("--dry-run", is_flag=True, help="Show what would be removed; remove nothing.")
@_JSON
def prune(dry_run: bool, as_json: bool) -> None:
    """Remove sessions older than TOKEN_HISTORY_DAYS (90) from the ledger, saying what goes.

    Report files are left alone.

    \b
    Examples:
      memory-banker tokens prune --dry-run
      TOKEN_HISTORY_DAYS=30 memory-banker tokens prune
    """
    settings = load_settings()
    before = utc_now() - timedelta(days=settings.history_days)
    with Ledger() as ledger:
        result = ledger.prune(before, dry_run=dry_run)
    if as_json:
        emit_json(result)
    else:
        click.echo(_prune_message(result, settings.history_days))


def _reindex_message(result: ReindexResult) -> str:
    verb = "Would import" if result.dry_run else "Imported"
    return (
        f"{verb} {len(result.imported):,} report{'' if len(result.imported) == 1 else 's'} "
        "into the ledger "
        f"({result.already_present:,} already there) from {result.folder}"
    )


@tokens.command("reindex")
@click.option("--dry-run", is_flag=True, help="Show what would be imported; change nothing.")
@_JSON
@pass_app
def reindex_command(app: AppContext, dry_run: bool, as_json: bool) -> None:
    """Import the project's report files the ledger lacks, and recover orphaned journals.

    Idempotent: a session already in the ledger is never imported twice. Reports of every
    version load (0.1 included); a corrupt file is skipped with a warning.

    \b
    Examples:
      memory-banker tokens reindex --dry-run
      memory-banker --project-path ../app tokens reindex
    """
    with Ledger() as ledger:
        result = reindex(ledger, reports_folder(app.project_path), dry_run=dry_run)
    for warning in result.skipped:
        click.echo(f"Warning: {warning}", err=True)
    for session_id in result.recovered:
        verb = "Would recover" if dry_run else "Recovered"
        click.echo(f"{verb} interrupted session {session_id} from its orphaned journal", err=True)
    if as_json:
        emit_json(result)
    else:
        click.echo(_reindex_message(result))


# --- tokens check --since -------------------------------------------------------------------------


def _since_totals(app: AppContext, days: Any) -> gate.GateTotals:
    """The ledger's totals of the last ``days`` local days of this project, for the CI gate."""
    with Ledger() as ledger:
        tokens_used, cost, coverage = ledger.totals(int(days), project_key(app.project_path))
    if tokens_used == 0:
        cost, coverage = 0.0, 1.0
    target = "all time" if int(days) == 0 else f"the last {int(days)} days"
    return gate.GateTotals(
        target=target,
        total_tokens=tokens_used,
        cost_usd=cost,
        cost_complete=cost is not None and coverage is not None and coverage >= 1,
    )


register_check_target(
    click.Option(
        ["--since"],
        type=int,
        callback=_days_in_range,
        metavar="DAYS",
        help="Check the ledger's totals of this project over the last DAYS days (0 = all time).",
    ),
    _since_totals,
)
