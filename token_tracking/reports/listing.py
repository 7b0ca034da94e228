"""Find and list the saved token usage reports of a project.

A project's reports live in ``<project>/memory-bank/token-reports/`` as ``*.json`` files. "Latest"
means the greatest ``end_time`` inside the file, never the file name or its mtime, among reports
that do not end more than 5 minutes in the future (a clock set wrong wrote those; each is named in
a warning).

To answer that without parsing every report on each call, a small index
(``token-reports/.index.json``) keeps, on its first line, each readable report's end time (and
each unreadable file's problem); on its second, each file's mtime, size and inode; on its third,
one summary per report. Finding the latest reads the first line and lists the folder's names,
without a ``stat`` per file, when nothing in the folder was added, removed or renamed since the
index was written (the index's mtime is set to the folder's); the chosen report is then read
itself. A listing (:attr:`ReportListing.reports`) checks every file: an entry is trusted only
while the file's size, mtime and inode are unchanged and the file was not modified within
2 seconds of the index being written (a write in the same clock tick can keep the mtime). A
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
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from token_tracking import display
from token_tracking.errors import NoReportsError, ReportFileError, SessionNotFoundError
from token_tracking.files import atomic_write
from token_tracking.reports.file import TokenUsageReport, parse_report, read_report_bytes
from token_tracking.reports.pricer import price_report

if TYPE_CHECKING:
    from rich.console import Console

    from pricing import PriceBook

REPORTS_SUBDIR = Path("memory-bank") / "token-reports"
"""Where a project's reports live, relative to the project."""

INDEX_NAME = ".index.json"
"""The index file's name inside the reports folder (hidden, so it never lists as a report)."""

INDEX_VERSION = 5
"""Bumped when the index layout or the wording of a skipped file's reason changes; an index of
another version is rebuilt."""

FUTURE_TOLERANCE_SECONDS = 300.0
"""A report ending more than this many seconds after now is never taken as the latest."""

_RACY_NS = 2_000_000_000
"""An index entry for a file modified less than this long before the index was written is not
trusted: a rewrite within the same timestamp tick can leave size and mtime unchanged."""

logger = logging.getLogger(__name__)


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


_Stat = tuple[int, int, int]
"""A file's mtime (ns), size and inode."""


