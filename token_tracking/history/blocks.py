"""5-hour usage blocks, as the Claude plans count usage: blocks, burn rate and projection.

A block starts at the UTC hour of the first request after the previous block ended and lasts
5 hours; a gap of 5 hours without requests always starts a new one. The block that contains
"now" is active: its burn rate is its usage so far over the time since its first request, and
its projection assumes that rate holds until the block ends.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from pydantic import Field

from token_tracking.counts import sum_known
from token_tracking.history.clock import US_PER_SECOND, from_us, to_us, utc_now
from token_tracking.history.ledger import Ledger
from token_tracking.history.models import Filters
from token_tracking.records import DeferredModel

BLOCK = timedelta(hours=5)
"""How long a usage block lasts."""

_BLOCK_US = 5 * 3600 * US_PER_SECOND
_HOUR_US = 3600 * US_PER_SECOND


class UsageBlock(DeferredModel):
    """One 5-hour block of usage (the model of ``tokens blocks --json``)."""

    start: datetime
    """Start of the block: the UTC hour of its first request."""
    end: datetime
    """``start`` + 5 hours."""
    active: bool
    """True for the block that contains the current time."""
    requests: int
    """LLM requests in the block."""
    prompt_tokens: int
    """Input tokens (cache reads and writes included)."""
    completion_tokens: int
    """Output tokens (reasoning included)."""
    total_tokens: int
    """``prompt + completion`` tokens."""
    cost_usd: float | None
    """Cost of the priced requests; ``None`` when none has a price (a lower bound when some lack
    one)."""
    models: list[str] = Field(default_factory=list)
    """The models used, sorted."""
    burn_tokens_per_minute: float | None = None
    """Active block: tokens per minute since its first request; ``None`` otherwise."""
    burn_usd_per_hour: float | None = None
    """Active block: dollars per hour since its first request; ``None`` otherwise or unpriced."""
    projected_total_tokens: int | None = None
    """Active block: its tokens at its end if the burn rate holds; ``None`` otherwise."""
    projected_cost_usd: float | None = None
    """Active block: its cost at its end if the burn rate holds; ``None`` otherwise."""


class _Open:
    """A block being summed."""

    def __init__(self, start_us: int, first_us: int) -> None:
        self.start_us = start_us
        self.first_us = first_us
        self.last_us = first_us
        self.requests = 0
        self.prompt = 0
        self.completion = 0
        self.costs: list[float | None] = []
        self.models: set[str] = set()

    def close(self, now_us: int) -> UsageBlock:
        end_us = self.start_us + _BLOCK_US
        active = self.start_us <= now_us < end_us
        total = self.prompt + self.completion
        cost = sum_known(self.costs)
        block = UsageBlock(
            start=from_us(self.start_us),
            end=from_us(end_us),
            active=active,
            requests=self.requests,
            prompt_tokens=self.prompt,
            completion_tokens=self.completion,
            total_tokens=total,
            cost_usd=cost,
            models=sorted(self.models),
        )
        if active:
            # At least a minute, so a first request seconds ago does not read as a huge rate.
            elapsed_minutes = max((now_us - self.first_us) / (60 * US_PER_SECOND), 1.0)
            remaining_minutes = (end_us - now_us) / (60 * US_PER_SECOND)
            rate = total / elapsed_minutes
            block.burn_tokens_per_minute = rate
            block.projected_total_tokens = round(total + rate * remaining_minutes)
            if cost is not None:
                block.burn_usd_per_hour = cost / elapsed_minutes * 60
                block.projected_cost_usd = cost + cost / elapsed_minutes * remaining_minutes
        return block


def split_blocks(
    rows: Iterable[tuple[int, str | None, int | None, int | None, int | None, float | None]],
    now: datetime,
) -> list[UsageBlock]:
    """Group request rows ``(ts_us, model, requests, prompt, completion, cost)``, in time
    order, into 5-hour blocks, oldest first."""
    now_us = to_us(now)
    blocks: list[UsageBlock] = []
    current: _Open | None = None
    for ts, model, requests, prompt, completion, cost in rows:
        if (
            current is None
            or ts >= current.start_us + _BLOCK_US
            or ts - current.last_us >= _BLOCK_US
        ):
            if current is not None:
                blocks.append(current.close(now_us))
            current = _Open(ts - ts % _HOUR_US, ts)
        current.last_us = ts
        current.requests += requests if requests is not None else 0
        current.prompt += prompt if prompt is not None else 0
        current.completion += completion if completion is not None else 0
        current.costs.append(cost)
        if model is not None:
            current.models.add(model)
    if current is not None:
        blocks.append(current.close(now_us))
    return blocks


def usage_blocks(
    ledger: Ledger, *, sources: tuple[str, ...] = (), now: datetime | None = None
) -> list[UsageBlock]:
    """Return the 5-hour blocks of every project's usage (offline runs left out), oldest first;
    ``sources``, when given, keeps only those."""
    where, params = Filters(sources=sources).where()
    found = ledger.connection.execute(
        "SELECT ts_us, model, requests, prompt_tokens, completion_tokens, cost_usd "
        f"FROM usage_rows WHERE {where} ORDER BY ts_us",
        params,
    )
    return split_blocks(found, now if now is not None else utc_now())
