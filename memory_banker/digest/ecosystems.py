"""Manifests of the other ecosystems read fully: ``package.json``, ``Cargo.toml``, ``go.mod``,
``Gemfile`` and ``*.gemspec``, ``pom.xml``, ``build.gradle(.kts)`` and ``composer.json``.
A manifest that does not parse contributes a note saying so and nothing else."""

from __future__ import annotations

import json
import re
import tomllib
import xml.etree.ElementTree as ElementTree
from typing import Any

from memory_banker.digest.declared import TEST_TOOLS, ManifestFacts
from memory_banker.digest.facts import Dependency

_JS_RUNNERS = (
    ("jest", r"\bjest\b"), ("vitest", r"\bvitest\b"), ("mocha", r"\bmocha\b"),
    ("tape", r"\btape\b"), ("ava", r"\bava\b"), ("tap", r"(?<![-\w])tap\b"),
    ("jasmine", r"\bjasmine\b"), ("node:test", r"node\s+(?:[-\w=]+\s+)*--test\b"),
    ("playwright", r"\bplaywright\s+test\b"),
)  # fmt: skip

_SCRIPT_KINDS = (
    ("test", ("test", "spec", "coverage", "tap")), ("lint", ("lint", "eslint", "check")),
    ("format", ("format", "prettier", "fmt")), ("typecheck", ("tsc", "type")),
    ("build", ("build", "compile", "bundle", "dist", "prepare", "pack")), ("docs", ("doc",)),
    ("run", ("start", "dev", "serve", "watch")),
)  # fmt: skip

MAX_SCRIPTS = 40
"""At most this many package.json scripts become commands."""


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def script_kind(name: str) -> str:
    """Return the kind of command a script or target named ``name`` is."""
    lowered = name.lower()
    for kind, words in _SCRIPT_KINDS:
        if any(word in lowered for word in words):
            return kind
    return "other"


# --- package.json --------------------------------------------------------------------------------


def package_json(path: str, text: str, facts: ManifestFacts) -> None:
    """Read name, description, dependency groups, engines, bin/main/exports and scripts; name
    the test runner from its dependencies and its test script."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        facts.note(path, "does not parse as JSON")
        return
    if not isinstance(data, dict):
        facts.note(path, "is not a JSON object")
        return
    facts.identify(path, data.get("name"), data.get("description"))
    counts = []
    groups = (("dependencies", "runtime"), ("devDependencies", "dev"),
              ("peerDependencies", "peer"), ("optionalDependencies", "optional"))  # fmt: skip
    for key, group in groups:
        deps = _dict(data.get(key))
        for dep_name, spec in deps.items():
            facts.dependencies.append(Dependency(dep_name, str(spec), path, group))
            if dep_name in TEST_TOOLS:
                facts.framework(TEST_TOOLS[dep_name], f"{key} in {path}")
        if deps:
            counts.append(f"{len(deps)} {key}")
    for engine, version in sorted(_dict(data.get("engines")).items()):
        facts.runtimes.append(f"{engine} {version} ({path})")
    bin_field = data.get("bin")
    if isinstance(bin_field, str):
        facts.entry_points.append(f"package bin `{data.get('name', '')}` -> `{bin_field}` ({path})")
    for script, target in sorted(_dict(bin_field).items()):
        facts.entry_points.append(f"package bin `{script}` -> `{target}` ({path})")
    main = data.get("main")
    if isinstance(main, str):
        facts.entry_points.append(f"package main -> `{main}` ({path})")
    exported = _export_root(data.get("exports"))
    if exported and exported.lstrip("./") != (main or "").lstrip("./"):
        facts.entry_points.append(f"package exports -> `{exported}` ({path})")
    scripts = _dict(data.get("scripts"))
    for index, (script, command) in enumerate(scripts.items()):
        if not isinstance(command, str) or index >= MAX_SCRIPTS:
            continue
        typed = f"npm {script}" if script in {"test", "start"} else f"npm run {script}"
        facts.command(script_kind(script), typed, f"{path} scripts.{script}: {command}")
        if script_kind(script) == "test":
            for runner, pattern in _JS_RUNNERS:
                if re.search(pattern, command):
                    facts.framework(runner, f"scripts.{script} in {path}")
    facts.note(path, ", ".join(counts) or "no dependencies")


def _export_root(exports: object) -> str:
    if isinstance(exports, str):
        return exports
    if isinstance(exports, dict):
        root = exports.get(".", exports)
        if isinstance(root, str):
            return root
        if isinstance(root, dict):
            for key in ("default", "require", "import", "node"):
                value = root.get(key)
                if isinstance(value, str):
                    return value
    return ""


# --- Cargo.toml ----------------------------------------------------------------------------------


def cargo_toml(path: str, text: str, facts: ManifestFacts) -> None:
    """Read package identity, rust-version, dependency groups, features, bins and members."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        facts.note(path, "does not parse as TOML")
        return
    package = _dict(data.get("package"))
    facts.identify(path, package.get("name"), package.get("description"))
    if isinstance(package.get("rust-version"), str):
        facts.runtimes.append(f"Rust {package['rust-version']} ({path})")
    if isinstance(package.get("edition"), str):
        facts.runtimes.append(f"Rust edition {package['edition']} ({path})")
    groups = [("dependencies", "runtime"), ("dev-dependencies", "dev"),
              ("build-dependencies", "build")]  # fmt: skip
    tables = [(data, "")]
    tables += [(_dict(t), f" ({name})") for name, t in sorted(_dict(data.get("target")).items())]
    for table, suffix in tables:
        for key, group in groups:
            for dep_name, spec in _dict(table.get(key)).items():
                version = spec if isinstance(spec, str) else str(_dict(spec).get("version", ""))
                facts.dependencies.append(Dependency(dep_name, version, path, group + suffix))
    for binary in data.get("bin", []) if isinstance(data.get("bin"), list) else []:
        if isinstance(binary, dict) and "name" in binary:
            target = binary.get("path", f"src/bin/{binary['name']}.rs")
            facts.entry_points.append(f"binary `{binary['name']}` -> `{target}` ({path})")
    parts = []
    features = sorted(_dict(data.get("features")))
    if features:
        parts.append("features: " + ", ".join(features))
    members = _dict(data.get("workspace")).get("members")
    if isinstance(members, list):
        parts.append("workspace members: " + ", ".join(str(m) for m in members))
    if package:
        facts.framework("cargo test", f"Cargo package in {path}")
        facts.command("build", "cargo build", path)
        facts.command("test", "cargo test", path)
    count = sum(1 for dep in facts.dependencies if dep.manifest == path)
    facts.note(path, "; ".join([f"{count} dependencies", *parts]))


