"""init/update/refresh check the usage limits before a run (offline runs are never checked)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.cli import invoke
from tests.support.fake_provider import FakeProvider
from tests.support.generate import TEST_KEY, reports, script_bank, six_files
from tests.support.ledger_factory import AgentSpec, make_session
from tests.support.sample_project import make_sample_project
from token_tracking.history.ledger import Ledger
from token_tracking.records import RequestUsage

RESPONSES = ("--api", "responses", "--max-retries", "0")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_sample_project(tmp_path)


def env_for(fake: FakeProvider, **settings: str) -> dict[str, str | None]:
    return {"OPENAI_API_KEY": TEST_KEY, "OPENAI_BASE_URL": fake.openai_base_url, **settings}


def spend_requests(project: Path, requests: int) -> None:
    """Put a session of ``requests`` LLM requests, 10 minutes old, in the ledger."""
    moment = datetime.now(UTC) - timedelta(minutes=10)
    report, _ = make_session(project, moment, [AgentSpec("a", 0, 0)], with_requests=False)
    row = RequestUsage(
        timestamp=moment,
        agent_name="a",
        prompt_tokens=100,
        completion_tokens=10,
        requests=requests,
        cost_usd=0.01,
    )
    with Ledger() as ledger:
        ledger.insert_report(report, [row])


def test_a_limit_set_in_the_environment_and_exceeded_refuses_the_run(
    project: Path, fake_provider: FakeProvider
) -> None:
    spend_requests(project, 3)
    script_bank(fake_provider)

    result = invoke(
        project, "init", *RESPONSES, env=env_for(fake_provider, CLAUDE_HOURLY_LIMIT="2")
    )

    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "Error: usage limit exceeded: CLAUDE_HOURLY_LIMIT: 3 of 2 requests in the last 60 "
        "minutes (150%) (raise the limit, wait for the window to pass, or pass --ignore-limits)"
    ]
    assert fake_provider.requests == []
    assert six_files(project) == {}
    assert reports(project) == []


def test_ignore_limits_runs_anyway_and_still_warns(
    project: Path, fake_provider: FakeProvider
) -> None:
    spend_requests(project, 3)
    script_bank(fake_provider)

    result = invoke(
        project,
        "init",
        *RESPONSES,
        "--ignore-limits",
        env=env_for(fake_provider, CLAUDE_HOURLY_LIMIT="2"),
    )

    assert result.exit_code == 0, result.stderr
    assert (
        "Warning: usage limit CLAUDE_HOURLY_LIMIT: 3 of 2 requests in the last 60 minutes (150%)"
        in result.stderr
    )
    assert len(fake_provider.requests) == 6


def test_a_default_limit_only_warns(project: Path, fake_provider: FakeProvider) -> None:
    # CLAUDE_HOURLY_LIMIT defaults to 500 and was not set by the user: never a refusal.
    spend_requests(project, 600)
    script_bank(fake_provider)

    result = invoke(project, "init", *RESPONSES, env=env_for(fake_provider))

    assert result.exit_code == 0, result.stderr
    assert (
        "Warning: usage limit CLAUDE_HOURLY_LIMIT: 600 of 500 requests in the last 60 minutes "
        "(120%)" in result.stderr
    )
    assert len(fake_provider.requests) == 6


def test_offline_runs_are_not_limited(project: Path) -> None:
    spend_requests(project, 3)

    result = invoke(project, "init", "--offline", env={"CLAUDE_HOURLY_LIMIT": "2"})

    assert result.exit_code == 0, result.stderr
    assert "usage limit" not in result.stderr


def test_an_invalid_limit_setting_is_a_one_line_error(
    project: Path, fake_provider: FakeProvider
) -> None:
    result = invoke(
        project, "init", *RESPONSES, env=env_for(fake_provider, TOKEN_HOURLY_LIMIT="abc")
    )

    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "TOKEN_HOURLY_LIMIT" in result.stderr
    assert fake_provider.requests == []


@pytest.mark.parametrize("extra", [("--offline",), ("--offline", "--dry-run"), ("--dry-run",)])
def test_an_invalid_limit_setting_is_refused_on_offline_and_dry_runs_too(
    project: Path, extra: tuple[str, ...]
) -> None:
    result = invoke(project, "update", *extra, env={"CLAUDE_DAILY_LIMIT": "-1"})

    assert result.exit_code == 2
    assert result.stderr == "Error: CLAUDE_DAILY_LIMIT must be a positive whole number, got '-1'\n"
    assert six_files(project) == {}
