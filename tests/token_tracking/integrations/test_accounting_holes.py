"""The uncommon SDK paths, each recorded once with exact counts: responses without usage, async
LiteLLM callbacks, one response seen by two integrations, agents used as tools, model aliases,
the Anthropic SDK's raw and beta APIs, and cached tokens without a cache price."""

from __future__ import annotations

import io
from typing import Any

import litellm
import pytest
from agents import (
    Agent,
    AgentHooks,
    ModelSettings,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
    Runner,
    set_tracing_disabled,
)
from agents.extensions.models.litellm_model import LitellmModel
from agents.models.interface import Model
from anthropic import Anthropic, AsyncAnthropic
from openai import AsyncOpenAI
from rich.console import Console

from tests.support.fake_provider import FakeProvider, Reply
from token_tracking import TokenTracker, TokenUsageReport
from token_tracking.integrations.litellm import registered_callback
from token_tracking.reports.build import UNATTRIBUTED_AGENT

set_tracing_disabled(True)

MESSAGES: Any = [{"role": "user", "content": "hi"}]
SETTINGS = ModelSettings(preserve_raw_usage=True, include_usage=True)


def new_tracker() -> TokenTracker:
    return TokenTracker(command="test", persist=False, interval_minutes=600)


def make_model(kind: str, fake: FakeProvider, name: str = "gpt-4o") -> Model:
    if kind == "litellm":
        return LitellmModel(model=f"openai/{name}", base_url=fake.openai_base_url, api_key="test")
    client = AsyncOpenAI(base_url=fake.openai_base_url, api_key="test", max_retries=0)
    if kind == "responses":
        return OpenAIResponsesModel(model=name, openai_client=client)
    return OpenAIChatCompletionsModel(model=name, openai_client=client)


def rendered(report: TokenUsageReport) -> str:
    out = io.StringIO()
    report.render(Console(file=out, width=100, color_system=None))
    return out.getvalue()


def totals(report: TokenUsageReport) -> tuple[Any, ...]:
    return (
        report.total_prompt_tokens,
        report.total_completion_tokens,
        report.total_tokens,
        report.total_requests,
        report.unknown_usage_requests,
    )


# --- 1 and 7: a response without usage is unknown, never 0 ------------------------------------


@pytest.mark.parametrize("kind", ["responses", "chat", "litellm"])
@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("raw", [True, False])
async def test_agents_sdk_response_without_usage_is_unknown(
    fake_provider: FakeProvider, kind: str, stream: bool, raw: bool
) -> None:
    fake_provider.default = Reply(usage=False)
    tracker = new_tracker()
    settings = SETTINGS if raw else ModelSettings(include_usage=True)
    agent = Agent(name="plain", model=make_model(kind, fake_provider), model_settings=settings)
    if stream:
        run = Runner.run_streamed(agent, "hello", hooks=tracker.agents_hooks())
        async for _ in run.stream_events():
            pass
    else:
        await Runner.run(agent, "hello", hooks=tracker.agents_hooks())
    report = tracker.finish()
    assert totals(report) == (None, None, None, 1, 1)
    assert report.total_cost_usd is None
    (plain,) = report.agent_usage
    assert (plain.prompt_tokens, plain.completion_tokens, plain.requests) == (None, None, 1)
    text = rendered(report)
    assert "Total Prompt Tokens: unknown" in text
    assert "Estimated Cost: unknown (1 request returned no usage)" in text


async def test_chat_stream_without_include_usage_is_unknown(fake_provider: FakeProvider) -> None:
    tracker = new_tracker()
    agent = Agent(
        name="plain",
        model=make_model("chat", fake_provider),
        model_settings=ModelSettings(preserve_raw_usage=True),
    )
    run = Runner.run_streamed(agent, "hello", hooks=tracker.agents_hooks())
    async for _ in run.stream_events():
        pass
    assert totals(tracker.finish()) == (None, None, None, 1, 1)


