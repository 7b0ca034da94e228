"""Read token usage out of SDK result objects and usage mappings, normalized: the prompt count
holds every input token billed (cache reads and writes included), the completion count every
output token (reasoning included).

Pure functions with duck-typed access: nothing here imports an SDK, so ``record_usage`` works for
any program without paying for (or requiring) ``openai``, ``agents``, ``litellm`` or ``anthropic``.

Three usage shapes exist in the wild, told apart by their keys:

- **OpenAI Chat Completions / LiteLLM**: ``prompt_tokens`` already includes cached and cache-write
  tokens; the parts are in ``prompt_tokens_details`` (``cached_tokens``, ``cache_write_tokens``, or
  LiteLLM's ``cache_creation_tokens``) or, on LiteLLM's Anthropic responses, in the top-level
  ``cache_read_input_tokens`` / ``cache_creation_input_tokens``. Reasoning is in
  ``completion_tokens_details.reasoning_tokens``.
- **OpenAI Responses / Agents SDK ``Usage``**: ``input_tokens`` includes the cached part, given in
  ``input_tokens_details``; reasoning in ``output_tokens_details``.
- **Anthropic Messages** (also the Claude Agent SDK's result): ``input_tokens`` is only the
  *uncached* input; ``cache_read_input_tokens`` and ``cache_creation_input_tokens`` come on top, so
  the normalized prompt is their sum.

A count the source did not give stays ``None``; nothing here turns an unknown into 0.

**Reasoning outside the completion count.** xAI (Grok) and Perplexity (``sonar-deep-research``)
report reasoning tokens *beside* ``completion_tokens`` instead of inside it, and LiteLLM keeps their
numbers as given (its ``xai`` and ``perplexity`` cost functions add the reasoning tokens on top of
the completion count). ``completion_tokens`` is all output tokens, reasoning included, so for
those providers the reasoning count is added to the completion count here, once, at the single
place where a provider's usage becomes a record. The provider is told by the model's
``xai/`` or ``perplexity/`` prefix, or, under any other name (xAI's API reached as
``openai/grok-…`` with an ``api_base``), by the usage's own arithmetic: a ``total_tokens`` equal to
prompt + completion + reasoning says the reasoning lies outside the completion count.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from token_tracking.errors import UsageNotFoundError
from token_tracking.records import AgentUsage, RequestUsage

__all__ = [
    "UsageCounts",
    "UsageNotFoundError",
    "UsageRecorder",
    "counts_from_usage",
    "model_name",
    "reported",
    "response_ids",
    "usage_from_model_response",
    "usage_from_result",
]

# Keys whose presence says "this object *is* a usage", not a result that holds one.
_USAGE_KEYS = ("prompt_tokens", "completion_tokens", "input_tokens", "output_tokens")

REASONING_OUTSIDE_COMPLETION_PROVIDERS = frozenset({"xai", "perplexity"})
"""LiteLLM providers whose APIs report reasoning tokens beside, not inside, the completion count."""


class UsageRecorder(Protocol):
    """The part of ``TokenTracker`` the integrations call, so they never import the collector."""

    def start_agent(self, name: str, model: str | None = None) -> None:
        """Open the accumulator of agent ``name``."""

    def record(self, usage: RequestUsage) -> RequestUsage:
        """Record one request's usage; returns the priced copy."""

    def end_agent(
        self,
        name: str,
        *,
        success: bool,
        error: str | None = None,
        output_file: str | None = None,
    ) -> None:
        """Close the accumulator of agent ``name``."""

    def agent_snapshot(self) -> list[AgentUsage]:
        """The agents seen so far, with live figures."""

    def note_sdk_usage(
        self, run: int, input_tokens: int, output_tokens: int, requests: int
    ) -> None:
        """Count one response's Agents SDK usage toward run ``run`` (``id`` of its usage)."""

    def reconcile_usage(
        self, run_usage: object, *, model: str | None = None
    ) -> RequestUsage | None:
        """Record what an Agents SDK run's usage counts beyond its responses' own usage."""


