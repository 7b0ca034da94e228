"""Claude Code's logs: one JSON object per line, in ``<config dir>/projects/<project>/*.jsonl``.

A line with usage is an assistant message: ``message.id``, ``message.model`` and
``message.usage.{input_tokens, output_tokens, cache_creation_input_tokens,
cache_read_input_tokens}``, beside ``timestamp``, ``sessionId``, ``requestId``, ``cwd``,
``gitBranch``, ``isSidechain``, ``isApiErrorMessage`` and (older versions) ``costUSD``.
Prompt = input + cache read + cache creation; completion = output. One request per
(``message.id``, ``requestId``) — per ``message.id`` without a request id: streaming writes
several snapshots of one message, and the one with the largest usage is kept. Lines of the
``<synthetic>`` model and API-error lines are not requests.
"""

from __future__ import annotations

from typing import Any

from token_tracking.imports.model import API_ERROR, BAD_USAGE, SYNTHETIC, Request
from token_tracking.imports.timestamps import timestamp_us

SOURCE = "claude-code"

SYNTHETIC_MODEL = "<synthetic>"
"""The model name Claude Code gives messages it made up itself (no API call)."""


def may_carry_usage(data: bytes) -> bool:
    """Whether a raw line can hold usage: it names the key ``"usage"`` (spacing and key order do
    not matter), or holds a ``\\u`` escape, which could spell that key. Exact: a line this
    rejects never carries usage, so it needs no parsing."""
    return b'"usage"' in data or b"\\u" in data


def is_claude_line(obj: dict[str, Any]) -> bool:
    """Whether a parsed line looks like Claude Code's (a session line or a summary)."""
    return "sessionId" in obj or obj.get("type") in ("summary", "user", "assistant")


def claude_request(
    obj: dict[str, Any], fallback_session: str, file_key: str, line_number: int
) -> Request | str | None:
    """Return the request a parsed line records, a skip reason, or ``None`` for a line without
    usage (user messages, summaries, tool results).

    ``fallback_session`` names the session when the line has no ``sessionId``;
    A message without an id is identified by ``file_key`` and its ``line_number``.
    """
    message = obj.get("message")
    if type(message) is not dict:
        return None
    usage = message.get("usage")
    if type(usage) is not dict:
        return None
    model = message.get("model")
    if model == SYNTHETIC_MODEL:
        return SYNTHETIC
    if obj.get("isApiErrorMessage") is True:
        return API_ERROR
    fresh = usage.get("input_tokens")
    output = usage.get("output_tokens")
    cache_read = usage.get("cache_read_input_tokens", 0)
    cache_write = usage.get("cache_creation_input_tokens", 0)
    # Exact int checks (bool is an int subclass; JSON floats are not counts).
    if not (
        type(fresh) is int
        and type(output) is int
        and type(cache_read) is int
        and type(cache_write) is int
        and fresh >= 0
        and output >= 0
        and cache_read >= 0
        and cache_write >= 0
    ):
        return BAD_USAGE
    moment = timestamp_us(obj.get("timestamp"))
    if moment is None:
        return BAD_USAGE
    message_id = message.get("id")
    request_id = obj.get("requestId")
    if type(message_id) is str and message_id:
        key = f"cc:{message_id}:{request_id}" if type(request_id) is str else f"cc:{message_id}"
    else:
        key = f"cc:{file_key}:{line_number}"
    session = obj.get("sessionId")
    cwd = obj.get("cwd")
    branch = obj.get("gitBranch")
    cost = obj.get("costUSD")
    # Positional: one is built per request line.
    return Request(
        key,
        SOURCE,
        session if type(session) is str and session else fallback_session,
        moment,
        model if type(model) is str and model else None,
        cwd if type(cwd) is str and cwd else None,
        branch if type(branch) is str and branch else None,
        fresh + cache_read + cache_write,
        output,
        cache_read,
        cache_write,
        None,
        None if cost is None else _cost(cost),
        obj.get("isSidechain") is True,
    )


def _cost(value: object) -> float | None:
    """``costUSD`` when it is a plausible dollar amount, else ``None``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0 <= value < 1e9 else None
