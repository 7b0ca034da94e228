"""The two ways tests run ``memory-banker``: in-process, and the installed executable.

- :func:`invoke` calls the click command in this process with ``CliRunner``: exceptions are not
  caught (a bug shows its traceback), stdout and stderr are kept apart.
- :func:`run_installed` runs the installed ``memory-banker`` executable (the one beside
  ``sys.executable``, else the one on ``PATH``) in a subprocess with :func:`clean_environment`,
  for the few smoke tests that check what a shell user sees.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from memory_banker.cli.main import cli
from tests.support.environment import ISOLATED_NAMES

BIN = Path(sys.executable).parent
"""The folder of the running interpreter, where ``pip install`` puts the console scripts."""

PASSED_THROUGH = (
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "SYSTEMROOT",
    "TOKEN_TRACKING_DB_URL",
)
"""Variables of the test process a subprocess keeps besides the isolation variables (the ledger's
URL is set only by the tests that run on PostgreSQL)."""


def invoke(
    project: Path | None,
    *args: str,
    input: str | None = None,
    env: Mapping[str, str | None] | None = None,
) -> Result:
    """Run ``memory-banker --project-path PROJECT ARGS…`` in-process and return click's result.

    ``project=None`` leaves ``--project-path`` out. ``input`` is fed to stdin; ``env`` sets (or,
    with ``None`` values, removes) variables for the call only.
    """
    prefix = [] if project is None else ["--project-path", str(project)]
    return CliRunner().invoke(cli, [*prefix, *args], input=input, env=env, catch_exceptions=False)


def executable() -> Path:
    """Return the installed ``memory-banker`` console script; fails the test if there is none."""
    found = shutil.which("memory-banker", path=str(BIN)) or shutil.which("memory-banker")
    if found is None:
        pytest.fail(
            f"no memory-banker executable in {BIN} nor on PATH: install the package "
            "(pip install -e .) into the environment running the tests",
            pytrace=False,
        )
    return Path(found)


def clean_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the environment for a subprocess of a test, with ``extra`` on top.

    Only the isolation variables the autouse fixture set (empty ``HOME``, git without global
    configuration, ledger path…), the locale and temporary-folder variables, and a ``PATH`` that
    starts with :data:`BIN`: nothing else of the developer's shell reaches the subprocess.
    """
    names = [*ISOLATED_NAMES, *PASSED_THROUGH]
    environment = {name: os.environ[name] for name in names if name in os.environ}
    environment["PATH"] = os.pathsep.join([str(BIN), os.environ.get("PATH", os.defpath)])
    environment.update(extra or {})
    return environment


def run_installed(
    *args: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``memory-banker ARGS…`` in ``cwd`` and return the finished process.

    The environment is :func:`clean_environment` plus ``env``; output is captured as text, and a
    non-zero exit is returned, not raised.
    """
    return subprocess.run(
        [str(executable()), *args],
        cwd=cwd,
        env=clean_environment(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
