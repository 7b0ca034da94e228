"""What the git post-commit hook runs first (``python -m token_tracking.imports.post_commit``).

It must return within a second, so it imports only the standard library and
:mod:`token_tracking.settings`: it asks git for the new commit, then compares the agents' log
files with the sizes the ledger recorded. When new usage is waiting (or the ledger is on a
server, or another import holds the lock), it starts ``memory-banker tokens hook run
--background`` — which imports, then attributes — and returns at once. When nothing is waiting it
attributes the commit itself, with one SQLite statement. It exits 0 whatever happens and writes
what went wrong to ``.git/memory-banker-hook.log``.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from token_tracking.settings import (
    claude_log_dirs,
    codex_log_dirs,
    db_url,
    default_db_path,
    gemini_log_dirs,
)

LOG_NAME = "memory-banker-hook.log"
"""The hook's log, in the repository's git folder."""

IMPORTED_SOURCES = ("claude-code", "codex", "gemini")
"""The ledger sources whose rows a commit is attributed (those ``tokens import`` writes)."""

US_PER_SECOND = 1_000_000

BUSY_TIMEOUT_S = 0.5
"""How long the hook waits for the ledger's write lock before handing the work off."""


class _Connection(Protocol):
    """What :func:`attribute_rows` uses of a connection (sqlite3's, or the ledger's)."""

    def execute(self, sql: str, params: Any = ...) -> Any: ...

    @property
    def in_transaction(self) -> bool: ...


def lock_path(ledger_path: Path) -> Path:
    """The lock file imports share, beside the ledger file."""
    return ledger_path.with_name(ledger_path.name + ".import.lock")


class LockBusyError(Exception):
    """Another import holds the lock (raised by :func:`held_lock` when not waiting)."""


