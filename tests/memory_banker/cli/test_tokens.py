"""``memory-banker tokens``: the latest report, --report-file, --list-all, --json and the index."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from inline_snapshot import snapshot
from rich.console import Console

from memory_banker.cli.tokens import tokens
from tests.support.cli import invoke, run_installed
from tests.support.ledger_factory import use_timezone
from tests.support.reports import (
    START,
    age_reports,
    agent,
    copy_v0_1,
    make_report,
    reports_dir,
    three_reports,
    write_report,
)
from token_tracking.display import json_text
from token_tracking.records import IntervalUsage
from token_tracking.reports import file as report_file_module
from token_tracking.reports import listing as listing_module
from token_tracking.reports.file import TokenUsageReport
from token_tracking.reports.listing import INDEX_NAME, latest, list_reports

# A terminal wide enough for every column of the listing (at 80 columns some are left out).
WIDE = {"COLUMNS": "160"}


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

    result = invoke(project, "tokens", "--list-all", env=WIDE)

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
        result = invoke(project, "tokens", "--list-all", env=WIDE)

    dates = [line[34:50] for line in result.stdout.splitlines()[2:4]]
    assert dates == ["2026-11-21 02:00", "2026-11-21 01:00"]


def test_list_all_limit_keeps_the_newest(project: Path) -> None:
    three_reports(project)

    result = invoke(project, "tokens", "--list-all", "--limit", "1", env=WIDE)

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
    # Equal as saved: numbers with a fraction carry 12 significant digits.
    assert json_text(loaded) == json_text(
        [
            reports["token_usage_20261119_080000.json"],
            reports["token_usage_20261121_100000.json"],
        ]
    )


def test_list_all_json_is_one_document_with_warnings_on_stderr(project: Path) -> None:
    reports = three_reports(project)
    (reports_dir(project) / "broken.json").write_text("[1, 2", "utf-8")

    result = invoke(project, "tokens", "--list-all", "--json")

    assert result.exit_code == 0
    # json.loads refuses trailing data: stdout is exactly one document.
    loaded = [TokenUsageReport.model_validate(item) for item in json.loads(result.stdout)]
    assert json_text(loaded) == json_text(
        [
            reports["token_usage_20261119_080000.json"],
            reports["token_usage_20261121_100000.json"],
            reports["token_usage_20261120_090000.json"],
        ]
    )
    assert result.stderr == (
        "Warning: skipped broken.json: "
        "not valid JSON (EOF while parsing a list at line 1 column 5)\n"
    )


def test_list_all_marks_a_0_1_report_cost(project: Path) -> None:
    copy_v0_1(project)

    result = invoke(project, "tokens", "--list-all", env=WIDE)

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

    result = invoke(project, "tokens", "--list-all", env=WIDE)

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
    assert json_text(shown) == json_text(reports["token_usage_20261119_080000.json"])


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


def read_index(folder: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The index as three parts: its first line with the end times of its second under
    ``end_times`` (what latest needs), each file's mtime, size and inode, and the summaries."""
    head, end_times, stats, rows = (folder / INDEX_NAME).read_text("utf-8").split("\n")
    return (
        {**json.loads(head), "end_times": json.loads(end_times)},
        json.loads(stats),
        json.loads(rows),
    )


def write_index(
    folder: Path, head: dict[str, Any], stats: dict[str, Any], rows: dict[str, Any]
) -> None:
    """Write the index's four lines from :func:`read_index`'s parts, stamped with the folder's
    mtime as the listing does."""
    first = {key: value for key, value in head.items() if key != "end_times"}
    parts = (first, head["end_times"], stats, rows)
    index = folder / INDEX_NAME
    index.write_text("\n".join(json.dumps(part) for part in parts), "utf-8")
    folder_ns = folder.stat().st_mtime_ns
    os.utime(index, ns=(folder_ns, folder_ns))


def test_the_index_is_written_and_serves_unchanged_files(project: Path) -> None:
    three_reports(project)
    folder = reports_dir(project)
    age_reports(folder)
    first = list_reports(folder).reports
    head, stats, rows = read_index(folder)
    assert sorted(head["end_times"]) == sorted(stats) == sorted(rows)
    assert sorted(rows) == sorted(s.file for s in first)

    # Prove the summaries come from the index: doctor one entry while the file stays unchanged.
    row = rows["token_usage_20261120_090000.json"]
    assert row[1] == "init"  # the command
    row[1] = "from-index"
    write_index(folder, head, stats, rows)

    second = list_reports(folder)

    assert [s.command for s in second.reports] == ["update", "refresh", "from-index"]


