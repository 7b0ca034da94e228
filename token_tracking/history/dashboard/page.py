"""A self-contained HTML dashboard of token usage over time (``memory-banker tokens dashboard``).

Two steps, so each can be tested alone: :func:`collect_dashboard_data` reads the ledger into a
:class:`DashboardData` (the same model ``--json`` prints), and :func:`render_dashboard` turns that
model into one HTML page.

The charts are Vega-Lite specifications built here as plain data and drawn in the browser by Vega.
The JavaScript of Vega, Vega-Lite and Vega-Embed comes from the ``vl-convert-python`` package
(:func:`vl_convert.javascript_bundle`) and is written inline, so the page works offline: it has no
``http(s)`` script or stylesheet source, and its Content-Security-Policy forbids loading anything
from the network. Everything that comes from the ledger (branch names, notes, model and project
names) reaches the page either through :func:`html.escape` or inside a JSON document whose ``<``,
``>`` and ``&`` are written as ``\\u003c``, ``\\u003e`` and ``\\u0026``, which Vega then draws as
SVG text: a branch named ``<script>alert(1)</script>`` shows as that text and never runs.
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from datetime import date, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import platformdirs
import vl_convert
from pydantic import BaseModel, Field

from token_tracking.errors import DashboardError
from token_tracking.history.ledger import Filters, GroupColumn, Ledger, utc_now
from token_tracking.history.limits import LimitsReport, limits_status, load_settings
from token_tracking.history.trends import (
    NO_VALUE,
    Insights,
    TrendRow,
    breakdown,
    compute_trends,
    daily_series,
)

VEGA_LITE_VERSION = "v6.4"
"""The Vega-Lite release of the inlined bundle (one of ``vl_convert.get_vegalite_versions()``)."""


class DashboardSummary(BaseModel):
    """The figures of the summary cards, over the dashboard's window."""

    sessions: int
    """Sessions in the window."""
    total_tokens: int
    """Prompt plus completion tokens of those sessions."""
    prompt_tokens: int
    """All input tokens, cache reads and writes included."""
    completion_tokens: int
    """All output tokens, reasoning included."""
    cached_tokens: int | None = None
    """The part of the prompt tokens read from a prompt cache; ``None`` when no session said."""
    requests: int | None = None
    """LLM requests; ``None`` when no session recorded them."""
    cost_usd: float | None = None
    """Total cost in USD; ``None`` when nothing could be priced."""
    cost_is_lower_bound: bool = False
    """True when some sessions have an unknown cost, so ``cost_usd`` is a lower bound."""
    average_tokens_per_day: float = 0.0
    """Tokens per calendar day of the window (or since the first record, if later)."""
    projected_monthly_cost_usd: float | None = None
    """Average cost per calendar day times 30; ``None`` when the cost is unknown."""


class DailyUsage(BaseModel):
    """One local calendar day of the window (days without sessions are zero)."""

    day: date
    """The local calendar day."""
    sessions: int = 0
    """Sessions that ended that day."""
    prompt_tokens: int = 0
    """Input tokens, cache reads and writes included."""
    completion_tokens: int = 0
    """Output tokens, reasoning included."""
    cached_tokens: int | None = None
    """Cache-read input tokens; ``None`` when no session of the day reported them."""
    total_tokens: int = 0
    """Prompt plus completion tokens."""
    cost_usd: float | None = 0.0
    """Cost in USD; ``None`` when every session of the day has an unknown cost."""


class GroupUsage(BaseModel):
    """Usage of one branch, model or agent over the window."""

    name: str
    """The branch, model or agent name; ``(none)`` when unknown (no git, no model recorded)."""
    sessions: int
    """Sessions the group appears in."""
    total_tokens: int
    """Prompt plus completion tokens."""
    cost_usd: float | None
    """Cost in USD; ``None`` when no row of the group could be priced."""


class SessionRow(BaseModel):
    """One row of the most-expensive-sessions table."""

    session_id: str
    """The session's id."""
    end_time: datetime
    """When the session ended."""
    project_path: str
    """The project the session ran in."""
    branch: str | None = None
    """The git branch, when known."""
    command: str
    """``init``, ``update``, ``refresh``, ``manual`` or an app's own command."""
    model: str | None = None
    """The session's model."""
    source: str
    """``llm``, ``offline``, ``manual`` or ``import``."""
    status: str
    """The session's outcome."""
    total_tokens: int
    """Prompt plus completion tokens."""
    cost_usd: float | None = None
    """Cost in USD; ``None`` when unknown."""
    note: str | None = None
    """The note of a manual entry."""


