"""The report file: the ``TokenUsageReport`` model, and the one place a report is parsed, loaded
and saved.

A report file is ``<reports folder>/token_usage_<YYYYmmdd_HHMMSS>[_N].json``, the JSON of
:class:`TokenUsageReport`. The model is the one serializer of the file, of ``--json`` output and
of ``load``; reports written by memory-banker 0.1 (no ``schema_version``, naive times) load with
the same model, because every key added since has a default.

:func:`parse_report` is the only parser: ``tokens --report-file``, the listing behind
``tokens --list-all`` and ``TokenUsageReport.load_from_file`` all word a broken file the same way.

The model's methods call down into :mod:`token_tracking.reports.render` (printing) and
:mod:`token_tracking.reports.pricer` (re-pricing), which use the class for type hints only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from token_tracking.errors import ReportFileError
from token_tracking.files import create_exclusive
from token_tracking.records import (
    AgentUsage,
    GitInfo,
    IntervalUsage,
    PricingInfo,
    ReportSource,
    ReportStatus,
    local_if_naive,
)
from token_tracking.reports import pricer, render

if TYPE_CHECKING:
    from rich.console import Console

    from pricing import PriceBook

SCHEMA_VERSION = 1
"""The ``schema_version`` written into new report files."""

REPORT_PREFIX = "token_usage_"
"""Report files are ``token_usage_<YYYYmmdd_HHMMSS>[_N].json``."""

_SHOWN_MISSING_KEYS = 4
"""How many missing keys a "not a token usage report" reason names."""


class TokenUsageReport(BaseModel):
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

    def render(self, console: Console, *, pricebook: PriceBook | None = None) -> None:
        """Print the report (see ``token_tracking.reports.render.render_report``).

        ``pricebook`` re-prices 0.1 reports for the "today's table" line; default: the default
        price book. Raises nothing for unknown prices: they are shown as ``unknown``.
        """
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

    Raises ReportFileError whose message is the one-line reason, e.g. ``not valid JSON (…)`` or
    ``not a token usage report (missing project_path)``.
    """
    try:
        return TokenUsageReport.model_validate_json(data)
    except ValidationError as error:
        raise ReportFileError(_reason(error, data)) from None


def load_report(path: Path) -> TokenUsageReport:
    """Read and parse the report file at ``path`` (any schema version, 0.1 included).

    Raises ReportFileError naming the file when it cannot be read (``cannot read report …``) or
    is not a report (``<path> is not valid JSON (…)``, ``<path> is not a token usage report
    (…)``).
    """
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ReportFileError(f"cannot read report {path}: {error.strerror}") from error
    try:
        return parse_report(data)
    except ReportFileError as error:
        raise ReportFileError(f"{path} is {error}") from None


def report_file_stem(report: TokenUsageReport) -> str:
    """Return ``token_usage_<YYYYmmdd_HHMMSS>`` from the report's end time in local time."""
    return REPORT_PREFIX + report.end_time.astimezone().strftime("%Y%m%d_%H%M%S")


def save_report(report: TokenUsageReport, folder: Path) -> Path:
    """Write ``report`` as ``folder/token_usage_<YYYYmmdd_HHMMSS>[_N].json``; return the path.

    The folder is created when missing. The file appears complete or not at all, and an existing
    file is never replaced: a report finished in the same second gets ``_2``, ``_3``… Raises
    ReportFileError when the folder cannot be created or written.
    """
    data = report.model_dump_json(indent=2) + "\n"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return create_exclusive(folder, report_file_stem(report), ".json", data)
    except OSError as error:
        raise ReportFileError(f"cannot write a report into {folder}: {error.strerror}") from error
