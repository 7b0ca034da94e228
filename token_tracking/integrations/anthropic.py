"""Per-request token usage from the Anthropic SDK: ``wrap(tracker, client)``.

``wrap`` replaces ``client.messages`` of an ``Anthropic`` or ``AsyncAnthropic`` client (in place,
and returns the same client) with a recording proxy:

- ``messages.create(...)`` records the returned ``Message``'s usage;
- ``messages.create(..., stream=True)`` returns the SDK's event stream, watched: usage is read
  from ``message_start`` (input side) and ``message_delta`` (final output count) and recorded
  once, when the stream ends or is closed;
- ``messages.stream(...)`` records the accumulated message when its ``with`` block exits;
- ``messages.with_raw_response.create(...)`` records the parsed message (a stream's usage when
  the stream ``parse()`` returns ends);
- ``client.beta.messages`` gets the same proxy: ``beta.messages.create`` and ``stream`` are
  recorded too.

Each record carries the response's id and model (``response_model``), so a response that another
integration records too counts once.

Usage is normalized so the prompt count holds every input token billed: prompt =
``input_tokens`` + ``cache_read_input_tokens`` + ``cache_creation_input_tokens``. A stream closed
before its ``message_delta`` has an unknown completion count (``None``), never the provisional
count of ``message_start``. A request that fails records nothing (the SDK raises as usual).

Every other attribute of ``client.messages`` (``count_tokens``, ``batches``, …) passes through
unrecorded; ``client.with_options(...)`` returns a new, unwrapped client.

The rate-limit headers of every response the client gets are stored as well
(:func:`token_tracking.ratelimits.watch_client`).

This module never imports ``anthropic``: it only calls the client it is given.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import Any, TypeVar

from token_tracking import ratelimits
from token_tracking.extract import UsageRecorder, usage_from_result

__all__ = ["wrap"]

ClientT = TypeVar("ClientT")

_ANTHROPIC_USAGE_KEYS = (
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
)


class _Recorder:
    """Turns one request's Anthropic usage into a tracker record."""

    def __init__(self, tracker: UsageRecorder, agent: str | None) -> None:
        self.tracker = tracker
        self.agent = agent

    def message(self, message: Any, model: str | None, started: float) -> None:
        (usage,) = usage_from_result(message, model=model)
        self._record(usage.model_copy(update={"duration_seconds": time.monotonic() - started}))

    def counts(
        self,
        counts: dict[str, Any],
        model: str | None,
        started: float,
        *,
        response_model: str | None = None,
        response_id: str | None = None,
    ) -> None:
        (usage,) = usage_from_result({"usage": counts}, model=model)
        update: dict[str, Any] = {
            "duration_seconds": time.monotonic() - started,
            "response_model": response_model,
            "response_id": response_id,
        }
        if model is None:
            update["request_model"] = update["model"] = response_model
        self._record(usage.model_copy(update=update))

    def _record(self, usage: Any) -> None:
        self.tracker.record(usage.model_copy(update={"agent_name": self.agent}))


class _EventUsage:
    """Accumulates usage from raw stream events, as the API sends them."""

    def __init__(self, recorder: _Recorder, model: str | None) -> None:
        self.recorder = recorder
        self.model = model
        self.started = time.monotonic()
        self.usage: dict[str, Any] | None = None
        self.complete = False
        self.recorded = False
        self.response_model: str | None = None
        self.response_id: str | None = None

    def feed(self, event: Any) -> None:
        kind = getattr(event, "type", None)
        if kind == "message_start":
            message = event.message
            self.response_model = getattr(message, "model", None)
            self.response_id = getattr(message, "id", None)
            self.usage = {key: getattr(message.usage, key, None) for key in _ANTHROPIC_USAGE_KEYS}
        elif kind == "message_delta" and self.usage is not None:
            # The delta's counts are cumulative; input-side ones may come again (or be None).
            for key in _ANTHROPIC_USAGE_KEYS:
                value = getattr(event.usage, key, None)
                if value is not None:
                    self.usage[key] = value
            self.complete = True

    def finish(self) -> None:
        if self.recorded or self.usage is None:
            return
        self.recorded = True
        usage = dict(self.usage)
        if not self.complete:
            usage["output_tokens"] = None  # message_start's output count is provisional
        self.recorder.counts(
            usage,
            self.model,
            self.started,
            response_model=self.response_model,
            response_id=self.response_id,
        )


