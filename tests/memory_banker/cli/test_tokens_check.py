"""``memory-banker tokens check``: the CI gate, and showing reports (0.1 re-pricing, --price-as)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from inline_snapshot import snapshot

from pricing import Unpriced, Usage, load_pricebook
from tests.support.cli import invoke
from tests.support.reports import (
    START,
    V0_1_STORED_COST,
    V0_1_TODAY_COST,
    agent,
    copy_v0_1,
    make_report,
    reports_dir,
    three_reports,
    write_report,
)
from token_tracking.gate import GateTotals, Thresholds, evaluate
from token_tracking.records import ModelPricing


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "shop"
    path.mkdir()
    return path


CHECKED = "Checking token_usage_20261120_090000.json (ended 2026-11-20T09:00:00+00:00)\n"
"""What the gate says on stderr before its verdict when it checks :func:`one_report`'s file."""
LATEST_OF_THREE = "Checking token_usage_20261119_080000.json (ended 2026-11-22T09:00:00+00:00)\n"
"""The same line for the latest of :func:`three_reports`."""


def one_report(project: Path, cost: float | None, **kwargs: object) -> Path:
    """A report of 30,000 tokens costing ``cost``."""
    report = make_report(
        "eeee5555-0000-4000-8000-000000000005",
        end=START,
        agents=[agent("projectbrief", 20_000, 10_000, cost=cost)],
        **kwargs,  # type: ignore[arg-type]
    )
    return write_report(project, "token_usage_20261120_090000.json", report)


# --- thresholds crossed or not ---------------------------------------------------------------


def test_a_cost_above_the_threshold_fails_with_one_line(project: Path) -> None:
    one_report(project, 1.2345)

    result = invoke(project, "tokens", "check", "--max-cost", "1.00")

    assert result.exit_code == 1
    assert result.stderr == CHECKED + "Cost $1.2345 exceeds threshold $1.0000\n"
    assert result.stdout == ""


def test_a_cost_within_the_threshold_passes_with_one_line(project: Path) -> None:
    one_report(project, 0.0531)

    result = invoke(project, "tokens", "check", "--max-cost", "1")

    assert result.exit_code == 0
    assert result.stdout == (
        "OK: cost $0.0531 within threshold $1.0000 (token_usage_20261120_090000.json)\n"
    )
    assert result.stderr == CHECKED


def test_a_cost_equal_to_the_threshold_passes(project: Path) -> None:
    one_report(project, 0.5)

    assert invoke(project, "tokens", "check", "--max-cost", "0.50").exit_code == 0


def test_a_cost_just_above_shows_enough_decimals(project: Path) -> None:
    one_report(project, 1.00001)

    result = invoke(project, "tokens", "check", "--max-cost", "1")

    assert result.exit_code == 1
    assert result.stderr == CHECKED + "Cost $1.00001 exceeds threshold $1.00000\n"


def test_token_threshold(project: Path) -> None:
    one_report(project, 0.01)

    over = invoke(project, "tokens", "check", "--max-tokens", "29999")
    within = invoke(project, "tokens", "check", "--max-tokens", "30000", "--max-cost", "0.02")

    assert over.exit_code == 1
    assert over.stderr == CHECKED + "Tokens 30,000 exceed threshold 29,999\n"
    assert within.exit_code == 0
    assert within.stdout == (
        "OK: cost $0.0100 within threshold $0.0200; tokens 30,000 within threshold 30,000 "
        "(token_usage_20261120_090000.json)\n"
    )


def test_a_known_model_without_a_per_token_price_says_why_not_no_price(project: Path) -> None:
    unpriced = load_pricebook(None).cost_or_reason(
        "whisper-1", Usage(prompt_tokens=20_000, completion_tokens=10_000)
    )
    assert isinstance(unpriced, Unpriced)
    report = make_report(
        "eeee5555-0000-4000-8000-000000000005",
        end=START,
        agents=[agent("transcriber", 20_000, 10_000, cost=None, model="whisper-1")],
        priced_coverage=0.0,
    )
    assert report.pricing is not None
    report.pricing.models = [ModelPricing(model="whisper-1", reason=unpriced.message)]
    write_report(project, "token_usage_20261120_090000.json", report)

    result = invoke(project, "tokens", "check", "--max-cost", "1")

    assert result.exit_code == 1
    assert result.stderr == CHECKED + (
        "Cost unknown ('whisper-1' (whisper-1) has no per-token price in LiteLLM's table; it is "
        "priced per second, image, character or query); cannot verify threshold $1.0000 "
        "(use --allow-unknown to accept)\n"
    )


