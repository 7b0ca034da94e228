"""Rate-limit snapshots in the ledger, captured passively by the integrations that see headers."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import litellm
import pytest
from anthropic import Anthropic, AsyncAnthropic
from openai import AsyncOpenAI

from tests.support.fake_provider import (
    ANTHROPIC_RATE_LIMIT_HEADERS,
    OPENAI_RATE_LIMIT_HEADERS,
    FakeProvider,
    Reply,
)
from token_tracking import TokenTracker
from token_tracking.display import span
from token_tracking.history.ledger import Ledger
from token_tracking.history.limits import limits_status
from token_tracking.history.ratelimit_store import (
    RateLimitSnapshot,
    RateLimitWindow,
    latest_for_model,
    latest_snapshots,
    save_snapshot,
)
from token_tracking.integrations.anthropic import wrap
from token_tracking.ratelimits import watch_client
from token_tracking.settings import load_settings

NOW = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)
MESSAGES: Any = [{"role": "user", "content": "hi"}]


def _snapshot(
    source: str, remaining: int, at: datetime, model: str = "gpt-4o"
) -> RateLimitSnapshot:
    return RateLimitSnapshot(
        provider="openai",
        model=model,
        fetched_at=at,
        source=source,
        limits={"requests": RateLimitWindow(limit=500, remaining=remaining, reset_seconds=1.5)},
    )


def _stored() -> list[RateLimitSnapshot]:
    with Ledger() as ledger:
        return latest_snapshots(ledger)


def test_passive_snapshots_replace_each_other_while_fetched_ones_are_kept() -> None:
    with Ledger() as ledger:
        save_snapshot(ledger, _snapshot("fetch-limits", 400, NOW))
        save_snapshot(ledger, _snapshot("anthropic", 300, NOW + timedelta(seconds=1)))
        save_snapshot(ledger, _snapshot("litellm", 200, NOW + timedelta(seconds=2)))
        save_snapshot(ledger, _snapshot("litellm", 9, NOW, model="gpt-4o-mini"))
        rows = ledger.connection.execute(
            "SELECT source, requests_remaining FROM rate_limit_snapshots ORDER BY id"
        ).fetchall()
        assert rows == [("fetch-limits", 400), ("litellm", 200), ("litellm", 9)]
        latest = latest_snapshots(ledger)
        assert [(s.model, s.limits["requests"].remaining) for s in latest] == [
            ("gpt-4o", 200),
            ("gpt-4o-mini", 9),
        ]
        found = latest_for_model(ledger, "openai/gpt-4o")
        assert found is not None and found.fetched_at == NOW + timedelta(seconds=2)
        assert found.reset_at("requests") == NOW + timedelta(seconds=3.5)
        assert found.reset_at("tokens") is None
        assert latest_for_model(ledger, "claude-haiku-4-5") is None


def test_tokens_limits_report_carries_the_latest_snapshots() -> None:
    with Ledger() as ledger:
        save_snapshot(ledger, _snapshot("fetch-limits", 400, NOW))
        report = limits_status(ledger, load_settings({}), now=NOW + timedelta(minutes=3))
    (snapshot,) = report.provider_limits
    assert snapshot.limits["requests"] == RateLimitWindow(
        limit=500, remaining=400, reset_seconds=1.5
    )


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.12, "0.12s"), (42.4, "42s"), (360, "6m00s"), (7500, "2h05m"), (273_600, "3d04h")],
)
def test_spans_read_in_their_two_largest_units(seconds: float, text: str) -> None:
    assert span(seconds) == text


# --- passive capture ------------------------------------------------------------------------------


@pytest.fixture
def tracker() -> TokenTracker:
    return TokenTracker(command="test", persist=False, interval_minutes=600)


def test_the_anthropic_wrapper_stores_each_responses_limits(
    fake_provider: FakeProvider, tracker: TokenTracker
) -> None:
    fake_provider.add(Reply(headers=ANTHROPIC_RATE_LIMIT_HEADERS))
    fake_provider.add(
        Reply(
            headers={**ANTHROPIC_RATE_LIMIT_HEADERS, "anthropic-ratelimit-requests-remaining": "48"}
        )
    )
    client = wrap(tracker, Anthropic(base_url=fake_provider.base_url, api_key="t", max_retries=0))
    wrap(tracker, client)  # wrapping twice watches once
    client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MESSAGES)
    (snapshot,) = _stored()
    assert (snapshot.provider, snapshot.model, snapshot.source) == (
        "anthropic",
        "claude-haiku-4-5",
        "anthropic",
    )
    assert snapshot.http_status == 200
    assert snapshot.limits["output_tokens"] == RateLimitWindow(
        limit=10_000, remaining=9_995, reset_seconds=snapshot.limits["output_tokens"].reset_seconds
    )
    with client.messages.stream(model="claude-haiku-4-5", max_tokens=10, messages=MESSAGES) as s:
        s.get_final_message()
    (latest,) = _stored()
    assert latest.limits["requests"].remaining == 48
    assert len(tracker.requests()) == 2


async def test_the_async_anthropic_wrapper_stores_a_429s_limits(
    fake_provider: FakeProvider, tracker: TokenTracker
) -> None:
    fake_provider.add(
        Reply(status=429, headers={**ANTHROPIC_RATE_LIMIT_HEADERS, "retry-after": "7"})
    )
    client = wrap(
        tracker, AsyncAnthropic(base_url=fake_provider.base_url, api_key="t", max_retries=0)
    )
    with pytest.raises(Exception, match="429"):
        await client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MESSAGES)
    (snapshot,) = _stored()
    assert (snapshot.http_status, snapshot.retry_after_seconds) == (429, 7.0)
    assert tracker.requests() == []


def test_responses_without_rate_limit_headers_store_nothing(
    fake_provider: FakeProvider, tracker: TokenTracker
) -> None:
    fake_provider.add(Reply())
    client = wrap(tracker, Anthropic(base_url=fake_provider.base_url, api_key="t", max_retries=0))
    client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MESSAGES)
    assert _stored() == []


def test_tracking_disabled_stores_no_snapshot(
    fake_provider: FakeProvider, tracker: TokenTracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOKEN_TRACKING_ENABLED", "false")
    fake_provider.add(Reply(headers=ANTHROPIC_RATE_LIMIT_HEADERS))
    client = wrap(tracker, Anthropic(base_url=fake_provider.base_url, api_key="t", max_retries=0))
    client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MESSAGES)
    monkeypatch.delenv("TOKEN_TRACKING_ENABLED")
    assert _stored() == []


async def test_a_watched_openai_client_stores_its_limits(fake_provider: FakeProvider) -> None:
    fake_provider.add(Reply(headers=OPENAI_RATE_LIMIT_HEADERS))
    client = AsyncOpenAI(base_url=fake_provider.openai_base_url, api_key="t", max_retries=0)
    watch_client(client, provider="openai", source="memory-banker")
    await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    (snapshot,) = _stored()
    assert (snapshot.provider, snapshot.model, snapshot.source) == (
        "openai",
        "gpt-4o-mini",
        "memory-banker",
    )
    assert snapshot.limits["tokens"] == RateLimitWindow(
        limit=200_000, remaining=199_990, reset_seconds=360.0
    )


def test_the_litellm_callback_stores_the_providers_own_headers(
    fake_provider: FakeProvider, tracker: TokenTracker
) -> None:
    callback: Any = tracker.litellm_callback()
    litellm.callbacks = [callback]
    fake_provider.add(Reply(headers=ANTHROPIC_RATE_LIMIT_HEADERS))
    litellm.completion(
        model="anthropic/claude-haiku-4-5",
        api_base=fake_provider.base_url,
        api_key="test",
        messages=MESSAGES,
    )
    assert callback.wait_recorded()
    # The snapshot is stored in LiteLLM's callback thread right after the usage: wait for it.
    stored = _stored()
    for _ in range(500):
        if stored:
            break
        time.sleep(0.01)
        stored = _stored()
    (snapshot,) = stored
    assert (snapshot.provider, snapshot.model, snapshot.source) == (
        "anthropic",
        "claude-haiku-4-5",
        "litellm",
    )
    assert list(snapshot.limits) == ["requests", "tokens", "input_tokens", "output_tokens"]
    assert snapshot.limits["tokens"].remaining == 89_000
