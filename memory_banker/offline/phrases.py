"""Sentences and bullet lists the offline writers build from a project's static facts.

Each function reads only the :class:`ProjectFacts` it is given, so its text depends on the
repository state alone (no clock, no absolute path) and the same state gives the same bytes.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from memory_banker.digest.facts import Commit, ProjectFacts

MAX_LISTED = 40
"""The longest bullet list a section shows before it ends in ``… and N more``."""


def count_of(count: int, noun: str) -> str:
    """Return ``1 file``, ``2 files``: the count (no digit grouping) and the noun in its number."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def code_shares(facts: ProjectFacts) -> list[tuple[str, int, int]]:
    """(language, lines, percent of code lines) for code languages, most lines first."""
    code = [stat for stat in facts.languages if stat.is_code]
    total = sum(stat.lines for stat in code)
    if total == 0:
        return []
    return [(stat.name, stat.lines, round(100 * stat.lines / total)) for stat in code]


def language_summary(facts: ProjectFacts) -> str:
    """Return one sentence naming the main code language and its share, then up to three more."""
    shares = code_shares(facts)
    if not shares:
        return "No source code in a recognised language was found."
    parts = [f"{name} ({percent}% of {lines:,} code lines)" for name, lines, percent in shares[:1]]
    parts += [f"{name} {percent}%" for name, _, percent in shares[1:4]]
    return "Written mainly in " + ", ".join(parts) + "."


def folder_lines(facts: ProjectFacts) -> list[str]:
    """Return one bullet per top-level folder: files, lines, languages and its role when known."""
    lines = []
    for folder in facts.top_folders:
        label = "project root" if folder.name == "." else f"`{folder.name}/`"
        languages = f"; {', '.join(folder.languages)}" if folder.languages else ""
        lines.append(
            f"- {label}: {count_of(folder.files, 'file')}, {count_of(folder.lines, 'line')}"
            f"{languages}{_folder_role(folder.name, facts)}"
        )
    return lines or ["- No files were found."]


def _folder_role(name: str, facts: ProjectFacts) -> str:
    lowered = name.lower()
    if any(path.startswith(f"{name}/") for path in facts.test_files) and lowered in {
        "tests",
        "test",
        "spec",
        "__tests__",
    }:
        return " (tests)"
    roles = {
        ".github": " (CI and repository settings)",
        "docs": " (documentation)",
        "doc": " (documentation)",
        "scripts": " (scripts)",
        "examples": " (examples)",
        "benchmarks": " (benchmarks)",
        ".ci": " (CI scripts)",
    }
    return roles.get(lowered, "")


def bullets(items: Sequence[str], empty: str, limit: int = MAX_LISTED) -> list[str]:
    """Return ``items`` as bullets, at most ``limit`` then ``… and N more``; ``[empty]`` if none."""
    if not items:
        return [empty]
    # An item already shaped as a nested bullet ("  - …") is kept as it is.
    lines = [item if item.lstrip().startswith("- ") else f"- {item}" for item in items[:limit]]
    if len(items) > limit:
        lines.append(f"- … and {len(items) - limit} more")
    return lines


def dependency_lines(facts: ProjectFacts) -> list[str]:
    """Return one line per declared dependency: name, version spec, manifest and group."""
    return [
        f"`{d.name}` {d.spec} ({d.manifest}, {d.group})"
        if d.spec
        else f"`{d.name}` ({d.manifest}, {d.group})"
        for d in facts.dependencies
    ]


def test_summary(facts: ProjectFacts) -> str:
    """Return one sentence: how many test files, and the frameworks they use."""
    if not facts.test_files:
        return "No test files were found."
    frameworks = f" using {', '.join(facts.test_frameworks)}" if facts.test_frameworks else ""
    return f"{count_of(len(facts.test_files), 'test file')}{frameworks}."


def ci_summary(facts: ProjectFacts) -> str:
    """Return one sentence naming the CI configuration files, or saying there are none."""
    if not facts.ci:
        return "No CI configuration was found."
    quoted = []
    for item in facts.ci:
        path, _, name = item.partition(" (")
        quoted.append(f"`{path}` ({name}" if name else f"`{path}`")
    return "CI is configured in " + ", ".join(quoted) + "."


def readme_or(facts: ProjectFacts, fallback: str) -> str:
    """Return the README summary, else the package description, else ``fallback``."""
    if facts.readme:
        return f"From the README: {facts.readme}"
    if facts.description:
        return f"From the package description: {facts.description.rstrip('.')}."
    return fallback


def marker_counts(facts: ProjectFacts) -> str:
    """Return one sentence counting the TODO and FIXME markers in the scanned files."""
    return (
        f"{count_of(facts.todo_count, 'TODO marker')} and "
        f"{count_of(facts.fixme_count, 'FIXME marker')} in the scanned files."
    )


