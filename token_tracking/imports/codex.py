"""Codex's logs: one JSON object per line, in ``$CODEX_HOME/sessions`` and ``archived_sessions``.

``type: "session_meta"`` names the session (``payload.id``, ``payload.cwd``,
``payload.git.branch``); ``type: "turn_context"`` carries the model (``payload.model``);
``type: "event_msg"`` with ``payload.type: "token_count"`` carries ``payload.info`` with
``last_token_usage`` (the turn's delta) and ``total_token_usage`` (cumulative), each
``{input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens, total_tokens}``.
Cached tokens are part of input, reasoning part of output. The deltas are counted; an event
whose cumulative total did not change repeats the previous one and is skipped. A forked or
sub-agent file replays another file's events with the same timestamp, model and counts: they
share the request key, so they are recorded once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from token_tracking.imports.model import BAD_USAGE, UNCHANGED_TOTAL, Request
from token_tracking.imports.timestamps import timestamp_us

SOURCE = "codex"

_FIELDS = ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens")


def may_matter(data: bytes) -> bool:
    """Whether a raw line can change the state or record a request: it names one of the types
    read here (``"session_meta"``, ``"turn_context"``, ``"token_count"``), or holds a ``\\u``
    escape, which could spell one. Exact: a line this rejects needs no parsing."""
    # find() rather than `in`: see claude_code.may_carry_usage.
    return (
        data.find(b'"token_count"') != -1
        or data.find(b'"turn_context"') != -1
        or data.find(b'"session_meta"') != -1
        or data.find(b"\\u") != -1
    )


def is_codex_line(obj: dict[str, Any]) -> bool:
    """Whether a parsed line looks like Codex's."""
    return obj.get("type") in ("session_meta", "turn_context", "event_msg", "response_item")


@dataclass
class CodexState:
    """What a Codex file has said so far, carried from one import to the next."""

    session_id: str
    """``session_meta.payload.id``, else the file name."""
    model: str | None = None
    """The latest ``turn_context`` model."""
    cwd: str | None = None
    """The latest working folder."""
    branch: str | None = None
    """``session_meta.payload.git.branch``."""
    total: int | None = None
    """The latest cumulative ``total_tokens``."""
    cumulative: tuple[int, ...] | None = None
    """The latest cumulative counts (in ``_FIELDS`` order), to derive a delta the log lacks."""

    def to_json(self) -> dict[str, Any]:
        """The state as stored in the ledger between imports."""
        return {
            "session_id": self.session_id,
            "model": self.model,
            "cwd": self.cwd,
            "branch": self.branch,
            "total": self.total,
            "cumulative": list(self.cumulative) if self.cumulative is not None else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], fallback_session: str) -> CodexState:
        """Read a stored state back (unknown or bad values become unknown)."""
        cumulative = data.get("cumulative")
        return cls(
            session_id=_text(data.get("session_id")) or fallback_session,
            model=_text(data.get("model")),
            cwd=_text(data.get("cwd")),
            branch=_text(data.get("branch")),
            total=data["total"] if type(data.get("total")) is int else None,
            cumulative=tuple(cumulative)
            if isinstance(cumulative, list) and all(type(v) is int for v in cumulative)
            else None,
        )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _counts(usage: object) -> tuple[int, ...] | None:
    if not isinstance(usage, dict):
        return None
    values = tuple(usage.get(name, 0) for name in _FIELDS)
    if any(type(value) is not int or value < 0 for value in values):
        return None
    return values


def codex_request(obj: dict[str, Any], state: CodexState) -> Request | str | None:
    """Update ``state`` from a parsed line; return the request it records, a skip reason, or
    ``None`` for a line without token counts."""
    kind = obj.get("type")
    payload = obj.get("payload")
    if not isinstance(payload, dict):
        return None
    if kind == "session_meta":
        state.session_id = _text(payload.get("id")) or state.session_id
        state.cwd = _text(payload.get("cwd")) or state.cwd
        git = payload.get("git")
        if isinstance(git, dict):
            state.branch = _text(git.get("branch")) or state.branch
        return None
    if kind == "turn_context":
        state.model = _text(payload.get("model")) or state.model
        state.cwd = _text(payload.get("cwd")) or state.cwd
        return None
    if kind != "event_msg" or payload.get("type") != "token_count":
        return None
    info = payload.get("info")
    if not isinstance(info, dict):
        return None  # a rate-limit-only event
    cumulative = _counts(info.get("total_token_usage"))
    total = info.get("total_token_usage", {}).get("total_tokens") if cumulative else None
    if cumulative is not None and type(total) is int:
        if total == state.total:
            return UNCHANGED_TOTAL
    delta = _counts(info.get("last_token_usage"))
    if delta is None and "last_token_usage" in info and info["last_token_usage"] is not None:
        return BAD_USAGE
    if delta is None:
        if cumulative is None:
            return BAD_USAGE
        previous = state.cumulative or (0,) * len(_FIELDS)
        delta = tuple(now - before for now, before in zip(cumulative, previous, strict=True))
        if any(value < 0 for value in delta):
            return BAD_USAGE
    moment = timestamp_us(obj.get("timestamp"))
    if moment is None:
        return BAD_USAGE
    if cumulative is not None:
        state.cumulative = cumulative
        state.total = total if type(total) is int else sum(cumulative[i] for i in (0, 2))
    fresh, cached, output, reasoning = delta
    key = f"codex:{obj.get('timestamp')}:{state.model}:{fresh}:{cached}:{output}:{reasoning}"
    return Request(
        key=key,
        source=SOURCE,
        session_id=state.session_id,
        ts_us=moment,
        model=state.model,
        cwd=state.cwd,
        branch=state.branch,
        prompt_tokens=fresh,
        completion_tokens=output,
        cached_tokens=cached,
        cache_write_tokens=None,
        reasoning_tokens=reasoning,
    )
