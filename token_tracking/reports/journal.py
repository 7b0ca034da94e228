"""The crash-safe session journal and its recovery.

While a session runs, ``<reports>/.journal/<session_id>.jsonl`` holds one JSON line per event —
the session header first, then agent starts and ends and every request's priced usage — each
appended with a single ``write`` on an ``O_APPEND`` descriptor, so the line is in the kernel
before ``record`` returns and a killed process loses at most the request in flight.

The running process holds an exclusive ``flock`` on the journal for the whole session. A journal
whose lock can be taken therefore belongs to a process that is gone: :func:`recover_journals`
turns it into a report with status ``interrupted``. The lock is never waited for: a live
session's journal is skipped at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import stat
from collections.abc import Iterator, Mapping
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pricing import PriceBook
from token_tracking import display
from token_tracking.errors import JournalError, ReportFileError
from token_tracking.intervals import IntervalTracker
from token_tracking.records import GitInfo, ModelPricing, PricingInfo, RequestUsage
from token_tracking.reports.build import ReportBuilder, SessionMeta
from token_tracking.reports.file import (
    REPORT_PREFIX,
    TokenUsageReport,
    check_report_values,
    load_report,
    save_report,
)
from token_tracking.reports.pricer import Pricer
from token_tracking.settings import MAX_INTERVAL_MINUTES, MIN_INTERVAL_MINUTES

logger = logging.getLogger(__name__)

JOURNAL_DIR = ".journal"
"""The journal folder inside a token-reports folder."""

UNREADABLE_DIR = "unreadable"
"""The folder inside the journal folder where journals that cannot be recovered are moved."""

INTERRUPTED_AGENT_ERROR = "interrupted: the process ended before the agent finished"


def journal_dir(reports_dir: Path) -> Path:
    """Return the folder holding the journals of ``reports_dir``."""
    return reports_dir / JOURNAL_DIR


def _write(fd: int, data: bytes) -> int:
    """Write ``data`` with one ``write`` call; the one place a journal line reaches the disk."""
    return os.write(fd, data)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class Journal:
    """An open journal, locked by this process until :meth:`close`. Not thread-safe by itself:
    the collector serializes its calls."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd
        self.failure: str | None = None
        """Why a write failed (the journal then writes nothing more); None while it works."""

    @classmethod
    def create(cls, reports_dir: Path, meta: SessionMeta, pricing: PricingInfo | None) -> Journal:
        """Create and lock ``<reports_dir>/.journal/<session_id>.jsonl`` with its header line.

        The file is created and locked under a temporary name and then renamed, so a recovering
        process never sees a journal that is not yet locked. Raises JournalError on I/O errors.
        """
        folder = journal_dir(reports_dir)
        path = folder / f"{meta.session_id}.jsonl"
        creating = folder / f".{meta.session_id}.jsonl.creating"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(creating, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        except OSError as error:
            raise JournalError(
                f"cannot create the journal in {folder}: {error.strerror}"
            ) from error
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # a fresh private file: never contended
            journal = cls(path, fd)
            journal.append({"event": "session", **_meta_json(meta), "pricing": _dump(pricing)})
            os.rename(creating, path)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                creating.unlink()
            raise
        return journal

    def append(self, event: Mapping[str, Any]) -> None:
        """Write ``event`` as one JSON line with a single ``write`` (flushed to the kernel).

        Raises JournalError when the journal is closed or the write fails; a failed write leaves
        no partial line, and every later call raises the same error without writing.
        """
        if self._fd is None:
            raise JournalError(f"journal {self.path} is closed")
        if self.failure is not None:
            # After a failed write the journal holds every line written before it and nothing
            # after: a later line would leave a gap that a recovery could not see.
            raise JournalError(self.failure)
        line = (display.json_text(event, indent=None, separators=(",", ":")) + "\n").encode("utf-8")
        size = os.fstat(self._fd).st_size
        try:
            written = _write(self._fd, line)
            problem = None if written == len(line) else "short write (the disk may be full)"
        except OSError as error:
            problem = str(error.strerror)
        if problem is None:
            return
        # Cut a partial line off, so the lines already written stay whole for recovery.
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, size)
        self.failure = f"cannot write the journal {self.path}: {problem}"
        raise JournalError(self.failure)

    def request(self, usage: RequestUsage, note: ModelPricing | None) -> None:
        """Journal one priced request and how its model resolved."""
        self.append(
            {"event": "request", "usage": usage.model_dump(mode="json"), "pricing": _dump(note)}
        )

    def agent_start(self, name: str, model: str | None, at: datetime) -> None:
        """Journal the start of an agent run."""
        self.append({"event": "agent_start", "name": name, "model": model, "time": at.isoformat()})

    def agent_end(
        self,
        name: str,
        at: datetime,
        *,
        success: bool,
        error: str | None,
        output_file: str | None,
    ) -> None:
        """Journal the end of an agent run."""
        self.append(
            {
                "event": "agent_end",
                "name": name,
                "time": at.isoformat(),
                "success": success,
                "error": error,
                "output_file": output_file,
            }
        )

    def close(self, *, delete: bool) -> None:
        """Release the lock (deleting the journal first when ``delete``). Idempotent."""
        if self._fd is None:
            return
        if delete:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        os.close(self._fd)
        self._fd = None


