"""``memory-banker tokens``: the latest report, --report-file, --list-all, --json and the index."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from datetime import timedelta, timezone
from pathlib import Path

import pytest
from inline_snapshot import snapshot

from memory_banker.cli.tokens import tokens
from tests.support.cli import invoke
from tests.support.ledger_factory import use_timezone
from tests.support.reports import (
    START,
    agent,
    copy_v0_1,
    make_report,
    reports_dir,
    three_reports,
    write_report,
)
from token_tracking.reports.file import TokenUsageReport
from token_tracking.reports.listing import INDEX_NAME, list_reports


@pytest.fixture(autouse=True)
def utc_local_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Listings show dates in local time: pin it so the snapshots hold on any machine."""
    with use_timezone(monkeypatch, "UTC"):
        yield


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "shop"
    path.mkdir()
    return path


def test_list_all_is_newest_first_and_skips_a_corrupt_and_a_foreign_file(project: Path) -> None:
    three_reports(project)
    folder = reports_dir(project)
    (folder / "token_usage_20261122_000000.json").write_text('{"session_id": "x", ', "utf-8")
    (folder / "notes.json").write_text('{"hello": "world"}', "utf-8")
    (folder / "README.txt").write_text("not JSON, not listed", "utf-8")

    result = invoke(project, "tokens", "--list-all")

    assert result.exit_code == 0
    assert result.stdout == snapshot("""\
File                              Date              Command  Model        Status   Agents  Tokens      Cost
-----------------------------------------------------------------------------------------------------------
token_usage_20261119_080000.json  2026-11-22 09:00  update   gpt-4o-mini  partial     1/2  19,500  ≥$0.0027
token_usage_20261121_100000.json  2026-11-21 09:00  refresh  gpt-4o       success     1/1  24,000   $0.0900
token_usage_20261120_090000.json  2026-11-20 09:00  init     gpt-4o-mini  success     1/1   4,000   $0.0010

3 reports, newest first.
""")  # noqa: E501
    assert result.stderr == snapshot("""\
Warning: skipped notes.json: not a token usage report (missing session_id, project_path, command, start_time)
Warning: skipped token_usage_20261122_000000.json: not valid JSON (EOF while parsing a value at line 1 column 20)
""")  # noqa: E501


