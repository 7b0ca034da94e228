"""The ledger's schema: ordered, versioned migrations, recorded in ``schema_migrations``.

The list is append-only: a committed step is never edited, because ledger files made with it
exist; a change to the schema is a new step (see the note above ``MIGRATIONS``). Each step runs in
its own transaction under the write lock, so several processes opening a fresh file at once
migrate it once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from token_tracking.errors import LedgerError
from token_tracking.history.clock import utc_now


@dataclass(frozen=True)
class Migration:
    """One step of the schema; applied in ``version`` order, each in its own transaction."""

    version: int
    """Schema version this step produces (1, 2, …), recorded in ``schema_migrations``."""
    description: str
    """What the step adds, in words."""
    statements: tuple[str, ...]
    """The SQL statements, run in order."""
    needed: Callable[[sqlite3.Connection], bool] | None = None
    """When set and it answers ``False``, the file already has this step's schema: the step
    only records its version (see migration 3)."""


def _rows_repeat_their_context(db: sqlite3.Connection) -> bool:
    """Whether ``usage_rows`` still has the first form (context text in every row)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(usage_rows)")}
    return "context_id" not in columns


# MIGRATIONS IS APPEND-ONLY. Every step here has been committed, and ledger files made with it
# exist on people's machines: never edit, reorder or remove a step (not even its whitespace).
# To change the schema, append a step with the next version that transforms what the previous
# steps built (SQLite: create the new table, copy, drop, rename).
# tests/token_tracking/history/test_ledger_migrations.py freezes a checksum of every step and
# migrates files made by each earlier schema.
#
# History: steps 1 and 2 below are the schema first committed (420f2d0), with the request rows'
# context (project, branch, commit, user, command, source) in every row. On 2026-11-23, before
# any release, commit ea5fef1 edited steps 1 and 2 in place to move that context into a
# ``contexts`` table; files made by the first form then failed with "no such table: contexts".
# Steps 1 and 2 are back to their first form, and step 3 brings files of either form to one
# schema. A fresh file runs all three.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "sessions, agent runs and request rows",
        (
            """
            CREATE TABLE sessions (
                id INTEGER PRIMARY KEY,
                session_id TEXT NOT NULL UNIQUE,
                project TEXT NOT NULL,
                project_remote TEXT,
                command TEXT NOT NULL,
                model TEXT,
                source TEXT NOT NULL,
                status TEXT NOT NULL,
                start_us INTEGER NOT NULL,
                end_us INTEGER NOT NULL,
                duration_seconds REAL NOT NULL,
                branch TEXT,
                git_commit TEXT,
                user TEXT,
                prompt_tokens INTEGER NOT NULL,
                completion_tokens INTEGER NOT NULL,
                total_tokens INTEGER NOT NULL,
                cached_tokens INTEGER,
                cache_write_tokens INTEGER,
                reasoning_tokens INTEGER,
                requests INTEGER,
                cost_usd REAL,
                priced_coverage REAL,
                successful_agents INTEGER NOT NULL,
                failed_agents INTEGER NOT NULL,
                note TEXT,
                report_json TEXT NOT NULL
            )
            """,
            "CREATE INDEX sessions_by_end ON sessions(end_us)",
            "CREATE INDEX sessions_by_project_end ON sessions(project, end_us)",
            """
            CREATE TABLE agent_runs (
                id INTEGER PRIMARY KEY,
                session_pk INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
                position INTEGER NOT NULL,
                agent TEXT NOT NULL,
                model TEXT,
                start_us INTEGER,
                end_us INTEGER,
                duration_seconds REAL,
                success INTEGER NOT NULL,
                error TEXT,
                prompt_tokens INTEGER,
                completion_tokens INTEGER,
                total_tokens INTEGER,
                cached_tokens INTEGER,
                cache_write_tokens INTEGER,
                reasoning_tokens INTEGER,
                requests INTEGER,
                cost_usd REAL,
                output_file TEXT
            )
            """,
            "CREATE INDEX agent_runs_by_session ON agent_runs(session_pk)",
            """
            CREATE TABLE usage_rows (
                id INTEGER PRIMARY KEY,
                session_pk INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
                ts_us INTEGER NOT NULL,
                project TEXT NOT NULL,
                branch TEXT,
                git_commit TEXT,
                user TEXT,
                command TEXT NOT NULL,
                agent TEXT,
                iteration INTEGER,
                model TEXT,
                prompt_tokens INTEGER,
                completion_tokens INTEGER,
                cached_tokens INTEGER,
                cache_write_tokens INTEGER,
                reasoning_tokens INTEGER,
                total_tokens INTEGER,
                requests INTEGER,
                cost_usd REAL,
                cost_is_actual INTEGER NOT NULL,
                duration_seconds REAL,
                metadata TEXT,
                note TEXT,
                source TEXT NOT NULL
            )
            """,
            "CREATE INDEX usage_rows_by_time ON usage_rows(ts_us)",
            "CREATE INDEX usage_rows_by_session ON usage_rows(session_pk, ts_us)",
        ),
    ),
    Migration(
        2,
        "derived-row flag; indexes for project, branch and model queries",
        (
            # Rows synthesized from agent totals (no per-request data) stay distinguishable.
            "ALTER TABLE usage_rows ADD COLUMN derived INTEGER NOT NULL DEFAULT 0",
            "CREATE INDEX usage_rows_by_project_time ON usage_rows(project, ts_us)",
            "CREATE INDEX usage_rows_by_branch_time ON usage_rows(branch, ts_us)",
            "CREATE INDEX usage_rows_by_model_time ON usage_rows(model, ts_us)",
        ),
    ),
    Migration(
        3,
        "request rows point at a context (project, branch, user, command, source); a flat view",
        (
            """
            CREATE TABLE contexts (
                id INTEGER PRIMARY KEY,
                project TEXT NOT NULL,
                branch TEXT,
                user TEXT,
                command TEXT NOT NULL,
                source TEXT NOT NULL
            )
            """,
            # One row per distinct (project, branch, user, command, source): request rows point
            # at it (and at their session for the commit) instead of repeating ~150 bytes of
            # text, which halves the file and speeds up inserts and scans alike.
            """
            CREATE UNIQUE INDEX contexts_by_value ON contexts(
                project, IFNULL(branch, ''), IFNULL(user, ''), command, source
            )
            """,
            "CREATE INDEX contexts_by_branch ON contexts(branch)",
            """
            INSERT INTO contexts (project, branch, user, command, source)
            SELECT project, MIN(branch), MIN(user), command, source FROM usage_rows
            GROUP BY project, IFNULL(branch, ''), IFNULL(user, ''), command, source
            """,
            """
            CREATE TABLE usage_rows_v3 (
                id INTEGER PRIMARY KEY,
                session_pk INTEGER NOT NULL REFERENCES sessions(id),
                context_id INTEGER NOT NULL REFERENCES contexts(id),
                ts_us INTEGER NOT NULL,
                agent TEXT,
                iteration INTEGER,
                model TEXT,
                prompt_tokens INTEGER,
                completion_tokens INTEGER,
                cached_tokens INTEGER,
                cache_write_tokens INTEGER,
                reasoning_tokens INTEGER,
                total_tokens INTEGER,
                requests INTEGER,
                cost_usd REAL,
                cost_is_actual INTEGER NOT NULL,
                duration_seconds REAL,
                metadata TEXT,
                note TEXT,
                derived INTEGER NOT NULL DEFAULT 0
            )
            """,
            # A row's commit is its session's (both came from the same report).
            """
            INSERT INTO usage_rows_v3 (
                id, session_pk, context_id, ts_us, agent, iteration, model, prompt_tokens,
                completion_tokens, cached_tokens, cache_write_tokens, reasoning_tokens,
                total_tokens, requests, cost_usd, cost_is_actual, duration_seconds, metadata,
                note, derived
            )
            SELECT u.id, u.session_pk, c.id, u.ts_us, u.agent, u.iteration, u.model,
                   u.prompt_tokens, u.completion_tokens, u.cached_tokens, u.cache_write_tokens,
                   u.reasoning_tokens, u.total_tokens, u.requests, u.cost_usd, u.cost_is_actual,
                   u.duration_seconds, u.metadata, u.note, u.derived
            FROM usage_rows u JOIN contexts c
              ON c.project = u.project AND IFNULL(c.branch, '') = IFNULL(u.branch, '')
             AND IFNULL(c.user, '') = IFNULL(u.user, '') AND c.command = u.command
             AND c.source = u.source
            """,
            "DROP TABLE usage_rows",
            "ALTER TABLE usage_rows_v3 RENAME TO usage_rows",
            "CREATE INDEX usage_rows_by_time ON usage_rows(ts_us)",
            "CREATE INDEX usage_rows_by_session ON usage_rows(session_pk, ts_us)",
            # A context is one project on one branch (and user, command, source), so this index
            # answers project and branch queries by time.
            "CREATE INDEX usage_rows_by_context_time ON usage_rows(context_id, ts_us)",
            "CREATE INDEX usage_rows_by_model_time ON usage_rows(model, ts_us)",
            # Every field of a request row in one place, for people reading the file with sqlite3.
            """
            CREATE VIEW usage AS
            SELECT u.id, s.session_id, u.ts_us, datetime(u.ts_us / 1000000, 'unixepoch') AS utc,
                   c.project, c.branch, s.git_commit, c.user, c.command, u.agent, u.iteration,
                   u.model, u.prompt_tokens, u.completion_tokens, u.cached_tokens,
                   u.cache_write_tokens, u.reasoning_tokens, u.total_tokens, u.requests,
                   u.cost_usd, u.cost_is_actual, u.duration_seconds, u.metadata, u.note,
                   c.source, u.derived
            FROM usage_rows u
            JOIN contexts c ON c.id = u.context_id
            JOIN sessions s ON s.id = u.session_pk
            """,
        ),
        # Files made between ea5fef1 and this step already have this schema under version 2.
        needed=_rows_repeat_their_context,
    ),
)

