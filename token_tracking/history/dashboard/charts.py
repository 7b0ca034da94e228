"""The dashboard's charts: Vega-Lite specifications built as plain data, and the Vega JavaScript.

Each chart is a Vega-Lite specification carrying its data inline, drawn in the browser by Vega.
The JavaScript of Vega, Vega-Lite and Vega-Embed comes from the ``vl-convert-python`` package
(:func:`vl_convert.javascript_bundle`); building it takes seconds, so it is cached on disk in the
folder of ``TOKEN_TRACKING_CACHE_DIR`` (:func:`token_tracking.settings.cache_dir`).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Mapping
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import Any

import vl_convert

from token_tracking.errors import DashboardError
from token_tracking.files import atomic_write
from token_tracking.history.dashboard.data import DailyUsage, DashboardData, GroupUsage
from token_tracking.history.limits import LimitsReport, LimitStatus, amount
from token_tracking.settings import cache_dir

VEGA_LITE_VERSION = "v6.4"
"""The Vega-Lite release of the inlined bundle (one of ``vl_convert.get_vegalite_versions()``)."""


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


# Bump when the text written for the bundle changes (the exports, the "</script" escape), so
# caches written by an older memory-banker are not served.
_BUNDLE_FORMAT = "1"

_CACHE_HEADER = "// memory-banker cache, sha256 "


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
        atomic_write(path, f"{_CACHE_HEADER}{digest}\n{text}")
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
    if data.by_people is not None:
        specs[f"chart-by-{data.by_people}"] = _group_spec(data.by_people_groups, data.by_people)
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
            "label": _limit_label(limit),
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


def _limit_label(limit: LimitStatus) -> str:
    """``≥$0.5000 of $1.0000`` or ``1,234 of 5,000``: the usage against the limit."""
    used = amount(limit.used, limit.unit, lower_bound=limit.lower_bound)
    return f"{used} of {amount(limit.limit, limit.unit)}"
