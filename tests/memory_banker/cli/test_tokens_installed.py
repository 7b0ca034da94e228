"""The installed ``memory-banker tokens`` in a subprocess: what shell users and CI scripts see.

- The earlier docs' extraction line prints exactly the report's cost with 4 decimals.
- The README's corrected gate script exits 1 above its threshold and 0 below.
- ``tokens`` commands import neither agents, litellm, openai nor anthropic, and read the price
  table only when a cost must be computed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import clean_environment, executable, run_installed
from tests.support.paths import README
from tests.support.reports import (
    START,
    V0_1_STORED_COST,
    agent,
    copy_v0_1,
    make_report,
    reports_dir,
    three_reports,
    write_report,
)

EXTRACTION = (
    """memory-banker tokens --report-file "$1" | grep "Estimated Cost" | grep -o '\\$[0-9.]*'"""
)


def readme_gate_script() -> str:
    """The README's corrected version of the earlier docs' CI script, read from the README.

    The earlier script piped "$0.0531 > 1.00" into bc, which rejects the "$", so it never failed.
    """
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(#!/usr/bin/env bash\n.*?)```", text, re.DOTALL)
    assert len(blocks) == 1, "the README should hold exactly one gate script"
    return str(blocks[0])


GATE_SCRIPT = readme_gate_script()

SDKS = ("agents", "litellm", "openai", "anthropic")


def run_bash(script: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in bash with the installed ``memory-banker`` first on ``PATH``."""
    return subprocess.run(
        ["bash", "-c", script, "script", *args],
        cwd=cwd,
        env=clean_environment(),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "shop"
    path.mkdir()
    return path


def report_costing(project: Path, cost: float | None) -> Path:
    report = make_report(
        "ffff6666-0000-4000-8000-000000000006",
        end=START,
        agents=[agent("projectbrief", 20_000, 10_000, cost=cost)],
        unknown_models=() if cost is not None else ("gpt-4o-mini",),
    )
    return write_report(project, "token_usage_20261120_090000.json", report)


def test_the_executable_is_installed() -> None:
    assert executable().is_file()


@pytest.mark.parametrize(
    ("cost", "figure"), [(0.0531, "$0.0531"), (1.2345, "$1.2345"), (0.00004, "$0.000040")]
)
def test_the_extraction_line_prints_the_cost_as_shown(
    project: Path, cost: float, figure: str
) -> None:
    path = report_costing(project, cost)

    result = run_bash(EXTRACTION, project, str(path))

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{figure}\n"


def test_the_extraction_line_on_a_0_1_report_prints_its_stored_cost_only(project: Path) -> None:
    path = copy_v0_1(project)

    result = run_bash(EXTRACTION, project, str(path))

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"${V0_1_STORED_COST:.4f}\n"


@pytest.mark.parametrize(
    ("cost", "code", "stdout", "stderr"),
    [
        (1.2345, 1, "Memory bank generation cost: $1.2345\n",
         "Cost $1.2345 exceeds threshold $1.00\n"),
        (0.0531, 0, "Memory bank generation cost: $0.0531\n", ""),
        (1.0, 0, "Memory bank generation cost: $1.0000\n", ""),
        (None, 1, "", "Cost unknown: cannot check it against $1.00\n"),
    ],
)  # fmt: skip
def test_the_readme_gate_script_fails_above_the_threshold(
    project: Path, cost: float | None, code: int, stdout: str, stderr: str
) -> None:
    report_costing(project, cost)

    result = run_bash(GATE_SCRIPT, project)

    assert (result.returncode, result.stdout, result.stderr) == (code, stdout, stderr)


def test_the_gate_command_exits_1_and_0_in_a_subprocess(project: Path) -> None:
    report_costing(project, 1.2345)
    over = run_installed("tokens", "check", "--max-cost", "1.00", cwd=project)
    within = run_installed("tokens", "check", "--max-cost", "2", cwd=project)

    assert (over.returncode, over.stdout) == (1, "")
    assert over.stderr.splitlines()[-1] == "Cost $1.2345 exceeds threshold $1.0000"
    assert within.returncode == 0


def test_bad_input_is_one_line_and_exit_2_in_a_subprocess(project: Path) -> None:
    missing = run_installed(
        "tokens", "check", "--max-cost", "1", "--report-file", "x.json", cwd=project
    )
    negative = run_installed("tokens", "check", "--max-cost", "-1", cwd=project)

    assert (missing.returncode, missing.stdout, missing.stderr) == (
        2,
        "",
        "Error: cannot read report x.json: No such file or directory\n",
    )
    assert (negative.returncode, negative.stdout, negative.stderr) == (
        2,
        "",
        "Error: --max-cost must be a number of USD, zero or more (got -1)\n",
    )


# --- start-up cost -------------------------------------------------------------------------------

PROBE = f"""
import json, sys
from memory_banker.cli.main import cli
from pricing import load_table
code = cli.main(args=sys.argv[2:], prog_name="memory-banker", standalone_mode=False)
with open(sys.argv[1], "w") as out:
    json.dump({{
        "code": code,
        "sdks": sorted(m for m in {SDKS!r} if m in sys.modules),
        "price_table_loaded": load_table.cache_info().currsize > 0,
    }}, out)
"""


def probe(tmp_path: Path, *args: str) -> dict[str, object]:
    """Run the CLI in a fresh interpreter; return its exit code, the SDKs it imported and
    whether it read the price table."""
    out = tmp_path / "probe.json"
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(out), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert out.exists(), result.stderr
    data: dict[str, object] = json.loads(out.read_text("utf-8"))
    return data


def test_list_all_imports_no_sdk_and_reads_no_price(project: Path, tmp_path: Path) -> None:
    three_reports(project)

    seen = probe(tmp_path, "--project-path", str(project), "tokens", "--list-all")

    assert seen == {"code": None, "sdks": [], "price_table_loaded": False}


def test_showing_and_checking_a_current_report_read_no_price(project: Path, tmp_path: Path) -> None:
    three_reports(project)
    folder = reports_dir(project)

    shown = probe(tmp_path, "--project-path", str(project), "tokens")
    checked = probe(
        tmp_path,
        "--project-path", str(project), "tokens", "check", "--max-cost", "5",
        "--report-file", str(folder / "token_usage_20261121_100000.json"),
    )  # fmt: skip

    assert shown == {"code": None, "sdks": [], "price_table_loaded": False}
    assert checked == {"code": 0, "sdks": [], "price_table_loaded": False}


def test_a_0_1_report_reads_the_price_table_but_no_sdk(project: Path, tmp_path: Path) -> None:
    copy_v0_1(project)

    seen = probe(tmp_path, "--project-path", str(project), "tokens", "check", "--max-cost", "1")

    assert seen == {"code": 0, "sdks": [], "price_table_loaded": True}


def test_run_directory_commands_import_no_sdk(tmp_path: Path) -> None:
    runs = tmp_path / "output"
    for name, tokens_in in (("run_tech_a", 2_000), ("run_tech_b", 1_500)):
        run = runs / name
        run.mkdir(parents=True)
        line = {
            "timestamp": "2026-02-28T12:00:00",
            "operation": "advocate",
            "iteration": 1,
            "input_tokens": tokens_in,
            "output_tokens": 500,
            "total_tokens": tokens_in + 500,
            "model": "gpt-4",
            "cost_usd": 0.1,
        }
        (run / "tokens.jsonl").write_text(json.dumps(line) + "\n", "utf-8")

    compared = probe(
        tmp_path, "tokens", "compare", str(runs / "run_tech_a"), str(runs / "run_tech_b")
    )
    reported = probe(tmp_path, "tokens", "report", "--runs-dir", str(runs))
    summarized = probe(tmp_path, "tokens", "summary", str(runs / "run_tech_a"))

    # Every line carries its actual cost: no price table is needed either.
    for seen in (compared, reported, summarized):
        assert seen == {"code": None, "sdks": [], "price_table_loaded": False}
