"""The context digest: a deterministic, secret-free summary of a project that every agent reads.

How it is built (DESIGN §6):

- **Files**: in a git work tree, the files git tracks (``git ls-files``) under the project folder;
  elsewhere a walk of the folder that honours ``.gitignore`` files with a small matcher of the
  common gitignore syntax. Vendored and build folders (``node_modules``, ``.venv``, ``dist`` …),
  binary files (by extension, or a NUL byte in the first 8 KiB) and ``memory-bank/`` are skipped.
- **Never read**: ``.env*`` files, private keys (``id_rsa`` …, ``*.pem``, ``*.key``, ``*.p12``,
  ``*.pfx`` …), certificates and credential files (``credentials*``, ``.netrc``, ``.npmrc``,
  ``.pypirc``, ``secrets.*`` …). They are not opened and their names are left out of the tree and
  the git status too; the digest only says how many were withheld.
- **Redacted**: in everything that is read (files, commit subjects, status lines), strings that
  look like keys — ``sk-…``, ``AKIA…``/``ASIA…``, ``ghp_…``/``github_pat_…``, ``xox…-`` Slack
  tokens, ``AIza…`` Google keys and whole PEM blocks — become ``[REDACTED]``.
- **Git**: branch, the last 10 commits and commit counts by author (commits that touch only
  ``memory-bank/`` are invisible, so committing a generated bank does not change the next digest),
  and ``git status`` without ``memory-bank/``.
- **Budget**: the rendered text is at most ``context_tokens`` tokens as counted by
  :mod:`memory_banker.tokenizer`: header and git first, then the file tree (up to 30 %), the
  manifests and README, then source excerpts (entry points first, then source by depth and path)
  until the budget is spent. The final text is counted once more and trimmed if needed.

Everything is sorted, and no timestamp or absolute path enters the text, so the same repository
state gives the same digest byte for byte.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import stat
import subprocess
import tomllib
from collections import Counter
from collections.abc import Sequence
from configparser import ConfigParser
from configparser import Error as ConfigParserError
from dataclasses import dataclass, field
from pathlib import Path

from memory_banker.errors import UsageError
from memory_banker.tokenizer import count_tokens, truncate_to_tokens

MEMORY_BANK_DIR = "memory-bank"
"""The bank's own folder: excluded from the digest everywhere (tree, git log, git status)."""

MIN_CONTEXT_TOKENS = 500
"""The smallest ``--context-tokens`` accepted: below it not even the header and git facts fit."""

MAX_COMMITS = 10
"""How many recent commits the digest lists."""

MAX_FILE_BYTES = 1_000_000
"""Files larger than this are listed but not read (generated data, bundles)."""

_SNIFF_BYTES = 8192

SKIP_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", "node_modules", "bower_components", "vendor", "third_party",
        "third-party", ".venv", "venv", "env", ".env", "virtualenv", "__pycache__", ".tox",
        ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis", "build", "dist",
        "target", "out", ".next", ".nuxt", ".svelte-kit", ".parcel-cache", ".cache", "coverage",
        "htmlcov", ".gradle", ".idea", ".terraform", "Pods", "DerivedData", "site-packages",
        ".eggs", MEMORY_BANK_DIR,
    }
)  # fmt: skip
"""Folder names never descended into: vendored code, build output, caches, the bank itself."""

BINARY_EXTENSIONS = frozenset(
    {
        ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".ico", ".icns", ".webp", ".tif", ".tiff",
        ".psd", ".svgz", ".mp3", ".mp4", ".wav", ".ogg", ".flac", ".avi", ".mov", ".mkv",
        ".webm", ".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".zst", ".jar",
        ".war", ".whl", ".egg", ".pdf", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx",
        ".woff", ".woff2", ".ttf", ".otf", ".eot", ".so", ".dylib", ".dll", ".exe", ".bin",
        ".o", ".a", ".lib", ".obj", ".class", ".pyc", ".pyo", ".pyd", ".wasm", ".db",
        ".sqlite", ".sqlite3", ".parquet", ".npy", ".npz", ".pkl", ".pickle", ".h5", ".onnx",
        ".pt", ".pth", ".ckpt", ".safetensors", ".map",
    }
)  # fmt: skip
"""Extensions of files that are listed nowhere: binaries, media, archives, minified bundles."""

_SECRET_EXACT_NAMES = frozenset(
    {
        "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_ecdsa_sk", "id_ed25519_sk",
        ".netrc", "_netrc", ".npmrc", ".pypirc", ".git-credentials", ".htpasswd", ".pgpass",
        ".dockercfg", "kubeconfig", ".boto", ".s3cfg", "known_hosts", "authorized_keys",
    }
)  # fmt: skip
_SECRET_EXTENSIONS = frozenset(
    {
        ".pem", ".key", ".p12", ".pfx", ".jks", ".keystore", ".ppk", ".crt", ".cer", ".der",
        ".csr", ".p7b", ".p7c", ".gpg", ".pgp", ".asc", ".kdbx", ".tfvars", ".tfstate",
    }
)  # fmt: skip
_SECRET_GLOBS = (
    ".env*",
    "*.env",
    "credentials*",
    "secrets.*",
    "secret.*",
    "*.secret",
    "*.secrets",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    "service-account*.json",
    "client_secret*.json",
    "*.tfstate.*",
)

_REDACTIONS = (
    re.compile(r"-----BEGIN [A-Z0-9 ]*-----.*?(?:-----END [A-Z0-9 ]*-----|\Z)", re.DOTALL),
    re.compile(r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_\-]{8,}"),
    re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}"),
    re.compile(r"(?<![A-Za-z0-9])gh[pousr]_[A-Za-z0-9]{20,}"),
    re.compile(r"(?<![A-Za-z0-9])github_pat_[A-Za-z0-9_]{20,}"),
    re.compile(r"(?<![A-Za-z0-9])xox[abprse]-[A-Za-z0-9-]{10,}"),
    re.compile(r"(?<![A-Za-z0-9])AIza[0-9A-Za-z_\-]{35}"),
)
REDACTED = "[REDACTED]"
"""What a key-like string is replaced with."""

