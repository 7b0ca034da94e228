"""The price table, name resolution and cost formula of the pricing package (DESIGN §3)."""

from __future__ import annotations

import importlib.metadata
import json
import math
import subprocess
import sys
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from pricing import (
    IncompleteUsageError,
    NoTokenPriceError,
    PriceBook,
    PriceTableError,
    UnknownModelError,
    Unpriced,
    Usage,
    default_pricebook,
    load_table,
)
from pricing.resolve import CLAUDE_3_ALIASES, undated
from pricing.table import litellm_version, read_table

SEED_MODELS = {
    # model: (key matched, USD per 1M input, USD per 1M output)
    "gpt-4o": ("gpt-4o", 2.50, 10.00),
    "gpt-4o-mini": ("gpt-4o-mini", 0.15, 0.60),
    "gpt-4": ("gpt-4", 30.00, 60.00),
    "gpt-3.5-turbo": ("gpt-3.5-turbo", 0.50, 1.50),
    "claude-3-haiku": ("claude-3-haiku-20240307", 0.25, 1.25),
    "claude-3-sonnet": ("vertex_ai/claude-3-sonnet@20240229", 3.00, 15.00),
    "claude-3-opus": ("claude-3-opus-20240229", 15.00, 75.00),
}


@pytest.fixture(scope="module")
def book() -> PriceBook:
    return PriceBook(load_table())


def per_1m(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 1_000_000, 9)


def test_table_is_litellms_bundled_file_and_version() -> None:
    table = load_table()
    assert table is load_table()  # cached per process
    assert table.version == "1.83.0"
    assert table.path is not None
    assert table.path.name == "model_prices_and_context_window_backup.json"
    assert table.path.parent.name == "litellm"
    assert len(table) == 2597  # every entry but the "sample_spec" documentation entry
    assert "sample_spec" not in table


def test_entries_are_typed_and_immutable() -> None:
    entry = load_table().get("gpt-4o-mini")
    assert entry is not None
    assert entry.provider == "openai"
    assert entry.mode == "chat"
    assert per_1m(entry.input_cost_per_token) == 0.15
    assert per_1m(entry.output_cost_per_token) == 0.60
    assert per_1m(entry.cache_read_cost_per_token) == 0.075
    assert entry.cache_write_cost_per_token is None
    assert entry.max_input_tokens == 128_000
    with pytest.raises(FrozenInstanceError):
        entry.key = "other"  # type: ignore[misc]


def test_tiers_are_read_highest_first() -> None:
    entry = load_table().get("gemini/gemini-2.5-pro")
    assert entry is not None
    assert [(tier.label, tier.threshold, tier.applied) for tier in entry.tiers] == [
        ("200k", 200_000, True)
    ]
    tier = entry.tiers[0]
    assert per_1m(tier.input_cost_per_token) == 2.5
    assert per_1m(tier.output_cost_per_token) == 15.0


def test_a_tier_litellm_does_not_apply_is_recorded_but_not_applied() -> None:
    entry = load_table().get("openrouter/qwen/qwen3.5-plus-02-15")
    assert entry is not None
    assert [(tier.label, tier.applied) for tier in entry.tiers] == [("256k", False)]


@pytest.mark.parametrize("model", sorted(SEED_MODELS))
def test_seed_models_resolve_with_their_prices(book: PriceBook, model: str) -> None:
    key, input_per_1m, output_per_1m = SEED_MODELS[model]
    resolution = book.resolve(model)
    assert resolution.key == key
    assert resolution.model == model
    assert resolution.custom is False
    assert per_1m(resolution.entry.input_cost_per_token) == input_per_1m
    assert per_1m(resolution.entry.output_cost_per_token) == output_per_1m


@pytest.mark.parametrize("model", sorted(SEED_MODELS))
def test_prefixed_and_upper_case_variants_resolve_to_the_same_entry(
    book: PriceBook, model: str
) -> None:
    key = SEED_MODELS[model][0]
    provider = "anthropic" if model.startswith("claude") else "openai"
    for variant in (model.upper(), f"{provider}/{model}", f"openrouter/{provider}/{model}"):
        resolution = book.resolve(variant)
        if variant.startswith("openrouter/") and resolution.key.startswith("openrouter/"):
            continue  # OpenRouter lists some models under its own key, with its own price
        assert resolution.key == key, variant


