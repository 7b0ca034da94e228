"""The trends rollup: the request rows summed per context, 15-minute bucket, session, agent,
model and attributed commit, so ``tokens trends`` reads a tenth of the rows.

- ``trend_rollup`` holds those sums for the rows up to a watermark (the highest
  ``usage_rows.id`` summed in), kept in ``trend_rollup_state``. Inserts never touch it.
- A read on a writable ledger first folds the rows above the watermark in (:func:`fold`), in one
  transaction under the write lock, so two processes folding at once sum each row once.
- A read-only ledger is never written: the read takes the rollup plus the rows above the
  watermark (:func:`rollup_source`).
- Triggers on the request rows (update of a summed column, delete) mark the row's (session,
  bucket) pairs dirty when it was summed in; the next fold sums those pairs again from their
  rows, and until then a read-only ledger reads the rows.
- The window's first bucket comes from the rows: the window starts anywhere inside it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace
from typing import Any

from token_tracking.history.clock import to_us
from token_tracking.history.database import Database
from token_tracking.history.models import BUCKET_US, Filters
from token_tracking.history.rows import (
    G_COLUMNS,
    GROUP_SUMS,
    bucket_where,
    row_sums_sql,
    truncated_division,
)

_KEY = "context_id, bucket, session_pk, agent, model, attributed_commit"

_MATERIALIZED = "MATERIALIZED " if sqlite3.sqlite_version_info >= (3, 35) else ""
"""The hint is SQL from SQLite 3.35 (and PostgreSQL 12) on; an older SQLite reads the same rows
without it, only slower."""

# The request-row columns the sums read: the rows above the watermark are copied once (a
# MATERIALIZED table), so that the database reads them by id, not through a window's index.
_NEW_ROWS = """
    SELECT context_id, ts_us, session_pk, agent, model, attributed_commit, requests, prompt_tokens,
           completion_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, total_tokens,
           cost_usd
    FROM usage_rows WHERE id > ?
"""


@dataclass(frozen=True)
class RollupState:
    """Where the rollup stands."""

    watermark: int
    """The highest request-row id summed into the rollup (0: none)."""
    dirty: bool
    """Some summed rows changed or went away since: their (session, bucket) pairs must be summed
    again before the rollup is read."""


def state(db: Database) -> RollupState:
    """Return the rollup's :class:`RollupState`."""
    watermark = db.execute("SELECT watermark FROM trend_rollup_state WHERE id = 1").fetchone()[0]
    dirty = db.execute("SELECT 1 FROM trend_rollup_dirty LIMIT 1").fetchone() is not None
    return RollupState(watermark=int(watermark), dirty=dirty)


def fold(db: Database) -> None:
    """Sum the request rows above the watermark into the rollup, and sum the dirty (session,
    bucket) pairs again, in one transaction under the write lock; a no-op when nothing changed.

    Raises:
        the driver's error (``db.errors``) when the write fails (the transaction is rolled back).
    """
    if not _behind(db, state(db)):
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        # Another process may have folded while this one waited for the lock.
        current = state(db)
        newest = _newest(db)
        if current.watermark == 0:
            db.execute("DELETE FROM trend_rollup")
            db.execute(
                f"INSERT INTO trend_rollup ({G_COLUMNS}) {row_sums_sql('usage_rows', 'id <= ?')}",
                (newest,),
            )
        else:
            if current.dirty:
                _sum_dirty_again(db, current.watermark)
            if newest > current.watermark:
                _merge(db, current.watermark, newest)
        db.execute("DELETE FROM trend_rollup_dirty")
        db.execute(
            "UPDATE trend_rollup_state SET watermark = ? WHERE id = 1",
            (max(newest, current.watermark),),
        )
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def _newest(db: Database) -> int:
    return int(db.execute("SELECT MAX(id) FROM usage_rows").fetchone()[0] or 0)


def _behind(db: Database, current: RollupState) -> bool:
    return current.dirty or _newest(db) > current.watermark


