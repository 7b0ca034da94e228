"""Every environment variable of token tracking, parsed strictly, in one place.

An invalid value is an error naming the variable, never a silent default: a typo in
``TOKEN_TRACKING_ENABLED`` must not quietly turn persistence on or off. Every parser raises
:class:`~token_tracking.errors.SettingError`, worded ``VAR must be X, got 'v'``; an empty value
counts as unset.

| variable | what it sets | default |
|---|---|---|
| ``TOKEN_TRACKING_ENABLED`` | whether finished sessions are persisted | true |
| ``TOKEN_INTERVAL_MINUTES`` | the interval length of a report, 0.05 (3 s) to 1440 | 5 |
| ``TOKEN_TRACKING_DB_PATH`` | the ledger file | the user-data folder |
| ``TOKEN_TRACKING_DB_URL`` | a PostgreSQL ledger (``postgresql://…``) instead of the file | none |
| ``TOKEN_TRACKING_USER`` | the user recorded on every ledger row | the OS user |
| ``TOKEN_TRACKING_CACHE_DIR`` | the folder of cached build products | the user-cache folder |
| ``CLAUDE_HOURLY_LIMIT`` | requests (one per LLM call) in the last 60 minutes | 500 |
| ``CLAUDE_DAILY_LIMIT`` | requests in the last 24 hours | 5000 |
| ``TOKEN_HOURLY_LIMIT`` | total tokens (cached included) in the last 60 minutes | none |
| ``TOKEN_DAILY_LIMIT`` | total tokens in the last 24 hours | none |
| ``TOKEN_DAILY_BUDGET_USD`` | dollars in the last 24 hours | none |
| ``TOKEN_MONTHLY_BUDGET_USD`` | dollars in the last 30 days | none |
| ``TOKEN_WARNING_THRESHOLD`` | percent of a limit from which it warns | 50 |
| ``TOKEN_CRITICAL_THRESHOLD`` | percent of a limit from which it is critical | 80 |
| ``TOKEN_HISTORY_DAYS`` | days of history ``tokens prune`` keeps | 90 |

What the limits mean (windows, levels, when a run is refused) is in
:mod:`token_tracking.history.limits`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Literal

import platformdirs

from token_tracking.errors import SettingError

ENABLED_VARIABLE = "TOKEN_TRACKING_ENABLED"
INTERVAL_VARIABLE = "TOKEN_INTERVAL_MINUTES"
DB_PATH_VARIABLE = "TOKEN_TRACKING_DB_PATH"
"""Environment variable that points at the ledger file."""
DB_URL_VARIABLE = "TOKEN_TRACKING_DB_URL"
"""Environment variable holding a ``postgresql://`` URL: the ledger lives on that server instead."""
USER_VARIABLE = "TOKEN_TRACKING_USER"
"""Environment variable naming the user recorded on every ledger row (default: the OS user)."""
CACHE_DIR_VARIABLE = "TOKEN_TRACKING_CACHE_DIR"
"""Environment variable that overrides the folder build products (the Vega bundle) are cached in."""
WARNING_VARIABLE = "TOKEN_WARNING_THRESHOLD"
CRITICAL_VARIABLE = "TOKEN_CRITICAL_THRESHOLD"
HISTORY_DAYS_VARIABLE = "TOKEN_HISTORY_DAYS"