def test_openrouter_key_of_its_own_wins(book: PriceBook) -> None:
    assert book.resolve("openrouter/openai/gpt-4o").key == "openrouter/openai/gpt-4o"


def test_dated_variant_with_its_own_entry_keeps_its_price(book: PriceBook) -> None:
    resolution = book.resolve("gpt-4o-2024-05-13")
    assert (resolution.key, resolution.step) == ("gpt-4o-2024-05-13", "exact")
    assert per_1m(resolution.entry.input_cost_per_token) == 5.0
    assert per_1m(resolution.entry.output_cost_per_token) == 15.0


def test_dated_variant_without_an_entry_resolves_to_the_undated_one(book: PriceBook) -> None:
    for name, key in (
        ("gpt-4o-mini-2031-01-01", "gpt-4o-mini"),
        ("gpt-4o-20310101", "gpt-4o"),
        ("claude-3-haiku-latest", "claude-3-haiku-20240307"),
        ("openai/gpt-4o-mini-2031-01-01", "gpt-4o-mini"),
    ):
        resolution = book.lookup(name)
        assert resolution is not None, name
        assert resolution.key == key, name


def test_resolution_steps_are_named(book: PriceBook) -> None:
    assert book.resolve("gpt-4o").step == "exact"
    assert book.resolve("GPT-4o").step == "case"
    assert book.resolve("openai/gpt-4o").step == "prefix"
    assert book.resolve("gpt-4o-2031-01-01").step == "undated"
    assert book.resolve("claude-3-sonnet").step == "alias"


def test_never_a_substring_match(book: PriceBook) -> None:
    assert book.resolve("gpt-4o-mini").key == "gpt-4o-mini"
    assert book.lookup("gpt-4o-mini-fancy") is None
    assert book.lookup("my-gpt-4o") is None
    assert book.lookup("gpt") is None


def test_prefix_step_only_strips_a_known_provider(book: PriceBook) -> None:
    assert book.lookup("mycompany/gpt-4o") is None
    assert book.lookup("deepseek-chat") is not None
    # The prefix step never adds one: "grok-2" only resolves if the table has the bare key.
    assert book.lookup("grok-2") is None or load_table().get("grok-2") is not None


def test_claude_3_aliases_have_fixed_targets_in_the_table() -> None:
    table = load_table()
    for alias, target in CLAUDE_3_ALIASES.items():
        assert table.get(alias) is None, alias
        assert table.get(target) is not None, target


def test_undated_strips_only_dates_and_latest() -> None:
    assert undated("gpt-4o-mini-2024-07-18") == "gpt-4o-mini"
    assert undated("claude-3-haiku-20240307") == "claude-3-haiku"
    assert undated("claude-3-sonnet@20240229") == "claude-3-sonnet"
    assert undated("claude-3-5-sonnet-latest") == "claude-3-5-sonnet"
    assert undated("gpt-4-0613") == "gpt-4-0613"
    assert undated("gpt-4o") == "gpt-4o"


def test_unknown_model_raises_with_suggestions(book: PriceBook) -> None:
    with pytest.raises(UnknownModelError) as caught:
        book.resolve("gpt-4o-mni")
    error = caught.value
    assert error.model == "gpt-4o-mni"
    assert error.suggestions == ["gpt-4o-mini", "gpt-5.4-mini", "gpt-4.1-mini"]
    assert str(error) == (
        "unknown model 'gpt-4o-mni': not in LiteLLM 1.83.0's price table nor in custom prices; "
        "did you mean gpt-4o-mini, gpt-5.4-mini, gpt-4.1-mini?"
    )
    assert book.lookup("gpt-4o-mni") is None
    assert book.try_cost("gpt-4o-mni", Usage(1, 1)) is None


