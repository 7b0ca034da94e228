"""One run directory's statistics: totals per iteration and per operation, the saved
``token_summary.json``, ``run.json``'s ``tokens`` block, and the printed summary.

Costs: a line's actual cost is kept; other lines are priced with today's table (loaded only when
some line needs it), and a stored estimate is kept when the model has no price today. A line that
names no model and gives no cost has an unknown cost, and totals over such lines are the sum of
the known costs, a lower bound.

Reading never locks: other processes may be appending to the log. Writing ``run.json`` takes an
exclusive lock on ``.tokens.lock`` for its read-modify-write.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import Field
from rich.console import Console

from token_tracking import display
from token_tracking.counts import sum_known
from token_tracking.errors import RunDirError
from token_tracking.files import atomic_write
from token_tracking.records import DeferredModel, RequestUsage
from token_tracking.reports.pricer import PricebookLoader, Pricer
from token_tracking.reports.render import RULE
from token_tracking.rundirs.log import TOKENS_FILE, read_usage

logger = logging.getLogger(__name__)

SUMMARY_FILE = "token_summary.json"
RUN_FILE = "run.json"
_LOCK_FILE = ".tokens.lock"
_PHASE_IN_NAME = re.compile(r"^run_([A-Za-z0-9-]+)_")


class OperationStats(DeferredModel):
    """Totals of one operation (an entry of ``breakdown_by_operation``)."""

    count: int
    """Lines logged for the operation."""
    total_tokens: int
    """Input plus output tokens."""
    total_cost: float | None
    """USD; None when no line of it could be priced (a lower bound when some could not)."""
    input_tokens: int = 0
    """Input tokens (cache reads and writes included)."""
    output_tokens: int = 0
    """Output tokens (reasoning included)."""


class IterationStats(DeferredModel):
    """Totals of one iteration (an entry of ``breakdown_by_iteration``)."""

    total_tokens: int
    """Input plus output tokens."""
    total_cost: float | None
    """USD; None when no line of it could be priced."""
    operations: list[str]
    """The operations logged in the iteration, in first-logged order."""


class RunTokenStats(DeferredModel):
    """A run's ``token_summary.json``: its totals, per iteration and per operation."""

    run_id: str
    """The run's id (by default the run directory's name)."""
    phase: str | None = None
    """The run's phase, when given or recorded in ``run.json``."""
    total_input_tokens: int = 0
    """Input tokens of every line."""
    total_output_tokens: int = 0
    """Output tokens of every line."""
    total_tokens: int = 0
    """Input plus output."""
    total_cost_usd: float | None = None
    """Actual costs plus estimates; None when nothing could be priced; a lower bound when
    ``priced_coverage`` < 1."""
    iterations: int = 0
    """Distinct iteration numbers logged."""
    avg_tokens_per_iteration: float | None = None
    """``total_tokens / iterations``; None without iterations."""
    cost_per_iteration: float | None = None
    """``total_cost_usd / iterations``; None without iterations or cost."""
    breakdown_by_operation: dict[str, OperationStats] = Field(default_factory=dict)
    """Per operation, in first-logged order."""
    breakdown_by_iteration: dict[str, IterationStats] = Field(default_factory=dict)
    """Per iteration number (as a string key, as JSON needs); lines without one are left out."""
    requests: int = 0
    """Lines (LLM requests) logged."""
    total_cached_tokens: int | None = None
    """Cached input tokens; None when no line reported them."""
    total_cache_write_tokens: int | None = None
    """Cache-write input tokens; None when no line reported them."""
    total_reasoning_tokens: int | None = None
    """Reasoning output tokens; None when no line reported them."""
    actual_cost_usd: float = 0.0
    """The part of ``total_cost_usd`` given as actual costs."""
    estimated_cost_usd: float = 0.0
    """The part of ``total_cost_usd`` estimated from the price table."""
    unpriced_requests: int = 0
    """Lines whose cost is unknown (no actual cost and no price for their model)."""
    priced_coverage: float | None = None
    """Share of tokens with a known cost (1.0 = all); None when there are no tokens."""


def estimate(records: Sequence[RequestUsage], pricer: Pricer) -> list[RequestUsage]:
    """Return the records with every non-actual cost estimated again with ``pricer``.

    When the price is unknown now, an estimate stored in the line is kept.
    """
    priced: list[RequestUsage] = []
    for record in records:
        if record.cost_is_actual and record.cost_usd is not None:
            priced.append(record)
            continue
        fresh = pricer.price(record)
        if fresh.cost_usd is None and record.cost_usd is not None:
            fresh = fresh.model_copy(update={"cost_usd": record.cost_usd})
        priced.append(fresh)
    return priced


