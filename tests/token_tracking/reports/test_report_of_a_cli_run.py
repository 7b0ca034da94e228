"""The report file a real CLI run writes (DESIGN §4), as a user meets it.

``memory-banker init --offline`` in a sample git project must write every key of DESIGN §4;
``TOKEN_TRACKING_ENABLED=false`` must print the report and persist nothing; a 0.1 report loads
through ``tokens --report-file`` with its naive times read as local time.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.support.cli import invoke
from tests.support.generate import AGENT_NAMES
from tests.support.paths import FIXTURES
from tests.support.sample_project import make_sample_project

SEED_002_KEYS = {
    "session_id",
    "project_path",
    "model",
    "command",
    "start_time",
    "end_time",
    "total_duration_seconds",
    "total_prompt_tokens",
    "total_completion_tokens",
    "total_tokens",
    "total_cost_usd",
    "successful_agents",
    "failed_agents",
    "agent_usage",
}
DESIGN_KEYS = SEED_002_KEYS | {
    "schema_version",
    "unknown_usage_requests",
    "digest",
    "total_cached_tokens",
    "total_cache_write_tokens",
    "total_reasoning_tokens",
    "total_requests",
    "status",
    "agents_not_run",
    "agents_not_run_reasons",
    "source",
    "git",
    "pricing",
    "priced_coverage",
    "intervals",
    "tool_version",
}
AGENT_KEYS = {
    "agent_name",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "model",
    "start_time",
    "end_time",
    "duration_seconds",
    "success",
    "error",
    "cached_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "requests",
    "cost_usd",
    "output_file",
}


def _git(project: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=project, check=True, capture_output=True, text=True
    ).stdout.strip()


def test_an_offline_init_writes_every_key_of_design_section_4(tmp_path: Path) -> None:
    project = make_sample_project(tmp_path)
    _git(project, "remote", "add", "origin", "https://example.com/acme/widget.git")
    # The report records git's user.email setting; the tests run without a global one.
    _git(project, "config", "user.email", "dev@example.com")
    result = invoke(project, "init", "--offline")
    assert result.exit_code == 0, result.output

    (path,) = (project / "memory-bank" / "token-reports").glob("token_usage_*.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert set(data) == DESIGN_KEYS
    assert data["schema_version"] == 2
    # The file and session id a CI step gates, on stderr (stdout holds the report).
    assert f"Report saved to {path} (session {data['session_id']})" in result.stderr
    assert data["session_id"] not in result.stdout
    assert data["unknown_usage_requests"] == 0
    assert (data["command"], data["model"], data["source"], data["status"]) == (
        "init",
        "offline",
        "offline",
        "success",
    )
    assert data["tool_version"] == version("memory-banker")
    assert data["git"] == {
        "branch": "main",
        "commit": _git(project, "rev-parse", "HEAD"),
        "dirty": True,  # the sample project has an uncommitted change
        "remote": "https://example.com/acme/widget.git",
        "user_email": "dev@example.com",
    }
    assert data["pricing"] == {
        "source": "litellm",
        "version": version("litellm"),
        "models": [
            {
                "model": "offline",
                "matched_key": "offline",
                "tier": None,
                "custom": False,
                "suggestions": [],
                "reason": None,
                "lower_bound_reason": None,
            }
        ],
    }
    assert (data["total_cost_usd"], data["priced_coverage"], data["agents_not_run"]) == (
        0.0,
        1.0,
        [],
    )

    agents = data["agent_usage"]
    assert [a["agent_name"] for a in agents] == list(AGENT_NAMES)
    assert all(set(agent) == AGENT_KEYS for agent in agents)
    assert [a["output_file"] for a in agents] == [f"memory-bank/{n}.md" for n in AGENT_NAMES]
    # The totals are the agents' sums, and one interval holds the whole short run.
    for total, field in (
        ("total_prompt_tokens", "prompt_tokens"),
        ("total_completion_tokens", "completion_tokens"),
        ("total_tokens", "total_tokens"),
        ("total_requests", "requests"),
    ):
        assert data[total] == sum(a[field] for a in agents)
    assert data["total_tokens"] == data["total_prompt_tokens"] + data["total_completion_tokens"]
    (interval,) = data["intervals"]
    assert set(interval) == {
        "index",
        "start",
        "duration_seconds",
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "cost_usd",
        "requests",
    }
    assert (interval["index"], interval["total_tokens"], interval["requests"]) == (
        1,
        data["total_tokens"],
        6,
    )
    # Times carry their UTC offset; the file name is the end time in local time.
    assert data["end_time"].endswith(("Z", "+00:00"))
    assert path.name.startswith("token_usage_")
    # The journal of a finished session is gone.
    assert list((project / "memory-bank" / "token-reports" / ".journal").iterdir()) == []


def test_disabled_tracking_prints_the_report_and_persists_nothing(tmp_path: Path) -> None:
    project = make_sample_project(tmp_path)
    ledger = Path(os.environ["TOKEN_TRACKING_DB_PATH"])
    result = invoke(project, "init", "--offline", env={"TOKEN_TRACKING_ENABLED": "false"})
    assert result.exit_code == 0, result.output
    assert "TOKEN USAGE REPORT" in result.stdout
    assert "Successful Agents: 6/6" in result.stdout
    assert "Estimated Cost: $0.0000 USD (offline engine, free)" in result.stdout
    assert "Report saved" not in result.output
    assert sorted(p.name for p in (project / "memory-bank").iterdir()) == sorted(
        [".gitignore", *(f"{name}.md" for name in AGENT_NAMES)]
    )
    assert not ledger.exists()


@pytest.fixture
def new_york() -> Iterator[None]:
    """Local time is New York's for the test (UTC-5 in December)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", "America/New_York")
        time.tzset()
        yield
    time.tzset()


@pytest.mark.usefixtures("new_york")
def test_a_0_1_report_loads_through_the_cli_with_local_times(tmp_path: Path) -> None:
    result = invoke(
        tmp_path, "tokens", "--report-file", str(FIXTURES / "report_v0_1.json"), "--json"
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["schema_version"] is None
    assert (data["start_time"], data["end_time"]) == (
        "2024-12-06T14:30:22-05:00",
        "2024-12-06T14:31:07-05:00",
    )
    assert data["agent_usage"][0]["start_time"] == "2024-12-06T14:30:22-05:00"
    assert (data["total_tokens"], data["total_cost_usd"]) == (20_770, 0.114325)
