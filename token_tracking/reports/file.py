"""The report file: the ``TokenUsageReport`` model, and the one place a report is parsed, loaded
and saved.

A report file is ``<reports folder>/token_usage_<YYYYmmdd_HHMMSS>[_N].json``, the JSON of
:class:`TokenUsageReport`. The model is the one serializer of the file, of ``--json`` output and
of ``load``; reports written by memory-banker 0.1 (no ``schema_version``, naive times) load with
the same model, because every key added since has a default.

:func:`parse_report` is the only parser: ``tokens --report-file``, the listing behind
``tokens --list-all`` and ``TokenUsageReport.load_from_file`` all word a broken file the same way.

The model's methods call down into :mod:`token_tracking.reports.render` (printing) and
:mod:`token_tracking.reports.pricer` (re-pricing), which use the class for type hints only. Both
are imported when a method is called: loading a report (``tokens --json``, the CI gate) needs
neither Rich nor the price table.
"""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ConfigDict, Field, ValidationError, field_validator

from token_tracking import display
from token_tracking.errors import ReportFileError, ReportNotSavedError
from token_tracking.files import create_exclusive
from token_tracking.records import (
    AgentUsage,
    DeferredModel,
    GitInfo,
    IntervalUsage,
    PricingInfo,
    ReportSource,
    ReportStatus,
    local_if_naive,
)

if TYPE_CHECKING:
    from rich.console import Console

    from pricing import PriceBook

SCHEMA_VERSION = 2
"""The ``schema_version`` written into new report files."""

REPORT_PREFIX = "token_usage_"
"""Report files are ``token_usage_<YYYYmmdd_HHMMSS>[_N].json``."""

_SHOWN_MISSING_KEYS = 4
"""How many missing keys a "not a token usage report" reason names."""

MAX_REPORT_BYTES = 50 * 1024 * 1024
"""Report files larger than this (50 MB) are refused unread."""

MAX_REPORT_TOKENS = 10**15
"""The largest token count a report may hold; anything above is a damaged file."""

MAX_REPORT_USD = 1e9
"""The largest cost in USD a report may hold; anything above is a damaged file."""


class DigestSummary(DeferredModel):
    """What a run kept from the provider: counts, never values or names."""

    redactions: dict[str, int] = Field(default_factory=dict)
    """Secrets replaced in the texts sent, by kind (``[REDACTED:<kind>]`` markers)."""
    withheld_file_count: int = 0
    """Files never opened because they may hold secrets."""


class TokenUsageReport(DeferredModel):
    """The report of one session: what each agent spent, the totals, and how it was priced.

    Token semantics: ``prompt`` counts every input token billed, cache reads and writes included;
    ``completion`` every output token, reasoning included; a count a provider did not return is
    ``None``, never 0. The first keys are memory-banker 0.1's, unchanged; the later ones have
    defaults so 0.1 files still load.
    """

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
    total_prompt_tokens: int | None = 0
    """Sum of the agents' known prompt tokens (cache reads and writes included); ``None`` when
    no request's count is known, a lower bound when ``unknown_usage_requests`` > 0."""
    total_completion_tokens: int | None = 0
    """Sum of the agents' known completion tokens (reasoning included); ``None`` when unknown."""
    total_tokens: int | None = 0
    """``total_prompt_tokens + total_completion_tokens`` over the known counts."""
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
    """2 for this layout (nullable totals, ``unknown_usage_requests``); 1 for the layout before;
    absent (``None``) in 0.1 files."""
    unknown_usage_requests: int | None = None
    """Requests whose provider returned no usage: the token totals are lower bounds when > 0 and
    ``None`` when every count is unknown; ``None`` in files written before schema version 2."""
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
    """Agents skipped by ``--max-cost`` or Ctrl-C, or not launched because their inputs failed."""
    agents_not_run_reasons: dict[str, str] = Field(default_factory=dict)
    """Why each agent of ``agents_not_run`` was not run (agent name → reason); empty in files
    written before the reason was recorded."""
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
    digest: DigestSummary | None = None
    """What the run withheld from the provider (counts only); ``None`` for runs that sent none."""

    _aware_times = field_validator("start_time", "end_time")(local_if_naive)

    def render(self, console: Console, *, pricebook: PriceBook | None = None) -> None:
        """Print the report (see ``token_tracking.reports.render.render_report``).

        ``pricebook`` re-prices 0.1 reports for the "today's table" line; default: the default
        price book. Raises nothing for unknown prices: they are shown as ``unknown``.
        """
        from token_tracking.reports import render  # on first use: see the module docstring

        render.render_report(self, console, pricebook=pricebook)

    def save(self, folder: Path) -> Path:
        """Write the report to ``folder/token_usage_<YYYYmmdd_HHMMSS>[_N].json``; return the path.

        Atomic and exclusive: an existing report is never overwritten (``_2``, ``_3``… instead).
        Raises ReportFileError (a TrackingError) when the folder cannot be written.
        """
        return save_report(self, folder)

    @classmethod
    def load_from_file(cls, path: Path | str) -> TokenUsageReport:
        """Read a report file (this layout or memory-banker 0.1's) and return it.

        Raises ReportFileError (a TrackingError) naming the file when it is missing, not JSON, or
        not a token usage report.
        """
        return load_report(Path(path))

    def calculate_cost(
        self,
        custom_pricing: Mapping[str, Mapping[str, float]] | None = None,
        pricebook: PriceBook | None = None,
        *,
        model: str | None = None,
    ) -> float | None:
        """Re-price the report's agents and return the total in USD.

        ``custom_pricing`` gives per-1K prices (``{"m": {"prompt_per_1k": …,
        "completion_per_1k": …}}``); ``model`` prices every agent as that model instead. Returns
        None when no agent could be priced; the sum of the priced agents otherwise. Raises
        PricingError when ``custom_pricing`` is malformed.
        """
        from token_tracking.reports import pricer  # on first use: see the module docstring

        return pricer.calculate_cost(self, custom_pricing, pricebook, model=model)


