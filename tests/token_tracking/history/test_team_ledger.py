"""The team ledger on PostgreSQL: many writers, sync from the local file, who recorded each row,
and a server that is down or misconfigured never costing a run its usage."""

from __future__ import annotations

import getpass
import logging
import multiprocessing
import socket
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from tests.support.ledger_factory import AgentSpec, make_session
from tests.support.postgres import PostgresServer
from token_tracking.errors import LedgerError, SettingError
from token_tracking.history.database import Database
from token_tracking.history.ledger import Ledger
from token_tracking.history.migrations import SCHEMA_VERSION, migrate
from token_tracking.history.models import Filters
from token_tracking.history.record import record_in_ledger
from token_tracking.history.sync import SyncResult, sync

START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
WRITERS = 16
SESSIONS_PER_WRITER = 100


def _fill(ledger: Ledger, project: Path, count: int, *, offset: int = 0) -> int:
    """Insert ``count`` sessions of two agents (3 + 2 requests); return their total tokens."""
    total = 0
    for number in range(offset, offset + count):
        agents = [
            AgentSpec("a", 300 + number, 30, 0.01, requests=3),
            AgentSpec("b", 200, 20, 0.02, requests=2),
        ]
        report, requests = make_session(project, START + timedelta(minutes=number), agents)
        assert ledger.insert_report(report, requests)
        total += 300 + number + 30 + 200 + 20
    return total


def _writer(url: str, project: str, worker: int) -> None:
    """Insert this worker's sessions, one request each, one transaction per session."""
    with Ledger(url=url) as ledger:
        for number in range(worker * SESSIONS_PER_WRITER, (worker + 1) * SESSIONS_PER_WRITER):
            agents = [AgentSpec("a", 300 + number, 30, 0.01)]
            report, requests = make_session(Path(project), START, agents)
            assert ledger.insert_report(report, requests)


def test_sixteen_processes_writing_to_a_fresh_database_lose_nothing(
    postgres_url: str, tmp_path: Path
) -> None:
    # Fresh database: every process also races to migrate it (advisory lock).
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_writer, args=(postgres_url, str(tmp_path), worker))
        for worker in range(WRITERS)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    assert [worker.exitcode for worker in workers] == [0] * WRITERS

    count = WRITERS * SESSIONS_PER_WRITER
    expected = sum(300 + n + 30 for n in range(count))
    with Ledger(url=postgres_url) as ledger:
        totals = ledger.window_totals(Filters(project=str(tmp_path)))
        counts = (totals.sessions, totals.requests, totals.total_tokens)
        assert counts == (count, count, expected)
        assert totals.cost_usd == pytest.approx(count * 0.01, rel=1e-9)
        versions = ledger.connection.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()
        assert versions[0] == ledger.schema_version()


def test_sync_sends_each_request_row_once(postgres_url: str, tmp_path: Path) -> None:
    local_path = tmp_path / "local.sqlite3"
    with Ledger(local_path) as local:
        tokens = _fill(local, tmp_path, 3)
    with Ledger(local_path) as local, Ledger(url=postgres_url) as team:
        first = sync(local, team)
        second = sync(local, team)
        totals = team.window_totals(Filters())

    assert first == SyncResult(sent=15, already_there=0, sessions=3)
    assert second == SyncResult(sent=0, already_there=15, sessions=3)
    assert (totals.sessions, totals.requests, totals.total_tokens) == (3, 15, tokens)


def test_a_session_that_grew_since_the_last_sync_is_completed(
    postgres_url: str, tmp_path: Path
) -> None:
    local_path = tmp_path / "local.sqlite3"
    report, requests = make_session(tmp_path, START, [AgentSpec("a", 300, 30, 0.03, requests=3)])
    with Ledger(local_path) as local:
        local.insert_report(report, requests[:2])
    with Ledger(local_path) as local, Ledger(url=postgres_url) as team:
        assert sync(local, team).sent == 2
    # The session grows in the local ledger (as an imported coding-agent session does).
    with Ledger(local_path) as local:
        db = local.connection
        pk = db.execute("SELECT id FROM sessions").fetchone()[0]
        context = db.execute("SELECT context_id FROM usage_rows LIMIT 1").fetchone()[0]
        db.execute(
            "INSERT INTO usage_rows (session_pk, context_id, ts_us, agent, model, prompt_tokens, "
            "completion_tokens, total_tokens, requests, cost_usd, cost_is_actual, derived) "
            "VALUES (?, ?, ?, 'a', 'gpt-4o-mini', 100, 10, 110, 1, 0.01, 0, 0)",
            (pk, context, 1_800_000_000_000_000),
        )
    with Ledger(local_path) as local, Ledger(url=postgres_url) as team:
        assert sync(local, team) == SyncResult(sent=1, already_there=2, sessions=1)
        totals = team.window_totals(Filters())
    assert (totals.requests, totals.total_tokens) == (3, 330)


