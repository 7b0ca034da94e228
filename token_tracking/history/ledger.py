"""The SQLite usage ledger (DESIGN §7): one file per user, every finished session with its rows.

Three tables hold a session at three grains:

- ``sessions``: one row per finished session, with its totals and the report as JSON;
- ``agent_runs``: one row per agent run of the session (the export grain);
- ``usage_rows``: one row per LLM request (the grain of limits, intervals and time trends).
  A report that carries no request rows (a 0.1 report, an imported file, a manual entry) gets one
  row per agent run, timestamped at the agent's end and flagged ``derived``, so every token of the
  ledger is in ``usage_rows`` exactly once.

A request row carries every field of DESIGN §7: its own (time, agent, iteration, model, token
counts, requests, cost, ``cost_is_actual``, duration, metadata JSON, note) and, through two small
references, its session's (commit) and its context's (project, branch, user, command, source).
The ``usage`` view shows them side by side for anyone reading the file with ``sqlite3``.

Times are stored as integer microseconds since the Unix epoch (UTC); naive times (0.1 reports)
are read as local time. Grouping by local day, week and month happens in
:mod:`token_tracking.history.trends`.

The schema is built by ordered, versioned migrations (``MIGRATIONS``, recorded in
``schema_migrations``). They are append-only: a committed step is never edited, because ledger
files made with it exist; a change is a new step (see the note above ``MIGRATIONS``).

Writers take the write lock up front (``BEGIN IMMEDIATE``) and wait on the busy timeout, so
concurrent processes queue instead of failing with ``database is locked``. The file is in WAL mode
so readers never block the writer.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, Field

from pricing import PriceBook, Usage
from token_tracking.errors import (
    AmbiguousSessionError,
    LedgerError,
    ReportFileError,
    SessionNotFoundError,
)
from token_tracking.git import git_info, project_root
from token_tracking.records import SCHEMA_VERSION as REPORT_SCHEMA_VERSION
from token_tracking.records import (
    AgentUsage,
    GitInfo,
    IntervalUsage,
    RequestUsage,
    TokenUsageReport,
)
from token_tracking.reports.build import load_report, tool_version
from token_tracking.reports.journal import recover_journals

DB_PATH_VARIABLE = "TOKEN_TRACKING_DB_PATH"
"""Environment variable that points at the ledger file."""

BUSY_TIMEOUT_MS = 30_000
"""How long a writer waits for another process's write transaction before giving up."""

_US = 1_000_000


# --------------------------------------------------------------------------------------------------
# Paths, projects, time


def default_db_path(environ: Mapping[str, str] | None = None) -> Path:
    """Return the ledger file: ``TOKEN_TRACKING_DB_PATH``, else the platform user-data directory."""
    env = os.environ if environ is None else environ
    configured = env.get(DB_PATH_VARIABLE)
    if configured:
        return Path(configured).expanduser()
    return platformdirs.user_data_path("memory-banker") / "ledger.sqlite3"


@lru_cache(maxsize=256)
def project_key(path: Path) -> str:
    """Return the ledger's name for the project at ``path``: its resolved git root, else the path.

    Works for paths that no longer exist (a moved project's old reports): those resolve as given.
    Cached per process: inserting many sessions of one project asks git once.
    """
    return str(project_root(path.expanduser()))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def to_us(moment: datetime) -> int:
    """Return ``moment`` as integer microseconds since the epoch; a naive time is local time."""
    aware = moment if moment.tzinfo is not None else moment.astimezone()
    # timedelta floor division is exact (no float seconds in between) and runs in C.
    return (aware - _EPOCH) // _ONE_US


def from_us(value: int) -> datetime:
    """Return the UTC datetime of integer microseconds since the epoch."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=value)


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


# --------------------------------------------------------------------------------------------------
# Schema


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


# --------------------------------------------------------------------------------------------------
# Results


class SessionSummary(BaseModel):
    """One ledger session as lists and queries show it."""

    session_id: str
    """The session's UUID."""
    project: str
    """The project: its git root, else its resolved path."""
    project_remote: str | None = None
    """URL of the project's ``origin`` remote, when known."""
    command: str
    """``init``, ``update``, ``refresh``, ``manual`` or an app's own command name."""
    model: str | None = None
    """The session's model."""
    source: str
    """``llm``, ``offline``, ``manual`` or ``import``."""
    status: str
    """The session's outcome."""
    start_time: datetime
    """Session start (UTC)."""
    end_time: datetime
    """Session end (UTC)."""
    duration_seconds: float
    """Wall time of the session, in seconds."""
    branch: str | None = None
    """Git branch the session ran on."""
    commit: str | None = None
    """Git commit the session ran on."""
    user: str | None = None
    """The git user e-mail of whoever ran it."""
    prompt_tokens: int
    """All input tokens (cache reads and writes included)."""
    completion_tokens: int
    """All output tokens (reasoning included)."""
    total_tokens: int
    """``prompt_tokens + completion_tokens``."""
    cached_tokens: int | None = None
    """Cached input tokens; ``None`` when unknown."""
    requests: int | None = None
    """LLM requests; ``None`` when unknown."""
    cost_usd: float | None = None
    """Cost in USD; ``None`` when unknown, a lower bound when ``priced_coverage`` < 1."""
    priced_coverage: float | None = None
    """Share of tokens with a known price."""
    note: str | None = None
    """The note of a manual entry."""


class SessionDetail(BaseModel):
    """A session with its usage per interval: the model of ``tokens sessions --session-id``."""

    session: SessionSummary
    """The session."""
    interval_minutes: float
    """Interval length (``TOKEN_INTERVAL_MINUTES``)."""
    intervals: list[IntervalUsage]
    """Every interval from start to end; the last may be partial."""
    total: IntervalUsage
    """The TOTAL row: index 0, the session's start, the sum of the intervals."""
    unknown_requests: list[int] = Field(default_factory=list)
    """Intervals (by ``index``; 0 is the TOTAL row) with usage but no known request count: their
    ``requests`` is 0 because nothing was counted, not because no request was made."""