SCHEMA_VERSION = MIGRATIONS[-1].version
"""The schema version this code writes and reads."""


def applied_version(db: sqlite3.Connection) -> int:
    """Return the highest migration recorded in the file; 0 for a file without any."""
    exists = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    if exists is None:
        return 0
    value = db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]
    return int(value) if value is not None else 0


def migrate(db: sqlite3.Connection, *, target: int | None = None) -> list[int]:
    """Apply the pending migrations up to ``target`` (default: all), each in its own transaction.

    Safe when several processes open a fresh file at once: each step re-reads the version under
    the write lock. Returns the versions applied.

    Raises:
        LedgerError: the file was written by a newer memory-banker (unknown schema version).
    """
    goal = SCHEMA_VERSION if target is None else target
    current = applied_version(db)
    if current > SCHEMA_VERSION:
        raise LedgerError(
            f"the ledger has schema version {current}, newer than this memory-banker knows "
            f"({SCHEMA_VERSION}); upgrade memory-banker"
        )
    applied: list[int] = []
    for migration in MIGRATIONS:
        if migration.version > goal or migration.version <= current:
            continue
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            current = applied_version(db)
            if migration.version <= current:
                db.execute("COMMIT")
                continue
            if migration.needed is None or migration.needed(db):
                for statement in migration.statements:
                    db.execute(statement)
            db.execute(
                "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.description, utc_now().isoformat()),
            )
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        applied.append(migration.version)
    return applied
