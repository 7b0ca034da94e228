"""The one pass ``tokens trends`` reads: the same sums as the ledger's separate queries."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.ledger_factory import AgentSpec, make_session, use_timezone
from token_tracking.history.clock import window_start
from token_tracking.history.ledger import Ledger
from token_tracking.history.manual import manual_entry
from token_tracking.history.models import BUCKET_US, Bucket, Filters, GroupColumn, UsageTotals
from token_tracking.history.rows import trend_scan_sql
from token_tracking.history.trends import compute_trends, week_over_week

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
MINI, BIG = "gpt-4o-mini", "gpt-4o"


@pytest.fixture
def mixed(
    each_ledger_backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Ledger, str]]:
    """Sessions of two projects over 40 days, in a zone whose midnight is 05:30 UTC: several
    agents and models, unpriced requests, a manual entry (unknown requests and cached tokens),
    an offline session, sessions crossing 15-minute buckets and local midnight, and rows a hook
    attributed to commits."""
    one, other = tmp_path / "one", tmp_path / "other"
    one.mkdir()
    other.mkdir()
    monkeypatch.setenv("TOKEN_TRACKING_USER", "dev@example.com")
    with use_timezone(monkeypatch, "Asia/Kolkata"), Ledger() as ledger:
        for day in range(40):
            start = NOW - timedelta(days=day, hours=day % 7, minutes=7 * day)
            agents = [
                AgentSpec("writer", 1000 + day, 200, 0.01 * (day % 3), MINI, requests=3),
                AgentSpec("reviewer", 500, 50 + day, None if day % 4 == 0 else 0.02, BIG),
            ]
            if day % 5 == 0:
                agents.append(AgentSpec("writer", 300, 30, 0.003, BIG, cached=100))
            report, requests = make_session(
                one if day % 3 else other,
                start,
                agents,
                branch=("main", "feature/x", None)[day % 3],
                source="offline" if day % 9 == 4 else "llm",
                request_spacing=timedelta(minutes=4),
            )
            ledger.insert_report(report, requests)
        # Local midnight (18:30 UTC) falls between this session's requests.
        report, requests = make_session(
            one, datetime(2026, 11, 20, 18, 20, tzinfo=UTC), [AgentSpec("writer", 70, 7, 0.7)],
            request_spacing=timedelta(minutes=15),
        )  # fmt: skip
        ledger.insert_report(report, requests)
        entry = manual_entry(
            one, input_tokens=4000, output_tokens=321, model=None, now=NOW - timedelta(days=2)
        )
        ledger.insert_report(entry, note="pairing")
        ledger.connection.execute(
            "UPDATE usage_rows SET attributed_commit = ? WHERE agent = ? AND ts_us % 3 = 0",
            ("abc1234", "writer"),
        )
        ledger.connection.execute(
            "UPDATE usage_rows SET attributed_commit = ? WHERE agent = ? AND ts_us % 3 = 1",
            ("def5678", "reviewer"),
        )
        yield ledger, str(one.resolve())


def _filters(project: str) -> list[Filters]:
    start = window_start(30, now=NOW)
    return [
        Filters(project=project, start=start),
        Filters(start=start),
        Filters(start=start, include_offline=True),
        Filters(project=project),
        Filters(start=window_start(3, now=NOW), sources=("manual",)),
        Filters(start=start, user="dev@example.com"),
        Filters(project="/nowhere", start=start),
    ]


def _same_totals(ours: UsageTotals, theirs: UsageTotals) -> None:
    assert ours.model_dump(exclude={"cost_usd", "counted_tokens"}) == theirs.model_dump(
        exclude={"cost_usd", "counted_tokens"}
    )
    _close(ours.cost_usd, theirs.cost_usd)


def _close(ours: float | None, theirs: float | None) -> None:
    """Equal but for the last bits a different order of addition leaves (both unknown too)."""
    if theirs is None:
        assert ours is None
    else:
        assert ours == pytest.approx(theirs, rel=1e-9)


def _bucket_key(bucket: Bucket) -> tuple[int, int]:
    return bucket.number, bucket.session_pk


@pytest.mark.parametrize("key", [None, "model", "agent", "attributed_commit"])
def test_the_one_pass_reads_what_the_separate_queries_read(
    mixed: tuple[Ledger, str], key: GroupColumn | None
) -> None:
    ledger, project = mixed
    for filters in _filters(project):
        scan = ledger.trend_scan(filters, key)
        buckets = sorted(ledger.buckets(filters), key=_bucket_key)
        ours = sorted(scan.buckets, key=_bucket_key)
        assert [replace(b, cost_usd=None) for b in ours] == [
            replace(b, cost_usd=None) for b in buckets
        ]
        for mine_bucket, their_bucket in zip(ours, buckets, strict=True):
            _close(mine_bucket.cost_usd, their_bucket.cost_usd)
        pairs = sorted(ledger.agent_model_usage(filters), key=lambda u: (u.agent, u.model))
        mine = sorted(scan.pairs, key=lambda u: (u.agent, u.model))
        assert [u.model_dump(exclude={"cost_usd"}) for u in mine] == [
            u.model_dump(exclude={"cost_usd"}) for u in pairs
        ]
        for mine_pair, their_pair in zip(mine, pairs, strict=True):
            _close(mine_pair.cost_usd, their_pair.cost_usd)
        if key is None:
            assert scan.groups == []
            continue
        expected = dict(ledger.grouped(key, filters))
        found = dict(scan.groups)
        assert set(found) == set(expected)
        for value, totals in found.items():
            _same_totals(totals, expected[value])


def test_the_first_row_of_a_selection(mixed: tuple[Ledger, str]) -> None:
    ledger, project = mixed
    for filters in [*_filters(project), Filters(commit="abc"), Filters(commit="zzz")]:
        where, params = filters.where()
        first = ledger.connection.execute(
            f"SELECT MIN(ts_us) FROM usage_rows WHERE {where}", params
        ).fetchone()[0]
        found = ledger.first_row_time(filters)
        assert (found.timestamp() * 1_000_000 if found else None) == pytest.approx(first)


def test_week_over_week_from_the_buckets_equals_the_ledger_sums(
    mixed: tuple[Ledger, str],
) -> None:
    ledger, project = mixed
    for filters in _filters(project):
        if filters.start is None or filters.start > window_start(14, now=NOW):
            continue
        buckets = ledger.trend_scan(filters).buckets
        read = week_over_week(ledger, filters, now=NOW)
        summed = week_over_week(ledger, filters, now=NOW, buckets=buckets)
        assert summed.model_dump(exclude={"last_7_days_cost", "previous_7_days_cost"}) == (
            read.model_dump(exclude={"last_7_days_cost", "previous_7_days_cost"})
        )
        _close(summed.last_7_days_cost, read.last_7_days_cost)
        _close(summed.previous_7_days_cost, read.previous_7_days_cost)


def test_agents_of_equal_cost_are_told_apart_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 0.1 + 0.2 and 0.3 differ in their last bit only: equal costs, the later name wins.
    with use_timezone(monkeypatch, "UTC"), Ledger(tmp_path / "ledger.sqlite3") as ledger:
        for agents in (
            [AgentSpec("alpha", 100, 10, 0.1), AgentSpec("alpha", 100, 10, 0.2)],
            [AgentSpec("beta", 200, 20, 0.3)],
        ):
            report, requests = make_session(tmp_path, NOW - timedelta(hours=2), agents)
            ledger.insert_report(report, requests)
        result = compute_trends(ledger, days=7, by="agent", project=str(tmp_path), now=NOW)
    largest = [r for r in result.insights.recommendations if r.kind == "largest_agent"]
    assert [r.subject for r in largest] == ["beta"]


def test_sqlite_reads_the_window_in_the_order_of_its_groups(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    Ledger(path).close()
    sql, params = trend_scan_sql(Filters(project="/p", start=NOW - timedelta(days=30)), "model")
    db = sqlite3.connect(path)
    try:
        plan = [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
    finally:
        db.close()
    assert any("USING INDEX usage_rows_by_context_bucket" in step for step in plan), plan
    # The window's rows are grouped as they are read: only the few groups are sorted again.
    assert plan.count("USE TEMP B-TREE FOR GROUP BY") == 3, plan
    assert BUCKET_US == 900_000_000  # the index's expression