class UsageTotals(BaseModel):
    """Sums over a set of ledger rows."""

    sessions: int = 0
    """Distinct sessions with rows in the set."""
    requests: int = 0
    """LLM requests of the rows that know their count (a lower bound for limits)."""
    requests_known: bool = True
    """False when there are rows but none knew its request count: :attr:`known_requests` is then
    ``None``. No rows at all is a known zero."""
    prompt_tokens: int = 0
    """Input tokens."""
    completion_tokens: int = 0
    """Output tokens."""
    cached_tokens: int | None = 0
    """Cached input tokens; ``None`` when there are rows but none reported them."""
    total_tokens: int = 0
    """``prompt + completion`` tokens."""
    cost_usd: float | None = None
    """Cost of the priced rows; ``None`` when no row has a price."""
    priced_tokens: int = 0
    """Tokens of the rows with a known cost."""

    @property
    def known_requests(self) -> int | None:
        """LLM requests; ``None`` when no row knew its request count (unknown, not zero)."""
        return self.requests if self.requests_known else None

    @property
    def priced_coverage(self) -> float | None:
        """Share of tokens with a known cost; ``None`` when there are no tokens."""
        if self.total_tokens == 0:
            return None
        return self.priced_tokens / self.total_tokens


@dataclass(frozen=True, slots=True)
class Bucket:
    """Sums of one session's rows within one 15-minute UTC bucket (see ``Ledger.buckets``).

    A plain slotted dataclass: a year of busy history is tens of thousands of these.
    """

    number: int
    """The bucket: 15-minute periods since the Unix epoch."""
    session_pk: int
    """Internal id of the session."""
    context_id: int
    """Internal id of the session's context (project, branch, user, command, source)."""
    requests: int | None
    """LLM requests; ``None`` when no row knew its count."""
    prompt_tokens: int
    """Input tokens."""
    completion_tokens: int
    """Output tokens."""
    cached_tokens: int | None
    """Cached input tokens; ``None`` when no row reported them."""
    total_tokens: int
    """``prompt + completion`` tokens."""
    cost_usd: float | None
    """Cost of the priced rows; ``None`` when none has a price."""
    priced_tokens: int
    """Tokens of the rows with a known cost."""

    @property
    def start(self) -> datetime:
        """UTC start of the bucket."""
        return from_us(self.number * BUCKET_US)


BUCKET_US = 900 * _US
"""Length of a bucket: 15 minutes, in microseconds."""


class AgentRunRow(BaseModel):
    """One agent run with its session's context: the export grain."""

    session_id: str
    """The session's UUID."""
    timestamp: datetime
    """When the agent run started (UTC); the session start when unknown."""
    project: str
    """The project."""
    branch: str | None = None
    """Git branch."""
    command: str
    """The session's command."""
    agent: str | None = None
    """The agent's name; ``None`` for a session without agent runs."""
    model: str | None = None
    """The agent's model."""
    prompt_tokens: int | None = None
    """Input tokens."""
    completion_tokens: int | None = None
    """Output tokens."""
    cached_tokens: int | None = None
    """Cached input tokens."""
    cache_write_tokens: int | None = None
    """Cache-write input tokens."""
    reasoning_tokens: int | None = None
    """Reasoning output tokens."""
    total_tokens: int | None = None
    """``prompt + completion``."""
    requests: int | None = None
    """LLM requests."""
    cost_usd: float | None = None
    """Cost in USD; ``None`` when unknown."""
    source: str
    """The session's source."""
    note: str | None = None
    """The session's note, or the agent's error."""


class PruneResult(BaseModel):
    """What ``prune`` removed, or would remove."""

    cutoff: datetime
    """Sessions that ended before this time (UTC) are removed."""
    sessions: int
    """Sessions removed (or that would be)."""
    agent_runs: int
    """Agent runs removed."""
    usage_rows: int
    """Request rows removed."""
    dry_run: bool
    """True when nothing was removed."""


@dataclass(frozen=True)
class Filters:
    """Which rows a query reads."""

    project: str | None = None
    """Only this project (``None``: all projects)."""
    start: datetime | None = None
    """Rows at or after this time (``None``: from the first)."""
    end: datetime | None = None
    """Rows before this time (``None``: up to the last)."""
    include_offline: bool = False
    """Count rows of the offline engine too."""

    def where(self) -> tuple[str, list[Any]]:
        """Return the SQL condition on ``usage_rows`` and its parameters for these filters."""
        clauses: list[str] = ["1 = 1"]
        params: list[Any] = []
        context: list[str] = []
        if self.project is not None:
            context.append("project = ?")
            params.append(self.project)
        if not self.include_offline:
            context.append("source != 'offline'")
        if context:
            clauses.append(f"context_id IN (SELECT id FROM contexts WHERE {' AND '.join(context)})")
        if self.start is not None:
            clauses.append("ts_us >= ?")
            params.append(to_us(self.start))
        if self.end is not None:
            clauses.append("ts_us < ?")
            params.append(to_us(self.end))
        return " AND ".join(clauses), params


_ContextKey = tuple[str, str | None, str | None, str, str]
"""(project, branch, user, command, source) of a context row."""

GroupColumn = Literal["branch", "model", "agent", "command", "user", "project", "source"]
_ROW_COLUMNS: frozenset[str] = frozenset(("model", "agent"))
_CONTEXT_COLUMNS: tuple[str, ...] = ("project", "branch", "user", "command", "source")

_SUMS = """
    COUNT(DISTINCT session_pk),
    SUM(requests),
    SUM(prompt_tokens),
    SUM(completion_tokens),
    SUM(cached_tokens),
    SUM(total_tokens),
    SUM(cost_usd),
    SUM(CASE WHEN cost_usd IS NOT NULL THEN total_tokens END)
"""


def _add(first: UsageTotals, second: UsageTotals) -> UsageTotals:
    """The sums of two disjoint sets of rows (an unknown cost plus a known one is the known one)."""
    if first.cost_usd is None:
        cost = second.cost_usd
    elif second.cost_usd is None:
        cost = first.cost_usd
    else:
        cost = first.cost_usd + second.cost_usd
    return UsageTotals(
        sessions=first.sessions + second.sessions,
        requests=first.requests + second.requests,
        requests_known=first.requests_known or second.requests_known,
        prompt_tokens=first.prompt_tokens + second.prompt_tokens,
        completion_tokens=first.completion_tokens + second.completion_tokens,
        cached_tokens=_plus(first.cached_tokens, second.cached_tokens),
        total_tokens=first.total_tokens + second.total_tokens,
        cost_usd=cost,
        priced_tokens=first.priced_tokens + second.priced_tokens,
    )


def _totals(row: Sequence[Any]) -> UsageTotals:
    sessions, requests, prompt, completion, cached, total, cost, priced = row
    no_rows = sessions == 0  # COUNT is never NULL
    return UsageTotals(
        sessions=sessions,
        # SUM over rows that all lack a count is NULL: unknown, kept apart from a known zero.
        # Over no rows at all it is NULL too, and then zero is the truth.
        requests=requests if requests is not None else 0,
        requests_known=requests is not None or no_rows,
        prompt_tokens=prompt if prompt is not None else 0,
        completion_tokens=completion if completion is not None else 0,
        cached_tokens=0 if no_rows else cached,
        total_tokens=total if total is not None else 0,
        cost_usd=cost,
        priced_tokens=priced if priced is not None else 0,
    )


