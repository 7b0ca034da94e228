"""Claude Code's logs: one JSON object per line, in ``<config dir>/projects/<project>/*.jsonl``.

A line with usage is an assistant message: ``message.id``, ``message.model`` and
``message.usage.{input_tokens, output_tokens, cache_creation_input_tokens,
cache_read_input_tokens}``, beside ``timestamp``, ``sessionId``, ``requestId``, ``cwd``,
``gitBranch``, ``isSidechain``, ``isApiErrorMessage`` and (older versions) ``costUSD``.
Prompt = input + cache read + cache creation; completion = output. One request per
(``message.id``, ``requestId``) — per ``message.id`` without a request id: streaming writes
several snapshots of one message, and the one with the largest usage is kept. Lines of the
``<synthetic>`` model and API-error lines are not requests.

Lines are read with msgspec into :class:`ClaudeLine`, which names only these fields: the
decoder skips the rest (the message text, tool results) without building Python objects, which
makes a line several times cheaper to read than with ``json.loads``. A line whose fields do not
have the usual types (or that is not a JSON object) makes the typed decoder raise; it is then
parsed with ``json`` and mapped into the same :class:`ClaudeLine` by :func:`claude_request`, so
both paths share one interpretation and the usual warnings.
"""

from __future__ import annotations

from typing import Any

import msgspec

from token_tracking.imports.model import API_ERROR, BAD_USAGE, SYNTHETIC, Request
from token_tracking.imports.timestamps import timestamp_us

SOURCE = "claude-code"

SYNTHETIC_MODEL = "<synthetic>"
"""The model name Claude Code gives messages it made up itself (no API call)."""


def may_carry_usage(data: bytes) -> bool:
    """Whether a raw line can hold usage: it names the key ``"usage"`` (spacing and key order do
    not matter), or holds a ``\\u`` escape, which could spell that key. Exact: a line this
    rejects never carries usage, so it needs no parsing."""
    # find() rather than `in`: bytes.__contains__ first tries its argument as an integer and
    # raises (and clears) a TypeError for every other one, which costs more than the search.
    return data.find(b'"usage"') != -1 or data.find(b"\\u") != -1


def is_claude_line(obj: dict[str, Any]) -> bool:
    """Whether a parsed line looks like Claude Code's (a session line or a summary)."""
    return "sessionId" in obj or obj.get("type") in ("summary", "user", "assistant")


# -- the fields read ------------------------------------------------------------------------------

UNUSABLE = -1
"""A token count the log gives as something else than a whole number (or not at all, for input
and output): it makes the line's usage unusable."""

# gc=False: these never hold a reference cycle, and untracked objects make the collector's
# passes cheaper during a large import.


class ClaudeUsage(msgspec.Struct, gc=False):
    """``message.usage``; a negative count makes the line's usage unusable."""

    input_tokens: int
    """Uncached input tokens."""
    output_tokens: int
    """Output tokens."""
    cache_read_input_tokens: int = 0
    """Input tokens read from the prompt cache (0 when not logged)."""
    cache_creation_input_tokens: int = 0
    """Input tokens written to the prompt cache (0 when not logged)."""


class ClaudeMessage(msgspec.Struct, gc=False):
    """``message``: the API response a line records."""

    id: str | None = None
    """The API's message id (shared by the snapshots of one streamed message)."""
    model: str | None = None
    """The model the API answered with."""
    usage: ClaudeUsage | None = None
    """Its token counts; ``None`` on lines without usage (user messages, tool results)."""


_LOG_KEYS = {
    "session_id": "sessionId",
    "request_id": "requestId",
    "git_branch": "gitBranch",
    "is_sidechain": "isSidechain",
    "is_api_error": "isApiErrorMessage",
    "cost_usd": "costUSD",
}
"""The log's keys of :class:`ClaudeLine`'s fields whose names differ."""


class ClaudeLine(msgspec.Struct, gc=False, rename=_LOG_KEYS):
    """The fields of a Claude Code log line that an import reads (all others are skipped)."""

    message: ClaudeMessage | None = None
    """The message the line records; ``None`` for summaries and other lines without one."""
    timestamp: str | None = None
    """ISO 8601 time of the line."""
    session_id: str | None = None
    """Claude Code's session id."""
    request_id: str | None = None
    """The API request id (one message may be retried under another request)."""
    cwd: str | None = None
    """The folder the agent ran in."""
    git_branch: str | None = None
    """The branch checked out then."""
    is_sidechain: bool = False
    """A sub-agent's line, which may replay a message of the main chain."""
    is_api_error: bool = False
    """A message Claude Code wrote for a failed API call."""
    cost_usd: int | float | None = None
    """``costUSD``: the cost older versions logged."""


