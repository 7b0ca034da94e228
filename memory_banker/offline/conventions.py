"""Conventions a contributor follows, as a static scan sees them: the commit message style of the
recent history, and the formatter, linter and type-checker settings found in the repository.

Each sentence names its evidence (the commits counted, the configuration file, the manifest that
declares the tool), so nothing here is a guess.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from memory_banker.digest.facts import Commit, ProjectFacts

_CONVENTIONAL = re.compile(
    r"^(feat|fix|docs|style|refactor|perf|test|tests|build|ci|chore|revert)(\([^)]+\))?!?: "
)
_AREA_PREFIX = re.compile(r"^[\w./-]+(, ?[\w./-]+)*: ")

# File name (or name prefix ending in ".") → the tool it configures.
_CONFIG_FILES = {
    ".editorconfig": "EditorConfig",
    "ruff.toml": "Ruff",
    ".ruff.toml": "Ruff",
    ".flake8": "flake8",
    ".pylintrc": "pylint",
    "pylintrc": "pylint",
    "mypy.ini": "mypy",
    ".mypy.ini": "mypy",
    "pyrightconfig.json": "Pyright",
    ".isort.cfg": "isort",
    ".pre-commit-config.yaml": "pre-commit",
    ".prettierrc": "Prettier",
    ".eslintrc": "ESLint",
    ".stylelintrc": "Stylelint",
    "biome.json": "Biome",
    "tsconfig.json": "TypeScript compiler",
    "rustfmt.toml": "rustfmt",
    ".rustfmt.toml": "rustfmt",
    "clippy.toml": "Clippy",
    ".golangci.yml": "golangci-lint",
    ".golangci.yaml": "golangci-lint",
    ".clang-format": "clang-format",
    ".clang-tidy": "clang-tidy",
    ".rubocop.yml": "RuboCop",
    "phpcs.xml": "PHP_CodeSniffer",
    ".php-cs-fixer.php": "PHP CS Fixer",
    "checkstyle.xml": "Checkstyle",
}
_CONFIG_PREFIXES = {
    ".prettierrc.": "Prettier",
    ".eslintrc.": "ESLint",
    "eslint.config.": "ESLint",
    "prettier.config.": "Prettier",
    ".stylelintrc.": "Stylelint",
}
# Dependency name → the tool, for tools declared in a manifest.
_TOOL_PACKAGES = {
    "ruff": "Ruff",
    "black": "Black",
    "isort": "isort",
    "flake8": "flake8",
    "pylint": "pylint",
    "mypy": "mypy",
    "pyright": "Pyright",
    "pre-commit": "pre-commit",
    "eslint": "ESLint",
    "prettier": "Prettier",
    "@biomejs/biome": "Biome",
    "typescript": "TypeScript compiler",
    "standard": "standard",
    "xo": "xo",
    "rubocop": "RuboCop",
}


def config_files(files: Sequence[str]) -> list[tuple[str, str]]:
    """Return (path, tool) for each formatter/linter/type-checker configuration file in
    ``files``, in path order."""
    found = []
    for path in sorted(files):
        name = path.rsplit("/", 1)[-1]
        tool = _CONFIG_FILES.get(name)
        if tool is None:
            tool = next((t for p, t in _CONFIG_PREFIXES.items() if name.startswith(p)), None)
        if tool is not None and path.count("/") <= 1:
            found.append((path, tool))
    return found


def declared_tools(facts: ProjectFacts) -> list[tuple[str, str]]:
    """Return (tool, manifest) for each formatter, linter or type checker declared as a
    dependency, in manifest order, each tool once."""
    found: dict[str, str] = {}
    for dep in facts.dependencies:
        tool = _TOOL_PACKAGES.get(dep.name.split("[", 1)[0].lower())
        if tool is not None and tool not in found:
            found[tool] = dep.manifest
    return list(found.items())


def tool_lines(facts: ProjectFacts, files: Sequence[str]) -> list[str]:
    """Return one sentence per formatting, linting or type-checking tool with its evidence (its
    configuration file or the manifest declaring it), and one pointing at the commands that run
    them."""
    lines = [f"{tool} is configured in `{path}`." for path, tool in config_files(files)]
    configured = {tool for _, tool in config_files(files)}
    lines += [
        f"{tool} is declared as a dependency in `{manifest}`."
        for tool, manifest in declared_tools(facts)
        if tool not in configured
    ]
    kinds = sorted({c.kind for c in facts.commands if c.kind in {"lint", "format", "typecheck"}})
    if kinds:
        lines.append(
            "Run the " + "/".join(kinds) + " commands listed under Development Setup before"
            " committing."
        )
    return lines


def commit_style(commits: Sequence[Commit]) -> str | None:
    """Return one sentence describing the commit subjects of ``commits`` (conventional-commit
    types, ``area: subject`` prefixes, or plain sentences), with an example; ``None`` when there
    are no commits."""
    subjects = [commit.subject for commit in commits if commit.subject]
    if not subjects:
        return None
    total = len(subjects)
    conventional = [s for s in subjects if _CONVENTIONAL.match(s)]
    prefixed = [s for s in subjects if _AREA_PREFIX.match(s) and not _CONVENTIONAL.match(s)]
    capitalised = sum(1 for s in subjects if s[:1].isupper())
    example = subjects[0]
    if len(conventional) * 2 > total:
        return (
            "Most recent commit subjects follow the conventional-commit form"
            f" `type(scope): summary`, e.g. `{conventional[0]}`."
        )
    if len(prefixed) * 2 > total:
        return (
            "Most recent commit subjects start with the area they touch and a colon,"
            f" e.g. `{prefixed[0]}`."
        )
    case = "start with a capital letter" if capitalised * 2 > total else "start in lower case"
    return f"Recent commit subjects are plain sentences that {case}, e.g. `{example}`."
