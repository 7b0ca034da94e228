"""TokenTracker: per-agent sums, pricing, unknowns, concurrency, status and persistence switches."""

from __future__ import annotations

import asyncio
import io
import logging
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from rich.console import Console

import memory_banker.token_tracking as reexport
import token_tracking
from tests.support.clock import StepClock
from tests.support.records import usage
from token_tracking import (
    OFFLINE_MODEL,
    SettingError,
    TokenTracker,
    TokenUsageReport,
    TrackingError,
)
from token_tracking.history.ledger import Ledger
from token_tracking.records import RequestUsage


def make_tracker(tmp_path: Path, clock: StepClock | None = None, **options: object) -> TokenTracker:
    options.setdefault("reports_dir", tmp_path / "reports")
    options.setdefault("project_path", tmp_path)
    options.setdefault("interval_console", Console(file=io.StringIO(), width=100))
    return TokenTracker(clock=clock or StepClock(), **options)  # type: ignore[arg-type]


def test_an_agent_sums_its_requests_and_prices_each_one(tmp_path: Path) -> None:
    clock = StepClock()
    tracker = make_tracker(tmp_path, clock, command="init", model="gpt-4o-mini")
    tracker.start_session()
    tracker.start_agent("projectbrief", model="gpt-4o-mini")
    clock.advance(2)
    first = tracker.record(
        usage("projectbrief", 10_000, 2_000, model="gpt-4o-mini", cached_tokens=4_000)
    )
    clock.advance(3)
    tracker.record(usage("projectbrief", 1_000, 500, model="gpt-4o-mini", cache_write_tokens=None))
    tracker.end_agent("projectbrief", success=True, output_file="memory-bank/projectbrief.md")
    report = tracker.finish()

    # 6,000 uncached x $0.15/1M + 4,000 cached x $0.075/1M + 2,000 x $0.60/1M (DESIGN §9)
    assert first.cost_usd == pytest.approx(0.0024, rel=1e-9)
    (agent,) = report.agent_usage
    assert agent.prompt_tokens == 11_000
    assert agent.completion_tokens == 2_500
    assert agent.total_tokens == 13_500
    assert agent.cached_tokens == 4_000
    assert agent.cache_write_tokens is None
    assert agent.reasoning_tokens is None
    assert agent.requests == 2
    assert agent.cost_usd == pytest.approx(0.0024 + 1_000 * 0.15e-6 + 500 * 0.6e-6, rel=1e-9)
    assert agent.duration_seconds == 5.0
    assert agent.success is True
    assert agent.output_file == "memory-bank/projectbrief.md"
    assert report.total_prompt_tokens == 11_000
    assert report.total_completion_tokens == 2_500
    assert report.total_tokens == 13_500
    assert report.total_cached_tokens == 4_000
    assert report.total_cache_write_tokens is None
    assert report.total_requests == 2
    assert report.total_cost_usd == pytest.approx(agent.cost_usd, rel=1e-9)
    assert report.priced_coverage == 1.0
    assert report.status == "success"
    assert report.schema_version == 2
    assert report.total_duration_seconds == 5.0
    assert report.pricing is not None
    assert report.pricing.source == "litellm"
    assert [(m.model, m.matched_key, m.custom) for m in report.pricing.models] == [
        ("gpt-4o-mini", "gpt-4o-mini", False)
    ]


def test_a_count_no_request_reported_stays_unknown(tmp_path: Path) -> None:
    tracker = make_tracker(tmp_path, model="gpt-4o-mini")
    tracker.record(usage("a", 100, 10, model="gpt-4o-mini"))
    tracker.record(usage("a", 100, 10, model="gpt-4o-mini", reasoning_tokens=4))
    tracker.record(usage("b", 50, None, model="gpt-4o-mini"))
    report = tracker.finish()

    a, b = report.agent_usage
    assert (a.cached_tokens, a.reasoning_tokens) == (None, 4)
    assert b.completion_tokens is None
    assert b.total_tokens == 50
    # Without a completion count the request cannot be priced: unknown, never $0.
    assert b.cost_usd is None
    assert report.total_reasoning_tokens == 4
    assert report.total_cached_tokens is None
    assert report.priced_coverage == pytest.approx(220 / 270, rel=1e-9)


