"""The report as GitHub-flavoured markdown, for a pull-request comment or a CI job summary.

The document starts with the hidden marker :data:`MARKER` (an HTML comment GitHub does not show),
so a workflow can find the comment it posted before and update it in place. It holds the totals
as a one-row table, one row per agent run (agent, model, tokens, cost, duration, status), and the
notes a reader needs to trust the figures: a lower-bound cost, the models without a price, the
agents that never ran.

Every name written into the markdown (agent, model, error, file) goes through :func:`text`, which
backslash-escapes the characters markdown or HTML would read as syntax and turns line breaks into
spaces: a name can neither break a table row nor inject a link, an image or HTML.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Literal

from token_tracking import display
from token_tracking.records import AgentUsage
from token_tracking.reports.render import unknown_reason

if TYPE_CHECKING:
    from token_tracking.reports.file import TokenUsageReport

MARKER = "<!-- memory-banker-token-report -->"
"""The hidden first line of every markdown report, for a workflow to find its comment."""

Align = Literal["left", "right"]

_SYNTAX = re.compile(r"([\\`*_\[\]<>|~&$])")
"""Characters inline markdown (emphasis, code, links, tables, strikethrough, GitHub's ``$``
math) or HTML would interpret. Block syntax (``#``, ``-``, ``1.``) only counts at the start of a
line, where no name is ever written."""

_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")

_ERROR_CHARS = 120
"""An agent's error is cut to this many characters in its table cell."""


def text(value: str) -> str:
    """Return ``value`` as literal markdown text, safe inside a table cell or a heading.

    Syntax characters are backslash-escaped (``|`` → ``\\|``, ``<`` → ``\\<``) and line
    breaks become spaces; other control characters are dropped.
    """
    flat = _BREAKS.sub(" ", value)
    printable = "".join(char for char in flat if char.isprintable())
    return _SYNTAX.sub(r"\\\1", printable)


def table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], align: Sequence[Align] = ()
) -> list[str]:
    """Return a GitHub-flavoured markdown table: the header line, the alignment line, one line
    per row. Cells are written as given (escape names with :func:`text` first); ``align`` gives
    each column's alignment, left by default."""
    aligns = list(align) + ["left"] * (len(headers) - len(align))
    rule = ["---:" if side == "right" else "---" for side in aligns]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _status(agent: AgentUsage) -> str:
    if agent.success:
        return "✅ ok"
    error = agent.error if agent.error is not None else "unknown error"
    if len(error) > _ERROR_CHARS:
        error = error[: _ERROR_CHARS - 1] + "…"
    return f"❌ failed: {text(error)}"


def agent_table(report: TokenUsageReport) -> list[str]:
    """Return the per-agent table of ``report`` (agent, model, tokens, cost, duration, status),
    one row per agent run in launch order; empty when the report has no agent runs."""
    if not report.agent_usage:
        return []
    rows = [
        (
            text(agent.agent_name),
            text(agent.model) if agent.model is not None else "-",
            display.tokens(agent.total_tokens),
            text(display.usd(agent.cost_usd)),
            display.seconds(agent.duration_seconds),
            _status(agent),
        )
        for agent in report.agent_usage
    ]
    return table(
        ("Agent", "Model", "Tokens", "Cost", "Duration", "Status"),
        rows,
        ("left", "left", "right", "right", "right", "left"),
    )


def unpriced_models(report: TokenUsageReport) -> list[str]:
    """Return the models of ``report`` that had no price, in the report's order."""
    if report.pricing is None:
        return []
    return [model.model for model in report.pricing.models if model.matched_key is None]


def cost_text(report: TokenUsageReport) -> str:
    """Return the report's cost for markdown: ``$0.0531``, ``≥$0.0531`` for a lower bound, or
    ``unknown``."""
    coverage = report.priced_coverage
    lower = report.total_cost_usd is not None and coverage is not None and coverage < 1
    return display.usd(report.total_cost_usd, lower_bound=lower)


def notes(report: TokenUsageReport) -> list[str]:
    """Return the report's notes as markdown list items: why the cost is unknown or a lower
    bound, the models without a price, the agents that never ran."""
    items: list[str] = []
    reason = unknown_reason(report)
    coverage = report.priced_coverage
    if report.schema_version is None and report.total_cost_usd is not None:
        items.append(
            "Cost as stored by memory-banker 0.1, whose price table was wrong for some models; "
            "the gate and `tokens --report-file` re-price it with today's table"
        )
    if report.total_cost_usd is None:
        items.append("Cost unknown" + (f": {text(reason)}" if reason else ""))
    elif coverage is not None and coverage < 1:
        items.append(f"Cost is a lower bound: {display.percent(coverage)} of tokens priced")
    unpriced = unpriced_models(report)
    if unpriced:
        items.append("Unpriced models: " + ", ".join(text(name) for name in unpriced))
    if report.agents_not_run:
        names = ", ".join(text(name) for name in report.agents_not_run)
        items.append(f"Not run: {names}")
    return [f"- {item}" for item in items]


def totals_table(report: TokenUsageReport) -> list[str]:
    """Return the report's totals as a one-row table: cost, tokens, prompt, completion,
    requests, duration, status."""
    row = (
        text(cost_text(report)),
        display.tokens(report.total_tokens),
        display.tokens(report.total_prompt_tokens),
        display.tokens(report.total_completion_tokens),
        display.tokens(report.total_requests),
        display.seconds(report.total_duration_seconds),
        text(report.status),
    )
    return table(
        ("Cost", "Tokens", "Prompt", "Completion", "Requests", "Duration", "Status"),
        [row],
        ("right", "right", "right", "right", "right", "right", "left"),
    )


def report_markdown(report: TokenUsageReport, file_name: str | None = None) -> str:
    """Return ``report`` as a markdown document for a pull-request comment.

    It starts with :data:`MARKER`, then a heading naming the command and model, the totals
    table, the per-agent table, the notes, and a last line naming the session (and the report
    file, when ``file_name`` is given) and its end time.
    """
    model = text(report.model) if report.model is not None else "no model"
    lines = [MARKER, f"### Token usage: {text(report.command)} on {model}", ""]
    lines += totals_table(report)
    agents = agent_table(report)
    if agents:
        lines += ["", *agents]
    extra = notes(report)
    if extra:
        lines += ["", *extra]
    source = f"report {text(file_name)}, " if file_name is not None else ""
    ended = report.end_time.isoformat(timespec="seconds")
    lines += ["", f"<sub>{source}session {text(report.session_id)}, ended {ended}</sub>"]
    return "\n".join(lines) + "\n"
