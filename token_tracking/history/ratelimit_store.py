"""Rate-limit snapshots in the ledger: what a provider said about its limits, and when.

A snapshot is one provider response's rate-limit headers for one model, already parsed (see
:mod:`token_tracking.ratelimits`): per kind (``requests``, ``tokens``, ``input_tokens``,
``output_tokens``) the limit, the remaining amount and the seconds until it resets, counted from
the snapshot's time. ``tokens fetch-limits`` keeps every snapshot it takes; passive captures (the
integrations that see response headers) keep only the latest per provider and model, so the
table stays small however many requests a program makes.

Each row lives in ``rate_limit_snapshots`` (migration 5).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from token_tracking.errors import LedgerError
from token_tracking.history.clock import from_us, to_us
from token_tracking.records import DeferredModel

if TYPE_CHECKING:
    from token_tracking.history.ledger import Ledger

RateLimitKind = Literal["requests", "tokens", "input_tokens", "output_tokens"]
"""What a provider limit counts: requests, tokens, input tokens or output tokens."""

KINDS: tuple[RateLimitKind, ...] = ("requests", "tokens", "input_tokens", "output_tokens")
"""Every kind, in display order."""

FETCH_SOURCE = "fetch-limits"
"""The source of snapshots taken by ``tokens fetch-limits`` (kept, never replaced)."""


class RateLimitWindow(DeferredModel):
    """One kind of provider limit as the provider reported it; a figure it did not send is null."""

    limit: int | None = None
    """The most the provider allows per window (per minute for OpenAI and Anthropic)."""
    remaining: int | None = None
    """What is left of ``limit`` in the current window."""
    reset_seconds: float | None = None
    """Seconds from the snapshot's time until the window is back to ``limit``."""


class RateLimitSnapshot(DeferredModel):
    """The rate limits one provider response reported for one model."""

    provider: str
    """The provider that answered (``openai``, ``anthropic``, or LiteLLM's provider name)."""
    model: str
    """The model the request named, without a ``provider/`` prefix."""
    fetched_at: datetime
    """When the response arrived (UTC)."""
    source: str
    """Who captured it: ``fetch-limits``, ``anthropic``, ``litellm`` or ``openai``."""
    http_status: int | None = None
    """The response's HTTP status (429 when the provider refused the request)."""
    retry_after_seconds: float | None = None
    """The ``retry-after`` the provider sent, in seconds."""
    limits: dict[RateLimitKind, RateLimitWindow] = Field(default_factory=dict)
    """Each kind the provider sent; a kind it did not send is absent."""

    def reset_at(self, kind: RateLimitKind) -> datetime | None:
        """Return when ``kind``'s window resets, or None when the provider did not say."""
        window = self.limits.get(kind)
        if window is None or window.reset_seconds is None:
            return None
        return from_us(to_us(self.fetched_at) + round(window.reset_seconds * 1_000_000))


_KIND_COLUMNS = ", ".join(f"{kind}_limit, {kind}_remaining, {kind}_reset_seconds" for kind in KINDS)
_COLUMNS = f"ts_us, provider, model, source, http_status, retry_after_seconds, {_KIND_COLUMNS}"
_INSERT = (
    f"INSERT INTO rate_limit_snapshots ({_COLUMNS}) "
    f"VALUES ({', '.join('?' * (6 + 3 * len(KINDS)))})"
)


def _values(snapshot: RateLimitSnapshot) -> tuple[Any, ...]:
    values: list[Any] = [
        to_us(snapshot.fetched_at),
        snapshot.provider,
        snapshot.model,
        snapshot.source,
        snapshot.http_status,
        snapshot.retry_after_seconds,
    ]
    for kind in KINDS:
        window = snapshot.limits.get(kind)
        if window is None:
            values += [None, None, None]
        else:
            values += [window.limit, window.remaining, window.reset_seconds]
    return tuple(values)


def _snapshot(row: Sequence[Any]) -> RateLimitSnapshot:
    limits: dict[RateLimitKind, RateLimitWindow] = {}
    for index, kind in enumerate(KINDS):
        limit, remaining, reset = row[6 + 3 * index : 9 + 3 * index]
        if limit is not None or remaining is not None or reset is not None:
            limits[kind] = RateLimitWindow(limit=limit, remaining=remaining, reset_seconds=reset)
    return RateLimitSnapshot(
        fetched_at=from_us(row[0]),
        provider=row[1],
        model=row[2],
        source=row[3],
        http_status=row[4],
        retry_after_seconds=row[5],
        limits=limits,
    )


def save_snapshot(ledger: Ledger, snapshot: RateLimitSnapshot) -> None:
    """Store ``snapshot`` in one transaction.

    A ``fetch-limits`` snapshot is added to the history; any other replaces the earlier passive
    snapshots of the same provider and model.

    Raises:
        LedgerError: the write failed (nothing is changed).
    """
    db = ledger.connection
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            if snapshot.source != FETCH_SOURCE:
                db.execute(
                    "DELETE FROM rate_limit_snapshots WHERE provider = ? AND model = ? "
                    "AND source != ?",
                    (snapshot.provider, snapshot.model, FETCH_SOURCE),
                )
            db.execute(_INSERT, _values(snapshot))
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:
        raise LedgerError(f"cannot store rate limits in {ledger.path}: {exc}") from exc


def latest_snapshots(ledger: Ledger) -> list[RateLimitSnapshot]:
    """Return the latest snapshot of every (provider, model) pair, the most recent first."""
    found = ledger.connection.execute(
        f"""
        SELECT {_COLUMNS} FROM rate_limit_snapshots r
        WHERE id = (
            SELECT id FROM rate_limit_snapshots
            WHERE provider = r.provider AND model = r.model
            ORDER BY ts_us DESC, id DESC LIMIT 1
        )
        ORDER BY ts_us DESC, id DESC
        """
    )
    return [_snapshot(row) for row in found]


def model_key(model: str) -> str:
    """Return the name snapshots are stored under: ``model`` without its ``provider/`` prefix
    (``anthropic/claude-3-5-haiku`` and ``claude-3-5-haiku`` are one model)."""
    return model.split("/", 1)[1] if "/" in model else model


def latest_for_model(ledger: Ledger, model: str) -> RateLimitSnapshot | None:
    """Return the latest snapshot of ``model`` (any provider; a ``provider/`` prefix is ignored),
    or None when no provider has reported limits for it."""
    row = ledger.connection.execute(
        f"SELECT {_COLUMNS} FROM rate_limit_snapshots WHERE model = ? "
        "ORDER BY ts_us DESC, id DESC LIMIT 1",
        (model_key(model),),
    ).fetchone()
    return _snapshot(row) if row is not None else None
