"""The printed report (seed 002's layout) and the interval table (seed 000), as reviewed snapshots."""

# The snapshots hold printed lines verbatim, some longer than the source line limit.
# ruff: noqa: E501

from __future__ import annotations

import io
import re
from pathlib import Path

from inline_snapshot import snapshot
from rich.console import Console

from tests.support.clock import StepClock
from tests.support.paths import FIXTURES
from tests.support.records import usage
from token_tracking import TokenTracker, TokenUsageReport
from token_tracking.reports.render import cost_line, render_intervals


def rendered(report: TokenUsageReport) -> str:
    console = Console(file=io.StringIO(), width=100, color_system=None)
    report.render(console)
    output = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(output, str)
    return output


def session(
    tmp_path: Path, model: str, agents: list[tuple[str, int, int, dict[str, int]]]
) -> TokenUsageReport:
    """A finished session where each agent makes one request and takes 6.5 s."""
    clock = StepClock()
    tracker = TokenTracker(
        project_path=tmp_path, command="init", model=model, persist=False, clock=clock
    )
    for name, prompt, completion, extra in agents:
        tracker.start_agent(name, model)
        clock.advance(6.5)
        tracker.record(usage(name, prompt, completion, model=model, timestamp=clock.now, **extra))
        tracker.end_agent(name, success=True)
    return tracker.finish()


def test_a_successful_run(tmp_path: Path) -> None:
    report = session(
        tmp_path,
        "gpt-4o-mini",
        [
            ("projectbrief", 9_800, 1_450, {}),
            ("productContext", 10_240, 1_630, {"cached_tokens": 8_192}),
            ("systemPatterns", 11_020, 2_210, {"cached_tokens": 8_192, "reasoning_tokens": 0}),
        ],
    )
    assert rendered(report) == snapshot("""\
============================================================
TOKEN USAGE REPORT
============================================================
Model: gpt-4o-mini
Total Duration: 19.5s
Successful Agents: 3/3

Total Prompt Tokens: 31,060
Total Completion Tokens: 5,290
Total Tokens: 36,350
  Cached Prompt Tokens: 16,384
Requests: 3
Estimated Cost: $0.0066 USD

Per-Agent Breakdown:
  ✅ projectbrief     | Tokens:   11,250 | Cost:   $0.0023 | Duration:    6.5s
  ✅ productContext   | Tokens:   11,870 | Cost:   $0.0019 | Duration:    6.5s
       cached 8,192 · 1 request
  ✅ systemPatterns   | Tokens:   13,230 | Cost:   $0.0024 | Duration:    6.5s
       cached 8,192 · 1 request
============================================================
""")


def test_a_partial_failure_with_intervals() -> None:
    report = TokenUsageReport.load_from_file(FIXTURES / "report_v1.json")
    assert rendered(report) == snapshot("""\
============================================================
TOKEN USAGE REPORT
============================================================
Model: gpt-4o-mini
Total Duration: 320.5s
Successful Agents: 2/3
Status: partial

Total Prompt Tokens: 31,940
Total Completion Tokens: 3,490
Total Tokens: 35,430
  Cached Prompt Tokens: 18,176
Requests: 3
Estimated Cost: $0.0055 USD

Per-Agent Breakdown:
  ✅ projectbrief     | Tokens:   11,250 | Cost:   $0.0023 | Duration:    7.5s
  ✅ techContext      | Tokens:   24,180 | Cost:   $0.0032 | Duration:  310.0s
       cached 18,176 · 2 requests
  ❌ progress         | Tokens:        0 | Cost:   $0.0000 | Duration:    2.0s
       Error: APITimeoutError: Request timed out.
============================================================

Token Usage by 5-Minute Intervals                                                 \n\
┌──────────┬──────────┬─────────────┬──────────────┬────────┬─────────┬──────────┐
│ Interval │ Duration │ Tokens (in) │ Tokens (out) │  Total │    Cost │ Requests │
├──────────┼──────────┼─────────────┼──────────────┼────────┼─────────┼──────────┤
│ 1        │     5:00 │      20,040 │        3,080 │ 23,120 │ $0.0042 │        2 │
│ 2        │     0:20 │      11,900 │          410 │ 12,310 │ $0.0013 │        1 │
├──────────┼──────────┼─────────────┼──────────────┼────────┼─────────┼──────────┤
│ TOTAL    │     5:20 │      31,940 │        3,490 │ 35,430 │ $0.0055 │        3 │
└──────────┴──────────┴─────────────┴──────────────┴────────┴─────────┴──────────┘
""")


