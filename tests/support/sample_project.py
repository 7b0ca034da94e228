"""A small sample git project for tests: history by two authors, manifests, CI, tests, TODOs and
secret bait that must never reach a digest, a prompt or a report.

``make_sample_project(root)`` creates it under ``root / "sample"`` and returns that path. The
commit dates are fixed, so every build has the same history (hashes included).
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

SECRET_STRINGS = (
    "sk-env-SECRET999",
    "sk-test-SECRET123",
    "MIIEowIBAAKCAQEAsecretPEMbody",
    "AKIAABCDEFGHIJKLMNOP",
)
"""Strings planted in the sample project that must never appear in a digest or request."""

_PRIVATE_KEY = """-----BEGIN RSA PRIVATE KEY-----
MIIEowIBAAKCAQEAsecretPEMbody0123456789abcdefghijklmnopqrstuvwxyz
QmFpdCBmb3IgdGVzdHM6IHRoaXMgaXMgbm90IGEgcmVhbCBrZXkgYXQgYWxsLg==
-----END RSA PRIVATE KEY-----
"""

_FIRST_COMMIT = {
    "README.md": (
        "# Widget Service\n\n"
        "Widget Service keeps an inventory of widgets and answers stock queries over HTTP.\n"
        "It is a small example used by the memory-banker tests.\n\n"
        "## Usage\n\n"
        "```\nwidget-service --port 8080\n```\n"
    ),
    "pyproject.toml": (
        "[project]\n"
        'name = "widget-service"\n'
        'version = "0.3.0"\n'
        'description = "Inventory of widgets with a small HTTP API"\n'
        'requires-python = ">=3.11"\n'
        'dependencies = ["click>=8.1", "httpx>=0.27,<1"]\n\n'
        "[project.optional-dependencies]\n"
        'test = ["pytest>=8"]\n\n'
        "[project.scripts]\n"
        'widget-service = "widgets.cli:main"\n\n'
        "[tool.pytest.ini_options]\n"
        'testpaths = ["tests"]\n'
    ),
    "widgets/__init__.py": '"""Widget inventory."""\n',
    "widgets/inventory.py": (
        '"""The widget inventory."""\n\n\n'
        "class Inventory:\n"
        "    def __init__(self) -> None:\n"
        "        self._stock: dict[str, int] = {}\n\n"
        "    def add(self, name: str, count: int) -> None:\n"
        "        # TODO: reject negative counts\n"
        "        self._stock[name] = self._stock.get(name, 0) + count\n\n"
        "    def count(self, name: str) -> int:\n"
        "        return self._stock.get(name, 0)\n"
    ),
    "widgets/cli.py": (
        '"""Command line entry point."""\n\n'
        "import click\n\n\n"
        "@click.command()\n"
        '@click.option("--port", default=8080)\n'
        "def main(port: int) -> None:\n"
        '    click.echo(f"serving on {port}")\n\n\n'
        'if __name__ == "__main__":\n'
        "    main()\n"
    ),
    "tests/test_inventory.py": (
        "from widgets.inventory import Inventory\n\n\n"
        "def test_add_counts() -> None:\n"
        "    inventory = Inventory()\n"
        '    inventory.add("bolt", 2)\n'
        '    assert inventory.count("bolt") == 2\n'
    ),
    ".gitignore": "__pycache__/\n*.log\n",
}

_SECOND_COMMIT = {
    "package.json": (
        "{\n"
        '  "name": "widget-dashboard",\n'
        '  "description": "Browser dashboard for the widget service",\n'
        '  "main": "web/index.js",\n'
        '  "scripts": {"start": "node web/index.js", "test": "jest"},\n'
        '  "dependencies": {"express": "^4.19.0"},\n'
        '  "devDependencies": {"jest": "^29.7.0"}\n'
        "}\n"
    ),
    "web/index.js": (
        "// FIXME: read the port from the environment\n"
        "const express = require('express');\n"
        "const app = express();\n"
        "app.get('/', (req, res) => res.send('widgets'));\n"
        "app.listen(3000);\n"
    ),
    ".github/workflows/ci.yml": (
        "name: CI\n"
        "on: [push]\n"
        "jobs:\n"
        "  test:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - uses: actions/checkout@v4\n"
        "      - run: pip install -e .[test] && pytest\n"
    ),
}

_THIRD_COMMIT = {
    "widgets/client.py": (
        '"""A client for the stock API."""\n\n'
        "# A key pasted by mistake; the digest must redact it.\n"
        'API_KEY = "sk-test-SECRET123"\n'
        'AWS_KEY = "AKIAABCDEFGHIJKLMNOP"\n\n\n'
        "def headers() -> dict[str, str]:\n"
        "    # TODO: read the key from the environment instead\n"
        '    return {"Authorization": f"Bearer {API_KEY}"}\n'
    ),
    ".env": "OPENAI_API_KEY=sk-env-SECRET999\nDEBUG=1\n",
    "id_rsa": _PRIVATE_KEY,
    "deploy/server.pem": _PRIVATE_KEY,
}

_AUTHORS = (
    ("Ada Lovelace", "ada@example.com"),
    ("Grace Hopper", "grace@example.com"),
)


def _git(root: Path, *args: str, author: tuple[str, str] = _AUTHORS[0], date: str = "") -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": author[0],
        "GIT_AUTHOR_EMAIL": author[1],
        "GIT_COMMITTER_NAME": author[0],
        "GIT_COMMITTER_EMAIL": author[1],
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_DATE": date,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _commit(
    root: Path, files: dict[str, str], message: str, author: tuple[str, str], day: int
) -> None:
    _write(root, files)
    _git(root, "add", "--", *files)
    date = f"2026-01-{day:02d}T12:00:00+00:00"
    _git(root, "commit", "-q", "-m", message, author=author, date=date)


def make_sample_project(root: Path) -> Path:
    """Create the sample git project in ``root / "sample"`` and return its path.

    History: three commits by two authors (the third also commits ``.env``, ``id_rsa`` and a
    PEM file, the worst case a scan must survive), then an uncommitted change and an untracked
    file so that ``git status`` has lines. The project is built once per test process and copied
    (its ``.git`` included) for each call, since a dozen git commands per test add up.
    """
    project = root / "sample"
    project.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(_template(), project, symlinks=True)
    return project


@functools.cache
def _template() -> Path:
    """Build the sample project once, in a folder removed when the test process exits."""
    folder = Path(tempfile.mkdtemp(prefix="memory-banker-sample-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    project = folder / "sample"
    project.mkdir()
    _git(project, "init", "-q", "-b", "main")
    _commit(project, _FIRST_COMMIT, "Add the widget inventory and CLI", _AUTHORS[0], 1)
    _commit(project, _SECOND_COMMIT, "Add the dashboard and CI", _AUTHORS[1], 2)
    _commit(project, _THIRD_COMMIT, "Add the stock API client", _AUTHORS[0], 3)
    inventory = project / "widgets" / "inventory.py"
    inventory.write_text(
        inventory.read_text(encoding="utf-8") + "\n    # FIXME: persist the stock\n",
        encoding="utf-8",
    )
    (project / "NOTES.txt").write_text("Ideas for later.\n", encoding="utf-8")
    return project
