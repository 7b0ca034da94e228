"""Custom prices: TOML/JSON price files, the per-1K dict, and the Claude environment variables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pricing import (
    PriceBook,
    PricingEnvError,
    PricingFileError,
    Usage,
    default_pricebook,
    load_pricebook,
    load_table,
)

USAGE = Usage(prompt_tokens=10_000, completion_tokens=2_000, cached_tokens=4_000)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_toml_per_1m_file_adds_and_overrides_models(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "prices.toml",
        """
[models."my-model"]
input_per_1m = 1.0
output_per_1m = 4.0
cached_input_per_1m = 0.25
cache_write_per_1m = 1.25

[models."gpt-4o-mini"]
input_per_1m = 0.3
output_per_1m = 1.2
""",
    )
    book = load_pricebook(path, environ={})
    assert book.source == f"litellm+custom:{path}"

    mine = book.resolve("my-model")
    assert (mine.key, mine.custom, mine.step) == ("my-model", True, "exact")
    assert mine.entry.custom_source == str(path)
    cost = book.cost("my-model", Usage(10_000, 2_000, 4_000, 1_000))
    assert cost.input_cost == pytest.approx(5_000 * 1e-6, rel=1e-9)
    assert cost.cached_input_cost == pytest.approx(4_000 * 0.25e-6, rel=1e-9)
    assert cost.cache_write_cost == pytest.approx(1_000 * 1.25e-6, rel=1e-9)
    assert cost.output_cost == pytest.approx(2_000 * 4e-6, rel=1e-9)
    assert cost.custom is True

    overridden = book.resolve("GPT-4o-mini")
    assert (overridden.key, overridden.custom) == ("gpt-4o-mini", True)
    assert overridden.entry.provider == "openai"  # kept from LiteLLM's entry
    assert overridden.entry.max_input_tokens == 128_000
    # No cached rate given: cached tokens cost the custom input rate.
    assert book.cost("gpt-4o-mini", USAGE).total == pytest.approx(
        10_000 * 0.3e-6 + 2_000 * 1.2e-6, rel=1e-9
    )
    # Everything else still comes from LiteLLM.
    assert book.resolve("gpt-4o").custom is False


def test_json_per_1k_file_without_models_level(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "prices.json",
        json.dumps({"my-custom-model": {"prompt_per_1k": 0.001, "completion_per_1k": 0.002}}),
    )
    book = load_pricebook(path, environ={})
    cost = book.cost("my-custom-model", Usage(prompt_tokens=1_500, completion_tokens=500))
    assert cost.total == pytest.approx(1.5 * 0.001 + 0.5 * 0.002, rel=1e-9)
    assert cost.input_rate == pytest.approx(1e-6, rel=1e-9)


def test_toml_per_1k_file_with_models_level(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "prices.toml",
        "[models.house-model]\nprompt_per_1k = 0.5\ncompletion_per_1k = 1.5\n",
    )
    book = load_pricebook(path, environ={})
    assert book.cost("house-model", Usage(1_000, 1_000)).total == pytest.approx(2.0, rel=1e-9)


def test_custom_entries_join_resolution_and_listing(tmp_path: Path) -> None:
    path = write(
        tmp_path, "prices.toml", "[models.house-model]\ninput_per_1m = 1\noutput_per_1m = 2\n"
    )
    book = load_pricebook(path, environ={})
    assert book.resolve("openai/HOUSE-MODEL").key == "house-model"
    assert book.resolve("house-model-2031-01-01").key == "house-model"
    keys = [entry.key for entry in book.entries()]
    assert keys[-1] == "house-model"
    assert len(keys) == len(load_table()) + 1
    assert "house-model" in book.suggestions("house-modle")


def test_pricing_file_from_environment_variable(tmp_path: Path) -> None:
    path = write(
        tmp_path, "prices.toml", "[models.env-model]\ninput_per_1m = 1\noutput_per_1m = 2\n"
    )
    book = load_pricebook(environ={"MEMORY_BANKER_PRICING_FILE": str(path)})
    assert book.resolve("env-model").custom is True
    assert load_pricebook(environ={}).lookup("env-model") is None


BAD_FILES = [
    ("prices.yaml", "x: 1\n", "pricing file {path}: unknown format '.yaml': use .toml or .json"),
    ("prices.toml", "[models\n", "pricing file {path}: invalid TOML: "),
    ("prices.json", "{not json", "pricing file {path}: invalid JSON: "),
    ("prices.json", "[1, 2]", "pricing file {path}: must hold a table of models, got list"),
    ("prices.toml", "", 'pricing file {path}: no models; expected [models."NAME"] price tables'),
    (
        "prices.toml",
        "[models.m]\ninput_per_1m = 1\n",
        "pricing file {path}: model 'm': missing field 'output_per_1m'",
    ),
    (
        "prices.toml",
        "[models.m]\nprompt_per_1k = 1\n",
        "pricing file {path}: model 'm': missing field 'completion_per_1k'",
    ),
    (
        "prices.toml",
        '[models.m]\ninput_per_1m = "cheap"\noutput_per_1m = 2\n',
        "pricing file {path}: model 'm': field 'input_per_1m' must be a number, got 'cheap'",
    ),
    (
        "prices.toml",
        "[models.m]\ninput_per_1m = -1\noutput_per_1m = 2\n",
        "pricing file {path}: model 'm': field 'input_per_1m' must be a non-negative number, "
        "got -1",
    ),
    (
        "prices.toml",
        "[models.m]\ninput_per_1m = true\noutput_per_1m = 2\n",
        "pricing file {path}: model 'm': field 'input_per_1m' must be a number, got True",
    ),
    (
        "prices.toml",
        "[models.m]\ninput_per_1m = nan\noutput_per_1m = 2\n",
        "pricing file {path}: model 'm': field 'input_per_1m' must be a non-negative number, "
        "got nan",
    ),
    (
        "prices.toml",
        "[models.m]\ninptu_per_1m = 1\noutput_per_1m = 2\n",
        "pricing file {path}: model 'm': unknown field 'inptu_per_1m' (did you mean "
        "'input_per_1m'?); known fields: prompt_per_1k, completion_per_1k, input_per_1m, "
        "output_per_1m, cached_input_per_1m, cache_write_per_1m",
    ),
    (
        "prices.toml",
        "[models.m]\ninput_per_1m = 1\noutput_per_1m = 2\nprompt_per_1k = 1\n",
        "pricing file {path}: model 'm': mixes per-1K fields (prompt_per_1k) with per-1M fields "
        "(input_per_1m, output_per_1m); use one form",
    ),
    (
        "prices.json",
        '{"m": 3}',
        "pricing file {path}: model 'm' must be a table of prices (for example input_per_1m "
        "and output_per_1m), got 3",
    ),
    (
        "prices.toml",
        'currency = "USD"\n[models.m]\ninput_per_1m = 1\noutput_per_1m = 2\n',
        "pricing file {path}: unknown top-level key 'currency': put every model under [models]",
    ),
    (
        "prices.json",
        '{"  ": {"input_per_1m": 1, "output_per_1m": 2}}',
        "pricing file {path}: a model name must be a non-empty string",
    ),
]


@pytest.mark.parametrize(("name", "text", "message"), BAD_FILES)
def test_bad_file_is_a_clear_error(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = write(tmp_path, name, text)
    with pytest.raises(PricingFileError) as caught:
        load_pricebook(path, environ={})
    expected = message.format(path=path)
    if expected.endswith(": "):
        assert str(caught.value).startswith(expected)
    else:
        assert str(caught.value) == expected


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    with pytest.raises(PricingFileError) as caught:
        load_pricebook(path, environ={})
    assert str(caught.value) == f"pricing file {path}: not found"


def test_non_utf8_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "prices.toml"
    path.write_bytes(b"\xff\xfe[models]")
    with pytest.raises(PricingFileError, match=r"not UTF-8 text"):
        load_pricebook(path, environ={})


def test_directory_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "prices.toml"
    path.mkdir()
    with pytest.raises(PricingFileError, match=r"^pricing file .*prices\.toml: cannot be read: "):
        load_pricebook(path, environ={})


def test_with_custom_per_1k_dict_returns_a_new_book() -> None:
    base = PriceBook(load_table())
    book = base.with_custom(
        {"my-custom-model": {"prompt_per_1k": 0.001, "completion_per_1k": 0.002}}
    )
    assert base.lookup("my-custom-model") is None
    assert book.source == "litellm+custom:dict"
    cost = book.cost("my-custom-model", Usage(prompt_tokens=2_000, completion_tokens=1_000))
    assert cost.total == pytest.approx(0.004, rel=1e-9)
    assert cost.custom is True
    again = book.with_custom({"gpt-4": {"prompt_per_1k": 0.01, "completion_per_1k": 0.02}})
    assert again.source == "litellm+custom:dict"
    assert again.resolve("my-custom-model").custom is True
    assert again.cost("gpt-4", Usage(1_000, 1_000)).total == pytest.approx(0.03, rel=1e-9)


def test_with_custom_rejects_bad_prices() -> None:
    with pytest.raises(PricingFileError) as caught:
        default_pricebook().with_custom({"m": {"prompt_per_1k": 0.001}})
    assert str(caught.value) == "custom pricing: model 'm': missing field 'completion_per_1k'"


def test_claude_environment_overrides_every_claude_model() -> None:
    book = load_pricebook(
        environ={"CLAUDE_COST_PER_1M_INPUT": "3.00", "CLAUDE_COST_PER_1M_OUTPUT": "15.00"}
    )
    assert book.source == "litellm+custom:env"
    for model in ("claude-3-haiku", "claude-opus-4-1", "anthropic/claude-sonnet-4-5"):
        resolution = book.resolve(model)
        assert resolution.custom is True, model
        assert resolution.entry.custom_source == "env"
        cost = book.cost(model, Usage(prompt_tokens=1_000_000, completion_tokens=1_000_000))
        assert cost.total == pytest.approx(18.0, rel=1e-9), model
    # The cache-read rate stays LiteLLM's; long-context tiers are dropped.
    haiku = book.resolve("claude-3-haiku").entry
    assert haiku.cache_read_cost_per_token == pytest.approx(0.03e-6, rel=1e-9)
    assert book.resolve("claude-sonnet-4-5").entry.tiers == ()
    assert book.resolve("gpt-4o").custom is False


def test_claude_environment_one_variable_overrides_one_rate() -> None:
    book = load_pricebook(environ={"CLAUDE_COST_PER_1M_OUTPUT": "10"})
    entry = book.resolve("claude-3-haiku").entry
    assert entry.input_cost_per_token == pytest.approx(0.25e-6, rel=1e-9)
    assert entry.output_cost_per_token == pytest.approx(10e-6, rel=1e-9)


def test_price_file_beats_claude_environment(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "prices.toml",
        '[models."claude-3-haiku-20240307"]\ninput_per_1m = 1\noutput_per_1m = 2\n',
    )
    book = load_pricebook(path, environ={"CLAUDE_COST_PER_1M_INPUT": "9"})
    assert book.source == f"litellm+custom:env+custom:{path}"
    entry = book.resolve("claude-3-haiku").entry
    assert entry.custom_source == str(path)
    assert entry.input_cost_per_token == pytest.approx(1e-6, rel=1e-9)


@pytest.mark.parametrize("value", ["abc", "-1", "nan", "inf"])
def test_bad_claude_environment_value(value: str) -> None:
    with pytest.raises(PricingEnvError) as caught:
        load_pricebook(environ={"CLAUDE_COST_PER_1M_INPUT": value})
    assert str(caught.value) == (
        f"CLAUDE_COST_PER_1M_INPUT={value!r} is not a non-negative number of USD per 1M tokens"
    )


def test_default_pricebook_applies_the_claude_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_pricebook().resolve("claude-3-opus").custom is False
    monkeypatch.setenv("CLAUDE_COST_PER_1M_INPUT", "1")
    monkeypatch.setenv("CLAUDE_COST_PER_1M_OUTPUT", "2")
    book = default_pricebook()
    assert book.source == "litellm+custom:env"
    assert book.cost("claude-3-opus", Usage(1_000_000, 1_000_000)).total == pytest.approx(
        3.0, rel=1e-9
    )
