"""The usage records: one normalized usage per LLM request, per-agent sums, and the parts of a
session report (git state, pricing notes, intervals). The report itself is
:class:`token_tracking.reports.file.TokenUsageReport`.

Token semantics follow the OpenTelemetry GenAI conventions:

- ``prompt_tokens`` counts *all* input tokens billed, including cache reads and cache writes;
  ``cached_tokens`` and ``cache_write_tokens`` are parts of it.
- ``completion_tokens`` counts all output tokens, including reasoning; ``reasoning_tokens`` is a
  part of it.
- A count the provider did not return is ``None``, never ``0``.

Every key added since memory-banker 0.1 has a default, so 0.1 files load with these models.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

logger = logging.getLogger(__name__)


class DeferredModel(BaseModel):
    """The base of every pydantic model here: a model's schema, validator and serializer are
    built on its first use instead of at import, so a command pays only for the models it
    uses (an offline run uses 7 of 27)."""

    model_config = ConfigDict(defer_build=True)


ReportStatus = Literal["success", "partial", "failed", "interrupted", "budget_exceeded"]
ReportSource = Literal[
    "llm", "offline", "manual", "import", "claude-code", "codex", "gemini", "fetch-limits"
]


def invariant_problems(
    prompt_tokens: int | None,
    completion_tokens: int | None,
    cached_tokens: int | None,
    cache_write_tokens: int | None,
    reasoning_tokens: int | None,
) -> list[str]:
    """Return the invariants these counts break (empty when they hold).

    The invariants: ``cached + cache_write <= prompt``, ``reasoning <= completion``, and no count
    is negative; unknown counts break nothing.
    """
    problems: list[str] = []
    if prompt_tokens is not None:
        parts = [n for n in (cached_tokens, cache_write_tokens) if n is not None]
        if parts and sum(parts) > prompt_tokens:
            problems.append(
                f"cached ({cached_tokens}) + cache-write ({cache_write_tokens}) tokens exceed "
                f"prompt tokens ({prompt_tokens})"
            )
    if (
        completion_tokens is not None
        and reasoning_tokens is not None
        and reasoning_tokens > completion_tokens
    ):
        problems.append(
            f"reasoning tokens ({reasoning_tokens}) exceed completion tokens ({completion_tokens})"
        )
    for name, value in (
        ("prompt", prompt_tokens),
        ("completion", completion_tokens),
        ("cached", cached_tokens),
        ("cache-write", cache_write_tokens),
        ("reasoning", reasoning_tokens),
    ):
        if value is not None and value < 0:
            problems.append(f"{name} tokens are negative ({value})")
    return problems


def local_if_naive(value: datetime | None) -> datetime | None:
    """Return ``value`` with a UTC offset: a naive time (0.1 reports, run-directory lines written
    by other tools) is local."""
    if value is None or value.tzinfo is not None:
        return value
    return value.astimezone()


class RequestUsage(DeferredModel):
    """The normalized usage of one LLM request (one line of the journal)."""

    model_config = ConfigDict(extra="ignore")

    timestamp: datetime
    """When the response arrived (timezone-aware)."""
    agent_name: str | None = None
    """The agent (or operation) that made the request."""
    model: str | None = None
    """The model the request was priced as: ``response_model`` when the price table resolves it,
    else ``request_model``; ``None`` when neither is known."""
    request_model: str | None = None
    """The model name the request asked for (``None`` when the SDK did not say)."""
    response_model: str | None = None
    """The model name the provider's response gave (often a dated name for an alias)."""
    response_id: str | None = None
    """The provider's id of the response; one response is recorded once."""
    request_id: str | None = None
    """The provider's request id (``x-request-id``, ``request-id``), when it sent one."""
    prompt_tokens: int | None = None
    """All input tokens billed, including cache reads and cache writes."""
    completion_tokens: int | None = None
    """All output tokens, including reasoning tokens."""
    cached_tokens: int | None = None
    """The part of ``prompt_tokens`` read from a prompt cache."""
    cache_write_tokens: int | None = None
    """The part of ``prompt_tokens`` written to a prompt cache."""
    reasoning_tokens: int | None = None
    """The part of ``completion_tokens`` spent on reasoning."""
    requests: int = 1
    """LLM requests this record stands for (one per model call)."""
    duration_seconds: float | None = None
    """Wall time of the request, in seconds, when known."""
    cost_usd: float | None = None
    """Cost in USD: an estimate from the price table, or the actual cost when ``cost_is_actual``."""
    cost_is_actual: bool = False
    """True when ``cost_usd`` was given by the caller or provider instead of estimated."""
    unpriced_tokens: int | None = None
    """Tokens the estimate prices at $0 because the table has no rate for them (cached tokens of
    a model without a cache-read rate): they count as unpriced in ``priced_coverage``."""
    iteration: int | None = None
    """Iteration number, for run-directory logging (``TokenTracker.log_usage``)."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Free-form metadata supplied by the caller (never API keys or headers)."""

    _aware_timestamp = field_validator("timestamp")(local_if_naive)

    @property
    def total_tokens(self) -> int | None:
        """``prompt_tokens + completion_tokens``; ``None`` when either is unknown."""
        if self.prompt_tokens is None or self.completion_tokens is None:
            return None
        return self.prompt_tokens + self.completion_tokens

    @property
    def usage_unknown(self) -> bool:
        """True when the provider returned no usage for these requests (both counts unknown)."""
        return self.prompt_tokens is None and self.completion_tokens is None and self.requests > 0

    def check_invariants(self) -> list[str]:
        """Log a warning for each broken invariant (see :func:`invariant_problems`) and return
        them; the counts are kept as given, never 'fixed'."""
        problems = invariant_problems(
            self.prompt_tokens,
            self.completion_tokens,
            self.cached_tokens,
            self.cache_write_tokens,
            self.reasoning_tokens,
        )
        for problem in problems:
            logger.warning("usage of %s kept as given: %s", self.agent_name or "request", problem)
        return problems