def _syncer(local: str, url: str) -> None:
    with Ledger(Path(local)) as source, Ledger(url=url) as target:
        sync(source, target)


def test_two_syncs_at_once_send_nothing_twice(postgres_url: str, tmp_path: Path) -> None:
    local_path = tmp_path / "local.sqlite3"
    with Ledger(local_path) as local:
        tokens = _fill(local, tmp_path, 20)
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_syncer, args=(str(local_path), postgres_url)) for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0, 0]
    with Ledger(url=postgres_url) as team:
        totals = team.window_totals(Filters())
        rows = team.connection.execute("SELECT COUNT(*) FROM usage_rows").fetchone()[0]
    assert (totals.sessions, rows, totals.total_tokens) == (20, 100, tokens)


def test_rows_record_the_user_and_the_machine(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOKEN_TRACKING_USER", "ana")
    with Ledger(url=postgres_url) as ledger:
        _fill(ledger, tmp_path, 1)
    monkeypatch.delenv("TOKEN_TRACKING_USER")
    with Ledger(url=postgres_url) as ledger:
        _fill(ledger, tmp_path, 1, offset=1)
        by_user = {key: value.sessions for key, value in ledger.grouped("user", Filters())}
        by_machine = {key: value.sessions for key, value in ledger.grouped("machine", Filters())}
    assert by_user == {"ana": 1, getpass.getuser(): 1}
    assert by_machine == {socket.gethostname(): 2}


def test_an_unreachable_server_sends_the_session_to_the_local_ledger(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    isolated_environment: Path,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("TOKEN_TRACKING_DB_URL", f"postgresql://team:s3cret-pw@127.0.0.1:{port}/db")
    report, requests = make_session(tmp_path, START, [AgentSpec("a", 100, 10, 0.01)])

    with caplog.at_level(logging.WARNING):
        assert record_in_ledger(report, requests)

    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert message.startswith(f"cannot reach the ledger postgresql://team@127.0.0.1:{port}/db: ")
    assert f"session {report.session_id} was recorded in the local ledger" in message
    assert "tokens sync --to URL" in message
    assert "s3cret-pw" not in caplog.text
    with Ledger(isolated_environment / "ledger.sqlite3") as local:
        assert local.has_session(report.session_id)


def test_a_url_that_is_not_postgresql_is_a_setting_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKEN_TRACKING_DB_URL", "mysql://root:pw@db/ledger")
    with pytest.raises(SettingError) as raised:
        Ledger()
    assert str(raised.value) == (
        "TOKEN_TRACKING_DB_URL must be a postgresql:// URL, got 'mysql://…'"
    )


def test_a_missing_driver_names_the_extra(
    postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(LedgerError) as raised:
        Ledger(url=postgres_server.url(password="hunter2"))
    message = str(raised.value)
    assert message == (
        f"the ledger postgresql://ledger_admin@127.0.0.1:{postgres_server.port}/postgres is on "
        'PostgreSQL, which needs the driver: pip install "memory-banker[postgres]"'
    )


def _pg_shape(url: str) -> dict[str, list[tuple[str, str]]]:
    """Every table's columns with their types, and every index's definition, of a database."""
    with psycopg.connect(url) as connection:
        columns = connection.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'public' ORDER BY table_name, column_name"
        ).fetchall()
        indexes = connection.execute(
            "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = 'public' "
            "ORDER BY tablename, indexname"
        ).fetchall()
    shape: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in columns:
        shape.setdefault(table, []).append((column, kind))
    for table, definition in indexes:
        shape.setdefault(f"index {table}", []).append(("", definition))
    return shape


def test_every_earlier_schema_migrates_to_the_fresh_one(postgres_server: PostgresServer) -> None:
    fresh = postgres_server.create_database()
    Ledger(url=fresh).close()
    for version in range(1, SCHEMA_VERSION):
        url = postgres_server.create_database()
        database = Database.postgresql(url)
        try:
            assert migrate(database, target=version) == list(range(1, version + 1))
        finally:
            database.close()
        with Ledger(url=url) as ledger:
            assert ledger.schema_version() == SCHEMA_VERSION
        assert _pg_shape(url) == _pg_shape(fresh), f"from version {version}"
    with psycopg.connect(fresh) as connection:
        assert connection.execute("SELECT COUNT(*) FROM schema_migrations").fetchone() == (
            SCHEMA_VERSION,
        )
