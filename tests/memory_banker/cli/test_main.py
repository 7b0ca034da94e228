"""The CLI group: version, help, click's usage errors, and the one-line error convention."""

from __future__ import annotations

import gc
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from memory_banker.cli.common import load_command
from memory_banker.cli.main import COMMANDS, SUMMARIES, cli
from tests.support.cli import invoke, run_installed


def test_version_prints_the_installed_version() -> None:
    result = invoke(None, "--version")
    assert result.exit_code == 0
    assert result.output == f"memory-banker, version {version('memory-banker')}\n"


def test_an_unknown_option_exits_2_with_clicks_usage_line() -> None:
    result = invoke(None, "--bogus")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == "Usage: memory-banker [OPTIONS] COMMAND [ARGS]..."
    assert "Error: No such option '--bogus'" in result.stderr


def test_a_missing_project_path_exits_2() -> None:
    result = invoke(Path("/no/such/dir"), "tokens")
    assert result.exit_code == 2
    assert "'/no/such/dir' does not exist" in result.stderr


def test_a_package_error_is_one_line_on_stderr_with_exit_2_and_no_traceback() -> None:
    done = run_installed("pricing", "show", "gpt-4o-mni")
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: unknown model 'gpt-4o-mni'")
    assert "Traceback" not in done.stderr


def test_verbose_adds_the_traceback() -> None:
    done = run_installed("-v", "pricing", "show", "gpt-4o-mni")
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
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'rich')"
        " or m in ('memory_banker.cli.generate', 'memory_banker.cli.pricing',"
        " 'memory_banker.cli.tokens', 'token_tracking.reports.file')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    for name in COMMANDS:
        assert f"  {name} " in done.stdout
    # The summaries table lists the commands: no command module, pydantic or rich is loaded.
    assert done.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("width", [60, 80, 200])
def test_help_lists_each_command_as_its_own_help_would(width: int) -> None:
    lazy = invoke(None, "--help", env={"COLUMNS": str(width)}).output
    loaded = cli.commands.copy()
    try:
        for name, target in COMMANDS.items():
            cli.add_command(load_command(target), name)
        eager = invoke(None, "--help", env={"COLUMNS": str(width)}).output
    finally:
        cli.commands.clear()
        cli.commands.update(loaded)
    assert lazy == eager


def test_every_summary_is_the_first_paragraph_of_its_commands_help() -> None:
    assert sorted(SUMMARIES) == sorted(COMMANDS)  # a command without one slows --help down
    for name, summary in SUMMARIES.items():
        help_text = load_command(COMMANDS[name]).help or ""
        assert " ".join(summary.split()) == " ".join(help_text.split("\n\n")[0].split()), name


def test_a_directory_as_the_pricing_file_is_one_error_line(tmp_path: Path) -> None:
    folder = tmp_path / "prices.toml"
    folder.mkdir()
    result = invoke(None, "--pricing-file", str(folder), "pricing", "list")
    assert (result.exit_code, result.stderr) == (
        2,
        f"Error: pricing file {folder}: cannot be read: Is a directory\n",
    )


IMPORT_PROBE = """
import sys
from memory_banker.cli.main import cli as root
try:
    root.main(sys.argv[1:], prog_name="memory-banker")
except SystemExit:
    pass
shared = {"memory_banker.cli.main", "memory_banker.cli.common"}
print(sorted(m for m in sys.modules if m.startswith("memory_banker.cli.") and m not in shared))
"""


@pytest.mark.parametrize(
    ("args", "modules"),
    [
        (["--version"], []),
        (["tokens", "--list-all"], ["memory_banker.cli.tokens"]),
        (
            ["tokens", "check", "--max-tokens", "1"],
            ["memory_banker.cli.check", "memory_banker.cli.tokens"],
        ),
        (["pricing", "show", "gpt-4o-mini"], ["memory_banker.cli.pricing"]),
    ],
)
def test_a_command_imports_only_the_module_its_table_names(
    args: list[str], modules: list[str], tmp_path: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE, "--project-path", str(tmp_path), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.strip().splitlines()[-1] == repr(modules)


def test_the_collector_is_paused_while_the_command_loads_then_resumed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from memory_banker.cli import common, main

    enabled_while_loading: list[bool] = []

    def watched(target: str) -> object:
        enabled_while_loading.append(gc.isenabled())
        return load_command(target)

    monkeypatch.setattr(common, "load_command", watched)
    monkeypatch.setattr(main.cli, "commands", {})  # none loaded by an earlier test
    monkeypatch.setattr(sys, "argv", ["memory-banker", "pricing", "--help"])
    assert gc.isenabled()
    try:
        with pytest.raises(SystemExit) as ended:
            main.main()
        assert ended.value.code == 0
        assert enabled_while_loading == [False]
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0  # what start-up made is never scanned again
    finally:
        gc.unfreeze()
        gc.enable()
