"""Every exception token_tracking raises. The CLI prints any of them on one line and exits 2.

::

    TrackingError                 anything token_tracking cannot do
    ├── SettingError              an environment variable holds an unusable value
    ├── UsageNotFoundError        an object given to record_usage holds no usage
    ├── ReportFileError           a report file cannot be read, parsed or written
    │   └── ReportNotSavedError   a finished report could not be written (it holds the report)
    ├── NoReportsError            no report where one was asked for
    ├── SessionNotFoundError      no report or ledger session has the id asked for
    ├── JournalError              a session journal cannot be written or recovered
    ├── RunDirError               a run directory is missing or cannot be written
    ├── LedgerError               the ledger cannot be opened, migrated or queried
    │   └── AmbiguousSessionError a session id prefix matches several sessions
    ├── DashboardError            the dashboard cannot be written
    ├── GateUsageError            a CI gate was asked for nothing it can check
    ├── CompareInputError         a compare side is neither a report nor a run directory
    └── LogImportError            coding-agent logs cannot be imported as asked
        └── ImportLockedError     another import holds the import lock
"""

from __future__ import annotations


class TrackingError(Exception):
    """Anything token_tracking cannot do; the CLI prints it on one line and exits 2."""


class SettingError(TrackingError):
    """An environment variable of token tracking holds a value that cannot be used."""

    def __init__(self, variable: str, value: str, expected: str) -> None:
        super().__init__(f"{variable} must be {expected}, got {value!r}")
        self.variable = variable
        self.value = value


class UsageNotFoundError(TrackingError):
    """The object given to ``record_usage`` holds no token usage this module can read."""


class ReportFileError(TrackingError):
    """A report file cannot be read (missing, not JSON, not a report) or written."""


class ReportNotSavedError(ReportFileError):
    """A finished session's report could not be written; ``report`` holds it, so that it can
    still be printed."""

    def __init__(self, message: str, report: object) -> None:
        super().__init__(message)
        self.report = report
        """The report that was not saved (a ``TokenUsageReport``)."""


class NoReportsError(TrackingError):
    """There is no report to show or check: the folder is missing or holds no readable report."""


class SessionNotFoundError(TrackingError):
    """No report or ledger session has the id (or id prefix) asked for, or more than one does."""


class JournalError(TrackingError):
    """A journal cannot be created or written."""


class RunDirError(TrackingError):
    """A run directory's files cannot be read or written."""


class LedgerError(TrackingError):
    """The ledger file cannot be opened, migrated or queried."""


class AmbiguousSessionError(LedgerError):
    """An id prefix matches more than one session."""


class DashboardError(TrackingError):
    """The dashboard could not be built or written."""


class GateUsageError(TrackingError):
    """The gate was asked something it cannot check (no threshold, a negative one, …)."""


class CompareInputError(TrackingError):
    """A side of the comparison is neither a report file nor a run directory with a log."""


class LogImportError(TrackingError):
    """Coding-agent logs cannot be imported as asked (a missing ``--path``, a bad hook setup)."""


class ImportLockedError(LogImportError):
    """Another import (the post-commit hook's or a manual one) holds the import lock."""
