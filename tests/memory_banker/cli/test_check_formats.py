"""``tokens check`` for CI: every output format for one fixed report, the job summary, the JUnit
file, the regression gate against a baseline, ledger sessions; and ``tokens`` / ``tokens
compare`` as markdown."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from inline_snapshot import snapshot

from tests.support.cli import invoke
from tests.support.reports import START, agent, make_report, reports_dir, write_report

REPORT = "token_usage_20261120_090000.json"
BASELINE = "token_usage_20261119_090000.json"
CHECKED = f"Checking {REPORT} (ended 2026-11-20T09:00:00+00:00)\n"
NO_SUMMARY = {"GITHUB_STEP_SUMMARY": None}
"""The environment of a run outside GitHub Actions (the tests may run inside it)."""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project whose latest report is two gpt-4o-mini agents: 37,500 tokens, $1.2445, the
    second failed; and an older baseline report: 30,000 tokens, $1.0000."""
    path = tmp_path / "shop"
    path.mkdir()
    latest = make_report(
        "eeee5555-0000-4000-8000-000000000005",
        end=START,
        agents=[
            agent("projectbrief", 20_000, 10_000, cost=1.2345, duration_seconds=12.5),
            agent("progress", 6_000, 1_500, cost=0.01, success=False, error="timed out"),
        ],
        status="partial",
    )
    older = make_report(
        "bbbb2222-0000-4000-8000-000000000002",
        end=START.replace(day=19),
        agents=[agent("projectbrief", 20_000, 10_000, cost=1.0)],
    )
    write_report(path, REPORT, latest)
    write_report(path, BASELINE, older)
    return path


# --- each format for the fixed report --------------------------------------------------------


def test_text_format_is_the_one_line(project: Path) -> None:
    result = invoke(project, "tokens", "check", "--max-cost", "2", "--format", "text")

    assert (result.exit_code, result.stderr) == (0, CHECKED)
    assert result.stdout == f"OK: cost $1.2445 within threshold $2.0000 ({REPORT})\n"


def test_json_format_is_the_json_flag(project: Path) -> None:
    by_format = invoke(project, "tokens", "check", "--max-cost", "1", "--format", "json")
    by_flag = invoke(project, "tokens", "check", "--max-cost", "1", "--json")

    assert by_format.exit_code == by_flag.exit_code == 1
    assert by_format.stdout == by_flag.stdout
    verdict = json.loads(by_format.stdout)
    assert verdict["checks"] == [
        {
            "name": "max-cost",
            "passed": False,
            "threshold": "$1.0000",
            "value": "$1.2445",
            "message": "Cost $1.2445 exceeds threshold $1.0000",
        }
    ]
    assert by_format.stderr == CHECKED + "Cost $1.2445 exceeds threshold $1.0000\n"


def test_github_format_prints_one_workflow_command(project: Path) -> None:
    over = invoke(
        project, "tokens", "check", "--max-cost", "1", "--format", "github", env=NO_SUMMARY
    )
    within = invoke(
        project, "tokens", "check", "--max-tokens", "40000", "--format", "github", env=NO_SUMMARY
    )

    assert (over.exit_code, over.stderr) == (1, CHECKED)
    assert over.stdout == snapshot(
        "::error title=Token cost gate::Cost $1.2445 exceeds threshold $1.0000 "
        "(token_usage_20261120_090000.json)\n"
    )
    assert (within.exit_code, within.stderr) == (0, CHECKED)
    assert within.stdout == snapshot(
        "::notice title=Token cost gate::OK: tokens 37,500 within threshold 40,000 "
        "(token_usage_20261120_090000.json)\n"
    )


def test_markdown_format_prints_the_section_with_the_marker(project: Path) -> None:
    result = invoke(project, "tokens", "check", "--max-cost", "2", "--format", "markdown")

    assert (result.exit_code, result.stderr) == (0, CHECKED)
    assert result.stdout == snapshot("""\
<!-- memory-banker-token-report -->
### ✅ Token cost gate passed

> OK: cost \\$1.2445 within threshold \\$2.0000 (token\\_usage\\_20261120\\_090000.json)

| Check | Threshold | Value | Result |
| --- | ---: | ---: | --- |
| max-cost | \\$2.0000 | \\$1.2445 | ✅ within |

- **Checked:** token\\_usage\\_20261120\\_090000.json (session eeee5555-0000-4000-8000-000000000005)
- **Cost:** \\$1.2445
- **Tokens:** 37,500

| Agent | Model | Tokens | Cost | Duration | Status |
| --- | --- | ---: | ---: | ---: | --- |
| projectbrief | gpt-4o-mini | 30,000 | \\$1.2345 | 12.5s | ✅ ok |
| progress | gpt-4o-mini | 7,500 | \\$0.0100 | 5.0s | ❌ failed: timed out |
""")


