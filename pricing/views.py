"""What the ``pricing`` commands show, as frozen dataclasses, and the functions that build them:
one model's prices, a filtered listing, a cross-model comparison of one usage, and a planning
estimate for another app's run.

The views are output only, never read back: ``--json`` prints ``dataclasses.asdict`` of one, its
keys in field order. They are dataclasses rather than pydantic models so that ``pricing show``
starts without pydantic (about twice a bare Python start); every float field is given a float.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from pricing.cost import CostBreakdown, Usage, compute_cost
from pricing.errors import PricingError
from pricing.resolve import PriceBook, Unpriced
from pricing.table import PriceEntry


class InvalidRequestError(PricingError):
    """A pricing command was given numbers or names that do not make sense together."""


def per_1m(rate: float | None) -> float | None:
    """A per-token USD rate as USD per 1M tokens, rounded to 10 significant digits."""
    return None if rate is None else float(f"{rate * 1_000_000:.10g}")


@dataclass(frozen=True, kw_only=True)
class TierPrices:
    """A long-context tier: rates that apply once a prompt exceeds ``threshold`` tokens."""

    label: str
    """The threshold as the table writes it, for example ``200k``."""
    threshold: int
    """Prompt tokens above which the tier applies."""
    input_per_1m: float | None
    """USD per 1M uncached input tokens in the tier (``null``: the base rate)."""
    output_per_1m: float | None
    """USD per 1M output tokens in the tier (``null``: the base rate)."""
    cached_input_per_1m: float | None
    """USD per 1M cached input tokens in the tier (``null``: the base rate)."""
    cache_write_per_1m: float | None
    """USD per 1M cache-write tokens in the tier (``null``: the base rate)."""
    applied: bool
    """Whether costs apply this tier (LiteLLM 1.83.0 ignores some tier keys)."""


@dataclass(frozen=True, kw_only=True)
class BandPrices:
    """One band of a ``tiered_pricing`` list (dashscope), covering tokens ``start`` to ``end``."""

    start: float
    """First token count of the band (exclusive)."""
    end: float
    """Last token count of the band (inclusive)."""
    input_per_1m: float | None
    """USD per 1M input tokens inside the band."""
    output_per_1m: float | None
    """USD per 1M output tokens inside the band."""


@dataclass(frozen=True, kw_only=True)
class ModelPrices:
    """One model's prices, per 1M tokens in USD; ``null`` means the table gives no such rate."""

    key: str
    """The table key (or custom model name)."""
    provider: str | None
    """LiteLLM's provider name."""
    mode: str | None
    """``chat``, ``embedding``, … as LiteLLM records it."""
    custom: bool
    """Prices come from a custom price file, dict or ``CLAUDE_COST_PER_1M_*``."""
    custom_source: str | None
    """The custom price file, ``dict`` or ``env``; ``null`` for LiteLLM's prices."""
    input_per_1m: float | None
    """USD per 1M uncached input tokens."""
    cached_input_per_1m: float | None
    """USD per 1M input tokens read from a prompt cache."""
    cache_write_per_1m: float | None
    """USD per 1M input tokens written to a prompt cache (5-minute cache)."""
    cache_write_1h_per_1m: float | None
    """USD per 1M input tokens written to a 1-hour cache (shown, not applied)."""
    output_per_1m: float | None
    """USD per 1M output tokens."""
    reasoning_per_1m: float | None
    """USD per 1M reasoning tokens, where priced apart from output."""
    max_input_tokens: int | None
    """The context window in tokens."""
    max_output_tokens: int | None
    """The most output tokens per request."""
    tiers: list[TierPrices]
    """Long-context tiers, highest threshold first."""
    bands: list[BandPrices]
    """``tiered_pricing`` bands, where the table has them."""
    style: str
    """How the cost is computed: ``generic``, ``flat``, ``flat_input`` or ``dashscope``."""
    notes: list[str]
    """What the cost leaves out or treats specially for this model."""