class DashboardData(BaseModel):
    """Everything the dashboard shows; ``--json`` prints this model."""

    generated_at: datetime
    """When the data was read (local time, with offset)."""
    project: str | None
    """The project the figures belong to; ``None`` for all projects."""
    days: int
    """The window in local calendar days including today; 0 means all history."""
    include_offline: bool
    """Whether offline-engine sessions are counted."""
    first_day: date | None = None
    """First day of the charted window; ``None`` when there is no data."""
    last_day: date | None = None
    """Last day of the charted window (today)."""
    summary: DashboardSummary
    """The summary cards."""
    insights: Insights | None = None
    """Peak day, most active branch, week-over-week: the insights of ``tokens trends``."""
    daily: list[DailyUsage] = Field(default_factory=list)
    """One entry per local calendar day from ``first_day`` to ``last_day``."""
    by_branch: list[GroupUsage] = Field(default_factory=list)
    """Usage per git branch, most tokens first."""
    by_model: list[GroupUsage] = Field(default_factory=list)
    """Usage per model, most tokens first."""
    by_agent: list[GroupUsage] = Field(default_factory=list)
    """Usage per agent (or operation), most tokens first."""
    limits: LimitsReport | None = None
    """Configured limits against their rolling windows, as ``tokens limits`` shows them (limits
    are per user: all projects, whatever the dashboard's window)."""
    top_sessions: list[SessionRow] = Field(default_factory=list)
    """The most expensive sessions of the window, most expensive first."""

    @property
    def is_empty(self) -> bool:
        """True when the window holds no session, so there is nothing to chart."""
        return self.summary.sessions == 0


# --- collecting ---------------------------------------------------------------------------------

TOP_SESSIONS = 10
"""How many sessions the most-expensive table lists."""


MAX_DAYS = 36_500
"""The longest window ``--days`` accepts (a century); 0 means all history."""


def check_days(days: int) -> None:
    """Raise :class:`DashboardError` unless ``days`` is a window the ledger can be read over.

    A window reaching before year 1 cannot be computed, so the error comes before any work.
    """
    if days < 0:
        raise DashboardError(f"--days must be 0 (all history) or more, not {days}")
    if days > MAX_DAYS:
        raise DashboardError(
            f"--days must be at most {MAX_DAYS:,} (use 0 for all history), not {days:,}"
        )


def collect_dashboard_data(
    ledger: Ledger,
    *,
    days: int,
    project: str | None,
    include_offline: bool = False,
    now: datetime | None = None,
    environ: Mapping[str, str] | None = None,
) -> DashboardData:
    """Read the ledger into the dashboard's model.

    ``days`` is the window in local calendar days including today (0 = all history); ``project``
    is a ledger project key (``None`` = all projects). Offline-engine sessions are left out
    unless ``include_offline``. The figures come from :mod:`token_tracking.history.trends`, so they
    equal ``tokens trends`` over the same window.

    Limits come from ``environ`` (default ``os.environ``), as ``tokens limits`` reads them.

    Raises:
        DashboardError: ``days`` is negative or above :data:`MAX_DAYS`.
        SettingError: a limit or threshold variable holds an unusable value.
        LedgerError: the ledger cannot be read.
    """
    check_days(days)
    moment = now if now is not None else utc_now()
    # Read first: a bad limit setting is an error naming the variable, before any work.
    settings = load_settings(environ)
    trends = compute_trends(
        ledger, days=days, by="day", project=project, include_offline=include_offline, now=moment
    )
    filters = Filters(project=project, start=trends.start, include_offline=include_offline)
    totals = trends.totals
    daily = daily_series(ledger, filters, now=moment) if totals.sessions else []
    insights = trends.insights
    summary = DashboardSummary(
        sessions=totals.sessions,
        total_tokens=totals.total_tokens,
        prompt_tokens=totals.prompt_tokens,
        completion_tokens=totals.completion_tokens,
        cached_tokens=totals.cached_tokens,
        requests=totals.requests,
        cost_usd=totals.cost_usd,
        cost_is_lower_bound=totals.cost_usd is not None
        and totals.priced_coverage is not None
        and totals.priced_coverage < 1,
        average_tokens_per_day=insights.average_tokens_per_day
        if insights.average_tokens_per_day is not None
        else 0.0,
        projected_monthly_cost_usd=insights.projected_monthly_cost,
    )
    return DashboardData(
        generated_at=moment.astimezone(),
        project=project,
        days=days,
        include_offline=include_offline,
        first_day=date.fromisoformat(daily[0].key) if daily else None,
        last_day=date.fromisoformat(daily[-1].key) if daily else None,
        summary=summary,
        insights=insights if totals.sessions else None,
        daily=[_day(row) for row in daily],
        by_branch=_groups(ledger, filters, "branch"),
        by_model=_groups(ledger, filters, "model"),
        by_agent=_groups(ledger, filters, "agent"),
        limits=limits_status(ledger, settings, now=moment),
        top_sessions=_top_sessions(ledger, filters) if totals.sessions else [],
    )


