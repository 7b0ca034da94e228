"""A finished TokenTracker session lands in the ledger with its exact totals."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from token_tracking import TokenTracker
from token_tracking.history.ledger import Ledger
from token_tracking.records import RequestUsage


def _request(agent: str, prompt: int, completion: int, cached: int | None) -> RequestUsage:
    return RequestUsage(
        timestamp=datetime.now(UTC),
        agent_name=agent,
        model="gpt-4o-mini",
        prompt_tokens=prompt,
        completion_tokens=completion,
        cached_tokens=cached,
    )


def test_finished_session_is_recorded_in_the_ledger(tmp_path: Path) -> None:
    tracker = TokenTracker(
        reports_dir=tmp_path / "reports", command="my-app", project_path=tmp_path
    )
    tracker.start_session()
    tracker.start_agent("writer")
    tracker.record(_request("writer", 10_000, 2_000, 4_000))
    tracker.end_agent("writer", success=True)
    tracker.start_agent("critic")
    tracker.record(_request("critic", 1_000, 500, None))
    tracker.end_agent("critic", success=False, error="boom")
    report = tracker.finish()

    with Ledger() as ledger:
        sessions = ledger.sessions(limit=None)
        totals = ledger.session_totals(report.session_id)
    assert [s.session_id for s in sessions] == [report.session_id]
    assert sessions[0].status == "partial"
    assert totals.prompt_tokens == 11_000
    assert totals.completion_tokens == 2_500
    assert totals.cached_tokens == 4_000
    # gpt-4o-mini: 6,000 + 1,000 uncached at $0.15/1M, 4,000 cached at $0.075/1M,
    # 2,500 output at $0.60/1M.
    assert totals.cost_usd == pytest.approx(
        7_000 * 0.15e-6 + 4_000 * 0.075e-6 + 2_500 * 0.6e-6, rel=1e-9
    )


def test_disabled_tracking_writes_no_ledger_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOKEN_TRACKING_ENABLED", "false")
    tracker = TokenTracker(reports_dir=tmp_path / "reports", command="my-app")
    tracker.start_session()
    tracker.record(_request("writer", 100, 10, None))
    report = tracker.finish()
    assert report.total_tokens == 110
    with Ledger() as ledger:
        assert ledger.sessions(limit=None) == []
    assert not (tmp_path / "reports").exists()
