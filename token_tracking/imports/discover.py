"""Which files an import reads: the agents' default folders, a safe walk, and format recognition.

The walk follows symbolic links (agent folders are often linked from a dotfiles repository) but
never enters a folder twice: a link back to a folder being walked is a loop, skipped with one
warning, as is a folder that cannot be read.
"""

from __future__ import annotations

import errno
import itertools
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from token_tracking.imports.claude_code import is_claude_line
from token_tracking.imports.codex import is_codex_line
from token_tracking.imports.gemini import is_gemini_chat
from token_tracking.imports.lines import read_lines
from token_tracking.imports.model import (
    MAX_LINE_BYTES,
    SYMLINK_LOOP,
    UNREADABLE,
    Problems,
)
from token_tracking.settings import claude_log_dirs, codex_log_dirs, gemini_log_dirs

SNIFF_LINES = 20
"""How many of a JSONL file's first lines are looked at to tell its format."""


def default_folders(source: str) -> list[Path]:
    """Return the folders ``tokens import SOURCE`` reads when no ``--path`` is given."""
    if source == "claude-code":
        return claude_log_dirs()
    if source == "codex":
        return codex_log_dirs()
    if source == "gemini":
        return gemini_log_dirs()
    return [*claude_log_dirs(), *codex_log_dirs(), *gemini_log_dirs()]


def log_files(folders: Sequence[Path], problems: Problems) -> Iterator[Path]:
    """Yield every ``*.jsonl`` file and every ``*.json`` file of a ``chats`` folder below
    ``folders`` (or a file given instead of a folder), each once, in a stable order.

    Missing folders are skipped silently; unreadable ones and symlink loops with one warning each.
    """
    seen_files: set[tuple[int, int]] = set()
    for folder in folders:
        try:
            info = folder.stat()
        except FileNotFoundError:
            continue
        except OSError as error:
            _problem(folder, error, problems)
            continue
        if not folder.is_dir():
            if folder.suffix in (".jsonl", ".json"):
                seen_files.add((info.st_dev, info.st_ino))
                yield folder
            continue
        yield from _walk(folder, [(info.st_dev, info.st_ino)], seen_files, problems)


def _problem(path: Path, error: OSError, problems: Problems) -> None:
    if error.errno == errno.ELOOP:
        problems.skip(SYMLINK_LOOP, f"skipped {path}: symbolic link loop")
    else:
        problems.skip(UNREADABLE, f"skipped {path}: {error.strerror or error}")


def _walk(
    folder: Path,
    ancestors: list[tuple[int, int]],
    seen_files: set[tuple[int, int]],
    problems: Problems,
) -> Iterator[Path]:
    try:
        with os.scandir(folder) as found:
            entries = sorted(found, key=lambda entry: entry.name)
    except OSError as error:
        _problem(folder, error, problems)
        return
    for entry in entries:
        path = Path(entry.path)
        try:
            is_dir = entry.is_dir()
            info = entry.stat()
        except OSError as error:
            _problem(path, error, problems)
            continue
        identity = (info.st_dev, info.st_ino)
        if is_dir:
            if identity in ancestors:
                problems.skip(SYMLINK_LOOP, f"skipped {path}: symbolic link loop")
                continue
            yield from _walk(path, [*ancestors, identity], seen_files, problems)
        elif _candidate(entry.name, folder) and identity not in seen_files:
            seen_files.add(identity)
            yield path


def _candidate(name: str, folder: Path) -> bool:
    """A JSONL log anywhere; a JSON file only in a ``chats`` folder (Gemini CLI keeps other
    JSON files, such as its prompt log, beside its chats)."""
    return name.endswith(".jsonl") or (name.endswith(".json") and folder.name == "chats")


def recognise(path: Path) -> str | None:
    """Return the format of a log file (``claude-code``, ``codex`` or ``gemini``), or ``None``
    when its first lines are not any agent's (or it is empty).

    Raises:
        OSError: the file cannot be read.
    """
    with path.open("rb") as handle:
        head = handle.read(64 * 1024)
        if path.suffix == ".json":
            if head.lstrip()[:1] != b"{":
                return None
            handle.seek(0)
            if os.fstat(handle.fileno()).st_size > 50 * MAX_LINE_BYTES:
                return None
            try:
                document = json.load(handle)
            except ValueError:
                return None
            return "gemini" if is_gemini_chat(document) else None
        for _, _, data, _ in itertools.islice(read_lines(handle, 0, 0), SNIFF_LINES):
            if data is None:
                continue
            try:
                obj = json.loads(data)
            except (ValueError, RecursionError):
                continue
            if not isinstance(obj, dict):
                continue
            if is_codex_line(obj):
                return "codex"
            if is_claude_line(obj):
                return "claude-code"
    return None
