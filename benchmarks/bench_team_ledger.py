"""Benchmark the ledger on PostgreSQL beside SQLite: inserts with 1 and 8 writers, then queries.

Run: ``python benchmarks/bench_team_ledger.py [--rows 1000000]`` on a machine with Debian's
``postgresql`` package (the server is started here on a loopback port, as in the tests).

The dataset is :mod:`bench_ledger`'s (sessions of 5 agents x 10 requests over 90 days, 3 projects,
7 branches, 3 models). Inserts are timed from ready report objects to commit, 200 sessions per
transaction; with 8 writers, 8 processes each insert an eighth of the sessions at once (on SQLite
they queue on the file's write lock, on PostgreSQL on the ledger's advisory lock). Each query is
the whole command's work as the CLI does it (best of 5). Target: each query under 0.5 s.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_ledger import ROWS_PER_SESSION, SESSIONS_PER_BATCH, best_of, build_session

from tests.support.postgres import start_server
from token_tracking.history.ledger import Ledger, project_key
from token_tracking.history.limits import limits_status
from token_tracking.history.trends import compute_trends
from token_tracking.settings import load_settings

WRITERS = 8


def _insert(
    target: dict[str, Any], sessions: range, total: int, now: datetime, projects: list[Path]
) -> float:
    """Insert the given sessions in batches; return the seconds spent inside the ledger."""
    spent = 0.0
    with Ledger(**target) as ledger:
        for first in range(sessions.start, sessions.stop, SESSIONS_PER_BATCH):
            last = min(first + SESSIONS_PER_BATCH, sessions.stop)
            batch = [build_session(i, total, now, projects) for i in range(first, last)]
            started = time.perf_counter()
            ledger.insert_reports(batch)
            spent += time.perf_counter() - started
    return spent


def _writer(
    target: dict[str, Any], first: int, last: int, total: int, now: datetime, projects: list[str]
) -> None:
    _insert(target, range(first, last), total, now, [Path(p) for p in projects])


def _parallel(target: dict[str, Any], total: int, now: datetime, projects: list[Path]) -> float:
    """Insert every session with 8 processes at once; return the wall time."""
    context = multiprocessing.get_context("fork")
    share = -(-total // WRITERS)
    workers = [
        context.Process(
            target=_writer,
            args=(
                target,
                n * share,
                min(total, (n + 1) * share),
                total,
                now,
                [str(p) for p in projects],
            ),
        )
        for n in range(WRITERS)
    ]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return time.perf_counter() - started


def _build_seconds(total: int, now: datetime, projects: list[Path]) -> float:
    """Time spent building the report objects alone (subtracted from the 8-writer wall time)."""
    started = time.perf_counter()
    for index in range(total):
        build_session(index, total, now, projects)
    return time.perf_counter() - started


def _queries(target: dict[str, Any], now: datetime, projects: list[Path]) -> dict[str, float]:
    project = project_key(projects[1])
    settings = load_settings({})
    with Ledger(**target) as ledger:
        cases = {
            "trends --by day": lambda: compute_trends(
                ledger, days=30, by="day", project=project, now=now
            ),
            "trends --by user": lambda: compute_trends(
                ledger, days=30, by="user", project=project, now=now
            ),
            "trends --by day --all-projects": lambda: compute_trends(
                ledger, days=30, by="day", now=now
            ),
            "sessions --limit 10": lambda: ledger.sessions(project=project, limit=10),
            "limits": lambda: limits_status(ledger, settings, now=now),
        }
        return {name: best_of(case)[0] for name, case in cases.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="request rows to insert")
    args = parser.parse_args()
    total = args.rows // ROWS_PER_SESSION
    rows = total * ROWS_PER_SESSION
    server = start_server()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            projects = [folder / f"project-{n}" for n in range(3)]
            for project in projects:
                project.mkdir()
            now = datetime.now(UTC) - timedelta(minutes=1)
            build_s = _build_seconds(total, now, projects) / WRITERS
            results: dict[str, dict[str, float]] = {}
            for name, one, many in (
                ("SQLite", {"path": folder / "one.sqlite3"}, {"path": folder / "many.sqlite3"}),
                (
                    "PostgreSQL",
                    {"url": server.create_database()},
                    {"url": server.create_database()},
                ),
            ):
                single = _insert(one, range(total), total, now, projects)
                parallel = _parallel(many, total, now, projects) - build_s
                figures = {
                    "insert, 1 writer (rows/s)": rows / single,
                    "insert, 8 writers (rows/s)": rows / parallel,
                }
                figures.update(_queries(one, now, projects))
                results[name] = figures
            print(f"{rows:,} request rows; {os.cpu_count()} cores; load {os.getloadavg()[0]:.2f}")
            print()
            print("| figure | SQLite | PostgreSQL | target |")
            print("|---|---|---|---|")
            for figure in results["SQLite"]:
                lite, pg = results["SQLite"][figure], results["PostgreSQL"][figure]
                if "rows/s" in figure:
                    print(f"| {figure} | {lite:,.0f} | {pg:,.0f} | — |")
                else:
                    holds = "holds" if pg < 0.5 and lite < 0.5 else "falls short"
                    print(f"| {figure} (s) | {lite:.3f} | {pg:.3f} | < 0.5 s: {holds} |")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