_decode_line = msgspec.json.Decoder(ClaudeLine).decode


def claude_line_request(
    data: bytes, fallback_session: str, file_key: str, line_number: int
) -> Request | str | None:
    """Read one raw log line with the typed decoder; return what :func:`claude_request` would.

    Raises:
        ValueError: the line is not valid UTF-8, not a JSON object, or one of the fields read
            has another type than usual (``msgspec.ValidationError`` is a ``ValueError``): the
            caller parses it with ``json`` and hands the object to :func:`claude_request`.
    """
    if not data.isascii():
        data.decode()  # invalid UTF-8 anywhere makes the line not JSON, as json.loads says
    return _line_request(_decode_line(data), fallback_session, file_key, line_number)


def claude_request(
    obj: dict[str, Any], fallback_session: str, file_key: str, line_number: int
) -> Request | str | None:
    """Return the request a parsed line records, a skip reason, or ``None`` for a line without
    usage (user messages, summaries, tool results).

    ``fallback_session`` names the session when the line has no ``sessionId``;
    A message without an id is identified by ``file_key`` and its ``line_number``. A field of
    an unexpected type counts as absent, except a token count: that makes the usage unusable.
    """
    message = obj.get("message")
    usage = message.get("usage") if type(message) is dict else None
    line = ClaudeLine(
        message=ClaudeMessage(
            id=_text(message.get("id")),
            model=_text(message.get("model")),
            usage=ClaudeUsage(
                input_tokens=_whole(usage.get("input_tokens")),
                output_tokens=_whole(usage.get("output_tokens")),
                cache_read_input_tokens=_whole(usage.get("cache_read_input_tokens", 0)),
                cache_creation_input_tokens=_whole(usage.get("cache_creation_input_tokens", 0)),
            )
            if type(usage) is dict
            else None,
        )
        if type(message) is dict
        else None,
        timestamp=_text(obj.get("timestamp")),
        session_id=_text(obj.get("sessionId")),
        request_id=_text(obj.get("requestId")),
        cwd=_text(obj.get("cwd")),
        git_branch=_text(obj.get("gitBranch")),
        is_sidechain=obj.get("isSidechain") is True,
        is_api_error=obj.get("isApiErrorMessage") is True,
        cost_usd=_cost(obj.get("costUSD")),
    )
    return _line_request(line, fallback_session, file_key, line_number)


def _text(value: object) -> str | None:
    return value if type(value) is str else None


def _whole(value: object) -> int:
    # Exact int check: bool is an int subclass, and JSON floats are not counts.
    return value if type(value) is int else UNUSABLE


def _line_request(
    line: ClaudeLine, fallback_session: str, file_key: str, line_number: int
) -> Request | str | None:
    message = line.message
    if message is None:
        return None
    usage = message.usage
    if usage is None:
        return None
    model = message.model
    if model == SYNTHETIC_MODEL:
        return SYNTHETIC
    if line.is_api_error:
        return API_ERROR
    fresh = usage.input_tokens
    output = usage.output_tokens
    cache_read = usage.cache_read_input_tokens
    cache_write = usage.cache_creation_input_tokens
    if fresh < 0 or output < 0 or cache_read < 0 or cache_write < 0:
        return BAD_USAGE
    moment = timestamp_us(line.timestamp)
    if moment is None:
        return BAD_USAGE
    message_id = message.id
    request_id = line.request_id
    if message_id:
        key = f"cc:{message_id}:{request_id}" if request_id is not None else f"cc:{message_id}"
    else:
        key = f"cc:{file_key}:{line_number}"
    cost = line.cost_usd
    # Positional: one is built per request line.
    return Request(
        key,
        SOURCE,
        line.session_id or fallback_session,
        moment,
        model or None,
        line.cwd or None,
        line.git_branch or None,
        fresh + cache_read + cache_write,
        output,
        cache_read,
        cache_write,
        None,
        None if cost is None else _cost(cost),
        line.is_sidechain,
    )


def _cost(value: object) -> float | None:
    """``costUSD`` when it is a plausible dollar amount, else ``None``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0 <= value < 1e9 else None
