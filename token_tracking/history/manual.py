"""Manual ledger entries (``tokens add``): usage recorded by hand, as a one-agent report.

A manual entry is a report of source ``manual`` with one agent run named ``manual``: its
request count is unknown, and its cost is the one given, else the model's list price, else
unknown.
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime
from pathlib import Path

from pricing import PriceBook, Usage
from token_tracking.errors import LedgerError
from token_tracking.git import git_info, project_root
from token_tracking.history.clock import utc_now
from token_tracking.records import AgentUsage, GitInfo
from token_tracking.reports.build import tool_version
from token_tracking.reports.file import SCHEMA_VERSION as REPORT_SCHEMA_VERSION
from token_tracking.reports.file import TokenUsageReport

MAX_MANUAL_TOKENS = 10**12
"""The largest token count a manual entry may record (a trillion; far from SQLite's 2**63)."""


def manual_entry(
    project_path: Path,
    *,
    input_tokens: int,
    output_tokens: int,
    model: str | None = None,
    branch: str | None = None,
    cost_usd: float | None = None,
    pricebook: PriceBook | None = None,
    now: datetime | None = None,
) -> TokenUsageReport:
    """Return the report of a manual entry (source ``manual``, one agent run named ``manual``).

    The cost is ``cost_usd`` when given (recorded as actual), else the model's price from
    ``pricebook``, else unknown (``None``): without a model or a cost nothing can be priced.
    ``branch`` defaults to the project's current git branch. The request count is unknown.

    Raises:
        LedgerError: a token count is negative or above ``MAX_MANUAL_TOKENS``, the cost is not a
            finite number, or the model name is empty.
    """
    if input_tokens < 0 or output_tokens < 0:
        raise LedgerError("token counts cannot be negative")
    if max(input_tokens, output_tokens) > MAX_MANUAL_TOKENS:
        # SQLite stores 64-bit integers: a larger count fails at insert with an OverflowError,
        # and the ledger's sums must stay far below that bound too.
        raise LedgerError(f"token counts must be at most {MAX_MANUAL_TOKENS:,}")
    if cost_usd is not None and not (math.isfinite(cost_usd) and cost_usd >= 0):
        # NaN or infinity would poison every total and make the JSON output invalid.
        raise LedgerError(f"--cost must be a finite number of USD, zero or more (got {cost_usd})")
    if model is not None and not model.strip():
        raise LedgerError("--model is empty: name the model, or leave --model out")
    moment = now if now is not None else utc_now()
    root = project_root(project_path)
    git = git_info(root)
    if branch is not None:
        git = (git if git is not None else GitInfo()).model_copy(update={"branch": branch})
    cost = cost_usd
    if cost is None and model is not None and pricebook is not None:
        breakdown = pricebook.try_cost(
            model, Usage(prompt_tokens=input_tokens, completion_tokens=output_tokens)
        )
        cost = breakdown.total if breakdown is not None else None
    total = input_tokens + output_tokens
    agent = AgentUsage(
        agent_name="manual",
        prompt_tokens=input_tokens,
        completion_tokens=output_tokens,
        total_tokens=total,
        model=model,
        start_time=moment,
        end_time=moment,
        duration_seconds=0.0,
        success=True,
        cost_usd=cost,
    )
    return TokenUsageReport(
        session_id=str(uuid.uuid4()),
        project_path=str(root),
        model=model,
        command="manual",
        start_time=moment,
        end_time=moment,
        total_duration_seconds=0.0,
        total_prompt_tokens=input_tokens,
        total_completion_tokens=output_tokens,
        total_tokens=total,
        total_cost_usd=cost,
        successful_agents=1,
        agent_usage=[agent],
        schema_version=REPORT_SCHEMA_VERSION,
        source="manual",
        git=git,
        priced_coverage=(1.0 if cost is not None else 0.0) if total else None,
        tool_version=tool_version(),
    )
