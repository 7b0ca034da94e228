"""``memory-banker tokens``: show, list, re-price and compare saved reports; the CI gate.

Only light modules are imported here: ``tokens`` must never import agents, litellm, openai or
anthropic, and the price table is read only when a cost must be computed (a 0.1 report, a
``--price-as``, a ``--max-cost`` gate on a 0.1 report, a run log line without a cost).

Other modules attach their subcommands to the ``tokens`` group (history, dashboard), and may add
a target option to ``tokens check`` with :func:`register_check_target`. Registered with
:func:`attach_lazily`, such a module is imported only when one of its commands (or the command
list, for ``--help``) is needed, so ``memory-banker tokens`` does not pay for the ledger.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import click

from memory_banker.cli.common import AppContext, emit_json, pass_app, stdout_console
from memory_banker.errors import UsageError
from pricing import PriceBook, load_pricebook
from token_tracking import gate
from token_tracking.compare import compare_paths, render_comparison
from token_tracking.reports.listing import (
    ReportListing,
    find_session,
    latest,
    list_reports,
    load_report,
    render_listing,
    render_price_as,
    reports_folder,
)
from token_tracking.rundirs.summary import (
    print_run_summary,
    render_runs_report,
    runs_report,
    save_run_summary,
    summarize_run,
)


def _pricebook_loader(app: AppContext) -> Callable[[], PriceBook]:
    """A loader that reads the price table (and the custom file) once, on first use."""

    @cache
    def load() -> PriceBook:
        return load_pricebook(app.pricing_file)

    return load


def _app(ctx: click.Context) -> AppContext:
    app = ctx.find_object(AppContext)
    if app is None:  # only when the group is invoked without the root `memory-banker` group
        raise UsageError("run `tokens` through the memory-banker command")
    return app


def _warn_skipped(listing: ReportListing) -> None:
    for skipped in listing.skipped:
        click.echo(f"Warning: skipped {skipped.name}: {skipped.reason}", err=True)


def _locate(app: AppContext, path: Path) -> Path:
    """Find a report file given as written: as is, else relative to the project, else by name in
    the project's reports folder (``--report-file token_usage_20241206_143022.json``)."""
    if path.exists() or path.is_absolute():
        return path
    for candidate in (app.project_path / path, reports_folder(app.project_path) / path):
        if candidate.exists():
            return candidate
    return path


def _project_listing(app: AppContext) -> ReportListing:
    listing = list_reports(reports_folder(app.project_path))
    _warn_skipped(listing)
    return listing


