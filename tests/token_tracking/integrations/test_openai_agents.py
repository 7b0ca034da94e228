"""Agents SDK hooks: exact per-agent usage from the real SDK against the loopback fake provider."""

from __future__ import annotations

import asyncio
from typing import Any

import litellm
import pytest
from agents import (
    Agent,
    ModelSettings,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
    Runner,
    function_tool,
    set_tracing_disabled,
)
from agents.extensions.models.litellm_model import LitellmModel
from agents.models.interface import Model
from litellm.exceptions import InternalServerError as LitellmServerError
from openai import AsyncOpenAI, InternalServerError

from tests.support.fake_provider import FakeProvider, Reply
from token_tracking import AgentUsage, TokenTracker
from token_tracking.integrations.litellm import make_callback
from token_tracking.integrations.openai_agents import make_run_hooks
from token_tracking.reports.build import UNATTRIBUTED_AGENT

set_tracing_disabled(True)

MODEL_KINDS = ["responses", "chat", "litellm"]

# Raw provider usage on the OpenAI models; usage in streams on Chat Completions and LiteLLM.
SETTINGS = ModelSettings(preserve_raw_usage=True, include_usage=True)


def make_model(kind: str, fake: FakeProvider) -> Model:
    if kind == "litellm":
        return LitellmModel(model="openai/gpt-4o", base_url=fake.openai_base_url, api_key="test")
    client = AsyncOpenAI(base_url=fake.openai_base_url, api_key="test", max_retries=0)
    if kind == "responses":
        return OpenAIResponsesModel(model="gpt-4o", openai_client=client)
    return OpenAIChatCompletionsModel(model="gpt-4o", openai_client=client)


def new_tracker() -> TokenTracker:
    return TokenTracker(command="test", persist=False, interval_minutes=600)


def figures(agent: AgentUsage) -> dict[str, Any]:
    return {
        "prompt": agent.prompt_tokens,
        "completion": agent.completion_tokens,
        "total": agent.total_tokens,
        "cached": agent.cached_tokens,
        "cache_write": agent.cache_write_tokens,
        "reasoning": agent.reasoning_tokens,
        "requests": agent.requests,
    }


def by_name(tracker: TokenTracker) -> dict[str, AgentUsage]:
    agents = {agent.agent_name: agent for agent in tracker.finish().agent_usage}
    # Reconciliation with the SDK's run-wide usage is a safety net: never used on these paths.
    assert UNATTRIBUTED_AGENT not in agents
    return agents


# The SDK's LiteLLM model has no raw usage: counts the provider left out read 0 there.
UNSENT_WRITE = {"responses": None, "chat": None, "litellm": 0}


@function_tool
def get_weather(city: str) -> str:
    """Return the weather in a city."""
    return f"sunny in {city}"


@pytest.mark.parametrize("kind", MODEL_KINDS)
async def test_one_request_exact_usage(fake_provider: FakeProvider, kind: str) -> None:
    fake_provider.add(
        Reply(prompt_tokens=1200, completion_tokens=340, cached_tokens=1024, reasoning_tokens=128)
    )
    tracker = new_tracker()
    agent = Agent(name="brief", instructions="Be brief.", model=make_model(kind, fake_provider))
    agent.model_settings = SETTINGS
    result = await Runner.run(agent, "hello", hooks=make_run_hooks(tracker))
    assert result.final_output == "ok"
    report = by_name(tracker)
    assert figures(report["brief"]) == {
        "prompt": 1200,
        "completion": 340,
        "total": 1540,
        "cached": 1024,
        "cache_write": UNSENT_WRITE[kind],
        "reasoning": 128,
        "requests": 1,
    }
    # The hooks started and ended an agent nobody else had started.
    assert report["brief"].success is True
    assert report["brief"].model == ("openai/gpt-4o" if kind == "litellm" else "gpt-4o")