class ReportListing:
    """The reports of one folder and the files skipped.

    :func:`latest` needs only each report's end time; :attr:`reports` checks every file against
    the index and builds the summaries, on first use.
    """

    def __init__(self, folder: Path, index_path: Path | None) -> None:
        self.folder = folder
        """The reports folder that was listed."""
        self._index_path = index_path
        self._stamps: dict[str, float] = {}  # each readable report's end time
        self._problems: dict[str, str] = {}  # each unreadable file's reason
        self._stats_text = b""  # the index's second and third lines, parsed when needed
        self._rows_text = b""
        self._rest_unread = False
        self._rows: dict[str, object] | None = None
        self._trusted_before = 0  # files modified since are read again
        self._stats: dict[str, _Stat] = {}
        self._fast = False  # the index was trusted without a stat per file
        self._summaries: dict[str, ReportSummary] = {}
        self._verified = False  # every file's stat checked against the index
        self._reports: list[ReportSummary] | None = None

    @property
    def skipped(self) -> list[SkippedFile]:
        """Files that are not readable reports, by name."""
        return [SkippedFile(name, self._problems[name]) for name in sorted(self._problems)]

    @property
    def reports(self) -> list[ReportSummary]:
        """Readable reports, newest ``end_time`` first (ties by file name, last first)."""
        if self._reports is None:
            if not self._verified:
                self._verify()
            reread = False
            for name in list(self._stamps):
                if name not in self._summaries:
                    reread |= self._fill(name)
            if reread:
                self._save()
            reports = [self._summaries[name] for name in self._stamps]
            reports.sort(key=lambda s: (s.end_timestamp, s.file), reverse=True)
            self._reports = reports
        return self._reports

    def path_of(self, summary: ReportSummary) -> Path:
        """Return the path of a listed report's file."""
        return self.folder / summary.file

    def end_times(self) -> dict[str, float]:
        """Every readable report's end time (POSIX seconds) by file name."""
        return dict(self._stamps)

    # -- the index ----------------------------------------------------------------------------

    def _load(self, names: set[str]) -> bool:
        """Take the index's end times and problems; True when they can be trusted without a
        ``stat`` per file (nothing in the folder changed since the index was written)."""
        assert self._index_path is not None
        try:
            with self._index_path.open("rb") as index:
                head = index.readline()  # the rest is read only when a listing needs it
            self._rest_unread = True
            document = json.loads(head)
            if not isinstance(document, dict) or document.get("version") != INDEX_VERSION:
                raise _StaleIndexError(str(self._index_path))
            written_ns, racy = document["written_ns"], document["racy"]
            stamps, problems = document["end_times"], document["problems"]
            if type(written_ns) is not int or type(racy) is not bool:
                raise _StaleIndexError(str(self._index_path))
            # `type(...) is` rather than isinstance: JSON's true/false must not pass for numbers.
            for stamp in stamps.values():
                if type(stamp) is not float and type(stamp) is not int:
                    raise _StaleIndexError(str(self._index_path))
            for reason in problems.values():
                if type(reason) is not str:
                    raise _StaleIndexError(str(self._index_path))
            self._stamps, self._problems = stamps, problems
            self._trusted_before = written_ns - _RACY_NS
            # Any file added, removed or renamed in the folder (a replacement included) moves
            # the folder's mtime past the one the index was stamped with when it was written.
            folder_ns = os.stat(self.folder).st_mtime_ns
            self._fast = (
                not racy
                and folder_ns == os.stat(self._index_path).st_mtime_ns
                and len(stamps) + len(problems) == len(names)
                and names.issuperset(stamps)
                and names.issuperset(problems)
            )
            return self._fast
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            # A missing, unreadable, foreign or hand-edited index is only a lost cache: rebuild it.
            self._stamps, self._problems, self._rest_unread = {}, {}, False
            return False

    def _read_rest(self) -> None:
        if self._rest_unread and self._index_path is not None:
            self._rest_unread = False
            try:
                data = self._index_path.read_bytes()
            except OSError:
                return
            _, _, rest = data.partition(b"\n")
            self._stats_text, _, self._rows_text = rest.partition(b"\n")

    def _index_stats(self) -> dict[str, _Stat]:
        self._read_rest()
        try:
            stats = json.loads(self._stats_text)
            return {
                name: (mtime_ns, size, inode)
                for name, (mtime_ns, size, inode) in stats.items()
                if type(mtime_ns) is int and type(size) is int and type(inode) is int
            }
        except (ValueError, TypeError, AttributeError):
            return {}

    def _row_of(self, name: str) -> object:
        if self._rows is None:
            self._read_rest()
            try:
                rows = json.loads(self._rows_text)
            except ValueError:
                rows = None
            self._rows = rows if isinstance(rows, dict) else {}
        return self._rows.get(name)

    def _verify(self, names: set[str] | None = None) -> None:
        """Check every file against the index, read the files that changed, and rewrite the
        index when anything did (or when it could not be trusted without this check)."""
        if names is None:
            names = _names(self.folder)
        known = self._index_stats()
        stats: dict[str, _Stat] = {}
        stamps: dict[str, float] = {}
        problems: dict[str, str] = {}
        # An index that could not be trusted without this check is rewritten so that it can be.
        changed = self._index_path is not None and not self._fast
        for name in names:
            try:
                stat = os.lstat(self.folder / name)
            except OSError:
                continue  # removed while we listed: not a report we can read
            current = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
            if known.get(name) == current and current[0] < self._trusted_before:
                if name in self._stamps:
                    stamps[name] = self._stamps[name]
                    stats[name] = current
                    continue
                if name in self._problems:
                    problems[name] = self._problems[name]
                    stats[name] = current
                    continue
            stats[name] = self._read_file(name, current, stamps, problems)
            changed = True
        self._stamps, self._problems, self._stats = stamps, problems, stats
        self._verified = True
        if changed:
            self._save()

    def _read_file(
        self, name: str, stat: _Stat, stamps: dict[str, float], problems: dict[str, str]
    ) -> _Stat:
        """Read and summarize the file ``name`` into ``stamps`` or ``problems``; return its
        stat."""
        self._summaries.pop(name, None)
        outcome = _summarize_file(self.folder, name)
        if isinstance(outcome, str):
            problems[name] = outcome
        else:
            self._summaries[name] = outcome
            stamps[name] = outcome.end_timestamp
        return stat

    def _fill(self, name: str) -> bool:
        """Give the report ``name`` its summary from its index row, else from the file itself;
        True when the file had to be read (the row was missing or not trusted)."""
        try:
            summary = _summary_from_row(name, self._row_of(name))
            if summary.end_timestamp != self._stamps[name]:
                raise _StaleIndexError(name)
        except _StaleIndexError:
            del self._stamps[name]
            self._read_file(name, self._stats[name], self._stamps, self._problems)
            return True
        self._summaries[name] = summary
        return False

    def _checked_summary(self, name: str) -> ReportSummary | None:
        """The summary of the report ``name`` read from the file itself; None when the file no
        longer holds what the index says (unreadable, or another end time)."""
        summary = self._summaries.get(name)
        if summary is None:
            outcome = _summarize_file(self.folder, name)
            if isinstance(outcome, str) or outcome.end_timestamp != self._stamps[name]:
                return None
            self._summaries[name] = summary = outcome
        return summary

    def _save(self) -> None:
        """Write the index of this (verified) listing atomically, stamped with the folder's
        mtime; nothing when the listing has no index or the folder is read-only."""
        if self._index_path is None:
            return
        rows: dict[str, object] = {}
        for name in self._stamps:
            summary = self._summaries.get(name)
            rows[name] = _summary_row(summary) if summary is not None else self._row_of(name)
        written_ns = time.time_ns()
        head = {
            "version": INDEX_VERSION,
            "written_ns": written_ns,
            "racy": any(stat[0] >= written_ns - _RACY_NS for stat in self._stats.values()),
            "end_times": self._stamps,
            "problems": self._problems,
        }
        compact = (",", ":")
        text = "\n".join(json.dumps(part, separators=compact) for part in (head, self._stats, rows))
        try:
            atomic_write(self._index_path, text)
            folder_ns = os.stat(self.folder).st_mtime_ns
            os.utime(self._index_path, ns=(folder_ns, folder_ns))
        except OSError:
            # A read-only reports folder (e.g. a mounted CI artifact) still lists, just without
            # the speed-up; the index is a cache, not data.
            return
        self._rows, self._rest_unread = rows, False


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
        # A report whose every count is unknown (null total) lists 0 known tokens.
        total_tokens=report.total_tokens if report.total_tokens is not None else 0,
        total_cost_usd=report.total_cost_usd,
        priced_coverage=report.priced_coverage,
        schema_version=report.schema_version,
    )


