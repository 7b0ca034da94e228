"""The ledger's schema: ordered, versioned migrations, recorded in ``schema_migrations``.

The list is append-only: a committed step is never edited, because ledger files made with it
exist; a change to the schema is a new step (see the note above ``MIGRATIONS``). Each step runs in
its own transaction under the write lock, so several processes opening a fresh file at once
migrate it once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from token_tracking.errors import LedgerError
from token_tracking.history.clock import utc_now
from token_tracking.history.database import Database


@dataclass(frozen=True)
class Migration:
    """One step of the schema; applied in ``version`` order, each in its own transaction."""

    version: int
    """Schema version this step produces (1, 2, …), recorded in ``schema_migrations``."""
    description: str
    """What the step adds, in words."""
    statements: tuple[str, ...]
    """The SQL statements, run in order."""
    needed: Callable[[Database], bool] | None = None
    """When set and it answers ``False``, the file already has this step's schema: the step
    only records its version (see migration 3)."""
    postgresql: tuple[str, ...] | None = None
    """The statements run instead of ``statements`` on PostgreSQL where the two need different
    steps: a change SQLite can only make by rebuilding a table (PostgreSQL alters the column in
    place and keeps the foreign keys that point at the table), or an index only SQLite's planner
    uses (empty: the step only records its version there)."""


def _rows_repeat_their_context(db: Database) -> bool:
    """Whether ``usage_rows`` still has the first form (context text in every row)."""
    return "context_id" not in db.columns("usage_rows")


_STEP_7_ROW_COLUMNS_AND_VIEW: tuple[str, ...] = (
    # The model the request named and the one the response named (the priced one is
    # the response's when it resolves), the provider's response and request ids, and
    # the tokens no price covered (cached tokens of a model without a cache-read rate).
    "ALTER TABLE usage_rows ADD COLUMN request_model TEXT",
    "ALTER TABLE usage_rows ADD COLUMN response_model TEXT",
    "ALTER TABLE usage_rows ADD COLUMN response_id TEXT",
    "ALTER TABLE usage_rows ADD COLUMN request_id TEXT",
    "ALTER TABLE usage_rows ADD COLUMN unpriced_tokens INTEGER",
    """
            CREATE VIEW usage AS
            SELECT u.id, s.session_id, u.ts_us, datetime(u.ts_us / 1000000, 'unixepoch') AS utc,
                   c.project, c.branch, s.git_commit, c.user, c.machine, c.command, u.agent,
                   u.iteration, u.model, u.prompt_tokens, u.completion_tokens, u.cached_tokens,
                   u.cache_write_tokens, u.reasoning_tokens, u.total_tokens, u.requests,
                   u.cost_usd, u.cost_is_actual, u.duration_seconds, u.metadata, u.note,
                   c.source, u.derived, u.attributed_commit, u.reported_cost_usd,
                   u.request_model, u.response_model, u.response_id, u.request_id,
                   u.unpriced_tokens
            FROM usage_rows u
            JOIN contexts c ON c.id = u.context_id
            JOIN sessions s ON s.id = u.session_pk
            """,
)
"""The end of step 7, the same on both databases: the request rows' new columns, then the view."""


_STEP_9_TABLES: tuple[str, ...] = (
    # One row per (context, 15-minute bucket, session, agent, model, attributed commit) of the
    # request rows up to the watermark, with their sums: `tokens trends` reads these instead of
    # the rows. Reads fold newer rows in; inserts never touch these tables.
    """
            CREATE TABLE trend_rollup (
                id INTEGER PRIMARY KEY,
                context_id INTEGER NOT NULL,
                bucket INTEGER NOT NULL,
                session_pk INTEGER NOT NULL,
                agent TEXT,
                model TEXT,
                attributed_commit TEXT,
                g_requests INTEGER,
                g_prompt INTEGER,
                g_completion INTEGER,
                g_cached INTEGER,
                g_total INTEGER,
                g_cost REAL,
                g_priced INTEGER,
                g_cache_write INTEGER,
                g_reasoning INTEGER,
                g_unpriced INTEGER
            )
            """,
    "CREATE INDEX trend_rollup_by_context_bucket ON trend_rollup(context_id, bucket)",
    "CREATE INDEX trend_rollup_by_session_bucket ON trend_rollup(session_pk, bucket)",
    # The highest usage_rows.id summed in.
    "CREATE TABLE trend_rollup_state (id INTEGER PRIMARY KEY, watermark INTEGER NOT NULL)",
    "INSERT INTO trend_rollup_state (id, watermark) VALUES (1, 0)",
    # The (session, bucket) pairs whose summed rows changed or went away since: the next fold
    # sums them again from their rows.
    """
            CREATE TABLE trend_rollup_dirty (
                session_pk INTEGER NOT NULL,
                bucket INTEGER NOT NULL,
                PRIMARY KEY (session_pk, bucket)
            )
            """,
)
"""The tables of step 9, the same on both databases."""

