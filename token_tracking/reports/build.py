"""Building, pricing, saving and loading ``TokenUsageReport`` (DESIGN §3, §4).

- :class:`Pricer` prices each request record once, as it is recorded, and remembers how every
  model resolved (for the report's ``pricing`` block).
- :class:`ReportBuilder` holds the per-agent accumulators of one session and builds the report;
  the collector drives it live and journal recovery replays a journal into it, so a recovered
  report is computed by the same code as a finished one.
- :func:`save_report` / :func:`load_report` / :func:`calculate_cost` back the methods of
  ``TokenUsageReport``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from pydantic import ValidationError

from pricing import PriceBook, Unpriced, Usage, default_pricebook
from token_tracking.errors import ReportFileError
from token_tracking.records import (
    SCHEMA_VERSION,
    AgentUsage,
    GitInfo,
    IntervalUsage,
    ModelPricing,
    PricingInfo,
    ReportSource,
    ReportStatus,
    RequestUsage,
    TokenUsageReport,
    sum_counts,
)

logger = logging.getLogger(__name__)

OFFLINE_MODEL = "offline"
"""The model name of memory-banker's offline engine: priced at an explicit $0, not via the table."""

REPORT_PREFIX = "token_usage_"
"""Report files are ``token_usage_<YYYYmmdd_HHMMSS>[_N].json``."""

UNFINISHED_AGENT_ERROR = "interrupted: the agent did not finish"
"""The error recorded for an agent that was started but never ended when the session closed."""


def tool_version() -> str | None:
    """Return the installed memory-banker version (the distribution this package ships in)."""
    try:
        return version("memory-banker")
    except PackageNotFoundError:
        return None


def pricing_usage(usage: RequestUsage | AgentUsage) -> Usage:
    """Return the counts of a request or agent as the ``pricing`` package's ``Usage``."""
    return Usage(
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        cached_tokens=usage.cached_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        reasoning_tokens=usage.reasoning_tokens,
    )


@dataclass(frozen=True)
class PriceResult:
    """The cost of one usage and how its model resolved."""

    cost_usd: float | None
    """USD, or None when unknown."""
    note: ModelPricing | None
    """How the model resolved; None when the usage named no model."""
    reason: str | None = None
    """Why the cost is unknown (None when known)."""


class Pricer:
    """Prices usage with one price book, warning once per model whose price is unknown."""

    def __init__(self, pricebook: PriceBook | None = None, default_model: str | None = None):
        self._book = pricebook
        self.default_model = default_model
        self.models: dict[str, ModelPricing] = {}
        """How each model seen so far resolved, in first-seen order."""
        self._warned: set[str | None] = set()

    @property
    def book(self) -> PriceBook:
        """The price book in use (the default one, loaded on first need, when none was given)."""
        if self._book is None:
            self._book = default_pricebook()
        return self._book

    def pricing_info(self) -> PricingInfo:
        """Return the report's ``pricing`` block: table source and version, and each model."""
        return PricingInfo(
            source=self.book.source, version=self.book.version, models=list(self.models.values())
        )

    def _warn_once(self, model: str | None, message: str) -> None:
        if model not in self._warned:
            self._warned.add(model)
            logger.warning("%s", message)

    def _remember(self, note: ModelPricing) -> None:
        known = self.models.get(note.model)
        if known is not None and note.tier is None:
            # Keep the tier a larger request reached; base-rate requests do not erase it.
            note = note.model_copy(update={"tier": known.tier})
        self.models[note.model] = note

    def cost(self, model: str | None, usage: Usage) -> PriceResult:
        """Return the cost of ``usage`` under ``model`` (or the default model).

        Never raises. An unknown model: the cost is None, a warning names up to three close known
        models, and the note records them. A known model without a per-token price (priced per
        second, image, character or query): None, and the warning and note say so. A usage without
        its prompt or completion count: None, no warning (the count's absence is the reason).
        """
        name = model if model is not None else self.default_model
        if name is None:
            reason = "the request names no model and the tracker has no default_model"
            self._warn_once(None, f"cost unknown: {reason}")
            return PriceResult(None, None, reason)
        if name == OFFLINE_MODEL:
            note = ModelPricing(model=name, matched_key=OFFLINE_MODEL)
            self._remember(note)
            return PriceResult(0.0, note)
        outcome = self.book.cost_or_reason(name, usage)
        if isinstance(outcome, Unpriced):
            return self._unpriced(name, outcome)
        breakdown = outcome
        note = ModelPricing(
            model=name, matched_key=breakdown.key, tier=breakdown.tier, custom=breakdown.custom
        )
        self._remember(note)
        return PriceResult(breakdown.total, note)

    def _unpriced(self, name: str, unpriced: Unpriced) -> PriceResult:
        """The unknown cost of a usage ``cost_or_reason`` could not price, warned once per model."""
        if unpriced.reason == "incomplete_usage":
            # The model's price is known; this one usage lacks a count (not worth a warning).
            note = self.models.get(name)
            if note is None:
                resolution = self.book.lookup(name)
                note = ModelPricing(
                    model=name,
                    matched_key=unpriced.key,
                    custom=resolution is not None and resolution.custom,
                )
                self._remember(note)
            return PriceResult(None, note, unpriced.message)
        if unpriced.reason == "no_token_price":
            # A near name would not help: the name matched, the table has no per-token rate.
            self._warn_once(name, f"cost of {name!r} unknown: {unpriced.message}")
            note = ModelPricing(model=name, reason=unpriced.message)
            self._remember(note)
            return PriceResult(None, note, unpriced.message)
        suggestions = self.book.suggestions(name)[:3]
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        reason = f"no price for model {name!r}{hint}"
        self._warn_once(
            name, f"{reason}: its cost is unknown (give its price in a custom pricing file)"
        )
        note = ModelPricing(model=name, suggestions=suggestions)
        self._remember(note)
        return PriceResult(None, note, reason)

    def price(self, usage: RequestUsage) -> RequestUsage:
        """Return a copy of ``usage`` with its model (or the default) and ``cost_usd`` filled.

        An actual cost the caller gave (``cost_is_actual``) is kept as it is.
        """
        model = usage.model if usage.model is not None else self.default_model
        if usage.cost_is_actual and usage.cost_usd is not None:
            return usage.model_copy(update={"model": model})
        result = self.cost(model, pricing_usage(usage))
        return usage.model_copy(
            update={"model": model, "cost_usd": result.cost_usd, "cost_is_actual": False}
        )


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
        prompt = sum_counts(r.prompt_tokens for r in records) if records else 0
        completion = sum_counts(r.completion_tokens for r in records) if records else 0
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
            total_tokens=sum_counts([prompt, completion]),
            model=model,
            start_time=start,
            end_time=self.end_time,
            duration_seconds=duration,
            success=self.success is True,
            error=self.error,
            cached_tokens=sum_counts(r.cached_tokens for r in records),
            cache_write_tokens=sum_counts(r.cache_write_tokens for r in records),
            reasoning_tokens=sum_counts(r.reasoning_tokens for r in records),
            requests=sum(r.requests for r in records),
            # One unknown request makes the agent's cost unknown rather than quietly too low.
            cost_usd=None if None in costs else sum(c for c in costs if c is not None),
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