def test_an_unknown_price_model(tmp_path: Path) -> None:
    report = session(
        tmp_path,
        "gpt-4o-mini-typo",
        [("projectbrief", 9_800, 1_450, {}), ("techContext", 7_000, 900, {})],
    )
    assert rendered(report) == snapshot("""\
============================================================
TOKEN USAGE REPORT
============================================================
Model: gpt-4o-mini-typo
Total Duration: 13.0s
Successful Agents: 2/2

Total Prompt Tokens: 16,800
Total Completion Tokens: 2,350
Total Tokens: 19,150
Requests: 2
Estimated Cost: unknown (no price for 'gpt-4o-mini-typo', did you mean gpt-4o-mini-tts, gpt-4o-mini, gpt-5.4-mini?)

Per-Agent Breakdown:
  ✅ projectbrief     | Tokens:   11,250 | Cost:   unknown | Duration:    6.5s
  ✅ techContext      | Tokens:    7,900 | Cost:   unknown | Duration:    6.5s
============================================================
""")


def test_a_partly_priced_run_is_a_lower_bound(tmp_path: Path) -> None:
    clock = StepClock()
    tracker = TokenTracker(project_path=tmp_path, command="app", persist=False, clock=clock)
    tracker.record(usage("summarize", 4_000, 1_000, model="gpt-4o-mini", timestamp=clock.now))
    tracker.record(
        usage("review", 1_000, 500, model="claude-internal-preview", timestamp=clock.now)
    )
    assert cost_line(tracker.finish()) == snapshot(
        "Estimated Cost: at least $0.0012 USD (lower bound: 77% of tokens priced; no price for 'claude-internal-preview', did you mean computer-use-preview?)"
    )


def test_a_model_without_a_per_token_price_is_named_as_such(tmp_path: Path) -> None:
    clock = StepClock()
    tracker = TokenTracker(project_path=tmp_path, command="app", persist=False, clock=clock)
    tracker.record(usage("summarize", 4_000, 1_000, model="gpt-4o-mini", timestamp=clock.now))
    tracker.record(usage("review", 1_000, 500, model="medlm-medium", timestamp=clock.now))
    assert cost_line(tracker.finish()) == snapshot(
        "Estimated Cost: at least $0.0012 USD (lower bound: 77% of tokens priced; 'medlm-medium' (medlm-medium) has no per-token price in LiteLLM's table; it is priced per second, image, character or query)"
    )


def test_missing_counts_are_named_as_the_reason(tmp_path: Path) -> None:
    clock = StepClock()
    tracker = TokenTracker(project_path=tmp_path, command="app", persist=False, clock=clock)
    tracker.record(usage("summarize", 4_000, 1_000, model="gpt-4o-mini", timestamp=clock.now))
    tracker.record(usage("stream", 1_000, None, model="gpt-4o-mini", timestamp=clock.now))
    assert cost_line(tracker.finish()) == snapshot(
        "Estimated Cost: at least $0.0012 USD (lower bound: 83% of tokens priced; a provider did not return every token count)"
    )
    alone = TokenTracker(project_path=tmp_path, command="app", persist=False, clock=clock)
    alone.record(usage("stream", 1_000, None, model="gpt-4o-mini", timestamp=clock.now))
    assert cost_line(alone.finish()) == snapshot(
        "Estimated Cost: unknown (a provider did not return every token count)"
    )


