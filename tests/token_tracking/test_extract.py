"""usage_from_result / record_usage with every accepted result type, normalized per DESIGN §3."""

from __future__ import annotations

import logging
import subprocess
import sys
from typing import Any

import litellm
import pytest
from agents import (
    Agent,
    ModelResponse,
    ModelSettings,
    OpenAIChatCompletionsModel,
    Runner,
    Usage,
    function_tool,
    set_tracing_disabled,
)
from anthropic import Anthropic
from openai import AsyncOpenAI, OpenAI
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

from tests.support.fake_provider import FakeProvider, Reply
from token_tracking import RequestUsage, TokenTracker, TrackingError
from token_tracking.errors import UsageNotFoundError
from token_tracking.extract import (
    UsageCounts,
    counts_from_usage,
    usage_from_model_response,
    usage_from_result,
)

set_tracing_disabled(True)

OPENAI_REPLY = Reply(
    prompt_tokens=1200, completion_tokens=340, cached_tokens=1024, reasoning_tokens=128
)
ANTHROPIC_REPLY = Reply(
    prompt_tokens=21, completion_tokens=77, cache_read_tokens=1800, cache_write_tokens=250
)
MESSAGES: Any = [{"role": "user", "content": "hi"}]


@pytest.fixture
def tracker() -> TokenTracker:
    return TokenTracker(command="test", persist=False, interval_minutes=600)


def counts(usage: RequestUsage) -> tuple[Any, ...]:
    return (
        usage.model,
        usage.prompt_tokens,
        usage.completion_tokens,
        usage.cached_tokens,
        usage.cache_write_tokens,
        usage.reasoning_tokens,
        usage.requests,
    )


# -- real SDK results through tracker.record_usage ---------------------------------------------


def test_chat_completion(fake_provider: FakeProvider, tracker: TokenTracker) -> None:
    fake_provider.add(OPENAI_REPLY)
    client = OpenAI(base_url=fake_provider.openai_base_url, api_key="test", max_retries=0)
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    recorded = tracker.record_usage(completion, operation="summarize", duration_seconds=1.5)
    assert counts(recorded) == ("gpt-4o-mini", 1200, 340, 1024, None, 128, 1)
    assert (recorded.agent_name, recorded.duration_seconds) == ("summarize", 1.5)


def test_responses_response(fake_provider: FakeProvider, tracker: TokenTracker) -> None:
    fake_provider.add(OPENAI_REPLY)
    client = OpenAI(base_url=fake_provider.openai_base_url, api_key="test", max_retries=0)
    response = client.responses.create(model="gpt-5", input="hi")
    recorded = tracker.record_usage(response, operation_type="plan")
    assert counts(recorded) == ("gpt-5", 1200, 340, 1024, None, 128, 1)
    assert recorded.agent_name == "plan"


def test_anthropic_message(fake_provider: FakeProvider, tracker: TokenTracker) -> None:
    fake_provider.add(ANTHROPIC_REPLY)
    client = Anthropic(base_url=fake_provider.base_url, api_key="test", max_retries=0)
    message = client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MESSAGES)
    recorded = tracker.record_usage(message, operation="review")
    assert counts(recorded) == ("claude-haiku-4-5", 2071, 77, 1800, 250, None, 1)


def test_litellm_model_response(fake_provider: FakeProvider, tracker: TokenTracker) -> None:
    fake_provider.add(ANTHROPIC_REPLY)
    response = litellm.completion(
        model="anthropic/claude-haiku-4-5",
        api_base=fake_provider.base_url,
        api_key="test",
        messages=MESSAGES,
    )
    recorded = tracker.record_usage(response, operation="draft", model="claude-haiku-4-5")
    # LiteLLM already folds both cache counts into prompt_tokens; they are not added twice.
    assert counts(recorded) == ("claude-haiku-4-5", 2071, 77, 1800, 250, 0, 1)


@function_tool
def get_weather(city: str) -> str:
    """Return the weather in a city."""
    return f"sunny in {city}"


