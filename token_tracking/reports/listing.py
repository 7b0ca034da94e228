"""Find and list the saved token usage reports of a project.

A project's reports live in ``<project>/memory-bank/token-reports/`` as ``*.json`` files. "Latest"
means the greatest ``end_time`` inside the file, never the file name or its mtime, among reports
that do not end more than 5 minutes in the future (a clock set wrong wrote those; each is named in
a warning).

To answer that without parsing every report on each call, a small index
(``token-reports/.index.json``) keeps, on its first line, each unreadable file's problem, the
reports ending in the future when it was written, and the latest report's summary and validated
document; on its second, each readable report's end time; on its third, each file's mtime, size
and inode; on its fourth, one summary per report. Finding the latest reads the first line only,
with one ``stat`` of the chosen file, when nothing in the folder was added, removed or renamed
since the index was written (the index's mtime is set to the folder's, after checking that no
name changed since the folder was listed, nor within the clock tick that stamped it); the latest
report is then served from the index's document while its file's mtime, size and inode are the
ones the document was read from, and read itself otherwise. A listing
(:attr:`ReportListing.reports`) checks every file: an entry is trusted only while the file's size,
mtime and inode are unchanged and the file was not modified within 2 seconds of the index being
written (a write in the same clock tick can keep the mtime). A missing, corrupt or foreign index
is simply rebuilt.

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
import zlib
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from token_tracking.errors import NoReportsError, ReportFileError, SessionNotFoundError
from token_tracking.files import atomic_write
from token_tracking.reports.summary import ReportSummary, summarize, summary_from_row, summary_row

REPORTS_SUBDIR = Path("memory-bank") / "token-reports"
"""Where a project's reports live, relative to the project."""

INDEX_NAME = ".index.json"
"""The index file's name inside the reports folder (hidden, so it never lists as a report)."""

INDEX_VERSION = 6
"""Bumped when the index layout or the wording of a skipped file's reason changes; an index of
another version is rebuilt."""

FUTURE_TOLERANCE_SECONDS = 300.0
"""A report ending more than this many seconds after now is never taken as the latest."""

_RACY_NS = 2_000_000_000
"""An index entry for a file modified less than this long before the index was written is not
trusted: a rewrite within the same timestamp tick can leave size and mtime unchanged."""

_TICK_NS = 10_000_000
"""The longest tick of the clock that stamps a folder's mtime (one kernel jiffy, 10 ms at the
slowest): a name added within it after the index was stamped leaves the folder's mtime as is."""

logger = logging.getLogger(__name__)


