"""The project's facts derived from its files, manifests, repo map and git: identity, languages
(code apart from docs, markup and data), entry points each listed once, test frameworks named
only from evidence, TODO texts, changelog head and docs titles."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from memory_banker.digest.declared import ManifestFacts
from memory_banker.digest.facts import (
    Command,
    FolderStat,
    GitFacts,
    LanguageStat,
    ModuleMap,
    ProjectFacts,
)
from memory_banker.digest.files import FileInfo, Texts, is_test, language_of
from memory_banker.digest.manifests import is_ci, workflow_name
from memory_banker.digest.markers import find_markers
from memory_banker.digest.paths import file_name
from memory_banker.digest.rank import CATEGORY_ORDER
from memory_banker.digest.readme import description_sentence, is_readme, readme_summary
from memory_banker.digest.repomap import OutlineCache
from memory_banker.digest.secrets import redact

_DOC_DIRS = frozenset({"docs", "doc", "documentation", "man", "site", "website", "_docs"})
_CHANGELOG_STEMS = frozenset({"CHANGES", "CHANGELOG", "HISTORY", "NEWS", "RELEASES", "CHANGELOG-"})
CHANGELOG_LINES = 40
"""Lines of the changelog head kept."""
MAX_DOC_TITLES = 40
"""Docs titles listed at most."""

_JS_TEST_IMPORTS = (
    ("tape", rb"""['"]tape['"]"""), ("node:test", rb"""['"]node:test['"]"""),
    ("ava", rb"""['"]ava['"]"""), ("vitest", rb"""['"]vitest['"]"""),
    ("mocha", rb"""['"]mocha['"]"""), ("tap", rb"""['"]tap['"]"""),
)  # fmt: skip


_GUARD = re.compile(rb"""^if\s+__name__\s*==\s*['"]__main__['"]\s*:""", re.MULTILINE)

_CONFIG_FILES = (
    ("jest.config", "jest"), ("vitest.config", "vitest"), (".mocharc", "mocha"),
    ("ava.config", "ava"), (".taprc", "tap"), ("karma.conf", "karma"), ("phpunit.xml", "phpunit"),
    (".rspec", "rspec"),
)  # fmt: skip


@dataclass(frozen=True)
class Inputs:
    """What the facts are derived from."""

    project: Path
    infos: Sequence[FileInfo]
    texts: Texts
    manifests: Sequence[str]
    declared: ManifestFacts
    modules: Sequence[ModuleMap]
    git: GitFacts | None
    cache: OutlineCache | None = None
    """Where per-file results are kept by content hash (none: computed every time)."""


def language_of_file(path: str) -> tuple[str, bool] | None:
    """Return (language, is code) of ``path``; HTML, CSS and JavaScript under a docs folder and
    man pages are documentation, not code."""
    parts = path.lower().split("/")
    if re.search(r"\.[1-9]$", parts[-1]) and ("man" in parts[:-1] or "/" not in path):
        return ("man page", False)
    language = language_of(path)
    if language is None:
        return None
    if language[1] and language[0] in {"HTML", "CSS", "JavaScript"} and _DOC_DIRS & set(parts[:-1]):
        return (f"{language[0]} (docs)", False)
    return language


