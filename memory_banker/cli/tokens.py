"""``memory-banker tokens``: show the latest report, one report file, or the list of reports.

The ``tokens`` subcommands are named in :data:`COMMANDS`, each imported only when it runs, so
``memory-banker tokens`` does not pay for the ledger or the run directories. Only light modules are
imported here: ``tokens`` never imports agents, litellm, openai or anthropic, and the price table is
read only when a cost must be computed (a 0.1 report, a ``--price-as``). The latest report is
printed from the validated document the report index keeps of it, so ``tokens`` and
``tokens --list-all`` import no pydantic while the index is fresh; a report file is read through
the report model (:func:`load`) only when the index cannot serve it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from memory_banker.cli.common import (
    AppContext,
    LazyGroup,
    emit_json,
    pricebook_loader,
    stdout_console,
)
from memory_banker.errors import UsageError
from token_tracking.reports.listing import ReportListing, latest, list_reports, reports_folder
from token_tracking.reports.render import render_listing, render_price_as, render_report

if TYPE_CHECKING:
    from token_tracking.reports.file import TokenUsageReport

COMMANDS = {
    "check": "memory_banker.cli.check:check",
    "compare": "memory_banker.cli.runs:compare",
    "summary": "memory_banker.cli.runs:summary",
    "report": "memory_banker.cli.runs:report",
    "sessions": "memory_banker.cli.ledger:sessions",
    "stats": "memory_banker.cli.ledger:stats",
    "limits": "memory_banker.cli.ledger:limits",
    "trends": "memory_banker.cli.ledger:trends",
    "export": "memory_banker.cli.ledger_entries:export",
    "add": "memory_banker.cli.ledger_entries:add",
    "prune": "memory_banker.cli.ledger_entries:prune",
    "reindex": "memory_banker.cli.ledger_entries:reindex_command",
    "dashboard": "memory_banker.cli.dashboard:dashboard",
    "import": "memory_banker.cli.imports:import_command",
    "blocks": "memory_banker.cli.blocks:blocks",
    "hook": "memory_banker.cli.hook:hook",
    "fetch-limits": "memory_banker.cli.fetch_limits:fetch_limits",
    "sync": "memory_banker.cli.sync:sync_command",
}
"""Every ``tokens`` subcommand: its name -> ``"module:attribute"`` of the click command."""


def tokens_app(ctx: click.Context) -> AppContext:
    """The global options; ``UsageError`` when ``tokens`` runs outside the root command."""
    app = ctx.find_object(AppContext)
    if app is None:  # only when the group is invoked without the root `memory-banker` group
        raise UsageError("run `tokens` through the memory-banker command")
    return app


def locate_report(app: AppContext, path: Path) -> Path:
    """Find a report file given as written: as is, else relative to the project, else by name in
    the project's reports folder (``--report-file token_usage_20241206_143022.json``)."""
    if path.exists() or path.is_absolute():
        return path
    for candidate in (app.project_path / path, reports_folder(app.project_path) / path):
        if candidate.exists():
            return candidate
    return path


def load(path: Path) -> TokenUsageReport:
    """Read the report file at ``path`` through the report model (see
    :func:`token_tracking.reports.file.load_report`, which says what it raises)."""
    # Imported on first use: the model loads pydantic, about twice a bare Python start, which
    # `tokens` and `tokens --list-all` do without while the index serves them.
    from token_tracking.reports.file import load_report

    return load_report(path)


def project_listing(app: AppContext) -> ReportListing:
    """The project's reports, newest first; a warning on stderr for each file skipped."""
    listing = list_reports(reports_folder(app.project_path))
    for skipped in listing.skipped:
        click.echo(f"Warning: skipped {skipped.name}: {skipped.reason}", err=True)
    return listing