def test_suggestions_are_at_most_three_and_may_be_none(book: PriceBook) -> None:
    assert book.suggestions("zzzzzzzzzzzzzzzzzzzz") == []
    assert len(book.suggestions("claude-3")) <= 3
    with pytest.raises(UnknownModelError) as caught:
        book.resolve("zzzzzzzzzzzzzzzzzzzz")
    assert caught.value.suggestions == []
    assert "did you mean" not in str(caught.value)


def test_worked_example_gpt_4o_mini(book: PriceBook) -> None:
    usage = Usage(prompt_tokens=10_000, completion_tokens=2_000, cached_tokens=4_000)
    cost = book.cost("gpt-4o-mini", usage)
    # 6,000 x 0.15/1M + 4,000 x 0.075/1M + 2,000 x 0.60/1M
    assert cost.input_cost == pytest.approx(0.0009, rel=1e-9)
    assert cost.cached_input_cost == pytest.approx(0.0003, rel=1e-9)
    assert cost.cache_write_cost == 0.0
    assert cost.output_cost == pytest.approx(0.0012, rel=1e-9)
    assert cost.reasoning_cost == 0.0
    assert cost.total == pytest.approx(0.0024, rel=1e-9)
    assert cost.prompt_cost == pytest.approx(0.0012, rel=1e-9)
    assert cost.completion_cost == pytest.approx(0.0012, rel=1e-9)
    assert (cost.model, cost.key, cost.tier, cost.custom) == (
        "gpt-4o-mini",
        "gpt-4o-mini",
        None,
        False,
    )
    assert cost.input_rate == pytest.approx(0.15e-6, rel=1e-9)
    assert cost.cached_input_rate == pytest.approx(0.075e-6, rel=1e-9)
    assert cost.output_rate == pytest.approx(0.6e-6, rel=1e-9)


def test_cache_writes_at_the_cache_write_rate(book: PriceBook) -> None:
    usage = Usage(
        prompt_tokens=10_000, completion_tokens=1_000, cached_tokens=2_000, cache_write_tokens=3_000
    )
    cost = book.cost("claude-haiku-4-5", usage)
    assert cost.input_cost == pytest.approx(5_000 * 1.0e-6, rel=1e-9)
    assert cost.cached_input_cost == pytest.approx(2_000 * 0.1e-6, rel=1e-9)
    assert cost.cache_write_cost == pytest.approx(3_000 * 1.25e-6, rel=1e-9)
    assert cost.output_cost == pytest.approx(1_000 * 5e-6, rel=1e-9)
    assert cost.total == pytest.approx(0.005 + 0.0002 + 0.00375 + 0.005, rel=1e-9)


def test_reasoning_at_its_own_rate_where_the_table_has_one(book: PriceBook) -> None:
    entry = book.resolve("gemini/gemini-2.5-flash").entry
    assert entry.reasoning_cost_per_token is not None
    usage = Usage(prompt_tokens=1_000, completion_tokens=3_000, reasoning_tokens=2_000)
    cost = book.cost("gemini/gemini-2.5-flash", usage)
    assert cost.output_cost == pytest.approx(1_000 * entry.output_cost_per_token, rel=1e-9)  # type: ignore[operator]
    assert cost.reasoning_cost == pytest.approx(2_000 * entry.reasoning_cost_per_token, rel=1e-9)
    assert cost.reasoning_rate == entry.reasoning_cost_per_token


def test_reasoning_without_its_own_rate_costs_the_output_rate(book: PriceBook) -> None:
    usage = Usage(prompt_tokens=1_000, completion_tokens=3_000, reasoning_tokens=2_000)
    cost = book.cost("o3-mini", usage)
    assert cost.reasoning_rate == cost.output_rate
    assert cost.output_cost + cost.reasoning_cost == pytest.approx(3_000 * 4.4e-6, rel=1e-9)


