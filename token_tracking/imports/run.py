"""``tokens import``: read what is new in the coding agents' logs and record it in the ledger.

Each file is read from where the previous import stopped (its identity, size and the offset of
the last complete line are remembered), so a second import of unchanged logs reads nothing and
records nothing. A file that was replaced or shrank is read again from the start: its requests'
keys make that harmless. Every file is recorded in its own transaction together with its new
offset, so an interrupted import loses nothing and counts nothing twice. One lock file beside the
ledger keeps two imports (the post-commit hook's and a manual one) from running at once.
"""

from __future__ import annotations

import json
import json.scanner
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pricing import PriceBook
from token_tracking.errors import ImportLockedError, LedgerError
from token_tracking.history.clock import to_us
from token_tracking.history.ledger import Ledger, project_key
from token_tracking.imports.claude_code import (
    claude_line_request,
    claude_request,
    may_carry_usage,
)
from token_tracking.imports.codex import CodexState, codex_request
from token_tracking.imports.codex import may_matter as may_matter_codex
from token_tracking.imports.discover import default_folders, log_files, recognise
from token_tracking.imports.gemini import gemini_requests
from token_tracking.imports.lines import read_lines
from token_tracking.imports.model import (
    BAD_USAGE,
    BEFORE_SINCE,
    LINE_TOO_LONG,
    MAX_LINE_BYTES,
    NOT_A_LOG,
    NOT_JSON,
    SOURCES,
    UNREADABLE,
    ImportSummary,
    Problems,
    Request,
)
from token_tracking.imports.post_commit import LockBusyError, held_lock, lock_path
from token_tracking.imports.store import FileRecord, ImportStore
from token_tracking.settings import default_db_path

_DECODER = json.JSONDecoder()
_SCAN: Callable[[str, int], tuple[Any, int]] = json.scanner.make_scanner(
    _DECODER  # type: ignore[arg-type]  # typeshed types the context as a scanner
)


def _parse(data: bytes) -> Any:
    """Parse one log line as JSON (faster than ``json.loads`` for many short lines).

    Raises:
        ValueError: not one JSON document (or not UTF-8).
    """
    # str first (json.loads on bytes guesses the encoding every time); the scanner itself skips
    # json.loads' layers and whitespace checks for the usual line with none around it.
    text = data.decode()
    try:
        obj, end = _SCAN(text, 0)
    except (StopIteration, ValueError):
        return _DECODER.decode(text)  # leading whitespace, or the error message to raise
    if end != len(text) and text[end:].strip():
        return _DECODER.decode(text)  # raises "Extra data"
    return obj


BATCH_REQUESTS = 5_000
"""Requests parsed before they are looked up and written together."""

MAX_CHAT_BYTES = 200 * 1024 * 1024
"""A Gemini chat file larger than this is skipped (it is read whole)."""


@dataclass
class ImportResult:
    """What an import did."""

    summary: ImportSummary
    """The figures ``--json`` prints."""
    warnings: list[str] = field(default_factory=list)
    """One line per skipped file or line, and per model without a price."""


def ledger_lock_path(ledger: Ledger) -> Path:
    """The import lock of an open ledger: beside its file, or beside the default ledger file
    for a ledger on a server (imports on one machine share it)."""
    return ledger.path if ledger.path is not None else default_db_path()


@contextmanager
def import_lock(ledger_path: Path, *, wait: bool = True) -> Iterator[None]:
    """Hold the import lock of the ledger at ``ledger_path`` (waiting for it when ``wait``).

    Raises:
        ImportLockedError: ``wait`` is false and another import holds the lock.
    """
    try:
        with held_lock(ledger_path, wait=wait):
            yield
    except LockBusyError:
        raise ImportLockedError(f"another import holds {lock_path(ledger_path)}") from None


