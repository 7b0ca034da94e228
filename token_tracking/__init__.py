"""Per-agent token accounting: records, collector, journal, reports, ledger and SDK integrations.

The public names below are imported from their modules on first use, so that importing one light
module of the package (``token_tracking.errors``, ``token_tracking.display``) does not pay for
pydantic, the collector or the ledger. The SDK integrations (``token_tracking.integrations``) are
never imported here: importing this package never imports ``agents``, ``litellm``, ``openai`` or
``anthropic``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_HOMES = {
    "OFFLINE_MODEL": "token_tracking.reports.pricer",
    "SCHEMA_VERSION": "token_tracking.reports.file",
    "AgentUsage": "token_tracking.records",
    "GitInfo": "token_tracking.records",
    "IntervalUsage": "token_tracking.records",
    "JournalError": "token_tracking.errors",
    "ModelPricing": "token_tracking.records",
    "PricingInfo": "token_tracking.records",
    "ReportFileError": "token_tracking.errors",
    "ReportSource": "token_tracking.records",
    "ReportStatus": "token_tracking.records",
    "RequestUsage": "token_tracking.records",
    "RunDirError": "token_tracking.errors",
    "RunTokenStats": "token_tracking.rundirs.summary",
    "SettingError": "token_tracking.errors",
    "TokenTracker": "token_tracking.collector",
    "TokenUsageReport": "token_tracking.reports.file",
    "TrackingError": "token_tracking.errors",
    "interval_minutes": "token_tracking.settings",
    "recover_journals": "token_tracking.reports.journal",
    "tracking_enabled": "token_tracking.settings",
}
"""Each public name -> the module that defines it."""

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


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
