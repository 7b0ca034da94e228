"""Recording finished sessions in the user's ledger, shared by the collector and recovery paths."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from token_tracking.errors import LedgerError
from token_tracking.history.ledger import Ledger
from token_tracking.records import RequestUsage
from token_tracking.reports.file import TokenUsageReport
from token_tracking.settings import db_url, default_db_path

logger = logging.getLogger(__name__)


def record_in_ledger(report: TokenUsageReport, requests: Sequence[RequestUsage] = ()) -> bool:
    """Insert a finished session (any status, any source) into the ledger in one transaction.

    Returns True when inserted, False when the ledger already had it or could not be written.
    A ledger failure is logged as a warning instead of raised: the report file is already saved,
    and ``memory-banker tokens reindex`` imports it later, so no usage is lost. When the ledger is
    a PostgreSQL server (``TOKEN_TRACKING_DB_URL``) that cannot be reached or written, the session
    goes to the local SQLite ledger instead, and ``memory-banker tokens sync`` sends it later.
    """
    try:
        with Ledger() as ledger:
            return ledger.insert_report(report, requests)
    except LedgerError as exc:
        if db_url() is None:
            logger.warning(_later(report, exc, "tokens reindex"))
            return False
        team_error = exc
    local = default_db_path()
    try:
        with Ledger(local) as ledger:
            inserted = ledger.insert_report(report, requests)
    except LedgerError as exc:
        logger.warning(_later(report, exc, "tokens reindex"))
        return False
    logger.warning(
        "%s; session %s was recorded in the local ledger %s instead: run "
        "`memory-banker tokens sync --to URL` to send it",
        team_error,
        report.session_id,
        local,
    )
    return inserted


def _later(report: TokenUsageReport, exc: LedgerError, command: str) -> str:
    """The warning for a session no ledger could record: which one, and how to import it later."""
    return (
        f"{exc}; session {report.session_id} is not in the ledger: run "
        f"`memory-banker {command}` to import its report later"
    )
