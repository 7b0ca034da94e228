"""The offline bank of small foreign-looking projects holds none of the statements that would be
false about them (the traps real repositories set: dependencies outside pyproject.toml, an RST
title, modules with a ``__main__`` block, bare-assert tests, generated HTML docs, a Go module's
``/v2`` suffix, a tape test script), and does hold the facts a reader needs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from memory_banker.digest.build import build_digest
from memory_banker.offline.writers import render_offline
from memory_banker.specs import AGENT_SPECS


def _git(root: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Ann Example",
        "GIT_AUTHOR_EMAIL": "ann@example.com",
        "GIT_COMMITTER_NAME": "Ann Example",
        "GIT_COMMITTER_EMAIL": "ann@example.com",
        "GIT_AUTHOR_DATE": "2026-03-01T12:00:00+00:00",
        "GIT_COMMITTER_DATE": "2026-03-01T12:00:00+00:00",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


def make_project(root: Path, files: dict[str, str]) -> Path:
    """Write ``files`` under ``root`` and commit them as one git commit."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "Import the project")
    return root


def offline_bank(project: Path) -> dict[str, str]:
    digest = build_digest(project)
    return {spec.name: render_offline(spec, digest.facts, digest.files) for spec in AGENT_SPECS}


def section(text: str, name: str) -> str:
    return text.split(f"## {name}\n\n", 1)[1].split("\n## ", 1)[0]


_HTML_PAGE = "<html><body>\n" + "<p>generated reference page</p>\n" * 300 + "</body></html>\n"

PYTHON_PROJECT = {
    "README.rst": (
        ".. image:: https://img.shields.io/pypi/v/clicky.svg\n"
        "   :target: https://pypi.org/project/clicky/\n\n"
        "\\$ clicky\\_\n"
        "===========\n\n"
        "Clicky is a Python package for creating command line interfaces with as little code\n"
        "as necessary.\n"
    ),
    "setup.cfg": (
        "[metadata]\n"
        "name = clicky\n"
        "description = Composable command line interface toolkit\n\n"
        "[options]\n"
        "package_dir =\n    = src\n"
        "packages = find:\n"
        "python_requires = >=3.8\n"
        "install_requires =\n"
        '    colorama; platform_system == "Windows"\n'
    ),
    "pyproject.toml": (
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n\n'
        "[tool.black]\nline-length = 88\n"
    ),
    "requirements/tests.txt": "pytest\n",
    "src/clicky/__init__.py": (
        '"""Composable command line interfaces."""\n\nfrom .core import Command, command\n'
    ),
    "src/clicky/core.py": (
        '"""Commands and the decorator that makes them."""\n\n\n'
        "class Command:\n"
        '    """A command line command."""\n\n'
        "    def main(self) -> None:\n"
        '        """Run the command."""\n\n\n'
        "def command(fn):\n"
        '    """Turn a function into a :class:`Command`."""\n'
        "    return Command()\n"
    ),
    "src/clicky/certs.py": (
        '"""Where the bundled certificates are."""\n\n\n'
        "def where() -> str:\n"
        '    return "/etc/ssl"\n\n\n'
        'if __name__ == "__main__":\n'
        "    print(where())\n"
    ),
    "src/clicky/help.py": (
        '"""Debugging information for bug reports."""\n\n\n'
        "def info() -> dict[str, str]:\n"
        '    return {"clicky": "8.0"}\n\n\n'
        'if __name__ == "__main__":\n'
        "    print(info())\n"
    ),
    "tests/test_core.py": (
        "from clicky.core import Command\n\n\n"
        "def test_command() -> None:\n"
        "    assert Command() is not None\n"
    ),
    "docs/api.html": _HTML_PAGE,
    "docs/index.html": _HTML_PAGE,
}

PYTHON_FALSE = (
    "No dependencies are declared",
    "$ clicky",
    "clicky\\_",
    "ways in",
    "packaged through",
    "python -m unittest",
    "Written in HTML",
    "HTML:",
)