_LANGUAGES: dict[str, tuple[str, bool]] = {
    ".py": ("Python", True), ".pyi": ("Python", True), ".js": ("JavaScript", True),
    ".mjs": ("JavaScript", True), ".cjs": ("JavaScript", True), ".jsx": ("JavaScript", True),
    ".ts": ("TypeScript", True), ".tsx": ("TypeScript", True), ".go": ("Go", True),
    ".rs": ("Rust", True), ".java": ("Java", True), ".kt": ("Kotlin", True),
    ".kts": ("Kotlin", True), ".scala": ("Scala", True), ".rb": ("Ruby", True),
    ".php": ("PHP", True), ".c": ("C", True), ".h": ("C", True), ".cc": ("C++", True),
    ".cpp": ("C++", True), ".cxx": ("C++", True), ".hpp": ("C++", True), ".cs": ("C#", True),
    ".swift": ("Swift", True), ".m": ("Objective-C", True), ".dart": ("Dart", True),
    ".lua": ("Lua", True), ".r": ("R", True), ".jl": ("Julia", True), ".ex": ("Elixir", True),
    ".exs": ("Elixir", True), ".erl": ("Erlang", True), ".hs": ("Haskell", True),
    ".clj": ("Clojure", True), ".sh": ("Shell", True), ".bash": ("Shell", True),
    ".zsh": ("Shell", True), ".ps1": ("PowerShell", True), ".sql": ("SQL", True),
    ".vue": ("Vue", True), ".svelte": ("Svelte", True), ".html": ("HTML", True),
    ".css": ("CSS", True), ".scss": ("SCSS", True), ".tf": ("HCL", True),
    ".md": ("Markdown", False), ".rst": ("reStructuredText", False), ".txt": ("Text", False),
    ".toml": ("TOML", False), ".yaml": ("YAML", False), ".yml": ("YAML", False),
    ".json": ("JSON", False), ".xml": ("XML", False), ".ini": ("INI", False),
    ".cfg": ("INI", False), ".csv": ("CSV", False),
}  # fmt: skip
_NAMED_LANGUAGES = {"Dockerfile": ("Dockerfile", True), "Makefile": ("Makefile", True)}

_MANIFEST_NAMES = frozenset(
    {
        "pyproject.toml", "setup.cfg", "setup.py", "package.json", "Cargo.toml", "go.mod",
        "pom.xml", "build.gradle", "build.gradle.kts", "Gemfile", "Dockerfile",
        "docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml",
        "Makefile", ".gitlab-ci.yml", "Jenkinsfile", "azure-pipelines.yml", ".travis.yml",
        "tox.ini", "noxfile.py",
    }
)  # fmt: skip
_CI_GLOBS = (
    ".ci/*",
    ".github/workflows/*.yml",
    ".github/workflows/*.yaml",
    ".gitlab-ci.yml",
    ".circleci/config.yml",
    "Jenkinsfile",
    "azure-pipelines.yml",
    ".travis.yml",
    "bitbucket-pipelines.yml",
)
_ENTRY_NAMES = frozenset(
    {
        "__main__.py", "main.py", "manage.py", "app.py", "wsgi.py", "asgi.py", "main.go",
        "main.rs", "index.js", "index.ts", "server.js", "server.ts", "main.js", "main.ts",
        "Program.cs", "main.c", "main.cpp", "Main.java",
    }
)  # fmt: skip
# A marker counts only right after a comment opener (hash, double slash, block-comment start), so
# code and prose that merely mention the words are not counted.
_TODO = re.compile(rb"(?:#|//|/\*|<!--|--|;|^\s*\*)[ \t]*TODO\b", re.MULTILINE)
_FIXME = re.compile(rb"(?:#|//|/\*|<!--|--|;|^\s*\*)[ \t]*FIXME\b", re.MULTILINE)
_MAIN_GUARD = re.compile(rb"""if\s+__name__\s*==\s*['"]__main__['"]""")
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*(.*)$")


# --- public data -----------------------------------------------------------------------------


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
    """The README's summary paragraph (see ``_readme_summary``), redacted; ``""`` when none."""
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


# --- secrets -----------------------------------------------------------------------------------


