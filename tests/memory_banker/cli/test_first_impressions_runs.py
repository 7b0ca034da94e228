"""What a new user sees around a run: the dry run warns like the run, the live view agrees with
the report, the bank ignores its machine-local files, the project is the same folder for every
command, global options go anywhere, plurals read right, JSON numbers carry no noise."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from memory_banker.writer import GITIGNORE_TEXT
from tests.memory_banker.generate.test_generate_live import _run_with_stderr_on_a_pty
from tests.support.cli import invoke
from tests.support.generate import TEST_KEY
from tests.support.ledger_factory import AgentSpec, make_session
from tests.support.reports import agent, make_report
from tests.support.sample_project import make_sample_project
from token_tracking.display import json_number, json_text
from token_tracking.history.ledger import Ledger
from token_tracking.records import RequestUsage
from token_tracking.reports.file import save_report

NOISY = 0.6653600000000001
TINY = 1.2345678901234567e-9


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_sample_project(tmp_path)


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


# --- --dry-run warns as the run would -------------------------------------------------------------


def test_dry_run_prints_the_limit_warning_a_run_prints(project: Path) -> None:
    spend_requests(project, 3)
    env = {"OPENAI_API_KEY": TEST_KEY, "CLAUDE_HOURLY_LIMIT": "5"}
    warning = (
        "Warning: usage limit CLAUDE_HOURLY_LIMIT: 3 of 5 requests in the last 60 minutes (60%)"
    )

    dry = invoke(project, "update", "--dry-run", env=env)

    assert dry.exit_code == 0, dry.stderr
    assert warning in dry.stderr.splitlines()
    assert "Dry run: no model was called" in dry.stdout


def test_dry_run_says_the_run_would_refuse(project: Path) -> None:
    spend_requests(project, 3)
    env = {"OPENAI_API_KEY": TEST_KEY, "CLAUDE_HOURLY_LIMIT": "2"}

    dry = invoke(project, "update", "--dry-run", env=env)

    assert dry.exit_code == 0, dry.stderr
    lines = dry.stderr.splitlines()
    assert (
        "Warning: usage limit CLAUDE_HOURLY_LIMIT: 3 of 2 requests in the last 60 minutes (150%)"
        in lines
    )
    assert (
        "Warning: a real run would refuse to start: usage limit exceeded: CLAUDE_HOURLY_LIMIT: 3 "
        "of 2 requests in the last 60 minutes (150%) (raise the limit, wait for the window to "
        "pass, or pass --ignore-limits)"
    ) in lines
    with_json = invoke(project, "update", "--dry-run", "--json", env=env)
    assert json.loads(with_json.stdout)["model"] == "gpt-4o-mini"
    assert "a real run would refuse" in with_json.stderr


def test_an_offline_dry_run_checks_no_limit(project: Path) -> None:
    spend_requests(project, 3)
    dry = invoke(project, "update", "--dry-run", "--offline", env={"CLAUDE_HOURLY_LIMIT": "2"})
    assert dry.exit_code == 0
    assert "usage limit" not in dry.stderr


# --- the live view and the report agree -----------------------------------------------------------


def test_live_view_totals_equal_the_report_totals(project: Path) -> None:
    code, stdout, terminal = _run_with_stderr_on_a_pty(
        ["--project-path", str(project), "init", "--offline"]
    )
    assert code == 0, terminal
    spent = re.findall(r"Spent (\$[0-9.]+) in ([0-9.]+s)", terminal)
    duration = re.search(r"Total Duration: ([0-9.]+s)", stdout)
    cost = re.search(r"Estimated Cost: (\$[0-9.]+)", stdout)
    assert spent and duration and cost, (terminal, stdout)
    assert spent[-1] == (cost.group(1), duration.group(1))


# --- memory-bank/.gitignore -----------------------------------------------------------------------


def test_the_bank_ignores_its_machine_local_files(project: Path) -> None:
    assert invoke(project, "init", "--offline").exit_code == 0
    ignore = project / "memory-bank" / ".gitignore"
    assert ignore.read_text(encoding="utf-8") == GITIGNORE_TEXT
    lines = [line for line in GITIGNORE_TEXT.splitlines() if not line.startswith("#")]
    assert lines == [
        "token-reports/.journal/",
        "token-reports/.index.json",
        "token-reports/dashboard.html",
        ".history/",
    ]
    assert not list(ignore.parent.glob(".gitignore.*"))


def test_a_users_bank_gitignore_is_never_overwritten(project: Path) -> None:
    ignore = project / "memory-bank" / ".gitignore"
    ignore.parent.mkdir()
    ignore.write_text("*.json\n", encoding="utf-8")
    assert invoke(project, "init", "--offline").exit_code == 0
    assert invoke(project, "update", "--offline").exit_code == 0
    assert ignore.read_text(encoding="utf-8") == "*.json\n"


def test_a_deleted_bank_gitignore_comes_back_once(project: Path) -> None:
    assert invoke(project, "init", "--offline").exit_code == 0
    ignore = project / "memory-bank" / ".gitignore"
    ignore.unlink()
    assert invoke(project, "update", "--offline").exit_code == 0
    assert ignore.read_text(encoding="utf-8") == GITIGNORE_TEXT


# --- plurals --------------------------------------------------------------------------------------


def test_a_one_file_project_plans_a_digest_of_1_file(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# One\n\nA one-file project.\n", encoding="utf-8")
    result = invoke(tmp_path, "update", "--dry-run", "--offline")
    assert result.exit_code == 0, result.stderr
    assert re.search(r"Digest: +[0-9,]+ tokens \(1 file\)$", result.stdout, re.MULTILINE)


# --- JSON numbers ---------------------------------------------------------------------------------


def test_json_numbers_have_12_significant_digits() -> None:
    assert json_number(NOISY) == 0.66536
    assert json_number(TINY) == 1.23456789012e-09
    assert json_number(0.0) == 0.0
    assert json_text({"cost": NOISY, "tiny": TINY, "n": 3}, indent=None) == (
        '{"cost": 0.66536, "tiny": 1.23456789012e-09, "n": 3}'
    )


def test_a_saved_report_holds_costs_without_float_noise(tmp_path: Path) -> None:
    usages = [
        agent("projectbrief", 1200, 300, cost=NOISY),
        agent("techContext", 10, 1, cost=TINY),
    ]
    report = make_report("s1", end=datetime(2026, 11, 20, 9, 0, tzinfo=UTC), agents=usages)
    text = save_report(report, tmp_path).read_text(encoding="utf-8")
    assert "0.66536," in text
    assert "1.23456789012e-09" in text
    assert "00000000" not in text


def test_export_json_holds_costs_without_float_noise(tmp_path: Path) -> None:
    start = datetime.now(UTC) - timedelta(minutes=30)
    report, requests = make_session(tmp_path, start, [AgentSpec("a", 1200, 300, NOISY)])
    with Ledger() as ledger:
        ledger.insert_report(report, requests)
    result = invoke(tmp_path, "tokens", "export", "--format", "json", "--output", "-")
    assert result.exit_code == 0, result.stderr
    assert "0.66536" in result.stdout
    assert "0.6653600000000001" not in result.stdout


# --- one project folder, global options anywhere --------------------------------------------------


def test_from_a_subfolder_of_a_git_project_every_command_uses_the_git_root(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sub = project / "src" / "deep"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)

    plan = invoke(None, "update", "--dry-run", "--offline")
    assert plan.exit_code == 0, plan.stderr
    assert plan.stdout.splitlines()[0] == f"Plan: memory-banker update on {project.resolve()}"

    run = invoke(None, "update", "--offline", "--quiet")
    assert run.exit_code == 0, run.stderr
    assert (project / "memory-bank" / "projectbrief.md").is_file()
    assert not (sub / "memory-bank").exists()
    listing = invoke(None, "tokens", "--list-all", "--json")
    assert len(json.loads(listing.stdout)) == 1
    assert invoke(None, "tokens").exit_code == 0


def test_outside_git_the_project_is_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    plan = invoke(None, "update", "--dry-run", "--offline")
    assert plan.stdout.splitlines()[0] == f"Plan: memory-banker update on {tmp_path.resolve()}"


def test_a_home_folder_under_git_is_never_the_project(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sub = project / "notes"
    sub.mkdir()
    monkeypatch.setenv("HOME", str(project))
    monkeypatch.chdir(sub)
    plan = invoke(None, "update", "--dry-run", "--offline")
    assert plan.stdout.splitlines()[0] == f"Plan: memory-banker update on {sub.resolve()}"


def test_global_options_work_after_the_command(project: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    after = invoke(None, "update", "--project-path", str(project), "--dry-run", "--offline")
    assert after.exit_code == 0, after.output
    assert after.stdout.splitlines()[0] == f"Plan: memory-banker update on {project.resolve()}"
    # Given in both places, the one after the command wins.
    both = invoke(elsewhere, "update", "--dry-run", "--offline", "--project-path", str(project))
    assert both.stdout.splitlines()[0] == f"Plan: memory-banker update on {project.resolve()}"
    nested = invoke(None, "tokens", "sessions", "--project-path", str(project))
    assert nested.exit_code == 0, nested.output
    assert str(project.resolve()) in nested.stdout


def test_verbose_after_the_command_shows_the_traceback(project: Path) -> None:
    quiet = invoke(project, "tokens", "sessions", "--session-id", "zzzz")
    assert quiet.exit_code == 2
    assert "Traceback" not in quiet.stderr
    loud = invoke(project, "tokens", "sessions", "--session-id", "zzzz", "-v")
    assert loud.exit_code == 2
    assert "Traceback (most recent call last)" in loud.stderr


def test_pricing_file_after_the_command(project: Path, tmp_path: Path) -> None:
    prices = tmp_path / "prices.toml"
    prices.write_text(
        '[models."my-model"]\ninput_per_1m = 1.0\noutput_per_1m = 2.0\n',
        encoding="utf-8",
    )
    result = invoke(None, "pricing", "show", "my-model", "--pricing-file", str(prices))
    assert result.exit_code == 0, result.output


def _command_paths() -> list[tuple[str, ...]]:
    from memory_banker.cli.main import COMMANDS
    from memory_banker.cli.tokens import COMMANDS as TOKENS

    return [(name,) for name in COMMANDS] + [("tokens", name) for name in TOKENS]


@pytest.mark.parametrize("path", _command_paths(), ids=" ".join)
def test_every_subcommand_help_lists_the_global_options(path: tuple[str, ...]) -> None:
    result = invoke(None, *path, "--help")
    assert result.exit_code == 0, result.output
    for option in ("--project-path", "--pricing-file", "--verbose"):
        assert option in result.stdout, (path, result.stdout)