@contextmanager
def held_lock(ledger_path: Path, *, wait: bool = True) -> Iterator[None]:
    """Hold the import lock of the ledger at ``ledger_path`` (waiting for it when ``wait``).

    Raises:
        LockBusyError: ``wait`` is false and another import holds the lock.
    """
    path = lock_path(ledger_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise LockBusyError(str(path)) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def git(root: Path, *args: str) -> str | None:
    """Run git in ``root``; its stdout, or ``None`` when it fails."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except OSError:
        return None
    return done.stdout if done.returncode == 0 else None


def commit_time_us(root: Path, revision: str) -> int | None:
    """The commit time of ``revision`` in microseconds since the epoch, or ``None``."""
    out = git(root, "log", "-1", "--format=%ct", revision, "--")
    if out is None or not out.strip().isdigit():
        return None
    return int(out.strip()) * US_PER_SECOND


def amended_commit(root: Path, sha: str) -> str | None:
    """The commit ``sha`` replaced by ``git commit --amend``, when HEAD's last move was one."""
    head = git(root, "rev-parse", "HEAD")
    if head is None or head.strip() != sha:
        return None
    subject = git(root, "reflog", "-1", "--format=%gs", "HEAD")
    if subject is None or not subject.startswith("commit (amend)"):
        return None
    previous = git(root, "rev-parse", "--verify", "--quiet", "HEAD@{1}")
    return previous.strip() if previous and previous.strip() else None


def attribute_rows(db: _Connection, project: str, root: Path, sha: str) -> int:
    """Give commit ``sha`` the imported rows of ``project`` made after its parent's commit time
    and up to its own (and the rows of the commit it amends); return how many it has now.

    Raises:
        ValueError: the commit time of ``sha`` cannot be read.
    """
    end = commit_time_us(root, sha)
    if end is None:
        raise ValueError(f"cannot read the commit time of {sha}")
    start = commit_time_us(root, f"{sha}^")
    amended = amended_commit(root, sha)
    marks = ", ".join("?" * len(IMPORTED_SOURCES))
    contexts = f"SELECT id FROM contexts WHERE project = ? AND source IN ({marks})"
    db.execute("BEGIN IMMEDIATE")
    try:
        # Two statements rather than one with OR: each uses an index (context and time; the
        # attributed commit), where the OR scans every row of the ledger.
        db.execute(
            "UPDATE usage_rows SET attributed_commit = ? WHERE attributed_commit IS NULL "
            f"AND context_id IN ({contexts}) AND ts_us > ? AND ts_us < ?",
            (
                sha,
                project,
                *IMPORTED_SOURCES,
                start if start is not None else -(2**62),
                end + US_PER_SECOND,
            ),
        )
        if amended is not None and amended != sha:
            db.execute(
                "UPDATE usage_rows SET attributed_commit = ? WHERE attributed_commit = ? "
                f"AND context_id IN ({contexts})",
                (sha, amended, project, *IMPORTED_SOURCES),
            )
        count = db.execute(
            "SELECT COUNT(*) FROM usage_rows WHERE attributed_commit = ?", (sha,)
        ).fetchone()[0]
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return int(count)


def write_log(git_dir: Path, text: str) -> None:
    """Append one line to the hook's log; a log that cannot be written is not an error."""
    try:
        with (git_dir / LOG_NAME).open("a") as handle:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
            handle.write(f"{stamp} {text}\n")
    except OSError:
        pass


def hand_off(root: Path, sha: str) -> None:
    """Start ``memory-banker tokens hook run --background`` for ``sha`` and return at once."""
    subprocess.Popen(
        [
            sys.executable,
            *("-m", "memory_banker", "tokens", "hook", "run", "--background", "--commit", sha),
        ],
        cwd=root,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _log_files(folder: Path, ancestors: set[tuple[int, int]]) -> Iterator[tuple[str, int, int]]:
    """``(path, size, mtime_ns)`` of the files ``tokens import`` would read below ``folder``."""
    try:
        with os.scandir(folder) as found:
            entries = list(found)
    except OSError:
        return
    for entry in entries:
        try:
            info = entry.stat()
            is_dir = entry.is_dir()
        except OSError:
            continue
        if is_dir:
            identity = (info.st_dev, info.st_ino)
            if identity not in ancestors:
                yield from _log_files(Path(entry.path), {*ancestors, identity})
        elif entry.name.endswith(".jsonl") or (
            entry.name.endswith(".json") and folder.name == "chats"
        ):
            yield entry.path, info.st_size, info.st_mtime_ns


def usage_waiting(ledger_path: Path) -> bool:
    """Whether a log file changed since the ledger recorded it (or was never recorded)."""
    folders = [*claude_log_dirs(), *codex_log_dirs(), *gemini_log_dirs()]
    recorded: dict[str, tuple[int, int]] | None = None
    for folder in folders:
        try:
            info = folder.stat()
        except OSError:
            continue
        if folder.is_file():
            files: Iterator[tuple[str, int, int]] = iter(
                [(str(folder), info.st_size, info.st_mtime_ns)]
            )
        else:
            files = _log_files(folder, {(info.st_dev, info.st_ino)})
        for path, size, mtime_ns in files:
            if size == 0:
                continue
            if recorded is None:
                recorded = _recorded_files(ledger_path)
            if recorded.get(path) != (size, mtime_ns):
                return True
    return False


def _recorded_files(ledger_path: Path) -> dict[str, tuple[int, int]]:
    if not ledger_path.exists():
        return {}
    db = sqlite3.connect(f"file:{ledger_path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
    try:
        return {
            str(row[0]): (int(row[1]), int(row[2]))
            for row in db.execute("SELECT path, size, mtime_ns FROM import_files")
        }
    finally:
        db.close()


def run(cwd: Path) -> None:
    """The hook's work for the repository containing ``cwd``; raises nothing it can catch."""
    out = git(cwd, "rev-parse", "--show-toplevel", "--absolute-git-dir", "HEAD")
    lines = out.split("\n") if out else []
    if len(lines) < 3 or not lines[2].strip():
        return  # not a work tree, or no commit
    root, git_dir, sha = Path(lines[0]), Path(lines[1]), lines[2].strip()
    try:
        if db_url() is not None:
            hand_off(root, sha)  # a ledger on a server: only the full command reaches it
            return
        ledger_path = default_db_path()
        try:
            waiting = usage_waiting(ledger_path)
        except sqlite3.Error:
            waiting = True  # an older ledger the full command migrates
        if waiting or not ledger_path.exists():
            # The full command imports (and creates the ledger, or says why it cannot).
            hand_off(root, sha)
            write_log(git_dir, f"{sha[:12]}: new usage waiting; importing in background")
            return
        try:
            with held_lock(ledger_path, wait=False):
                db = sqlite3.connect(ledger_path, isolation_level=None, timeout=BUSY_TIMEOUT_S)
                try:
                    # The ledger's project name: the resolved git root.
                    count = attribute_rows(db, str(root.resolve()), root, sha)
                finally:
                    db.close()
        except (LockBusyError, sqlite3.OperationalError):
            hand_off(root, sha)
            write_log(git_dir, f"{sha[:12]}: the ledger is busy; going on in background")
            return
        write_log(git_dir, f"{sha[:12]}: imported 0 requests; {count} attributed to this commit")
    except Exception as error:
        write_log(git_dir, f"error: {type(error).__name__}: {' '.join(str(error).split())}")


def main() -> int:
    """Run the hook in the current folder; always 0."""
    try:
        run(Path.cwd())
    except BaseException:  # the hook never fails a commit
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
