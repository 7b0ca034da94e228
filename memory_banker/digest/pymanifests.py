"""Python manifests read fully: ``setup.py`` (parsed with ``ast``, never executed), ``setup.cfg``,
requirements files, ``pyproject.toml`` (``[project]`` and ``[tool.poetry]``), ``tox.ini`` and
``noxfile.py``. A manifest that does not parse contributes a note saying so and nothing else."""

from __future__ import annotations

import ast
import re
import tomllib
from configparser import ConfigParser
from configparser import Error as ConfigParserError
from typing import Any

from memory_banker.digest.declared import ManifestFacts, split_requirement
from memory_banker.digest.facts import Dependency
from memory_banker.digest.paths import file_name

_LINT_TOOLS = ("ruff", "black", "isort", "flake8", "pylint", "mypy", "pyright", "pytype")

_RUNTIME_STEMS = frozenset({"requirements", "base", "main", "prod", "production", "install"})


# --- pyproject.toml ------------------------------------------------------------------------------


def pyproject(path: str, text: str, facts: ManifestFacts) -> None:
    """Read ``[project]``, ``[tool.poetry]``, pytest and linter settings of a pyproject.toml."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        facts.note(path, "does not parse as TOML")
        return
    project = _table(data, "project")
    tool = _table(data, "tool")
    poetry = _table(tool, "poetry")
    if project:
        facts.identify(path, project.get("name"), project.get("description"))
        if isinstance(project.get("requires-python"), str):
            facts.runtimes.append(f"Python {project['requires-python']} ({path})")
        for requirement in _strings(project.get("dependencies")):
            facts.requirement(path, requirement, "runtime")
        optional = _table(project, "optional-dependencies")
        for group in sorted(optional):
            for requirement in _strings(optional[group]):
                facts.requirement(path, requirement, group)
        for table in ("scripts", "gui-scripts"):
            for script, target in sorted(_table(project, table).items()):
                facts.entry_points.append(f"console script `{script}` -> `{target}` ({path})")
    if poetry:
        facts.identify(path, poetry.get("name"), poetry.get("description"))
        for dep_name, spec in _table(poetry, "dependencies").items():
            if dep_name == "python":
                facts.runtimes.append(f"Python {_spec_text(spec)} ({path})")
            else:
                facts.dependencies.append(Dependency(dep_name, _spec_text(spec), path, "runtime"))
        groups = {"dev": _table(poetry, "dev-dependencies")}
        for group, table in sorted(_table(poetry, "group").items()):
            if isinstance(table, dict):
                groups[group] = _table(table, "dependencies")
        for group, deps in groups.items():
            for dep_name, spec in deps.items():
                facts.dependencies.append(Dependency(dep_name, _spec_text(spec), path, group))
        for script, target in sorted(_table(poetry, "scripts").items()):
            facts.entry_points.append(f"console script `{script}` -> `{target}` ({path})")
    groups_table = _table(data, "dependency-groups")
    for group in sorted(groups_table):
        for requirement in _strings(groups_table[group]):
            facts.requirement(path, requirement, group)
    if "pytest" in tool:
        facts.framework("pytest", f"[tool.pytest] in {path}")
    tools = [name for name in _LINT_TOOLS if name in tool]
    parts = []
    if project or poetry:
        count = sum(1 for dep in facts.dependencies if dep.manifest == path)
        parts.append(f"package metadata, {count} dependencies")
    else:
        parts.append("tool settings only (no [project] or [tool.poetry] table)")
    if tools:
        parts.append("configures " + ", ".join(tools))
    facts.note(path, "; ".join(parts))


def _table(data: object, key: str) -> dict[str, Any]:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def _strings(value: object) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


def _spec_text(spec: object) -> str:
    if isinstance(spec, str):
        return spec
    if isinstance(spec, dict):
        return str(spec.get("version", spec.get("git", spec.get("path", ""))))
    return ""


# --- requirements files --------------------------------------------------------------------------


def requirements_txt(path: str, text: str, facts: ManifestFacts) -> None:
    """Read a pip requirements file; its group is its name's qualifier (``requirements-dev`` →
    ``dev``, ``requirements/docs.txt`` → ``docs``), ``runtime`` for a plain one."""
    stem = file_name(path).rsplit(".", 1)[0]
    qualifier = (
        re.sub(r"^requirements[-_.]?", "", stem) if stem.startswith("requirements") else stem
    )
    group = "runtime" if not qualifier or qualifier in _RUNTIME_STEMS else qualifier
    count = 0
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-", "git+", "http", ".", "/")):
            continue
        before = len(facts.dependencies)
        facts.requirement(path, line, group)
        count += len(facts.dependencies) - before
    facts.note(path, f"{count} {group} requirements")
    if any(dep.name.lower() == "pytest" for dep in facts.dependencies if dep.manifest == path):
        facts.framework("pytest", f"dependency in {path}")


# --- setup.cfg -----------------------------------------------------------------------------------


def setup_cfg(path: str, text: str, facts: ManifestFacts) -> None:
    """Read ``[metadata]``, ``[options]`` (python_requires, install_requires), extras and entry
    points of a setup.cfg, and its tool sections."""
    parser = ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except ConfigParserError:
        facts.note(path, "does not parse as INI")
        return
    facts.identify(
        path,
        parser.get("metadata", "name", fallback=""),
        parser.get("metadata", "description", fallback=""),
    )
    python = parser.get("options", "python_requires", fallback="").strip()
    if python:
        facts.runtimes.append(f"Python {python} ({path})")
    before = len(facts.dependencies)
    for line in _lines(parser.get("options", "install_requires", fallback="")):
        facts.requirement(path, line, "runtime")
    for key in ("tests_require", "setup_requires"):
        for line in _lines(parser.get("options", key, fallback="")):
            facts.requirement(path, line, "test" if key == "tests_require" else "build")
    if parser.has_section("options.extras_require"):
        for group in sorted(parser.options("options.extras_require")):
            for line in _lines(parser.get("options.extras_require", group)):
                facts.requirement(path, line, group)
    if parser.has_section("options.entry_points"):
        for kind in ("console_scripts", "gui_scripts"):
            for line in _lines(parser.get("options.entry_points", kind, fallback="")):
                _console_script(path, line, facts)
    if parser.has_section("tool:pytest"):
        facts.framework("pytest", f"[tool:pytest] in {path}")
    count = len(facts.dependencies) - before
    sections = [s for s in ("flake8", "mypy", "isort", "pycodestyle") if parser.has_section(s)]
    note = f"{count} dependencies" if count else "no install_requires, tests_require or extras"
    facts.note(path, note + (f"; configures {', '.join(sections)}" if sections else ""))


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def _console_script(path: str, line: str, facts: ManifestFacts) -> None:
    if "=" in line:
        script, target = (part.strip() for part in line.split("=", 1))
        facts.entry_points.append(f"console script `{script}` -> `{target}` ({path})")


# --- setup.py ------------------------------------------------------------------------------------


def setup_py(path: str, text: str, facts: ManifestFacts) -> None:
    """Read the literal arguments of the ``setup(...)`` call in a setup.py, never running it.

    Module-level names bound to literals (``requires = [...]``) are resolved; anything computed
    is left out."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        facts.note(path, "does not parse as Python")
        return
    names: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                value = _literal(node.value, names)
                if value is not None:
                    names[target.id] = value
    call = next(
        (
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and _call_name(node.func) == "setup"
        ),
        None,
    )
    if call is None:
        facts.note(path, "no setup() call")
        return
    args = {kw.arg: _literal(kw.value, names) for kw in call.keywords if kw.arg}
    facts.identify(path, args.get("name"), args.get("description"))
    if isinstance(args.get("python_requires"), str):
        facts.runtimes.append(f"Python {args['python_requires']} ({path})")
    before = len(facts.dependencies)
    for key, group in (("install_requires", "runtime"), ("tests_require", "test"),
                       ("setup_requires", "build")):  # fmt: skip
        for requirement in _requirement_list(args.get(key)):
            facts.requirement(path, requirement, group)
    extras = args.get("extras_require")
    if isinstance(extras, dict):
        for group in sorted(extras, key=str):
            for requirement in _requirement_list(extras[group]):
                facts.requirement(path, requirement, str(group))
    entry = args.get("entry_points")
    if isinstance(entry, dict):
        for kind in ("console_scripts", "gui_scripts"):
            for line in _requirement_list(entry.get(kind)):
                _console_script(path, line, facts)
    elif isinstance(entry, str):
        parser = ConfigParser(interpolation=None)
        try:
            parser.read_string(entry)
            for line in _lines(parser.get("console_scripts", "", fallback="") or ""):
                _console_script(path, line, facts)
        except ConfigParserError:
            pass
    for script in _requirement_list(args.get("scripts")):
        facts.entry_points.append(f"script `{script}` ({path})")
    facts.note(path, f"setup() call, {len(facts.dependencies) - before} dependencies")


