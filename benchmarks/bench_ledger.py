"""Benchmark the SQLite ledger: batch inserts of 1,000,000 request rows, then the history queries.

Run: ``python benchmarks/bench_ledger.py [--rows 1000000] [--keep PATH]``

The dataset: sessions of 5 agents x 10 requests (50 rows each) spread evenly over the last 90
days, over 3 projects, 7 branches and 3 models; one session in 20 is offline. Rows are inserted
200 sessions (10,000 rows) per transaction with ``Ledger.insert_reports``; building the pydantic
objects is not timed, the ledger's work (row tuples, SQL, indexes, commit) is.

Each query is timed twice (best of 5): the SQL aggregation the table needs, and the whole command
as the CLI runs it (the table plus every insight: window totals, branch/agent/model breakdowns,
week-over-week). Beside them, the same aggregation in pure Python over the rows already loaded in
memory; loading them is timed separately, since a tool without the ledger would pay it on every
run. Targets: insert at least 100,000 rows/s; each command under 0.5 s.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from token_tracking.history.clock import window_start
from token_tracking.history.ledger import Ledger, project_key
from token_tracking.history.limits import limits_status
from token_tracking.history.models import Filters
from token_tracking.history.trends import breakdown, compute_trends, periods
from token_tracking.records import AgentUsage, GitInfo, RequestUsage
from token_tracking.reports.file import TokenUsageReport
from token_tracking.settings import load_settings

AGENTS = (
    "projectbrief",
    "productContext",
    "systemPatterns",
    "techContext",
    "activeContext",
    "progress",
)
BRANCHES = ("main", "feature/a", "feature/b", "fix/c", "feature/d", "spike/e", "release/f")
MODELS = ("gpt-4o-mini", "gpt-4o", "claude-3-5-sonnet-20241022")
REQUESTS_PER_AGENT = 10
AGENTS_PER_SESSION = 5
ROWS_PER_SESSION = REQUESTS_PER_AGENT * AGENTS_PER_SESSION
SESSIONS_PER_BATCH = 200


def build_session(
    index: int, total: int, now: datetime, projects: list[Path]
) -> tuple[TokenUsageReport, list[RequestUsage]]:
    """Return session ``index`` of ``total``: 5 agents x 10 requests, evenly spread over 90 days."""
    start = now - timedelta(days=90) + timedelta(seconds=index * (90 * 86400 - 3600) / total)
    model = MODELS[index % len(MODELS)]
    offline = index % 20 == 0
    requests: list[RequestUsage] = []
    agents: list[AgentUsage] = []
    moment = start
    for a in range(AGENTS_PER_SESSION):
        name = AGENTS[(index + a) % len(AGENTS)]
        agent_start = moment
        for _ in range(REQUESTS_PER_AGENT):
            moment += timedelta(seconds=3)
            requests.append(
                RequestUsage.model_construct(
                    timestamp=moment, agent_name=name, model="offline" if offline else model,
                    prompt_tokens=1200, completion_tokens=300, cached_tokens=400,
                    cache_write_tokens=None, reasoning_tokens=None, requests=1,
                    duration_seconds=3.0, cost_usd=0.0 if offline else 0.00036,
                    cost_is_actual=False, iteration=None, metadata={},
                )
            )  # fmt: skip
        agents.append(
            AgentUsage.model_construct(
                agent_name=name, prompt_tokens=12000, completion_tokens=3000, total_tokens=15000,
                model=model, start_time=agent_start, end_time=moment,
                duration_seconds=(moment - agent_start).total_seconds(), success=True, error=None,
                cached_tokens=4000, cache_write_tokens=None, reasoning_tokens=None, requests=10,
                cost_usd=0.0 if offline else 0.0036, output_file=None,
            )
        )  # fmt: skip
    report = TokenUsageReport.model_construct(
        session_id=f"bench-{index:07d}", project_path=str(projects[index % len(projects)]),
        model="offline" if offline else model, command="update", start_time=start, end_time=moment,
        total_duration_seconds=(moment - start).total_seconds(), total_prompt_tokens=60000,
        total_completion_tokens=15000, total_tokens=75000,
        total_cost_usd=0.0 if offline else 0.018, successful_agents=5, failed_agents=0,
        agent_usage=agents, schema_version=1, total_cached_tokens=20000,
        total_cache_write_tokens=None, total_reasoning_tokens=None, total_requests=50,
        status="success", agents_not_run=[], source="offline" if offline else "llm",
        git=GitInfo(branch=BRANCHES[index % 7], user_email=f"dev{index % 4}@example.com"),
        pricing=None, priced_coverage=1.0, intervals=[], tool_version="bench",
    )  # fmt: skip
    return report, requests


def best_of(function: Callable[[], Any], runs: int = 5) -> tuple[float, Any]:
    """Return the fastest of ``runs`` timings (seconds) and the last result."""
    best = float("inf")
    result: Any = None
    for _ in range(runs):
        started = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - started)
    return best, result


def python_by_day(
    rows: list[tuple[Any, ...]], project: str | None, start_us: int
) -> dict[str, list[float]]:
    """Tokens, cost and sessions per local day, in pure Python (what trends --by day computes)."""
    days: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    sessions: dict[str, set[int]] = defaultdict(set)
    for ts, row_project, _branch, session, tokens, cost, source in rows:
        if (project is not None and row_project != project) or ts < start_us or source == "offline":
            continue
        key = datetime.fromtimestamp(ts / 1e6).date().isoformat()
        totals = days[key]
        totals[0] += tokens
        totals[1] += cost
        sessions[key].add(session)
    return days


def python_by_branch(
    rows: list[tuple[Any, ...]], project: str, start_us: int
) -> dict[str, list[float]]:
    """Tokens and cost per branch, in pure Python (what trends --by branch computes)."""
    branches: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    sessions: dict[str, set[int]] = defaultdict(set)
    for ts, row_project, branch, session, tokens, cost, source in rows:
        if row_project != project or ts < start_us or source == "offline":
            continue
        totals = branches[branch]
        totals[0] += tokens
        totals[1] += cost
        sessions[branch].add(session)
    return branches


def python_limits(rows: list[tuple[Any, ...]], now_us: int) -> tuple[int, int, int, int]:
    """Requests and tokens of the last hour and day, all projects, offline excluded."""
    hour, day = now_us - 3600 * 10**6, now_us - 86400 * 10**6
    hour_rows = day_rows = hour_tokens = day_tokens = 0
    for ts, _project, _branch, _session, tokens, _cost, source in rows:
        if source == "offline" or ts < day:
            continue
        day_rows += 1
        day_tokens += tokens
        if ts >= hour:
            hour_rows += 1
            hour_tokens += tokens
    return hour_rows, day_rows, hour_tokens, day_tokens


def python_latest_sessions(sessions: list[tuple[Any, ...]], project: str) -> list[tuple[Any, ...]]:
    """The 10 latest sessions of a project, in pure Python."""
    mine = [row for row in sessions if row[1] == project]
    return sorted(mine, key=lambda row: row[2], reverse=True)[:10]


def batches(
    total_sessions: int, now: datetime, projects: list[Path]
) -> Iterator[list[tuple[TokenUsageReport, list[RequestUsage]]]]:
    for first in range(0, total_sessions, SESSIONS_PER_BATCH):
        last = min(first + SESSIONS_PER_BATCH, total_sessions)
        yield [build_session(i, total_sessions, now, projects) for i in range(first, last)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="request rows to insert")
    parser.add_argument("--keep", type=Path, help="write the ledger here instead of a temp dir")
    args = parser.parse_args()
    total_sessions = args.rows // ROWS_PER_SESSION
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        projects = [folder / f"project-{n}" for n in range(3)]
        for project in projects:
            project.mkdir()
        path = args.keep if args.keep is not None else folder / "ledger.sqlite3"
        now = datetime.now(UTC)
        insert_seconds = 0.0
        with Ledger(path) as ledger:
            for batch in batches(total_sessions, now, projects):
                started = time.perf_counter()
                ledger.insert_reports(batch)
                insert_seconds += time.perf_counter() - started
            rows = total_sessions * ROWS_PER_SESSION
            print(f"Inserted {rows:,} request rows ({total_sessions:,} sessions) in "
                  f"{insert_seconds:.1f} s: {rows / insert_seconds:,.0f} rows/s "
                  f"(target >= 100,000); file {path.stat().st_size / 1e6:,.0f} MB")  # fmt: skip

            project = project_key(projects[1])
            start = window_start(30, now=now)
            assert start is not None
            start_us = int(start.timestamp() * 10**6)
            settings = load_settings({})

            load_s, loaded = best_of(
                lambda: ledger.connection.execute(
                    "SELECT u.ts_us, c.project, c.branch, u.session_pk, u.total_tokens, "
                    "u.cost_usd, c.source FROM usage_rows u JOIN contexts c ON c.id = u.context_id"
                ).fetchall(),
                runs=1,
            )
            sessions_rows = ledger.connection.execute(
                "SELECT session_id, project, end_us FROM sessions"
            ).fetchall()
            print(f"Loading every row into Python for the pure-Python column: {load_s:.2f} s")

            filters = Filters(project=project, start=start)
            cases = [
                (
                    "trends --by day",
                    lambda: periods(ledger, filters, "day"),
                    lambda: compute_trends(ledger, days=30, by="day", project=project, now=now),
                    lambda: python_by_day(loaded, project, start_us),
                ),
                (
                    "trends --by branch",
                    lambda: breakdown(ledger, filters, "branch"),
                    lambda: compute_trends(ledger, days=30, by="branch", project=project, now=now),
                    lambda: python_by_branch(loaded, project, start_us),
                ),
                (
                    "trends --by day --all-projects (3x the rows)",
                    lambda: periods(ledger, Filters(start=start), "day"),
                    lambda: compute_trends(ledger, days=30, by="day", now=now),
                    lambda: python_by_day(loaded, None, start_us),
                ),
                (
                    "sessions --limit 10",
                    lambda: ledger.sessions(project=project, limit=10),
                    lambda: ledger.sessions(project=project, limit=10),
                    lambda: python_latest_sessions(sessions_rows, project),
                ),
                (
                    "limits",
                    lambda: ledger.window_totals(Filters(start=now - timedelta(days=1))),
                    lambda: limits_status(ledger, settings, now=now),
                    lambda: python_limits(loaded, int(now.timestamp() * 10**6)),
                ),
            ]
            print()
            print(
                "| query (30-day window; one project of three unless said) "
                "| SQLite aggregation (s) | whole command: table + insights (s) "
                "| same aggregation in pure Python over rows already in memory (s) |"
            )
            print("|---|---|---|---|")
            for name, aggregation, command, python in cases:
                aggregation_s, _ = best_of(aggregation)
                command_s, _ = best_of(command)
                python_s, _ = best_of(python, runs=3)
                print(f"| {name} | {aggregation_s:.3f} | {command_s:.3f} | {python_s:.3f} |")
            check = compute_trends(ledger, days=30, by="day", project=project, now=now)
            python_days = python_by_day(loaded, project, start_us)
            assert check.totals.total_tokens == sum(int(v[0]) for v in python_days.values())
            window = ledger.window_totals(Filters(project=project, start=start))
            assert window.total_tokens == check.totals.total_tokens


if __name__ == "__main__":
    main()
