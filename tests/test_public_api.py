"""The public API keeps importing: every name the README of memory-banker 0.2 documented, and the
public names of its public modules, frozen here as lists.

The lists are written out by hand, not read from the current README or ``__all__``: shortening
the README or moving a module must not shrink what this test protects. A name may be added to the
packages freely; removing or renaming one listed here is a breaking change.
"""

from __future__ import annotations

import importlib
import inspect

import pytest

from token_tracking import TokenTracker, TokenUsageReport

FROZEN_MODULES: dict[str, tuple[str, ...]] = {
    "token_tracking": (
        "AgentUsage",
        "GitInfo",
        "IntervalUsage",
        "JournalError",
        "ModelPricing",
        "OFFLINE_MODEL",
        "PricingInfo",
        "ReportFileError",
        "ReportSource",
        "ReportStatus",
        "RequestUsage",
        "RunDirError",
        "RunTokenStats",
        "SCHEMA_VERSION",
        "SettingError",
        "TokenTracker",
        "TokenUsageReport",
        "TrackingError",
        "interval_minutes",
        "recover_journals",
        "tracking_enabled",
    ),
    "memory_banker.token_tracking": (
        "AgentUsage",
        "GitInfo",
        "IntervalUsage",
        "JournalError",
        "ModelPricing",
        "OFFLINE_MODEL",
        "PricingInfo",
        "ReportFileError",
        "ReportSource",
        "ReportStatus",
        "RequestUsage",
        "RunDirError",
        "RunTokenStats",
        "SCHEMA_VERSION",
        "SettingError",
        "TokenTracker",
        "TokenUsageReport",
        "TrackingError",
        "interval_minutes",
        "recover_journals",
        "tracking_enabled",
    ),
    "pricing": (
        "CostBreakdown",
        "IncompleteUsageError",
        "NoTokenPriceError",
        "PriceBook",
        "PriceEntry",
        "PriceTable",
        "PriceTableError",
        "PricingEnvError",
        "PricingError",
        "PricingFileError",
        "RangeTier",
        "Resolution",
        "Tier",
        "UnknownModelError",
        "Unpriced",
        "UnpricedReason",
        "Usage",
        "default_pricebook",
        "load_pricebook",
        "load_table",
    ),
    "token_tracking.integrations.litellm": (
        "AGENT_METADATA_KEY",
        "find_callback",
        "make_callback",
        "registered_callback",
    ),
    "token_tracking.integrations.anthropic": ("wrap",),
    "token_tracking.integrations.openai_agents": ("AGENT_METADATA_KEY", "make_run_hooks"),
}
"""Each public module of 0.2 and the names it exported."""

TOKEN_TRACKER_ATTRIBUTES = (
    "agent_run",
    "agent_snapshot",
    "agents_hooks",
    "arecord_usage",
    "calculate_stats",
    "check_intervals",
    "end_agent",
    "finish",
    "finished",
    "litellm_callback",
    "load_usage",
    "log_usage",
    "pricer",
    "print_summary",
    "record",
    "record_usage",
    "requests",
    "save_summary",
    "spent_cost",
    "start_agent",
    "start_session",
    "wrap_anthropic",
)
"""``TokenTracker``'s public methods and properties in 0.2."""

TOKEN_USAGE_REPORT_METHODS = ("calculate_cost", "load_from_file", "render", "save")
"""``TokenUsageReport``'s own methods in 0.2 (besides pydantic's)."""

TOKEN_USAGE_REPORT_FIELDS = (
    "agent_usage",
    "agents_not_run",
    "command",
    "end_time",
    "failed_agents",
    "git",
    "intervals",
    "model",
    "priced_coverage",
    "pricing",
    "project_path",
    "schema_version",
    "session_id",
    "source",
    "start_time",
    "status",
    "successful_agents",
    "tool_version",
    "total_cache_write_tokens",
    "total_cached_tokens",
    "total_completion_tokens",
    "total_cost_usd",
    "total_duration_seconds",
    "total_prompt_tokens",
    "total_reasoning_tokens",
    "total_requests",
    "total_tokens",
)
"""``TokenUsageReport``'s fields in 0.2 (the report file's keys)."""

DOCUMENTED_PARAMETERS: dict[str, tuple[str, ...]] = {
    "token_tracking:TokenTracker": (
        "run_dir",
        "default_model",
        "pricebook",
        "reports_dir",
        "command",
        "model",
        "project_path",
        "source",
        "persist",
        "interval_console",
        "interval_minutes",
    ),
    "token_tracking:TokenTracker.record_usage": (
        "result",
        "operation",
        "duration_seconds",
        "metadata",
        "operation_type",
        "model",
    ),
    "token_tracking:TokenTracker.arecord_usage": (
        "result",
        "operation",
        "duration_seconds",
        "metadata",
        "operation_type",
        "model",
    ),
    "token_tracking:TokenTracker.end_agent": ("name", "success", "error"),
    "token_tracking:TokenTracker.agent_run": ("name",),
    "token_tracking:TokenTracker.wrap_anthropic": ("client", "agent_name"),
    "token_tracking:TokenTracker.log_usage": (
        "operation",
        "input_tokens",
        "output_tokens",
        "iteration",
        "model",
        "cost_usd",
    ),
    "token_tracking:TokenTracker.calculate_stats": ("run_id", "phase"),
    "token_tracking:recover_journals": ("folder", "save"),
    "token_tracking:TokenUsageReport.load_from_file": ("path",),
    "token_tracking:TokenUsageReport.calculate_cost": ("custom_pricing",),
    "token_tracking.integrations.litellm:registered_callback": ("tracker",),
}
"""Keyword parameters the 0.2 README's examples passed, per callable."""


def resolve(target: str) -> object:
    """Return the object ``"module:attr.attr"`` names."""
    module_name, _, path = target.partition(":")
    found: object = importlib.import_module(module_name)
    for part in path.split("."):
        found = getattr(found, part)
    return found


@pytest.mark.parametrize(
    ("module", "name"),
    [(module, name) for module, names in FROZEN_MODULES.items() for name in names],
)
def test_a_frozen_name_imports(module: str, name: str) -> None:
    assert hasattr(importlib.import_module(module), name), f"{module}.{name} is gone"


def test_memory_banker_token_tracking_re_exports_the_same_objects() -> None:
    old = importlib.import_module("memory_banker.token_tracking")
    new = importlib.import_module("token_tracking")
    for name in FROZEN_MODULES["memory_banker.token_tracking"]:
        assert getattr(old, name) is getattr(new, name), name


@pytest.mark.parametrize("name", TOKEN_TRACKER_ATTRIBUTES)
def test_token_tracker_keeps_its_public_attributes(name: str) -> None:
    assert hasattr(TokenTracker, name)


@pytest.mark.parametrize("name", TOKEN_USAGE_REPORT_METHODS)
def test_token_usage_report_keeps_its_methods(name: str) -> None:
    assert callable(getattr(TokenUsageReport, name, None))


def test_token_usage_report_keeps_its_fields() -> None:
    assert set(TOKEN_USAGE_REPORT_FIELDS) <= set(TokenUsageReport.model_fields)


@pytest.mark.parametrize(("target", "parameters"), sorted(DOCUMENTED_PARAMETERS.items()))
def test_documented_parameters_are_accepted(target: str, parameters: tuple[str, ...]) -> None:
    found = resolve(target)
    signature = inspect.signature(found)  # type: ignore[arg-type]
    missing = [name for name in parameters if name not in signature.parameters]
    assert missing == [], f"{target} no longer takes {missing}"