DEFAULT_INTERVAL_MINUTES = 5.0
"""The interval length used when ``TOKEN_INTERVAL_MINUTES`` is unset or empty."""
MIN_INTERVAL_MINUTES = 0.05
"""The shortest interval (3 s): shorter ones would make a report grow by an interval per tick."""
MAX_INTERVAL_MINUTES = 1440.0
"""The longest interval: one day."""
MAX_LIMIT_COUNT = 10**15
"""The largest request or token limit accepted (the largest count a report may hold)."""
MAX_LIMIT_USD = 1e9
"""The largest dollar limit accepted (the largest cost a report may hold)."""
DEFAULT_WARNING_THRESHOLD = 50.0
"""The percent of a limit from which it warns when ``TOKEN_WARNING_THRESHOLD`` is unset."""
DEFAULT_CRITICAL_THRESHOLD = 80.0
"""The percent of a limit from which it is critical when ``TOKEN_CRITICAL_THRESHOLD`` is unset."""
DEFAULT_HISTORY_DAYS = 90
"""The days of history ``tokens prune`` keeps when ``TOKEN_HISTORY_DAYS`` is unset."""
MAX_HISTORY_DAYS = 36_500
"""The longest history ``TOKEN_HISTORY_DAYS`` accepts (100 years)."""

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def tracking_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Return whether token usage is persisted (``TOKEN_TRACKING_ENABLED``, default true).

    Accepts true/false, 1/0, yes/no, on/off in any case; unset or empty means true.
    Raises SettingError (a TrackingError) naming the variable for any other value.
    """
    env = os.environ if environ is None else environ
    raw = env.get(ENABLED_VARIABLE, "")
    value = raw.strip().lower()
    if value == "" or value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingError(ENABLED_VARIABLE, raw, "true or false")


def interval_minutes(environ: Mapping[str, str] | None = None) -> float:
    """Return the interval length in minutes (``TOKEN_INTERVAL_MINUTES``, default 5).

    Fractions are allowed (``0.5`` = 30 seconds). Raises SettingError (a TrackingError) naming
    the variable when the value is not a number from 0.05 (3 seconds) to 1440 (one day).
    """
    env = os.environ if environ is None else environ
    raw = env.get(INTERVAL_VARIABLE, "")
    if raw.strip() == "":
        return DEFAULT_INTERVAL_MINUTES
    bounds = f"from {MIN_INTERVAL_MINUTES:g} to {MAX_INTERVAL_MINUTES:g}"
    expected = f"a number of minutes {bounds}, e.g. 5 or 0.5"
    try:
        minutes = float(raw.strip())
    except ValueError:
        raise SettingError(INTERVAL_VARIABLE, raw, expected) from None
    if not math.isfinite(minutes) or not MIN_INTERVAL_MINUTES <= minutes <= MAX_INTERVAL_MINUTES:
        raise SettingError(INTERVAL_VARIABLE, raw, expected)
    return minutes


def default_db_path(environ: Mapping[str, str] | None = None) -> Path:
    """Return the ledger file: ``TOKEN_TRACKING_DB_PATH``, else the platform user-data directory."""
    env = os.environ if environ is None else environ
    configured = env.get(DB_PATH_VARIABLE)
    if configured:
        return Path(configured).expanduser()
    return platformdirs.user_data_path("memory-banker") / "ledger.sqlite3"


CLAUDE_CONFIG_VARIABLE = "CLAUDE_CONFIG_DIR"
"""Claude Code's configuration folders (a comma-separated list); its logs are in ``projects/``."""
CODEX_HOME_VARIABLE = "CODEX_HOME"
"""Codex's home folder (default ``~/.codex``); its logs are in ``sessions/``."""


def _home(env: Mapping[str, str]) -> Path:
    return Path(env["HOME"]) if env.get("HOME") else Path.home()


def claude_log_dirs(environ: Mapping[str, str] | None = None) -> list[Path]:
    """Return where Claude Code keeps its logs: ``projects/`` of each folder of
    ``CLAUDE_CONFIG_DIR`` (comma-separated), else ``~/.config/claude/projects`` and
    ``~/.claude/projects``."""
    env = os.environ if environ is None else environ
    configured = [part.strip() for part in env.get(CLAUDE_CONFIG_VARIABLE, "").split(",")]
    folders = [Path(part).expanduser() for part in configured if part]
    if not folders:
        home = _home(env)
        folders = [home / ".config" / "claude", home / ".claude"]
    return [folder / "projects" for folder in folders]


def codex_log_dirs(environ: Mapping[str, str] | None = None) -> list[Path]:
    """Return where Codex keeps its logs: ``sessions/`` and ``archived_sessions/`` of
    ``CODEX_HOME`` (default ``~/.codex``)."""
    env = os.environ if environ is None else environ
    configured = env.get(CODEX_HOME_VARIABLE, "").strip()
    home = Path(configured).expanduser() if configured else _home(env) / ".codex"
    return [home / "sessions", home / "archived_sessions"]


