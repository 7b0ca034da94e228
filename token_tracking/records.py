"""The persisted records: one normalized usage per LLM request, per-agent sums, the session report.

Token semantics follow DESIGN §3 (the OpenTelemetry GenAI conventions):

- ``prompt_tokens`` counts *all* input tokens billed, including cache reads and cache writes;
  ``cached_tokens`` and ``cache_write_tokens`` are parts of it.
- ``completion_tokens`` counts all output tokens, including reasoning; ``reasoning_tokens`` is a
  part of it.
- A count the provider did not return is ``None``, never ``0``.

These models are the one serializer of the report file, of ``--json`` output and of ``load``.
Reports written by memory-banker 0.1 (no ``schema_version``) load with the same model: every key
added since has a default.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

if TYPE_CHECKING:
    from rich.console import Console

    from pricing import PriceBook

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
"""The ``schema_version`` written into new report files."""

ReportStatus = Literal["success", "partial", "failed", "interrupted", "budget_exceeded"]
ReportSource = Literal["llm", "offline", "manual", "import"]


def invariant_problems(
    prompt_tokens: int | None,
    completion_tokens: int | None,
    cached_tokens: int | None,
    cache_write_tokens: int | None,
    reasoning_tokens: int | None,
) -> list[str]:
    """Return the DESIGN §3 invariants these counts break (empty when they hold).

    ``cached + cache_write <= prompt`` and ``reasoning <= completion``; unknown counts break
    nothing.
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
    """Return ``value`` with a UTC offset: a naive time (0.1 reports, seed 004 lines) is local."""
    if value is None or value.tzinfo is not None:
        return value
    return value.astimezone()


def sum_counts(values: Iterable[int | None]) -> int | None:
    """Sum the known counts; ``None`` when every count is unknown (or there is none).

    A partly known sum is the sum of the known counts: the report shows what the providers
    returned and never fills a gap with a guess.
    """
    known = [value for value in values if value is not None]
    if not known:
        return None
    return sum(known)


class RequestUsage(BaseModel):
    """The normalized usage of one LLM request (one line of the journal)."""

    model_config = ConfigDict(extra="ignore")

    timestamp: datetime
    """When the response arrived (timezone-aware)."""
    agent_name: str | None = None
    """The agent (or operation) that made the request."""
    model: str | None = None
    """The model name as the caller gave it; ``None`` when the SDK did not say."""
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
    iteration: int | None = None
    """Iteration number, for run-directory (seed 004) style logging."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Free-form metadata supplied by the caller (never API keys or headers)."""

    _aware_timestamp = field_validator("timestamp")(local_if_naive)

    @property
    def total_tokens(self) -> int | None:
        """``prompt_tokens + completion_tokens``; ``None`` when either is unknown."""
        if self.prompt_tokens is None or self.completion_tokens is None:
            return None
        return self.prompt_tokens + self.completion_tokens

    def check_invariants(self) -> list[str]:
        """Log a warning for each broken DESIGN §3 invariant and return them; never 'fix' them."""
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


class AgentUsage(BaseModel):
    """What one agent run spent. Seed 002's keys first, then the DESIGN §4 extras."""

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


class GitInfo(BaseModel):
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


class ModelPricing(BaseModel):
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


class PricingInfo(BaseModel):
    """The price table a report was priced with."""

    model_config = ConfigDict(extra="ignore")

    source: str = "litellm"
    """Where the rates came from: ``litellm`` (its bundled JSON), plus custom files when used."""
    version: str | None = None
    """The table's version (the installed litellm version)."""
    models: list[ModelPricing] = Field(default_factory=list)
    """Per model: the key matched, the tier applied, whether custom."""


class IntervalUsage(BaseModel):
    """Usage within one fixed interval of a session (seed 000)."""

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


