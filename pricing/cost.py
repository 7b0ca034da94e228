"""The cost of one request's normalized usage under one price entry.

Cost = uncached input * input rate + cached * cache-read rate + cache writes * cache-write rate
+ output * output rate, with reasoning tokens at their own rate where the table has one, and the
long-context tier LiteLLM would apply. Missing rates fall back exactly as LiteLLM 1.83.0's
``generic_cost_per_token`` falls back: a missing cache-read or cache-write rate prices those tokens
at 0, a missing reasoning rate at the output rate; a missing input or output rate is 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from pricing.errors import PricingError
from pricing.table import PriceEntry, RangeTier, Tier


class IncompleteUsageError(PricingError):
    """The usage lacks the prompt or completion count, so no cost can be computed."""


class NoTokenPriceError(PricingError):
    """The entry has no per-token price (priced per second, per image, per query, …)."""

    def __init__(self, model: str, key: str) -> None:
        super().__init__(
            f"{model!r} ({key}) has no per-token price in LiteLLM's table; "
            "it is priced per second, image, character or query"
        )
        self.model = model
        self.key = key


@dataclass(frozen=True, slots=True)
class Usage:
    """One request's normalized token counts; ``None`` means unknown.

    ``prompt_tokens`` includes the cached and cache-write tokens; ``completion_tokens`` includes
    the reasoning tokens. An unknown cached, cache-write or reasoning count is priced as none of
    the prompt being cached or written, and none of the output being reasoning.
    """

    prompt_tokens: int | None = None
    """All input tokens billed, including cache reads and writes."""
    completion_tokens: int | None = None
    """All output tokens, including reasoning tokens."""
    cached_tokens: int | None = None
    """The part of ``prompt_tokens`` read from a prompt cache."""
    cache_write_tokens: int | None = None
    """The part of ``prompt_tokens`` written to a prompt cache."""
    reasoning_tokens: int | None = None
    """The part of ``completion_tokens`` spent on reasoning."""


class CostBreakdown(NamedTuple):
    """What one usage costs under one entry, in USD, with the per-token rates used.

    Immutable. A named tuple rather than a frozen dataclass because it is built once per priced
    request and a frozen dataclass costs about three times as much to build (benchmarks/).
    """

    model: str
    """The model name as asked."""
    key: str
    """The table key (or custom model name) whose prices were used."""
    input_cost: float
    """Uncached, unwritten input tokens * ``input_rate``."""
    cached_input_cost: float
    """Cached input tokens * ``cached_input_rate``."""
    cache_write_cost: float
    """Cache-write input tokens * ``cache_write_rate``."""
    output_cost: float
    """Output tokens other than reasoning * ``output_rate`` (all output if reasoning is unknown)."""
    reasoning_cost: float
    """Reasoning tokens * ``reasoning_rate``."""
    total: float
    """The sum of the five costs above."""
    tier: str | None
    """The long-context tier applied (for example ``"above_200k"``), or ``None``."""
    custom: bool
    """The prices are custom (file, dict or environment), not LiteLLM's."""
    input_rate: float
    """USD per uncached input token used."""
    cached_input_rate: float
    """USD per cached input token used."""
    cache_write_rate: float
    """USD per cache-write token used."""
    output_rate: float
    """USD per output token used."""
    reasoning_rate: float
    """USD per reasoning token used."""

    @property
    def prompt_cost(self) -> float:
        """All input-side cost: uncached input, cached input and cache writes."""
        return self.input_cost + self.cached_input_cost + self.cache_write_cost

    @property
    def completion_cost(self) -> float:
        """All output-side cost: output and reasoning."""
        return self.output_cost + self.reasoning_cost


_new_breakdown = tuple.__new__
"""Builds a :class:`CostBreakdown` from a tuple of its fields in order, skipping the named
tuple's generated ``__new__`` (benchmarks/)."""


def _tier_for(tiers: tuple[Tier, ...], prompt_tokens: int) -> Tier | None:
    for tier in tiers:
        if tier.applied and prompt_tokens > tier.threshold:
            return tier
    return None


def _or(value: float | None, fallback: float) -> float:
    return fallback if value is None else value


