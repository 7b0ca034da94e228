"""The git post-commit hook: import new coding-agent usage and attribute it to the new commit.

``install`` writes ``post-commit`` in the repository's hooks folder (``core.hooksPath`` when set);
a hook already there is kept as ``post-commit.before-memory-banker`` and run first. The hook runs
:mod:`token_tracking.imports.post_commit`, which starts in a fraction of a second, attributes the
commit itself when no new usage is waiting, and otherwise hands the work to
``memory-banker tokens hook run --background`` and returns at once. Neither ever fails a commit:
each exits 0 whatever happens and writes what went wrong to ``.git/memory-banker-hook.log``.

Attribution: the imported rows (sources ``claude-code``, ``codex``, ``gemini``) of this project
whose time falls after the parent commit's commit time and up to the new commit's get the new
commit in ``usage_rows.attributed_commit``; rows another commit already has are left alone. An
amended commit passes its rows to the commit that replaces it.
"""

from __future__ import annotations

import shlex
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

from pricing import PriceBook
from token_tracking import display
from token_tracking.errors import ImportLockedError, LogImportError
from token_tracking.git import run_git
from token_tracking.history.ledger import Ledger, project_key
from token_tracking.imports.discover import default_folders, log_files
from token_tracking.imports.model import Problems
from token_tracking.imports.post_commit import LOG_NAME, attribute_rows, hand_off, write_log
from token_tracking.imports.run import import_lock, import_logs, ledger_lock_path
from token_tracking.imports.store import file_record
from token_tracking.records import DeferredModel

HOOK_NAME = "post-commit"
CHAINED_NAME = "post-commit.before-memory-banker"
"""Where a post-commit hook that was there before is kept (and run first)."""
MARKER = "# memory-banker post-commit hook"
"""The line that identifies the hook this module writes."""

HANDOFF_BYTES = 2 * 1024 * 1024
"""Unread log bytes above which the hook imports in a background process (a few thousand
lines: what reads in well under a second)."""


class HookStatus(DeferredModel):
    """Where the hook is and whether it is installed (the model of ``tokens hook status``)."""

    repository: str
    """The repository's top folder."""
    hook_path: str
    """The ``post-commit`` file (in ``core.hooksPath`` when set)."""
    installed: bool
    """True when that file is memory-banker's hook."""
    chained: str | None = None
    """The earlier hook it runs first, when there was one."""
    log_path: str
    """Where the hook writes what went wrong."""
    log_tail: list[str] = Field(default_factory=list)
    """The last lines of the log."""


@dataclass(frozen=True)
class _Repository:
    root: Path
    git_dir: Path
    hooks: Path


def _repository(path: Path) -> _Repository:
    top = run_git(path, "rev-parse", "--show-toplevel")
    if top is None or not top.strip():
        raise LogImportError(f"{path} is not inside a git work tree: run this in a repository")
    root = Path(top.strip())
    git_dir = run_git(root, "rev-parse", "--absolute-git-dir")
    hooks = run_git(root, "rev-parse", "--git-path", "hooks")
    if git_dir is None or hooks is None:
        raise LogImportError(f"cannot read the git folder of {root}")
    return _Repository(root, Path(git_dir.strip()), root / hooks.strip())


def hook_script(python: str) -> str:
    """The text of the post-commit hook, running memory-banker with the ``python`` given."""
    return f"""#!/bin/sh
{MARKER}: imports coding-agent usage and attributes it to the new
# commit. Written by `memory-banker tokens hook install`; `tokens hook uninstall` removes it.
hook_dir=$(dirname "$0")
if [ -x "$hook_dir/{CHAINED_NAME}" ]; then
    "$hook_dir/{CHAINED_NAME}" "$@"
fi
{shlex.quote(python)} -m token_tracking.imports.post_commit </dev/null >/dev/null 2>&1
exit 0
"""


def _is_ours(path: Path) -> bool:
    try:
        return MARKER in path.read_text(errors="replace")
    except OSError:
        return False


def hook_status(path: Path) -> HookStatus:
    """Return where the hook of the repository containing ``path`` is, and whether it is there.

    Raises:
        LogImportError: ``path`` is not in a git work tree.
    """
    repo = _repository(path)
    hook = repo.hooks / HOOK_NAME
    chained = repo.hooks / CHAINED_NAME
    log = repo.git_dir / LOG_NAME
    try:
        tail = log.read_text(errors="replace").splitlines()[-5:]
    except OSError:
        tail = []
    return HookStatus(
        repository=str(repo.root),
        hook_path=str(hook),
        installed=_is_ours(hook),
        chained=str(chained) if chained.exists() else None,
        log_path=str(log),
        log_tail=tail,
    )