@dataclass(frozen=True)
class UsageCounts:
    """Normalized token counts (see the module docstring); ``None`` = the source did not say."""

    prompt_tokens: int | None = None
    """All input tokens, cache reads and writes included."""
    completion_tokens: int | None = None
    """All output tokens, reasoning included."""
    cached_tokens: int | None = None
    """Part of ``prompt_tokens`` read from a prompt cache."""
    cache_write_tokens: int | None = None
    """Part of ``prompt_tokens`` written to a prompt cache."""
    reasoning_tokens: int | None = None
    """Part of ``completion_tokens`` spent on reasoning."""


def _field(source: object, name: str) -> Any:
    """``source[name]`` for mappings, ``source.name`` otherwise; ``None`` when absent."""
    if source is None:
        return None
    if isinstance(source, Mapping):
        return source.get(name)
    return getattr(source, name, None)


def _count(value: object) -> int | None:
    """A token count as an ``int``; ``None`` for absent or non-numeric values."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def _first(*values: int | None) -> int | None:
    """The first known count."""
    for value in values:
        if value is not None:
            return value
    return None


def _detail(source: object, details: str, name: str) -> int | None:
    return _count(_field(_field(source, details), name))


def counts_from_usage(usage: object, model: str | None = None) -> UsageCounts:
    """Normalize one provider usage (an SDK usage object or a mapping) to :class:`UsageCounts`.

    ``model`` (``provider/name`` as LiteLLM routes it, or a bare name) tells whether the provider
    reports reasoning outside the completion count (xAI, Perplexity; see the module docstring):
    then the completion count returned includes the reasoning tokens.

    Returns a :class:`UsageCounts` whose unknown counts are ``None``; an object with no
    recognizable counts yields all ``None``. Raises nothing.
    """
    counts = _read_counts(usage)
    completion = counts.completion_tokens
    reasoning = counts.reasoning_tokens
    if (
        completion is not None
        and reasoning is not None
        and reasoning != 0
        and _reasoning_outside_completion(usage, counts, model)
    ):
        counts = dataclasses.replace(counts, completion_tokens=completion + reasoning)
    return counts


def _reasoning_outside_completion(usage: object, counts: UsageCounts, model: str | None) -> bool:
    """True when ``usage`` counts its reasoning tokens beside the completion count, not in it."""
    if model is not None and "/" in model:
        provider = model.split("/", 1)[0].strip().lower()
        if provider in REASONING_OUTSIDE_COMPLETION_PROVIDERS:
            return True
    # Any other name: the provider's own total says where the reasoning tokens are.
    total = _count(_field(usage, "total_tokens"))
    prompt, completion, reasoning = (
        counts.prompt_tokens,
        counts.completion_tokens,
        counts.reasoning_tokens,
    )
    if total is None or prompt is None or completion is None or reasoning is None:
        return False
    return total == prompt + completion + reasoning


def _read_counts(usage: object) -> UsageCounts:
    """The counts of ``usage`` as the provider gave them (its three shapes told apart)."""
    prompt = _count(_field(usage, "prompt_tokens"))
    completion = _count(_field(usage, "completion_tokens"))
    if prompt is not None or completion is not None:
        # Chat Completions shape (OpenAI, LiteLLM, any OpenAI-compatible provider).
        return UsageCounts(
            prompt_tokens=prompt,
            completion_tokens=completion,
            cached_tokens=_first(
                _detail(usage, "prompt_tokens_details", "cached_tokens"),
                _count(_field(usage, "cache_read_input_tokens")),
            ),
            cache_write_tokens=_first(
                _detail(usage, "prompt_tokens_details", "cache_write_tokens"),
                _detail(usage, "prompt_tokens_details", "cache_creation_tokens"),
                _count(_field(usage, "cache_creation_input_tokens")),
            ),
            reasoning_tokens=_first(
                _detail(usage, "completion_tokens_details", "reasoning_tokens"),
                _count(_field(usage, "reasoning_tokens")),
            ),
        )
    input_tokens = _count(_field(usage, "input_tokens"))
    output_tokens = _count(_field(usage, "output_tokens"))
    cache_read = _count(_field(usage, "cache_read_input_tokens"))
    cache_creation = _count(_field(usage, "cache_creation_input_tokens"))
    if cache_read is not None or cache_creation is not None:
        # Anthropic shape: input_tokens is the uncached part only.
        parts = [n for n in (cache_read, cache_creation) if n is not None]
        return UsageCounts(
            prompt_tokens=None if input_tokens is None else input_tokens + sum(parts),
            completion_tokens=output_tokens,
            cached_tokens=cache_read,
            cache_write_tokens=cache_creation,
            reasoning_tokens=None,
        )
    # Responses shape (also the Agents SDK's Usage and Anthropic usage without cache counts).
    return UsageCounts(
        prompt_tokens=input_tokens,
        completion_tokens=output_tokens,
        cached_tokens=_detail(usage, "input_tokens_details", "cached_tokens"),
        cache_write_tokens=_detail(usage, "input_tokens_details", "cache_write_tokens"),
        reasoning_tokens=_detail(usage, "output_tokens_details", "reasoning_tokens"),
    )


def reported(counts: UsageCounts) -> UsageCounts:
    """Return ``counts``, or all-unknown counts when the provider did not really report usage.

    A usage whose prompt count is 0 is what SDKs fill in when the response had no usage object
    (the Agents SDK's ``Usage(requests=1)``, LiteLLM's ``Usage(0, 0)``): no LLM request has an
    empty prompt, so those counts are unknown, never 0.
    """
    if counts.prompt_tokens == 0:
        return UsageCounts()
    return counts


# The Agents SDK's placeholder response id of streamed Chat Completions and LiteLLM responses.
_PLACEHOLDER_IDS = frozenset({"__fake_id__"})


def _text(value: object) -> str | None:
    if not isinstance(value, str) or not value or value in _PLACEHOLDER_IDS:
        return None
    return value


def response_ids(result: object) -> tuple[str | None, str | None]:
    """Return ``(response id, request id)`` of an SDK response object, each None when absent.

    Reads ``id`` (OpenAI, LiteLLM, Anthropic objects), the Agents SDK's ``response_id`` /
    ``request_id`` (or the response id its Chat Completions and LiteLLM models keep on the
    output items), and the ``_request_id`` the OpenAI and Anthropic SDKs attach.
    """
    if isinstance(result, Mapping):
        return _text(result.get("id")), _text(result.get("request_id"))
    response_id = _text(getattr(result, "response_id", None))
    if response_id is None and hasattr(result, "to_input_items"):
        for item in _field(result, "output") or []:
            data = _field(item, "provider_data")
            response_id = _text(_field(data, "response_id"))
            if response_id is not None:
                break
    if response_id is None and not hasattr(result, "to_input_items"):
        response_id = _text(getattr(result, "id", None))
    request_id = _text(getattr(result, "request_id", None)) or _text(
        getattr(result, "_request_id", None)
    )
    return response_id, request_id


def model_name(model: object) -> str | None:
    """The name of a model given as a string or as an SDK model object (``.model``); else None."""
    if isinstance(model, str):
        return model or None
    name = _field(model, "model")
    return name if isinstance(name, str) and name else None


def _request(
    counts: UsageCounts,
    *,
    model: str | None,
    requests: int = 1,
    duration_seconds: float | None = None,
    cost_usd: float | None = None,
    response_model: str | None = None,
    ids: tuple[str | None, str | None] = (None, None),
) -> RequestUsage:
    # The count invariants are checked once, where every record lands: TokenTracker.record.
    return RequestUsage(
        timestamp=datetime.now(UTC),
        model=model,
        request_model=model,
        response_model=response_model,
        response_id=ids[0],
        request_id=ids[1],
        prompt_tokens=counts.prompt_tokens,
        completion_tokens=counts.completion_tokens,
        cached_tokens=counts.cached_tokens,
        cache_write_tokens=counts.cache_write_tokens,
        reasoning_tokens=counts.reasoning_tokens,
        requests=requests,
        duration_seconds=duration_seconds,
        cost_usd=cost_usd,
        cost_is_actual=cost_usd is not None,
    )


def usage_from_model_response(response: object, *, model: str | None = None) -> RequestUsage:
    """One record for an Agents SDK ``ModelResponse`` (one LLM request).

    Prefers ``response.raw_usage`` (filled with ``ModelSettings(preserve_raw_usage=True)``): it is
    the provider's own usage, where an absent count stays unknown. Otherwise reads the SDK's
    ``Usage``, which reports an absent count as 0. A response without usage (the SDK's usage then
    has 0 input tokens) has unknown counts. Raises nothing.
    """
    raw = _field(response, "raw_usage")
    sdk_usage = _field(response, "usage")
    requests = _count(_field(sdk_usage, "requests"))
    source = raw if isinstance(raw, Mapping) and raw else sdk_usage
    return _request(
        reported(counts_from_usage(source, model)),
        model=model,
        requests=requests if requests is not None and requests > 0 else 1,
        ids=response_ids(response),
    )


def _looks_like_usage(value: object) -> bool:
    return any(_count(_field(value, key)) is not None for key in _USAGE_KEYS)


def _seconds(milliseconds: object) -> float | None:
    if isinstance(milliseconds, bool) or not isinstance(milliseconds, int | float):
        return None
    return float(milliseconds) / 1000.0


def _actual_cost(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _single_model_key(result: object) -> str | None:
    """The model of a Claude Agent SDK result, when its per-model breakdown names exactly one."""
    for key in ("modelUsage", "model_usage"):
        breakdown = _field(result, key)
        if isinstance(breakdown, Mapping) and len(breakdown) == 1:
            (name,) = breakdown.keys()
            if isinstance(name, str):
                return name
    return None


def usage_from_result(result: object, *, model: str | None = None) -> list[RequestUsage]:
    """Turn an SDK result, or a usage mapping, into normalized usage records.

    Accepts an Agents SDK ``RunResult``/``RunResultStreaming`` (one record per
    ``raw_responses`` item, empty when no request completed), an Agents SDK ``ModelResponse``,
    an OpenAI ``ChatCompletion`` or ``Response``, a LiteLLM ``ModelResponse``, an Anthropic
    ``Message``, a mapping or object with a ``usage`` entry (the Claude Agent SDK result style;
    its ``total_cost_usd`` becomes an actual cost and ``duration_ms`` the duration), or a bare
    usage object/mapping with OpenAI- or Anthropic-style keys. ``model`` names the model when the
    result does not (it wins over the result's own name otherwise too).

    Returns the records with ``timestamp`` = now and no agent name (the caller sets it). A result
    that carries a ``usage`` of ``None`` (e.g. a stream without usage) yields one record whose
    counts are all unknown. Raises :class:`UsageNotFoundError` when nothing usable is found.
    """
    if result is None:
        raise UsageNotFoundError("no result to read token usage from (got None)")
    if not isinstance(result, Mapping):
        raw_responses = _field(result, "raw_responses")
        if isinstance(raw_responses, Sequence):
            run_model = model or model_name(_field(_field(result, "last_agent"), "model"))
            return [usage_from_model_response(r, model=run_model) for r in raw_responses]
        if hasattr(result, "to_input_items") and hasattr(result, "raw_usage"):
            # An Agents SDK ModelResponse: one request.
            return [usage_from_model_response(result, model=model)]

    holds_usage = (
        "usage" in result if isinstance(result, Mapping) else hasattr(result, "usage")
    ) and not _looks_like_usage(result)
    if holds_usage:
        usage = _field(result, "usage")
        own_model = _text(_field(result, "model"))
        named = model or own_model or _single_model_key(result)
        return [
            _request(
                reported(counts_from_usage(usage, named)),
                model=named,
                duration_seconds=_seconds(_field(result, "duration_ms")),
                cost_usd=_actual_cost(_field(result, "total_cost_usd")),
                response_model=own_model,
                ids=response_ids(result),
            )
        ]
    if _looks_like_usage(result):
        return [_request(counts_from_usage(result, model), model=model)]
    raise UsageNotFoundError(
        f"cannot read token usage from a {type(result).__name__}: expected an SDK result with "
        "`usage` (RunResult, ChatCompletion, Response, LiteLLM ModelResponse, Anthropic Message) "
        "or a mapping with prompt_tokens/completion_tokens or input_tokens/output_tokens"
    )
