"""Every README command, run as a new user would on an 80-column terminal: no traceback, and no
table cuts a model name (Rich marks a cut cell with an ellipsis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.cli import invoke
from tests.support.fake_provider import FakeProvider
from tests.support.ledger_factory import AgentSpec, make_session
from tests.support.reports import agent, make_report

# The scratch folder (a project with a bank, two reports, a ledger) and the fake provider of the
# documented-commands test: the same world the README's commands run in there.
from tests.test_docs_commands import (  # noqa: F401
    COMMANDS,
    LOCAL_SERVER,
    TEAM_LEDGER,
    TRACEBACK,
    DocCommand,
    chart_cache,
    fake,
    scratch,
    scratch_template,
)
from token_tracking.history.ledger import Ledger
from token_tracking.reports.file import save_report
from token_tracking.reports.listing import reports_folder

README = [command for command in COMMANDS if command.page == "README.md"]
LONG_MODEL = "anthropic/claude-3-5-sonnet-20241022"
"""A model name longer than an 80-column table would give it, in an old report and the ledger."""


@pytest.fixture
def long_model(scratch: Path) -> None:  # noqa: F811
    """Add an old report and an old ledger session of :data:`LONG_MODEL` to the scratch copy: the
    latest report stays the scratch world's, so every command exits as the README says."""
    project = scratch / "project"
    end = datetime.now(UTC) - timedelta(days=3)
    usage = agent("projectbrief", 1200, 300, cost=0.0123, model=LONG_MODEL)
    report = make_report(
        "long-model-session",
        end=end,
        agents=[usage],
        model=LONG_MODEL,
        project_path=str(project),
    )
    save_report(report, reports_folder(project))
    session, requests = make_session(
        project, end, [AgentSpec("projectbrief", 1200, 300, 0.0123, model=LONG_MODEL)]
    )
    with Ledger() as ledger:
        ledger.insert_report(session, requests)


def test_the_readme_shows_commands() -> None:
    assert len(README) >= 10


@pytest.mark.parametrize("command", README, ids=[command.id for command in README])
def test_the_readme_command_at_80_columns(
    command: DocCommand,
    scratch: Path,  # noqa: F811
    fake: FakeProvider,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    long_model: None,
) -> None:
    team = ""
    if TEAM_LEDGER in command.text:
        team = request.getfixturevalue("postgres_server").create_database()
    for name, value in command.env:
        monkeypatch.setenv(name, value.replace(TEAM_LEDGER, team))
    args = [
        arg.replace(LOCAL_SERVER, fake.base_url).replace(TEAM_LEDGER, team) for arg in command.args
    ]

    result = invoke(None, *args, env={"COLUMNS": "80"})

    output = result.stdout + result.stderr
    assert TRACEBACK not in output, output
    assert result.exit_code == command.exit_code, output[-3000:]
    assert "…" not in result.stdout, result.stdout
    if LONG_MODEL[:20] in result.stdout:
        assert LONG_MODEL in result.stdout.replace("\n", ""), result.stdout


def test_the_listing_at_80_columns_shows_the_long_model_whole(
    scratch: Path,  # noqa: F811
    long_model: None,
) -> None:
    for args in (
        ("tokens", "--list-all"),
        ("tokens", "sessions"),
        ("tokens", "trends", "--by", "model", "--days", "0"),
    ):
        result = invoke(None, *args, env={"COLUMNS": "80"})
        assert result.exit_code == 0, result.output
        assert LONG_MODEL in result.stdout, result.stdout
        assert all(len(line) <= 80 for line in result.stdout.splitlines()), result.stdout
