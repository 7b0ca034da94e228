"""The README's first command, exactly as written, in a fresh virtual environment on a fresh clone.

Slow (it installs the package and its dependencies from the package index into a new virtual
environment): marked ``slow``, so a plain ``pytest`` leaves it out; ``.ci/run`` runs it with
``pytest -m slow`` after the rest of the suite.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from memory_banker.specs import AGENT_SPECS, missing_sections
from tests.support.paths import REPOSITORY

FIRST_COMMAND = "pip install -e . && memory-banker update --offline"
"""The README's set-up starts with this line."""


def readme_first_command() -> str:
    """Return the first line of the README's first fenced shell block."""
    text = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```(?:bash|sh|shell|console)?\n(.*?)```", text, re.DOTALL)
    assert block is not None, "README.md has no fenced code block"
    return block.group(1).strip().splitlines()[0].strip()


def test_readme_starts_with_the_offline_first_command() -> None:
    assert readme_first_command() == FIRST_COMMAND


@pytest.mark.slow
def test_readme_first_command_in_a_fresh_venv_on_a_fresh_clone(tmp_path: Path) -> None:
    command = readme_first_command()
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", str(REPOSITORY), str(clone)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"

    done = subprocess.run(
        ["bash", "-c", command],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    bank = clone / "memory-bank"
    for spec in AGENT_SPECS:
        text = (bank / spec.file).read_text(encoding="utf-8")
        assert missing_sections(spec, text) == []
        assert "generated offline" in text.splitlines()[0]
    assert "Estimated Cost: $0.0000 USD" in done.stdout
    assert len(list((bank / "token-reports").glob("token_usage_*.json"))) == 1