def _call_name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _literal(node: ast.expr, names: dict[str, object]) -> object:
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.List | ast.Tuple):
        items = [_literal(item, names) for item in node.elts]
        return [item for item in items if item is not None]
    if isinstance(node, ast.Dict):
        return {
            _literal(key, names): _literal(value, names)
            for key, value in zip(node.keys, node.values, strict=True)
            if key is not None
        }
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal(node.left, names), _literal(node.right, names)
        if isinstance(left, list) and isinstance(right, list):
            return left + right
        return None
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def _requirement_list(value: object) -> list[str]:
    if isinstance(value, str):
        return _lines(value)
    if isinstance(value, list | tuple):
        return [item for item in value if isinstance(item, str)]
    return []


# --- tox.ini and noxfile.py ----------------------------------------------------------------------


def tox_ini(path: str, text: str, facts: ManifestFacts) -> None:
    """Read tox environments: ``tox`` and ``tox -e NAME`` commands, test tools in their
    commands, and their deps."""
    parser = ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except ConfigParserError:
        facts.note(path, "does not parse as INI")
        return
    envs = []
    for section in parser.sections():
        if section.startswith("testenv:"):
            envs.append(section.split(":", 1)[1])
    envlist = parser.get("tox", "envlist", fallback="")
    facts.command("test", "tox", path)
    for env in sorted(set(envs)):
        kind = _env_kind(env)
        facts.command(kind, f"tox -e {env}", path)
    for section in parser.sections():
        if section == "testenv" or section.startswith("testenv:"):
            commands = parser.get(section, "commands", fallback="")
            _tools_in(commands, f"commands in {path} [{section}]", facts)
            for line in _lines(parser.get(section, "deps", fallback="")):
                if not line.startswith(("-", ".")):
                    parsed = split_requirement(line)
                    if parsed is not None:
                        facts.dependencies.append(Dependency(*parsed, path, f"tox {section}"))
    if parser.has_section("pytest"):
        facts.framework("pytest", f"[pytest] in {path}")
    listed = " ".join(envlist.replace(",", " ").split()) or " ".join(sorted(envs)) or "none"
    facts.note(path, f"tox environments: {listed}")