def _day(row: TrendRow) -> DailyUsage:
    return DailyUsage(
        day=date.fromisoformat(row.key),
        sessions=row.sessions,
        prompt_tokens=row.prompt_tokens,
        completion_tokens=row.completion_tokens,
        cached_tokens=row.cached_tokens,
        total_tokens=row.total_tokens,
        # A day without sessions cost nothing; a day with sessions but no price is unknown.
        cost_usd=0.0 if row.sessions == 0 else row.cost_usd,
    )


def _groups(ledger: Ledger, filters: Filters, column: GroupColumn) -> list[GroupUsage]:
    return [
        GroupUsage(
            name=row.key,
            sessions=row.sessions,
            total_tokens=row.total_tokens,
            cost_usd=row.cost_usd,
        )
        for row in breakdown(ledger, filters, column)
    ]


def _top_sessions(ledger: Ledger, filters: Filters) -> list[SessionRow]:
    sessions = ledger.sessions(
        project=filters.project,
        limit=TOP_SESSIONS,
        start=filters.start,
        include_offline=filters.include_offline,
        order_by="cost",
    )
    return [
        SessionRow(
            session_id=session.session_id,
            end_time=session.end_time,
            project_path=session.project,
            branch=session.branch,
            command=session.command,
            model=session.model,
            source=session.source,
            status=session.status,
            total_tokens=session.total_tokens,
            cost_usd=session.cost_usd,
            note=session.note,
        )
        for session in sessions
    ]


# --- formatting: one place, at the edge --------------------------------------------------------


def format_tokens(value: int | None) -> str:
    """``107,046``; ``unknown`` for ``None``."""
    return "unknown" if value is None else f"{value:,}"


def format_usd(value: float | None, *, lower_bound: bool = False) -> str:
    """``$0.5142`` (four decimals, as the reports print); ``unknown`` for ``None``.

    A lower bound (some costs unknown) is written ``≥ $0.5142``.
    """
    if value is None:
        return "unknown"
    text = f"${value:,.4f}"
    return f"≥ {text}" if lower_bound else text


# --- rendering --------------------------------------------------------------------------------

_PALETTE = {
    "prompt": "#4c78a8",
    "completion": "#f58518",
    "cached": "#54a24b",
    "cost": "#7b61d1",
    "bar": "#4c78a8",
    "ok": "#3f9b5c",
    "warning": "#e0a526",
    "critical": "#d1495b",
    "exceeded": "#8e1b2b",
}


# The bundle's entry point: expose the libraries to the page's own script.
_EXPORTS = "window.vegaEmbed = vegaEmbed; window.vega = vega; window.vegaLite = vegaLite;"

CACHE_DIR_VARIABLE = "TOKEN_TRACKING_CACHE_DIR"
"""Environment variable that overrides the folder the Vega bundle is cached in."""

# Bump when the text written for the bundle changes (the exports, the "</script" escape), so
# caches written by an older memory-banker are not served.
_BUNDLE_FORMAT = "1"

