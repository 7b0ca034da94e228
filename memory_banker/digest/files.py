"""Which files the digest lists, and what it reads from each.

- **Listing**: in a git work tree, the files git tracks under the project folder (``git ls-files``;
  in a repository with nothing committed yet, the files git would track); elsewhere a walk of the
  folder that honours ``.gitignore`` files with a small matcher of the common gitignore syntax.
- **Skipped**: vendored and build folders (``node_modules``, ``.venv``, ``dist`` …), binary files
  (by extension, or a NUL byte in the first 8 KiB), minified bundles, the bank folder itself, and
  the files :func:`memory_banker.digest.secrets.is_sensitive_path` withholds.
- **Ignored**: the files a ``.memorybankignore`` at the project root lists (gitignore syntax) are
  never listed nor read.
- **Reading**: a regular file of at most ``MAX_FILE_BYTES`` is read once (a symlink is listed but
  never followed); its lines, its ``TODO``/``FIXME`` comment markers and, for Python, a
  ``__main__`` guard are counted then. A Kubernetes ``Secret`` manifest or a service-account key
  (recognised by content) is dropped as soon as it is read. A text is decoded and redacted only
  when rendered.
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from memory_banker.digest.paths import file_name, file_suffix
from memory_banker.digest.secrets import is_secret_content, is_sensitive_path, redact
from memory_banker.specs import BANK_DIR
from token_tracking.git import run_git

MAX_FILE_BYTES = 1_000_000
"""Files larger than this are listed but not read (generated data, bundles)."""

_SNIFF_BYTES = 8192

IGNORE_FILE = ".memorybankignore"
"""The project-root file (gitignore syntax) naming files the digest never lists nor reads."""

SKIP_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", "node_modules", "bower_components", "vendor", "third_party",
        "third-party", ".venv", "venv", "env", ".env", "virtualenv", "__pycache__", ".tox",
        ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis", "build", "dist",
        "target", "out", ".next", ".nuxt", ".svelte-kit", ".parcel-cache", ".cache", "coverage",
        "htmlcov", ".gradle", ".idea", ".terraform", "Pods", "DerivedData", "site-packages",
        ".eggs", BANK_DIR,
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

# A marker counts only right after a comment opener (hash, double slash, block-comment start), so
# code and prose that merely mention the words are not counted.
_TODO = re.compile(rb"(?:#|//|/\*|<!--|--|;|^\s*\*)[ \t]*TODO\b", re.MULTILINE)
_FIXME = re.compile(rb"(?:#|//|/\*|<!--|--|;|^\s*\*)[ \t]*FIXME\b", re.MULTILINE)

_MAIN_GUARD = re.compile(rb"""if\s+__name__\s*==\s*['"]__main__['"]""")


# --- listing -------------------------------------------------------------------------------------


def keep_path(path: str) -> bool:
    """Return True unless ``path`` lies in the bank folder or names a possibly secret file."""
    first = path.split("/", 1)[0]
    return first != BANK_DIR and not is_sensitive_path(path)


def is_withheld(path: str) -> bool:
    """Return True when ``path`` is a possibly secret file outside the bank folder: never read,
    only counted."""
    return is_sensitive_path(path) and path.split("/", 1)[0] != BANK_DIR


def is_skipped(path: str) -> bool:
    """Return True for a path in a vendored or build folder, or a binary or minified file."""
    parts = path.split("/")
    folders = parts[:-1]
    if folders and (
        not SKIP_DIRS.isdisjoint(folders) or any(part.endswith(".egg-info") for part in folders)
    ):
        return True
    lower = parts[-1].lower()
    suffix = file_suffix(lower)
    if suffix in BINARY_EXTENSIONS:
        return True
    return lower.endswith((".min.js", ".min.css"))


def git_files(project: Path) -> list[str] | None:
    """Return the files git tracks under ``project`` (project-relative); in a repository with
    nothing tracked yet, the files git would track (untracked, not ignored). None when git cannot
    answer (not a work tree, no git)."""
    listed = _git_listing(project)
    return None if listed is None else _not_ignored(project, listed)