def test_long_context_tier_applies_above_the_threshold_only(book: PriceBook) -> None:
    at = book.cost("gemini/gemini-2.5-pro", Usage(prompt_tokens=200_000, completion_tokens=1_000))
    above = book.cost(
        "gemini/gemini-2.5-pro", Usage(prompt_tokens=200_001, completion_tokens=1_000)
    )
    assert at.tier is None
    assert at.total == pytest.approx(200_000 * 1.25e-6 + 1_000 * 10e-6, rel=1e-9)
    assert above.tier == "above_200k"
    assert above.total == pytest.approx(200_001 * 2.5e-6 + 1_000 * 15e-6, rel=1e-9)


def test_missing_cache_read_rate_falls_back_as_litellm_does(book: PriceBook) -> None:
    entry = book.resolve("gpt-4").entry
    assert entry.cache_read_cost_per_token is None
    cost = book.cost("gpt-4", Usage(prompt_tokens=1_000, completion_tokens=0, cached_tokens=400))
    assert cost.cached_input_cost == 0.0  # LiteLLM's generic function: no rate, no charge
    assert cost.input_cost == pytest.approx(600 * 30e-6, rel=1e-9)


def test_unknown_breakdown_counts_price_as_plain_tokens(book: PriceBook) -> None:
    known = book.cost("gpt-4o", Usage(1_000, 500, 0, 0, 0))
    unknown = book.cost("gpt-4o", Usage(1_000, 500))
    assert unknown == known
    assert unknown.total == pytest.approx(1_000 * 2.5e-6 + 500 * 10e-6, rel=1e-9)


def test_unknown_prompt_or_completion_count_has_no_cost(book: PriceBook) -> None:
    with pytest.raises(IncompleteUsageError, match="prompt token count is unknown"):
        book.cost("gpt-4o", Usage(completion_tokens=5))
    with pytest.raises(IncompleteUsageError, match="completion token count is unknown"):
        book.cost("gpt-4o", Usage(prompt_tokens=5))
    assert book.try_cost("gpt-4o", Usage(prompt_tokens=5)) is None


def test_entry_without_a_token_price_is_unknown_not_zero(book: PriceBook) -> None:
    with pytest.raises(NoTokenPriceError):
        book.cost("github_copilot/gpt-4o", Usage(100, 100))
    assert book.try_cost("github_copilot/gpt-4o", Usage(100, 100)) is None
    flags = {
        name: book.resolve(name).entry.has_token_price
        for name in ("github_copilot/gpt-4o", "gpt-4o", "ollama/llama3", "dashscope/qwen3-max")
    }
    # dashscope/qwen3-max has only tiered_pricing bands; ollama is free ($0 rates, not none).
    assert flags == {
        "github_copilot/gpt-4o": False,
        "gpt-4o": True,
        "ollama/llama3": True,
        "dashscope/qwen3-max": True,
    }


def test_cost_or_reason_tells_why_a_usage_has_no_cost(book: PriceBook) -> None:
    priced = book.cost_or_reason("gpt-4o-mini", Usage(10_000, 2_000, cached_tokens=4_000))
    assert not isinstance(priced, Unpriced)
    assert priced.total == pytest.approx(0.0024, rel=1e-9)
    assert book.cost_or_reason("gpt-4o-mni", Usage(100, 100)) == Unpriced(
        "gpt-4o-mni", "unknown_model", None, "no price for model 'gpt-4o-mni'"
    )
    assert book.cost_or_reason("github_copilot/gpt-4o", Usage(100, 100)) == Unpriced(
        "github_copilot/gpt-4o",
        "no_token_price",
        "github_copilot/gpt-4o",
        "'github_copilot/gpt-4o' (github_copilot/gpt-4o) has no per-token price in LiteLLM's "
        "table; it is priced per second, image, character or query",
    )
    assert book.cost_or_reason("OpenAI/GPT-4o", Usage(prompt_tokens=5)) == Unpriced(
        "OpenAI/GPT-4o",
        "incomplete_usage",
        "gpt-4o",
        "cannot price 'OpenAI/GPT-4o': the completion token count is unknown",
    )


def test_free_entry_costs_an_explicit_zero(book: PriceBook) -> None:
    cost = book.cost("ollama/llama3", Usage(1_000, 1_000))
    assert cost.total == 0.0