def _name(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _suffix(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:] if dot > 0 else ""


_SECRET_GLOB_RE = re.compile("|".join(fnmatch.translate(glob) for glob in _SECRET_GLOBS))


def is_sensitive_path(path: str) -> bool:
    """Return True when ``path`` names a file the digest must never read or list.

    Covers ``.env*``, private keys, certificates and credential files (matched on the file name,
    case-insensitively).
    """
    name = _name(path).lower()
    if name in _SECRET_EXACT_NAMES or _suffix(name) in _SECRET_EXTENSIONS:
        return True
    return _SECRET_GLOB_RE.match(name) is not None


def redact(text: str) -> str:
    """Return ``text`` with key-like strings and PEM blocks replaced by ``[REDACTED]``."""
    for pattern in _REDACTIONS:
        text = pattern.sub(REDACTED, text)
    return text


# --- listing ---------------------------------------------------------------------------------


def _is_skipped(path: str) -> bool:
    parts = path.split("/")
    folders = parts[:-1]
    if folders and (
        not SKIP_DIRS.isdisjoint(folders) or any(part.endswith(".egg-info") for part in folders)
    ):
        return True
    lower = parts[-1].lower()
    suffix = _suffix(lower)
    if suffix in BINARY_EXTENSIONS:
        return True
    return lower.endswith((".min.js", ".min.css"))


def _git(project: Path, *args: str) -> str | None:
    """Run git in ``project``; return stdout, or None when git is missing or fails."""
    try:
        completed = subprocess.run(
            ["git", "-c", "core.quotePath=false", "-C", str(project), *args],
            capture_output=True,
            check=False,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"},
        )
    except FileNotFoundError:
        return None
    if completed.returncode != 0:
        return None
    return completed.stdout.decode("utf-8", errors="replace")


def _git_files(project: Path) -> list[str] | None:
    """The files git tracks under ``project``; in a repository with nothing tracked yet, the files
    git would track (untracked, not ignored). None when git cannot answer."""
    out = _git(project, "ls-files", "-z", "--cached", "--", ".")
    if out == "":
        out = _git(project, "ls-files", "-z", "--others", "--exclude-standard", "--", ".")
    if out is None:
        return None
    return [path for path in out.split("\0") if path]


class _IgnoreRules:
    """A small ``.gitignore`` matcher: globs, ``**``, anchoring, ``dir/`` and ``!`` negation."""

    def __init__(self) -> None:
        self._rules: list[tuple[str, re.Pattern[str], bool, bool]] = []

    def add_file(self, base: str, file: Path) -> None:
        """Add the patterns of a ``.gitignore`` found in folder ``base`` (``""`` = root)."""
        try:
            lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return
        for raw in lines:
            line = raw.rstrip()
            if not line or line.startswith("#"):
                continue
            negated = line.startswith("!")
            if negated:
                line = line[1:]
            dir_only = line.endswith("/")
            line = line.strip("/") if dir_only else line
            anchored = line.startswith("/") or "/" in line
            line = line.lstrip("/")
            regex = _glob_to_regex(line, anchored)
            self._rules.append((base, re.compile(regex), negated, dir_only))

    def ignored(self, path: str, is_dir: bool) -> bool:
        """Return True when the last matching rule ignores ``path`` (project-relative)."""
        result = False
        for base, regex, negated, dir_only in self._rules:
            if dir_only and not is_dir:
                continue
            if base:
                if not path.startswith(base + "/"):
                    continue
                relative = path[len(base) + 1 :]
            else:
                relative = path
            if regex.fullmatch(relative):
                result = not negated
        return result


def _glob_to_regex(pattern: str, anchored: bool) -> str:
    out = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("/**", i) and i + 3 == len(pattern):
            out.append("/.*")
            i += 3
        elif char == "*":
            out.append("[^/]*")
            i += 1
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(char))
                i += 1
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end + 1
        else:
            out.append(re.escape(char))
            i += 1
    body = "".join(out)
    return body if anchored else f"(?:.*/)?{body}"


def _walk_files(project: Path) -> list[str]:
    rules = _IgnoreRules()
    found: list[str] = []
    for folder, dirnames, filenames in os.walk(project):
        relative_dir = Path(folder).relative_to(project).as_posix()
        base = "" if relative_dir == "." else relative_dir
        if ".gitignore" in filenames:
            rules.add_file(base, Path(folder) / ".gitignore")
        kept = []
        for name in sorted(dirnames):
            path = f"{base}/{name}" if base else name
            if name in SKIP_DIRS or name.endswith(".egg-info") or rules.ignored(path, True):
                continue
            if os.path.islink(os.path.join(folder, name)):
                continue
            kept.append(name)
        dirnames[:] = kept
        for name in filenames:
            path = f"{base}/{name}" if base else name
            if not rules.ignored(path, False):
                found.append(path)
    return found


# --- reading -----------------------------------------------------------------------------------


@dataclass
class _FileInfo:
    path: str
    lines: int = 0
    text: bytes | None = None  # None: not readable as text (binary, too large, unreadable)
    todo: int = 0
    fixme: int = 0
    main_guard: bool = False


def _read(project: Path, path: str) -> _FileInfo | None:
    """Read one listed file; None when it turns out to be binary (then it is not listed)."""
    info = _FileInfo(path)
    full = os.path.join(project, path)
    try:
        # lstat: a symlink is listed but never followed (it may point outside the project).
        status = os.lstat(full)
        if not stat.S_ISREG(status.st_mode) or status.st_size > MAX_FILE_BYTES:
            return info
        with open(full, "rb") as handle:
            data = handle.read()
    except OSError:
        return info
    if b"\0" in data[:_SNIFF_BYTES]:
        return None
    info.text = data
    info.lines = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    info.todo = _count_markers(_TODO, data)
    info.fixme = _count_markers(_FIXME, data)
    if path.endswith(".py"):
        info.main_guard = _MAIN_GUARD.search(data) is not None
    return info


def _count_markers(pattern: re.Pattern[bytes], data: bytes) -> int:
    """Count the matches of ``pattern`` that are not inside a string literal on their line.

    A test that writes ``"# TODO"`` into a fixture file is not a TODO of the project: a match
    counts only when the text before it on its line has an even number of each quote character.
    """
    count = 0
    for match in pattern.finditer(data):
        start = data.rfind(b"\n", 0, match.start()) + 1
        before = data[start : match.start()]
        if b"\\" in before:
            before = re.sub(rb"\\.", b"", before)
        if before.count(b'"') % 2 == 0 and before.count(b"'") % 2 == 0:
            count += 1
    return count


def _decode(data: bytes) -> str:
    return redact(data.decode("utf-8", errors="replace"))


class _Texts:
    """Decoded, redacted file texts, made on first use: most listed files are never rendered."""

    def __init__(self, infos: Sequence[_FileInfo]) -> None:
        self._raw = {info.path: info.text for info in infos if info.text is not None}
        self._decoded: dict[str, str] = {}

    def __contains__(self, path: object) -> bool:
        return path in self._raw

    def __getitem__(self, path: str) -> str:
        if path not in self._decoded:
            self._decoded[path] = _decode(self._raw[path])
        return self._decoded[path]

    def get(self, path: str, default: str) -> str:
        return self[path] if path in self._raw else default


def _language(path: str) -> tuple[str, bool] | None:
    name = _name(path)
    if name in _NAMED_LANGUAGES:
        return _NAMED_LANGUAGES[name]
    if name.startswith("Dockerfile"):
        return _NAMED_LANGUAGES["Dockerfile"]
    return _LANGUAGES.get(_suffix(name).lower())


