"""Coding-agent log files for the import tests, written from the formats' field lists.

Lines are written the way the agents write them (compact JSON) unless a test asks for spaces
after separators, keys in another order, or extra fields: the reader parses JSON, so none of
that may change a count.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SONNET = "claude-sonnet-4-20250514"


def line(obj: dict[str, Any], *, spaced: bool = False, reverse: bool = False) -> str:
    """One JSON line: compact, or with spaces after separators; keys reversed if asked."""
    if reverse:
        obj = dict(reversed(list(obj.items())))
    if spaced:
        return json.dumps(obj) + "\n"
    return json.dumps(obj, separators=(",", ":")) + "\n"


def claude_line(
    *,
    session: str,
    ts: str,
    message_id: str,
    request_id: str | None,
    fresh: int,
    output: int,
    cache_read: int = 0,
    cache_write: int = 0,
    model: str = SONNET,
    cwd: str | None = None,
    branch: str | None = "main",
    sidechain: bool = False,
    api_error: bool = False,
    cost: float | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Claude Code assistant line with usage."""
    obj: dict[str, Any] = {
        "parentUuid": None,
        "isSidechain": sidechain,
        "type": "assistant",
        "sessionId": session,
        "timestamp": ts,
        "message": {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": "ok"}],
            "usage": {
                "input_tokens": fresh,
                "cache_creation_input_tokens": cache_write,
                "cache_read_input_tokens": cache_read,
                "cache_creation": {
                    "ephemeral_5m_input_tokens": cache_write,
                    "ephemeral_1h_input_tokens": 0,
                },
                "output_tokens": output,
            },
        },
    }
    if request_id is not None:
        obj["requestId"] = request_id
    if cwd is not None:
        obj["cwd"] = cwd
    if branch is not None:
        obj["gitBranch"] = branch
    if api_error:
        obj["isApiErrorMessage"] = True
    if cost is not None:
        obj["costUSD"] = cost
    if extra:
        obj.update(extra)
    return obj


def codex_usage(fresh: int, cached: int, output: int, reasoning: int) -> dict[str, int]:
    """A Codex usage object (cached is part of input, reasoning part of output)."""
    return {
        "input_tokens": fresh,
        "cached_input_tokens": cached,
        "output_tokens": output,
        "reasoning_output_tokens": reasoning,
        "total_tokens": fresh + output,
    }


def codex_meta(session: str, cwd: str, branch: str | None = "feature/x") -> dict[str, Any]:
    """Codex's first line: the session's id, folder and git state."""
    payload: dict[str, Any] = {
        "id": session,
        "timestamp": "2026-12-01T10:00:00.000Z",
        "cwd": cwd,
        "originator": "codex_cli_rs",
        "cli_version": "0.50.0",
    }
    if branch is not None:
        payload["git"] = {"commit_hash": "abc", "branch": branch}
    return {"timestamp": "2026-12-01T10:00:00.000Z", "type": "session_meta", "payload": payload}


def codex_turn(ts: str, model: str, cwd: str) -> dict[str, Any]:
    """A Codex turn context naming the model."""
    return {
        "timestamp": ts,
        "type": "turn_context",
        "payload": {
            "cwd": cwd,
            "approval_policy": "on-request",
            "model": model,
            "effort": "medium",
        },
    }


def codex_count(
    ts: str, last: dict[str, int] | None, total: dict[str, int] | None
) -> dict[str, Any]:
    """A Codex token-count event (``info`` null when both are None)."""
    info = None
    if last is not None or total is not None:
        info = {
            "last_token_usage": last,
            "total_token_usage": total,
            "model_context_window": 272000,
        }
    return {
        "timestamp": ts,
        "type": "event_msg",
        "payload": {"type": "token_count", "info": info, "rate_limits": {"primary": None}},
    }


def write(path: Path, *lines: str, tail: str = "") -> Path:
    """Write ``lines`` (each ending in a newline) and then ``tail`` (a line still being written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines) + tail)
    return path
