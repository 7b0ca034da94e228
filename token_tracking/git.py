"""Where a project stands in git, read with the ``git`` executable (no library dependency).

Every function here degrades to "unknown" (``None``) outside a repository or without git: a report
must still be written for a project that is not under version control.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from token_tracking.records import GitInfo

_GIT_TIMEOUT_SECONDS = 10.0


def _git(path: Path, *args: str) -> str | None:
    """Run ``git -C path args`` and return its stdout, or None when git fails or is missing."""
    env = {
        **os.environ,
        # Never wait for a credential prompt or a pager; parse stable, untranslated output.
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_PAGER": "cat",
        "LC_ALL": "C",
    }
    try:
        completed = subprocess.run(
            ["git", "-C", str(path), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=_GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if completed.returncode != 0:
        return None
    return completed.stdout


def strip_credentials(url: str) -> str:
    """Return ``url`` without user name and password, so a token in a remote URL is never stored.

    ``https://user:ghp_x@github.com/o/r.git`` becomes ``https://github.com/o/r.git``; scp-style
    SSH remotes (``git@github.com:o/r.git``) carry no secret and are returned unchanged.
    """
    parts = urlsplit(url)
    if not parts.scheme or parts.netloc == "" or "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def project_root(path: Path) -> Path:
    """Return the resolved git top-level directory containing ``path``, else ``path`` resolved."""
    resolved = path.resolve()
    top = _git(resolved, "rev-parse", "--show-toplevel")
    if top is None or top.strip() == "":
        return resolved
    return Path(top.strip()).resolve()


def git_info(path: Path) -> GitInfo | None:
    """Return branch, commit, dirty flag, origin remote and user e-mail of the repository at path.

    Returns None when ``path`` is not inside a git work tree or git is not installed. A field git
    cannot tell (a detached HEAD's branch, an empty repository's commit) is None.
    """
    status = _git(path, "status", "--porcelain=v2", "--branch", "--untracked-files=normal")
    if status is None:
        return None
    branch: str | None = None
    commit: str | None = None
    dirty = False
    for line in status.splitlines():
        if line.startswith("# branch.oid "):
            oid = line.removeprefix("# branch.oid ").strip()
            commit = None if oid == "(initial)" else oid
        elif line.startswith("# branch.head "):
            head = line.removeprefix("# branch.head ").strip()
            branch = None if head == "(detached)" else head
        elif line and not line.startswith("#"):
            dirty = True
    remote = _git(path, "config", "--get", "remote.origin.url")
    email = _git(path, "config", "--get", "user.email")
    return GitInfo(
        branch=branch,
        commit=commit,
        dirty=dirty,
        remote=strip_credentials(remote.strip()) if remote and remote.strip() else None,
        user_email=email.strip() if email and email.strip() else None,
    )
