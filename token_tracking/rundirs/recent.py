"""The recent-runs table (``tokens report``): the newest run directories under a folder, with
their tokens, cost and iterations, a TOTAL row and the average per run.

A run directory holds ``tokens.jsonl`` (see :mod:`token_tracking.rundirs.log`), and often
``run.json`` and ``token_summary.json``. Only the runs shown are read, without locking; nothing is
written. A run's cost is a lower bound when some of its lines had no price, and so is a total over
such runs.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from token_tracking import display
from token_tracking.counts import sum_known
from token_tracking.errors import RunDirError
from token_tracking.records import DeferredModel
from token_tracking.reports.pricer import PricebookLoader
from token_tracking.rundirs.log import TOKENS_FILE, read_usage
from token_tracking.rundirs.summary import (
    RUN_FILE,
    SUMMARY_FILE,
    compute_stats,
    priced_records,
    read_run_json,
    run_id_of,
    run_phase,
)

_RUN_MARKERS = (TOKENS_FILE, RUN_FILE, SUMMARY_FILE)
_SEARCH_DEPTH = 3  # DIR/run, DIR/phase/run, DIR/phase/group/run; bounded, never a full walk

WIDE_RULE = "=" * 80
THIN_RULE = "-" * 80


class RunRow(DeferredModel):
    """One run of the recent-runs table."""

    run_id: str
    """The run's id (``run.json``'s, else the directory name)."""
    path: str
    """The run directory."""
    phase: str | None
    """The run's phase, when known."""
    has_token_data: bool
    """True when the run's ``tokens.jsonl`` holds usage lines."""
    total_tokens: int | None
    """Input plus output tokens; ``None`` without token data."""
    total_cost_usd: float | None
    """Actual plus estimated cost; ``None`` when unknown or without token data."""
    cost_is_lower_bound: bool
    """True when some lines had no price."""
    iterations: int | None
    """Distinct iterations logged; ``None`` without token data."""
    last_activity: datetime
    """When the run's log (or the directory) last changed; the table is newest first."""


class RunsReport(DeferredModel):
    """``tokens report``: the newest runs under a folder, with totals and averages."""

    runs_dir: str
    """The folder searched."""
    phase: str | None
    """The phase filter, if any."""
    runs_found: int
    """Run directories found (after the phase filter)."""
    runs: list[RunRow]
    """The newest ``limit`` of them, newest first."""
    runs_with_token_data: int
    """Rows of ``runs`` that have token data."""
    total_tokens: int
    """Tokens over the rows shown."""
    total_cost_usd: float | None
    """Cost over the rows shown; ``None`` when no cost is known."""
    cost_is_lower_bound: bool
    """True when some row's cost is unknown or a lower bound."""
    average_tokens_per_run: float | None
    """``total_tokens`` over the rows with token data."""
    average_cost_per_run: float | None
    """``total_cost_usd`` over the rows with token data."""


def find_run_dirs(root: Path) -> list[Path]:
    """Return the run directories under ``root`` (up to three levels down): directories holding
    ``tokens.jsonl``, ``run.json`` or ``token_summary.json``, or named ``run_…``.

    Raises :class:`RunDirError` when ``root`` is not a directory.
    """
    if not root.is_dir():
        raise RunDirError(f"no runs folder at {root}")
    found: list[Path] = []
    level = [root]
    for _ in range(_SEARCH_DEPTH):
        deeper: list[Path] = []
        for folder in level:
            for child in sorted(folder.iterdir()):
                if not child.is_dir() or child.name.startswith("."):
                    continue
                if child.name.startswith("run_") or any(
                    (child / marker).is_file() for marker in _RUN_MARKERS
                ):
                    found.append(child)
                else:
                    deeper.append(child)
        level = deeper
    return found


def _last_activity(run_dir: Path) -> datetime:
    log = run_dir / TOKENS_FILE
    stat = log.stat() if log.is_file() else run_dir.stat()
    return datetime.fromtimestamp(stat.st_mtime).astimezone()


