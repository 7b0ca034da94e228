"""What a listing shows of one report: :class:`ReportSummary`, built from the report
(:func:`summarize`) or from its row in the report index (:func:`summary_row`,
:func:`summary_from_row`); and the cost a report records (:func:`recorded_cost`), which the CI gate
and ``tokens compare`` judge it by.

Nothing here imports pydantic: the functions read attributes only, so they serve the report model
and the validated document the report index keeps of the latest report alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from token_tracking.reports.file import TokenUsageReport


@dataclass(frozen=True, slots=True)
class ReportSummary:
    """What a listing shows of one report file; kept per file in the index.

    A plain dataclass, not a pydantic model: a listing builds 10,000 of them per call, and the
    index they come from is checked field by field (:func:`summary_from_row`).
    """

    file: str
    """The file's name inside the reports folder."""
    session_id: str
    """The report's session id."""
    command: str
    """The command that ran."""
    model: str | None
    """The session's model."""
    start_time: datetime
    """Session start (naive times in 0.1 files were read as local time)."""
    end_time: datetime
    """Session end; the listing is sorted on it, newest first."""
    end_timestamp: float
    """``end_time`` as a POSIX timestamp."""
    status: str
    """Outcome of the session (``success``, ``partial``, …)."""
    source: str
    """Where the usage came from (``llm``, ``offline``, …)."""
    successful_agents: int
    """Agents that succeeded."""
    failed_agents: int
    """Agents that failed."""
    agents_not_run: int
    """Agents skipped by a budget or Ctrl-C."""
    total_tokens: int
    """Prompt plus completion tokens of the session."""
    total_cost_usd: float | None
    """The stored total cost in USD; ``None`` when unknown."""
    priced_coverage: float | None
    """Share of tokens with a known price; below 1 the cost is a lower bound."""
    schema_version: int | None
    """1 for current reports; ``None`` for reports written by memory-banker 0.1."""

    @property
    def agents_total(self) -> int:
        """Agents that ran, succeeded or failed, plus those not run."""
        return self.successful_agents + self.failed_agents + self.agents_not_run


# Index rows hold the summary's fields in this order, with the times as ISO strings. Each field
# is type-checked when read, so a hand-edited or foreign index is rebuilt, never trusted.
_ROW_TYPES: tuple[tuple[type, ...], ...] = (
    (str,),  # session_id
    (str,),  # command
    (str, type(None)),  # model
    (str,),  # start_time
    (str,),  # end_time
    (float, int),  # end_timestamp
    (str,),  # status
    (str,),  # source
    (int,),  # successful_agents
    (int,),  # failed_agents
    (int,),  # agents_not_run
    (int,),  # total_tokens
    (float, int, type(None)),  # total_cost_usd
    (float, int, type(None)),  # priced_coverage
    (int, type(None)),  # schema_version
)


def summary_row(summary: ReportSummary) -> list[object]:
    """The index row of ``summary``: its fields but the file name, times as ISO strings."""
    return [
        summary.session_id,
        summary.command,
        summary.model,
        summary.start_time.isoformat(),
        summary.end_time.isoformat(),
        summary.end_timestamp,
        summary.status,
        summary.source,
        summary.successful_agents,
        summary.failed_agents,
        summary.agents_not_run,
        summary.total_tokens,
        summary.total_cost_usd,
        summary.priced_coverage,
        summary.schema_version,
    ]


def summary_from_row(file: str, row: object) -> ReportSummary:
    """The summary of the report ``file`` from its index row (:func:`summary_row`).

    Raises ValueError when ``row`` is not a row this module writes (a field of another type).
    """
    if not isinstance(row, list) or len(row) != len(_ROW_TYPES):
        raise ValueError(f"not an index row of {file}")
    for value, types in zip(row, _ROW_TYPES, strict=True):
        if not isinstance(value, types) or isinstance(value, bool):
            raise ValueError(f"not an index row of {file}")
    (sid, command, model, start, end, stamp, status, source, ok, failed, not_run, tokens,
     cost, coverage, schema) = row  # fmt: skip
    return ReportSummary(
        file=file,
        session_id=sid,
        command=command,
        model=model,
        start_time=datetime.fromisoformat(start),
        end_time=datetime.fromisoformat(end),
        end_timestamp=float(stamp),
        status=status,
        source=source,
        successful_agents=ok,
        failed_agents=failed,
        agents_not_run=not_run,
        total_tokens=tokens,
        total_cost_usd=None if cost is None else float(cost),
        priced_coverage=None if coverage is None else float(coverage),
        schema_version=schema,
    )


def summarize(report: TokenUsageReport, file_name: str) -> ReportSummary:
    """Return the listing summary of ``report`` stored as ``file_name``."""
    return ReportSummary(
        file=file_name,
        session_id=report.session_id,
        command=report.command,
        model=report.model,
        start_time=report.start_time,
        end_time=report.end_time,
        end_timestamp=report.end_time.timestamp(),
        status=report.status,
        source=report.source,
        successful_agents=report.successful_agents,
        failed_agents=report.failed_agents,
        agents_not_run=len(report.agents_not_run),
        # A report whose every count is unknown (null total) lists 0 known tokens.
        total_tokens=report.total_tokens if report.total_tokens is not None else 0,
        total_cost_usd=report.total_cost_usd,
        priced_coverage=report.priced_coverage,
        schema_version=report.schema_version,
    )


# --- the cost a report is judged by -----------------------------------------------------------


@dataclass(frozen=True)
class ReportCost:
    """The cost of one report as the CI gate and ``tokens compare`` count it."""

    cost_usd: float | None
    """Cost in USD; ``None`` when unknown."""
    complete: bool
    """False when ``cost_usd`` is only a lower bound (some tokens had no price) or unknown."""
    repriced: bool = False
    """True when the cost was computed with today's table (a memory-banker 0.1 report)."""
    unknown_models: tuple[str, ...] = ()
    """Models without a price, when known."""
    unpriced_reasons: tuple[str, ...] = ()
    """Why each of ``unknown_models`` has no price, in the same order, when the report says so
    (a known model priced per second or per image); ``""`` for an unknown name."""
    priced_coverage: float | None = None
    """Share of tokens with a known price, when known."""


def recorded_cost(report: TokenUsageReport) -> ReportCost:
    """Return the cost ``report`` records: its total, a lower bound when ``priced_coverage`` < 1
    or some request returned no usage, with the models its pricing block left unpriced.

    ``report`` is the report model or the index's document of it (the same attributes). A
    memory-banker 0.1 report's recorded cost came from a wrong table:
    :func:`token_tracking.reports.pricer.report_cost` re-prices those.
    """
    coverage = report.priced_coverage
    unpriced = [
        p for p in (report.pricing.models if report.pricing else []) if p.matched_key is None
    ]
    return ReportCost(
        cost_usd=report.total_cost_usd,
        # Requests that returned no usage make the cost a lower bound too.
        complete=report.total_cost_usd is not None
        and (coverage is None or coverage >= 1.0)
        and report.unknown_usage_requests in (None, 0),
        unknown_models=tuple(p.model for p in unpriced),
        # A known model without a per-token price carries the pricer's reason; an unknown name none.
        unpriced_reasons=tuple(p.reason if p.reason is not None else "" for p in unpriced),
        priced_coverage=coverage,
    )