_CACHE_HEADER = "// memory-banker cache, sha256 "


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Return the folder for cached build products such as the Vega bundle.

    ``TOKEN_TRACKING_CACHE_DIR`` when set, else the platform user-cache directory
    (``$XDG_CACHE_HOME/memory-banker``, by default ``~/.cache/memory-banker``, on Linux).
    """
    env = os.environ if environ is None else environ
    configured = env.get(CACHE_DIR_VARIABLE)
    if configured:
        return Path(configured).expanduser()
    return platformdirs.user_cache_path("memory-banker")


def vega_bundle_path(environ: Mapping[str, str] | None = None) -> Path:
    """Return the file the Vega bundle is cached in.

    It lies in :func:`cache_dir`; its name holds the vl-convert version, the Vega-Lite version and
    a digest of what the bundle exports, so an upgrade never serves an old bundle.
    """
    key = hashlib.sha256(f"{_BUNDLE_FORMAT}\n{_EXPORTS}".encode()).hexdigest()[:12]
    version = metadata.version("vl-convert-python")
    return cache_dir(environ) / f"vega-bundle-{version}-vl{VEGA_LITE_VERSION[1:]}-{key}.js"


@functools.cache
def vega_javascript() -> str:
    """Return the Vega + Vega-Lite + Vega-Embed bundle, safe to place inside a ``<script>``.

    Bundling with ``vl-convert-python`` takes one to three seconds, so the result is kept at
    :func:`vega_bundle_path` and read from there (about a millisecond) by later runs; within one
    process it is built or read once. Raises :class:`DashboardError` if the package cannot
    produce it.
    """
    return cached_text(vega_bundle_path(), _build_vega_javascript, replaces="vega-bundle-*.js")


def _build_vega_javascript() -> str:
    try:
        bundle = vl_convert.javascript_bundle(_EXPORTS, vl_version=VEGA_LITE_VERSION)
    except ValueError as exc:
        raise DashboardError(f"cannot bundle the Vega JavaScript: {exc}") from exc
    # A literal "</script" would end the inline element early; inside JavaScript strings and
    # regular expressions "<\\/script" means the same characters.
    return bundle.replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT")


def cached_text(path: Path, build: Callable[[], str], *, replaces: str | None = None) -> str:
    """Return the text cached at ``path``, or ``build()`` it and cache it there.

    The file's first line holds the SHA-256 of the text; a file that does not match (cut short,
    edited) is rebuilt and replaced. When a new file is written, the cache files beside it that
    match the glob ``replaces`` (older versions of the same product) are removed; only files that
    start with this cache's header line, never anything else in the folder. The cache only saves
    time: a folder that cannot be read or written means building every time, never an error.
    """
    cached = _read_cached(path)
    if cached is not None:
        return cached
    text = build()
    digest = hashlib.sha256(text.encode()).hexdigest()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(path, f"{_CACHE_HEADER}{digest}\n{text}")
        for other in path.parent.glob(replaces) if replaces is not None else ():
            if other != path and _is_cache_file(other):
                other.unlink(missing_ok=True)
    except OSError:
        pass  # no cache this time: the text itself is fine, the next run builds again
    return text


def _is_cache_file(path: Path) -> bool:
    """True when ``path`` starts with the cache header: a file :func:`cached_text` wrote."""
    with path.open("rb") as handle:
        return handle.read(len(_CACHE_HEADER)) == _CACHE_HEADER.encode()


def _read_cached(path: Path) -> str | None:
    """The text of a cache file whose header matches its content; ``None`` otherwise."""
    try:
        header, _, text = path.read_text(encoding="utf-8").partition("\n")
    except (OSError, UnicodeDecodeError):
        return None
    if header != _CACHE_HEADER + hashlib.sha256(text.encode()).hexdigest():
        return None
    return text


def script_json(value: Any) -> str:
    """Serialize ``value`` as JSON that can sit inside a ``<script>`` element unchanged.

    ``<``, ``>`` and ``&`` become ``\\u003c``, ``\\u003e`` and ``\\u0026`` (so no ``</script>`` or
    comment opener can appear), and U+2028/U+2029 are escaped too; ``JSON.parse`` restores them.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return text


def chart_specs(data: DashboardData) -> dict[str, dict[str, Any]]:
    """Return the Vega-Lite specification of each chart, keyed by its container's element id.

    Each specification carries its data inline, so the page needs no data file.
    """
    specs: dict[str, dict[str, Any]] = {
        "chart-daily-tokens": _daily_tokens_spec(data.daily),
        "chart-daily-cost": _daily_cost_spec(data.daily),
        "chart-by-branch": _group_spec(data.by_branch, "branch"),
        "chart-by-model": _group_spec(data.by_model, "model"),
        "chart-by-agent": _group_spec(data.by_agent, "agent"),
    }
    if data.limits is not None and data.limits.limits:
        specs["chart-limits"] = _limits_spec(data.limits)
    return specs


def _base_spec(height: int) -> dict[str, Any]:
    return {
        "$schema": f"https://vega.github.io/schema/vega-lite/{VEGA_LITE_VERSION}.json",
        "width": "container",
        "height": height,
        "autosize": {"type": "fit-x", "contains": "padding"},
        "config": {
            "view": {"stroke": None},
            "axis": {
                "labelColor": "#4a5568",
                "titleColor": "#4a5568",
                "gridColor": "#e2e8f0",
                "domainColor": "#cbd5e0",
                "labelFont": "system-ui, sans-serif",
                "titleFont": "system-ui, sans-serif",
            },
            "legend": {"labelFont": "system-ui, sans-serif", "orient": "top"},
        },
    }


# Token axes in SI units (20k, 1.5M); a plain 0 rather than "0k".
_SI_AXIS = {
    "labelExpr": "datum.value === 0 ? '0' : format(datum.value, '~s')",
    "labelOverlap": True,
    "labelSeparation": 6,
}


