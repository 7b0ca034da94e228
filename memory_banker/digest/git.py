"""Git facts for the digest: branch, recent commits with the files each touched, commit counts by
author (over the whole history and over the days before HEAD's commit date), working tree status.

Commits that touch only the bank folder are invisible (committing a generated bank does not change
the next digest), and the bank folder and withheld files are left out of commit paths and status
lines. Author names, subjects and status lines are redacted.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

from memory_banker.digest.facts import AUTHOR_WINDOW_DAYS, MAX_COMMITS, Commit, GitFacts
from memory_banker.digest.files import keep_path
from memory_banker.digest.secrets import redact
from memory_banker.specs import BANK_DIR
from token_tracking.git import run_git

_LOG_TIMEOUT_SECONDS = 120.0
"""The author count walks the whole history, which takes longer than one quick git question in
a large repository."""

_PROJECT_PATHSPEC = (".", f":(exclude){BANK_DIR}")


def git_prefix(project: Path) -> str | None:
    """Return the path of ``project`` inside its repository (``""`` at the top, else ``a/b/``), or
    None when ``project`` is not in a git work tree or git is missing."""
    prefix = run_git(project, "rev-parse", "--show-prefix")
    return prefix.strip() if prefix is not None else None


def git_facts(project: Path, prefix: str) -> GitFacts:
    """Return the git facts of ``project``, whose path inside its repository is ``prefix``
    (``""`` or ``a/``, as :func:`git_prefix` returns it)."""
    return GitReader(project).facts(prefix)


class GitReader:
    """The git commands behind the git facts of ``project``, started at once in background
    threads so they run while the caller does other work (the threads only wait on ``git``;
    their output is parsed and redacted by :meth:`facts`, in the caller's thread)."""

    def __init__(self, project: Path) -> None:
        self.project = project
        pool = ThreadPoolExecutor(max_workers=6, thread_name_prefix="digest-git")
        self._head = pool.submit(run_git, project, "rev-parse", "--verify", "--quiet", "HEAD")
        self._branch = pool.submit(run_git, project, "symbolic-ref", "--quiet", "--short", "HEAD")
        self._log = pool.submit(
            self._if_head,
            "log",
            f"-n{MAX_COMMITS}",
            "--no-renames",
            "--date=short",
            "--format=%x1e%h%x1f%an%x1f%ad%x1f%s",
            "--name-only",
            "--",
            *_PROJECT_PATHSPEC,
        )
        self._authors = pool.submit(self._if_head, "log", "--format=%an", "--", *_PROJECT_PATHSPEC)
        self._recent = pool.submit(self._recent_logs)
        self._status = pool.submit(
            run_git, project, "status", "--porcelain=v1", "-z", "--untracked-files=normal", "--",
            *_PROJECT_PATHSPEC,
        )  # fmt: skip
        pool.shutdown(wait=False)

    def _if_head(self, *args: str) -> str | None:
        """``git args`` (a history walk) when HEAD exists, else None without running it."""
        if self._head.result() is None:
            return None
        return run_git(self.project, *args, timeout=_LOG_TIMEOUT_SECONDS)

    def _recent_logs(self) -> tuple[str | None, str | None]:
        """The commit date of HEAD's latest commit touching the project and the authors of the
        commits in the ``AUTHOR_WINDOW_DAYS`` days before it (``--format=%an``); None for what
        cannot be told."""
        if self._head.result() is None:
            return None, None
        head = run_git(self.project, "log", "-1", "--format=%cI", "HEAD", "--", *_PROJECT_PATHSPEC)
        try:
            when = datetime.fromisoformat((head or "").strip())
        except ValueError:
            return head, None
        since = (when - timedelta(days=AUTHOR_WINDOW_DAYS)).isoformat()
        log = run_git(
            self.project, "log", f"--since={since}", f"--until={when.isoformat()}",
            "--format=%an", "--", *_PROJECT_PATHSPEC, timeout=_LOG_TIMEOUT_SECONDS,
        )  # fmt: skip
        return head, log

    def facts(self, prefix: str) -> GitFacts:
        """Return the git facts, ``prefix`` being the project's path inside its repository
        (``""`` or ``a/``, as :func:`git_prefix` returns it); waits for the git commands."""
        branch = self._branch.result()
        branch = branch.strip() if branch is not None else "HEAD"
        has_head = self._head.result() is not None
        commits: list[Commit] = []
        authors: list[tuple[str, int]] = []
        recent: list[tuple[str, int]] = []
        head_date = ""
        total = 0
        if has_head:
            for record in (self._log.result() or "").split("\x1e")[1:]:
                header, _, names = record.partition("\n")
                sha, author, date, subject = [*header.split("\x1f"), "", "", "", ""][:4]
                paths = tuple(
                    sorted(
                        _project_relative(name, prefix)
                        for name in names.splitlines()
                        if name.strip() and keep_path(_project_relative(name, prefix))
                    )
                )
                commits.append(Commit(sha, redact(author), date, redact(subject), paths))
            author_log = self._authors.result()
            counts = Counter(redact(author) for author in (author_log or "").split("\n") if author)
            authors = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
            total = sum(counts.values())
            head_date, recent = _recent_authors(*self._recent.result())
        status: list[str] = []
        entries = (self._status.result() or "").split("\0")
        index = 0
        while index < len(entries):
            entry = entries[index]
            index += 1
            if len(entry) < 4:
                continue
            code, path = entry[:2], _project_relative(entry[3:], prefix)
            if code[0] in "RC":  # a rename's source path follows as its own field
                index += 1
            if keep_path(path.rstrip("/")):
                status.append(redact(f"{code} {path}"))
        return GitFacts(
            branch, tuple(commits), total, tuple(authors), tuple(sorted(status)), tuple(recent),
            head_date,
        )  # fmt: skip


def _recent_authors(head: str | None, log: str | None) -> tuple[str, list[tuple[str, int]]]:
    """The commit date of HEAD's latest commit touching the project (bank-only commits do not
    count) and the commits per author over the ``AUTHOR_WINDOW_DAYS`` days before it, from
    ``head`` and ``log`` as :meth:`GitReader._recent_logs` reads them: measured from the
    history, never from today, so one repository state gives one answer."""
    try:
        when = datetime.fromisoformat((head or "").strip())
    except ValueError:
        return "", []
    counts = Counter(redact(author) for author in (log or "").split("\n") if author)
    return when.date().isoformat(), sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def _project_relative(repo_path: str, prefix: str) -> str:
    return repo_path[len(prefix) :] if prefix and repo_path.startswith(prefix) else repo_path
