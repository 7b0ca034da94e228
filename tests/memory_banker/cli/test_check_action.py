"""The composite GitHub Action (``action.yml``): its inputs, and its run steps executed here the
way a runner executes them.

How the steps run without GitHub: ``action.yml`` is parsed with PyYAML; each ``run`` step's
``${{ inputs.* }}`` and ``${{ github.* }}`` expressions are replaced by the values a runner would
give (an input's value, else its default; ``github.action_path`` is this repository), its ``env``
is set on top of the test's isolated environment, and its script runs with the runner's own bash
command line (``bash --noprofile --norc -eo pipefail``) in its ``working-directory``, with
``GITHUB_OUTPUT`` and ``GITHUB_STEP_SUMMARY`` pointing at temporary files. Two steps cannot run
as they would on a runner, because they need the network: ``actions/setup-python`` (a ``uses``
step) is skipped, the Python running the tests stands in for it; the install step runs with a
``python`` shim first on ``PATH`` that records its arguments instead of calling pip, so the test
checks what it would install (the action's checkout, or the ``version`` ref), while the gate step
uses the memory-banker already installed beside the test's interpreter.
"""

from __future__ import annotations

import re
import stat
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.cli import BIN, clean_environment
from tests.support.paths import REPOSITORY
from tests.support.reports import START, agent, make_report, write_report

ACTION = REPOSITORY / "action.yml"
REPORT = "token_usage_20261120_090000.json"
BASELINE = "token_usage_20261119_090000.json"
_EXPRESSION = re.compile(r"\$\{\{\s*([a-z_]+)\.([A-Za-z0-9_-]+)\s*\}\}")


def load_action() -> dict[str, Any]:
    data = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def substitute(value: str, inputs: dict[str, str], github: dict[str, str]) -> str:
    """Replace the ``${{ context.name }}`` expressions of ``value`` as a runner would; any
    expression this test does not know fails it, so a new one is noticed."""

    def replace(match: re.Match[str]) -> str:
        context, name = match.groups()
        values = {"inputs": inputs, "github": github}.get(context)
        assert values is not None and name in values, f"unknown expression {match.group(0)}"
        return values[name]

    return _EXPRESSION.sub(replace, value)


def python_shim(folder: Path) -> Path:
    """A ``python`` that records its arguments in ``folder/python-args`` and succeeds."""
    folder.mkdir()
    shim = folder / "python"
    shim.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{folder}/python-args"\n', "utf-8")
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    return folder


