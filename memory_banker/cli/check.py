"""``memory-banker tokens check``: the CI gate.

The command reduces what it checks to :class:`token_tracking.gate.GateTotals` (the latest report,
one ``--report-file``, a ``--session-id``, or the ledger's totals with ``--since DAYS``) and lets
:func:`token_tracking.gate.evaluate` decide: exit 0 within the thresholds, 1 above them, 2 when
there is nothing to check or a threshold is invalid.
"""

from __future__ import annotations

from pathlib import Path

import click

from memory_banker.cli.common import (
    AppContext,
    days_in_range,
    emit_json,
    pricebook_loader,
    window_label,
)
from memory_banker.cli.tokens import locate_report, project_listing, tokens_app
from memory_banker.errors import UsageError
from token_tracking import gate
from token_tracking.history.ledger import Ledger, project_key
from token_tracking.reports.file import load_report
from token_tracking.reports.listing import find_session, latest


def _report_totals(
    app: AppContext, report_file: Path | None, session_id: str | None, with_cost: bool
) -> gate.GateTotals:
    """The totals of one report: ``report_file``, the session's report, or the latest one."""
    if report_file is not None:
        path = locate_report(app, report_file)
    else:
        listing = project_listing(app)
        summary = latest(listing) if session_id is None else find_session(listing, session_id)
        path = listing.path_of(summary)
    report = load_report(path)
    loader = pricebook_loader(app) if with_cost else None
    return gate.report_totals(report, path.name, loader)


def _ledger_totals(app: AppContext, days: int) -> gate.GateTotals:
    """The ledger's totals of the last ``days`` local days of this project (0 = all time).

    No usage at all is a known cost of zero; a cost over partly priced usage is a lower bound.
    """
    with Ledger() as ledger:
        tokens_used, cost, coverage = ledger.totals(days, project_key(app.project_path))
    if tokens_used == 0:
        cost, coverage = 0.0, 1.0
    return gate.GateTotals(
        target=window_label(days),
        total_tokens=tokens_used,
        cost_usd=cost,
        cost_complete=cost is not None and coverage is not None and coverage >= 1,
    )


@click.command("check")
@click.option("--max-cost", type=float, metavar="USD", help="Fail (exit 1) above this cost.")
@click.option("--max-tokens", type=int, metavar="N", help="Fail (exit 1) above these tokens.")
@click.option(
    "--report-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Check this report file (default: the latest report).",
)
@click.option("--session-id", metavar="ID", help="Check the report of this session (a prefix).")
@click.option(
    "--since",
    type=int,
    callback=days_in_range,
    metavar="DAYS",
    help="Check the ledger's totals of this project over the last DAYS days (0 = all time).",
)
@click.option(
    "--allow-unknown",
    is_flag=True,
    help="Pass a --max-cost gate whose cost is unknown or only a lower bound.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
@click.pass_context
def check(
    ctx: click.Context,
    max_cost: float | None,
    max_tokens: int | None,
    report_file: Path | None,
    session_id: str | None,
    since: int | None,
    allow_unknown: bool,
    as_json: bool,
) -> None:
    """Fail the build when a run cost more than a threshold (exit 1), else exit 0.

    Checks the latest report, one --report-file, a --session-id, or with --since the ledger's
    totals of the last days. The cost gated is the one recorded in the report, except for 0.1
    reports, which are re-priced with today's table. With --max-cost, an unknown or partly priced
    cost fails unless --allow-unknown. Exit 2 when there is nothing to check or a threshold is
    invalid.

    \b
    Examples:
      memory-banker tokens check --max-cost 1.00
      memory-banker tokens check --max-tokens 200000 --report-file token_usage_20241206_143022.json
      memory-banker tokens check --since 7 --max-cost 5
    """
    app = tokens_app(ctx)
    thresholds = gate.Thresholds(max_cost_usd=max_cost, max_tokens=max_tokens)
    selectors = [
        option
        for option, value in (
            ("--since", since),
            ("--report-file", report_file),
            ("--session-id", session_id),
        )
        if value is not None
    ]
    if len(selectors) > 1:
        raise UsageError(f"choose one of {', '.join(selectors)}")
    if since is not None:
        totals = _ledger_totals(app, since)
    else:
        # The JSON verdict carries the cost even when only tokens are gated, so a 0.1 report's
        # cost is then re-priced too rather than printed as its known-wrong stored figure.
        with_cost = max_cost is not None or as_json
        totals = _report_totals(app, report_file, session_id, with_cost=with_cost)
    verdict = gate.evaluate(totals, thresholds, allow_unknown=allow_unknown)
    if as_json:
        emit_json(verdict)
        if not verdict.passed:
            click.echo(verdict.message, err=True)
    else:
        click.echo(verdict.message, err=not verdict.passed)
    ctx.exit(verdict.exit_code)