@dataclass(frozen=True, kw_only=True)
class ModelShow:
    """``pricing show``: a model name, how it resolved, and its prices."""

    model: str
    """The name as asked."""
    step: str
    """The resolution step that matched: exact, case, prefix, undated or alias."""
    source: str
    """The price book's source: ``litellm`` or ``litellm+custom:…``."""
    version: str
    """The installed litellm version (the price data's version)."""
    prices: ModelPrices
    """The prices used for the name."""


@dataclass(frozen=True, kw_only=True)
class PriceListing:
    """``pricing list``: every entry matching the filters, in table order."""

    source: str
    """The price book's source."""
    version: str
    """The installed litellm version."""
    provider: str | None
    """The ``--provider`` filter, if any."""
    search: str | None
    """The ``--search`` filter, if any."""
    mode: str | None
    """The ``--mode`` filter, if any."""
    count: int
    """The number of entries listed."""
    models: list[ModelPrices]
    """The entries."""


@dataclass(frozen=True, kw_only=True)
class CostLine:
    """One model's cost for the compared usage, or why it has none."""

    model: str
    """The name as asked."""
    key: str | None
    """The table key matched; ``null`` when unknown."""
    status: str
    """``priced``, ``unknown`` (no such model) or ``no_token_price``."""
    input_cost: float | None
    """USD for uncached input tokens."""
    cached_input_cost: float | None
    """USD for cached input tokens."""
    cache_write_cost: float | None
    """USD for cache-write tokens."""
    output_cost: float | None
    """USD for output tokens other than reasoning."""
    reasoning_cost: float | None
    """USD for reasoning tokens."""
    total_cost: float | None
    """USD in all; ``null`` when the price is unknown (never 0 for unknown)."""
    tier: str | None
    """The long-context tier applied, if any."""
    custom: bool
    """Custom prices were used."""
    suggestions: list[str]
    """Close known names, for an unknown model."""


@dataclass(frozen=True, kw_only=True)
class Comparison:
    """``pricing compare``: one usage priced for several models, cheapest first, unknown last."""

    source: str
    """The price book's source."""
    version: str
    """The installed litellm version."""
    prompt_tokens: int
    """Input tokens, including cached and cache-write tokens."""
    completion_tokens: int
    """Output tokens, including reasoning tokens."""
    cached_tokens: int | None
    """The part of the input read from a cache."""
    cache_write_tokens: int | None
    """The part of the input written to a cache."""
    reasoning_tokens: int | None
    """The part of the output spent on reasoning."""
    lines: list[CostLine]
    """One line per model, cheapest first; unknown prices last, in the order given."""


@dataclass(frozen=True, kw_only=True)
class SavingsRange:
    """An expected saving as a percentage range, and what the run costs after it."""

    low_percent: float
    """The smaller expected saving, in percent."""
    high_percent: float
    """The larger expected saving, in percent."""
    tokens_low: int
    """Total tokens after the larger saving."""
    tokens_high: int
    """Total tokens after the smaller saving."""
    cost_low: float | None
    """USD after the larger saving (``null`` when the price is unknown)."""
    cost_high: float | None
    """USD after the smaller saving (``null`` when the price is unknown)."""


@dataclass(frozen=True, kw_only=True)
class RunEstimate:
    """``pricing estimate``: tokens and cost for a planned run of another agent app."""

    source: str
    """The price book's source."""
    version: str
    """The installed litellm version."""
    model: str
    """The model priced, as asked."""
    key: str
    """The table key matched."""
    iterations: int
    """Planned iterations."""
    roles: int
    """LLM roles (agents) per iteration."""
    avg_input_tokens: int
    """Average input tokens per role per iteration."""
    avg_output_tokens: int
    """Average output tokens per role per iteration."""
    input_tokens: int
    """iterations x avg input x roles."""
    output_tokens: int
    """iterations x avg output x roles."""
    total_tokens: int
    """Input plus output tokens."""
    input_cost: float | None
    """USD for the input tokens (no prompt caching assumed)."""
    output_cost: float | None
    """USD for the output tokens."""
    total_cost: float | None
    """USD in all; ``null`` when the model has no per-token price."""
    tier: str | None
    """The long-context tier each request falls in, if any."""
    savings: SavingsRange | None
    """The range after the expected saving; ``null`` for ``--savings 0``."""
    custom: bool
    """Custom prices were used."""