async def test_agents_run_result_one_record_per_response(
    fake_provider: FakeProvider, tracker: TokenTracker
) -> None:
    fake_provider.add(
        Reply(
            text="",
            tool_call=("get_weather", '{"city": "Oslo"}'),
            prompt_tokens=100,
            completion_tokens=9,
        )
    )
    fake_provider.add(Reply(text="sunny", prompt_tokens=130, completion_tokens=4, cached_tokens=64))
    client = AsyncOpenAI(base_url=fake_provider.openai_base_url, api_key="test", max_retries=0)
    agent = Agent(
        name="solo",
        model=OpenAIChatCompletionsModel(model="gpt-4o", openai_client=client),
        model_settings=ModelSettings(preserve_raw_usage=True),
        tools=[get_weather],
    )
    result = await Runner.run(agent, "hi")
    assert [counts(r) for r in usage_from_result(result)] == [
        ("gpt-4o", 100, 9, None, None, None, 1),
        ("gpt-4o", 130, 4, 64, None, None, 1),
    ]
    recorded = tracker.record_usage(result, operation="solo")
    assert counts(recorded) == ("gpt-4o", 230, 13, 64, None, None, 2)
    (solo,) = tracker.finish().agent_usage
    assert (solo.agent_name, solo.total_tokens, solo.requests) == ("solo", 243, 2)


def test_claude_agent_sdk_result_mapping(tracker: TokenTracker) -> None:
    result = {
        "type": "result",
        "subtype": "success",
        "duration_ms": 5230,
        "num_turns": 3,
        "total_cost_usd": 0.0421,
        "usage": {
            "input_tokens": 12,
            "cache_creation_input_tokens": 3000,
            "cache_read_input_tokens": 9000,
            "output_tokens": 640,
            "service_tier": "standard",
        },
        "modelUsage": {"claude-sonnet-4-5": {"inputTokens": 12, "outputTokens": 640}},
    }
    recorded = tracker.record_usage(result, operation="claude-agent")
    assert counts(recorded) == ("claude-sonnet-4-5", 12012, 640, 9000, 3000, None, 1)
    assert (recorded.cost_usd, recorded.cost_is_actual) == (0.0421, True)
    assert recorded.duration_seconds == 5.23


# -- pure functions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        (
            {"prompt_tokens": 100, "completion_tokens": 20},
            UsageCounts(100, 20, None, None, None),
        ),
        (
            {
                "prompt_tokens": 100,
                "completion_tokens": 20,
                "prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 30},
                "completion_tokens_details": {"reasoning_tokens": 0},
            },
            UsageCounts(100, 20, 0, 30, 0),
        ),
        (
            {
                "input_tokens": 100,
                "output_tokens": 20,
                "input_tokens_details": {"cached_tokens": 40},
                "output_tokens_details": {"reasoning_tokens": 8},
            },
            UsageCounts(100, 20, 40, None, 8),
        ),
        (
            {"input_tokens": 5, "output_tokens": 20, "cache_read_input_tokens": 95},
            UsageCounts(100, 20, 95, None, None),
        ),
        (
            {"input_tokens": 5, "output_tokens": 20, "cache_creation_input_tokens": None},
            UsageCounts(5, 20, None, None, None),
        ),
        ({"total_tokens": 7}, UsageCounts()),
        (None, UsageCounts()),
    ],
    ids=["chat", "chat-details", "responses", "anthropic", "anthropic-null-cache", "none", "null"],
)
def test_counts_from_usage_shapes(usage: Any, expected: UsageCounts) -> None:
    assert counts_from_usage(usage) == expected


XAI_USAGE = {
    "prompt_tokens": 37,
    "completion_tokens": 530,
    "total_tokens": 800,
    "completion_tokens_details": {"reasoning_tokens": 233},
}


