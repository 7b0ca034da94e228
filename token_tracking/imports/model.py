"""What the log readers produce and what an import reports.

A reader turns a log line (or a Gemini chat message) into a :class:`Request` with the product's
token semantics: ``prompt`` counts every input token (cache reads and writes included),
``completion`` every output token (reasoning included); a count the log does not give is ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec
from pydantic import Field

from token_tracking.records import DeferredModel

SOURCES = ("claude-code", "codex", "gemini")
"""The coding agents whose logs ``tokens import`` reads; each is a ledger ``source``."""

MAX_LINE_BYTES = 10 * 1024 * 1024
"""A log line longer than this (10 MB) is skipped with a warning instead of being parsed."""

# Why a line or a file was not imported (the keys of ImportSummary.skipped).
NOT_JSON = "not_json"
NOT_A_LOG = "not_a_log"
LINE_TOO_LONG = "line_too_long"
UNREADABLE = "unreadable"
SYMLINK_LOOP = "symlink_loop"
BAD_USAGE = "bad_usage"
SYNTHETIC = "synthetic"
API_ERROR = "api_error"
SIDECHAIN_REPLAY = "sidechain_replay"
UNCHANGED_TOTAL = "unchanged_total"
BEFORE_SINCE = "before_since"


class Request(msgspec.Struct, gc=False):
    """One request read from a coding agent's log, normalised.

    A msgspec struct rather than a dataclass: one is built per log line with usage, and its
    constructor runs in C (a third of a dataclass's cost); it holds no containers, so the
    garbage collector need not track it.
    """

    key: str
    """Its identity across lines, files and imports (source, message id, request id …)."""
    source: str
    """``claude-code``, ``codex`` or ``gemini``."""
    session_id: str
    """The agent's session id."""
    ts_us: int
    """When it happened: microseconds since the Unix epoch (UTC)."""
    model: str | None
    """The model the log names; ``None`` when it names none (the cost is then unknown)."""
    cwd: str | None
    """The folder the agent ran in, when logged."""
    branch: str | None
    """The git branch the agent logged, else ``None`` (unknown, never guessed)."""
    prompt_tokens: int
    """All input tokens, cache reads and writes included."""
    completion_tokens: int
    """All output tokens, reasoning included."""
    cached_tokens: int | None
    """The part of ``prompt_tokens`` read from a prompt cache."""
    cache_write_tokens: int | None
    """The part of ``prompt_tokens`` written to a prompt cache."""
    reasoning_tokens: int | None
    """The part of ``completion_tokens`` spent on reasoning."""
    reported_cost_usd: float | None = None
    """The cost the log itself states (Claude Code's ``costUSD``), kept beside the computed one."""
    sidechain: bool = False
    """A Claude Code sidechain line: dropped when it replays a request already seen."""

    @property
    def total_tokens(self) -> int:
        """``prompt + completion``: the size compared when a later snapshot arrives."""
        return self.prompt_tokens + self.completion_tokens


@dataclass
class Problems:
    """The warnings of one import (one per skipped file or line) and the skip counts."""

    warnings: list[str] = field(default_factory=list)
    """One line each, naming the file (and line)."""
    skipped: dict[str, int] = field(default_factory=dict)
    """How many lines or files were skipped, per reason."""

    def skip(self, reason: str, warning: str | None = None) -> None:
        """Count one skipped line or file; ``warning`` (naming it) is shown to the user."""
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        if warning is not None:
            self.warnings.append(warning)


class ImportSummary(DeferredModel):
    """What one ``tokens import`` added to the ledger (the ``--json`` document)."""

    files: int = 0
    """Log files read (wholly or from their last offset)."""
    requests: int = 0
    """New requests recorded."""
    duplicates: int = 0
    """Lines that repeat a request already recorded (snapshots, replays of forked sessions);
    a later snapshot with larger usage replaces the recorded one and counts here too."""
    skipped: dict[str, int] = Field(default_factory=dict)
    """Lines and files left out, per reason."""
    prompt_tokens: int = 0
    """Input tokens added (cache reads and writes included)."""
    completion_tokens: int = 0
    """Output tokens added (reasoning included)."""
    cached_tokens: int = 0
    """Cache-read input tokens added."""
    cache_write_tokens: int = 0
    """Cache-write input tokens added."""
    reasoning_tokens: int = 0
    """Reasoning output tokens added."""
    cost_usd: float | None = None
    """Computed cost added; ``None`` when nothing added could be priced, a lower bound when some
    requests' models have no known price."""
