"""A loopback fake LLM provider for tests: the real SDKs talk to it, no test reaches the internet.

It speaks three wire protocols on one stdlib ``ThreadingHTTPServer`` (127.0.0.1, port 0):

- OpenAI Chat Completions, ``POST /v1/chat/completions``: plain, and SSE streaming when the body
  has ``"stream": true``. Streaming sends a usage chunk only when
  ``stream_options.include_usage`` is true, as the real API does.
- OpenAI Responses, ``POST /v1/responses``: plain, and streaming (``response.created`` …
  ``response.completed``, whose response carries the usage).
- Anthropic Messages, ``POST /v1/messages``: plain, and streaming (``message_start``,
  ``content_block_*``, ``message_delta``, ``message_stop``).

A test scripts the answers with :meth:`FakeProvider.add` (each queued :class:`Reply` answers
``times`` requests whose raw body contains ``match``); a request with no queued reply gets
:attr:`FakeProvider.default`. Every request is recorded (:attr:`FakeProvider.requests`), and
:attr:`FakeProvider.max_in_flight` tells how many were being answered at once, so a test can prove
requests ran concurrently.

Usage numbers follow each provider's own semantics on the wire: for OpenAI ``prompt_tokens``
includes ``cached_tokens`` and ``completion_tokens`` includes ``reasoning_tokens``; for Anthropic
``prompt_tokens`` is sent as ``input_tokens``, the *uncached* part, with ``cache_read_tokens`` and
``cache_write_tokens`` as separate counts (on OpenAI replies ``cache_write_tokens`` goes into the
input-token details, a part of ``prompt_tokens``). A count scripted as ``None`` is left out of
the answer.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from types import TracebackType
from typing import Any

__all__ = [
    "ANTHROPIC_RATE_LIMIT_HEADERS",
    "OPENAI_RATE_LIMIT_HEADERS",
    "FakeProvider",
    "RecordedRequest",
    "Reply",
]

POLL_SECONDS = 0.01
"""How often the serving thread looks for a shutdown request: the bound on ``stop()``'s wait."""

OPENAI_RATE_LIMIT_HEADERS: dict[str, str] = {
    "x-ratelimit-limit-requests": "500",
    "x-ratelimit-remaining-requests": "499",
    "x-ratelimit-reset-requests": "120ms",
    "x-ratelimit-limit-tokens": "200000",
    "x-ratelimit-remaining-tokens": "199990",
    "x-ratelimit-reset-tokens": "6m0s",
}
"""Rate-limit headers as OpenAI sends them (per-minute limits; resets as durations)."""

ANTHROPIC_RATE_LIMIT_HEADERS: dict[str, str] = {
    "anthropic-ratelimit-requests-limit": "50",
    "anthropic-ratelimit-requests-remaining": "49",
    "anthropic-ratelimit-requests-reset": "2099-01-01T00:00:00Z",
    "anthropic-ratelimit-tokens-limit": "90000",
    "anthropic-ratelimit-tokens-remaining": "89000",
    "anthropic-ratelimit-tokens-reset": "2099-01-01T00:00:00Z",
    "anthropic-ratelimit-input-tokens-limit": "50000",
    "anthropic-ratelimit-input-tokens-remaining": "49990",
    "anthropic-ratelimit-input-tokens-reset": "2099-01-01T00:00:00Z",
    "anthropic-ratelimit-output-tokens-limit": "10000",
    "anthropic-ratelimit-output-tokens-remaining": "9995",
    "anthropic-ratelimit-output-tokens-reset": "2099-01-01T00:00:00Z",
}
"""Rate-limit headers as Anthropic sends them (per-minute limits; resets as RFC 3339 times)."""