@pytest.mark.parametrize(
    ("usage", "model", "completion"),
    [
        (XAI_USAGE, "xai/grok-3-mini", 763),
        (XAI_USAGE, "XAI/grok-4", 763),
        # xAI under another name: its own total (37 + 530 + 233) says where reasoning is.
        (XAI_USAGE, "openai/grok-3-mini", 763),
        (XAI_USAGE, None, 763),
        # Perplexity's deep research: total = prompt + completion, reasoning on top, top level.
        (
            {
                "prompt_tokens": 19,
                "completion_tokens": 7163,
                "total_tokens": 7182,
                "reasoning_tokens": 73997,
            },
            "perplexity/sonar-deep-research",
            81160,
        ),
        # OpenAI semantics: reasoning already inside completion (total = prompt + completion).
        (
            {
                "prompt_tokens": 37,
                "completion_tokens": 530,
                "total_tokens": 567,
                "completion_tokens_details": {"reasoning_tokens": 233},
            },
            "openai/o3-mini",
            530,
        ),
        ({**XAI_USAGE, "total_tokens": 567}, "openai/grok-3-mini", 530),
        ({**XAI_USAGE, "completion_tokens_details": {"reasoning_tokens": 0}}, "xai/grok-3", 530),
        ({"prompt_tokens": 37, "completion_tokens": 530}, "xai/grok-3", 530),
    ],
    ids=[
        "xai",
        "xai-case",
        "xai-by-total",
        "xai-no-model",
        "perplexity",
        "openai",
        "inside-by-total",
        "zero",
        "no-reasoning",
    ],
)
def test_reasoning_beside_the_completion_count_is_added_to_it(
    usage: dict[str, Any], model: str | None, completion: int
) -> None:
    (record,) = usage_from_result({"model": model, "usage": usage})
    assert record.completion_tokens == completion
    assert record.prompt_tokens == usage["prompt_tokens"]
    # Normalized, the record keeps DESIGN §3's reasoning <= completion.
    assert record.check_invariants() == []


def test_agents_model_response_on_xai_counts_reasoning_once() -> None:
    # The SDK's LitellmModel copies xAI's numbers into its Usage as given.
    response = ModelResponse(
        output=[],
        usage=Usage(
            requests=1,
            input_tokens=37,
            output_tokens=530,
            total_tokens=800,
            input_tokens_details=InputTokensDetails(cached_tokens=0, cache_write_tokens=0),
            output_tokens_details=OutputTokensDetails(reasoning_tokens=233),
        ),
        response_id=None,
    )
    record = usage_from_model_response(response, model="xai/grok-3-mini")
    assert (record.prompt_tokens, record.completion_tokens, record.reasoning_tokens) == (
        37,
        763,
        233,
    )


def test_bare_usage_mapping_and_model_argument() -> None:
    (record,) = usage_from_result({"prompt_tokens": 9, "completion_tokens": 1}, model="gpt-4o")
    assert counts(record) == ("gpt-4o", 9, 1, None, None, None, 1)
    assert record.agent_name is None
    assert record.timestamp.tzinfo is not None


def test_result_whose_usage_is_none_has_unknown_counts() -> None:
    (record,) = usage_from_result({"model": "gpt-4o", "usage": None})
    assert counts(record) == ("gpt-4o", None, None, None, None, None, 1)


def test_broken_invariants_are_kept_with_one_warning_each(
    tracker: TokenTracker, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        record = tracker.record_usage(
            {
                "prompt_tokens": 10,
                "completion_tokens": 5,
                "prompt_tokens_details": {"cached_tokens": 50},
                "completion_tokens_details": {"reasoning_tokens": 9},
            },
            operation="op",
            model="gpt-4o-mini",
        )
    assert (record.prompt_tokens, record.cached_tokens, record.reasoning_tokens) == (10, 50, 9)
    assert caplog.messages == [
        "usage of op kept as given: cached (50) + cache-write (None) tokens exceed prompt "
        "tokens (10)",
        "usage of op kept as given: reasoning tokens (9) exceed completion tokens (5)",
    ]


@pytest.mark.parametrize("result", [None, "text", 42, {"answer": "no usage"}, object()])
def test_unreadable_results_raise_a_tracking_error(result: object) -> None:
    with pytest.raises(UsageNotFoundError, match="token usage") as raised:
        usage_from_result(result)
    assert isinstance(raised.value, TrackingError)


def test_integration_modules_import_no_sdk() -> None:
    # DESIGN §2: the SDKs load only when an integration object is built, never on import.
    code = (
        "import sys\n"
        "import token_tracking.extract, token_tracking.integrations.openai_agents\n"
        "import token_tracking.integrations.litellm, token_tracking.integrations.anthropic\n"
        "print(sorted(m for m in ('agents', 'litellm', 'openai', 'anthropic') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