def test_litellm_completion_without_usage_is_unknown(fake_provider: FakeProvider) -> None:
    fake_provider.default = Reply(usage=False)
    tracker = new_tracker()
    with registered_callback(tracker, default_agent="solo"):
        litellm.completion(
            model="openai/gpt-4o",
            api_base=fake_provider.openai_base_url,
            api_key="test",
            messages=MESSAGES,
        )
    (usage,) = tracker.requests()
    assert (usage.prompt_tokens, usage.completion_tokens, usage.cost_usd) == (None, None, None)
    assert totals(tracker.finish()) == (None, None, None, 1, 1)


async def test_some_unknown_usage_makes_the_totals_lower_bounds(
    fake_provider: FakeProvider,
) -> None:
    fake_provider.add(Reply(prompt_tokens=1000, completion_tokens=50))
    fake_provider.add(Reply(usage=False))
    tracker = new_tracker()
    model = make_model("chat", fake_provider)
    for name in ("first", "second"):
        agent = Agent(name=name, model=model, model_settings=SETTINGS)
        await Runner.run(agent, "hello", hooks=tracker.agents_hooks())
    report = tracker.finish()
    assert totals(report) == (1000, 50, 1050, 2, 1)
    text = rendered(report)
    assert "Total Prompt Tokens: at least 1,000" in text
    assert "No usage returned: 1 request (token totals are lower bounds)" in text
    assert "Estimated Cost: at least $0.0030 USD (lower bound; 1 request returned no usage)" in text


# --- 2: registered_callback in async code ------------------------------------------------------


async def test_two_trackers_in_turn_in_one_event_loop(fake_provider: FakeProvider) -> None:
    fake_provider.add(Reply(prompt_tokens=100, completion_tokens=1))
    fake_provider.add(Reply(prompt_tokens=200, completion_tokens=2))
    first, second = new_tracker(), new_tracker()
    for tracker in (first, second):
        async with registered_callback(tracker, default_agent="caller"):
            await litellm.acompletion(
                model="openai/gpt-4o",
                api_base=fake_provider.openai_base_url,
                api_key="test",
                messages=MESSAGES,
            )
    assert [(r.prompt_tokens, r.completion_tokens) for r in first.requests()] == [(100, 1)]
    assert [(r.prompt_tokens, r.completion_tokens) for r in second.requests()] == [(200, 2)]


async def test_sync_with_block_in_async_code_never_moves_a_call(
    fake_provider: FakeProvider,
) -> None:
    fake_provider.add(Reply(prompt_tokens=100, completion_tokens=1))
    fake_provider.add(Reply(prompt_tokens=200, completion_tokens=2))
    first, second = new_tracker(), new_tracker()
    with registered_callback(first, default_agent="caller") as callback:
        await litellm.acompletion(
            model="openai/gpt-4o",
            api_base=fake_provider.openai_base_url,
            api_key="test",
            messages=MESSAGES,
        )
    async with registered_callback(second, default_agent="caller"):
        await litellm.acompletion(
            model="openai/gpt-4o",
            api_base=fake_provider.openai_base_url,
            api_key="test",
            messages=MESSAGES,
        )
    assert await callback.await_recorded()
    assert [(r.prompt_tokens, r.completion_tokens) for r in first.requests()] == [(100, 1)]
    assert [(r.prompt_tokens, r.completion_tokens) for r in second.requests()] == [(200, 2)]


# --- 3: one response seen by two integrations -------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
async def test_litellm_model_with_hooks_and_callback_records_once(
    fake_provider: FakeProvider, stream: bool
) -> None:
    fake_provider.add(Reply(prompt_tokens=300, completion_tokens=7))
    tracker = new_tracker()
    agent = Agent(
        name="writer", model=make_model("litellm", fake_provider), model_settings=SETTINGS
    )
    async with registered_callback(tracker):
        if stream:
            run = Runner.run_streamed(agent, "hello", hooks=tracker.agents_hooks())
            async for _ in run.stream_events():
                pass
        else:
            await Runner.run(agent, "hello", hooks=tracker.agents_hooks())
    report = tracker.finish()
    assert [(a.agent_name, a.prompt_tokens, a.requests) for a in report.agent_usage] == [
        ("writer", 300, 1)
    ]
    assert totals(report) == (300, 7, 307, 1, 0)


