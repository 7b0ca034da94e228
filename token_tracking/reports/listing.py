"""Find and list the saved token usage reports of a project.

A project's reports live in ``<project>/memory-bank/token-reports/`` as ``*.json`` files. "Latest"
means the greatest ``end_time`` inside the file, never the file name or its mtime. To answer that
without parsing every report on each call, a small index (``token-reports/.index.json``) keeps one
summary per file together with the file's size and mtime; an entry is trusted only while the
file's name, size and mtime are unchanged, so the index can never serve a stale summary, and a
missing, corrupt or foreign index is simply rebuilt.

A file that is not a readable report (corrupt JSON, someone else's JSON) is skipped: it is
returned in :attr:`ReportListing.skipped` with the reason the one report parser gives
(:func:`~token_tracking.reports.file.parse_report`), for the CLI to warn about on stderr.

Reading is read-only towards the reports themselves and the journal (``.journal/``): nothing here
locks, recovers or modifies them. The only file written is the index, atomically, and a folder
that cannot be written to just goes without one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rich.console import Console

from pricing import PriceBook
from token_tracking import display
from token_tracking.errors import NoReportsError, ReportFileError, SessionNotFoundError
from token_tracking.files import atomic_write
from token_tracking.reports.file import TokenUsageReport, parse_report
from token_tracking.reports.pricer import price_report

REPORTS_SUBDIR = Path("memory-bank") / "token-reports"
"""Where a project's reports live, relative to the project."""

INDEX_NAME = ".index.json"
"""The index file's name inside the reports folder (hidden, so it never lists as a report)."""

INDEX_VERSION = 3
"""Bumped when the index layout or the wording of a skipped file's reason changes; an index of
another version is rebuilt."""


def reports_folder(project_path: Path) -> Path:
    """Return the reports folder of the project at ``project_path`` (it may not exist)."""
    return project_path / REPORTS_SUBDIR


@dataclass(frozen=True, slots=True)
class ReportSummary:
    """What a listing shows of one report file; kept per file in the index.

    A plain dataclass, not a pydantic model: a listing builds 10,000 of them per call, and the
    index they come from is checked field by field (:func:`_summary_from_row`).
    """

    file: str
    """The file's name inside the reports folder."""
    session_id: str
    """The report's session id."""
    command: str
    """The command that ran."""
    model: str | None
    """The session's model."""
    start_time: datetime
    """Session start (naive times in 0.1 files were read as local time)."""
    end_time: datetime
    """Session end; the listing is sorted on it, newest first."""
    end_timestamp: float
    """``end_time`` as a POSIX timestamp."""
    status: str
    """Outcome of the session (``success``, ``partial``, …)."""
    source: str
    """Where the usage came from (``llm``, ``offline``, …)."""
    successful_agents: int
    """Agents that succeeded."""
    failed_agents: int
    """Agents that failed."""
    agents_not_run: int
    """Agents skipped by a budget or Ctrl-C."""
    total_tokens: int
    """Prompt plus completion tokens of the session."""
    total_cost_usd: float | None
    """The stored total cost in USD; ``None`` when unknown."""
    priced_coverage: float | None
    """Share of tokens with a known price; below 1 the cost is a lower bound."""
    schema_version: int | None
    """1 for current reports; ``None`` for reports written by memory-banker 0.1."""

    @property
    def agents_total(self) -> int:
        """Agents that ran, succeeded or failed, plus those not run."""
        return self.successful_agents + self.failed_agents + self.agents_not_run


@dataclass(frozen=True)
class SkippedFile:
    """A ``*.json`` file in the reports folder that is not a readable report."""

    name: str
    """The file's name inside the reports folder."""
    reason: str
    """Why it was skipped, one line."""


@dataclass(frozen=True)
class ReportListing:
    """The reports of one folder, newest ``end_time`` first, and the files skipped."""

    folder: Path
    """The reports folder that was listed."""
    reports: list[ReportSummary]
    """Readable reports, newest ``end_time`` first."""
    skipped: list[SkippedFile]
    """Files that are not readable reports, by name."""

    def path_of(self, summary: ReportSummary) -> Path:
        """Return the path of a listed report's file."""
        return self.folder / summary.file


