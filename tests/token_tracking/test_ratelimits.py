"""Rate-limit headers read exactly, and the usage limits they recommend."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from tests.support.fake_provider import OPENAI_RATE_LIMIT_HEADERS
from token_tracking.history.ratelimit_store import RateLimitSnapshot, RateLimitWindow
from token_tracking.ratelimits import (
    limits_report,
    litellm_headers,
    parse_count,
    parse_duration,
    parse_headers,
    parse_reset,
    parse_retry_after,
)
from token_tracking.settings import load_settings

NOW = datetime(2026, 12, 5, 6, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("6m0s", 360.0),
        ("1s", 1.0),
        ("20ms", 0.02),
        ("1h2m3s", 3723.0),
        ("59.5s", 59.5),
        ("1m30.25s", 90.25),
        ("0s", 0.0),
        ("500us", 0.0005),
    ],
)
def test_go_durations_read_as_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds, rel=1e-12)


@pytest.mark.parametrize("text", ["", "6", "6x", "m6", "1s2", "-1s", "1 s", "s"])
def test_anything_else_is_not_a_duration(text: str) -> None:
    assert parse_duration(text) is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("6m0s", 360.0),
        ("20ms", 0.02),
        ("30", 30.0),
        ("2026-12-05T06:00:30Z", 30.0),
        ("2026-12-05T07:01:00+01:00", 60.0),
        ("2026-12-05T05:59:00Z", 0.0),  # already past
    ],
)
def test_resets_read_as_seconds_from_now(text: str, seconds: float) -> None:
    assert parse_reset(text, NOW) == pytest.approx(seconds, rel=1e-12)


@pytest.mark.parametrize("text", ["soon", "2026-12-05T06:00:30", "-5", "nan", "inf"])
def test_unreadable_resets_are_unknown(text: str) -> None:
    assert parse_reset(text, NOW) is None


def test_retry_after_is_seconds_or_an_http_date() -> None:
    assert parse_retry_after("20", NOW) == 20.0
    assert parse_retry_after("1.5", NOW) == 1.5
    assert parse_retry_after("Sat, 05 Dec 2026 06:00:45 GMT", NOW) == 45.0
    assert parse_retry_after("later", NOW) is None


@pytest.mark.parametrize(("text", "count"), [("500", 500), (" 0 ", 0), ("1.5", None), ("-1", None)])
def test_counts_are_whole_numbers(text: str, count: int | None) -> None:
    assert parse_count(text) == count


def test_openai_headers() -> None:
    snapshot = parse_headers(
        OPENAI_RATE_LIMIT_HEADERS,
        provider="openai",
        model="openai/gpt-4o-mini",
        source="t",
        now=NOW,
    )
    assert snapshot == RateLimitSnapshot(
        provider="openai",
        model="gpt-4o-mini",
        fetched_at=NOW,
        source="t",
        limits={
            "requests": RateLimitWindow(limit=500, remaining=499, reset_seconds=0.12),
            "tokens": RateLimitWindow(limit=200_000, remaining=199_990, reset_seconds=360.0),
        },
    )


def test_anthropic_headers_with_retry_after_on_a_429() -> None:
    headers = {
        "Anthropic-RateLimit-Requests-Limit": "50",
        "anthropic-ratelimit-requests-remaining": "0",
        "anthropic-ratelimit-requests-reset": "2026-12-05T06:00:12Z",
        "anthropic-ratelimit-input-tokens-limit": "40000",
        "anthropic-ratelimit-input-tokens-remaining": "39000",
        "anthropic-ratelimit-input-tokens-reset": "2026-12-05T06:00:01Z",
        "anthropic-ratelimit-output-tokens-limit": "8000",
        "anthropic-ratelimit-output-tokens-reset": "not a time",
        "retry-after": "12",
    }
    snapshot = parse_headers(
        headers, provider="anthropic", model="claude", source="t", http_status=429, now=NOW
    )
    assert snapshot is not None
    assert snapshot.http_status == 429
    assert snapshot.retry_after_seconds == 12.0
    assert snapshot.limits == {
        "requests": RateLimitWindow(limit=50, remaining=0, reset_seconds=12.0),
        "input_tokens": RateLimitWindow(limit=40_000, remaining=39_000, reset_seconds=1.0),
        "output_tokens": RateLimitWindow(limit=8_000),
    }


def test_no_rate_limit_header_is_no_snapshot() -> None:
    headers = {"content-type": "application/json", "retry-after": "3"}
    assert parse_headers(headers, provider="p", model="m", source="t", now=NOW) is None


def test_litellm_hidden_headers_prefer_the_providers_own() -> None:
    # LiteLLM copies some Anthropic headers into OpenAI-style names, unprefixed, and passes every
    # provider header on with the llm_provider- prefix.
    hidden = {
        "additional_headers": {
            "x-ratelimit-limit-requests": "50",
            "llm_provider-anthropic-ratelimit-requests-limit": "50",
            "llm_provider-anthropic-ratelimit-requests-remaining": "48",
            "llm_provider-anthropic-ratelimit-tokens-limit": "90000",
        }
    }
    response = SimpleNamespace(_hidden_params=hidden)
    headers = litellm_headers(response)
    assert headers == {
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-requests-remaining": "48",
        "anthropic-ratelimit-tokens-limit": "90000",
    }
    snapshot = parse_headers(headers, provider="anthropic", model="m", source="t", now=NOW)
    assert snapshot is not None
    assert snapshot.limits == {
        "requests": RateLimitWindow(limit=50, remaining=48),
        "tokens": RateLimitWindow(limit=90_000),
    }
    assert litellm_headers(SimpleNamespace()) == {}
    unprefixed = SimpleNamespace(
        _hidden_params={"additional_headers": {"x-ratelimit-limit-tokens": "9"}}
    )
    assert litellm_headers(unprefixed) == {"x-ratelimit-limit-tokens": "9"}


def _snapshot(requests: int | None, tokens: int | None) -> RateLimitSnapshot:
    limits = {}
    if requests is not None:
        limits["requests"] = RateLimitWindow(limit=requests, remaining=requests)
    if tokens is not None:
        limits["tokens"] = RateLimitWindow(limit=tokens)
    return RateLimitSnapshot(
        provider="openai", model="gpt-4o-mini", fetched_at=NOW, source="t", limits=limits
    )


def test_defaults_do_not_count_as_set_so_every_ceiling_is_recommended() -> None:
    report = limits_report(_snapshot(500, 200_000), load_settings({}))
    assert report.configured == {
        "CLAUDE_HOURLY_LIMIT": None,
        "CLAUDE_DAILY_LIMIT": None,
        "TOKEN_HOURLY_LIMIT": None,
        "TOKEN_DAILY_LIMIT": None,
    }
    assert report.recommended == {
        "CLAUDE_HOURLY_LIMIT": 30_000,
        "CLAUDE_DAILY_LIMIT": 720_000,
        "TOKEN_HOURLY_LIMIT": 12_000_000,
        "TOKEN_DAILY_LIMIT": 288_000_000,
    }


def test_only_values_above_the_ceiling_are_recommended() -> None:
    environ = {
        "CLAUDE_HOURLY_LIMIT": "3000",  # the ceiling exactly: kept
        "CLAUDE_DAILY_LIMIT": "80000",  # above 50 x 1,440 = 72,000
        "TOKEN_HOURLY_LIMIT": "100",  # far below: kept
    }
    report = limits_report(_snapshot(50, None), load_settings(environ))
    assert report.configured == {
        "CLAUDE_HOURLY_LIMIT": 3000,
        "CLAUDE_DAILY_LIMIT": 80000,
        "TOKEN_HOURLY_LIMIT": 100,
        "TOKEN_DAILY_LIMIT": None,
    }
    # No tokens limit from the provider: nothing to say about the token variables.
    assert report.recommended == {"CLAUDE_DAILY_LIMIT": 72_000}
    assert list(report.limits) == ["requests"]


def test_a_provider_without_limits_recommends_nothing() -> None:
    report = limits_report(_snapshot(None, None), load_settings({}))
    assert report.recommended == {}
    assert report.limits == {}
