"""Request records for the token_tracking tests: build one, and read its counts back."""

from __future__ import annotations

from typing import Any

from tests.support.clock import START
from token_tracking import RequestUsage


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