def _row(
    run_dir: Path, run_json: dict[str, Any] | None, phase: str | None, pricebook: PricebookLoader
) -> RunRow:
    run_id = run_id_of(run_dir, run_json)
    records = read_usage(run_dir)
    row = RunRow(
        run_id=run_id,
        path=str(run_dir),
        phase=phase,
        has_token_data=False,
        total_tokens=None,
        total_cost_usd=None,
        cost_is_lower_bound=False,
        iterations=None,
        last_activity=_last_activity(run_dir),
    )
    if not records:
        return row
    stats = compute_stats(priced_records(records, pricebook), run_id, phase)
    return row.model_copy(
        update={
            "has_token_data": True,
            "total_tokens": stats.total_tokens,
            "total_cost_usd": stats.total_cost_usd,
            "cost_is_lower_bound": stats.total_cost_usd is not None and stats.unpriced_requests > 0,
            "iterations": stats.iterations,
        }
    )


def runs_report(
    root: Path, *, phase: str | None, limit: int, pricebook: PricebookLoader
) -> RunsReport:
    """Build the table of the ``limit`` newest runs under ``root`` (of ``phase`` when given).

    Only the runs shown are read. Raises :class:`RunDirError` when ``root`` is missing.
    """
    candidates = []
    for run_dir in find_run_dirs(root):
        run_json = read_run_json(run_dir)
        run_phase_ = run_phase(run_dir, run_json)
        if phase is not None and (run_phase_ or "").lower() != phase.lower():
            continue
        candidates.append((_last_activity(run_dir), run_dir.name, run_dir, run_json, run_phase_))
    candidates.sort(key=lambda item: (item[0], item[1]), reverse=True)
    rows = [
        _row(run_dir, run_json, p, pricebook) for _, _, run_dir, run_json, p in candidates[:limit]
    ]
    with_data = [row for row in rows if row.has_token_data]
    tokens = sum(row.total_tokens for row in with_data if row.total_tokens is not None)
    costs = [row.total_cost_usd for row in with_data]
    total_cost = sum_known(costs)
    count = len(with_data)
    return RunsReport(
        runs_dir=str(root),
        phase=phase,
        runs_found=len(candidates),
        runs=rows,
        runs_with_token_data=count,
        total_tokens=tokens,
        total_cost_usd=total_cost,
        cost_is_lower_bound=total_cost is not None
        and (None in costs or any(row.cost_is_lower_bound for row in with_data)),
        average_tokens_per_run=tokens / count if count else None,
        average_cost_per_run=total_cost / count if count and total_cost is not None else None,
    )


def render_runs_report(report: RunsReport, console: Console) -> None:
    """Print the recent-runs table: run, phase, tokens, cost, iterations, a TOTAL row, the runs
    with token data and the average per run."""
    shown = len(report.runs)
    lines = [WIDE_RULE, f"Token Usage Report — Recent {shown} Run{'s' if shown != 1 else ''}"]
    if report.phase is not None:
        lines.append(f"Phase: {report.phase}")
    lines += [WIDE_RULE, ""]
    if not report.runs:
        where = f" of phase {report.phase}" if report.phase is not None else ""
        lines += [f"No runs{where} under {report.runs_dir}", WIDE_RULE]
        console.out("\n".join(lines), highlight=False)
        return
    rows = [
        (
            row.run_id,
            row.phase or "-",
            display.tokens(row.total_tokens, unknown="-"),
            "-"
            if not row.has_token_data
            else display.usd(row.total_cost_usd, lower_bound=row.cost_is_lower_bound),
            "-" if row.iterations is None else str(row.iterations),
        )
        for row in report.runs
    ]
    total = (
        "TOTAL",
        "",
        display.tokens(report.total_tokens),
        display.usd(report.total_cost_usd, lower_bound=report.cost_is_lower_bound),
        "",
    )
    table = display.columns(
        ("Run ID", "Phase", "Tokens", "Cost", "Iter"), [*rows, total], right=(2, 3, 4)
    )
    lines += [table[0], THIN_RULE, *table[1:-1], THIN_RULE, table[-1], ""]
    lines.append(f"Runs with token data: {report.runs_with_token_data}/{shown}")
    if report.average_tokens_per_run is not None:
        average_cost = display.usd(
            report.average_cost_per_run, lower_bound=report.cost_is_lower_bound
        )
        lines.append(
            f"Average per run: {display.tokens(round(report.average_tokens_per_run))} tokens "
            f"({average_cost})"
        )
    if report.runs_found > shown:
        lines.append(f"({display.plural(report.runs_found, 'run')} found; --limit shows more)")
    lines.append(WIDE_RULE)
    console.out("\n".join(lines), highlight=False)