def reports_folder(project_path: Path) -> Path:
    """Return the reports folder of the project at ``project_path`` (it may not exist)."""
    return project_path / REPORTS_SUBDIR


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
        self._end_times: dict[str, float] | None = {}  # None: the index's, not parsed yet
        self._problems: dict[str, str] = {}  # each unreadable file's reason
        self._future: dict[str, float] = {}  # end times after the index was written
        self._end_times_text = b""  # the index's later lines, parsed when needed
        self._stats_text = b""
        self._rows_text = b""
        self._rest_unread = False
        self._rows: dict[str, object] | None = None
        self._trusted_before = 0  # files modified since are read again
        self._stats: dict[str, _Stat] = {}
        self._fast = False  # the index was trusted without a stat per file
        self._summaries: dict[str, ReportSummary] = {}
        self._verified = False  # every file's stat checked against the index
        self._reports: list[ReportSummary] | None = None
        self._latest: _LatestEntry | None = None  # the latest report's document, as indexed

    @property
    def _stamps(self) -> dict[str, float]:
        """Each readable report's end time (POSIX seconds) by file name; from the index's second
        line, parsed on first use, while the listing was not checked file by file."""
        if self._end_times is None:
            self._end_times = self._index_end_times()
        return self._end_times

    @_stamps.setter
    def _stamps(self, value: dict[str, float]) -> None:
        self._end_times = value

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

    def document(self, summary: ReportSummary) -> Any | None:
        """The validated document of the report ``summary`` lists, served from the index: the
        report's JSON as :class:`~token_tracking.reports.file.TokenUsageReport` dumped it when
        it last read the file, every JSON object made an object with one attribute per key (so
        the renderer reads it as it reads the model).

        None when the index holds no document of that file, or the file's mtime, size or inode
        changed since, or it was modified too close to the index being written to tell: then
        only the file itself says what the report holds.
        """
        entry = self._latest
        if entry is None or not self._serves(summary):
            return None
        return json.loads(entry.document, object_hook=lambda fields: SimpleNamespace(**fields))

    def _serves(self, summary: ReportSummary) -> bool:
        """True when the index holds a document of ``summary``'s file that can be trusted."""
        entry = self._latest
        return entry is not None and entry.file == summary.file and self._unchanged(entry)

    def _unchanged(self, entry: _LatestEntry) -> bool:
        """True when ``entry``'s file still has the stat its document was read with."""
        if entry.stat[0] >= entry.written_ns - _RACY_NS:
            return False
        if self._verified:
            return self._stats.get(entry.file) == entry.stat
        try:
            info = os.lstat(self.folder / entry.file)
        except OSError:
            return False
        return (info.st_mtime_ns, info.st_size, info.st_ino) == entry.stat

    # -- the index ----------------------------------------------------------------------------

    def _load(self) -> bool:
        """Take the index's first line; True when the index can be trusted without a ``stat``
        per file (nothing in the folder was added, removed or renamed since it was written)."""
        assert self._index_path is not None
        try:
            with self._index_path.open("rb") as index:
                head = index.readline()  # the rest is read only when a listing needs it
            self._rest_unread = True
            document = json.loads(head)
            if not isinstance(document, dict) or document.get("version") != INDEX_VERSION:
                raise _StaleIndexError(str(self._index_path))
            written_ns, racy = document["written_ns"], document["racy"]
            problems, future = document["problems"], document["future"]
            if type(written_ns) is not int or type(racy) is not bool:
                raise _StaleIndexError(str(self._index_path))
            _check_end_times(future)
            for reason in problems.values():
                if type(reason) is not str:
                    raise _StaleIndexError(str(self._index_path))
            self._problems, self._future, self._end_times = problems, future, None
            self._trusted_before = written_ns - _RACY_NS
            self._latest = _LatestEntry.from_index(document.get("latest"), written_ns)
            # Any file added, removed or renamed in the folder (a replacement included) moves
            # the folder's mtime past the one the index was stamped with (see _settle).
            folder_ns = os.stat(self.folder).st_mtime_ns
            self._fast = not racy and folder_ns == os.stat(self._index_path).st_mtime_ns
            return self._fast
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            # A missing, unreadable, foreign or hand-edited index is only a lost cache: rebuild it.
            self._stamps, self._problems, self._future, self._rest_unread = {}, {}, {}, False
            return False

    def _read_rest(self) -> None:
        if self._rest_unread and self._index_path is not None:
            self._rest_unread = False
            try:
                data = self._index_path.read_bytes()
            except OSError:
                return
            _, _, rest = data.partition(b"\n")
            self._end_times_text, _, rest = rest.partition(b"\n")
            self._stats_text, _, self._rows_text = rest.partition(b"\n")

    def _index_end_times(self) -> dict[str, float]:
        """The end times on the index's second line; empty when it holds none this version
        wrote (every file is then read: :meth:`_verify`)."""
        self._read_rest()
        try:
            stamps = json.loads(self._end_times_text)
            _check_end_times(stamps)
        except (ValueError, TypeError, AttributeError):
            self._fast = False
            return {}
        result: dict[str, float] = stamps
        return result

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

    def _verify(self, names: set[str] | None = None, *, rewrite: bool = False) -> None:
        """Check every file against the index, read the files that changed, and rewrite the
        index when anything did (or when it could not be trusted without this check, or
        ``rewrite`` asks)."""
        if names is None:
            names = _names(self.folder)
        known = self._index_stats()
        known_stamps = self._stamps
        stats: dict[str, _Stat] = {}
        stamps: dict[str, float] = {}
        problems: dict[str, str] = {}
        # An index that could not be trusted without this check is rewritten so that it can be.
        changed = self._index_path is not None and (rewrite or not self._fast)
        for name in names:
            try:
                stat = os.lstat(self.folder / name)
            except OSError:
                continue  # removed while we listed: not a report we can read
            current = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
            if known.get(name) == current and current[0] < self._trusted_before:
                if name in known_stamps:
                    stamps[name] = known_stamps[name]
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
            summary = summary_from_row(name, self._row_of(name))
            if summary.end_timestamp != self._stamps[name]:
                raise _StaleIndexError(name)
        except ValueError:  # a malformed row, or one of another end time
            del self._stamps[name]
            self._read_file(name, self._stats[name], self._stamps, self._problems)
            return True
        self._summaries[name] = summary
        return False

    def _checked_summary(self, name: str) -> ReportSummary | None:
        """The summary of the report ``name``, from the index's document of it while the file is
        unchanged, else read from the file itself; None when the file no longer holds what the
        index says (unreadable, or another end time)."""
        summary = self._summaries.get(name)
        if summary is None:
            entry = self._latest
            if entry is not None and entry.file == name and self._unchanged(entry):
                outcome: ReportSummary | str = summary_from_row(name, entry.row)
            else:
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
            rows[name] = summary_row(summary) if summary is not None else self._row_of(name)
        written_ns = time.time_ns()
        cutoff = written_ns / 1e9 + FUTURE_TOLERANCE_SECONDS
        latest = self._latest_to_index(cutoff)
        future = {name: stamp for name, stamp in self._stamps.items() if stamp > cutoff}
        head = {
            "version": INDEX_VERSION,
            "written_ns": written_ns,
            "racy": any(stat[0] >= written_ns - _RACY_NS for stat in self._stats.values()),
            "problems": self._problems,
            "future": future,
            "latest": None if latest is None else latest.to_index(),
        }
        compact = (",", ":")
        parts = (head, self._stamps, self._stats, rows)
        text = "\n".join(json.dumps(part, separators=compact) for part in parts)
        try:
            atomic_write(self._index_path, text)
            folder_ns = os.stat(self.folder).st_mtime_ns
            os.utime(self._index_path, ns=(folder_ns, folder_ns))
            self._settle(folder_ns)
        except OSError:
            # A read-only reports folder (e.g. a mounted CI artifact) still lists, just without
            # the speed-up; the index is a cache, not data.
            return
        self._rows, self._rest_unread = rows, False
        self._future = future
        self._latest = None if latest is None else replace(latest, written_ns=written_ns)

    def _settle(self, folder_ns: int) -> None:
        """Make sure the index, just stamped with the folder's mtime ``folder_ns``, lists every
        name in the folder: a report added after the folder was listed, or within the clock
        tick that stamped the index, leaves the folder's mtime at the stamp. Waits for that tick
        to pass, lists the folder again and, when a name differs (or the file system keeps
        whole seconds, a tick too long to wait for), unstamps the index: the next listing then
        checks every file."""
        assert self._index_path is not None
        if folder_ns % 1_000_000_000 == 0:
            os.utime(self._index_path, ns=(0, 0))
            return
        wait = folder_ns + _TICK_NS - time.time_ns()
        if wait > 0:
            time.sleep(wait / 1e9)
        if _names(self.folder) != self._stamps.keys() | self._problems.keys():
            os.utime(self._index_path, ns=(0, 0))

    def _from_index(self, cutoff: float) -> ReportSummary | None:
        """The latest report ending no later than ``cutoff``, from the index's first line alone;
        None when that line cannot tell (the index was not trusted as is, holds no usable
        document of its latest report, or a report then in the future may now be the latest)."""
        entry = self._latest
        if not self._fast or self._verified or entry is None or not self._unchanged(entry):
            return None
        summary = summary_from_row(entry.file, entry.row)
        if summary.end_timestamp > cutoff or any(t <= cutoff for t in self._future.values()):
            return None
        self._summaries[entry.file] = summary
        return summary

    def _latest_to_index(self, cutoff: float) -> _LatestEntry | None:
        """The document of the latest report ending no later than ``cutoff`` to keep in the
        index: the one it holds while that file is unchanged, else the file read again."""
        best = max(((t, n) for n, t in self._stamps.items() if t <= cutoff), default=None)
        if best is None or best[1] not in self._stats:
            return None
        name, stat = best[1], self._stats[best[1]]
        kept = self._latest
        # Kept only when it was read long enough before its index was written to be trusted.
        if (
            kept is not None
            and kept.file == name
            and kept.stat == stat
            and stat[0] < kept.written_ns - _RACY_NS
        ):
            return kept
        # Imported here: only a listing whose latest report changed parses one, and pydantic
        # costs twice a bare Python start on the `memory-banker tokens` path.
        from token_tracking.reports.file import parse_report, read_report_bytes

        try:
            report = parse_report(read_report_bytes(self.folder / name))
        except ReportFileError:
            return None  # changed since it was listed: the next listing reads it again
        if report.end_time.timestamp() != best[0]:
            return None
        row = summary_row(summarize(report, name))
        return _LatestEntry(name, stat, row, report.model_dump_json(), 0)


