"""Gemini CLI's chat files: one JSON document per session in ``~/.gemini/tmp/<project>/chats``.

A file holds ``sessionId``, ``projectHash`` and ``messages``; a model reply
(``type: "gemini"``) carries ``id``, ``timestamp``, ``model`` and ``tokens`` with its
per-message counts: ``input`` (or ``prompt``), ``output`` (or ``candidates``), ``cached``,
``thoughts`` and ``tool``. Thoughts are reasoning, counted in the completion; cached tokens are
part of the prompt; tool-use prompt tokens are input, counted in the prompt. Gemini CLI rewrites
the whole file as the chat goes on, so a changed file is read again and its messages are
recorded once each, by message id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import Any

from token_tracking.imports.model import BAD_USAGE, Request
from token_tracking.imports.timestamps import timestamp_us

SOURCE = "gemini"


def is_gemini_chat(obj: object) -> bool:
    """Whether a parsed file looks like a Gemini CLI chat."""
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("messages"), list)
        and ("sessionId" in obj or "projectHash" in obj)
    )


def project_hash(path: str) -> str:
    """Gemini CLI's name for a project folder: the SHA-256 of its path."""
    return hashlib.sha256(path.encode()).hexdigest()


def _count(tokens: dict[str, Any], *names: str) -> int | str | None:
    for name in names:
        if name in tokens:
            value = tokens[name]
            if type(value) is not int or value < 0:
                return BAD_USAGE
            return value
    return None


def gemini_requests(
    chat: dict[str, Any], fallback_session: str, projects: Iterable[str]
) -> Iterator[Request | str]:
    """Yield the request of each model reply with token counts in a chat, or a skip reason.

    ``projects`` are folders the chat may belong to: the one whose hash is the chat's
    ``projectHash`` becomes its working folder (else it stays unknown).
    """
    session = chat.get("sessionId")
    session_id = session if isinstance(session, str) and session else fallback_session
    wanted = chat.get("projectHash")
    cwd = next((p for p in projects if project_hash(p) == wanted), None)
    for message in chat.get("messages", ()):
        if not isinstance(message, dict):
            continue
        tokens = message.get("tokens")
        if not isinstance(tokens, dict):
            continue
        prompt = _count(tokens, "input", "prompt")
        output = _count(tokens, "output", "candidates")
        cached = _count(tokens, "cached")
        thoughts = _count(tokens, "thoughts")
        tool = _count(tokens, "tool")
        values = (prompt, output, cached, thoughts, tool)
        if BAD_USAGE in values or prompt is None or output is None:
            yield BAD_USAGE
            continue
        moment = timestamp_us(message.get("timestamp"))
        message_id = message.get("id")
        if moment is None or not isinstance(message_id, str):
            yield BAD_USAGE
            continue
        assert isinstance(prompt, int) and isinstance(output, int)
        model = message.get("model")
        extra_prompt = tool if isinstance(tool, int) else 0
        reasoning = thoughts if isinstance(thoughts, int) else None
        yield Request(
            key=f"gemini:{session_id}:{message_id}",
            source=SOURCE,
            session_id=session_id,
            ts_us=moment,
            model=model if isinstance(model, str) and model else None,
            cwd=cwd,
            branch=None,
            prompt_tokens=prompt + extra_prompt,
            completion_tokens=output + (reasoning if reasoning is not None else 0),
            cached_tokens=cached if isinstance(cached, int) else None,
            cache_write_tokens=None,
            reasoning_tokens=reasoning,
        )