# --- the job summary -------------------------------------------------------------------------


def test_the_step_summary_is_appended_never_overwritten(project: Path, tmp_path: Path) -> None:
    summary = tmp_path / "step_summary.md"
    summary.write_text("## Tests\n\nAll 12 passed.", encoding="utf-8")
    env = {"GITHUB_STEP_SUMMARY": str(summary)}

    first = invoke(project, "tokens", "check", "--max-cost", "1", "--format", "github", env=env)
    second = invoke(project, "tokens", "check", "--max-cost", "2", "--format", "github", env=env)

    assert (first.exit_code, second.exit_code) == (1, 0)
    written = summary.read_text(encoding="utf-8")
    assert written.startswith("## Tests\n\nAll 12 passed.\n\n### ❌ Token cost gate failed\n")
    assert written.count("### ❌ Token cost gate failed") == 1
    assert written.count("### ✅ Token cost gate passed") == 1
    assert written.index("failed") < written.index("passed\n")
    assert "| progress | gpt-4o-mini | 7,500 | \\$0.0100 | 5.0s | ❌ failed: timed out |" in written


def test_the_step_summary_holds_the_verdict_threshold_cost_tokens_and_agents(
    project: Path, tmp_path: Path
) -> None:
    summary = tmp_path / "step_summary.md"
    env = {"GITHUB_STEP_SUMMARY": str(summary)}

    result = invoke(project, "tokens", "check", "--max-cost", "1", "--format", "github", env=env)

    assert result.exit_code == 1
    assert summary.read_text(encoding="utf-8") == snapshot("""\
### ❌ Token cost gate failed

> Cost \\$1.2445 exceeds threshold \\$1.0000

| Check | Threshold | Value | Result |
| --- | ---: | ---: | --- |
| max-cost | \\$1.0000 | \\$1.2445 | ❌ over |

- **Checked:** token\\_usage\\_20261120\\_090000.json (session eeee5555-0000-4000-8000-000000000005)
- **Cost:** \\$1.2445
- **Tokens:** 37,500

| Agent | Model | Tokens | Cost | Duration | Status |
| --- | --- | ---: | ---: | ---: | --- |
| projectbrief | gpt-4o-mini | 30,000 | \\$1.2345 | 12.5s | ✅ ok |
| progress | gpt-4o-mini | 7,500 | \\$0.0100 | 5.0s | ❌ failed: timed out |
""")


def test_an_unwritable_step_summary_is_a_warning_not_a_new_verdict(
    project: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "summary-folder"
    folder.mkdir()
    env = {"GITHUB_STEP_SUMMARY": str(folder)}

    result = invoke(project, "tokens", "check", "--max-cost", "2", "--format", "github", env=env)

    assert result.exit_code == 0
    assert result.stderr == CHECKED + (
        f"Warning: cannot append to the job summary {folder}: Is a directory\n"
    )


def test_other_formats_leave_the_step_summary_alone(project: Path, tmp_path: Path) -> None:
    summary = tmp_path / "step_summary.md"
    env = {"GITHUB_STEP_SUMMARY": str(summary)}

    invoke(project, "tokens", "check", "--max-cost", "2", env=env)

    assert not summary.exists()


# --- JUnit -----------------------------------------------------------------------------------


def test_junit_is_written_with_any_format(project: Path, tmp_path: Path) -> None:
    junit = tmp_path / "reports" / "gate.xml"
    junit.parent.mkdir()

    result = invoke(
        project,
        "tokens", "check", "--max-cost", "1", "--max-tokens", "40000",
        "--baseline", BASELINE, "--max-increase", "30",
        "--junit", str(junit), "--json",
    )  # fmt: skip

    assert result.exit_code == 1
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("name"), suite.get("tests"), suite.get("failures")) == (
        "token-gate",
        "3",
        "1",
    )
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert list(cases) == ["max-cost", "max-tokens", "max-increase"]
    failure = cases["max-cost"].find("failure")
    assert failure is not None
    assert failure.get("message") == "Cost $1.2445 exceeds threshold $1.0000"
    assert cases["max-tokens"].find("failure") is None
    assert cases["max-increase"].find("failure") is None


def test_a_junit_file_that_cannot_be_written_is_exit_2(project: Path, tmp_path: Path) -> None:
    junit = tmp_path / "missing" / "gate.xml"

    result = invoke(project, "tokens", "check", "--max-cost", "2", "--junit", str(junit))

    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"Error: cannot write the JUnit file {junit}: No such file or directory\n"
    )


# --- the regression gate ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("percent", "code"),
    [("24.45", 0), ("24.4", 1), ("25", 0)],
    ids=["at", "just above", "below"],
)
def test_the_baseline_gate_from_the_command_line(project: Path, percent: str, code: int) -> None:
    result = invoke(project, "tokens", "check", "--baseline", BASELINE, "--max-increase", percent)

    assert result.exit_code == code


