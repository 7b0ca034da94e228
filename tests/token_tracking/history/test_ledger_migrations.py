"""Ledger migrations are append-only: every committed step is frozen, and files made by each
earlier schema migrate forward with their rows."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.ledger_factory import AgentSpec, make_first_form_ledger, make_session
from token_tracking.history.database import Database
from token_tracking.history.ledger import Ledger
from token_tracking.history.migrations import MIGRATIONS, SCHEMA_VERSION, Migration, migrate
from token_tracking.history.models import Filters

START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
"""A time after the rows of the first-form files."""

# The checksum of every committed migration. A mismatch means a committed step was edited:
# ledger files made with it exist, so undo the edit and append a new step instead.
FROZEN = {
    1: "2b5b5664a97f0734d61ad2c490d23f205fc0a29c454b8cd5df1e8d112c5296d0",  # 420f2d0
    2: "d37cc9d78bea0e9119e1ca0adfa80143c805031c07ca956fe2c3663c6e5026fe",  # 420f2d0
    3: "af6840641f0c318399329b2a07d38f28f2489808b3c97db53d34b9af03c08f3a",
    4: "520b1f2c9a2eaa738b51269f497a90b2ded4cff0642a7f540c96b0e1fef402a8",
    5: "12c70a56c14af690271013534695863ddb0c0631cc9e0b9c02d3ca7c42c0ab57",
    6: "fd1a82f9f658aa368cc129939dd82cc652cd5d22cae821714d72f36cb846b804",
    7: "8448d1dec4e274e38f818b6f9e35bfe539df84553f21838be06298479b57abd8",
    8: "a9e24509fc63e702fc6ad82d463b4549c3d98b25640f9e106649369246540020",
    9: "f7136a3a36b609e273a3b24eb76db559490e021c4fe6f71041d67432294b0e0c",
}


def _checksum(migration: Migration) -> str:
    postgresql = migration.postgresql or ()
    text = "\x00".join(
        (str(migration.version), migration.description, *migration.statements, *postgresql)
    )
    return hashlib.sha256(text.encode()).hexdigest()


def test_committed_migrations_are_never_edited() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    # A new step gets its checksum added here; an old one's never changes.
    assert {m.version: _checksum(m) for m in MIGRATIONS} == FROZEN
    assert SCHEMA_VERSION == 9


@pytest.mark.parametrize("version", [1, 2])
def test_a_file_of_the_first_committed_schema_migrates_with_its_rows(
    tmp_path: Path, version: int
) -> None:
    path = tmp_path / f"v{version}.sqlite3"
    make_first_form_ledger(path, version=version)
    with Ledger(path) as ledger:
        db = ledger.connection
        versions = [row[0] for row in db.execute("SELECT version FROM schema_migrations")]
        assert versions == list(range(1, SCHEMA_VERSION + 1))
        contexts = db.execute(
            "SELECT project, branch, user, command, source, machine FROM contexts ORDER BY id"
        ).fetchall()
        # Rows recorded before the machine column keep their session's user and no machine.
        assert contexts == [
            ("/p", "feature/a", None, "init", "llm", None),
            ("/p", "main", "dev@x", "update", "llm", None),
        ]
        totals = ledger.window_totals(Filters(project="/p"))
        assert (totals.sessions, totals.requests, totals.total_tokens) == (2, 4, 1380)
        assert totals.cost_usd == pytest.approx(0.75, rel=1e-9)
        assert totals.priced_tokens == 180
        by_branch = {key: value.total_tokens for key, value in ledger.grouped("branch", Filters())}
        assert by_branch == {"main": 180, "feature/a": 1200}
        by_user = {key: value.sessions for key, value in ledger.grouped("user", Filters())}
        assert by_user == {"dev@x": 1, None: 1}
        flat = db.execute(
            "SELECT session_id, utc, branch, git_commit, user, total_tokens, cost_is_actual, "
            "derived FROM usage ORDER BY id"
        ).fetchall()
        assert flat == [
            ("s-main", "1970-01-01 00:00:00", "main", "abc123", "dev@x", 120, 0, 0),
            ("s-main", "1970-01-01 00:00:01", "main", "abc123", "dev@x", 60, 1, 0),
            ("s-feature", "1970-01-01 00:00:05", "feature/a", "def456", None, 1200, 0, version - 1),
        ]
        # New sessions land beside the migrated ones, in a context of their own: they record
        # the machine, which the migrated rows never had.
        report, requests = make_session(
            Path("/p"), START, [AgentSpec("a", 7, 3, 0.01)], user="dev@x"
        )
        assert ledger.insert_report(report, requests)
        assert db.execute("SELECT COUNT(*) FROM contexts").fetchone() == (3,)
        assert ledger.window_totals(Filters(project="/p")).total_tokens == 1390


def test_a_file_already_in_the_context_form_at_version_2_only_records_step_3(
    tmp_path: Path,
) -> None:
    """Files made between ea5fef1 and migration 3 hold today's tables under version 2."""
    path = tmp_path / "interim.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    migrate(Database.sqlite(db), target=3)
    db.execute("DELETE FROM schema_migrations WHERE version = 3")
    db.close()
    with Ledger(path) as ledger:
        assert ledger.schema_version() == SCHEMA_VERSION
        report, requests = make_session(tmp_path, START, [AgentSpec("a", 40, 2, 0.02)])
        ledger.insert_report(report, requests)
        totals = ledger.window_totals(Filters())
        assert (totals.sessions, totals.total_tokens) == (1, 42)
        assert totals.cost_usd == pytest.approx(0.02, rel=1e-9)