def test_list_all_dates_are_local_time_whatever_offset_a_report_was_written_with(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Written in New York at 12:00 (17:00 UTC) and in UTC at 16:00: shown in Tokyo, newest first.
    new_york = timezone(timedelta(hours=-5))
    ends = {
        "token_usage_20261120_120000.json": START.replace(hour=17).astimezone(new_york),
        "token_usage_20261120_160000.json": START.replace(hour=16),
    }
    for number, (name, end) in enumerate(ends.items()):
        write_report(
            project,
            name,
            make_report(f"{number}", end=end, agents=[agent("progress", 100, 50, cost=0.0001)]),
        )

    with use_timezone(monkeypatch, "Asia/Tokyo"):
        result = invoke(project, "tokens", "--list-all")

    dates = [line[34:50] for line in result.stdout.splitlines()[2:4]]
    assert dates == ["2026-11-21 02:00", "2026-11-21 01:00"]


def test_list_all_limit_keeps_the_newest(project: Path) -> None:
    three_reports(project)

    result = invoke(project, "tokens", "--list-all", "--limit", "1")

    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[2].startswith("token_usage_20261119_080000.json")
    assert len(lines) == 5
    assert lines[-1] == "Showing the newest 1 of 3 reports."


def test_list_all_json_is_the_list_of_reports_as_saved(project: Path) -> None:
    reports = three_reports(project)

    result = invoke(project, "tokens", "--list-all", "--json", "--limit", "2")

    assert result.exit_code == 0
    loaded = [TokenUsageReport.model_validate(item) for item in json.loads(result.stdout)]
    assert loaded == [
        reports["token_usage_20261119_080000.json"],
        reports["token_usage_20261121_100000.json"],
    ]


def test_list_all_json_is_one_document_with_warnings_on_stderr(project: Path) -> None:
    reports = three_reports(project)
    (reports_dir(project) / "broken.json").write_text("[1, 2", "utf-8")

    result = invoke(project, "tokens", "--list-all", "--json")

    assert result.exit_code == 0
    # json.loads refuses trailing data: stdout is exactly one document.
    loaded = [TokenUsageReport.model_validate(item) for item in json.loads(result.stdout)]
    assert loaded == [
        reports["token_usage_20261119_080000.json"],
        reports["token_usage_20261121_100000.json"],
        reports["token_usage_20261120_090000.json"],
    ]
    assert result.stderr == (
        "Warning: skipped broken.json: "
        "not valid JSON (EOF while parsing a list at line 1 column 5)\n"
    )


def test_list_all_marks_a_0_1_report_cost(project: Path) -> None:
    copy_v0_1(project)

    result = invoke(project, "tokens", "--list-all")

    assert result.exit_code == 0
    assert result.stdout == snapshot("""\
File                              Date              Command  Model        Status   Agents  Tokens      Cost
-----------------------------------------------------------------------------------------------------------
token_usage_20241206_143107.json  2024-12-06 14:31  init     gpt-4o-mini  success     6/6  20,770  $0.1143*

1 report, newest first.
* cost stored by memory-banker 0.1; --report-file F re-prices it.
""")  # noqa: E501


def test_list_all_of_an_empty_folder_says_so(project: Path) -> None:
    folder = reports_dir(project)

    result = invoke(project, "tokens", "--list-all")

    assert result.exit_code == 0
    assert result.stdout == f"No token reports in {folder}\n"
    assert invoke(project, "tokens", "--list-all", "--json").stdout == "[]\n"


def test_a_project_without_a_reports_folder_is_exit_2(project: Path) -> None:
    folder = project / "memory-bank" / "token-reports"
    for args in (("tokens",), ("tokens", "--list-all"), ("tokens", "check", "--max-cost", "1")):
        result = invoke(project, *args)
        assert result.exit_code == 2
        assert result.stderr == f"Error: no token reports folder at {folder}\n"
        assert result.stdout == ""


def test_a_folder_without_reports_has_no_latest(project: Path) -> None:
    folder = reports_dir(project)
    (folder / "broken.json").write_text("[1, 2", "utf-8")

    result = invoke(project, "tokens")

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "Warning: skipped broken.json: "
        "not valid JSON (EOF while parsing a list at line 1 column 5)",
        f"Error: no token reports in {folder}",
    ]


def test_latest_is_the_greatest_end_time_not_the_newest_name(project: Path) -> None:
    reports = three_reports(project)

    result = invoke(project, "tokens", "--json")

    assert result.exit_code == 0
    shown = TokenUsageReport.model_validate_json(result.stdout)
    assert shown.session_id == "bbbb2222-0000-4000-8000-000000000002"
    assert shown == reports["token_usage_20261119_080000.json"]


def test_report_file_json_prints_the_file_model(project: Path) -> None:
    reports = three_reports(project)
    path = reports_dir(project) / "token_usage_20261121_100000.json"

    result = invoke(project, "tokens", "--report-file", str(path), "--json")

    assert result.exit_code == 0
    assert TokenUsageReport.model_validate_json(result.stdout) == reports[path.name]


def test_report_file_by_name_is_found_in_the_project(project: Path, tmp_path: Path) -> None:
    reports = three_reports(project)
    name = "token_usage_20261121_100000.json"

    by_name = invoke(project, "tokens", "--report-file", name, "--json")
    relative = invoke(
        project, "tokens", "--report-file", f"memory-bank/token-reports/{name}", "--json"
    )

    assert TokenUsageReport.model_validate_json(by_name.stdout) == reports[name]
    assert TokenUsageReport.model_validate_json(relative.stdout) == reports[name]


