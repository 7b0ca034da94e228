"""Log timestamps read by hand equal what ``datetime.fromisoformat`` reads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from token_tracking.history.clock import to_us
from token_tracking.imports.timestamps import timestamp_us


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-01T09:30:00.123Z",
        "1999-02-28T23:59:59.999Z",
        "2024-02-29T00:00:00.000Z",
        "2026-12-01T09:30:00Z",
        "2026-12-01T09:30:00.123456+02:00",
        "2026-12-01T09:30:00",
    ],
)
def test_timestamps_read_as_fromisoformat_reads_them(text: str) -> None:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    assert timestamp_us(text) == to_us(moment)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "bad",
        "2026-13-01T09:30:00.123Z",
        "2026-12-01T24:30:00.123Z",
        "2026-12-01T09:3a:00.123Z",
        "2026-12-01T09:30:60.123Z",
        12,
        None,
    ],
)
def test_what_is_not_a_timestamp_is_none(text: object) -> None:
    assert timestamp_us(text) is None
