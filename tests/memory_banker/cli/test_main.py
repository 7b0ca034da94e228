"""The CLI group: version, click's usage errors, and the one-line error convention (DESIGN §5)."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from click.testing import CliRunner

from memory_banker.cli.main import LAZY_COMMANDS, cli


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed entry point in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "memory_banker", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_version_prints_the_installed_version() -> None:
    result = CliRunner().invoke(cli, ["--version"], catch_exceptions=False)
    assert result.exit_code == 0
    assert result.output == f"memory-banker, version {version('memory-banker')}\n"


def test_an_unknown_option_exits_2_with_clicks_usage_line() -> None:
    result = CliRunner().invoke(cli, ["--bogus"], catch_exceptions=False)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == "Usage: memory-banker [OPTIONS] COMMAND [ARGS]..."
    assert "Error: No such option '--bogus'" in result.stderr


def test_a_missing_project_path_exits_2() -> None:
    result = CliRunner().invoke(
        cli, ["--project-path", "/no/such/dir", "tokens"], catch_exceptions=False
    )
    assert result.exit_code == 2
    assert "'/no/such/dir' does not exist" in result.stderr


def test_a_package_error_is_one_line_on_stderr_with_exit_2_and_no_traceback() -> None:
    done = run("pricing", "show", "gpt-4o-mni")
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: unknown model 'gpt-4o-mni'")
    assert "Traceback" not in done.stderr


def test_verbose_adds_the_traceback() -> None:
    done = run("-v", "pricing", "show", "gpt-4o-mni")
    assert done.returncode == 2
    assert "Traceback (most recent call last)" in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("Error: unknown model 'gpt-4o-mni'")


def test_help_lists_every_command_without_importing_the_lazy_ones(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from memory_banker.cli.main import cli\n"
        "result = CliRunner().invoke(cli, ['--help'])\n"
        "print(result.output)\n"
        "print(sorted(m for m in ('memory_banker.cli.generate', 'memory_banker.cli.pricing')"
        " if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    for name in (*LAZY_COMMANDS, "tokens"):
        assert f"  {name} " in done.stdout
    # Listing commands for --help loads their modules (click needs their help text); running
    # `tokens` alone does not (tests/memory_banker/cli/test_tokens_cli_smoke.py).
    assert done.stdout.strip().splitlines()[-1] == (
        "['memory_banker.cli.generate', 'memory_banker.cli.pricing']"
    )


def test_a_directory_as_the_pricing_file_is_one_error_line(tmp_path: Path) -> None:
    folder = tmp_path / "prices.toml"
    folder.mkdir()
    result = CliRunner().invoke(
        cli, ["--pricing-file", str(folder), "pricing", "list"], catch_exceptions=False
    )
    assert (result.exit_code, result.stderr) == (
        2,
        f"Error: pricing file {folder}: cannot be read: Is a directory\n",
    )