async def test_record_usage_of_a_recorded_response_counts_it_once(
    fake_provider: FakeProvider,
) -> None:
    fake_provider.add(Reply(prompt_tokens=300, completion_tokens=7))
    tracker = new_tracker()
    agent = Agent(name="writer", model=make_model("responses", fake_provider))
    agent.model_settings = SETTINGS
    result = await Runner.run(agent, "hello", hooks=tracker.agents_hooks())
    tracker.record_usage(result, operation="writer")
    assert totals(tracker.finish()) == (300, 7, 307, 1, 0)


# --- 4: agents used as tools ------------------------------------------------------------------


class CountingHooks(AgentHooks[Any]):
    """An agent's own hooks, which recording must keep calling."""

    def __init__(self) -> None:
        self.responses = 0

    async def on_llm_end(self, context: Any, agent: Any, response: Any) -> None:
        self.responses += 1


@pytest.mark.parametrize("kind", ["responses", "chat", "litellm"])
async def test_agents_used_as_tools_are_attributed_to_their_names(
    fake_provider: FakeProvider, kind: str
) -> None:
    fake_provider.add(
        Reply(text="", tool_call=("research", '{"input": "find"}'), prompt_tokens=1500),
        match="orchestrate",
    )
    fake_provider.add(Reply(text="found it", prompt_tokens=300), match="find")
    fake_provider.add(Reply(text="done", prompt_tokens=3000), match="found it")
    tracker = new_tracker()
    model = make_model(kind, fake_provider)
    own_hooks = CountingHooks()
    researcher = Agent(name="researcher", model=model, model_settings=SETTINGS, hooks=own_hooks)
    lead = Agent(
        name="lead",
        model=model,
        model_settings=SETTINGS,
        tools=[researcher.as_tool(tool_name="research", tool_description="Research.")],
    )
    result = await Runner.run(lead, "orchestrate", hooks=tracker.agents_hooks())
    assert result.final_output == "done"
    assert result.context_wrapper.usage.input_tokens == 4800
    report = tracker.finish()
    by_name = {a.agent_name: (a.prompt_tokens, a.requests) for a in report.agent_usage}
    assert by_name == {"lead": (4500, 2), "researcher": (300, 1)}
    assert UNATTRIBUTED_AGENT not in by_name
    assert totals(report)[:2] == (4800, 15)
    # The agent's own hooks were called and are back in place.
    assert own_hooks.responses == 1
    assert researcher.hooks is own_hooks


async def test_usage_the_hooks_never_saw_is_reconciled_as_unattributed(
    fake_provider: FakeProvider,
) -> None:
    fake_provider.default = Reply(prompt_tokens=400, completion_tokens=4)
    tracker = new_tracker()
    agent = Agent(name="solo", model=make_model("chat", fake_provider), model_settings=SETTINGS)
    result = await Runner.run(agent, "hello", hooks=tracker.agents_hooks())
    # Usage the SDK counted that no hook saw (a model call made outside the hooks' view).
    result.context_wrapper.usage.input_tokens += 250
    result.context_wrapper.usage.output_tokens += 3
    result.context_wrapper.usage.requests += 1
    tracker.reconcile(result)
    report = tracker.finish()
    unattributed = next(a for a in report.agent_usage if a.agent_name == UNATTRIBUTED_AGENT)
    assert (unattributed.prompt_tokens, unattributed.completion_tokens) == (250, 3)
    assert unattributed.success is True
    assert (report.successful_agents, report.failed_agents, report.status) == (1, 0, "success")
    assert totals(report)[:3] == (650, 7, 657)


# --- 5: model aliases and the response's model ------------------------------------------------