def test_unknown_names_and_unpriced_known_models_each_get_their_reason() -> None:
    totals = GateTotals(
        target="t",
        total_tokens=10,
        cost_usd=None,
        cost_complete=False,
        unknown_models=("my-llm", "tts-1", "other-llm"),
        unpriced_reasons=("", "tts-1 is priced per character", ""),
    )

    verdict = evaluate(totals, Thresholds(max_cost_usd=1.0), allow_unknown=True)

    assert verdict.message == (
        "OK: cost unknown (no price for my-llm, other-llm; tts-1 is priced per character), "
        "accepted (t)"
    )


def test_max_tokens_alone_gates_tokens_only(project: Path) -> None:
    one_report(project, None, unknown_models=("gpt-4o-mini",))  # an unknown cost is not gated

    within = invoke(project, "tokens", "check", "--max-tokens", "30000")
    over = invoke(project, "tokens", "check", "--max-tokens", "29999")

    assert (within.exit_code, within.stderr) == (0, CHECKED)
    assert within.stdout == (
        "OK: tokens 30,000 within threshold 30,000 (token_usage_20261120_090000.json)\n"
    )
    assert (over.exit_code, over.stdout) == (1, "")
    assert over.stderr == CHECKED + "Tokens 30,000 exceed threshold 29,999\n"


def test_both_thresholds_crossed_is_still_one_line(project: Path) -> None:
    one_report(project, 2.5)

    result = invoke(project, "tokens", "check", "--max-cost", "1", "--max-tokens", "1000")

    assert result.exit_code == 1
    assert result.stderr == CHECKED + (
        "Cost $2.5000 exceeds threshold $1.0000; Tokens 30,000 exceed threshold 1,000\n"
    )


# --- unknown and partial costs ---------------------------------------------------------------


def test_an_unknown_cost_fails_a_cost_gate_unless_allowed(project: Path) -> None:
    one_report(project, None, model="my-llm", unknown_models=("gpt-4o-mini",))

    refused = invoke(project, "tokens", "check", "--max-cost", "1")
    allowed = invoke(project, "tokens", "check", "--max-cost", "1", "--allow-unknown")
    tokens_only = invoke(project, "tokens", "check", "--max-tokens", "50000")

    assert refused.exit_code == 1
    assert refused.stderr == CHECKED + (
        "Cost unknown (no price for gpt-4o-mini); cannot verify threshold $1.0000 "
        "(use --allow-unknown to accept)\n"
    )
    assert allowed.exit_code == 0
    assert allowed.stdout == (
        "OK: cost unknown (no price for gpt-4o-mini), accepted (token_usage_20261120_090000.json)\n"
    )
    assert tokens_only.exit_code == 0


def test_a_lower_bound_cost_fails_unless_allowed_and_fails_anyway_when_above(
    project: Path,
) -> None:
    three_reports(project)  # the latest has $0.0027 priced of 19,500 tokens (61.5%)

    refused = invoke(project, "tokens", "check", "--max-cost", "1")
    allowed = invoke(project, "tokens", "check", "--max-cost", "1", "--allow-unknown")
    above = invoke(project, "tokens", "check", "--max-cost", "0.001", "--allow-unknown")

    assert refused.exit_code == 1
    assert refused.stderr == LATEST_OF_THREE + (
        "Cost at least $0.0027 (62% of tokens priced) may exceed threshold $1.0000 "
        "(use --allow-unknown to accept)\n"
    )
    assert allowed.exit_code == 0
    assert above.exit_code == 1
    assert above.stderr == LATEST_OF_THREE + "Cost at least $0.0027 exceeds threshold $0.0010\n"


# --- which report ----------------------------------------------------------------------------


def test_a_0_1_report_is_gated_on_todays_price(project: Path) -> None:
    copy_v0_1(project)
    # Stored $0.0531 would fail a $0.01 gate; today's gpt-4o-mini price is $0.0069.
    assert V0_1_STORED_COST > 0.01 > V0_1_TODAY_COST

    result = invoke(project, "tokens", "check", "--max-cost", "0.01", "--json")

    assert result.exit_code == 0
    verdict = json.loads(result.stdout)
    assert verdict["cost_repriced"] is True
    assert verdict["cost_usd"] == pytest.approx(V0_1_TODAY_COST, rel=1e-9)
    assert verdict["total_tokens"] == 20_770


def test_a_0_1_report_json_verdict_carries_todays_cost_when_only_tokens_are_gated(
    project: Path,
) -> None:
    copy_v0_1(project)

    result = invoke(project, "tokens", "check", "--max-tokens", "20770", "--json")

    assert result.exit_code == 0
    verdict = json.loads(result.stdout)
    assert (verdict["passed"], verdict["total_tokens"], verdict["max_cost_usd"]) == (
        True,
        20_770,
        None,
    )
    assert verdict["cost_repriced"] is True
    assert verdict["cost_usd"] == pytest.approx(V0_1_TODAY_COST, rel=1e-9)


