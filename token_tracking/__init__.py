"""Per-agent token accounting: records, collector, journal, reports, ledger and SDK integrations.

The SDK integrations (``token_tracking.integrations``) are not imported here: importing this
package never imports ``agents``, ``litellm``, ``openai`` or ``anthropic``.
"""

from token_tracking.collector import TokenTracker
from token_tracking.errors import TrackingError
from token_tracking.journal import JournalError, recover_journals
from token_tracking.records import (
    SCHEMA_VERSION,
    AgentUsage,
    GitInfo,
    IntervalUsage,
    ModelPricing,
    PricingInfo,
    ReportSource,
    ReportStatus,
    RequestUsage,
    TokenUsageReport,
)
from token_tracking.report import OFFLINE_MODEL, ReportFileError
from token_tracking.rundir import RunDirError, RunTokenStats
from token_tracking.settings import SettingError, interval_minutes, tracking_enabled

__all__ = [
    "OFFLINE_MODEL",
    "SCHEMA_VERSION",
    "AgentUsage",
    "GitInfo",
    "IntervalUsage",
    "JournalError",
    "ModelPricing",
    "PricingInfo",
    "ReportFileError",
    "ReportSource",
    "ReportStatus",
    "RequestUsage",
    "RunDirError",
    "RunTokenStats",
    "SettingError",
    "TokenTracker",
    "TokenUsageReport",
    "TrackingError",
    "interval_minutes",
    "recover_journals",
    "tracking_enabled",
]