@dataclass
class Reply:
    """One scripted answer of the fake provider."""

    text: str = "ok"
    """The assistant's text (empty string: no text part)."""
    tool_call: tuple[str, str] | None = None
    """``(tool name, JSON arguments)``: answer with one tool/function call."""
    prompt_tokens: int = 10
    """OpenAI: all input tokens (cached included). Anthropic: ``input_tokens``, uncached only."""
    completion_tokens: int = 5
    """Output tokens (reasoning included)."""
    cached_tokens: int | None = None
    """OpenAI ``prompt_tokens_details.cached_tokens`` / ``input_tokens_details.cached_tokens``."""
    reasoning_tokens: int | None = None
    """OpenAI ``completion_tokens_details.reasoning_tokens`` / ``output_tokens_details…``."""
    cache_read_tokens: int | None = None
    """Anthropic ``cache_read_input_tokens``."""
    cache_write_tokens: int | None = None
    """Anthropic ``cache_creation_input_tokens``; OpenAI ``…_details.cache_write_tokens``."""
    status: int = 200
    """HTTP status; anything but 200 answers with a JSON error body in the provider's shape."""
    malformed: bool = False
    """Answer 200 with a body that is not valid JSON (a broken SSE event when streaming)."""
    delay: float = 0.0
    """Seconds to wait before answering."""
    usage: bool = True
    """False: answer without a usage object (Chat Completions: no ``usage`` key, not even in a
    stream that asked for it; Responses: ``"usage": null``), as some providers do."""
    response_model: str | None = None
    """The model name the answer gives (default: the requested one), e.g. a dated name for an
    alias."""
    headers: dict[str, str] = field(default_factory=dict)
    """Extra response headers, sent whatever the status (rate-limit headers, ``retry-after``;
    see :data:`OPENAI_RATE_LIMIT_HEADERS` and :data:`ANTHROPIC_RATE_LIMIT_HEADERS`). Empty: the
    answer carries no rate-limit header."""


@dataclass
class RecordedRequest:
    """One request the fake received."""

    path: str
    """The URL path, e.g. ``/v1/chat/completions``."""
    body: dict[str, Any]
    """The parsed JSON body (empty when the body was not a JSON object)."""
    raw: str
    """The body as sent."""
    headers: dict[str, str]
    """Request headers (lower-cased names)."""


@dataclass
class _Queued:
    reply: Reply
    match: str | None
    remaining: int


@dataclass
class _State:
    default: Reply = field(default_factory=Reply)
    queue: list[_Queued] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: Iterator[int] = field(default_factory=lambda: count(1))


