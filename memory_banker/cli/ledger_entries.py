"""``memory-banker tokens export|add|prune|reindex``: the ledger's entries in and out.

``export`` writes the ledger as CSV or JSON, ``add`` records usage made outside memory-banker,
``prune`` removes old sessions, ``reindex`` imports report files the ledger lacks. Each command
parses its options, calls one library function of ``token_tracking.history``, and prints one line
(or one JSON document with ``--json``).
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import click

from memory_banker.cli.common import DB_URL, AppContext, days_in_range, emit_json, pass_app
from memory_banker.cli.ledger import ALL_PROJECTS, JSON, SOURCES, local_time, scope
from memory_banker.errors import UsageError
from pricing import load_pricebook
from token_tracking import display
from token_tracking.files import atomic_write
from token_tracking.history.clock import utc_now
from token_tracking.history.export import export_csv, export_document
from token_tracking.history.ledger import Ledger
from token_tracking.history.manual import manual_entry
from token_tracking.history.models import PruneResult
from token_tracking.history.reindex import ReindexResult, reindex
from token_tracking.reports.listing import reports_folder
from token_tracking.settings import load_settings


def _write_export(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically; ``UsageError`` in one line when it cannot be."""
    if not path.name:
        raise UsageError(f"--output {str(path)!r} names no file: give a file name, or - for stdout")
    try:
        atomic_write(path, text)
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror}") from error


@click.command("export")
@DB_URL
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
    callback=days_in_range,
    default=0,
    show_default=True,
    help="Sessions of the last N local calendar days (0 = all time).",
)
@SOURCES
@ALL_PROJECTS
@pass_app
def export(
    app: AppContext,
    fmt: str,
    output: str,
    days: int,
    sources: tuple[str, ...],
    all_projects: bool,
) -> None:
    """Export the ledger for spreadsheets (CSV) or programs (JSON).

    CSV columns: timestamp,branch,tokens,estimated_cost,notes, then project, command, agent, model,
    the token fields, requests and source. JSON: summary.total_cost, summary.total_tokens, daily,
    weekly, monthly, by_branch, by_model and sessions.

    \b
    Examples:
      memory-banker tokens export --format csv --output usage.csv
      memory-banker tokens export --format json --days 30 | jq .summary.total_cost
    """
    project = scope(app, all_projects)
    with Ledger() as ledger:
        if fmt == "csv":
            text = export_csv(ledger, days=days, project=project, sources=sources)
        else:
            document = export_document(ledger, days=days, project=project, sources=sources)
            text = display.json_text(document)
            text += "\n"
    if output == "-":
        click.echo(text, nl=False)
        return
    path = Path(output)
    _write_export(path, text)
    click.echo(f"Exported the ledger as {fmt.upper()} to {path}", err=True)


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


@click.command("add")
@DB_URL
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
@JSON
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
            f"Warning: no price known for {display.printable(model)}"
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
    branch_label = display.printable(summary.branch or "no branch")
    click.echo(
        f"Recorded {summary.total_tokens:,} tokens ({input_tokens:,} in, {output_tokens:,} out) "
        f"on {branch_label}, cost {display.usd(summary.cost_usd)}, session {summary.session_id[:8]}"
    )


def _prune_message(result: PruneResult, days: int) -> str:
    cutoff = local_time(result.cutoff)
    if result.sessions == 0:
        return f"Nothing to prune: no session ended before {cutoff} (TOKEN_HISTORY_DAYS={days})."
    verb = "Would remove" if result.dry_run else "Removed"
    return (
        f"{verb} {display.plural(result.sessions, 'session')} "
        f"({display.plural(result.agent_runs, 'agent run')}, "
        f"{display.plural(result.usage_rows, 'request row')}) that ended before {cutoff} "
        f"(TOKEN_HISTORY_DAYS={days})."
    )


@click.command("prune")
@DB_URL
@click.option("--dry-run", is_flag=True, help="Show what would be removed; remove nothing.")
@JSON
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
        f"{verb} {display.plural(len(result.imported), 'report')} into the ledger "
        f"({result.already_present:,} already there) from {result.folder}"
    )


@click.command("reindex")
@DB_URL
@click.option("--dry-run", is_flag=True, help="Show what would be imported; change nothing.")
@JSON
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
        click.echo(f"Warning: {display.printable(warning)}", err=True)
    for session_id in result.recovered:
        verb = "Would recover" if dry_run else "Recovered"
        click.echo(f"{verb} interrupted session {session_id} from its orphaned journal", err=True)
    if as_json:
        emit_json(result)
    else:
        click.echo(_reindex_message(result))