class _TokensGroup(click.Group):
    """The ``tokens`` group: imports the modules attached with :func:`attach_lazily` on demand.

    A command this module defines runs without them, except ``check``, whose extra targets
    (``--since DAYS``) those modules may add.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_modules: list[str] = []

    def load_extensions(self) -> None:
        """Import every module attached lazily (each registers its commands on import)."""
        while self.lazy_modules:
            importlib.import_module(self.lazy_modules.pop(0))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands or cmd_name == "check":
            self.load_extensions()
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self.load_extensions()
        return super().list_commands(ctx)


@click.group(cls=_TokensGroup, invoke_without_command=True)
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
@click.pass_context
def tokens(
    ctx: click.Context,
    list_all: bool,
    report_file: Path | None,
    limit: int | None,
    price_as: str | None,
    as_json: bool,
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
    """
    given = [
        name
        for name, value in (
            ("--list-all", list_all),
            ("--report-file", report_file is not None),
            ("--limit", limit is not None),
            ("--price-as", price_as is not None),
            ("--json", as_json),
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
    app = _app(ctx)
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
    listing = _project_listing(app)
    if as_json:
        shown = listing.reports if limit is None else listing.reports[:limit]
        emit_json([load_report(listing.path_of(summary)) for summary in shown])
        return
    render_listing(listing, stdout_console(), limit=limit)


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
        report = load_report(_locate(app, report_file))
    else:
        listing = _project_listing(app)
        report = load_report(listing.path_of(latest(listing)))
    if as_json:
        emit_json(report)
        return
    pricebook = _pricebook_loader(app)
    if models:
        pricebook()  # a bad price file is one error line, not a report followed by one
    console = stdout_console()
    # Only a 0.1 report is re-priced when shown; current reports carry their own priced cost.
    report.render(console, pricebook=pricebook() if gate.is_v0_1(report) else None)
    if models:
        render_price_as(report, pricebook(), models, console)


# --- tokens check: the CI gate ----------------------------------------------------------------

CheckTarget = Callable[[AppContext, Any], gate.GateTotals]
"""Reduces what an extra ``tokens check`` option selects (e.g. ``--since 7``) to gate totals."""

_CHECK_TARGETS: dict[str, tuple[str, CheckTarget]] = {}
"""Extra targets by parameter name: the option as users type it (``--since``) and its target."""


def _check_report(
    app: AppContext, report_file: Path | None, session_id: str | None, with_cost: bool
) -> gate.GateTotals:
    if report_file is not None:
        path = _locate(app, report_file)
    else:
        listing = _project_listing(app)
        summary = latest(listing) if session_id is None else find_session(listing, session_id)
        path = listing.path_of(summary)
    report = load_report(path)
    loader = _pricebook_loader(app) if with_cost else None
    return gate.report_totals(report, path.name, loader)


@tokens.command("check")
@click.option("--max-cost", type=float, metavar="USD", help="Fail (exit 1) above this cost.")
@click.option("--max-tokens", type=int, metavar="N", help="Fail (exit 1) above these tokens.")
@click.option(
    "--report-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Check this report file (default: the latest report).",
)
@click.option("--session-id", metavar="ID", help="Check the report of this session (a prefix).")
@click.option(
    "--allow-unknown",
    is_flag=True,
    help="Pass a --max-cost gate whose cost is unknown or only a lower bound.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
@click.pass_context
def check(
    ctx: click.Context,
    /,
    max_cost: float | None,
    max_tokens: int | None,
    report_file: Path | None,
    session_id: str | None,
    allow_unknown: bool,
    as_json: bool,
    **extra_targets: Any,
) -> None:
    """Fail the build when a run cost more than a threshold (exit 1), else exit 0.

    Checks the latest report, one --report-file or a --session-id. The cost gated is the one
    recorded in the report, except for 0.1 reports, which are re-priced with today's table. With
    --max-cost, an unknown or partly priced cost fails unless --allow-unknown. Exit 2 when there
    is nothing to check or a threshold is invalid.

    \b
    Examples:
      memory-banker tokens check --max-cost 1.00
      memory-banker tokens check --max-tokens 200000 --report-file token_usage_20241206_143022.json
    """
    app = _app(ctx)
    thresholds = gate.Thresholds(max_cost_usd=max_cost, max_tokens=max_tokens)
    chosen = [name for name, value in extra_targets.items() if value is not None]
    selectors = [_CHECK_TARGETS[name][0] for name in chosen] + [
        option
        for option, value in (("--report-file", report_file), ("--session-id", session_id))
        if value is not None
    ]
    if len(selectors) > 1:
        raise UsageError(f"choose one of {', '.join(selectors)}")
    if chosen:
        totals = _CHECK_TARGETS[chosen[0]][1](app, extra_targets[chosen[0]])
    else:
        # The JSON verdict carries the cost even when only tokens are gated, so a 0.1 report's
        # cost is then re-priced too rather than printed as its known-wrong stored figure.
        with_cost = max_cost is not None or as_json
        totals = _check_report(app, report_file, session_id, with_cost=with_cost)
    verdict = gate.evaluate(totals, thresholds, allow_unknown=allow_unknown)
    if as_json:
        emit_json(verdict)
        if not verdict.passed:
            click.echo(verdict.message, err=True)
    else:
        click.echo(verdict.message, err=not verdict.passed)
    ctx.exit(verdict.exit_code)


def attach_lazily(module: str) -> None:
    """Have ``module`` (which attaches commands to ``tokens`` when imported) imported only when
    one of its commands, ``tokens check`` or the command list is needed."""
    tokens.lazy_modules.append(module)


def register_check_target(option: click.Option, target: CheckTarget) -> None:
    """Add ``option`` to ``tokens check`` as another thing to gate.

    When the option is given (its value is not ``None``), ``target(app, value)`` supplies the
    totals instead of a report; it cannot be combined with --report-file or --session-id. The
    history store adds ``--since DAYS`` this way.
    """
    if option.name is None:
        raise ValueError("the option needs a name")
    check.params.append(option)
    _CHECK_TARGETS[option.name] = (option.opts[0], target)


# --- compare, summary, report -------------------------------------------------------------------


@tokens.command("compare")
@click.argument("baseline", type=click.Path(path_type=Path))
@click.argument("optimized", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@pass_app
def compare(app: AppContext, baseline: Path, optimized: Path, as_json: bool) -> None:
    """Compare a baseline with an optimized run: tokens, cost, requests and per-agent deltas.

    Each side is a report file or a run directory holding tokens.jsonl (seed 004 style).

    \b
    Examples:
      memory-banker tokens compare token_usage_20241206_143022.json token_usage_20241207_091500.json
      memory-banker tokens compare output/tech/run_tech_baseline output/tech/run_tech_with_scopes
    """
    comparison = compare_paths(
        _locate(app, baseline), _locate(app, optimized), _pricebook_loader(app)
    )
    if as_json:
        emit_json(comparison)
    else:
        render_comparison(comparison, stdout_console())


@tokens.command("summary")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--save", is_flag=True, help="Also write the summary to RUN_DIR/token_summary.json.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_app
def summary(app: AppContext, run_dir: Path, save: bool, as_json: bool) -> None:
    """Summarize a run directory's tokens.jsonl: totals, cost, per iteration and per operation.

    \b
    Example:
      memory-banker tokens summary output/tech/run_tech_20260228_123456 --save
    """
    stats = summarize_run(run_dir, _pricebook_loader(app))
    if save:
        path = save_run_summary(run_dir, stats)
        click.echo(f"Saved {path}", err=True)
    if as_json:
        emit_json(stats)
    else:
        print_run_summary(stats, stdout_console())


@tokens.command("report")
@click.option(
    "--runs-dir",
    type=click.Path(path_type=Path),
    required=True,
    help="The folder holding run directories (searched two levels deep).",
)
@click.option("--phase", metavar="P", help="Only runs of this phase (market, design, tech, …).")
@click.option("--limit", type=int, default=10, show_default=True, help="Show the newest N runs.")
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON.")
@pass_app
def report(app: AppContext, runs_dir: Path, phase: str | None, limit: int, as_json: bool) -> None:
    """Token usage across the recent runs under a folder, with totals and the average per run.

    \b
    Example:
      memory-banker tokens report --runs-dir output --phase tech --limit 20
    """
    if limit < 1:
        raise UsageError(f"--limit must be 1 or more (got {limit})")
    result = runs_report(runs_dir, phase=phase, limit=limit, pricebook=_pricebook_loader(app))
    if as_json:
        emit_json(result)
    else:
        render_runs_report(result, stdout_console())
