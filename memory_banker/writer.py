"""Writing the memory bank without ever damaging a good file.

- Every file is written atomically (``token_tracking.files.atomic_write``): a crash leaves the old
  file or the new one, never half of either; a replaced file keeps its mode, a new one gets
  ``0o666`` less the umask.
- ``init`` refuses (exit 2) when any of the six files exists, unless ``--force``.
- ``refresh`` first copies the current files to ``memory-bank/.history/<timestamp>/``; it never
  touches ``memory-bank/token-reports/``. A bank file that is a symlink is copied as a link, never
  its target.
- A bank file that is a symlink is never read: as an agent's input it counts as absent, with a
  warning naming it (it may point anywhere, such as ``/etc/passwd``).
- Whether a file is written at all (its agent succeeded, its output has every required section) is
  the pipeline's decision; this module only writes what it is given.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from memory_banker.errors import BankExistsError, MemoryBankerError, UsageError
from memory_banker.specs import AGENT_SPECS, BANK_DIR
from token_tracking.files import atomic_write
from token_tracking.reports.journal import journal_dir
from token_tracking.reports.listing import REPORTS_SUBDIR, reports_folder

_log = logging.getLogger(__name__)

HISTORY_DIRNAME = ".history"
"""The folder under the bank that keeps the copies ``refresh`` makes."""
REPORTS_DIRNAME = REPORTS_SUBDIR.name
"""The folder under the bank that holds the token reports."""


def bank_dir(project: Path) -> Path:
    """Return ``<project>/memory-bank``."""
    return project / BANK_DIR


def bank_files() -> tuple[str, ...]:
    """Return the six file names, in the agents' order."""
    return tuple(spec.file for spec in AGENT_SPECS)


def existing_files(project: Path, files: Iterable[str] | None = None) -> list[Path]:
    """Return the bank files of ``files`` (default: all six) that exist, in the agents' order.

    A symlink counts as existing, whatever it points at."""
    names = bank_files() if files is None else tuple(files)
    folder = bank_dir(project)
    return [
        folder / name for name in names if (folder / name).is_symlink() or (folder / name).is_file()
    ]


def check_folders(project: Path, *, history: bool = False) -> None:
    """Return quietly when ``memory-bank/`` and its reports folder (and, with ``history``, its
    ``.history/`` folder) are folders or absent.

    Raises ``UsageError`` naming the one that exists as a file (or anything else but a folder):
    nothing could be written under it, and it is the user's to move, never ours to replace.
    """
    folders = [bank_dir(project), reports_folder(project)]
    if history:
        folders.append(bank_dir(project) / HISTORY_DIRNAME)
    for folder in folders:
        if (folder.exists() or folder.is_symlink()) and not folder.is_dir():
            shown = folder.relative_to(project).as_posix()
            raise UsageError(
                f"{shown} is not a folder: move or rename it, then run again (nothing was written)"
            )


WRITE_PROBE_PREFIX = ".memory-banker-write-check-"
"""The name prefix of the empty file :func:`check_writable` creates and removes at once."""


def _probe(folder: Path) -> str | None:
    """Create and remove an empty file in ``folder`` (or, when it is missing, in the nearest
    folder above it that exists, where it would be created); the system's reason when that fails.
    """
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        fd, name = tempfile.mkstemp(dir=existing, prefix=WRITE_PROBE_PREFIX)
    except OSError as error:
        return str(error.strerror)
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(name)
    return None


def check_writable(
    project: Path, files: Iterable[str], *, history: bool = False, reports: bool = True
) -> None:
    """Return quietly when a run can write everything it will: the bank ``files`` (their folder),
    with ``history`` the ``.history/`` folder, with ``reports`` the reports and journal folders.

    Checked before the first request, so that a run that could not keep its results spends
    nothing. Raises ``MemoryBankerError`` naming the first path that cannot be written and why.
    """
    bank = bank_dir(project)
    targets: list[Path] = [bank]
    for file in files:
        if (bank / file).is_dir() and not (bank / file).is_symlink():
            raise MemoryBankerError(
                f"cannot write {BANK_DIR}/{file}: it is a folder; move or rename it, then run "
                "again (nothing was sent, nothing was written)"
            )
    if history:
        targets.append(bank / HISTORY_DIRNAME)
    if reports:
        targets += [reports_folder(project), journal_dir(reports_folder(project))]
    for folder in targets:
        reason = _probe(folder)
        if reason is not None:
            shown = folder.relative_to(project).as_posix()
            raise MemoryBankerError(
                f"cannot write {shown}/ ({reason}): the run could not keep its results, so "
                "nothing was sent and nothing was written"
            )


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True


def remove_stale_temp_files(project: Path) -> list[Path]:
    """Remove the temporary files (``.<name>.<pid>.<hex>.tmp``) that a process which is gone left
    in the bank and reports folders (killed mid-write, or its disk full); return them.

    A temporary file of a live process is kept. Files that cannot be removed are left quietly.
    """
    removed: list[Path] = []
    for folder in (bank_dir(project), reports_folder(project)):
        try:
            entries = list(folder.glob(".*.tmp"))
        except OSError:
            continue
        for path in entries:
            parts = path.name.rsplit(".", 3)
            if len(parts) != 4 or not parts[1].isdigit() or _process_alive(int(parts[1])):
                continue
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
    return removed


