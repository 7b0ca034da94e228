"""Usage limits and the ledger's settings (DESIGN §7).

Every limit is checked over a rolling window that ends now, across all projects of the user
(limits are per user), and never counts rows of the offline engine; manual and imported rows
count.

| variable | unit | window | default |
|---|---|---|---|
| ``CLAUDE_HOURLY_LIMIT`` | requests (one per LLM call) | last 60 minutes | 500 |
| ``CLAUDE_DAILY_LIMIT`` | requests | last 24 hours | 5000 |
| ``TOKEN_HOURLY_LIMIT`` | total tokens (cached included) | last 60 minutes | none |
| ``TOKEN_DAILY_LIMIT`` | total tokens | last 24 hours | none |
| ``TOKEN_DAILY_BUDGET_USD`` | dollars | last 24 hours | none |
| ``TOKEN_MONTHLY_BUDGET_USD`` | dollars | last 30 days | none |

``TOKEN_WARNING_THRESHOLD`` (50) and ``TOKEN_CRITICAL_THRESHOLD`` (80) are percentages of a limit:
below the warning level a limit is ``ok`` (green), from it ``warning`` (yellow), from the critical
level ``critical`` (red), and above 100% ``exceeded``. ``init``/``update``/``refresh`` warn from the
warning level and refuse only when a limit the user set explicitly in the environment is above
100%: the request defaults never stop a run.

A dollar figure over rows whose price is unknown is a lower bound, and the status says so.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from token_tracking.errors import SettingError
from token_tracking.history.ledger import Filters, Ledger, utc_now

Unit = Literal["requests", "tokens", "usd"]
Level = Literal["ok", "warning", "critical", "exceeded"]


@dataclass(frozen=True)
class LimitDefinition:
    """One configurable limit."""

    variable: str
    """The environment variable that sets it."""
    unit: Unit
    """What it counts: requests, total tokens or dollars."""
    window: timedelta
    """The rolling window it is checked over, ending now."""
    window_label: str
    """The window in words, e.g. ``last 60 minutes``."""
    default: float | None
    """The value without the variable; ``None``: no limit unless set."""


LIMITS: tuple[LimitDefinition, ...] = (
    LimitDefinition("CLAUDE_HOURLY_LIMIT", "requests", timedelta(hours=1), "last 60 minutes", 500),
    LimitDefinition("CLAUDE_DAILY_LIMIT", "requests", timedelta(days=1), "last 24 hours", 5000),
    LimitDefinition("TOKEN_HOURLY_LIMIT", "tokens", timedelta(hours=1), "last 60 minutes", None),
    LimitDefinition("TOKEN_DAILY_LIMIT", "tokens", timedelta(days=1), "last 24 hours", None),
    LimitDefinition("TOKEN_DAILY_BUDGET_USD", "usd", timedelta(days=1), "last 24 hours", None),
    LimitDefinition("TOKEN_MONTHLY_BUDGET_USD", "usd", timedelta(days=30), "last 30 days", None),
)
"""Every limit, in display order."""


@dataclass(frozen=True)
class LedgerSettings:
    """The ledger's settings read from the environment."""

    limits: Mapping[str, float]
    """Configured limits by variable (defaults included); an unset optional limit is absent."""
    explicit: frozenset[str]
    """The limit variables the user set in the environment."""
    warning_threshold: float = 50.0
    """Percent of a limit from which it shows yellow and runs warn."""
    critical_threshold: float = 80.0
    """Percent of a limit from which it shows red."""
    history_days: int = 90
    """Days of history ``tokens prune`` keeps."""


def _positive_int(variable: str, raw: str) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise SettingError(variable, raw, "a positive whole number") from None
    if value <= 0:
        raise SettingError(variable, raw, "a positive whole number")
    return value