def test_the_latest_comes_from_the_index_without_reading_the_summaries(project: Path) -> None:
    three_reports(project)
    folder = reports_dir(project)
    age_reports(folder)
    list_reports(folder)
    head, _, _ = read_index(folder)
    # Neither stats nor summaries: while nothing in the folder changed, latest needs neither.
    write_index(folder, head, {}, {})

    listing = list_reports(folder)

    assert latest(listing).session_id.startswith("bbbb")
    assert read_index(folder)[1:] == ({}, {})  # finding the latest did not rewrite the index


def test_a_file_modified_just_before_the_index_was_written_is_read_again(project: Path) -> None:
    three_reports(project)
    folder = reports_dir(project)
    list_reports(folder)  # the files are seconds old: their entries are not trusted yet
    head, stats, rows = read_index(folder)
    assert head["racy"] is True
    rows["token_usage_20261120_090000.json"][1] = "from-index"
    write_index(folder, head, stats, rows)

    listing = list_reports(folder)

    assert [s.command for s in listing.reports] == ["update", "refresh", "init"]


def test_the_index_serves_a_report_replaced_under_the_same_name(project: Path) -> None:
    reports = three_reports(project)
    folder = reports_dir(project)
    age_reports(folder)
    assert invoke(project, "tokens", "--json").stdout.count("bbbb2222") == 1
    # Replace the oldest report by a newer session under the same name, with the same size and
    # the same mtime, through a rename (as every writer of reports does): only the inode differs.
    path = folder / "token_usage_20261120_090000.json"
    old = path.stat()
    newer = reports["token_usage_20261120_090000.json"].model_copy(
        update={
            "session_id": "dddd4444-0000-4000-8000-000000000004",
            "end_time": START + timedelta(days=3),
        }
    )
    replacement = folder / "replacement.tmp"
    replacement.write_text(newer.model_dump_json(indent=2), "utf-8")
    assert replacement.stat().st_size == old.st_size
    os.replace(replacement, path)
    os.utime(path, ns=(old.st_atime_ns, old.st_mtime_ns))

    shown = json.loads(invoke(project, "tokens", "--json").stdout)

    assert shown["session_id"] == "dddd4444-0000-4000-8000-000000000004"
    assert read_index(folder)[1][path.name][1:] == [old.st_size, path.stat().st_ino]


def _rich_report() -> TokenUsageReport:
    """A report using every part of the printed report: a failed agent, cached, cache-write and
    reasoning tokens, an unknown model with suggestions, agents not run, three intervals."""
    report = make_report(
        "eeee5555-0000-4000-8000-000000000005",
        end=START + timedelta(days=4),
        agents=[
            agent("projectbrief", 10_000, 2_000, cost=0.0027, cached_tokens=4_000),
            agent(
                "progress",
                6_000,
                1_500,
                cost=None,
                model="gpt-4o-mni",
                success=False,
                error="timeout\x1b[31m",
                cache_write_tokens=1_000,
                reasoning_tokens=500,
            ),
        ],
        status="partial",
        priced_coverage=0.6,
        unknown_models=("gpt-4o-mni",),
    )
    assert report.pricing is not None
    unknown = next(m for m in report.pricing.models if m.matched_key is None)
    unknown.suggestions.append("gpt-4o-mini")
    intervals = [
        IntervalUsage(
            index=n,
            start=START + timedelta(minutes=5 * n),
            duration_seconds=300.0,
            prompt_tokens=1_000 * n,
            completion_tokens=100 * n,
            total_tokens=1_100 * n,
            cost_usd=None if n == 2 else 0.001 * n,
            requests=n,
        )
        for n in (1, 2, 3)
    ]
    return report.model_copy(
        update={
            "agents_not_run": ["techContext"],
            "unknown_usage_requests": 1,
            "total_cached_tokens": 4_000,
            "intervals": intervals,
        }
    )