# --- parse, load, save ------------------------------------------------------------------------


def _reason(error: ValidationError, data: bytes | str) -> str:
    """Say in one line, starting with "not", why ``data`` is not a token usage report."""
    problems = error.errors(include_url=False)
    first = problems[0]
    if first["type"] == "json_invalid":
        message = first["msg"].removeprefix("Invalid JSON: ")
        if message.startswith("recursion limit exceeded"):
            return "not a token usage report (nested too deeply)"
        if isinstance(data, bytes) and not _is_utf8(data):
            return "not valid JSON (not UTF-8 text)"
        return f"not valid JSON ({message})"
    if first["type"] == "model_type" and not first["loc"]:
        return "not a token usage report (not a JSON object)"
    missing = [str(p["loc"][0]) for p in problems if p["type"] == "missing" and len(p["loc"]) == 1]
    if missing:
        return f"not a token usage report (missing {', '.join(missing[:_SHOWN_MISSING_KEYS])})"
    where = ".".join(str(part) for part in first["loc"])
    detail = f"{where}: {first['msg']}" if where else first["msg"]
    return f"not a token usage report ({detail})"


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def parse_report(data: bytes | str) -> TokenUsageReport:
    """Parse a report document (any schema version, 0.1 included) and return it.

    Raises ReportFileError whose message is the one-line reason, e.g. ``not valid JSON (…)``,
    ``not a token usage report (missing project_path)`` or ``holds an out-of-range value (…)``
    (a negative or non-finite count or cost, a count above 10^15 or a cost above $10^9).
    """
    try:
        report = TokenUsageReport.model_validate_json(data)
    except ValidationError as error:
        raise ReportFileError(_reason(error, data)) from None
    return check_report_values(report)


def _values(report: TokenUsageReport) -> Iterator[tuple[str, float | None, bool]]:
    """Yield ``(label, value, is_cost)`` for every count and cost stored in ``report``."""
    for key in (
        "total_prompt_tokens",
        "total_completion_tokens",
        "total_tokens",
        "total_cached_tokens",
        "total_cache_write_tokens",
        "total_reasoning_tokens",
        "total_requests",
        "unknown_usage_requests",
    ):
        yield key, getattr(report, key), False
    yield "total_cost_usd", report.total_cost_usd, True
    for index, agent in enumerate(report.agent_usage):
        where = f"agent_usage.{index}"
        for key in (
            "prompt_tokens",
            "completion_tokens",
            "total_tokens",
            "cached_tokens",
            "cache_write_tokens",
            "reasoning_tokens",
            "requests",
        ):
            yield f"{where}.{key}", getattr(agent, key, None), False
        yield f"{where}.cost_usd", agent.cost_usd, True
    for index, interval in enumerate(report.intervals):
        where = f"intervals.{index}"
        for key in ("prompt_tokens", "completion_tokens", "total_tokens", "requests"):
            yield f"{where}.{key}", getattr(interval, key, None), False
        yield f"{where}.cost_usd", interval.cost_usd, True


