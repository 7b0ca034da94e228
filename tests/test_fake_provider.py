"""The fake provider speaks each API well enough for the real SDKs, usage numbers exact."""

from __future__ import annotations

import json
import threading

import anthropic
import openai
import pytest
from anthropic import Anthropic, AsyncAnthropic
from openai import AsyncOpenAI, OpenAI

from tests.support.fake_provider import FakeProvider, Reply


def openai_client(fake: FakeProvider) -> OpenAI:
    return OpenAI(base_url=fake.openai_base_url, api_key="test", max_retries=0)


def anthropic_client(fake: FakeProvider) -> Anthropic:
    return Anthropic(base_url=fake.base_url, api_key="test", max_retries=0)


USAGE_REPLY = Reply(
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


# -- Chat Completions --------------------------------------------------------------------------


def test_chat_completion_returns_scripted_usage(fake_provider: FakeProvider) -> None:
    fake_provider.add(USAGE_REPLY)
    completion = openai_client(fake_provider).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    assert completion.choices[0].message.content == "hello there"
    assert completion.model == "gpt-4o-mini"
    usage = completion.usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (1200, 340, 1540)
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 1024
    assert usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.reasoning_tokens == 128


def test_chat_completion_leaves_out_counts_scripted_as_none(fake_provider: FakeProvider) -> None:
    completion = openai_client(fake_provider).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    usage = completion.usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (10, 5)
    assert usage.prompt_tokens_details is None
    assert usage.completion_tokens_details is None


def test_chat_stream_sends_usage_only_when_asked(fake_provider: FakeProvider) -> None:
    client = openai_client(fake_provider)
    fake_provider.add(USAGE_REPLY, times=2)

    with_usage = list(
        client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in with_usage if c.choices)
    assert text == "hello there"
    usages = [c.usage for c in with_usage if c.usage is not None]
    assert len(usages) == 1
    assert (usages[0].prompt_tokens, usages[0].completion_tokens) == (1200, 340)
    assert usages[0].prompt_tokens_details is not None
    assert usages[0].prompt_tokens_details.cached_tokens == 1024
    assert usages[0].completion_tokens_details is not None
    assert usages[0].completion_tokens_details.reasoning_tokens == 128

    without_usage = list(
        client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
        )
    )
    assert [c.usage for c in without_usage if c.usage is not None] == []


def test_chat_tool_call_plain_and_streaming(fake_provider: FakeProvider) -> None:
    client = openai_client(fake_provider)
    fake_provider.add(Reply(text="", tool_call=("lookup", '{"city": "Oslo"}')), times=2)
    completion = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "weather?"}]
    )
    calls = completion.choices[0].message.tool_calls
    assert calls is not None
    assert completion.choices[0].finish_reason == "tool_calls"
    assert [(c.function.name, c.function.arguments) for c in calls] == [  # type: ignore[union-attr]
        ("lookup", '{"city": "Oslo"}')
    ]

    chunks = list(
        client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "weather?"}], stream=True
        )
    )
    arguments = "".join(
        call.function.arguments or ""
        for c in chunks
        for call in c.choices[0].delta.tool_calls or []
        if call.function is not None
    )
    assert json.loads(arguments) == {"city": "Oslo"}


# -- Responses ---------------------------------------------------------------------------------


def test_responses_plain_returns_scripted_usage(fake_provider: FakeProvider) -> None:
    fake_provider.add(USAGE_REPLY)
    response = openai_client(fake_provider).responses.create(model="gpt-5", input="hi")
    assert response.output_text == "hello there"
    usage = response.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (1200, 340, 1540)
    assert usage.input_tokens_details.cached_tokens == 1024
    assert usage.output_tokens_details.reasoning_tokens == 128


def test_responses_stream_completes_with_usage(fake_provider: FakeProvider) -> None:
    fake_provider.add(USAGE_REPLY)
    events = list(
        openai_client(fake_provider).responses.create(model="gpt-5", input="hi", stream=True)
    )
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == "hello there"
    completed = [e for e in events if e.type == "response.completed"]
    assert len(completed) == 1
    usage = completed[0].response.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens) == (1200, 340)
    assert usage.input_tokens_details.cached_tokens == 1024
    assert usage.output_tokens_details.reasoning_tokens == 128


