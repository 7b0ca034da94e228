"""The history commands of ``memory-banker tokens``: help, --json, happy paths and bad input."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result

from memory_banker.cli import ledger_entries
from tests.support.cli import invoke, run_installed
from tests.support.ledger_factory import (
    AgentSpec,
    make_first_form_ledger,
    make_session,
    use_timezone,
)
from tests.support.paths import FIXTURES
from token_tracking.history.ledger import Ledger, project_key
from token_tracking.records import RequestUsage
from token_tracking.reports.build import SessionMeta
from token_tracking.reports.journal import Journal

# Every test runs on the SQLite file and on PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("each_ledger_backend")

COMMANDS = ("sessions", "stats", "limits", "trends", "export", "add", "prune", "reindex")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty project directory, with local time in UTC."""
    path = tmp_path / "shop"
    path.mkdir()
    with use_timezone(monkeypatch, "UTC"):
        yield path


def seed(project: Path, *, minutes_ago: float = 30, **kwargs: object) -> str:
    """Insert a two-agent session (5,700 tokens, $0.0043) that started ``minutes_ago``."""
    start = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    agents = [
        AgentSpec("projectbrief", 1200, 300, 0.0012, requests=2),
        AgentSpec("techContext", 3400, 800, 0.0031, requests=3),
    ]
    report, requests = make_session(project, start, agents, **kwargs)  # type: ignore[arg-type]
    with Ledger() as ledger:
        ledger.insert_report(report, requests)
    return report.session_id


