"""``tokens compare``, ``tokens summary`` and ``tokens report`` over reports and run directories."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
from inline_snapshot import snapshot

from tests.support.cli import invoke
from tests.support.reports import (
    START,
    V0_1_TODAY_COST,
    agent,
    copy_v0_1,
    make_report,
    write_report,
)
from token_tracking.compare import Comparison
from token_tracking.rundirs.recent import RunsReport
from token_tracking.rundirs.summary import RunTokenStats

# Seed 004's two example lines: the first with its actual cost, the second to be estimated at
# gpt-4's $30 / $60 per 1M tokens: 3,000 * 30/1M + 800 * 60/1M = $0.138.
SEED_LINES = [
    {
        "timestamp": "2026-02-28T12:00:00",
        "operation": "advocate",
        "iteration": 1,
        "input_tokens": 2500,
        "output_tokens": 1200,
        "total_tokens": 3700,
        "model": "gpt-4",
        "cost_usd": 0.15,
    },
    {
        "timestamp": "2026-02-28T12:05:00",
        "operation": "contrarian",
        "iteration": 1,
        "input_tokens": 3000,
        "output_tokens": 800,
        "total_tokens": 3800,
        "model": "gpt-4",
        "cost_usd": None,
    },
]


def line(
    operation: str, iteration: int, tokens_in: int, tokens_out: int, cost: float
) -> dict[str, object]:
    return {
        "timestamp": f"2026-02-28T12:{iteration:02d}:00",
        "operation": operation,
        "iteration": iteration,
        "input_tokens": tokens_in,
        "output_tokens": tokens_out,
        "total_tokens": tokens_in + tokens_out,
        "model": "gpt-4",
        "cost_usd": cost,
    }


def make_run(
    folder: Path,
    lines: list[dict[str, object]],
    *,
    run_json: dict[str, object] | None = None,
    age: int = 0,
) -> Path:
    """A run directory holding ``lines`` in tokens.jsonl, last changed ``age`` hours ago."""
    folder.mkdir(parents=True)
    log = folder / "tokens.jsonl"
    log.write_text("".join(json.dumps(item) + "\n" for item in lines), "utf-8")
    if run_json is not None:
        (folder / "run.json").write_text(json.dumps(run_json), "utf-8")
    when = START.timestamp() - age * 3600
    os.utime(log, (when, when))
    os.utime(folder, (when, when))
    return folder


def baseline_run(folder: Path, **kwargs: object) -> Path:
    """Five iterations of 5,000 tokens: 25,000 tokens, $0.90."""
    lines = []
    for i in range(1, 6):
        lines += [line("advocate", i, 2000, 1000, 0.12), line("contrarian", i, 1500, 500, 0.06)]
    return make_run(folder, lines, **kwargs)  # type: ignore[arg-type]


def optimized_run(folder: Path, **kwargs: object) -> Path:
    """Three iterations of 6,000 tokens and one integrator pass: 18,500 tokens, $0.675."""
    lines = []
    for i in range(1, 4):
        lines += [line("advocate", i, 2500, 1000, 0.14), line("contrarian", i, 2000, 500, 0.08)]
    lines.append(line("integrator", 3, 300, 200, 0.015))
    return make_run(folder, lines, **kwargs)  # type: ignore[arg-type]


# --- compare ---------------------------------------------------------------------------------


def test_compare_two_run_directories(tmp_path: Path) -> None:
    base = baseline_run(tmp_path / "run_tech_baseline")
    better = optimized_run(tmp_path / "run_tech_with_scopes")

    result = invoke(tmp_path, "tokens", "compare", str(base), str(better))

    assert result.exit_code == 0
    assert result.stdout == snapshot("""\
============================================================
Token Usage Comparison
============================================================

Baseline: run_tech_baseline
  Tokens: 25,000
  Cost:   $0.9000
  Iterations: 5

Optimized: run_tech_with_scopes
  Tokens: 18,500
  Cost:   $0.6750
  Iterations: 3

