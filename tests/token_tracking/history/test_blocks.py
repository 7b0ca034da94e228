"""5-hour blocks on a fixed timeline: where blocks start, gaps, burn rate and projection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from token_tracking.history.blocks import split_blocks
from token_tracking.history.clock import to_us

T0 = datetime(2026, 12, 1, 9, 17, tzinfo=UTC)


def _row(
    moment: datetime, prompt: int, completion: int, cost: float | None, model: str = "m"
) -> tuple[int, str | None, int, int, int, float | None]:
    return (to_us(moment), model, 1, prompt, completion, cost)


def test_blocks_start_at_the_hour_of_the_first_request_after_the_previous_block() -> None:
    rows = [
        _row(T0, 100, 10, 0.01),
        _row(T0 + timedelta(hours=4, minutes=30), 200, 20, 0.02, "n"),
        # 14:17 is past 09:00 + 5 h: a new block from 14:00.
        _row(T0 + timedelta(hours=5), 300, 30, None),
        # Over 5 h after the last request: a new block from that hour.
        _row(T0 + timedelta(hours=11, minutes=1), 1, 1, 0.5),
    ]
    blocks = split_blocks(rows, now=T0 + timedelta(days=1))
    assert [(b.start.hour, b.end.hour, b.requests, b.total_tokens, b.models) for b in blocks] == [
        (9, 14, 2, 330, ["m", "n"]),
        (14, 19, 1, 330, ["m"]),
        (20, 1, 1, 2, ["m"]),
    ]
    assert blocks[0].cost_usd == pytest.approx(0.03, rel=1e-9)
    assert blocks[1].cost_usd is None
    assert not any(block.active for block in blocks)
    assert blocks[0].burn_tokens_per_minute is None


def test_the_active_block_has_a_burn_rate_and_a_projection() -> None:
    rows = [_row(T0, 5_000, 1_000, 0.6), _row(T0 + timedelta(minutes=30), 5_000, 1_000, 0.6)]
    # 60 minutes after the first request; the block (09:00-14:00) has 223 minutes left.
    now = T0 + timedelta(minutes=60)
    (block,) = split_blocks(rows, now=now)
    assert block.active
    assert block.burn_tokens_per_minute == pytest.approx(200.0)
    assert block.burn_usd_per_hour == pytest.approx(1.2)
    assert block.projected_total_tokens == 12_000 + 200 * 223
    assert block.projected_cost_usd == pytest.approx(1.2 + 0.02 * 223)