def test_responses_stream_helper_and_function_call(fake_provider: FakeProvider) -> None:
    fake_provider.add(Reply(text="", tool_call=("lookup", '{"city": "Oslo"}'), prompt_tokens=33))
    with openai_client(fake_provider).responses.stream(model="gpt-5", input="weather?") as stream:
        final = stream.get_final_response()
    calls = [item for item in final.output if item.type == "function_call"]
    assert [(c.name, c.arguments, c.call_id) for c in calls] == [
        ("lookup", '{"city": "Oslo"}', "call_1")
    ]
    assert final.usage is not None
    assert final.usage.input_tokens == 33


# -- Anthropic ---------------------------------------------------------------------------------


def test_anthropic_plain_returns_scripted_usage(fake_provider: FakeProvider) -> None:
    fake_provider.add(ANTHROPIC_REPLY)
    message = anthropic_client(fake_provider).messages.create(
        model="claude-haiku-4-5", max_tokens=100, messages=[{"role": "user", "content": "hi"}]
    )
    assert [b.text for b in message.content if b.type == "text"] == ["hello there"]
    usage = message.usage
    assert (usage.input_tokens, usage.output_tokens) == (21, 77)
    assert usage.cache_read_input_tokens == 1800
    assert usage.cache_creation_input_tokens == 250


def test_anthropic_stream_accumulates_usage(fake_provider: FakeProvider) -> None:
    fake_provider.add(ANTHROPIC_REPLY)
    client = anthropic_client(fake_provider)
    with client.messages.stream(
        model="claude-haiku-4-5", max_tokens=100, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        text = "".join(stream.text_stream)
        message = stream.get_final_message()
    assert text == "hello there"
    usage = message.usage
    assert (usage.input_tokens, usage.output_tokens) == (21, 77)
    assert usage.cache_read_input_tokens == 1800
    assert usage.cache_creation_input_tokens == 250


def test_anthropic_raw_stream_events(fake_provider: FakeProvider) -> None:
    fake_provider.add(ANTHROPIC_REPLY)
    events = list(
        anthropic_client(fake_provider).messages.create(
            model="claude-haiku-4-5",
            max_tokens=100,
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
        )
    )
    assert [e.type for e in events] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start = events[0]
    assert start.type == "message_start"
    assert start.message.usage.cache_read_input_tokens == 1800
    delta = events[5]
    assert delta.type == "message_delta"
    assert delta.usage.output_tokens == 77


def test_anthropic_tool_use_plain_and_streaming(fake_provider: FakeProvider) -> None:
    fake_provider.add(Reply(text="Looking.", tool_call=("lookup", '{"city": "Oslo"}')), times=2)
    client = anthropic_client(fake_provider)
    message = client.messages.create(
        model="claude-haiku-4-5", max_tokens=100, messages=[{"role": "user", "content": "weather?"}]
    )
    assert message.stop_reason == "tool_use"
    tool = [b for b in message.content if b.type == "tool_use"]
    assert [(b.name, b.input) for b in tool] == [("lookup", {"city": "Oslo"})]

    with client.messages.stream(
        model="claude-haiku-4-5", max_tokens=100, messages=[{"role": "user", "content": "weather?"}]
    ) as stream:
        streamed = stream.get_final_message()
    assert [(b.name, b.input) for b in streamed.content if b.type == "tool_use"] == [
        ("lookup", {"city": "Oslo"})
    ]


async def test_async_clients_work_too(fake_provider: FakeProvider) -> None:
    fake_provider.add(USAGE_REPLY, match='"gpt-4o"')
    fake_provider.add(ANTHROPIC_REPLY, match="claude")
    chat = await AsyncOpenAI(
        base_url=fake_provider.openai_base_url, api_key="test", max_retries=0
    ).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert chat.usage is not None
    assert chat.usage.prompt_tokens == 1200
    message = await AsyncAnthropic(
        base_url=fake_provider.base_url, api_key="test", max_retries=0
    ).messages.create(
        model="claude-haiku-4-5", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
    )
    assert message.usage.cache_creation_input_tokens == 250


# -- scripting, errors, recording, concurrency -------------------------------------------------


def test_match_times_and_default(fake_provider: FakeProvider) -> None:
    fake_provider.default = Reply(text="default")
    fake_provider.add(Reply(text="for alpha"), match="alpha", times=2)
    fake_provider.add(Reply(text="anything"))
    client = openai_client(fake_provider)

    def ask(prompt: str) -> str | None:
        completion = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": prompt}]
        )
        return completion.choices[0].message.content

    assert [ask("beta"), ask("alpha"), ask("alpha"), ask("alpha"), ask("beta")] == [
        "anything",
        "for alpha",
        "for alpha",
        "default",
        "default",
    ]
    assert fake_provider.pending == 0