def _day_label(day: date, daily: list[DailyUsage]) -> str:
    # "Nov 23" within a year; a longer window (--days 0) needs the year to stay unambiguous.
    if daily and (daily[-1].day - daily[0].day).days >= 365:
        return day.isoformat()
    return f"{_MONTHS[day.month - 1]} {day.day:02d}"


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _day_axis(daily: list[DailyUsage]) -> dict[str, Any]:
    # One band per local calendar day, labelled here: each point and bar sits under its own
    # day's label, never between two midnight ticks, and no tick falls inside a day (a time
    # axis over one or two days labels its noon ticks "Nov 23" again). The domain lists every
    # day, so a day without a bar (unknown cost) keeps its place.
    return {
        "field": "label",
        "type": "ordinal",
        "sort": None,
        "title": None,
        "scale": {"domain": [_day_label(day.day, daily) for day in daily]},
        "axis": {"labelAngle": 0, "labelOverlap": True, "labelSeparation": 10},
    }


def _daily_tokens_spec(daily: list[DailyUsage]) -> dict[str, Any]:
    series = (
        ("Prompt", "prompt_tokens"),
        ("Completion", "completion_tokens"),
        ("Cached", "cached_tokens"),
    )
    values = [
        {
            "day": day.day.isoformat(),
            "label": _day_label(day.day, daily),
            "series": label,
            "tokens": getattr(day, field),
        }
        for day in daily
        for label, field in series
        # An unknown cached count is left out of the line, not drawn as zero.
        if getattr(day, field) is not None
    ]
    spec = _base_spec(240)
    spec.update(
        {
            "data": {"values": values},
            "mark": {"type": "line", "point": {"size": 36}, "strokeWidth": 2},
            "encoding": {
                "x": _day_axis(daily),
                "y": {
                    "field": "tokens",
                    "type": "quantitative",
                    "title": "tokens",
                    "axis": _SI_AXIS,
                },
                "color": {
                    "field": "series",
                    "type": "nominal",
                    "title": None,
                    "scale": {
                        "domain": [label for label, _ in series],
                        "range": [
                            _PALETTE["prompt"],
                            _PALETTE["completion"],
                            _PALETTE["cached"],
                        ],
                    },
                },
                "tooltip": [
                    {"field": "day", "type": "nominal"},
                    {"field": "series", "type": "nominal"},
                    {"field": "tokens", "type": "quantitative", "format": ","},
                ],
            },
        }
    )
    return spec


_COST_AND_SESSIONS_TOOLTIP = (
    {"field": "cost_usd", "type": "quantitative", "format": "$,.4f", "title": "cost"},
    {"field": "sessions", "type": "quantitative"},
)

_MIN_BAR_SLOTS = 7
"""The daily cost chart is at least this many bars wide."""


def _daily_cost_spec(daily: list[DailyUsage]) -> dict[str, Any]:
    priced = [day for day in daily if day.cost_usd is not None]
    values = [
        {
            "day": day.day.isoformat(),
            "label": _day_label(day.day, daily),
            "cost_usd": day.cost_usd,
            "sessions": day.sessions,
        }
        for day in priced
    ]
    # Small daily costs would all read "$0.00" at two decimals.
    largest = max((day.cost_usd for day in priced if day.cost_usd is not None), default=0.0)
    axis_format = "$,.2~f" if largest >= 1 else "$,.4~f"
    x = _day_axis(daily)
    # Over a few days, bars as wide as in a week's chart rather than one bar filling the panel:
    # the outer padding (in bands) makes room for seven.
    x["scale"]["paddingOuter"] = max(0.05, (_MIN_BAR_SLOTS - len(daily)) / 2)
    spec = _base_spec(240)
    spec.update(
        {
            "data": {"values": values},
            "mark": {"type": "bar", "color": _PALETTE["cost"], "cornerRadiusEnd": 2},
            "encoding": {
                "x": x,
                "y": {
                    "field": "cost_usd",
                    "type": "quantitative",
                    "title": "USD",
                    "axis": {"format": axis_format},
                },
                "tooltip": [
                    {"field": "day", "type": "nominal"},
                    *_COST_AND_SESSIONS_TOOLTIP,
                ],
            },
        }
    )
    return spec


def _group_spec(groups: list[GroupUsage], kind: str) -> dict[str, Any]:
    values = [
        {
            "name": group.name,
            "total_tokens": group.total_tokens,
            "cost_usd": group.cost_usd,
            "sessions": group.sessions,
        }
        for group in groups
    ]
    spec = _base_spec(max(60, 26 * len(values)))
    spec.update(
        {
            "data": {"values": values},
            "mark": {"type": "bar", "color": _PALETTE["bar"], "cornerRadiusEnd": 2},
            "encoding": {
                "y": {
                    "field": "name",
                    "type": "nominal",
                    "title": None,
                    "sort": "-x",
                    "axis": {"labelLimit": 180},
                },
                "x": {
                    "field": "total_tokens",
                    "type": "quantitative",
                    "title": "tokens",
                    "axis": _SI_AXIS,
                },
                "tooltip": [
                    {"field": "name", "type": "nominal", "title": kind},
                    {
                        "field": "total_tokens",
                        "type": "quantitative",
                        "format": ",",
                        "title": "tokens",
                    },
                    *_COST_AND_SESSIONS_TOOLTIP,
                ],
            },
        }
    )
    return spec


