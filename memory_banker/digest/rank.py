"""The repo map: every source file outlined, its imports resolved to project files, and the
files ranked by that import graph (PageRank), so the modules everything depends on come first.

Files are sorted by category first: source code, then scripts and build helpers, markup,
examples, benchmarks, docs, generated or data-like files (number or string tables, files marked
as generated), and tests last; inside a category by rank, then path. Deterministic: the same
files give the same map.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from memory_banker.digest.facts import ModuleMap, Symbol
from memory_banker.digest.files import FileInfo, is_test, language_of
from memory_banker.digest.paths import file_name, file_suffix
from memory_banker.digest.repomap import (
    Outline,
    OutlineCache,
    has_outline,
    symbol_from_item,
    symbol_item,
)

CATEGORY_ORDER = ("source", "script", "markup", "example", "benchmark", "docs", "generated",
                  "test")  # fmt: skip
"""Repo-map categories, in the order they rank."""

_EXAMPLE_DIRS = frozenset(
    {"examples", "example", "samples", "sample", "demo", "demos", "_examples"}
)
_BENCH_DIRS = frozenset({"benchmarks", "benchmark", "bench", "benches", "perf"})
_DOC_DIRS = frozenset({"docs", "doc", "documentation", "man", "site", "website", "_docs"})
_SCRIPT_DIRS = frozenset({"scripts", "script", "tools", "tool", "ci", ".github", "hack",
                          "contrib", "devtools", "utils-dev", "build-aux"})  # fmt: skip
_SCRIPT_NAMES = frozenset({"setup.py", "noxfile.py", "fabfile.py", "conftest.py", "gulpfile.js",
                           "Gruntfile.js", "build.rs", "dodo.py", "tasks.py"})  # fmt: skip
_MARKUP = frozenset({"HTML", "CSS", "SCSS"})
_GENERATED_MARKERS = re.compile(
    rb"DO NOT EDIT|@generated|auto-?generated|Code generated|This file (?:is|was) generated",
    re.IGNORECASE,
)
_EMPTY = Outline("", (), ())
_DIGITS = b"0123456789"
_LETTERS = bytes(range(65, 91)) + bytes(range(97, 123))
_DAMPING = 0.6
_ITERATIONS = 40


def is_public(name: str) -> bool:
    """Return True unless the last part of ``name`` is private (``_x``) or a dunder other than
    ``__init__``/``__call__``."""
    last = name.rsplit(".", 1)[-1]
    return not last.startswith("_") or last in {"__init__", "__call__", "__new__"}


def key_symbols(module: ModuleMap, top: int = 50, methods: int = 12) -> tuple[list[Symbol], int]:
    """The symbols worth listing for ``module``, in file order: its public top-level symbols (at
    most ``top``) and at most ``methods`` public methods of each; with the number left out."""
    chosen: list[Symbol] = []
    per_owner: dict[str, int] = defaultdict(int)
    tops = 0
    for symbol in module.symbols:
        if not is_public(symbol.name):
            continue
        if symbol.kind == "method":
            owner = symbol.name.rsplit(".", 1)[0]
            if per_owner[owner] >= methods:
                continue
            per_owner[owner] += 1
        else:
            if tops >= top:
                continue
            tops += 1
        chosen.append(symbol)
    return chosen, len(module.symbols) - len(chosen)


def category(
    path: str,
    language: str,
    data: bytes | None,
    data_like: Callable[[bytes], bool] | None = None,
) -> str:
    """Return the repo-map category of ``path`` (one of ``CATEGORY_ORDER``); ``data_like``
    stands in for :func:`is_data_like` (a cached one)."""
    parts = path.lower().split("/")
    folders = set(parts[:-1])
    if is_test(path):
        return "test"
    if folders & _EXAMPLE_DIRS:
        return "example"
    if folders & _BENCH_DIRS:
        return "benchmark"
    if folders & _DOC_DIRS:
        return "docs"
    if data is not None and (data_like or is_data_like)(data):
        return "generated"
    if language in _MARKUP:
        return "markup"
    if folders & _SCRIPT_DIRS or file_name(path) in _SCRIPT_NAMES or ".config." in parts[-1]:
        return "script"
    return "source"


def is_data_like(data: bytes) -> bool:
    """Return True for a generated file or one that is mostly a table of numbers or strings."""
    head = data[:2048].lower()  # ASCII case folding, as the pattern's
    if (b"generated" in head or b"do not edit" in head) and _GENERATED_MARKERS.search(head):
        return True
    sample = data[:65536]
    digits = len(sample) - len(sample.translate(None, _DIGITS))
    if digits > 2000 and digits > 1.2 * (len(sample) - len(sample.translate(None, _LETTERS))):
        return True
    newlines = sample.count(b"\n")
    if newlines and len(sample) / newlines > 400:
        return True  # minified code or one-line tables
    if newlines <= 200:
        return False
    stripped = list(map(bytes.strip, sample.splitlines()))
    filled = len(stripped) - stripped.count(b"")
    if filled <= 200:
        return False
    # Each line start follows a "\n" here (no line holds one), so counting is done in C.
    joined = b"\n" + b"\n".join(stripped)
    quoted = sum(joined.count(b"\n" + start) for start in (b'"', b"'", b"(", b"b'"))
    return quoted > 0.7 * filled


def build_map(
    infos: Sequence[FileInfo], cache_folder: Path | None = None, cache: OutlineCache | None = None
) -> tuple[ModuleMap, ...]:
    """Return the repo map of the code files among ``infos``, ranked; outlines are cached in
    ``cache`` or else in ``cache_folder`` (default: the user cache folder), and so is the whole
    map, by the files' paths and contents and the code that builds it."""
    cache = cache if cache is not None else OutlineCache(cache_folder)
    state = hashlib.sha256(_map_code())
    digests: dict[str, bytes] = {}
    for info in infos:
        content = b"-"
        if info.text is not None:
            content = digests[info.path] = hashlib.sha256(info.text).digest()
        state.update(f"{info.path}\0{info.lines}\0".encode("utf-8", "surrogatepass") + content)
    built: list[tuple[ModuleMap, ...]] = []

    def build(_: bytes) -> list[list[Any]]:
        built.append(_build_map(infos, cache, digests))
        return _as_json(built[0])

    raw = cache.value(state.digest(), "map", build, list)
    if built:  # built now: its cached form is not read back
        maps = built[0]
    else:
        try:
            maps = tuple(_from_json(item) for item in raw)
        except (TypeError, ValueError):
            maps = _build_map(infos, cache, digests)  # a damaged cache entry
    cache.save()
    return maps


