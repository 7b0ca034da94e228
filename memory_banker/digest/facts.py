"""The digest's public data: the rendered text and the structured facts behind it."""

from __future__ import annotations

from dataclasses import dataclass

MAX_COMMITS = 10
"""How many recent commits the digest lists."""


@dataclass(frozen=True)
class LanguageStat:
    """Lines of one language in the listed files."""

    name: str
    """The language, e.g. ``Python``."""
    files: int
    """Listed files in this language."""
    lines: int
    """Newline-terminated lines in those files."""
    is_code: bool
    """False for documentation and data formats (Markdown, TOML, JSON …)."""


@dataclass(frozen=True)
class FolderStat:
    """One top-level folder (or ``.`` for files at the project root)."""

    name: str
    """Folder name relative to the project, ``.`` for the root's own files."""
    files: int
    """Listed files below it."""
    lines: int
    """Lines of the readable text files below it."""
    languages: tuple[str, ...]
    """Code languages found below it, most lines first."""


@dataclass(frozen=True)
class Dependency:
    """One dependency declared in a manifest."""

    name: str
    """The package name as written."""
    spec: str
    """The version constraint or source as written, ``""`` when none."""
    manifest: str
    """The manifest that declares it (project-relative path)."""
    group: str
    """``runtime``, ``dev``, or the name of an optional group."""


@dataclass(frozen=True)
class Commit:
    """One commit of the recent history."""

    sha: str
    """Abbreviated hash."""
    author: str
    """Author name."""
    date: str
    """Author date, ``YYYY-MM-DD``."""
    subject: str
    """First line of the message, redacted."""
    paths: tuple[str, ...]
    """Project-relative paths it changed (``memory-bank/`` and withheld files left out)."""


@dataclass(frozen=True)
class GitFacts:
    """What git says about the project; absent when the project is not in a git work tree."""

    branch: str
    """Current branch, or ``HEAD`` (detached)."""
    commits: tuple[Commit, ...]
    """The last commits, newest first (at most ``MAX_COMMITS``)."""
    total_commits: int
    """Commits reachable from HEAD that touch the project outside ``memory-bank/``."""
    authors: tuple[tuple[str, int], ...]
    """(author, commits) over that history, most commits first."""
    status: tuple[str, ...]
    """``git status --porcelain`` lines, bank and withheld files left out."""


@dataclass(frozen=True)
class ProjectFacts:
    """Structured facts the offline engine writes the bank from."""

    name: str
    """Project name from a manifest, else the folder name."""
    description: str
    """Description from a manifest, ``""`` when none."""
    languages: tuple[LanguageStat, ...]
    """Per language, most lines first."""
    top_folders: tuple[FolderStat, ...]
    """Per top-level folder, sorted by name (``.`` first)."""
    entry_points: tuple[str, ...]
    """Console scripts, package ``bin``/``main``, main modules; one readable line each."""
    dependencies: tuple[Dependency, ...]
    """Declared dependencies, in manifest order."""
    manifests: tuple[str, ...]
    """Manifest and build files found."""
    test_files: tuple[str, ...]
    """Files that look like tests."""
    test_frameworks: tuple[str, ...]
    """Test tools detected (pytest, jest, go test …)."""
    runtimes: tuple[str, ...]
    """Declared runtime versions, e.g. ``Python >=3.11 (pyproject.toml)``."""
    ci: tuple[str, ...]
    """CI configuration files, with a workflow's name when it has one (``path (name)``)."""
    todo_count: int
    """``TODO`` markers in the listed text files."""
    fixme_count: int
    """``FIXME`` markers in the listed text files."""
    todo_files: tuple[tuple[str, int], ...]
    """Files with the most TODO/FIXME markers (path, count), at most five."""
    readme: str
    """The README's summary: its first prose paragraph that starts with the project's name, else
    its first one, at most 600 characters, redacted; ``""`` when none."""
    git: GitFacts | None
    """Git facts, ``None`` outside a git work tree."""


@dataclass(frozen=True)
class Digest:
    """The rendered digest and the facts behind it."""

    text: str
    """The rendered digest (markdown), at most ``budget`` tokens."""
    tokens: int
    """``count_tokens(text)``."""
    budget: int
    """The ``context_tokens`` it was built for."""
    files: tuple[str, ...]
    """Every listed file, project-relative POSIX paths, sorted."""
    excerpted: tuple[str, ...]
    """Files whose text (whole or a prefix) is in ``text``."""
    withheld: int
    """Files never read because they look like secrets (.env, keys, credentials)."""
    facts: ProjectFacts
    """Structured facts for the offline engine."""
