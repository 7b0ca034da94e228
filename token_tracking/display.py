"""How figures look on screen and in plain-text output: money, token counts, durations, columns.

One formatter per kind of figure, used by every command, so a cost reads the same in the report,
the listings, the ledger tables, the dashboard and the CI gate.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

UNKNOWN = "unknown"
"""What a figure that is not known prints as."""


def usd(value: float | None, *, lower_bound: bool = False, unknown: str = UNKNOWN) -> str:
    """Return a cost in US dollars: ``$0.0531`` (four decimals, no thousands separator).

    A cost below $0.0001 that is not zero gets six decimals (``$0.000012``) so it never reads as
    free. ``None`` gives ``unknown``; ``lower_bound`` puts ``≥`` in front, for a total over partly
    priced usage. No thousands separator, so ``grep -o '\\$[0-9.]*'`` extracts the figure whole.
    """
    if value is None:
        return unknown
    decimals = 6 if 0 < abs(value) < 0.0001 else 4
    text = f"${abs(value):.{decimals}f}"
    if value < 0 and _nonzero(text):
        text = "-" + text
    return f"≥{text}" if lower_bound else text


def signed_usd(value: float | None, *, unknown: str = UNKNOWN) -> str:
    """Return a cost difference with its sign: ``+$0.0120``, ``-$0.0120``; ``$0.0000`` for none."""
    if value is None:
        return unknown
    text = usd(abs(value))
    if not _nonzero(text):
        return text
    return ("-" if value < 0 else "+") + text


def _nonzero(text: str) -> bool:
    return any(digit in text for digit in "123456789")


def tokens(value: int | None, *, unknown: str = UNKNOWN) -> str:
    """Return a token (or request) count with thousands separators: ``107,046``."""
    return unknown if value is None else f"{value:,}"


def seconds(value: float | None, *, unknown: str = "-") -> str:
    """Return a duration in seconds with one decimal: ``4.2s``."""
    return unknown if value is None else f"{value:.1f}s"


def clock(value: float) -> str:
    """Return a duration in seconds as a clock reads: ``13:42`` (m:ss), ``1:02:03`` from an hour."""
    hours, rest = divmod(round(value), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def percent(value: float | None, *, unknown: str = "n/a") -> str:
    """Return a share given as a fraction (0.25) as ``25.0%``."""
    return unknown if value is None else f"{value * 100:.1f}%"


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """Return ``1 model``, ``2 models``: the count and the noun in the right number."""
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{count:,} {word}"


def columns(
    headers: Sequence[str], rows: Iterable[Sequence[str]], right: Iterable[int] = ()
) -> list[str]:
    """Lay out ``rows`` under ``headers`` in fixed-width columns two spaces apart.

    Columns whose index is in ``right`` are right-aligned. Returns the header line followed by one
    line per row, trailing spaces stripped. Plain text on purpose: Rich's Table measures every
    cell and needs seconds for the 10,000-row listings this serves.
    """
    table = [list(headers), *(list(row) for row in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(headers))]
    right_set = set(right)
    lines = []
    for row in table:
        cells = [
            cell.rjust(width) if i in right_set else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


def span(value: float | None, *, unknown: str = "-") -> str:
    """Return a length of time in its two largest units: ``0.12s``, ``42s``, ``6m00s``,
    ``2h05m``, ``3d04h`` (for resets, waits and ages, where a clock's ``m:ss`` would mislead)."""
    if value is None:
        return unknown
    if value < 10:
        return f"{round(value, 2):g}s"
    if value < 60:
        return f"{value:.0f}s"
    minutes, secs = divmod(round(value), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s"


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str, *, markup: bool = False) -> str:
    """Return ``text`` (from a file, the ledger or a provider) safe to print on a terminal.

    Control characters (C0 but tab and newline, DEL, C1; ESC among them) are shown escaped, as
    ``\\x1b``, so a hostile string cannot retitle or clear the terminal. With ``markup``, Rich
    markup is escaped too, for strings printed through a Rich console or table, so ``[bold]``
    prints as written.
    """
    safe = _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)
    if not markup:
        return safe
    # Lazy: rich stays off the start-up path of the commands that print plain text.
    from rich.markup import escape

    return escape(safe)


def fit_columns(
    widths: Sequence[int], drop_order: Sequence[int], width: int, *, gap: int = 2
) -> list[int]:
    """Return the indices of the columns to keep so that a table fits ``width`` characters.

    ``widths`` are the columns' widths (the widest cell, header included), ``gap`` the space
    between two columns. Columns are dropped in ``drop_order`` (least wanted first) until the
    rest fits; columns not named there are never dropped, so the table may still be wider than
    ``width`` when they alone are.
    """
    keep = list(range(len(widths)))

    def needed() -> int:
        return sum(widths[i] for i in keep) + gap * max(len(keep) - 1, 0)

    for index in drop_order:
        if needed() <= width:
            break
        if index in keep:
            keep.remove(index)
    return keep


def left_out(names: Sequence[str], width: int) -> str:
    """Return the note under a table that dropped columns to fit: ``(Duration, Command: not shown
    at 80 columns; --json has them)``; empty when none was dropped."""
    if not names:
        return ""
    return f"({', '.join(names)}: not shown at {width} columns; --json has them)"


JSON_DIGITS = 12
"""Significant digits of every number with a fraction in the JSON the tools print or write."""


def json_number(value: float) -> float:
    """Return ``value`` rounded to :data:`JSON_DIGITS` significant digits, which JSON then writes
    without float noise (``0.66536``, not ``0.6653600000000001``) and without losing a tiny cost
    (``1.23456789012e-09``). Infinity and NaN are returned as they are."""
    return float(f"{value:.{JSON_DIGITS}g}") if math.isfinite(value) else value


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return json_number(value)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(item) for item in value]
    return value


def json_text(
    data: Any, *, indent: int | None = 2, separators: tuple[str, str] | None = None
) -> str:
    """Return ``data`` as one JSON document: a pydantic model (serialized as its own
    ``model_dump_json`` would), a list of them, or plain JSON values. Every float is written with
    :data:`JSON_DIGITS` significant digits (:func:`json_number`); other values print with
    ``str``. ``separators`` as :func:`json.dumps` takes them (compact lines: ``(",", ":")``). No
    trailing newline."""
    return json.dumps(
        _rounded(_plain(data)),
        indent=indent,
        separators=separators,
        ensure_ascii=False,
        default=str,
    )


def _plain(data: Any) -> Any:
    # A pydantic model is recognised by its serializer, so that this module need not import
    # pydantic.
    if callable(getattr(type(data), "model_dump", None)):
        return data.model_dump(mode="json")
    if isinstance(data, list | tuple):
        return [_plain(item) for item in data]
    return data