# --------------------------------------------------------------------------------------------------
# The ledger


class Ledger:
    """An open ledger file. Use as a context manager, or call :meth:`close`."""

    def __init__(self, path: Path | None = None) -> None:
        """Open (creating and migrating as needed) the ledger at ``path`` or the default path.

        Raises:
            LedgerError: the file cannot be opened or is not a ledger.
        """
        self.path = path if path is not None else default_db_path()
        self._contexts: dict[_ContextKey, int] = {}
        self._pending_contexts: dict[_ContextKey, int] = {}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            # mkdir's own words ("File exists") hide the cause: a file where a folder must be.
            raise LedgerError(
                f"cannot open the ledger {self.path}: a file stands where its folder "
                f"{_first_file(self.path.parent)} should be; set TOKEN_TRACKING_DB_PATH "
                "to a path inside a folder"
            ) from None
        except OSError as exc:
            raise LedgerError(f"cannot open the ledger {self.path}: {exc.strerror}") from exc
        if self.path.is_dir():
            raise LedgerError(
                f"cannot open the ledger {self.path}: it is a folder; set "
                "TOKEN_TRACKING_DB_PATH to a file path"
            )
        try:
            self._db = sqlite3.connect(
                self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1e3
            )
        except (OSError, sqlite3.Error) as exc:
            raise LedgerError(f"cannot open the ledger {self.path}: {exc}") from exc
        try:
            self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            _enable_wal(self._db)
            # WAL makes NORMAL durable against application crashes, at a fraction of FULL's fsyncs.
            self._db.execute("PRAGMA synchronous = NORMAL")
            # Foreign keys stay unenforced (SQLite's default): rows are only ever written by
            # _write_session under their session's fresh id and removed by prune with it, and the
            # per-row parent lookup costs ~15% of insert throughput.
            # 32 MB of page cache keeps the hot ends of the indexes in memory during big imports.
            self._db.execute("PRAGMA cache_size = -32000")
            migrate(self._db)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise LedgerError(f"cannot use the ledger {self.path}: {exc}") from exc

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def connection(self) -> sqlite3.Connection:
        """The underlying connection, for read queries this module does not offer."""
        return self._db

    # -- writing ------------------------------------------------------------------------------

    def insert_report(
        self,
        report: TokenUsageReport,
        requests: Sequence[RequestUsage] = (),
        *,
        note: str | None = None,
    ) -> bool:
        """Insert a finished session with its agent runs and request rows in one transaction.

        Idempotent by ``session_id``: returns ``False`` (and changes nothing) when the session is
        already in the ledger, ``True`` when it was inserted.

        Raises:
            LedgerError: the write failed (the transaction is rolled back).
        """
        return self.insert_reports([(report, requests)], note=note) == 1

    def insert_reports(
        self,
        sessions: Iterable[tuple[TokenUsageReport, Sequence[RequestUsage]]],
        *,
        note: str | None = None,
    ) -> int:
        """Insert many finished sessions in one transaction (imports, benchmarks).

        Sessions already in the ledger are skipped. Returns how many were inserted.

        Raises:
            LedgerError: a write failed (the whole transaction is rolled back).
        """
        inserted = 0
        current = "?"
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for report, requests in sessions:
                    current = report.session_id
                    inserted += self._write_session(report, requests, note)
                self._db.execute("COMMIT")
                self._contexts.update(self._pending_contexts)
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            finally:
                self._pending_contexts.clear()
        except sqlite3.Error as exc:
            raise LedgerError(f"cannot record session {current} in {self.path}: {exc}") from exc
        return inserted

    def _write_session(
        self, report: TokenUsageReport, requests: Sequence[RequestUsage], note: str | None
    ) -> bool:
        """Insert one session inside the caller's transaction; ``False`` if already present."""
        project = project_key(Path(report.project_path))
        git = report.git
        branch = git.branch if git is not None else None
        commit = git.commit if git is not None else None
        user = git.user_email if git is not None else None
        remote = git.remote if git is not None else None
        cursor = self._db.execute(
            """
            INSERT OR IGNORE INTO sessions (
                session_id, project, project_remote, command, model, source, status,
                start_us, end_us, duration_seconds, branch, git_commit, user,
                prompt_tokens, completion_tokens, total_tokens, cached_tokens,
                cache_write_tokens, reasoning_tokens, requests, cost_usd, priced_coverage,
                successful_agents, failed_agents, note, report_json
            ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
                      ?, ?, ?)
            """,
            (
                report.session_id,
                project,
                remote,
                report.command,
                report.model,
                report.source,
                report.status,
                to_us(report.start_time),
                to_us(report.end_time),
                report.total_duration_seconds,
                branch,
                commit,
                user,
                report.total_prompt_tokens,
                report.total_completion_tokens,
                report.total_tokens,
                report.total_cached_tokens,
                report.total_cache_write_tokens,
                report.total_reasoning_tokens,
                report.total_requests,
                report.total_cost_usd,
                report.priced_coverage,
                report.successful_agents,
                report.failed_agents,
                note,
                report.model_dump_json(),
            ),
        )
        if cursor.rowcount == 0:
            return False
        session_pk = cursor.lastrowid
        self._db.executemany(
            """
            INSERT INTO agent_runs (
                session_pk, position, agent, model, start_us, end_us, duration_seconds,
                success, error, prompt_tokens, completion_tokens, total_tokens,
                cached_tokens, cache_write_tokens, reasoning_tokens, requests, cost_usd,
                output_file
            ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                _agent_values(session_pk, position, agent)
                for position, agent in enumerate(report.agent_usage)
            ],
        )
        context_id = self._context_id((project, branch, user, report.command, report.source))
        context = _RowContext(
            session_pk=session_pk if session_pk is not None else 0,
            context_id=context_id,
            note=note,
        )
        self._db.executemany(_INSERT_ROW, list(_usage_values(context, report, requests)))
        return True

    def _context_id(self, key: _ContextKey) -> int:
        """Return the id of a context row, creating it (inside the caller's transaction)."""
        cached = self._contexts.get(key)
        if cached is not None:
            return cached
        row = self._db.execute(
            "SELECT id FROM contexts WHERE project = ? AND branch IS ? AND user IS ? "
            "AND command = ? AND source = ?",
            key,
        ).fetchone()
        if row is not None:
            found = int(row[0])
        else:
            cursor = self._db.execute(
                "INSERT INTO contexts (project, branch, user, command, source) "
                "VALUES (?, ?, ?, ?, ?)",
                key,
            )
            found = int(cursor.lastrowid if cursor.lastrowid is not None else 0)
        # Cached only after commit: a rolled-back insert must not leave a dangling id.
        self._pending_contexts[key] = found
        return found

    def prune(self, before: datetime, *, dry_run: bool) -> PruneResult:
        """Remove the sessions that ended before ``before`` (with their rows); or count them.

        Raises:
            LedgerError: the delete failed.
        """
        cutoff = to_us(before)
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                sessions, runs, rows = self._db.execute(
                    """
                    SELECT COUNT(*),
                        (SELECT COUNT(*) FROM agent_runs WHERE session_pk IN
                            (SELECT id FROM sessions WHERE end_us < ?)),
                        (SELECT COUNT(*) FROM usage_rows WHERE session_pk IN
                            (SELECT id FROM sessions WHERE end_us < ?))
                    FROM sessions WHERE end_us < ?
                    """,
                    (cutoff, cutoff, cutoff),
                ).fetchone()
                if not dry_run:
                    old = "(SELECT id FROM sessions WHERE end_us < ?)"
                    self._db.execute(f"DELETE FROM usage_rows WHERE session_pk IN {old}", (cutoff,))
                    self._db.execute(f"DELETE FROM agent_runs WHERE session_pk IN {old}", (cutoff,))
                    self._db.execute("DELETE FROM sessions WHERE end_us < ?", (cutoff,))
                self._db.execute("ROLLBACK" if dry_run else "COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise LedgerError(f"cannot prune {self.path}: {exc}") from exc
        return PruneResult(
            cutoff=from_us(cutoff),
            sessions=sessions,
            agent_runs=runs,
            usage_rows=rows,
            dry_run=dry_run,
        )

    # -- reading ------------------------------------------------------------------------------

    def schema_version(self) -> int:
        """Return the highest applied migration."""
        return _applied_version(self._db)

    def has_session(self, session_id: str) -> bool:
        """Return whether the session is in the ledger."""
        row = self._db.execute("SELECT 1 FROM sessions WHERE session_id = ?", (session_id,))
        return row.fetchone() is not None

    def session_ids(self) -> set[str]:
        """Return every session id in the ledger."""
        return {row[0] for row in self._db.execute("SELECT session_id FROM sessions")}

    def sessions(
        self,
        *,
        project: str | None = None,
        limit: int | None = 10,
        start: datetime | None = None,
        include_offline: bool = True,
        order_by: Literal["end", "cost"] = "end",
    ) -> list[SessionSummary]:
        """Return sessions, latest end first (or most expensive first with ``order_by="cost"``).

        ``project`` None means every project; ``start`` keeps sessions that started at or after it.
        """
        clauses = ["1 = 1"]
        params: list[Any] = []
        if project is not None:
            clauses.append("project = ?")
            params.append(project)
        if start is not None:
            clauses.append("start_us >= ?")
            params.append(to_us(start))
        if not include_offline:
            clauses.append("source != 'offline'")
        order = (
            "end_us DESC" if order_by == "end" else "cost_usd IS NULL, cost_usd DESC, end_us DESC"
        )
        where = " AND ".join(clauses)
        sql = f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE {where} ORDER BY {order}"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [_session(row) for row in self._db.execute(sql, params)]

    def find_session(self, session_id: str) -> SessionSummary:
        """Return the session whose id is ``session_id`` or starts with it (any project).

        Raises:
            SessionNotFoundError: no session matches.
            AmbiguousSessionError: the prefix matches several sessions.
        """
        exact = self._db.execute(
            f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE session_id = ?", (session_id,)
        ).fetchone()
        if exact is not None:
            return _session(exact)
        escaped = session_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self._db.execute(
            f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE session_id LIKE ? ESCAPE '\\' "
            "ORDER BY end_us DESC LIMIT 6",
            (escaped + "%",),
        ).fetchall()
        if not rows or not session_id:
            raise SessionNotFoundError(f"Session {session_id} not found")
        if len(rows) > 1:
            ids = ", ".join(row[0][:12] for row in rows[:5])
            raise AmbiguousSessionError(
                f"Session id prefix {session_id} matches several sessions ({ids}); give more of it"
            )
        return _session(rows[0])

    def report(self, session_id: str) -> TokenUsageReport:
        """Return the stored report of a session (exact id).

        Raises:
            SessionNotFoundError: the session is not in the ledger.
        """
        row = self._db.execute(
            "SELECT report_json FROM sessions WHERE session_id = ?", (session_id,)
        ).fetchone()
        if row is None:
            raise SessionNotFoundError(f"Session {session_id} not found")
        return TokenUsageReport.model_validate_json(row[0])

    def session_requests(self, session_id: str) -> list[RequestUsage]:
        """Return the request rows of a session in time order (derived rows included).

        A row whose request count is unknown (a manual entry's) reads as 0 requests.
        """
        return [request for request, _ in self._request_rows(session_id)]

    def _request_rows(self, session_id: str) -> list[tuple[RequestUsage, bool]]:
        """The request rows of a session in time order, each with whether its count is known."""
        rows = self._db.execute(
            """
            SELECT ts_us, agent, model, prompt_tokens, completion_tokens, cached_tokens,
                   cache_write_tokens, reasoning_tokens, requests, duration_seconds, cost_usd,
                   cost_is_actual, iteration, metadata
            FROM usage_rows WHERE session_pk = (SELECT id FROM sessions WHERE session_id = ?)
            ORDER BY ts_us, id
            """,
            (session_id,),
        )
        return [
            (
                RequestUsage(
                    timestamp=from_us(ts),
                    agent_name=agent,
                    model=model,
                    prompt_tokens=prompt,
                    completion_tokens=completion,
                    cached_tokens=cached,
                    cache_write_tokens=cache_write,
                    reasoning_tokens=reasoning,
                    requests=requests if requests is not None else 0,
                    duration_seconds=duration,
                    cost_usd=cost,
                    cost_is_actual=bool(actual),
                    iteration=iteration,
                    metadata=json.loads(metadata) if metadata else {},
                ),
                requests is not None,
            )
            for (
                ts,
                agent,
                model,
                prompt,
                completion,
                cached,
                cache_write,
                reasoning,
                requests,
                duration,
                cost,
                actual,
                iteration,
                metadata,
            ) in rows
        ]

    def intervals(self, session_id: str, minutes: float) -> list[IntervalUsage]:
        """Return a session's usage per ``minutes``-long interval from its start (seed 000).

        Every interval from the start to the end is listed, empty ones included; the last one is
        partial when the session ended inside it. A request belongs to the interval its timestamp
        falls in. Interval cost is ``None`` when a request in it has no price.

        Raises:
            SessionNotFoundError: the session is not in the ledger.
        """
        return self._intervals(self.find_session(session_id), minutes)[0]

    def _intervals(
        self, session: SessionSummary, minutes: float
    ) -> tuple[list[IntervalUsage], list[bool | None]]:
        """The intervals of :meth:`intervals`, and for each whether a row in it knew its request
        count (``None``: the interval has no rows)."""
        length = timedelta(minutes=minutes)
        span = session.end_time - session.start_time
        known_rows = self._request_rows(session.session_id)
        rows = [row for row, _ in known_rows]
        last_ts = max((row.timestamp for row in rows), default=session.end_time)
        span = max(span, last_ts - session.start_time)
        count = max(1, -(-span // length)) if span > timedelta(0) else 1
        intervals = [
            IntervalUsage(
                index=index + 1,
                start=session.start_time + index * length,
                duration_seconds=min(length, span - index * length).total_seconds()
                if span > timedelta(0)
                else 0.0,
                cost_usd=0.0,
            )
            for index in range(count)
        ]
        known: list[bool | None] = [None] * count
        for row, row_known in known_rows:
            offset = row.timestamp - session.start_time
            index = min(count - 1, max(0, offset // length))
            known[index] = known[index] is True or row_known
            interval = intervals[index]
            interval.prompt_tokens += row.prompt_tokens if row.prompt_tokens is not None else 0
            completion = row.completion_tokens if row.completion_tokens is not None else 0
            interval.completion_tokens += completion
            interval.total_tokens = interval.prompt_tokens + interval.completion_tokens
            interval.requests += row.requests
            if row.cost_usd is None or interval.cost_usd is None:
                interval.cost_usd = None
            else:
                interval.cost_usd += row.cost_usd
        return intervals, known

    def session_totals(self, session_id: str) -> UsageTotals:
        """Return the sums of one session's request rows (exact id)."""
        row = self._db.execute(
            f"SELECT {_SUMS} FROM usage_rows "
            "WHERE session_pk = (SELECT id FROM sessions WHERE session_id = ?)",
            (session_id,),
        ).fetchone()
        return _totals(row)

    def session_detail(self, session_id: str, minutes: float) -> SessionDetail:
        """Return a session (id or prefix) with its intervals and their TOTAL row.

        Raises:
            SessionNotFoundError: no session matches.
            AmbiguousSessionError: the prefix matches several sessions.
        """
        session = self.find_session(session_id)
        intervals, known = self._intervals(session, minutes)
        costs = [interval.cost_usd for interval in intervals]
        total = IntervalUsage(
            index=0,
            start=session.start_time,
            duration_seconds=sum(interval.duration_seconds for interval in intervals),
            prompt_tokens=sum(interval.prompt_tokens for interval in intervals),
            completion_tokens=sum(interval.completion_tokens for interval in intervals),
            total_tokens=sum(interval.total_tokens for interval in intervals),
            cost_usd=None
            if any(c is None for c in costs)
            else sum(c for c in costs if c is not None),
            requests=sum(interval.requests for interval in intervals),
        )
        # An interval whose rows all lack a request count holds 0 in ``requests`` (the
        # persisted interval model has no unknown); list it so that tables show it as unknown.
        unknown = [
            interval.index
            for interval, known_here in zip(intervals, known, strict=True)
            if known_here is False
        ]
        if False in known and True not in known:
            unknown.insert(0, 0)
        return SessionDetail(
            session=session,
            interval_minutes=minutes,
            intervals=intervals,
            total=total,
            unknown_requests=unknown,
        )

    def window_totals(self, filters: Filters) -> UsageTotals:
        """Return the sums of the request rows the filters select."""
        where, params = filters.where()
        row = self._db.execute(f"SELECT {_SUMS} FROM usage_rows WHERE {where}", params).fetchone()
        return _totals(row)

    def totals(
        self, since_days: int, project: str | None = None, *, now: datetime | None = None
    ) -> tuple[int, float | None, float | None]:
        """Return ``(tokens, cost_usd, priced_coverage)`` of the last ``since_days`` local days.

        The window is the last ``since_days`` local calendar days including today (0 = all
        time); offline rows are not counted. ``cost_usd`` is ``None`` when nothing was priced and a
        lower bound when ``priced_coverage`` < 1; ``priced_coverage`` is ``None`` with no tokens.
        """
        start = window_start(since_days, now=now)
        totals = self.window_totals(Filters(project=project, start=start))
        return totals.total_tokens, totals.cost_usd, totals.priced_coverage

    def grouped(
        self, column: GroupColumn, filters: Filters
    ) -> list[tuple[str | None, UsageTotals]]:
        """Return the sums of the selected request rows per value of ``column``.

        Raises:
            LedgerError: ``column`` is not a groupable column.
        """
        where, params = filters.where()
        if column in _ROW_COLUMNS:
            rows = self._db.execute(
                f"SELECT {column}, {_SUMS} FROM usage_rows WHERE {where} GROUP BY {column}", params
            )
            return [(row[0], _totals(row[1:])) for row in rows]
        if column not in _CONTEXT_COLUMNS:
            raise LedgerError(f"cannot group ledger rows by {column!r}")
        # Sum per context (index order, no join per row), then merge contexts sharing the value.
        # A session has one context, so its distinct-session counts add up exactly.
        values = dict(self._db.execute(f"SELECT id, {column} FROM contexts"))
        merged: dict[str | None, UsageTotals] = {}
        for row in self._db.execute(
            f"SELECT context_id, {_SUMS} FROM usage_rows WHERE {where} GROUP BY context_id", params
        ):
            value = values.get(row[0])
            totals = _totals(row[1:])
            merged[value] = _add(merged[value], totals) if value in merged else totals
        return list(merged.items())

    def buckets(self, filters: Filters) -> Iterator[Bucket]:
        """Yield per-session sums of the selected rows in 15-minute UTC buckets.

        Every time zone's offset is a multiple of 15 minutes, so no local midnight falls inside a
        bucket: grouping these buckets by local date, week or month is exact, and SQLite only
        aggregates (it never converts a row's time zone). A session has one context, so the
        context id rides along without adding groups.
        """
        where, params = filters.where()
        rows = self._db.execute(
            f"""
            SELECT ts_us / {BUCKET_US}, session_pk, context_id, SUM(requests), SUM(prompt_tokens),
                   SUM(completion_tokens), SUM(cached_tokens), SUM(total_tokens), SUM(cost_usd),
                   SUM(CASE WHEN cost_usd IS NOT NULL THEN total_tokens END)
            FROM usage_rows WHERE {where}
            GROUP BY ts_us / {BUCKET_US}, session_pk
            """,
            params,
        )
        for (
            number,
            session,
            context,
            requests,
            prompt,
            completion,
            cached,
            total,
            cost,
            priced,
        ) in rows:
            yield Bucket(
                number=number,
                session_pk=session,
                context_id=context,
                requests=requests,
                prompt_tokens=prompt if prompt is not None else 0,
                completion_tokens=completion if completion is not None else 0,
                cached_tokens=cached,
                total_tokens=total if total is not None else 0,
                cost_usd=cost,
                priced_tokens=priced if priced is not None else 0,
            )

    def context_values(self, column: GroupColumn) -> dict[int, str | None]:
        """Return each context id's value of ``column`` (project, branch, user, command, source).

        Raises:
            LedgerError: ``column`` is not a context column.
        """
        if column not in _CONTEXT_COLUMNS:
            raise LedgerError(f"{column!r} is not a context column")
        return dict(self._db.execute(f"SELECT id, {column} FROM contexts"))

    def first_row_time(self, filters: Filters) -> datetime | None:
        """Return the time of the earliest selected row, or ``None`` when none is selected."""
        where, params = filters.where()
        row = self._db.execute(f"SELECT MIN(ts_us) FROM usage_rows WHERE {where}", params)
        value = row.fetchone()[0]
        return from_us(value) if value is not None else None

    def model_usage(self, filters: Filters) -> list[ModelUsage]:
        """Return the selected rows' token sums per model (for re-pricing on another model)."""
        return usage_by_model(self.agent_model_usage(filters))

    def agent_model_usage(self, filters: Filters) -> list[ModelUsage]:
        """Return the selected rows' token sums and cost per (agent, model) pair, in one pass."""
        where, params = filters.where()
        rows = self._db.execute(
            f"""
            SELECT agent, model, SUM(prompt_tokens), SUM(completion_tokens), SUM(cached_tokens),
                   SUM(cache_write_tokens), SUM(reasoning_tokens), SUM(cost_usd),
                   SUM(CASE WHEN cost_usd IS NULL THEN 1 ELSE 0 END)
            FROM usage_rows WHERE {where} GROUP BY agent, model
            """,
            params,
        )
        return [
            ModelUsage(
                agent=row[0],
                model=row[1],
                prompt_tokens=row[2] if row[2] is not None else 0,
                completion_tokens=row[3] if row[3] is not None else 0,
                cached_tokens=row[4],
                cache_write_tokens=row[5],
                reasoning_tokens=row[6],
                cost_usd=row[7],
                unpriced_rows=row[8],
            )
            for row in rows
        ]

    def agent_runs(
        self,
        *,
        project: str | None = None,
        start: datetime | None = None,
        include_offline: bool = True,
    ) -> list[AgentRunRow]:
        """Return one row per agent run (one per session without agent runs), oldest first.

        Sessions are selected by their start time (at or after ``start``).
        """
        clauses = ["1 = 1"]
        params: list[Any] = []
        if project is not None:
            clauses.append("s.project = ?")
            params.append(project)
        if start is not None:
            clauses.append("s.start_us >= ?")
            params.append(to_us(start))
        if not include_offline:
            clauses.append("s.source != 'offline'")
        rows = self._db.execute(
            f"""
            SELECT s.session_id, COALESCE(a.start_us, s.start_us), s.project, s.branch, s.command,
                   a.agent, COALESCE(a.model, s.model),
                   CASE WHEN a.id IS NULL THEN s.prompt_tokens ELSE a.prompt_tokens END,
                   CASE WHEN a.id IS NULL THEN s.completion_tokens ELSE a.completion_tokens END,
                   CASE WHEN a.id IS NULL THEN s.cached_tokens ELSE a.cached_tokens END,
                   CASE WHEN a.id IS NULL THEN s.cache_write_tokens ELSE a.cache_write_tokens END,
                   CASE WHEN a.id IS NULL THEN s.reasoning_tokens ELSE a.reasoning_tokens END,
                   CASE WHEN a.id IS NULL THEN s.total_tokens ELSE a.total_tokens END,
                   CASE WHEN a.id IS NULL THEN s.requests ELSE a.requests END,
                   CASE WHEN a.id IS NULL THEN s.cost_usd ELSE a.cost_usd END,
                   s.source, COALESCE(s.note, a.error)
            FROM sessions s LEFT JOIN agent_runs a ON a.session_pk = s.id
            WHERE {" AND ".join(clauses)}
            ORDER BY s.start_us, s.id, a.position
            """,
            params,
        )
        return [
            AgentRunRow(
                session_id=row[0],
                timestamp=from_us(row[1]),
                project=row[2],
                branch=row[3],
                command=row[4],
                agent=row[5],
                model=row[6],
                prompt_tokens=row[7],
                completion_tokens=row[8],
                cached_tokens=row[9],
                cache_write_tokens=row[10],
                reasoning_tokens=row[11],
                total_tokens=row[12],
                requests=row[13],
                cost_usd=row[14],
                source=row[15],
                note=row[16],
            )
            for row in rows
        ]

    def stored_sessions(
        self,
        *,
        project: str | None = None,
        start: datetime | None = None,
        include_offline: bool = True,
    ) -> list[tuple[SessionSummary, TokenUsageReport]]:
        """Return each selected session with its stored report, oldest first."""
        clauses = ["1 = 1"]
        params: list[Any] = []
        if project is not None:
            clauses.append("project = ?")
            params.append(project)
        if start is not None:
            clauses.append("start_us >= ?")
            params.append(to_us(start))
        if not include_offline:
            clauses.append("source != 'offline'")
        rows = self._db.execute(
            f"SELECT {_SESSION_COLUMNS}, report_json FROM sessions "
            f"WHERE {' AND '.join(clauses)} ORDER BY start_us, id",
            params,
        )
        return [(_session(row[:-1]), TokenUsageReport.model_validate_json(row[-1])) for row in rows]


class ModelUsage(BaseModel):
    """Token sums of one model over a window (the input of "same usage on another model")."""

    agent: str | None = None
    """The agent, for per-(agent, model) sums; ``None`` in per-model sums."""
    model: str | None
    """The model; ``None`` for rows with no model."""
    prompt_tokens: int
    """Input tokens."""
    completion_tokens: int
    """Output tokens."""
    cached_tokens: int | None
    """Cached input tokens; ``None`` when never reported."""
    cache_write_tokens: int | None
    """Cache-write input tokens; ``None`` when never reported."""
    reasoning_tokens: int | None
    """Reasoning output tokens; ``None`` when never reported."""
    cost_usd: float | None
    """Recorded cost of the priced rows."""
    unpriced_rows: int
    """Rows of this model with no known cost."""


def _plus(first: int | None, second: int | None) -> int | None:
    if first is None:
        return second
    if second is None:
        return first
    return first + second


def _merge_usage(first: ModelUsage, second: ModelUsage) -> ModelUsage:
    """The sums of two disjoint sets of rows of one model."""
    cost = (
        second.cost_usd
        if first.cost_usd is None
        else first.cost_usd
        if second.cost_usd is None
        else first.cost_usd + second.cost_usd
    )
    return ModelUsage(
        agent=first.agent if first.agent == second.agent else None,
        model=first.model,
        prompt_tokens=first.prompt_tokens + second.prompt_tokens,
        completion_tokens=first.completion_tokens + second.completion_tokens,
        cached_tokens=_plus(first.cached_tokens, second.cached_tokens),
        cache_write_tokens=_plus(first.cache_write_tokens, second.cache_write_tokens),
        reasoning_tokens=_plus(first.reasoning_tokens, second.reasoning_tokens),
        cost_usd=cost,
        unpriced_rows=first.unpriced_rows + second.unpriced_rows,
    )


def usage_by_model(pairs: Iterable[ModelUsage]) -> list[ModelUsage]:
    """Merge per-(agent, model) sums into per-model sums (``agent`` ``None``)."""
    merged: dict[str | None, ModelUsage] = {}
    for usage in pairs:
        current = merged.get(usage.model)
        merged[usage.model] = usage if current is None else _merge_usage(current, usage)
    return [usage.model_copy(update={"agent": None}) for usage in merged.values()]


def window_start(days: int, *, now: datetime | None = None) -> datetime | None:
    """Return the start (local midnight, as an aware time) of the last ``days`` local days.

    ``days`` counts calendar days including today; 0 means all time (``None``).
    """
    if days <= 0:
        return None
    local_now = (now if now is not None else utc_now()).astimezone()
    first_day = local_now.date() - timedelta(days=days - 1)
    return datetime(first_day.year, first_day.month, first_day.day).astimezone()


# --------------------------------------------------------------------------------------------------
# Internals


_SESSION_COLUMNS = """
    session_id, project, project_remote, command, model, source, status, start_us, end_us,
    duration_seconds, branch, git_commit, user, prompt_tokens, completion_tokens, total_tokens,
    cached_tokens, requests, cost_usd, priced_coverage, note
"""


def _session(row: Sequence[Any]) -> SessionSummary:
    return SessionSummary(
        session_id=row[0],
        project=row[1],
        project_remote=row[2],
        command=row[3],
        model=row[4],
        source=row[5],
        status=row[6],
        start_time=from_us(row[7]),
        end_time=from_us(row[8]),
        duration_seconds=row[9],
        branch=row[10],
        commit=row[11],
        user=row[12],
        prompt_tokens=row[13],
        completion_tokens=row[14],
        total_tokens=row[15],
        cached_tokens=row[16],
        requests=row[17],
        cost_usd=row[18],
        priced_coverage=row[19],
        note=row[20],
    )


def _agent_values(session_pk: int | None, position: int, agent: AgentUsage) -> tuple[Any, ...]:
    return (
        session_pk,
        position,
        agent.agent_name,
        agent.model,
        to_us(agent.start_time) if agent.start_time is not None else None,
        to_us(agent.end_time) if agent.end_time is not None else None,
        agent.duration_seconds,
        int(agent.success),
        agent.error,
        agent.prompt_tokens,
        agent.completion_tokens,
        agent.total_tokens,
        agent.cached_tokens,
        agent.cache_write_tokens,
        agent.reasoning_tokens,
        agent.requests,
        agent.cost_usd,
        agent.output_file,
    )


@dataclass(frozen=True)
class _RowContext:
    session_pk: int
    context_id: int
    note: str | None


_INSERT_ROW = """
    INSERT INTO usage_rows (
        session_pk, context_id, ts_us, agent, iteration, model, prompt_tokens, completion_tokens,
        cached_tokens, cache_write_tokens, reasoning_tokens, total_tokens, requests, cost_usd,
        cost_is_actual, duration_seconds, metadata, note, derived
    ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""


def _sum_known(first: int | None, second: int | None) -> int | None:
    """``first + second``, or ``None`` when either is unknown."""
    if first is None or second is None:
        return None
    return first + second


def _usage_values(
    context: _RowContext, report: TokenUsageReport, requests: Sequence[RequestUsage]
) -> Iterator[tuple[Any, ...]]:
    """Yield the usage rows of a report: its requests, plus a derived row per agent without any."""
    head = (context.session_pk, context.context_id)
    tail = (context.note,)
    for request in requests:
        yield (
            *head,
            to_us(request.timestamp),
            request.agent_name,
            request.iteration,
            request.model,
            request.prompt_tokens,
            request.completion_tokens,
            request.cached_tokens,
            request.cache_write_tokens,
            request.reasoning_tokens,
            _sum_known(request.prompt_tokens, request.completion_tokens),
            request.requests,
            request.cost_usd,
            int(request.cost_is_actual),
            request.duration_seconds,
            json.dumps(request.metadata, sort_keys=True, default=str) if request.metadata else None,
            *tail,
            0,
        )
    covered = {request.agent_name for request in requests}
    for agent in report.agent_usage:
        if agent.agent_name in covered:
            continue
        moment = agent.end_time or agent.start_time or report.end_time
        yield (
            *head,
            to_us(moment),
            agent.agent_name,
            None,
            agent.model if agent.model is not None else report.model,
            agent.prompt_tokens,
            agent.completion_tokens,
            agent.cached_tokens,
            agent.cache_write_tokens,
            agent.reasoning_tokens,
            agent.total_tokens
            if agent.total_tokens is not None
            else _sum_known(agent.prompt_tokens, agent.completion_tokens),
            agent.requests,
            agent.cost_usd,
            0,
            agent.duration_seconds,
            None,
            *tail,
            1,
        )
    if not requests and not report.agent_usage and report.total_tokens:
        # A session with tokens but no agent breakdown: one row keeps its tokens countable.
        yield (
            *head,
            to_us(report.end_time),
            None,
            None,
            report.model,
            report.total_prompt_tokens,
            report.total_completion_tokens,
            report.total_cached_tokens,
            report.total_cache_write_tokens,
            report.total_reasoning_tokens,
            report.total_tokens,
            report.total_requests,
            report.total_cost_usd,
            0,
            report.total_duration_seconds,
            None,
            *tail,
            1,
        )


def _first_file(folder: Path) -> Path:
    """Return the nearest of ``folder`` and its parents that exists but is not a folder."""
    for candidate in (folder, *folder.parents):
        if candidate.exists() or candidate.is_symlink():
            return candidate
    return folder


def _enable_wal(db: sqlite3.Connection) -> None:
    """Switch the file to WAL mode (persistent), waiting out other processes doing the same.

    SQLite answers a concurrent journal-mode change with "database is locked" at once, without
    calling the busy handler, so two processes opening a fresh file would fail: retry instead.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = 0.005
    while True:
        try:
            if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)


def _applied_version(db: sqlite3.Connection) -> int:
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
    current = _applied_version(db)
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
            current = _applied_version(db)
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


# --------------------------------------------------------------------------------------------------
# Manual entries


MAX_MANUAL_TOKENS = 10**12
"""The largest token count a manual entry may record (a trillion; far from SQLite's 2**63)."""


def manual_entry(
    project_path: Path,
    *,
    input_tokens: int,
    output_tokens: int,
    model: str | None = None,
    branch: str | None = None,
    cost_usd: float | None = None,
    pricebook: PriceBook | None = None,
    now: datetime | None = None,
) -> TokenUsageReport:
    """Return the report of a manual entry (source ``manual``, one agent run named ``manual``).

    The cost is ``cost_usd`` when given (recorded as actual), else the model's price from
    ``pricebook``, else unknown (``None``): without a model or a cost nothing can be priced.
    ``branch`` defaults to the project's current git branch. The request count is unknown.

    Raises:
        LedgerError: a token count is negative or above ``MAX_MANUAL_TOKENS``, the cost is not a
            finite number, or the model name is empty.
    """
    if input_tokens < 0 or output_tokens < 0:
        raise LedgerError("token counts cannot be negative")
    if max(input_tokens, output_tokens) > MAX_MANUAL_TOKENS:
        # SQLite stores 64-bit integers: a larger count fails at insert with an OverflowError,
        # and the ledger's sums must stay far below that bound too.
        raise LedgerError(f"token counts must be at most {MAX_MANUAL_TOKENS:,}")
    if cost_usd is not None and not (math.isfinite(cost_usd) and cost_usd >= 0):
        # NaN or infinity would poison every total and make the JSON output invalid.
        raise LedgerError(f"--cost must be a finite number of USD, zero or more (got {cost_usd})")
    if model is not None and not model.strip():
        raise LedgerError("--model is empty: name the model, or leave --model out")
    moment = now if now is not None else utc_now()
    root = project_root(project_path)
    git = git_info(root)
    if branch is not None:
        git = (git if git is not None else GitInfo()).model_copy(update={"branch": branch})
    cost = cost_usd
    if cost is None and model is not None and pricebook is not None:
        breakdown = pricebook.try_cost(
            model, Usage(prompt_tokens=input_tokens, completion_tokens=output_tokens)
        )
        cost = breakdown.total if breakdown is not None else None
    total = input_tokens + output_tokens
    agent = AgentUsage(
        agent_name="manual",
        prompt_tokens=input_tokens,
        completion_tokens=output_tokens,
        total_tokens=total,
        model=model,
        start_time=moment,
        end_time=moment,
        duration_seconds=0.0,
        success=True,
        cost_usd=cost,
    )
    return TokenUsageReport(
        session_id=str(uuid.uuid4()),
        project_path=str(root),
        model=model,
        command="manual",
        start_time=moment,
        end_time=moment,
        total_duration_seconds=0.0,
        total_prompt_tokens=input_tokens,
        total_completion_tokens=output_tokens,
        total_tokens=total,
        total_cost_usd=cost,
        successful_agents=1,
        agent_usage=[agent],
        schema_version=REPORT_SCHEMA_VERSION,
        source="manual",
        git=git,
        priced_coverage=(1.0 if cost is not None else 0.0) if total else None,
        tool_version=tool_version(),
    )


# --------------------------------------------------------------------------------------------------
# Reindex


REPORT_GLOB = "token_usage_*.json"
"""The names of report files in a token-reports folder."""


class ReindexResult(BaseModel):
    """What ``reindex`` found and imported."""

    folder: Path
    """The token-reports folder read."""
    imported: list[str] = Field(default_factory=list)
    """Session ids imported (or that would be, in a dry run)."""
    already_present: int = 0
    """Report files whose session the ledger already had."""
    recovered: list[str] = Field(default_factory=list)
    """Session ids of orphaned journals turned into ``interrupted`` reports."""
    skipped: list[str] = Field(default_factory=list)
    """One warning per unreadable report file, naming it."""
    dry_run: bool = False
    """True when nothing was written."""


def reindex(ledger: Ledger, reports_folder: Path, *, dry_run: bool = False) -> ReindexResult:
    """Import every report file of ``reports_folder`` the ledger lacks, idempotent by session id.

    Orphaned journals (whose process died) are first recovered into ``interrupted`` reports,
    saved beside the others; with ``dry_run`` nothing is recovered, saved or inserted, and the
    result lists what would be. Reports of every schema version load, 0.1 included; a corrupt
    or foreign file is skipped and named in ``skipped``.

    Raises:
        LedgerError: an insert failed.
        ReportFileError: a recovered journal's report cannot be saved.
    """
    result = ReindexResult(folder=reports_folder, dry_run=dry_run)
    if not reports_folder.is_dir():
        return result
    recovered = recover_journals(reports_folder, save=not dry_run)
    result.recovered = [report.session_id for report in recovered]
    seen: set[str] = set()
    candidates: list[TokenUsageReport] = list(recovered) if dry_run else []
    for path in sorted(reports_folder.glob(REPORT_GLOB)):
        try:
            candidates.append(load_report(path))
        except ReportFileError as error:
            result.skipped.append(f"skipped {path}: {error}")
    for report in candidates:
        if report.session_id in seen:
            continue
        seen.add(report.session_id)
        if ledger.has_session(report.session_id):
            result.already_present += 1
        elif dry_run or ledger.insert_report(report):
            result.imported.append(report.session_id)
        else:
            result.already_present += 1  # another process inserted it meanwhile
    return result
