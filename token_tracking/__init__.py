"""Per-agent token accounting: records, collector, journal, reports, ledger and SDK integrations.

The SDK integrations (``token_tracking.integrations``) are not imported here: importing this
package never imports ``agents``, ``litellm``, ``openai`` or ``anthropic``.
"""

from token_tracking.collector import TokenTracker
from token_tracking.errors import (
    JournalError,
    ReportFileError,
    RunDirError,
    SettingError,
    TrackingError,
)
from token_tracking.records import (
    AgentUsage,
    GitInfo,
    IntervalUsage,
    ModelPricing,
    PricingInfo,
    ReportSource,
    ReportStatus,
    RequestUsage,
)
from token_tracking.reports.file import SCHEMA_VERSION, TokenUsageReport
from token_tracking.reports.journal import recover_journals
from token_tracking.reports.pricer import OFFLINE_MODEL
from token_tracking.rundirs.summary import RunTokenStats
from token_tracking.settings import interval_minutes, tracking_enabled

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
