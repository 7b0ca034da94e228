"""Seed 004's run directories: ``tokens.jsonl``, ``token_summary.json`` and ``run.json``.

``run_dir/tokens.jsonl`` is an append-only log that several processes may write at once: each
line goes out in one ``write`` on an ``O_APPEND`` descriptor, so lines never interleave. Its keys
are seed 004's (``timestamp``, ``operation``, ``iteration``, ``input_tokens``, ``output_tokens``,
``total_tokens``, ``model``, ``cost_usd``) plus the DESIGN §3 extras (``cached_tokens``,
``cache_write_tokens``, ``reasoning_tokens``, ``cost_is_actual``). The file is the record: it is
never "recovered".

A line's ``cost_usd`` is the actual cost when ``cost_is_actual`` is true, or when the key is
absent and a cost is given (seed 004 lines); otherwise it is only the estimate made when the
line was written, and statistics estimate again with the current price book.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import secrets
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from rich.console import Console

from token_tracking.errors import RunDirError
from token_tracking.intervals import format_cost
from token_tracking.records import RequestUsage, sum_counts
from token_tracking.reports.build import Pricer
from token_tracking.reports.render import RULE

logger = logging.getLogger(__name__)

TOKENS_FILE = "tokens.jsonl"
SUMMARY_FILE = "token_summary.json"
RUN_FILE = "run.json"
_LOCK_FILE = ".tokens.lock"

_EXTRA_COUNTS = ("cached_tokens", "cache_write_tokens", "reasoning_tokens")


class OperationStats(BaseModel):
    """Totals of one operation (seed 004 ``breakdown_by_operation`` entry)."""

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


class IterationStats(BaseModel):
    """Totals of one iteration (seed 004 ``breakdown_by_iteration`` entry)."""

    total_tokens: int
    """Input plus output tokens."""
    total_cost: float | None
    """USD; None when no line of it could be priced."""
    operations: list[str]
    """The operations logged in the iteration, in first-logged order."""


class RunTokenStats(BaseModel):
    """Seed 004's ``token_summary.json``: a run's totals, per iteration and per operation."""

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


def line_from_usage(usage: RequestUsage) -> dict[str, Any]:
    """Return the ``tokens.jsonl`` line of a (priced) request record."""
    line: dict[str, Any] = {
        "timestamp": usage.timestamp.isoformat(),
        "operation": usage.agent_name,
        "iteration": usage.iteration,
        "input_tokens": usage.prompt_tokens,
        "output_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
        "model": usage.model,
        "cost_usd": usage.cost_usd,
        "cached_tokens": usage.cached_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
        "cost_is_actual": usage.cost_is_actual,
    }
    if usage.duration_seconds is not None:
        line["duration_seconds"] = usage.duration_seconds
    if usage.metadata:
        line["metadata"] = usage.metadata
    return line


def usage_from_line(line: Mapping[str, Any]) -> RequestUsage:
    """Return the request record of one ``tokens.jsonl`` line (seed 004's or ours).

    Raises pydantic's ValidationError when the line's values have the wrong types.
    """
    cost = line.get("cost_usd")
    actual = line.get("cost_is_actual")
    return RequestUsage.model_validate(
        {
            "timestamp": line.get("timestamp"),
            "agent_name": line.get("operation"),
            "model": line.get("model"),
            "prompt_tokens": line.get("input_tokens"),
            "completion_tokens": line.get("output_tokens"),
            **{key: line.get(key) for key in _EXTRA_COUNTS},
            "iteration": line.get("iteration"),
            "cost_usd": cost,
            # Seed 004 lines have no flag: a cost written there was the actual cost.
            "cost_is_actual": (cost is not None) if actual is None else bool(actual),
            "duration_seconds": line.get("duration_seconds"),
            "metadata": line.get("metadata") or {},
        }
    )


def append_usage(run_dir: Path, usage: RequestUsage) -> None:
    """Append one line for ``usage`` to ``run_dir/tokens.jsonl`` with a single ``write``.

    Raises RunDirError when the file cannot be written.
    """
    data = (json.dumps(line_from_usage(usage), separators=(", ", ": ")) + "\n").encode("utf-8")
    path = run_dir / TOKENS_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError as error:
        raise RunDirError(f"cannot open {path}: {error.strerror}") from error
    try:
        written = os.write(fd, data)
    except OSError as error:
        raise RunDirError(f"cannot write {path}: {error.strerror}") from error
    finally:
        os.close(fd)
    if written != len(data):
        raise RunDirError(f"short write to {path}")


def read_usage(run_dir: Path) -> list[RequestUsage]:
    """Return every record of ``run_dir/tokens.jsonl`` in file order ([] when it is absent).

    A line that is not JSON or not a usage record is skipped with a warning naming it.
    """
    path = run_dir / TOKENS_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as error:
        raise RunDirError(f"cannot read {path}: {error.strerror}") from error
    # Bytes that are not UTF-8 (a torn or foreign file) spoil only their own lines, which then
    # fail to parse and are skipped with a warning like any other bad line.
    text = data.decode("utf-8", errors="replace")
    records: list[RequestUsage] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
            if not isinstance(line, dict):
                raise ValueError("not a JSON object")
            records.append(usage_from_line(line))
        except (ValueError, ValidationError) as error:
            logger.warning("%s line %d skipped: %s", path, number, str(error).splitlines()[0])
        except RecursionError:
            logger.warning("%s line %d skipped: nested too deeply", path, number)
    return records


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


def _known_sum(values: Sequence[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return sum(known) if known else None


def compute_stats(records: Sequence[RequestUsage], run_id: str, phase: str | None) -> RunTokenStats:
    """Return seed 004's statistics of already priced records."""

    def tokens(record: RequestUsage) -> int:
        known = sum_counts([record.prompt_tokens, record.completion_tokens])
        return 0 if known is None else known

    operations: dict[str, list[RequestUsage]] = {}
    iterations: dict[str, list[RequestUsage]] = {}
    for record in records:
        name = record.agent_name if record.agent_name is not None else "unknown"
        operations.setdefault(name, []).append(record)
        if record.iteration is not None:
            iterations.setdefault(str(record.iteration), []).append(record)
    total_input = sum_counts(r.prompt_tokens for r in records)
    total_output = sum_counts(r.completion_tokens for r in records)
    total = sum(tokens(r) for r in records)
    cost = _known_sum([r.cost_usd for r in records])
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
                total_cost=_known_sum([r.cost_usd for r in group]),
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
                total_cost=_known_sum([r.cost_usd for r in group]),
                operations=list(dict.fromkeys(r.agent_name or "unknown" for r in group)),
            )
            for key, group in sorted(iterations.items(), key=lambda item: int(item[0]))
        },
        requests=sum(r.requests for r in records),
        total_cached_tokens=sum_counts(r.cached_tokens for r in records),
        total_cache_write_tokens=sum_counts(r.cache_write_tokens for r in records),
        total_reasoning_tokens=sum_counts(r.reasoning_tokens for r in records),
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


