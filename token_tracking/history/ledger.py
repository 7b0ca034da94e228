"""The SQLite usage ledger: one file per user, every finished session with its rows.

:class:`Ledger` opens the file (creating and migrating it, see
:mod:`~token_tracking.history.migrations`), inserts finished sessions (the rows are described in
:mod:`~token_tracking.history.rows`) and answers the history queries with the models of
:mod:`~token_tracking.history.models`. Grouping by local day, week and month happens in
:mod:`token_tracking.history.trends`.

Writers take the write lock up front (``BEGIN IMMEDIATE``) and wait on the busy timeout, so
concurrent processes queue instead of failing with ``database is locked``. The file is in WAL mode
so readers never block the writer.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from token_tracking.errors import AmbiguousSessionError, LedgerError, SessionNotFoundError
from token_tracking.git import project_root
from token_tracking.history import rollup, rows
from token_tracking.history.clock import from_us, to_us, window_start
from token_tracking.history.database import Database, redacted_url
from token_tracking.history.detail import session_detail, split_intervals
from token_tracking.history.migrations import applied_version, migrate
from token_tracking.history.models import (
    BUCKET_US,
    AgentRunRow,
    Bucket,
    Filters,
    GroupColumn,
    ModelUsage,
    PruneResult,
    SessionDetail,
    SessionSummary,
    UsageTotals,
    merge_totals,
    usage_by_model,
)
from token_tracking.records import IntervalUsage, RequestUsage
from token_tracking.reports.file import TokenUsageReport, parse_report
from token_tracking.settings import DB_PATH_VARIABLE, db_url, default_db_path

BUSY_TIMEOUT_MS = 30_000
"""How long a writer waits for another process's write transaction before giving up."""


@lru_cache(maxsize=256)
def project_key(path: Path) -> str:
    """Return the ledger's name for the project at ``path``: its resolved git root, else the path.

    Works for paths that no longer exist (a moved project's old reports): those resolve as given.
    Cached per process: inserting many sessions of one project asks git once.
    """
    return str(project_root(path.expanduser()))


@dataclass(frozen=True)
class PreparedSession:
    """One session's rows, ready to insert: everything but the ids the ledger assigns."""

    session_id: str
    """The session's id."""
    session: tuple[Any, ...]
    """The parameters of the session row."""
    context: rows.ContextKey
    """Project, branch, user, command, source and machine of its request rows."""
    agents: list[tuple[Any, ...]]
    """Each agent run's parameters after the session's id."""
    usage: list[tuple[Any, ...]]
    """Each request row's parameters after the session's and the context's ids."""


def prepare_session(
    report: TokenUsageReport, requests: Sequence[RequestUsage] = (), note: str | None = None
) -> PreparedSession:
    """Build the rows of a finished session (its report, agent runs and requests) for
    :meth:`Ledger.insert_prepared`."""
    project = project_key(Path(report.project_path))
    ids = rows.RowContext(session_pk=0, context_id=0, note=note)
    return PreparedSession(
        session_id=report.session_id,
        session=rows.session_values(report, project, note),
        context=rows.context_key(report, project, rows.recorder()),
        agents=[
            rows.agent_values(None, position, agent)[1:]
            for position, agent in enumerate(report.agent_usage)
        ],
        usage=[row[2:] for row in rows.usage_values(ids, report, requests)],
    )


_ROW_COLUMNS: frozenset[str] = frozenset(("model", "agent", "attributed_commit"))
_CONTEXT_COLUMNS: tuple[str, ...] = (
    "project",
    "branch",
    "user",
    "command",
    "source",
    "machine",
)


