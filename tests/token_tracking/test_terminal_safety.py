"""Hostile strings in reports and the ledger print escaped in every command; CSV cells are
neutralised so no spreadsheet runs them as formulas."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.cli import invoke
from tests.support.reports import agent, make_report
from token_tracking.display import printable
from token_tracking.reports.file import save_report

# OSC 0 retitles the terminal, CSI 2J clears it; a C1 CSI (0x9b) does the same on some terminals.
HOSTILE = "evil\x1b]0;pwned\x07\x1b[2J\x9b[bold red]loud[/bold red]"
ESCAPED = "evil\\x1b]0;pwned\\x07\\x1b[2J\\x9b[bold red]loud[/bold red]"


def test_printable_escapes_c0_c1_and_esc_but_keeps_tab_and_newline() -> None:
    assert printable("a\tb\nc\x00d\x1be\x7ff\x85g\x9fh") == "a\tb\nc\\x00d\\x1be\\x7ff\\x85g\\x9fh"
    assert printable(HOSTILE) == ESCAPED
    assert printable("[bold]x[/bold]", markup=True) == "\\[bold]x\\[/bold]"


def _assert_safe(output: str) -> None:
    assert "\x1b" not in output
    assert "\x07" not in output
    assert "\x9b" not in output
    assert "\\x1b]0;pwned" in output


@pytest.fixture
def hostile_report(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    folder = project / "memory-bank" / "token-reports"
    report = make_report(
        "s-hostile",
        end=datetime(2026, 11, 3, 12, 0, tzinfo=UTC),
        agents=[agent(HOSTILE, 100, 20, cost=0.001, success=False, error=HOSTILE)],
        model=HOSTILE,
        command=HOSTILE,
    )
    save_report(report, folder)
    return project


def test_tokens_prints_a_hostile_report_escaped(hostile_report: Path) -> None:
    result = invoke(hostile_report, "tokens")
    assert result.exit_code == 0, result.stderr
    _assert_safe(result.stdout)
    assert "[bold red]loud[/bold red]" in result.stdout


def test_list_all_prints_hostile_names_escaped(hostile_report: Path) -> None:
    result = invoke(hostile_report, "tokens", "--list-all")
    assert result.exit_code == 0, result.stderr
    _assert_safe(result.stdout)


@pytest.fixture
def hostile_ledger(tmp_path: Path) -> Path:
    project = tmp_path / "ledger-project"
    project.mkdir()
    added = invoke(
        project,
        "tokens", "add", "--input", "10", "--output", "5",
        "--model", HOSTILE, "--branch", HOSTILE, "--note", "=HYPERLINK(\"http://x\",\"y\")",
    )  # fmt: skip
    assert added.exit_code == 0, added.stderr
    _assert_safe(added.stdout)
    return project


@pytest.mark.parametrize(
    "args",
    [
        ("tokens", "sessions"),
        ("tokens", "trends", "--days", "0", "--by", "branch"),
        ("tokens", "trends", "--days", "0", "--by", "model"),
    ],
)
def test_ledger_commands_print_hostile_strings_escaped(
    hostile_ledger: Path, args: tuple[str, ...]
) -> None:
    result = invoke(hostile_ledger, *args, env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.stderr
    assert "\x1b" not in result.stdout
    assert "\x9b" not in result.stdout
    # Rich markup in the string prints as written, never as style.
    assert "[bold red]" in result.stdout


def test_csv_export_neutralises_formula_cells(hostile_ledger: Path) -> None:
    result = invoke(hostile_ledger, "tokens", "export", "--format", "csv", "--output", "-")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows
    assert rows[0]["notes"] == '\'=HYPERLINK("http://x","y")'
    assert rows[0]["tokens"] == "15"


def test_json_export_keeps_the_value_unchanged(hostile_ledger: Path) -> None:
    result = invoke(hostile_ledger, "tokens", "export", "--format", "json", "--output", "-")
    assert result.exit_code == 0, result.stderr
    assert '"=HYPERLINK(\\"http://x\\",\\"y\\")"' in result.stdout


def test_compare_and_check_print_hostile_names_escaped(hostile_report: Path) -> None:
    [report] = sorted((hostile_report / "memory-bank" / "token-reports").glob("token_usage_*"))

    compared = invoke(hostile_report, "tokens", "compare", str(report), str(report))
    checked = invoke(hostile_report, "tokens", "check", "--max-cost", "0.000001")

    assert compared.exit_code == 0, compared.stderr
    _assert_safe(compared.stdout)
    assert checked.exit_code == 1, checked.output
    assert "\x1b" not in checked.stdout + checked.stderr