def _git_listing(project: Path) -> list[str] | None:
    out = run_git(project, "ls-files", "-z", "--cached", "--", ".")
    if out == "":
        out = run_git(project, "ls-files", "-z", "--others", "--exclude-standard", "--", ".")
    if out is None:
        return None
    return [path for path in out.split("\0") if path]


def _user_ignored(project: Path) -> _IgnoreRules | None:
    """Return the rules of ``project``'s ``.memorybankignore``; None when there is none.

    A symlinked ignore file is not followed (it is treated as absent)."""
    path = project / IGNORE_FILE
    if path.is_symlink() or not path.is_file():
        return None
    rules = _IgnoreRules()
    rules.add_file("", path)
    return rules


def _not_ignored(project: Path, paths: Sequence[str]) -> list[str]:
    """Return ``paths`` less those ``.memorybankignore`` names (a file, or a folder above it)."""
    rules = _user_ignored(project)
    if rules is None:
        return list(paths)
    return [path for path in paths if not ignored_by(rules, path)]


def ignored_by(rules: _IgnoreRules, path: str) -> bool:
    """Return True when ``rules`` ignore ``path`` or one of the folders above it."""
    parts = path.split("/")
    folders = ("/".join(parts[:depth]) for depth in range(1, len(parts)))
    return any(rules.ignored(folder, True) for folder in folders) or rules.ignored(path, False)


def user_ignored_files(project: Path, paths: Sequence[str]) -> list[str]:
    """Return the paths of ``paths`` that ``project``'s ``.memorybankignore`` names."""
    rules = _user_ignored(project)
    if rules is None:
        return []
    return [path for path in paths if ignored_by(rules, path)]


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


def walk_files(project: Path) -> list[str]:
    """Return the files under ``project`` that ``.gitignore`` files there and its
    ``.memorybankignore`` do not ignore.

    Skipped folders and symlinked folders are not descended into. Paths are project-relative.
    """
    return _not_ignored(project, _walk(project))


def _walk(project: Path) -> list[str]:
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


def withheld_files(project: Path) -> list[str]:
    """Return, sorted, the files of ``project`` whose content is never sent: possibly secret by
    name, named by ``.memorybankignore``, or a secret recognised by content."""
    project = project.resolve()
    listed = _git_listing(project)
    candidates = sorted(set(listed if listed is not None else _walk(project)))
    ignored = set(user_ignored_files(project, candidates))
    withheld = []
    for path in candidates:
        if path in ignored or (is_withheld(path) and not is_skipped(path)):
            withheld.append(path)
        elif keep_path(path) and not is_skipped(path) and _sniffed_secret(project, path):
            withheld.append(path)
    return withheld


def _may_hold_secret_content(path: str) -> bool:
    return path.lower().endswith((".yaml", ".yml", ".json"))


def _sniffed_secret(project: Path, path: str) -> bool:
    if not _may_hold_secret_content(path):
        return False
    full = os.path.join(project, path)
    try:
        status = os.lstat(full)
        if not stat.S_ISREG(status.st_mode) or status.st_size > MAX_FILE_BYTES:
            return False
        with open(full, "rb") as handle:
            return is_secret_content(handle.read())
    except OSError:
        return False


# --- reading -------------------------------------------------------------------------------------


@dataclass
class FileInfo:
    """What was read from one listed file."""

    path: str
    """Project-relative POSIX path."""
    lines: int = 0
    """Lines of text, a last line without a newline included; 0 when not read."""
    text: bytes | None = None
    """The raw content; None when not readable as text (too large, not a regular file, an error)."""
    todo: int = 0
    """``TODO`` markers after a comment opener, outside string literals."""
    fixme: int = 0
    """``FIXME`` markers, counted the same way."""
    main_guard: bool = False
    """A Python file with an ``if __name__ == "__main__"`` guard."""