class FakeProvider:
    """A loopback server answering OpenAI and Anthropic API requests with scripted replies.

    Use as a context manager (or call :meth:`start` / :meth:`stop`)::

        with FakeProvider() as fake:
            fake.add(Reply(text="hi", prompt_tokens=12, completion_tokens=3))
            client = OpenAI(base_url=fake.openai_base_url, api_key="test", max_retries=0)
    """

    def __init__(self) -> None:
        self._state = _State()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeProvider:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread; returns ``self``."""
        state = self._state

        class Handler(_Handler):
            shared = state

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        # serve_forever checks for shutdown once per poll; the default 0.5 s poll made every
        # stop() wait about half a second, so each test using the fake paid that in teardown.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": POLL_SECONDS},
            name="fake-provider",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- scripting ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (give it to ``Anthropic(base_url=...)``)."""
        if self._server is None:
            raise RuntimeError("the fake provider is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def openai_base_url(self) -> str:
        """``base_url + "/v1"`` (give it to ``OpenAI(base_url=...)`` or LiteLLM's ``base_url``)."""
        return self.base_url + "/v1"

    @property
    def default(self) -> Reply:
        """The reply for requests that no queued reply matches."""
        return self._state.default

    @default.setter
    def default(self, reply: Reply) -> None:
        with self._state.lock:
            self._state.default = reply

    def add(self, reply: Reply, *, match: str | None = None, times: int = 1) -> None:
        """Queue ``reply`` for the next ``times`` requests whose raw body contains ``match``.

        A request takes the first queued reply that matches (``None`` matches anything); queued
        replies are used in the order they were added.
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._state.lock:
            self._state.queue.append(_Queued(reply, match, times))

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in arrival order (a copy)."""
        with self._state.lock:
            return list(self._state.requests)

    @property
    def max_in_flight(self) -> int:
        """The largest number of requests that were being answered at the same time."""
        with self._state.lock:
            return self._state.max_in_flight

    @property
    def pending(self) -> int:
        """How many scripted answers are still queued (``times`` counted)."""
        with self._state.lock:
            return sum(q.remaining for q in self._state.queue)


# -- the HTTP side -------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    """The fake's server: a client that hung up before its reply was written (a cancelled or
    timed-out run, which fault tests cause on purpose) is not an error worth a traceback on
    stderr, where it would land in whichever command's output is being captured then."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.0: one request per connection, the body ends when the socket closes. That keeps
    # streaming trivial (no chunked encoding) and the SDKs handle it like any server.
    protocol_version = "HTTP/1.0"
    shared: _State
    extra_headers: dict[str, str] = {}  # noqa: RUF012 - replaced per request, never mutated

    def log_message(self, format: str, *args: Any) -> None:
        """Stay silent: pytest output should not fill with access logs."""

    def do_GET(self) -> None:
        self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length).decode("utf-8", errors="replace")
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError:
            parsed = None
        body: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
        path = self.path.split("?", 1)[0]
        state = self.shared
        with state.lock:
            state.requests.append(
                RecordedRequest(
                    path=path,
                    body=body,
                    raw=raw,
                    headers={k.lower(): v for k, v in self.headers.items()},
                )
            )
            reply = _take_reply(state, raw)
            number = next(state.ids)
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
        # A request counts as in flight from its arrival until its answer starts: once the last
        # byte is sent the client may already send its next request, before this thread could
        # count this one as done, and sequential requests would look concurrent.
        try:
            if reply.delay > 0:
                time.sleep(reply.delay)
        finally:
            with state.lock:
                state.in_flight -= 1
        self.extra_headers = reply.headers
        self.request_number = number
        self._answer(path, body, reply, number)

    def _answer(self, path: str, body: dict[str, Any], reply: Reply, number: int) -> None:
        anthropic = path.endswith("/messages")
        if path not in ("/v1/chat/completions", "/v1/responses", "/v1/messages"):
            self._send_json(404, {"error": {"message": f"no route {path}", "type": "not_found"}})
            return
        if reply.status != 200:
            self._send_json(reply.status, _error_body(reply.status, anthropic=anthropic))
            return
        model = str(body.get("model", "fake-model"))
        if reply.response_model is not None:
            model = reply.response_model
        stream = body.get("stream") is True
        if reply.malformed:
            if stream:
                self._send_events([(None, "{not json")])
            else:
                self._send_raw(200, b'{"id": "broken", "choices": [', "application/json")
            return
        if path == "/v1/chat/completions":
            if stream:
                options = body.get("stream_options")
                include_usage = isinstance(options, dict) and options.get("include_usage") is True
                include_usage = include_usage and reply.usage
                events = _chat_events(reply, model, number, include_usage=include_usage)
                self._send_events([(None, json.dumps(e)) for e in events] + [(None, "[DONE]")])
            else:
                self._send_json(200, _chat_completion(reply, model, number))
        elif path == "/v1/responses":
            if stream:
                self._send_events(
                    [(e["type"], json.dumps(e)) for e in _response_events(reply, model, number)]
                )
            else:
                self._send_json(200, _response(reply, model, number, status="completed"))
        elif stream:
            self._send_events(
                [(e["type"], json.dumps(e)) for e in _anthropic_events(reply, model, number)]
            )
        else:
            self._send_json(200, _anthropic_message(reply, model, number))

    def _send_extra_headers(self) -> None:
        for name, value in self.extra_headers.items():
            self.send_header(name, value)

    def _request_id_header(self) -> None:
        # Every answer carries a request id, as OpenAI (x-request-id) and Anthropic
        # (request-id) send one; ``number`` is the request's arrival number.
        number = getattr(self, "request_number", None)
        if number is not None:
            self.send_header("x-request-id", f"req_{number}")
            self.send_header("request-id", f"req_{number}")

    def _send_raw(self, status: int, payload: bytes, content_type: str) -> None:
        self.send_response(status)
        self._request_id_header()
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(payload)))
        self._send_extra_headers()
        self.end_headers()
        self.wfile.write(payload)

    def _send_json(self, status: int, document: dict[str, Any]) -> None:
        self._send_raw(status, json.dumps(document).encode(), "application/json")

    def _send_events(self, events: Sequence[tuple[str | None, str]]) -> None:
        self.send_response(200)
        self._request_id_header()
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self._send_extra_headers()
        self.end_headers()
        for name, data in events:
            chunk = (f"event: {name}\n" if name else "") + f"data: {data}\n\n"
            self.wfile.write(chunk.encode())
            self.wfile.flush()


def _take_reply(state: _State, raw: str) -> Reply:
    """Pop one use of the first queued reply matching ``raw`` (caller holds the lock)."""
    for index, queued in enumerate(state.queue):
        if queued.match is None or queued.match in raw:
            queued.remaining -= 1
            if queued.remaining == 0:
                del state.queue[index]
            return queued.reply
    return state.default