@dataclass
class _IndexEntry:
    """What the index keeps of one file: its size and mtime, and its summary or problem."""

    mtime_ns: int
    size: int
    summary: ReportSummary | None = None
    problem: str | None = None


class _StaleIndexError(ValueError):
    """The index file is not one this version wrote; it is rebuilt."""


# Index rows hold the summary's fields in this order, with the times as ISO strings. Each field
# is type-checked when read, so a hand-edited or foreign index is rebuilt, never trusted.
_ROW_TYPES: tuple[tuple[type, ...], ...] = (
    (str,),  # session_id
    (str,),  # command
    (str, type(None)),  # model
    (str,),  # start_time
    (str,),  # end_time
    (float, int),  # end_timestamp
    (str,),  # status
    (str,),  # source
    (int,),  # successful_agents
    (int,),  # failed_agents
    (int,),  # agents_not_run
    (int,),  # total_tokens
    (float, int, type(None)),  # total_cost_usd
    (float, int, type(None)),  # priced_coverage
    (int, type(None)),  # schema_version
)


def _summary_row(summary: ReportSummary) -> list[object]:
    return [
        summary.session_id,
        summary.command,
        summary.model,
        summary.start_time.isoformat(),
        summary.end_time.isoformat(),
        summary.end_timestamp,
        summary.status,
        summary.source,
        summary.successful_agents,
        summary.failed_agents,
        summary.agents_not_run,
        summary.total_tokens,
        summary.total_cost_usd,
        summary.priced_coverage,
        summary.schema_version,
    ]


def _summary_from_row(file: str, row: object) -> ReportSummary:
    if not isinstance(row, list) or len(row) != len(_ROW_TYPES):
        raise _StaleIndexError(file)
    for value, types in zip(row, _ROW_TYPES, strict=True):
        if not isinstance(value, types) or isinstance(value, bool):
            raise _StaleIndexError(file)
    (sid, command, model, start, end, stamp, status, source, ok, failed, not_run, tokens,
     cost, coverage, schema) = row  # fmt: skip
    return ReportSummary(
        file=file,
        session_id=sid,
        command=command,
        model=model,
        start_time=datetime.fromisoformat(start),
        end_time=datetime.fromisoformat(end),
        end_timestamp=float(stamp),
        status=status,
        source=source,
        successful_agents=ok,
        failed_agents=failed,
        agents_not_run=not_run,
        total_tokens=tokens,
        total_cost_usd=None if cost is None else float(cost),
        priced_coverage=None if coverage is None else float(coverage),
        schema_version=schema,
    )


def summarize(report: TokenUsageReport, file_name: str) -> ReportSummary:
    """Return the listing summary of ``report`` stored as ``file_name``."""
    return ReportSummary(
        file=file_name,
        session_id=report.session_id,
        command=report.command,
        model=report.model,
        start_time=report.start_time,
        end_time=report.end_time,
        end_timestamp=report.end_time.timestamp(),
        status=report.status,
        source=report.source,
        successful_agents=report.successful_agents,
        failed_agents=report.failed_agents,
        agents_not_run=len(report.agents_not_run),
        total_tokens=report.total_tokens,
        total_cost_usd=report.total_cost_usd,
        priced_coverage=report.priced_coverage,
        schema_version=report.schema_version,
    )


def _scan(folder: Path) -> dict[str, os.stat_result]:
    """Return the stat of every candidate report file (``*.json``, not hidden) in ``folder``."""
    found: dict[str, os.stat_result] = {}
    try:
        entries = os.scandir(folder)
    except OSError as exc:
        raise NoReportsError(f"cannot list the token reports in {folder}: {exc.strerror}") from None
    with entries:
        for entry in entries:
            name = entry.name
            if name.startswith(".") or not name.endswith(".json"):
                continue
            try:
                if entry.is_file():
                    found[name] = entry.stat()
            except OSError:
                # Removed while we listed, or a link that leads nowhere (a loop, a dangling
                # target): not a report we can read, and no reason to refuse the others.
                continue
    return found


