"""What the manifests declare, merged over every manifest read: the model the readers fill in."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from memory_banker.digest.facts import Command, Dependency

_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*(.*)$")


@dataclass
class ManifestFacts:
    """What the manifests say, merged: the first name and description found win."""

    name: str = ""
    description: str = ""
    name_source: str = ""
    """The manifest ``name`` was read from."""
    description_source: str = ""
    """The manifest ``description`` was read from."""
    entry_points: list[str] = field(default_factory=list)
    dependencies: list[Dependency] = field(default_factory=list)
    frameworks: set[str] = field(default_factory=set)
    evidence: list[str] = field(default_factory=list)
    """``framework: why`` lines, the first evidence found for each framework."""
    runtimes: list[str] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Per manifest, a line saying what it declares (or that it declares no dependencies)."""

    def identify(self, path: str, name: object, description: object = "") -> None:
        """Take ``name`` and ``description`` from ``path`` unless an earlier manifest had one."""
        if not self.name and isinstance(name, str) and name.strip():
            self.name = name.strip()
            self.name_source = path
        if not self.description and isinstance(description, str) and description.strip():
            self.description = " ".join(description.split())
            self.description_source = path

    def framework(self, name: str, why: str) -> None:
        """Record the test framework ``name`` and the evidence for it."""
        if name not in self.frameworks:
            self.frameworks.add(name)
            self.evidence.append(f"{name}: {why}")

    def command(self, kind: str, command: str, source: str) -> None:
        """Record a developer command once (the first source found wins)."""
        if all(existing.command != command for existing in self.commands):
            self.commands.append(Command(kind, command, source))

    def requirement(self, path: str, text: str, group: str) -> None:
        """Record a PEP 508 requirement string (markers and comments dropped)."""
        parsed = split_requirement(text)
        if parsed is not None:
            self.dependencies.append(Dependency(parsed[0], parsed[1], path, group))

    def note(self, path: str, text: str) -> None:
        """Record what ``path`` declares, one line."""
        self.notes.append(f"{path}: {text}")


def split_requirement(text: str) -> tuple[str, str] | None:
    """Return (name with extras, version spec) of a requirement line, or None for no name."""
    text = text.split(";", 1)[0].split(" #", 1)[0].strip()
    match = _REQUIREMENT.match(text)
    if match is None:
        return None
    return match.group(1) + (match.group(2) or ""), match.group(3).strip()


TEST_TOOLS = {
    "pytest": "pytest",
    "nose": "nose",
    "nose2": "nose2",
    "hypothesis": "hypothesis",
    "jest": "jest",
    "vitest": "vitest",
    "mocha": "mocha",
    "tape": "tape",
    "ava": "ava",
    "tap": "tap",
    "jasmine": "jasmine",
    "@playwright/test": "playwright",
    "playwright": "playwright",
    "cypress": "cypress",
    "rspec": "rspec",
    "minitest": "minitest",
    "phpunit/phpunit": "phpunit",
    "pestphp/pest": "pest",
    "junit": "junit",
    "junit-jupiter": "junit",
    "testng": "testng",
}
"""Dependency names that are test frameworks, and the framework each one names."""


def dependency_names(facts: ManifestFacts) -> set[str]:
    """The declared dependency names, lower-cased and without extras."""
    return {dep.name.split("[", 1)[0].lower() for dep in facts.dependencies}
