"""``memory-banker tokens check``: the CI gate.

The command reduces what it checks to :class:`token_tracking.gate.GateTotals` (the latest report,
one ``--report-file``, a ``--session-id`` found among the report files or in the ledger, or the
ledger's totals with ``--since DAYS``), loads the ``--baseline`` when one is given, and lets
:func:`token_tracking.gate.evaluate` decide: exit 0 within the thresholds, 1 above them, 2 when
there is nothing to check or an option is invalid. :mod:`token_tracking.gate_formats` writes the
verdict for CI: a GitHub workflow command and job summary, markdown, a JUnit file.

Checking the latest report against a threshold needs only the gate and the report index: the
latest report is gated from the validated document the index keeps of it, as ``tokens`` prints it,
so no pydantic is imported while the index is fresh. The report model, the ledger, the
run-directory and baseline readers and the CI formats are imported by the options that use them,
each a tenth or more of the command's start-up.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from memory_banker.cli.common import (
    DB_URL,
    AppContext,
    days_in_range,
    emit_json,
    pricebook_loader,
    window_label,
)
from memory_banker.cli.tokens import load, locate_report, project_listing, tokens_app
from memory_banker.errors import UsageError
from token_tracking import display, gate
from token_tracking.errors import NoReportsError, SessionNotFoundError
from token_tracking.files import append_text, atomic_write
from token_tracking.reports.listing import find_session, latest, list_reports, reports_folder

if TYPE_CHECKING:
    from token_tracking.reports.file import TokenUsageReport

FORMATS = ("text", "json", "github", "markdown")
"""The ways ``tokens check`` prints its verdict."""

STEP_SUMMARY_VARIABLE = "GITHUB_STEP_SUMMARY"
"""The file GitHub Actions shows as the step's job summary; ``--format github`` appends to it."""


@dataclass(frozen=True)
class _Target:
    """What the gate checks: its totals, and the report behind them when there is one."""

    totals: gate.GateTotals
    report: TokenUsageReport | None = None
    checking: str | None = None
    """The line naming the report and its end time, said on stderr once it has been gated."""


def _ledger_report(app: AppContext, session_id: str) -> TokenUsageReport:
    """The ledger's copy of the report of the session ``session_id`` starts (manual entries,
    imported sessions…), for a session no report file has.

    Raises SessionNotFoundError when the ledger has no such session either (or no ledger
    exists: checking never creates one), AmbiguousSessionError when the prefix is ambiguous.
    """
    # Imported for ledger sessions only (see the module docstring), as in _ledger_totals.
    from token_tracking.history.ledger import Ledger
    from token_tracking.settings import default_db_path

    path = default_db_path()
    if path.is_file():
        with Ledger(path) as ledger:
            try:
                summary = ledger.find_session(session_id)
            except SessionNotFoundError:
                pass
            else:
                return ledger.report(summary.session_id)
    raise SessionNotFoundError(
        f"no report with a session id starting with {session_id!r} in "
        f"{reports_folder(app.project_path)}, nor in the ledger"
    )


def _in_files(app: AppContext, session_id: str) -> Path | None:
    """The report file of the session ``session_id`` starts, or None when no report file's
    session starts so. Raises SessionNotFoundError when several do, or the id is empty."""
    wanted = session_id.strip().lower()
    try:
        listing = project_listing(app)
    except NoReportsError:
        if not wanted:
            raise
        return None
    if wanted and not any(s.session_id.lower().startswith(wanted) for s in listing.reports):
        return None
    return listing.path_of(find_session(listing, session_id))


def _gated(
    app: AppContext,
    report: TokenUsageReport | Any,
    name: str,
    ended: datetime,
    *,
    with_cost: bool,
    document: bool = False,
) -> _Target:
    """The target of ``report``, named ``name``: the report model, or with ``document`` the
    index's document of it, which the target does not keep (only the CI formats print the
    report itself, from the model)."""
    loader = pricebook_loader(app) if with_cost else None
    totals = gate.report_totals(report, name, loader)
    checking = f"Checking {name} (ended {ended.isoformat(timespec='seconds')})"
    return _Target(totals, None if document else report, checking)