# --- go.mod --------------------------------------------------------------------------------------


def module_name(module_path: str) -> str:
    """Return a Go module's name: the last path element that is not a ``/vN`` suffix."""
    parts = [part for part in module_path.split("/") if part]
    while len(parts) > 1 and re.fullmatch(r"v\d+", parts[-1]):
        parts.pop()
    return parts[-1] if parts else module_path


def go_mod(path: str, text: str, facts: ManifestFacts) -> None:
    """Read the module path, go version and requirements (direct, then indirect)."""
    module = re.search(r"^module\s+(\S+)", text, re.MULTILINE)
    if module:
        facts.identify(path, module_name(module.group(1).strip('"')))
    go_version = re.search(r"^go\s+(\S+)", text, re.MULTILINE)
    if go_version:
        facts.runtimes.append(f"Go {go_version.group(1)} ({path})")
    in_block = False
    count = 0
    for line in text.splitlines():
        indirect = "// indirect" in line
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
            group = "indirect" if indirect else "runtime"
            facts.dependencies.append(Dependency(parts[0], parts[1], path, group))
            count += 1
    facts.framework("go test", f"Go module in {path}")
    facts.command("test", "go test ./...", path)
    facts.command("build", "go build ./...", path)
    module_text = f"module {module.group(1)}, " if module else ""
    facts.note(path, f"{module_text}{count} requirements")


# --- Ruby ----------------------------------------------------------------------------------------


def gemfile(path: str, text: str, facts: ManifestFacts) -> None:
    """Read ``gem`` lines with their ``group`` blocks; ``gemspec`` lines are noted."""
    group_stack: list[str] = []
    count = 0
    for line in text.splitlines():
        stripped = line.strip()
        opened = re.match(r"group\s+(.+?)\s+do\b", stripped)
        if opened:
            group_stack.append(re.sub(r"[:\s]", "", opened.group(1)).replace(",", "+"))
            continue
        if stripped == "end" and group_stack:
            group_stack.pop()
            continue
        gem = re.match(r"""gem\s+['"]([^'"]+)['"](?:\s*,\s*['"]([^'"]+)['"])?""", stripped)
        if gem:
            group = group_stack[-1] if group_stack else "runtime"
            facts.dependencies.append(Dependency(gem.group(1), gem.group(2) or "", path, group))
            count += 1
            if gem.group(1) in TEST_TOOLS:
                facts.framework(TEST_TOOLS[gem.group(1)], f"gem in {path}")
    facts.note(path, f"{count} gems" + ("; uses the gemspec" if "gemspec" in text else ""))