def import_logs(
    ledger: Ledger,
    source: str,
    pricebook: PriceBook,
    *,
    paths: Sequence[Path] = (),
    since: datetime | None = None,
    dry_run: bool = False,
) -> ImportResult:
    """Import the logs of ``source`` (``claude-code``, ``codex``, ``gemini`` or ``all``).

    ``paths`` replace the default folders; with ``all`` each file's format is recognised from
    its content. ``since`` leaves out requests before it (and then no offset is remembered, so
    a later import without it still finds them). ``dry_run`` counts without recording.
    Call it while holding :func:`import_lock`.

    Raises:
        LedgerError: the ledger cannot be written.
    """
    summary = ImportSummary()
    problems = Problems()
    store = ImportStore(ledger, pricebook, summary, problems)
    folders = list(paths) if paths else default_folders(source)
    reading = _Reader(store, problems, source, since, ledger)
    try:
        if dry_run:
            store.begin()
        for path in log_files(folders, problems):
            if not dry_run:
                store.begin()
            read = reading.read(path)
            summary.files += read
            if not dry_run:
                store.end(keep=True)
        if dry_run:
            store.end(keep=False)
    except ledger.connection.errors as error:
        store.abort()
        raise LedgerError(f"cannot record imported usage in {ledger.location}: {error}") from error
    except BaseException:
        store.abort()
        raise
    store.flush()
    summary.skipped = dict(sorted(problems.skipped.items()))
    if summary.cost_usd is None and not store.unpriced_models:
        summary.cost_usd = 0.0  # nothing was added, or only free requests
    warnings = list(problems.warnings)
    for model in sorted(store.unpriced_models, key=lambda name: name or ""):
        if model is None:
            continue  # said per file, where the log names no model
        warnings.append(f"no price known for model {model!r}: its requests' cost is unknown")
    return ImportResult(summary, warnings)