def _env_kind(name: str) -> str:
    lowered = name.lower()
    for kind, words in (("lint", ("lint", "flake8", "ruff", "style", "pre-commit")),
                        ("typecheck", ("mypy", "typ", "pyright")), ("docs", ("doc",)),
                        ("format", ("format", "black", "fmt"))):  # fmt: skip
        if any(word in lowered for word in words):
            return kind
    return "test"


def _tools_in(commands: str, where: str, facts: ManifestFacts) -> None:
    for tool, pattern in (("pytest", r"\bpytest\b|-m\s+pytest"), ("unittest", r"-m\s+unittest"),
                          ("nose2", r"\bnose2\b")):  # fmt: skip
        if re.search(pattern, commands):
            facts.framework(tool, where)


def noxfile(path: str, text: str, facts: ManifestFacts) -> None:
    """Read nox sessions (``nox -s NAME`` commands) and the test tools they run."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        facts.note(path, "does not parse as Python")
        return
    sessions = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and any(
            "session" in ast.unparse(dec) for dec in node.decorator_list
        ):
            sessions.append(node.name)
            _tools_in(ast.unparse(node), f"session {node.name} in {path}", facts)
    for name in sessions:
        facts.command(_env_kind(name), f"nox -s {name}", path)
    facts.note(path, f"nox sessions: {', '.join(sessions) or 'none'}")