def _read_index(path: Path) -> dict[str, _IndexEntry]:
    """Return the index's entries by file name; empty when it is missing or not ours."""
    try:
        data = json.loads(path.read_bytes())
        if not isinstance(data, dict) or data.get("version") != INDEX_VERSION:
            raise _StaleIndexError(str(path))
        entries: dict[str, _IndexEntry] = {}
        for name, raw in data["entries"].items():
            mtime_ns, size, row, problem = raw
            if not (isinstance(mtime_ns, int) and isinstance(size, int)):
                raise _StaleIndexError(name)
            if not isinstance(problem, str | None):
                raise _StaleIndexError(name)
            summary = None if row is None else _summary_from_row(name, row)
            entries[name] = _IndexEntry(mtime_ns, size, summary, problem)
        return entries
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        # A missing, unreadable, foreign or hand-edited index is only a lost cache: rebuild it.
        return {}


def _write_index(path: Path, entries: dict[str, _IndexEntry]) -> None:
    document = {
        "version": INDEX_VERSION,
        "entries": {
            name: [
                e.mtime_ns,
                e.size,
                None if e.summary is None else _summary_row(e.summary),
                e.problem,
            ]
            for name, e in entries.items()
        },
    }
    try:
        atomic_write(path, json.dumps(document, separators=(",", ":")))
    except OSError:
        # A read-only reports folder (e.g. a mounted CI artifact) still lists, just without
        # the speed-up; the index is a cache, not data.
        return


def _summarize_file(folder: Path, name: str, stat: os.stat_result) -> _IndexEntry:
    entry = _IndexEntry(mtime_ns=stat.st_mtime_ns, size=stat.st_size)
    try:
        data = (folder / name).read_bytes()
    except OSError as exc:
        entry.problem = f"cannot read ({exc.strerror})"
        return entry
    try:
        entry.summary = summarize(parse_report(data), name)
    except ReportFileError as exc:
        entry.problem = str(exc)
    return entry


def list_reports(folder: Path, *, use_index: bool = True) -> ReportListing:
    """List the reports in ``folder``, newest ``end_time`` first, and the files skipped.

    With ``use_index`` the summaries of unchanged files come from ``.index.json``, which is
    rewritten (atomically) when any file was added, changed or removed.

    Raises :class:`NoReportsError` when ``folder`` does not exist.
    """
    if not folder.is_dir():
        raise NoReportsError(f"no token reports folder at {folder}")
    files = _scan(folder)
    index_path = folder / INDEX_NAME
    old = _read_index(index_path) if use_index else {}
    fresh: dict[str, _IndexEntry] = {}
    changed = set(old) != set(files)
    for name, stat in files.items():
        known = old.get(name)
        if known is not None and (known.mtime_ns, known.size) == (stat.st_mtime_ns, stat.st_size):
            fresh[name] = known
        else:
            fresh[name] = _summarize_file(folder, name, stat)
            changed = True
    if use_index and changed:
        _write_index(index_path, fresh)
    reports = [e.summary for e in fresh.values() if e.summary is not None]
    reports.sort(key=lambda s: (s.end_timestamp, s.file), reverse=True)
    skipped = sorted(
        (SkippedFile(name, e.problem) for name, e in fresh.items() if e.problem),
        key=lambda s: s.name,
    )
    return ReportListing(folder=folder, reports=reports, skipped=skipped)


def latest(listing: ReportListing) -> ReportSummary:
    """Return the report with the greatest ``end_time`` in ``listing``.

    Raises :class:`NoReportsError` when the listing holds no readable report.
    """
    if not listing.reports:
        raise NoReportsError(f"no token reports in {listing.folder}")
    return listing.reports[0]


def find_session(listing: ReportListing, session_id: str) -> ReportSummary:
    """Return the one report whose ``session_id`` starts with ``session_id``.

    An exact match wins over longer ids sharing the prefix. Raises :class:`SessionNotFoundError`
    when none or several match, naming up to three of them.
    """
    wanted = session_id.strip().lower()
    if not wanted:
        raise SessionNotFoundError("--session-id is empty")
    matches = [s for s in listing.reports if s.session_id.lower().startswith(wanted)]
    exact = [s for s in matches if s.session_id.lower() == wanted]
    if exact:
        return exact[0]
    if not matches:
        raise SessionNotFoundError(
            f"no report with a session id starting with {session_id!r} in {listing.folder}"
        )
    if len(matches) > 1:
        names = ", ".join(s.session_id for s in matches[:3])
        more = f" and {len(matches) - 3} more" if len(matches) > 3 else ""
        raise SessionNotFoundError(
            f"session id {session_id!r} is ambiguous: it starts {names}{more}"
        )
    return matches[0]