def one_line_error(result: Result, message: str) -> None:
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"Error: {message}\n"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(project: Path, command: str) -> None:
    result = invoke(project, "tokens", command, "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.stdout
    assert f"memory-banker tokens {command}" in result.stdout or "memory-banker --project-path" in (
        result.stdout
    )


# --- sessions -------------------------------------------------------------------------------------


def test_sessions_lists_this_project_unless_all_projects(project: Path, tmp_path: Path) -> None:
    older = seed(project, minutes_ago=90)
    newer = seed(project, minutes_ago=30)
    other = tmp_path / "other"
    other.mkdir()
    seed(other, minutes_ago=10)

    mine = invoke(project, "tokens", "sessions", "--json")
    assert mine.exit_code == 0
    listed = json.loads(mine.stdout)
    assert [s["session_id"] for s in listed] == [newer, older]
    assert [s["total_tokens"] for s in listed] == [5700, 5700]
    assert listed[0]["cost_usd"] == pytest.approx(0.0043, rel=1e-9)
    everyone = json.loads(invoke(project, "tokens", "sessions", "--all-projects", "--json").stdout)
    assert len(everyone) == 3
    limited = json.loads(invoke(project, "tokens", "sessions", "--limit", "1", "--json").stdout)
    assert [s["session_id"] for s in limited] == [newer]

    text = invoke(project, "tokens", "sessions")
    assert text.exit_code == 0
    assert "Recent Token Tracking Sessions" in text.stdout
    assert newer[:8] in text.stdout
    assert "5,700" in text.stdout
    assert "$0.0043" in text.stdout


def test_sessions_with_an_id_shows_intervals(project: Path) -> None:
    session_id = seed(project)
    result = invoke(project, "tokens", "sessions", "--session-id", session_id[:6], "--json")
    assert result.exit_code == 0
    detail = json.loads(result.stdout)
    assert detail["session"]["session_id"] == session_id
    assert detail["interval_minutes"] == 5
    # Five requests 10 s apart from the start: all in the first 5-minute interval (50 s long).
    assert [(i["index"], i["total_tokens"], i["requests"]) for i in detail["intervals"]] == [
        (1, 5700, 5)
    ]
    assert detail["total"]["total_tokens"] == 5700
    text = invoke(project, "tokens", "sessions", "--session-id", session_id)
    assert "Token Usage by 5-Minute Intervals" in text.stdout
    assert "TOTAL" in text.stdout


def test_sessions_interval_length_follows_the_setting(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session_id = seed(project)
    monkeypatch.setenv("TOKEN_INTERVAL_MINUTES", "0.25")
    result = invoke(project, "tokens", "sessions", "--session-id", session_id, "--json")
    intervals = json.loads(result.stdout)["intervals"]
    # 15-second intervals over 50 s: requests at +10 s | +20 s | +30 s, +40 s | +50 s.
    assert [(i["index"], i["requests"], i["duration_seconds"]) for i in intervals] == [
        (1, 1, 15.0),
        (2, 1, 15.0),
        (3, 2, 15.0),
        (4, 1, 5.0),
    ]
    monkeypatch.setenv("TOKEN_INTERVAL_MINUTES", "soon")
    bad = invoke(project, "tokens", "sessions", "--session-id", session_id)
    assert bad.exit_code == 2
    assert bad.stderr.startswith("Error: TOKEN_INTERVAL_MINUTES")


def test_sessions_unknown_id_is_exit_2(project: Path) -> None:
    seed(project)
    one_line_error(
        invoke(project, "tokens", "sessions", "--session-id", "nope"), "Session nope not found"
    )


@pytest.mark.parametrize("command", ["sessions", "stats"])
@pytest.mark.parametrize("given", ["", "  "])
def test_an_empty_session_id_is_a_usage_error_naming_the_option(
    project: Path, command: str, given: str
) -> None:
    seed(project)
    one_line_error(
        invoke(project, "tokens", command, "--session-id", given), "--session-id must not be empty"
    )


def test_a_manual_entry_shows_its_unknown_request_count_as_a_dash(project: Path) -> None:
    entry = json.loads(
        invoke(project, "tokens", "add", "--input", "1200", "--output", "300", "--json").stdout
    )
    session_id = entry["session_id"]

    text = invoke(project, "tokens", "sessions", "--session-id", session_id).stdout
    detail = json.loads(
        invoke(project, "tokens", "sessions", "--session-id", session_id, "--json").stdout
    )
    stats = invoke(project, "tokens", "stats", "--session-id", session_id).stdout

    rows = [line for line in text.splitlines() if line.startswith(("│ 1 ", "│ TOTAL "))]
    assert [[cell.strip() for cell in row.split("│")[1:-1]] for row in rows] == [
        ["1", "0:00", "1,200", "300", "1,500", "unknown", "-"],
        ["TOTAL", "0:00", "1,200", "300", "1,500", "unknown", "-"],
    ]
    # JSON keeps the persisted interval model (requests 0) and says which counts are unknown.
    assert [(i["index"], i["requests"]) for i in detail["intervals"]] == [(1, 0)]
    assert detail["unknown_requests"] == [0, 1]
    cells = [line.strip().rsplit(maxsplit=1) for line in stats.splitlines()[1:]]
    metrics = {row[0].strip(): row[1] for row in cells if len(row) == 2 and row[0] != "Metric"}
    assert metrics == {
        "Sessions": "1",
        "Total Requests": "unknown",
        "Input Tokens": "1,200",
        "Cached Input Tokens": "unknown",
        "Output Tokens": "300",
        "Total Tokens": "1,500",
        "Total Cost": "unknown",
        "Avg Tokens/Request": "-",
    }


def test_known_request_counts_are_not_listed_as_unknown(project: Path) -> None:
    session_id = seed(project)
    detail = json.loads(
        invoke(project, "tokens", "sessions", "--session-id", session_id, "--json").stdout
    )
    assert detail["unknown_requests"] == []


def test_sessions_ambiguous_prefix_is_exit_2(project: Path) -> None:
    seed(project, session_id="abc12345-0000", minutes_ago=90)
    seed(project, session_id="abc67890-0000", minutes_ago=30)
    one_line_error(  # the latest first
        invoke(project, "tokens", "sessions", "--session-id", "abc"),
        "Session id prefix abc matches several sessions (abc67890-000, abc12345-000); "
        "give more of it",
    )
    chosen = invoke(project, "tokens", "sessions", "--session-id", "abc6", "--json")
    assert json.loads(chosen.stdout)["session"]["session_id"] == "abc67890-0000"


def test_sessions_bad_limit_is_exit_2(project: Path) -> None:
    result = invoke(project, "tokens", "sessions", "--limit", "0")
    assert result.exit_code == 2
    assert "--limit" in result.stderr


def test_sessions_on_an_empty_ledger(project: Path) -> None:
    result = invoke(project, "tokens", "sessions")
    assert result.exit_code == 0
    assert result.stdout.startswith("No sessions in the ledger for project ")
    assert json.loads(invoke(project, "tokens", "sessions", "--json").stdout) == []


# --- stats ----------------------------------------------------------------------------------------


def test_stats_hourly_daily_and_session(project: Path) -> None:
    recent = seed(project, minutes_ago=20)
    seed(project, minutes_ago=180)
    hourly = json.loads(invoke(project, "tokens", "stats", "--period", "hourly", "--json").stdout)
    assert (hourly["requests"], hourly["total_tokens"], hourly["sessions"]) == (5, 5700, 1)
    daily = json.loads(invoke(project, "tokens", "stats", "--json").stdout)
    assert (daily["period"], daily["requests"], daily["total_tokens"]) == ("daily", 10, 11400)
    assert daily["cost_usd"] == pytest.approx(0.0086, rel=1e-9)
    session = json.loads(invoke(project, "tokens", "stats", "--period", "session", "--json").stdout)
    assert session["session_id"] == recent
    text = invoke(project, "tokens", "stats", "--period", "hourly")
    assert "Token Usage Statistics: Last 60 minutes" in text.stdout
    assert "Avg Tokens/Request" in text.stdout


def test_stats_bad_input(project: Path) -> None:
    result = invoke(project, "tokens", "stats", "--period", "weekly")
    assert result.exit_code == 2
    assert "--period" in result.stderr
    one_line_error(
        invoke(project, "tokens", "stats", "--session-id", "zzz"), "Session zzz not found"
    )


# --- limits ---------------------------------------------------------------------------------------


def test_limits_json_and_panel(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(project)
    monkeypatch.setenv("TOKEN_HOURLY_LIMIT", "10000")
    result = invoke(project, "tokens", "limits", "--json")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    got = {limit["variable"]: limit for limit in report["limits"]}
    assert list(got) == ["CLAUDE_HOURLY_LIMIT", "CLAUDE_DAILY_LIMIT", "TOKEN_HOURLY_LIMIT"]
    assert got["TOKEN_HOURLY_LIMIT"]["used"] == 5700
    assert got["TOKEN_HOURLY_LIMIT"]["percent"] == pytest.approx(57.0, rel=1e-9)
    assert got["TOKEN_HOURLY_LIMIT"]["level"] == "warning"
    assert got["CLAUDE_HOURLY_LIMIT"]["used"] == 5
    text = invoke(project, "tokens", "limits")
    assert "Usage Limits" in text.stdout
    assert "TOKEN_HOURLY_LIMIT" in text.stdout


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("TOKEN_HOURLY_LIMIT", "abc", "a positive whole number"),
        ("CLAUDE_DAILY_LIMIT", "-1", "a positive whole number"),
        ("TOKEN_CRITICAL_THRESHOLD", "101", "a percentage from 0 to 100"),
    ],
)
def test_limits_invalid_settings_are_one_line_exit_2(
    project: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    message = f"{variable} must be {expected}, got {value!r}"
    one_line_error(invoke(project, "tokens", "limits"), message)


def test_limits_warning_above_critical_is_exit_2(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOKEN_WARNING_THRESHOLD", "90")
    monkeypatch.setenv("TOKEN_CRITICAL_THRESHOLD", "80")
    one_line_error(
        invoke(project, "tokens", "limits", "--json"),
        "TOKEN_WARNING_THRESHOLD must be at most TOKEN_CRITICAL_THRESHOLD (80), got '90'",
    )


# --- trends ---------------------------------------------------------------------------------------


def test_trends_json_and_text(project: Path) -> None:
    seed(project, branch="feature/a")
    seed(project, branch="main")
    seed(project, branch="feature/a", source="offline")
    result = invoke(project, "tokens", "trends", "--by", "branch", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert [(r["key"], r["sessions"], r["total_tokens"]) for r in data["rows"]] == [
        ("feature/a", 1, 5700),
        ("main", 1, 5700),
    ]
    assert data["totals"]["total_tokens"] == 11400
    assert data["insights"]["average_tokens_per_day"] == pytest.approx(11400, rel=1e-9)
    offline = json.loads(
        invoke(project, "tokens", "trends", "--days", "0", "--include-offline", "--json").stdout
    )
    assert offline["totals"]["total_tokens"] == 17100
    text = invoke(project, "tokens", "trends")
    assert text.exit_code == 0
    assert "Daily Usage" in text.stdout
    assert "Insights" in text.stdout
    assert "Projected monthly cost:" in text.stdout


@pytest.mark.parametrize(
    ("args", "option", "shown"),
    [
        (("trends", "--days", "800000"), "--days", "800,000"),
        (("trends", "--days", "-1"), "--days", "-1"),
        (("export", "--days", "36501"), "--days", "36,501"),
        (("export", "--days", "-3"), "--days", "-3"),
        (("check", "--since", "800000", "--max-cost", "1"), "--since", "800,000"),
        (("check", "--since", "-1", "--max-cost", "1"), "--since", "-1"),
    ],
)
def test_days_beyond_a_century_or_negative_are_one_line_exit_2(
    project: Path, args: tuple[str, ...], option: str, shown: str
) -> None:
    seed(project)
    one_line_error(
        invoke(project, "tokens", *args),
        f"{option} must be between 0 and 36,500 days (0 = all time), not {shown}",
    )


def test_days_of_a_century_reads_all_the_history(project: Path) -> None:
    seed(project)
    trends = json.loads(invoke(project, "tokens", "trends", "--days", "36500", "--json").stdout)
    since = invoke(project, "tokens", "check", "--since", "36500", "--max-tokens", "5700")
    assert trends["totals"]["total_tokens"] == 5700
    assert since.exit_code == 0


def test_trends_bad_input(project: Path) -> None:
    bad_by = invoke(project, "tokens", "trends", "--by", "year")
    assert bad_by.exit_code == 2
    assert "--by" in bad_by.stderr


def test_trends_on_an_empty_ledger(project: Path) -> None:
    result = invoke(project, "tokens", "trends", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["rows"] == []


# --- export ---------------------------------------------------------------------------------------


def test_export_csv_to_stdout_and_json_to_a_file(project: Path, tmp_path: Path) -> None:
    seed(project, branch="feature/a")
    result = invoke(project, "tokens", "export", "--format", "csv")
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["agent"], r["tokens"], r["branch"]) for r in rows] == [
        ("projectbrief", "1500", "feature/a"),
        ("techContext", "4200", "feature/a"),
    ]
    target = tmp_path / "usage.json"
    written = invoke(project, "tokens", "export", "--format", "json", "--output", str(target))
    assert written.exit_code == 0
    assert written.stdout == ""
    assert written.stderr == f"Exported the ledger as JSON to {target}\n"
    data = json.loads(target.read_text("utf-8"))
    assert data["summary"]["total_tokens"] == 5700
    assert data["by_branch"]["feature/a"]["estimated_cost"] == pytest.approx(0.0043, rel=1e-9)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".usage")] == []


def test_export_bad_input(project: Path, tmp_path: Path) -> None:
    bad_format = invoke(project, "tokens", "export", "--format", "xml")
    assert bad_format.exit_code == 2
    assert "--format" in bad_format.stderr
    missing = tmp_path / "no" / "such" / "dir" / "x.csv"
    result = invoke(project, "tokens", "export", "--output", str(missing))
    one_line_error(result, f"cannot write {missing}: No such file or directory")
    assert invoke(project, "tokens", "export", "--days", "-3").exit_code == 2


# --- add ------------------------------------------------------------------------------------------


def _git_repo(path: Path, branch: str) -> None:
    subprocess.run(["git", "init", "-q", "-b", branch, str(path)], check=True)


def test_add_prices_with_the_model_and_defaults_to_the_git_branch(project: Path) -> None:
    _git_repo(project, "feature/add")
    result = invoke(
        project, "tokens", "add", "--input", "10000", "--output", "5000", "--model", "gpt-4o-mini",
        "--note", "pairing session", "--json",
    )  # fmt: skip
    assert result.exit_code == 0
    entry = json.loads(result.stdout)
    assert (entry["source"], entry["command"], entry["branch"]) == (
        "manual",
        "manual",
        "feature/add",
    )
    assert entry["total_tokens"] == 15000
    # gpt-4o-mini: $0.15 per 1M input, $0.60 per 1M output.
    assert entry["cost_usd"] == pytest.approx(10000 * 0.15e-6 + 5000 * 0.60e-6, rel=1e-9)
    assert entry["note"] == "pairing session"
    assert entry["project"] == project_key(project)


def test_add_with_a_cost_and_a_branch_and_without_a_model(project: Path) -> None:
    given = invoke(project, "tokens", "add", "--input", "1", "--output", "2", "--cost", "0.5",
                "--branch", "spike")  # fmt: skip
    assert given.exit_code == 0
    assert given.stdout.startswith("Recorded 3 tokens (1 in, 2 out) on spike, cost $0.5000")
    unknown = json.loads(
        invoke(project, "tokens", "add", "--input", "7", "--output", "0", "--json").stdout
    )
    assert (unknown["cost_usd"], unknown["branch"], unknown["model"]) == (None, None, None)


def test_add_help_example_uses_a_priced_model(project: Path) -> None:
    help_text = invoke(project, "tokens", "add", "--help").stdout
    example = next(line for line in help_text.splitlines() if "--model" in line and "add " in line)
    args = example.split("memory-banker ", 1)[1].split()

    result = invoke(project, *args, "--json")

    assert args == [
        "tokens", "add", "--input", "10000", "--output", "5000", "--model", "claude-sonnet-4-5"
    ]  # fmt: skip
    assert result.stderr == ""
    # claude-sonnet-4-5: $3 per 1M input, $15 per 1M output.
    assert json.loads(result.stdout)["cost_usd"] == pytest.approx(
        10000 * 3e-6 + 5000 * 15e-6, rel=1e-9
    )


def test_add_with_an_unknown_model_warns_and_keeps_the_cost_unknown(project: Path) -> None:
    result = invoke(
        project, "tokens", "add", "--input", "5", "--output", "5", "--model", "gpt-4o-mimi"
    )
    assert result.exit_code == 0
    assert result.stderr.startswith("Warning: no price known for gpt-4o-mimi (did you mean ")
    assert "cost unknown" in result.stdout


def test_add_asks_for_missing_counts_only_on_a_terminal(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = invoke(project, "tokens", "add", "--output", "5")
    one_line_error(refused, "give --input and --output (stdin is not a terminal to ask)")
    monkeypatch.setattr(ledger_entries, "_stdin_is_terminal", lambda: True)
    asked = invoke(project, "tokens", "add", "--json", input="1200\n-4\n300\n")
    assert asked.exit_code == 0
    entry = json.loads(asked.stdout[asked.stdout.index("{") :])
    assert (entry["prompt_tokens"], entry["completion_tokens"]) == (1200, 300)


def test_add_bad_counts_are_exit_2(project: Path) -> None:
    result = invoke(project, "tokens", "add", "--input", "-5", "--output", "1")
    assert result.exit_code == 2
    assert "--input" in result.stderr
    assert invoke(project, "tokens", "add", "--input", "x", "--output", "1").exit_code == 2
    assert (
        invoke(project, "tokens", "add", "--input", "1", "--output", "1", "--cost", "-1").exit_code
        == 2
    )


# --- prune ----------------------------------------------------------------------------------------


def test_prune_says_what_it_removes(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(project, minutes_ago=60 * 24 * 100)
    kept = seed(project)
    nothing = invoke(project, "tokens", "prune", "--dry-run")
    assert nothing.stdout.startswith("Would remove 1 session (2 agent runs, 5 request rows)")
    assert "(TOKEN_HISTORY_DAYS=90)" in nothing.stdout
    assert len(json.loads(invoke(project, "tokens", "sessions", "--json").stdout)) == 2
    done = invoke(project, "tokens", "prune")
    assert done.stdout.startswith("Removed 1 session (")
    remaining = json.loads(invoke(project, "tokens", "sessions", "--json").stdout)
    assert [s["session_id"] for s in remaining] == [kept]
    again = json.loads(invoke(project, "tokens", "prune", "--json").stdout)
    assert (again["sessions"], again["dry_run"]) == (0, False)
    assert invoke(project, "tokens", "prune").stdout.startswith(
        "Nothing to prune: no session ended"
    )
    monkeypatch.setenv("TOKEN_HISTORY_DAYS", "forever")
    one_line_error(
        invoke(project, "tokens", "prune"),
        "TOKEN_HISTORY_DAYS must be a positive whole number, got 'forever'",
    )


# --- reindex --------------------------------------------------------------------------------------


def _reports(project: Path) -> Path:
    folder = project / "memory-bank" / "token-reports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_reindex_imports_once_and_skips_a_corrupt_file(project: Path) -> None:
    folder = _reports(project)
    shutil.copy(FIXTURES / "report_v0_1.json", folder / "token_usage_20241206_143107.json")
    shutil.copy(FIXTURES / "report_v1.json", folder / "token_usage_20261123_100000.json")
    corrupt = folder / "token_usage_20261123_110000.json"
    corrupt.write_text('{"session_id": ', "utf-8")

    dry = invoke(project, "tokens", "reindex", "--dry-run")
    assert dry.stdout.startswith("Would import 2 reports into the ledger (0 already there)")
    first = invoke(project, "tokens", "reindex")
    assert first.exit_code == 0
    assert first.stdout == f"Imported 2 reports into the ledger (0 already there) from {folder}\n"
    assert first.stderr.startswith(f"Warning: skipped {corrupt}: ")
    second = json.loads(invoke(project, "tokens", "reindex", "--json").stdout)
    assert (second["imported"], second["already_present"]) == ([], 2)
    with Ledger() as ledger:
        assert ledger.session_ids() == {
            "3f2b8c1e-5d4a-4e9b-9c7d-0a1b2c3d4e5f",
            "9b7e6c52-1f0a-4d2b-8e3c-5a4f6b7c8d90",
        }
        legacy = ledger.find_session("3f2b8c1e")
        assert legacy.total_tokens == 20770


def test_reindex_recovers_an_orphaned_journal(project: Path) -> None:
    folder = _reports(project)
    start = datetime.now(UTC) - timedelta(minutes=5)
    meta = SessionMeta(
        session_id="orphan-1", command="update", project_path=str(project), start_time=start
    )
    journal = Journal.create(folder, meta, None)
    journal.agent_start("projectbrief", "gpt-4o-mini", start)
    journal.request(
        RequestUsage(
            timestamp=start,
            agent_name="projectbrief",
            model="gpt-4o-mini",
            prompt_tokens=900,
            completion_tokens=100,
            cost_usd=0.001,
        ),
        None,
    )
    journal.close(delete=False)  # released as a dead process's lock would be

    result = invoke(project, "tokens", "reindex")
    assert result.exit_code == 0
    assert "Recovered interrupted session orphan-1 from its orphaned journal" in result.stderr
    assert result.stdout.startswith("Imported 1 report into the ledger")
    with Ledger() as ledger:
        session = ledger.find_session("orphan-1")
    assert (session.status, session.total_tokens) == ("interrupted", 1000)


def test_reindex_without_a_reports_folder(project: Path) -> None:
    result = invoke(project, "tokens", "reindex")
    assert result.exit_code == 0
    assert result.stdout.startswith("Imported 0 reports")


# --- tokens check --since -------------------------------------------------------------------------


def test_check_since_gates_on_ledger_totals(project: Path) -> None:
    seed(project)
    seed(project, minutes_ago=60 * 24 * 10)
    passed = invoke(project, "tokens", "check", "--since", "7", "--max-cost", "0.005")
    assert passed.exit_code == 0
    failed = invoke(project, "tokens", "check", "--since", "30", "--max-cost", "0.005", "--json")
    assert failed.exit_code == 1
    verdict = json.loads(failed.stdout)
    assert verdict["passed"] is False
    tokens_gate = invoke(project, "tokens", "check", "--since", "0", "--max-tokens", "11400")
    assert tokens_gate.exit_code == 0
    both = invoke(
        project, "tokens", "check", "--since", "7", "--session-id", "x", "--max-cost", "1"
    )
    assert both.exit_code == 2


def test_check_since_bad_input_is_exit_2(project: Path) -> None:
    result = invoke(project, "tokens", "check", "--since", "-1", "--max-cost", "1")
    one_line_error(result, "--since must be between 0 and 36,500 days (0 = all time), not -1")


# --- the ledger file ------------------------------------------------------------------------------


@pytest.mark.sqlite_ledger
@pytest.mark.parametrize("command", ["sessions", "stats", "limits", "trends", "export", "prune"])
def test_a_file_that_is_not_a_ledger_is_one_line_exit_2(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database" * 100)
    monkeypatch.setenv("TOKEN_TRACKING_DB_PATH", str(junk))
    one_line_error(
        invoke(project, "tokens", command), f"cannot use the ledger {junk}: file is not a database"
    )


@pytest.mark.sqlite_ledger
def test_a_ledger_of_the_first_committed_schema_works_after_an_upgrade(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A developer's ledger made by the first committed schema failed: no such table: contexts."""
    path = tmp_path / "first.sqlite3"
    make_first_form_ledger(path, version=2)
    monkeypatch.setenv("TOKEN_TRACKING_DB_PATH", str(path))
    listed = json.loads(invoke(project, "tokens", "sessions", "--all-projects", "--json").stdout)
    assert [(s["session_id"], s["total_tokens"]) for s in listed] == [
        ("s-feature", 1200),
        ("s-main", 180),
    ]
    trends = invoke(project, "tokens", "trends", "--days", "0", "--all-projects", "--by", "branch")
    assert trends.exit_code == 0
    data = json.loads(
        invoke(
            project, "tokens", "trends", "--days", "0", "--all-projects", "--by", "branch", "--json"
        ).stdout
    )
    assert [(r["key"], r["total_tokens"]) for r in data["rows"]] == [
        ("feature/a", 1200),
        ("main", 180),
    ]


# --- smoke test: the installed executable ---------------------------------------------------------


def test_the_installed_command_prints_trends_json_without_sdk_imports(
    project: Path, tmp_path: Path
) -> None:
    seed(project)
    env = {**os.environ, "TOKEN_TRACKING_DB_PATH": os.environ["TOKEN_TRACKING_DB_PATH"]}
    done = run_installed("--project-path", str(project), "tokens", "trends", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["totals"]["total_tokens"] == 5700
    probe = (
        "import sys; from memory_banker.cli.main import cli; "
        "from click.testing import CliRunner; "
        "CliRunner().invoke(cli, ['tokens', 'trends', '--json'], catch_exceptions=False); "
        "print(sorted(m for m in ('agents', 'litellm', 'openai', 'anthropic') if m in sys.modules))"
    )
    imported = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip().splitlines()[-1:] == ["[]"], imported.stdout


@pytest.mark.parametrize("command", ["limits", "prune", "reindex"])
def test_unknown_options_are_exit_2(project: Path, command: str) -> None:
    result = invoke(project, "tokens", command, "--bogus")
    assert result.exit_code == 2
    assert "Error: No such option '--bogus'" in result.stderr


def test_export_json_to_stdout_round_trips(project: Path) -> None:
    from token_tracking.history.export import ExportDocument

    seed(project)
    result = invoke(project, "tokens", "export", "--format", "json", "--days", "7")
    assert result.exit_code == 0
    document = ExportDocument.model_validate_json(result.stdout)
    assert document.summary.total_tokens == 5700
    assert document.summary.days == 7
    assert [len(s.agent_usage) for s in document.sessions] == [2]


def test_stats_of_the_latest_session_on_an_empty_ledger_is_exit_2(project: Path) -> None:
    one_line_error(
        invoke(project, "tokens", "stats", "--period", "session"),
        f"no session in the ledger for project {project_key(project)} yet",
    )