def _dump(model: ModelPricing | PricingInfo | None) -> dict[str, Any] | None:
    return None if model is None else model.model_dump(mode="json")


def _meta_json(meta: SessionMeta) -> dict[str, Any]:
    data = asdict(meta)
    data["start_time"] = meta.start_time.isoformat()
    data["git"] = None if meta.git is None else meta.git.model_dump(mode="json")
    return data


def _meta_from_json(data: Mapping[str, Any]) -> SessionMeta:
    git = data.get("git")
    return SessionMeta(
        session_id=str(data["session_id"]),
        command=str(data["command"]),
        project_path=str(data["project_path"]),
        start_time=datetime.fromisoformat(str(data["start_time"])),
        model=data.get("model"),
        default_model=data.get("default_model"),
        source=data.get("source", "llm"),
        git=None if git is None else GitInfo.model_validate(git),
        interval_minutes=_interval(data.get("interval_minutes")),
        planned_agents=tuple(str(name) for name in data.get("planned_agents") or ()),
    )


def _interval(value: object) -> float | None:
    """Return a journaled interval length, or None (no intervals) when it is out of bounds."""
    if isinstance(value, int | float) and MIN_INTERVAL_MINUTES <= value <= MAX_INTERVAL_MINUTES:
        return float(value)
    return None


def _events(path: Path, lines: list[str], *, start: int) -> Iterator[dict[str, Any]]:
    """Yield the JSON objects of ``lines`` (line ``start`` onwards), warning about cut lines."""
    for number, line in enumerate(lines, start=start):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            # Only the line being written when the process died can be cut short; a line nested
            # too deeply for the parser is foreign and skipped the same way.
            logger.warning("%s: line %d is incomplete and was skipped", path, number)
            continue
        if isinstance(event, dict):
            yield event


def replay(path: Path, text: str, pricebook: PriceBook | None = None) -> TokenUsageReport | None:
    """Return the ``interrupted`` report of a journal's text; None when no agent or request was
    journaled. ``pricebook`` prices requests the dead process could not price.

    Raises JournalError when the header line is missing or unreadable.
    """
    # The header is the first line: without it nothing can be replayed, so a foreign or binary
    # file is refused here instead of being warned about line by line.
    lines = text.splitlines()
    first = next((index for index, line in enumerate(lines) if line.strip()), len(lines))
    try:
        header = json.loads(lines[first]) if first < len(lines) else None
    except (json.JSONDecodeError, RecursionError):
        header = None
    if not isinstance(header, dict) or header.get("event") != "session":
        raise JournalError(f"{path} has no session header")
    events = [header, *_events(path, lines[first + 1 :], start=first + 2)]
    try:
        meta = _meta_from_json(header)
        stored = header.get("pricing")
        info = PricingInfo.model_validate(stored) if isinstance(stored, dict) else None
    except (KeyError, TypeError, ValueError, ValidationError) as error:
        raise JournalError(f"{path} has an unreadable session header: {error}") from None
    builder = ReportBuilder(meta)
    pricer = Pricer(pricebook, meta.default_model) if pricebook is not None else None
    notes: dict[str, ModelPricing] = {}
    for event in events[1:]:
        kind = event.get("event")
        try:
            if kind == "request":
                usage = RequestUsage.model_validate(event["usage"])
                if pricer is not None and usage.cost_usd is None and not usage.cost_is_actual:
                    usage = pricer.price(usage)
                if isinstance(event.get("pricing"), dict):
                    note = ModelPricing.model_validate(event["pricing"])
                    notes[note.model] = note
                builder.add_request(usage, default_agent=meta.command)
            elif kind == "agent_start":
                at = datetime.fromisoformat(event["time"])
                builder.start_agent(str(event["name"]), event.get("model"), at)
            elif kind == "agent_end":
                builder.end_agent(
                    str(event["name"]),
                    datetime.fromisoformat(event["time"]),
                    success=bool(event["success"]),
                    error=event.get("error"),
                    output_file=event.get("output_file"),
                )
        except (KeyError, TypeError, ValueError, ValidationError) as error:
            logger.warning("%s: a %s event is unreadable and was skipped: %s", path, kind, error)
    if not builder.runs:
        return None
    end = builder.last_event_time()
    builder.close_open_runs(end, INTERRUPTED_AGENT_ERROR)
    intervals: list[Any] = []
    if meta.interval_minutes is not None:
        tracker = IntervalTracker(meta.start_time, meta.interval_minutes)
        for request in builder.requests:
            tracker.add(request)
        intervals = tracker.intervals(end)
    if pricer is not None:
        for note in pricer.models.values():
            notes.setdefault(note.model, note)
    if info is not None:
        info = info.model_copy(update={"models": list(notes.values())})
    return builder.build(
        end_time=end,
        status="interrupted",
        agents_not_run=builder.not_launched(),
        pricing=info,
        intervals=intervals,
    )


