"""Sentences and bullet lists the offline writers build from a project's static facts.

Each function reads only the facts it is given, so its text depends on the repository state alone
(no clock, no absolute path) and the same state gives the same bytes. An absence is always said
together with what was looked at.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from memory_banker.digest.facts import Commit, ProjectFacts

MAX_LISTED = 40
"""The longest bullet list a section shows before it ends in ``… and N more``."""

PROJECT_MANIFESTS = frozenset(
    {"pyproject.toml", "package.json", "Cargo.toml", "go.mod", "pom.xml", "Gemfile"}
)
"""File names of a project manifest: each one marks a deliverable the repository builds."""

_AUXILIARY_FOLDERS = frozenset(
    {"benchmarks", "bench", "examples", "example", "docs", "doc", "scripts", "tools"}
)
"""Top folders whose runnable files are tools around the project, not ways into the program."""

_FOLDER_ROLES = {
    ".github": "CI and repository settings",
    ".ci": "CI scripts",
    "docs": "documentation",
    "doc": "documentation",
    "scripts": "scripts",
    "examples": "examples",
    "benchmarks": "benchmarks",
}
_CATEGORY_ROLES = {
    "source": "source code",
    "test": "tests",
    "example": "examples",
    "benchmark": "benchmarks",
    "script": "scripts",
    "docs": "documentation",
    "generated": "generated or data files",
}


def count_of(count: int, noun: str) -> str:
    """Return ``1 file``, ``2 files``: the count (no digit grouping) and the noun in its number."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def code(text: str) -> str:
    """Return ``text`` as inline code, its own backquotes turned into quotes."""
    return "`" + text.replace("`", "'") + "`"


def bullets(items: Sequence[str], empty: str, limit: int = MAX_LISTED) -> list[str]:
    """Return ``items`` as bullets, at most ``limit`` then ``… and N more``; ``[empty]`` if none."""
    if not items:
        return [empty]
    # An item already shaped as a nested bullet ("  - …") is kept as it is.
    lines = [item if item.lstrip().startswith("- ") else f"- {item}" for item in items[:limit]]
    if len(items) > limit:
        lines.append(f"- … and {len(items) - limit} more")
    return lines


def code_shares(facts: ProjectFacts) -> list[tuple[str, int, int]]:
    """(language, lines, percent of code lines) for code languages, most lines first."""
    code_stats = [stat for stat in facts.languages if stat.is_code]
    total = sum(stat.lines for stat in code_stats)
    if total == 0:
        return []
    return [(stat.name, stat.lines, round(100 * stat.lines / total)) for stat in code_stats]


def language_names(facts: ProjectFacts) -> str:
    """Return ``Python`` or ``Python, with JavaScript and Shell``: the code languages by share,
    no figures (the shares are given once, in the technical context)."""
    names = [name for name, _, _ in code_shares(facts)]
    if not names:
        return ""
    if len(names) == 1:
        return names[0]
    return f"{names[0]}, with {', '.join(names[1:3])}" + (" and others" if len(names) > 3 else "")


def manifests_checked(facts: ProjectFacts) -> str:
    """Return the manifests a statement about dependencies or commands was checked against."""
    ci = {item.partition(" (")[0] for item in facts.ci}
    build = [
        path for path in facts.manifests if not path.upper().startswith("README") and path not in ci
    ]
    if not build:
        return (
            "no manifest was found (looked for pyproject.toml, setup.py, setup.cfg,"
            " requirements files, package.json, Cargo.toml, go.mod, Gemfile, pom.xml, Gradle"
            " and composer.json files)"
        )
    return "checked " + ", ".join(code(path) for path in build)


def folder_roles(facts: ProjectFacts) -> dict[str, str]:
    """Return the role of each top folder: the category most of its repo-map files have, else a
    role known from its name."""
    per_folder: dict[str, Counter[str]] = {}
    for module in facts.modules:
        top = module.path.split("/", 1)[0] if "/" in module.path else "."
        per_folder.setdefault(top, Counter())[module.category] += 1
    roles = {}
    for folder in facts.top_folders:
        counts = per_folder.get(folder.name)
        if counts:
            category = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[0][0]
            roles[folder.name] = _CATEGORY_ROLES.get(category, category)
        elif folder.name.lower() in _FOLDER_ROLES:
            roles[folder.name] = _FOLDER_ROLES[folder.name.lower()]
    return roles


