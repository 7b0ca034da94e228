"""A disk full or an I/O error in the middle of a run: the run stops launching agents, prints
the full report, says in one line what could not be written and exits 2, with no traceback and no
temporary file left; the journal keeps every answered request written before the failure.

The failure is injected at the writers (``OSError(ENOSPC)``); as root, where ``mount`` works, a
real full tmpfs is used as well."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from memory_banker import writer
from tests.support.cli import invoke
from tests.support.fake_provider import FakeProvider, Reply
from tests.support.generate import (
    AGENT_NAMES,
    TEST_KEY,
    bank_markdown,
    reports,
    script_bank,
    six_files,
    spec,
    usage_of,
)
from tests.support.sample_project import make_sample_project
from token_tracking.reports import file as report_file
from token_tracking.reports import journal as journal_module
from token_tracking.reports.journal import recover_journals

RESPONSES = ("--api", "responses", "--max-retries", "0")
ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
NOT_LAUNCHED = AGENT_NAMES[1:]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_sample_project(tmp_path)


def _env(fake: FakeProvider) -> dict[str, str | None]:
    return {"OPENAI_API_KEY": TEST_KEY, "OPENAI_BASE_URL": fake.openai_base_url}


def _temp_files(project: Path) -> list[Path]:
    return list(project.rglob("*.tmp"))


def _full_disk(*_: Any, **__: Any) -> Any:
    raise ENOSPC


def test_a_bank_file_that_cannot_be_written_stops_the_run_with_one_line(
    project: Path, fake_provider: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    script_bank(fake_provider)
    monkeypatch.setattr(writer, "atomic_write", _full_disk)

    result = invoke(project, "init", *RESPONSES, "--json", env=_env(fake_provider))

    assert result.exit_code == 2
    printed = json.loads(result.stdout)
    prompt, completion = usage_of(0)
    assert (printed["total_prompt_tokens"], printed["total_completion_tokens"]) == (
        prompt,
        completion,
    )
    stopped = (
        "stopped by the write failure (cannot write memory-bank/projectbrief.md: "
        "No space left on device)"
    )
    assert printed["agents_not_run_reasons"] == dict.fromkeys(NOT_LAUNCHED, stopped)
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert errors == [
        "Error: cannot write memory-bank/projectbrief.md: No space left on device "
        "(the run stopped launching agents; the report above is complete)"
    ]
    assert "Ctrl-C" not in result.stderr
    assert "Traceback" not in result.stderr
    assert len(fake_provider.requests) == 1
    [saved] = reports(project)
    assert saved.session_id == printed["session_id"]
    assert six_files(project) == {}
    assert _temp_files(project) == []


def test_running_agents_are_stopped_by_the_write_failure_not_by_ctrl_c(
    project: Path, fake_provider: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Round two: systemPatterns answers at once and its file cannot be written; the two others
    # are still waiting for their (slow) answers and are stopped.
    slow = {
        name: Reply(
            text=bank_markdown(spec(name)),
            prompt_tokens=10,
            completion_tokens=5,
            delay=5.0,
        )
        for name in ("productContext", "techContext")
    }
    script_bank(fake_provider, overrides=slow)
    real = writer.atomic_write

    def write(path: Path, data: str | bytes) -> None:
        if path.name == "systemPatterns.md":
            raise ENOSPC
        real(path, data)

    monkeypatch.setattr(writer, "atomic_write", write)

    result = invoke(project, "init", *RESPONSES, "--json", env=_env(fake_provider))

    assert result.exit_code == 2
    printed = json.loads(result.stdout)
    errors = {agent["agent_name"]: agent["error"] for agent in printed["agent_usage"]}
    cause = "cannot write memory-bank/systemPatterns.md: No space left on device"
    stopped = f"stopped by the write failure ({cause})"
    assert errors == {
        "projectbrief": None,
        "productContext": stopped,
        "systemPatterns": cause,
        "techContext": stopped,
    }
    assert printed["agents_not_run_reasons"] == {"activeContext": stopped, "progress": stopped}
    assert "Ctrl-C" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert _temp_files(project) == []


@pytest.fixture(params=[2, 3], ids=["at-the-request", "after-the-request"])
def journal_fails_after(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[bytes]]:
    """The journal's first writes succeed (2: the header and the first agent's start, so the
    request's line fails inside the SDK's hook; 3: its request too), then every write fails with
    ENOSPC; the report file cannot be written either."""
    written: list[bytes] = []
    real = journal_module._write

    def write(fd: int, data: bytes) -> int:
        if len(written) >= request.param:
            raise ENOSPC
        written.append(data)
        return real(fd, data)

    monkeypatch.setattr(journal_module, "_write", write)
    monkeypatch.setattr(report_file, "create_exclusive", _full_disk)
    yield written


def test_a_full_disk_keeps_the_journal_whole_and_prints_the_report(
    project: Path,
    fake_provider: FakeProvider,
    journal_fails_after: list[bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    script_bank(fake_provider)

    result = invoke(project, "init", *RESPONSES, "--json", env=_env(fake_provider))

    assert result.exit_code == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "Ctrl-C" not in result.stdout + result.stderr
    printed = json.loads(result.stdout)
    # Everything answered is in the printed report: the first agent's request.
    assert printed["total_prompt_tokens"] == usage_of(0)[0]
    assert printed["total_requests"] == len(fake_provider.requests) == 1
    assert set(printed["agents_not_run"]) == set(NOT_LAUNCHED)
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1
    reports_dir = project / "memory-bank" / "token-reports"
    [journal] = list((reports_dir / ".journal").glob("*.jsonl"))
    assert errors == [
        f"Error: cannot write the journal {journal}: No space left on device (the run stopped "
        "launching agents; the report above is complete but was not saved: its journal keeps "
        "what was written for `memory-banker tokens reindex`)"
    ]
    assert reports(project) == []
    assert _temp_files(project) == []

    # Space is back: the journal holds whole lines only, and recovery finds the answered request.
    assert journal.read_bytes() == b"".join(journal_fails_after)
    monkeypatch.undo()
    events = [json.loads(line) for line in journal_fails_after]
    flushed = [event["usage"] for event in events if event["event"] == "request"]
    [recovered] = recover_journals(reports_dir)
    assert recovered.session_id == printed["session_id"]
    assert recovered.total_prompt_tokens == sum(usage["prompt_tokens"] for usage in flushed)
    assert recovered.total_requests == len(flushed)


def test_temporary_files_of_dead_processes_are_removed_by_the_next_run(project: Path) -> None:
    reports_dir = project / "memory-bank" / "token-reports"
    reports_dir.mkdir(parents=True)
    dead = reports_dir / ".token_usage_20261120_090000.json.999999999.0a1b2c3d.tmp"
    mine = reports_dir / f".token_usage_20261120_090000.json.{os.getpid()}.0a1b2c3d.tmp"
    bank_dead = project / "memory-bank" / ".progress.md.999999999.ffffffff.tmp"
    for path in (dead, mine, bank_dead):
        path.write_text("{", encoding="utf-8")

    result = invoke(project, "update", "--offline", "--quiet")

    assert result.exit_code == 0, result.stderr
    assert not dead.exists()
    assert not bank_dead.exists()
    assert mine.exists()  # a live process's file is never touched


SMALL_DISK = 64 * 1024
"""The size of the small filesystem ``memory-bank/`` lives on in the full-disk test."""


class _Budget:
    """A filesystem of ``SMALL_DISK`` bytes under ``folder``, for a test process that cannot
    mount one: ``os.open``/``os.write``/``os.ftruncate`` are wrapped so that writes to files below
    ``folder`` fail with ENOSPC once the folder's files hold ``SMALL_DISK`` bytes."""

    def __init__(self, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.folder = str(folder)
        self.fds: set[int] = set()
        real_open, real_write = os.open, os.write

        def counting_open(path: Any, flags: int, mode: int = 0o777, **kwargs: Any) -> int:
            fd = real_open(path, flags, mode, **kwargs)
            if os.path.abspath(os.fsdecode(path)).startswith(self.folder):
                self.fds.add(fd)
            return fd

        def counting_write(fd: int, data: Any) -> int:
            if fd in self.fds and self.used() + len(data) > SMALL_DISK:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real_write(fd, data)

        monkeypatch.setattr(os, "open", counting_open)
        monkeypatch.setattr(os, "write", counting_write)

    def used(self) -> int:
        return sum(
            entry.stat().st_size for entry in Path(self.folder).rglob("*") if entry.is_file()
        )


@pytest.fixture
def small_tmpfs(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``memory-bank/`` on a 64 KB filesystem: a real tmpfs when this process may mount one
    (root with ``mount``), else the same budget enforced at the ``os.write`` calls."""
    bank = project / "memory-bank"
    bank.mkdir()
    mounted = os.geteuid() == 0 and not os.system(
        f"mount -t tmpfs -o size={SMALL_DISK // 1024}k tmpfs '{bank}' 2>/dev/null"
    )
    if not mounted:
        _Budget(bank, monkeypatch)
    try:
        yield bank
    finally:
        if mounted:
            os.system(f"umount '{bank}'")


def test_a_really_full_disk_ends_in_one_line(
    project: Path, fake_provider: FakeProvider, small_tmpfs: Path
) -> None:
    (small_tmpfs / "token-reports" / ".journal").mkdir(parents=True)
    filler = small_tmpfs / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for _ in range(1000):  # 64 KB holds far fewer than 1000 blocks
            os.write(fd, b"x" * 1024)
    except OSError as error:
        assert error.errno == errno.ENOSPC
    finally:
        os.close(fd)
    # Room for the journal's first lines and one bank file, not for the whole run.
    os.truncate(filler, filler.stat().st_size - 8192)
    script_bank(fake_provider)

    # One agent at a time: a request still in flight when the disk fills would be cancelled by
    # the client after the server counted it, and the totals below compare with what it served.
    result = invoke(
        project, "init", *RESPONSES, "--concurrency", "1", "--json", env=_env(fake_provider)
    )

    assert result.exit_code == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "Ctrl-C" not in result.stdout + result.stderr
    assert result.stdout, result.stderr
    printed = json.loads(result.stdout)
    assert printed["total_requests"] == len(fake_provider.requests)
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1
    assert "No space left on device" in errors[0]
    assert _temp_files(project) == []
