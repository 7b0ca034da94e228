"""Writing the memory bank without ever damaging a good file.

- Every file is written atomically: a temporary file in the same folder, flushed and synced, then
  ``os.replace`` — a crash leaves the old file or the new one, never half of either.
- ``init`` refuses (exit 2) when any of the six files exists, unless ``--force``.
- ``refresh`` first copies the current files to ``memory-bank/.history/<timestamp>/``; it never
  touches ``memory-bank/token-reports/``.
- Whether a file is written at all (its agent succeeded, its output has every required section) is
  the pipeline's decision; this module only writes what it is given.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from memory_banker.errors import UsageError
from memory_banker.specs import AGENT_SPECS, BANK_DIR

BANK_DIRNAME = BANK_DIR
"""The folder under the project that holds the bank."""
HISTORY_DIRNAME = ".history"
"""The folder under the bank that keeps the copies ``refresh`` makes."""
REPORTS_DIRNAME = "token-reports"
"""The folder under the bank that holds the token reports."""


class BankExistsError(UsageError):
    """``init`` found memory-bank files and ``--force`` was not given."""


def bank_dir(project: Path) -> Path:
    """Return ``<project>/memory-bank``."""
    return project / BANK_DIRNAME


def reports_dir(project: Path) -> Path:
    """Return ``<project>/memory-bank/token-reports``."""
    return bank_dir(project) / REPORTS_DIRNAME


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
    folders = [bank_dir(project), reports_dir(project)]
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
        f"{BANK_DIRNAME}/ already has {names}: run `memory-banker update` to regenerate it "
        "(a file is replaced only when its agent succeeds), `memory-banker refresh` to keep a copy "
        f"under {BANK_DIRNAME}/{HISTORY_DIRNAME}/ first, or `init --force` to overwrite"
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
        f"{BANK_DIRNAME}/{file} {problem}: fix or remove it, or regenerate it too "
        f"(add {file.removesuffix('.md')} to --agents)"
    )


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temp file in the same folder, fsync, ``os.replace``).

    The file gets the old file's permissions, or a new file's usual ones (``0o666`` less the
    umask). Creates the parent folder. Raises ``OSError`` when the file cannot be written; the old
    file, if any, is then left as it was.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _mode_for(path)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp creates the file 0o600; a bank file is a file like any other in the repository.
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def _mode_for(path: Path) -> int:
    """The permissions ``path`` should get: its current ones, else ``0o666`` less the umask."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return 0o666 & ~_umask()


def _umask() -> int:
    """The process umask (reading it means setting it: 0o022 stands in for that instant)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def write_bank_file(project: Path, file: str, text: str) -> Path:
    """Write one bank file atomically and return its path. Raises ``OSError`` on failure."""
    path = bank_dir(project) / file
    write_atomic(path, text)
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