class _Reader:
    """Reads one file at a time into the store."""

    def __init__(
        self,
        store: ImportStore,
        problems: Problems,
        source: str,
        since: datetime | None,
        ledger: Ledger,
    ) -> None:
        self._store = store
        self._problems = problems
        self._source = source
        self._since_us = to_us(since) if since is not None else None
        self._ledger = ledger
        self._projects: list[str] | None = None

    def read(self, path: Path) -> int:
        """Read what is new in ``path``; return 1 if the file was read, 0 if skipped."""
        problems = self._problems
        try:
            info = path.stat()
        except OSError as error:
            problems.skip(UNREADABLE, f"skipped {path}: {error.strerror or error}")
            return 0
        if self._since_us is not None and info.st_mtime_ns // 1000 < self._since_us:
            return 0
        identity = f"{info.st_dev}:{info.st_ino}"
        record = self._store.file_record(path)
        if record is not None and record.identity != identity:
            record = None  # replaced: read from the start
        if (
            record is not None
            and record.size == info.st_size
            and record.mtime_ns == info.st_mtime_ns
        ):
            return 0
        if info.st_size == 0:
            return 0
        try:
            fmt = record.source if record is not None else recognise(path)
        except OSError as error:
            problems.skip(UNREADABLE, f"skipped {path}: {error.strerror or error}")
            return 0
        if fmt is None:
            problems.skip(NOT_A_LOG, f"skipped {path}: not a coding-agent log")
            return 0
        if self._source != "all" and fmt != self._source:
            problems.skip(NOT_A_LOG, f"skipped {path}: a {fmt} log, not a {self._source} log")
            return 0
        if record is not None and info.st_size < record.offset:
            record = None  # truncated: read from the start
        try:
            if fmt == "gemini":
                state = self._read_chat(path, info.st_size)
                offset = info.st_size
            else:
                offset, state = self._read_lines(path, fmt, record)
        except OSError as error:
            problems.skip(UNREADABLE, f"skipped {path}: {error.strerror or error}")
            return 0
        if self._since_us is None:
            self._store.save_file(
                path, FileRecord(fmt, identity, info.st_size, info.st_mtime_ns, offset, state)
            )
        return 1

    def _keep(self, request: Request) -> bool:
        if self._since_us is not None and request.ts_us < self._since_us:
            self._problems.skip(BEFORE_SINCE)
            return False
        return True

    def _read_lines(
        self, path: Path, fmt: str, record: FileRecord | None
    ) -> tuple[int, dict[str, Any]]:
        problems = self._problems
        store = self._store
        offset = record.offset if record is not None else 0
        saved = record.state if record is not None else {}
        number = saved.get("lines", 0) if type(saved.get("lines")) is int else 0
        fallback_session = path.stem
        file_key = str(path)
        since_us = self._since_us
        codex = CodexState.from_json(saved.get("codex") or {}, fallback_session)
        model_missing = False
        loads = _parse
        batch: list[Request] = []
        may_matter = may_matter_codex if fmt == "codex" else may_carry_usage
        with path.open("rb") as handle:
            for line_number, end, data, complete in read_lines(handle, offset, number):
                if data is None:
                    problems.skip(
                        LINE_TOO_LONG,
                        f"{path}:{line_number}: skipped a line over {MAX_LINE_BYTES:,} bytes",
                    )
                elif not may_matter(data) and complete and data[:1] == b"{" and data[-1:] == b"}":
                    pass  # an object that cannot carry usage (most lines): not parsed
                elif data and not data.isspace():
                    result: Request | str | None = None
                    typed = False
                    if fmt != "codex":
                        try:
                            result = claude_line_request(
                                data, fallback_session, file_key, line_number
                            )
                            typed = True
                        except (ValueError, RecursionError):
                            pass  # not an object of the usual types: parsed below, to say why
                    if not typed:
                        try:
                            obj = loads(data)
                        except (ValueError, RecursionError):
                            if not complete:
                                break  # still being written: left for the next import
                            problems.skip(
                                NOT_JSON, f"{path}:{line_number}: skipped a line that is not JSON"
                            )
                            obj = None
                        if type(obj) is dict:
                            if fmt == "codex":
                                result = codex_request(obj, codex)
                            else:
                                result = claude_request(
                                    obj, fallback_session, file_key, line_number
                                )
                        elif obj is not None:
                            problems.skip(
                                NOT_JSON,
                                f"{path}:{line_number}: skipped a line that is not an object",
                            )
                    if type(result) is Request:
                        if result.model is None:
                            model_missing = True
                        if since_us is None or self._keep(result):
                            batch.append(result)
                            if len(batch) >= BATCH_REQUESTS:
                                store.add(batch)
                                batch = []
                    elif result is not None:
                        problems.skip(
                            str(result),
                            f"{path}:{line_number}: skipped a line with unusable usage"
                            if result == BAD_USAGE
                            else None,
                        )
                offset = end
                number = line_number
        if batch:
            store.add(batch)
        if model_missing:
            problems.warnings.append(
                f"{path}: the log names no model for some requests: their cost is unknown"
            )
        state: dict[str, Any] = {"lines": number}
        if fmt == "codex":
            state["codex"] = codex.to_json()
        return offset, state

    def _read_chat(self, path: Path, size: int) -> dict[str, Any]:
        problems = self._problems
        if size > MAX_CHAT_BYTES:
            problems.skip(LINE_TOO_LONG, f"skipped {path}: over {MAX_CHAT_BYTES:,} bytes")
            return {}
        try:
            chat = json.loads(path.read_bytes())
        except (ValueError, RecursionError):
            problems.skip(NOT_JSON, f"skipped {path}: not JSON (being written?)")
            return {}
        if self._projects is None:
            self._projects = self._known_projects()
        batch: list[Request] = []
        model_missing = False
        for result in gemini_requests(chat, path.stem, self._projects):
            if isinstance(result, str):
                problems.skip(result, f"{path}: skipped a message with unusable usage")
            elif self._keep(result):
                model_missing = model_missing or result.model is None
                batch.append(result)
        self._store.add(batch)
        if model_missing:
            problems.warnings.append(f"{path}: some messages name no model: their cost is unknown")
        return {}

    def _known_projects(self) -> list[str]:
        """Folders a Gemini chat may belong to: the ledger's projects and the current one."""
        found = [
            row[0]
            for row in self._ledger.connection.execute("SELECT DISTINCT project FROM contexts")
        ]
        here = project_key(Path(os.getcwd()))
        return [here, *found]


def valid_source(name: str) -> bool:
    """Whether ``name`` is a source ``tokens import`` reads (or ``all``)."""
    return name == "all" or name in SOURCES
