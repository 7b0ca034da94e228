"""Usage limits: how much of each configured limit the ledger's rolling windows have used.

Every limit is checked over a rolling window that ends now, across all projects of the user
(limits are per user), and never counts rows of the offline engine; manual and imported rows
count. The limits, their windows and defaults, and the thresholds are environment settings
(:data:`token_tracking.settings.LIMITS`, :func:`token_tracking.settings.load_settings`).

A limit is ``ok`` (green) below the warning threshold (``TOKEN_WARNING_THRESHOLD``, 50%),
``warning`` (yellow) from it, ``critical`` (red) from the critical threshold
(``TOKEN_CRITICAL_THRESHOLD``, 80%), and ``exceeded`` above 100%. ``init``/``update``/``refresh``
warn from the warning level and refuse only when a limit the user set explicitly in the
environment is above 100%: the request defaults never stop a run.

A dollar figure over rows whose price is unknown is a lower bound, and the status says so.

Beside the configured limits, the report carries the latest rate limits each provider reported
for each model (:mod:`token_tracking.history.ratelimit_store`): what remained, when it resets,
and when it was seen.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Literal

from pydantic import Field

from token_tracking import display
from token_tracking.history.clock import utc_now
from token_tracking.history.ledger import Ledger
from token_tracking.history.models import Filters, UsageTotals
from token_tracking.history.ratelimit_store import RateLimitSnapshot, latest_snapshots
from token_tracking.records import DeferredModel
from token_tracking.settings import LIMITS, LedgerSettings, LimitUnit, load_settings

Level = Literal["ok", "warning", "critical", "exceeded"]


class LimitStatus(DeferredModel):
    """Usage against one limit over its rolling window."""

    variable: str
    """The environment variable that sets the limit."""
    unit: LimitUnit
    """``requests``, ``tokens`` or ``usd``."""
    window: str
    """The rolling window, e.g. ``last 60 minutes``."""
    used: float
    """Usage in the window, in ``unit``."""
    limit: float
    """The limit, in ``unit``."""
    percent: float
    """``used / limit`` in percent."""
    level: Level
    """``ok`` (green), ``warning`` (yellow), ``critical`` or ``exceeded`` (red)."""
    explicit: bool
    """True when the user set this limit in the environment (only those can refuse a run)."""
    lower_bound: bool = False
    """True for dollars when some rows in the window have no known price."""


class LimitsReport(DeferredModel):
    """Every configured limit with its usage: the model of ``tokens limits --json``."""

    checked_at: datetime
    """When the windows ended (UTC)."""
    warning_threshold: float
    """Percent from which a limit warns."""
    critical_threshold: float
    """Percent from which a limit is critical."""
    limits: list[LimitStatus] = Field(default_factory=list)
    """One entry per configured limit, in ``LIMITS`` order."""
    provider_limits: list[RateLimitSnapshot] = Field(default_factory=list)
    """The latest rate limits each provider reported per model, the most recent first."""


class LimitsVerdict(DeferredModel):
    """What ``init``/``update``/``refresh`` do about the limits before a run."""

    report: LimitsReport
    """The figures behind the verdict."""
    warnings: list[str] = Field(default_factory=list)
    """One line per limit at or above the warning level."""
    refusals: list[str] = Field(default_factory=list)
    """One line per limit set in the environment that is above 100%."""

    @property
    def refuse(self) -> bool:
        """True when the run must not start (unless ``--ignore-limits``)."""
        return bool(self.refusals)


def _level(percent: float, settings: LedgerSettings) -> Level:
    if percent > 100:
        return "exceeded"
    if percent >= settings.critical_threshold:
        return "critical"
    if percent >= settings.warning_threshold:
        return "warning"
    return "ok"


def limits_status(
    ledger: Ledger, settings: LedgerSettings, *, now: datetime | None = None
) -> LimitsReport:
    """Return the usage of every configured limit over its rolling window (all projects)."""
    moment = now if now is not None else utc_now()
    statuses: list[LimitStatus] = []
    by_window: dict[timedelta, UsageTotals] = {}
    for definition in LIMITS:
        limit = settings.limits.get(definition.variable)
        if limit is None:
            continue
        totals = by_window.get(definition.window)
        if totals is None:
            totals = ledger.window_totals(Filters(start=moment - definition.window))
            by_window[definition.window] = totals
        used: float
        if definition.unit == "requests":
            used = totals.requests
        elif definition.unit == "tokens":
            used = totals.total_tokens
        else:
            used = totals.cost_usd if totals.cost_usd is not None else 0.0
        percent = used / limit * 100
        statuses.append(
            LimitStatus(
                variable=definition.variable,
                unit=definition.unit,
                window=definition.window_label,
                used=used,
                limit=limit,
                percent=percent,
                level=_level(percent, settings),
                explicit=definition.variable in settings.explicit,
                lower_bound=definition.unit == "usd" and totals.priced_tokens < totals.total_tokens,
            )
        )
    return LimitsReport(
        checked_at=moment,
        warning_threshold=settings.warning_threshold,
        critical_threshold=settings.critical_threshold,
        limits=statuses,
        provider_limits=latest_snapshots(ledger),
    )


def amount(value: float, unit: LimitUnit, *, lower_bound: bool = False) -> str:
    """Return a limit's figure in its unit: ``$0.5000`` for dollars, ``1,234`` for requests and
    tokens; ``lower_bound`` puts ``≥`` in front."""
    text = display.usd(value) if unit == "usd" else display.tokens(round(value))
    return "≥" + text if lower_bound else text


def describe(status: LimitStatus) -> str:
    """Return one line about a limit: ``CLAUDE_HOURLY_LIMIT: 480 of 500 requests in the …``."""
    used = f"{amount(status.used, status.unit)} of {amount(status.limit, status.unit)}"
    if status.unit != "usd":
        used += f" {status.unit}"
    elif status.lower_bound:
        used = "at least " + used
    return f"{status.variable}: {used} in the {status.window} ({status.percent:.0f}%)"


def check_limits_before_run(
    ledger: Ledger, environ: Mapping[str, str] | None = None, *, now: datetime | None = None
) -> LimitsVerdict:
    """Return whether a generation run may start, with its warnings.

    Warns for every limit at or above the warning threshold; refuses only for limits set
    explicitly in the environment that are above 100%.

    Raises:
        SettingError: a setting in the environment is invalid.
    """
    settings = load_settings(environ)
    report = limits_status(ledger, settings, now=now)
    warnings = [describe(status) for status in report.limits if status.level != "ok"]
    refusals = [
        describe(status)
        for status in report.limits
        if status.explicit and status.level == "exceeded"
    ]
    return LimitsVerdict(report=report, warnings=warnings, refusals=refusals)