def _report_target(
    app: AppContext,
    report_file: Path | None,
    session_id: str | None,
    *,
    with_cost: bool,
    needs_report: bool,
) -> _Target:
    """One report: ``report_file``, the session's report (a file, else the ledger's), or the
    latest, served from the index's document of it unless ``needs_report`` (the CI formats print
    the report's agents from the model)."""
    if report_file is not None:
        path = locate_report(app, report_file)
    elif session_id is None:
        listing = project_listing(app)
        chosen = latest(listing)
        document = None if needs_report else listing.document(chosen)
        # A 0.1 report is re-priced when gated: that needs the model and the price table.
        if document is not None and document.schema_version is not None:
            return _gated(
                app, document, chosen.file, chosen.end_time, with_cost=with_cost, document=True
            )
        path = listing.path_of(chosen)
    else:
        found = _in_files(app, session_id)
        if found is None:
            report = _ledger_report(app, session_id)
            name = f"ledger session {report.session_id}"
            return _gated(app, report, name, report.end_time, with_cost=with_cost)
        path = found
    report = load(path)
    return _gated(app, report, path.name, report.end_time, with_cost=with_cost)


def _ledger_totals(app: AppContext, days: int) -> _Target:
    """The ledger's totals of the last ``days`` local days of this project (0 = all time).

    No usage at all is a known cost of zero; a cost over partly priced usage is a lower bound.
    """
    from token_tracking.history.ledger import Ledger, project_key  # for --since only

    with Ledger() as ledger:
        tokens_used, cost, coverage = ledger.totals(days, project_key(app.project_path))
    if tokens_used == 0:
        cost, coverage = 0.0, 1.0
    return _Target(
        gate.GateTotals(
            target=window_label(days),
            total_tokens=tokens_used,
            cost_usd=cost,
            cost_complete=cost is not None and coverage is not None and coverage >= 1,
        )
    )


def _baseline(app: AppContext, path: Path) -> gate.Baseline:
    """The baseline, reduced to what the regression gate compares: a report file, a run
    directory, or a reports folder (its latest report; e.g. the base branch's checkout)."""
    # For --baseline only (see the module docstring).
    from token_tracking.compare import load_side
    from token_tracking.rundirs.log import TOKENS_FILE

    found = locate_report(app, path)
    if found.is_dir() and not (found / TOKENS_FILE).exists():
        listing = list_reports(found, use_index=False)
        if listing.reports:
            found = listing.path_of(latest(listing))
    side = load_side(found, pricebook_loader(app))
    return gate.Baseline(
        label=side.label,
        total_tokens=side.total_tokens,
        cost_usd=side.cost_usd,
        cost_complete=side.cost_usd is not None and not side.cost_is_lower_bound,
    )


def _output_format(output_format: str | None, as_json: bool) -> str:
    if as_json and output_format not in (None, "json"):
        raise UsageError(f"--json is --format json; it does not go with --format {output_format}")
    return "json" if as_json else (output_format or "text")


def _write_junit(path: Path, verdict: gate.CheckVerdict) -> None:
    from token_tracking import gate_formats  # for --junit and the CI formats only

    try:
        atomic_write(path, gate_formats.junit_xml(verdict))
    except OSError as error:
        raise UsageError(f"cannot write the JUnit file {path}: {error.strerror}") from error


def _append_step_summary(section: str) -> None:
    """Append ``section`` to the job summary when GitHub Actions names one; a summary that
    cannot be written is a warning, never a change to the verdict."""
    summary = os.environ.get(STEP_SUMMARY_VARIABLE)
    if not summary:
        return
    try:
        append_text(Path(summary), section)
    except OSError as error:
        click.echo(
            f"Warning: cannot append to the job summary {summary}: {error.strerror}", err=True
        )