class _WatchedStream:
    """The SDK's ``Stream`` of raw events, recording usage when it ends or closes."""

    def __init__(self, inner: Any, usage: _EventUsage) -> None:
        self._inner = inner
        self._usage = usage
        self._events: Iterator[Any] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _watch(self) -> Iterator[Any]:
        try:
            for event in self._inner:
                self._usage.feed(event)
                yield event
        finally:
            self._usage.finish()

    def __iter__(self) -> Iterator[Any]:
        if self._events is None:
            self._events = self._watch()
        return self._events

    def __next__(self) -> Any:
        return next(iter(self))

    def __enter__(self) -> _WatchedStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._inner.close()
        self._usage.finish()


class _AsyncWatchedStream:
    """The SDK's ``AsyncStream`` of raw events, recording usage when it ends or closes."""

    def __init__(self, inner: Any, usage: _EventUsage) -> None:
        self._inner = inner
        self._usage = usage
        self._events: AsyncIterator[Any] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def _watch(self) -> AsyncIterator[Any]:
        try:
            async for event in self._inner:
                self._usage.feed(event)
                yield event
        finally:
            self._usage.finish()

    def __aiter__(self) -> AsyncIterator[Any]:
        if self._events is None:
            self._events = self._watch()
        return self._events

    async def __anext__(self) -> Any:
        return await self.__aiter__().__anext__()

    async def __aenter__(self) -> _AsyncWatchedStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._inner.close()
        self._usage.finish()


def _snapshot(stream: Any) -> Any | None:
    """The message a ``MessageStream`` accumulated, or None when no event arrived."""
    try:
        return stream.current_message_snapshot
    except AssertionError:
        # The SDK asserts that a message_start arrived; none did, so there is nothing to record.
        return None


def _record_snapshot(recorder: _Recorder, stream: Any, model: str | None, started: float) -> None:
    message = _snapshot(stream)
    if message is None:
        return
    usage = {key: getattr(message.usage, key, None) for key in _ANTHROPIC_USAGE_KEYS}
    if getattr(message, "stop_reason", None) is None:
        usage["output_tokens"] = None  # left before message_delta: the count is provisional
    recorder.counts(
        usage,
        model,
        started,
        response_model=getattr(message, "model", None),
        response_id=getattr(message, "id", None),
    )


class _StreamManager:
    """Wraps ``MessageStreamManager``: records the accumulated message on exit."""

    def __init__(self, inner: Any, recorder: _Recorder, model: str | None) -> None:
        self._inner = inner
        self._recorder = recorder
        self._model = model
        self._stream: Any = None
        self._started = time.monotonic()

    def __enter__(self) -> Any:
        self._started = time.monotonic()
        self._stream = self._inner.__enter__()
        return self._stream

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self._inner.__exit__(exc_type, exc, tb)
        finally:
            if self._stream is not None:
                _record_snapshot(self._recorder, self._stream, self._model, self._started)


class _AsyncStreamManager:
    """Wraps ``AsyncMessageStreamManager``: records the accumulated message on exit."""

    def __init__(self, inner: Any, recorder: _Recorder, model: str | None) -> None:
        self._inner = inner
        self._recorder = recorder
        self._model = model
        self._stream: Any = None
        self._started = time.monotonic()

    async def __aenter__(self) -> Any:
        self._started = time.monotonic()
        self._stream = await self._inner.__aenter__()
        return self._stream

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self._inner.__aexit__(exc_type, exc, tb)
        finally:
            if self._stream is not None:
                _record_snapshot(self._recorder, self._stream, self._model, self._started)


def _model_arg(kwargs: dict[str, Any]) -> str | None:
    model = kwargs.get("model")
    return model if isinstance(model, str) and model else None


class _RawResponse:
    """A ``with_raw_response`` result whose ``parse()`` gives a watched stream."""

    def __init__(self, inner: Any, usage: _EventUsage, watched: type) -> None:
        self._inner = inner
        self._usage = usage
        self._watched = watched
        self._stream: Any = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        if self._stream is None:
            self._stream = self._watched(self._inner.parse(*args, **kwargs), self._usage)
        return self._stream


class _AsyncRawResponse:
    """An async ``with_raw_response`` result whose ``parse()`` gives a watched stream."""

    def __init__(self, inner: Any, usage: _EventUsage) -> None:
        self._inner = inner
        self._usage = usage
        self._stream: Any = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def parse(self, *args: Any, **kwargs: Any) -> Any:
        if self._stream is None:
            inner = await self._inner.parse(*args, **kwargs)
            self._stream = _AsyncWatchedStream(inner, self._usage)
        return self._stream