def derive_facts(inputs: Inputs) -> ProjectFacts:
    """Return the :class:`ProjectFacts` of ``inputs``."""
    infos, texts, declared = inputs.infos, inputs.texts, inputs.declared
    languages, folders = _statistics(infos)
    tests = tuple(info.path for info in infos if is_test(info.path))
    frameworks, evidence = _frameworks(infos, declared, tests)
    commands = list(declared.commands)
    if "pytest" in frameworks and not any("pytest" in c.command for c in commands):
        commands.append(Command("test", "pytest", evidence_for("pytest", evidence)))
    ci = []
    for path in (info.path for info in infos if is_ci(info.path)):
        workflow = workflow_name(texts.get(path, ""))
        ci.append(f"{path} ({workflow})" if workflow else path)
    readme_path = next((p for p in inputs.manifests if is_readme(p)), "")
    readme_text = texts.get(readme_path, "") if readme_path else ""
    name = declared.name or inputs.project.name
    summary, source = declared.description, declared.description_source
    if not summary and readme_text:
        summary, source = description_sentence(readme_text), readme_path
    order = {m.path: (CATEGORY_ORDER.index(m.category), i) for i, m in enumerate(inputs.modules)}
    marker_files = sorted(
        ((info.path, info.text) for info in infos if info.text is not None),
        key=lambda item: (order.get(item[0], (len(CATEGORY_ORDER), 0)), item[0]),
    )
    marker_counts = sorted(
        ((info.path, info.todo + info.fixme) for info in infos if info.todo + info.fixme),
        key=lambda item: (-item[1], item[0]),
    )
    return ProjectFacts(
        name=redact(name),
        description=redact(declared.description),
        languages=languages,
        top_folders=folders,
        entry_points=tuple(redact(line) for line in _entry_points(infos, declared, inputs.modules)),
        dependencies=tuple(declared.dependencies),
        manifests=tuple(inputs.manifests),
        test_files=tests,
        test_frameworks=tuple(sorted(frameworks)),
        runtimes=tuple(declared.runtimes),
        ci=tuple(ci),
        todo_count=sum(info.todo for info in infos),
        fixme_count=sum(info.fixme for info in infos),
        todo_files=tuple(marker_counts[:5]),
        readme=readme_summary(readme_text, name) if readme_text else "",
        git=inputs.git,
        summary=redact(summary),
        summary_source=source if summary else "",
        commands=tuple(commands),
        test_evidence=tuple(evidence),
        modules=tuple(inputs.modules),
        markers=tuple(
            find_markers(
                [(p, d) for p, d in marker_files if d is not None],
                cache=inputs.cache.value if inputs.cache is not None else None,
            )
        ),
        changelog=_changelog(infos),
        doc_titles=_doc_titles(infos),
        manifest_notes=tuple(redact(note) for note in declared.notes),
    )


def evidence_for(framework: str, evidence: Sequence[str]) -> str:
    """The first evidence line for ``framework``, without the framework's name."""
    return next((e.split(": ", 1)[1] for e in evidence if e.startswith(framework + ": ")), "")


def _statistics(
    infos: Sequence[FileInfo],
) -> tuple[tuple[LanguageStat, ...], tuple[FolderStat, ...]]:
    languages: dict[str, list[int]] = {}
    code_flags: dict[str, bool] = {}
    folders: dict[str, list[int]] = {}
    folder_languages: dict[str, Counter[str]] = {}
    for info in infos:
        top = info.path.split("/", 1)[0] if "/" in info.path else "."
        folder = folders.setdefault(top, [0, 0])
        folder[0] += 1
        folder[1] += info.lines
        language = language_of_file(info.path)
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
                LanguageStat(name, n, lines, code_flags[name])
                for name, (n, lines) in languages.items()
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
                    folder_languages.get(name, Counter()).items(),
                    key=lambda item: (-item[1], item[0]),
                )
            ),
        )
        for name, (files, lines) in sorted(folders.items(), key=lambda i: (i[0] != ".", i[0]))
    )
    return language_stats, folder_stats


def _frameworks(
    infos: Sequence[FileInfo], declared: ManifestFacts, tests: Sequence[str]
) -> tuple[set[str], list[str]]:
    """Test frameworks from evidence only: declared ones, config files, test-file imports; a
    Python test file of bare ``assert`` functions is pytest-style."""
    frameworks = set(declared.frameworks)
    evidence = list(declared.evidence)

    def add(name: str, why: str) -> None:
        frameworks.add(name)
        line = f"{name}: {why}"
        if not any(e.startswith(f"{name}: ") for e in evidence):
            evidence.append(line)

    by_path = {info.path: info for info in infos}
    for info in infos:
        name = file_name(info.path)
        if name in {"conftest.py", "pytest.ini"}:
            add("pytest", f"{info.path} exists")
        for prefix, tool in _CONFIG_FILES:
            if name.startswith(prefix) and "/" not in info.path:
                add(tool, f"{info.path} exists")
    python_tests = [path for path in tests if path.endswith(".py")]
    for path in tests:
        data = by_path[path].text if path in by_path else None
        if data is None:
            continue
        if path.endswith(".py") and "pytest" not in frameworks:
            if b"assert " in data and b"def test" in data and b"TestCase" not in data:
                add("pytest", f"bare assert test functions (pytest-style) in {path}")
        elif path.endswith((".js", ".mjs", ".cjs", ".ts")):
            for tool, pattern in _JS_TEST_IMPORTS:
                if re.search(pattern, data):
                    add(tool, f"imported by {path}")
        elif path.endswith("_test.go"):
            add("go test", f"{path}")
    if "pytest" not in frameworks:  # pytest runs TestCase classes too: name unittest only alone
        for path in python_tests:
            data = by_path[path].text
            if data is not None and b"unittest" in data and b"TestCase" in data:
                add("unittest", f"unittest.TestCase in {path}")
                break
    return frameworks, evidence


