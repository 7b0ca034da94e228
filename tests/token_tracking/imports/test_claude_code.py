"""Claude Code logs: one request per (message id, request id), the largest snapshot kept, and
every other trap of the format."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pricing import PriceBook
from tests.token_tracking.imports.agent_logs import SONNET, claude_line, line, write
from token_tracking.history.ledger import Ledger
from token_tracking.imports.claude_code import may_carry_usage
from token_tracking.imports.codex import may_matter
from token_tracking.imports.run import import_logs

# Per-token rates of claude-sonnet-4-20250514 in the bundled table.
IN, OUT, READ, WRITE = 3e-6, 15e-6, 0.3e-6, 3.75e-6


def _session_file(folder: Path, cwd: Path) -> Path:
    """A session whose lines hit every trap; its last line is still being written."""
    common = {"session": "sess-a", "cwd": str(cwd)}
    return write(
        folder / "-project" / "sess-a.jsonl",
        line(
            {
                "type": "user",
                "sessionId": "sess-a",
                "timestamp": "2026-12-01T09:00:00Z",
                "cwd": str(cwd),
                "message": {"role": "user", "content": "hello"},
            }
        ),
        # Three snapshots of one message: the first counts output 1, the largest 40.
        line(
            claude_line(
                ts="2026-12-01T09:00:01Z",
                message_id="msg_A1",
                request_id="req_1",
                fresh=100,
                output=1,
                cache_read=3000,
                cache_write=200,
                **common,
            )
        ),
        line(
            claude_line(
                ts="2026-12-01T09:00:02Z",
                message_id="msg_A1",
                request_id="req_1",
                fresh=100,
                output=40,
                cache_read=3000,
                cache_write=200,
                **common,
            ),
            spaced=True,
        ),
        line(
            claude_line(
                ts="2026-12-01T09:00:03Z",
                message_id="msg_A1",
                request_id="req_1",
                fresh=100,
                output=25,
                cache_read=3000,
                cache_write=200,
                **common,
                extra={"version": "2.0.1", "userType": "external"},
            ),
            reverse=True,
        ),
        line(
            claude_line(
                ts="2026-12-01T09:01:00Z",
                message_id="msg_A2",
                request_id="req_2",
                fresh=50,
                output=500,
                cache_read=3200,
                cost=0.0123,
                **common,
            )
        ),
        # A sidechain line replaying msg_A2: dropped. A new sidechain request: counted.
        line(
            claude_line(
                ts="2026-12-01T09:01:05Z",
                message_id="msg_A2",
                request_id="req_2",
                fresh=50,
                output=500,
                cache_read=3200,
                sidechain=True,
                **common,
            )
        ),
        line(
            claude_line(
                ts="2026-12-01T09:02:00Z",
                message_id="msg_A3",
                request_id="req_3",
                fresh=7,
                output=70,
                sidechain=True,
                **common,
            ),
            spaced=True,
        ),
        line(
            claude_line(
                ts="2026-12-01T09:03:00Z",
                message_id="msg_S",
                request_id=None,
                fresh=0,
                output=0,
                model="<synthetic>",
                **common,
            )
        ),
        line(
            claude_line(
                ts="2026-12-01T09:03:30Z",
                message_id="msg_E",
                request_id="req_e",
                fresh=0,
                output=0,
                api_error=True,
                **common,
            )
        ),
        "this is not JSON\n",
        # Without a request id: one request per message id, snapshots too.
        line(
            claude_line(
                ts="2026-12-01T09:04:00Z",
                message_id="msg_A4",
                request_id=None,
                fresh=1,
                output=2,
                **common,
            )
        ),
        line(
            claude_line(
                ts="2026-12-01T09:04:01Z",
                message_id="msg_A4",
                request_id=None,
                fresh=1,
                output=9,
                **common,
            )
        ),
        tail=line(
            claude_line(
                ts="2026-12-01T09:05:00Z",
                message_id="msg_A5",
                request_id="req_5",
                fresh=5,
                output=5,
                **common,
            )
        )[:60],
    )


A1 = 100 * IN + 3000 * READ + 200 * WRITE + 40 * OUT
A2 = 50 * IN + 3200 * READ + 500 * OUT
A3 = 7 * IN + 70 * OUT
A4 = 1 * IN + 9 * OUT


def test_one_request_per_message_with_the_largest_snapshot_and_every_trap_skipped(
    tmp_path: Path, ledger: Ledger, pricebook: PriceBook
) -> None:
    _session_file(tmp_path / "projects", tmp_path)
    result = import_logs(ledger, "claude-code", pricebook, paths=[tmp_path / "projects"])
    summary = result.summary.model_dump()
    assert summary.pop("cost_usd") == pytest.approx(A1 + A2 + A3 + A4, rel=1e-9)
    assert summary == {
        "files": 1,
        "requests": 4,
        "duplicates": 3,
        "skipped": {"api_error": 1, "not_json": 1, "sidechain_replay": 1, "synthetic": 1},
        "prompt_tokens": 3300 + 3250 + 7 + 1,
        "completion_tokens": 40 + 500 + 70 + 9,
        "cached_tokens": 6200,
        "cache_write_tokens": 200,
        "reasoning_tokens": 0,
    }
    assert result.warnings == [
        f"{tmp_path / 'projects' / '-project' / 'sess-a.jsonl'}:10: skipped a line that is not JSON"
    ]
    rows = ledger.connection.execute(
        "SELECT session_id, source, project, branch, model, prompt_tokens, completion_tokens, "
        "cached_tokens, cache_write_tokens, reported_cost_usd FROM usage ORDER BY ts_us"
    ).fetchall()
    project = str(tmp_path.resolve())
    assert rows == [
        ("sess-a", "claude-code", project, "main", SONNET, 3300, 40, 3000, 200, None),
        ("sess-a", "claude-code", project, "main", SONNET, 3250, 500, 3200, 0, 0.0123),
        ("sess-a", "claude-code", project, "main", SONNET, 7, 70, 0, 0, None),
        ("sess-a", "claude-code", project, "main", SONNET, 1, 9, 0, 0, None),
    ]
    session = ledger.find_session("sess-a")
    assert (session.source, session.requests, session.total_tokens) == ("claude-code", 4, 7177)
    assert session.cost_usd == pytest.approx(A1 + A2 + A3 + A4, rel=1e-9)
    assert ledger.report("sess-a").total_requests == 4


def test_a_second_import_reads_nothing_and_an_appended_larger_snapshot_replaces(
    tmp_path: Path, ledger: Ledger, pricebook: PriceBook
) -> None:
    path = _session_file(tmp_path / "projects", tmp_path)
    import_logs(ledger, "claude-code", pricebook, paths=[path.parent.parent])
    again = import_logs(ledger, "claude-code", pricebook, paths=[path.parent.parent])
    assert again.summary.model_dump() == {
        "files": 0,
        "requests": 0,
        "duplicates": 0,
        "skipped": {},
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "cached_tokens": 0,
        "cache_write_tokens": 0,
        "reasoning_tokens": 0,
        "cost_usd": 0.0,
    }
    # The cut line is finished, and a later snapshot of msg_A2 reports more output.
    finished = line(
        claude_line(
            ts="2026-12-01T09:05:00Z",
            message_id="msg_A5",
            request_id="req_5",
            fresh=5,
            output=5,
            session="sess-a",
            cwd=str(tmp_path),
        )
    )
    with path.open("a") as handle:
        handle.write(finished[60:])
        handle.write(
            line(
                claude_line(
                    ts="2026-12-01T09:01:09Z",
                    message_id="msg_A2",
                    request_id="req_2",
                    fresh=50,
                    output=800,
                    cache_read=3200,
                    session="sess-a",
                    cwd=str(tmp_path),
                )
            )
        )
    third = import_logs(ledger, "claude-code", pricebook, paths=[path.parent.parent])
    assert (third.summary.files, third.summary.requests, third.summary.duplicates) == (1, 1, 1)
    assert third.summary.completion_tokens == 5 + 300
    assert third.summary.prompt_tokens == 5
    assert third.summary.cost_usd == pytest.approx(5 * IN + 5 * OUT + 300 * OUT, rel=1e-9)
    assert third.warnings == []
    total = ledger.connection.execute("SELECT SUM(completion_tokens) FROM usage").fetchone()[0]
    assert total == 40 + 800 + 70 + 9 + 5
    session = ledger.find_session("sess-a")
    assert (session.requests, session.completion_tokens) == (5, 924)


def test_a_dry_run_counts_without_recording(
    tmp_path: Path, ledger: Ledger, pricebook: PriceBook
) -> None:
    _session_file(tmp_path / "projects", tmp_path)
    dry = import_logs(ledger, "claude-code", pricebook, paths=[tmp_path], dry_run=True)
    assert (dry.summary.files, dry.summary.requests) == (1, 4)
    assert ledger.connection.execute("SELECT COUNT(*) FROM usage_rows").fetchone() == (0,)
    assert ledger.connection.execute("SELECT COUNT(*) FROM import_files").fetchone() == (0,)
    real = import_logs(ledger, "claude-code", pricebook, paths=[tmp_path])
    assert real.summary == dry.summary


def test_since_leaves_out_older_requests_and_remembers_no_offset(
    tmp_path: Path, ledger: Ledger, pricebook: PriceBook
) -> None:
    _session_file(tmp_path / "projects", tmp_path)
    since = datetime(2026, 12, 1, 9, 1, 30, tzinfo=UTC)
    recent = import_logs(ledger, "claude-code", pricebook, paths=[tmp_path], since=since)
    # Only msg_A3 and msg_A4 (two snapshots) are from 09:01:30 on.
    assert (recent.summary.requests, recent.summary.duplicates) == (2, 1)
    assert recent.summary.skipped["before_since"] == 5
    assert ledger.connection.execute("SELECT COUNT(*) FROM import_files").fetchone() == (0,)
    everything = import_logs(ledger, "claude-code", pricebook, paths=[tmp_path])
    # msg_A1 and msg_A2 are new; msg_A4 was recorded (2 duplicates), msg_A1's later snapshots
    # are 2 more; msg_A3, a sidechain line already recorded, now reads as a replay.
    assert (everything.summary.requests, everything.summary.duplicates) == (2, 4)
    assert everything.summary.skipped["sidechain_replay"] == 2


def test_a_session_spread_over_files_and_projects_folders_is_one_session(
    tmp_path: Path, ledger: Ledger, pricebook: PriceBook
) -> None:
    first = tmp_path / "one" / "projects" / "-p" / "s.jsonl"
    second = tmp_path / "two" / "projects" / "-p" / "s.jsonl"
    write(
        first,
        line(
            claude_line(
                session="s",
                ts="2026-12-01T09:00:00Z",
                message_id="m1",
                request_id="r1",
                fresh=10,
                output=10,
                cwd=str(tmp_path),
            )
        ),
    )
    write(
        second,
        line(
            claude_line(
                session="s",
                ts="2026-12-01T09:10:00Z",
                message_id="m2",
                request_id="r2",
                fresh=20,
                output=20,
                cwd=str(tmp_path),
            )
        ),
    )
    result = import_logs(
        ledger, "claude-code", pricebook, paths=[tmp_path / "one", tmp_path / "two"]
    )
    assert (result.summary.files, result.summary.requests) == (2, 2)
    session = ledger.find_session("s")
    assert (session.total_tokens, session.requests) == (60, 2)
    report = json.loads(ledger.connection.execute("SELECT report_json FROM sessions").fetchone()[0])
    assert [agent["requests"] for agent in report["agent_usage"]] == [2]


def _usage_line(**extra: object) -> dict[str, object]:
    return claude_line(
        session="s",
        ts="2026-12-01T09:00:01.000Z",
        message_id="msg_P",
        request_id="req_P",
        fresh=7,
        output=3,
        cwd="/nowhere",
        **extra,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("spaced", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
def test_the_usage_pre_check_never_rejects_a_line_with_usage(spaced: bool, reverse: bool) -> None:
    raw = line(_usage_line(), spaced=spaced, reverse=reverse).encode()
    assert may_carry_usage(raw)
    # The key spelled with a JSON escape still parses to "usage": the check lets it through.
    escaped = raw.replace(b'"usage"', b'"\\u0075sage"')
    assert json.loads(escaped)["message"]["usage"]["output_tokens"] == 3
    assert may_carry_usage(escaped)
    assert not may_carry_usage(b'{"type":"user","message":{"role":"user","content":"use it"}}')


@pytest.mark.parametrize(
    "kind", [b'"token_count"', b'"turn_context"', b'"session_meta"', b'"\\u0074oken_count"']
)
def test_the_codex_pre_check_keeps_every_line_that_can_matter(kind: bytes) -> None:
    assert may_matter(b'{"type": "event_msg", "payload": {"type": ' + kind + b"}}")
    assert not may_matter(b'{"type":"response_item","payload":{"type":"message"}}')


def test_a_usage_key_written_with_an_escape_is_imported(
    tmp_path: Path, ledger: Ledger, pricebook: PriceBook
) -> None:
    raw = line(_usage_line()).replace('"usage"', '"\\u0075sage"')
    user = line({"type": "user", "sessionId": "s", "message": {"role": "user", "content": "x"}})
    write(tmp_path / "p" / "s.jsonl", user, raw, user)
    result = import_logs(ledger, "claude-code", pricebook, paths=[tmp_path])
    assert (result.summary.requests, result.summary.prompt_tokens) == (1, 7)
    assert result.summary.completion_tokens == 3