def test_the_baseline_gate_on_tokens(project: Path) -> None:
    over = invoke(project, "tokens", "check", "--baseline", BASELINE, "--max-increase-tokens", "20")
    at = invoke(project, "tokens", "check", "--baseline", BASELINE, "--max-increase-tokens", "25")

    assert (over.exit_code, at.exit_code) == (1, 0)
    assert over.stderr == CHECKED + (
        f"Tokens 37,500 are 25.0% above baseline 30,000 ({BASELINE}), over the limit of 20%\n"
    )
    assert at.stdout == (
        f"OK: tokens 37,500 are 25.0% above baseline 30,000 ({BASELINE}), within 25% ({REPORT})\n"
    )


def test_a_run_directory_is_a_baseline(project: Path) -> None:
    run_dir = project / "output" / "run_baseline"
    run_dir.mkdir(parents=True)
    lines = [
        {"timestamp": "2026-02-28T12:00:00", "operation": "advocate", "iteration": 1,
         "input_tokens": 20_000, "output_tokens": 10_000, "total_tokens": 30_000,
         "model": "gpt-4o-mini", "cost_usd": 1.0},
    ]  # fmt: skip
    (run_dir / "tokens.jsonl").write_text(
        "".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8"
    )

    result = invoke(
        project, "tokens", "check", "--baseline", str(run_dir), "--max-increase", "10", "--json"
    )

    assert result.exit_code == 1
    verdict = json.loads(result.stdout)
    assert verdict["baseline"] == "run_baseline"
    assert verdict["baseline_cost_usd"] == pytest.approx(1.0, rel=1e-9)
    assert verdict["cost_increase_percent"] == pytest.approx(24.45, rel=1e-9)


def test_a_reports_folder_is_a_baseline_by_its_latest_report(project: Path, tmp_path: Path) -> None:
    base_checkout = tmp_path / "base"
    older = make_report(
        "dddd4444-0000-4000-8000-000000000004",
        end=START.replace(day=10),
        agents=[agent("projectbrief", 20_000, 10_000, cost=0.5)],
    )
    write_report(base_checkout, "token_usage_20261110_090000.json", older)
    write_report(base_checkout, BASELINE, make_report(
        "bbbb2222-0000-4000-8000-000000000002",
        end=START.replace(day=19),
        agents=[agent("projectbrief", 20_000, 10_000, cost=1.0)],
    ))  # fmt: skip
    folder = reports_dir(base_checkout)

    result = invoke(project, "tokens", "check", "--baseline", str(folder), "--max-increase", "30")

    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        f"OK: cost $1.2445 is 24.4% above baseline $1.0000 ({BASELINE}), within 30% ({REPORT})\n"
    )
    assert not (folder / ".index.json").exists()  # another checkout is only read


def test_a_baseline_with_an_unknown_cost_follows_allow_unknown(project: Path) -> None:
    unknown = make_report(
        "cccc3333-0000-4000-8000-000000000003",
        end=START.replace(day=18),
        agents=[agent("projectbrief", 20_000, 10_000, cost=None, model="my-llm")],
        unknown_models=("my-llm",),
        priced_coverage=0.0,
    )
    write_report(project, "token_usage_20261118_090000.json", unknown)
    args = ("tokens", "check", "--baseline", "token_usage_20261118_090000.json")

    refused = invoke(project, *args, "--max-increase", "10")
    allowed = invoke(project, *args, "--max-increase", "10", "--allow-unknown")

    assert (refused.exit_code, allowed.exit_code) == (1, 0)
    assert refused.stderr == CHECKED + (
        "Cost increase unknown (the baseline's cost is unknown); cannot verify the limit of 10% "
        "over token_usage_20261118_090000.json (use --allow-unknown to accept)\n"
    )


# --- which report ----------------------------------------------------------------------------