def read_file(project: Path, path: str) -> FileInfo | None:
    """Return what ``path`` (under ``project``) holds; None when it turns out to be binary (a NUL
    byte in its first 8 KiB) or a secret recognised by content (a Kubernetes ``Secret``, a
    service-account key), which then is not listed. Never raises for an unreadable file."""
    info = FileInfo(path)
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
    if b"\0" in data[:_SNIFF_BYTES] or (_may_hold_secret_content(path) and is_secret_content(data)):
        return None
    info.text = data
    info.lines = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    # A plain substring test first: the pattern has no literal prefix, so it is slow to search,
    # and most files hold neither word.
    info.todo = _count_markers(_TODO, data, b"TODO")
    info.fixme = _count_markers(_FIXME, data, b"FIXME")
    if path.endswith(".py"):
        info.main_guard = b"__main__" in data and _MAIN_GUARD.search(data) is not None
    return info


def _count_markers(pattern: re.Pattern[bytes], data: bytes, word: bytes) -> int:
    """Count the matches of ``pattern`` (which ends in ``word``) that are not inside a string
    literal on their line.

    A test that writes ``"# TODO"`` into a fixture file is not a TODO of the project: a match
    counts only when the text before it on its line has an even number of each quote character.
    Only the lines holding ``word`` are searched: the pattern has no literal prefix, so it is slow
    to run over a whole file, and a match never reaches past its word's line.
    """
    count = 0
    position = data.find(word)
    while position != -1:
        start = data.rfind(b"\n", 0, position) + 1
        end = data.find(b"\n", position)
        end = len(data) if end == -1 else end
        for match in pattern.finditer(data, start, end):
            before = data[start : match.start()]
            if b"\\" in before:
                before = re.sub(rb"\\.", b"", before)
            if before.count(b'"') % 2 == 0 and before.count(b"'") % 2 == 0:
                count += 1
        position = data.find(word, end)
    return count


def _decode(data: bytes) -> str:
    return redact(data.decode("utf-8", errors="replace"))


class Texts:
    """Decoded, redacted file texts, made on first use: most listed files are never rendered."""

    def __init__(self, infos: Sequence[FileInfo]) -> None:
        self._raw = {info.path: info.text for info in infos if info.text is not None}
        self._decoded: dict[str, str] = {}

    def __contains__(self, path: object) -> bool:
        return path in self._raw

    def __getitem__(self, path: str) -> str:
        if path not in self._decoded:
            self._decoded[path] = _decode(self._raw[path])
        return self._decoded[path]

    def get(self, path: str, default: str) -> str:
        """Return the text of ``path``, or ``default`` when it has none."""
        return self[path] if path in self._raw else default


# --- kinds of file -------------------------------------------------------------------------------


def language_of(path: str) -> tuple[str, bool] | None:
    """Return (language, is code) for ``path``, or None for an unknown kind of file."""
    name = file_name(path)
    if name in _NAMED_LANGUAGES:
        return _NAMED_LANGUAGES[name]
    if name.startswith("Dockerfile"):
        return _NAMED_LANGUAGES["Dockerfile"]
    return _LANGUAGES.get(file_suffix(name).lower())


_TEST_FOLDERS = frozenset({"tests", "test", "spec", "__tests__", "testing"})

_TEST_NAME_RE = re.compile(
    "|".join(
        fnmatch.translate(glob)
        for glob in ("test_*.py", "*_test.py", "*_test.go", "*.test.[jt]s*", "*.spec.[jt]s*",
                     "*_spec.rb", "conftest.py")
    )
)  # fmt: skip


def is_test(path: str) -> bool:
    """Return True when ``path`` looks like a test file (a test folder or a test file name)."""
    parts = path.lower().split("/")
    if not _TEST_FOLDERS.isdisjoint(parts[:-1]):
        language = language_of(path)
        return language is not None and language[0] != "Markdown"
    return _TEST_NAME_RE.match(parts[-1]) is not None
