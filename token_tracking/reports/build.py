"""Building a session's ``TokenUsageReport`` from its priced requests and agent runs.

:class:`ReportBuilder` holds the per-agent accumulators of one session and builds the report;
the collector drives it live and journal recovery replays a journal into it, so a recovered
report is computed by the same code as a finished one.

Totals over counts a provider did not always return: a sum of token counts is the sum of the
known ones (``None`` only when none is known); an agent's cost is unknown as soon as one of its
requests' costs is, rather than quietly too low.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pricing.installed import distribution_version
from token_tracking.counts import sum_exact, sum_known
from token_tracking.records import (
    AgentUsage,
    GitInfo,
    IntervalUsage,
    PricingInfo,
    ReportSource,
    ReportStatus,
    RequestUsage,
)
from token_tracking.reports.file import SCHEMA_VERSION, DigestSummary, TokenUsageReport
from token_tracking.reports.pricer import priced_coverage, total_cost

UNFINISHED_AGENT_ERROR = "interrupted: the agent did not finish"
"""The error recorded for an agent that was started but never ended when the session closed."""

UNATTRIBUTED_AGENT = "(unattributed)"
"""The agent holding usage the SDK counted run-wide but no agent's own responses carried; it
never counts in ``successful_agents``/``failed_agents`` or the status."""


def _total(values: list[int | None], requests: int) -> int | None:
    """The report total of one count: the sum of the known values (a lower bound when some are
    unknown); 0 for a session without requests; ``None`` when no request's count is known."""
    known = sum_known(values)
    return 0 if known is None and requests == 0 else known


def tool_version() -> str | None:
    """Return the installed memory-banker version (the distribution this package ships in)."""
    return distribution_version("memory-banker")


@dataclass
class AgentRun:
    """One agent run's accumulator: the requests it made and how it ended."""

    name: str
    model: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    success: bool | None = None
    """None while running."""
    error: str | None = None
    output_file: str | None = None
    explicit: bool = True
    """Started with ``start_agent``; False when created by its first recorded request."""
    requests: list[RequestUsage] = field(default_factory=list)

    @property
    def open(self) -> bool:
        """True until the run ended."""
        return self.success is None

    def usage(self, now: datetime | None = None) -> AgentUsage:
        """Return the run's sums; an open run's duration runs up to ``now``."""
        records = self.requests
        # A run that made no request spent nothing: 0, not unknown.
        prompt = sum_known(r.prompt_tokens for r in records) if records else 0
        completion = sum_known(r.completion_tokens for r in records) if records else 0
        costs = [r.cost_usd for r in records]
        start = self.start_time
        if start is None and records:
            start = min(_started(r) for r in records)
        end = self.end_time if self.end_time is not None else now
        duration = (end - start).total_seconds() if start is not None and end is not None else None
        model = self.model
        if model is None and records:
            model = records[0].model
        return AgentUsage(
            agent_name=self.name,
            prompt_tokens=prompt,
            completion_tokens=completion,
            total_tokens=sum_known([prompt, completion]),
            model=model,
            start_time=start,
            end_time=self.end_time,
            duration_seconds=duration,
            success=self.success is True,
            error=self.error,
            cached_tokens=sum_known(r.cached_tokens for r in records),
            cache_write_tokens=sum_known(r.cache_write_tokens for r in records),
            reasoning_tokens=sum_known(r.reasoning_tokens for r in records),
            requests=sum(r.requests for r in records),
            # One unknown request makes the agent's cost unknown rather than quietly too low.
            cost_usd=sum_exact(costs) if records else 0.0,
            output_file=self.output_file,
        )


def _started(usage: RequestUsage) -> datetime:
    if usage.duration_seconds is None:
        return usage.timestamp
    return usage.timestamp - timedelta(seconds=usage.duration_seconds)


@dataclass(frozen=True)
class SessionMeta:
    """What a session is, fixed when it starts (also the journal's first line)."""

    session_id: str
    command: str
    project_path: str
    start_time: datetime
    model: str | None = None
    default_model: str | None = None
    source: ReportSource = "llm"
    git: GitInfo | None = None
    interval_minutes: float | None = None
    planned_agents: tuple[str, ...] = ()
    """The agents the session means to run, in order (a recovered report lists those that
    never launched in ``agents_not_run``)."""


def derive_status(agents: Sequence[AgentUsage]) -> ReportStatus:
    """Return ``success`` when every agent succeeded (or none ran), ``failed`` when every agent
    failed, ``partial`` otherwise."""
    failed = sum(1 for agent in agents if not agent.success)
    if failed == 0:
        return "success"
    return "failed" if failed == len(agents) else "partial"


