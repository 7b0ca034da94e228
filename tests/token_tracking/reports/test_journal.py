"""The crash-safe journal: a killed session is recovered to the token; a live one is left alone."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.support.clock import START, StepClock
from tests.support.records import usage
from token_tracking import TokenTracker, TokenUsageReport, recover_journals
from token_tracking.display import json_text
from token_tracking.reports.build import SessionMeta
from token_tracking.reports.journal import Journal

# A tracked session that records two requests, says so, then waits to be killed.
SESSION_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from datetime import datetime, timezone
    from pathlib import Path
    from token_tracking import RequestUsage, TokenTracker

    tracker = TokenTracker(reports_dir=Path(sys.argv[1]), command="init", model="gpt-4o-mini",
                           project_path=Path(sys.argv[2]))
    tracker.start_session()
    now = datetime.now(timezone.utc)
    tracker.start_agent("projectbrief")
    tracker.record(RequestUsage(timestamp=now, agent_name="projectbrief", model="gpt-4o-mini",
                                prompt_tokens=1200, completion_tokens=300, cached_tokens=200))
    tracker.end_agent("projectbrief", success=True)
    tracker.start_agent("techContext")
    tracker.record(RequestUsage(timestamp=now, agent_name="techContext", model="gpt-4o-mini",
                                prompt_tokens=800, completion_tokens=150))
    print("RECORDED", tracker.session_id, flush=True)
    time.sleep(300)
    """
)


