"""What a new user sees first: tables at 80 columns that never cut a model name or a cost, stats
and trends that say what they leave out, averages over what is known, and "no data" when empty."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from inline_snapshot import snapshot
from rich.console import Console

from memory_banker.cli.ledger import render_sessions, render_stats, render_trends
from memory_banker.estimate import EstimateResult, ModelEstimate, render_estimate
from tests.support.cli import invoke
from tests.support.ledger_factory import AgentSpec, make_session, use_timezone
from tests.support.reports import agent, make_report
from token_tracking.history.ledger import Ledger
from token_tracking.history.models import SessionSummary
from token_tracking.history.stats import UsageStats
from token_tracking.history.trends import Insights, TrendRow, TrendsResult, WeekOverWeek
from token_tracking.reports.file import save_report
from token_tracking.reports.listing import list_reports
from token_tracking.reports.render import render_listing

START = datetime(2026, 11, 20, 10, 30, 15, tzinfo=UTC)
LONG_MODELS = (
    "openai/gpt-4o-mini-2024-07-18",
    "anthropic/claude-3-5-sonnet-20241022",
    "openrouter/meta-llama/llama-3.1-405b-instruct",
)


@pytest.fixture(autouse=True)
def utc_local(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with use_timezone(monkeypatch, "UTC"):
        yield


def render80(draw: Callable[..., None], *args: object) -> str:
    """What ``draw`` prints on an 80-column terminal, trailing spaces stripped."""
    console = Console(file=io.StringIO(), width=80, color_system=None)
    draw(console, *args)
    output = console.file.getvalue()  # type: ignore[attr-defined]
    lines = output.splitlines()
    assert all(len(line) <= 80 for line in lines), output
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _session(session_id: str, model: str, project: str, cost: float) -> SessionSummary:
    return SessionSummary(
        session_id=session_id,
        project=project,
        command="update",
        model=model,
        source="llm",
        status="success",
        start_time=START,
        end_time=START,
        duration_seconds=822.0,
        prompt_tokens=4000,
        completion_tokens=1000,
        total_tokens=5000,
        cost_usd=cost,
        priced_coverage=1.0,
    )


SESSIONS = [
    _session("abc12345-0", LONG_MODELS[0], "/work/shop", 0.0421),
    _session("def45678-0", LONG_MODELS[1], "/home/dev/projects/a-very-long-project-name", 12.5),
    _session("fed00000-0", "gpt-4o", "/work/shop", 0.0031),
]


# --- tables at 80 columns -------------------------------------------------------------------------


def test_sessions_table_keeps_model_names_and_costs_whole_at_80_columns() -> None:
    assert render80(render_sessions, SESSIONS, "/work/shop") == snapshot("""\
                   Recent Token Tracking Sessions
Session  Model                                Tokens     Cost Status
─────────────────────────────────────────────────────────────────────
abc12345 openai/gpt-4o-mini-2024-07-18         5,000  $0.0421 success
def45678 anthropic/claude-3-5-sonnet-20241022  5,000 $12.5000 success
fed00000 gpt-4o                                5,000  $0.0031 success
(Duration, Command, Started: not shown at 80 columns; --json has them)
Use --session-id ID (a prefix is enough) to see a session's intervals.
""")


def test_sessions_across_projects_add_a_project_column_at_80_columns() -> None:
    assert render80(render_sessions, SESSIONS, None) == snapshot("""\
                        Recent Token Tracking Sessions
Session  Project          Model                                Tokens     Cost
──────────────────────────────────────────────────────────────────────────────
abc12345 shop             openai/gpt-4o-mini-2024-07-18         5,000  $0.0421
def45678 a-very-long-pro… anthropic/claude-3-5-sonnet-20241022  5,000 $12.5000
fed00000 shop             gpt-4o                                5,000  $0.0031
(Duration, Command, Started, Status: not shown at 80 columns; --json has them)
Use --session-id ID (a prefix is enough) to see a session's intervals.
""")


def test_sessions_table_keeps_every_column_when_there_is_room() -> None:
    console = Console(file=io.StringIO(), width=120, color_system=None)
    render_sessions(console, SESSIONS, None)
    output = console.file.getvalue()  # type: ignore[attr-defined]
    header = output.splitlines()[1].split()
    assert header == [
        "Session",
        "Started",
        "Duration",
        "Command",
        "Project",
        "Model",
        "Tokens",
        "Cost",
        "Status",
    ]
    assert "left out" not in output


def _estimate(models: tuple[str, ...]) -> EstimateResult:
    return EstimateResult(
        project_path="/work/shop",
        context_tokens=30000,
        digest_tokens=2103,
        shared_prefix_tokens=2545,
        message_overhead=4,
        output_range=(0.5, 1.5),
        report_session_id=None,
        agents=[],
        models=[
            ModelEstimate(
                model=name,
                known=True,
                prompt_tokens=13105,
                output_tokens_low=2425,
                output_tokens_expected=4850,
                output_tokens_high=7275,
                cost_low_usd=0.0034 * (index + 1),
                cost_high_usd=10.0063 * (index + 1),
                cache_saving_usd=0.0002,
            )
            for index, name in enumerate(models)
        ],
    )


def test_estimate_keeps_model_names_and_costs_whole_at_80_columns() -> None:
    assert render80(lambda c: render_estimate(_estimate(LONG_MODELS), c)) == snapshot("""\
            Estimated cost per model (no request made)
 Model                                            Cost (low-high)
