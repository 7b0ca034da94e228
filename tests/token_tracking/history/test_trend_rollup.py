"""The trends rollup reads exactly what the request rows hold, whatever happened to them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.ledger_factory import AgentSpec, make_session, use_timezone
from tests.support.postgres import SUPERUSER, PostgresServer
from token_tracking.history import ledger as ledger_module
from token_tracking.history import rollup
from token_tracking.history.clock import from_us, to_us, window_start
from token_tracking.history.ledger import Ledger
from token_tracking.history.models import BUCKET_US, Filters, GroupColumn
from token_tracking.history.rows import TrendScan, trend_scan, trend_scan_sql

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
MINI, BIG = "gpt-4o-mini", "gpt-4o"
MID_BUCKET = from_us(to_us(NOW - timedelta(days=9)) // BUCKET_US * BUCKET_US + 420_000_000)
"""A window start 7 minutes into a 15-minute bucket."""
KEYS: tuple[GroupColumn | None, ...] = (None, "model", "agent", "attributed_commit")


def _insert_days(ledger: Ledger, project: Path, days: range) -> None:
    for day in days:
        start = NOW - timedelta(days=day, hours=day % 5, minutes=11 * day)
        agents = [
            AgentSpec("writer", 1000 + day, 200, 0.01 * (day % 3), MINI, requests=3),
            AgentSpec("reviewer", 500, 50 + day, None if day % 4 == 0 else 0.02, BIG),
        ]
        report, requests = make_session(
            project, start, agents, request_spacing=timedelta(minutes=4)
        )
        ledger.insert_report(report, requests)
    # Requests 4 minutes apart from the start of MID_BUCKET's bucket: the window cuts them.
    report, requests = make_session(
        project,
        MID_BUCKET - timedelta(minutes=7),
        [AgentSpec("writer", 800, 80, 0.04, MINI, requests=4)],
        request_spacing=timedelta(minutes=4),
    )
    ledger.insert_report(report, requests)


@pytest.fixture
def filled(
    each_ledger_backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Ledger, Path]]:
    """A ledger with 20 days of sessions of one project, its rollup not yet folded."""
    project = tmp_path / "project"
    project.mkdir()
    with use_timezone(monkeypatch, "UTC"), Ledger() as ledger:
        _insert_days(ledger, project, range(0, 40, 2))
        yield ledger, project


def _filters(project: Path) -> list[Filters]:
    start = window_start(30, now=NOW)
    return [
        Filters(start=start),
        Filters(project=str(project.resolve()), start=start),
        Filters(),
        Filters(project="/nowhere", start=start),
        Filters(start=MID_BUCKET),
    ]


def _raw(ledger: Ledger, filters: Filters, key: GroupColumn | None) -> TrendScan:
    sql, params = trend_scan_sql(filters, key)
    return trend_scan(ledger.connection.execute(sql, params).fetchall())


def _without_cost(scan: TrendScan) -> tuple[list[Any], list[Any], list[Any]]:
    buckets = sorted(
        (replace(b, cost_usd=None) for b in scan.buckets), key=lambda b: (b.number, b.session_pk)
    )
    pairs = sorted(
        (u.model_dump(exclude={"cost_usd"}) for u in scan.pairs),
        key=lambda u: (u["agent"], u["model"]),
    )
    groups = sorted(
        ((k or "", t.model_dump(exclude={"cost_usd", "counted_tokens"})) for k, t in scan.groups),
        key=lambda item: item[0],
    )
    return buckets, pairs, groups


def _costs(scan: TrendScan) -> list[float | None]:
    return [
        *(b.cost_usd for b in sorted(scan.buckets, key=lambda b: (b.number, b.session_pk))),
        *(u.cost_usd for u in sorted(scan.pairs, key=lambda u: (u.agent or "", u.model or ""))),
        *(t.cost_usd for _, t in sorted(scan.groups, key=lambda g: g[0] or "")),
    ]


def _assert_rollup_reads_the_rows(ledger: Ledger, project: Path) -> None:
    for filters in _filters(project):
        for key in KEYS:
            ours, theirs = ledger.trend_scan(filters, key), _raw(ledger, filters, key)
            assert _without_cost(ours) == _without_cost(theirs), (filters, key)
            for mine, their in zip(_costs(ours), _costs(theirs), strict=True):
                assert (mine is None) == (their is None)
                if their is not None:
                    assert mine == pytest.approx(their, rel=1e-9)


def _rollup_rows(ledger: Ledger) -> list[tuple[Any, ...]]:
    found = ledger.connection.execute("SELECT * FROM trend_rollup ORDER BY id").fetchall()
    return [tuple(row) for row in found]


def test_reads_fold_new_rows_in(filled: tuple[Ledger, Path]) -> None:
    ledger, project = filled
    assert rollup.state(ledger.connection).watermark == 0
    start = to_us(MID_BUCKET)
    before, after = ledger.connection.execute(
        "SELECT SUM(CASE WHEN ts_us < ? THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN ts_us >= ? THEN 1 ELSE 0 END) FROM usage_rows WHERE ts_us / ? = ?",
        (start, start, BUCKET_US, start // BUCKET_US),
    ).fetchone()
    assert before > 0 and after > 0  # the window's start cuts its first bucket's rows
    _assert_rollup_reads_the_rows(ledger, project)
    newest = ledger.connection.execute("SELECT MAX(id) FROM usage_rows").fetchone()[0]
    assert rollup.state(ledger.connection) == rollup.RollupState(watermark=newest, dirty=False)
    # New rows, some in buckets the rollup already holds (same sessions' buckets are merged).
    _insert_days(ledger, project, range(1, 40, 2))
    _assert_rollup_reads_the_rows(ledger, project)
    assert rollup.state(ledger.connection).watermark > newest


def test_folding_twice_adds_nothing(filled: tuple[Ledger, Path]) -> None:
    ledger, _ = filled
    rollup.fold(ledger.connection)
    before = _rollup_rows(ledger)
    rollup.fold(ledger.connection)
    with Ledger(ledger.path, url=ledger.url) as other:
        rollup.fold(other.connection)
    assert _rollup_rows(ledger) == before
    summed = ledger.connection.execute(
        "SELECT SUM(g_requests), SUM(g_total) FROM trend_rollup"
    ).fetchone()
    rows = ledger.connection.execute(
        "SELECT SUM(requests), SUM(total_tokens) FROM usage_rows"
    ).fetchone()
    assert tuple(summed) == tuple(rows)


def test_a_commit_attributed_after_folding(filled: tuple[Ledger, Path]) -> None:
    ledger, project = filled
    rollup.fold(ledger.connection)
    ledger.connection.execute(
        "UPDATE usage_rows SET attributed_commit = ? WHERE agent = ? AND ts_us % 3 = 0",
        ("abc1234", "writer"),
    )
    assert rollup.state(ledger.connection).dirty
    _assert_rollup_reads_the_rows(ledger, project)
    assert not rollup.state(ledger.connection).dirty
    groups = dict(ledger.trend_scan(Filters(), "attributed_commit").groups)
    assert "abc1234" in groups


def test_an_update_of_an_unsummed_column_keeps_the_rollup(filled: tuple[Ledger, Path]) -> None:
    ledger, _ = filled
    rollup.fold(ledger.connection)
    ledger.connection.execute("UPDATE usage_rows SET note = 'seen'")
    assert not rollup.state(ledger.connection).dirty


def test_prune_after_folding(filled: tuple[Ledger, Path]) -> None:
    ledger, project = filled
    rollup.fold(ledger.connection)
    result = ledger.prune(NOW - timedelta(days=20), dry_run=False)
    assert result.usage_rows > 0
    assert rollup.state(ledger.connection).dirty
    _assert_rollup_reads_the_rows(ledger, project)


def test_a_replaced_snapshot_after_folding(filled: tuple[Ledger, Path]) -> None:
    ledger, project = filled
    rollup.fold(ledger.connection)
    # What an import does when a larger snapshot of a session replaces the one it holds.
    ledger.connection.execute(
        "UPDATE usage_rows SET prompt_tokens = prompt_tokens + 5, total_tokens = total_tokens + 5, "
        "cost_usd = cost_usd * 2 WHERE session_pk = (SELECT MIN(session_pk) FROM usage_rows)"
    )
    _assert_rollup_reads_the_rows(ledger, project)


def test_rows_folded_and_rows_above_the_watermark_read_together_without_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    path = tmp_path / "ledger.sqlite3"
    writable = ledger_module._writable
    with use_timezone(monkeypatch, "UTC"):
        with Ledger(path) as ledger:
            _insert_days(ledger, project, range(0, 40, 2))
            rollup.fold(ledger.connection)
            _insert_days(ledger, project, range(1, 40, 2))
            watermark = rollup.state(ledger.connection).watermark
            folded = _rollup_rows(ledger)
        monkeypatch.setattr(ledger_module, "_writable", lambda path: False)
        with Ledger(path) as read_only:
            _assert_rollup_reads_the_rows(read_only, project)
            assert rollup.state(read_only.connection).watermark == watermark
            assert _rollup_rows(read_only) == folded
        monkeypatch.setattr(ledger_module, "_writable", writable)
        with Ledger(path) as ledger:
            ledger.connection.execute("UPDATE usage_rows SET model = 'other' WHERE id = 1")
        monkeypatch.setattr(ledger_module, "_writable", lambda path: False)
        with Ledger(path) as read_only:
            # Dirty and read-only: the rows answer.
            assert rollup.state(read_only.connection).dirty
            _assert_rollup_reads_the_rows(read_only, project)


def test_trends_reads_the_rollup(filled: tuple[Ledger, Path]) -> None:
    ledger, _ = filled
    rollup.fold(ledger.connection)
    ledger.connection.execute("UPDATE trend_rollup SET g_requests = g_requests + 1")
    scan = ledger.trend_scan(Filters(start=window_start(30, now=NOW)))
    raw = _raw(ledger, Filters(start=window_start(30, now=NOW)), None)
    assert sum(b.requests or 0 for b in scan.buckets) > sum(b.requests or 0 for b in raw.buckets)


def test_a_row_moved_to_another_bucket_and_session_after_folding(
    filled: tuple[Ledger, Path],
) -> None:
    ledger, project = filled
    rollup.fold(ledger.connection)
    ledger.connection.execute(
        "UPDATE usage_rows SET ts_us = ts_us - ?, "
        "session_pk = (SELECT MAX(session_pk) FROM usage_rows) WHERE id IN (2, 3)",
        (BUCKET_US * 5,),
    )
    _assert_rollup_reads_the_rows(ledger, project)


def test_a_login_without_write_rights_reads_the_rollup_as_it_stands(
    postgres_server: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    url = postgres_server.create_database()
    database = url.rsplit("/", 1)[1]
    reader = f"reader_{database}"
    with use_timezone(monkeypatch, "UTC"):
        with Ledger(url=url) as ledger:
            _insert_days(ledger, project, range(0, 40, 2))
            rollup.fold(ledger.connection)
            _insert_days(ledger, project, range(1, 40, 2))
            folded = _rollup_rows(ledger)
            for grant in (
                f"CREATE ROLE {reader} LOGIN PASSWORD 'read'",
                f"GRANT USAGE ON SCHEMA public TO {reader}",
                f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {reader}",
            ):
                ledger.connection.execute(grant)
        read_url = url.replace(f"//{SUPERUSER}@", f"//{reader}:read@")
        with Ledger(url=read_url) as read_only:
            # The fold is refused (no write rights); the read answers from the rollup and rows.
            _assert_rollup_reads_the_rows(read_only, project)
            assert _rollup_rows(read_only) == folded