def test_a_missing_report_file_is_exit_2_with_one_line(project: Path) -> None:
    missing = project / "nope.json"

    result = invoke(project, "tokens", "--report-file", str(missing))

    assert result.exit_code == 2
    assert result.stderr == f"Error: cannot read report {missing}: No such file or directory\n"


def test_an_unreadable_report_file_is_exit_2_with_one_line(project: Path) -> None:
    path = project / "bad.json"
    path.write_text("{not json", "utf-8")

    result = invoke(project, "tokens", "--report-file", str(path))

    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(f"Error: {path} is not valid JSON (")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--list-all", "--limit", "0"), "Error: --limit must be 1 or more (got 0)"),
        (("--limit", "3"), "Error: --limit goes with --list-all"),
        (
            ("--json", "check", "--max-cost", "1"),
            "Error: --json belongs to `tokens` itself; give the options of `tokens check` after it",
        ),
        (
            ("--list-all", "--price-as", "gpt-4o"),
            "Error: --price-as re-prices one report; it does not go with --list-all",
        ),
        # Checked before the report is read or printed: no report ahead of the error.
        (
            ("--price-as", " , "),
            "Error: --price-as needs model names, e.g. --price-as gpt-4o,claude-3-haiku",
        ),
        (
            ("--price-as", "gpt-4o", "--json"),
            "Error: --json prints the report as saved; it does not go with --price-as",
        ),
    ],
)
def test_conflicting_options_are_exit_2(project: Path, args: tuple[str, ...], message: str) -> None:
    three_reports(project)

    result = invoke(project, "tokens", *args)

    assert result.exit_code == 2
    assert result.stderr == message + "\n"
    assert result.stdout == ""


# --- the index -----------------------------------------------------------------------------------


def test_the_index_is_written_and_serves_unchanged_files(project: Path) -> None:
    three_reports(project)
    folder = reports_dir(project)
    first = list_reports(folder)
    index = json.loads((folder / INDEX_NAME).read_text("utf-8"))
    assert sorted(index["entries"]) == sorted(s.file for s in first.reports)

    # Prove the summaries come from the index: doctor one entry while the file stays unchanged.
    row = index["entries"]["token_usage_20261120_090000.json"][2]
    assert row[1] == "init"  # the command
    row[1] = "from-index"
    (folder / INDEX_NAME).write_text(json.dumps(index), "utf-8")

    second = list_reports(folder)

    assert [s.command for s in second.reports] == ["update", "refresh", "from-index"]