Savings:
  Tokens: 6,500 (26.0%)
  Cost:   +$0.2250

By operation:
  Operation   Baseline  Optimized  Change
  advocate      15,000     10,500  -4,500  -30.0%
  contrarian    10,000      7,500  -2,500  -25.0%
  integrator         -        500    +500

✅ Optimization successful! Saved 26.0% tokens
============================================================
""")


def test_compare_json_has_the_savings(tmp_path: Path) -> None:
    base = baseline_run(tmp_path / "run_tech_baseline")
    better = optimized_run(tmp_path / "run_tech_with_scopes")

    result = invoke(tmp_path, "tokens", "compare", str(base), str(better), "--json")

    comparison = Comparison.model_validate_json(result.stdout)
    assert comparison.token_savings == 6_500
    assert comparison.token_savings_percent == pytest.approx(26.0, rel=1e-9)
    assert comparison.cost_savings_usd == pytest.approx(0.225, rel=1e-9)
    assert (comparison.baseline.iterations, comparison.optimized.iterations) == (5, 3)
    assert comparison.outcome == "improved"
    assert [(d.name, d.change_tokens) for d in comparison.breakdown] == [
        ("advocate", -4_500),
        ("contrarian", -2_500),
        ("integrator", 500),
    ]


def test_compare_two_reports_that_got_worse(tmp_path: Path) -> None:
    before = write_report(
        tmp_path,
        "token_usage_20261120_090000.json",
        make_report(
            "aaaa",
            end=START,
            agents=[
                agent("projectbrief", 8_000, 2_000, cost=0.0024, requests=2),
                agent("progress", 4_000, 1_000, cost=0.0012),
            ],
        ),
    )
    after = write_report(
        tmp_path,
        "token_usage_20261121_090000.json",
        make_report(
            "bbbb",
            end=START + timedelta(days=1),
            agents=[
                agent("projectbrief", 9_000, 3_000, cost=0.00315, requests=2),
                agent("techContext", 5_000, 1_000, cost=0.00135),
            ],
        ),
    )

    result = invoke(tmp_path, "tokens", "compare", str(before), str(after))

    assert result.exit_code == 0
    assert result.stdout == snapshot("""\
============================================================
Token Usage Comparison
============================================================

Baseline: token_usage_20261120_090000.json
  Tokens: 15,000
  Cost:   $0.0036
  Requests: 3

Optimized: token_usage_20261121_090000.json
  Tokens: 18,000
  Cost:   $0.0045
  Requests: 3

Savings:
  Tokens: -3,000 (-20.0%)
  Cost:   -$0.0009

By agent:
  Agent         Baseline  Optimized  Change
  projectbrief    10,000     12,000  +2,000   +20.0%
  progress         5,000          -  -5,000  -100.0%
  techContext          -      6,000  +6,000