──────────────────────────────────────────────────────────────────
 openai/gpt-4o-mini-2024-07-18                   $0.0034-$10.0063
 anthropic/claude-3-5-sonnet-20241022            $0.0068-$20.0126
 openrouter/meta-llama/llama-3.1-405b-instruct   $0.0102-$30.0189
(Cache saving, Prompt tokens, Output tokens: not shown at 80 columns; --json has
them)
                     Requests
┏━━━━━━━┳━━━━━━━┳━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━┓
┃ Agent ┃ Round ┃ Prompt tokens ┃ Expected output ┃
┡━━━━━━━╇━━━━━━━╇━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━┩
└───────┴───────┴───────────────┴─────────────────┘
Digest 2,103 of 30,000 tokens; shared prefix 2,545 tokens; 4 tokens per message.
Output range 0.5x-1.5x the expected length (lengths from the agent specs).
""")


def test_estimate_with_short_names_keeps_every_column_at_80_columns() -> None:
    result = _estimate(("gpt-4o-mini", "gpt-4o"))
    assert render80(lambda c: render_estimate(result, c)) == snapshot("""\
                  Estimated cost per model (no request made)
 Model         Prompt tokens   Output tokens    Cost (low-high)   Cache saving
───────────────────────────────────────────────────────────────────────────────
 gpt-4o-mini          13,105     2,425-7,275   $0.0034-$10.0063        $0.0002
 gpt-4o               13,105     2,425-7,275   $0.0068-$20.0126        $0.0002
                     Requests
┏━━━━━━━┳━━━━━━━┳━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━┓
┃ Agent ┃ Round ┃ Prompt tokens ┃ Expected output ┃
┡━━━━━━━╇━━━━━━━╇━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━┩
└───────┴───────┴───────────────┴─────────────────┘
Digest 2,103 of 30,000 tokens; shared prefix 2,545 tokens; 4 tokens per message.
Output range 0.5x-1.5x the expected length (lengths from the agent specs).
""")


def test_stats_say_that_offline_runs_are_excluded() -> None:
    stats = UsageStats(
        period="daily",
        title="Last 24 hours",
        project="/work/shop",
        sessions=2,
        requests=3,
        prompt_tokens=900,
        completion_tokens=150,
        cached_tokens=0,
        total_tokens=1050,
        cost_usd=0.0004,
        priced_coverage=1.0,
        average_tokens_per_request=350.0,
    )
    assert render80(render_stats, stats) == snapshot("""\
Token Usage Statistics: Last 24 hours, offline runs excluded

  Metric                  Value
 ───────────────────────────────
  Sessions                    2
  Total Requests              3
  Input Tokens              900
  Cached Input Tokens         0
  Output Tokens             150
  Total Tokens            1,050
  Total Cost            $0.0004
  Avg Tokens/Request        350

