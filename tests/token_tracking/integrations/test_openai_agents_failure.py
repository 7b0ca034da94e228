"""An Agents SDK run that raises, bracketed by ``tracker.agent_run``: failed, with its error, and
keeping the tokens of the request that completed (real SDK against the loopback fake)."""

from __future__ import annotations

import pytest
from agents import (
    Agent,
    ModelSettings,
    OpenAIChatCompletionsModel,
    Runner,
    function_tool,
    set_tracing_disabled,
)
from openai import AsyncOpenAI, InternalServerError

from tests.support.fake_provider import FakeProvider, Reply
from token_tracking import TokenTracker

set_tracing_disabled(True)


@function_tool
def get_weather(city: str) -> str:
    """Return the weather in a city."""
    return f"sunny in {city}"


async def test_agent_run_marks_the_raising_run_failed_and_keeps_its_tokens(
    fake_provider: FakeProvider,
) -> None:
    fake_provider.add(
        Reply(text="", tool_call=("get_weather", '{"city": "Oslo"}'), prompt_tokens=300)
    )
    fake_provider.default = Reply(status=500)
    tracker = TokenTracker(command="test", persist=False, interval_minutes=600)
    client = AsyncOpenAI(base_url=fake_provider.openai_base_url, api_key="test", max_retries=0)
    agent = Agent(
        name="fragile",
        model=OpenAIChatCompletionsModel(model="gpt-4o-mini", openai_client=client),
        model_settings=ModelSettings(preserve_raw_usage=True),
        tools=[get_weather],
    )
    with pytest.raises(InternalServerError) as raised:
        with tracker.agent_run("fragile", model="gpt-4o-mini"):
            await Runner.run(agent, "weather?", hooks=tracker.agents_hooks())

    assert len(fake_provider.requests) == 2
    (fragile,) = tracker.finish().agent_usage
    assert (fragile.success, fragile.error) == (False, f"InternalServerError: {raised.value}")
    assert (fragile.prompt_tokens, fragile.completion_tokens, fragile.requests) == (300, 5, 1)
    assert fragile.cost_usd == pytest.approx(300 * 0.15e-6 + 5 * 0.6e-6, rel=1e-9)