@pytest.fixture(scope="module")
def python_bank(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return offline_bank(make_project(tmp_path_factory.mktemp("clicky"), PYTHON_PROJECT))


@pytest.mark.parametrize("statement", PYTHON_FALSE)
def test_python_project_bank_holds_no_false_statement(
    python_bank: dict[str, str], statement: str
) -> None:
    for name, text in python_bank.items():
        assert statement not in text, f"{name}: {statement!r}"


def test_python_project_modules_with_a_main_block_are_not_entry_points(
    python_bank: dict[str, str],
) -> None:
    how = section(python_bank["productContext"], "How It Works")
    entries, _, scripts = how.partition("Modules that also run on their own")
    assert "certs.py" not in entries
    assert "help.py" not in entries
    assert "- `src/clicky/certs.py`\n" in scripts
    assert "certs.py" not in python_bank["projectbrief"]


def test_python_project_bank_holds_its_facts(python_bank: dict[str, str]) -> None:
    assert "Composable command line interface toolkit" in python_bank["projectbrief"]
    assert "`colorama`" in section(python_bank["techContext"], "Dependencies")
    assert (
        "`src/clicky/core.py`: Commands and the decorator that makes them."
        in (python_bank["systemPatterns"])
    )
    assert "`Command`" in python_bank["systemPatterns"]


GO_PROJECT = {
    "go.mod": "module github.com/acme/cli/v2\n\ngo 1.21\n",
    "README.md": "# cli\n\ncli is a simple package for building command line apps in Go.\n",
    "app.go": (
        "// Package cli builds command line apps.\n"
        "package cli\n\n"
        "// App is a command line application.\n"
        "type App struct {\n\tName string\n}\n\n"
        "// Run runs the app.\n"
        "func (a *App) Run(args []string) error {\n\treturn nil\n}\n"
    ),
    "app_test.go": (
        'package cli\n\nimport "testing"\n\n'
        "func TestRun(t *testing.T) {\n\tif (&App{}).Run(nil) != nil {\n\t\tt.Fatal()\n\t}\n}\n"
    ),
}


def test_go_module_is_named_without_its_major_version_suffix(tmp_path: Path) -> None:
    bank = offline_bank(make_project(tmp_path, GO_PROJECT))

    assert bank["projectbrief"].startswith("# Project Brief: cli (generated offline)\n")
    for text in bank.values():
        assert "Brief: v2" not in text
        assert "**v2**" not in text


JS_PROJECT = {
    "package.json": (
        "{\n"
        '  "name": "qs-lite",\n'
        '  "description": "A querystring parser with nesting support",\n'
        '  "main": "lib/index.js",\n'
        '  "scripts": {"test": "tape test/*.js"},\n'
        '  "devDependencies": {"tape": "^5.7.0"}\n'
        "}\n"
    ),
    "lib/index.js": (
        "// Entry point: parse and stringify.\n"
        "var parse = require('./parse');\nvar stringify = require('./stringify');\n"
        "module.exports = { parse: parse, stringify: stringify };\n"
    ),
    "lib/parse.js": (
        "// Parse a query string.\nmodule.exports = function parse(s) { return {}; };\n"
    ),
    "lib/stringify.js": (
        "// Stringify an object.\nmodule.exports = function stringify(o) { return ''; };\n"
    ),
    "test/parse.js": "var test = require('tape');\ntest('parse', function (t) { t.end(); });\n",
}


def test_js_project_names_its_test_command_and_no_module_as_an_entry_point(
    tmp_path: Path,
) -> None:
    bank = offline_bank(make_project(tmp_path, JS_PROJECT))

    setup = section(bank["techContext"], "Development Setup")
    assert "`npm test`" in setup
    assert "No test" not in "\n".join(bank.values())
    how = section(bank["productContext"], "How It Works")
    assert "lib/parse.js" not in how
    assert "lib/stringify.js" not in how
