"""The digest's public data: the rendered text and the structured facts behind it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

MAX_COMMITS = 20
"""How many recent commits the digest lists."""

AUTHOR_WINDOW_DAYS = 90
"""Authors are counted over this many days before HEAD's commit date."""

MAX_MARKERS = 30
"""How many TODO/FIXME/HACK/XXX comment texts the digest keeps."""


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
class Command:
    """One command a developer runs, with the file it was read from."""

    kind: str
    """``test``, ``lint``, ``format``, ``typecheck``, ``build``, ``run``, ``docs`` or ``other``."""
    command: str
    """The command line as a developer types it (``make test``, ``npm test``, ``tox -e py``)."""
    source: str
    """Where it was found: a project-relative path, with the target or step when useful."""


class Symbol:
    """One top-level symbol of a source file, or a method of a top-level class.

    Compared, hashed and shown by its five fields, as a frozen dataclass of them is; instances
    are not changed once made. A symbol made with :meth:`deferred` writes its signature from
    its declaration's source on first use, since most symbols of a large repository are never
    shown: ``signature`` is then computed once and kept.
    """

    __slots__ = ("_header", "_signature", "_write", "doc", "kind", "line", "name")

    kind: str
    """``class``, ``function``, ``method``, ``struct``, ``interface``, ``trait``, ``enum``,
    ``type``, ``module`` or ``constant``."""
    name: str
    """Its name; a method is ``Class.method``."""
    line: int
    """1-based line of the declaration."""
    doc: str
    """The first line of its docstring or leading comment, ``""`` when none."""

    def __init__(self, kind: str, name: str, signature: str, line: int, doc: str = "") -> None:
        self.kind = kind
        self.name = name
        self._signature: str | None = signature
        self.line = line
        self.doc = doc
        self._header: str | None = None
        self._write: Callable[[str], str] | None = None

    @classmethod
    def deferred(
        cls, kind: str, name: str, header: str, write: Callable[[str], str], line: int, doc: str
    ) -> Symbol:
        """A symbol whose signature is ``write(header)``, written when first read."""
        symbol = cls(kind, name, "", line, doc)
        symbol._signature, symbol._header, symbol._write = None, header, write
        return symbol

    @property
    def signature(self) -> str:
        """Its declaration line without the body, e.g. ``def get(url, params=None)``."""
        if self._signature is None:
            assert self._write is not None and self._header is not None
            self._signature = self._write(self._header)
            self._header = self._write = None
        return self._signature

    @property
    def header(self) -> str | None:
        """The declaration source its signature is written from, while it is not written yet
        (None once written, or when it was given written)."""
        return self._header

    def _fields(self) -> tuple[str, str, str, int, str]:
        return (self.kind, self.name, self.signature, self.line, self.doc)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Symbol)
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        kind, name, signature, line, doc = self._fields()
        return (
            f"Symbol(kind={kind!r}, name={name!r}, signature={signature!r}, line={line!r}, "
            f"doc={doc!r})"
        )


@dataclass(frozen=True)
class ModuleMap:
    """One source file of the repo map."""

    path: str
    """Project-relative POSIX path."""
    language: str
    """Its language, e.g. ``Python``."""
    category: str
    """``source``, ``test``, ``example``, ``benchmark``, ``docs``, ``script`` or ``generated``;
    everything but ``source`` ranks after the source files."""
    doc: str
    """The first line of the module docstring or leading comment, ``""`` when none."""
    symbols: tuple[Symbol, ...]
    """Top-level symbols in file order."""
    imports: tuple[str, ...]
    """Project files it imports (project-relative paths), sorted."""
    score: float
    """Its import-graph rank (PageRank, summing to 1 over the map); higher is more depended on."""
    lines: int
    """Lines of text."""


@dataclass(frozen=True)
class Marker:
    """One TODO/FIXME/HACK/XXX comment."""

    path: str
    """Project-relative path."""
    line: int
    """1-based line."""
    kind: str
    """``TODO``, ``FIXME``, ``HACK`` or ``XXX``."""
    text: str
    """The comment text after the marker, redacted, at most 160 characters."""


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
    recent_authors: tuple[tuple[str, int], ...] = ()
    """(author, commits) over the ``AUTHOR_WINDOW_DAYS`` days before HEAD's commit date, most
    commits first."""
    head_date: str = ""
    """HEAD's commit date, ``YYYY-MM-DD``; ``""`` without commits."""


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
    summary: str = ""
    """One sentence saying what the project is: the manifest description, else the first
    sentence of the README's first descriptive paragraph; ``""`` when neither has one."""
    summary_source: str = ""
    """The file ``summary`` comes from, ``""`` when none."""
    commands: tuple[Command, ...] = ()
    """Test, lint, build and run commands with their source, in the order found."""
    test_evidence: tuple[str, ...] = ()
    """Why each test framework is named, e.g. ``pytest: dependency in pyproject.toml``."""
    modules: tuple[ModuleMap, ...] = ()
    """The repo map: every source file, most depended-on first, non-source categories last."""
    markers: tuple[Marker, ...] = ()
    """The first ``MAX_MARKERS`` TODO/FIXME/HACK/XXX comments by path and line."""
    changelog: str = ""
    """The changelog's path and its first lines (about 40), ``""`` when there is none."""
    doc_titles: tuple[tuple[str, str], ...] = ()
    """(path, first title) of the documentation files, sorted by path."""
    manifest_notes: tuple[str, ...] = ()
    """Per manifest, what it declares or that it declares no dependencies, e.g.
    ``pyproject.toml: tool settings only (no [project] table)``."""


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
