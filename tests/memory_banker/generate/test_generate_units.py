"""The pipeline's pure parts: backend choice, rounds, output normalisation, secret-free errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from memory_banker.backends import Backend, choose_backend
from memory_banker.digest.secrets import redact
from memory_banker.errors import UsageError
from memory_banker.keys import key_values
from memory_banker.pipeline import describe_error, normalize_output
from memory_banker.plan import GenerateOptions, plan_rounds
from memory_banker.specs import AGENT_SPECS, select_agents


@pytest.mark.parametrize(
    ("model", "api", "api_base", "environ", "expected"),
    [
        ("gpt-4o-mini", None, None, {}, ("openai-responses", "gpt-4o-mini", None)),
        ("gpt-4o-mini", "chat", None, {}, ("openai-chat", "gpt-4o-mini", None)),
        ("openai/gpt-4o", None, None, {}, ("openai-responses", "gpt-4o", None)),
        ("gpt-4o-mini", None, "http://h/v1", {}, ("openai-chat", "gpt-4o-mini", "http://h/v1")),
        (
            "gpt-4o-mini",
            "responses",
            "http://h/v1",
            {},
            ("openai-responses", "gpt-4o-mini", "http://h/v1"),
        ),
        (
            "gpt-4o-mini",
            None,
            None,
            {"OPENAI_BASE_URL": "http://e/v1"},
            ("openai-chat", "gpt-4o-mini", "http://e/v1"),
        ),
        (
            "anthropic/claude-3-haiku-20240307",
            None,
            None,
            {"OPENAI_BASE_URL": "http://e/v1"},
            ("litellm", "anthropic/claude-3-haiku-20240307", None),
        ),
        (
            "ollama/llama3",
            "chat",
            "http://o:11434",
            {},
            ("litellm", "ollama/llama3", "http://o:11434"),
        ),
    ],
)
def test_choose_backend(
    model: str,
    api: str | None,
    api_base: str | None,
    environ: dict[str, str],
    expected: tuple[str, str, str | None],
) -> None:
    backend = choose_backend(model, api=api, api_base=api_base, environ=environ)  # type: ignore[arg-type]

    assert (backend.kind, backend.api_model, backend.base_url) == expected
    assert backend.model == model


def test_offline_backend_ignores_the_model() -> None:
    backend = choose_backend("anthropic/claude-3-haiku-20240307", offline=True, environ={})

    assert backend == Backend(kind="offline", model="offline", api_model="offline", base_url=None)


def test_responses_api_for_a_litellm_model_is_bad_input() -> None:
    with pytest.raises(UsageError, match="--api responses needs an OpenAI model"):
        choose_backend("anthropic/claude-3-haiku-20240307", api="responses", environ={})


def test_backend_description_hides_credentials_in_the_url() -> None:
    backend = choose_backend(
        "gpt-4o-mini", api_base="https://user:s3cret@proxy.example:8443/v1", environ={}
    )

    assert backend.describe() == (
        "OpenAI Chat Completions API (Agents SDK OpenAI provider) at https://proxy.example:8443/v1"
    )


def test_plan_rounds_puts_dependants_after_their_selected_inputs() -> None:
    rounds = plan_rounds(AGENT_SPECS)
    assert [[spec.name for spec in round_] for round_ in rounds] == [
        ["projectbrief"],
        ["productContext", "systemPatterns", "techContext"],
        ["activeContext", "progress"],
    ]
    subset = plan_rounds(select_agents("progress,activeContext"))
    assert [[spec.name for spec in round_] for round_ in subset] == [["activeContext", "progress"]]
    skipping = plan_rounds(select_agents("projectbrief,techContext,progress"))
    assert [[spec.name for spec in round_] for round_ in skipping] == [
        ["projectbrief"],
        ["techContext"],
        ["progress"],
    ]


def test_normalize_output_strips_a_wrapping_fence_and_ends_with_one_newline() -> None:
    assert normalize_output("```markdown\n# T\n\n## A\nx\n```\n") == "# T\n\n## A\nx\n"
    assert normalize_output("\n# T\n\n## A\n\n\n") == "# T\n\n## A\n"
    assert normalize_output("# T\n```py\ncode\n```") == "# T\n```py\ncode\n```\n"


def test_errors_never_carry_keys() -> None:
    error = RuntimeError("Error code: 401 - Incorrect API key provided: sk-proj-abcdef123456")
    assert describe_error(error) == (
        "RuntimeError: Error code: 401 - Incorrect API key provided: [REDACTED:openai-key]"
    )
    assert redact("token=my-own-secret-value", ["my-own-secret-value"]) == (
        "token=[REDACTED:api-key]"
    )
    assert redact("Authorization: Bearer abc.def") == (
        "Authorization: Bearer [REDACTED:authorization]"
    )


def test_long_errors_are_cut_to_one_bounded_line() -> None:
    text = describe_error(ValueError("line one\nline two " + "x" * 1000))

    assert "\n" not in text
    assert len(text) == 500
    assert text.startswith("ValueError: line one line two xxx")
    assert text.endswith("…")


def test_a_run_redacts_the_given_key_and_the_providers_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "plain-anthropic-value")
    options = GenerateOptions(
        command="init",
        project=Path("."),
        model="anthropic/claude-3-haiku-20240307",
        api_key="given-key-value",
    )

    secrets = key_values(options.model, options.api_key)

    assert secrets == ("given-key-value", "plain-anthropic-value")
    assert "given-key-value" not in repr(options)
    error = RuntimeError("rejected given-key-value and plain-anthropic-value")
    assert describe_error(error, secrets) == (
        "RuntimeError: rejected [REDACTED:api-key] and [REDACTED:api-key]"
    )