❌ Optimization made it worse: used 20.0% more tokens
============================================================
""")


def test_compare_reprices_a_0_1_report_and_says_so(tmp_path: Path) -> None:
    old = copy_v0_1(tmp_path)
    new = write_report(
        tmp_path,
        "token_usage_20261121_090000.json",
        make_report("bbbb", end=START, agents=[agent("projectbrief", 9_000, 1_000, cost=0.00195)]),
    )

    result = invoke(tmp_path, "tokens", "compare", str(old), str(new))
    as_json = invoke(tmp_path, "tokens", "compare", str(old), str(new), "--json")

    assert result.exit_code == 0
    assert result.stdout.splitlines()[4:8] == [
        "Baseline: token_usage_20241206_143107.json",
        "  Tokens: 20,770",
        f"  Cost:   ${V0_1_TODAY_COST:.4f} (a 0.1 report: today's table)",
        "  Requests: unknown",
    ]
    comparison = Comparison.model_validate_json(as_json.stdout)
    assert (comparison.baseline.cost_repriced, comparison.optimized.cost_repriced) == (True, False)
    assert comparison.baseline.cost_usd == pytest.approx(V0_1_TODAY_COST, rel=1e-9)
    assert comparison.cost_savings_usd == pytest.approx(V0_1_TODAY_COST - 0.00195, rel=1e-9)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing", "Error: {path} does not exist (expected a report file or run directory)"),
        ("empty_dir", "Error: {path} is a directory without tokens.jsonl"),
        ("bad.json", "Error: {path} is not valid JSON (expected ident at line 1 column 2)"),
    ],
)
def test_compare_bad_input_is_exit_2(tmp_path: Path, name: str, message: str) -> None:
    good = baseline_run(tmp_path / "run_a")
    path = tmp_path / name
    if name == "empty_dir":
        path.mkdir()
    elif name.endswith(".json"):
        path.write_text("nope", "utf-8")

    result = invoke(tmp_path, "tokens", "compare", str(good), str(path))

    assert result.exit_code == 2
    assert result.stderr == message.format(path=path) + "\n"


# --- summary ---------------------------------------------------------------------------------


def test_summary_of_seed_004s_lines(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run_tech_20260228_123456", SEED_LINES)

    result = invoke(tmp_path, "tokens", "summary", str(run), "--json")

    assert result.exit_code == 0
    stats = RunTokenStats.model_validate_json(result.stdout)
    assert (stats.total_input_tokens, stats.total_output_tokens) == (5_500, 2_000)
    assert stats.total_tokens == 7_500
    assert stats.total_cost_usd == pytest.approx(0.15 + 0.138, rel=1e-9)
    assert stats.phase == "tech"
    assert stats.iterations == 1
    assert not (run / "token_summary.json").exists()


def test_summary_renders_and_saves(tmp_path: Path) -> None:
    run = make_run(
        tmp_path / "run_tech_20260228_123456",
        SEED_LINES,
        run_json={"run_id": "run_tech_20260228_123456", "phase": "tech"},
    )

    result = invoke(tmp_path, "tokens", "summary", str(run), "--save")

    assert result.exit_code == 0
    assert result.stdout == snapshot("""\
============================================================
Token Usage Summary — run_tech_20260228_123456
============================================================
Phase: tech
Iterations: 1

Total Tokens: 7,500
  Input:  5,500
  Output: 2,000

Estimated Cost: $0.2880
  Actual: $0.1500 + estimated: $0.1380
  Per iteration: $0.2880
  Avg tokens/iteration: 7,500

Breakdown by operation:
  advocate       :    3,700 tokens ($0.1500)
  contrarian     :    3,800 tokens ($0.1380)