@pytest.mark.parametrize("kind", MODEL_KINDS)
async def test_openai_cache_writes_are_counted(fake_provider: FakeProvider, kind: str) -> None:
    fake_provider.add(Reply(prompt_tokens=2000, cached_tokens=1000, cache_write_tokens=900))
    tracker = new_tracker()
    agent = Agent(name="cacher", model=make_model(kind, fake_provider), model_settings=SETTINGS)
    await Runner.run(agent, "hello", hooks=make_run_hooks(tracker))
    assert figures(by_name(tracker)["cacher"]) == {
        "prompt": 2000,
        "completion": 5,
        "total": 2005,
        "cached": 1000,
        "cache_write": 900,
        "reasoning": None if kind != "litellm" else 0,
        "requests": 1,
    }


@pytest.mark.parametrize("kind", ["responses", "chat"])
async def test_raw_usage_keeps_unsent_counts_unknown(
    fake_provider: FakeProvider, kind: str
) -> None:
    tracker = new_tracker()
    agent = Agent(name="plain", model=make_model(kind, fake_provider), model_settings=SETTINGS)
    await Runner.run(agent, "hello", hooks=tracker.agents_hooks())
    assert figures(by_name(tracker)["plain"]) == {
        "prompt": 10,
        "completion": 5,
        "total": 15,
        "cached": None,
        "cache_write": None,
        "reasoning": None,
        "requests": 1,
    }


async def test_without_raw_usage_the_sdk_zeroes_are_recorded(fake_provider: FakeProvider) -> None:
    # The documented gap: without preserve_raw_usage the SDK reports an unsent count as 0.
    tracker = new_tracker()
    agent = Agent(name="plain", model=make_model("chat", fake_provider))
    await Runner.run(agent, "hello", hooks=tracker.agents_hooks())
    assert figures(by_name(tracker)["plain"])["cached"] == 0


@pytest.mark.parametrize("kind", MODEL_KINDS)
async def test_tool_round_trip_sums_both_requests(fake_provider: FakeProvider, kind: str) -> None:
    fake_provider.add(
        Reply(
            text="",
            tool_call=("get_weather", '{"city": "Oslo"}'),
            prompt_tokens=500,
            completion_tokens=40,
            cached_tokens=0,
            reasoning_tokens=16,
        )
    )
    fake_provider.add(
        Reply(
            text="It is sunny.",
            prompt_tokens=560,
            completion_tokens=12,
            cached_tokens=512,
            reasoning_tokens=0,
        )
    )
    tracker = new_tracker()
    agent = Agent(
        name="weather",
        instructions="Use the tool.",
        model=make_model(kind, fake_provider),
        model_settings=SETTINGS,
        tools=[get_weather],
    )
    result = await Runner.run(agent, "weather in Oslo?", hooks=make_run_hooks(tracker))
    assert result.final_output == "It is sunny."
    assert "sunny in Oslo" in fake_provider.requests[1].raw
    assert figures(by_name(tracker)["weather"]) == {
        "prompt": 1060,
        "completion": 52,
        "total": 1112,
        "cached": 512,
        "cache_write": UNSENT_WRITE[kind],
        "reasoning": 16,
        "requests": 2,
    }


@pytest.mark.parametrize("kind", MODEL_KINDS)
async def test_four_concurrent_agents_keep_their_own_numbers(
    fake_provider: FakeProvider, kind: str
) -> None:
    names = ["alpha", "bravo", "charlie", "delta"]
    for index, name in enumerate(names, start=1):
        fake_provider.add(
            Reply(
                text=f"done {name}",
                prompt_tokens=1000 * index,
                completion_tokens=10 * index,
                cached_tokens=100 * index,
                reasoning_tokens=index,
                delay=0.6,
            ),
            match=f"task for {name}",
        )
    tracker = new_tracker()
    hooks = make_run_hooks(tracker)
    model = make_model(kind, fake_provider)
    agents = [Agent(name=name, model=model, model_settings=SETTINGS) for name in names]
    results = await asyncio.gather(
        *(Runner.run(agent, f"task for {agent.name}", hooks=hooks) for agent in agents)
    )
    assert [r.final_output for r in results] == [f"done {name}" for name in names]
    assert fake_provider.max_in_flight == 4
    report = by_name(tracker)
    for index, name in enumerate(names, start=1):
        assert figures(report[name]) == {
            "prompt": 1000 * index,
            "completion": 10 * index,
            "total": 1010 * index,
            "cached": 100 * index,
            "cache_write": UNSENT_WRITE[kind],
            "reasoning": index,
            "requests": 1,
        }