# --- rendering --------------------------------------------------------------------------------


def _listing_cost(summary: ReportSummary) -> str:
    lower = summary.priced_coverage is not None and summary.priced_coverage < 1.0
    text = display.usd(
        summary.total_cost_usd, lower_bound=lower and summary.total_cost_usd is not None
    )
    if summary.schema_version is None and summary.total_cost_usd is not None:
        text += "*"
    return text


def render_listing(listing: ReportListing, console: Console, *, limit: int | None = None) -> None:
    """Print the listing as a table, newest first: file, date (the end time in local time, like
    the file names), command, model, status, agents ok/total, tokens, cost; ``limit`` keeps the
    newest ``limit`` rows.

    A 0.1 report's stored cost is marked ``*`` (its table was wrong; showing the report re-prices
    it), a lower bound ``≥``.
    """
    shown = listing.reports if limit is None else listing.reports[:limit]
    rows = [
        (
            s.file,
            # Each report keeps the offset it was written with; one zone keeps the column in order.
            s.end_time.astimezone().strftime("%Y-%m-%d %H:%M"),
            s.command,
            s.model or "-",
            s.status,
            f"{s.successful_agents}/{s.agents_total}",
            display.tokens(s.total_tokens),
            _listing_cost(s),
        )
        for s in shown
    ]
    lines = display.columns(
        ("File", "Date", "Command", "Model", "Status", "Agents", "Tokens", "Cost"),
        rows,
        right=(5, 6, 7),
    )
    total = len(listing.reports)
    if not shown:
        footer = [f"No token reports in {listing.folder}"]
    elif len(shown) < total:
        footer = ["", f"Showing the newest {len(shown)} of {display.plural(total, 'report')}."]
    else:
        footer = ["", f"{display.plural(total, 'report')}, newest first."]
    if any(s.schema_version is None and s.total_cost_usd is not None for s in shown):
        footer.append("* cost stored by memory-banker 0.1; --report-file F re-prices it.")
    body = [lines[0], "-" * len(lines[0]), *lines[1:]] if shown else []
    # Plain text straight to the console's file: Rich would build a Text per line, ~0.2 s for
    # 10,000 rows, to print nothing it styles.
    console.file.write("\n".join(body + footer) + "\n")


def render_price_as(
    report: TokenUsageReport, pricebook: PriceBook, models: Sequence[str], console: Console
) -> None:
    """Print what ``report``'s usage would cost on each of ``models``, beside its cost under
    today's table on its own models, with the difference and the ratio."""
    here = price_report(report, pricebook)
    rows = [
        (
            f"this run ({report.model or 'its models'})",
            "",
            display.usd(here.cost_usd, lower_bound=here.cost_usd is not None and not here.complete),
            "",
        )
    ]
    for model in models:
        priced = price_report(report, pricebook, as_model=model)
        resolution = pricebook.lookup(model)
        if resolution is None:
            close = pricebook.suggestions(model)
            hint = f"did you mean {', '.join(close)}?" if close else "no price known"
            rows.append((model, "unknown", "unknown", hint))
            continue
        if priced.cost_usd is None:
            # A known model: suggesting close names would point at a typo that is not there.
            hint = (
                "no per-token price in the table"
                if not resolution.entry.has_token_price
                else "token counts unknown"
            )
            rows.append((model, resolution.key, "unknown", hint))
            continue
        change = ""
        if here.cost_usd is not None and here.complete:
            change = display.signed_usd(priced.cost_usd - here.cost_usd)
            if here.cost_usd > 0:
                change += f" ({priced.cost_usd / here.cost_usd:.1f}x)"
        rows.append((model, resolution.key, display.usd(priced.cost_usd), change))
    table = display.columns(("Model", "Priced as", "Cost", "vs this run"), rows, right=(2,))
    lines = ["", "Same usage on other models (today's table):", *(f"  {line}" for line in table)]
    console.out("\n".join(lines), highlight=False)