def _is_manifest(path: str) -> bool:
    name = _name(path)
    if "/" not in path and (name in _MANIFEST_NAMES or name.upper().startswith("README")):
        return True
    if name in {"pyproject.toml", "package.json", "Cargo.toml", "go.mod", "Dockerfile"}:
        # Workspace members: one level down counts (monorepos), deeper is usually fixtures.
        return path.count("/") == 1
    if name.startswith("requirements") and name.endswith(".txt") and path.count("/") <= 1:
        return True
    return _is_ci(path)


def _is_ci(path: str) -> bool:
    return _CI_RE.match(path) is not None


_TEST_FOLDERS = frozenset({"tests", "test", "spec", "__tests__", "testing"})
_TEST_NAME_RE = re.compile(
    "|".join(
        fnmatch.translate(glob)
        for glob in ("test_*.py", "*_test.py", "*_test.go", "*.test.[jt]s*", "*.spec.[jt]s*",
                     "*_spec.rb", "conftest.py")
    )
)  # fmt: skip
_CI_RE = re.compile("|".join(fnmatch.translate(glob) for glob in _CI_GLOBS))


def _is_test(path: str) -> bool:
    parts = path.lower().split("/")
    if not _TEST_FOLDERS.isdisjoint(parts[:-1]):
        language = _language(path)
        return language is not None and language[0] != "Markdown"
    return _TEST_NAME_RE.match(parts[-1]) is not None


# --- manifest facts ----------------------------------------------------------------------------


@dataclass
class _ManifestFacts:
    name: str = ""
    description: str = ""
    entry_points: list[str] = field(default_factory=list)
    dependencies: list[Dependency] = field(default_factory=list)
    frameworks: set[str] = field(default_factory=set)
    runtimes: list[str] = field(default_factory=list)


def _split_requirement(text: str) -> tuple[str, str] | None:
    text = text.split(";", 1)[0].strip()
    match = _REQUIREMENT_NAME.match(text)
    if match is None:
        return None
    extras = match.group(2) or ""
    return match.group(1) + extras, match.group(3).strip()


def _pyproject(path: str, text: str, facts: _ManifestFacts) -> None:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return
    project = data.get("project", {})
    tool = data.get("tool", {})
    poetry = tool.get("poetry", {}) if isinstance(tool, dict) else {}
    if isinstance(project, dict):
        facts.name = facts.name or str(project.get("name", ""))
        facts.description = facts.description or str(project.get("description", ""))
        if isinstance(project.get("requires-python"), str):
            facts.runtimes.append(f"Python {project['requires-python']} ({path})")
        for requirement in project.get("dependencies", []) or []:
            _add_requirement(facts, path, str(requirement), "runtime")
        optional = project.get("optional-dependencies", {}) or {}
        for group in sorted(optional):
            for requirement in optional[group] or []:
                _add_requirement(facts, path, str(requirement), group)
        for script, target in sorted((project.get("scripts", {}) or {}).items()):
            facts.entry_points.append(f"console script `{script}` -> `{target}` ({path})")
    if isinstance(poetry, dict) and poetry:
        facts.name = facts.name or str(poetry.get("name", ""))
        facts.description = facts.description or str(poetry.get("description", ""))
        for dep_name, spec in (poetry.get("dependencies", {}) or {}).items():
            if dep_name != "python":
                facts.dependencies.append(Dependency(dep_name, _spec_text(spec), path, "runtime"))
        for script, target in sorted((poetry.get("scripts", {}) or {}).items()):
            facts.entry_points.append(f"console script `{script}` -> `{target}` ({path})")
    if isinstance(tool, dict) and "pytest" in tool:
        facts.frameworks.add("pytest")


def _spec_text(spec: object) -> str:
    if isinstance(spec, str):
        return spec
    if isinstance(spec, dict):
        return str(spec.get("version", spec.get("git", spec.get("path", ""))))
    return ""


def _add_requirement(facts: _ManifestFacts, path: str, requirement: str, group: str) -> None:
    parsed = _split_requirement(requirement)
    if parsed is not None:
        facts.dependencies.append(Dependency(parsed[0], parsed[1], path, group))


def _requirements_txt(path: str, text: str, facts: _ManifestFacts) -> None:
    group = "dev" if re.search(r"dev|test", _name(path)) else "runtime"
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-", "git+", "http")):
            continue
        _add_requirement(facts, path, line, group)


def _setup_cfg(path: str, text: str, facts: _ManifestFacts) -> None:
    parser = ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except ConfigParserError:
        return
    if parser.has_option("metadata", "name"):
        facts.name = facts.name or parser.get("metadata", "name")
    if parser.has_option("options", "install_requires"):
        for line in parser.get("options", "install_requires").splitlines():
            if line.strip():
                _add_requirement(facts, path, line.strip(), "runtime")
    if parser.has_option("options.entry_points", "console_scripts"):
        for line in parser.get("options.entry_points", "console_scripts").splitlines():
            if "=" in line:
                script, target = (part.strip() for part in line.split("=", 1))
                facts.entry_points.append(f"console script `{script}` -> `{target}` ({path})")