class AgentUsage(DeferredModel):
    """What one agent run spent. memory-banker 0.1's keys first, then the ones added since."""

    model_config = ConfigDict(extra="ignore")

    agent_name: str
    """The agent's name, e.g. ``projectbrief``."""
    prompt_tokens: int | None = None
    """All input tokens of the agent's requests, cache reads and writes included."""
    completion_tokens: int | None = None
    """All output tokens of the agent's requests, reasoning included."""
    total_tokens: int | None = None
    """``prompt_tokens + completion_tokens``."""
    model: str | None = None
    """The model the agent ran on."""
    start_time: datetime | None = None
    """When the agent started (ISO 8601 with offset; naive times in 0.1 files are local)."""
    end_time: datetime | None = None
    """When the agent finished."""
    duration_seconds: float | None = None
    """Wall time from agent start to end, in seconds."""
    success: bool = False
    """True only when the agent finished and its output was accepted."""
    error: str | None = None
    """Why the agent failed; ``None`` on success."""
    cached_tokens: int | None = None
    """The part of ``prompt_tokens`` read from a prompt cache."""
    cache_write_tokens: int | None = None
    """The part of ``prompt_tokens`` written to a prompt cache."""
    reasoning_tokens: int | None = None
    """The part of ``completion_tokens`` spent on reasoning."""
    requests: int | None = None
    """LLM requests the agent made (``None`` in 0.1 reports)."""
    cost_usd: float | None = None
    """The agent's cost in USD; ``None`` when a price is unknown."""
    output_file: str | None = None
    """The memory-bank file the agent wrote (relative to the project), if it wrote one."""

    _aware_times = field_validator("start_time", "end_time")(local_if_naive)


class GitInfo(DeferredModel):
    """Where the project stood in git when the session ran."""

    model_config = ConfigDict(extra="ignore")

    branch: str | None = None
    """Current branch name (``None`` outside git or detached)."""
    commit: str | None = None
    """Full hash of ``HEAD``."""
    dirty: bool | None = None
    """True when the work tree had uncommitted changes."""
    remote: str | None = None
    """URL of the ``origin`` remote, credentials stripped."""
    user_email: str | None = None
    """``git config user.email``."""


class ModelPricing(DeferredModel):
    """How one model of the session was priced."""

    model_config = ConfigDict(extra="ignore")

    model: str
    """The model name as used in the session."""
    matched_key: str | None = None
    """The price-table key it resolved to; ``None`` when unknown."""
    tier: str | None = None
    """The tier applied, e.g. ``above_200k_tokens``; ``None`` for base rates."""
    custom: bool = False
    """True when the price came from a custom pricing file or environment override."""
    suggestions: list[str] = Field(default_factory=list)
    """Close known models, when the model was not found."""
    reason: str | None = None
    """Why a model whose name is known has no price (no per-token rate in the table); ``None``
    for a priced model and for an unknown name (see ``suggestions``)."""
    lower_bound_reason: str | None = None
    """Why the model's cost is only a lower bound although it is priced (cached tokens of a
    model whose table entry has no cache-read rate); ``None`` otherwise."""


class PricingInfo(DeferredModel):
    """The price table a report was priced with."""

    model_config = ConfigDict(extra="ignore")

    source: str = "litellm"
    """Where the rates came from: ``litellm`` (its bundled JSON), plus custom files when used."""
    version: str | None = None
    """The table's version (the installed litellm version)."""
    models: list[ModelPricing] = Field(default_factory=list)
    """Per model: the key matched, the tier applied, whether custom."""


class IntervalUsage(DeferredModel):
    """Usage within one fixed interval (``TOKEN_INTERVAL_MINUTES``) of a session."""

    model_config = ConfigDict(extra="ignore")

    index: int
    """1-based interval number."""
    start: datetime
    """When the interval began."""
    duration_seconds: float
    """Interval length; the last one may be partial."""
    prompt_tokens: int = 0
    """Input tokens of the requests that ended in this interval."""
    completion_tokens: int = 0
    """Output tokens of the requests that ended in this interval."""
    total_tokens: int = 0
    """``prompt_tokens + completion_tokens``."""
    cost_usd: float | None = None
    """Cost of those requests; ``None`` when any price is unknown."""
    requests: int = 0
    """Requests that ended in this interval."""

    _aware_start = field_validator("start")(local_if_naive)
