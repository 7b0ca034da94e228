"""Seed 004's run-directory API: tokens.jsonl, statistics, token_summary.json and run.json."""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path

import pytest
from inline_snapshot import snapshot
from rich.console import Console

from token_tracking import TokenTracker, TrackingError
from token_tracking.display import json_text
from token_tracking.rundirs.summary import RunTokenStats

# The two example lines of seed 004: the first with its actual cost, the second without.
SEED_LINES = (
    '{"timestamp": "2026-02-28T12:00:00", "operation": "advocate", "iteration": 1, '
    '"input_tokens": 2500, "output_tokens": 1200, "total_tokens": 3700, "model": "gpt-4", '
    '"cost_usd": 0.15}\n'
    '{"timestamp": "2026-02-28T12:05:00", "operation": "contrarian", "iteration": 1, '
    '"input_tokens": 3000, "output_tokens": 800, "total_tokens": 3800, "model": "gpt-4", '
    '"cost_usd": null}\n'
)

# gpt-4: $30 per 1M input tokens, $60 per 1M output tokens.
CONTRARIAN_ESTIMATE = 3_000 * 30e-6 + 800 * 60e-6


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "run_tech_20260228_120000"
    folder.mkdir()
    (folder / "tokens.jsonl").write_text(SEED_LINES)
    return folder


def test_seed_004s_lines_add_up(run_dir: Path) -> None:
    stats = TokenTracker(run_dir).calculate_stats("run_tech_20260228_120000", "tech")
    assert (stats.total_input_tokens, stats.total_output_tokens) == (5_500, 2_000)
    assert stats.total_tokens == 7_500
    assert CONTRARIAN_ESTIMATE == pytest.approx(0.138, rel=1e-9)
    assert stats.total_cost_usd == pytest.approx(0.15 + 0.138, rel=1e-9)
    assert stats.actual_cost_usd == pytest.approx(0.15, rel=1e-9)
    assert stats.estimated_cost_usd == pytest.approx(0.138, rel=1e-9)
    assert stats.iterations == 1
    assert stats.avg_tokens_per_iteration == 7_500
    assert stats.cost_per_iteration == pytest.approx(0.288, rel=1e-9)
    by_operation = {
        name: (op.count, op.total_tokens, op.total_cost)
        for name, op in stats.breakdown_by_operation.items()
    }
    assert by_operation == {
        "advocate": (1, 3_700, pytest.approx(0.15, rel=1e-9)),
        "contrarian": (1, 3_800, pytest.approx(0.138, rel=1e-9)),
    }
    (iteration,) = stats.breakdown_by_iteration.items()
    assert iteration[0] == "1"
    assert iteration[1].total_tokens == 7_500
    assert iteration[1].total_cost == pytest.approx(0.288, rel=1e-9)
    assert iteration[1].operations == ["advocate", "contrarian"]
    # The two breakdowns agree with the totals.
    assert sum(op.total_tokens for op in stats.breakdown_by_operation.values()) == 7_500
    assert stats.priced_coverage == 1.0


def test_log_usage_appends_seed_004_lines_with_the_extras(run_dir: Path) -> None:
    tracker = TokenTracker(run_dir)
    logged = tracker.log_usage("integrator", 1_000, 500, iteration=2, model="gpt-4")
    tracker.log_usage("integrator", 10, 5, iteration=2, cost_usd=0.01, reasoning_tokens=3)
    assert logged.cost_usd == pytest.approx(1_000 * 30e-6 + 500 * 60e-6, rel=1e-9)
    lines = (run_dir / "tokens.jsonl").read_text().splitlines()
    assert len(lines) == 4
    third = json.loads(lines[2])
    assert {key: third[key] for key in ("operation", "iteration", "model", "total_tokens")} == {
        "operation": "integrator",
        "iteration": 2,
        "model": "gpt-4",
        "total_tokens": 1_500,
    }
    assert (third["cost_is_actual"], third["reasoning_tokens"]) == (False, None)
    fourth = json.loads(lines[3])
    assert (fourth["cost_usd"], fourth["cost_is_actual"], fourth["reasoning_tokens"]) == (
        0.01,
        True,
        3,
    )
    records = tracker.load_usage()
    assert [r.agent_name for r in records] == ["advocate", "contrarian", "integrator", "integrator"]
    assert records[0].cost_is_actual is True  # seed 004 line with a cost: actual
    assert records[1].cost_usd is None