def _package_json(path: str, text: str, facts: _ManifestFacts) -> None:
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return
    if not isinstance(data, dict):
        return
    facts.name = facts.name or str(data.get("name", ""))
    facts.description = facts.description or str(data.get("description", ""))
    for key, group in (("dependencies", "runtime"), ("devDependencies", "dev")):
        for dep_name, spec in (data.get(key) or {}).items():
            facts.dependencies.append(Dependency(dep_name, str(spec), path, group))
            if dep_name in {"jest", "vitest", "mocha", "jasmine", "ava", "playwright", "cypress"}:
                facts.frameworks.add(dep_name)
            if dep_name == "@playwright/test":
                facts.frameworks.add("playwright")
    engines = data.get("engines")
    if isinstance(engines, dict):
        for engine, version in sorted(engines.items()):
            facts.runtimes.append(f"{engine} {version} ({path})")
    bin_field = data.get("bin")
    if isinstance(bin_field, str):
        facts.entry_points.append(f"package bin -> `{bin_field}` ({path})")
    elif isinstance(bin_field, dict):
        for script, target in sorted(bin_field.items()):
            facts.entry_points.append(f"package bin `{script}` -> `{target}` ({path})")
    if isinstance(data.get("main"), str):
        facts.entry_points.append(f"package main -> `{data['main']}` ({path})")
    scripts = data.get("scripts") or {}
    if isinstance(scripts, dict):
        for script in ("start", "dev", "serve"):
            if isinstance(scripts.get(script), str):
                facts.entry_points.append(f"npm run {script}: `{scripts[script]}` ({path})")
        test_script = scripts.get("test")
        if isinstance(test_script, str):
            for tool in ("jest", "vitest", "mocha", "node --test"):
                if tool in test_script:
                    facts.frameworks.add(tool)


def _cargo(path: str, text: str, facts: _ManifestFacts) -> None:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return
    package = data.get("package", {})
    if isinstance(package, dict):
        facts.name = facts.name or str(package.get("name", ""))
        facts.description = facts.description or str(package.get("description", ""))
        if isinstance(package.get("rust-version"), str):
            facts.runtimes.append(f"Rust {package['rust-version']} ({path})")
        if isinstance(package.get("edition"), str):
            facts.runtimes.append(f"Rust edition {package['edition']} ({path})")
    for key, group in (("dependencies", "runtime"), ("dev-dependencies", "dev")):
        for dep_name, spec in (data.get(key) or {}).items():
            facts.dependencies.append(Dependency(dep_name, _spec_text(spec), path, group))
    facts.frameworks.add("cargo test")


def _go_mod(path: str, text: str, facts: _ManifestFacts) -> None:
    module = re.search(r"^module\s+(\S+)", text, re.MULTILINE)
    if module:
        facts.name = facts.name or module.group(1).rsplit("/", 1)[-1]
    go_version = re.search(r"^go\s+(\S+)", text, re.MULTILINE)
    if go_version:
        facts.runtimes.append(f"Go {go_version.group(1)} ({path})")
    in_block = False
    for line in text.splitlines():
        stripped = line.split("//", 1)[0].strip()
        if stripped.startswith("require ("):
            in_block = True
            continue
        if in_block and stripped == ")":
            in_block = False
            continue
        if stripped.startswith("require ") and "(" not in stripped:
            stripped = stripped[len("require ") :]
        elif not in_block:
            continue
        parts = stripped.split()
        if len(parts) >= 2:
            facts.dependencies.append(Dependency(parts[0], parts[1], path, "runtime"))


def _gemfile(path: str, text: str, facts: _ManifestFacts) -> None:
    for match in re.finditer(
        r"""^\s*gem\s+['"]([^'"]+)['"](?:\s*,\s*['"]([^'"]+)['"])?""", text, re.M
    ):
        facts.dependencies.append(Dependency(match.group(1), match.group(2) or "", path, "runtime"))
        if match.group(1) == "rspec":
            facts.frameworks.add("rspec")


def _pom(path: str, text: str, facts: _ManifestFacts) -> None:
    for block in re.findall(r"<dependency>(.*?)</dependency>", text, re.DOTALL):
        artifact = re.search(r"<artifactId>([^<]+)</artifactId>", block)
        version = re.search(r"<version>([^<]+)</version>", block)
        group = re.search(r"<groupId>([^<]+)</groupId>", block)
        if artifact:
            name = f"{group.group(1)}:{artifact.group(1)}" if group else artifact.group(1)
            scope = re.search(r"<scope>([^<]+)</scope>", block)
            facts.dependencies.append(
                Dependency(
                    name,
                    version.group(1) if version else "",
                    path,
                    "dev" if scope and scope.group(1) == "test" else "runtime",
                )
            )
            if "junit" in artifact.group(1):
                facts.frameworks.add("junit")


def _manifest_facts(manifests: Sequence[tuple[str, str]]) -> _ManifestFacts:
    facts = _ManifestFacts()
    # Root manifests first, so the project's own name wins over a workspace member's; among
    # them the language's own manifest before package.json (often only a front-end's).
    priority = ("pyproject.toml", "Cargo.toml", "go.mod", "setup.cfg", "pom.xml", "package.json")

    def order(item: tuple[str, str]) -> tuple[int, int, str]:
        name = _name(item[0])
        rank = priority.index(name) if name in priority else len(priority)
        return item[0].count("/"), rank, item[0]

    for path, text in sorted(manifests, key=order):
        name = _name(path)
        if name == "pyproject.toml":
            _pyproject(path, text, facts)
        elif name == "setup.cfg":
            _setup_cfg(path, text, facts)
        elif fnmatch.fnmatchcase(name, "requirements*.txt"):
            _requirements_txt(path, text, facts)
        elif name == "package.json":
            _package_json(path, text, facts)
        elif name == "Cargo.toml":
            _cargo(path, text, facts)
        elif name == "go.mod":
            _go_mod(path, text, facts)
        elif name == "Gemfile":
            _gemfile(path, text, facts)
        elif name == "pom.xml":
            _pom(path, text, facts)
    return facts


def _readme_summary(text: str, name: str = "") -> str:
    """Return the README's summary paragraph: prose only (no headings, badges, HTML, lists or
    code blocks), the first one that starts with the project's ``name`` when there is one (the
    usual "X is a …" opening), else the first. Longer than 600 characters, it is cut at the last
    sentence end that fits, or at a word."""
    paragraphs = _prose_paragraphs(text)
    key = _name_key(name)
    named = [p for p in paragraphs if key and _name_key(p[: len(name) + 4]).startswith(key)]
    summary = (named or paragraphs or [""])[0]
    if len(summary) > 600:
        head = summary[:600]
        end = head.rfind(". ")
        summary = head[: end + 1] if end >= 200 else head.rsplit(" ", 1)[0] + " …"
    return summary


