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


def counts(usage: RequestUsage) -> tuple[Any, ...]:
    """Return ``(agent, model, prompt, completion, cached, cache_write, reasoning, requests)``."""
    return (
        usage.agent_name,
        usage.model,
        usage.prompt_tokens,
        usage.completion_tokens,
        usage.cached_tokens,
        usage.cache_write_tokens,
        usage.reasoning_tokens,
        usage.requests,
    )
