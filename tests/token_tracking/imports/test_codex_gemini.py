"""Codex logs (deltas counted once, unchanged totals and forked replays skipped, no model → no
cost) and Gemini CLI chats (thoughts are reasoning, cached part of the prompt)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pricing import PriceBook
from tests.token_tracking.imports.agent_logs import (
    codex_count,
    codex_meta,
    codex_turn,
    codex_usage,
    line,
    write,
)
from token_tracking.history.ledger import Ledger
from token_tracking.imports.gemini import project_hash
from token_tracking.imports.run import import_logs

# Per-token rates of gpt-5 and gemini-2.5-pro in the bundled table (reasoning at output rate).
GPT5 = {"in": 1.25e-6, "cached": 0.125e-6, "out": 10e-6}
GEMINI = {"in": 1.25e-6, "cached": 0.125e-6, "out": 10e-6}


def _codex_files(root: Path, cwd: Path) -> Path:
    sessions = root / "sessions" / "2026" / "12" / "01"
    first = codex_usage(1000, 200, 100, 40)
    second = codex_usage(2000, 1500, 300, 0)
    after_first = codex_usage(1000, 200, 100, 40)
    after_second = codex_usage(3000, 1700, 400, 40)
    write(
        sessions / "rollout-2026-12-01T10-00-00-c1.jsonl",
        line(codex_meta("codex-1", str(cwd))),
        line(codex_turn("2026-12-01T10:00:01.000Z", "gpt-5", str(cwd))),
        line(codex_count("2026-12-01T10:00:02.000Z", None, None)),
        line(codex_count("2026-12-01T10:00:05.000Z", first, after_first)),
        # The same cumulative total again: a repeat, not a request.
        line(codex_count("2026-12-01T10:00:06.000Z", first, after_first), spaced=True),
        line(codex_count("2026-12-01T10:01:00.000Z", second, after_second), reverse=True),
        line(
            {
                "timestamp": "2026-12-01T10:01:01.000Z",
                "type": "response_item",
                "payload": {"type": "message", "role": "assistant", "content": []},
            }
        ),
    )
    # A fork replays codex-1's events (same timestamps, model and counts), then goes on.
    write(
        sessions / "rollout-2026-12-01T11-00-00-c2.jsonl",
        line(codex_meta("codex-2", str(cwd))),
        line(codex_turn("2026-12-01T10:00:01.000Z", "gpt-5", str(cwd))),
        line(codex_count("2026-12-01T10:00:05.000Z", first, after_first)),
        line(codex_count("2026-12-01T10:01:00.000Z", second, after_second)),
        line(
            codex_count(
                "2026-12-01T11:00:00.000Z",
                codex_usage(10, 0, 5, 0),
                codex_usage(3010, 1700, 405, 40),
            )
        ),
    )
    # No turn context: the model is unknown, so is the cost.
    write(
        root / "archived_sessions" / "rollout-2026-11-30T08-00-00-c3.jsonl",
        line(codex_meta("codex-3", str(cwd), branch=None)),
        line(
            codex_count(
                "2026-11-30T08:00:05.000Z", codex_usage(100, 0, 10, 0), codex_usage(100, 0, 10, 0)
            )
        ),
    )
    return root


def test_codex_deltas_are_counted_once_across_repeats_and_forks(
    tmp_path: Path, ledger: Ledger, pricebook: PriceBook
) -> None:
    root = _codex_files(tmp_path / "codex", tmp_path)
    result = import_logs(
        ledger, "codex", pricebook, paths=[root / "sessions", root / "archived_sessions"]
    )
    summary = result.summary.model_dump()
    cost = (
        800 * GPT5["in"]
        + 200 * GPT5["cached"]
        + 100 * GPT5["out"]
        + 500 * GPT5["in"]
        + 1500 * GPT5["cached"]
        + 300 * GPT5["out"]
        + 10 * GPT5["in"]
        + 5 * GPT5["out"]
    )
    assert summary.pop("cost_usd") == pytest.approx(cost, rel=1e-9)
    assert summary == {
        "files": 3,
        "requests": 4,
        "duplicates": 2,
        "skipped": {"unchanged_total": 1},
        "prompt_tokens": 1000 + 2000 + 10 + 100,
        "completion_tokens": 100 + 300 + 5 + 10,
        "cached_tokens": 1700,
        "cache_write_tokens": 0,
        "reasoning_tokens": 40,
    }
    c3 = root / "archived_sessions" / "rollout-2026-11-30T08-00-00-c3.jsonl"
    assert result.warnings == [
        f"{c3}: the log names no model for some requests: their cost is unknown"
    ]
    rows = ledger.connection.execute(
        "SELECT session_id, branch, model, prompt_tokens, cached_tokens, completion_tokens, "
        "reasoning_tokens, cost_usd IS NULL FROM usage ORDER BY ts_us"
    ).fetchall()
    assert rows == [
        ("codex-3", None, None, 100, 0, 10, 0, 1),
        ("codex-1", "feature/x", "gpt-5", 1000, 200, 100, 40, 0),
        ("codex-1", "feature/x", "gpt-5", 2000, 1500, 300, 0, 0),
        ("codex-2", "feature/x", "gpt-5", 10, 0, 5, 0, 0),
    ]


def test_codex_state_carries_over_to_the_next_import(
    tmp_path: Path, ledger: Ledger, pricebook: PriceBook
) -> None:
    root = _codex_files(tmp_path / "codex", tmp_path)
    import_logs(ledger, "codex", pricebook, paths=[root])
    c1 = root / "sessions" / "2026" / "12" / "01" / "rollout-2026-12-01T10-00-00-c1.jsonl"
    with c1.open("a") as handle:
        # The same total again (skipped), then a new turn: the model comes from the stored state.
        handle.write(
            line(
                codex_count(
                    "2026-12-01T10:05:00.000Z",
                    codex_usage(2000, 1500, 300, 0),
                    codex_usage(3000, 1700, 400, 40),
                )
            )
        )
        handle.write(
            line(
                codex_count(
                    "2026-12-01T10:06:00.000Z",
                    codex_usage(40, 0, 4, 0),
                    codex_usage(3040, 1700, 404, 40),
                )
            )
        )
    again = import_logs(ledger, "codex", pricebook, paths=[root])
    assert (again.summary.files, again.summary.requests) == (1, 1)
    assert again.summary.skipped == {"unchanged_total": 1}
    assert again.summary.cost_usd == pytest.approx(40 * GPT5["in"] + 4 * GPT5["out"], rel=1e-9)


def test_gemini_chats_count_thoughts_as_reasoning_and_are_reread_when_rewritten(
    tmp_path: Path, ledger: Ledger, pricebook: PriceBook, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    project = str(tmp_path.resolve())
    chat = {
        "sessionId": "gem-1",
        "projectHash": project_hash(project),
        "startTime": "2026-12-01T12:00:00.000Z",
        "messages": [
            {"id": "u1", "timestamp": "2026-12-01T12:00:00.000Z", "type": "user", "content": "hi"},
            {
                "id": "g1",
                "timestamp": "2026-12-01T12:00:05.000Z",
                "type": "gemini",
                "content": "ok",
                "model": "gemini-2.5-pro",
                "tokens": {
                    "input": 1000,
                    "output": 200,
                    "cached": 300,
                    "thoughts": 50,
                    "tool": 0,
                    "total": 1250,
                },
            },
        ],
    }
    path = tmp_path / "gemini" / "tmp" / project_hash(project) / "chats" / "session-1.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(chat))
    first = import_logs(ledger, "gemini", pricebook, paths=[tmp_path / "gemini"])
    assert first.summary.model_dump() == {
        "files": 1,
        "requests": 1,
        "duplicates": 0,
        "skipped": {},
        "prompt_tokens": 1000,
        "completion_tokens": 250,
        "cached_tokens": 300,
        "cache_write_tokens": 0,
        "reasoning_tokens": 50,
        "cost_usd": pytest.approx(
            700 * GEMINI["in"] + 300 * GEMINI["cached"] + 250 * GEMINI["out"], rel=1e-9
        ),
    }
    chat["messages"].append(
        {
            "id": "g2",
            "timestamp": "2026-12-01T12:01:00.000Z",
            "type": "gemini",
            "model": "gemini-2.5-pro",
            "tokens": {"prompt": 500, "candidates": 20},
        }
    )
    path.write_text(json.dumps(chat, indent=2))
    second = import_logs(ledger, "all", pricebook, paths=[tmp_path / "gemini"])
    assert (second.summary.requests, second.summary.duplicates) == (1, 1)
    assert second.summary.cost_usd == pytest.approx(
        500 * GEMINI["in"] + 20 * GEMINI["out"], rel=1e-9
    )
    projects = ledger.connection.execute("SELECT DISTINCT project FROM usage").fetchall()
    assert projects == [(project,)]
