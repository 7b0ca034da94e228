"""Every reader of report files refuses the same files the same way: links (never followed),
FIFOs and devices (never opened for reading, so nothing blocks), files over 50 MB, and values out
of range (negative or non-finite counts and costs, above 10^15 tokens or $10^9).

A folder is read with one warning per bad file; a file named on the command line is one line on
stderr and exit 2."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from tests.support.cli import invoke
from tests.support.reports import START, agent, make_report, reports_dir, write_report
from token_tracking.errors import ReportFileError
from token_tracking.history.ledger import Ledger
from token_tracking.history.reindex import reindex
from token_tracking.reports.file import MAX_REPORT_BYTES, load_report, read_report_bytes
from token_tracking.reports.listing import list_reports

GOOD = "token_usage_20261120_090000.json"


def _document(**changes: object) -> str:
    report = make_report("good-0", end=START, agents=[agent("projectbrief", 100, 50, cost=0.01)])
    data = json.loads(report.model_dump_json())
    data.update(changes)
    # Python's json writes inf and NaN as the literals Infinity and NaN; 10**30 stays exact.
    return json.dumps(data)


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _dev_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


def _link_to_good(path: Path) -> None:
    path.symlink_to(GOOD)


def _huge_count(path: Path) -> None:
    path.write_text(_document(session_id="huge", total_tokens=10**30), encoding="utf-8")


def _infinite_cost(path: Path) -> None:
    path.write_text(_document(session_id="inf", total_cost_usd=float("inf")), encoding="utf-8")


def _negative_tokens(path: Path) -> None:
    path.write_text(_document(session_id="neg", total_prompt_tokens=-5), encoding="utf-8")


def _too_expensive(path: Path) -> None:
    path.write_text(_document(session_id="dear", total_cost_usd=2e9), encoding="utf-8")


def _oversized(path: Path) -> None:
    with path.open("wb") as handle:  # sparse: no 50 MB written
        handle.truncate(MAX_REPORT_BYTES + 1)


BAD: dict[str, tuple[Callable[[Path], None], str]] = {
    "fifo": (_fifo, "cannot read report {path}: not a regular file"),
    "dev_zero": (_dev_zero, "cannot read report {path}: a symbolic link, not followed"),
    "link": (_link_to_good, "cannot read report {path}: a symbolic link, not followed"),
    "huge": (
        _huge_count,
        "{path} holds an out-of-range value (total_tokens is above 1,000,000,000,000,000)",
    ),
    "inf": (_infinite_cost, "{path} holds an out-of-range value (total_cost_usd is inf)"),
    "negative": (
        _negative_tokens,
        "{path} holds an out-of-range value (total_prompt_tokens is negative)",
    ),
    "dear": (
        _too_expensive,
        "{path} holds an out-of-range value (total_cost_usd is above 1,000,000,000)",
    ),
    "oversized": (_oversized, "cannot read report {path}: larger than 50 MB"),
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    write_report(
        root,
        GOOD,
        make_report("good-0", end=START, agents=[agent("projectbrief", 100, 50, cost=0.01)]),
    )
    return root


def _bad(project: Path, kind: str, folder: Path | None = None) -> tuple[Path, str]:
    make, message = BAD[kind]
    folder = reports_dir(project) if folder is None else folder
    path = folder / f"token_usage_2026112{len(kind) % 10}_1000_{kind}.json"
    make(path)
    return path, message.format(path=path)


def _one_line(result: Result, message: str) -> None:
    assert (result.exit_code, result.stderr, result.stdout) == (2, f"Error: {message}\n", "")


@pytest.mark.parametrize("kind", sorted(BAD))
def test_load_report_refuses_it_in_one_line(project: Path, kind: str) -> None:
    path, message = _bad(project, kind)
    with pytest.raises(ReportFileError) as caught:
        load_report(path)
    assert str(caught.value) == message


def test_a_regular_file_swapped_for_a_fifo_never_blocks(tmp_path: Path) -> None:
    # The open itself is O_NONBLOCK: reading a FIFO without a writer returns at once.
    fifo = tmp_path / "r.json"
    os.mkfifo(fifo)
    with pytest.raises(ReportFileError, match=r"^not a regular file$"):
        read_report_bytes(fifo)


def test_reindex_skips_each_bad_file_with_one_warning_and_imports_the_rest(
    project: Path,
) -> None:
    bad = [_bad(project, kind) for kind in sorted(BAD)]
    expected = sorted(f"skipped {path}: {message}" for path, message in bad)
    later = write_report(
        project,
        "token_usage_20991231_000000.json",
        make_report("good-1", end=START, agents=[agent("progress", 10, 5, cost=0.001)]),
    )
    with Ledger() as ledger:
        result = reindex(ledger, reports_dir(project))
        assert sorted(result.imported) == ["good-0", "good-1"]
        assert sorted(result.skipped) == expected
        assert ledger.has_session("good-1")
    assert later.is_file()

    cli = invoke(project, "tokens", "reindex")
    assert cli.exit_code == 0, cli.stderr
    assert sorted(cli.stderr.splitlines()) == sorted(f"Warning: {line}" for line in expected)
    assert "Traceback" not in cli.stderr


def test_the_listing_skips_each_bad_file_with_one_warning(project: Path) -> None:
    names = sorted(_bad(project, kind)[0].name for kind in sorted(BAD))
    listing = list_reports(reports_dir(project), use_index=False)
    assert [summary.session_id for summary in listing.reports] == ["good-0"]
    assert sorted(skipped.name for skipped in listing.skipped) == names

    result = invoke(project, "tokens", "--list-all")
    assert result.exit_code == 0, result.stderr
    warnings = result.stderr.splitlines()
    assert len(warnings) == len(BAD)
    assert all(line.startswith("Warning: skipped token_usage_") for line in warnings)


@pytest.mark.parametrize("kind", ["fifo", "dev_zero", "link", "huge", "inf", "negative"])
@pytest.mark.parametrize(
    "command",
    [
        ("tokens", "--report-file"),
        ("tokens", "check", "--max-cost", "1", "--report-file"),
        ("tokens", "check", "--max-increase", "10", "--baseline"),
        ("tokens", "compare", GOOD),
    ],
    ids=["report-file", "check", "baseline", "compare"],
)
def test_a_named_bad_file_is_one_line_exit_2(
    project: Path, kind: str, command: tuple[str, ...]
) -> None:
    # Outside the reports folder, so that only the named file is read.
    path, message = _bad(project, kind, project)
    if kind == "link":
        path.unlink()
        path.symlink_to(reports_dir(project) / GOOD)
    result = invoke(project, *command, str(path))
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: ")
    reason = message.rsplit(": ", 1)[1] if message.startswith("cannot") else message
    assert reason.removeprefix(f"{path} ") in line
    assert "Traceback" not in result.stderr