============================================================
""")
    assert result.stderr == f"Saved {run / 'token_summary.json'}\n"
    saved = RunTokenStats.model_validate_json((run / "token_summary.json").read_text("utf-8"))
    assert saved.total_cost_usd == pytest.approx(0.288, rel=1e-9)
    tokens_block = json.loads((run / "run.json").read_text("utf-8"))["tokens"]
    assert tokens_block["total"] == 7_500


def test_summary_keeps_seed_004s_60_columns_on_a_wide_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    run = make_run(tmp_path / "run_tech_20260228_123456", SEED_LINES)

    result = invoke(tmp_path, "tokens", "summary", str(run))

    lines = result.stdout.splitlines()
    assert lines[0] == lines[2] == lines[-1] == "=" * 60
    assert lines[1] == "Token Usage Summary — run_tech_20260228_123456"


def test_summary_bad_input_is_exit_2(tmp_path: Path) -> None:
    empty = tmp_path / "run_empty"
    empty.mkdir()
    (empty / "tokens.jsonl").write_text("", "utf-8")
    no_log = tmp_path / "run_nolog"
    no_log.mkdir()

    missing = invoke(tmp_path, "tokens", "summary", str(tmp_path / "nope"))
    without = invoke(tmp_path, "tokens", "summary", str(no_log))
    blank = invoke(tmp_path, "tokens", "summary", str(empty))

    assert (missing.exit_code, missing.stderr) == (
        2,
        f"Error: no run directory at {tmp_path / 'nope'}\n",
    )
    assert (without.exit_code, without.stderr) == (
        2,
        f"Error: no token usage data found in {no_log} (no tokens.jsonl)\n",
    )
    assert (blank.exit_code, blank.stderr) == (
        2,
        f"Error: no token usage data found in {empty / 'tokens.jsonl'}\n",
    )


# --- report over run directories -------------------------------------------------------------


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    root = tmp_path / "output"
    baseline_run(root / "tech" / "run_tech_20260228_130000", age=3)
    make_run(root / "tech" / "run_tech_20260228_140000", SEED_LINES, age=2)
    optimized_run(root / "tech" / "run_tech_20260228_150000", age=1)
    no_data = root / "tech" / "run_tech_20260228_160000"
    no_data.mkdir(parents=True)
    (no_data / "run.json").write_text('{"phase": "tech"}', "utf-8")
    os.utime(no_data, (START.timestamp() - 4 * 3600,) * 2)
    make_run(root / "market" / "run_market_20260228_170000", SEED_LINES[:1], age=0)
    return root


def test_report_over_runs_with_a_phase(tmp_path: Path, runs_dir: Path) -> None:
    result = invoke(tmp_path, "tokens", "report", "--runs-dir", str(runs_dir), "--phase", "tech")

    assert result.exit_code == 0
    assert result.stdout == snapshot("""\
================================================================================
Token Usage Report — Recent 4 Runs
Phase: tech
================================================================================

Run ID                    Phase  Tokens     Cost  Iter
--------------------------------------------------------------------------------
run_tech_20260228_150000  tech   18,500  $0.6750     3
run_tech_20260228_140000  tech    7,500  $0.2880     1
run_tech_20260228_130000  tech   25,000  $0.9000     5
run_tech_20260228_160000  tech        -        -     -
--------------------------------------------------------------------------------
TOTAL                            51,000  $1.8630

Runs with token data: 3/4
Average per run: 17,000 tokens ($0.6210)
================================================================================
""")


def test_report_limit_and_json(tmp_path: Path, runs_dir: Path) -> None:
    result = invoke(
        tmp_path, "tokens", "report", "--runs-dir", str(runs_dir), "--limit", "2", "--json"
    )

    assert result.exit_code == 0
    report = RunsReport.model_validate_json(result.stdout)
    assert [row.run_id for row in report.runs] == [
        "run_market_20260228_170000",
        "run_tech_20260228_150000",
    ]
    assert report.runs_found == 5
    assert report.total_tokens == 3_700 + 18_500
    assert report.total_cost_usd == pytest.approx(0.15 + 0.675, rel=1e-9)
    assert report.average_tokens_per_run == pytest.approx(11_100, rel=1e-9)


def test_report_over_a_folder_without_runs_says_so(tmp_path: Path) -> None:
    empty = tmp_path / "output"
    (empty / "notes").mkdir(parents=True)

    result = invoke(tmp_path, "tokens", "report", "--runs-dir", str(empty))

    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.splitlines() == [
        "=" * 80,
        "Token Usage Report — Recent 0 Runs",
        "=" * 80,
        "",
        f"No runs under {empty}",
        "=" * 80,
    ]


def test_report_bad_input_is_exit_2(tmp_path: Path) -> None:
    missing = invoke(tmp_path, "tokens", "report", "--runs-dir", str(tmp_path / "nope"))
    zero = invoke(tmp_path, "tokens", "report", "--runs-dir", str(tmp_path), "--limit", "0")

    assert (missing.exit_code, missing.stderr) == (
        2,
        f"Error: no runs folder at {tmp_path / 'nope'}\n",
    )
    assert (zero.exit_code, zero.stderr) == (2, "Error: --limit must be 1 or more (got 0)\n")
