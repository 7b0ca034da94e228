"""``tokens fetch-limits`` against the loopback fake provider, through the real SDKs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.cli import invoke
from tests.support.fake_provider import (
    ANTHROPIC_RATE_LIMIT_HEADERS,
    OPENAI_RATE_LIMIT_HEADERS,
    FakeProvider,
    Reply,
)
from tests.support.generate import (
    AGENT_NAMES,
    TEST_KEY,
    bank_markdown,
    script_bank,
    spec,
    usage_of,
)
from tests.support.sample_project import make_sample_project
from token_tracking.history.ledger import Ledger
from token_tracking.history.ratelimit_store import (
    RateLimitSnapshot,
    RateLimitWindow,
    latest_snapshots,
    save_snapshot,
)

OPENAI_ARGS = ("--model", "gpt-4o-mini", "--api-key", "test-key")


def _openai(fake: FakeProvider, *extra: str, env: dict[str, str | None] | None = None):  # type: ignore[no-untyped-def]
    return invoke(
        None,
        "tokens",
        "fetch-limits",
        *OPENAI_ARGS,
        "--api-base",
        fake.openai_base_url,
        *extra,
        env=env,
    )


def _ledger_rows() -> list[tuple[str, str, int, int | None]]:
    with Ledger() as ledger:
        return ledger.connection.execute(
            "SELECT c.source, c.command, u.requests, u.total_tokens FROM usage_rows u "
            "JOIN contexts c ON c.id = u.context_id"
        ).fetchall()


def test_json_holds_the_providers_limits_configured_values_and_recommendations(
    fake_provider: FakeProvider, tmp_path: Path
) -> None:
    fake_provider.default = Reply(
        prompt_tokens=12, completion_tokens=1, headers=OPENAI_RATE_LIMIT_HEADERS
    )
    result = _openai(fake_provider, "--json", env={"CLAUDE_DAILY_LIMIT": "1000000"})
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert set(document) == {
        "provider",
        "model",
        "fetched_at",
        "limits",
        "configured",
        "recommended",
    }
    assert document["provider"] == "openai"
    assert document["model"] == "gpt-4o-mini"
    assert document["limits"] == {
        "requests": {"limit": 500, "remaining": 499, "reset_seconds": 0.12},
        "tokens": {"limit": 200000, "remaining": 199990, "reset_seconds": 360.0},
    }
    assert document["configured"] == {
        "CLAUDE_HOURLY_LIMIT": None,
        "CLAUDE_DAILY_LIMIT": 1000000,
        "TOKEN_HOURLY_LIMIT": None,
        "TOKEN_DAILY_LIMIT": None,
    }
    assert document["recommended"] == {
        "CLAUDE_HOURLY_LIMIT": 30000,
        "CLAUDE_DAILY_LIMIT": 720000,
        "TOKEN_HOURLY_LIMIT": 12000000,
        "TOKEN_DAILY_LIMIT": 288000000,
    }
    # One minimal request: one short message, an output limit of 1.
    (request,) = fake_provider.requests
    assert request.path == "/v1/chat/completions"
    assert request.body["max_completion_tokens"] == 1
    assert len(request.body["messages"]) == 1
    # Recorded in the ledger with its own source, and no report file written anywhere.
    assert _ledger_rows() == [("fetch-limits", "tokens fetch-limits", 1, 13)]
    assert not list(tmp_path.rglob("token_usage_*.json"))
    with Ledger() as ledger:
        (snapshot,) = latest_snapshots(ledger)
    assert (snapshot.provider, snapshot.model, snapshot.source) == (
        "openai",
        "gpt-4o-mini",
        "fetch-limits",
    )
    assert snapshot.limits["tokens"].remaining == 199_990


def test_the_table_shows_limits_ceilings_and_the_lines_to_set(
    fake_provider: FakeProvider,
) -> None:
    fake_provider.default = Reply(headers=OPENAI_RATE_LIMIT_HEADERS)
    result = _openai(fake_provider, env={"CLAUDE_HOURLY_LIMIT": "100"})
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "Rate limits of openai for gpt-4o-mini" in out
    assert "requests          500         499" in out
    assert "6m00s" in out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if "_LIMIT " in line}
    assert rows["CLAUDE_HOURLY_LIMIT"] == ["100", "30,000", "(500/min", "x", "60)"]
    assert rows["CLAUDE_DAILY_LIMIT"] == [
        "5,000",
        "(default)",
        "720,000",
        "(500/min",
        "x",
        "1,440)",
    ]
    assert rows["TOKEN_HOURLY_LIMIT"] == ["not", "set", "12,000,000", "(200,000/min", "x", "60)"]
    # Set explicitly below its ceiling: not recommended; a default does not count as set.
    assert "CLAUDE_HOURLY_LIMIT=" not in out
    assert "  CLAUDE_DAILY_LIMIT=720000" in out
    assert "  TOKEN_DAILY_LIMIT=288000000" in out
    assert "recorded in the ledger (source fetch-limits)" in out


def test_anthropic_limits_through_the_anthropic_sdk(fake_provider: FakeProvider) -> None:
    fake_provider.default = Reply(headers=ANTHROPIC_RATE_LIMIT_HEADERS)
    result = invoke(
        None,
        "tokens",
        "fetch-limits",
        "--model",
        "claude-3-haiku-20240307",
        "--api-base",
        fake_provider.base_url,
        "--json",
        env={"ANTHROPIC_API_KEY": "test-key"},
    )
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["provider"] == "anthropic"
    assert list(document["limits"]) == ["requests", "tokens", "input_tokens", "output_tokens"]
    assert document["limits"]["output_tokens"]["limit"] == 10000
    assert document["limits"]["requests"]["reset_seconds"] > 0
    assert document["recommended"]["CLAUDE_HOURLY_LIMIT"] == 3000
    (request,) = fake_provider.requests
    assert request.path == "/v1/messages"
    assert request.body["max_tokens"] == 1
    assert request.headers["authorization"] == "Bearer test-key"


def test_a_429_with_headers_is_read_and_shows_retry_after(fake_provider: FakeProvider) -> None:
    fake_provider.default = Reply(
        status=429, headers={**OPENAI_RATE_LIMIT_HEADERS, "retry-after": "20"}
    )
    result = _openai(fake_provider)
    assert result.exit_code == 0, result.stderr
    assert "HTTP 429" in result.stdout
    assert "Retry after: 20s" in result.stdout
    assert len(fake_provider.requests) == 1  # no retry
    # The refused request cost nothing: only the snapshot is stored.
    assert _ledger_rows() == []
    with Ledger() as ledger:
        (snapshot,) = latest_snapshots(ledger)
    assert (snapshot.http_status, snapshot.retry_after_seconds) == (429, 20.0)


def test_a_provider_without_rate_limit_headers_is_one_line(fake_provider: FakeProvider) -> None:
    fake_provider.default = Reply()
    result = _openai(fake_provider)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "The openai provider sent no rate-limit headers for gpt-4o-mini.\n"
    as_json = _openai(fake_provider, "--json")
    assert as_json.exit_code == 0
    document = json.loads(as_json.stdout)
    assert (document["limits"], document["recommended"]) == ({}, {})


@pytest.mark.parametrize("status", [400, 401, 500])
def test_an_error_without_rate_limit_headers_is_exit_2(
    fake_provider: FakeProvider, status: int
) -> None:
    fake_provider.default = Reply(status=status)
    result = _openai(fake_provider)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: the openai provider answered HTTP {status} without rate-limit headers\n"
    )
    assert _ledger_rows() == []


def test_a_dead_server_is_exit_2(fake_provider: FakeProvider) -> None:
    dead = fake_provider.openai_base_url
    fake_provider.stop()
    result = invoke(None, "tokens", "fetch-limits", *OPENAI_ARGS, "--api-base", dead)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: cannot reach the openai provider")
    assert result.stderr.count("\n") == 1


def test_a_missing_key_is_exit_2_naming_the_variable() -> None:
    result = invoke(None, "tokens", "fetch-limits", "--model", "gpt-4o-mini")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: OPENAI_API_KEY is not set: asking the openai provider for its rate limits "
        "needs an API key; set OPENAI_API_KEY or pass --api-key\n"
    )


def test_an_empty_model_is_exit_2() -> None:
    result = invoke(None, "tokens", "fetch-limits", "--model", " ")
    assert result.exit_code == 2
    assert result.stderr == "Error: --model is empty: give a model such as gpt-4o-mini\n"


def test_help_has_an_example() -> None:
    result = invoke(None, "tokens", "fetch-limits", "--help")
    assert result.exit_code == 0
    assert "memory-banker tokens fetch-limits --model gpt-4o-mini" in result.stdout


def test_tracking_disabled_stores_nothing(fake_provider: FakeProvider) -> None:
    fake_provider.default = Reply(headers=OPENAI_RATE_LIMIT_HEADERS)
    result = _openai(fake_provider, env={"TOKEN_TRACKING_ENABLED": "false"})
    assert result.exit_code == 0, result.stderr
    assert _ledger_rows() == []
    with Ledger() as ledger:
        assert latest_snapshots(ledger) == []


def test_other_providers_go_through_litellm(fake_provider: FakeProvider) -> None:
    fake_provider.add(Reply(headers=OPENAI_RATE_LIMIT_HEADERS))
    fake_provider.add(Reply(status=429, headers={**OPENAI_RATE_LIMIT_HEADERS, "retry-after": "3"}))
    args = ("tokens", "fetch-limits", "--model", "xai/grok-3-mini", "--api-key", "test-key")
    result = invoke(None, *args, "--api-base", fake_provider.openai_base_url, "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["provider"], document["model"]) == ("xai", "xai/grok-3-mini")
    assert document["limits"]["tokens"] == {
        "limit": 200000,
        "remaining": 199990,
        "reset_seconds": 360.0,
    }
    assert fake_provider.requests[0].body["max_tokens"] == 1
    refused = invoke(None, *args, "--api-base", fake_provider.openai_base_url)
    assert refused.exit_code == 0, refused.stderr
    assert "Retry after: 3s" in refused.stdout
    assert len(fake_provider.requests) == 2
    assert _ledger_rows() == [("fetch-limits", "tokens fetch-limits", 1, 15)]


def test_tokens_limits_shows_the_latest_provider_limits_with_their_age(
    fake_provider: FakeProvider,
) -> None:
    empty = invoke(None, "tokens", "limits")
    assert "Provider rate limits" not in empty.stdout
    fake_provider.default = Reply(headers=OPENAI_RATE_LIMIT_HEADERS)
    assert _openai(fake_provider).exit_code == 0
    result = invoke(None, "tokens", "limits")
    assert result.exit_code == 0, result.stderr
    assert "Provider rate limits (per minute, as last reported)" in result.stdout
    lines = result.stdout.splitlines()
    (title,) = [line for line in lines if line.startswith("openai/gpt-4o-mini, ")]
    assert title.endswith(" ago (fetch-limits)")
    rows = [line.split() for line in lines[lines.index(title) :] if line.strip()]
    assert [row[:3] for row in rows if row[0] in ("requests", "tokens")] == [
        ["requests", "499", "500"],
        ["tokens", "199,990", "200,000"],
    ]
    document = json.loads(invoke(None, "tokens", "limits", "--json").stdout)
    (seen,) = document["provider_limits"]
    assert (seen["provider"], seen["model"], seen["source"]) == (
        "openai",
        "gpt-4o-mini",
        "fetch-limits",
    )
    assert seen["limits"]["requests"] == {"limit": 500, "remaining": 499, "reset_seconds": 0.12}


# --- memory-banker's own runs ---------------------------------------------------------------------


def _save(remaining_requests: int, remaining_tokens: int, reset_seconds: float) -> None:
    snapshot = RateLimitSnapshot(
        provider="openai",
        model="gpt-4o-mini",
        fetched_at=datetime.now(UTC),
        source="fetch-limits",
        limits={
            "requests": RateLimitWindow(
                limit=500, remaining=remaining_requests, reset_seconds=reset_seconds
            ),
            "tokens": RateLimitWindow(
                limit=200_000, remaining=remaining_tokens, reset_seconds=reset_seconds
            ),
        },
    )
    with Ledger() as ledger:
        save_snapshot(ledger, snapshot)


def _generate(project: Path, fake: FakeProvider, **overrides: Reply):  # type: ignore[no-untyped-def]
    script_bank(fake, overrides=overrides)
    env = {"OPENAI_API_KEY": TEST_KEY, "OPENAI_BASE_URL": fake.openai_base_url}
    return invoke(project, "init", "--api", "responses", "--max-retries", "0", env=env)


def test_a_run_warns_when_the_last_reported_remaining_is_below_its_estimate(
    tmp_path: Path, fake_provider: FakeProvider
) -> None:
    project = make_sample_project(tmp_path)
    _save(remaining_requests=3, remaining_tokens=100, reset_seconds=3600)
    result = _generate(project, fake_provider)
    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "provider rate limit" in line]
    assert len(warnings) == 2
    assert warnings[0].startswith(
        "Warning: provider rate limit: openai reported 3 requests remaining for gpt-4o-mini "
    )
    assert warnings[0].endswith("ago; this run needs about 6")
    assert "reported 100 tokens remaining for gpt-4o-mini" in warnings[1]
    assert len(fake_provider.requests) == 6  # a warning, never a refusal


def test_no_warning_when_the_window_has_reset_or_enough_remains(
    tmp_path: Path, fake_provider: FakeProvider
) -> None:
    project = make_sample_project(tmp_path)
    _save(remaining_requests=3, remaining_tokens=100, reset_seconds=0)  # reset already
    result = _generate(project, fake_provider)
    assert result.exit_code == 0, result.stderr
    assert "provider rate limit" not in result.stderr


def test_a_run_stores_the_limits_its_responses_carry(
    tmp_path: Path, fake_provider: FakeProvider
) -> None:
    project = make_sample_project(tmp_path)
    prompt, completion = usage_of(0)
    first = Reply(
        text=bank_markdown(spec(AGENT_NAMES[0])),
        prompt_tokens=prompt,
        completion_tokens=completion,
        headers=OPENAI_RATE_LIMIT_HEADERS,
    )
    result = _generate(project, fake_provider, **{AGENT_NAMES[0]: first})
    assert result.exit_code == 0, result.stderr
    with Ledger() as ledger:
        (snapshot,) = latest_snapshots(ledger)
    assert (snapshot.provider, snapshot.model, snapshot.source) == (
        "openai",
        "gpt-4o-mini",
        "memory-banker",
    )
    assert snapshot.limits["requests"].remaining == 499


@pytest.mark.parametrize(
    ("name", "value"), [("CLAUDE_HOURLY_LIMIT", "abc"), ("TOKEN_TRACKING_ENABLED", "maybe")]
)
def test_a_bad_setting_is_exit_2_before_any_request(
    fake_provider: FakeProvider, name: str, value: str
) -> None:
    result = _openai(fake_provider, env={name: value})
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {name} must be ")
    assert fake_provider.requests == []