def test_tokens_prints_the_latest_from_the_index_as_the_model_prints_it(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    three_reports(project)
    write_report(project, "token_usage_20261124_090000.json", _rich_report())
    folder = reports_dir(project)
    age_reports(folder)
    from_file = invoke(project, "tokens").stdout  # builds the index, with the latest's document
    parsed: list[int] = []
    real = report_file_module.parse_report
    monkeypatch.setattr(
        report_file_module, "parse_report", lambda data: parsed.append(len(data)) or real(data)
    )

    served = invoke(project, "tokens").stdout

    assert parsed == []  # nothing read through the model: the index served the report
    assert served == from_file
    assert "Not run: techContext" in served and "did you mean gpt-4o-mini?" in served
    assert "Token Usage by 5-Minute Intervals" in served
    # The same as printing the model read from the file.
    console = Console(file=io.StringIO(), width=80, color_system=None, highlight=False)
    TokenUsageReport.load_from_file(folder / "token_usage_20261124_090000.json").render(console)
    assert served == console.file.getvalue()  # type: ignore[attr-defined]


def test_tokens_prints_a_report_replaced_under_the_same_name(project: Path) -> None:
    reports = three_reports(project)
    folder = reports_dir(project)
    age_reports(folder)
    assert "Model: gpt-4o-mini" in invoke(project, "tokens").stdout
    assert read_index(folder)[0]["latest"]["file"] == "token_usage_20261119_080000.json"
    # The latest replaced by another session of the same size and mtime through a rename:
    # only the inode says the index's document of it is stale.
    path = folder / "token_usage_20261119_080000.json"
    old = path.stat()
    newer = reports[path.name].model_copy(update={"model": "gpt-4o-mixi"})
    replacement = folder / "replacement.tmp"
    replacement.write_text(newer.model_dump_json(indent=2), "utf-8")
    assert replacement.stat().st_size == old.st_size
    os.replace(replacement, path)
    os.utime(path, ns=(old.st_atime_ns, old.st_mtime_ns))

    shown = invoke(project, "tokens").stdout

    assert "Model: gpt-4o-mixi" in shown
    assert "Model: gpt-4o-mixi" in invoke(project, "tokens").stdout  # the index's new document
    assert json.loads(read_index(folder)[0]["latest"]["document"])["model"] == "gpt-4o-mixi"


def test_an_edited_document_in_the_index_is_not_served(project: Path) -> None:
    three_reports(project)
    folder = reports_dir(project)
    age_reports(folder)
    invoke(project, "tokens")
    head, stats, rows = read_index(folder)
    head["latest"]["document"] = head["latest"]["document"].replace("gpt-4o-mini", "edited")
    write_index(folder, head, stats, rows)

    shown = invoke(project, "tokens").stdout

    assert "Model: gpt-4o-mini" in shown and "edited" not in shown


def test_tokens_and_the_listing_import_no_pydantic_while_the_index_is_fresh(
    project: Path,
) -> None:
    three_reports(project)
    age_reports(reports_dir(project))
    invoke(project, "tokens")
    probe = (
        "import sys\n"
        "from memory_banker.cli.main import cli\n"
        "cli.main(args=sys.argv[1:], prog_name='memory-banker', standalone_mode=False)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pydantic', 'pricing'}))\n"
    )
    for args in (["tokens"], ["tokens", "--list-all"]):
        done = subprocess.run(
            [sys.executable, "-c", probe, "--project-path", str(project), *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        assert done.stdout.splitlines()[-1] == "[]", args


def test_a_report_written_while_the_index_is_written_is_not_hidden_by_it(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    three_reports(project)
    folder = reports_dir(project)
    age_reports(folder)
    late = make_report(
        "dddd4444-0000-4000-8000-000000000004", end=START + timedelta(days=3), agents=[]
    )
    real = listing_module.atomic_write

    def write_then_a_report_lands(path: Path, data: str | bytes) -> None:
        real(path, data)
        write_report(project, "token_usage_20261123_090000.json", late)

    # The folder was listed before the report landed; the index is stamped after it did.
    monkeypatch.setattr(listing_module, "atomic_write", write_then_a_report_lands)
    list_reports(folder)
    monkeypatch.setattr(listing_module, "atomic_write", real)

    listing = list_reports(folder)

    assert latest(listing).session_id.startswith("dddd")
    assert len(listing.reports) == 4


def test_a_report_the_index_found_in_the_future_is_the_latest_once_its_time_comes(
    project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    three_reports(project)
    ahead = datetime.now(UTC) + timedelta(hours=1)
    write_report(
        project,
        "token_usage_20991231_000000.json",
        make_report("eeee5555-0000-4000-8000-000000000005", end=ahead, agents=[]),
    )
    folder = reports_dir(project)
    age_reports(folder)
    list_reports(folder)
    assert list(read_index(folder)[0]["future"]) == ["token_usage_20991231_000000.json"]

    with caplog.at_level(logging.WARNING, logger="token_tracking.reports.listing"):
        now = latest(list_reports(folder))
        later = latest(list_reports(folder), now=ahead.timestamp() + 60)

    assert now.session_id.startswith("bbbb")
    assert [r.getMessage().split(":")[0] for r in caplog.records] == [
        "token_usage_20991231_000000.json is not taken as the latest report"
    ]
    assert later.session_id.startswith("eeee")


def test_a_report_ending_in_the_future_is_not_the_latest_and_is_named_in_a_warning(
    project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    three_reports(project)
    ahead = START + timedelta(days=30)
    write_report(
        project,
        "token_usage_20261220_090000.json",
        make_report("eeee5555-0000-4000-8000-000000000005", end=ahead, agents=[]),
    )
    listing = list_reports(reports_dir(project))
    now = (START + timedelta(days=2, hours=1)).timestamp()

    with caplog.at_level(logging.WARNING, logger="token_tracking.reports.listing"):
        chosen = latest(listing, now=now)

    assert chosen.session_id.startswith("bbbb")
    assert [r.getMessage() for r in caplog.records] == [
        "token_usage_20261220_090000.json is not taken as the latest report: it ends "
        f"{ahead.astimezone().isoformat(timespec='seconds')}, more than 5 minutes in the future"
    ]
    # Within five minutes of now it counts; the listing itself keeps every report.
    caplog.clear()
    assert latest(listing, now=ahead.timestamp() - 299).session_id.startswith("eeee")
    assert caplog.records == []
    assert [s.session_id[:4] for s in listing.reports] == ["eeee", "bbbb", "cccc", "aaaa"]


def test_tokens_warns_on_stderr_about_a_report_from_the_future(project: Path) -> None:
    three_reports(project)
    write_report(
        project,
        "token_usage_20991231_000000.json",
        make_report(
            "ffff6666-0000-4000-8000-000000000006",
            end=datetime(2099, 12, 31, tzinfo=UTC),
            agents=[],
        ),
    )

    done = run_installed("--project-path", str(project), "tokens", "--json")

    assert done.returncode == 0
    assert json.loads(done.stdout)["session_id"].startswith("bbbb")
    assert done.stderr.splitlines() == [
        "WARNING: token_usage_20991231_000000.json is not taken as the latest report: it ends "
        f"{datetime(2099, 12, 31, tzinfo=UTC).astimezone().isoformat(timespec='seconds')}, "
        "more than 5 minutes in the future"
    ]


def test_a_listing_reads_only_the_files_added_since_the_index(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    three_reports(project)
    folder = reports_dir(project)
    age_reports(folder)
    assert len(list_reports(folder).reports) == 3
    write_report(
        project,
        "token_usage_20261125_090000.json",
        make_report("dddd4444-0000-4000-8000-000000000004", end=START, agents=[]),
    )
    parsed: list[int] = []
    real = report_file_module.parse_report
    monkeypatch.setattr(
        report_file_module, "parse_report", lambda data: parsed.append(len(data)) or real(data)
    )

    listing = list_reports(folder)
    latest(listing)
    assert len(listing.reports) == 4

    # Only the new file: the other two come from the index, and the latest from its document.
    assert len(parsed) == 1


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
    head, stats, rows = read_index(folder)
    assert (
        sorted(head["end_times"])
        == sorted(stats)
        == sorted(rows)
        == [
            "token_usage_20261119_080000.json",
            "token_usage_20261120_090000.json",
        ]
    )


def test_a_hand_edited_index_is_not_trusted(project: Path) -> None:
    three_reports(project)
    folder = reports_dir(project)
    age_reports(folder)
    list_reports(folder)
    head, stats, rows = read_index(folder)
    rows["token_usage_20261120_090000.json"][11] = "4,000"  # tokens as text
    write_index(folder, head, stats, rows)

    listing = list_reports(folder)

    assert [s.total_tokens for s in listing.reports] == [19_500, 24_000, 4_000]
    assert read_index(folder)[2]["token_usage_20261120_090000.json"][11] == 4_000


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
        assert invoke(project, "tokens", "--list-all", env=WIDE).exit_code == 0
        assert "lazy_tokens_extension" not in sys.modules

        result = invoke(project, "tokens", "lazy-hello")

        assert (result.exit_code, result.stdout) == (0, "hello\n")
        assert "lazy_tokens_extension" in sys.modules
    finally:
        tokens.commands.pop("lazy-hello", None)
        sys.modules.pop("lazy_tokens_extension", None)