def prices_of(entry: PriceEntry) -> ModelPrices:
    """Return ``entry``'s prices per 1M tokens, with notes on what costs leave out."""
    notes: list[str] = []
    if not entry.has_token_price:
        notes.append("no per-token price: costs are unknown, never $0")
    elif entry.input_cost_per_token is None and entry.output_cost_per_token is None:
        notes.append("priced by tiered_pricing bands only")
    missing = [
        name
        for name, rate in (
            ("cached input", entry.cache_read_cost_per_token),
            ("cache write", entry.cache_write_cost_per_token),
        )
        if rate is None
    ]
    if entry.style == "generic" and missing and entry.input_cost_per_token is not None:
        notes.append(f"no {' or '.join(missing)} rate: those tokens cost $0, as LiteLLM bills them")
    if entry.style == "flat":
        notes.append("LiteLLM bills every prompt token, cached or not, at the input rate")
    if entry.style == "flat_input":
        notes.append("LiteLLM bills cached and cache-write tokens at the input rate")
    if entry.cache_write_1h_cost_per_token is not None:
        notes.append("1-hour cache writes are billed at the 5-minute rate (usage has no 1h split)")
    if entry.has_priority_rates:
        notes.append("priority-tier rates exist but are not applied (usage has no service tier)")
    if any(not tier.applied for tier in entry.tiers):
        notes.append("a tier LiteLLM 1.83.0 does not apply is shown but not applied")
    if entry.has_tiered_pricing and entry.style != "dashscope":
        notes.append("tiered_pricing bands are not applied (LiteLLM ignores them here)")
    return ModelPrices(
        key=entry.key,
        provider=entry.provider,
        mode=entry.mode,
        custom=entry.custom,
        custom_source=entry.custom_source,
        input_per_1m=per_1m(entry.input_cost_per_token),
        cached_input_per_1m=per_1m(entry.cache_read_cost_per_token),
        cache_write_per_1m=per_1m(entry.cache_write_cost_per_token),
        cache_write_1h_per_1m=per_1m(entry.cache_write_1h_cost_per_token),
        output_per_1m=per_1m(entry.output_cost_per_token),
        reasoning_per_1m=per_1m(entry.reasoning_cost_per_token),
        max_input_tokens=entry.max_input_tokens,
        max_output_tokens=entry.max_output_tokens,
        tiers=[
            TierPrices(
                label=tier.label,
                threshold=tier.threshold,
                input_per_1m=per_1m(tier.input_cost_per_token),
                output_per_1m=per_1m(tier.output_cost_per_token),
                cached_input_per_1m=per_1m(tier.cache_read_cost_per_token),
                cache_write_per_1m=per_1m(tier.cache_write_cost_per_token),
                applied=tier.applied,
            )
            for tier in entry.tiers
        ],
        bands=[
            BandPrices(
                start=band.start,
                end=band.end,
                input_per_1m=per_1m(band.input_cost_per_token),
                output_per_1m=per_1m(band.output_cost_per_token),
            )
            for band in entry.ranges
        ],
        style=entry.style,
        notes=notes,
    )


def show_model(book: PriceBook, model: str) -> ModelShow:
    """Resolve ``model`` and return its prices.

    Raises:
        UnknownModelError: no price is known for ``model`` (with suggestions).
    """
    resolution = book.resolve(model)
    return ModelShow(
        model=model,
        step=resolution.step,
        source=book.source,
        version=book.version,
        prices=prices_of(resolution.entry),
    )