def _write_atomic(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temp, "x", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except OSError as error:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise RunDirError(f"cannot write {path}: {error.strerror}") from error


@contextlib.contextmanager
def _run_lock(run_dir: Path) -> Iterator[None]:
    # Serializes read-modify-write of run.json across the processes appending to the run.
    fd = os.open(run_dir / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
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
        _write_atomic(run_dir / RUN_FILE, json.dumps(data, indent=2) + "\n")
    return True


def save_summary(run_dir: Path, stats: RunTokenStats) -> Path:
    """Write ``stats`` to ``run_dir/token_summary.json`` atomically and return the path.

    Raises RunDirError when it cannot be written.
    """
    path = run_dir / SUMMARY_FILE
    _write_atomic(path, stats.model_dump_json(indent=2) + "\n")
    return path


def print_summary(stats: RunTokenStats, console: Console) -> None:
    """Print seed 004's run summary: totals, cost per iteration, breakdown by operation."""

    def say(text: str = "") -> None:
        console.print(text, highlight=False, markup=False)

    console.print(RULE, highlight=False, markup=False)
    say(f"Token Usage Summary — {stats.run_id}")
    console.print(RULE, highlight=False, markup=False)
    if stats.phase is not None:
        say(f"Phase: {stats.phase}")
    say(f"Iterations: {stats.iterations}")
    say()
    say(f"Total Tokens: {stats.total_tokens:,}")
    say(f"  Input:  {stats.total_input_tokens:,}")
    say(f"  Output: {stats.total_output_tokens:,}")
    say()
    cost = format_cost(stats.total_cost_usd)
    if stats.total_cost_usd is not None and stats.unpriced_requests:
        noun = "line" if stats.unpriced_requests == 1 else "lines"
        cost = f"at least {cost} ({stats.unpriced_requests} {noun} without a price)"
    say(f"Estimated Cost: {cost}")
    if stats.actual_cost_usd and stats.estimated_cost_usd:
        say(
            f"  Actual: {format_cost(stats.actual_cost_usd)}"
            f" + estimated: {format_cost(stats.estimated_cost_usd)}"
        )
    if stats.iterations:
        if stats.cost_per_iteration is not None:
            say(f"  Per iteration: {format_cost(stats.cost_per_iteration)}")
        if stats.avg_tokens_per_iteration is not None:
            say(f"  Avg tokens/iteration: {stats.avg_tokens_per_iteration:,.0f}")
    if stats.breakdown_by_operation:
        say()
        say("Breakdown by operation:")
        width = max(15, *(len(name) for name in stats.breakdown_by_operation))
        for name, op in stats.breakdown_by_operation.items():
            say(f"  {name:<{width}}: {op.total_tokens:>8,} tokens ({format_cost(op.total_cost)})")
    console.print(RULE, highlight=False, markup=False)