def _map_code() -> bytes:
    """A hash of the code the map depends on (this module, the outliner, the file kinds)."""
    if not _MAP_CODE:
        names = (__name__, Outline.__module__, FileInfo.__module__)
        sources = [Path(sys.modules[name].__file__ or "").read_bytes() for name in names]
        _MAP_CODE.append(hashlib.sha256(b"\0".join(sources)).digest())
    return _MAP_CODE[0]


_MAP_CODE: list[bytes] = []


def _as_json(maps: tuple[ModuleMap, ...]) -> list[list[Any]]:
    return [
        [m.path, m.language, m.category, m.doc,
         [symbol_item(s) for s in m.symbols],
         list(m.imports), m.score, m.lines]
        for m in maps
    ]  # fmt: skip


def _from_json(item: list[Any]) -> ModuleMap:
    path, language, category_, doc, symbols, imports, score, lines = item
    return ModuleMap(
        path=str(path),
        language=str(language),
        category=str(category_),
        doc=str(doc),
        symbols=tuple(symbol_from_item(symbol) for symbol in symbols),
        imports=tuple(str(name) for name in imports),
        score=float(score),
        lines=int(lines),
    )


def _build_map(
    infos: Sequence[FileInfo], cache: OutlineCache, digests: dict[str, bytes]
) -> tuple[ModuleMap, ...]:
    """The ranked map of ``infos``; ``digests`` holds the SHA-256 digest of each file read."""
    entries: list[tuple[FileInfo, str, Outline]] = []
    for info in infos:
        language = language_of(info.path)
        if info.text is None or language is None or not language[1] or info.lines == 0:
            continue
        digest = digests[info.path]
        parsed = cache.outline(info.path, info.text, digest) if has_outline(info.path) else _EMPTY
        entries.append((info, language[0], parsed))
    paths = [info.path for info, _, _ in entries]
    resolver = _Resolver(paths)
    edges = {info.path: resolver.resolve(info.path, parsed.imports) for info, _, parsed in entries}
    weights = {info.path: _weight(info.path, parsed) for info, _, parsed in entries}
    scores = pagerank(paths, edges, weights)

    def data_like(path: str) -> Callable[[bytes], bool]:
        return lambda data: cache.flag(data, "data-like", is_data_like, digests[path])

    maps = [
        ModuleMap(
            path=info.path,
            language=language,
            category=category(info.path, language, info.text, data_like(info.path)),
            doc=parsed.doc,
            symbols=parsed.symbols,
            imports=tuple(sorted(edges[info.path])),
            score=round(scores[info.path], 6),
            lines=info.lines,
        )
        for info, language, parsed in entries
    ]
    return tuple(sorted(maps, key=lambda m: (CATEGORY_ORDER.index(m.category), -m.score, m.path)))


