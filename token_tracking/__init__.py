"""Per-agent token accounting: records, collector, journal, reports, ledger and SDK integrations."""

from token_tracking.errors import TrackingError

__all__ = ["TrackingError"]
