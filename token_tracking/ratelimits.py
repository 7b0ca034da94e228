"""Provider rate limits read from response headers, and the usage limits they recommend.

Providers state their limits on every response:

- OpenAI (and OpenAI-compatible servers): ``x-ratelimit-limit-requests``,
  ``x-ratelimit-remaining-requests``, ``x-ratelimit-reset-requests`` and the same three for
  ``-tokens``; resets are durations such as ``6m0s``, ``1s`` or ``20ms``.
- Anthropic: ``anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,
  reset}``; resets are RFC 3339 times.
- Both: ``retry-after`` (seconds, or an HTTP date) on a 429.
- LiteLLM passes the provider's own headers on in a response's
  ``_hidden_params["additional_headers"]``, each with an ``llm_provider-`` prefix.

:func:`parse_headers` turns any of these into a
:class:`~token_tracking.history.ratelimit_store.RateLimitSnapshot` (a figure that cannot be read
is left out, never guessed). :func:`limits_report` sets a snapshot beside the configured usage
limits: OpenAI and Anthropic limits are per minute, so a limit implies an hourly ceiling (x 60)
and a daily one (x 1,440). ``CLAUDE_HOURLY_LIMIT`` and ``CLAUDE_DAILY_LIMIT`` follow the requests
limit, ``TOKEN_HOURLY_LIMIT`` and ``TOKEN_DAILY_LIMIT`` the tokens limit; a variable is
recommended at its ceiling when it is not set in the environment (its default does not count) or
is set above the ceiling.

The integrations call :func:`capture_headers`, :func:`capture_litellm` or :func:`watch_client`
where they see a response; the latest snapshot per provider and model is stored in the ledger
(nothing is stored when ``TOKEN_TRACKING_ENABLED`` is false or the response has no rate-limit
header, and a ledger that cannot be written costs one warning, never the request).
:func:`shortfalls` tells a run whose estimate needs more than the last reported remaining
requests or tokens (a window that has reset since says nothing).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from pydantic import Field

from token_tracking import display
from token_tracking.errors import TrackingError
from token_tracking.history.clock import utc_now
from token_tracking.history.ledger import Ledger
from token_tracking.history.ratelimit_store import (
    KINDS,
    RateLimitKind,
    RateLimitSnapshot,
    RateLimitWindow,
    model_key,
    save_snapshot,
)
from token_tracking.records import DeferredModel
from token_tracking.settings import LedgerSettings, tracking_enabled

logger = logging.getLogger(__name__)

LITELLM_PREFIX = "llm_provider-"
"""The prefix LiteLLM puts before each provider header it passes on."""

_OPENAI = {
    f"x-ratelimit-{field}-{kind}": (kind, field)
    for kind in ("requests", "tokens")
    for field in ("limit", "remaining", "reset")
}
_ANTHROPIC = {
    f"anthropic-ratelimit-{kind.replace('_', '-')}-{field}": (kind, field)
    for kind in KINDS
    for field in ("limit", "remaining", "reset")
}
_HEADER_FIELDS: dict[str, tuple[str, str]] = {**_OPENAI, **_ANTHROPIC}

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(h|ms|m|s|us|µs|ns)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}

# --------------------------------------------------------------------------------------------------
# Parsing


def parse_duration(text: str) -> float | None:
    """Return the seconds of a Go-style duration (``6m0s``, ``1s``, ``20ms``, ``1h2m3.5s``).

    Returns None for anything else (an empty string, a bare number, a unit it does not know).
    """
    value = text.strip()
    position = 0
    total = 0.0
    for match in _DURATION_PART.finditer(value):
        if match.start() != position:
            return None
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    if position == 0 or position != len(value):
        return None
    return total


def _seconds_number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def parse_reset(text: str, now: datetime) -> float | None:
    """Return the seconds from ``now`` until a reset given as a duration (``6m0s``), a number of
    seconds (``30``) or an RFC 3339 time (``2026-12-05T06:00:30Z``); a time already past is 0.

    Returns None when the value is none of these.
    """
    value = text.strip()
    seconds = parse_duration(value)
    if seconds is None:
        seconds = _seconds_number(value)
    if seconds is not None:
        return seconds
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None  # RFC 3339 times carry an offset; a naive one is not one of them
    return max(0.0, (moment - now).total_seconds())


def parse_retry_after(text: str, now: datetime) -> float | None:
    """Return the seconds a ``retry-after`` value asks to wait: a number of seconds, or an HTTP
    date (a date already past is 0). None when it is neither."""
    value = text.strip()
    seconds = _seconds_number(value)
    if seconds is not None:
        return seconds
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, (moment - now).total_seconds())


def parse_count(text: str) -> int | None:
    """Return a limit or remaining count (a whole number, 0 or more), else None."""
    value = text.strip()
    if not value.isdigit():
        return None
    return int(value)


def _lowered(headers: Mapping[str, Any]) -> dict[str, str]:
    return {str(name).lower(): str(value) for name, value in headers.items()}


def has_rate_limit_headers(headers: Mapping[str, Any]) -> bool:
    """Return whether ``headers`` hold any rate-limit header this module reads."""
    return any(name in _HEADER_FIELDS for name in _lowered(headers))


def parse_headers(
    headers: Mapping[str, Any],
    *,
    provider: str,
    model: str,
    source: str,
    http_status: int | None = None,
    now: datetime | None = None,
) -> RateLimitSnapshot | None:
    """Return the rate limits ``headers`` state, or None when they hold no rate-limit header.

    Header names are matched case-insensitively. Anthropic's headers win over OpenAI-style ones
    for the same kind (LiteLLM adds OpenAI-style copies of some Anthropic headers). A value that
    cannot be read is left out; ``retry-after`` is kept when present.
    """
    moment = now if now is not None else utc_now()
    lowered = _lowered(headers)
    figures: dict[str, dict[str, float | int | None]] = {}
    found = False
    # OpenAI-style first, so Anthropic's own values overwrite any copies.
    for name, (kind, field) in (*_OPENAI.items(), *_ANTHROPIC.items()):
        raw = lowered.get(name)
        if raw is None:
            continue
        found = True
        value: float | int | None
        if field == "reset":
            value = parse_reset(raw, moment)
        else:
            value = parse_count(raw)
        if value is not None:
            figures.setdefault(kind, {})[field] = value
    if not found:
        return None
    retry = lowered.get("retry-after")
    limits: dict[RateLimitKind, RateLimitWindow] = {}
    for kind in KINDS:
        fields = figures.get(kind)
        if fields:
            limit, remaining = fields.get("limit"), fields.get("remaining")
            limits[kind] = RateLimitWindow(
                limit=int(limit) if limit is not None else None,
                remaining=int(remaining) if remaining is not None else None,
                reset_seconds=fields.get("reset"),
            )
    return RateLimitSnapshot(
        provider=provider,
        model=model_key(model),
        fetched_at=moment,
        source=source,
        http_status=http_status,
        retry_after_seconds=parse_retry_after(retry, moment) if retry is not None else None,
        limits=limits,
    )


def litellm_headers(response: Any) -> dict[str, str]:
    """Return the provider's own headers that LiteLLM kept on ``response`` (prefix removed).

    Reads ``response._hidden_params["additional_headers"]``; when no header there carries the
    ``llm_provider-`` prefix, the unprefixed ones are returned as they are. Empty when LiteLLM
    kept none.
    """
    hidden = getattr(response, "_hidden_params", None)
    if not isinstance(hidden, Mapping):
        return {}
    additional = hidden.get("additional_headers")
    if not isinstance(additional, Mapping):
        return {}
    prefixed = {
        str(name)[len(LITELLM_PREFIX) :]: str(value)
        for name, value in additional.items()
        if str(name).startswith(LITELLM_PREFIX)
    }
    return prefixed or {str(name): str(value) for name, value in additional.items()}


# --------------------------------------------------------------------------------------------------
# Configured limits against the provider's


@dataclass(frozen=True)
class Ceiling:
    """A usage limit a provider limit implies."""

    variable: str
    """The usage-limit variable (``CLAUDE_HOURLY_LIMIT`` …)."""
    kind: RateLimitKind
    """The provider limit it follows."""
    factor: int
    """Per-minute limit x ``factor`` = the ceiling (60 for an hour, 1,440 for a day)."""


CEILINGS: tuple[Ceiling, ...] = (
    Ceiling("CLAUDE_HOURLY_LIMIT", "requests", 60),
    Ceiling("CLAUDE_DAILY_LIMIT", "requests", 1440),
    Ceiling("TOKEN_HOURLY_LIMIT", "tokens", 60),
    Ceiling("TOKEN_DAILY_LIMIT", "tokens", 1440),
)
"""The usage limits a provider's per-minute limits imply, in display order."""


