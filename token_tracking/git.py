"""Where a project stands in git, read with the ``git`` executable (no library dependency).

Every function here degrades to "unknown" (``None``) outside a repository or without git: a report
must still be written for a project that is not under version control.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from token_tracking.records import GitInfo

GIT_TIMEOUT_SECONDS = 10.0
"""How long one git command may run before it counts as failed (a hung credential helper, a
network filesystem)."""


def run_git(path: Path, *args: str, timeout: float = GIT_TIMEOUT_SECONDS) -> str | None:
    """Run ``git -C path args`` and return its stdout, decoded as UTF-8 (bad bytes replaced).

    Returns None when git is not installed, exits non-zero (``path`` is not in a work tree, a
    ref is missing …) or runs longer than ``timeout`` seconds; never raises for those.
    """
    env = {
        **os.environ,
        # Never wait for a credential prompt or a pager, never take the index lock for a read;
        # parse stable, untranslated output.
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_PAGER": "cat",
        "GIT_OPTIONAL_LOCKS": "0",
        "LC_ALL": "C",
    }
    try:
        completed = subprocess.run(
            # core.quotePath=false: paths come back as written (UTF-8), not as octal escapes.
            ["git", "-c", "core.quotePath=false", "-C", str(path), *args],
            capture_output=True,
            env=env,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if completed.returncode != 0:
        return None
    return completed.stdout.decode("utf-8", errors="replace")


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
    top = run_git(resolved, "rev-parse", "--show-toplevel")
    if top is None or top.strip() == "":
        return resolved
    return Path(top.strip()).resolve()


def git_info(path: Path) -> GitInfo | None:
    """Return branch, commit, dirty flag, origin remote and user e-mail of the repository at path.

    Returns None when ``path`` is not inside a git work tree or git is not installed. A field git
    cannot tell (a detached HEAD's branch, an empty repository's commit) is None.
    """
    status = run_git(path, "status", "--porcelain=v2", "--branch", "--untracked-files=normal")
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
    # Both settings in one git call; as ``git config --get``, the last value of each wins.
    settings: dict[str, str] = {}
    found = run_git(path, "config", "--get-regexp", r"^(remote\.origin\.url|user\.email)$")
    for line in (found or "").splitlines():
        key, _, value = line.partition(" ")
        settings[key] = value
    remote = settings.get("remote.origin.url")
    email = settings.get("user.email")
    # Imported here: the records pull in pydantic, which the digest's git reads never need.
    from token_tracking.records import GitInfo

    return GitInfo(
        branch=branch,
        commit=commit,
        dirty=dirty,
        remote=strip_credentials(remote.strip()) if remote and remote.strip() else None,
        user_email=email.strip() if email and email.strip() else None,
    )
