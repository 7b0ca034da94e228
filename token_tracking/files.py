"""Writing files so that a reader never sees half of one and nothing is lost on failure.

Every file the tool creates (reports, bank files, exports, the dashboard, indexes, summaries) is
written here. One permission rule: a new file gets ``0o666`` less the user's umask, the way
``open()`` creates files; a replaced file keeps its existing mode.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from pathlib import Path


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` atomically: a temporary file beside it, fsync, then a rename.

    Text is written as UTF-8 with ``\\n`` line endings kept as given. The file gets the old file's
    permissions, or a new file's usual ones. Raises ``OSError`` when it cannot be written; the old
    file, if any, is then unchanged and no temporary file is left behind.
    """
    _replace_with(path, data, sync=True)


def write_cache_file(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` the way :func:`atomic_write` does, without the fsync: for a
    cache, where a reader never sees half a file but a file lost in a crash is only recomputed.
    Raises ``OSError`` when it cannot be written."""
    _replace_with(path, data, sync=False)


def _replace_with(path: Path, data: str | bytes, *, sync: bool) -> None:
    """Write ``data`` to a temporary file beside ``path`` (fsynced when ``sync``), then rename it
    over ``path``; the temporary file is removed when the rename fails."""
    temp = _write_temp(path.parent, path.name, data, _mode_for(path), sync=sync)
    try:
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise


def create_exclusive(folder: Path, stem: str, suffix: str, data: str | bytes) -> Path:
    """Write ``data`` to a new file ``folder/<stem><suffix>`` and return its path.

    An existing file is never replaced: when the name is taken, ``<stem>_2<suffix>``,
    ``<stem>_3<suffix>``… are tried in turn. The file appears complete or not at all (a temporary
    file, then a hard link, or an exclusive create and a rename where the file system has no hard
    links). Raises ``OSError`` when the folder cannot be written; no temporary file is left.
    """
    temp = _write_temp(folder, stem + suffix, data, 0o666 & ~current_umask())
    try:
        number = 1
        while True:
            target = folder / (f"{stem}{suffix}" if number == 1 else f"{stem}_{number}{suffix}")
            if _claim(temp, target):
                return target
            number += 1
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def append_text(path: Path, text: str) -> None:
    """Append ``text`` (UTF-8) to the file at ``path``, creating it when missing; what the file
    held is kept. When it held something that does not end in a blank line, a line break (or
    two) comes first, so the appended text starts a paragraph of its own. Raises ``OSError``
    when the file cannot be written."""
    with path.open("a+b") as file:
        size = file.seek(0, os.SEEK_END)
        if size:
            file.seek(max(0, size - 2))
            tail = file.read()
            if not tail.endswith(b"\n\n"):
                text = ("\n" if tail.endswith(b"\n") else "\n\n") + text
        file.write(text.encode("utf-8"))


def current_umask() -> int:
    """Return the process umask (reading it means setting it: 0o022 stands in for that instant)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def _mode_for(path: Path) -> int:
    """The permissions ``path`` should get: its current ones, else ``0o666`` less the umask."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return 0o666 & ~current_umask()


def _write_temp(
    folder: Path, name: str, data: str | bytes, mode: int, *, sync: bool = True
) -> Path:
    """Write ``data`` to a new hidden temporary file in ``folder`` with ``mode`` (flushed to disk
    unless ``sync`` is False); return it."""
    temp = folder / f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        # os.open applies the umask to the mode it is given; fchmod sets exactly the mode wanted.
        os.fchmod(fd, mode)
        view = memoryview(payload)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        if sync:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    os.close(fd)
    return temp


def _claim(temp: Path, target: Path) -> bool:
    """Give ``temp``'s content the name ``target`` if nobody holds it; False when it is taken."""
    try:
        # A hard link is atomic and fails when the name exists: exclusive and complete at once.
        os.link(temp, target)
        return True
    except FileExistsError:
        return False
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
    # No hard links on this file system: reserve the name exclusively, then replace atomically.
    try:
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return False
    os.replace(temp, target)
    return True