def _entry_points(
    infos: Sequence[FileInfo], declared: ManifestFacts, modules: Sequence[ModuleMap]
) -> list[str]:
    """Console scripts, package bin/main, Go ``package main`` folders, Rust binaries and
    ``__main__`` modules of packages (not tests, examples or scripts); each path once."""
    lines = list(dict.fromkeys(declared.entry_points))
    named: set[str] = set()
    for line in lines:
        for quoted in re.findall(r"`([^`]+)`", line):
            named.add(quoted.removeprefix("./"))
            if ":" in quoted:
                module = quoted.split(":", 1)[0].replace(".", "/")
                named.update({f"{module}.py", f"src/{module}.py", f"{module}/__main__.py"})
    categories = {m.path: m.category for m in modules}
    packages = {
        info.path.rsplit("/", 1)[0] for info in infos if file_name(info.path) == "__init__.py"
    }
    go_main: list[str] = []
    for info in infos:
        path, folder = info.path, info.path.rsplit("/", 1)[0] if "/" in info.path else ""
        if path in named or categories.get(path, "source") not in {"source"}:
            continue
        if path.endswith(".go") and not path.endswith("_test.go") and info.text is not None:
            if re.search(rb"^package main\b", info.text, re.MULTILINE) and folder not in go_main:
                go_main.append(folder)
        elif path.endswith(".rs") and (path.endswith("src/main.rs") or "/src/bin/" in f"/{path}"):
            lines.append(f"Rust binary `{path}`")
        elif file_name(path) == "__main__.py" and folder in packages:
            lines.append(f"`{path}` (python -m {folder.split('/')[-1]})")
        elif info.main_guard and folder in packages and _top_level_guard(info.text):
            lines.append(f"`{path}` (runs as a script)")
    lines.extend(f"Go `package main` in `{folder or '.'}/`" for folder in go_main)
    return lines


def _top_level_guard(data: bytes | None) -> bool:
    """A ``if __name__ == "__main__":`` block at the top level (column 0), not one quoted in a
    string or nested in a function."""
    return data is not None and _GUARD.search(data) is not None


def _changelog(infos: Sequence[FileInfo]) -> str:
    for info in infos:
        stem = file_name(info.path).split(".", 1)[0].upper()
        top = "/" not in info.path or info.path.lower().startswith(("docs/", "doc/"))
        if top and stem in _CHANGELOG_STEMS and info.text is not None:
            head = redact(info.text[:16384].decode("utf-8", errors="replace"))
            lines = head.lstrip("\n").splitlines()[:CHANGELOG_LINES]
            return f"{info.path}\n" + "\n".join(line[:200] for line in lines) + "\n"
    return ""


def _doc_titles(infos: Sequence[FileInfo]) -> tuple[tuple[str, str], ...]:
    titles: list[tuple[str, str]] = []
    for info in infos:
        parts = info.path.lower().split("/")
        if not info.path.endswith((".md", ".rst")) or info.text is None:
            continue
        if not (_DOC_DIRS & set(parts[:-1])):
            continue
        title = _title(info.text[:4096].decode("utf-8", errors="replace"))
        if title:
            titles.append((info.path, redact(title)))
        if len(titles) >= MAX_DOC_TITLES:
            break
    return tuple(titles)


def _title(text: str) -> str:
    lines = text.splitlines()[:40]
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("# "):
            return stripped[2:].strip()[:120]
        following = lines[index + 1].strip() if index + 1 < len(lines) else ""
        if (
            stripped
            and re.fullmatch(r"([=\-~^*#])\1{2,}", following)
            and not re.fullmatch(r"([=\-~^*#])\1{2,}", stripped)
        ):
            return stripped[:120]
    return ""
