"""Before the first request, every path a run will write is checked: a run that could not keep
its results refuses in one line, exit 2, having sent nothing."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from memory_banker.writer import WRITE_PROBE_PREFIX
from tests.support.cli import invoke
from tests.support.fake_provider import FakeProvider
from tests.support.generate import TEST_KEY, script_bank
from tests.support.sample_project import make_sample_project

RESPONSES = ("--api", "responses", "--max-retries", "0")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_sample_project(tmp_path)


def _env(fake: FakeProvider) -> dict[str, str | None]:
    return {"OPENAI_API_KEY": TEST_KEY, "OPENAI_BASE_URL": fake.openai_base_url}


def _mount(folder: Path) -> bool:
    return os.geteuid() == 0 and os.system(f"mount -t tmpfs -o size=1m tmpfs '{folder}'") == 0


@pytest.fixture
def read_only_bank(project: Path) -> Iterator[Path]:
    """``memory-bank/`` read-only, ``memory-bank/token-reports/`` writable: two file systems when
    this process may mount them (root), else permissions."""
    bank = project / "memory-bank"
    reports = bank / "token-reports"
    bank.mkdir()
    if _mount(bank):
        reports.mkdir()
        assert _mount(reports)
        assert os.system(f"mount -o remount,ro '{bank}'") == 0
        try:
            yield bank
        finally:
            os.system(f"umount '{reports}'")
            os.system(f"umount '{bank}'")
        return
    if os.geteuid() == 0:
        pytest.skip("root without mount: permissions cannot make a folder read-only")
    reports.mkdir()
    bank.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        yield bank
    finally:
        bank.chmod(stat.S_IRWXU)


def _refused(result_stderr: str, stdout: str, exit_code: int, message: str) -> None:
    assert (exit_code, result_stderr, stdout) == (2, f"Error: {message}\n", "")


def test_a_read_only_bank_refuses_before_any_request(
    project: Path, read_only_bank: Path, fake_provider: FakeProvider
) -> None:
    script_bank(fake_provider)
    result = invoke(project, "init", *RESPONSES, env=_env(fake_provider))
    _refused(
        result.stderr,
        result.stdout,
        result.exit_code,
        "cannot write memory-bank/ (Read-only file system): the run could not keep its "
        "results, so nothing was sent and nothing was written"
        if os.geteuid() == 0
        else "cannot write memory-bank/ (Permission denied): the run could not keep its "
        "results, so nothing was sent and nothing was written",
    )
    assert fake_provider.requests == []
    assert sorted(path.name for path in read_only_bank.iterdir()) == ["token-reports"]
    assert list((read_only_bank / "token-reports").iterdir()) == []


def test_a_file_where_the_journal_folder_should_be_refuses_before_any_request(
    project: Path, fake_provider: FakeProvider
) -> None:
    reports = project / "memory-bank" / "token-reports"
    reports.mkdir(parents=True)
    (reports / ".journal").write_text("not a folder\n", encoding="utf-8")
    script_bank(fake_provider)

    result = invoke(project, "update", *RESPONSES, env=_env(fake_provider))

    _refused(
        result.stderr,
        result.stdout,
        result.exit_code,
        "cannot write memory-bank/token-reports/.journal/ (Not a directory): the run could not "
        "keep its results, so nothing was sent and nothing was written",
    )
    assert fake_provider.requests == []
    assert sorted(path.name for path in reports.iterdir()) == [".journal"]
    assert not any(path.name.startswith(WRITE_PROBE_PREFIX) for path in project.rglob("*"))


def test_a_folder_where_a_bank_file_should_be_refuses_before_any_request(
    project: Path, fake_provider: FakeProvider
) -> None:
    (project / "memory-bank" / "progress.md").mkdir(parents=True)
    script_bank(fake_provider)
    result = invoke(project, "update", *RESPONSES, env=_env(fake_provider))
    _refused(
        result.stderr,
        result.stdout,
        result.exit_code,
        "cannot write memory-bank/progress.md: it is a folder; move or rename it, then run "
        "again (nothing was sent, nothing was written)",
    )
    assert fake_provider.requests == []


def test_the_write_check_leaves_nothing_behind(project: Path) -> None:
    result = invoke(project, "update", "--offline", "--quiet")
    assert result.exit_code == 0, result.stderr
    assert not any(path.name.startswith(WRITE_PROBE_PREFIX) for path in project.rglob("*"))
