"""Helpers shared by the token_tracking tests: a clock the test moves, and request records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from token_tracking import RequestUsage

START = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)
"""The moment every test session starts."""


class StepClock:
    """A clock that stands still until the test advances it."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def usage(
    agent: str | None, prompt: int | None, completion: int | None, **fields: Any
) -> RequestUsage:
    """Return one request record of ``agent`` at ``fields['timestamp']`` (default: START)."""
    fields.setdefault("timestamp", START)
    return RequestUsage(
        agent_name=agent, prompt_tokens=prompt, completion_tokens=completion, **fields
    )