def _error_body(status: int, *, anthropic: bool) -> dict[str, Any]:
    kind = {
        400: "invalid_request_error",
        401: "authentication_error",
        429: "rate_limit_error",
        529: "overloaded_error",
    }.get(status, "api_error")
    message = f"fake provider scripted HTTP {status}"
    if anthropic:
        return {"type": "error", "error": {"type": kind, "message": message}}
    return {"error": {"message": message, "type": kind, "param": None, "code": str(status)}}


def _split(text: str) -> list[str]:
    """Two stream deltas for text longer than one character, so tests see real accumulation."""
    if len(text) < 2:
        return [text] if text else []
    middle = len(text) // 2
    return [text[:middle], text[middle:]]


# -- OpenAI Chat Completions ---------------------------------------------------------------------


def _openai_input_details(reply: Reply) -> dict[str, int]:
    """The input-token details of an OpenAI usage: only the counts the reply scripts."""
    details: dict[str, int] = {}
    if reply.cached_tokens is not None:
        details["cached_tokens"] = reply.cached_tokens
    if reply.cache_write_tokens is not None:
        details["cache_write_tokens"] = reply.cache_write_tokens
    return details


def _chat_usage(reply: Reply) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "total_tokens": reply.prompt_tokens + reply.completion_tokens,
    }
    details = _openai_input_details(reply)
    if details:
        usage["prompt_tokens_details"] = details
    if reply.reasoning_tokens is not None:
        usage["completion_tokens_details"] = {"reasoning_tokens": reply.reasoning_tokens}
    return usage


def _chat_completion(reply: Reply, model: str, number: int) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
    finish = "stop"
    if reply.tool_call is not None:
        name, arguments = reply.tool_call
        message["tool_calls"] = [
            {
                "id": f"call_{number}",
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }
        ]
        finish = "tool_calls"
    return {
        "id": f"chatcmpl-{number}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        **({"usage": _chat_usage(reply)} if reply.usage else {}),
    }


def _chat_events(
    reply: Reply, model: str, number: int, *, include_usage: bool
) -> list[dict[str, Any]]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        document: dict[str, Any] = {
            "id": f"chatcmpl-{number}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        }
        if include_usage:
            # The real API sends "usage": null on every chunk but the last when usage is asked for.
            document["usage"] = None
        return document

    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": piece}) for piece in _split(reply.text)]
    finish = "stop"
    if reply.tool_call is not None:
        name, arguments = reply.tool_call
        first = {
            "index": 0,
            "id": f"call_{number}",
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }
        events.append(chunk({"tool_calls": [first]}))
        for piece in _split(arguments):
            events.append(chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}))
        finish = "tool_calls"
    events.append(chunk({}, finish))
    if include_usage:
        last = chunk({})
        last["choices"] = []
        last["usage"] = _chat_usage(reply)
        events.append(last)
    return events


# -- OpenAI Responses ----------------------------------------------------------------------------


def _response_usage(reply: Reply) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "input_tokens": reply.prompt_tokens,
        "output_tokens": reply.completion_tokens,
        "total_tokens": reply.prompt_tokens + reply.completion_tokens,
    }
    details = _openai_input_details(reply)
    if details:
        usage["input_tokens_details"] = details
    if reply.reasoning_tokens is not None:
        usage["output_tokens_details"] = {"reasoning_tokens": reply.reasoning_tokens}
    return usage