def marker_files(facts: ProjectFacts) -> list[str]:
    """Nested bullets: the files with the most markers, TODO and FIXME counted together."""
    return [
        f"  - `{path}`: {count_of(count, 'TODO/FIXME marker')}" for path, count in facts.todo_files
    ]


# Top folders whose runnable files are tools around the project, not ways into the program.
_AUXILIARY_FOLDERS = frozenset(
    {"benchmarks", "bench", "examples", "example", "docs", "doc", "scripts", "tools"}
)


def _entry_folder(entry: str) -> str | None:
    """The top folder of a file entry point (one that starts with a quoted path); else None."""
    match = re.match(r"`([^`/]+)/", entry)
    return match.group(1) if match else None


def program_entries(facts: ProjectFacts) -> list[str]:
    """Entry points into the program itself: auxiliary scripts (benchmarks, examples…) left out."""
    return [e for e in facts.entry_points if _entry_folder(e) not in _AUXILIARY_FOLDERS]


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


def changed_areas(facts: ProjectFacts) -> list[tuple[str, int]]:
    """Return (top folder, commits touching it) over the recent commits, most touched first."""
    if facts.git is None:
        return []
    areas: Counter[str] = Counter()
    for commit in facts.git.commits:
        touched = {
            path.split("/", 1)[0] + "/" if "/" in path else "project root" for path in commit.paths
        }
        areas.update(touched)
    return sorted(areas.items(), key=lambda item: (-item[1], item[0]))


def commit_line(commit: Commit) -> str:
    """Return one commit as ``sha date author: subject (N files)``."""
    files = f" ({count_of(len(commit.paths), 'file')})" if commit.paths else ""
    return f"`{commit.sha}` {commit.date} {commit.author}: {commit.subject}{files}"


def setup_commands(facts: ProjectFacts) -> list[str]:
    """Return the install and test commands the manifests and test frameworks imply."""
    names = {path.rsplit("/", 1)[-1] for path in facts.manifests}
    groups = {d.group for d in facts.dependencies if d.manifest.endswith("pyproject.toml")}
    commands = []
    if "pyproject.toml" in names or "setup.cfg" in names or "setup.py" in names:
        extra = next((g for g in ("test", "tests", "dev") if g in groups), None)
        commands.append(f'`pip install -e ".[{extra}]"`' if extra else "`pip install -e .`")
    if any(path.rsplit("/", 1)[-1].startswith("requirements") for path in facts.manifests):
        commands.append("`pip install -r requirements.txt` (see the requirements files)")
    if "package.json" in names:
        commands.append("`npm install`")
    if "Cargo.toml" in names:
        commands.append("`cargo build`")
    if "go.mod" in names:
        commands.append("`go build ./...`")
    if "Gemfile" in names:
        commands.append("`bundle install`")
    if "pom.xml" in names:
        commands.append("`mvn package`")
    test_commands = {
        "pytest": "`pytest`",
        "unittest": "`python -m unittest`",
        "jest": "`npm test` (jest)",
        "vitest": "`npx vitest`",
        "mocha": "`npm test` (mocha)",
        "go test": "`go test ./...`",
        "cargo test": "`cargo test`",
        "rspec": "`bundle exec rspec`",
        "junit": "`mvn test`",
    }
    commands += [test_commands[name] for name in facts.test_frameworks if name in test_commands]
    return commands


PROJECT_MANIFESTS = frozenset(
    {"pyproject.toml", "package.json", "Cargo.toml", "go.mod", "pom.xml", "Gemfile"}
)
"""File names of a project manifest: each one marks a deliverable the repository builds."""


_PATTERN_HINTS = {
    "click": "command-line interface built with click",
    "typer": "command-line interface built with typer",
    "argparse": "command-line interface built with argparse",
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
    "gin": "HTTP server with gin",
}


def patterns(facts: ProjectFacts) -> list[str]:
    """Return the design patterns a static scan can see: libraries, layout, manifests, tests."""
    found = []
    seen: set[str] = set()
    for dep in facts.dependencies:
        key = dep.name.split("[", 1)[0].lower().rsplit("/", 1)[-1]
        hint = _PATTERN_HINTS.get(key)
        if hint is not None and hint not in seen:
            seen.add(hint)
            found.append(f"{hint[0].upper()}{hint[1:]} (`{dep.name}` in {dep.manifest}).")
    folders = {folder.name for folder in facts.top_folders}
    if "src" in folders:
        found.append("A `src/` layout keeps importable code apart from the project root.")
    roots = [path for path in facts.manifests if path.rsplit("/", 1)[-1] in PROJECT_MANIFESTS]
    if len(roots) > 1:
        found.append(
            "Several project manifests (" + ", ".join(f"`{p}`" for p in roots) + ") suggest"
            " more than one deliverable in one repository."
        )
    if facts.test_files:
        found.append(f"Automated tests: {test_summary(facts)}")
    return found