def _limits_spec(report: LimitsReport) -> dict[str, Any]:
    limits = report.limits
    values = [
        {
            "name": f"{_LIMIT_UNITS[limit.unit]}, {limit.window}",
            "variable": limit.variable,
            "percent": limit.percent,
            "level": limit.level,
            "label": f"{'≥ ' if limit.lower_bound else ''}"
            f"{_format_limit_value(limit.used, limit.unit)} of "
            f"{_format_limit_value(limit.limit, limit.unit)}",
        }
        for limit in limits
    ]
    top = max([100.0, *(limit.percent for limit in limits)])
    warning, critical = report.warning_threshold, report.critical_threshold
    spec = _base_spec(max(60, 30 * len(values)))
    x_scale = {"domain": [0, top], "nice": False}
    spec.update(
        {
            "layer": [
                {
                    "data": {"values": values},
                    "mark": {"type": "bar", "cornerRadiusEnd": 2},
                    "encoding": {
                        "y": {
                            "field": "name",
                            "type": "nominal",
                            "title": None,
                            "sort": None,
                            "axis": {"labelLimit": 220},
                        },
                        "x": {
                            "field": "percent",
                            "type": "quantitative",
                            "title": "% of limit",
                            "scale": x_scale,
                        },
                        "color": {
                            "field": "level",
                            "type": "nominal",
                            "legend": None,
                            "scale": {
                                "domain": ["ok", "warning", "critical", "exceeded"],
                                "range": [
                                    _PALETTE["ok"],
                                    _PALETTE["warning"],
                                    _PALETTE["critical"],
                                    _PALETTE["exceeded"],
                                ],
                            },
                        },
                        "tooltip": [
                            {"field": "variable", "type": "nominal", "title": "limit"},
                            {"field": "label", "type": "nominal", "title": "used"},
                            {"field": "percent", "type": "quantitative", "format": ".1f"},
                        ],
                    },
                },
                {
                    "data": {
                        "values": [
                            {"at": warning, "level": "warning"},
                            {"at": critical, "level": "critical"},
                        ]
                    },
                    "mark": {"type": "rule", "strokeDash": [4, 3], "strokeWidth": 1.5},
                    "encoding": {
                        "x": {"field": "at", "type": "quantitative", "scale": x_scale},
                        "color": {"field": "level", "type": "nominal", "legend": None},
                    },
                },
            ],
        }
    )
    return spec


_LIMIT_UNITS = {"requests": "Requests", "tokens": "Tokens", "usd": "Spend"}


def _format_limit_value(value: float, unit: str) -> str:
    if unit == "usd":
        return format_usd(value)
    return f"{value:,.0f}"


_STYLE = """
:root { --ink:#1a202c; --muted:#5a6474; --line:#e2e8f0; --card:#ffffff; --bg:#f4f6fa;
        --accent:#4c78a8; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
       font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header { padding: 22px 32px 8px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 15px; margin: 0 0 10px; color: var(--muted); font-weight: 600; }
.meta { color: var(--muted); font-size: 13px; }
.meta span + span::before { content: "·"; margin: 0 8px; }
main { padding: 12px 32px 32px; display: grid; gap: 16px; }
.cards { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 16px; }
.card, .panel { background: var(--card); border: 1px solid var(--line); border-radius: 10px;
                padding: 14px 18px; }
.card .label { color: var(--muted); font-size: 13px; }
.card .figure { font-size: 28px; font-weight: 650; margin: 2px 0;
                font-variant-numeric: tabular-nums; }
.card .detail { color: var(--muted); font-size: 12px; }
.row { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 16px; }
.row.three { grid-template-columns: repeat(3, minmax(0, 1fr)); }
.row.split { grid-template-columns: minmax(0, 1fr) minmax(0, 2fr); }
.chart { width: 100%; min-height: 60px; }
table { width: 100%; border-collapse: collapse; font-size: 13px;
        font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line);
         overflow-wrap: break-word; }
th { color: var(--muted); font-weight: 600; white-space: nowrap; overflow-wrap: normal; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.nowrap { white-space: nowrap; }
code { font-size: 12px; }
.empty { background: var(--card); border: 1px dashed var(--line); border-radius: 10px;
         padding: 40px; text-align: center; color: var(--muted); }
.note { color: var(--muted); font-size: 12px; }
.insights { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: 8px 24px;
            color: var(--muted); font-size: 13px; }
.insights b { color: var(--ink); font-weight: 600; }
@media (max-width: 900px) { .cards, .row, .row.three, .row.split { grid-template-columns: 1fr; } }
"""