@pytest.mark.parametrize(
    "alias", ["claude-sonnet-4-0", "claude-opus-4-0", "claude-3-7-sonnet-latest"]
)
def test_an_anthropic_alias_is_priced(fake_provider: FakeProvider, alias: str) -> None:
    tracker = new_tracker()
    client = tracker.wrap_anthropic(
        Anthropic(base_url=fake_provider.base_url, api_key="test", max_retries=0)
    )
    client.messages.create(model=alias, max_tokens=10, messages=MESSAGES)
    (usage,) = tracker.requests()
    assert usage.cost_usd is not None
    assert (usage.request_model, usage.response_model) == (alias, alias)


def test_the_response_model_prices_an_unknown_request_name(fake_provider: FakeProvider) -> None:
    fake_provider.add(
        Reply(prompt_tokens=100_000, completion_tokens=0, response_model="claude-sonnet-4-20250514")
    )
    tracker = new_tracker()
    client = tracker.wrap_anthropic(
        Anthropic(base_url=fake_provider.base_url, api_key="test", max_retries=0)
    )
    client.messages.create(model="my-gateway-sonnet", max_tokens=10, messages=MESSAGES)
    (usage,) = tracker.requests()
    assert (usage.request_model, usage.response_model, usage.model) == (
        "my-gateway-sonnet",
        "claude-sonnet-4-20250514",
        "claude-sonnet-4-20250514",
    )
    assert usage.cost_usd == pytest.approx(0.3, rel=1e-9)  # $3 per 1M input tokens


# --- 6: the Anthropic SDK's raw and beta APIs -------------------------------------------------


def test_anthropic_raw_and_beta_calls_are_recorded(fake_provider: FakeProvider) -> None:
    fake_provider.default = Reply(prompt_tokens=20, completion_tokens=3)
    tracker = new_tracker()
    client = tracker.wrap_anthropic(
        Anthropic(base_url=fake_provider.base_url, api_key="test", max_retries=0),
        agent_name="claude",
    )
    model = "claude-haiku-4-5"
    raw = client.messages.with_raw_response.create(model=model, max_tokens=9, messages=MESSAGES)
    assert raw.parse().usage.input_tokens == 20
    client.beta.messages.create(model=model, max_tokens=9, messages=MESSAGES)
    with client.beta.messages.stream(model=model, max_tokens=9, messages=MESSAGES) as stream:
        stream.until_done()
    with client.beta.messages.create(
        model=model, max_tokens=9, messages=MESSAGES, stream=True
    ) as events:
        for _ in events:
            pass
    recorded = tracker.requests()
    assert [(r.agent_name, r.prompt_tokens, r.completion_tokens) for r in recorded] == [
        ("claude", 20, 3)
    ] * 4
    assert len({r.response_id for r in recorded}) == 4


async def test_async_anthropic_raw_and_beta_calls_are_recorded(
    fake_provider: FakeProvider,
) -> None:
    fake_provider.default = Reply(prompt_tokens=20, completion_tokens=3)
    tracker = new_tracker()
    client = tracker.wrap_anthropic(
        AsyncAnthropic(base_url=fake_provider.base_url, api_key="test", max_retries=0)
    )
    model = "claude-haiku-4-5"
    raw = await client.messages.with_raw_response.create(
        model=model, max_tokens=9, messages=MESSAGES
    )
    assert (await raw.parse()).usage.output_tokens == 3
    await client.beta.messages.create(model=model, max_tokens=9, messages=MESSAGES)
    async with client.beta.messages.stream(model=model, max_tokens=9, messages=MESSAGES) as s:
        await s.until_done()
    assert [(r.prompt_tokens, r.completion_tokens) for r in tracker.requests()] == [(20, 3)] * 3


# --- 8: cached tokens without a cache price ---------------------------------------------------