def check_init(project: Path, *, force: bool) -> None:
    """Return quietly when ``init`` may write the bank.

    Raises ``BankExistsError`` (exit 2) naming the files found and the commands that keep them,
    unless ``force``.
    """
    if force:
        return
    found = existing_files(project)
    if not found:
        return
    names = ", ".join(path.name for path in found)
    raise BankExistsError(
        f"{BANK_DIR}/ already has {names}: run `memory-banker update` to regenerate it "
        "(a file is replaced only when its agent succeeds), `memory-banker refresh` to keep a copy "
        f"under {BANK_DIR}/{HISTORY_DIRNAME}/ first, or `init --force` to overwrite"
    )


def read_bank_file(project: Path, file: str) -> str | None:
    """Return the text of a bank file, or ``None`` when it does not exist or is a symlink (never
    followed: a warning names it).

    Raises ``UsageError`` naming the file when it exists but cannot be read as UTF-8 text (a
    folder, unreadable, binary): it is an input of the agents that depend on it.
    """
    path = bank_dir(project) / file
    if path.is_symlink():
        _log.warning(
            "%s/%s is a symlink: not read, the agents that use it run without it",
            BANK_DIR,
            file,
        )
        return None
    try:
        # O_NOFOLLOW: a symlink put in place after the check above is refused, never followed.
        with open(path, "rb", opener=_no_follow) as handle:
            return handle.read().decode("utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        problem = "is not UTF-8 text"
    except OSError as error:
        problem = f"cannot be read ({error.strerror})"
    raise UsageError(
        f"{BANK_DIR}/{file} {problem}: fix or remove it, or regenerate it too "
        f"(add {file.removesuffix('.md')} to --agents)"
    )


def _no_follow(path: str, flags: int) -> int:
    return os.open(path, flags | getattr(os, "O_NOFOLLOW", 0))


def write_bank_file(project: Path, file: str, text: str) -> Path:
    """Write one bank file atomically (creating the bank folder) and return its path.

    A replaced file keeps its mode; a new one gets ``0o666`` less the umask. Raises ``OSError``
    when the file cannot be written; the old file, if any, is then unchanged.
    """
    path = bank_dir(project) / file
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text)
    write_gitignore(project)
    return path


GITIGNORE_TEXT = """\
# Written once by memory-banker, never overwritten: edit it freely.
# The bank files and token-reports/*.json are worth committing; these are not: the tracker's
# machine-local files, and the copies refresh makes (git keeps the old files already).
token-reports/.journal/
token-reports/.index.json
token-reports/dashboard.html
.history/
"""
"""What ``memory-bank/.gitignore`` holds when memory-banker creates it."""


def write_gitignore(project: Path) -> Path | None:
    """Create ``memory-bank/.gitignore`` (:data:`GITIGNORE_TEXT`) when there is none; return its
    path, or ``None`` when a file (or link) of that name already exists, which is never touched.

    The file appears complete or not at all. A failure to write it is logged, never raised: the
    bank is written either way.
    """
    target = bank_dir(project) / ".gitignore"
    if target.exists() or target.is_symlink():
        return None
    try:
        handle, temp = tempfile.mkstemp(dir=target.parent, prefix=".gitignore.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(GITIGNORE_TEXT)
            # A hard link fails when the name exists: a user's file written meanwhile is kept.
            os.link(temp, target)
        finally:
            os.unlink(temp)
    except FileExistsError:
        return None
    except OSError as error:
        _log.warning("could not write %s: %s", target, error)
        return None
    return target


def snapshot_history(
    project: Path, *, now: datetime | None = None, files: Sequence[str] | None = None
) -> Path | None:
    """Copy the current bank files to ``memory-bank/.history/<YYYYmmdd_HHMMSS>/`` and return it.

    Returns ``None`` when there is nothing to copy. Two refreshes in the same second get ``_2``,
    ``_3``… folders, created exclusively, so one never overwrites the other. Reports are not copied
    and ``token-reports/`` is never touched. Raises ``OSError`` when the copy fails.
    """
    found = existing_files(project, files)
    if not found:
        return None
    stamp = (now or datetime.now()).strftime("%Y%m%d_%H%M%S")
    history = bank_dir(project) / HISTORY_DIRNAME
    history.mkdir(parents=True, exist_ok=True)
    suffix = 1
    while True:
        target = history / (stamp if suffix == 1 else f"{stamp}_{suffix}")
        try:
            target.mkdir()
            break
        except FileExistsError:
            suffix += 1
    for path in found:
        # A symlink is copied as a link: its target may lie outside the project.
        shutil.copy2(path, target / path.name, follow_symlinks=False)
    return target