def _name_key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


_FENCE_OPENER = re.compile(r"^(`{3,}|~{3,})")
_NOT_PROSE = ("#", "![", "[![", "<", "=", "-" * 3, "|", ">", "- ", "* ", "+ ")


def _prose_paragraphs(text: str) -> list[str]:
    """The README's prose paragraphs, joined to one line each; fenced and indented code skipped."""
    paragraphs: list[str] = []
    current: list[str] = []
    fence = ""
    for line in text.splitlines():
        stripped = line.strip()
        if fence:
            fence = "" if stripped.startswith(fence) else fence
            continue
        opener = _FENCE_OPENER.match(stripped)
        if opener is not None:
            fence = opener.group(1)
        prose = (
            opener is None
            and stripped != ""
            and not stripped.startswith(_NOT_PROSE)
            and not re.match(r"\d+[.)] ", stripped)
            and not (line.startswith(("    ", "\t")) and not current)
        )
        if prose:
            current.append(stripped)
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return paragraphs


def _workflow_name(text: str) -> str:
    match = re.search(r"^name:\s*['\"]?([^'\"\n#]+?)['\"]?\s*$", text, re.MULTILINE)
    return match.group(1).strip() if match else ""


# --- git ---------------------------------------------------------------------------------------

_PROJECT_PATHSPEC = (".", f":(exclude){MEMORY_BANK_DIR}")


def _git_facts(project: Path, prefix: str) -> GitFacts | None:
    """Collect git facts; ``prefix`` is the project's path inside the repository (``""``/``a/``)."""
    branch = _git(project, "symbolic-ref", "--quiet", "--short", "HEAD")
    branch = branch.strip() if branch is not None else "HEAD"
    has_head = _git(project, "rev-parse", "--verify", "--quiet", "HEAD") is not None
    commits: list[Commit] = []
    authors: list[tuple[str, int]] = []
    total = 0
    if has_head:
        log = _git(
            project,
            "log",
            f"-n{MAX_COMMITS}",
            "--no-renames",
            "--date=short",
            "--format=%x1e%h%x1f%an%x1f%ad%x1f%s",
            "--name-only",
            "--",
            *_PROJECT_PATHSPEC,
        )
        for record in (log or "").split("\x1e")[1:]:
            header, _, names = record.partition("\n")
            sha, author, date, subject = [*header.split("\x1f"), "", "", "", ""][:4]
            paths = tuple(
                sorted(
                    _project_relative(name, prefix)
                    for name in names.splitlines()
                    if name.strip() and _keep_path(_project_relative(name, prefix))
                )
            )
            commits.append(Commit(sha, redact(author), date, redact(subject), paths))
        counts: Counter[str] = Counter()
        for author in (_git(project, "log", "--format=%an", "--", *_PROJECT_PATHSPEC) or "").split(
            "\n"
        ):
            if author:
                counts[redact(author)] += 1
        authors = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        total = sum(counts.values())
    status_out = _git(
        project, "status", "--porcelain=v1", "-z", "--untracked-files=normal", "--",
        *_PROJECT_PATHSPEC,
    )  # fmt: skip
    status: list[str] = []
    entries = (status_out or "").split("\0")
    index = 0
    while index < len(entries):
        entry = entries[index]
        index += 1
        if len(entry) < 4:
            continue
        code, path = entry[:2], _project_relative(entry[3:], prefix)
        if code[0] in "RC":  # a rename's source path follows as its own field
            index += 1
        if _keep_path(path.rstrip("/")):
            status.append(redact(f"{code} {path}"))
    return GitFacts(branch, tuple(commits), total, tuple(authors), tuple(sorted(status)))


def _project_relative(repo_path: str, prefix: str) -> str:
    return repo_path[len(prefix) :] if prefix and repo_path.startswith(prefix) else repo_path


def _keep_path(path: str) -> bool:
    first = path.split("/", 1)[0]
    return first != MEMORY_BANK_DIR and not is_sensitive_path(path)


# --- rendering ---------------------------------------------------------------------------------


