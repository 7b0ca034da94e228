"""Every file the tool creates gets its permissions from the user's umask; a bank file it
replaces keeps the mode it had."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import invoke
from tests.support.sample_project import make_sample_project


@pytest.fixture
def umask_027() -> Iterator[None]:
    previous = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_bank_files_report_export_and_dashboard_all_follow_the_umask(
    tmp_path: Path, umask_027: None
) -> None:
    project = make_sample_project(tmp_path)
    assert invoke(project, "init", "--offline").exit_code == 0
    export = tmp_path / "usage.csv"
    assert invoke(project, "tokens", "export", "--output", str(export)).exit_code == 0
    page = tmp_path / "dashboard.html"
    assert invoke(project, "tokens", "dashboard", "--output", str(page)).exit_code == 0

    bank = project / "memory-bank"
    reports = sorted((bank / "token-reports").glob("token_usage_*.json"))
    created = [*sorted(bank.glob("*.md")), *reports, export, page]
    assert len(created) == 6 + 1 + 2
    assert {path.name: mode(path) for path in created} == {path.name: 0o640 for path in created}


def test_a_regenerated_bank_file_keeps_its_mode(tmp_path: Path, umask_027: None) -> None:
    project = make_sample_project(tmp_path)
    assert invoke(project, "init", "--offline").exit_code == 0
    brief = project / "memory-bank" / "projectbrief.md"
    brief.chmod(0o600)
    before = brief.read_text()
    brief.write_text(before + "\nA line the next update replaces.\n")

    assert invoke(project, "update", "--offline").exit_code == 0

    assert "A line the next update replaces." not in brief.read_text()
    assert mode(brief) == 0o600