def test_report_file_and_session_id_pick_the_report(project: Path) -> None:
    three_reports(project)
    folder = reports_dir(project)

    by_file = invoke(
        project,
        "tokens", "check", "--max-cost", "0.05",
        "--report-file", str(folder / "token_usage_20261121_100000.json"),
    )  # fmt: skip
    by_session = invoke(project, "tokens", "check", "--max-cost", "0.05", "--session-id", "aaaa")

    assert by_file.exit_code == 1
    assert by_file.stderr == (
        "Checking token_usage_20261121_100000.json (ended 2026-11-21T09:00:00+00:00)\n"
        "Cost $0.0900 exceeds threshold $0.0500\n"
    )
    assert by_session.exit_code == 0
    assert by_session.stdout == (
        "OK: cost $0.0010 within threshold $0.0500 (token_usage_20261120_090000.json)\n"
    )


@pytest.mark.parametrize(
    ("session_id", "message"),
    [
        (
            "ffff",
            "Error: no report with a session id starting with 'ffff' in {folder}, "
            "nor in the ledger",
        ),
        ("", "Error: --session-id is empty"),
    ],
)
def test_an_unknown_session_id_is_exit_2(project: Path, session_id: str, message: str) -> None:
    three_reports(project)

    result = invoke(project, "tokens", "check", "--max-cost", "1", "--session-id", session_id)

    assert result.exit_code == 2
    assert result.stderr == message.format(folder=reports_dir(project)) + "\n"


def test_an_ambiguous_session_id_is_exit_2(project: Path) -> None:
    reports = three_reports(project)
    twin = reports["token_usage_20261120_090000.json"].model_copy(
        update={"session_id": "aaaa1111-ffff-4000-8000-000000000009"}
    )
    write_report(project, "token_usage_20261120_090001.json", twin)

    result = invoke(project, "tokens", "check", "--max-cost", "1", "--session-id", "AAAA1111")

    assert result.exit_code == 2
    assert result.stderr.startswith("Error: session id 'AAAA1111' is ambiguous: it starts ")


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--max-cost", "-1"), "Error: --max-cost must be a number of USD, zero or more (got -1)"),
        (
            ("--max-cost", "nan"),
            "Error: --max-cost must be a number of USD, zero or more (got nan)",
        ),
        (("--max-tokens", "-5"), "Error: --max-tokens must be zero or more (got -5)"),
        (
            (),
            "Error: give --max-cost USD, --max-tokens N, or --baseline F with --max-increase "
            "PCT to check against",
        ),
        (
            ("--max-cost", "1", "--report-file", "a.json", "--session-id", "x"),
            "Error: choose one of --report-file, --session-id",
        ),
    ],
)
def test_bad_thresholds_are_exit_2_before_looking_for_reports(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = invoke(tmp_path, "tokens", "check", *args)

    assert result.exit_code == 2
    assert result.stderr == message + "\n"


def test_nothing_to_check_is_exit_2(project: Path) -> None:
    folder = reports_dir(project)

    result = invoke(project, "tokens", "check", "--max-cost", "1")

    assert result.exit_code == 2
    assert result.stderr == f"Error: no token reports in {folder}\n"


def test_a_folder_of_unreadable_reports_is_nothing_to_check(project: Path) -> None:
    folder = reports_dir(project)
    (folder / "token_usage_20261120_090000.json").write_text('{"hello": 1}', "utf-8")

    result = invoke(project, "tokens", "check", "--max-tokens", "1")

    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.splitlines() == [
        "Warning: skipped token_usage_20261120_090000.json: "
        "not a token usage report (missing session_id, project_path, command, start_time)",
        f"Error: no token reports in {folder}",
    ]


def test_a_missing_report_file_is_exit_2(project: Path) -> None:
    three_reports(project)

    result = invoke(project, "tokens", "check", "--max-cost", "1", "--report-file", "nope.json")

    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "Error: cannot read report nope.json: No such file or directory\n"


def test_since_is_one_more_target_to_choose_from(project: Path) -> None:
    three_reports(project)

    result = invoke(
        project, "tokens", "check", "--max-cost", "1", "--since", "7", "--session-id", "aaaa"
    )

    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "Error: choose one of --since, --session-id\n"


def test_a_corrupt_report_file_is_exit_2(project: Path) -> None:
    path = project / "bad.json"
    path.write_text('{"session_id": 3}', "utf-8")

    result = invoke(project, "tokens", "check", "--max-cost", "1", "--report-file", str(path))

    assert result.exit_code == 2
    # The same reason `tokens --list-all` gives when it skips the file.
    assert result.stderr == (
        f"Error: {path} is not a token usage report "
        "(missing project_path, command, start_time, end_time)\n"
    )


def test_json_verdict_keeps_the_exit_code(project: Path) -> None:
    one_report(project, 1.2345)

    result = invoke(project, "tokens", "check", "--max-cost", "1", "--json")

    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "passed": False,
        "exit_code": 1,
        "message": "Cost $1.2345 exceeds threshold $1.0000",
        "target": "token_usage_20261120_090000.json",
        "session_id": "eeee5555-0000-4000-8000-000000000005",
        "cost_usd": 1.2345,
        "cost_is_lower_bound": False,
        "cost_repriced": False,
        "unknown_models": [],
        "total_tokens": 30000,
        "max_cost_usd": 1.0,
        "max_tokens": None,
        "allow_unknown": False,
        "failures": ["Cost $1.2345 exceeds threshold $1.0000"],
        "checks": [
            {
                "name": "max-cost",
                "passed": False,
                "threshold": "$1.0000",
                "value": "$1.2345",
                "message": "Cost $1.2345 exceeds threshold $1.0000",
            }
        ],
        "baseline": None,
        "baseline_cost_usd": None,
        "baseline_total_tokens": None,
        "cost_increase_percent": None,
        "token_increase_percent": None,
        "max_increase_percent": None,
        "max_increase_tokens_percent": None,
    }
    assert result.stderr == CHECKED + "Cost $1.2345 exceeds threshold $1.0000\n"