class ProviderLimitsReport(DeferredModel):
    """A provider's rate limits beside the configured usage limits (``fetch-limits --json``)."""

    provider: str
    """The provider that answered."""
    model: str
    """The model asked for."""
    fetched_at: datetime
    """When the provider answered (UTC)."""
    limits: dict[RateLimitKind, RateLimitWindow] = Field(default_factory=dict)
    """Each kind of limit the provider sent (a kind it did not send is absent)."""
    configured: dict[str, int | None] = Field(default_factory=dict)
    """Each usage-limit variable as set in the environment; null when not set (a default is not
    a setting)."""
    recommended: dict[str, int] = Field(default_factory=dict)
    """The variables to set, and their values: those not set or set above the provider's
    ceiling."""


def ceiling_of(snapshot: RateLimitSnapshot, ceiling: Ceiling) -> int | None:
    """Return the usage limit ``snapshot`` implies for ``ceiling``'s variable, or None when the
    provider did not send that limit."""
    window = snapshot.limits.get(ceiling.kind)
    if window is None or window.limit is None:
        return None
    return window.limit * ceiling.factor


def limits_report(snapshot: RateLimitSnapshot, settings: LedgerSettings) -> ProviderLimitsReport:
    """Return ``snapshot`` with the configured limits and the recommendations it leads to."""
    configured: dict[str, int | None] = {}
    recommended: dict[str, int] = {}
    for ceiling in CEILINGS:
        value = settings.limits.get(ceiling.variable)
        explicit = ceiling.variable in settings.explicit and value is not None
        configured[ceiling.variable] = round(value) if explicit and value is not None else None
        implied = ceiling_of(snapshot, ceiling)
        if implied is None:
            continue
        if not explicit or (value is not None and value > implied):
            recommended[ceiling.variable] = implied
    return ProviderLimitsReport(
        provider=snapshot.provider,
        model=snapshot.model,
        fetched_at=snapshot.fetched_at,
        limits=snapshot.limits,
        configured=configured,
        recommended=recommended,
    )


