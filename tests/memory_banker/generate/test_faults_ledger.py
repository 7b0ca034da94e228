"""An unusable ledger never blocks a run; a read-only ledger still answers the history commands.

The run warns in one line, keeps its report, and ``tokens reindex`` imports it once the ledger is
usable again."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import invoke
from tests.support.fake_provider import FakeProvider
from tests.support.generate import TEST_KEY, reports, script_bank, six_files
from tests.support.sample_project import make_sample_project
from token_tracking.history.ledger import Ledger

RESPONSES = ("--api", "responses", "--max-retries", "0")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_sample_project(tmp_path)


def _env(fake: FakeProvider, ledger: Path) -> dict[str, str | None]:
    return {
        "OPENAI_API_KEY": TEST_KEY,
        "OPENAI_BASE_URL": fake.openai_base_url,
        "TOKEN_TRACKING_DB_PATH": str(ledger),
    }


def test_a_folder_where_the_ledger_should_be_warns_once_and_the_run_goes_on(
    project: Path, fake_provider: FakeProvider, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ledger = tmp_path / "ledger.db"
    ledger.mkdir()
    script_bank(fake_provider)

    result = invoke(project, "init", *RESPONSES, env=_env(fake_provider, ledger))

    assert result.exit_code == 0, result.stderr
    assert len(six_files(project)) == 6
    [report] = reports(project)
    assert result.stderr.splitlines()[0] == (
        f"Warning: usage limit not checked (cannot open the ledger {ledger}: it is a folder; "
        "set TOKEN_TRACKING_DB_PATH to a file path); the run goes on"
    )
    # Where the report goes is said once more, by the ledger's recorder (a logged warning).
    [recorded] = [record.getMessage() for record in caplog.records]
    assert report.session_id in recorded
    assert "memory-banker tokens reindex" in recorded
    assert "Traceback" not in result.stderr

    # Once the ledger is usable again, reindex imports the kept report.
    ledger.rmdir()
    again = invoke(project, "tokens", "reindex", env={"TOKEN_TRACKING_DB_PATH": str(ledger)})
    assert again.exit_code == 0, again.stderr
    with Ledger(ledger) as opened:
        assert opened.has_session(report.session_id)


def test_the_dry_run_with_an_unusable_ledger_still_plans(
    project: Path, fake_provider: FakeProvider, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger.db"
    ledger.mkdir()
    result = invoke(project, "update", "--dry-run", env=_env(fake_provider, ledger))
    assert result.exit_code == 0, result.stderr
    assert "Dry run: no model was called" in result.stdout
    assert result.stderr.splitlines() == [
        f"Warning: usage limit not checked (cannot open the ledger {ledger}: it is a folder; "
        "set TOKEN_TRACKING_DB_PATH to a file path); the run goes on"
    ]
    assert fake_provider.requests == []


@pytest.fixture
def read_only_ledger(tmp_path: Path) -> Iterator[Path]:
    """A ledger holding one session, on a read-only file system when this process may mount
    one (root), else a read-only file in a read-only folder."""
    folder = tmp_path / "ro"
    folder.mkdir()
    mounted = os.geteuid() == 0 and os.system(f"mount -t tmpfs -o size=4m tmpfs '{folder}'") == 0
    path = folder / "ledger.db"
    with Ledger(path):
        pass
    add = invoke(
        None,
        "--project-path",
        str(tmp_path),
        "tokens",
        "add",
        "--input",
        "1000",
        "--output",
        "100",
        "--model",
        "gpt-4o-mini",
        env={"TOKEN_TRACKING_DB_PATH": str(path)},
    )
    assert add.exit_code == 0, add.stderr
    if mounted:
        assert os.system(f"mount -o remount,ro '{folder}'") == 0
    else:
        path.chmod(stat.S_IRUSR)
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        yield path
    finally:
        if mounted:
            os.system(f"umount '{folder}'")
        else:
            folder.chmod(stat.S_IRWXU)
            path.chmod(stat.S_IRUSR | stat.S_IWUSR)


def test_history_commands_on_a_read_only_ledger_work_read_only(
    read_only_ledger: Path, tmp_path: Path
) -> None:
    env = {"TOKEN_TRACKING_DB_PATH": str(read_only_ledger)}
    for command in (("sessions",), ("stats",), ("trends",), ("sessions", "--json")):
        result = invoke(tmp_path, "tokens", *command, env=env)
        assert result.exit_code == 0, (command, result.stderr)
        assert "unable to open database file" not in result.stderr
    listed = invoke(tmp_path, "tokens", "sessions", "--json", env=env)
    assert "gpt-4o-mini" in listed.stdout
