"""Recording finished sessions in the user's ledger, shared by the collector and recovery paths."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from token_tracking.errors import LedgerError
from token_tracking.history.ledger import Ledger
from token_tracking.records import RequestUsage
from token_tracking.reports.file import TokenUsageReport

logger = logging.getLogger(__name__)


def record_in_ledger(report: TokenUsageReport, requests: Sequence[RequestUsage] = ()) -> bool:
    """Insert a finished session (any status, any source) into the ledger in one transaction.

    Returns True when inserted, False when the ledger already had it or could not be written.
    A ledger failure is logged as a warning instead of raised: the report file is already saved,
    and ``memory-banker tokens reindex`` imports it later, so no usage is lost.
    """
    try:
        with Ledger() as ledger:
            return ledger.insert_report(report, requests)
    except LedgerError as exc:
        logger.warning("%s; run `memory-banker tokens reindex` to import the report later", exc)
        return False
