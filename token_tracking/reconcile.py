"""What keeps a tracker's totals whole and single: each provider response counted once, and an
Agents SDK run's usage that no response carried recorded apart.

- :class:`ResponseIndex` remembers the recorded responses by response id (and request id), so a
  response two integrations both see is recorded once: the first record wins.
- :class:`SdkRunUsage` compares an Agents SDK run's run-wide usage (``context_wrapper.usage``)
  with the responses the hooks saw; the difference becomes one request of the agent
  ``(unattributed)``, with a warning, so a report's total is never below what the SDK counted.

Neither takes a lock: the tracker calls them under its own.
"""

from __future__ import annotations

import logging
from datetime import datetime

from token_tracking.records import RequestUsage
from token_tracking.reports.build import UNATTRIBUTED_AGENT

__all__ = ["ResponseIndex", "SdkRunUsage", "sdk_count", "unattributed_usage"]

logger = logging.getLogger(__name__)


class ResponseIndex:
    """The recorded requests by provider response id and request id."""

    def __init__(self) -> None:
        self._by_response: dict[str, list[RequestUsage]] = {}
        self._by_request: dict[str, RequestUsage] = {}

    def seen(self, usage: RequestUsage) -> RequestUsage | None:
        """The record of the provider response ``usage`` comes from, when one was recorded.

        Records match by response id (request ids, when both give one, must agree), or by
        request id when ``usage`` has no response id. The first record of a response wins.
        """
        if usage.response_id is not None:
            for recorded in self._by_response.get(usage.response_id, ()):
                theirs, ours = recorded.request_id, usage.request_id
                if theirs is None or ours is None or theirs == ours:
                    return recorded
        elif usage.request_id is not None:
            return self._by_request.get(usage.request_id)
        return None

    def remember(self, usage: RequestUsage) -> None:
        """Index a recorded request under its response and request ids."""
        if usage.response_id is not None:
            self._by_response.setdefault(usage.response_id, []).append(usage)
        if usage.request_id is not None:
            self._by_request.setdefault(usage.request_id, usage)


def sdk_count(usage: object, name: str) -> int:
    """A count of the Agents SDK's ``Usage`` (it never leaves one unset)."""
    value = getattr(usage, name, None)
    return value if isinstance(value, int) else 0


class SdkRunUsage:
    """Per Agents SDK run (keyed by ``id`` of its usage object): the prompt, completion and
    request counts of the responses the hooks saw, and what is left unattributed."""

    def __init__(self) -> None:
        self._seen: dict[int, list[int]] = {}

    def note(self, run: int, input_tokens: int, output_tokens: int, requests: int) -> None:
        """Count one model response's SDK usage toward the run ``run``."""
        seen = self._seen.setdefault(run, [0, 0, 0])
        seen[0] += input_tokens
        seen[1] += output_tokens
        seen[2] += requests

    def take_missing(self, run_usage: object) -> tuple[int, int, int] | None:
        """What ``run_usage`` counts beyond the responses noted for its run, as (prompt,
        completion, requests), each at least 0; None when no token is missing. What it returns
        counts as seen from then on, so a second call for the same run returns None."""
        counts = (
            sdk_count(run_usage, "input_tokens"),
            sdk_count(run_usage, "output_tokens"),
            sdk_count(run_usage, "requests"),
        )
        seen = self._seen.setdefault(id(run_usage), [0, 0, 0])
        missing = [total - known for total, known in zip(counts, seen, strict=True)]
        if missing[0] <= 0 and missing[1] <= 0:
            return None
        prompt, completion, requests = (max(value, 0) for value in missing)
        seen[0] += prompt
        seen[1] += completion
        seen[2] += requests
        return prompt, completion, requests


def unattributed_usage(
    missing: tuple[int, int, int], *, timestamp: datetime, model: str | None
) -> RequestUsage:
    """The ``(unattributed)`` request for the ``missing`` (prompt, completion, requests) of a
    run, logged as a warning."""
    prompt, completion, requests = missing
    logger.warning(
        "the Agents SDK counted %d prompt and %d completion tokens that no agent's responses "
        "carried; they are recorded as the agent %s",
        prompt,
        completion,
        UNATTRIBUTED_AGENT,
    )
    return RequestUsage(
        timestamp=timestamp,
        agent_name=UNATTRIBUTED_AGENT,
        model=model,
        prompt_tokens=prompt,
        completion_tokens=completion,
        requests=requests,
    )
