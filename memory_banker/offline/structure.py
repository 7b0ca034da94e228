"""The code's structure as the offline writers describe it, read from the digest's repo map.

Every view here is derived from :attr:`ProjectFacts.modules` (the ranked repo map: each source
file with its docstring's first line, its top-level symbols and the project files it imports), so
a module, symbol or relationship is named only when the scan saw it.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

from memory_banker.digest.facts import ModuleMap, ProjectFacts, Symbol
from memory_banker.offline.phrases import count_of

MAX_MODULES = 20
"""The most modules the module map lists; the rest are counted."""

MAX_SYMBOLS = 6
"""The most key symbols listed per module."""

_MORE_SHOWN = 4
"""How many of the modules beyond the map's limit are named per folder."""

_REPEATED_DOC = 3
"""A docstring line opening this many source modules is a shared header, not a description."""

_SOURCE_SUFFIXES = (".py", ".js", ".mjs", ".cjs", ".ts", ".go", ".rs", ".rb", ".php", ".java")

_MARKER = re.compile(r"\s*(TODO|FIXME|HACK|XXX)\b")

_KEY_KINDS = frozenset({"class", "function", "struct", "interface", "trait", "enum", "type"})


def source_modules(facts: ProjectFacts) -> list[ModuleMap]:
    """Return the repo map's source modules (not tests, examples, docs …), most depended-on
    first."""
    return [module for module in facts.modules if module.category == "source"]


def package_of(path: str) -> str:
    """Return the folder of ``path`` (``.`` for a file at the project root)."""
    return path.rsplit("/", 1)[0] if "/" in path else "."


def importers(facts: ProjectFacts) -> Counter[str]:
    """Return, per project file, how many repo-map modules import it."""
    counts: Counter[str] = Counter()
    for module in facts.modules:
        counts.update(set(module.imports) - {module.path})
    return counts


def key_symbols(module: ModuleMap, limit: int = MAX_SYMBOLS) -> list[Symbol]:
    """Return the module's public top-level classes and functions (no methods, no ``_`` names,
    no unexported Go names), those with a docstring first, at most ``limit``, in file order."""
    named: dict[str, Symbol] = {}
    for symbol in module.symbols:  # an overloaded name is one symbol
        if symbol.kind in _KEY_KINDS and _is_public(symbol.name, module.language):
            named.setdefault(symbol.name, symbol)
    public = list(named.values())
    chosen = sorted(public, key=lambda symbol: not symbol.doc)[:limit]
    return sorted(chosen, key=lambda symbol: symbol.line)


def _is_public(name: str, language: str) -> bool:
    """A top-level name other modules may use: not ``_private``, not a method, and in Go
    exported (capitalised)."""
    if name.startswith("_") or "." in name:
        return False
    return language != "Go" or name[:1].isupper()


def symbol_phrase(symbol: Symbol) -> str:
    """Return ``class `Name` (doc line)`` for a symbol, its docstring's first line when it has
    one."""
    doc = f" ({_sentence(symbol.doc)})" if symbol.doc else ""
    return f"{symbol.kind} `{symbol.name}`{doc}"


def _sentence(text: str) -> str:
    """A docstring's first line without its final period; ``…`` ends a line cut mid-sentence."""
    text = text.strip()
    if not text or text.endswith((".", "!", "?", ":", ")")):
        return text.rstrip(".")
    return text + " …"


def boilerplate_docs(facts: ProjectFacts) -> frozenset[str]:
    """Return the docstring lines that open several source modules alike (a licence or
    copyright header), which say nothing about any one of them."""
    counts = Counter(module.doc for module in source_modules(facts) if module.doc)
    return frozenset(doc for doc, count in counts.items() if count >= _REPEATED_DOC)


def responsibility(module: ModuleMap, boilerplate: frozenset[str] = frozenset()) -> str:
    """Return the module's docstring first line, ``""`` when it has none, when it is a header
    shared by many modules (``boilerplate``) or when its leading comment is a TODO/FIXME/HACK/XXX
    marker rather than a description."""
    if module.doc in boilerplate or _MARKER.match(module.doc):
        return ""
    return _sentence(module.doc)


def class_methods(module: ModuleMap, owner: str, limit: int = MAX_SYMBOLS) -> list[str]:
    """Return the public method names of the class ``owner`` in ``module``, in file order."""
    names = []
    for symbol in module.symbols:
        owner_name, _, method = symbol.name.partition(".")
        if symbol.kind == "method" and owner_name == owner and _is_public(method, module.language):
            if method not in names and not method.startswith("__"):
                names.append(method)
    return names[:limit]