def wait_for_line(process: subprocess.Popen[str], seconds: float) -> str:
    """Return the child's first stdout line, failing after ``seconds`` (never hangs)."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout=seconds):
            process.kill()
            pytest.fail(f"the tracked session printed nothing within {seconds} s")
    return process.stdout.readline()


def test_a_killed_session_is_recovered_with_exactly_its_answered_requests(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    process = subprocess.Popen(
        [sys.executable, "-c", SESSION_SCRIPT, str(reports), str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        marker = wait_for_line(process, 60)
        assert marker.startswith("RECORDED ")
        session_id = marker.split()[1]
        journal = reports / ".journal" / f"{session_id}.jsonl"

        # Alive: its lock is held, so recovery leaves the journal alone.
        assert recover_journals(reports) == []
        assert journal.is_file()
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        assert process.stdout is not None
        process.stdout.close()
    assert process.returncode == -signal.SIGKILL

    (report,) = recover_journals(reports)
    assert report.session_id == session_id
    assert report.status == "interrupted"
    assert report.command == "init"
    assert (report.total_prompt_tokens, report.total_completion_tokens) == (2_000, 450)
    assert report.total_tokens == 2_450
    assert report.total_cached_tokens == 200
    assert report.total_requests == 2
    assert report.total_cost_usd == pytest.approx(
        (1_000 * 0.15 + 200 * 0.075 + 300 * 0.6 + 800 * 0.15 + 150 * 0.6) / 1e6, rel=1e-9
    )
    brief, tech = report.agent_usage
    assert (brief.agent_name, brief.success, brief.total_tokens) == ("projectbrief", True, 1_500)
    assert (tech.agent_name, tech.success, tech.total_tokens) == ("techContext", False, 950)
    assert tech.error == "interrupted: the process ended before the agent finished"
    assert report.pricing is not None
    assert report.pricing.models[0].matched_key == "gpt-4o-mini"

    # Saved as a report, journal gone, and a second pass finds nothing.
    assert not journal.exists()
    (saved,) = reports.glob("token_usage_*.json")
    # Costs are written with 12 significant digits: the file holds the report as JSON shows it.
    assert json_text(TokenUsageReport.load_from_file(saved)) == json_text(report)
    assert recover_journals(reports) == []


def orphan_journal(reports: Path, session_id: str = "orphan") -> Journal:
    """Write a journal and release it as a dead process would: two agents, three requests."""
    meta = SessionMeta(
        session_id=session_id,
        command="update",
        project_path="/p",
        start_time=START,
        model="gpt-4o-mini",
        interval_minutes=5,
    )
    journal = Journal.create(reports, meta, None)
    journal.agent_start("a", "gpt-4o-mini", START)
    for prompt in (100, 200):
        journal.request(usage("a", prompt, 10, model="gpt-4o-mini", cost_usd=0.5), None)
    journal.agent_end("a", START, success=True, error=None, output_file="memory-bank/a.md")
    journal.request(usage("b", 1_000, 50, model="gpt-4o-mini", cost_usd=0.25), None)
    journal.close(delete=False)
    return journal


def test_a_dry_run_recovers_without_touching_anything(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    journal = orphan_journal(reports)
    before = journal.path.read_bytes()
    (report,) = recover_journals(reports, save=False)
    assert report.total_prompt_tokens == 1_300
    assert report.total_cost_usd == pytest.approx(1.25, rel=1e-9)
    assert report.agent_usage[0].output_file == "memory-bank/a.md"
    # "b" was only ever seen through its request: it ran, and nothing says it failed.
    assert [a.success for a in report.agent_usage] == [True, True]
    assert journal.path.read_bytes() == before
    assert list(reports.glob("*.json")) == []


def test_the_line_being_written_when_killed_is_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    reports = tmp_path / "reports"
    journal = orphan_journal(reports)
    with journal.path.open("a") as handle:
        handle.write('{"event":"request","usage":{"timestamp":"2026-')
    (report,) = recover_journals(reports)
    assert report.total_requests == 3
    assert "line 7 is incomplete" in caplog.text


def test_a_journal_of_this_live_process_is_left_alone(tmp_path: Path) -> None:
    from token_tracking import TokenTracker

    reports = tmp_path / "reports"
    tracker = TokenTracker(reports_dir=reports, project_path=tmp_path, clock=StepClock())
    tracker.record(usage("a", 1, 1, model="gpt-4o-mini"))
    started = time.monotonic()
    assert recover_journals(reports) == []
    assert time.monotonic() - started < 30  # the lock is tried, never waited for
    assert (reports / ".journal" / f"{tracker.session_id}.jsonl").is_file()
    tracker.finish()
    assert list((reports / ".journal").iterdir()) == []


def test_an_empty_journal_is_removed_without_a_report(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    meta = SessionMeta(session_id="empty", command="init", project_path="/p", start_time=START)
    Journal.create(reports, meta, None).close(delete=False)
    assert recover_journals(reports) == []
    assert list((reports / ".journal").iterdir()) == []


def test_a_journal_without_header_is_moved_to_unreadable(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "reports" / ".journal"
    folder.mkdir(parents=True)
    stray = folder / "stray.jsonl"
    stray.write_text("not json\n")
    assert recover_journals(tmp_path / "reports") == []
    assert not stray.exists()
    assert (folder / "unreadable" / "stray.jsonl").read_text() == "not json\n"
    assert [record.getMessage() for record in caplog.records] == [
        f"journal cannot be recovered, moved to {folder / 'unreadable' / 'stray.jsonl'}: "
        f"{stray} has no session header"
    ]


def test_journal_files_are_private(tmp_path: Path) -> None:
    journal = orphan_journal(tmp_path / "reports")
    assert os.stat(journal.path).st_mode & 0o077 == 0


def test_a_journal_whose_report_was_saved_is_removed_without_a_second_report(
    tmp_path: Path,
) -> None:
    # Killed after its report was saved, before its journal was removed.
    reports = tmp_path / "reports"
    tracker = TokenTracker(reports_dir=reports, command="update", project_path=tmp_path)
    tracker.start_session()
    tracker.record(usage("a", 100, 10, model="gpt-4o-mini"))
    journal = reports / ".journal" / f"{tracker.session_id}.jsonl"
    kept = journal.read_bytes()
    report = tracker.finish()
    journal.write_bytes(kept)  # the journal the dead process left behind

    (recovered,) = recover_journals(reports)
    assert recovered == report  # the saved report, status success, completes the ledger
    assert recovered.status == "success"
    assert not journal.exists()
    assert len(list(reports.glob("token_usage_*.json"))) == 1
    assert recover_journals(reports) == []


def test_a_recovered_report_lists_the_agents_that_never_launched(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    meta = SessionMeta(
        session_id="killed-in-round-1",
        command="init",
        project_path="/p",
        start_time=START,
        model="gpt-4o-mini",
        planned_agents=("projectbrief", "productContext", "activeContext"),
    )
    journal = Journal.create(reports, meta, None)
    journal.agent_start("projectbrief", "gpt-4o-mini", START)
    journal.request(usage("projectbrief", 100, 10, model="gpt-4o-mini", cost_usd=0.5), None)
    journal.close(delete=False)
    (report,) = recover_journals(reports)
    assert report.agents_not_run == ["productContext", "activeContext"]
    assert [a.agent_name for a in report.agent_usage] == ["projectbrief"]
