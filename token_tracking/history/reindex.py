"""Importing report files into the ledger (``tokens reindex``), idempotent by session id."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from token_tracking.errors import ReportFileError
from token_tracking.history.ledger import Ledger
from token_tracking.records import DeferredModel
from token_tracking.reports.file import REPORT_PREFIX, TokenUsageReport, load_report
from token_tracking.reports.journal import recover_journals

REPORT_GLOB = f"{REPORT_PREFIX}*.json"
"""The names of report files in a token-reports folder."""


class ReindexResult(DeferredModel):
    """What ``reindex`` found and imported."""

    folder: Path
    """The token-reports folder read."""
    imported: list[str] = Field(default_factory=list)
    """Session ids imported (or that would be, in a dry run)."""
    already_present: int = 0
    """Report files whose session the ledger already had."""
    recovered: list[str] = Field(default_factory=list)
    """Session ids of orphaned journals turned into ``interrupted`` reports."""
    skipped: list[str] = Field(default_factory=list)
    """One warning per unreadable report file, naming it."""
    dry_run: bool = False
    """True when nothing was written."""


def reindex(ledger: Ledger, reports_folder: Path, *, dry_run: bool = False) -> ReindexResult:
    """Import every report file of ``reports_folder`` the ledger lacks, idempotent by session id.

    Orphaned journals (whose process died) are first recovered into ``interrupted`` reports,
    saved beside the others; with ``dry_run`` nothing is recovered, saved or inserted, and the
    result lists what would be. Reports of every schema version load, 0.1 included; a corrupt
    or foreign file is skipped and named in ``skipped``.

    Raises:
        LedgerError: an insert failed.
        ReportFileError: a recovered journal's report cannot be saved.
    """
    result = ReindexResult(folder=reports_folder, dry_run=dry_run)
    if not reports_folder.is_dir():
        return result
    recovered = recover_journals(reports_folder, save=not dry_run)
    result.recovered = [report.session_id for report in recovered]
    seen: set[str] = set()
    candidates: list[TokenUsageReport] = list(recovered) if dry_run else []
    for path in sorted(reports_folder.glob(REPORT_GLOB)):
        try:
            candidates.append(load_report(path))
        except ReportFileError as error:
            result.skipped.append(f"skipped {path}: {error}")
    for report in candidates:
        if report.session_id in seen:
            continue
        seen.add(report.session_id)
        if ledger.has_session(report.session_id):
            result.already_present += 1
        elif dry_run or ledger.insert_report(report):
            result.imported.append(report.session_id)
        else:
            result.already_present += 1  # another process inserted it meanwhile
    return result
