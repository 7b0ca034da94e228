"""``memory-banker tokens blocks``: the JSON list, the table, --live when piped, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import invoke
from tests.token_tracking.imports.agent_logs import claude_line, line, write


def _import(tmp_path: Path) -> None:
    write(
        tmp_path / "logs" / "s.jsonl",
        line(
            claude_line(
                session="s",
                ts="2026-11-01T09:17:00Z",
                message_id="m1",
                request_id="r1",
                fresh=100,
                output=10,
                cwd=str(tmp_path),
            )
        ),
        line(
            claude_line(
                session="s",
                ts="2026-11-01T15:00:00Z",
                message_id="m2",
                request_id="r2",
                fresh=200,
                output=20,
                cwd=str(tmp_path),
            )
        ),
    )
    assert (
        invoke(tmp_path, "tokens", "import", "all", "--path", str(tmp_path / "logs")).exit_code == 0
    )


def test_blocks_json_lists_each_block_with_its_fields(tmp_path: Path) -> None:
    _import(tmp_path)
    result = invoke(tmp_path, "tokens", "blocks", "--json")
    found = json.loads(result.stdout)
    assert [(b["start"], b["end"], b["requests"], b["total_tokens"]) for b in found] == [
        ("2026-11-01T09:00:00Z", "2026-11-01T14:00:00Z", 1, 110),
        ("2026-11-01T15:00:00Z", "2026-11-01T20:00:00Z", 1, 220),
    ]
    assert list(found[0]) == [
        "start",
        "end",
        "active",
        "requests",
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "cost_usd",
        "models",
        "burn_tokens_per_minute",
        "burn_usd_per_hour",
        "projected_total_tokens",
        "projected_cost_usd",
    ]
    assert found[0]["models"] == ["claude-sonnet-4-20250514"]
    table = invoke(tmp_path, "tokens", "blocks")
    assert "5-Hour Usage Blocks" in table.stdout
    piped = invoke(tmp_path, "tokens", "blocks", "--live", "--duration", "0")
    assert piped.stdout == "No active block.\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--duration", "5"], "--duration goes with --live"),
        (["--live", "--duration", "-1"], "--duration must be 0 to 604,800 seconds"),
        (["--live", "--json"], "--json prints the blocks once; it does not go with --live"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    result = invoke(tmp_path, "tokens", "blocks", *args)
    assert (result.exit_code, result.stderr) == (2, f"Error: {message}\n")