def _weight(path: str, parsed: Outline) -> float:
    """How much a file matters before its importers are counted: its public symbols (a private
    ``_module`` counts half), at least one."""
    public = sum(
        1 for symbol in parsed.symbols if not symbol.name.rsplit(".", 1)[-1].startswith("_")
    )
    stem = file_name(path).rsplit(".", 1)[0]
    private = stem.startswith("_") and stem not in {"__init__", "__main__"}
    return (1.0 + public) * (0.5 if private else 1.0)


def pagerank(
    nodes: Sequence[str], edges: dict[str, set[str]], weights: dict[str, float] | None = None
) -> dict[str, float]:
    """Return each node's PageRank over ``edges`` (importer → imported), summing to 1; the random
    jumps land on nodes in proportion to ``weights`` (uniformly when None)."""
    count = len(nodes)
    if count == 0:
        return {}
    ordered = sorted(nodes)
    index = {node: i for i, node in enumerate(ordered)}
    raw = [max((weights or {}).get(node, 1.0), 1e-9) for node in ordered]
    total = sum(raw)
    jump = [value / total for value in raw]
    incoming: list[list[int]] = [[] for _ in ordered]
    out_degree = [0] * count
    for source in ordered:
        targets = sorted(t for t in edges.get(source, ()) if t != source and t in index)
        out_degree[index[source]] = len(targets)
        for target in targets:
            incoming[index[target]].append(index[source])
    rank = list(jump)
    for _ in range(_ITERATIONS):
        dangling = sum(r for r, degree in zip(rank, out_degree, strict=True) if degree == 0)
        spread = 1.0 - _DAMPING + _DAMPING * dangling
        share = [r / d if d else 0.0 for r, d in zip(rank, out_degree, strict=True)]
        take = share.__getitem__
        rank = [spread * jump[i] + _DAMPING * sum(map(take, incoming[i])) for i in range(count)]
    return {node: rank[i] for i, node in enumerate(ordered)}


# --- resolving imports to project files ----------------------------------------------------------


