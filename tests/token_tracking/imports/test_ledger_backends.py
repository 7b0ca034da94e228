"""The import's ledger writes on both ledgers (SQLite file and PostgreSQL): new rows with and
without unknown values, duplicates, sidechain replays, and a later larger snapshot."""

from __future__ import annotations

from pathlib import Path

import pytest

from pricing import PriceBook
from tests.token_tracking.imports.agent_logs import (
    SONNET,
    claude_line,
    codex_count,
    codex_meta,
    codex_turn,
    codex_usage,
    line,
    write,
)
from token_tracking.history.ledger import Ledger
from token_tracking.imports.run import import_logs

pytestmark = pytest.mark.usefixtures("each_ledger_backend")


def _claude(ts: str, message: str, output: int, **options: object) -> str:
    return line(
        claude_line(
            session="sess",
            ts=ts,
            message_id=message,
            request_id="r",
            fresh=10,
            output=output,
            cache_read=100,
            cache_write=5,
            **options,  # type: ignore[arg-type]
        )
    )


def test_rows_duplicates_and_a_larger_snapshot_are_recorded_alike_on_both_ledgers(
    tmp_path: Path, pricebook: PriceBook
) -> None:
    logs = tmp_path / "logs"
    claude = write(
        logs / "claude" / "sess.jsonl",
        _claude("2026-12-01T09:00:00.000Z", "m1", 1),
        _claude("2026-12-01T09:00:01.000Z", "m1", 40),  # a larger snapshot in the same read
        _claude("2026-12-01T09:00:02.000Z", "m2", 7, cost=0.25),  # the log states a cost
        _claude("2026-12-01T09:00:03.000Z", "m3", 8, model="unpriced-model-x"),  # no price
        _claude("2026-12-01T09:00:04.000Z", "m4", 9),
        _claude("2026-12-01T09:00:05.000Z", "m2", 7, sidechain=True),  # a replay: dropped
    )
    write(
        logs / "codex" / "rollout.jsonl",
        line(codex_meta("cx", str(tmp_path))),
        line(codex_turn("2026-12-01T10:00:00Z", "gpt-5", str(tmp_path))),
        line(codex_count("2026-12-01T10:00:01Z", codex_usage(50, 20, 30, 10), None)),
    )
    with Ledger() as ledger:
        first = import_logs(ledger, "all", pricebook, paths=[logs])
    assert first.summary.requests == 5
    assert first.summary.duplicates == 1
    assert first.summary.skipped == {"sidechain_replay": 1}
    assert (first.summary.prompt_tokens, first.summary.completion_tokens) == (
        4 * 115 + 50,
        40 + 7 + 8 + 9 + 30,
    )
    assert (first.summary.cached_tokens, first.summary.reasoning_tokens) == (4 * 100 + 20, 10)

    with claude.open("a") as handle:
        handle.write(_claude("2026-12-01T09:00:06.000Z", "m4", 90))
    with Ledger() as ledger:
        second = import_logs(ledger, "all", pricebook, paths=[logs])
        rows = ledger.connection.execute(
            "SELECT dedup_key, model, prompt_tokens, completion_tokens, cached_tokens, "
            "cache_write_tokens, reasoning_tokens, total_tokens, cost_usd IS NULL, "
            "reported_cost_usd, requests, cost_is_actual, derived FROM usage_rows "
            "ORDER BY ts_us"
        ).fetchall()
    assert (second.summary.requests, second.summary.duplicates) == (0, 1)
    assert second.summary.completion_tokens == 90 - 9
    assert rows == [
        ("cc:m1:r", SONNET, 115, 40, 100, 5, None, 155, False, None, 1, 0, 0),
        ("cc:m2:r", SONNET, 115, 7, 100, 5, None, 122, False, 0.25, 1, 0, 0),
        ("cc:m3:r", "unpriced-model-x", 115, 8, 100, 5, None, 123, True, None, 1, 0, 0),
        ("cc:m4:r", SONNET, 115, 90, 100, 5, None, 205, False, None, 1, 0, 0),
        (
            "codex:2026-12-01T10:00:01Z:gpt-5:50:20:30:10",
            "gpt-5",
            50,
            30,
            20,
            None,
            10,
            80,
            False,
            None,
            1,
            0,
            0,
        ),
    ]


def test_many_rows_are_written_in_log_order_with_every_value_in_its_column(
    tmp_path: Path, pricebook: PriceBook
) -> None:
    # Runs longer than one multi-row INSERT, broken by rows with other values unknown.
    logs = tmp_path / "logs"
    lines = []
    for index in range(300):
        options: dict[str, object] = {}
        if index in (130, 131, 250):
            options["cost"] = 0.5
        if index == 200:
            options["model"] = "unpriced-model-x"
        ts = f"2026-12-01T09:{index // 60:02d}:{index % 60:02d}.000Z"
        lines.append(_claude(ts, f"m{index}", index, **options))
    write(logs / "sess.jsonl", *lines)
    with Ledger() as ledger:
        result = import_logs(ledger, "claude-code", pricebook, paths=[logs])
        rows = ledger.connection.execute(
            "SELECT dedup_key, model, completion_tokens, total_tokens, reported_cost_usd, "
            "cost_usd IS NULL FROM usage_rows ORDER BY id"
        ).fetchall()
    assert result.summary.requests == 300
    assert result.summary.completion_tokens == sum(range(300))
    assert rows == [
        (
            f"cc:m{index}:r",
            "unpriced-model-x" if index == 200 else SONNET,
            index,
            115 + index,
            0.5 if index in (130, 131, 250) else None,
            index == 200,
        )
        for index in range(300)
    ]