def test_a_0_1_report_shows_todays_cost_beside_the_stored_one() -> None:
    report = TokenUsageReport.load_from_file(FIXTURES / "report_v0_1.json")
    assert rendered(report) == snapshot("""\
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


def test_the_documented_grep_extracts_the_cost() -> None:
    report = TokenUsageReport.load_from_file(FIXTURES / "report_v1.json").model_copy(
        update={"total_cost_usd": 0.0531, "priced_coverage": 1.0}
    )
    lines = [line for line in rendered(report).splitlines() if "Estimated Cost" in line]
    assert lines == ["Estimated Cost: $0.0531 USD"]
    assert re.findall(r"\$[0-9.]*", lines[0]) == ["$0.0531"]


def test_the_interval_table() -> None:
    report = TokenUsageReport.load_from_file(FIXTURES / "report_v1.json")
    console = Console(file=io.StringIO(), width=100, color_system=None)
    render_intervals(report.intervals, console, minutes=5)
    assert console.file.getvalue() == snapshot("""\
Token Usage by 5-Minute Intervals                                                 \n\
┌──────────┬──────────┬─────────────┬──────────────┬────────┬─────────┬──────────┐
│ Interval │ Duration │ Tokens (in) │ Tokens (out) │  Total │    Cost │ Requests │
├──────────┼──────────┼─────────────┼──────────────┼────────┼─────────┼──────────┤
│ 1        │     5:00 │      20,040 │        3,080 │ 23,120 │ $0.0042 │        2 │
│ 2        │     0:20 │      11,900 │          410 │ 12,310 │ $0.0013 │        1 │
├──────────┼──────────┼─────────────┼──────────────┼────────┼─────────┼──────────┤
│ TOTAL    │     5:20 │      31,940 │        3,490 │ 35,430 │ $0.0055 │        3 │
└──────────┴──────────┴─────────────┴──────────────┴────────┴─────────┴──────────┘
""")  # type: ignore[attr-defined]


def test_a_budget_stop_names_the_agents_not_run(tmp_path: Path) -> None:
    clock = StepClock()
    tracker = TokenTracker(
        project_path=tmp_path, command="update", model="gpt-4o", persist=False, clock=clock
    )
    tracker.start_agent("projectbrief", "gpt-4o")
    clock.advance(3)
    tracker.record(usage("projectbrief", 40_000, 4_000, model="gpt-4o", timestamp=clock.now))
    tracker.end_agent("projectbrief", success=True)
    report = tracker.finish(status="budget_exceeded", agents_not_run=["activeContext", "progress"])
    assert rendered(report) == snapshot("""\
============================================================
TOKEN USAGE REPORT
============================================================
Model: gpt-4o
Total Duration: 3.0s
Successful Agents: 1/1
Status: budget exceeded

Total Prompt Tokens: 40,000
Total Completion Tokens: 4,000
Total Tokens: 44,000
Requests: 1
Estimated Cost: $0.1400 USD

Per-Agent Breakdown:
  ✅ projectbrief     | Tokens:   44,000 | Cost:   $0.1400 | Duration:    3.0s
Not run: activeContext, progress
============================================================
""")


def test_the_documented_grep_reads_costs_above_a_thousand_whole() -> None:
    report = TokenUsageReport.load_from_file(FIXTURES / "report_v1.json").model_copy(
        update={"total_cost_usd": 1234.56789, "priced_coverage": 1.0}
    )
    lines = [line for line in rendered(report).splitlines() if "Estimated Cost" in line]
    assert re.findall(r"\$[0-9.]*", lines[0]) == ["$1234.5679"]


def test_a_v2_report_with_unknown_usage_prints_lower_bounds() -> None:
    report = TokenUsageReport.load_from_file(FIXTURES / "report_v2.json")
    out = io.StringIO()
    report.render(Console(file=out, width=100, color_system=None))
    text = out.getvalue()
    assert "Total Prompt Tokens: at least 12,300\n" in text
    assert "Total Tokens: at least 13,220\n" in text
    assert "  No usage returned: 1 request (token totals are lower bounds)\n" in text
    assert (
        "Estimated Cost: at least $0.0299 USD (lower bound; 1 request returned no usage)\n" in text
    )
    assert "Successful Agents: 2/2\n" in text  # (unattributed) is not an agent
    assert "  ✅ techContext      | Tokens:  unknown | Cost:   unknown |" in text