class _Resolver:
    """Maps import specifiers to project files, per language."""

    def __init__(self, paths: Sequence[str]) -> None:
        self.paths = set(paths)
        self.python: dict[str, str] = {}
        self._python_seen: dict[tuple[str, str], list[str]] = {}
        packages = {posixpath.dirname(p) for p in paths if file_name(p) == "__init__.py"}
        for path in sorted(paths, key=lambda p: (p.count("/"), p)):
            if not path.endswith((".py", ".pyi")):
                continue
            for name in _python_names(path, packages):
                self.python.setdefault(name, path)
        self.suffix_index: dict[str, list[str]] = defaultdict(list)
        for path in sorted(paths, key=lambda p: (p.count("/"), p)):
            parts = path.split("/")
            for index in range(len(parts)):
                self.suffix_index["/".join(parts[index:])].append(path)
        self.go_dirs: dict[str, list[str]] = defaultdict(list)
        for path in sorted(paths):
            if path.endswith(".go") and not path.endswith("_test.go"):
                self.go_dirs[posixpath.dirname(path)].append(path)

    def resolve(self, path: str, imports: Sequence[str]) -> set[str]:
        """Return the project files that ``path``'s ``imports`` name (itself left out)."""
        suffix = file_suffix(path).lower()
        found: set[str] = set()
        for spec in imports:
            if suffix in {".py", ".pyi"}:
                found.update(self._python(path, spec))
            elif suffix in {".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx"}:
                found.update(
                    self._relative(
                        path,
                        spec,
                        (
                            "",
                            ".js",
                            ".ts",
                            ".mjs",
                            ".cjs",
                            ".jsx",
                            ".tsx",
                            "/index.js",
                            "/index.ts",
                        ),
                    )
                )
            elif suffix == ".go":
                found.update(self._go(spec))
            elif suffix == ".rs":
                found.update(self._rust(path, spec))
            elif suffix == ".rb":
                found.update(self._relative(path, spec, (".rb", "")))
                found.update(self._by_suffix(spec + ".rb" if not spec.endswith(".rb") else spec))
            elif suffix == ".java":
                found.update(self._by_suffix(spec.replace(".", "/") + ".java"))
            elif suffix == ".php":
                found.update(self._relative(path, spec, ("",)))
                found.update(self._by_suffix(spec.replace("\\", "/") + ".php"))
            else:
                found.update(self._relative(path, spec, ("",)) or self._by_suffix(spec))
        found.discard(path)
        return found

    def _python(self, path: str, spec: str) -> list[str]:
        # The answer depends on the importing file's folder only for a relative import.
        key = (posixpath.dirname(path) if spec.startswith(".") else "", spec)
        if key not in self._python_seen:
            self._python_seen[key] = self._python_uncached(path, spec)
        return self._python_seen[key]

    def _python_uncached(self, path: str, spec: str) -> list[str]:
        if "|" in spec:  # from X import a, b: the submodules X.a, X.b, else X itself
            base, _, names = spec.partition("|")
            joiner = "" if base.endswith(".") else "."
            found = [t for name in names.split(",") if name
                     for t in self._python(path, f"{base}{joiner}{name}")]  # fmt: skip
            return found or self._python(path, base)
        if spec.startswith("."):
            level = len(spec) - len(spec.lstrip("."))
            folders = posixpath.dirname(path).split("/") if "/" in path else []
            folders = folders[: len(folders) - (level - 1)] if level > 1 else folders
            rest = spec[level:]
            spec = ".".join([*folders, *([rest] if rest else [])])
            target = self.python.get(spec) or self._python_full(spec)
        else:
            target = self.python.get(spec)
        return [target] if target else []

    def _python_full(self, dotted: str) -> str | None:
        for candidate in (
            dotted.replace(".", "/") + ".py",
            dotted.replace(".", "/") + "/__init__.py",
        ):
            if candidate in self.paths:
                return candidate
        return None

    def _relative(self, path: str, spec: str, endings: Sequence[str]) -> list[str]:
        if not spec.startswith("."):
            return []
        base = posixpath.normpath(posixpath.join(posixpath.dirname(path), spec))
        for ending in endings:
            if base + ending in self.paths:
                return [base + ending]
        return []

    def _by_suffix(self, spec: str) -> list[str]:
        matches = self.suffix_index.get(spec.lstrip("./"), [])
        return matches[:1]

    def _go(self, spec: str) -> list[str]:
        parts = spec.split("/")
        for index in range(len(parts)):
            folder = "/".join(parts[index:])
            if folder in self.go_dirs:
                return self.go_dirs[folder]
        if len(parts) > 1 and "" in self.go_dirs and "." in parts[0]:
            return []  # the module root is named only by the full module path; unknown here
        return []

    def _rust(self, path: str, spec: str) -> list[str]:
        folder = posixpath.dirname(path)
        if spec.startswith("mod "):
            name = spec[4:]
            stem = file_name(path).rsplit(".", 1)[0]
            base = folder if stem in {"lib", "main", "mod"} else posixpath.join(folder, stem)
            for candidate in (f"{base}/{name}.rs", f"{base}/{name}/mod.rs"):
                if candidate.lstrip("/") in self.paths:
                    return [candidate.lstrip("/")]
            return []
        parts = spec.split("::")
        if parts[0] != "crate":
            return []
        root = _crate_root(path)
        for end in range(len(parts), 1, -1):
            relative = "/".join(parts[1:end])
            for candidate in (f"{root}{relative}.rs", f"{root}{relative}/mod.rs"):
                if candidate in self.paths:
                    return [candidate]
        return []


def _crate_root(path: str) -> str:
    index = path.rfind("src/")
    return path[: index + 4] if index >= 0 else ""


def _python_names(path: str, packages: set[str]) -> list[str]:
    """Dotted names ``path`` is importable as: from the project root, and from the deepest
    folder above it that is not a package (``src/pkg/mod.py`` → ``pkg.mod``)."""
    stem = path.rsplit(".", 1)[0]
    parts = stem.split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    if not parts:
        return []
    names = [".".join(parts)]
    start = 0
    for index in range(len(parts) - 1, 0, -1):
        if "/".join(parts[:index]) not in packages:
            start = index
            break
    if start:
        names.append(".".join(parts[start:]))
    return names
