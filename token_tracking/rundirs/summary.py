"""Run directories seen from outside (seed 004): one run's summary, and the recent-runs table.

A run directory holds ``tokens.jsonl`` (seed 004's append-only log, see
:mod:`token_tracking.rundirs.log`), and often ``run.json`` and ``token_summary.json``. The commands
here only read the log — other processes may be appending to it; nothing is locked or rewritten —
except ``tokens summary --save``, which writes ``token_summary.json`` (and ``run.json``'s
``tokens`` block) as the run-directory API does.

Costs: a line's actual cost is kept; other lines are priced with today's table, which is loaded
only when some line needs it. A line that names no model and gives no cost has an unknown cost,
and totals over such lines are lower bounds.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel
from rich.console import Console

from token_tracking.errors import RunDirError
from token_tracking.records import RequestUsage
from token_tracking.reports.build import Pricer
from token_tracking.reports.listing import PricebookLoader, format_columns, money
from token_tracking.rundirs.log import (
    TOKENS_FILE,
    RunTokenStats,
    compute_stats,
    estimate,
    print_summary,
    read_run_json,
    read_usage,
    save_summary,
    update_run_json,
)

RUN_LOG_NAME = TOKENS_FILE
"""The log a run directory keeps its usage in."""

_RUN_MARKERS = (TOKENS_FILE, "run.json", "token_summary.json")
_SEARCH_DEPTH = 3  # DIR/run, DIR/phase/run, DIR/phase/group/run; bounded, never a full walk
_PHASE_IN_NAME = re.compile(r"^run_([A-Za-z0-9-]+)_")

WIDE_RULE = "=" * 80
THIN_RULE = "-" * 80


def run_phase(run_dir: Path, run_json: dict[str, object] | None) -> str | None:
    """Return a run's phase: ``run.json``'s ``phase``, else the ``<phase>`` of a
    ``run_<phase>_…`` directory name, else ``None``."""
    if run_json is not None and run_json.get("phase") is not None:
        return str(run_json["phase"])
    match = _PHASE_IN_NAME.match(run_dir.name)
    return match.group(1) if match else None


def _priced(records: list[RequestUsage], pricebook: PricebookLoader) -> list[RequestUsage]:
    if all(r.cost_is_actual and r.cost_usd is not None for r in records):
        return records  # every cost is actual: no price table needed
    return estimate(records, Pricer(pricebook()))


def run_stats(run_dir: Path, pricebook: PricebookLoader) -> RunTokenStats:
    """Return seed 004's statistics of ``run_dir``'s ``tokens.jsonl``, read without locking.

    Raises :class:`RunDirError` when the directory or its log is missing or the log holds
    no usage line.
    """
    if not run_dir.is_dir():
        raise RunDirError(f"no run directory at {run_dir}")
    if not (run_dir / TOKENS_FILE).is_file():
        raise RunDirError(f"no token usage data found in {run_dir} (no {TOKENS_FILE})")
    records = read_usage(run_dir)
    if not records:
        raise RunDirError(f"no token usage data found in {run_dir / TOKENS_FILE}")
    run_json = read_run_json(run_dir)
    run_id = str(run_json.get("run_id", run_dir.name)) if run_json else run_dir.name
    return compute_stats(_priced(records, pricebook), run_id, run_phase(run_dir, run_json))


def summarize_run(run_dir: Path, pricebook: PricebookLoader) -> RunTokenStats:
    """``tokens summary``: the statistics of one run directory (see :func:`run_stats`)."""
    return run_stats(run_dir, pricebook)


def save_run_summary(run_dir: Path, stats: RunTokenStats) -> Path:
    """Write ``token_summary.json`` (and ``run.json``'s ``tokens`` block when run.json exists)
    and return the summary's path. Raises RunDirError when it cannot be written."""
    path = save_summary(run_dir, stats)
    update_run_json(run_dir, stats)
    return path


def print_run_summary(stats: RunTokenStats, console: Console) -> None:
    """Print seed 004's summary of one run on ``console`` (framed at 60 columns on any terminal)."""
    print_summary(stats, console)


# --- the recent-runs table ---------------------------------------------------------------------


class RunRow(BaseModel):
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


class RunsReport(BaseModel):
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


def _row(run_dir: Path, phase: str | None, pricebook: PricebookLoader) -> RunRow:
    run_json = read_run_json(run_dir)
    run_id = str(run_json.get("run_id", run_dir.name)) if run_json else run_dir.name
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
    stats = compute_stats(_priced(records, pricebook), run_id, phase)
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
        run_phase_ = run_phase(run_dir, read_run_json(run_dir))
        if phase is not None and (run_phase_ or "").lower() != phase.lower():
            continue
        candidates.append((_last_activity(run_dir), run_dir.name, run_dir, run_phase_))
    candidates.sort(key=lambda item: (item[0], item[1]), reverse=True)
    rows = [_row(run_dir, p, pricebook) for _, _, run_dir, p in candidates[:limit]]
    with_data = [row for row in rows if row.has_token_data]
    tokens = sum(row.total_tokens for row in with_data if row.total_tokens is not None)
    costs = [row.total_cost_usd for row in with_data]
    known = [cost for cost in costs if cost is not None]
    total_cost = sum(known) if known else None
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
        and (len(known) < len(costs) or any(row.cost_is_lower_bound for row in with_data)),
        average_tokens_per_run=tokens / count if count else None,
        average_cost_per_run=total_cost / count if count and total_cost is not None else None,
    )


def render_runs_report(report: RunsReport, console: Console) -> None:
    """Print seed 004's recent-runs table: run, phase, tokens, cost, iterations, a TOTAL row,
    the runs with token data and the average per run."""
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
            "-" if row.total_tokens is None else f"{row.total_tokens:,}",
            "-"
            if not row.has_token_data
            else money(row.total_cost_usd, lower_bound=row.cost_is_lower_bound),
            "-" if row.iterations is None else str(row.iterations),
        )
        for row in report.runs
    ]
    total = (
        "TOTAL",
        "",
        f"{report.total_tokens:,}",
        money(report.total_cost_usd, lower_bound=report.cost_is_lower_bound),
        "",
    )
    table = format_columns(
        ("Run ID", "Phase", "Tokens", "Cost", "Iter"), [*rows, total], right=(2, 3, 4)
    )
    lines += [table[0], THIN_RULE, *table[1:-1], THIN_RULE, table[-1], ""]
    lines.append(f"Runs with token data: {report.runs_with_token_data}/{shown}")
    if report.average_tokens_per_run is not None:
        average_cost = money(report.average_cost_per_run, lower_bound=report.cost_is_lower_bound)
        lines.append(
            f"Average per run: {report.average_tokens_per_run:,.0f} tokens ({average_cost})"
        )
    if report.runs_found > shown:
        lines.append(f"({report.runs_found} runs found; --limit shows more)")
    lines.append(WIDE_RULE)
    console.out("\n".join(lines), highlight=False)