def compute_cost(entry: PriceEntry, usage: Usage, model: str | None = None) -> CostBreakdown:
    """Price ``usage`` with ``entry``'s rates.

    Returns:
        The breakdown, named ``model`` (default: the entry's key).

    Raises:
        IncompleteUsageError: the prompt or completion count is unknown.
        NoTokenPriceError: the entry has neither an input nor an output token rate.
    """
    name = entry.key if model is None else model
    prompt = usage.prompt_tokens
    completion = usage.completion_tokens
    if prompt is None or completion is None:
        missing = "prompt" if prompt is None else "completion"
        raise IncompleteUsageError(f"cannot price {name!r}: the {missing} token count is unknown")
    # Every attribute is read once: this is the per-request hot path (benchmarks/).
    style = entry.style
    input_rate = entry.input_cost_per_token
    output_rate = entry.output_cost_per_token
    if input_rate is None and output_rate is None and not entry.has_token_price:
        raise NoTokenPriceError(name, entry.key)
    # An unreported breakdown means "not split out", which LiteLLM prices as plain input/output;
    # prompt and completion themselves must be known (checked above).
    cached = usage.cached_tokens
    if cached is None:
        cached = 0
    written = usage.cache_write_tokens
    if written is None:
        written = 0
    reasoning = usage.reasoning_tokens
    if reasoning is None:
        reasoning = 0
    if style == "dashscope":
        return _dashscope(entry, name, prompt, completion, cached, reasoning)

    if input_rate is None:
        input_rate = 0.0
    if output_rate is None:
        output_rate = 0.0
    tier: Tier | None = None
    if style == "generic":
        if output_rate == 0.0 and entry.output_cost_per_image_token is not None:
            # LiteLLM prices image-generating chat models' output at the image-token rate.
            output_rate = entry.output_cost_per_image_token
        rate = entry.cache_read_cost_per_token
        cached_rate = 0.0 if rate is None else rate
        rate = entry.cache_write_cost_per_token
        write_rate = 0.0 if rate is None else rate
        tiers = entry.tiers
        if tiers:
            tier = _tier_for(tiers, prompt)
            if tier is not None:
                input_rate = _or(tier.input_cost_per_token, input_rate)
                output_rate = _or(tier.output_cost_per_token, output_rate)
                cached_rate = _or(tier.cache_read_cost_per_token, cached_rate)
                write_rate = _or(tier.cache_write_cost_per_token, write_rate)
        rate = entry.reasoning_cost_per_token
        reasoning_rate = output_rate if rate is None else rate
    else:
        # LiteLLM's fireworks_ai, databricks and perplexity functions bill every prompt token,
        # cached or written, at the input rate, and apply no long-context tier.
        cached_rate = write_rate = input_rate
        rate = entry.reasoning_cost_per_token
        reasoning_rate = output_rate if rate is None or style == "flat" else rate

    input_cost = (prompt - cached - written) * input_rate
    cached_cost = cached * cached_rate
    write_cost = written * write_rate
    if reasoning > 0:
        output_cost = max(0, completion - reasoning) * output_rate
        reasoning_cost = reasoning * reasoning_rate
    else:
        output_cost = completion * output_rate
        reasoning_cost = 0.0
    # tuple.__new__ directly: a named tuple's own __new__ adds a Python call per request.
    return _new_breakdown(
        CostBreakdown,
        (
            name,
            entry.key,
            input_cost,
            cached_cost,
            write_cost,
            output_cost,
            reasoning_cost,
            input_cost + cached_cost + write_cost + output_cost + reasoning_cost,
            None if tier is None else f"above_{tier.label}",
            entry.custom,
            input_rate,
            cached_rate,
            write_rate,
            output_rate,
            reasoning_rate,
        ),
    )


def _band_rate(primary: float | None, fallback: float | None) -> float:
    # LiteLLM's dashscope bands read ``band.get(key) or band.get(fallback, 0)``: a zero rate
    # falls through to the fallback too.
    if primary:
        return primary
    return 0.0 if fallback is None else fallback


def _input_band(band: RangeTier) -> float:
    return _band_rate(band.input_cost_per_token, None)


def _cached_band(band: RangeTier) -> float:
    return _band_rate(band.cache_read_cost_per_token, band.input_cost_per_token)


def _output_band(band: RangeTier) -> float:
    return _band_rate(band.output_cost_per_token, None)


def _reasoning_band(band: RangeTier) -> float:
    return _band_rate(band.reasoning_cost_per_token, band.output_cost_per_token)


def _banded(tokens: int, bands: tuple[RangeTier, ...], rate: Callable[[RangeTier], float]) -> float:
    """Cost of ``tokens`` spread over the bands (sorted by start) from zero, as LiteLLM does."""
    if not bands or tokens <= 0:
        return 0.0
    total = 0.0
    done = 0.0
    for band in bands:
        if done >= tokens:
            break
        if tokens <= band.start:
            continue
        low = max(band.start, done)
        high = min(band.end, tokens)
        if high > low:
            total += (high - low) * rate(band)
            done = high
    if done < tokens:
        total += (tokens - done) * rate(bands[-1])
    return total


def _dashscope(
    entry: PriceEntry, name: str, prompt: int, completion: int, cached: int, reasoning: int
) -> CostBreakdown:
    # LiteLLM's dashscope function: cache writes are billed as plain input; text, cached, output
    # and reasoning tokens each run through the bands from zero.
    text = prompt - cached
    output = completion - reasoning
    if entry.ranges:
        input_cost = _banded(text, entry.ranges, _input_band)
        cached_cost = _banded(cached, entry.ranges, _cached_band)
        output_cost = _banded(output, entry.ranges, _output_band)
        reasoning_cost = _banded(reasoning, entry.ranges, _reasoning_band)
        rates = [
            input_cost / text if text else 0.0,
            cached_cost / cached if cached else 0.0,
            output_cost / output if output else 0.0,
            reasoning_cost / reasoning if reasoning else 0.0,
        ]
        tier_name: str | None = "banded"
    else:
        input_rate = _band_rate(entry.input_cost_per_token, None)
        cached_rate = _or(entry.cache_read_cost_per_token, input_rate)
        output_rate = _band_rate(entry.output_cost_per_token, None)
        reasoning_rate = _or(entry.reasoning_cost_per_token, output_rate)
        input_cost = text * input_rate
        cached_cost = cached * cached_rate
        output_cost = output * output_rate
        reasoning_cost = reasoning * reasoning_rate
        rates = [input_rate, cached_rate, output_rate, reasoning_rate]
        tier_name = None
    return CostBreakdown(
        model=name,
        key=entry.key,
        input_cost=input_cost,
        cached_input_cost=cached_cost,
        cache_write_cost=0.0,
        output_cost=output_cost,
        reasoning_cost=reasoning_cost,
        total=input_cost + cached_cost + output_cost + reasoning_cost,
        tier=tier_name,
        custom=entry.custom,
        input_rate=rates[0],
        cached_input_rate=rates[1],
        cache_write_rate=rates[0],
        output_rate=rates[2],
        reasoning_rate=rates[3],
    )