def _positive_float(variable: str, raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise SettingError(variable, raw, "a positive number of dollars") from None
    if not math.isfinite(value) or value <= 0:
        raise SettingError(variable, raw, "a positive number of dollars")
    return value


def _percent(variable: str, raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise SettingError(variable, raw, "a percentage from 0 to 100") from None
    if not math.isfinite(value) or not 0 <= value <= 100:
        raise SettingError(variable, raw, "a percentage from 0 to 100")
    return value


def load_settings(environ: Mapping[str, str] | None = None) -> LedgerSettings:
    """Read the limits, thresholds and retention from the environment.

    Empty values count as unset.

    Raises:
        SettingError: a value is not a positive number, a threshold is outside 0 to 100, or
            the warning threshold is above the critical one.
    """
    env = os.environ if environ is None else environ
    limits: dict[str, float] = {}
    explicit: set[str] = set()
    for definition in LIMITS:
        raw = env.get(definition.variable, "").strip()
        if raw:
            explicit.add(definition.variable)
            parse = _positive_float if definition.unit == "usd" else _positive_int
            limits[definition.variable] = parse(definition.variable, raw)
        elif definition.default is not None:
            limits[definition.variable] = definition.default
    warning_raw = env.get("TOKEN_WARNING_THRESHOLD", "").strip()
    critical_raw = env.get("TOKEN_CRITICAL_THRESHOLD", "").strip()
    warning = _percent("TOKEN_WARNING_THRESHOLD", warning_raw) if warning_raw else 50.0
    critical = _percent("TOKEN_CRITICAL_THRESHOLD", critical_raw) if critical_raw else 80.0
    if warning > critical:
        raise SettingError(
            "TOKEN_WARNING_THRESHOLD",
            warning_raw or str(warning),
            f"at most TOKEN_CRITICAL_THRESHOLD ({critical:g})",
        )
    history_raw = env.get("TOKEN_HISTORY_DAYS", "").strip()
    history = _positive_int("TOKEN_HISTORY_DAYS", history_raw) if history_raw else 90
    return LedgerSettings(
        limits=limits,
        explicit=frozenset(explicit),
        warning_threshold=warning,
        critical_threshold=critical,
        history_days=history,
    )


class LimitStatus(BaseModel):
    """Usage against one limit over its rolling window."""

    variable: str
    """The environment variable that sets the limit."""
    unit: Unit
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


class LimitsReport(BaseModel):
    """Every configured limit with its usage: the model of ``tokens limits --json``."""

    checked_at: datetime
    """When the windows ended (UTC)."""
    warning_threshold: float
    """Percent from which a limit warns."""
    critical_threshold: float
    """Percent from which a limit is critical."""
    limits: list[LimitStatus] = Field(default_factory=list)
    """One entry per configured limit, in ``LIMITS`` order."""


class LimitsVerdict(BaseModel):
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
    cache: dict[timedelta, tuple[int, int, float | None, bool]] = {}
    for definition in LIMITS:
        limit = settings.limits.get(definition.variable)
        if limit is None:
            continue
        if definition.window not in cache:
            totals = ledger.window_totals(Filters(start=moment - definition.window))
            partly_priced = totals.priced_tokens < totals.total_tokens
            cache[definition.window] = (
                totals.requests,
                totals.total_tokens,
                totals.cost_usd,
                partly_priced,
            )
        requests, tokens, cost, partly_priced = cache[definition.window]
        used: float
        if definition.unit == "requests":
            used = requests
        elif definition.unit == "tokens":
            used = tokens
        else:
            used = cost if cost is not None else 0.0
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
                lower_bound=definition.unit == "usd" and partly_priced,
            )
        )
    return LimitsReport(
        checked_at=moment,
        warning_threshold=settings.warning_threshold,
        critical_threshold=settings.critical_threshold,
        limits=statuses,
    )


def describe(status: LimitStatus) -> str:
    """Return one line about a limit: ``CLAUDE_HOURLY_LIMIT: 480 of 500 requests in the …``."""
    if status.unit == "usd":
        amount = f"${status.used:.2f} of ${status.limit:.2f}"
        if status.lower_bound:
            amount = "at least " + amount
    else:
        amount = f"{status.used:,.0f} of {status.limit:,.0f} {status.unit}"
    return f"{status.variable}: {amount} in the {status.window} ({status.percent:.0f}%)"


def check_limits_before_run(
    ledger: Ledger, environ: Mapping[str, str] | None = None, *, now: datetime | None = None
) -> LimitsVerdict:
    """Return whether a generation run may start, with its warnings (DESIGN §7).

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
