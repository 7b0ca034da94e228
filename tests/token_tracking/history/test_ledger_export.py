"""CSV and JSON exports of the ledger: they parse back to the ledger's own totals."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.ledger_factory import AgentSpec, make_session, use_timezone
from token_tracking.history.export import (
    CSV_COLUMNS,
    CSV_TIME_FORMAT,
    ExportDocument,
    export_csv,
    export_document,
)
from token_tracking.history.ledger import Ledger
from token_tracking.history.manual import manual_entry
from token_tracking.history.models import Filters

BOTH_LEDGERS = pytest.mark.usefixtures("each_ledger_backend")
"""Runs a test on the SQLite file and on PostgreSQL (tests/conftest.py)."""

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def ledger(
    each_ledger_backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Ledger]:
    """Three runs on two branches (one agent unpriced), an old run, and a manual entry."""
    with use_timezone(monkeypatch, "UTC"), Ledger() as opened:
        runs = [
            (NOW - timedelta(days=1), "feature/pdf", [AgentSpec("a", 1000, 200, 0.012),
                                                      AgentSpec("b", 3000, 500, None, "mystery")]),
            (NOW - timedelta(days=2), "feature/pdf", [AgentSpec("a", 2000, 100, 0.0205)]),
            (NOW - timedelta(days=3), "main", [AgentSpec("c", 400, 100, 0.003, requests=2)]),
            (NOW - timedelta(days=40), "main", [AgentSpec("c", 9000, 1000, 0.5)]),
        ]  # fmt: skip
        for start, branch, agents in runs:
            report, requests = make_session(tmp_path, start, agents, branch=branch)
            opened.insert_report(report, requests)
        manual = manual_entry(
            tmp_path,
            input_tokens=15000,
            output_tokens=8000,
            branch="feature/pdf",
            cost_usd=0.17,
            now=NOW - timedelta(hours=1),
        )
        opened.insert_report(manual, note="Debugged, the auth flow")
        yield opened


def test_csv_has_the_summary_columns_first_and_sums_back_to_the_ledger(ledger: Ledger) -> None:
    text = export_csv(ledger, days=30, now=NOW)
    header = text.splitlines()[0]
    assert header == (
        "timestamp,branch,tokens,estimated_cost,notes,project,command,agent,model,prompt_tokens,"
        "completion_tokens,cached_tokens,cache_write_tokens,reasoning_tokens,requests,source,"
        "reported_cost_usd"
    )
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 5  # one per agent run; the manual entry is one row
    totals = ledger.window_totals(Filters(start=datetime(2026, 10, 25, tzinfo=UTC)))
    assert (
        sum(int(row["tokens"]) for row in rows) == totals.total_tokens == 4700 + 2100 + 500 + 23000
    )
    costs = [float(row["estimated_cost"]) for row in rows if row["estimated_cost"]]
    assert sum(costs) == pytest.approx(totals.cost_usd, rel=1e-9)
    assert sum(costs) == pytest.approx(0.012 + 0.0205 + 0.003 + 0.17, rel=1e-9)
    unpriced = [row for row in rows if row["agent"] == "b"]
    assert unpriced[0]["estimated_cost"] == ""
    assert unpriced[0]["model"] == "mystery"
    manual = rows[-1]
    assert (manual["source"], manual["agent"], manual["notes"]) == (
        "manual",
        "manual",
        "Debugged, the auth flow",
    )
    assert (manual["command"], manual["model"], manual["requests"]) == ("manual", "", "")
    assert manual["timestamp"] == "2026-11-23 11:00:00"  # the CSV time format, local time (UTC)
    assert rows[0]["timestamp"] == "2026-11-20 12:00:00"
    assert [row["branch"] for row in rows] == ["main"] + ["feature/pdf"] * 4


@BOTH_LEDGERS
def test_csv_timestamps_are_local_time_in_a_spreadsheet_format(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with use_timezone(monkeypatch, "Europe/Berlin"), Ledger() as ledger:
        report, requests = make_session(tmp_path, NOW, [AgentSpec("a", 10, 5, 0.001)])
        ledger.insert_report(report, requests)
        rows = list(csv.DictReader(io.StringIO(export_csv(ledger, days=0, now=NOW))))
    assert [row["timestamp"] for row in rows] == ["2026-11-23 13:00:00"]  # 12:00 UTC in Berlin
    assert datetime.strptime(rows[0]["timestamp"], CSV_TIME_FORMAT) == datetime(2026, 11, 23, 13)


def test_csv_days_zero_exports_everything(ledger: Ledger) -> None:
    rows = list(csv.DictReader(io.StringIO(export_csv(ledger, days=0, now=NOW))))
    assert len(rows) == 6
    assert sum(int(row["tokens"]) for row in rows) == 4700 + 2100 + 500 + 23000 + 10000


def test_json_round_trips_and_keeps_its_documented_keys(ledger: Ledger) -> None:
    document = export_document(ledger, days=30, now=NOW)
    text = document.model_dump_json(indent=2)
    assert ExportDocument.model_validate_json(text) == document
    data = json.loads(text)
    assert set(data) == {
        "summary",
        "daily",
        "weekly",
        "monthly",
        "by_branch",
        "by_model",
        "sessions",
    }
    assert data["summary"]["total_tokens"] == 30300
    assert data["summary"]["total_cost"] == pytest.approx(0.2055, rel=1e-9)
    assert data["summary"]["total_sessions"] == 4
    assert data["summary"]["priced_coverage"] == pytest.approx((30300 - 3500) / 30300, rel=1e-9)
    assert list(data["daily"]) == ["2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23"]
    assert data["daily"]["2026-11-23"] == {
        "sessions": 1,
        "tokens": 23000,
        "prompt_tokens": 15000,
        "completion_tokens": 8000,
        "requests": None,  # the day's only entry is manual: its request count is unknown
        "estimated_cost": 0.17,
    }
    assert list(data["weekly"]) == ["2026-11-16", "2026-11-23"]
    assert list(data["monthly"]) == ["2026-11"]
    assert data["by_branch"]["feature/pdf"]["tokens"] == 29800
    assert data["by_model"]["mystery"]["estimated_cost"] is None
    sessions = data["sessions"]
    assert [len(s["agent_usage"]) for s in sessions] == [1, 1, 2, 1]
    assert sessions[-1]["note"] == "Debugged, the auth flow"
    assert sessions[-1]["source"] == "manual"
    assert {s["project"] for s in sessions} == {sessions[0]["project"]}


def test_a_user_script_reads_the_json_export(ledger: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "usage_data.json"
    path.write_text(export_document(ledger, days=0, now=NOW).model_dump_json(), "utf-8")

    # A user's script: find the expensive features (branches) and analyse their cost.
    with open(path) as handle:
        data = json.load(handle)
    branches = data["by_branch"]
    expensive = sorted(branches.items(), key=lambda x: x[1]["estimated_cost"], reverse=True)
    lines = [f"{name}: ${stats['estimated_cost']:.2f}" for name, stats in expensive[:5]]
    total = data["summary"]["total_cost"]

    assert lines == ["main: $0.50", "feature/pdf: $0.20"]
    assert f"${total:.2f}" == "$0.71"