def test_run_json_tokens_block_is_kept_current(run_dir: Path) -> None:
    (run_dir / "run.json").write_text(json.dumps({"run_id": "run_tech_x", "phase": "tech"}))
    tracker = TokenTracker(run_dir)
    tracker.log_usage("integrator", 1_000, 500, iteration=2, model="gpt-4")
    run = json.loads((run_dir / "run.json").read_text())
    assert run["run_id"] == "run_tech_x"
    assert run["tokens"] == {
        "total_input": 6_500,
        "total_output": 2_500,
        "total": 9_000,
        "cost_usd": pytest.approx(0.288 + 0.06, rel=1e-9),
        "tracked": True,
    }
    stats = tracker.calculate_stats()
    assert (stats.run_id, stats.phase, stats.iterations) == ("run_tech_x", "tech", 2)


def test_save_summary_writes_token_summary_json(run_dir: Path) -> None:
    tracker = TokenTracker(run_dir)
    stats = tracker.calculate_stats("run_tech_20260228_120000", "tech")
    path = tracker.save_summary(stats)
    assert path == run_dir / "token_summary.json"
    saved = json.loads(path.read_text())
    assert saved["total_tokens"] == 7_500
    assert saved["breakdown_by_operation"]["advocate"]["total_cost"] == 0.15
    # Costs are written with 12 significant digits: equal once both sides are written so.
    assert json_text(RunTokenStats.model_validate(saved)) == json_text(stats)


def test_print_summary_has_seed_004s_layout(run_dir: Path) -> None:
    tracker = TokenTracker(run_dir)
    stats = tracker.calculate_stats("run_tech_20260228_120000", "tech")
    console = Console(file=io.StringIO(), width=60, color_system=None)
    tracker.print_summary(stats, console)
    assert console.file.getvalue() == snapshot("""\
============================================================
Token Usage Summary — run_tech_20260228_120000
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
""")  # type: ignore[attr-defined]


def test_an_unpriced_line_makes_the_total_a_lower_bound(run_dir: Path) -> None:
    tracker = TokenTracker(run_dir)
    tracker.log_usage("judge", 100, 100, iteration=1, model="house-model-7")
    stats = tracker.calculate_stats("r")
    assert stats.unpriced_requests == 1
    assert stats.total_cost_usd == pytest.approx(0.288, rel=1e-9)
    assert stats.priced_coverage == pytest.approx(7_500 / 7_700, rel=1e-9)
    assert stats.breakdown_by_operation["judge"].total_cost is None


def test_writers_in_parallel_never_interleave_lines(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()

    def writer(number: int) -> None:
        tracker = TokenTracker(run_dir, default_model="gpt-4")
        for iteration in range(50):
            tracker.log_usage(f"op{number}", 100 + number, 10, iteration=iteration)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    lines = (run_dir / "tokens.jsonl").read_text().splitlines()
    assert len(lines) == 200
    assert all(json.loads(line)["total_tokens"] in {110, 111, 112, 113} for line in lines)
    stats = TokenTracker(run_dir).calculate_stats("run")
    assert stats.total_input_tokens == 50 * (100 + 101 + 102 + 103)


def test_a_bad_line_is_skipped_with_a_warning(
    run_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with (run_dir / "tokens.jsonl").open("a") as handle:
        handle.write("garbage\n")
    assert len(TokenTracker(run_dir).load_usage()) == 2
    assert "line 3 skipped" in caplog.text


def test_run_directory_methods_need_a_run_directory(tmp_path: Path) -> None:
    with pytest.raises(TrackingError, match="no run directory"):
        TokenTracker(project_path=tmp_path).load_usage()