def test_cached_tokens_without_a_cache_rate_are_unpriced_coverage() -> None:
    tracker = new_tracker()
    tracker.record_usage(
        {
            "prompt_tokens": 10_000,
            "completion_tokens": 0,
            "prompt_tokens_details": {"cached_tokens": 4_000},
        },
        operation="grok",
        model="xai/grok-4",
    )
    report = tracker.finish()
    # LiteLLM's cost: 6,000 uncached at $3/1M, cached tokens at $0.
    assert report.total_cost_usd == pytest.approx(0.018, rel=1e-9)
    assert report.priced_coverage == pytest.approx(0.6, rel=1e-9)
    assert (
        "cached tokens of xai/grok-4 have no cache price in the table: cost is a lower bound"
        in rendered(report)
    )


def litellm_stream_kwargs(fake: FakeProvider, include_usage: bool) -> dict[str, Any]:
    options = {"stream_options": {"include_usage": True}} if include_usage else {}
    return {
        "model": "openai/gpt-4o",
        "api_base": fake.openai_base_url,
        "api_key": "test",
        "messages": MESSAGES,
        "stream": True,
        **options,
    }


# The fake sends a usage chunk only when the request asks for one and the reply has usage; every
# other stream ends without usage, which LiteLLM would fill with its tokenizer's estimate.
STREAM_CASES = [
    pytest.param(False, True, None, id="no-stream-options"),
    pytest.param(True, False, None, id="include-usage-ignored"),
    pytest.param(True, True, (1200, 340, 1540), id="include-usage-sent"),
]


@pytest.mark.parametrize(("include_usage", "sent", "expected"), STREAM_CASES)
def test_litellm_stream_without_a_usage_chunk_is_unknown(
    fake_provider: FakeProvider, include_usage: bool, sent: bool, expected: Any
) -> None:
    fake_provider.default = Reply(
        text="hello there", prompt_tokens=1200, completion_tokens=340, usage=sent
    )
    tracker = new_tracker()
    with registered_callback(tracker, default_agent="solo"):
        stream = litellm.completion(**litellm_stream_kwargs(fake_provider, include_usage))
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "hello there"
    assert ("stream_options" in fake_provider.requests[0].body) is include_usage
    (usage,) = tracker.requests()
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (
        expected or (None, None, None)
    )
    requests_without_usage = 0 if expected else 1
    assert totals(tracker.finish())[3:] == (1, requests_without_usage)


@pytest.mark.parametrize(("include_usage", "sent", "expected"), STREAM_CASES)
async def test_litellm_async_stream_without_a_usage_chunk_is_unknown(
    fake_provider: FakeProvider, include_usage: bool, sent: bool, expected: Any
) -> None:
    fake_provider.default = Reply(
        text="hello there", prompt_tokens=1200, completion_tokens=340, usage=sent
    )
    tracker = new_tracker()
    async with registered_callback(tracker, default_agent="solo"):
        stream = await litellm.acompletion(**litellm_stream_kwargs(fake_provider, include_usage))
        pieces = [c.choices[0].delta.content or "" async for c in stream if c.choices]
    assert "".join(pieces) == "hello there"
    (usage,) = tracker.requests()
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (
        expected or (None, None, None)
    )
    report = tracker.finish()
    assert report.unknown_usage_requests == (0 if expected else 1)
    if not expected:
        assert "Total Prompt Tokens: unknown" in rendered(report)


@pytest.mark.parametrize("include_usage", [True, None])
async def test_litellm_model_stream_with_callback_without_usage_is_unknown(
    fake_provider: FakeProvider, include_usage: bool | None
) -> None:
    fake_provider.default = Reply(usage=False)
    tracker = new_tracker()
    agent = Agent(
        name="plain",
        model=make_model("litellm", fake_provider),
        model_settings=ModelSettings(include_usage=include_usage),
    )
    async with registered_callback(tracker):
        run = Runner.run_streamed(agent, "hello", hooks=tracker.agents_hooks())
        async for _ in run.stream_events():
            pass
    report = tracker.finish()
    assert totals(report) == (None, None, None, 1, 1)
    assert [a.agent_name for a in report.agent_usage] == ["plain"]