@pytest.mark.parametrize("kind", MODEL_KINDS)
async def test_failed_second_request_keeps_first_tokens(
    fake_provider: FakeProvider, kind: str
) -> None:
    fake_provider.add(
        Reply(text="", tool_call=("get_weather", '{"city": "Oslo"}'), prompt_tokens=300)
    )
    fake_provider.default = Reply(status=500)
    tracker = new_tracker()
    # LiteLLM's OpenAI client retries 500s twice unless told not to (DESIGN §9).
    no_retries = ModelSettings(extra_args={"max_retries": 0}) if kind == "litellm" else None
    agent = Agent(
        name="fragile",
        model=make_model(kind, fake_provider),
        model_settings=SETTINGS.resolve(no_retries),
        tools=[get_weather],
    )
    expected_error = LitellmServerError if kind == "litellm" else InternalServerError
    with pytest.raises(expected_error) as raised:
        await Runner.run(agent, "weather?", hooks=make_run_hooks(tracker))
    # The caller owns failure: the hooks never see a run that raises.
    tracker.end_agent("fragile", success=False, error=str(raised.value))
    assert len(fake_provider.requests) == 2  # no retry hid the failure
    report = by_name(tracker)
    assert report["fragile"].success is False
    assert report["fragile"].error == str(raised.value)
    assert figures(report["fragile"]) == {
        "prompt": 300,
        "completion": 5,
        "total": 305,
        "cached": 0 if kind == "litellm" else None,
        "cache_write": UNSENT_WRITE[kind],
        "reasoning": 0 if kind == "litellm" else None,
        "requests": 1,
    }


@pytest.mark.parametrize("kind", MODEL_KINDS)
async def test_streamed_runs_are_counted(fake_provider: FakeProvider, kind: str) -> None:
    fake_provider.add(
        Reply(
            text="",
            tool_call=("get_weather", '{"city": "Oslo"}'),
            prompt_tokens=700,
            completion_tokens=30,
            cached_tokens=600,
            reasoning_tokens=20,
        )
    )
    fake_provider.add(
        Reply(
            text="Sunny.",
            prompt_tokens=750,
            completion_tokens=8,
            cached_tokens=700,
            reasoning_tokens=0,
        )
    )
    tracker = new_tracker()
    agent = Agent(
        name="streamer",
        model=make_model(kind, fake_provider),
        model_settings=SETTINGS,
        tools=[get_weather],
    )
    run = Runner.run_streamed(agent, "weather?", hooks=make_run_hooks(tracker))
    async for _ in run.stream_events():
        pass
    assert run.final_output == "Sunny."
    assert all(r.body.get("stream") is True for r in fake_provider.requests)
    assert figures(by_name(tracker)["streamer"]) == {
        "prompt": 1450,
        "completion": 38,
        "total": 1488,
        "cached": 1300,
        "cache_write": UNSENT_WRITE[kind],
        "reasoning": 20,
        "requests": 2,
    }


async def test_caller_started_agent_is_left_to_the_caller(fake_provider: FakeProvider) -> None:
    # memory-banker's pipeline: it starts the agent, validates the output, then ends it.
    fake_provider.add(Reply(text="# Title", prompt_tokens=40, completion_tokens=4))
    tracker = new_tracker()
    tracker.start_agent("writer", "gpt-4o")
    agent = Agent(name="writer", model=make_model("chat", fake_provider), model_settings=SETTINGS)
    await Runner.run(agent, "write", hooks=tracker.agents_hooks())
    (running,) = tracker.agent_snapshot()
    assert (running.end_time, running.prompt_tokens, running.requests) == (None, 40, 1)
    tracker.end_agent("writer", success=False, error="output lacks sections: Goals")
    (writer,) = tracker.finish().agent_usage
    assert (writer.success, writer.error, writer.total_tokens) == (
        False,
        "output lacks sections: Goals",
        44,
    )


