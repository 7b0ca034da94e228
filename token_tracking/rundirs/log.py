"""A run directory's usage log, ``tokens.jsonl``: the line format, appending, and reading.

``run_dir/tokens.jsonl`` is an append-only log that several processes may write at once: each
line goes out in one ``write`` on an ``O_APPEND`` descriptor, so lines never interleave. Its keys
are ``timestamp``, ``operation``, ``iteration``, ``input_tokens``, ``output_tokens``,
``total_tokens``, ``model`` and ``cost_usd``, plus ``cached_tokens``, ``cache_write_tokens``,
``reasoning_tokens`` and ``cost_is_actual``, which logs written by other tools may lack. The file
is the record: it is never "recovered".

A line's ``cost_usd`` is the actual cost when ``cost_is_actual`` is true, or when the key is
absent and a cost is given; otherwise it is only the estimate made when the line was written, and
statistics (:mod:`token_tracking.rundirs.summary`) estimate again with the current price book.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from token_tracking import display
from token_tracking.errors import RunDirError
from token_tracking.records import RequestUsage

logger = logging.getLogger(__name__)

TOKENS_FILE = "tokens.jsonl"
"""The log a run directory keeps its usage in."""

_EXTRA_COUNTS = ("cached_tokens", "cache_write_tokens", "reasoning_tokens")


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
    """Return the request record of one ``tokens.jsonl`` line (ours, or another tool's without
    the extra keys).

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
            # A line without the flag comes from a tool that logged only actual costs.
            "cost_is_actual": (cost is not None) if actual is None else bool(actual),
            "duration_seconds": line.get("duration_seconds"),
            "metadata": line.get("metadata") or {},
        }
    )


def append_usage(run_dir: Path, usage: RequestUsage) -> None:
    """Append one line for ``usage`` to ``run_dir/tokens.jsonl`` with a single ``write``.

    Raises RunDirError when the file cannot be written.
    """
    data = (display.json_text(line_from_usage(usage), indent=None) + "\n").encode("utf-8")
    path = run_dir / TOKENS_FILE
    try:
        # 0o666 less the umask, as every file the tool creates.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
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