@click.command("check")
@DB_URL
@click.option("--max-cost", type=float, metavar="USD", help="Fail (exit 1) above this cost.")
@click.option("--max-tokens", type=int, metavar="N", help="Fail (exit 1) above these tokens.")
@click.option(
    "--report-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Check this report file (default: the latest report).",
)
@click.option(
    "--session-id",
    metavar="ID",
    help="Check this session (a prefix): its report file, else its report in the ledger.",
)
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
    help="Pass a gate whose cost or tokens are unknown or only a lower bound.",
)
@click.option(
    "--baseline",
    type=click.Path(path_type=Path),
    metavar="F",
    help="Compare with this report file, run directory or reports folder (its latest report).",
)
@click.option(
    "--max-increase",
    type=float,
    metavar="PCT",
    help="Fail when the cost is more than PCT percent above the baseline's.",
)
@click.option(
    "--max-increase-tokens",
    type=float,
    metavar="PCT",
    help="Fail when the tokens are more than PCT percent above the baseline's.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(FORMATS),
    help="text (default), json, github (a workflow command and the job summary), markdown.",
)
@click.option(
    "--junit",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Also write the verdict as a JUnit XML file (one test case per threshold).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON (--format json).")
@click.pass_context
def check(
    ctx: click.Context,
    max_cost: float | None,
    max_tokens: int | None,
    report_file: Path | None,
    session_id: str | None,
    since: int | None,
    allow_unknown: bool,
    baseline: Path | None,
    max_increase: float | None,
    max_increase_tokens: float | None,
    output_format: str | None,
    junit: Path | None,
    as_json: bool,
) -> None:
    """Fail the build when a run cost more than a threshold (exit 1), else exit 0.

    Checks the latest report, one --report-file, a --session-id (a report file or a ledger
    session), or with --since the ledger's totals of the last days; the file checked and its end
    time go to stderr. The cost gated is the one recorded in the report, except for 0.1 reports,
    which are re-priced with today's table. With --baseline F (a report file, a run directory,
    or a reports folder, whose latest report is taken),
    --max-increase PCT fails when the cost is more than PCT percent above the baseline's, and
    --max-increase-tokens PCT the same for tokens; an increase of exactly PCT passes. An unknown
    or partly priced cost fails a cost threshold unless --allow-unknown. Exit 2 when there is
    nothing to check or an option is invalid.

    \b
    --format github prints one ::error or ::notice workflow command and, when
    GITHUB_STEP_SUMMARY is set, appends a markdown section to that file; --format
    markdown prints that section for a pull-request comment; --junit FILE writes
    one JUnit test case per threshold, with any format.

    \b
    Examples:
      memory-banker tokens check --max-cost 1.00
      memory-banker tokens check --max-tokens 200000 --report-file token_usage_20241206_143022.json
      memory-banker tokens check --since 7 --max-cost 5
      memory-banker tokens check --baseline token_usage_20241206_143022.json --max-increase 10
      memory-banker tokens check --max-cost 1.00 --format github --junit token-gate.xml
    """
    app = tokens_app(ctx)
    shown = _output_format(output_format, as_json)
    thresholds = gate.Thresholds(
        max_cost_usd=max_cost,
        max_tokens=max_tokens,
        max_increase_percent=max_increase,
        max_increase_tokens_percent=max_increase_tokens,
    )
    if thresholds.against_baseline and baseline is None:
        raise UsageError("--max-increase and --max-increase-tokens need --baseline F")
    if baseline is not None and not thresholds.against_baseline:
        raise UsageError("--baseline needs --max-increase PCT or --max-increase-tokens PCT")
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
        target = _ledger_totals(app, since)
    else:
        # Every format but text shows the cost even when only tokens are gated, so a 0.1 report's
        # cost is then re-priced too rather than shown as its known-wrong stored figure.
        with_cost = max_cost is not None or max_increase is not None or shown != "text"
        # The CI formats print the report's agents; text and JSON print the verdict only.
        needs_report = shown in ("github", "markdown")
        target = _report_target(
            app, report_file, session_id, with_cost=with_cost, needs_report=needs_report
        )
    compared = _baseline(app, baseline) if baseline is not None else None
    verdict = gate.evaluate(
        target.totals, thresholds, allow_unknown=allow_unknown, baseline=compared
    )
    if junit is not None:
        _write_junit(junit, verdict)
    if target.checking is not None:
        click.echo(display.printable(target.checking), err=True)
    if shown == "text":
        click.echo(display.printable(verdict.message), err=not verdict.passed)
    elif shown == "github":
        from token_tracking import gate_formats  # as in _write_junit

        click.echo(gate_formats.workflow_command(verdict))
        _append_step_summary(gate_formats.gate_markdown(verdict, target.report))
    else:
        if shown == "json":
            emit_json(verdict.as_dict())
        else:
            from token_tracking import gate_formats  # as in _write_junit

            click.echo(gate_formats.gate_markdown(verdict, target.report, marker=True), nl=False)
        if not verdict.passed:
            click.echo(display.printable(verdict.message), err=True)
    ctx.exit(verdict.exit_code)