def saved_report(folder: Path, report: TokenUsageReport, journal: Path) -> TokenUsageReport | None:
    """Return the report of ``report``'s session saved in ``folder``, or None when none is.

    Only report files written since the journal was created are read (a session's report is
    saved after its journal), so a large folder costs a few reads, not one per report.
    """
    try:
        since = journal.stat().st_ctime - 1.0
    except OSError:
        return None
    for path in folder.glob(f"{REPORT_PREFIX}*.json"):
        try:
            if path.stat().st_mtime < since:
                continue
            existing = load_report(path)
        except (OSError, ReportFileError):
            continue
        if existing.session_id == report.session_id:
            return existing
    return None


def _set_aside(path: Path, reason: str, *, move: bool) -> None:
    """Move the unrecoverable journal ``path`` to ``.journal/unreadable/`` (when ``move``) and
    say so in one warning."""
    if not move:
        logger.warning("journal cannot be recovered: %s", reason)
        return
    folder = path.parent / UNREADABLE_DIR
    target = folder / path.name
    try:
        folder.mkdir(exist_ok=True)
        for number in range(2, 1000):
            if not os.path.lexists(target):
                break
            target = folder / f"{path.stem}_{number}{path.suffix}"
        os.rename(path, target)
    except OSError as error:
        logger.warning(
            "journal cannot be recovered: %s (and cannot be moved to %s: %s)",
            reason,
            folder,
            error.strerror,
        )
        return
    logger.warning("journal cannot be recovered, moved to %s: %s", target, reason)


def recover_journals(
    folder: Path, pricebook: PriceBook | None = None, *, save: bool = True
) -> list[TokenUsageReport]:
    """Turn every orphaned journal of the token-reports ``folder`` into an ``interrupted`` report.

    A journal whose lock is held (its session is still running, in this process or another) is
    left untouched; the lock is tried once, never waited for. Recovery is idempotent: a journal
    whose session already has a report in ``folder`` (the process died after saving it) yields
    that report, unchanged, and is deleted — never a second report. With ``save`` (the
    default) each recovered report is saved into ``folder`` and its journal deleted; with
    ``save=False`` nothing is written or deleted (a dry run). A journal with neither agents nor
    requests is deleted without a report. A journal that cannot be recovered (not a regular file,
    no session header, values out of range) is moved to ``.journal/unreadable/`` with one warning
    (left in place, with the warning, when ``save`` is false).

    Returns the recovered reports, oldest first. Raises ReportFileError when a report cannot be
    saved.
    """
    directory = journal_dir(folder)
    if not directory.is_dir():
        return []
    reports: list[TokenUsageReport] = []
    for path in sorted(directory.glob("*.jsonl")):
        try:
            # Never follow a link, never block on a FIFO: neither is a journal we wrote.
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except FileNotFoundError:
            continue  # recovered by another process meanwhile
        except OSError as error:
            _set_aside(path, f"cannot open {path}: {error.strerror}", move=save)
            continue
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                _set_aside(path, f"{path} is not a regular file", move=save)
                continue
            if not _try_lock(fd):
                continue
            try:
                if os.fstat(fd).st_ino != os.stat(path).st_ino:
                    continue
            except FileNotFoundError:
                continue  # another process recovered it while we waited for the lock
            try:
                with os.fdopen(os.dup(fd), encoding="utf-8", errors="replace") as handle:
                    text = handle.read()
            except OSError as error:
                _set_aside(path, f"cannot read {path}: {error.strerror}", move=save)
                continue
            try:
                report = replay(path, text, pricebook)
                if report is not None:
                    check_report_values(report)
            except (JournalError, ReportFileError) as error:
                _set_aside(path, str(error), move=save)
                continue
            except (ArithmeticError, ValueError, TypeError, RecursionError, MemoryError) as error:
                # A journal no release could have written (absurd times or counts): it must
                # never block the runs after it, so it is set aside with the error named.
                _set_aside(path, f"{path} cannot be replayed: {error!r}", move=save)
                continue
            saved = None if report is None else saved_report(folder, report, path)
            if saved is not None:
                # The process died after saving its report, before removing the journal: the
                # report is the session's record; the caller completes the ledger from it.
                reports.append(saved)
            elif report is not None:
                reports.append(report)
                if save:
                    save_report(report, folder)
            if save:
                path.unlink()
        finally:
            os.close(fd)
    reports.sort(key=lambda report: report.start_time)
    return reports