def list_models(
    book: PriceBook,
    *,
    provider: str | None = None,
    search: str | None = None,
    mode: str | None = None,
) -> PriceListing:
    """Return every entry whose provider and mode equal the filters (ignoring case) and whose
    key contains ``search`` (ignoring case), in table order, custom models last."""
    wanted_provider = None if provider is None else provider.lower()
    wanted_mode = None if mode is None else mode.lower()
    needle = None if search is None else search.lower()
    models = [
        prices_of(entry)
        for entry in book.entries()
        if (wanted_provider is None or (entry.provider or "").lower() == wanted_provider)
        and (wanted_mode is None or (entry.mode or "").lower() == wanted_mode)
        and (needle is None or needle in entry.key.lower())
    ]
    return PriceListing(
        source=book.source,
        version=book.version,
        provider=provider,
        search=search,
        mode=mode,
        count=len(models),
        models=models,
    )


def _check_usage(usage: Usage) -> None:
    prompt = usage.prompt_tokens
    completion = usage.completion_tokens
    assert prompt is not None and completion is not None
    cached = 0 if usage.cached_tokens is None else usage.cached_tokens
    written = 0 if usage.cache_write_tokens is None else usage.cache_write_tokens
    reasoning = 0 if usage.reasoning_tokens is None else usage.reasoning_tokens
    if min(prompt, completion, cached, written, reasoning) < 0:
        raise InvalidRequestError("token counts must not be negative")
    if cached + written > prompt:
        given = f"--cached ({cached:,})" if written == 0 else f"--cache-write ({written:,})"
        if cached and written:
            given = f"--cached ({cached:,}) plus --cache-write ({written:,})"
        raise InvalidRequestError(
            f"{given} exceeds --input ({prompt:,}): cached and cache-write tokens are part of "
            "the input"
        )
    if reasoning > completion:
        raise InvalidRequestError(
            f"--reasoning ({reasoning:,}) exceeds --output ({completion:,}): "
            "reasoning tokens are part of the output"
        )


def _line(book: PriceBook, model: str, usage: Usage) -> CostLine:
    outcome = book.cost_or_reason(model, usage)
    if isinstance(outcome, Unpriced):
        # compare_models checked the counts, so the model is unknown or has no per-token price.
        unknown = outcome.reason == "unknown_model"
        resolution = None if unknown else book.lookup(model)
        return CostLine(
            model=model,
            key=outcome.key,
            status="unknown" if unknown else "no_token_price",
            input_cost=None,
            cached_input_cost=None,
            cache_write_cost=None,
            output_cost=None,
            reasoning_cost=None,
            total_cost=None,
            tier=None,
            custom=resolution is not None and resolution.custom,
            suggestions=book.suggestions(model) if unknown else [],
        )
    return CostLine(
        model=model,
        key=outcome.key,
        status="priced",
        input_cost=outcome.input_cost,
        cached_input_cost=outcome.cached_input_cost,
        cache_write_cost=outcome.cache_write_cost,
        output_cost=outcome.output_cost,
        reasoning_cost=outcome.reasoning_cost,
        total_cost=outcome.total,
        tier=outcome.tier,
        custom=outcome.custom,
        suggestions=[],
    )


def split_models(text: str) -> list[str]:
    """Split a comma-separated model list, dropping blanks and repeats (first kept).

    Raises:
        InvalidRequestError: no model is named.
    """
    models: list[str] = []
    for part in text.split(","):
        name = part.strip()
        if name and name not in models:
            models.append(name)
    if not models:
        raise InvalidRequestError("--models names no model; give a comma-separated list")
    return models


