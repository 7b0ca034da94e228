"""The team-ledger commands: ``tokens sync``, ``--db-url`` on the history commands, ``--user`` and
``trends --by user|machine``, against a real PostgreSQL server."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.cli import invoke
from tests.support.ledger_factory import AgentSpec, make_session
from token_tracking.history.ledger import Ledger

NOW = datetime.now(UTC)


def _seed(project: Path, user: str, count: int, monkeypatch: pytest.MonkeyPatch) -> int:
    """Record ``count`` sessions of ``user`` in the local ledger; return their tokens."""
    monkeypatch.setenv("TOKEN_TRACKING_USER", user)
    tokens = 0
    with Ledger() as ledger:
        for number in range(count):
            start = NOW - timedelta(hours=2, minutes=number)
            agents = [AgentSpec("a", 100 + number, 10, 0.01, requests=2)]
            report, requests = make_session(project, start, agents)
            ledger.insert_report(report, requests)
            tokens += 110 + number
    monkeypatch.delenv("TOKEN_TRACKING_USER")
    return tokens


def test_sync_sends_each_row_once_and_says_so(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "shop"
    project.mkdir()
    tokens = _seed(project, "ana", 3, monkeypatch)

    first = invoke(project, "tokens", "sync", "--to", postgres_url, "--json")
    again = invoke(project, "tokens", "sync", "--to", postgres_url)

    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout) == {"sent": 6, "already_there": 0}
    assert again.exit_code == 0, again.output
    assert again.stdout == (
        f"Sent 0 request rows of 3 sessions to {postgres_url} (6 already there)\n"
    )
    trends = invoke(project, "tokens", "trends", "--db-url", postgres_url, "--by", "user", "--json")
    assert trends.exit_code == 0, trends.output
    rows = json.loads(trends.stdout)["rows"]
    assert [(row["key"], row["total_tokens"]) for row in rows] == [("ana", tokens)]


def test_trends_by_machine_and_the_user_filter(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    each_ledger_backend: str,
) -> None:
    project = tmp_path / "shop"
    project.mkdir()
    ana = _seed(project, "ana", 2, monkeypatch)
    bob = _seed(project, "bob", 1, monkeypatch)

    machines = invoke(project, "tokens", "trends", "--by", "machine", "--json")
    only_bob = invoke(project, "tokens", "trends", "--user", "bob", "--json")
    sessions = invoke(project, "tokens", "sessions", "--user", "ana", "--json")
    stats = invoke(project, "tokens", "stats", "--user", "bob", "--json")

    assert machines.exit_code == 0, machines.output
    assert [(r["key"], r["total_tokens"]) for r in json.loads(machines.stdout)["rows"]] == [
        (socket.gethostname(), ana + bob)
    ]
    assert json.loads(only_bob.stdout)["totals"]["total_tokens"] == bob
    assert len(json.loads(sessions.stdout)) == 2
    assert json.loads(stats.stdout)["total_tokens"] == bob


def test_sync_without_a_target_is_one_line(tmp_path: Path) -> None:
    result = invoke(tmp_path, "tokens", "sync")

    assert result.exit_code == 2
    assert result.stderr == "Error: give --to postgresql://… or set TOKEN_TRACKING_DB_URL\n"


def test_a_url_that_is_not_postgresql_is_one_line(tmp_path: Path) -> None:
    result = invoke(tmp_path, "tokens", "sync", "--to", "mysql://root:pw@db/x")
    listed = invoke(tmp_path, "tokens", "sessions", "--db-url", "sqlite:///x.db")

    assert result.exit_code == 2
    assert result.stderr == (
        "Error: TOKEN_TRACKING_DB_URL must be a postgresql:// URL, got 'mysql://…'\n"
    )
    assert listed.exit_code == 2
    assert "pw" not in result.stderr


def test_a_server_that_cannot_be_reached_is_one_line_without_the_password(
    tmp_path: Path,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://team:s3cret-pw@127.0.0.1:{port}/usage"

    synced = invoke(tmp_path, "tokens", "sync", "--to", url)
    listed = invoke(tmp_path, "tokens", "sessions", "--db-url", url)

    for result in (synced, listed):
        assert result.exit_code == 2
        assert result.stderr.startswith(
            f"Error: cannot reach the ledger postgresql://team@127.0.0.1:{port}/usage: "
        )
        assert result.stderr.count("\n") == 1
        assert "s3cret-pw" not in result.output


def test_a_bad_since_is_one_line(tmp_path: Path, postgres_url: str) -> None:
    result = invoke(tmp_path, "tokens", "sync", "--to", postgres_url, "--since", "last week")

    assert result.exit_code == 2
    assert result.stderr == (
        "Error: --since takes a number of days or a date (YYYY-MM-DD), not 'last week'\n"
    )


def test_the_dashboard_adds_usage_per_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, each_ledger_backend: str
) -> None:
    project = tmp_path / "shop"
    project.mkdir()
    ana = _seed(project, "ana", 2, monkeypatch)
    bob = _seed(project, "bob", 1, monkeypatch)
    page = tmp_path / "team.html"

    data = invoke(project, "tokens", "dashboard", "--by", "user", "--json")
    written = invoke(project, "tokens", "dashboard", "--by", "machine", "--output", str(page))

    assert data.exit_code == 0, data.output
    groups = json.loads(data.stdout)["by_people_groups"]
    assert [(g["name"], g["total_tokens"]) for g in groups] == [("ana", ana), ("bob", bob)]
    assert written.exit_code == 0, written.output
    html = page.read_text(encoding="utf-8")
    assert '<h2>By machine</h2><div class="chart" id="chart-by-machine">' in html
    assert f'"name":"{socket.gethostname()}","total_tokens":{ana + bob}' in html.replace(" ", "")
