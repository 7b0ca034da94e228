"""LiteLLM callback: completion/acompletion, plain and streaming, against the loopback fake."""

from __future__ import annotations

import logging
from typing import Any

import litellm
import pytest
from litellm.exceptions import InternalServerError as LitellmServerError

from tests.support.fake_provider import FakeProvider, Reply
from tests.support.records import counts
from token_tracking import TokenTracker
from token_tracking.integrations.litellm import find_callback, make_callback, registered_callback

OPENAI_REPLY = Reply(
    text="hello there",
    prompt_tokens=1200,
    completion_tokens=340,
    cached_tokens=1024,
    reasoning_tokens=128,
)
ANTHROPIC_REPLY = Reply(
    text="hello there",
    prompt_tokens=21,
    completion_tokens=77,
    cache_read_tokens=1800,
    cache_write_tokens=250,
)
MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def tracker() -> TokenTracker:
    return TokenTracker(command="test", persist=False, interval_minutes=600)


@pytest.fixture
def callback(tracker: TokenTracker) -> Any:
    """This tracker's callback registered in LiteLLM (conftest restores LiteLLM's lists)."""
    registered = tracker.litellm_callback()
    litellm.callbacks = [registered]
    return registered


def test_completion_is_recorded_under_the_metadata_agent(
    fake_provider: FakeProvider, tracker: TokenTracker, callback: Any
) -> None:
    fake_provider.add(OPENAI_REPLY)
    response = litellm.completion(
        model="openai/gpt-4o",
        api_base=fake_provider.openai_base_url,
        api_key="test",
        messages=MESSAGES,
        metadata={"agent_name": "summarizer"},
    )
    assert response.choices[0].message.content == "hello there"
    assert callback.wait_recorded()
    (usage,) = tracker.requests()
    assert counts(usage) == ("summarizer", "openai/gpt-4o", 1200, 340, 1024, None, 128, 1)
    assert usage.duration_seconds is not None