def compare_models(book: PriceBook, usage: Usage, models: Sequence[str]) -> Comparison:
    """Price one usage for each model: cheapest first, models without a price last.

    Raises:
        InvalidRequestError: the counts contradict each other (cached + writes > input, …).
    """
    _check_usage(usage)
    lines = [_line(book, model, usage) for model in models]
    priced = sorted(
        (line for line in lines if line.total_cost is not None),
        key=lambda line: (line.total_cost, line.model),
    )
    unpriced = [line for line in lines if line.total_cost is None]
    assert usage.prompt_tokens is not None and usage.completion_tokens is not None
    return Comparison(
        source=book.source,
        version=book.version,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        cached_tokens=usage.cached_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        reasoning_tokens=usage.reasoning_tokens,
        lines=[*priced, *unpriced],
    )


_SAVINGS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:-\s*(\d+(?:\.\d+)?)\s*)?%?\s*$")


def parse_savings(text: str) -> tuple[float, float]:
    """Parse ``"20-30"`` (or ``"25"``, ``"20-30%"``) into a percentage range.

    Raises:
        InvalidRequestError: not a range of percentages from 0 to 100, low first.
    """
    match = _SAVINGS.match(text)
    if match is None:
        raise InvalidRequestError(f"--savings {text!r} is not a percentage or range like 20-30")
    low = float(match.group(1))
    high = low if match.group(2) is None else float(match.group(2))
    if not 0 <= low <= high <= 100:
        raise InvalidRequestError(
            f"--savings {text!r} must be percentages from 0 to 100, the smaller first"
        )
    return low, high


def estimate_run(
    book: PriceBook,
    *,
    iterations: int,
    avg_input: int = 2000,
    avg_output: int = 1000,
    roles: int = 1,
    model: str = "gpt-4o-mini",
    savings: tuple[float, float] | None = (20.0, 30.0),
) -> RunEstimate:
    """Estimate tokens and cost for ``iterations`` x ``roles`` LLM calls of the given sizes.

    Each call is priced as one request of ``avg_input`` input and ``avg_output`` output tokens
    with no prompt caching (so a long-context tier depends on the request size, not the run's
    total), then multiplied by ``iterations`` x ``roles``.

    Raises:
        UnknownModelError: no price is known for ``model`` (with suggestions).
        InvalidRequestError: a count is negative or ``roles``/``iterations`` is zero.
    """
    if iterations < 1 or roles < 1:
        raise InvalidRequestError("--iterations and --roles must be at least 1")
    if avg_input < 0 or avg_output < 0:
        raise InvalidRequestError("--avg-input and --avg-output must not be negative")
    resolution = book.resolve(model)
    calls = iterations * roles
    input_tokens = calls * avg_input
    output_tokens = calls * avg_output
    per_call: CostBreakdown | None
    try:
        per_call = compute_cost(resolution.entry, Usage(avg_input, avg_output), model)
    except PricingError:
        per_call = None
    input_cost = None if per_call is None else per_call.prompt_cost * calls
    output_cost = None if per_call is None else per_call.completion_cost * calls
    total_cost = None if per_call is None else per_call.total * calls
    savings_range: SavingsRange | None = None
    if savings is not None and savings != (0.0, 0.0):
        low, high = savings
        total_tokens = input_tokens + output_tokens
        savings_range = SavingsRange(
            low_percent=float(low),
            high_percent=float(high),
            tokens_low=round(total_tokens * (1 - high / 100)),
            tokens_high=round(total_tokens * (1 - low / 100)),
            cost_low=None if total_cost is None else total_cost * (1 - high / 100),
            cost_high=None if total_cost is None else total_cost * (1 - low / 100),
        )
    return RunEstimate(
        source=book.source,
        version=book.version,
        model=model,
        key=resolution.key,
        iterations=iterations,
        roles=roles,
        avg_input_tokens=avg_input,
        avg_output_tokens=avg_output,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=input_tokens + output_tokens,
        input_cost=input_cost,
        output_cost=output_cost,
        total_cost=total_cost,
        tier=None if per_call is None else per_call.tier,
        savings=savings_range,
        custom=resolution.custom,
    )