def folder_lines(facts: ProjectFacts) -> list[str]:
    """Return one bullet per top-level folder: files, lines, languages and its role when known."""
    roles = folder_roles(facts)
    lines = []
    for folder in facts.top_folders:
        label = "project root" if folder.name == "." else f"`{folder.name}/`"
        languages = f"; {', '.join(folder.languages)}" if folder.languages else ""
        role = f" ({roles[folder.name]})" if folder.name in roles else ""
        lines.append(
            f"- {label}: {count_of(folder.files, 'file')}, {count_of(folder.lines, 'line')}"
            f"{languages}{role}"
        )
    return lines or ["- No files were found (the project folder holds none the scan lists)."]


MAX_GROUP_NAMES = 12
"""The most names a line of development or optional dependencies shows."""


def dependency_lines(facts: ProjectFacts) -> list[str]:
    """Return one line per runtime dependency (name, version spec, manifest), then one line per
    manifest and other group (development, test, docs, an extra) naming its packages."""
    lines = [
        f"`{d.name}` {d.spec} ({d.manifest}, {d.group})"
        if d.spec
        else f"`{d.name}` ({d.manifest}, {d.group})"
        for d in facts.dependencies
        if d.group == "runtime"
    ]
    groups: dict[tuple[str, str], list[str]] = {}
    for d in facts.dependencies:
        if d.group != "runtime":
            groups.setdefault((d.manifest, d.group), []).append(d.name)
    for (manifest, group), names in groups.items():
        shown = ", ".join(f"`{name}`" for name in dict.fromkeys(names[:MAX_GROUP_NAMES]))
        more = f" and {len(names) - MAX_GROUP_NAMES} more" if len(names) > MAX_GROUP_NAMES else ""
        lines.append(f"{group} ({manifest}): {shown}{more}")
    return lines


def test_summary(facts: ProjectFacts) -> str:
    """Return one sentence: how many test files, and the frameworks they use."""
    if not facts.test_files:
        return "No test files were found (looked for test folders and test_/_test/.spec names)."
    frameworks = f" using {', '.join(facts.test_frameworks)}" if facts.test_frameworks else ""
    return f"{count_of(len(facts.test_files), 'test file')}{frameworks}."


def ci_summary(facts: ProjectFacts) -> str:
    """Return one sentence naming the CI configuration files, or saying there are none."""
    if not facts.ci:
        return (
            "No CI configuration was found (looked for .github/workflows, .gitlab-ci.yml,"
            " .circleci, Jenkinsfile, azure-pipelines.yml, .travis.yml and .ci/)."
        )
    quoted = []
    for item in facts.ci:
        path, _, name = item.partition(" (")
        quoted.append(f"`{path}` ({name}" if name else f"`{path}`")
    return "CI is configured in " + ", ".join(quoted) + "."


def _entry_folder(entry: str) -> str | None:
    """The top folder of a file entry point (one that starts with a quoted path); else None."""
    match = re.match(r"`([^`/]+)/", entry)
    return match.group(1) if match else None


_SCRIPT_MODULE = "(runs as a script)"
"""How the digest marks a module that has a ``__main__`` block but is no declared entry point."""


def program_entries(facts: ProjectFacts) -> list[str]:
    """The declared entry points into the program (console scripts, package bin/main, main
    packages, ``python -m``): library modules that merely run as scripts and auxiliary scripts
    (benchmarks, examples…) left out."""
    return [
        e
        for e in facts.entry_points
        if _entry_folder(e) not in _AUXILIARY_FOLDERS and not e.endswith(_SCRIPT_MODULE)
    ]


def script_modules(facts: ProjectFacts) -> list[str]:
    """Modules of the program that also run on their own (a ``__main__`` block), which are not
    ways into it."""
    return [
        e
        for e in facts.entry_points
        if _entry_folder(e) not in _AUXILIARY_FOLDERS and e.endswith(_SCRIPT_MODULE)
    ]