# Inline scripts and styles only; nothing may be fetched (Vega compiles expressions with
# Function(), hence 'unsafe-eval').
_CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'unsafe-inline'; img-src data:; font-src data:"
)

_BOOT = """
const specs = JSON.parse(document.getElementById("dashboard-specs").textContent);
for (const [id, spec] of Object.entries(specs)) {
  window.vegaEmbed("#" + id, spec, { renderer: "svg", actions: false })
    .then(() => document.getElementById(id).setAttribute("data-rendered", "true"))
    .catch((error) => console.error("chart " + id + " failed: " + error));
}
"""


def render_dashboard(data: DashboardData) -> str:
    """Return the dashboard as one self-contained HTML page.

    An empty window gives a page that says there is no data yet. Raises :class:`DashboardError`
    when the Vega JavaScript cannot be produced.
    """
    body = _render_empty(data) if data.is_empty else _render_full(data)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<title>Token usage dashboard — memory-banker</title>\n"
        f"<style>{_STYLE}</style>\n</head>\n<body>\n{_render_header(data)}\n{body}\n"
        "</body>\n</html>\n"
    )


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _render_header(data: DashboardData) -> str:
    scope = "all projects" if data.project is None else data.project
    if data.days == 0:
        window = "all history"
    else:
        window = f"last {data.days} day{'s' if data.days != 1 else ''}"
    if data.first_day is not None and data.last_day is not None:
        window += f" ({data.first_day.isoformat()} to {data.last_day.isoformat()})"
    offline = "offline runs included" if data.include_offline else "offline runs excluded"
    generated = data.generated_at.strftime("%Y-%m-%d %H:%M %z")
    parts = [
        f'<span>Project: <code id="scope">{_e(scope)}</code></span>',
        f'<span id="window">{_e(window)}</span>',
        f"<span>{_e(offline)}</span>",
        f"<span>generated {_e(generated)}</span>",
    ]
    return f'<header><h1>Token usage</h1><div class="meta">{"".join(parts)}</div></header>'


def _render_empty(data: DashboardData) -> str:
    return (
        '<main><div class="empty" id="no-data"><h2>No data yet</h2>'
        "<p>The ledger holds no sessions for this window. Run "
        "<code>memory-banker update</code> (or record usage with <code>memory-banker tokens add"
        "</code>) and generate the dashboard again.</p></div></main>"
    )


def _card(key: str, label: str, figure: str, detail: str) -> str:
    return (
        f'<div class="card" data-card="{_e(key)}"><div class="label">{_e(label)}</div>'
        f'<div class="figure" data-figure="{_e(key)}">{_e(figure)}</div>'
        f'<div class="detail">{_e(detail)}</div></div>'
    )


def _render_full(data: DashboardData) -> str:
    summary = data.summary
    cached = (
        "" if summary.cached_tokens is None else f" · {format_tokens(summary.cached_tokens)} cached"
    )
    requests = "" if summary.requests is None else f" · {summary.requests:,} requests"
    cost_detail = (
        "some sessions have an unknown price"
        if summary.cost_is_lower_bound
        else "estimated from the price table"
    )
    per_day = f"{summary.average_tokens_per_day:,.0f} tokens per day"
    cards = "".join(
        [
            _card("sessions", "Sessions", f"{summary.sessions:,}", requests.lstrip(" ·") or " "),
            _card(
                "tokens",
                "Tokens",
                format_tokens(summary.total_tokens),
                f"{format_tokens(summary.prompt_tokens)} prompt · "
                f"{format_tokens(summary.completion_tokens)} completion{cached}",
            ),
            _card(
                "cost",
                "Cost",
                format_usd(summary.cost_usd, lower_bound=summary.cost_is_lower_bound),
                cost_detail,
            ),
            _card(
                "projected",
                "Projected monthly cost",
                format_usd(
                    summary.projected_monthly_cost_usd, lower_bound=summary.cost_is_lower_bound
                ),
                per_day,
            ),
        ]
    )
    specs = chart_specs(data)

    def panel(chart_id: str, title: str, note: str = "") -> str:
        return (
            f'<section class="panel"><h2>{_e(title)}</h2>'
            f'<div class="chart" id="{chart_id}"></div>{note}</section>'
        )

    unpriced_days = [day.day.isoformat() for day in data.daily if day.cost_usd is None]
    cost_note = (
        f'<p class="note" id="unpriced-days">No bar where no session had a known price: '
        f"{_e(', '.join(unpriced_days))}.</p>"
        if unpriced_days
        else ""
    )

    limits_panel = (
        panel("chart-limits", "Limits (all projects)")
        if "chart-limits" in specs
        else '<section class="panel"><h2>Limits</h2><p class="note">No limits set.</p></section>'
    )
    return (
        "<main>"
        f'<section class="cards">{cards}</section>'
        f"{_render_insights(data.insights)}"
        '<div class="row">'
        f"{panel('chart-daily-tokens', 'Daily tokens')}"
        f"{panel('chart-daily-cost', 'Daily cost', cost_note)}"
        "</div>"
        '<div class="row three">'
        f"{panel('chart-by-branch', 'By branch')}{panel('chart-by-model', 'By model')}"
        f"{panel('chart-by-agent', 'By agent')}"
        "</div>"
        f'<div class="row split">{limits_panel}{_render_sessions(data)}</div>'
        '<p class="note">Charts drawn with Vega-Lite, inlined; this page loads nothing from the '
        "network.</p>"
        "</main>\n"
        f'<script type="application/json" id="dashboard-specs">{script_json(specs)}</script>\n'
        f'<script type="module">{vega_javascript()}</script>\n'
        f'<script type="module">{_BOOT}</script>'
    )