def test_stream_with_usage_is_recorded_once(
    fake_provider: FakeProvider, tracker: TokenTracker, callback: Any
) -> None:
    fake_provider.add(OPENAI_REPLY)
    stream = litellm.completion(
        model="openai/gpt-4o",
        api_base=fake_provider.openai_base_url,
        api_key="test",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
        metadata={"agent_name": "streamer"},
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == "hello there"
    assert callback.wait_recorded()
    (usage,) = tracker.requests()
    assert counts(usage) == ("streamer", "openai/gpt-4o", 1200, 340, 1024, None, 128, 1)


async def test_acompletion_anthropic_cache_read_and_write(
    fake_provider: FakeProvider, tracker: TokenTracker, callback: Any
) -> None:
    fake_provider.add(ANTHROPIC_REPLY)
    await litellm.acompletion(
        model="anthropic/claude-haiku-4-5",
        api_base=fake_provider.base_url,
        api_key="test",
        messages=MESSAGES,
        metadata={"agent_name": "claude"},
    )
    assert await callback.await_recorded()
    (usage,) = tracker.requests()
    # prompt = 21 uncached + 1800 cache read + 250 cache write (DESIGN §3).
    assert counts(usage) == ("claude", "anthropic/claude-haiku-4-5", 2071, 77, 1800, 250, 0, 1)


async def test_async_anthropic_stream_cache_read_and_write(
    fake_provider: FakeProvider, tracker: TokenTracker, callback: Any
) -> None:
    fake_provider.add(ANTHROPIC_REPLY)
    stream = await litellm.acompletion(
        model="anthropic/claude-haiku-4-5",
        api_base=fake_provider.base_url,
        api_key="test",
        messages=MESSAGES,
        stream=True,
        metadata={"agent_name": "claude"},
    )
    pieces = [chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices]
    assert "".join(pieces) == "hello there"
    assert await callback.await_recorded()
    (usage,) = tracker.requests()
    assert counts(usage) == ("claude", "anthropic/claude-haiku-4-5", 2071, 77, 1800, 250, 0, 1)


def test_without_metadata_the_default_agent_or_tracker_command(
    fake_provider: FakeProvider, tracker: TokenTracker, callback: Any
) -> None:
    named: Any = make_callback(tracker, default_agent="batch")
    litellm.callbacks = [callback, named]
    litellm.completion(
        model="openai/gpt-4o",
        api_base=fake_provider.openai_base_url,
        api_key="test",
        messages=MESSAGES,
    )
    assert callback.wait_recorded()
    assert named.wait_recorded()
    # One response is recorded once, by the callback listed first; the tracker files a request
    # without an agent under its command name.
    assert [str(u.agent_name) for u in tracker.requests()] == ["None"]
    (report_agent,) = [a for a in tracker.finish().agent_usage if a.agent_name == "test"]
    assert report_agent.total_tokens == 15


def test_failed_call_records_nothing_and_is_not_waited_for(
    fake_provider: FakeProvider, tracker: TokenTracker, callback: Any
) -> None:
    fake_provider.add(Reply(status=500))
    with pytest.raises(LitellmServerError):
        litellm.completion(
            model="openai/gpt-4o",
            api_base=fake_provider.openai_base_url,
            api_key="test",
            messages=MESSAGES,
            max_retries=0,
            metadata={"agent_name": "fragile"},
        )
    assert callback.wait_recorded(max_wait=2.0)
    assert tracker.requests() == []
    assert len(fake_provider.requests) == 1


def test_find_callback_sees_only_this_trackers_callback(
    tracker: TokenTracker, callback: Any
) -> None:
    other = TokenTracker(command="other", persist=False, interval_minutes=600)
    assert find_callback(tracker) is callback
    assert find_callback(other) is None


def test_abandoned_calls_are_ignored_when_their_callback_arrives(
    tracker: TokenTracker, callback: Any
) -> None:
    kwargs = {"litellm_call_id": "call-1", "litellm_params": {"metadata": {"agent_name": "a"}}}
    callback.log_pre_api_call("gpt-4o", MESSAGES, kwargs)
    assert not callback.wait_recorded("a", max_wait=0.01)
    assert callback.abandon("a") == ["call-1"]
    response = litellm.ModelResponse(
        model="gpt-4o", usage={"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
    )
    callback.log_success_event(kwargs, response, None, None)
    assert tracker.requests() == []
    assert callback.wait_recorded("a", max_wait=0.01)


def test_registered_callback_waits_then_unregisters_everywhere(
    fake_provider: FakeProvider, tracker: TokenTracker, callback: Any
) -> None:
    litellm.callbacks = []
    with registered_callback(tracker, default_agent="batch") as inside:
        assert find_callback(tracker) is inside
        litellm.completion(
            model="openai/gpt-4o",
            api_base=fake_provider.openai_base_url,
            api_key="test",
            messages=MESSAGES,
        )
    # No explicit wait: leaving the block waited for LiteLLM's deferred callback.
    assert [counts(u) for u in tracker.requests()] == [
        ("batch", "openai/gpt-4o", 10, 5, None, None, None, 1)
    ]
    assert find_callback(tracker) is None
    everywhere = [
        item
        for name in ("callbacks", "success_callback", "_async_success_callback", "input_callback")
        for item in getattr(litellm, name)
    ]
    assert inside not in everywhere


def test_xai_reasoning_is_counted_inside_the_completion(
    fake_provider: FakeProvider, tracker: TokenTracker, callback: Any
) -> None:
    # xAI reports reasoning beside completion_tokens and LiteLLM passes it on as given; the
    # record counts it inside (DESIGN §3) and costs what LiteLLM charges for the raw usage.
    fake_provider.add(Reply(prompt_tokens=37, completion_tokens=530, reasoning_tokens=233))
    response = litellm.completion(
        model="xai/grok-3-mini",
        api_base=fake_provider.openai_base_url,
        api_key="test",
        messages=MESSAGES,
        metadata={"agent_name": "grok"},
    )
    assert (response.usage.completion_tokens, response.usage.prompt_tokens) == (530, 37)
    assert callback.wait_recorded()
    (usage,) = tracker.requests()
    assert counts(usage) == ("grok", "xai/grok-3-mini", 37, 763, None, None, 233, 1)
    prompt_cost, completion_cost = litellm.cost_per_token(
        model="grok-3-mini", custom_llm_provider="xai", usage_object=response.usage
    )
    assert usage.cost_usd == pytest.approx(prompt_cost + completion_cost, rel=1e-9)
    assert usage.cost_usd == pytest.approx(37 * 3e-7 + 763 * 5e-7, rel=1e-9)


def test_callbacks_of_two_trackers_both_receive_the_call(
    fake_provider: FakeProvider, tracker: TokenTracker, callback: Any
) -> None:
    # LiteLLM skips adding a CustomLogger whose class and public attributes match a listed one;
    # the callbacks' own ids keep a second tracker's callback from being left out.
    other = TokenTracker(command="other", persist=False, interval_minutes=600)
    second = other.litellm_callback()
    litellm.callbacks = [callback, second]
    litellm.completion(
        model="openai/gpt-4o",
        api_base=fake_provider.openai_base_url,
        api_key="test",
        messages=MESSAGES,
        metadata={"agent_name": "shared"},
    )
    assert callback.wait_recorded()
    assert second.wait_recorded()
    assert [counts(u) for u in tracker.requests() + other.requests()] == [
        ("shared", "openai/gpt-4o", 10, 5, None, None, None, 1),
        ("shared", "openai/gpt-4o", 10, 5, None, None, None, 1),
    ]


def test_an_earlier_callback_left_in_litellm_does_not_shadow_a_new_one(
    fake_provider: FakeProvider, tracker: TokenTracker
) -> None:
    # The leak this guards against: an earlier run unregistered its callback from
    # litellm.callbacks only, leaving LiteLLM's copies in the success lists.
    earlier_tracker = TokenTracker(command="earlier", persist=False, interval_minutes=600)
    earlier = earlier_tracker.litellm_callback()
    litellm.callbacks = [earlier]
    litellm.completion(
        model="openai/gpt-4o",
        api_base=fake_provider.openai_base_url,
        api_key="test",
        messages=MESSAGES,
    )
    assert earlier.wait_recorded()
    earlier.detach()
    assert earlier in litellm.success_callback
    current = tracker.litellm_callback()
    litellm.callbacks = [current]
    litellm.completion(
        model="openai/gpt-4o",
        api_base=fake_provider.openai_base_url,
        api_key="test",
        messages=MESSAGES,
    )
    assert current.wait_recorded()
    assert len(tracker.requests()) == 1
    assert len(earlier_tracker.requests()) == 1


def test_a_detached_callback_drops_late_events_with_a_debug_line(
    tracker: TokenTracker, callback: Any, caplog: pytest.LogCaptureFixture
) -> None:
    kwargs = {"litellm_call_id": "late-1", "litellm_params": {"metadata": {"agent_name": "a"}}}
    callback.log_pre_api_call("gpt-4o", MESSAGES, kwargs)
    callback.detach()
    response = litellm.ModelResponse(
        model="gpt-4o", usage={"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
    )
    with caplog.at_level(logging.DEBUG, logger="token_tracking.integrations.litellm"):
        callback.log_success_event(kwargs, response, None, None)
    assert tracker.requests() == []
    assert callback.wait_recorded("a", max_wait=0.01)
    assert caplog.messages == [
        "LiteLLM call late-1 arrived after its tracker's callback was closed; not recorded"
    ]


def test_registered_callback_warns_about_undelivered_calls_and_detaches(
    tracker: TokenTracker, caplog: pytest.LogCaptureFixture
) -> None:
    kwargs = {"litellm_call_id": "never-1", "litellm_params": {"metadata": {}}}
    with caplog.at_level(logging.WARNING, logger="token_tracking.integrations.litellm"):
        with registered_callback(tracker, max_wait=0.01) as inside:
            inside.log_pre_api_call("gpt-4o", MESSAGES, kwargs)
    assert caplog.messages == [
        "LiteLLM did not deliver the usage of 1 call(s) within 0.01 s; not recorded"
    ]
    response = litellm.ModelResponse(
        model="gpt-4o", usage={"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
    )
    inside.log_success_event(kwargs, response, None, None)
    assert tracker.requests() == []
