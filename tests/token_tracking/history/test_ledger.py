"""The SQLite ledger on real files: migrations, exact totals, idempotence, concurrency."""

from __future__ import annotations

import multiprocessing
import sqlite3
import time
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.ledger_factory import AgentSpec, make_session, use_timezone
from token_tracking.errors import AmbiguousSessionError, LedgerError, SessionNotFoundError
from token_tracking.history.ledger import Ledger, project_key
from token_tracking.history.migrations import SCHEMA_VERSION, migrate
from token_tracking.history.models import Filters
from token_tracking.records import AgentUsage, RequestUsage
from token_tracking.reports.file import TokenUsageReport
from token_tracking.settings import default_db_path

BOTH_LEDGERS = pytest.mark.usefixtures("each_ledger_backend")
"""Runs a test on the SQLite file and on PostgreSQL (tests/conftest.py)."""

START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def local_timezone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run the test with local time in Europe/Berlin."""
    with use_timezone(monkeypatch, "Europe/Berlin"):
        yield


def _tables(db: sqlite3.Connection) -> set[str]:
    rows = db.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'index', 'view')")
    return {row[0] for row in rows if not row[0].startswith("sqlite_")}


def test_default_path_comes_from_the_environment(tmp_path: Path) -> None:
    assert default_db_path({"TOKEN_TRACKING_DB_PATH": str(tmp_path / "x.db")}) == tmp_path / "x.db"
    fallback = default_db_path({})
    assert fallback.name == "ledger.sqlite3"
    assert "memory-banker" in fallback.parts


def test_ledger_uses_token_tracking_db_path(isolated_environment: Path) -> None:
    with Ledger() as ledger:
        assert ledger.path == isolated_environment / "ledger.sqlite3"
    assert (isolated_environment / "ledger.sqlite3").is_file()


def test_migrations_from_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    with Ledger(path) as ledger:
        assert ledger.schema_version() == SCHEMA_VERSION
        db = ledger.connection
        versions = [row[0] for row in db.execute("SELECT version FROM schema_migrations")]
        assert versions == list(range(1, SCHEMA_VERSION + 1))
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA busy_timeout").fetchone()[0] == 30000
        assert {
            "sessions",
            "agent_runs",
            "usage_rows",
            "contexts",
            "usage",
            "usage_rows_by_time",
            "usage_rows_by_context_time",
            "usage_rows_by_model_time",
            "usage_rows_by_session",
            "contexts_by_value_and_machine",
            "contexts_by_branch",
            "sessions_by_project_end",
        } <= _tables(db)
    # Opening again applies nothing.
    with Ledger(path) as ledger:
        assert migrate(ledger.connection) == []


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    Ledger(path).close()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("INSERT INTO schema_migrations VALUES (99, 'future', 'x')")
    db.close()
    with pytest.raises(LedgerError, match="schema version 99"):
        Ledger(path)


def test_a_file_that_is_not_a_database_is_a_ledger_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(LedgerError, match="cannot use the ledger"):
        Ledger(path)


@BOTH_LEDGERS
def test_a_session_with_three_agents_lands_with_exact_totals(tmp_path: Path) -> None:
    report, requests = make_session(
        tmp_path,
        START,
        [
            AgentSpec("projectbrief", 1200, 300, 0.0012, requests=2, cached=400),
            AgentSpec("productContext", 2500, 700, 0.0031, requests=3),
            AgentSpec("systemPatterns", 900, 100, None, model="mystery-model"),
        ],
    )
    with Ledger() as ledger:
        assert ledger.insert_report(report, requests) is True
        (session,) = ledger.sessions(project=None)
        assert session.session_id == report.session_id
        assert session.project == str(tmp_path.resolve())
        assert (session.prompt_tokens, session.completion_tokens, session.total_tokens) == (
            4600,
            1100,
            5700,
        )
        assert session.requests == 6
        assert session.cost_usd == pytest.approx(0.0043, rel=1e-9)
        assert session.branch == "main"
        assert session.user == "dev@example.com"
        totals = ledger.session_totals(report.session_id)
        assert totals.total_tokens == 5700
        assert totals.requests == 6
        assert totals.cached_tokens == 400
        assert totals.cost_usd == pytest.approx(0.0043, rel=1e-9)
        assert totals.priced_tokens == 1500 + 3200
        assert totals.priced_coverage == pytest.approx(4700 / 5700, rel=1e-9)
        runs = ledger.agent_runs()
        assert [(r.agent, r.total_tokens, r.requests) for r in runs] == [
            ("projectbrief", 1500, 2),
            ("productContext", 3200, 3),
            ("systemPatterns", 1000, 1),
        ]
        assert ledger.report(report.session_id) == report
        stored = ledger.session_requests(report.session_id)
        assert [r.model_dump() for r in stored] == [
            r.model_copy(update={"timestamp": r.timestamp.astimezone(UTC)}).model_dump()
            for r in requests
        ]


@BOTH_LEDGERS
def test_insert_is_idempotent_by_session_id(tmp_path: Path) -> None:
    report, requests = make_session(tmp_path, START, [AgentSpec("a", 100, 10, 0.001)])
    with Ledger() as ledger:
        assert ledger.insert_report(report, requests) is True
        assert ledger.insert_report(report, requests) is False
        count = ledger.connection.execute("SELECT COUNT(*) FROM usage_rows").fetchone()[0]
        assert count == 1
        assert ledger.session_ids() == {report.session_id}


@BOTH_LEDGERS
def test_a_report_without_requests_gets_one_derived_row_per_agent(tmp_path: Path) -> None:
    report, _ = make_session(
        tmp_path,
        START,
        [AgentSpec("a", 100, 10, 0.001), AgentSpec("b", 200, 20, None)],
        with_requests=False,
    )
    with Ledger() as ledger:
        ledger.insert_report(report)
        rows = ledger.connection.execute(
            "SELECT agent, total_tokens, cost_usd, derived FROM usage_rows ORDER BY id"
        ).fetchall()
        assert rows == [("a", 110, 0.001, 1), ("b", 220, None, 1)]


@BOTH_LEDGERS
def test_a_0_1_report_with_naive_times_reads_them_as_local_time(
    tmp_path: Path, local_timezone: None
) -> None:
    naive_start = datetime(2024, 12, 6, 14, 30, 22)
    report = TokenUsageReport(
        session_id="legacy-1",
        project_path=str(tmp_path),
        model="gpt-4o-mini",
        command="update",
        start_time=naive_start,
        end_time=naive_start + timedelta(seconds=30),
        total_duration_seconds=30.0,
        total_prompt_tokens=1000,
        total_completion_tokens=500,
        total_tokens=1500,
        total_cost_usd=0.0105,
        successful_agents=1,
        agent_usage=[
            AgentUsage(
                agent_name="projectbrief",
                prompt_tokens=1000,
                completion_tokens=500,
                total_tokens=1500,
                model="gpt-4o-mini",
                start_time=naive_start,
                end_time=naive_start + timedelta(seconds=30),
                success=True,
            )
        ],
    )
    with Ledger() as ledger:
        ledger.insert_report(report)
        (session,) = ledger.sessions()
        # Europe/Berlin is UTC+1 in December.
        assert session.start_time == datetime(2024, 12, 6, 13, 30, 22, tzinfo=UTC)
        assert session.requests is None


@BOTH_LEDGERS
def test_find_session_by_prefix_and_errors(tmp_path: Path) -> None:
    with Ledger() as ledger:
        for session_id in ("abc-111", "abc-222", "def-333"):
            report, requests = make_session(
                tmp_path, START, [AgentSpec("a", 1, 1)], session_id=session_id
            )
            ledger.insert_report(report, requests)
        assert ledger.find_session("def").session_id == "def-333"
        assert ledger.find_session("abc-222").session_id == "abc-222"
        with pytest.raises(AmbiguousSessionError, match="abc"):
            ledger.find_session("abc")
        with pytest.raises(SessionNotFoundError, match=r"^Session zzz not found$"):
            ledger.find_session("zzz")
        with pytest.raises(SessionNotFoundError):
            ledger.find_session("%")


@BOTH_LEDGERS
def test_intervals_span_three_boundaries_plus_a_partial_one(tmp_path: Path) -> None:
    # 5-minute intervals; requests at +1:00, +4:59, +5:00, +12:30, +16:00; the session ends at
    # +17:30, so intervals 1-3 are full and the 4th lasts 2:30.
    report, _ = make_session(tmp_path, START, [AgentSpec("a", 0, 0)], with_requests=False)
    offsets = [60, 299, 300, 750, 960]
    counts = [
        (100, 10, 0.001),
        (200, 20, 0.002),
        (300, 30, 0.003),
        (400, 40, None),
        (500, 50, 0.005),
    ]
    requests_usage = [
        RequestUsage(
            timestamp=START + timedelta(seconds=offset),
            agent_name="a",
            model="gpt-4o-mini",
            prompt_tokens=p,
            completion_tokens=c,
            cost_usd=cost,
        )
        for offset, (p, c, cost) in zip(offsets, counts, strict=True)
    ]
    report = report.model_copy(
        update={"end_time": START + timedelta(seconds=1050), "total_duration_seconds": 1050.0}
    )
    with Ledger() as ledger:
        ledger.insert_report(report, requests_usage)
        detail = ledger.session_detail(report.session_id[:8], 5)
    got = [
        (i.index, i.duration_seconds, i.prompt_tokens, i.completion_tokens, i.requests, i.cost_usd)
        for i in detail.intervals
    ]
    assert got == [
        (1, 300.0, 300, 30, 2, pytest.approx(0.003, rel=1e-9)),
        (2, 300.0, 300, 30, 1, pytest.approx(0.003, rel=1e-9)),
        (3, 300.0, 400, 40, 1, None),
        (4, 150.0, 500, 50, 1, pytest.approx(0.005, rel=1e-9)),
    ]
    assert [i.start for i in detail.intervals] == [
        START + timedelta(minutes=5 * n) for n in range(4)
    ]
    total = detail.total
    assert (total.duration_seconds, total.prompt_tokens, total.completion_tokens) == (
        1050.0,
        1500,
        150,
    )
    assert (total.total_tokens, total.requests, total.cost_usd) == (1650, 5, None)


@BOTH_LEDGERS
def test_prune_counts_then_removes_old_sessions(tmp_path: Path) -> None:
    old, old_requests = make_session(tmp_path, START - timedelta(days=100), [AgentSpec("a", 5, 5)])
    new, new_requests = make_session(tmp_path, START, [AgentSpec("a", 7, 7, requests=2)])
    with Ledger() as ledger:
        ledger.insert_report(old, old_requests)
        ledger.insert_report(new, new_requests)
        cutoff = START - timedelta(days=90)
        dry = ledger.prune(cutoff, dry_run=True)
        assert (dry.sessions, dry.agent_runs, dry.usage_rows, dry.dry_run) == (1, 1, 1, True)
        assert len(ledger.sessions(limit=None)) == 2
        done = ledger.prune(cutoff, dry_run=False)
        assert (done.sessions, done.agent_runs, done.usage_rows, done.dry_run) == (1, 1, 1, False)
        assert [s.session_id for s in ledger.sessions(limit=None)] == [new.session_id]
        rows = ledger.connection.execute("SELECT COUNT(*) FROM usage_rows").fetchone()[0]
        assert rows == 2


def test_project_key_is_the_git_root(tmp_path: Path) -> None:
    import subprocess

    repo = tmp_path / "repo"
    (repo / "sub").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    assert project_key(repo / "sub") == str(repo.resolve())
    assert project_key(tmp_path / "gone") == str((tmp_path / "gone").resolve())


def _writer(path: str, prefix: str, count: int, barrier: object) -> None:
    """Insert ``count`` sessions (2 agents, 3 requests each) into the ledger at ``path``.

    A failure is written to ``<path>.<prefix>.error`` (then raised) so the test can show it.
    """
    try:
        # Bounded: if the other process never starts, fail instead of waiting forever.
        barrier.wait(timeout=_WAIT_S)  # type: ignore[attr-defined]
        project = Path(path).parent
        with Ledger(Path(path)) as ledger:
            for index in range(count):
                report, requests = make_session(
                    project,
                    START + timedelta(minutes=index),
                    [AgentSpec("a", 100, 10, 0.001, requests=2), AgentSpec("b", 50, 5, 0.0005)],
                    session_id=f"{prefix}-{index:04d}",
                )
                if not ledger.insert_report(report, requests):
                    raise AssertionError(f"{prefix}-{index} was already there")
    except BaseException:
        Path(f"{path}.{prefix}.error").write_text(traceback.format_exc())
        raise


_WAIT_S = 120
"""Upper bound on each wait of the concurrency test (start-up, barrier, join) on a busy machine."""


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"  # fresh: both processes also race to migrate it
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    prefixes = ("left", "right")
    workers = [
        context.Process(target=_writer, args=(str(path), prefix, 200, barrier))
        for prefix in prefixes
    ]
    for worker in workers:
        worker.start()
    try:
        deadline = time.monotonic() + 2 * _WAIT_S
        for worker in workers:
            worker.join(timeout=max(0.0, deadline - time.monotonic()))
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.kill()
                worker.join(timeout=10)
    errors = [
        Path(f"{path}.{prefix}.error").read_text()
        for prefix in prefixes
        if Path(f"{path}.{prefix}.error").exists()
    ]
    assert errors == []
    assert [worker.exitcode for worker in workers] == [0, 0]
    with Ledger(path) as ledger:
        assert len(ledger.session_ids()) == 400
        totals = ledger.window_totals(Filters())
        assert totals.sessions == 400
        assert totals.requests == 400 * 3
        assert totals.total_tokens == 400 * 165
        assert totals.cost_usd == pytest.approx(400 * 0.0015, rel=1e-9)
        versions = ledger.connection.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()
        assert versions == (SCHEMA_VERSION,)


@BOTH_LEDGERS
def test_insert_reports_writes_a_batch_in_one_transaction(tmp_path: Path) -> None:
    sessions = [
        make_session(tmp_path, START + timedelta(minutes=n), [AgentSpec("a", 10, n)])
        for n in range(3)
    ]
    with Ledger() as ledger:
        assert ledger.insert_reports(sessions[:2]) == 2
        assert ledger.insert_reports(sessions) == 1  # the first two are already there
        assert ledger.window_totals(Filters()).total_tokens == 30 + 0 + 1 + 2


@BOTH_LEDGERS
def test_grouping_by_branch_merges_the_contexts_of_a_branch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions = (("init", "a@x", 10), ("update", "b@x", 20), ("update", "a@x", 40))
    for command, user, tokens in sessions:
        monkeypatch.setenv("TOKEN_TRACKING_USER", user)
        report, requests = make_session(tmp_path, START, [AgentSpec("a", tokens, 0, 0.01)])
        with Ledger() as ledger:
            ledger.insert_report(report.model_copy(update={"command": command}), requests)
    with Ledger() as ledger:
        contexts = ledger.connection.execute("SELECT COUNT(*) FROM contexts").fetchone()[0]
        assert contexts == 3
        by_branch = dict(ledger.grouped("branch", Filters()))
        assert (by_branch["main"].sessions, by_branch["main"].total_tokens) == (3, 70)
        assert by_branch["main"].cost_usd == pytest.approx(0.03, rel=1e-9)
        by_command = {k: v.total_tokens for k, v in ledger.grouped("command", Filters())}
        assert by_command == {"init": 10, "update": 60}
        by_user = {k: v.sessions for k, v in ledger.grouped("user", Filters())}
        assert by_user == {"a@x": 2, "b@x": 1}
        with pytest.raises(LedgerError, match="cannot group"):
            ledger.grouped("colour", Filters())  # type: ignore[arg-type]