def gemini_log_dirs(environ: Mapping[str, str] | None = None) -> list[Path]:
    """Return where Gemini CLI keeps its chats: ``~/.gemini/tmp`` (one ``<project>/chats``
    folder per project below it)."""
    env = os.environ if environ is None else environ
    return [_home(env) / ".gemini" / "tmp"]


def db_url(environ: Mapping[str, str] | None = None) -> str | None:
    """Return ``TOKEN_TRACKING_DB_URL`` when set: the PostgreSQL ledger to use instead of the file.

    Raises:
        SettingError: the value is not a ``postgresql://`` (or ``postgres://``) URL.
    """
    env = os.environ if environ is None else environ
    raw = env.get(DB_URL_VARIABLE, "").strip()
    if not raw:
        return None
    if not raw.startswith(("postgresql://", "postgres://")):
        shown = raw.split("://", 1)[0] + "://…" if "://" in raw else raw
        raise SettingError(DB_URL_VARIABLE, shown, "a postgresql:// URL")
    return raw


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


# --------------------------------------------------------------------------------------------------
# Limits, thresholds and retention

LimitUnit = Literal["requests", "tokens", "usd"]
"""What a limit counts: LLM requests, total tokens or dollars."""


@dataclass(frozen=True)
class LimitDefinition:
    """One configurable limit."""

    variable: str
    """The environment variable that sets it."""
    unit: LimitUnit
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
    """The ledger's settings read from the environment: limits, thresholds and retention."""

    limits: Mapping[str, float]
    """Configured limits by variable (defaults included); an unset optional limit is absent."""
    explicit: frozenset[str]
    """The limit variables the user set in the environment."""
    warning_threshold: float = DEFAULT_WARNING_THRESHOLD
    """Percent of a limit from which it shows yellow and runs warn."""
    critical_threshold: float = DEFAULT_CRITICAL_THRESHOLD
    """Percent of a limit from which it shows red."""
    history_days: int = DEFAULT_HISTORY_DAYS
    """Days of history ``tokens prune`` keeps."""


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
    warning_raw = env.get(WARNING_VARIABLE, "").strip()
    critical_raw = env.get(CRITICAL_VARIABLE, "").strip()
    warning = _percent(WARNING_VARIABLE, warning_raw) if warning_raw else DEFAULT_WARNING_THRESHOLD
    critical = (
        _percent(CRITICAL_VARIABLE, critical_raw) if critical_raw else DEFAULT_CRITICAL_THRESHOLD
    )
    if warning > critical:
        raise SettingError(
            WARNING_VARIABLE,
            warning_raw or str(warning),
            f"at most {CRITICAL_VARIABLE} ({critical:g})",
        )
    history_raw = env.get(HISTORY_DAYS_VARIABLE, "").strip()
    history = (
        _positive_int(HISTORY_DAYS_VARIABLE, history_raw, maximum=MAX_HISTORY_DAYS)
        if history_raw
        else DEFAULT_HISTORY_DAYS
    )
    return LedgerSettings(
        limits=limits,
        explicit=frozenset(explicit),
        warning_threshold=warning,
        critical_threshold=critical,
        history_days=history,
    )


def _positive_int(variable: str, raw: str, *, maximum: int = MAX_LIMIT_COUNT) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise SettingError(variable, raw, "a positive whole number") from None
    if value <= 0:
        raise SettingError(variable, raw, "a positive whole number")
    if value > maximum:
        raise SettingError(variable, raw, f"a positive whole number up to {maximum:,}")
    return value


def _positive_float(variable: str, raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise SettingError(variable, raw, "a positive number of dollars") from None
    if not math.isfinite(value) or value <= 0:
        raise SettingError(variable, raw, "a positive number of dollars")
    if value > MAX_LIMIT_USD:
        raise SettingError(
            variable, raw, f"a positive number of dollars up to {MAX_LIMIT_USD:,.0f}"
        )
    return value


def _percent(variable: str, raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise SettingError(variable, raw, "a percentage from 0 to 100") from None
    if not math.isfinite(value) or not 0 <= value <= 100:
        raise SettingError(variable, raw, "a percentage from 0 to 100")
    return value