def test_evaluate_tolerates_float_noise_at_the_threshold() -> None:
    totals = GateTotals(target="t", total_tokens=1, cost_usd=0.1 + 0.2, cost_complete=True)

    verdict = evaluate(totals, Thresholds(max_cost_usd=0.3), allow_unknown=False)

    assert verdict.passed is True


# --- showing reports -------------------------------------------------------------------------


def test_a_0_1_report_shows_its_stored_and_todays_cost(project: Path) -> None:
    path = copy_v0_1(project)

    result = invoke(project, "tokens", "--report-file", str(path))

    assert result.exit_code == 0
    assert result.stdout == snapshot("""\
============================================================
TOKEN USAGE REPORT
============================================================
Model: gpt-4o-mini
Total Duration: 45.2s
Successful Agents: 6/6

Total Prompt Tokens: 12,450
Total Completion Tokens: 8,320
Total Tokens: 20,770
Estimated Cost: $0.1143 USD
  (written by memory-banker 0.1; today's price table gives $0.0069 USD)

Per-Agent Breakdown:
  ✅ projectbrief     | Tokens:    3,245 | Cost:   unknown | Duration:    7.2s
  ✅ productContext   | Tokens:    3,890 | Cost:   unknown | Duration:    8.1s
  ✅ systemPatterns   | Tokens:    4,120 | Cost:   unknown | Duration:    9.3s
  ✅ techContext      | Tokens:    3,780 | Cost:   unknown | Duration:    8.8s
  ✅ activeContext    | Tokens:    3,110 | Cost:   unknown | Duration:    6.9s
  ✅ progress         | Tokens:    2,625 | Cost:   unknown | Duration:    5.9s
============================================================
""")


def test_price_as_adds_other_models(project: Path) -> None:
    one_report(project, 0.009)

    result = invoke(project, "tokens", "--price-as", "gpt-4o,claude-3-haiku,gpt-4o-mini,gpt-9")

    assert result.exit_code == 0
    assert result.stdout == snapshot("""\
============================================================
TOKEN USAGE REPORT
============================================================
Model: gpt-4o-mini
Total Duration: 40.0s
Successful Agents: 1/1

Total Prompt Tokens: 20,000
Total Completion Tokens: 10,000
Total Tokens: 30,000
Requests: 1
Estimated Cost: $0.0090 USD

Per-Agent Breakdown:
  ✅ projectbrief     | Tokens:   30,000 | Cost:   $0.0090 | Duration:    5.0s
============================================================

Same usage on other models (today's table):
  Model                   Priced as                   Cost  vs this run
  this run (gpt-4o-mini)                           $0.0090
  gpt-4o                  gpt-4o                   $0.1500  +$0.1410 (16.7x)
  claude-3-haiku          claude-3-haiku-20240307  $0.0175  +$0.0085 (1.9x)
  gpt-4o-mini             gpt-4o-mini              $0.0090  $0.0000 (1.0x)
  gpt-9                   unknown                  unknown  did you mean gpt-5, gpt-4, gpt-4o?
""")


def test_price_as_a_known_model_without_a_token_price_suggests_no_names(project: Path) -> None:
    one_report(project, 0.009)
    result = invoke(project, "tokens", "--price-as", "github_copilot/gpt-4o")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1] == (
        "  github_copilot/gpt-4o   github_copilot/gpt-4o  unknown  no per-token price in the table"
    )
