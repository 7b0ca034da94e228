"""Facts read from manifests, CI files and the README: name, dependencies, entry points, runtimes.

Manifests are the package files of the common ecosystems (``pyproject.toml``, ``setup.cfg``,
``requirements*.txt``, ``package.json``, ``Cargo.toml``, ``go.mod``, ``Gemfile``, ``pom.xml``)
and build or CI files (``Dockerfile``, ``Makefile``, workflows …) at the project root, or one
folder down for a workspace member. A manifest that does not parse contributes nothing.
"""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from collections.abc import Sequence
from configparser import ConfigParser
from configparser import Error as ConfigParserError
from dataclasses import dataclass, field

from memory_banker.digest.facts import Dependency
from memory_banker.digest.paths import file_name

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

_CI_RE = re.compile("|".join(fnmatch.translate(glob) for glob in _CI_GLOBS))

_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*(.*)$")


# --- kinds of file -------------------------------------------------------------------------------


def is_manifest(path: str) -> bool:
    """Return True for a manifest, build, CI or root README file whose text the digest shows."""
    name = file_name(path)
    if "/" not in path and (name in _MANIFEST_NAMES or name.upper().startswith("README")):
        return True
    if name in {"pyproject.toml", "package.json", "Cargo.toml", "go.mod", "Dockerfile"}:
        # Workspace members: one level down counts (monorepos), deeper is usually fixtures.
        return path.count("/") == 1
    if name.startswith("requirements") and name.endswith(".txt") and path.count("/") <= 1:
        return True
    return is_ci(path)


def is_ci(path: str) -> bool:
    """Return True for a CI configuration file."""
    return _CI_RE.match(path) is not None


# --- manifest facts ------------------------------------------------------------------------------


@dataclass
class ManifestFacts:
    """What the manifests say, merged: the first name and description found win."""

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


def _pyproject(path: str, text: str, facts: ManifestFacts) -> None:
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


def _add_requirement(facts: ManifestFacts, path: str, requirement: str, group: str) -> None:
    parsed = _split_requirement(requirement)
    if parsed is not None:
        facts.dependencies.append(Dependency(parsed[0], parsed[1], path, group))


def _requirements_txt(path: str, text: str, facts: ManifestFacts) -> None:
    group = "dev" if re.search(r"dev|test", file_name(path)) else "runtime"
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-", "git+", "http")):
            continue
        _add_requirement(facts, path, line, group)


def _setup_cfg(path: str, text: str, facts: ManifestFacts) -> None:
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


def _package_json(path: str, text: str, facts: ManifestFacts) -> None:
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


def _cargo(path: str, text: str, facts: ManifestFacts) -> None:
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


def _go_mod(path: str, text: str, facts: ManifestFacts) -> None:
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


def _gemfile(path: str, text: str, facts: ManifestFacts) -> None:
    for match in re.finditer(
        r"""^\s*gem\s+['"]([^'"]+)['"](?:\s*,\s*['"]([^'"]+)['"])?""", text, re.M
    ):
        facts.dependencies.append(Dependency(match.group(1), match.group(2) or "", path, "runtime"))
        if match.group(1) == "rspec":
            facts.frameworks.add("rspec")


def _pom(path: str, text: str, facts: ManifestFacts) -> None:
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


def manifest_facts(manifests: Sequence[tuple[str, str]]) -> ManifestFacts:
    """Return the facts of ``manifests`` ((path, text) pairs), root manifests first."""
    facts = ManifestFacts()
    # Root manifests first, so the project's own name wins over a workspace member's; among
    # them the language's own manifest before package.json (often only a front-end's).
    priority = ("pyproject.toml", "Cargo.toml", "go.mod", "setup.cfg", "pom.xml", "package.json")

    def order(item: tuple[str, str]) -> tuple[int, int, str]:
        name = file_name(item[0])
        rank = priority.index(name) if name in priority else len(priority)
        return item[0].count("/"), rank, item[0]

    for path, text in sorted(manifests, key=order):
        name = file_name(path)
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


# --- README and workflows ------------------------------------------------------------------------


def readme_summary(text: str, name: str = "") -> str:
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


def workflow_name(text: str) -> str:
    """Return the ``name:`` of a CI workflow file, ``""`` when it has none."""
    match = re.search(r"^name:\s*['\"]?([^'\"\n#]+?)['\"]?\s*$", text, re.MULTILINE)
    return match.group(1).strip() if match else ""