class Ledger:
    """An open ledger file. Use as a context manager, or call :meth:`close`."""

    def __init__(self, path: Path | None = None, *, url: str | None = None) -> None:
        """Open (creating and migrating as needed) the ledger.

        ``url``: a ``postgresql://`` URL; else ``path``: a SQLite file; else
        ``TOKEN_TRACKING_DB_URL`` when set, else the SQLite file of ``TOKEN_TRACKING_DB_PATH`` or
        the user-data folder.

        Raises:
            LedgerError: the database cannot be opened or reached, or is not a ledger.
            SettingError: ``TOKEN_TRACKING_DB_URL`` is not a PostgreSQL URL.
        """
        if url is None and path is None:
            url = db_url()
        self.url = url
        """The PostgreSQL URL, when the ledger lives on a server (``None`` for a file)."""
        self.path = path if path is not None or url is not None else default_db_path()
        """The SQLite file, when the ledger is one (``None`` on PostgreSQL)."""
        self.location = redacted_url(url) if url is not None else str(self.path)
        """Where the ledger is, for messages: the file, or the URL without its password."""
        self._contexts: dict[rows.ContextKey, int] = {}
        self._pending_contexts: dict[rows.ContextKey, int] = {}
        # Read-only: reads never write (the trends rollup is then read as it stands).
        self._read_only = self.path is not None and not _writable(self.path)
        if url is not None:
            self._db = _open_postgresql(url, self.location)
        else:
            assert self.path is not None
            self._db = _open_sqlite(self.path)
        try:
            migrate(self._db)
        except self._db.errors as exc:
            self._db.close()
            raise LedgerError(f"cannot use the ledger {self.location}: {exc}") from exc

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._db.dialect

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
    def connection(self) -> Database:
        """The underlying connection, for queries this module does not offer."""
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
        return self.insert_prepared([prepare_session(r, q, note) for r, q in sessions])

    def insert_prepared(self, sessions: Sequence[PreparedSession]) -> int:
        """Insert sessions whose rows :func:`prepare_session` built, in one transaction.

        The rows are built before the transaction starts, so the write lock is held only while
        they are written. Sessions already in the ledger are skipped. Returns how many were
        inserted.

        Raises:
            LedgerError: a write failed (the whole transaction is rolled back).
        """
        inserted = 0
        current = "?"
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                for prepared in sessions:
                    current = prepared.session_id
                    cursor = db.execute(rows.INSERT_SESSION, prepared.session)
                    if cursor.rowcount == 0:
                        continue
                    pk = cursor.lastrowid
                    db.executemany(rows.INSERT_AGENT_RUN, [(pk, *a) for a in prepared.agents])
                    head = (pk, self._context_id(prepared.context))
                    db.executemany(rows.INSERT_ROW, [(*head, *u) for u in prepared.usage])
                    inserted += 1
                db.execute("COMMIT")
                self._contexts.update(self._pending_contexts)
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            finally:
                self._pending_contexts.clear()
        except self._db.errors as exc:
            raise LedgerError(f"cannot record session {current} in {self.location}: {exc}") from exc
        return inserted

    def context_id_for(self, fields: dict[str, Any]) -> int:
        """Return the id of the context with these values, creating it inside the caller's
        transaction (missing fields are null); call :meth:`commit_contexts` after the commit."""
        key: rows.ContextKey = (
            fields["project"],
            fields.get("branch"),
            fields.get("user"),
            fields["command"],
            fields["source"],
            fields.get("machine"),
        )
        return self._context_id(key)

    def commit_contexts(self) -> None:
        """Remember the contexts created by the transaction just committed."""
        self._contexts.update(self._pending_contexts)
        self._pending_contexts.clear()

    def forget_pending_contexts(self) -> None:
        """Forget the contexts created by a transaction that was rolled back."""
        self._pending_contexts.clear()

    def _context_id(self, key: rows.ContextKey) -> int:
        """Return the id of a context row, creating it (inside the caller's transaction)."""
        cached = self._contexts.get(key, self._pending_contexts.get(key))
        if cached is not None:
            return cached
        row = self._db.execute(
            "SELECT id FROM contexts WHERE project = ? AND branch IS ? AND user IS ? "
            "AND command = ? AND source = ? AND machine IS ?",
            key,
        ).fetchone()
        if row is not None:
            found = int(row[0])
        else:
            cursor = self._db.execute(
                "INSERT INTO contexts (project, branch, user, command, source, machine) "
                "VALUES (?, ?, ?, ?, ?, ?)",
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
                sessions, runs, requests = self._db.execute(
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
        except self._db.errors as exc:
            raise LedgerError(f"cannot prune {self.location}: {exc}") from exc
        return PruneResult(
            cutoff=from_us(cutoff),
            sessions=sessions,
            agent_runs=runs,
            usage_rows=requests,
            dry_run=dry_run,
        )

    # -- reading ------------------------------------------------------------------------------

    def schema_version(self) -> int:
        """Return the highest applied migration."""
        return applied_version(self._db)

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
        sources: Sequence[str] = (),
        commit: str | None = None,
        user: str | None = None,
    ) -> list[SessionSummary]:
        """Return sessions, latest end first (or most expensive first with ``order_by="cost"``).

        ``project`` None means every project; ``start`` keeps sessions that started at or after it;
        ``sources`` keeps those sources only; ``commit`` (a hash or prefix) keeps the sessions with
        rows attributed to that commit; ``user`` the sessions with rows that user recorded.
        """
        where, params = rows.session_where(
            project, start, include_offline, sources=sources, commit=commit, user=user
        )
        order = (
            "end_us DESC" if order_by == "end" else "cost_usd IS NULL, cost_usd DESC, end_us DESC"
        )
        sql = f"SELECT {rows.SESSION_COLUMNS} FROM sessions WHERE {where} ORDER BY {order}"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [rows.session_summary(row) for row in self._db.execute(sql, params)]

    def find_session(self, session_id: str) -> SessionSummary:
        """Return the session whose id is ``session_id`` or starts with it (any project).

        Raises:
            SessionNotFoundError: no session matches.
            AmbiguousSessionError: the prefix matches several sessions.
        """
        exact = self._db.execute(
            f"SELECT {rows.SESSION_COLUMNS} FROM sessions WHERE session_id = ?", (session_id,)
        ).fetchone()
        if exact is not None:
            return rows.session_summary(exact)
        escaped = session_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        matches = self._db.execute(
            f"SELECT {rows.SESSION_COLUMNS} FROM sessions WHERE session_id LIKE ? ESCAPE '\\' "
            "ORDER BY end_us DESC LIMIT 6",
            (escaped + "%",),
        ).fetchall()
        if not matches or not session_id:
            raise SessionNotFoundError(f"Session {session_id} not found")
        if len(matches) > 1:
            ids = ", ".join(row[0][:12] for row in matches[:5])
            raise AmbiguousSessionError(
                f"Session id prefix {session_id} matches several sessions ({ids}); give more of it"
            )
        return rows.session_summary(matches[0])

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
        return parse_report(row[0])

    def session_requests(self, session_id: str) -> list[RequestUsage]:
        """Return the request rows of a session in time order (derived rows included).

        A row whose request count is unknown (a manual entry's) reads as 0 requests.
        """
        return [request for request, _ in self._request_rows(session_id)]

    def _request_rows(self, session_id: str) -> list[tuple[RequestUsage, bool]]:
        """The request rows of a session in time order, each with whether its count is known."""
        found = self._db.execute(
            f"SELECT {rows.REQUEST_COLUMNS} FROM usage_rows "
            "WHERE session_pk = (SELECT id FROM sessions WHERE session_id = ?) ORDER BY ts_us, id",
            (session_id,),
        )
        return [rows.request_usage(row) for row in found]

    def intervals(self, session_id: str, minutes: float) -> list[IntervalUsage]:
        """Return a session's usage per ``minutes``-long interval from its start.

        Every interval from the start to the end is listed, empty ones included; the last one is
        partial when the session ended inside it. A request belongs to the interval its timestamp
        falls in. Interval cost is ``None`` when a request in it has no price.

        Raises:
            SessionNotFoundError: the session is not in the ledger.
        """
        session = self.find_session(session_id)
        return split_intervals(session, self._request_rows(session.session_id), minutes)[0]

    def session_totals(self, session_id: str) -> UsageTotals:
        """Return the sums of one session's request rows (exact id)."""
        row = self._db.execute(
            f"SELECT {rows.SUMS} FROM usage_rows "
            "WHERE session_pk = (SELECT id FROM sessions WHERE session_id = ?)",
            (session_id,),
        ).fetchone()
        return rows.usage_totals(row)

    def session_detail(self, session_id: str, minutes: float) -> SessionDetail:
        """Return a session (id or prefix) with its intervals and their TOTAL row.

        Raises:
            SessionNotFoundError: no session matches.
            AmbiguousSessionError: the prefix matches several sessions.
        """
        session = self.find_session(session_id)
        return session_detail(session, self._request_rows(session.session_id), minutes)

    def window_totals(self, filters: Filters) -> UsageTotals:
        """Return the sums of the request rows the filters select."""
        where, params = filters.where()
        row = self._db.execute(
            f"SELECT {rows.SUMS} FROM usage_rows WHERE {where}", params
        ).fetchone()
        return rows.usage_totals(row)

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
            found = self._db.execute(
                f"SELECT {column}, {rows.SUMS} FROM usage_rows WHERE {where} GROUP BY {column}",
                params,
            )
            return [(row[0], rows.usage_totals(row[1:])) for row in found]
        if column not in _CONTEXT_COLUMNS:
            raise LedgerError(f"cannot group ledger rows by {column!r}")
        # Sum per context (index order, no join per row), then merge contexts sharing the value.
        # A session has one context, so its distinct-session counts add up exactly.
        values = self.context_values(column)
        parts: dict[str | None, list[UsageTotals]] = {}
        for row in self._db.execute(
            f"SELECT context_id, {rows.SUMS} FROM usage_rows WHERE {where} GROUP BY context_id",
            params,
        ):
            parts.setdefault(values.get(row[0]), []).append(rows.usage_totals(row[1:]))
        return [(value, merge_totals(totals)) for value, totals in parts.items()]

    def buckets(self, filters: Filters) -> Iterator[Bucket]:
        """Yield per-session sums of the selected rows in 15-minute UTC buckets.

        Every time zone's offset is a multiple of 15 minutes, so no local midnight falls inside a
        bucket: grouping these buckets by local date, week or month is exact, and the database only
        aggregates (it never converts a row's time zone). A session has one context, so grouping
        by the context id too adds no groups.
        """
        where, params = rows.bucket_where(filters)
        # Grouped in the order of the (context, bucket, session) index: read as they are summed.
        found = self._db.execute(
            f"""
            SELECT ts_us / {BUCKET_US}, session_pk, context_id, CAST(SUM(requests) AS BIGINT),
                   CAST(SUM(prompt_tokens) AS BIGINT), CAST(SUM(completion_tokens) AS BIGINT),
                   CAST(SUM(cached_tokens) AS BIGINT), CAST(SUM(total_tokens) AS BIGINT),
                   SUM(cost_usd),
                   CAST(SUM(CASE WHEN cost_usd IS NOT NULL THEN total_tokens END) AS BIGINT)
            FROM usage_rows WHERE {where}
            GROUP BY context_id, ts_us / {BUCKET_US}, session_pk
            """,
            params,
        )
        for row in found.fetchall():
            yield rows.bucket(row)

    def trend_scan(self, filters: Filters, key: GroupColumn | None = None) -> rows.TrendScan:
        """Return, from one pass over the selected rows, their :meth:`buckets`, their sums per
        (agent, model) pair and, when ``key`` is ``model``, ``agent`` or ``attributed_commit``,
        their sums per value of that column (as :meth:`grouped`).

        Raises:
            LedgerError: ``key`` is not one of those columns.
        """
        if key is not None and key not in rows.SCAN_KEYS:
            raise LedgerError(f"cannot group the trends scan by {key!r}")
        try:
            source = rollup.scan_source(self._db, filters, write=not self._read_only)
        except self._db.errors:
            # The rollup could not be brought up to date (a login without write rights, a busy
            # ledger): the rollup as it stands plus the rows above its watermark is as exact.
            try:
                source = rollup.scan_source(self._db, filters, write=False)
            except self._db.errors as exc:
                raise LedgerError(f"cannot read the trends rollup: {exc}") from exc
        sql, params = rows.trend_scan_sql(filters, key, source)
        return rows.trend_scan(self._db.execute(sql, params).fetchall())

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
        sql, params = rows.first_row_sql(filters)
        value = self._db.execute(sql, params).fetchone()[0]
        return from_us(value) if value is not None else None

    def model_usage(self, filters: Filters) -> list[ModelUsage]:
        """Return the selected rows' token sums per model (for re-pricing on another model)."""
        return usage_by_model(self.agent_model_usage(filters))

    def agent_model_usage(self, filters: Filters) -> list[ModelUsage]:
        """Return the selected rows' token sums and cost per (agent, model) pair, in one pass."""
        where, params = filters.where()
        found = self._db.execute(
            f"""
            SELECT agent, model, SUM(prompt_tokens), SUM(completion_tokens), SUM(cached_tokens),
                   SUM(cache_write_tokens), SUM(reasoning_tokens), SUM(cost_usd),
                   SUM(CASE WHEN cost_usd IS NULL THEN 1 ELSE 0 END)
            FROM usage_rows WHERE {where} GROUP BY agent, model
            """,
            params,
        )
        return [rows.model_usage(row) for row in found]

    def agent_runs(
        self,
        *,
        project: str | None = None,
        start: datetime | None = None,
        include_offline: bool = True,
        sources: Sequence[str] = (),
    ) -> list[AgentRunRow]:
        """Return one row per agent run (one per session without agent runs), oldest first.

        Sessions are selected by their start time (at or after ``start``), and by ``sources``.
        """
        where, params = rows.session_where(
            project, start, include_offline, table="s.", sources=sources
        )
        found = self._db.execute(
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
                   s.source, COALESCE(s.note, a.error),
                   (SELECT SUM(u.reported_cost_usd) FROM usage_rows u
                     WHERE u.session_pk = s.id AND (a.id IS NULL OR u.model IS a.model))
            FROM sessions s LEFT JOIN agent_runs a ON a.session_pk = s.id
            WHERE {where}
            ORDER BY s.start_us, s.id, a.position
            """,
            params,
        )
        return [rows.agent_run(row) for row in found]

    def reported_costs(self) -> dict[str, float]:
        """Return the cost each session's source itself reported (Claude Code's ``costUSD``),
        by session id, for the sessions that have one."""
        found = self._db.execute(
            "SELECT s.session_id, SUM(u.reported_cost_usd) FROM usage_rows u "
            "JOIN sessions s ON s.id = u.session_pk WHERE u.reported_cost_usd IS NOT NULL "
            "GROUP BY s.session_id"
        )
        return {row[0]: row[1] for row in found}

    def stored_sessions(
        self,
        *,
        project: str | None = None,
        start: datetime | None = None,
        include_offline: bool = True,
        sources: Sequence[str] = (),
    ) -> list[tuple[SessionSummary, TokenUsageReport]]:
        """Return each selected session (of ``sources`` only, when given) with its stored
        report, oldest first."""
        where, params = rows.session_where(project, start, include_offline, sources=sources)
        found = self._db.execute(
            f"SELECT {rows.SESSION_COLUMNS}, report_json FROM sessions "
            f"WHERE {where} ORDER BY start_us, id",
            params,
        )
        return [(rows.session_summary(row[:-1]), parse_report(row[-1])) for row in found]


def _first_file(folder: Path) -> Path:
    """Return the nearest of ``folder`` and its parents that exists but is not a folder."""
    for candidate in (folder, *folder.parents):
        if candidate.exists() or candidate.is_symlink():
            return candidate
    return folder


def _writable(path: Path) -> bool:
    """True unless ``path`` exists and it or its folder cannot be written (a read-only file or
    file system)."""
    if not path.exists():
        return True
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def _open_read_only(path: Path) -> Database:
    """Open an existing ledger file that cannot be written, for reading only.

    ``mode=ro`` first; a WAL file whose folder cannot hold the shared-memory file opens as
    ``immutable`` (no other process can write to it either) when its write-ahead log is empty.
    Raises LedgerError.
    """
    target = quote(str(path.resolve()))
    problem: sqlite3.Error | None = None
    wal = path.with_name(path.name + "-wal")
    # ``immutable`` ignores the write-ahead log: only safe when the log holds nothing.
    safe_immutable = not wal.exists() or wal.stat().st_size == 0
    for flags in ("mode=ro", "immutable=1") if safe_immutable else ("mode=ro",):
        try:
            connection = sqlite3.connect(
                f"file:{target}?{flags}",
                uri=True,
                isolation_level=None,
                timeout=BUSY_TIMEOUT_MS / 1e3,
            )
        except sqlite3.Error as exc:
            problem = exc
            continue
        try:
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            connection.close()
            problem = exc
            continue
        return Database.sqlite(connection)
    raise LedgerError(f"cannot open the ledger {path} (read-only): {problem}")


def _open_sqlite(path: Path) -> Database:
    """Open the ledger file (creating its folder) in WAL mode with the busy timeout; an existing
    file that cannot be written (or whose folder cannot) is opened read-only, so the history
    commands still work and a write fails with ``attempt to write a readonly database``."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        # mkdir's own words ("File exists") hide the cause: a file where a folder must be.
        raise LedgerError(
            f"cannot open the ledger {path}: a file stands where its folder "
            f"{_first_file(path.parent)} should be; set {DB_PATH_VARIABLE} "
            "to a path inside a folder"
        ) from None
    except OSError as exc:
        raise LedgerError(f"cannot open the ledger {path}: {exc.strerror}") from exc
    if path.is_dir():
        raise LedgerError(
            f"cannot open the ledger {path}: it is a folder; set {DB_PATH_VARIABLE} to a file path"
        )
    if not _writable(path):
        return _open_read_only(path)
    try:
        connection = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1e3)
    except (OSError, sqlite3.Error) as exc:
        raise LedgerError(f"cannot open the ledger {path}: {exc}") from exc
    try:
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _enable_wal(connection)
        # WAL makes NORMAL durable against application crashes, at a fraction of FULL's fsyncs.
        connection.execute("PRAGMA synchronous = NORMAL")
        # Foreign keys stay unenforced (SQLite's default): rows are only ever written by
        # insert_prepared under their session's fresh id and removed by prune with it, and the
        # per-row parent lookup costs ~15% of insert throughput.
        # 32 MB of page cache keeps the hot ends of the indexes in memory during big imports.
        connection.execute("PRAGMA cache_size = -32000")
    except sqlite3.DatabaseError as exc:
        connection.close()
        raise LedgerError(f"cannot use the ledger {path}: {exc}") from exc
    return Database.sqlite(connection)


def _open_postgresql(url: str, location: str) -> Database:
    """Connect to the PostgreSQL ledger at ``url``.

    Raises:
        LedgerError: psycopg is missing (naming the extra to install) or the server cannot be
            reached or refuses the login (the message never shows the password).
    """
    try:
        import psycopg  # noqa: F401  (only to tell a missing driver from a failed connection)
    except ImportError:
        raise LedgerError(
            f"the ledger {location} is on PostgreSQL, which needs the driver: "
            'pip install "memory-banker[postgres]"'
        ) from None
    try:
        return Database.postgresql(url)
    except Exception as exc:  # psycopg.Error and its OperationalError subclasses
        reason = " ".join(str(exc).split()) or type(exc).__name__
        password = urlsplit(url).password
        if password:
            reason = reason.replace(password, "***")
        raise LedgerError(f"cannot reach the ledger {location}: {reason}") from None


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
