"""Sending one ledger's sessions to another (``tokens sync``): the local file to the team's server.

Idempotent per request row. Each row is known on the receiving side by its ``dedup_key``: the
row's own key when it has one (an imported log's message and request id), else
``<session id>#<row id in the sending ledger>``, which never changes once written. A row whose key
is already there is counted in ``already_there`` and left alone, so running sync twice, or from two
processes at once, sends nothing twice; a session that grew since the last sync (an imported
coding-agent session does) gets its new rows, and its totals, report and agent runs are replaced
by the sender's.

Each session is sent in its own transaction under the receiver's write lock. What is sent is the
ledger's own data: project paths, branch names, users, machines, notes and the stored report.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from token_tracking.errors import LedgerError
from token_tracking.history.clock import to_us
from token_tracking.history.database import Database
from token_tracking.history.ledger import Ledger
from token_tracking.records import DeferredModel

_CONTEXT_FIELDS = ("project", "branch", "user", "command", "source", "machine")


class SyncResult(DeferredModel):
    """What a sync sent."""

    sent: int = 0
    """Request rows written to the receiving ledger."""
    already_there: int = 0
    """Request rows the receiving ledger already had."""
    sessions: int = 0
    """Sessions read from the sending ledger."""


def _shared_columns(source: Database, target: Database, table: str, skip: set[str]) -> list[str]:
    """The columns both ledgers have in ``table``, in the sender's order, without ``skip``."""
    theirs = target.columns(table)
    return sorted(column for column in source.columns(table) & theirs if column not in skip)


def sync(source: Ledger, target: Ledger, *, start: datetime | None = None) -> SyncResult:
    """Send ``source``'s sessions (those that started at or after ``start``) to ``target``.

    Raises:
        LedgerError: a read or write failed (sessions sent before it stay sent).
    """
    here, there = source.connection, target.connection
    session_columns = _shared_columns(here, there, "sessions", {"id"})
    run_columns = _shared_columns(here, there, "agent_runs", {"id", "session_pk"})
    row_columns = _shared_columns(
        here, there, "usage_rows", {"id", "session_pk", "context_id", "dedup_key"}
    )
    context_fields = [field for field in _CONTEXT_FIELDS if field in here.columns("contexts")]
    where, params = ("start_us >= ?", [to_us(start)]) if start is not None else ("1 = 1", [])
    result = SyncResult()
    selected = f"SELECT id, {', '.join(session_columns)} FROM sessions WHERE {where}"
    sessions = here.execute(f"{selected} ORDER BY start_us, id", params).fetchall()
    for session in sessions:
        result.sessions += 1
        local_pk, values = session[0], dict(zip(session_columns, session[1:], strict=True))
        runs = here.execute(
            f"SELECT {', '.join(run_columns)} FROM agent_runs WHERE session_pk = ? ORDER BY id",
            (local_pk,),
        ).fetchall()
        rows = here.execute(
            f"SELECT u.id, u.dedup_key, {', '.join('c.' + f for f in context_fields)}, "
            f"{', '.join('u.' + c for c in row_columns)} "
            "FROM usage_rows u JOIN contexts c ON c.id = u.context_id "
            "WHERE u.session_pk = ? ORDER BY u.id",
            (local_pk,),
        ).fetchall()
        sent = _send_session(
            target, values, session_columns, runs, run_columns, rows, context_fields, row_columns
        )
        result.sent += sent
        result.already_there += len(rows) - sent
    return result


def _send_session(
    target: Ledger,
    values: dict[str, Any],
    session_columns: Sequence[str],
    runs: Sequence[Sequence[Any]],
    run_columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    context_fields: Sequence[str],
    row_columns: Sequence[str],
) -> int:
    """Write one session into ``target`` in one transaction; return the rows newly written."""
    db = target.connection
    session_id = values["session_id"]
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            found = db.execute(
                "SELECT id FROM sessions WHERE session_id = ?", (session_id,)
            ).fetchone()
            if found is None:
                placeholders = ", ".join("?" for _ in session_columns)
                cursor = db.execute(
                    f"INSERT INTO sessions ({', '.join(session_columns)}) VALUES ({placeholders})",
                    [values[column] for column in session_columns],
                )
                pk = cursor.lastrowid
            else:
                pk = found[0]
                updated = [column for column in session_columns if column != "session_id"]
                db.execute(
                    f"UPDATE sessions SET {', '.join(f'{c} = ?' for c in updated)} WHERE id = ?",
                    [*(values[column] for column in updated), pk],
                )
            db.execute("DELETE FROM agent_runs WHERE session_pk = ?", (pk,))
            if runs:
                db.executemany(
                    f"INSERT INTO agent_runs (session_pk, {', '.join(run_columns)}) "
                    f"VALUES (?, {', '.join('?' for _ in run_columns)})",
                    [(pk, *run) for run in runs],
                )
            sent = 0
            width = len(context_fields)
            insert_row = (
                f"INSERT OR IGNORE INTO usage_rows (session_pk, context_id, dedup_key, "
                f"{', '.join(row_columns)}) "
                f"VALUES (?, ?, ?, {', '.join('?' for _ in row_columns)})"
            )
            for row in rows:
                local_id, key = row[0], row[1]
                context = tuple(row[2 : 2 + width])
                context_id = target.context_id_for(dict(zip(context_fields, context, strict=True)))
                cursor = db.execute(
                    insert_row,
                    (pk, context_id, key or f"{session_id}#{local_id}", *row[2 + width :]),
                )
                sent += max(cursor.rowcount, 0)
            db.execute("COMMIT")
            target.commit_contexts()
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            target.forget_pending_contexts()
            raise
    except db.errors as exc:
        raise LedgerError(f"cannot send session {session_id} to {target.location}: {exc}") from exc
    return sent
