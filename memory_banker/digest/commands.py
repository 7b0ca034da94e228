"""Developer commands read from build and CI files: Makefile and justfile targets and the
``run``/``script`` steps of CI workflows, each kept with the file (and target) it came from.

Manifests add their own commands (package.json scripts, tox environments, nox sessions, cargo,
go, maven and gradle) while they are read; this module adds the rest and names the test tools
the CI steps run.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from memory_banker.digest.declared import ManifestFacts
from memory_banker.digest.ecosystems import script_kind
from memory_banker.digest.manifests import is_ci
from memory_banker.digest.paths import file_name

MAX_CI_STEPS = 20
"""At most this many CI step commands are kept."""

_MAKE_TARGET = re.compile(r"^([A-Za-z0-9][\w./-]*)\s*:(?!=)", re.MULTILINE)
_JUST_RECIPE = re.compile(r"^@?([A-Za-z0-9][\w-]*)(?:\s+[^:=\n]*)?:(?!=)", re.MULTILINE)
_STEP_TOOLS = (
    ("pytest", r"\bpytest\b|-m\s+pytest"), ("unittest", r"-m\s+unittest"),
    ("go test", r"\bgo\s+test\b"), ("cargo test", r"\bcargo\s+(?:nextest|test)\b"),
    ("rspec", r"\brspec\b"), ("phpunit", r"\bphpunit\b"), ("jest", r"\bjest\b"),
    ("vitest", r"\bvitest\b"), ("mocha", r"\bmocha\b"), ("node:test", r"node\s+--test\b"),
)  # fmt: skip
_COMMAND_KINDS = (
    ("test", r"\b(pytest|unittest|tox|nox|test)\b"),
    ("lint", r"\b(ruff|flake8|pylint|eslint|lint|clippy|golangci)"),
    ("format", r"\b(black|prettier|fmt|format)\b"), ("typecheck", r"\b(mypy|pyright|tsc)\b"),
    ("build", r"\b(build|compile|sdist|wheel|package)\b"), ("docs", r"\b(sphinx|mkdocs|docs?)\b"),
)  # fmt: skip


def command_kind(command: str) -> str:
    """Return the kind of a shell command line (``test``, ``lint`` … ``other``)."""
    for kind, pattern in _COMMAND_KINDS:
        if re.search(pattern, command):
            return kind
    return "other"


def add_commands(files: Sequence[tuple[str, str]], facts: ManifestFacts) -> None:
    """Add the commands of the Makefiles, justfiles and CI files among ``files`` to ``facts``."""
    ci_steps = 0
    for path, text in files:
        name = file_name(path)
        if name in {"Makefile", "GNUmakefile"} and "/" not in path:
            for target in _make_targets(text):
                facts.command(script_kind(target), f"make {target}", f"{path} target {target}")
        elif name.lower() == "justfile" and "/" not in path:
            for recipe in dict.fromkeys(_JUST_RECIPE.findall(text)):
                facts.command(script_kind(recipe), f"just {recipe}", f"{path} recipe {recipe}")
        elif is_ci(path):
            for step in ci_commands(text):
                for tool, pattern in _STEP_TOOLS:
                    if re.search(pattern, step):
                        facts.framework(tool, f"CI step in {path}")
                if ci_steps < MAX_CI_STEPS:
                    before = len(facts.commands)
                    facts.command(command_kind(step), step, f"{path} (CI step)")
                    ci_steps += len(facts.commands) - before


def _make_targets(text: str) -> list[str]:
    phony: set[str] = set()
    for match in re.finditer(r"^\.PHONY\s*:\s*(.+)$", text, re.MULTILINE):
        phony.update(match.group(1).split())
    targets = []
    for match in _MAKE_TARGET.finditer(text):
        target = match.group(1)
        if "%" in target or "/" in target or ("." in target and target not in phony):
            continue
        targets.append(target)
    return list(dict.fromkeys(targets))


def ci_commands(text: str) -> list[str]:
    """Return the shell commands of a CI file's ``run:``/``script:`` steps, one line each,
    without comments and ``echo``/``cd`` lines."""
    commands: list[str] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        match = re.match(r"^(\s*)(?:-\s+)?(run|script|before_script|install)\s*:\s*(.*)$", line)
        if match is None:
            continue
        indent, value = len(match.group(1)), match.group(3).strip()
        block: list[str] = []
        if value in {"|", ">", "|-", ">-", ""}:
            while index < len(lines) and (
                not lines[index].strip() or len(lines[index]) - len(lines[index].lstrip()) > indent
            ):
                item = lines[index].strip()
                index += 1
                block.append(item[2:] if item.startswith("- ") else item)
        else:
            block.append(value)
        for item in block:
            item = item.strip().strip("'\"")
            if item and not item.startswith(("#", "echo ", "cd ", "export ", "set ")):
                commands.append(item)
    return commands
