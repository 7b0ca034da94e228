"""Imported usage in the history commands: limits count it, and every view filters it with
``--source``."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.cli import invoke
from tests.token_tracking.imports.agent_logs import (
    claude_line,
    codex_count,
    codex_meta,
    codex_turn,
    codex_usage,
    line,
    write,
)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.fixture
def imported(tmp_path: Path) -> Path:
    """Two Claude Code requests and one Codex request from ten minutes ago, in this project."""
    recent = datetime.now(UTC) - timedelta(minutes=10)
    cwd = str(tmp_path)
    logs = tmp_path / "logs"
    write(
        logs / "claude" / "s.jsonl",
        line(
            claude_line(
                session="cc-1",
                ts=_stamp(recent),
                message_id="m1",
                request_id="r1",
                fresh=100,
                output=10,
                cwd=cwd,
                cost=0.5,
            )
        ),
        line(
            claude_line(
                session="cc-1",
                ts=_stamp(recent + timedelta(seconds=5)),
                message_id="m2",
                request_id="r2",
                fresh=200,
                output=20,
                cwd=cwd,
            )
        ),
    )
    write(
        logs / "codex" / "rollout.jsonl",
        line(codex_meta("cx-1", cwd)),
        line(codex_turn(_stamp(recent), "gpt-5", cwd)),
        line(
            codex_count(
                _stamp(recent + timedelta(seconds=9)),
                codex_usage(1000, 0, 100, 0),
                codex_usage(1000, 0, 100, 0),
            )
        ),
    )
    result = invoke(tmp_path, "tokens", "import", "all", "--path", str(logs))
    assert result.exit_code == 0, result.stderr
    return tmp_path


def test_imported_requests_count_toward_the_request_and_token_limits(imported: Path) -> None:
    result = invoke(
        imported,
        "tokens",
        "limits",
        "--json",
        env={"CLAUDE_HOURLY_LIMIT": "10", "TOKEN_HOURLY_LIMIT": "10000"},
    )
    used = {item["variable"]: item["used"] for item in json.loads(result.stdout)["limits"]}
    assert used["CLAUDE_HOURLY_LIMIT"] == 3
    assert used["CLAUDE_DAILY_LIMIT"] == 3
    assert used["TOKEN_HOURLY_LIMIT"] == 110 + 220 + 1100


def test_every_history_view_filters_by_source(imported: Path) -> None:
    stats = json.loads(
        invoke(
            imported, "tokens", "stats", "--period", "hourly", "--source", "codex", "--json"
        ).stdout
    )
    assert (stats["requests"], stats["total_tokens"]) == (1, 1100)
    both = json.loads(
        invoke(
            imported, "tokens", "stats", "--source", "codex", "--source", "claude-code", "--json"
        ).stdout
    )
    assert both["requests"] == 3
    sessions = json.loads(
        invoke(imported, "tokens", "sessions", "--source", "claude-code", "--json").stdout
    )
    assert [(s["session_id"], s["source"], s["requests"]) for s in sessions] == [
        ("cc-1", "claude-code", 2)
    ]
    trends = json.loads(
        invoke(imported, "tokens", "trends", "--by", "model", "--source", "codex", "--json").stdout
    )
    assert [(row["key"], row["total_tokens"]) for row in trends["rows"]] == [("gpt-5", 1100)]
    exported = invoke(imported, "tokens", "export", "--format", "csv", "--source", "codex")
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert [(row["source"], row["model"], row["tokens"]) for row in rows] == [
        ("codex", "gpt-5", "1100")
    ]
    claude_csv = invoke(imported, "tokens", "export", "--source", "claude-code").stdout
    (claude_row,) = csv.DictReader(io.StringIO(claude_csv))
    assert claude_row["reported_cost_usd"] == "0.5"
    document = json.loads(
        invoke(imported, "tokens", "export", "--format", "json", "--source", "claude-code").stdout
    )
    assert document["summary"]["total_tokens"] == 330
    assert [session["reported_cost_usd"] for session in document["sessions"]] == [0.5]
    dashboard = json.loads(
        invoke(imported, "tokens", "dashboard", "--json", "--source", "codex").stdout
    )
    assert dashboard["summary"]["total_tokens"] == 1100
    assert [s["source"] for s in dashboard["top_sessions"]] == ["codex"]


def test_an_unknown_source_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = invoke(tmp_path, "tokens", "sessions", "--source", "claude")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith("Error: --source 'claude' is not a source: choose from llm,")
    assert result.stderr.endswith("; did you mean claude-code?\n")
    assert result.stderr.count("\n") == 1