def install_hook(path: Path, *, python: str | None = None) -> HookStatus:
    """Install the post-commit hook in the repository containing ``path``; idempotent.

    A different hook already there is kept and run first.

    Raises:
        LogImportError: not a git work tree, or the hooks folder cannot be written.
    """
    repo = _repository(path)
    hook = repo.hooks / HOOK_NAME
    chained = repo.hooks / CHAINED_NAME
    try:
        repo.hooks.mkdir(parents=True, exist_ok=True)
        if (hook.exists() or hook.is_symlink()) and not _is_ours(hook):
            if chained.exists():
                raise LogImportError(
                    f"both {hook} and {chained} exist: merge them by hand, then install again"
                )
            hook.rename(chained)
        hook.write_text(hook_script(python or sys.executable))
        hook.chmod(hook.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    except OSError as error:
        raise LogImportError(f"cannot write {hook}: {error.strerror or error}") from error
    return hook_status(path)


def uninstall_hook(path: Path) -> HookStatus:
    """Remove the hook (putting back the one it chained); a hook that is not ours stays.

    Raises:
        LogImportError: not a git work tree, or the hook cannot be removed.
    """
    repo = _repository(path)
    hook = repo.hooks / HOOK_NAME
    chained = repo.hooks / CHAINED_NAME
    try:
        if _is_ours(hook):
            hook.unlink()
            if chained.exists():
                chained.rename(hook)
    except OSError as error:
        raise LogImportError(f"cannot remove {hook}: {error.strerror or error}") from error
    return hook_status(path)


# --------------------------------------------------------------------------------------------------
# Running


def attribute(ledger: Ledger, root: Path, commit: str) -> int:
    """Attribute this project's imported rows between the parent commit's time and ``commit``'s
    to ``commit`` (taking over the rows of the commit it amends); return how many it has now.

    Raises:
        LogImportError: ``commit`` is not a commit of the repository.
    """
    sha = run_git(root, "rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}")
    if sha is None or not sha.strip():
        raise LogImportError(f"{commit} is not a commit of {root}")
    sha = sha.strip()
    try:
        return attribute_rows(ledger.connection, project_key(root), root, sha)
    except ValueError as error:
        raise LogImportError(str(error)) from error


def pending_bytes(ledger: Ledger) -> int:
    """How many bytes of the agents' logs the next import would read (an upper bound)."""
    problems = Problems()
    waiting = 0
    for path in log_files(default_folders("all"), problems):
        try:
            size = path.stat().st_size
        except OSError:
            continue
        record = file_record(ledger, path)
        waiting += size - record.offset if record is not None and record.offset <= size else size
        if waiting > HANDOFF_BYTES:
            break
    return waiting


def run_hook(
    path: Path,
    load_pricebook: Callable[[], PriceBook],
    *,
    commit: str = "HEAD",
    background: bool = False,
) -> None:
    """Run the post-commit hook's work for the repository containing ``path``; never raises.

    Imports the agents' new usage and attributes it to ``commit``. In the foreground, a large
    backlog or a busy import lock sends the work to a background process instead. Anything
    that goes wrong is written to the hook's log.
    """
    try:
        repo = _repository(path)
    except LogImportError:
        return
    try:
        sha = run_git(repo.root, "rev-parse", "--verify", "--quiet", commit)
        if sha is None or not sha.strip():
            write_log(repo.git_dir, f"error: {commit} is not a commit")
            return
        sha = sha.strip()
        with Ledger() as ledger:
            if not background and pending_bytes(ledger) > HANDOFF_BYTES:
                hand_off(repo.root, sha)
                write_log(
                    repo.git_dir, f"{sha[:12]}: many log lines waiting; importing in background"
                )
                return
            pricebook = load_pricebook()
            try:
                with import_lock(ledger_lock_path(ledger), wait=background):
                    result = import_logs(ledger, "all", pricebook)
                    count = attribute(ledger, repo.root, sha)
            except ImportLockedError:
                hand_off(repo.root, sha)
                write_log(
                    repo.git_dir,
                    f"{sha[:12]}: another import is running; going on in background",
                )
                return
        for warning in result.warnings:
            write_log(repo.git_dir, f"warning: {warning}")
        write_log(
            repo.git_dir,
            f"{sha[:12]}: imported {display.plural(result.summary.requests, 'request')}; "
            f"{count} attributed to this commit",
        )
    except Exception as error:
        write_log(repo.git_dir, f"error: {type(error).__name__}: {' '.join(str(error).split())}")


__all__ = [
    "HookStatus",
    "attribute",
    "hook_status",
    "install_hook",
    "run_hook",
    "uninstall_hook",
]