def check_report_values(report: TokenUsageReport) -> TokenUsageReport:
    """Return ``report`` when every count and cost in it is in range.

    In range: finite, zero or more, at most :data:`MAX_REPORT_TOKENS` for counts and
    :data:`MAX_REPORT_USD` for costs. Raises ReportFileError (``holds an out-of-range value
    (…)``) naming the first value that is not.
    """
    for label, value, is_cost in _values(report):
        if value is None:
            continue
        limit = MAX_REPORT_USD if is_cost else MAX_REPORT_TOKENS
        if isinstance(value, float) and not math.isfinite(value):
            problem = f"{label} is {value}"
        elif value < 0:
            problem = f"{label} is negative"
        elif value > limit:
            problem = f"{label} is above {limit:,.0f}"
        else:
            continue
        raise ReportFileError(f"holds an out-of-range value ({problem})")
    return report


def read_report_bytes(path: Path) -> bytes:
    """Return the bytes of the report file at ``path``, never following a symbolic link.

    A FIFO or a device is never opened for reading, so nothing blocks. Raises ReportFileError
    whose message is the one-line reason (``a symbolic link, not followed``, ``not a regular
    file``, ``larger than 50 MB`` or the system's, e.g. ``No such file or directory``).
    """
    limit = f"larger than {MAX_REPORT_BYTES // (1024 * 1024)} MB"
    try:
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            raise ReportFileError("a symbolic link, not followed")
        if not stat.S_ISREG(info.st_mode):
            raise ReportFileError("not a regular file")
        if info.st_size > MAX_REPORT_BYTES:
            raise ReportFileError(limit)
        # O_NOFOLLOW and O_NONBLOCK: a file swapped for a link or a FIFO since the lstat fails
        # or returns at once instead of being followed or blocking.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise ReportFileError("not a regular file")
            data = handle.read(MAX_REPORT_BYTES + 1)
    except OSError as error:
        raise ReportFileError(str(error.strerror)) from None
    if len(data) > MAX_REPORT_BYTES:
        raise ReportFileError(limit)
    return data


def load_report(path: Path) -> TokenUsageReport:
    """Read and parse the report file at ``path`` (any schema version, 0.1 included).

    Raises ReportFileError naming the file when it cannot be read (``cannot read report <path>:
    …``: missing, a symbolic link, not a regular file, over 50 MB) or is not a report (``<path>
    is not valid JSON (…)``, ``<path> is not a token usage report (…)``, ``<path> holds an
    out-of-range value (…)``).
    """
    try:
        data = read_report_bytes(path)
    except ReportFileError as error:
        raise ReportFileError(f"cannot read report {path}: {error}") from None
    try:
        return parse_report(data)
    except ReportFileError as error:
        raise ReportFileError(f"{path} {_verb(str(error))}{error}") from None


def _verb(reason: str) -> str:
    return "" if reason.startswith("holds ") else "is "


def report_file_stem(report: TokenUsageReport) -> str:
    """Return ``token_usage_<YYYYmmdd_HHMMSS>`` from the report's end time in local time."""
    return REPORT_PREFIX + report.end_time.astimezone().strftime("%Y%m%d_%H%M%S")


def save_report(report: TokenUsageReport, folder: Path) -> Path:
    """Write ``report`` as ``folder/token_usage_<YYYYmmdd_HHMMSS>[_N].json``; return the path.

    The folder is created when missing. The file appears complete or not at all, and an existing
    file is never replaced: a report finished in the same second gets ``_2``, ``_3``… Raises
    ReportNotSavedError (a ReportFileError holding ``report``) when the folder cannot be created
    or written.
    """
    data = display.json_text(report) + "\n"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return create_exclusive(folder, report_file_stem(report), ".json", data)
    except OSError as error:
        raise ReportNotSavedError(
            f"cannot write a report into {folder}: {error.strerror}", report
        ) from error