def test_default_model_prices_records_without_a_model(tmp_path: Path) -> None:
    tracker = make_tracker(tmp_path, default_model="gpt-4")
    priced = tracker.record(usage("contrarian", 3_000, 800))
    assert priced.model == "gpt-4"
    assert priced.cost_usd == pytest.approx(3_000 * 30e-6 + 800 * 60e-6, rel=1e-9)


def test_no_model_and_no_default_is_an_unknown_cost(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tracker = make_tracker(tmp_path)
    with caplog.at_level(logging.WARNING):
        priced = tracker.record(usage("a", 100, 10))
    report = tracker.finish()
    assert priced.cost_usd is None
    assert report.total_cost_usd is None
    assert report.priced_coverage == 0.0
    assert report.agent_usage[0].cost_usd is None
    assert "names no model" in caplog.text


def test_an_unknown_model_is_unknown_cost_with_suggestions(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tracker = make_tracker(tmp_path)
    with caplog.at_level(logging.WARNING):
        tracker.record(usage("a", 1_000, 100, model="gpt-4o-mini"))
        tracker.record(usage("b", 2_000, 200, model="gpt-4o-mini-typo"))
        tracker.record(usage("b", 2_000, 200, model="gpt-4o-mini-typo"))
    report = tracker.finish()

    warnings = [r.getMessage() for r in caplog.records if "gpt-4o-mini-typo" in r.getMessage()]
    assert warnings == [
        "no price for model 'gpt-4o-mini-typo'; did you mean gpt-4o-mini-tts, gpt-4o-mini, "
        "gpt-5.4-mini?: its cost is unknown (give its price in a custom pricing file)"
    ]
    assert report.agent_usage[1].cost_usd is None
    # The total is the priced part only, a lower bound: 1,100 of 5,500 tokens are priced.
    assert report.total_cost_usd == pytest.approx(1_000 * 0.15e-6 + 100 * 0.6e-6, rel=1e-9)
    assert report.priced_coverage == pytest.approx(1_100 / 5_500, rel=1e-9)
    assert report.pricing is not None
    unknown = report.pricing.models[1]
    assert (unknown.model, unknown.matched_key) == ("gpt-4o-mini-typo", None)
    assert unknown.suggestions == ["gpt-4o-mini-tts", "gpt-4o-mini", "gpt-5.4-mini"]


PER_CHARACTER = (
    "'medlm-medium' (medlm-medium) has no per-token price in LiteLLM's table; "
    "it is priced per second, image, character or query"
)


def test_a_known_model_without_a_per_token_price_says_so_and_suggests_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tracker = make_tracker(tmp_path)
    with caplog.at_level(logging.WARNING):
        tracker.record(usage("a", 1_000, 100, model="medlm-medium"))
        tracker.record(usage("a", 1_000, 100, model="medlm-medium"))
    report = tracker.finish()

    assert [r.getMessage() for r in caplog.records] == [
        f"cost of 'medlm-medium' unknown: {PER_CHARACTER}"
    ]
    assert report.total_cost_usd is None
    assert report.priced_coverage == 0.0
    assert report.pricing is not None
    (note,) = report.pricing.models
    assert (note.model, note.matched_key, note.suggestions, note.reason) == (
        "medlm-medium",
        None,
        [],
        PER_CHARACTER,
    )


def test_a_usage_without_its_completion_count_is_unknown_without_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tracker = make_tracker(tmp_path)
    with caplog.at_level(logging.WARNING):
        priced = tracker.record(usage("a", 1_000, 100, model="gpt-4o-mini"))
        unknown = tracker.record(usage("a", 1_000, None, model="gpt-4o-mini"))
    report = tracker.finish()

    assert caplog.records == []
    assert priced.cost_usd == pytest.approx(1_000 * 0.15e-6 + 100 * 0.6e-6, rel=1e-9)
    assert unknown.cost_usd is None
    assert report.agent_usage[0].cost_usd is None
    assert report.total_cost_usd == pytest.approx(1_000 * 0.15e-6 + 100 * 0.6e-6, rel=1e-9)
    assert report.priced_coverage == pytest.approx(1_100 / 2_100, rel=1e-9)
    assert report.pricing is not None
    (note,) = report.pricing.models
    assert (note.matched_key, note.suggestions, note.reason) == ("gpt-4o-mini", [], None)


def test_a_model_seen_only_without_counts_is_still_in_the_pricing_block(tmp_path: Path) -> None:
    tracker = make_tracker(tmp_path)
    tracker.record(usage("a", 1_000, None, model="gpt-4o-mini"))
    report = tracker.finish()
    assert (report.total_cost_usd, report.priced_coverage) == (None, 0.0)
    assert report.pricing is not None
    assert [(m.model, m.matched_key) for m in report.pricing.models] == [
        ("gpt-4o-mini", "gpt-4o-mini")
    ]


def test_the_offline_engine_costs_an_explicit_zero(tmp_path: Path) -> None:
    tracker = make_tracker(tmp_path, model=OFFLINE_MODEL, source="offline")
    tracker.record(usage("projectbrief", 5_000, 1_200, model=OFFLINE_MODEL))
    report = tracker.finish()
    assert report.total_cost_usd == 0.0
    assert report.agent_usage[0].cost_usd == 0.0
    assert report.priced_coverage == 1.0
    assert report.source == "offline"
    assert report.pricing is not None
    assert report.pricing.models[0].matched_key == OFFLINE_MODEL


def test_an_actual_cost_is_kept(tmp_path: Path) -> None:
    tracker = make_tracker(tmp_path)
    priced = tracker.record(
        usage("a", 2_500, 1_200, model="gpt-4", cost_usd=0.15, cost_is_actual=True)
    )
    assert (priced.cost_usd, priced.cost_is_actual) == (0.15, True)


def test_a_broken_invariant_is_kept_as_given_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tracker = make_tracker(tmp_path)
    with caplog.at_level(logging.WARNING):
        kept = tracker.record(usage("a", 100, 10, model="gpt-4o-mini", cached_tokens=150))
    assert kept.cached_tokens == 150
    assert "cached (150) + cache-write (None) tokens exceed prompt tokens (100)" in caplog.text


def test_threads_recording_at_once_keep_every_agent_separate(tmp_path: Path) -> None:
    tracker = make_tracker(tmp_path, model="gpt-4o-mini")
    agents = {"projectbrief": (11, 3), "productContext": (17, 5), "systemPatterns": (23, 7)}
    barrier = threading.Barrier(len(agents))

    def run(name: str, prompt: int, completion: int) -> None:
        tracker.start_agent(name)
        barrier.wait()
        for _ in range(200):
            tracker.record(usage(name, prompt, completion, model="gpt-4o-mini"))
        tracker.end_agent(name, success=True)

    threads = [threading.Thread(target=run, args=(n, *counts)) for n, counts in agents.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    report = tracker.finish()

    got = {
        a.agent_name: (a.prompt_tokens, a.completion_tokens, a.requests) for a in report.agent_usage
    }
    assert got == {name: (200 * p, 200 * c, 200) for name, (p, c) in agents.items()}
    assert report.total_requests == 600
    assert len(tracker.requests()) == 600


async def test_agents_in_one_event_loop_keep_their_own_numbers(tmp_path: Path) -> None:
    tracker = make_tracker(tmp_path, model="gpt-4o-mini")

    async def agent(name: str, prompt: int) -> None:
        tracker.start_agent(name)
        for _ in range(3):
            await asyncio.sleep(0)
            tracker.record(usage(name, prompt, 1, model="gpt-4o-mini"))
        tracker.end_agent(name, success=True)

    await asyncio.gather(*(agent(f"agent{i}", 100 * i) for i in range(1, 5)))
    report = tracker.finish()
    assert [(a.agent_name, a.prompt_tokens) for a in report.agent_usage] == [
        ("agent1", 300),
        ("agent2", 600),
        ("agent3", 900),
        ("agent4", 1_200),
    ]


def test_a_failed_agent_keeps_the_tokens_it_spent(tmp_path: Path) -> None:
    clock = StepClock()
    tracker = make_tracker(tmp_path, clock, model="gpt-4o-mini")
    tracker.start_agent("ok")
    tracker.record(usage("ok", 100, 10, model="gpt-4o-mini"))
    tracker.end_agent("ok", success=True)
    tracker.start_agent("broken")
    tracker.record(usage("broken", 300, 30, model="gpt-4o-mini"))
    clock.advance(1.5)
    tracker.end_agent("broken", success=False, error="APIStatusError: HTTP 500")
    report = tracker.finish()
    broken = report.agent_usage[1]
    assert (broken.success, broken.error) == (False, "APIStatusError: HTTP 500")
    assert (broken.prompt_tokens, broken.completion_tokens, broken.requests) == (300, 30, 1)
    assert broken.duration_seconds == 1.5
    assert (report.successful_agents, report.failed_agents) == (1, 1)
    assert report.status == "partial"


@pytest.mark.parametrize(
    ("outcomes", "status"),
    [
        ((True, True), "success"),
        ((True, False), "partial"),
        ((False, False), "failed"),
        ((), "success"),
    ],
)
def test_the_status_is_derived_from_the_agents(
    tmp_path: Path, outcomes: tuple[bool, ...], status: str
) -> None:
    tracker = make_tracker(tmp_path)
    for number, success in enumerate(outcomes):
        tracker.start_agent(f"agent{number}")
        tracker.end_agent(f"agent{number}", success=success, error=None if success else "boom")
    assert tracker.finish().status == status


def test_an_agent_still_running_at_finish_failed_and_budget_status_is_kept(tmp_path: Path) -> None:
    tracker = make_tracker(tmp_path, model="gpt-4o-mini")
    tracker.start_agent("projectbrief")
    tracker.record(usage("projectbrief", 100, 10, model="gpt-4o-mini"))
    report = tracker.finish(status="budget_exceeded", agents_not_run=["progress"])
    assert report.status == "budget_exceeded"
    assert report.agents_not_run == ["progress"]
    agent = report.agent_usage[0]
    assert (agent.success, agent.error) == (False, "interrupted: the agent did not finish")
    assert agent.prompt_tokens == 100


def test_spent_cost_and_snapshot_follow_the_session(tmp_path: Path) -> None:
    clock = StepClock()
    tracker = make_tracker(tmp_path, clock)
    assert tracker.spent_cost() == 0.0
    assert tracker.agent_snapshot() == []
    tracker.start_agent("a", model="gpt-4o-mini")
    tracker.record(usage("a", 1_000_000, 0, model="gpt-4o-mini"))
    clock.advance(4)
    assert tracker.spent_cost() == pytest.approx(0.15, rel=1e-9)
    (live,) = tracker.agent_snapshot()
    assert (live.end_time, live.duration_seconds, live.prompt_tokens) == (None, 4.0, 1_000_000)
    tracker.record(usage("a", 10, 1, model="no-such-model-xyz"))
    assert tracker.spent_cost() == pytest.approx(0.15, rel=1e-9)


def test_a_finished_session_takes_no_more_records(tmp_path: Path) -> None:
    tracker = make_tracker(tmp_path)
    tracker.finish()
    with pytest.raises(TrackingError, match="already finished"):
        tracker.record(usage("a", 1, 1))
    with pytest.raises(TrackingError, match="already finished"):
        tracker.finish()


def test_the_report_is_saved_and_the_journal_removed(tmp_path: Path) -> None:
    tracker = make_tracker(tmp_path, command="init")
    tracker.start_agent("a")
    tracker.record(usage("a", 1, 1, model="gpt-4o-mini"))
    journal = tmp_path / "reports" / ".journal" / f"{tracker.session_id}.jsonl"
    assert journal.is_file()
    report = tracker.finish()
    assert tracker.report_path is not None
    assert tracker.report_path.parent == tmp_path / "reports"
    assert not journal.exists()
    assert type(report).load_from_file(tracker.report_path) == report


def test_tracking_disabled_writes_nothing_but_still_accounts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOKEN_TRACKING_ENABLED", "false")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    tracker = make_tracker(tmp_path, run_dir=run_dir)
    assert tracker.persist is False
    tracker.start_agent("a")
    tracker.record(usage("a", 1_000_000, 0, model="gpt-4o-mini"))
    assert tracker.spent_cost() == pytest.approx(0.15, rel=1e-9)
    report = tracker.finish()
    assert report.total_prompt_tokens == 1_000_000
    assert tracker.report_path is None
    assert not (tmp_path / "reports").exists()
    assert list(run_dir.iterdir()) == []
    assert [r.prompt_tokens for r in tracker.load_usage()] == [1_000_000]


def test_an_invalid_setting_is_an_error_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOKEN_TRACKING_ENABLED", "maybe")
    expected = r"^TOKEN_TRACKING_ENABLED must be true or false, got 'maybe'$"
    with pytest.raises(SettingError, match=expected):
        make_tracker(tmp_path)


def test_record_usage_rejects_disagreeing_operation_names(tmp_path: Path) -> None:
    tracker = make_tracker(tmp_path)
    with pytest.raises(TrackingError, match="disagree"):
        tracker.record_usage({}, operation="a", operation_type="b")


def test_the_tracker_is_a_context_manager(tmp_path: Path) -> None:
    with make_tracker(tmp_path) as tracker:
        tracker.record(RequestUsage(timestamp=StepClock()(), agent_name="x", prompt_tokens=1))
    assert tracker.report_path is not None
    assert TokenUsageReport.load_from_file(tracker.report_path).total_prompt_tokens == 1
    with pytest.raises(TrackingError, match="already finished"):
        tracker.record(usage("x", 1, 1))


def test_record_usage_reads_a_claude_agent_sdk_style_result(tmp_path: Path) -> None:
    tracker = make_tracker(tmp_path)
    result = {
        "model": "claude-sonnet-4-5",
        "usage": {
            "input_tokens": 1_500,
            "output_tokens": 800,
            "cache_read_input_tokens": 400,
            "cache_creation_input_tokens": 100,
        },
        "total_cost_usd": 0.0213,
        "duration_ms": 3_200,
    }
    recorded = tracker.record_usage(
        result, operation_type="analysis", metadata={"symbol": "BTC/USDT"}
    )
    assert (recorded.agent_name, recorded.model) == ("analysis", "claude-sonnet-4-5")
    assert (recorded.prompt_tokens, recorded.cached_tokens, recorded.cache_write_tokens) == (
        2_000,
        400,
        100,
    )
    assert (recorded.cost_usd, recorded.cost_is_actual) == (0.0213, True)
    assert recorded.duration_seconds == 3.2
    assert recorded.metadata == {"symbol": "BTC/USDT"}
    (agent,) = tracker.finish().agent_usage
    assert (agent.agent_name, agent.total_tokens, agent.cost_usd) == ("analysis", 2_800, 0.0213)


async def test_arecord_usage_prices_an_openai_style_usage_mapping(tmp_path: Path) -> None:
    tracker = make_tracker(tmp_path)
    recorded = await tracker.arecord_usage(
        {
            "prompt_tokens": 10_000,
            "completion_tokens": 2_000,
            "prompt_tokens_details": {"cached_tokens": 4_000},
        },
        operation="summarize",
        model="gpt-4o-mini",
        duration_seconds=1.25,
    )
    assert recorded.cost_usd == pytest.approx(0.0024, rel=1e-9)
    assert recorded.duration_seconds == 1.25
    assert tracker.requests() == [recorded]


def test_record_usage_of_an_unreadable_result_is_a_tracking_error(tmp_path: Path) -> None:
    tracker = make_tracker(tmp_path)
    with pytest.raises(TrackingError, match="cannot read token usage from a int"):
        tracker.record_usage(42)
    assert tracker.requests() == []


def test_the_documented_import_path_works() -> None:
    assert reexport.TokenTracker is TokenTracker
    assert reexport.TokenUsageReport.__name__ == "TokenUsageReport"
    assert reexport.__all__ == token_tracking.__all__
    assert all(
        getattr(reexport, name) is getattr(token_tracking, name) for name in token_tracking.__all__
    )


def test_importing_token_tracking_imports_no_sdk() -> None:
    code = (
        "import sys, token_tracking, memory_banker.token_tracking\n"
        "print(sorted(m for m in ('agents', 'litellm', 'openai', 'anthropic') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]"


def test_finished_says_when_recording_is_over(tmp_path: Path) -> None:
    tracker = make_tracker(tmp_path, persist=False)
    tracker.record(usage("a", 10, 1, model="gpt-4o-mini"))
    assert tracker.finished is False
    tracker.finish()
    assert tracker.finished is True
    with pytest.raises(TrackingError, match="already finished"):
        tracker.record(usage("a", 10, 1, model="gpt-4o-mini"))


def test_agent_run_records_success_and_failure_and_keeps_tokens(tmp_path: Path) -> None:
    tracker = make_tracker(tmp_path, persist=False)
    with tracker.agent_run("writer", model="gpt-4o-mini"):
        tracker.record(usage("writer", 100, 10, model="gpt-4o-mini"))
    with pytest.raises(ConnectionError, match="provider down"):
        with tracker.agent_run("reviewer", model="gpt-4o-mini"):
            tracker.record(usage("reviewer", 300, 5, model="gpt-4o-mini"))
            raise ConnectionError("provider down")
    report = tracker.finish()
    writer, reviewer = report.agent_usage
    assert (writer.success, writer.error, writer.total_tokens) == (True, None, 110)
    assert (reviewer.success, reviewer.error, reviewer.total_tokens) == (
        False,
        "ConnectionError: provider down",
        305,
    )
    assert (report.status, report.successful_agents, report.failed_agents) == ("partial", 1, 1)


def test_a_session_whose_every_usage_is_unknown_is_saved_and_recorded(tmp_path: Path) -> None:
    tracker = TokenTracker(reports_dir=tmp_path, command="app", default_model="gpt-4o")
    tracker.record(usage("a", None, None))
    report = tracker.finish()
    assert (report.total_prompt_tokens, report.total_tokens, report.unknown_usage_requests) == (
        None,
        None,
        1,
    )
    assert tracker.report_path is not None
    assert TokenUsageReport.load_from_file(tracker.report_path) == report
    with Ledger() as ledger:
        assert ledger.has_session(report.session_id)


def test_one_response_recorded_twice_counts_once() -> None:
    tracker = TokenTracker(command="app", persist=False, default_model="gpt-4o")
    first = tracker.record(usage("a", 100, 5, response_id="resp_1", request_id="req_1"))
    assert tracker.record(usage("b", 100, 5, response_id="resp_1")) == first
    assert tracker.record(usage("b", 100, 5, request_id="req_1")) == first
    # The same response id with another request id is another response.
    tracker.record(usage("b", 100, 5, response_id="resp_1", request_id="req_2"))
    assert [r.agent_name for r in tracker.requests()] == ["a", "b"]