def _render_insights(insights: Insights | None) -> str:
    if insights is None:
        return ""
    items: list[str] = []
    if insights.peak_day is not None and insights.peak_day_tokens is not None:
        items.append(
            f"Peak day <b>{_e(insights.peak_day.isoformat())}</b> "
            f"({_e(format_tokens(insights.peak_day_tokens))} tokens)"
        )
    if insights.most_active_branch is not None and insights.most_active_branch_tokens is not None:
        items.append(
            f"Most active branch <b>{_e(insights.most_active_branch)}</b> "
            f"({_e(format_tokens(insights.most_active_branch_tokens))} tokens)"
        )
    change = insights.week_over_week.change_percent
    if change is not None:
        items.append(f"Last 7 days against the 7 before: <b>{change:+.0f}%</b> tokens")
    if insights.projected_monthly_cost is not None:
        items.append("Projection: average cost per day x 30, a straight line")
    if not items:
        return ""
    return f'<ul class="insights" id="insights"><li>{"</li><li>".join(items)}</li></ul>'


def _render_sessions(data: DashboardData) -> str:
    rows = []
    for row in data.top_sessions:
        where = row.branch if row.branch is not None else NO_VALUE
        note = f'<div class="note">{_e(row.note)}</div>' if row.note is not None else ""
        rows.append(
            "<tr>"
            f'<td class="nowrap">{_e(row.end_time.astimezone().strftime("%Y-%m-%d %H:%M"))}</td>'
            f'<td><code title="{_e(row.session_id)}">{_e(row.session_id[:8])}</code></td>'
            f"<td>{_e(where)}{note}</td>"
            f"<td>{_e(row.command)}</td>"
            f"<td>{_e(row.model if row.model is not None else NO_VALUE)}</td>"
            f'<td class="num">{_e(format_tokens(row.total_tokens))}</td>'
            f'<td class="num">{_e(format_usd(row.cost_usd))}</td>'
            "</tr>"
        )
    head = (
        "<tr><th>Ended</th><th>Session</th><th>Branch</th><th>Command</th><th>Model</th>"
        '<th class="num">Tokens</th><th class="num">Cost</th></tr>'
    )
    return (
        '<section class="panel"><h2>Most expensive sessions</h2>'
        f'<table id="top-sessions"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'
        "</section>"
    )


# --- writing ----------------------------------------------------------------------------------


def write_dashboard(path: Path, page: str) -> Path:
    """Write ``page`` to ``path`` atomically (a temporary file beside it, then a rename).

    Returns the path written. Raises :class:`DashboardError` when the folder does not exist or
    cannot be written.
    """
    folder = path.parent
    if not folder.is_dir():
        raise DashboardError(f"cannot write {path}: folder {folder} does not exist")
    if path.is_dir():
        raise DashboardError(f"cannot write {path}: it is a folder")
    try:
        _write_atomically(path, page)
    except OSError as exc:
        raise DashboardError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


def _write_atomically(path: Path, text: str) -> None:
    """Write ``text`` through a temporary file beside ``path`` and a rename; raises OSError."""
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        # mkstemp creates 0600; a dashboard is an ordinary user file.
        os.chmod(temp_name, 0o644)
        os.replace(temp_name, path)
    except OSError:
        Path(temp_name).unlink(missing_ok=True)
        raise