""")


def _trends(rows: list[TrendRow]) -> TrendsResult:
    total = TrendRow(
        key="TOTAL",
        sessions=sum(row.sessions for row in rows),
        requests=sum(row.requests for row in rows),
        prompt_tokens=0,
        completion_tokens=0,
        cached_tokens=0,
        total_tokens=sum(row.total_tokens for row in rows),
        cost_usd=None,
        priced_coverage=None,
    )
    return TrendsResult(
        by="model",
        days=30,
        start=START - timedelta(days=29),
        end=START,
        project="/work/shop",
        include_offline=False,
        totals=total,
        rows=rows,
        insights=Insights(
            days_counted=0,
            week_over_week=WeekOverWeek(
                last_7_days_tokens=0,
                previous_7_days_tokens=0,
                last_7_days_cost=None,
                previous_7_days_cost=None,
                change_percent=None,
            ),
        ),
    )


def test_trends_by_model_keep_long_model_names_whole_at_80_columns() -> None:
    rows = [
        TrendRow(
            key=name + "-with-a-deployment-suffix",
            sessions=1,
            requests=1,
            prompt_tokens=900,
            completion_tokens=100,
            cached_tokens=0,
            total_tokens=1000,
            cost_usd=1.25,
            priced_coverage=1.0,
        )
        for name in LONG_MODELS
    ]
    output = render80(render_trends, _trends(rows))
    for row in rows:
        assert row.key in output.replace("\n  ", "").replace("\n", "")
    assert "…" not in output


def test_empty_trends_say_no_data() -> None:
    assert render80(render_trends, _trends([])) == snapshot("""\
Usage over the last 30 days, project /work/shop, offline runs excluded
No usage in this window: no data.
""")


def test_report_listing_keeps_file_model_and_cost_at_80_columns(tmp_path: Path) -> None:
    folder = tmp_path / "memory-bank" / "token-reports"
    for index, model in enumerate(LONG_MODELS[:2]):
        usage = agent("projectbrief", 1200, 300, cost=12.5, model=model)
        end = START + timedelta(hours=index)
        report = make_report(f"s{index}", end=end, agents=[usage], model=model)
        save_report(report, folder)
    output = render80(lambda c: render_listing(list_reports(folder), c))
    for model in LONG_MODELS[:2]:
        assert model in output
    assert output.count("token_usage_") == 2
    assert output.count("$12.5000") == 2


def test_report_listing_wraps_a_model_name_too_long_for_80_columns(tmp_path: Path) -> None:
    folder = tmp_path / "memory-bank" / "token-reports"
    model = "bedrock/arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.x"
    usage = agent("projectbrief", 1200, 300, cost=12.5, model=model)
    save_report(make_report("s0", end=START, agents=[usage], model=model), folder)

    output = render80(lambda c: render_listing(list_reports(folder), c))

    lines = output.splitlines()
    assert max(len(line) for line in lines) <= 80
    column = lines[0].index("Model")
    pieces = [line[column:].split("  ")[0] for line in lines[2:5]]
    assert "".join(pieces) == model
    assert output.count("$12.5000") == 1


# --- stats and trends through the CLI -------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "shop"
    path.mkdir()
    return path


def _seed(project: Path, *, source: str = "llm", tokens: tuple[int, int] = (900, 150)) -> None:
    start = datetime.now(UTC) - timedelta(minutes=20)
    report, requests = make_session(
        project, start, [AgentSpec("projectbrief", *tokens, 0.0004, requests=1)], source=source
    )
    with Ledger() as ledger:
        ledger.insert_report(report, requests)


def test_tokens_per_request_leave_out_manual_entries_of_unknown_request_count(
    project: Path,
) -> None:
    _seed(project)
    added = invoke(project, "tokens", "add", "--input", "12000", "--output", "600")
    assert added.exit_code == 0, added.output
    result = invoke(project, "tokens", "stats", "--json")
    stats = json.loads(result.output)
    assert stats["total_tokens"] == 13650
    assert stats["requests"] == 1
    assert stats["average_tokens_per_request"] == 1050
    assert "1,050" in invoke(project, "tokens", "stats").output


def test_stats_count_offline_runs_only_with_include_offline(project: Path) -> None:
    _seed(project)
    _seed(project, source="offline", tokens=(5000, 1000))
    plain = invoke(project, "tokens", "stats")
    assert "offline runs excluded" in plain.output
    assert json.loads(invoke(project, "tokens", "stats", "--json").output)["total_tokens"] == 1050
    both = invoke(project, "tokens", "stats", "--include-offline", "--json")
    assert json.loads(both.output)["total_tokens"] == 7050
    assert "offline runs included" in invoke(project, "tokens", "stats", "--include-offline").output


def test_empty_ledger_says_no_data(project: Path) -> None:
    trends = invoke(project, "tokens", "trends")
    assert trends.exit_code == 0
    assert "no data" in trends.output
    assert "TOTAL" not in trends.output
    stats = invoke(project, "tokens", "stats")
    assert "no data" in stats.output
    sessions = invoke(project, "tokens", "sessions")
    assert "no data" in sessions.output