def test_a_changed_file_is_read_again(project: Path) -> None:
    three_reports(project)
    folder = reports_dir(project)
    list_reports(folder)
    path = folder / "token_usage_20261120_090000.json"
    stat = path.stat()
    changed = make_report(
        "aaaa1111-0000-4000-8000-000000000001",
        end=START,
        command="update",
        agents=[agent("projectbrief", 3_000, 1_000, cost=0.00105)],
    )
    path.write_text(changed.model_dump_json(indent=2), "utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))

    listing = list_reports(folder)

    assert [s.command for s in listing.reports] == ["update", "refresh", "update"]


def test_a_removed_file_leaves_the_listing_and_a_corrupt_index_is_rebuilt(project: Path) -> None:
    three_reports(project)
    folder = reports_dir(project)
    list_reports(folder)
    (folder / "token_usage_20261121_100000.json").unlink()
    (folder / INDEX_NAME).write_text("garbage", "utf-8")

    listing = list_reports(folder)

    assert [s.session_id[:4] for s in listing.reports] == ["bbbb", "aaaa"]
    assert listing.skipped == []
    index = json.loads((folder / INDEX_NAME).read_text("utf-8"))
    assert sorted(index["entries"]) == [
        "token_usage_20261119_080000.json",
        "token_usage_20261120_090000.json",
    ]


def test_a_hand_edited_index_is_not_trusted(project: Path) -> None:
    three_reports(project)
    folder = reports_dir(project)
    list_reports(folder)
    index = json.loads((folder / INDEX_NAME).read_text("utf-8"))
    index["entries"]["token_usage_20261120_090000.json"][2][11] = "4,000"  # tokens as text
    (folder / INDEX_NAME).write_text(json.dumps(index), "utf-8")

    listing = list_reports(folder)

    assert [s.total_tokens for s in listing.reports] == [19_500, 24_000, 4_000]
    rebuilt = json.loads((folder / INDEX_NAME).read_text("utf-8"))
    assert rebuilt["entries"]["token_usage_20261120_090000.json"][2][11] == 4_000


def test_a_read_only_folder_still_lists(project: Path) -> None:
    three_reports(project)
    folder = reports_dir(project)
    folder.chmod(0o555)
    try:
        listing = list_reports(folder)
    finally:
        folder.chmod(0o755)
    assert len(listing.reports) == 3
    assert not (folder / INDEX_NAME).exists() or os.geteuid() == 0


READ_ONLY_COMMANDS = [
    ("--list-all",),
    ("--list-all", "--json"),
    (),
    ("--json",),
    ("--report-file", "token_usage_20261121_100000.json"),
    ("--price-as", "gpt-4o"),
    ("check", "--max-cost", "5"),
    ("check", "--max-tokens", "100", "--session-id", "aaaa"),
    ("compare", "token_usage_20261120_090000.json", "token_usage_20261121_100000.json"),
]


@pytest.mark.parametrize("args", READ_ONLY_COMMANDS, ids=" ".join)
def test_read_only_commands_leave_an_orphaned_journal_alone(
    project: Path, args: tuple[str, ...]
) -> None:
    three_reports(project)
    folder = reports_dir(project)
    journal = folder / ".journal"
    journal.mkdir()
    orphan = journal / "dead-session.jsonl"
    orphan.write_text('{"timestamp": "2026-11-20T09:00:00+00:00"}\n', "utf-8")
    content, before = orphan.read_bytes(), orphan.stat()
    reports_before = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))

    result = invoke(project, "tokens", *args)

    assert result.exit_code in (0, 1), result.stderr  # check may fail its gate; nothing else
    after = orphan.stat()
    assert (after.st_mtime_ns, after.st_size) == (before.st_mtime_ns, before.st_size)
    assert orphan.read_bytes() == content
    assert sorted(p.name for p in journal.iterdir()) == ["dead-session.jsonl"]
    # Not recovered into an `interrupted` report either.
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == reports_before


def test_writes_a_report_and_lists_it_with_json_it_wrote(project: Path) -> None:
    report = make_report(
        "dddd4444-0000-4000-8000-000000000004",
        end=START,
        agents=[agent("progress", 100, 50, cost=0.000045)],
    )
    write_report(project, "token_usage_20261120_090000.json", report)

    result = invoke(project, "tokens", "--list-all", "--json")

    assert json.loads(result.stdout) == [json.loads(report.model_dump_json())]


# --- subcommands loaded from the command table -----------------------------------------------

LAZY_MODULE = '''
import click

@click.command("lazy-hello")
def lazy_hello() -> None:
    """Say hello."""
    click.echo("hello")
'''


def test_a_subcommand_in_the_table_loads_only_when_needed(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "lazy_tokens_extension.py").write_text(LAZY_MODULE, "utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    three_reports(project)
    monkeypatch.setitem(tokens.lazy_commands, "lazy-hello", "lazy_tokens_extension:lazy_hello")
    try:
        assert invoke(project, "tokens", "--list-all").exit_code == 0
        assert "lazy_tokens_extension" not in sys.modules

        result = invoke(project, "tokens", "lazy-hello")

        assert (result.exit_code, result.stdout) == (0, "hello\n")
        assert "lazy_tokens_extension" in sys.modules
    finally:
        tokens.commands.pop("lazy-hello", None)
        sys.modules.pop("lazy_tokens_extension", None)