# --------------------------------------------------------------------------------------------------
# Passive capture


def store(snapshot: RateLimitSnapshot) -> bool:
    """Store ``snapshot`` in the ledger; False (and one warning) when the ledger cannot take it.

    Returns False without writing when persistence is off (``TOKEN_TRACKING_ENABLED=false``).
    """
    try:
        if not tracking_enabled():
            return False
        with Ledger() as ledger:
            save_snapshot(ledger, snapshot)
        return True
    except TrackingError as exc:
        logger.warning("provider rate limits not stored: %s", exc)
        return False


def capture_headers(
    headers: Mapping[str, Any],
    *,
    provider: str,
    model: str | None,
    source: str,
    http_status: int | None = None,
) -> RateLimitSnapshot | None:
    """Parse a response's headers and store the rate limits they state, if any.

    Returns the snapshot (stored or not), or None when there was nothing to store (no model, no
    rate-limit header).
    """
    if not model:
        return None
    snapshot = parse_headers(
        headers, provider=provider, model=model, source=source, http_status=http_status
    )
    if snapshot is not None:
        store(snapshot)
    return snapshot


def capture_litellm(response: Any, *, provider: str | None, model: str | None) -> None:
    """Store the rate limits a LiteLLM response carries (see :func:`litellm_headers`).

    ``provider`` is LiteLLM's provider name; without one it is taken from ``model``'s prefix.
    """
    headers = litellm_headers(response)
    if not headers or not model:
        return
    name = provider or (model.split("/", 1)[0] if "/" in model else "unknown")
    capture_headers(headers, provider=name, model=model, source="litellm")