def test_a_session_id_finds_a_manual_ledger_entry(project: Path) -> None:
    added = invoke(project, "tokens", "add", "--input", "1000", "--output", "500", "--cost", "0.5")
    assert added.exit_code == 0, added.stderr
    sessions = json.loads(invoke(project, "tokens", "sessions", "--json").stdout)
    manual = next(s for s in sessions if s["source"] == "manual")
    session_id = manual["session_id"]

    result = invoke(project, "tokens", "check", "--session-id", session_id[:8], "--max-cost", "1")

    assert result.exit_code == 0, result.stderr
    assert result.stderr.startswith(f"Checking ledger session {session_id} (ended ")
    assert result.stdout == (
        f"OK: cost $0.5000 within threshold $1.0000 (ledger session {session_id})\n"
    )


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--max-increase", "10"),
            "--max-increase and --max-increase-tokens need --baseline F",
        ),
        (
            ("--max-cost", "1", "--baseline", BASELINE),
            "--baseline needs --max-increase PCT or --max-increase-tokens PCT",
        ),
        (
            ("--baseline", BASELINE, "--max-increase", "-5"),
            "--max-increase must be a percentage, zero or more (got -5)",
        ),
        (
            ("--baseline", BASELINE, "--max-increase-tokens", "inf"),
            "--max-increase-tokens must be a percentage, zero or more (got inf)",
        ),
        (
            ("--max-cost", "1", "--json", "--format", "github"),
            "--json is --format json; it does not go with --format github",
        ),
    ],
)
def test_bad_options_are_one_line_and_exit_2(
    project: Path, args: tuple[str, ...], message: str
) -> None:
    result = invoke(project, "tokens", "check", *args)

    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"Error: {message}\n"


def test_a_missing_baseline_is_one_line_and_exit_2(project: Path) -> None:
    result = invoke(project, "tokens", "check", "--baseline", "nope.json", "--max-increase", "5")

    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "Error: nope.json does not exist (expected a report file or run directory)\n"
    )


def test_an_unknown_format_is_exit_2(project: Path) -> None:
    result = invoke(project, "tokens", "check", "--max-cost", "1", "--format", "xml")

    assert result.exit_code == 2
    assert "Traceback" not in result.stderr


def test_the_help_shows_the_ci_examples(project: Path) -> None:
    result = invoke(project, "tokens", "check", "--help")

    assert result.exit_code == 0
    assert "--format github --junit token-gate.xml" in result.stdout
    assert "--baseline token_usage_20241206_143022.json --max-increase 10" in result.stdout


# --- tokens and tokens compare as markdown ---------------------------------------------------


def test_tokens_format_markdown_prints_the_latest_report(project: Path) -> None:
    result = invoke(project, "tokens", "--format", "markdown")

    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == snapshot("""\
<!-- memory-banker-token-report -->
### Token usage: update on gpt-4o-mini

| Cost | Tokens | Prompt | Completion | Requests | Duration | Status |
| ---: | ---: | ---: | ---: | ---: | ---: | --- |
| \\$1.2445 | 37,500 | 26,000 | 11,500 | 2 | 40.0s | partial |

| Agent | Model | Tokens | Cost | Duration | Status |
| --- | --- | ---: | ---: | ---: | --- |
| projectbrief | gpt-4o-mini | 30,000 | \\$1.2345 | 12.5s | ✅ ok |
| progress | gpt-4o-mini | 7,500 | \\$0.0100 | 5.0s | ❌ failed: timed out |

<sub>report token\\_usage\\_20261120\\_090000.json, session eeee5555-0000-4000-8000-000000000005, ended 2026-11-20T09:00:00+00:00</sub>
""")  # noqa: E501


def test_tokens_format_json_is_the_json_flag(project: Path) -> None:
    assert (
        invoke(project, "tokens", "--format", "json").stdout
        == invoke(project, "tokens", "--json").stdout
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--format", "markdown", "--list-all"),
            "--format markdown shows one report, without --list-all or --price-as",
        ),
        (
            ("--format", "markdown", "--json"),
            "--json is --format json; it does not go with --format markdown",
        ),
    ],
)
def test_tokens_format_bad_combinations(project: Path, args: tuple[str, ...], message: str) -> None:
    result = invoke(project, "tokens", *args)

    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"Error: {message}\n")


def test_compare_format_markdown(project: Path) -> None:
    result = invoke(project, "tokens", "compare", BASELINE, REPORT, "--format", "markdown")

    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == snapshot("""\
<!-- memory-banker-token-report -->
### ❌ Token usage comparison: worse

|  | Run | Tokens | Cost | Requests |
| --- | --- | ---: | ---: | ---: |
| Baseline | token\\_usage\\_20261119\\_090000.json | 30,000 | \\$1.0000 | 1 |
| Optimized | token\\_usage\\_20261120\\_090000.json | 37,500 | \\$1.2445 | 2 |
| Change |  | +7,500 (+25.0%) | +\\$0.2445 |  |

| Agent | Baseline | Optimized | Change | % |
| --- | ---: | ---: | ---: | ---: |
| projectbrief | 30,000 | 30,000 | +0 | +0.0% |
| progress | - | 7,500 | +7,500 |  |

❌ Optimization made it worse: used 25.0% more tokens
""")


def test_compare_format_json_is_the_json_flag(project: Path) -> None:
    by_format = invoke(project, "tokens", "compare", BASELINE, REPORT, "--format", "json")

    assert (
        by_format.stdout == invoke(project, "tokens", "compare", BASELINE, REPORT, "--json").stdout
    )
    assert reports_dir(project).is_dir()