def auxiliary_scripts(facts: ProjectFacts) -> list[str]:
    """One line per auxiliary folder with runnable scripts, e.g. benchmarks."""
    folders = Counter(
        folder
        for folder in map(_entry_folder, facts.entry_points)
        if folder is not None and folder in _AUXILIARY_FOLDERS
    )
    return [
        f"{count_of(count, 'script')} in `{folder}/` "
        + ("runs on its own." if count == 1 else "run on their own.")
        for folder, count in sorted(folders.items())
    ]


def area_of(path: str) -> str:
    """Return the area a path belongs to: its first two folders (``pkg/sub/``), its top folder,
    or ``project root``."""
    parts = path.split("/")
    if len(parts) == 1:
        return "project root"
    if len(parts) == 2:
        return parts[0] + "/"
    return "/".join(parts[:2]) + "/"


def commit_area(commit: Commit) -> str:
    """Return the area most of a commit's files are in (ties: the first in path order)."""
    if not commit.paths:
        return "no files"
    counts = Counter(area_of(path) for path in commit.paths)
    return sorted(counts.items(), key=_area_order)[0][0]


def _area_order(item: tuple[str, int]) -> tuple[int, bool, str]:
    """Most commits first; on a tie a folder before the project root, then by name."""
    area, count = item
    return (-count, area == "project root", area)


def changed_areas(facts: ProjectFacts) -> list[tuple[str, int]]:
    """Return (area, commits mostly in it) over the recent commits, most first."""
    if facts.git is None:
        return []
    areas = Counter(commit_area(commit) for commit in facts.git.commits)
    return sorted(areas.items(), key=_area_order)


def commit_line(commit: Commit, *, files: int = 4, author: bool = True) -> str:
    """Return one commit as ``sha date author: subject`` (``sha date subject`` without
    ``author``), then up to ``files`` paths it touched."""
    who = f" {commit.author}:" if author else ""
    line = f"`{commit.sha}` {commit.date}{who} {commit.subject}"
    if commit.paths:
        shown = ", ".join(f"`{p}`" for p in commit.paths[:files])
        more = f" and {len(commit.paths) - files} more" if len(commit.paths) > files else ""
        line += f" ({shown}{more})"
    return line


_PATTERN_HINTS = {
    "click": "command-line interface built with click",
    "typer": "command-line interface built with typer",
    "fastapi": "HTTP API with FastAPI",
    "flask": "web application with Flask",
    "django": "web application with Django",
    "express": "HTTP server with Express",
    "react": "component-based UI with React",
    "vue": "component-based UI with Vue",
    "pydantic": "validated data models with pydantic",
    "sqlalchemy": "database access through SQLAlchemy",
    "httpx": "HTTP client calls with httpx",
    "requests": "HTTP client calls with requests",
    "openai-agents": "LLM agents with the OpenAI Agents SDK",
    "litellm": "LLM calls through LiteLLM",
    "rich": "terminal rendering with Rich",
    "tokio": "async runtime with tokio",
    "serde": "serialisation with serde",
    "github.com/gin-gonic/gin": "HTTP server with gin",
    "github.com/spf13/cobra": "command-line interface built with cobra",
}


def library_patterns(facts: ProjectFacts) -> list[str]:
    """Return the patterns the declared runtime libraries imply, each with its manifest."""
    found = []
    seen: set[str] = set()
    for dep in facts.dependencies:
        if dep.group not in {"runtime", "dependencies"}:
            continue
        key = dep.name.split("[", 1)[0].lower()
        hint = _PATTERN_HINTS.get(key) or _PATTERN_HINTS.get(key.rsplit("/", 1)[-1])
        if hint is not None and hint not in seen:
            seen.add(hint)
            found.append(f"{hint[0].upper()}{hint[1:]} (`{dep.name}` in {dep.manifest}).")
    return found


def layout_patterns(facts: ProjectFacts) -> list[str]:
    """Return what the folder layout and the manifests show about how the repository is cut."""
    found = []
    folders = {folder.name for folder in facts.top_folders}
    if "src" in folders:
        found.append("A `src/` layout keeps importable code apart from the project root.")
    roots = [path for path in facts.manifests if path.rsplit("/", 1)[-1] in PROJECT_MANIFESTS]
    if len(roots) > 1:
        found.append(
            "Several project manifests (" + ", ".join(f"`{p}`" for p in roots) + ") suggest"
            " more than one deliverable in one repository."
        )
    return found
