"""Every numeric setting has bounds: NaN, infinities, negatives and absurd values are refused."""

from __future__ import annotations

import pytest

from token_tracking.errors import SettingError
from token_tracking.settings import interval_minutes, load_settings


@pytest.mark.parametrize("value", ["0.05", "1440", "0.5"])
def test_interval_bounds_are_inclusive(value: str) -> None:
    assert interval_minutes({"TOKEN_INTERVAL_MINUTES": value}) == float(value)


@pytest.mark.parametrize("value", ["1e-9", "1e-6", "0.04", "1440.5", "1e300", "-inf", "NaN"])
def test_an_interval_outside_3_seconds_to_a_day_is_refused(value: str) -> None:
    with pytest.raises(SettingError) as raised:
        interval_minutes({"TOKEN_INTERVAL_MINUTES": value})
    assert str(raised.value) == (
        "TOKEN_INTERVAL_MINUTES must be a number of minutes from 0.05 to 1440, e.g. 5 or 0.5, "
        f"got {value!r}"
    )


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("CLAUDE_HOURLY_LIMIT", "1000000000000001", "a positive whole number up to 10**15"),
        ("TOKEN_DAILY_LIMIT", "9" * 40, "a positive whole number up to 10**15"),
        ("TOKEN_HISTORY_DAYS", "36501", "a positive whole number up to 36,500"),
        ("TOKEN_DAILY_BUDGET_USD", "1e10", "a positive number of dollars up to 1,000,000,000"),
        ("TOKEN_MONTHLY_BUDGET_USD", "inf", "a positive number of dollars"),
        ("TOKEN_MONTHLY_BUDGET_USD", "-0.5", "a positive number of dollars"),
        ("TOKEN_WARNING_THRESHOLD", "nan", "a percentage from 0 to 100"),
    ],
)
def test_out_of_range_limits_name_the_variable_and_the_range(
    variable: str, value: str, expected: str
) -> None:
    expected = expected.replace("10**15", f"{10**15:,}")
    with pytest.raises(SettingError) as raised:
        load_settings({variable: value})
    assert str(raised.value) == f"{variable} must be {expected}, got {value!r}"


def test_the_largest_accepted_values_load() -> None:
    settings = load_settings(
        {
            "CLAUDE_HOURLY_LIMIT": str(10**15),
            "TOKEN_DAILY_BUDGET_USD": "1000000000",
            "TOKEN_HISTORY_DAYS": "36500",
        }
    )
    assert settings.limits["CLAUDE_HOURLY_LIMIT"] == 10**15
    assert settings.limits["TOKEN_DAILY_BUDGET_USD"] == 1e9
    assert settings.history_days == 36_500