def _shape(path: Path) -> dict[str, object]:
    """Tables with their columns, indexes with their columns, and views, of a ledger file."""
    db = sqlite3.connect(path)
    try:
        shape: dict[str, object] = {}
        names = db.execute(
            "SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        ).fetchall()
        for kind, name, table in names:
            if kind == "table":
                shape[name] = [row[1:] for row in db.execute(f"PRAGMA table_info({name})")]
            elif kind == "index":
                columns = [row[2] for row in db.execute(f"PRAGMA index_info({name})")]
                shape[name] = (table, columns)
            else:
                shape[name] = kind
        return shape
    finally:
        db.close()


def test_fresh_and_migrated_files_end_with_the_same_schema(tmp_path: Path) -> None:
    Ledger(tmp_path / "fresh.sqlite3").close()
    make_first_form_ledger(tmp_path / "old.sqlite3", version=1)
    Ledger(tmp_path / "old.sqlite3").close()
    fresh = _shape(tmp_path / "fresh.sqlite3")
    assert _shape(tmp_path / "old.sqlite3") == fresh
    assert {"contexts", "usage", "usage_rows_by_context_time"} <= set(fresh)
    assert "contexts_by_value_and_machine" in fresh
    assert "usage_rows_by_project_time" not in fresh  # the first form's indexes went with it


def test_step_5_adds_the_rate_limit_snapshots_to_a_file_of_schema_4(tmp_path: Path) -> None:
    path = tmp_path / "v4.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    migrate(Database.sqlite(db), target=4)
    db.close()
    Ledger(path).close()
    assert _shape(path) == _shape_of_fresh(tmp_path)
    assert "rate_limit_snapshots" in _shape(path)
    assert _shape(path)["rate_limit_snapshots_by_model_time"] == (
        "rate_limit_snapshots",
        ["provider", "model", "ts_us"],
    )


def _shape_of_fresh(tmp_path: Path) -> dict[str, object]:
    Ledger(tmp_path / "fresh-5.sqlite3").close()
    return _shape(tmp_path / "fresh-5.sqlite3")


def test_step_7_keeps_the_rows_of_a_file_of_schema_6(tmp_path: Path) -> None:
    path = tmp_path / "v6.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    migrate(Database.sqlite(db), target=6)
    db.execute(
        "INSERT INTO sessions (id, session_id, project, command, source, status, start_us, "
        "end_us, duration_seconds, prompt_tokens, completion_tokens, total_tokens, requests, "
        "cost_usd, successful_agents, failed_agents, report_json) VALUES "
        "(1, 's-6', '/p', 'update', 'llm', 'success', 0, 5000000, 5.0, 100, 20, 120, 2, 0.5, "
        "1, 0, '{}')"
    )
    db.execute(
        "INSERT INTO agent_runs (session_pk, position, agent, success, prompt_tokens, "
        "completion_tokens, total_tokens, requests) VALUES (1, 0, 'writer', 1, 100, 20, 120, 2)"
    )
    db.execute(
        "INSERT INTO contexts (id, project, command, source) VALUES (1, '/p', 'update', 'llm')"
    )
    db.execute(
        "INSERT INTO usage_rows (session_pk, context_id, ts_us, agent, prompt_tokens, "
        "completion_tokens, total_tokens, requests, cost_usd, cost_is_actual) VALUES "
        "(1, 1, 1000000, 'writer', 100, 20, 120, 2, 0.5, 0)"
    )
    db.close()
    with Ledger(path) as ledger:
        assert ledger.schema_version() == SCHEMA_VERSION
        (session,) = ledger.sessions(project=None)
        assert (session.session_id, session.total_tokens, session.requests) == ("s-6", 120, 2)
        assert session.unknown_usage_requests == 0
        connection = ledger.connection
        assert connection.execute("SELECT COUNT(*) FROM agent_runs").fetchone()[0] == 1
        flat = connection.execute(
            "SELECT session_id, total_tokens, request_model, unpriced_tokens FROM usage"
        ).fetchall()
        assert [tuple(row) for row in flat] == [("s-6", 120, None, None)]
    assert _shape(path) == _shape_of_fresh(tmp_path)
