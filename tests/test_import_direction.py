"""The import contracts hold (one direction between packages, layers inside each), and the check
really catches a violation of each kind."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import REPOSITORY as ROOT

PACKAGES = ("memory_banker", "token_tracking", "pricing")


def run_lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(lint_imports), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    """A copy of the three packages and the contracts, to break on purpose."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_repository_keeps_the_contracts(tree_copy: Path) -> None:
    result = run_lint_imports(tree_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 11 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("pricing/_violation.py", "import token_tracking\n", "One import direction"),
        ("token_tracking/_violation.py", "import memory_banker\n", "One import direction"),
        ("pricing/_violation.py", "import litellm\n", "pricing reads the price JSON itself"),
        ("pricing/_violation.py", "from agents import Agent\n", "pricing reads the price JSON"),
    ],
)
def test_a_forbidden_import_breaks_the_check(
    tree_copy: Path, module: str, line: str, contract: str
) -> None:
    (tree_copy / module).write_text(line)
    result = run_lint_imports(tree_copy)
    assert result.returncode == 1, result.stdout + result.stderr
    # pricing -> token_tracking also breaks the SDK contract: token_tracking reaches litellm
    # through its lazy integration imports, which import-linter counts too.
    assert "0 broken" not in result.stdout
    broken_section = result.stdout.split("Broken contracts")[1]
    assert contract in broken_section


# In each layers contract, a lower layer importing a higher one (appended to a real module).
UPWARD_IMPORTS = [
    (
        "token_tracking/records.py",
        "import token_tracking.reports.file\n",
        "token_tracking layers",
    ),
    (
        "token_tracking/reports/pricer.py",
        "import token_tracking.reports.listing\n",
        "reports layers",
    ),
    (
        "token_tracking/rundirs/log.py",
        "import token_tracking.rundirs.recent\n",
        "rundirs layers",
    ),
    (
        "token_tracking/history/clock.py",
        "import token_tracking.history.ledger\n",
        "history layers",
    ),
    (
        "token_tracking/history/dashboard/data.py",
        "import token_tracking.history.dashboard.page\n",
        "dashboard layers",
    ),
    (
        "memory_banker/digest/build.py",
        "import memory_banker.pipeline\n",
        "memory_banker layers",
    ),
    ("memory_banker/digest/paths.py", "import memory_banker.digest.build\n", "digest layers"),
    ("memory_banker/cli/common.py", "import memory_banker.cli.tokens\n", "cli layers"),
    (
        "memory_banker/offline/phrases.py",
        "import memory_banker.offline.engine\n",
        "offline layers",
    ),
]


def test_an_upward_import_breaks_each_layers_contract(tree_copy: Path) -> None:
    # One lint run over all the violations: each must break its own contract and no other.
    for module, line, _ in UPWARD_IMPORTS:
        target = tree_copy / module
        target.write_text(target.read_text() + line)
    result = run_lint_imports(tree_copy)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"Contracts: 2 kept, {len(UPWARD_IMPORTS)} broken." in result.stdout
    broken_section = result.stdout.split("Broken contracts")[1]
    for _, _, contract in UPWARD_IMPORTS:
        assert contract in broken_section
