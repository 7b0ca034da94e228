"""Writing the memory bank without ever damaging a good file.

- Every file is written atomically (``token_tracking.files.atomic_write``): a crash leaves the old
  file or the new one, never half of either; a replaced file keeps its mode, a new one gets
  ``0o666`` less the umask.
- ``init`` refuses (exit 2) when any of the six files exists, unless ``--force``.
- ``refresh`` first copies the current files to ``memory-bank/.history/<timestamp>/``; it never
  touches ``memory-bank/token-reports/``.
- Whether a file is written at all (its agent succeeded, its output has every required section) is
  the pipeline's decision; this module only writes what it is given.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from memory_banker.errors import BankExistsError, UsageError
from memory_banker.specs import AGENT_SPECS, BANK_DIR
from token_tracking.files import atomic_write
from token_tracking.reports.listing import REPORTS_SUBDIR, reports_folder

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
    """Return the bank files of ``files`` (default: all six) that exist, in the agents' order."""
    names = bank_files() if files is None else tuple(files)
    folder = bank_dir(project)
    return [folder / name for name in names if (folder / name).is_file()]


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
    """Return the text of a bank file, or ``None`` when it does not exist.

    Raises ``UsageError`` naming the file when it exists but cannot be read as UTF-8 text (a
    folder, unreadable, binary): it is an input of the agents that depend on it.
    """
    path = bank_dir(project) / file
    try:
        return path.read_text(encoding="utf-8")
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


def write_bank_file(project: Path, file: str, text: str) -> Path:
    """Write one bank file atomically (creating the bank folder) and return its path.

    A replaced file keeps its mode; a new one gets ``0o666`` less the umask. Raises ``OSError``
    when the file cannot be written; the old file, if any, is then unchanged.
    """
    path = bank_dir(project) / file
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text)
    return path


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
        shutil.copy2(path, target / path.name)
    return target