@click.group(cls=LazyGroup, lazy_commands=COMMANDS, invoke_without_command=True)
@click.option("--list-all", is_flag=True, help="List the project's reports, newest first.")
@click.option(
    "--report-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Show this report file instead of the latest.",
)
@click.option("--limit", type=int, metavar="N", help="With --list-all: show the newest N.")
@click.option(
    "--price-as",
    metavar="MODELS",
    help="Also show what the same usage costs on these models (comma-separated).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report (or list) as JSON.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(("text", "json", "markdown")),
    help="text (default), json (as --json), or markdown: the report for a pull-request comment.",
)
@click.pass_context
def tokens(
    ctx: click.Context,
    list_all: bool,
    report_file: Path | None,
    limit: int | None,
    price_as: str | None,
    as_json: bool,
    output_format: str | None,
) -> None:
    """Show the latest token usage report, one report file, or the list of reports.

    "Latest" is the report with the greatest end time. A 0.1 report shows its stored cost and,
    when different, its cost under today's price table.

    \b
    Examples:
      memory-banker tokens
      memory-banker tokens --list-all --limit 20
      memory-banker tokens --report-file memory-bank/token-reports/token_usage_20241206_143022.json
      memory-banker tokens --price-as gpt-4o,claude-3-haiku
      memory-banker tokens --format markdown
    """
    given = [
        name
        for name, value in (
            ("--list-all", list_all),
            ("--report-file", report_file is not None),
            ("--limit", limit is not None),
            ("--price-as", price_as is not None),
            ("--json", as_json),
            ("--format", output_format is not None),
        )
        if value
    ]
    if ctx.invoked_subcommand is not None:
        if given:
            raise UsageError(
                f"{given[0]} belongs to `tokens` itself; give the options of "
                f"`tokens {ctx.invoked_subcommand}` after it"
            )
        return
    app = tokens_app(ctx)
    if output_format == "json":
        as_json = True
    elif output_format is not None and as_json:
        raise UsageError(f"--json is --format json; it does not go with --format {output_format}")
    if output_format == "markdown":
        if list_all or price_as is not None:
            raise UsageError("--format markdown shows one report, without --list-all or --price-as")
        _show_markdown(app, report_file)
        return
    if list_all:
        _list_all(app, limit=limit, as_json=as_json, conflicting=report_file, price_as=price_as)
        return
    if limit is not None:
        raise UsageError("--limit goes with --list-all")
    _show(app, report_file, price_as=price_as, as_json=as_json)


def _list_all(
    app: AppContext,
    *,
    limit: int | None,
    as_json: bool,
    conflicting: Path | None,
    price_as: str | None,
) -> None:
    if conflicting is not None:
        raise UsageError("--list-all lists the project's reports; it takes no --report-file")
    if price_as is not None:
        raise UsageError("--price-as re-prices one report; it does not go with --list-all")
    if limit is not None and limit < 1:
        raise UsageError(f"--limit must be 1 or more (got {limit})")
    listing = project_listing(app)
    if as_json:
        shown = listing.reports if limit is None else listing.reports[:limit]
        emit_json([load(listing.path_of(summary)) for summary in shown])
        return
    render_listing(listing, stdout_console(), limit=limit)


def _show_markdown(app: AppContext, report_file: Path | None) -> None:
    """Print one report (``report_file``, else the latest) as markdown for a PR comment."""
    from token_tracking.reports.markdown import report_markdown  # on first use, as in load()

    if report_file is not None:
        path = locate_report(app, report_file)
    else:
        listing = project_listing(app)
        path = listing.path_of(latest(listing))
    click.echo(report_markdown(load(path), path.name), nl=False)


def _show(
    app: AppContext, report_file: Path | None, *, price_as: str | None, as_json: bool
) -> None:
    # Options are checked before anything is read or printed: a bad --price-as must not leave
    # a report on stdout ahead of its error.
    models: list[str] = []
    if price_as is not None:
        if as_json:
            raise UsageError("--json prints the report as saved; it does not go with --price-as")
        models = [name.strip() for name in price_as.split(",") if name.strip()]
        if not models:
            raise UsageError("--price-as needs model names, e.g. --price-as gpt-4o,claude-3-haiku")
    if report_file is not None:
        path = locate_report(app, report_file)
    else:
        listing = project_listing(app)
        chosen = latest(listing)
        if not as_json and not models:
            document = listing.document(chosen)
            # A 0.1 report is re-priced when shown: that needs the model and the price table.
            if document is not None and document.schema_version is not None:
                render_report(document, stdout_console())
                return
        path = listing.path_of(chosen)
    report = load(path)
    if as_json:
        emit_json(report)
        return
    pricebook = pricebook_loader(app)
    if models:
        pricebook()  # a bad price file is one error line, not a report followed by one
    console = stdout_console()
    # Only a 0.1 report is re-priced when shown; current reports carry their own priced cost.
    render_report(report, console, pricebook=pricebook() if report.schema_version is None else None)
    if models:
        render_price_as(report, pricebook(), models, console)