def test_records_every_request(fake_provider: FakeProvider) -> None:
    openai_client(fake_provider).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "the prompt"}]
    )
    anthropic_client(fake_provider).messages.create(
        model="claude-haiku-4-5", max_tokens=10, messages=[{"role": "user", "content": "second"}]
    )
    first, second = fake_provider.requests
    assert first.path == "/v1/chat/completions"
    assert first.body["messages"] == [{"role": "user", "content": "the prompt"}]
    assert json.loads(first.raw) == first.body
    assert first.headers["authorization"] == "Bearer test"
    assert second.path == "/v1/messages"
    assert second.body["model"] == "claude-haiku-4-5"
    assert "anthropic-version" in second.headers


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(429, openai.RateLimitError), (500, openai.InternalServerError)],
)
def test_openai_http_errors_raise_sdk_errors(
    fake_provider: FakeProvider, status: int, error_type: type[openai.APIStatusError]
) -> None:
    fake_provider.add(Reply(status=status), times=2)
    client = openai_client(fake_provider)
    with pytest.raises(error_type) as raised:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert raised.value.status_code == status
    assert "scripted HTTP" in raised.value.message
    with pytest.raises(error_type):
        client.responses.create(model="m", input="hi", stream=True)
    # max_retries=0: one request per call, no retries.
    assert len(fake_provider.requests) == 2


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(429, anthropic.RateLimitError), (500, anthropic.InternalServerError)],
)
def test_anthropic_http_errors_raise_sdk_errors(
    fake_provider: FakeProvider, status: int, error_type: type[anthropic.APIStatusError]
) -> None:
    fake_provider.add(Reply(status=status))
    with pytest.raises(error_type) as raised:
        anthropic_client(fake_provider).messages.create(
            model="claude-haiku-4-5", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )
    assert raised.value.status_code == status
    assert raised.value.body == {
        "type": "error",
        "error": {
            "type": "rate_limit_error" if status == 429 else "api_error",
            "message": f"fake provider scripted HTTP {status}",
        },
    }


def test_malformed_json_raises(fake_provider: FakeProvider) -> None:
    # Both SDKs let the JSON decoder's error through for a 200 body that is not JSON.
    fake_provider.add(Reply(malformed=True), times=2)
    with pytest.raises(json.JSONDecodeError):
        openai_client(fake_provider).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}]
        )
    with pytest.raises(json.JSONDecodeError):
        anthropic_client(fake_provider).messages.create(
            model="claude-haiku-4-5", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )


def test_malformed_stream_event_raises(fake_provider: FakeProvider) -> None:
    fake_provider.add(Reply(malformed=True))
    with pytest.raises(json.JSONDecodeError):
        list(
            openai_client(fake_provider).chat.completions.create(
                model="m", messages=[{"role": "user", "content": "hi"}], stream=True
            )
        )


def test_max_in_flight_proves_concurrency(fake_provider: FakeProvider) -> None:
    fake_provider.default = Reply(delay=0.6)
    client = openai_client(fake_provider)
    barrier = threading.Barrier(4)

    def call() -> None:
        barrier.wait()
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(fake_provider.requests) == 4
    assert fake_provider.max_in_flight == 4


def test_sequential_requests_never_overlap(fake_provider: FakeProvider) -> None:
    client = openai_client(fake_provider)
    for _ in range(3):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert fake_provider.max_in_flight == 1


def test_unknown_path_is_404(fake_provider: FakeProvider) -> None:
    with pytest.raises(openai.NotFoundError):
        openai_client(fake_provider).embeddings.create(model="m", input="hi")


def test_openai_cache_write_details(fake_provider: FakeProvider) -> None:
    fake_provider.add(Reply(prompt_tokens=900, cached_tokens=100, cache_write_tokens=700), times=2)
    client = openai_client(fake_provider)
    completion = client.chat.completions.create(
        model="gpt-5", messages=[{"role": "user", "content": "hi"}]
    )
    assert completion.usage is not None
    assert completion.usage.prompt_tokens_details is not None
    assert completion.usage.prompt_tokens_details.cache_write_tokens == 700
    response = client.responses.create(model="gpt-5", input="hi")
    assert response.usage is not None
    assert response.usage.input_tokens_details.cache_write_tokens == 700
    assert response.usage.input_tokens_details.cached_tokens == 100