def _sum_dirty_again(db: Database, watermark: int) -> None:
    """Replace the rollup rows of the dirty (session, bucket) pairs by the sums of their rows up
    to the watermark."""
    dirty = "(session_pk, bucket) IN (SELECT session_pk, bucket FROM trend_rollup_dirty)"
    db.execute(f"DELETE FROM trend_rollup WHERE {dirty}")
    # Each pair's rows found through the (session, time) index by the bucket's time range
    # (either sign of ts_us): CROSS JOIN keeps SQLite from reading every row by id instead, and
    # the unary + keeps it off the id index.
    rows_of_dirty = f"""
        (SELECT u.context_id, u.ts_us, u.session_pk, u.agent, u.model, u.attributed_commit,
                u.requests, u.prompt_tokens, u.completion_tokens, u.cached_tokens,
                u.cache_write_tokens, u.reasoning_tokens, u.total_tokens, u.cost_usd
         FROM trend_rollup_dirty d CROSS JOIN usage_rows u
         WHERE u.session_pk = d.session_pk
              AND u.ts_us > d.bucket * {BUCKET_US} - {BUCKET_US}
              AND u.ts_us < d.bucket * {BUCKET_US} + {BUCKET_US}
              AND u.ts_us / {BUCKET_US} = d.bucket AND +u.id <= ?) dirty_rows
    """
    db.execute(
        f"INSERT INTO trend_rollup ({G_COLUMNS}) {row_sums_sql(rows_of_dirty, '1 = 1')}",
        (watermark,),
    )


def _merge(db: Database, watermark: int, newest: int) -> None:
    """Replace the rollup rows of each (session, bucket) the new rows fall in by their sums
    with the new rows'."""
    before = db.execute("SELECT MAX(id) FROM trend_rollup").fetchone()[0] or 0
    touched = (
        f"(session_pk, bucket) IN (SELECT session_pk, ts_us / {BUCKET_US} FROM usage_rows "
        "WHERE id > ? AND id <= ?)"
    )
    db.execute(
        f"""
        INSERT INTO trend_rollup ({G_COLUMNS})
        SELECT {_KEY}, {GROUP_SUMS} FROM (
            SELECT {G_COLUMNS} FROM trend_rollup WHERE {touched}
            UNION ALL
            {row_sums_sql("usage_rows", "id > ? AND id <= ?")}
        ) merged
        GROUP BY {_KEY}
        """,
        (watermark, newest, watermark, newest),
    )
    db.execute(f"DELETE FROM trend_rollup WHERE id <= ? AND {touched}", (before, watermark, newest))


def scan_source(db: Database, filters: Filters, *, write: bool) -> tuple[str, list[Any]] | None:
    """Return the ``WITH`` clause defining ``g`` (see ``rows.trend_scan_sql``) from the rollup
    for ``filters``, after folding new rows in when ``write``; ``None`` when the rows must be
    read instead (the filters have an end or a commit, or dirty pairs wait for a fold).

    Raises:
        the driver's error (``db.errors``) when folding fails.
    """
    if not usable(filters):
        return None
    if write:
        fold(db)
    current = state(db)
    return None if current.dirty else rollup_source(filters, current.watermark)


def usable(filters: Filters) -> bool:
    """Whether the rollup can answer ``filters``: it has no end and no commit prefix (the
    rollup's buckets cannot be cut at an end, and it keeps commits whole)."""
    return filters.end is None and filters.commit is None


def rollup_source(filters: Filters, watermark: int) -> tuple[str, list[Any]]:
    """Return the ``WITH`` clause defining ``g`` (see ``rows.trend_scan_sql``) for ``filters``
    from the rollup up to ``watermark``, the window's first bucket read from the rows, and the
    rows above the watermark; and its parameters.

    The rollup must have no dirty pairs, and ``filters`` :func:`usable`.
    """
    context_where, context_params = replace(filters, start=None, end=None, commit=None).where()
    row_where, row_params = bucket_where(filters)
    parts = [f"SELECT {G_COLUMNS} FROM trend_rollup WHERE {context_where}"]
    params: list[Any] = [watermark, *context_params]
    if filters.start is not None:
        first = truncated_division(to_us(filters.start), BUCKET_US)
        parts[0] += " AND bucket > ?"
        params.append(first)
        # The first bucket, from its rows: the window may start inside it.
        parts.append(
            row_sums_sql("usage_rows", f"{row_where} AND ts_us / {BUCKET_US} <= ? AND id <= ?")
        )
        params.extend([*row_params, first, watermark])
    parts.append(row_sums_sql("new_rows", row_where))
    params.extend(row_params)
    sql = f"""
        WITH new_rows AS {_MATERIALIZED}({_NEW_ROWS}),
        g ({G_COLUMNS}) AS ({" UNION ALL ".join(parts)})
    """
    return sql, params
