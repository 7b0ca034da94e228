"""The documented import path ``from memory_banker.token_tracking import TokenUsageReport``.

memory-banker 0.1 shipped its tracker inside the app; the code now lives in the top-level
``token_tracking`` package so other agent apps can use it without the CLI. This module re-exports
its public names.
"""

from token_tracking import (
    OFFLINE_MODEL,
    SCHEMA_VERSION,
    AgentUsage,
    GitInfo,
    IntervalUsage,
    JournalError,
    ModelPricing,
    PricingInfo,
    ReportFileError,
    RequestUsage,
    RunTokenStats,
    TokenTracker,
    TokenUsageReport,
    TrackingError,
    recover_journals,
)

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
    "RequestUsage",
    "RunTokenStats",
    "TokenTracker",
    "TokenUsageReport",
    "TrackingError",
    "recover_journals",
]