def compute_stats(records: Sequence[RequestUsage], run_id: str, phase: str | None) -> RunTokenStats:
    """Return the statistics of already priced records.

    Token totals add the known counts (an unknown count adds 0); cost totals are the sum of the
    known costs, ``None`` when none is known.
    """

    def tokens(record: RequestUsage) -> int:
        known = sum_known([record.prompt_tokens, record.completion_tokens])
        return 0 if known is None else known

    operations: dict[str, list[RequestUsage]] = {}
    iterations: dict[str, list[RequestUsage]] = {}
    for record in records:
        name = record.agent_name if record.agent_name is not None else "unknown"
        operations.setdefault(name, []).append(record)
        if record.iteration is not None:
            iterations.setdefault(str(record.iteration), []).append(record)
    total_input = sum_known(r.prompt_tokens for r in records)
    total_output = sum_known(r.completion_tokens for r in records)
    total = sum(tokens(r) for r in records)
    cost = sum_known([r.cost_usd for r in records])
    priced_tokens = sum(tokens(r) for r in records if r.cost_usd is not None)
    count = len(iterations)
    return RunTokenStats(
        run_id=run_id,
        phase=phase,
        total_input_tokens=0 if total_input is None else total_input,
        total_output_tokens=0 if total_output is None else total_output,
        total_tokens=total,
        total_cost_usd=cost,
        iterations=count,
        avg_tokens_per_iteration=total / count if count else None,
        cost_per_iteration=cost / count if count and cost is not None else None,
        breakdown_by_operation={
            name: OperationStats(
                count=len(group),
                total_tokens=sum(tokens(r) for r in group),
                total_cost=sum_known([r.cost_usd for r in group]),
                input_tokens=sum(r.prompt_tokens for r in group if r.prompt_tokens is not None),
                output_tokens=sum(
                    r.completion_tokens for r in group if r.completion_tokens is not None
                ),
            )
            for name, group in operations.items()
        },
        breakdown_by_iteration={
            key: IterationStats(
                total_tokens=sum(tokens(r) for r in group),
                total_cost=sum_known([r.cost_usd for r in group]),
                operations=list(dict.fromkeys(r.agent_name or "unknown" for r in group)),
            )
            for key, group in sorted(iterations.items(), key=lambda item: int(item[0]))
        },
        requests=sum(r.requests for r in records),
        total_cached_tokens=sum_known(r.cached_tokens for r in records),
        total_cache_write_tokens=sum_known(r.cache_write_tokens for r in records),
        total_reasoning_tokens=sum_known(r.reasoning_tokens for r in records),
        actual_cost_usd=sum(
            r.cost_usd for r in records if r.cost_is_actual and r.cost_usd is not None
        ),
        estimated_cost_usd=sum(
            r.cost_usd for r in records if not r.cost_is_actual and r.cost_usd is not None
        ),
        unpriced_requests=sum(1 for r in records if r.cost_usd is None),
        priced_coverage=priced_tokens / total if total else None,
    )


def read_run_json(run_dir: Path) -> dict[str, Any] | None:
    """Return ``run_dir/run.json`` as a dict; None when absent or not a JSON object (warned)."""
    path = run_dir / RUN_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        logger.warning("%s not updated: %s", path, error)
        return None
    if not isinstance(data, dict):
        logger.warning("%s not updated: not a JSON object", path)
        return None
    return data


def _write(path: Path, text: str) -> None:
    try:
        atomic_write(path, text)
    except OSError as error:
        raise RunDirError(f"cannot write {path}: {error.strerror}") from error