def test_fireworks_bills_cached_tokens_at_the_input_rate_as_litellm_does(book: PriceBook) -> None:
    key = "fireworks_ai/accounts/fireworks/models/deepseek-v3"
    entry = book.resolve(key).entry
    assert entry.style == "flat"
    cost = book.cost(key, Usage(prompt_tokens=1_000, completion_tokens=100, cached_tokens=400))
    assert cost.total == pytest.approx(
        1_000 * entry.input_cost_per_token + 100 * entry.output_cost_per_token,  # type: ignore[operator]
        rel=1e-9,
    )


def test_dashscope_bands_are_progressive(book: PriceBook) -> None:
    cost = book.cost("dashscope/qwen3-max", Usage(prompt_tokens=40_000, completion_tokens=1_000))
    assert cost.tier == "banded"
    assert cost.input_cost == pytest.approx(32_000 * 1.2e-6 + 8_000 * 2.4e-6, rel=1e-9)
    assert cost.output_cost == pytest.approx(1_000 * 6e-6, rel=1e-9)


def test_default_pricebook_is_cached_and_plain() -> None:
    book = default_pricebook()
    assert book is default_pricebook()
    assert book.source == "litellm"
    assert book.version == "1.83.0"


def test_pricebook_lookup_is_memoized_and_case_preserving(book: PriceBook) -> None:
    first = book.lookup("GPT-4o")
    assert first is not None
    assert first is book.lookup("GPT-4o")
    assert first.model == "GPT-4o"


def test_import_pricing_leaves_the_sdks_unimported() -> None:
    code = (
        "import sys, json, pricing\n"
        "book = pricing.default_pricebook()\n"
        "book.cost('gpt-4o-mini', pricing.Usage(10, 5))\n"
        "print(json.dumps(sorted(m for m in ('litellm', 'openai', 'agents', 'anthropic')"
        " if m in sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(result.stdout) == []


def test_table_version_is_what_importlib_metadata_reports() -> None:
    assert load_table().version == litellm_version() == importlib.metadata.version("litellm")


def test_unreadable_price_table_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PriceTableError, match=r"^cannot read LiteLLM's price table .*absent\.json"):
        read_table(tmp_path / "absent.json", "1.0")
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(PriceTableError, match=r"broken\.json is not valid JSON"):
        read_table(broken, "1.0")
    listed = tmp_path / "list.json"
    listed.write_text("[]", encoding="utf-8")
    with pytest.raises(PriceTableError, match=r"list\.json is not a JSON object"):
        read_table(listed, "1.0")


def test_the_table_is_read_as_the_json_module_reads_it(tmp_path: Path) -> None:
    table = load_table()
    assert table.path is not None
    whole = json.loads(table.path.read_bytes())
    assert {key: table.raw(key) for key in table.keys()} == {
        key: value
        for key, value in whole.items()
        if key != "sample_spec" and isinstance(value, dict)
    }
    # NaN is not JSON, yet the json module reads it: so does the table.
    path = tmp_path / "nan.json"
    path.write_text('{"m": {"input_cost_per_token": NaN, "mode": "chat"}}', encoding="utf-8")
    assert math.isnan(read_table(path, "1.0").raw("m")["input_cost_per_token"])


def test_table_from_a_small_file_skips_the_sample_spec(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(
        json.dumps(
            {
                "sample_spec": {"input_cost_per_token": 0},
                "Tiny-Model": {
                    "litellm_provider": "openai",
                    "mode": "chat",
                    "input_cost_per_token": "1e-6",
                    "output_cost_per_token": 2e-6,
                },
                "broken": "not an object",
            }
        ),
        encoding="utf-8",
    )
    table = read_table(path, "9.9.9")
    assert list(table.keys()) == ["Tiny-Model"]
    book = PriceBook(table)
    assert book.version == "9.9.9"
    assert book.resolve("openai/tiny-model").key == "Tiny-Model"
    assert book.cost("tiny-model", Usage(1_000, 1_000)).total == pytest.approx(0.003, rel=1e-9)