class ReportBuilder:
    """The per-agent accumulators of one session. Not thread-safe: the collector locks."""

    def __init__(self, meta: SessionMeta) -> None:
        self.meta = meta
        self.runs: list[AgentRun] = []
        self.requests: list[RequestUsage] = []

    def _latest(self, name: str) -> AgentRun | None:
        for run in reversed(self.runs):
            if run.name == name:
                return run
        return None

    def start_agent(self, name: str, model: str | None, at: datetime) -> None:
        """Open a run for ``name``; an open run of that name keeps accumulating instead."""
        run = self._latest(name)
        if run is not None and run.open:
            if run.model is None:
                run.model = model
            return
        self.runs.append(AgentRun(name=name, model=model, start_time=at))

    def add_request(self, usage: RequestUsage, default_agent: str) -> None:
        """Add a priced request to its agent's open run (creating one when there is none)."""
        name = usage.agent_name if usage.agent_name is not None else default_agent
        run = self._latest(name)
        if run is None or not run.open:
            run = AgentRun(name=name, model=usage.model, explicit=False)
            self.runs.append(run)
        run.requests.append(usage)
        self.requests.append(usage)

    def end_agent(
        self,
        name: str,
        at: datetime,
        *,
        success: bool,
        error: str | None = None,
        output_file: str | None = None,
    ) -> None:
        """Close the open run of ``name`` (a run that never started gets a zero-length one)."""
        run = self._latest(name)
        if run is None or not run.open:
            run = AgentRun(name=name, start_time=at)
            self.runs.append(run)
        run.end_time = at
        run.success = success
        run.error = error
        run.output_file = output_file

    def snapshot(self, now: datetime) -> list[AgentUsage]:
        """Return every run's figures so far (open runs: ``success`` False, ``end_time`` None)."""
        return [run.usage(now) for run in self.runs]

    def close_open_runs(self, at: datetime, error: str = UNFINISHED_AGENT_ERROR) -> None:
        """End every open run: explicitly started ones failed with ``error``; runs created by
        recorded requests alone succeeded at their last request."""
        for run in self.runs:
            if not run.open:
                continue
            if run.explicit:
                run.end_time, run.success, run.error = at, False, error
            else:
                last = max((r.timestamp for r in run.requests), default=at)
                run.end_time, run.success = last, True

    def not_launched(self) -> list[str]:
        """Return the planned agents that have no run, in plan order."""
        launched = {run.name for run in self.runs}
        return [name for name in self.meta.planned_agents if name not in launched]

    def last_event_time(self) -> datetime:
        """Return the latest time seen: session start, agent starts/ends, request timestamps."""
        times = [self.meta.start_time]
        times += [r.timestamp for r in self.requests]
        for run in self.runs:
            times += [t for t in (run.start_time, run.end_time) if t is not None]
        return max(times)

    def build(
        self,
        *,
        end_time: datetime,
        status: ReportStatus | None,
        agents_not_run: Sequence[str],
        pricing: PricingInfo | None,
        agents_not_run_reasons: Mapping[str, str] | None = None,
        intervals: list[IntervalUsage],
        digest: DigestSummary | None = None,
    ) -> TokenUsageReport:
        """Return the report of the session (call ``close_open_runs`` first)."""
        agents = [run.usage(end_time) for run in self.runs]
        requests = self.requests
        unknown = sum(r.requests for r in requests if r.usage_unknown)
        # Known counts summed: a lower bound when some usage is unknown, None when all is.
        prompt = _total([a.prompt_tokens for a in agents], len(requests))
        completion = _total([a.completion_tokens for a in agents], len(requests))
        counted = [a for a in agents if a.agent_name != UNATTRIBUTED_AGENT]
        model = self.meta.model if self.meta.model is not None else self.meta.default_model
        if model is None:
            models = {r.model for r in requests if r.model is not None}
            model = models.pop() if len(models) == 1 else None
        return TokenUsageReport(
            session_id=self.meta.session_id,
            project_path=self.meta.project_path,
            model=model,
            command=self.meta.command,
            start_time=self.meta.start_time,
            end_time=end_time,
            total_duration_seconds=(end_time - self.meta.start_time).total_seconds(),
            total_prompt_tokens=prompt,
            total_completion_tokens=completion,
            total_tokens=sum_known([prompt, completion]),
            total_cost_usd=total_cost(requests),
            successful_agents=sum(1 for a in counted if a.success),
            failed_agents=sum(1 for a in counted if not a.success),
            agent_usage=agents,
            schema_version=SCHEMA_VERSION,
            unknown_usage_requests=unknown,
            total_cached_tokens=sum_known(a.cached_tokens for a in agents),
            total_cache_write_tokens=sum_known(a.cache_write_tokens for a in agents),
            total_reasoning_tokens=sum_known(a.reasoning_tokens for a in agents),
            total_requests=sum(r.requests for r in requests),
            status=derive_status(counted) if status is None else status,
            agents_not_run=list(agents_not_run),
            agents_not_run_reasons=dict(agents_not_run_reasons or {}),
            source=self.meta.source,
            git=self.meta.git,
            pricing=pricing,
            priced_coverage=priced_coverage(requests),
            intervals=intervals,
            tool_version=tool_version(),
            digest=digest,
        )
