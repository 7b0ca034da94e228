"""Ledger migrations are append-only: every committed step is frozen, and files made by each
earlier schema migrate forward with their rows."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.ledger_factory import AgentSpec, make_first_form_ledger, make_session
from token_tracking.history.ledger import Ledger
from token_tracking.history.migrations import MIGRATIONS, SCHEMA_VERSION, Migration
from token_tracking.history.models import Filters

START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
"""A time after the rows of the first-form files."""

# The checksum of every committed migration. A mismatch means a committed step was edited:
# ledger files made with it exist, so undo the edit and append a new step instead.
FROZEN = {
    1: "2b5b5664a97f0734d61ad2c490d23f205fc0a29c454b8cd5df1e8d112c5296d0",  # 420f2d0
    2: "d37cc9d78bea0e9119e1ca0adfa80143c805031c07ca956fe2c3663c6e5026fe",  # 420f2d0
    3: "af6840641f0c318399329b2a07d38f28f2489808b3c97db53d34b9af03c08f3a",
}


def _checksum(migration: Migration) -> str:
    text = "\x00".join((str(migration.version), migration.description, *migration.statements))
    return hashlib.sha256(text.encode()).hexdigest()


def test_committed_migrations_are_never_edited() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    # A new step gets its checksum added here; an old one's never changes.
    assert {m.version: _checksum(m) for m in MIGRATIONS} == FROZEN
    assert SCHEMA_VERSION == 3


@pytest.mark.parametrize("version", [1, 2])
def test_a_file_of_the_first_committed_schema_migrates_with_its_rows(
    tmp_path: Path, version: int
) -> None:
    path = tmp_path / f"v{version}.sqlite3"
    make_first_form_ledger(path, version=version)
    with Ledger(path) as ledger:
        db = ledger.connection
        versions = [row[0] for row in db.execute("SELECT version FROM schema_migrations")]
        assert versions == [1, 2, 3]
        contexts = db.execute(
            "SELECT project, branch, user, command, source FROM contexts ORDER BY id"
        ).fetchall()
        assert contexts == [
            ("/p", "feature/a", None, "init", "llm"),
            ("/p", "main", "dev@x", "update", "llm"),
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
        # New sessions land beside the migrated ones, in the same contexts where they match.
        report, requests = make_session(
            Path("/p"), START, [AgentSpec("a", 7, 3, 0.01)], user="dev@x"
        )
        assert ledger.insert_report(report, requests)
        assert db.execute("SELECT COUNT(*) FROM contexts").fetchone() == (2,)
        assert ledger.window_totals(Filters(project="/p")).total_tokens == 1390


def test_a_file_already_in_the_context_form_at_version_2_only_records_step_3(
    tmp_path: Path,
) -> None:
    """Files made between ea5fef1 and migration 3 hold today's tables under version 2."""
    path = tmp_path / "interim.sqlite3"
    with Ledger(path) as ledger:
        report, requests = make_session(tmp_path, START, [AgentSpec("a", 40, 2, 0.02)])
        ledger.insert_report(report, requests)
        ledger.connection.execute("DELETE FROM schema_migrations WHERE version = 3")
    with Ledger(path) as ledger:
        assert ledger.schema_version() == 3
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
    assert {"contexts", "usage", "usage_rows_by_context_time", "contexts_by_value"} <= set(fresh)
    assert "usage_rows_by_project_time" not in fresh  # the first form's indexes went with it