def _request_model(request: Any) -> str | None:
    """The ``model`` of an API request's JSON body, or None."""
    try:
        body = json.loads(request.content or b"{}")
    # RuntimeError: a streamed request body (an upload) that was never read into memory.
    except (ValueError, TypeError, RuntimeError):
        return None
    model = body.get("model") if isinstance(body, dict) else None
    return model if isinstance(model, str) and model else None


def _on_response(response: Any, provider: str, source: str) -> None:
    if not has_rate_limit_headers(response.headers):
        return
    capture_headers(
        response.headers,
        provider=provider,
        model=_request_model(response.request),
        source=source,
        http_status=response.status_code,
    )


def watch_client(client: Any, *, provider: str, source: str) -> None:
    """Make an OpenAI or Anthropic SDK client store the rate limits of every response it gets.

    Adds a response hook to the client's HTTP client (kept by ``with_options`` copies, which share
    it); watching a client twice adds one hook. Clients without an HTTP client of their own are
    left alone.
    """
    http: Any = getattr(client, "_client", None)
    hooks = getattr(http, "event_hooks", None)
    if http is None or not isinstance(hooks, dict):
        return
    responses = list(hooks.get("response", []))
    if any(getattr(hook, "_rate_limit_hook", False) for hook in responses):
        return
    if callable(getattr(http, "aclose", None)):  # an async HTTP client awaits its hooks

        async def hook(response: Any) -> None:
            if has_rate_limit_headers(response.headers):
                # The ledger write may wait on another process's lock: never on the event loop.
                await asyncio.to_thread(_on_response, response, provider, source)

    else:

        def hook(response: Any) -> None:  # type: ignore[misc]
            _on_response(response, provider, source)

    hook._rate_limit_hook = True  # type: ignore[attr-defined]
    http.event_hooks = {**hooks, "response": [*responses, hook]}


# --------------------------------------------------------------------------------------------------
# Before a run


def shortfalls(
    snapshot: RateLimitSnapshot, *, requests: int, tokens: int | None, now: datetime | None = None
) -> list[str]:
    """Return one line per kind (requests, tokens) whose last reported remaining amount is below
    what a run needs; a window that has reset since the snapshot says nothing.

    ``tokens`` None: the run's tokens are not known, only requests are compared.
    """
    moment = now if now is not None else utc_now()
    lines: list[str] = []
    needs: tuple[tuple[RateLimitKind, int | None], ...] = (
        ("requests", requests),
        ("tokens", tokens),
    )
    for kind, needed in needs:
        window = snapshot.limits.get(kind)
        if needed is None or window is None or window.remaining is None:
            continue
        reset = snapshot.reset_at(kind)
        if reset is not None and reset <= moment:
            continue
        if window.remaining < needed:
            age = display.span(max((moment - snapshot.fetched_at).total_seconds(), 0.0))
            lines.append(
                f"{snapshot.provider} reported {window.remaining:,} {kind} remaining for "
                f"{snapshot.model} {age} ago; this run needs about {needed:,}"
            )
    return lines