class _RawMessages:
    """Recording proxy of ``client.messages.with_raw_response`` (sync client)."""

    def __init__(self, inner: Any, recorder: _Recorder) -> None:
        self._inner = inner
        self._recorder = recorder

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def create(self, *args: Any, **kwargs: Any) -> Any:
        started = time.monotonic()
        raw = self._inner.create(*args, **kwargs)
        if kwargs.get("stream") is True:
            usage = _EventUsage(self._recorder, _model_arg(kwargs))
            return _RawResponse(raw, usage, _WatchedStream)
        self._recorder.message(raw.parse(), _model_arg(kwargs), started)
        return raw


class _AsyncRawMessages:
    """Recording proxy of ``client.messages.with_raw_response`` (async client)."""

    def __init__(self, inner: Any, recorder: _Recorder) -> None:
        self._inner = inner
        self._recorder = recorder

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def create(self, *args: Any, **kwargs: Any) -> Any:
        started = time.monotonic()
        raw = await self._inner.create(*args, **kwargs)
        if kwargs.get("stream") is True:
            usage = _EventUsage(self._recorder, _model_arg(kwargs))
            return _AsyncRawResponse(raw, usage)
        # Parsed once here; the raw response caches it for the caller's own parse().
        self._recorder.message(await raw.parse(), _model_arg(kwargs), started)
        return raw


class _Messages:
    """Recording proxy of ``client.messages`` (sync client)."""

    def __init__(self, inner: Any, recorder: _Recorder) -> None:
        self._inner = inner
        self._recorder = recorder

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @property
    def with_raw_response(self) -> _RawMessages:
        return _RawMessages(self._inner.with_raw_response, self._recorder)

    def create(self, *args: Any, **kwargs: Any) -> Any:
        started = time.monotonic()
        result = self._inner.create(*args, **kwargs)
        if kwargs.get("stream") is True:
            return _WatchedStream(result, _EventUsage(self._recorder, _model_arg(kwargs)))
        self._recorder.message(result, _model_arg(kwargs), started)
        return result

    def stream(self, *args: Any, **kwargs: Any) -> _StreamManager:
        return _StreamManager(
            self._inner.stream(*args, **kwargs), self._recorder, _model_arg(kwargs)
        )


class _AsyncMessages:
    """Recording proxy of ``client.messages`` (async client)."""

    def __init__(self, inner: Any, recorder: _Recorder) -> None:
        self._inner = inner
        self._recorder = recorder

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @property
    def with_raw_response(self) -> _AsyncRawMessages:
        return _AsyncRawMessages(self._inner.with_raw_response, self._recorder)

    async def create(self, *args: Any, **kwargs: Any) -> Any:
        started = time.monotonic()
        result = await self._inner.create(*args, **kwargs)
        if kwargs.get("stream") is True:
            return _AsyncWatchedStream(result, _EventUsage(self._recorder, _model_arg(kwargs)))
        self._recorder.message(result, _model_arg(kwargs), started)
        return result

    def stream(self, *args: Any, **kwargs: Any) -> _AsyncStreamManager:
        return _AsyncStreamManager(
            self._inner.stream(*args, **kwargs), self._recorder, _model_arg(kwargs)
        )


def wrap(tracker: UsageRecorder, client: ClientT, *, agent_name: str | None = None) -> ClientT:
    """Make ``client`` (``Anthropic`` or ``AsyncAnthropic``) record its messages into ``tracker``.

    The client is changed in place and returned. Requests are recorded under ``agent_name``
    (``None``: the tracker's default agent). Wrapping an already wrapped client re-targets it
    instead of recording twice. Raises ``TypeError`` for an object without ``messages.create``.
    """
    messages = getattr(client, "messages", None)
    if getattr(messages, "create", None) is None:
        raise TypeError(f"cannot wrap a {type(client).__name__}: it has no messages.create")
    recorder = _Recorder(tracker, agent_name)
    # `messages` is a cached property on the SDK clients: an instance attribute replaces it.
    client.messages = _proxy(messages, recorder)  # type: ignore[attr-defined]
    beta = getattr(client, "beta", None)
    if getattr(getattr(beta, "messages", None), "create", None) is not None:
        beta.messages = _proxy(beta.messages, recorder)  # type: ignore[union-attr]
    ratelimits.watch_client(client, provider="anthropic", source="anthropic")
    return client


def _proxy(messages: Any, recorder: _Recorder) -> _Messages | _AsyncMessages:
    """A recording proxy of a ``messages`` resource (re-targeted when it is one already)."""
    if isinstance(messages, _Messages | _AsyncMessages):
        messages = messages._inner
    # The SDK decorates create (argument checks): look through functools.wraps to the method.
    if inspect.iscoroutinefunction(inspect.unwrap(messages.create)):
        return _AsyncMessages(messages, recorder)
    return _Messages(messages, recorder)