_STEP_9_SUMMED = (
    "id, context_id, ts_us, session_pk, agent, model, attributed_commit, requests, "
    "prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, "
    "total_tokens, cost_usd"
)
"""The request-row columns the rollup sums or groups by: an update of any other leaves it exact."""

_STEP_9_FOLDED = "(SELECT watermark FROM trend_rollup_state WHERE id = 1)"
"""The highest request-row id the rollup holds."""


def _step_9_mark(row: str) -> str:
    """The SQLite statement marking the (session, bucket) pair of ``row`` (OLD or NEW) dirty."""
    return (
        "INSERT OR IGNORE INTO trend_rollup_dirty (session_pk, bucket) "
        f"SELECT {row}.session_pk, {row}.ts_us / 900000000 WHERE {row}.id <= {_STEP_9_FOLDED}"
    )


def _step_9_mark_postgresql(row: str) -> str:
    """:func:`_step_9_mark` in PL/pgSQL."""
    return (
        "INSERT INTO trend_rollup_dirty (session_pk, bucket) "
        f"SELECT {row}.session_pk, {row}.ts_us / 900000000 WHERE {row}.id <= {_STEP_9_FOLDED} "
        "ON CONFLICT DO NOTHING"
    )


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
    Migration(
        4,
        "coding-agent log imports: file offsets, dedup keys, attributed commit, reported cost",
        (
            # One row per log file read by `tokens import`: where the next import starts, and
            # the reader's state at that point (a Codex file's model and cumulative total).
            """
            CREATE TABLE import_files (
                path TEXT PRIMARY KEY,
                source TEXT NOT NULL,
                identity TEXT NOT NULL,
                size INTEGER NOT NULL,
                mtime_ns INTEGER NOT NULL,
                read_offset INTEGER NOT NULL,
                state TEXT,
                imported_at TEXT NOT NULL
            )
            """,
            # An imported request's identity (source, message id, request id …): one row each,
            # across imports and files.
            "ALTER TABLE usage_rows ADD COLUMN dedup_key TEXT",
            # The commit a post-commit hook attributed an imported row to; `git_commit` of the
            # session keeps meaning HEAD at run time.
            "ALTER TABLE usage_rows ADD COLUMN attributed_commit TEXT",
            # The cost the source itself logged (Claude Code's costUSD), beside the computed one.
            "ALTER TABLE usage_rows ADD COLUMN reported_cost_usd REAL",
            """
            CREATE UNIQUE INDEX usage_rows_by_dedup_key ON usage_rows(dedup_key)
            WHERE dedup_key IS NOT NULL
            """,
            """
            CREATE INDEX usage_rows_by_attributed_commit ON usage_rows(attributed_commit)
            WHERE attributed_commit IS NOT NULL
            """,
            "DROP VIEW usage",
            """
            CREATE VIEW usage AS
            SELECT u.id, s.session_id, u.ts_us, datetime(u.ts_us / 1000000, 'unixepoch') AS utc,
                   c.project, c.branch, s.git_commit, c.user, c.command, u.agent, u.iteration,
                   u.model, u.prompt_tokens, u.completion_tokens, u.cached_tokens,
                   u.cache_write_tokens, u.reasoning_tokens, u.total_tokens, u.requests,
                   u.cost_usd, u.cost_is_actual, u.duration_seconds, u.metadata, u.note,
                   c.source, u.derived, u.attributed_commit, u.reported_cost_usd
            FROM usage_rows u
            JOIN contexts c ON c.id = u.context_id
            JOIN sessions s ON s.id = u.session_pk
            """,
        ),
    ),
    Migration(
        5,
        "rate-limit snapshots: the limits, remaining and resets a provider reported",
        (
            # One row per snapshot of one provider's rate-limit headers for one model: the limit,
            # remaining and reset (seconds after ts_us) of each kind the provider sent.
            """
            CREATE TABLE rate_limit_snapshots (
                id INTEGER PRIMARY KEY,
                ts_us INTEGER NOT NULL,
                provider TEXT NOT NULL,
                model TEXT NOT NULL,
                source TEXT NOT NULL,
                http_status INTEGER,
                retry_after_seconds REAL,
                requests_limit INTEGER,
                requests_remaining INTEGER,
                requests_reset_seconds REAL,
                tokens_limit INTEGER,
                tokens_remaining INTEGER,
                tokens_reset_seconds REAL,
                input_tokens_limit INTEGER,
                input_tokens_remaining INTEGER,
                input_tokens_reset_seconds REAL,
                output_tokens_limit INTEGER,
                output_tokens_remaining INTEGER,
                output_tokens_reset_seconds REAL
            )
            """,
            "CREATE INDEX rate_limit_snapshots_by_model_time "
            "ON rate_limit_snapshots(provider, model, ts_us)",
        ),
    ),
    Migration(
        6,
        "who recorded each row: the machine beside the user, in the context",
        (
            # Rows recorded before this step keep their session's user and no machine.
            "ALTER TABLE contexts ADD COLUMN machine TEXT",
            "DROP INDEX contexts_by_value",
            """
            CREATE UNIQUE INDEX contexts_by_value_and_machine ON contexts(
                project, IFNULL(branch, ''), IFNULL(user, ''), command, source,
                IFNULL(machine, '')
            )
            """,
            "CREATE INDEX contexts_by_user ON contexts(user)",
            "DROP VIEW usage",
            """
            CREATE VIEW usage AS
            SELECT u.id, s.session_id, u.ts_us, datetime(u.ts_us / 1000000, 'unixepoch') AS utc,
                   c.project, c.branch, s.git_commit, c.user, c.machine, c.command, u.agent,
                   u.iteration, u.model, u.prompt_tokens, u.completion_tokens, u.cached_tokens,
                   u.cache_write_tokens, u.reasoning_tokens, u.total_tokens, u.requests,
                   u.cost_usd, u.cost_is_actual, u.duration_seconds, u.metadata, u.note,
                   c.source, u.derived, u.attributed_commit, u.reported_cost_usd
            FROM usage_rows u
            JOIN contexts c ON c.id = u.context_id
            JOIN sessions s ON s.id = u.session_pk
            """,
        ),
    ),
    Migration(
        7,
        "unknown session totals, requests without usage; request and response model and ids",
        (
            # A session whose every count is unknown stores null totals, never 0: SQLite drops
            # a NOT NULL only by rebuilding the table. Nothing enforces foreign keys on SQLite
            # here, so dropping the old table leaves the rows that point at it in place.
            "DROP VIEW usage",
            """
            CREATE TABLE sessions_v7 (
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
                prompt_tokens INTEGER,
                completion_tokens INTEGER,
                total_tokens INTEGER,
                cached_tokens INTEGER,
                cache_write_tokens INTEGER,
                reasoning_tokens INTEGER,
                requests INTEGER,
                cost_usd REAL,
                priced_coverage REAL,
                successful_agents INTEGER NOT NULL,
                failed_agents INTEGER NOT NULL,
                note TEXT,
                report_json TEXT NOT NULL,
                unknown_usage_requests INTEGER
            )
            """,
            """
            INSERT INTO sessions_v7 (
                id, session_id, project, project_remote, command, model, source, status,
                start_us, end_us, duration_seconds, branch, git_commit, user, prompt_tokens,
                completion_tokens, total_tokens, cached_tokens, cache_write_tokens,
                reasoning_tokens, requests, cost_usd, priced_coverage, successful_agents,
                failed_agents, note, report_json
            )
            SELECT id, session_id, project, project_remote, command, model, source, status,
                   start_us, end_us, duration_seconds, branch, git_commit, user, prompt_tokens,
                   completion_tokens, total_tokens, cached_tokens, cache_write_tokens,
                   reasoning_tokens, requests, cost_usd, priced_coverage, successful_agents,
                   failed_agents, note, report_json
            FROM sessions
            """,
            "DROP TABLE sessions",
            "ALTER TABLE sessions_v7 RENAME TO sessions",
            "CREATE INDEX sessions_by_end ON sessions(end_us)",
            "CREATE INDEX sessions_by_project_end ON sessions(project, end_us)",
            *_STEP_7_ROW_COLUMNS_AND_VIEW,
        ),
        postgresql=(
            "DROP VIEW usage",
            "ALTER TABLE sessions ALTER COLUMN prompt_tokens DROP NOT NULL",
            "ALTER TABLE sessions ALTER COLUMN completion_tokens DROP NOT NULL",
            "ALTER TABLE sessions ALTER COLUMN total_tokens DROP NOT NULL",
            "ALTER TABLE sessions ADD COLUMN unknown_usage_requests INTEGER",
            *_STEP_7_ROW_COLUMNS_AND_VIEW,
        ),
    ),
    Migration(
        8,
        "request rows in the order trends groups them: context, 15-minute bucket, session, model",
        (
            # `tokens trends` sums the window's rows per context, 15-minute UTC bucket, session,
            # agent, model and attributed commit: read in this index's order, the rows arrive
            # grouped and the database aggregates them without sorting the whole window.
            """
            CREATE INDEX usage_rows_by_context_bucket ON usage_rows(
                context_id, (ts_us / 900000000), session_pk, agent, model, attributed_commit
            )
            """,
        ),
        # PostgreSQL groups the window in a hash table, in any order: the index would only cost
        # its inserts there.
        postgresql=(),
    ),
    Migration(
        9,
        "the trends rollup: request rows summed per context, 15-minute bucket, session and model",
        (
            *_STEP_9_TABLES,
            # A changed or removed row that was summed in marks its (session, bucket) pairs,
            # before and after, for the next fold to sum again. Inserts fire nothing.
            f"""
            CREATE TRIGGER usage_rows_update_marks_rollup
            AFTER UPDATE OF {_STEP_9_SUMMED} ON usage_rows
            BEGIN {_step_9_mark("OLD")}; {_step_9_mark("NEW")}; END
            """,
            f"""
            CREATE TRIGGER usage_rows_delete_marks_rollup AFTER DELETE ON usage_rows
            BEGIN {_step_9_mark("OLD")}; END
            """,
        ),
        postgresql=(
            *_STEP_9_TABLES,
            f"""
            CREATE FUNCTION trend_rollup_mark() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                {_step_9_mark_postgresql("OLD")};
                IF TG_OP = 'UPDATE' THEN {_step_9_mark_postgresql("NEW")}; END IF;
                RETURN NULL;
            END
            $$
            """,
            f"""
            CREATE TRIGGER usage_rows_update_marks_rollup
            AFTER UPDATE OF {_STEP_9_SUMMED} ON usage_rows
            FOR EACH ROW EXECUTE FUNCTION trend_rollup_mark()
            """,
            """
            CREATE TRIGGER usage_rows_delete_marks_rollup AFTER DELETE ON usage_rows
            FOR EACH ROW EXECUTE FUNCTION trend_rollup_mark()
            """,
        ),
    ),
)

SCHEMA_VERSION = MIGRATIONS[-1].version
"""The schema version this code writes and reads."""


def applied_version(db: Database) -> int:
    """Return the highest migration recorded in the database; 0 for one without any."""
    if not db.has_table("schema_migrations"):
        return 0
    value = db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]
    return int(value) if value is not None else 0


def migrate(db: Database, *, target: int | None = None) -> list[int]:
    """Apply the pending migrations up to ``target`` (default: all), each in its own transaction.

    Safe when several processes open a fresh database at once: each step re-reads the version
    under the write lock (SQLite's file lock; PostgreSQL's advisory lock, see
    :mod:`~token_tracking.history.database`). Returns the versions applied.

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
                statements = migration.statements
                if db.dialect == "postgresql" and migration.postgresql is not None:
                    statements = migration.postgresql
                for statement in statements:
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