@contextlib.contextmanager
def _run_lock(run_dir: Path) -> Iterator[None]:
    # Serializes read-modify-write of run.json across the processes appending to the run.
    fd = os.open(run_dir / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def update_run_json(run_dir: Path, stats: RunTokenStats) -> bool:
    """Set the ``tokens`` block of an existing ``run_dir/run.json`` from ``stats``; keep every
    other key. Returns False (and writes nothing) when there is no usable run.json.

    Raises RunDirError when the file cannot be written.
    """
    if not (run_dir / RUN_FILE).is_file():
        return False
    with _run_lock(run_dir):
        data = read_run_json(run_dir)
        if data is None:
            return False
        data["tokens"] = {
            "total_input": stats.total_input_tokens,
            "total_output": stats.total_output_tokens,
            "total": stats.total_tokens,
            "cost_usd": stats.total_cost_usd,
            "tracked": True,
        }
        _write(run_dir / RUN_FILE, display.json_text(data) + "\n")
    return True


def save_summary(run_dir: Path, stats: RunTokenStats) -> Path:
    """Write ``stats`` to ``run_dir/token_summary.json`` atomically, set ``run.json``'s ``tokens``
    block when run.json exists, and return the summary's path.

    Raises RunDirError when a file cannot be written.
    """
    path = run_dir / SUMMARY_FILE
    _write(path, display.json_text(stats) + "\n")
    update_run_json(run_dir, stats)
    return path


def print_summary(stats: RunTokenStats, console: Console) -> None:
    """Print a run's summary in the 60-column frame: totals, cost per iteration, breakdown by
    operation."""

    def say(text: str = "") -> None:
        console.print(text, highlight=False, markup=False)

    console.print(RULE, highlight=False, markup=False)
    say(f"Token Usage Summary — {stats.run_id}")
    console.print(RULE, highlight=False, markup=False)
    if stats.phase is not None:
        say(f"Phase: {stats.phase}")
    say(f"Iterations: {stats.iterations}")
    say()
    say(f"Total Tokens: {display.tokens(stats.total_tokens)}")
    say(f"  Input:  {display.tokens(stats.total_input_tokens)}")
    say(f"  Output: {display.tokens(stats.total_output_tokens)}")
    say()
    cost = display.usd(stats.total_cost_usd)
    if stats.total_cost_usd is not None and stats.unpriced_requests:
        lines = display.plural(stats.unpriced_requests, "line")
        cost = f"at least {cost} ({lines} without a price)"
    say(f"Estimated Cost: {cost}")
    if stats.actual_cost_usd and stats.estimated_cost_usd:
        say(
            f"  Actual: {display.usd(stats.actual_cost_usd)}"
            f" + estimated: {display.usd(stats.estimated_cost_usd)}"
        )
    if stats.iterations:
        if stats.cost_per_iteration is not None:
            say(f"  Per iteration: {display.usd(stats.cost_per_iteration)}")
        if stats.avg_tokens_per_iteration is not None:
            say(f"  Avg tokens/iteration: {display.tokens(round(stats.avg_tokens_per_iteration))}")
    if stats.breakdown_by_operation:
        say()
        say("Breakdown by operation:")
        width = max(15, *(len(name) for name in stats.breakdown_by_operation))
        for name, op in stats.breakdown_by_operation.items():
            tokens = display.tokens(op.total_tokens)
            say(f"  {name:<{width}}: {tokens:>8} tokens ({display.usd(op.total_cost)})")
    console.print(RULE, highlight=False, markup=False)


def run_id_of(run_dir: Path, run_json: dict[str, object] | None) -> str:
    """Return a run's id: ``run.json``'s ``run_id``, else the run directory's name."""
    return str(run_json.get("run_id", run_dir.name)) if run_json else run_dir.name


def run_phase(run_dir: Path, run_json: dict[str, object] | None) -> str | None:
    """Return a run's phase: ``run.json``'s ``phase``, else the ``<phase>`` of a
    ``run_<phase>_…`` directory name, else ``None``."""
    if run_json is not None and run_json.get("phase") is not None:
        return str(run_json["phase"])
    match = _PHASE_IN_NAME.match(run_dir.name)
    return match.group(1) if match else None


def priced_records(records: list[RequestUsage], pricebook: PricebookLoader) -> list[RequestUsage]:
    """Return ``records`` priced for statistics (see :func:`estimate`); the price table is loaded
    only when some record has no actual cost."""
    if all(r.cost_is_actual and r.cost_usd is not None for r in records):
        return records  # every cost is actual: no price table needed
    return estimate(records, Pricer(pricebook()))


def run_stats(run_dir: Path, pricebook: PricebookLoader) -> RunTokenStats:
    """Return the statistics of ``run_dir``'s ``tokens.jsonl``, read without locking.

    The run's id and phase come from ``run.json`` when it gives them (see :func:`run_id_of` and
    :func:`run_phase`).
    Raises :class:`RunDirError` when the directory or its log is missing or the log holds no
    usage line.
    """
    if not run_dir.is_dir():
        raise RunDirError(f"no run directory at {run_dir}")
    if not (run_dir / TOKENS_FILE).is_file():
        raise RunDirError(f"no token usage data found in {run_dir} (no {TOKENS_FILE})")
    records = read_usage(run_dir)
    if not records:
        raise RunDirError(f"no token usage data found in {run_dir / TOKENS_FILE}")
    run_json = read_run_json(run_dir)
    run_id, phase = run_id_of(run_dir, run_json), run_phase(run_dir, run_json)
    return compute_stats(priced_records(records, pricebook), run_id, phase)
