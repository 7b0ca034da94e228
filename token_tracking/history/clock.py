"""How the ledger stores time and which local days a window covers.

Times are stored as integer microseconds since the Unix epoch (UTC); a naive time (a 0.1
report's) is read as local time. Windows of days are local calendar days including today.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

US_PER_SECOND = 1_000_000
"""Microseconds in a second: the ledger's unit of time."""

MAX_DAYS = 36_500
"""The longest window of days a command accepts (a century); 0 means all time.

Far below the ~739,000 days that reach back before year 1, where the window's start cannot be
computed."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def to_us(moment: datetime) -> int:
    """Return ``moment`` as integer microseconds since the epoch; a naive time is local time."""
    aware = moment if moment.tzinfo is not None else moment.astimezone()
    # timedelta floor division is exact (no float seconds in between) and runs in C.
    return (aware - _EPOCH) // _ONE_US


def from_us(value: int) -> datetime:
    """Return the UTC datetime of integer microseconds since the epoch."""
    return _EPOCH + timedelta(microseconds=value)


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def window_start(days: int, *, now: datetime | None = None) -> datetime | None:
    """Return the start (local midnight, as an aware time) of the last ``days`` local days.

    ``days`` counts calendar days including today; 0 means all time (``None``).
    """
    if days <= 0:
        return None
    local_now = (now if now is not None else utc_now()).astimezone()
    first_day = local_now.date() - timedelta(days=days - 1)
    return datetime(first_day.year, first_day.month, first_day.day).astimezone()