class TokenUsageReport(BaseModel):
    """The report of one session: seed 002's keys unchanged, plus the DESIGN §4 additions."""

    model_config = ConfigDict(extra="ignore")

    session_id: str
    """Unique id of the session (a UUID)."""
    project_path: str
    """Resolved path of the project."""
    model: str | None = None
    """The session's model (``offline`` for the offline engine)."""
    command: str
    """The command that ran: ``init``, ``update``, ``refresh``, ``manual``, or an app's own name."""
    start_time: datetime
    """Session start (ISO 8601 with offset; naive times in 0.1 files are local)."""
    end_time: datetime
    """Session end; "latest report" means the greatest ``end_time``."""
    total_duration_seconds: float
    """Wall time of the session, in seconds."""
    total_prompt_tokens: int = 0
    """Sum of the agents' prompt tokens (cache reads and writes included)."""
    total_completion_tokens: int = 0
    """Sum of the agents' completion tokens (reasoning included)."""
    total_tokens: int = 0
    """``total_prompt_tokens + total_completion_tokens``."""
    total_cost_usd: float | None = None
    """Total cost in USD; ``None`` when nothing could be priced. A lower bound when
    ``priced_coverage`` < 1."""
    successful_agents: int = 0
    """Agents that succeeded."""
    failed_agents: int = 0
    """Agents that failed."""
    agent_usage: list[AgentUsage] = Field(default_factory=list)
    """Per-agent usage, in launch order."""

    schema_version: int | None = None
    """1 for this layout; absent (``None``) in 0.1 files."""
    total_cached_tokens: int | None = None
    """Sum of cached prompt tokens; ``None`` when no request reported it."""
    total_cache_write_tokens: int | None = None
    """Sum of cache-write prompt tokens; ``None`` when no request reported it."""
    total_reasoning_tokens: int | None = None
    """Sum of reasoning tokens; ``None`` when no request reported it."""
    total_requests: int | None = None
    """LLM requests made in the session."""
    status: ReportStatus = "success"
    """Outcome of the session."""
    agents_not_run: list[str] = Field(default_factory=list)
    """Agents skipped by ``--max-cost`` or Ctrl-C."""
    source: ReportSource = "llm"
    """Where the usage came from."""
    git: GitInfo | None = None
    """The project's git state, when it is a git repository."""
    pricing: PricingInfo | None = None
    """Which table priced the report and how each model resolved."""
    priced_coverage: float | None = None
    """Share of tokens with a known price (1.0 = all)."""
    intervals: list[IntervalUsage] = Field(default_factory=list)
    """Usage per ``TOKEN_INTERVAL_MINUTES`` interval."""
    tool_version: str | None = None
    """The memory-banker version that wrote the report."""

    _aware_times = field_validator("start_time", "end_time")(local_if_naive)

    # The behaviour lives in report.py and render.py, which build on these models; importing them
    # when a method is called (instead of at module top) avoids an import cycle.

    def render(self, console: Console, *, pricebook: PriceBook | None = None) -> None:
        """Print the report (see ``token_tracking.reports.render.render_report``).

        ``pricebook`` re-prices 0.1 reports for the "today's table" line; default: the default
        price book. Raises nothing for unknown prices: they are shown as ``unknown``.
        """
        from token_tracking.reports.render import render_report

        render_report(self, console, pricebook=pricebook)

    def save(self, folder: Path) -> Path:
        """Write the report to ``folder/token_usage_<YYYYmmdd_HHMMSS>[_N].json``; return the path.

        Atomic and exclusive: an existing report is never overwritten (``_2``, ``_3``… instead).
        Raises ReportFileError (a TrackingError) when the folder cannot be written.
        """
        from token_tracking.reports.build import save_report

        return save_report(self, folder)

    @classmethod
    def load_from_file(cls, path: Path | str) -> TokenUsageReport:
        """Read a report file (this layout or memory-banker 0.1's) and return it.

        Raises ReportFileError (a TrackingError) naming the file when it is missing, not JSON, or
        not a token usage report.
        """
        from token_tracking.reports.build import load_report

        return load_report(Path(path))

    def calculate_cost(
        self,
        custom_pricing: Mapping[str, Mapping[str, float]] | None = None,
        pricebook: PriceBook | None = None,
        *,
        model: str | None = None,
    ) -> float | None:
        """Re-price the report's agents and return the total in USD (see ``report.calculate_cost``).

        ``custom_pricing`` is seed 002's per-1K dict (``{"m": {"prompt_per_1k": …,
        "completion_per_1k": …}}``); ``model`` prices every agent as that model instead. Returns
        None when no agent could be priced; the sum of the priced agents otherwise.
        """
        from token_tracking.reports.build import calculate_cost

        return calculate_cost(self, custom_pricing, pricebook, model=model)
