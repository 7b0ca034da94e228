"""The environment settings of token tracking (DESIGN §4, §7), parsed strictly.

An invalid value is an error naming the variable, never a silent default: a typo in
``TOKEN_TRACKING_ENABLED`` must not quietly turn persistence on or off.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

from token_tracking.errors import SettingError

ENABLED_VARIABLE = "TOKEN_TRACKING_ENABLED"
INTERVAL_VARIABLE = "TOKEN_INTERVAL_MINUTES"

DEFAULT_INTERVAL_MINUTES = 5.0
"""Seed 000's interval length, used when ``TOKEN_INTERVAL_MINUTES`` is unset or empty."""

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
    the variable when the value is not a finite number greater than zero.
    """
    env = os.environ if environ is None else environ
    raw = env.get(INTERVAL_VARIABLE, "")
    if raw.strip() == "":
        return DEFAULT_INTERVAL_MINUTES
    expected = "a number of minutes greater than 0, e.g. 5 or 0.5"
    try:
        minutes = float(raw.strip())
    except ValueError:
        raise SettingError(INTERVAL_VARIABLE, raw, expected) from None
    if not math.isfinite(minutes) or minutes <= 0:
        raise SettingError(INTERVAL_VARIABLE, raw, expected)
    return minutes
