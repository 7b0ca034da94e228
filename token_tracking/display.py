"""How figures look on screen and in plain-text output: money, token counts, durations, columns.

One formatter per kind of figure, used by every command, so a cost reads the same in the report,
the listings, the ledger tables, the dashboard and the CI gate.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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