async def test_manage_agents_false_never_starts_or_ends(fake_provider: FakeProvider) -> None:
    tracker = new_tracker()
    agent = Agent(name="quiet", model=make_model("chat", fake_provider), model_settings=SETTINGS)
    await Runner.run(agent, "hi", hooks=make_run_hooks(tracker, manage_agents=False))
    (quiet,) = tracker.agent_snapshot()
    assert quiet.end_time is None
    assert quiet.total_tokens == 15


async def test_handoff_ends_the_first_agent(fake_provider: FakeProvider) -> None:
    fake_provider.add(
        Reply(
            text="", tool_call=("transfer_to_closer", "{}"), prompt_tokens=100, completion_tokens=9
        )
    )
    fake_provider.add(Reply(text="closed", prompt_tokens=200, completion_tokens=3))
    tracker = new_tracker()
    model = make_model("chat", fake_provider)
    closer = Agent(name="closer", model=model, model_settings=SETTINGS)
    opener = Agent(name="opener", model=model, model_settings=SETTINGS, handoffs=[closer])
    result = await Runner.run(opener, "start", hooks=make_run_hooks(tracker))
    assert result.final_output == "closed"
    report = by_name(tracker)
    assert [(a, report[a].success, report[a].total_tokens) for a in ("opener", "closer")] == [
        ("opener", True, 109),
        ("closer", True, 203),
    ]


async def test_litellm_callback_records_cache_writes_the_sdk_drops(
    fake_provider: FakeProvider,
) -> None:
    # DESIGN §3: on the LiteLLM model, usage comes from LiteLLM's own response via the
    # callback, matched to the agent by metadata; the hooks then skip those responses.
    fake_provider.add(
        Reply(
            prompt_tokens=21, completion_tokens=77, cache_read_tokens=1800, cache_write_tokens=250
        )
    )
    tracker = new_tracker()
    litellm.callbacks = [make_callback(tracker)]
    agent = Agent(
        name="claude-writer",
        model=LitellmModel(
            model="anthropic/claude-haiku-4-5", base_url=fake_provider.base_url, api_key="test"
        ),
        model_settings=ModelSettings(metadata={"agent_name": "claude-writer"}, max_tokens=200),
    )
    await Runner.run(agent, "hi", hooks=make_run_hooks(tracker))
    assert fake_provider.requests[0].path == "/v1/messages"
    assert figures(by_name(tracker)["claude-writer"]) == {
        "prompt": 2071,
        "completion": 77,
        "total": 2148,
        "cached": 1800,
        "cache_write": 250,
        "reasoning": 0,
        "requests": 1,
    }


async def test_litellm_model_without_callback_falls_back_to_the_sdk_usage(
    fake_provider: FakeProvider,
) -> None:
    fake_provider.add(
        Reply(
            prompt_tokens=21, completion_tokens=77, cache_read_tokens=1800, cache_write_tokens=250
        )
    )
    tracker = new_tracker()
    agent = Agent(
        name="claude-writer",
        model=LitellmModel(
            model="anthropic/claude-haiku-4-5", base_url=fake_provider.base_url, api_key="test"
        ),
        model_settings=ModelSettings(metadata={"agent_name": "claude-writer"}, max_tokens=200),
    )
    await Runner.run(agent, "hi", hooks=make_run_hooks(tracker))
    # Totals are exact; the SDK's LiteLLM model loses the cache-write split (reads 0).
    assert figures(by_name(tracker)["claude-writer"]) == {
        "prompt": 2071,
        "completion": 77,
        "total": 2148,
        "cached": 1800,
        "cache_write": 0,
        "reasoning": 0,
        "requests": 1,
    }