def derive_status(agents: Sequence[AgentUsage]) -> ReportStatus:
    """Return ``success`` when every agent succeeded (or none ran), ``failed`` when every agent
    failed, ``partial`` otherwise."""
    failed = sum(1 for agent in agents if not agent.success)
    if failed == 0:
        return "success"
    return "failed" if failed == len(agents) else "partial"


def priced_coverage(requests: Sequence[RequestUsage]) -> float | None:
    """Return the share of known tokens whose cost is known (1.0 = all); None with no tokens."""
    total = 0
    priced = 0
    for request in requests:
        tokens = sum_counts([request.prompt_tokens, request.completion_tokens])
        if tokens is None:
            continue
        total += tokens
        if request.cost_usd is not None:
            priced += tokens
    if total == 0:
        return (
            None
            if not requests
            else (1.0 if all(r.cost_usd is not None for r in requests) else 0.0)
        )
    return priced / total


def total_cost(requests: Sequence[RequestUsage]) -> float | None:
    """Return the sum of the known request costs: 0.0 with no request, None when none is known.

    With some costs unknown the sum is a lower bound; ``priced_coverage`` says by how much.
    """
    known = [r.cost_usd for r in requests if r.cost_usd is not None]
    if requests and not known:
        return None
    return sum(known)


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
        intervals: list[IntervalUsage],
    ) -> TokenUsageReport:
        """Return the report of the session (call ``close_open_runs`` first)."""
        agents = [run.usage(end_time) for run in self.runs]
        requests = self.requests

        def total(values: list[int | None]) -> int:
            # The seed 002 totals are plain integers: a count no request reported adds nothing.
            known = sum_counts(values)
            return 0 if known is None else known

        prompt = total([a.prompt_tokens for a in agents])
        completion = total([a.completion_tokens for a in agents])
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
            total_tokens=prompt + completion,
            total_cost_usd=total_cost(requests),
            successful_agents=sum(1 for a in agents if a.success),
            failed_agents=sum(1 for a in agents if not a.success),
            agent_usage=agents,
            schema_version=SCHEMA_VERSION,
            total_cached_tokens=sum_counts(a.cached_tokens for a in agents),
            total_cache_write_tokens=sum_counts(a.cache_write_tokens for a in agents),
            total_reasoning_tokens=sum_counts(a.reasoning_tokens for a in agents),
            total_requests=sum(r.requests for r in requests),
            status=derive_status(agents) if status is None else status,
            agents_not_run=list(agents_not_run),
            source=self.meta.source,
            git=self.meta.git,
            pricing=pricing,
            priced_coverage=priced_coverage(requests),
            intervals=intervals,
            tool_version=tool_version(),
        )


# --- files -----------------------------------------------------------------------------------


def report_file_stem(report: TokenUsageReport) -> str:
    """Return ``token_usage_<YYYYmmdd_HHMMSS>`` from the report's end time in local time."""
    return REPORT_PREFIX + report.end_time.astimezone().strftime("%Y%m%d_%H%M%S")


