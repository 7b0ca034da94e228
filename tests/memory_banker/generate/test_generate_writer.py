"""Writing the bank: atomic files, the init refusal, the refresh history copy."""

from __future__ import annotations

import os
import stat
from datetime import datetime
from pathlib import Path

import pytest

from memory_banker import writer
from memory_banker.errors import BankExistsError
from token_tracking.reports.listing import reports_folder

SIX_FILES = (
    "projectbrief.md",
    "productContext.md",
    "systemPatterns.md",
    "techContext.md",
    "activeContext.md",
    "progress.md",
)


def test_bank_files_are_the_six_in_agent_order() -> None:
    assert writer.bank_files() == SIX_FILES


def test_write_bank_file_replaces_the_file_and_leaves_no_temp_file(tmp_path: Path) -> None:
    path = writer.write_bank_file(tmp_path, "progress.md", "first\n")
    writer.write_bank_file(tmp_path, "progress.md", "second\n")
    assert path == tmp_path / "memory-bank" / "progress.md"
    assert path.read_text(encoding="utf-8") == "second\n"
    assert sorted(os.listdir(path.parent)) == [".gitignore", "progress.md"]


def test_write_bank_file_failure_keeps_the_old_file(tmp_path: Path) -> None:
    path = writer.write_bank_file(tmp_path, "progress.md", "good\n")
    with pytest.raises(UnicodeEncodeError):
        writer.write_bank_file(tmp_path, "progress.md", "bad \udc80 surrogate\n")
    assert path.read_text(encoding="utf-8") == "good\n"
    assert sorted(os.listdir(path.parent)) == [".gitignore", "progress.md"]


def test_check_init_refuses_an_existing_bank_unless_forced(tmp_path: Path) -> None:
    writer.check_init(tmp_path, force=False)
    writer.write_bank_file(tmp_path, "techContext.md", "x\n")
    with pytest.raises(BankExistsError) as caught:
        writer.check_init(tmp_path, force=False)
    message = str(caught.value)
    assert "techContext.md" in message
    assert "memory-banker update" in message
    assert "memory-banker refresh" in message
    writer.check_init(tmp_path, force=True)


def test_snapshot_history_copies_the_bank_files_only(tmp_path: Path) -> None:
    writer.write_bank_file(tmp_path, "projectbrief.md", "brief\n")
    writer.write_bank_file(tmp_path, "progress.md", "progress\n")
    report = reports_folder(tmp_path) / "token_usage_20260101_000000.json"
    report.parent.mkdir(parents=True)
    report.write_text("{}", encoding="utf-8")
    now = datetime(2026, 11, 23, 16, 30, 5)

    first = writer.snapshot_history(tmp_path, now=now)
    second = writer.snapshot_history(tmp_path, now=now)

    history = tmp_path / "memory-bank" / ".history"
    assert first == history / "20261123_163005"
    assert second == history / "20261123_163005_2"
    assert first is not None
    assert sorted(os.listdir(first)) == ["progress.md", "projectbrief.md"]
    assert (first / "projectbrief.md").read_text(encoding="utf-8") == "brief\n"
    assert report.read_text(encoding="utf-8") == "{}"


def test_snapshot_history_of_an_empty_bank_is_none(tmp_path: Path) -> None:
    assert writer.snapshot_history(tmp_path) is None
    assert not (tmp_path / "memory-bank").exists()


def test_read_bank_file_returns_none_when_missing(tmp_path: Path) -> None:
    assert writer.read_bank_file(tmp_path, "progress.md") is None
    writer.write_bank_file(tmp_path, "progress.md", "p\n")
    assert writer.read_bank_file(tmp_path, "progress.md") == "p\n"


def test_write_bank_file_gives_a_new_file_the_umask_mode_and_keeps_an_old_files_mode(
    tmp_path: Path,
) -> None:
    # A temporary file is created 0o600: a bank file must not end up unreadable to the group.
    umask = os.umask(0o022)
    try:
        fresh = writer.write_bank_file(tmp_path, "projectbrief.md", "new\n")
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
        kept = tmp_path / "memory-bank" / "progress.md"
        kept.write_text("old\n", encoding="utf-8")
        kept.chmod(0o640)
        writer.write_bank_file(tmp_path, "progress.md", "replaced\n")
        assert stat.S_IMODE(kept.stat().st_mode) == 0o640
    finally:
        os.umask(umask)