def _names(folder: Path) -> set[str]:
    """Return the name of every candidate report file (``*.json``, not hidden) in ``folder``."""
    found: set[str] = set()
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
                # Links and special files are listed so that each is skipped with a warning.
                if not entry.is_dir(follow_symlinks=False):
                    found.add(name)
            except OSError:
                continue  # removed while we listed
    return found


def _summarize_file(folder: Path, name: str) -> ReportSummary | str:
    """Read and summarize the file ``name``; the reason as one line when it is not a readable
    report."""
    try:
        data = read_report_bytes(folder / name)
    except ReportFileError as exc:
        return f"cannot read ({exc})"
    try:
        return summarize(parse_report(data), name)
    except ReportFileError as exc:
        return str(exc)


def list_reports(folder: Path, *, use_index: bool = True) -> ReportListing:
    """List the reports in ``folder`` and the files skipped.

    With ``use_index`` what is known of unchanged files comes from ``.index.json``, which is
    rewritten (atomically) when any file was added, changed or removed; only those files are
    read. Without it every file is read and no index is written.

    Raises :class:`NoReportsError` when ``folder`` does not exist.
    """
    if not folder.is_dir():
        raise NoReportsError(f"no token reports folder at {folder}")
    names = _names(folder)
    listing = ReportListing(folder, folder / INDEX_NAME if use_index else None)
    if not (use_index and listing._load(names)):
        listing._verify(names)
    return listing


