"""The one test clock: it stands still until the test moves it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

START = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)
"""The moment a :class:`StepClock` starts at unless told otherwise."""


class StepClock:
    """A clock that stands still until the test advances it; call it for the current time."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        """Move the clock ``seconds`` forward and return the new time."""
        self.now += timedelta(seconds=seconds)
        return self.now