class _StaleIndexError(ValueError):
    """The index file is not one this version wrote; it is rebuilt."""


@dataclass(frozen=True)
class _LatestEntry:
    """The index's copy of the latest report: its file, the stat it was read with, its summary
    row and its validated document (JSON text, with a checksum against editing by hand)."""

    file: str
    stat: _Stat
    row: list[object]
    document: str
    written_ns: int
    """When the index holding it was written: a file modified within ``_RACY_NS`` before is
    not trusted to be unchanged."""

    def to_index(self) -> dict[str, object]:
        return {
            "file": self.file,
            "stat": list(self.stat),
            "row": self.row,
            "document": self.document,
            "checksum": _checksum(self.document),
        }

    @classmethod
    def from_index(cls, value: object, written_ns: int) -> _LatestEntry | None:
        """The entry the index's ``latest`` holds; None when it holds none or one this version
        did not write (wrong types, a document that does not match its checksum)."""
        if not isinstance(value, dict):
            return None
        try:
            file, stat, row = value["file"], value["stat"], value["row"]
            document, checksum = value["document"], value["checksum"]
            if not (
                type(file) is str
                and type(document) is str
                and type(checksum) is str
                and isinstance(stat, list)
                and len(stat) == 3
                and all(type(part) is int for part in stat)
                and isinstance(row, list)
                and checksum == _checksum(document)
            ):
                return None
            summary_from_row(file, row)
        except (KeyError, ValueError):  # a missing key, a malformed row
            return None
        return cls(file, (stat[0], stat[1], stat[2]), row, document, written_ns)