def _fence(text: str) -> str:
    """Return a code fence longer than any backtick run in ``text``."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _file_block(path: str, text: str, limit: int) -> str | None:
    """Render one file as a fenced block of at most ``limit`` tokens, or None if nothing fits."""
    fence = _fence(text)
    head = f"### {path}\n{fence}\n"
    tail = f"{fence}\n\n"
    room = limit - count_tokens(head) - count_tokens(tail) - 8
    if room <= 20:
        return None
    body = text if text.endswith("\n") else text + "\n"
    if count_tokens(body) > room:
        cut = truncate_to_tokens(body, room - 8)
        body = cut.rsplit("\n", 1)[0] + "\n… (truncated)\n" if "\n" in cut else cut + "\n"
    return head + body + tail


def _tree_lines(infos: Sequence[_FileInfo]) -> list[str]:
    return [
        f"- {info.path} ({_plural(info.lines, 'line')})"
        if info.text is not None
        else f"- {info.path}"
        for info in infos
    ]


class _Budget:
    def __init__(self, total: int) -> None:
        self.total = total
        self.used = 0
        self.parts: list[str] = []

    @property
    def left(self) -> int:
        return self.total - self.used

    def add(self, text: str, tokens: int | None = None) -> bool:
        cost = count_tokens(text) if tokens is None else tokens
        if cost > self.left:
            return False
        self.parts.append(text)
        self.used += cost
        return True


def build_digest(project: Path, *, context_tokens: int = 30000) -> Digest:
    """Build the context digest of ``project`` within ``context_tokens`` tokens.

    Returns a :class:`Digest` whose ``text`` counts at most ``context_tokens`` tokens.
    Raises ``UsageError`` when ``project`` is not a folder or ``context_tokens`` is below
    ``MIN_CONTEXT_TOKENS``.
    """
    if context_tokens < MIN_CONTEXT_TOKENS:
        raise UsageError(
            f"--context-tokens must be at least {MIN_CONTEXT_TOKENS} (got {context_tokens})"
        )
    project = project.resolve()
    if not project.is_dir():
        raise UsageError(f"project folder not found: {project}")

    prefix = _git(project, "rev-parse", "--show-prefix")
    in_git = prefix is not None
    listed = _git_files(project) if in_git else None
    candidates = listed if listed is not None else _walk_files(project)
    withheld = sum(1 for path in set(candidates) if _sensitive(path) and not _is_skipped(path))
    infos: list[_FileInfo] = []
    for path in sorted(set(candidates)):
        if not _keep_path(path) or _is_skipped(path):
            continue
        info = _read(project, path)
        if info is not None:
            infos.append(info)

    texts = _Texts(infos)
    manifests = [info.path for info in infos if _is_manifest(info.path)]
    mfacts = _manifest_facts([(path, texts[path]) for path in manifests if path in texts])
    git = _git_facts(project, (prefix or "").strip()) if in_git else None
    facts = _facts(project, infos, texts, manifests, mfacts, git)

    budget = _Budget(context_tokens)
    budget.add(_render_header(facts, len(infos), withheld))
    if git is not None:
        budget.add(_render_git(git))
    _add_tree(budget, infos)
    required_count = len(budget.parts)
    excerpted: list[str] = []
    ordered_manifests = sorted(
        manifests,
        key=lambda path: (
            not ("/" not in path and path.upper().startswith("README")),
            _is_ci(path),
            path,
        ),
    )
    _add_files(budget, "## Manifests and docs\n\n", ordered_manifests, texts, excerpted,
               per_file=max(context_tokens // 8, 400), reserve=0)  # fmt: skip
    sources = _excerpt_order(infos, facts, set(manifests))
    _add_files(budget, "## Source excerpts\n\n", sources, texts, excerpted,
               per_file=max(context_tokens // 30, 250), reserve=100)  # fmt: skip

    text, excerpted = _fit(budget.parts, required_count, excerpted, context_tokens)
    return Digest(
        text=text,
        tokens=count_tokens(text),
        budget=context_tokens,
        files=tuple(info.path for info in infos),
        excerpted=tuple(sorted(excerpted)),
        withheld=withheld,
        facts=facts,
    )


def _add_files(
    budget: _Budget,
    heading: str,
    paths: Sequence[str],
    texts: _Texts,
    excerpted: list[str],
    *,
    per_file: int,
    reserve: int,
) -> None:
    """Add fenced file blocks under ``heading`` (which is only added with its first block)."""
    pending = heading
    for path in paths:
        if budget.left < reserve:
            break
        if path not in texts:
            continue
        room = budget.left - count_tokens(pending)
        block = _file_block(path, texts[path], min(room, per_file))
        if block is not None and budget.add(pending + block):
            excerpted.append(path)
            pending = ""


def _sensitive(path: str) -> bool:
    return is_sensitive_path(path) and path.split("/", 1)[0] != MEMORY_BANK_DIR


def _fit(
    parts: list[str], required: int, excerpted: list[str], limit: int
) -> tuple[str, list[str]]:
    """Join the parts; drop trailing optional parts (then truncate) until the text fits."""
    parts = list(parts)
    text = "".join(parts)
    while count_tokens(text) > limit:
        if len(parts) > required:
            dropped = parts.pop()
            heading = re.search(r"^### (.+)$", dropped, re.MULTILINE)
            if heading is not None:
                excerpted = [path for path in excerpted if path != heading.group(1)]
            text = "".join(parts)
        else:
            text = truncate_to_tokens(text, limit)
    return text, excerpted


def _facts(
    project: Path,
    infos: Sequence[_FileInfo],
    texts: _Texts,
    manifests: Sequence[str],
    mfacts: _ManifestFacts,
    git: GitFacts | None,
) -> ProjectFacts:
    languages: dict[str, list[int]] = {}
    code_flags: dict[str, bool] = {}
    folders: dict[str, list[int]] = {}
    folder_languages: dict[str, Counter[str]] = {}
    for info in infos:
        top = info.path.split("/", 1)[0] if "/" in info.path else "."
        folder = folders.setdefault(top, [0, 0])
        folder[0] += 1
        folder[1] += info.lines
        language = _language(info.path)
        if language is not None and info.text is not None:
            stat = languages.setdefault(language[0], [0, 0])
            stat[0] += 1
            stat[1] += info.lines
            code_flags[language[0]] = language[1]
            if language[1]:
                folder_languages.setdefault(top, Counter())[language[0]] += info.lines
    language_stats = tuple(
        sorted(
            (
                LanguageStat(name, files, lines, code_flags[name])
                for name, (files, lines) in languages.items()
            ),
            key=lambda stat: (-stat.lines, stat.name),
        )
    )
    folder_stats = tuple(
        FolderStat(
            name,
            files,
            lines,
            tuple(
                lang
                for lang, _ in sorted(
                    folder_languages.get(name, Counter()).items(), key=lambda i: (-i[1], i[0])
                )
            ),
        )
        for name, (files, lines) in sorted(
            folders.items(), key=lambda item: (item[0] != ".", item[0])
        )
    )
    tests = {info.path for info in infos if _is_test(info.path)}
    entry_points = list(mfacts.entry_points)
    quoted = {q for line in entry_points for q in re.findall(r"`([^`]+)`", line)}
    for info in infos:
        name = _name(info.path)
        if info.path in tests or info.path in quoted:
            continue
        if name in _ENTRY_NAMES:
            entry_points.append(f"`{info.path}`")
        elif info.main_guard:
            entry_points.append(f"`{info.path}` (runs as a script)")
    test_files = tuple(info.path for info in infos if info.path in tests)
    frameworks = set(mfacts.frameworks)
    names = {_name(info.path) for info in infos}
    if "conftest.py" in names or "pytest.ini" in names:
        frameworks.add("pytest")
    if any(dep.name.split("[")[0].lower() == "pytest" for dep in mfacts.dependencies):
        frameworks.add("pytest")
    if any(path.endswith("_test.go") for path in test_files):
        frameworks.add("go test")
    if any(path.endswith(".py") for path in test_files) and not frameworks & {"pytest"}:
        frameworks.add("unittest")
    ci: list[str] = []
    for info in infos:
        if _is_ci(info.path):
            workflow = _workflow_name(texts.get(info.path, ""))
            ci.append(f"{info.path} ({workflow})" if workflow else info.path)
    marker_counts = sorted(
        ((info.path, info.todo + info.fixme) for info in infos if info.todo + info.fixme),
        key=lambda item: (-item[1], item[0]),
    )
    readme_paths = [p for p in manifests if "/" not in p and p.upper().startswith("README")]
    name = mfacts.name or project.name
    # A README that is a link, a pipe or too large is listed but has no text: no summary then.
    readme = _readme_summary(texts.get(readme_paths[0], ""), name) if readme_paths else ""
    return ProjectFacts(
        name=redact(name),
        description=redact(mfacts.description),
        languages=language_stats,
        top_folders=folder_stats,
        entry_points=tuple(redact(line) for line in entry_points),
        dependencies=tuple(mfacts.dependencies),
        manifests=tuple(manifests),
        test_files=test_files,
        test_frameworks=tuple(sorted(frameworks)),
        runtimes=tuple(mfacts.runtimes),
        ci=tuple(ci),
        todo_count=sum(info.todo for info in infos),
        fixme_count=sum(info.fixme for info in infos),
        todo_files=tuple(marker_counts[:5]),
        readme=readme,
        git=git,
    )


def _excerpt_order(
    infos: Sequence[_FileInfo], facts: ProjectFacts, manifests: set[str]
) -> list[str]:
    """Source files worth excerpting: entry points, then code by depth and path, tests last."""
    entry_paths: set[str] = set()
    for line in facts.entry_points:
        for quoted in re.findall(r"`([^`]+)`", line):
            entry_paths.add(quoted)
            if ":" in quoted:  # a console-script target such as ``pkg.cli:main``
                module = quoted.split(":", 1)[0].replace(".", "/")
                entry_paths.update({f"{module}.py", f"src/{module}.py", f"{module}/__main__.py"})
    tests = set(facts.test_files)
    candidates = []
    for info in infos:
        language = _language(info.path)
        if info.text is None or info.path in manifests or language is None or not language[1]:
            continue
        if info.lines == 0:
            continue
        rank = 0 if info.path in entry_paths else (2 if info.path in tests else 1)
        candidates.append((rank, info.path.count("/"), info.path))
    return [path for _, _, path in sorted(candidates)]


def _render_header(facts: ProjectFacts, file_count: int, withheld: int) -> str:
    lines = [f"# Project digest: {facts.name}", ""]
    if facts.description:
        lines.append(f"Description: {facts.description}")
    code = [stat for stat in facts.languages if stat.is_code]
    if code:
        lines.append(
            "Languages (lines): " + ", ".join(f"{stat.name} {stat.lines}" for stat in code)
        )
    if facts.runtimes:
        lines.append("Runtimes: " + ", ".join(facts.runtimes))
    lines.append(f"Files listed: {file_count}")
    if withheld:
        lines.append(f"Files withheld as possibly secret (never read): {withheld}")
    if facts.entry_points:
        lines.append("Entry points: " + "; ".join(facts.entry_points))
    if facts.test_frameworks:
        tests = _plural(len(facts.test_files), "file")
        lines.append(f"Tests: {tests} ({', '.join(facts.test_frameworks)})")
    if facts.ci:
        lines.append("CI: " + ", ".join(facts.ci))
    lines.append(f"TODO markers: {facts.todo_count}, FIXME markers: {facts.fixme_count}")
    return "\n".join(lines) + "\n\n"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _render_git(git: GitFacts) -> str:
    lines = ["## Git", "", f"Branch: {git.branch}", f"Commits: {git.total_commits}"]
    if git.authors:
        lines.append("Authors: " + ", ".join(f"{name} ({count})" for name, count in git.authors))
    if git.commits:
        lines.append("Recent commits:")
        lines.extend(f"- {c.sha} {c.date} {c.author}: {c.subject}" for c in git.commits)
    if git.status:
        lines.append("Working tree status:")
        lines.extend(f"- {line}" for line in git.status[:20])
        if len(git.status) > 20:
            lines.append(f"- … and {len(git.status) - 20} more")
    else:
        lines.append("Working tree status: clean")
    return "\n".join(lines) + "\n\n"


def _add_tree(budget: _Budget, infos: Sequence[_FileInfo]) -> None:
    """Add the file tree, one file per line, within 30 % of the budget; fold the rest."""
    header = f"## File tree ({len(infos)} files)\n\n"
    room = int(budget.total * 0.3)
    lines = _tree_lines(infos)
    kept: list[str] = []
    used = count_tokens(header)
    for line in lines:
        cost = count_tokens(line + "\n")
        if used + cost > room - 60:
            break
        kept.append(line)
        used += cost
    text = header + "\n".join(kept) + ("\n" if kept else "")
    if len(kept) < len(lines):
        rest = Counter(
            info.path.split("/", 1)[0] + "/" if "/" in info.path else "."
            for info in infos[len(kept) :]
        )
        folded = ", ".join(f"{name} {count}" for name, count in sorted(rest.items()))
        text += truncate_to_tokens(
            f"- … {len(lines) - len(kept)} more files: {folded}\n", max(room - used, 20)
        )
    budget.add(text + "\n")