def module_line(
    module: ModuleMap, counts: Counter[str], boilerplate: frozenset[str] = frozenset()
) -> str:
    """Return one bullet text for a module: path, responsibility, importers and key symbols (a
    module defining one class lists that class's public methods too)."""
    sentences = []
    doc = responsibility(module, boilerplate)
    if doc:
        sentences.append(doc if doc.endswith("…") else f"{doc}.")
    users = counts.get(module.path, 0)
    if users:
        sentences.append(f"Imported by {count_of(users, 'module')}.")
    symbols = key_symbols(module)
    if len(symbols) == 1 and symbols[0].kind != "function":
        methods = class_methods(module, symbols[0].name)
        listed = f" (methods {', '.join(f'`{m}`' for m in methods)})" if methods else ""
        sentences.append(f"Defines `{symbols[0].name}`{listed}.")
    elif symbols:
        sentences.append("Defines " + ", ".join(f"`{s.name}`" for s in symbols) + ".")
    return f"`{module.path}`" + (": " + " ".join(sentences) if sentences else "")


def module_map(facts: ProjectFacts, limit: int = MAX_MODULES) -> list[str]:
    """Return one bullet text per source module, most depended-on first, at most ``limit``; the
    rest are summed up per folder with a few file names; ``[]`` when the repo map has no source
    module."""
    modules = source_modules(facts)
    counts = importers(facts)
    boilerplate = boilerplate_docs(facts)
    lines = [module_line(module, counts, boilerplate) for module in modules[:limit]]
    rest: defaultdict[str, list[str]] = defaultdict(list)
    for module in modules[limit:]:
        rest[package_of(module.path)].append(module.path)
    for folder, paths in sorted(rest.items(), key=lambda item: (-len(item[1]), item[0])):
        shown = ", ".join(f"`{path}`" for path in paths[:_MORE_SHOWN])
        more = f" and {len(paths) - _MORE_SHOWN} more" if len(paths) > _MORE_SHOWN else ""
        lines.append(f"Also in `{_folder(folder)}`: {shown}{more}.")
    return lines


def package_relationships(facts: ProjectFacts) -> list[str]:
    """Return one sentence per folder of source modules naming the folders its modules import,
    from the repo map's import graph; ``[]`` when no module imports another folder's."""
    uses: defaultdict[str, set[str]] = defaultdict(set)
    for module in source_modules(facts):
        own = package_of(module.path)
        for target in module.imports:
            other = package_of(target)
            if other != own:
                uses[own].add(other)
    lines = []
    for package in sorted(uses):
        targets = ", ".join(f"`{_folder(t)}`" for t in sorted(uses[package]))
        lines.append(f"`{_folder(package)}` imports from {targets}.")
    return lines


def _folder(package: str) -> str:
    return "project root" if package == "." else f"{package}/"


_INTERFACE_FILES = ("__init__.py", "index.js", "index.ts", "index.mjs", "lib.rs", "mod.rs")


def public_interface(facts: ProjectFacts) -> str | None:
    """Return the library's front module when it has one: the shallowest package front file
    (``__init__.py``, ``index.js``, ``lib.rs`` …) among the source modules that import others."""
    fronts = [
        module
        for module in source_modules(facts)
        if module.path.rsplit("/", 1)[-1] in _INTERFACE_FILES and module.imports
    ]
    if not fronts:
        return None
    return min(fronts, key=lambda m: (m.path.count("/"), -len(m.imports), m.path)).path


def most_depended_on(facts: ProjectFacts, limit: int = 5) -> list[tuple[str, int]]:
    """Return (path, importing modules) of the most imported source modules, most first."""
    sources = {module.path for module in source_modules(facts)}
    counts = Counter({p: n for p, n in importers(facts).items() if p in sources})
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [(path, count) for path, count in ranked[:limit] if count > 1]


def entry_path(entry: str) -> str | None:
    """Return the project file an entry-point line names in backquotes (a path, not a command
    line), when it names one."""
    for match in re.finditer(r"`([^`\s]+)`", entry):
        quoted = match.group(1)
        if "/" in quoted or quoted.endswith(_SOURCE_SUFFIXES):
            return quoted.split(":", 1)[0]
    return None


def path_of_target(target: str, facts: ProjectFacts) -> str | None:
    """Return the repo-map file of a Python ``package.module:attr`` target, when it is one."""
    dotted = target.split(":", 1)[0].strip("`")
    candidates = (dotted.replace(".", "/") + ".py", dotted.replace(".", "/") + "/__init__.py")
    paths = {module.path for module in facts.modules}
    for candidate in candidates:
        for path in paths:
            if path == candidate or path.endswith("/" + candidate):
                return path
    return None


def critical_path(facts: ProjectFacts, start: str) -> list[str]:
    """Return the import chain from ``start``, each step the imported project module that
    imports the most others, at most four steps, each a repo-map path; ``[start]`` when it
    imports none."""
    by_path = {module.path: module for module in facts.modules}
    rank = {module.path: index for index, module in enumerate(facts.modules)}
    chain = [start]
    seen = {start}
    while len(chain) < 4:
        module = by_path.get(chain[-1])
        if module is None:
            break
        nexts = [p for p in module.imports if p not in seen and p in by_path]
        if not nexts:
            break
        # The next step is the imported module that coordinates most (imports the most project
        # modules itself), not a leaf helper every module imports.
        chosen = min(nexts, key=lambda p: (-len(by_path[p].imports), rank.get(p, len(rank))))
        chain.append(chosen)
        seen.add(chosen)
    return chain