def run_action(
    workspace: Path, given: dict[str, str], tmp_path: Path
) -> tuple[list[subprocess.CompletedProcess[str]], Path, Path, list[str]]:
    """Run the action's steps in ``workspace`` with the inputs ``given``; return each run
    step's finished process, the step summary and output files, and the install step's pip
    arguments."""
    action = load_action()
    inputs = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    unknown = set(given) - set(inputs)
    assert not unknown, f"not inputs of the action: {unknown}"
    inputs.update(given)
    github = {"action_path": str(REPOSITORY), "action_repository": ""}
    summary, output = tmp_path / "step_summary.md", tmp_path / "github_output"
    summary.write_text("", encoding="utf-8")
    output.write_text("", encoding="utf-8")
    shim = python_shim(tmp_path / "shim")
    finished = []
    for step in action["runs"]["steps"]:
        if "uses" in step:
            assert step["uses"].startswith("actions/setup-python@")
            continue
        assert step["shell"] == "bash"
        env = {name: substitute(str(value), inputs, github) for name, value in step["env"].items()}
        env.update(
            GITHUB_OUTPUT=str(output),
            GITHUB_STEP_SUMMARY=str(summary),
            GITHUB_REPOSITORY="example/memory-banker",
            GITHUB_WORKSPACE=str(workspace),
        )
        environment = clean_environment(env)
        if "pip install" in step["run"]:
            environment["PATH"] = f"{shim}:{environment['PATH']}"
        folder = substitute(step.get("working-directory", "."), inputs, github)
        script = tmp_path / "step.sh"
        script.write_text(substitute(step["run"], inputs, github), encoding="utf-8")
        finished.append(
            subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                cwd=workspace / folder,
                env=environment,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        )
    pip_args = (shim / "python-args").read_text(encoding="utf-8").splitlines()
    return finished, summary, output, pip_args


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A checkout whose project (``app/``) holds a $1.2345 report and a $1.0000 baseline."""
    root = tmp_path / "workspace"
    project = root / "app"
    project.mkdir(parents=True)
    latest = make_report(
        "eeee5555-0000-4000-8000-000000000005",
        end=START,
        agents=[agent("projectbrief", 20_000, 10_000, cost=1.2345)],
    )
    older = make_report(
        "bbbb2222-0000-4000-8000-000000000002",
        end=START.replace(day=19),
        agents=[agent("projectbrief", 20_000, 10_000, cost=1.0)],
    )
    write_report(project, REPORT, latest)
    write_report(project, BASELINE, older)
    return root


def test_the_action_has_the_documented_inputs() -> None:
    action = load_action()

    assert action["runs"]["using"] == "composite"
    assert {
        "max-cost",
        "max-tokens",
        "report-file",
        "baseline",
        "max-increase",
        "working-directory",
        "python-version",
        "version",
    } <= set(action["inputs"])
    assert set(action["outputs"]) == {"passed", "exit-code", "junit-file"}


def test_the_action_fails_the_step_above_the_threshold(workspace: Path, tmp_path: Path) -> None:
    steps, summary, output, pip_args = run_action(
        workspace, {"max-cost": "1.00", "working-directory": "app"}, tmp_path
    )

    install, gate = steps
    assert install.returncode == 0, install.stderr
    assert pip_args == ["-m", "pip", "install", "--quiet", str(REPOSITORY)]
    assert gate.returncode == 1, gate.stderr
    assert gate.stdout == (
        f"::error title=Token cost gate::Cost $1.2345 exceeds threshold $1.0000 ({REPORT})\n"
    )
    assert summary.read_text(encoding="utf-8").startswith("### ❌ Token cost gate failed\n")
    assert output.read_text(encoding="utf-8") == (
        "passed=false\nexit-code=1\njunit-file=token-gate.xml\n"
    )
    suite = ET.parse(workspace / "app" / "token-gate.xml").getroot().find("testsuite")
    assert suite is not None
    assert [case.get("name") for case in suite.iter("testcase")] == ["max-cost"]


def test_the_action_passes_within_the_regression_limit(workspace: Path, tmp_path: Path) -> None:
    steps, summary, output, _ = run_action(
        workspace,
        {
            "baseline": BASELINE,
            "max-increase": "25",
            "max-tokens": "30000",
            "working-directory": "app",
            "junit-file": "gate.xml",
        },
        tmp_path,
    )

    gate = steps[-1]
    assert gate.returncode == 0, gate.stderr
    assert gate.stdout.startswith("::notice title=Token cost gate::OK: tokens 30,000 within")
    text = summary.read_text(encoding="utf-8")
    assert "| max-increase | 25% | +23.4% | ✅ within |" in text
    assert output.read_text(encoding="utf-8") == "passed=true\nexit-code=0\njunit-file=gate.xml\n"
    assert (workspace / "app" / "gate.xml").is_file()


def test_a_version_input_installs_that_ref_of_the_repository(
    workspace: Path, tmp_path: Path
) -> None:
    _, _, _, pip_args = run_action(
        workspace, {"max-cost": "5", "working-directory": "app", "version": "v0.3.0"}, tmp_path
    )

    assert pip_args == [
        "-m",
        "pip",
        "install",
        "--quiet",
        "memory-banker @ git+https://github.com/example/memory-banker@v0.3.0",
    ]


def test_an_input_is_never_run_as_shell_code(workspace: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    steps, _, _, _ = run_action(
        workspace,
        {"max-cost": f"1; touch {marker}", "working-directory": "app"},
        tmp_path,
    )

    assert steps[-1].returncode == 2
    assert not marker.exists()
    assert BIN.is_dir()
