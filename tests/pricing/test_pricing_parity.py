"""Parity: every chat entry of LiteLLM's bundled table costs what ``litellm.cost_per_token`` says.

The exceptions are an exact list (``tests.pricing.parity_exceptions.PARITY_EXCEPTIONS``), asserted
by name and by the kind of difference each one shows.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest

import tests.pricing.parity_exceptions
from pricing import NoTokenPriceError, PriceBook, Usage, load_table
from tests.pricing.parity_exceptions import PARITY_EXCEPTIONS, PARITY_REASONS

USAGES: dict[str, Usage] = {
    "plain": Usage(prompt_tokens=1_200, completion_tokens=300),
    "cached": Usage(prompt_tokens=10_000, completion_tokens=2_000, cached_tokens=4_000),
    "cache_write": Usage(
        prompt_tokens=10_000, completion_tokens=2_000, cached_tokens=3_000, cache_write_tokens=2_500
    ),
    "reasoning": Usage(prompt_tokens=5_000, completion_tokens=3_000, reasoning_tokens=1_200),
    "above_128k": Usage(prompt_tokens=150_000, completion_tokens=4_000, cached_tokens=10_000),
    "above_272k_all": Usage(
        prompt_tokens=300_000,
        completion_tokens=4_000,
        cached_tokens=50_000,
        cache_write_tokens=20_000,
        reasoning_tokens=1_000,
    ),
}
"""Usages covering cached tokens, cache writes, reasoning and every long-context threshold."""

WITH_REASONING = frozenset({"reasoning", "above_272k_all"})


@pytest.fixture(scope="module")
def litellm_module() -> Iterator[Any]:
    """LiteLLM itself, imported only here (2 s): the reference the table's costs are checked on."""
    # Imported here only: the reference implementation, 2 s to import; pricing never imports it.
    import litellm

    previous = litellm.suppress_debug_info
    litellm.suppress_debug_info = True  # otherwise every raising name prints "Provider List" noise
    yield litellm
    litellm.suppress_debug_info = previous


def litellm_usage(usage: Usage) -> Any:
    """``usage`` as LiteLLM's own usage object (DESIGN §3 maps one to one onto its fields).

    Shared with ``benchmarks/bench_pricing.py``, so both compare against the same LiteLLM input.
    """
    # Lazily, as in litellm_module: importing litellm takes 2 s and pricing never does.
    from litellm.types.utils import Usage as LiteLLMUsage

    assert usage.prompt_tokens is not None and usage.completion_tokens is not None
    return LiteLLMUsage(
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        total_tokens=usage.prompt_tokens + usage.completion_tokens,
        reasoning_tokens=usage.reasoning_tokens,
        cache_read_input_tokens=0 if usage.cached_tokens is None else usage.cached_tokens,
        cache_creation_input_tokens=(
            0 if usage.cache_write_tokens is None else usage.cache_write_tokens
        ),
    )


def _litellm_cost(litellm: Any, key: str, provider: str | None, usage: Usage) -> float | str:
    assert usage.prompt_tokens is not None and usage.completion_tokens is not None
    try:
        prompt_cost, completion_cost = litellm.cost_per_token(
            model=key,
            custom_llm_provider=provider,
            usage_object=litellm_usage(usage),
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
        )
    except Exception as exc:  # LiteLLM raises bare Exception for names it cannot price
        return f"raises {type(exc).__name__}"
    return float(prompt_cost + completion_cost)


def test_every_chat_entry_matches_litellm_except_the_listed_ones(litellm_module: Any) -> None:
    table = load_table()
    book = PriceBook(table)
    chat_keys = [key for key in table.keys() if table.raw(key).get("mode") == "chat"]
    differing: dict[str, set[str]] = {}
    unknown_here: set[str] = set()
    compared = 0
    for key in chat_keys:
        entry = table.get(key)
        assert entry is not None
        for name, usage in USAGES.items():
            theirs = _litellm_cost(litellm_module, key, entry.provider, usage)
            try:
                ours: float | None = book.cost(key, usage).total
            except NoTokenPriceError:
                ours = None
                unknown_here.add(key)
            compared += 1
            if (
                ours is not None
                and isinstance(theirs, float)
                and math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-15)
            ):
                continue
            differing.setdefault(key, set()).add(name)
            if ours is None:
                # Never $0 where the table has no token price: LiteLLM says 0.0, we say unknown.
                assert theirs == 0.0, (key, name, theirs)

    assert len(chat_keys) == 1987
    assert compared == 1987 * len(USAGES)
    assert sorted(differing) == sorted(PARITY_EXCEPTIONS)
    for key, kinds in differing.items():
        reason = PARITY_EXCEPTIONS[key]
        assert reason in PARITY_REASONS
        if reason == "no_token_price":
            assert kinds == set(USAGES), key
            assert key in unknown_here
        elif reason == "reasoning_outside_completion":
            assert kinds == WITH_REASONING, key
        else:
            assert kinds, key
    assert unknown_here == {k for k, r in PARITY_EXCEPTIONS.items() if r == "no_token_price"}


def test_exception_counts_by_reason() -> None:
    counts: dict[str, int] = {}
    for reason in PARITY_EXCEPTIONS.values():
        counts[reason] = counts.get(reason, 0) + 1
    assert counts == {
        "no_token_price": 105,
        "reasoning_outside_completion": 36,
        "litellm_prices_other_entry": 4,
        "router_fee_counted_twice": 1,
    }
    assert sorted(k for k, r in PARITY_EXCEPTIONS.items() if r == "litellm_prices_other_entry") == [
        "gemini-exp-1206",
        "gemini-flash-latest",
        "gemini-flash-lite-latest",
        "perplexity/sonar",
    ]


def test_every_exception_is_documented_in_the_module_docstring() -> None:
    doc = tests.pricing.parity_exceptions.__doc__
    assert doc is not None
    flat = " ".join(doc.split())
    for key in PARITY_EXCEPTIONS:
        assert key in flat, key
