"""Anthropic wrapper: messages.create (plain, stream=True) and messages.stream, sync and async."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest
from anthropic import Anthropic, AsyncAnthropic

from tests.support.fake_provider import FakeProvider, Reply
from tests.support.records import counts
from token_tracking import TokenTracker
from token_tracking.integrations.anthropic import wrap

MODEL = "claude-haiku-4-5"
MESSAGES: Any = [{"role": "user", "content": "hi"}]
CACHED_REPLY = Reply(
    text="hello there",
    prompt_tokens=21,
    completion_tokens=77,
    cache_read_tokens=1800,
    cache_write_tokens=250,
)
# prompt = 21 uncached + 1800 cache read + 250 cache write (DESIGN §3).
CACHED_COUNTS = ("writer", MODEL, 2071, 77, 1800, 250, None, 1)


@pytest.fixture
def tracker() -> TokenTracker:
    return TokenTracker(command="test", persist=False, interval_minutes=600)


def sync_client(fake: FakeProvider) -> Anthropic:
    return Anthropic(base_url=fake.base_url, api_key="test", max_retries=0)


def async_client(fake: FakeProvider) -> AsyncAnthropic:
    return AsyncAnthropic(base_url=fake.base_url, api_key="test", max_retries=0)


def test_create_records_normalized_usage(
    fake_provider: FakeProvider, tracker: TokenTracker
) -> None:
    fake_provider.add(CACHED_REPLY)
    client = wrap(tracker, sync_client(fake_provider), agent_name="writer")
    message = client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES)
    assert message.usage.input_tokens == 21  # the SDK object itself is untouched
    (usage,) = tracker.requests()
    assert counts(usage) == CACHED_COUNTS
    assert usage.duration_seconds is not None


def test_create_stream_records_once_at_the_end(
    fake_provider: FakeProvider, tracker: TokenTracker
) -> None:
    fake_provider.add(CACHED_REPLY)
    client = wrap(tracker, sync_client(fake_provider), agent_name="writer")
    with client.messages.create(
        model=MODEL, max_tokens=100, messages=MESSAGES, stream=True
    ) as stream:
        kinds = [event.type for event in stream]
        assert kinds[-1] == "message_stop"
    (usage,) = tracker.requests()
    assert counts(usage) == CACHED_COUNTS


def test_stream_helper_records_the_final_message(
    fake_provider: FakeProvider, tracker: TokenTracker
) -> None:
    fake_provider.add(CACHED_REPLY)
    client = tracker.wrap_anthropic(sync_client(fake_provider))
    with client.messages.stream(model=MODEL, max_tokens=100, messages=MESSAGES) as stream:
        assert "".join(stream.text_stream) == "hello there"
    (usage,) = tracker.requests()
    assert counts(usage) == (None, *CACHED_COUNTS[1:])


def test_stream_left_early_has_unknown_completion(
    fake_provider: FakeProvider, tracker: TokenTracker
) -> None:
    fake_provider.add(CACHED_REPLY)
    client = wrap(tracker, sync_client(fake_provider), agent_name="writer")
    stream = client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES, stream=True)
    first = next(iter(stream))
    assert first.type == "message_start"
    stream.close()
    (usage,) = tracker.requests()
    # message_start's output count (1) is provisional: it is not recorded as the answer's size.
    assert counts(usage) == ("writer", MODEL, 2071, None, 1800, 250, None, 1)


def test_no_cache_fields_leave_cache_counts_unknown(
    fake_provider: FakeProvider, tracker: TokenTracker
) -> None:
    client = wrap(tracker, sync_client(fake_provider), agent_name="writer")
    client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES)
    (usage,) = tracker.requests()
    assert counts(usage) == ("writer", MODEL, 10, 5, None, None, None, 1)


def test_errors_raise_and_record_nothing(
    fake_provider: FakeProvider, tracker: TokenTracker
) -> None:
    fake_provider.add(Reply(status=429))
    client = wrap(tracker, sync_client(fake_provider), agent_name="writer")
    with pytest.raises(anthropic.RateLimitError):
        client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES)
    assert tracker.requests() == []


def test_wrapping_twice_records_once(fake_provider: FakeProvider, tracker: TokenTracker) -> None:
    client = sync_client(fake_provider)
    wrapped = wrap(tracker, wrap(tracker, client, agent_name="first"), agent_name="second")
    assert wrapped is client
    client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES)
    assert [u.agent_name for u in tracker.requests()] == ["second"]


def test_other_message_attributes_pass_through(
    fake_provider: FakeProvider, tracker: TokenTracker
) -> None:
    client = wrap(tracker, sync_client(fake_provider))
    raw = client.messages.with_raw_response.create(model=MODEL, max_tokens=100, messages=MESSAGES)
    assert raw.http_response.status_code == 200
    assert [r.prompt_tokens for r in tracker.requests()] == [10]  # the raw API is recorded too
    assert client.messages.count_tokens is not None  # other attributes pass through


def test_wrap_refuses_an_object_without_messages(tracker: TokenTracker) -> None:
    with pytest.raises(TypeError, match=r"no messages\.create"):
        wrap(tracker, object())


async def test_async_create_plain_and_streaming(
    fake_provider: FakeProvider, tracker: TokenTracker
) -> None:
    fake_provider.add(CACHED_REPLY, times=2)
    client = wrap(tracker, async_client(fake_provider), agent_name="writer")
    message = await client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES)
    assert message.usage.cache_read_input_tokens == 1800
    stream = await client.messages.create(
        model=MODEL, max_tokens=100, messages=MESSAGES, stream=True
    )
    kinds = [event.type async for event in stream]
    assert kinds[0] == "message_start"
    assert [counts(u) for u in tracker.requests()] == [CACHED_COUNTS, CACHED_COUNTS]


async def test_async_stream_helper(fake_provider: FakeProvider, tracker: TokenTracker) -> None:
    fake_provider.add(CACHED_REPLY)
    client = wrap(tracker, async_client(fake_provider), agent_name="writer")
    async with client.messages.stream(model=MODEL, max_tokens=100, messages=MESSAGES) as stream:
        final = await stream.get_final_message()
    assert final.usage.output_tokens == 77
    (usage,) = tracker.requests()
    assert counts(usage) == CACHED_COUNTS


async def test_async_tool_use_stream_is_counted(
    fake_provider: FakeProvider, tracker: TokenTracker
) -> None:
    fake_provider.add(
        Reply(
            text="Checking.",
            tool_call=("lookup", '{"city": "Oslo"}'),
            prompt_tokens=300,
            completion_tokens=45,
            cache_read_tokens=0,
            cache_write_tokens=1200,
        )
    )
    client = wrap(tracker, async_client(fake_provider), agent_name="writer")
    async with client.messages.stream(model=MODEL, max_tokens=100, messages=MESSAGES) as stream:
        final = await stream.get_final_message()
    assert final.stop_reason == "tool_use"
    (usage,) = tracker.requests()
    assert counts(usage) == ("writer", MODEL, 1500, 45, 0, 1200, None, 1)