def _response_items(reply: Reply, number: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if reply.text:
        items.append(
            {
                "type": "message",
                "id": f"msg_{number}",
                "status": "completed",
                "role": "assistant",
                "content": [
                    {"type": "output_text", "text": reply.text, "annotations": [], "logprobs": []}
                ],
            }
        )
    if reply.tool_call is not None:
        name, arguments = reply.tool_call
        items.append(
            {
                "type": "function_call",
                "id": f"fc_{number}",
                "call_id": f"call_{number}",
                "name": name,
                "arguments": arguments,
                "status": "completed",
            }
        )
    return items


def _response(reply: Reply, model: str, number: int, *, status: str) -> dict[str, Any]:
    done = status == "completed"
    return {
        "id": f"resp_{number}",
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "model": model,
        "output": _response_items(reply, number) if done else [],
        "usage": _response_usage(reply) if done and reply.usage else None,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "temperature": 1.0,
        "top_p": 1.0,
        "text": {"format": {"type": "text"}},
        "truncation": "disabled",
        "incomplete_details": None,
        "error": None,
        "instructions": None,
        "metadata": {},
    }


def _response_events(reply: Reply, model: str, number: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": _response(reply, model, number, status="queued")},
        {
            "type": "response.in_progress",
            "response": _response(reply, model, number, status="in_progress"),
        },
    ]
    for index, item in enumerate(_response_items(reply, number)):
        opening = dict(item, status="in_progress")
        if item["type"] == "message":
            opening["content"] = []
            events.append(
                {"type": "response.output_item.added", "output_index": index, "item": opening}
            )
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            where = {"item_id": item["id"], "output_index": index, "content_index": 0}
            events.append({"type": "response.content_part.added", **where, "part": part})
            for piece in _split(reply.text):
                events.append(
                    {"type": "response.output_text.delta", **where, "delta": piece, "logprobs": []}
                )
            events.append(
                {"type": "response.output_text.done", **where, "text": reply.text, "logprobs": []}
            )
            events.append(
                {"type": "response.content_part.done", **where, "part": item["content"][0]}
            )
        else:
            opening["arguments"] = ""
            events.append(
                {"type": "response.output_item.added", "output_index": index, "item": opening}
            )
            where = {"item_id": item["id"], "output_index": index}
            for piece in _split(item["arguments"]):
                events.append(
                    {"type": "response.function_call_arguments.delta", **where, "delta": piece}
                )
            events.append(
                {
                    "type": "response.function_call_arguments.done",
                    **where,
                    "arguments": item["arguments"],
                    "name": item["name"],
                }
            )
        events.append({"type": "response.output_item.done", "output_index": index, "item": item})
    events.append(
        {
            "type": "response.completed",
            "response": _response(reply, model, number, status="completed"),
        }
    )
    for sequence, event in enumerate(events):
        event["sequence_number"] = sequence
    return events


# -- Anthropic Messages --------------------------------------------------------------------------


def _anthropic_usage(reply: Reply, *, output_tokens: int) -> dict[str, Any]:
    usage: dict[str, Any] = {"input_tokens": reply.prompt_tokens, "output_tokens": output_tokens}
    if reply.cache_read_tokens is not None:
        usage["cache_read_input_tokens"] = reply.cache_read_tokens
    if reply.cache_write_tokens is not None:
        usage["cache_creation_input_tokens"] = reply.cache_write_tokens
    return usage


def _anthropic_blocks(reply: Reply, number: int) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if reply.text:
        blocks.append({"type": "text", "text": reply.text})
    if reply.tool_call is not None:
        name, arguments = reply.tool_call
        blocks.append(
            {
                "type": "tool_use",
                "id": f"toolu_{number}",
                "name": name,
                "input": json.loads(arguments),
            }
        )
    return blocks


def _anthropic_message(reply: Reply, model: str, number: int) -> dict[str, Any]:
    return {
        "id": f"msg_{number}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": _anthropic_blocks(reply, number),
        "stop_reason": "tool_use" if reply.tool_call is not None else "end_turn",
        "stop_sequence": None,
        "usage": _anthropic_usage(reply, output_tokens=reply.completion_tokens),
    }


def _anthropic_events(reply: Reply, model: str, number: int) -> list[dict[str, Any]]:
    # As the real API does: message_start carries the input-side counts and a provisional
    # output count of 1; message_delta carries the final (cumulative) output count.
    start = _anthropic_message(reply, model, number)
    start.update(content=[], stop_reason=None, usage=_anthropic_usage(reply, output_tokens=1))
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}]
    for index, block in enumerate(_anthropic_blocks(reply, number)):
        if block["type"] == "text":
            events.append(
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": dict(block, text=""),
                }
            )
            for piece in _split(block["text"]):
                events.append(
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "text_delta", "text": piece},
                    }
                )
        else:
            events.append(
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": dict(block, input={}),
                }
            )
            for piece in _split(json.dumps(block["input"])):
                events.append(
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "input_json_delta", "partial_json": piece},
                    }
                )
        events.append({"type": "content_block_stop", "index": index})
    events.append(
        {
            "type": "message_delta",
            "delta": {
                "stop_reason": "tool_use" if reply.tool_call is not None else "end_turn",
                "stop_sequence": None,
            },
            "usage": {"output_tokens": reply.completion_tokens},
        }
    )
    events.append({"type": "message_stop"})
    return events
