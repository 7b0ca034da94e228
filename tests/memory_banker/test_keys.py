"""The provider → key-variable table and the up-front key check."""

from __future__ import annotations

import pytest

from memory_banker.errors import MissingApiKeyError
from memory_banker.keys import check_api_key, env_base_url, key_requirement, provider_of


@pytest.mark.parametrize(
    ("model", "provider"),
    [
        ("gpt-4o-mini", "openai"),
        ("o3-mini", "openai"),
        ("openai/gpt-4o", "openai"),
        ("claude-3-5-haiku-latest", "anthropic"),
        ("anthropic/claude-3-5-haiku-latest", "anthropic"),
        ("gemini/gemini-2.0-flash", "gemini"),
        ("ollama/llama3", "ollama"),
        ("openrouter/meta-llama/llama-3-70b", "openrouter"),
        ("my-local-model", None),
    ],
)
def test_provider_of_reads_the_prefix_or_the_name_family(model: str, provider: str | None) -> None:
    assert provider_of(model) == provider


def test_key_requirement_lists_the_variables_of_the_provider() -> None:
    gemini = key_requirement("gemini/gemini-2.0-flash")
    assert gemini is not None
    assert gemini.variables == ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    assert key_requirement("ollama/llama3") is None
    assert key_requirement("bedrock/anthropic.claude-3-haiku") is None
    assert key_requirement("my-local-model") is None


def test_missing_openai_key_names_the_variable_and_offline() -> None:
    with pytest.raises(MissingApiKeyError) as caught:
        check_api_key("gpt-4o-mini", environ={})
    assert str(caught.value) == (
        "OPENAI_API_KEY is not set: model gpt-4o-mini needs an API key for the openai provider. "
        "Set OPENAI_API_KEY or pass --api-key, or run with --offline to generate the memory bank "
        "without a model."
    )


def test_missing_key_with_alternative_variables_names_them_all() -> None:
    with pytest.raises(MissingApiKeyError, match=r"Set GEMINI_API_KEY \(or GOOGLE_API_KEY\)"):
        check_api_key("gemini/gemini-2.0-flash", environ={})


@pytest.mark.parametrize(
    ("model", "api_key", "api_base", "environ"),
    [
        ("gpt-4o-mini", None, None, {"OPENAI_API_KEY": "sk-test"}),
        ("gpt-4o-mini", "sk-given", None, {}),
        ("gpt-4o-mini", None, "http://127.0.0.1:1/v1", {}),
        ("gpt-4o-mini", None, None, {"OPENAI_BASE_URL": "http://127.0.0.1:1/v1"}),
        ("gpt-4o-mini", None, None, {"OPENAI_API_BASE": "http://127.0.0.1:1/v1"}),
        ("anthropic/claude-3-5-haiku-latest", None, "http://127.0.0.1:1", {}),
        ("gemini/gemini-2.0-flash", None, None, {"GOOGLE_API_KEY": "g"}),
        ("ollama/llama3", None, None, {}),
        ("vertex_ai/gemini-1.5-pro", None, None, {}),
        ("offline", None, None, {}),
    ],
)
def test_runs_that_need_no_check_pass(
    model: str, api_key: str | None, api_base: str | None, environ: dict[str, str]
) -> None:
    check_api_key(model, api_key=api_key, api_base=api_base, environ=environ)


def test_an_openai_base_url_does_not_exempt_another_provider() -> None:
    with pytest.raises(MissingApiKeyError, match="ANTHROPIC_API_KEY"):
        check_api_key(
            "anthropic/claude-3-5-haiku-latest", environ={"OPENAI_BASE_URL": "http://x/v1"}
        )


def test_env_base_url_prefers_the_openai_sdk_variable() -> None:
    environ = {"OPENAI_BASE_URL": "http://a/v1", "OPENAI_API_BASE": "http://b/v1"}
    assert env_base_url("gpt-4o-mini", environ) == "http://a/v1"
    assert env_base_url("gpt-4o-mini", {"OPENAI_API_BASE": "http://b/v1"}) == "http://b/v1"
    assert env_base_url("anthropic/claude-3-5-haiku-latest", environ) is None
