"""The logs' timestamps (ISO 8601) as microseconds since the Unix epoch."""

from __future__ import annotations

from datetime import UTC, date, datetime

from token_tracking.history.clock import to_us

_MINUTES: dict[str, int] = {}
"""Seconds since the epoch of each ``YYYY-MM-DDTHH:MM`` already seen (a log spans few minutes
per request); cleared when it reaches :data:`_MAX_MINUTES` so it never grows with the logs."""

_MAX_MINUTES = 100_000

_EPOCH_DAY = date(1970, 1, 1).toordinal()

_TWO_DIGITS = {f"{n:02d}": n for n in range(60)}
"""``"00"`` … ``"59"``: seconds read by a lookup that accepts nothing else."""

_MILLISECONDS = {f"{n:03d}": n * 1000 for n in range(1000)}
"""``"000"`` … ``"999"`` as microseconds."""


def _minute(prefix: str) -> int | None:
    """Seconds since the epoch of a ``YYYY-MM-DDTHH:MM`` prefix, or ``None``."""
    hour = _TWO_DIGITS.get(prefix[11:13])
    minute = _TWO_DIGITS.get(prefix[14:16])
    if hour is None or hour > 23 or minute is None or prefix[13] != ":":
        return None
    try:
        day = date.fromisoformat(prefix[:10]).toordinal() - _EPOCH_DAY
    except ValueError:
        return None
    if len(_MINUTES) >= _MAX_MINUTES:
        _MINUTES.clear()
    seconds = _MINUTES[prefix] = day * 86_400 + hour * 3600 + minute * 60
    return seconds


def timestamp_us(value: object) -> int | None:
    """Return an ISO 8601 timestamp (``2026-12-01T09:30:00.123Z``) in microseconds since the
    epoch; ``None`` when it is missing or not a timestamp. A time without an offset is UTC (the
    agents log UTC)."""
    if not isinstance(value, str):
        return None
    # The agents' own form, UTC with milliseconds, read by lookups: it is one per log line, and
    # datetime.fromisoformat plus the conversion cost several times as much.
    if (
        len(value) == 24
        and value[23] == "Z"
        and value[19] == "."
        and value[16] == ":"
        and value[10] == "T"
    ):
        base = _MINUTES.get(value[:16])
        if base is None:
            base = _minute(value[:16])
        second = _TWO_DIGITS.get(value[17:19])
        fraction = _MILLISECONDS.get(value[20:23])
        if base is None or second is None or fraction is None:
            return None
        return (base + second) * 1_000_000 + fraction
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return to_us(moment)
