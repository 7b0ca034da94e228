"""Counts a provider never sent stay unknown in the ledger: a session whose every count is
unknown reads back as unknown, never 0, and a partly unknown one keeps its known sum with the
number of requests that had no usage."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from rich.console import Console

from memory_banker.cli.ledger import render_sessions
from token_tracking import TokenTracker
from token_tracking.history.ledger import Ledger
from token_tracking.records import RequestUsage
from token_tracking.reports.file import TokenUsageReport

BOTH_LEDGERS = pytest.mark.usefixtures("each_ledger_backend")
"""Runs a test on the SQLite file and on PostgreSQL (tests/conftest.py)."""


def _report(*counts: tuple[int, int] | None) -> tuple[TokenUsageReport, list[RequestUsage]]:
    """A finished session with one request per entry of ``counts`` (None: no usage)."""
    tracker = TokenTracker(command="update", persist=False, interval_minutes=600)
    for number, pair in enumerate(counts):
        prompt, completion = pair if pair is not None else (None, None)
        tracker.record(
            RequestUsage(
                timestamp=datetime.now(UTC),
                agent_name="writer",
                model="gpt-4o",
                request_model="gpt-4o",
                response_model="gpt-4o-2024-08-06",
                response_id=f"chatcmpl-{number}",
                request_id=f"req_{number}",
                prompt_tokens=prompt,
                completion_tokens=completion,
                requests=1,
            )
        )
    requests = tracker.requests()
    return tracker.finish(), requests


@BOTH_LEDGERS
def test_a_session_with_every_count_unknown_reads_back_unknown() -> None:
    report, requests = _report(None, None)
    assert (report.total_prompt_tokens, report.unknown_usage_requests) == (None, 2)
    with Ledger() as ledger:
        assert ledger.insert_report(report, requests)
        (session,) = ledger.sessions(project=None)
        assert (session.prompt_tokens, session.completion_tokens, session.total_tokens) == (
            None,
            None,
            None,
        )
        assert session.unknown_usage_requests == 2
        stored = ledger.session_requests(report.session_id)
        assert [(r.prompt_tokens, r.completion_tokens) for r in stored] == [(None, None)] * 2
        row = ledger.connection.execute(
            "SELECT request_model, response_model, response_id, request_id FROM usage_rows "
            "ORDER BY id"
        ).fetchall()
        assert [tuple(r) for r in row] == [
            ("gpt-4o", "gpt-4o-2024-08-06", "chatcmpl-0", "req_0"),
            ("gpt-4o", "gpt-4o-2024-08-06", "chatcmpl-1", "req_1"),
        ]


@BOTH_LEDGERS
def test_a_partly_unknown_session_keeps_its_known_sum_and_unknown_count() -> None:
    report, requests = _report((1200, 340), None, (800, 60))
    with Ledger() as ledger:
        assert ledger.insert_report(report, requests)
        (session,) = ledger.sessions(project=None)
        assert (session.prompt_tokens, session.completion_tokens, session.total_tokens) == (
            2000,
            400,
            2400,
        )
        assert session.unknown_usage_requests == 1
        assert session.requests == 3


@BOTH_LEDGERS
def test_the_sessions_table_shows_unknown_and_lower_bound_totals() -> None:
    unknown, unknown_requests = _report(None)
    partial, partial_requests = _report((1200, 340), None)
    with Ledger() as ledger:
        ledger.insert_reports([(unknown, unknown_requests), (partial, partial_requests)])
        sessions = ledger.sessions(project=None)
    console = Console(file=io.StringIO(), width=120, color_system=None)
    render_sessions(console, sessions, None)
    lines = console.file.getvalue().splitlines()  # type: ignore[attr-defined]
    by_id = {line.split()[0]: line for line in lines if line.strip()}
    assert " unknown " in by_id[unknown.session_id[:8]]
    assert " ≥1,540 " in by_id[partial.session_id[:8]]