def _check_end_times(stamps: object) -> None:
    """Raise _StaleIndexError unless ``stamps`` maps names to numbers (as this version writes)."""
    if not isinstance(stamps, dict):
        raise _StaleIndexError("end times")
    # `type(...) is` rather than isinstance: JSON's true/false must not pass for numbers.
    for stamp in stamps.values():
        if type(stamp) is not float and type(stamp) is not int:
            raise _StaleIndexError("end times")


def _checksum(document: str) -> str:
    # A checksum against editing by hand, not against forgery: whoever can write the index can
    # write the reports too.
    return f"{zlib.crc32(document.encode('utf-8')):08x}"


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
    # Imported here: a listing served from the index parses no report, and pydantic costs twice
    # a bare Python start on the `memory-banker tokens` path.
    from token_tracking.reports.file import parse_report, read_report_bytes

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
    listing = ReportListing(folder, folder / INDEX_NAME if use_index else None)
    if not (use_index and listing._load()):
        listing._verify()
    return listing


def latest(listing: ReportListing, *, now: float | None = None) -> ReportSummary:
    """Return the report with the greatest ``end_time`` in ``listing``, among those ending no
    more than :data:`FUTURE_TOLERANCE_SECONDS` after ``now`` (default: the current time); each
    report ignored for ending later is named in a warning.

    Raises :class:`NoReportsError` when the listing holds no such report.
    """
    cutoff = (time.time() if now is None else now) + FUTURE_TOLERANCE_SECONDS
    chosen = listing._from_index(cutoff)
    if chosen is not None:
        # Served from the index's first line: of its reports, only those it found ending in
        # the future can end after the cutoff.
        ahead = listing._future
    else:
        chosen = _newest(listing, cutoff)
        if chosen is None and not listing._verified:
            # The index said something the chosen file no longer holds: check every file.
            listing._verify()
            chosen = _newest(listing, cutoff)
        elif chosen is not None and not listing._verified and not listing._serves(chosen):
            # The index holds no document of the latest report that can be trusted (the file
            # was changed in place, or the index was written without one): check every file
            # once and write the index with it, so that the next call is served from it again.
            listing._verify(rewrite=True)
            chosen = _newest(listing, cutoff)
        ahead = listing._stamps
    for name, stamp in sorted((name, stamp) for name, stamp in ahead.items() if stamp > cutoff):
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
