"""Random mixes of integrations, streaming, tool calls, handoffs, failures and missing usage: the
report's known totals are what the fake served with usage, and its unknown-usage count what it
served without (a bounded, seeded property test)."""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field
from typing import Any

import litellm
import pytest
from agents import Agent, ModelSettings, Runner, function_tool, set_tracing_disabled
from anthropic import AsyncAnthropic

from tests.support.fake_provider import FakeProvider, Reply
from tests.token_tracking.integrations.test_accounting_holes import make_model
from token_tracking import TokenTracker
from token_tracking.integrations.litellm import registered_callback
from token_tracking.reports.build import UNATTRIBUTED_AGENT

set_tracing_disabled(True)

KINDS = ("chat", "responses", "litellm", "litellm-call", "anthropic")
SEEDS = range(6)
OPERATIONS = 4


@function_tool
def lookup(key: str) -> str:
    """Look a key up."""
    return f"value of {key}"


@dataclass
class Served:
    """What the fake was scripted to answer successfully."""

    prompt: int = 0
    completion: int = 0
    unknown: int = 0
    answers: list[Reply] = field(default_factory=list)

    def add(self, reply: Reply) -> Reply:
        self.answers.append(reply)
        if reply.status == 200:
            if reply.usage:
                self.prompt += reply.prompt_tokens
                self.completion += reply.completion_tokens
            else:
                self.unknown += 1
        return reply


async def run_operation(
    rng: random.Random, index: int, fake: FakeProvider, tracker: TokenTracker, served: Served
) -> None:
    kind = rng.choice(KINDS)
    marker = f"op{index}"
    # Anthropic always sends usage.
    stream = kind != "litellm-call" and rng.random() < 0.5
    usage = kind == "anthropic" or rng.random() < 0.7
    tool = kind in ("chat", "responses", "litellm") and rng.random() < 0.5
    handoff = kind in ("chat", "responses", "litellm") and not tool and rng.random() < 0.4
    fail = kind in ("chat", "responses", "litellm") and rng.random() < 0.3
    prompt = 100 * (index + 1) + rng.randrange(50)
    if tool:
        call = Reply(text="", tool_call=("lookup", '{"key": "k"}'), prompt_tokens=prompt)
        fake.add(served.add(dataclasses.replace(call, usage=usage)), match=marker)
    if handoff:
        transfer = Reply(
            text="", tool_call=(f"transfer_to_closer{index}", "{}"), prompt_tokens=prompt
        )
        fake.add(served.add(dataclasses.replace(transfer, usage=usage)), match=marker)
    if fail:
        fake.add(served.add(Reply(status=500)), match=marker)
    else:
        fake.add(
            served.add(
                Reply(text="done", prompt_tokens=prompt + 7, completion_tokens=3, usage=usage)
            ),
            match=marker,
        )
    if kind == "litellm-call":
        await litellm.acompletion(
            model="openai/gpt-4o",
            api_base=fake.openai_base_url,
            api_key="test",
            messages=[{"role": "user", "content": marker}],
            metadata={"agent_name": marker},
        )
        return
    if kind == "anthropic":
        client = tracker.wrap_anthropic(
            AsyncAnthropic(base_url=fake.base_url, api_key="test", max_retries=0), agent_name=marker
        )
        messages: Any = [{"role": "user", "content": marker}]
        if stream:
            async with client.messages.stream(
                model="claude-haiku-4-5", max_tokens=9, messages=messages
            ) as events:
                await events.until_done()
        else:
            await client.messages.create(model="claude-haiku-4-5", max_tokens=9, messages=messages)
        return
    settings = ModelSettings(
        preserve_raw_usage=True,
        include_usage=True,
        extra_args={"max_retries": 0} if kind == "litellm" else None,
    )
    model = make_model(kind, fake)
    closer = Agent(name=f"closer{index}", model=model, model_settings=settings)
    agent = Agent(
        name=marker,
        model=model,
        model_settings=settings,
        tools=[lookup] if tool else [],
        handoffs=[closer] if handoff else [],
    )
    hooks = tracker.agents_hooks()
    try:
        with tracker.agent_run(marker):
            if stream:
                run = Runner.run_streamed(agent, f"task {marker}", hooks=hooks)
                async for _ in run.stream_events():
                    pass
            else:
                await Runner.run(agent, f"task {marker}", hooks=hooks)
    except Exception:
        assert fail


@pytest.mark.parametrize("seed", SEEDS)
async def test_known_totals_equal_what_was_served_with_usage(
    fake_provider: FakeProvider, seed: int
) -> None:
    rng = random.Random(seed)
    tracker = TokenTracker(command="mix", persist=False, interval_minutes=600)
    served = Served()
    async with registered_callback(tracker):
        for index in range(OPERATIONS):
            await run_operation(rng, index, fake_provider, tracker, served)
    assert fake_provider.pending == 0
    report = tracker.finish()
    assert UNATTRIBUTED_AGENT not in {a.agent_name for a in report.agent_usage}
    assert report.unknown_usage_requests == served.unknown
    expected_prompt = served.prompt if served.prompt or not served.unknown else None
    expected_completion = served.completion if served.completion or not served.unknown else None
    assert (report.total_prompt_tokens, report.total_completion_tokens) == (
        expected_prompt,
        expected_completion,
    )
