"""Atomic writes: a reader sees the old file or the new one, never half; nothing is left behind."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from token_tracking.files import atomic_write, create_exclusive


@pytest.fixture
def umask_027() -> Iterator[None]:
    previous = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """An empty folder of the test's own (tmp_path also holds the isolated home)."""
    path = tmp_path / "work"
    path.mkdir()
    return path


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_atomic_write_creates_a_file_with_the_umasks_mode(folder: Path, umask_027: None) -> None:
    target = folder / "out.csv"
    atomic_write(target, "a,b\n")
    assert target.read_text() == "a,b\n"
    assert mode(target) == 0o640
    assert list(folder.iterdir()) == [target]


def test_atomic_write_keeps_the_mode_of_the_file_it_replaces(folder: Path) -> None:
    target = folder / "notes.md"
    target.write_text("old\n")
    target.chmod(0o600)
    atomic_write(target, b"new\n")
    assert target.read_bytes() == b"new\n"
    assert mode(target) == 0o600


def test_a_failed_atomic_write_keeps_the_old_file_and_leaves_no_temp_file(folder: Path) -> None:
    target = folder / "folder"
    target.mkdir()
    (target / "inside").write_text("kept\n")
    with pytest.raises(OSError) as raised:
        atomic_write(target, "cannot replace a folder\n")
    assert raised.value.errno in (errno.EISDIR, errno.ENOTEMPTY, errno.EEXIST)
    assert sorted(p.name for p in folder.iterdir()) == ["folder"]
    assert (target / "inside").read_text() == "kept\n"


def test_create_exclusive_never_replaces_a_file(folder: Path, umask_027: None) -> None:
    first = create_exclusive(folder, "token_usage_20261205_101500", ".json", "1")
    second = create_exclusive(folder, "token_usage_20261205_101500", ".json", "2")
    third = create_exclusive(folder, "token_usage_20261205_101500", ".json", b"3")
    assert [first.name, second.name, third.name] == [
        "token_usage_20261205_101500.json",
        "token_usage_20261205_101500_2.json",
        "token_usage_20261205_101500_3.json",
    ]
    assert [p.read_text() for p in (first, second, third)] == ["1", "2", "3"]
    assert {mode(p) for p in (first, second, third)} == {0o640}
    assert len(list(folder.iterdir())) == 3


def test_create_exclusive_into_a_missing_folder_raises_and_leaves_nothing(folder: Path) -> None:
    with pytest.raises(FileNotFoundError):
        create_exclusive(folder / "missing", "report", ".json", "{}")
    assert list(folder.iterdir()) == []