def latest(listing: ReportListing, *, now: float | None = None) -> ReportSummary:
    """Return the report with the greatest ``end_time`` in ``listing``, among those ending no
    more than :data:`FUTURE_TOLERANCE_SECONDS` after ``now`` (default: the current time); each
    report ignored for ending later is named in a warning.

    Raises :class:`NoReportsError` when the listing holds no such report.
    """
    cutoff = (time.time() if now is None else now) + FUTURE_TOLERANCE_SECONDS
    chosen = _newest(listing, cutoff)
    if chosen is None and not listing._verified:
        # The index said something the chosen file no longer holds: check every file.
        listing._verify()
        chosen = _newest(listing, cutoff)
    for name, stamp in sorted(
        (name, stamp) for name, stamp in listing._stamps.items() if stamp > cutoff
    ):
        logger.warning(
            "%s is not taken as the latest report: it ends %s, more than %d minutes in the future",
            name,
            datetime.fromtimestamp(stamp).astimezone().isoformat(timespec="seconds"),
            FUTURE_TOLERANCE_SECONDS // 60,
        )
    if chosen is None:
        raise NoReportsError(f"no token reports in {listing.folder}")
    return chosen


def _newest(listing: ReportListing, cutoff: float) -> ReportSummary | None:
    """The newest report ending no later than ``cutoff``, read from its file; None when there is
    none, or when (before every file was checked) the file no longer holds what the index says."""
    stamps = listing._stamps
    best = max(((stamp, name) for name, stamp in stamps.items() if stamp <= cutoff), default=None)
    if best is None:
        return None
    summary = listing._checked_summary(best[1])
    if summary is not None or not listing._verified:
        return summary
    # Checked, yet unreadable now (changed since): the next ones, newest first.
    candidates = sorted(((t, n) for n, t in stamps.items() if t <= cutoff), reverse=True)
    for _, name in candidates[1:]:
        summary = listing._checked_summary(name)
        if summary is not None:
            return summary
        if not listing._verified:
            return None
    return None


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


# Least wanted first: agents ok/total, the command, the date (the file name holds it too), the
# status and the tokens go before a file name, a model name or a cost is ever cut.
_LISTING_DROP_ORDER = (5, 2, 1, 4, 6)


_MODEL_COLUMN = 3
"""The listing's model column (see :func:`render_listing`)."""
_MIN_WRAP = 12
"""The narrowest a wrapped model column gets: below it the table is left wider instead."""


def _wrap_cell(row: tuple[str, ...], column: int, room: int) -> list[tuple[str, ...]]:
    """``row``, with its ``column`` cell split into ``room``-wide pieces on continuation rows
    whose other cells are empty, when the cell is wider than ``room`` (at least ``_MIN_WRAP``)."""
    cell = row[column]
    if room < _MIN_WRAP or len(cell) <= room:
        return [row]
    pieces = [cell[at : at + room] for at in range(0, len(cell), room)]
    return [
        tuple(
            piece if index == column else (value if n == 0 else "")
            for index, value in enumerate(row)
        )
        for n, piece in enumerate(pieces)
    ]


def render_listing(listing: ReportListing, console: Console, *, limit: int | None = None) -> None:
    """Print the listing as a table, newest first: file, date (the end time in local time, like
    the file names), command, model, status, agents ok/total, tokens, cost; ``limit`` keeps the
    newest ``limit`` rows.

    The table fits the console's width: file names, model names and costs are never cut; when
    the columns do not fit, the agents column goes first, then the command, the date, the status
    and the tokens, and a model name still too long wraps onto continuation lines.

    A 0.1 report's stored cost is marked ``*`` (its table was wrong; showing the report re-prices
    it), a lower bound ``≥``.
    """
    shown = listing.reports if limit is None else listing.reports[:limit]
    rows = [
        (
            display.printable(s.file),
            # Each report keeps the offset it was written with; one zone keeps the column in order.
            s.end_time.astimezone().strftime("%Y-%m-%d %H:%M"),
            display.printable(s.command),
            display.printable(s.model or "-"),
            s.status,
            f"{s.successful_agents}/{s.agents_total}",
            display.tokens(s.total_tokens),
            _listing_cost(s),
        )
        for s in shown
    ]
    headers = ("File", "Date", "Command", "Model", "Status", "Agents", "Tokens", "Cost")
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=True)]
    keep = display.fit_columns(widths, _LISTING_DROP_ORDER, console.width)
    # A model name longer than the room left wraps onto continuation lines: never cut.
    room = console.width - sum(widths[i] + 2 for i in keep if i != _MODEL_COLUMN)
    wrapped = [piece for row in rows for piece in _wrap_cell(row, _MODEL_COLUMN, room)]
    lines = display.columns(
        [headers[i] for i in keep],
        ([row[i] for i in keep] for row in wrapped),
        right=[at for at, i in enumerate(keep) if i >= 5],
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
            f"this run ({display.printable(report.model or 'its models')})",
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