def gemspec(path: str, text: str, facts: ManifestFacts) -> None:
    """Read name, summary, dependencies and executables of a ``*.gemspec``."""
    name = re.search(r"""\.name\s*=\s*['"]([^'"]+)['"]""", text)
    summary = re.search(r"""\.summary\s*=\s*['"]([^'"]+)['"]""", text)
    facts.identify(path, name.group(1) if name else "", summary.group(1) if summary else "")
    for match in re.finditer(
        r"""add_(runtime_|development_)?dependency\s*\(?\s*['"]([^'"]+)['"](?:\s*,\s*['"]([^'"]+)['"])?""",
        text,
    ):
        group = "dev" if match.group(1) == "development_" else "runtime"
        facts.dependencies.append(Dependency(match.group(2), match.group(3) or "", path, group))
        if match.group(2) in TEST_TOOLS:
            facts.framework(TEST_TOOLS[match.group(2)], f"dependency in {path}")
    ruby = re.search(r"""required_ruby_version\s*=\s*['"]([^'"]+)['"]""", text)
    if ruby:
        facts.runtimes.append(f"Ruby {ruby.group(1)} ({path})")
    facts.note(path, f"{sum(1 for d in facts.dependencies if d.manifest == path)} dependencies")


# --- Java ----------------------------------------------------------------------------------------


def pom_xml(path: str, text: str, facts: ManifestFacts) -> None:
    """Read artifactId/name/description, the Java version and the dependencies with scopes."""
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError:
        facts.note(path, "does not parse as XML")
        return
    for element in root.iter():
        if isinstance(element.tag, str) and "}" in element.tag:
            element.tag = element.tag.split("}", 1)[1]
    facts.identify(
        path, root.findtext("artifactId", "") or root.findtext("name", ""),
        root.findtext("description", ""),
    )  # fmt: skip
    properties = root.find("properties")
    if properties is not None:
        for key in ("maven.compiler.release", "java.version", "maven.compiler.source"):
            value = properties.findtext(key)
            if value:
                facts.runtimes.append(f"Java {value} ({path})")
                break
    count = 0
    for dep in root.findall("./dependencies/dependency"):
        artifact = dep.findtext("artifactId", "")
        group_id = dep.findtext("groupId", "")
        scope = dep.findtext("scope", "") or "runtime"
        name = f"{group_id}:{artifact}" if group_id else artifact
        facts.dependencies.append(
            Dependency(name, dep.findtext("version", ""), path, "dev" if scope == "test" else scope)
        )
        count += 1
        if artifact in TEST_TOOLS or artifact.startswith("junit"):
            facts.framework(TEST_TOOLS.get(artifact, "junit"), f"dependency in {path}")
    modules = [m.text for m in root.findall("./modules/module") if m.text]
    facts.command("test", "mvn test", path)
    facts.command("build", "mvn package", path)
    facts.note(
        path, f"{count} dependencies" + (f"; modules: {', '.join(modules)}" if modules else "")
    )


_GRADLE_DEP = re.compile(
    r"""^\s*(implementation|api|compileOnly|runtimeOnly|testImplementation|testRuntimeOnly|"""
    r"""testCompileOnly|annotationProcessor|kapt|compile|testCompile)\s*\(?\s*['"]([^'"]+)['"]""",
    re.MULTILINE,
)


def gradle(path: str, text: str, facts: ManifestFacts) -> None:
    """Read the dependency lines of a Gradle build script (Groovy or Kotlin DSL)."""
    count = 0
    for match in _GRADLE_DEP.finditer(text):
        coordinates = match.group(2)
        parts = coordinates.split(":")
        name = ":".join(parts[:2]) if len(parts) >= 2 else coordinates
        version = parts[2] if len(parts) >= 3 else ""
        group = "dev" if match.group(1).startswith("test") else "runtime"
        facts.dependencies.append(Dependency(name, version, path, group))
        count += 1
        artifact = parts[1] if len(parts) >= 2 else coordinates
        if artifact.startswith(("junit", "testng")):
            facts.framework("junit" if "junit" in artifact else "testng", f"dependency in {path}")
    facts.command("test", "gradle test", path)
    facts.command("build", "gradle build", path)
    facts.note(path, f"{count} dependencies")


# --- PHP -----------------------------------------------------------------------------------------


def composer_json(path: str, text: str, facts: ManifestFacts) -> None:
    """Read name, description, require/require-dev, bin and scripts of a composer.json."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        facts.note(path, "does not parse as JSON")
        return
    if not isinstance(data, dict):
        return
    facts.identify(path, data.get("name"), data.get("description"))
    for key, group in (("require", "runtime"), ("require-dev", "dev")):
        for dep_name, spec in _dict(data.get(key)).items():
            if dep_name == "php":
                facts.runtimes.append(f"PHP {spec} ({path})")
                continue
            facts.dependencies.append(Dependency(dep_name, str(spec), path, group))
            if dep_name in TEST_TOOLS:
                facts.framework(TEST_TOOLS[dep_name], f"{key} in {path}")
    bins = data.get("bin")
    for target in [bins] if isinstance(bins, str) else bins if isinstance(bins, list) else []:
        facts.entry_points.append(f"package bin -> `{target}` ({path})")
    for script in _dict(data.get("scripts")):
        facts.command(script_kind(script), f"composer run {script}", f"{path} scripts.{script}")
    facts.note(path, f"{sum(1 for d in facts.dependencies if d.manifest == path)} dependencies")