def _claim(temp: Path, target: Path) -> bool:
    """Give ``temp``'s content the name ``target`` if nobody holds it; False when taken."""
    try:
        # A hard link is atomic and fails when the name exists: exclusive and complete at once.
        os.link(temp, target)
        return True
    except FileExistsError:
        return False
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
    # No hard links on this file system: reserve the name exclusively, then replace atomically.
    try:
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    except FileExistsError:
        return False
    os.replace(temp, target)
    return True


def save_report(report: TokenUsageReport, folder: Path) -> Path:
    """Write ``report`` as ``folder/token_usage_<YYYYmmdd_HHMMSS>[_N].json``; return the path.

    The file appears complete or not at all (temp file in the same folder, then link/rename), and
    an existing file is never replaced: a report finished in the same second gets ``_2``, ``_3``…
    Raises ReportFileError when the folder cannot be created or written.
    """
    stem = report_file_stem(report)
    data = report.model_dump_json(indent=2) + "\n"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        temp = folder / f".{stem}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        with open(temp, "x", encoding="utf-8") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            suffix = 1
            while True:
                name = f"{stem}.json" if suffix == 1 else f"{stem}_{suffix}.json"
                target = folder / name
                if _claim(temp, target):
                    return target
                suffix += 1
        finally:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
    except OSError as error:
        raise ReportFileError(f"cannot write a report into {folder}: {error.strerror}") from error


def load_report(path: Path) -> TokenUsageReport:
    """Read a report file written by this version (``schema_version`` 1) or by memory-banker 0.1.

    0.1 files have no ``schema_version`` and naive times, read as local time. Raises
    ReportFileError naming the file when it is missing, not JSON, or not a token usage report.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ReportFileError(f"cannot read report {path}: {error.strerror}") from error
    except UnicodeDecodeError:
        raise ReportFileError(f"{path} is not JSON: not UTF-8 text") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ReportFileError(f"{path} is not JSON: {error.msg} at line {error.lineno}") from None
    except RecursionError:
        raise ReportFileError(f"{path} is not a token usage report (nested too deeply)") from None
    if not isinstance(data, dict):
        raise ReportFileError(f"{path} is not a token usage report (not a JSON object)")
    try:
        return TokenUsageReport.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ReportFileError(
            f"{path} is not a token usage report: {where}: {first['msg']}"
        ) from None


# --- re-pricing -------------------------------------------------------------------------------


def reprice_report(
    report: TokenUsageReport,
    pricebook: PriceBook | None = None,
    *,
    custom_pricing: Mapping[str, Mapping[str, float]] | None = None,
    model: str | None = None,
) -> TokenUsageReport:
    """Return a copy of ``report`` with every agent's cost, the total and the pricing block
    computed again, from the agents' token sums.

    ``custom_pricing`` (seed 002's per-1K dict) overrides or adds models; ``model`` prices every
    agent as that model. Agent-level sums are priced as one request each, so a long-context tier
    that only some requests reached may price differently from the original per-request costs.
    Raises PricingError when ``custom_pricing`` is malformed.
    """
    book = default_pricebook() if pricebook is None else pricebook
    if custom_pricing is not None:
        book = book.with_custom(custom_pricing)
    pricer = Pricer(book)
    agents: list[AgentUsage] = []
    costed: list[RequestUsage] = []
    sources = report.agent_usage or [
        # A report without agents (a manual entry) is priced from its totals.
        AgentUsage(
            agent_name=report.command,
            prompt_tokens=report.total_prompt_tokens,
            completion_tokens=report.total_completion_tokens,
            cached_tokens=report.total_cached_tokens,
            cache_write_tokens=report.total_cache_write_tokens,
            reasoning_tokens=report.total_reasoning_tokens,
            model=report.model,
        )
    ]
    for agent in sources:
        name = model if model is not None else (agent.model or report.model)
        cost = pricer.cost(name, pricing_usage(agent)).cost_usd
        agents.append(agent.model_copy(update={"cost_usd": cost}))
        costed.append(
            RequestUsage(
                timestamp=report.end_time,
                prompt_tokens=agent.prompt_tokens,
                completion_tokens=agent.completion_tokens,
                cost_usd=cost,
            )
        )
    update: dict[str, object] = {
        "total_cost_usd": total_cost(costed),
        "priced_coverage": priced_coverage(costed),
        "pricing": pricer.pricing_info(),
    }
    if report.agent_usage:
        update["agent_usage"] = agents
    if model is not None:
        update["model"] = model
    return report.model_copy(update=update)


def calculate_cost(
    report: TokenUsageReport,
    custom_pricing: Mapping[str, Mapping[str, float]] | None = None,
    pricebook: PriceBook | None = None,
    *,
    model: str | None = None,
) -> float | None:
    """Return the report's total cost under today's table (plus ``custom_pricing``), in USD.

    None when no agent could be priced; with some unpriced, the sum of the priced ones (a lower
    bound). Raises PricingError when ``custom_pricing`` is malformed.
    """
    return reprice_report(
        report, pricebook, custom_pricing=custom_pricing, model=model
    ).total_cost_usd
